//! The last stable offset (Log.lastStableOffset): how far read_committed consumers may read.
//! An open transaction holds it at its first offset, and so does a completed one until the
//! high watermark passes its marker (a new leader might not have the marker); without
//! either it is the high watermark.

use super::partition_log::Log;

impl Log {
    /// The first unstable offset if below the high watermark, else the high watermark;
    /// never below the log start offset.
    pub fn last_stable_offset(&self) -> i64 {
        let g = self.lock();
        let hw = g.high_watermark;
        let first_unstable = g.producer_state.first_unstable_offset(hw);
        first_unstable
            .map_or(hw, |f| f.min(hw))
            .max(g.log_start_offset)
    }
}
