//! The leader's half of DeleteRecords (Partition.deleteRecordsOnLeader, lowWatermarkIfLeader):
//! moving the log start offset forward, and the low watermark a DeleteRecords request waits
//! for — the smallest log start offset over the leader and its live followers.

use std::collections::BTreeMap;

use super::partition::Partition;
use crate::cluster::Broker;
use crate::server::errors;

/// `Offset = -1` in a DeleteRecords request: "up to the high watermark".
pub const HIGH_WATERMARK: i64 = -1;

impl Partition {
    /// Raises the log start offset to `offset` (or the high watermark for -1) and returns
    /// the offset the low watermark must reach (the request's offset, -1 resolved). Errors as Kafka: not leader, a topic whose
    /// cleanup.policy lacks `delete` (POLICY_VIOLATION), offsets below 0 or above the high
    /// watermark (OFFSET_OUT_OF_RANGE).
    pub fn delete_records_on_leader(&self, offset: i64) -> Result<i64, i16> {
        let inner = self.lock();
        if inner.state.leader != self.local_broker_id {
            return Err(errors::NOT_LEADER_OR_FOLLOWER);
        }
        let log = inner.log.clone().ok_or(errors::NOT_LEADER_OR_FOLLOWER)?;
        if !log.config().cleanup_policy.delete {
            return Err(errors::POLICY_VIOLATION);
        }
        let hw = log.high_watermark();
        let target = if offset == HIGH_WATERMARK { hw } else { offset };
        if target < 0 || target > hw {
            return Err(errors::OFFSET_OUT_OF_RANGE);
        }
        // Held under the partition lock, like the append path, so a leader change cannot
        // interleave with the move.
        log.maybe_increment_log_start_offset(target)
            .map_err(|e| {
                log.maybe_report_storage_error("moving the log start offset", &e);
                e.error_code()
            })
            .map(|_| target)
    }

    /// The low watermark: min log start offset over the leader and the followers whose
    /// broker is alive (a follower not heard from yet counts as -1, holding it down).
    pub fn low_watermark_if_leader(&self, alive: &BTreeMap<i32, Broker>) -> Result<i64, i16> {
        let inner = self.lock();
        if inner.state.leader != self.local_broker_id {
            return Err(errors::NOT_LEADER_OR_FOLLOWER);
        }
        let log = inner.log.as_ref().ok_or(errors::NOT_LEADER_OR_FOLLOWER)?;
        let low = inner
            .followers
            .iter()
            .filter(|(id, _)| alive.contains_key(id))
            .map(|(_, f)| f.log_start_offset)
            .fold(log.log_start_offset(), i64::min);
        // A replica being moved to another log dir counts too (its future log).
        let low = inner
            .future_log
            .as_ref()
            .map_or(low, |f| low.min(f.log_start_offset()));
        Ok(low)
    }
}
