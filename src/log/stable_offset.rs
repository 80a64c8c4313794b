//! The last stable offset (Log.lastStableOffset): how far read_committed consumers may read.
//! An open transaction holds it at its first offset; without one it is the high watermark.
//! Also what the log cleaner needs of the producers: where the first open transaction
//! starts and each active producer's last record.

use std::collections::HashMap;

use super::cleaned_txn::LastRecord;
use super::partition_log::{Log, LogInner};

impl Log {
    /// min(high watermark, first offset of the earliest open transaction), never below the
    /// log start offset. Completed transactions whose marker is not yet replicated do not
    /// hold it back here (Kafka's `unreplicatedTxns`): the high watermark bounds it instead.
    pub fn last_stable_offset(&self) -> i64 {
        let g = self.lock();
        let hw = g.high_watermark;
        first_unstable_offset(&g)
            .map_or(hw, |f| f.min(hw))
            .max(g.log_start_offset)
    }

    /// Log.firstUnstableOffset: the first offset of the earliest open transaction (never
    /// below the log start offset); the cleaner does not clean from there on.
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
        .active_producers()
        .filter_map(|e| e.current_txn_first_offset)
        .min()
        .map(|f| f.max(g.log_start_offset))
}
