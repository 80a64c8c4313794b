//! The ZooKeeper ACL store of AclAuthorizer (ZkData.scala `ZkAclStore`, `*AclChangeStore`):
//! raw znode access for `/kafka-acl`, `/kafka-acl-extended/prefixed` and their change
//! notification paths. The JSON and the decisions live in `security::authorizer`.

use zookeeper_client as zkc;

use super::client::{KafkaZkClient, ZkError, ZkResult, OPEN};

/// Literal ACLs: `/kafka-acl/<ResourceType>/<name>`.
pub const LITERAL_ACLS: &str = "/kafka-acl";
/// Prefixed ACLs: `/kafka-acl-extended/prefixed/<ResourceType>/<prefix>`.
pub const PREFIXED_ACLS: &str = "/kafka-acl-extended/prefixed";
/// Literal changes: `acl_changes_<seq>` with data `<RESOURCE_TYPE>:<name>`.
pub const LITERAL_CHANGES: &str = "/kafka-acl-changes";
/// Prefixed changes: `acl_changes_<seq>` with JSON data.
pub const EXTENDED_CHANGES: &str = "/kafka-acl-extended-changes";
pub const CHANGE_PREFIX: &str = "acl_changes_";

/// Outcome of a conditional ACL znode write.
pub enum AclWrite {
    Written,
    /// The znode changed (or appeared/vanished) since it was read: re-read and retry.
    Conflict,
}

impl KafkaZkClient {
    /// Creates the ACL store paths (AclAuthorizer.configure does the same at startup).
    pub async fn create_acl_paths(&self) -> ZkResult<()> {
        for p in [
            LITERAL_ACLS,
            PREFIXED_ACLS,
            LITERAL_CHANGES,
            EXTENDED_CHANGES,
        ] {
            self.make_sure_persistent_path_exists(p).await?;
        }
        Ok(())
    }

    /// Writes an ACL znode if it is still at `version` (-1 = absent: create it); an empty
    /// `data` deletes it. Parents are created as needed.
    pub async fn conditional_write_acls(
        &self,
        path: &str,
        data: Option<&[u8]>,
        version: i32,
    ) -> ZkResult<AclWrite> {
        let client = self.client().await?;
        let result = match (data, version) {
            (Some(data), -1) => {
                if let Some((parent, _)) = path.rsplit_once('/') {
                    self.make_sure_persistent_path_exists(parent).await?;
                }
                let create = || client.create(path, data, &OPEN);
                self.in_flight(create).await.map(|_| ())
            }
            (Some(data), v) => {
                let set = || client.set_data(path, data, Some(v));
                self.in_flight(set).await.map(|_| ())
            }
            (None, -1) => Ok(()),
            (None, v) => self.in_flight(|| client.delete(path, Some(v))).await,
        };
        match result {
            Ok(()) => Ok(AclWrite::Written),
            Err(zkc::Error::BadVersion | zkc::Error::NodeExists | zkc::Error::NoNode) => {
                Ok(AclWrite::Conflict)
            }
            Err(e) => Err(ZkError::op(path, e)),
        }
    }
}
