//! The last stable offset (Log.lastStableOffset): how far read_committed consumers may read.
//! An open transaction holds it at its first offset; without one it is the high watermark.

use super::partition_log::Log;

impl Log {
    /// min(high watermark, first offset of the earliest open transaction), never below the
    /// log start offset. Completed transactions whose marker is not yet replicated do not
    /// hold it back here (Kafka's `unreplicatedTxns`): the high watermark bounds it instead.
    pub fn last_stable_offset(&self) -> i64 {
        let g = self.lock();
        let first_unstable = g
            .producer_state
            .active_producers()
            .filter_map(|e| e.current_txn_first_offset)
            .min();
        let hw = g.high_watermark;
        first_unstable
            .map_or(hw, |f| f.min(hw))
            .max(g.log_start_offset)
    }
}
