//! The admin request znodes the controller watches: `/admin/preferred_replica_election` and
//! `/admin/reassign_partitions` (KafkaZkClient.scala), and the controller's fenced rewrite of a
//! topic's assignment during a reassignment.

use zookeeper_client::OneshotWatcher;

use super::client::{FencedOp, KafkaZkClient, ZkError, ZkResult};
use super::codec::{self, TopicAssignment};
use super::paths;

impl KafkaZkClient {
    /// Exists-watch on `path` (fires on creation, deletion or data change); whether it exists.
    pub async fn exists_and_watch(&self, path: &str) -> ZkResult<(bool, OneshotWatcher)> {
        let client = self.client().await?;
        let (stat, watcher) = self
            .in_flight(|| client.check_and_watch_stat(path))
            .await
            .map_err(|e| ZkError::op(path, e))?;
        Ok((stat.is_some(), watcher))
    }

    /// Partitions listed in `/admin/preferred_replica_election`; an unparsable payload is
    /// logged and treated as empty, as Kafka does.
    pub async fn get_preferred_replica_election(&self) -> ZkResult<Vec<(String, i32)>> {
        let path = paths::PREFERRED_REPLICA_ELECTION;
        let Some((data, _)) = self.get_data(path).await? else {
            return Ok(vec![]);
        };
        Ok(
            codec::decode_preferred_replica_election(path, &data).unwrap_or_else(|e| {
                tracing::warn!(target: "kafka.zk.KafkaZkClient", "{e}; ignoring it");
                vec![]
            }),
        )
    }

    /// Targets listed in `/admin/reassign_partitions` (empty when absent or unparsable).
    pub async fn get_partition_reassignment_znode(&self) -> ZkResult<Vec<(String, i32, Vec<i32>)>> {
        let path = paths::REASSIGN_PARTITIONS;
        let Some((data, _)) = self.get_data(path).await? else {
            return Ok(vec![]);
        };
        Ok(
            codec::decode_reassign_partitions(path, &data).unwrap_or_else(|e| {
                tracing::warn!(target: "kafka.zk.KafkaZkClient", "{e}; ignoring it");
                vec![]
            }),
        )
    }

    /// Rewrites `/admin/reassign_partitions` with what is left, deleting it when empty
    /// (controller-fenced).
    pub async fn set_partition_reassignment_znode(
        &self,
        epoch_zk_version: i32,
        left: &[(String, i32, Vec<i32>)],
    ) -> ZkResult<()> {
        let path = paths::REASSIGN_PARTITIONS;
        if left.is_empty() {
            return self.delete_fenced(epoch_zk_version, path).await;
        }
        let op = FencedOp::SetData {
            path: path.to_string(),
            data: codec::encode_reassign_partitions(left).into_bytes(),
            version: None,
        };
        match self.fenced_multi(epoch_zk_version, &[op]).await {
            Err(e) if e.is(zookeeper_client::Error::NoNode) => Ok(()),
            other => other,
        }
    }

    /// The controller's write of a topic's whole assignment (RS/AR/RR), controller-fenced.
    pub async fn set_topic_assignment_fenced(
        &self,
        epoch_zk_version: i32,
        topic: &str,
        assignment: &TopicAssignment,
    ) -> ZkResult<()> {
        let op = FencedOp::SetData {
            path: paths::topic(topic),
            data: assignment.encode().into_bytes(),
            version: None,
        };
        self.fenced_multi(epoch_zk_version, &[op]).await
    }
}
