//! `ZkError`: a ZooKeeper failure with the znode it concerns, or why no session exists.

use std::time::Duration;

use zookeeper_client as zkc;

use super::codec;
use super::reachability::Unreachable;

pub type ZkResult<T> = Result<T, ZkError>;

/// A ZooKeeper failure, with the znode it concerns.
#[derive(Debug, Clone)]
pub enum ZkError {
    /// The operation on `path` failed with ZooKeeper error `source`.
    Op { path: String, source: zkc::Error },
    /// A controller-fenced write failed its `/controller_epoch` check: another controller exists.
    ControllerMoved,
    /// A znode's payload could not be decoded.
    Decode(codec::DecodeError),
    /// No server of the ensemble accepts TCP connections (each address with its cause).
    Unreachable(Unreachable),
    /// A server accepts connections but no session was established within the timeout.
    NoSession { connect: String, after: Duration },
}

impl ZkError {
    pub fn op(path: &str, source: impl Into<zkc::Error>) -> ZkError {
        ZkError::Op {
            path: path.to_string(),
            source: source.into(),
        }
    }

    pub fn code(&self) -> Option<&zkc::Error> {
        match self {
            ZkError::Op { source, .. } => Some(source),
            _ => None,
        }
    }

    pub fn is(&self, e: zkc::Error) -> bool {
        self.code() == Some(&e)
    }

    /// The request was lost with its connection (no server answer, outcome unknown), as
    /// opposed to answered by a server or ended with the session.
    pub fn is_connection_loss(&self) -> bool {
        matches!(
            self.code(),
            Some(zkc::Error::ConnectionLoss | zkc::Error::Custom(_))
        )
    }
}

impl std::fmt::Display for ZkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZkError::Op { path, source } => write!(f, "ZooKeeper error on {path}: {source}"),
            ZkError::ControllerMoved => {
                f.write_str("controller moved: /controller_epoch check failed")
            }
            ZkError::Decode(e) => e.fmt(f),
            ZkError::Unreachable(e) => e.fmt(f),
            ZkError::NoSession { connect, after } => write!(
                f,
                "no ZooKeeper session with {connect} within {} ms: a server accepts connections \
                 but did not complete the ZooKeeper handshake (not a ZooKeeper server, or an \
                 ensemble without a quorum?)",
                after.as_millis()
            ),
        }
    }
}

impl std::error::Error for ZkError {}

impl From<codec::DecodeError> for ZkError {
    fn from(e: codec::DecodeError) -> Self {
        ZkError::Decode(e)
    }
}
