//! Retention (Log.deleteOldSegments), log start offset moves and truncation.

use super::config::LogConfig;
use super::deleter::FileDeleter;
use super::errors::LogError;
use super::partition_log::{Log, LogInner};
use super::segment::LogSegment;

impl Log {
    /// One retention pass at time `now`: by time, then size, then log start offset
    /// (compact-only topics get only the last rule). Returns segments deleted.
    pub fn delete_old_segments(&self, now: i64) -> Result<usize, LogError> {
        let config = self.config();
        let mut g = self.lock();
        let mut deleted = 0;
        if config.cleanup_policy.delete {
            if config.retention_ms >= 0 {
                let retention = config.retention_ms;
                deleted += delete_matching(&mut g, &config, &self.deleter, |s, _| {
                    now - s.largest_timestamp() > retention
                })?;
            }
            if config.retention_bytes >= 0 {
                let total: i64 = g.segments.values().map(|s| s.size() as i64).sum();
                if total >= config.retention_bytes {
                    let mut diff = total - config.retention_bytes;
                    deleted += delete_matching(&mut g, &config, &self.deleter, |s, _| {
                        if diff - s.size() as i64 >= 0 {
                            diff -= s.size() as i64;
                            true
                        } else {
                            false
                        }
                    })?;
                }
            }
        }
        let lso = g.log_start_offset;
        deleted += delete_matching(&mut g, &config, &self.deleter, |_, next| {
            next.is_some_and(|n| n <= lso)
        })?;
        Ok(deleted)
    }

    /// DeleteRecords: raises the log start offset (must not pass the high watermark).
    /// Segments below it are removed by the next retention pass. Returns the new value.
    pub fn maybe_increment_log_start_offset(&self, new_start: i64) -> Result<i64, LogError> {
        let mut g = self.lock();
        if new_start > g.high_watermark {
            return Err(LogError::OffsetOutOfRange {
                offset: new_start,
                log_start_offset: g.log_start_offset,
                log_end_offset: g.high_watermark,
            });
        }
        if new_start > g.log_start_offset {
            g.log_start_offset = new_start;
            super::count_log_start_move();
            g.epoch_cache.truncate_from_start(new_start)?;
            g.recovery_point = g.recovery_point.max(new_start);
        }
        g.check_invariants();
        Ok(g.log_start_offset)
    }

    /// Alias matching Kafka's DeleteRecords naming.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, LogError> {
        self.maybe_increment_log_start_offset(offset)
    }

    /// Drops every offset >= `target`. Returns false if nothing was above it.
    pub fn truncate_to(&self, target: i64) -> Result<bool, LogError> {
        if target < 0 {
            return Err(LogError::Other(format!(
                "cannot truncate to negative offset {target}"
            )));
        }
        let config = self.config();
        let mut g = self.lock();
        if target >= g.log_end_offset {
            return Ok(false);
        }
        let first = *g.segments.keys().next().expect("segment");
        if first > target {
            drop(g);
            self.truncate_fully_and_start_at(target)?;
            return Ok(true);
        }
        let later: Vec<i64> = g.segments.range(target + 1..).map(|(b, _)| *b).collect();
        for b in later {
            let mut s = g.segments.remove(&b).expect("listed");
            self.deleter
                .schedule(s.rename_to_deleted()?, config.file_delete_delay_ms);
        }
        let active = g.active_mut();
        active.truncate_to(target)?;
        active.resize_indexes(config.segment_index_bytes.max(0) as usize)?;
        let leo = active.read_next_offset()?;
        debug_assert!(leo <= target);
        g.log_end_offset = leo;
        g.truncated_to = Some(g.truncated_to.map_or(leo, |t| t.min(leo)));
        g.recovery_point = g.recovery_point.min(leo);
        g.log_start_offset = g.log_start_offset.min(leo);
        g.high_watermark = g.high_watermark.min(leo);
        g.epoch_cache.truncate_from_end(leo)?;
        g.pending_flushes.retain(|p| p.offset <= leo);
        g.unflushed_messages = 0;
        g.load_producer_state()?;
        g.check_invariants();
        Ok(true)
    }

    /// Deletes all data and restarts the log empty at `new_offset`.
    pub fn truncate_fully_and_start_at(&self, new_offset: i64) -> Result<(), LogError> {
        let config = self.config();
        let mut g = self.lock();
        for (_, mut s) in std::mem::take(&mut g.segments) {
            self.deleter
                .schedule(s.rename_to_deleted()?, config.file_delete_delay_ms);
        }
        let seg = LogSegment::open(&g.dir, new_offset, &config, false)?;
        g.segments.insert(new_offset, seg);
        g.log_end_offset = new_offset;
        g.truncated_to = Some(g.truncated_to.map_or(new_offset, |t| t.min(new_offset)));
        g.log_start_offset = new_offset;
        super::count_log_start_move();
        g.recovery_point = new_offset;
        g.high_watermark = new_offset;
        g.pending_flushes.clear();
        g.unflushed_messages = 0;
        g.epoch_cache.clear_and_flush()?;
        for (_, path) in super::producer_snapshot::list_snapshots(&g.dir) {
            let _ = std::fs::remove_file(path);
        }
        g.producer_state.reset(Vec::new(), new_offset);
        g.check_invariants();
        Ok(())
    }
}

/// Deletes leading segments while `pred(segment, next_base)` holds and the high
/// watermark covers them (Log.deletableSegments + deleteSegments).
fn delete_matching(
    g: &mut LogInner,
    config: &LogConfig,
    deleter: &FileDeleter,
    mut pred: impl FnMut(&LogSegment, Option<i64>) -> bool,
) -> Result<usize, LogError> {
    let bases: Vec<i64> = g.segments.keys().copied().collect();
    let mut deletable = Vec::new();
    for (i, b) in bases.iter().enumerate() {
        let next = bases.get(i + 1).copied();
        let seg = &g.segments[b];
        let upper = next.unwrap_or(g.log_end_offset);
        let last_and_empty = next.is_none() && seg.size() == 0;
        if g.high_watermark >= upper && !last_and_empty && pred(seg, next) {
            deletable.push(*b);
        } else {
            break;
        }
    }
    if deletable.is_empty() {
        return Ok(0);
    }
    if deletable.len() == bases.len() {
        // Never leave the log without a segment: roll an empty one at the log end offset.
        g.roll(config, None, deleter)?;
    }
    for b in &deletable {
        let mut s = g.segments.remove(b).expect("listed");
        deleter.schedule(s.rename_to_deleted()?, config.file_delete_delay_ms);
        g.delete_producer_snapshot(*b);
    }
    let first = *g.segments.keys().next().expect("segment remains");
    if first > g.log_start_offset {
        g.log_start_offset = first;
        super::count_log_start_move();
        g.epoch_cache.truncate_from_start(first)?;
    }
    g.high_watermark = g.high_watermark.max(g.log_start_offset);
    g.recovery_point = g.recovery_point.max(g.log_start_offset);
    crate::narrate!(
        info,
        "kafka.log.Log",
        crate::metrics::events::EventKind::LogDeletion,
        crate::metrics::events::Subject::log_dir(&g.dir),
        "Deleted {} old log segments of {}: log start offset is now {}",
        deletable.len(),
        g.dir.display(),
        g.log_start_offset
    );
    g.check_invariants();
    Ok(deletable.len())
}
