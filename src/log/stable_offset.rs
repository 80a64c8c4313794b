//! The last stable offset (Log.lastStableOffset): how far read_committed consumers may read.
//! An open transaction holds it at its first offset, and so does a completed one until the
//! high watermark passes its marker (a new leader might not have the marker); without
//! either it is the high watermark. Also what the log cleaner needs of the producers: where
//! the first unstable transaction starts and each active producer's last record.

use std::collections::HashMap;

use super::cleaned_txn::LastRecord;
use super::partition_log::{Log, LogInner};

impl Log {
    /// The first unstable offset if below the high watermark, else the high watermark;
    /// never below the log start offset.
    pub fn last_stable_offset(&self) -> i64 {
        let g = self.lock();
        let hw = g.high_watermark;
        first_unstable_offset(&g)
            .map_or(hw, |f| f.min(hw))
            .max(g.log_start_offset)
    }

    /// Log.firstUnstableOffset: the first offset of the earliest open transaction, or of a
    /// completed one whose marker the high watermark has not passed (never below the log
    /// start offset); the cleaner does not clean from there on.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        first_unstable_offset(&self.lock())
    }

    /// Log.lastRecordsOfActiveProducers: per producer, its last data offset (if it has a
    /// retained batch) and epoch, so the cleaner keeps what producer state is rebuilt from.
    pub fn last_records_of_active_producers(&self) -> HashMap<i64, LastRecord> {
        let g = self.lock();
        g.producer_state
            .active_producers()
            .map(|e| {
                let offset = e.last_data_offset();
                let last = LastRecord {
                    last_data_offset: (offset >= 0).then_some(offset),
                    producer_epoch: e.producer_epoch,
                };
                (e.producer_id, last)
            })
            .collect()
    }
}

fn first_unstable_offset(g: &LogInner) -> Option<i64> {
    g.producer_state
        .first_unstable_offset(g.high_watermark)
        .map(|f| f.max(g.log_start_offset))
}
