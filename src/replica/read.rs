//! Client-facing access to hosted partitions (the parts of ReplicaManager.scala and
//! Partition.scala that Produce, Fetch and ListOffsets go through): which partition answers a
//! request, leader-epoch fencing, and divergence checks for followers' fetches. Kept apart from
//! the leadership/ISR code so the two can evolve independently.

use std::sync::Arc;

use super::manager::ReplicaManager;
use super::partition::Partition;
use crate::log::{Log, TopicPartition};
use crate::server::errors;

/// A partition this broker leads, as seen at one instant.
pub struct LeaderView {
    pub partition: Arc<Partition>,
    pub log: Arc<Log>,
    pub leader_epoch: i32,
}

/// Kafka encodes "no epoch given" as -1 on the wire (an empty Optional in the Java client).
pub fn requested_epoch(wire: i32) -> Option<i32> {
    (wire >= 0).then_some(wire)
}

impl Partition {
    /// Partition.localLogWithEpochOrException: fences a request's `current_leader_epoch`
    /// against ours, then requires leadership. FENCED_LEADER_EPOCH when the requester is
    /// behind, UNKNOWN_LEADER_EPOCH when it is ahead (we have not heard of that epoch yet).
    pub fn leader_log_with_epoch(
        &self,
        current_leader_epoch: Option<i32>,
    ) -> Result<(Arc<Log>, i32), i16> {
        let inner = self.lock();
        let ours = inner.state.leader_epoch;
        match current_leader_epoch {
            Some(e) if e < ours => return Err(errors::FENCED_LEADER_EPOCH),
            Some(e) if e > ours => return Err(errors::UNKNOWN_LEADER_EPOCH),
            _ => {}
        }
        if inner.state.leader != self.local_broker_id {
            return Err(errors::NOT_LEADER_OR_FOLLOWER);
        }
        let log = inner.log.clone().ok_or(errors::NOT_LEADER_OR_FOLLOWER)?;
        Ok((log, ours))
    }
}

impl ReplicaManager {
    /// The partition and log to serve a client or follower request for `tp` from
    /// (ReplicaManager.getPartitionOrException + localLogWithEpochOrException). A partition we
    /// do not host is UNKNOWN_TOPIC_OR_PARTITION, unless the metadata says it exists
    /// (`known_to_cluster`), in which case the client is talking to the wrong broker.
    pub fn leader_view(
        &self,
        tp: &TopicPartition,
        current_leader_epoch: Option<i32>,
        known_to_cluster: bool,
    ) -> Result<LeaderView, i16> {
        let Some(partition) = self.get_partition(tp) else {
            return Err(if self.is_partition_offline(tp) {
                errors::KAFKA_STORAGE_ERROR
            } else if known_to_cluster {
                errors::NOT_LEADER_OR_FOLLOWER
            } else {
                errors::UNKNOWN_TOPIC_OR_PARTITION
            });
        };
        let (log, leader_epoch) = partition.leader_log_with_epoch(current_leader_epoch)?;
        if log.is_offline() {
            return Err(errors::KAFKA_STORAGE_ERROR);
        }
        Ok(LeaderView {
            partition,
            log,
            leader_epoch,
        })
    }
}
