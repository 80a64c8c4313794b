//! One member of a group (MemberMetadata.scala): identity, timeouts, the protocols it
//! supports, its assignment, and the JoinGroup/SyncGroup call it may have parked.

use std::time::Instant;

use bytes::Bytes;
use tokio::sync::oneshot;

/// What a parked (or immediate) JoinGroup answers.
#[derive(Debug, Clone, Default)]
pub struct JoinResult {
    pub error: i16,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: String,
    pub member_id: String,
    /// Non-empty for the leader only: every member with its metadata for the chosen protocol.
    pub members: Vec<JoinMember>,
}

#[derive(Debug, Clone)]
pub struct JoinMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

impl JoinResult {
    pub fn error(member_id: &str, error: i16) -> JoinResult {
        JoinResult {
            error,
            generation_id: -1,
            member_id: member_id.to_string(),
            ..Default::default()
        }
    }
}

/// What a parked (or immediate) SyncGroup answers.
#[derive(Debug, Clone, Default)]
pub struct SyncResult {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    pub fn error(error: i16) -> SyncResult {
        SyncResult {
            error,
            ..Default::default()
        }
    }
}

pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub awaiting_join: Option<oneshot::Sender<JoinResult>>,
    pub awaiting_sync: Option<oneshot::Sender<SyncResult>>,
    /// Added but not yet answered: expires after NEW_MEMBER_JOIN_TIMEOUT instead of the
    /// session timeout, so a client that vanished mid-join does not hold the group up for long
    /// nor get evicted before it could ever heartbeat.
    pub is_new: bool,
    /// When the member is removed unless it heartbeats (or commits, or syncs) first.
    pub heartbeat_deadline: Instant,
}

impl Member {
    pub fn is_awaiting_join(&self) -> bool {
        self.awaiting_join.is_some()
    }

    pub fn is_static(&self) -> bool {
        self.group_instance_id.is_some()
    }

    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Same protocols with the same metadata in the same order (MemberMetadata.matches).
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// The member's most preferred protocol among `candidates` (MemberMetadata.vote).
    pub fn vote<'a>(&'a self, candidates: &[&str]) -> Option<&'a str> {
        self.protocols
            .iter()
            .map(|(n, _)| n.as_str())
            .find(|n| candidates.contains(n))
    }

    /// Answers the parked JoinGroup, if any.
    pub fn complete_join(&mut self, result: JoinResult) {
        if let Some(tx) = self.awaiting_join.take() {
            let _ = tx.send(result);
        }
        self.is_new = false;
    }

    /// Answers the parked SyncGroup, if any.
    pub fn complete_sync(&mut self, result: SyncResult) {
        if let Some(tx) = self.awaiting_sync.take() {
            let _ = tx.send(result);
        }
    }

    /// Members waiting for a rebalance to finish count as alive (hasSatisfiedHeartbeat);
    /// new members only until their join deadline.
    pub fn is_expired(&self, now: Instant) -> bool {
        if now < self.heartbeat_deadline {
            return false;
        }
        self.is_new || !(self.is_awaiting_join() || self.awaiting_sync.is_some())
    }

    /// `<id>(client=<client>, host=<host>)` for log lines.
    pub fn describe(&self) -> String {
        match &self.group_instance_id {
            Some(i) => format!("{}(instance={i})", self.member_id),
            None => self.member_id.clone(),
        }
    }
}
