//! The leader side of a fetch, as a read helper the Fetch handler calls per partition
//! (ReplicaManager.readFromLocalLog + updateFollowerFetchState): epoch and leadership checks,
//! the read (replicas up to the log end offset, consumers up to the high watermark), and for
//! a follower the bookkeeping that moves the high watermark and may expand the ISR.

use bytes::Bytes;

use super::manager::ReplicaManager;
use crate::log::{LogError, TopicPartition};
use crate::server::errors;

/// One partition's answer to a fetch.
#[derive(Clone, Debug)]
pub struct PartitionRead {
    pub error_code: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub records: Bytes,
}

impl PartitionRead {
    fn error(code: i16) -> PartitionRead {
        PartitionRead {
            error_code: code,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            records: Bytes::new(),
        }
    }
}

/// What one partition of a fetch request asks for.
#[derive(Clone, Debug)]
pub struct PartitionFetch {
    pub tp: TopicPartition,
    /// -1: not checked (old clients).
    pub current_leader_epoch: i32,
    pub fetch_offset: i64,
    /// The follower's log start offset (-1 from consumers).
    pub log_start_offset: i64,
    pub max_bytes: usize,
}

impl ReplicaManager {
    /// Reads one partition for `replica_id` (a broker id, or -1 for a consumer).
    /// `record_follower_state`: on the first read of a request only, the follower's fetch
    /// offset is recorded as its LEO (later re-reads of a waiting fetch must not repeat it).
    pub fn read_for_fetch(
        &self,
        replica_id: i32,
        f: &PartitionFetch,
        min_one_message: bool,
        record_follower_state: bool,
    ) -> PartitionRead {
        let partition = match self.leader_partition(&f.tp) {
            Ok(p) => p,
            Err(code) => return PartitionRead::error(code),
        };
        let current = partition.leader_epoch();
        if f.current_leader_epoch >= 0 && f.current_leader_epoch < current {
            return PartitionRead::error(errors::FENCED_LEADER_EPOCH);
        }
        if f.current_leader_epoch > current {
            return PartitionRead::error(errors::UNKNOWN_LEADER_EPOCH);
        }
        let Some(log) = partition.log() else {
            return PartitionRead::error(errors::NOT_LEADER_OR_FOLLOWER);
        };
        let is_follower = replica_id >= 0;
        // Replicas read to the log end offset, consumers only what is committed.
        let max_offset = (!is_follower).then(|| log.high_watermark());
        let read = log.read(f.fetch_offset, f.max_bytes, max_offset, min_one_message);
        let records = match read {
            Ok(info) => match info.records.to_bytes() {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(target: "kafka.server.ReplicaManager", "cannot read {}: {e}", f.tp);
                    return PartitionRead::error(errors::KAFKA_STORAGE_ERROR);
                }
            },
            Err(LogError::OffsetOutOfRange { .. }) => {
                return PartitionRead::error(errors::OFFSET_OUT_OF_RANGE)
            }
            Err(e) => return PartitionRead::error(e.error_code()),
        };
        if is_follower && record_follower_state {
            let now = crate::controller::now_ms();
            if partition.update_follower_fetch_state(
                replica_id,
                f.fetch_offset,
                f.log_start_offset,
                now,
            ) {
                self.complete_delayed_requests(&f.tp);
            }
        }
        let hw = log.high_watermark();
        PartitionRead {
            error_code: errors::NONE,
            high_watermark: hw,
            last_stable_offset: hw,
            log_start_offset: log.log_start_offset(),
            records,
        }
    }
}
