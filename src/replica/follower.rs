//! The follower half of `Partition`: appending what the leader sent and truncating a divergent
//! tail. Both re-check, under the partition lock, that this broker still follows the leader
//! epoch the fetcher worked for: a LeaderAndIsr may have arrived while a fetch was in flight,
//! and data fetched for an old epoch must never land in a log that now leads or follows
//! someone else.

use crate::log::{LogAppendInfo, LogError};
use crate::metrics::events::{EventKind, Subject};

use super::partition::{Partition, PartitionInner};

/// Where a follower's log stands, as the fetcher needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerPosition {
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
    pub latest_epoch: Option<i32>,
}

impl Partition {
    /// The follower's log position, if it still follows at `leader_epoch`.
    pub fn follower_position(&self, leader_epoch: i32) -> Option<FollowerPosition> {
        let inner = self.lock();
        let log = inner.log.as_ref()?;
        if inner.state.leader == self.local_broker_id || inner.state.leader_epoch != leader_epoch {
            return None;
        }
        Some(FollowerPosition {
            log_start_offset: log.log_start_offset(),
            log_end_offset: log.log_end_offset(),
            high_watermark: log.high_watermark(),
            latest_epoch: log.latest_epoch(),
        })
    }

    /// The local end offset of `epoch` (for the KIP-279 truncation loop): the start offset of
    /// the first larger epoch, or the LEO; and the largest local epoch ≤ `epoch`.
    pub fn local_end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        let inner = self.lock();
        Some(inner.log.as_ref()?.end_offset_for_epoch(epoch))
    }

    /// Appends fetched batches (leader offsets kept), then adopts the leader's high watermark
    /// (never above our own LEO) and log start offset (ReplicaFetcherThread.processPartitionData).
    /// `Ok(None)`: the partition no longer follows at `leader_epoch`; nothing was written.
    pub fn append_records_as_follower(
        &self,
        leader_epoch: i32,
        records: &[u8],
        leader_high_watermark: i64,
        leader_log_start_offset: i64,
    ) -> Result<Option<LogAppendInfo>, LogError> {
        let inner = self.lock();
        let Some(log) = inner.log.clone() else {
            return Ok(None);
        };
        if inner.state.leader == self.local_broker_id || inner.state.leader_epoch != leader_epoch {
            return Ok(None);
        }
        let info = log.append_as_follower(records).inspect_err(|e| {
            log.maybe_report_storage_error("appending as follower", e);
        })?;
        let leo = log.log_end_offset();
        log.update_high_watermark(leader_high_watermark.min(leo));
        if leader_log_start_offset > log.log_start_offset() {
            // Below our HW only: a leader ahead of us on retention is caught up with later.
            let _ = log.maybe_increment_log_start_offset(
                leader_log_start_offset.min(log.high_watermark()),
            );
        }
        debug_assert!(
            log.log_start_offset() <= log.high_watermark()
                && log.high_watermark() <= log.log_end_offset()
        );
        Ok(Some(info))
    }

    /// Truncates the follower's log to `offset` (KIP-101/279) if it still follows at
    /// `leader_epoch`; logs one line saying why. Returns the new LEO, None when stale.
    pub fn truncate_as_follower(
        &self,
        leader_epoch: i32,
        offset: i64,
        why: &str,
    ) -> Result<Option<i64>, LogError> {
        let mut inner = self.lock();
        let Some(log) = inner.log.clone() else {
            return Ok(None);
        };
        if inner.state.leader == self.local_broker_id || inner.state.leader_epoch != leader_epoch {
            return Ok(None);
        }
        let old_leo = log.log_end_offset();
        if offset < old_leo {
            let old_hw = log.high_watermark();
            log.truncate_to(offset.max(0))
                .inspect_err(|e| log.maybe_report_storage_error("truncating", e))?;
            truncate_future_log(&mut inner, Some(offset.max(0)))?;
            crate::narrate!(info, "kafka.log.Log", EventKind::Truncation, Subject::partition(&self.tp.topic, self.tp.partition),
                "[ReplicaFetcher broker={}] Truncated {} at leader epoch {leader_epoch} (leader {}): log end offset {old_leo} -> {}, high watermark {old_hw} -> {} ({why})",
                self.local_broker_id, self.tp, inner.state.leader, log.log_end_offset(), log.high_watermark());
        } else {
            crate::narrate!(info, "kafka.log.Log", EventKind::Truncation, Subject::partition(&self.tp.topic, self.tp.partition),
                "[ReplicaFetcher broker={}] {} needs no truncation at leader epoch {leader_epoch}: truncation offset {offset} >= log end offset {old_leo} ({why})",
                self.local_broker_id, self.tp);
        }
        Ok(Some(log.log_end_offset()))
    }

    /// Deletes the whole local log and restarts it empty at `offset` (the leader's log start
    /// offset, when retention removed everything we would still need to fetch).
    pub fn truncate_fully_as_follower(
        &self,
        leader_epoch: i32,
        offset: i64,
    ) -> Result<bool, LogError> {
        let mut inner = self.lock();
        let Some(log) = inner.log.clone() else {
            return Ok(false);
        };
        if inner.state.leader == self.local_broker_id || inner.state.leader_epoch != leader_epoch {
            return Ok(false);
        }
        let (old_start, old_leo) = (log.log_start_offset(), log.log_end_offset());
        log.truncate_fully_and_start_at(offset)
            .inspect_err(|e| log.maybe_report_storage_error("truncating fully", e))?;
        truncate_future_log(&mut inner, None)?;
        crate::narrate!(info, "kafka.log.Log", EventKind::Truncation, Subject::partition(&self.tp.topic, self.tp.partition),
            "[ReplicaFetcher broker={}] Truncated {} fully at leader epoch {leader_epoch} (leader {}): offsets [{old_start}, {old_leo}) -> empty log starting at {offset} (the leader's log start offset is past our log end)",
            self.local_broker_id, self.tp, inner.state.leader);
        Ok(true)
    }
}

/// The current log was truncated to `offset` (fully, when None): the future log drops what it
/// copied above it, and copies read before now are stale (Partition.truncateTo applies to
/// both logs).
fn truncate_future_log(inner: &mut PartitionInner, offset: Option<i64>) -> Result<(), LogError> {
    inner.log_truncations += 1;
    let Some(future) = inner.future_log.clone() else {
        return Ok(());
    };
    let start = inner.log.as_ref().map_or(0, |l| l.log_start_offset());
    match offset {
        Some(o) if o < future.log_end_offset() => future.truncate_to(o).map(|_| ()),
        Some(_) => Ok(()),
        None => future.truncate_fully_and_start_at(start),
    }
    .inspect_err(|e| future.maybe_report_storage_error("truncating the future log", e))
}
