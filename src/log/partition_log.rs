//! `Log`: the segmented log of one partition (Log.scala). State lives behind one mutex;
//! reads hand out file ranges so the lock is held only for index lookups.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use super::config::LogConfig;
use super::deleter::FileDeleter;
use super::epoch_cache::LeaderEpochFileCache;
use super::errors::LogError;
use super::segment::LogSegment;
use super::util::now_ms;
use super::TopicPartition;

/// Position of an offset in the log (Kafka's LogOffsetMetadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOffsetMetadata {
    pub message_offset: i64,
    pub segment_base_offset: i64,
    pub relative_position_in_segment: u64,
}

/// Outcome of an append (Kafka's LogAppendInfo, the fields the broker needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogAppendInfo {
    /// First offset of the append; -1 when no complete batch was present.
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub offset_of_max_timestamp: i64,
    /// The broker time stamped into batches with LogAppendTime, else -1.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    /// Number of records (sum of batch record counts).
    pub num_messages: i64,
    pub num_batches: usize,
    pub valid_bytes: usize,
    pub last_leader_epoch: i32,
}

/// Who produced the data of a leader append (Kafka's AppendOrigin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOrigin {
    /// A producer: control batches are refused.
    Client,
    /// The group/transaction coordinator of this broker.
    Coordinator,
    /// A follower copying the leader's batches (and replays of the log at recovery): the
    /// producer state is applied, never enforced.
    Replication,
}

/// `fetch_offset_by_timestamp` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampAndOffset {
    pub timestamp: i64,
    pub offset: i64,
    pub leader_epoch: Option<i32>,
}

pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const LATEST_TIMESTAMP: i64 = -1;

pub(crate) struct PendingFlush {
    pub offset: i64,
    pub done: Arc<AtomicBool>,
}

pub(crate) struct LogInner {
    pub dir: PathBuf,
    pub segments: BTreeMap<i64, LogSegment>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
    pub recovery_point: i64,
    pub epoch_cache: LeaderEpochFileCache,
    pub unflushed_messages: i64,
    pub last_flush_ms: i64,
    pub pending_flushes: Vec<PendingFlush>,
    pub scratch: Vec<u8>,
    /// Lowest offset truncated to since the cleaner last looked: its checkpoint must not
    /// stay above it, or re-appended records would count as already clean.
    pub truncated_to: Option<i64>,
    /// Idempotent/transactional producers' last batches (producer_state.rs).
    pub producer_state: super::producer_state::ProducerStateManager,
}

/// The log of one partition.
pub struct Log {
    pub(crate) topic_partition: TopicPartition,
    pub(crate) inner: Mutex<LogInner>,
    pub(crate) config: RwLock<Arc<LogConfig>>,
    pub(crate) deleter: Arc<FileDeleter>,
    /// Where I/O errors on this log are reported (set by the LogManager).
    pub(crate) dir_failure: OnceLock<Arc<super::dir_failure::LogDirFailureChannel>>,
}

impl LogInner {
    pub fn active(&self) -> &LogSegment {
        self.segments
            .values()
            .next_back()
            .expect("a log always has a segment")
    }
    /// The segment holding `offset` (the first one for offsets below it).
    pub fn segment_for_mut(&mut self, offset: i64) -> &mut LogSegment {
        let base = self
            .segments
            .range(..=offset)
            .next_back()
            .map(|(b, _)| *b)
            .unwrap_or_else(|| {
                *self
                    .segments
                    .keys()
                    .next()
                    .expect("a log always has a segment")
            });
        self.segments.get_mut(&base).expect("listed")
    }
    pub fn active_mut(&mut self) -> &mut LogSegment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has a segment")
    }

    /// Applies async roll flushes that have completed to the recovery point.
    pub fn apply_completed_flushes(&mut self) {
        let leo = self.log_end_offset;
        let mut rp = self.recovery_point;
        self.pending_flushes.retain(|p| {
            if p.done.load(Ordering::Acquire) {
                if p.offset <= leo {
                    rp = rp.max(p.offset);
                }
                false
            } else {
                true
            }
        });
        self.recovery_point = rp;
    }

    /// Checks LSO <= HW <= LEO and recovery point <= LEO.
    pub fn check_invariants(&self) {
        debug_assert!(
            self.log_start_offset <= self.high_watermark
                && self.high_watermark <= self.log_end_offset,
            "log start offset {} <= high watermark {} <= log end offset {} violated",
            self.log_start_offset,
            self.high_watermark,
            self.log_end_offset
        );
        debug_assert!(self.recovery_point <= self.log_end_offset);
    }

    /// Fsyncs segments holding offsets in [recovery point, offset) and advances the recovery point.
    pub fn flush_up_to(&mut self, offset: i64) -> Result<(), LogError> {
        self.apply_completed_flushes();
        let offset = offset.min(self.log_end_offset);
        if offset <= self.recovery_point {
            return Ok(());
        }
        let from = self
            .segments
            .range(..=self.recovery_point)
            .next_back()
            .map(|(b, _)| *b)
            .unwrap_or(i64::MIN);
        for (_, seg) in self.segments.range(from..offset) {
            seg.flush()?;
        }
        self.recovery_point = offset;
        self.last_flush_ms = now_ms();
        if offset >= self.log_end_offset {
            self.unflushed_messages = 0;
        }
        Ok(())
    }

    /// Rolls a new active segment at max(expected, LEO) (Log.roll).
    pub fn roll(
        &mut self,
        config: &LogConfig,
        expected_next_offset: Option<i64>,
        deleter: &FileDeleter,
    ) -> Result<i64, LogError> {
        let new_base = expected_next_offset.unwrap_or(0).max(self.log_end_offset);
        if let Some(existing) = self.segments.get(&new_base) {
            if existing.size() == 0 && self.active().base_offset() == new_base {
                // An empty active segment already starts there: replace it (Kafka does the same).
                let mut seg = self.segments.remove(&new_base).expect("present");
                let paths = seg.rename_to_deleted()?;
                deleter.schedule(paths, 0);
            } else {
                return Err(LogError::Other(format!(
                    "trying to roll a new segment at {new_base} that already exists in {}",
                    self.dir.display()
                )));
            }
        }
        if let Some(active) = self.segments.values_mut().next_back() {
            active.on_became_inactive()?;
        }
        // The producer state as of the new segment's base offset, so that recovery replays
        // at most the segments after it (Log.roll).
        self.producer_state.set_map_end_offset(new_base);
        self.take_producer_snapshot()?;
        let seg = LogSegment::open(&self.dir, new_base, config, false)?;
        self.segments.insert(new_base, seg);
        // Flush the now-inactive segments in the background; the recovery point moves once done.
        let rp = self.recovery_point;
        let bases: Vec<i64> = self.segments.range(..new_base).map(|(b, _)| *b).collect();
        let mut paths: Vec<PathBuf> = Vec::new();
        for (i, b) in bases.iter().enumerate() {
            let next = bases.get(i + 1).copied().unwrap_or(new_base);
            if next > rp {
                paths.extend(self.segments[b].flush_paths());
            }
        }
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        std::thread::Builder::new()
            .name("kafka-log-roll-flush".into())
            .spawn(move || {
                for p in &paths {
                    // A file gone meanwhile was deleted or replaced (retention, truncation,
                    // cleaner swap): its data needs no flush.
                    let r = match File::open(p) {
                        Ok(f) => f.sync_all(),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = r {
                        tracing::error!(path = %p.display(), error = %e, "flush after roll failed");
                        return;
                    }
                }
                flag.store(true, Ordering::Release);
            })
            .map_err(|e| LogError::io("spawn flush thread", e))?;
        self.pending_flushes.push(PendingFlush {
            offset: new_base,
            done,
        });
        crate::narrate!(
            info,
            "kafka.log.Log",
            crate::metrics::events::EventKind::LogRoll,
            crate::metrics::events::Subject::log_dir(&self.dir),
            "Rolled new log segment at offset {new_base} in {}",
            self.dir.display()
        );
        Ok(new_base)
    }
}

impl Log {
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.topic_partition
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, LogInner> {
        self.inner.lock().expect("log lock poisoned")
    }

    pub fn config(&self) -> Arc<LogConfig> {
        self.config.read().expect("config lock").clone()
    }

    /// Replaces the topic config (dynamic topic config change).
    pub fn update_config(&self, config: LogConfig) {
        *self.config.write().expect("config lock") = Arc::new(config);
    }

    pub fn dir(&self) -> PathBuf {
        self.lock().dir.clone()
    }
    pub fn log_start_offset(&self) -> i64 {
        self.lock().log_start_offset
    }
    pub fn log_end_offset(&self) -> i64 {
        self.lock().log_end_offset
    }
    pub fn high_watermark(&self) -> i64 {
        self.lock().high_watermark
    }
    pub fn recovery_point(&self) -> i64 {
        let mut g = self.lock();
        g.apply_completed_flushes();
        g.recovery_point
    }
    pub fn log_end_offset_metadata(&self) -> LogOffsetMetadata {
        let g = self.lock();
        let a = g.active();
        LogOffsetMetadata {
            message_offset: g.log_end_offset,
            segment_base_offset: a.base_offset(),
            relative_position_in_segment: a.size(),
        }
    }
    /// Takes the lowest truncation point since the last call (for the cleaner checkpoint).
    pub fn take_truncation_point(&self) -> Option<i64> {
        self.lock().truncated_to.take()
    }
    pub fn deleter(&self) -> &Arc<FileDeleter> {
        &self.deleter
    }

    /// Sets the high watermark, clamped to [log start offset, log end offset]; returns it.
    pub fn update_high_watermark(&self, hw: i64) -> i64 {
        let mut g = self.lock();
        let hw = hw.clamp(g.log_start_offset, g.log_end_offset);
        g.high_watermark = hw;
        g.producer_state.on_high_watermark_updated(hw);
        g.check_invariants();
        hw
    }

    /// Raises the high watermark (leader path); returns the old value if it moved.
    pub fn maybe_increment_high_watermark(&self, new_hw: i64) -> Option<i64> {
        let mut g = self.lock();
        assert!(
            new_hw <= g.log_end_offset,
            "high watermark {new_hw} above log end offset {}",
            g.log_end_offset
        );
        if new_hw > g.high_watermark {
            let old = g.high_watermark;
            g.high_watermark = new_hw;
            g.producer_state.on_high_watermark_updated(new_hw);
            Some(old)
        } else {
            None
        }
    }

    pub fn num_segments(&self) -> usize {
        self.lock().segments.len()
    }
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.lock().segments.keys().copied().collect()
    }
    /// Total bytes of all segments.
    pub fn size(&self) -> u64 {
        self.lock().segments.values().map(|s| s.size()).sum()
    }

    /// Leader epoch cache accessors (OffsetsForLeaderEpoch, become-leader).
    pub fn latest_epoch(&self) -> Option<i32> {
        self.lock().epoch_cache.latest_epoch()
    }
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        let g = self.lock();
        g.epoch_cache.end_offset_for(epoch, g.log_end_offset)
    }
    /// Becoming leader at `epoch`: (epoch, LEO) is recorded.
    pub fn assign_epoch_start_offset(&self, epoch: i32, start_offset: i64) -> Result<(), LogError> {
        self.lock().epoch_cache.assign(epoch, start_offset)
    }
    pub fn leader_epoch_entries(&self) -> Vec<super::epoch_cache::EpochEntry> {
        self.lock().epoch_cache.entries().to_vec()
    }

    /// fsync everything up to the log end offset and advance the recovery point.
    pub fn flush(&self) -> Result<(), LogError> {
        let mut g = self.lock();
        let leo = g.log_end_offset;
        g.flush_up_to(leo)
    }

    /// `flush.ms` check used by the flusher task.
    pub fn flush_if_due(&self, now: i64) -> Result<(), LogError> {
        let flush_ms = self.config().flush_ms;
        let mut g = self.lock();
        if g.unflushed_messages > 0 && now.saturating_sub(g.last_flush_ms) >= flush_ms {
            let leo = g.log_end_offset;
            g.flush_up_to(leo)?;
        }
        Ok(())
    }

    /// Forgets producers idle for `max_ms` with no open transaction.
    pub fn remove_expired_producers(&self, now: i64, max_ms: i64) {
        self.lock()
            .producer_state
            .remove_expired_producers(now, max_ms);
    }

    /// Rolls a new segment now (used by tests and admin operations).
    pub fn roll(&self) -> Result<i64, LogError> {
        let config = self.config();
        let mut g = self.lock();
        g.roll(&config, None, &self.deleter)
    }

    /// Clean close: flush, final time-index entry, trim indexes and preallocated files.
    pub fn close(&self) -> Result<(), LogError> {
        let mut g = self.lock();
        let leo = g.log_end_offset;
        g.flush_up_to(leo)?;
        // Older segments were finalized when rolled (or loaded): only the active one changes.
        let active = g.active_mut();
        active.on_became_inactive()?;
        active.flush()?;
        g.take_producer_snapshot()
    }

    /// Renames the partition dir (to the `-delete` form, or a `-future` dir to the real
    /// name) and updates every path the log holds (Log.renameDir).
    pub(crate) fn rename_dir(&self, to: &Path) -> Result<(), LogError> {
        let mut g = self.lock();
        std::fs::rename(&g.dir, to)
            .map_err(|e| LogError::io(format!("rename {}", g.dir.display()), e))?;
        g.dir = to.to_path_buf();
        for seg in g.segments.values_mut() {
            seg.set_parent_dir(to);
        }
        let cache_path = to.join(super::checkpoint::LEADER_EPOCH_CHECKPOINT_FILE);
        g.epoch_cache.set_path(cache_path);
        Ok(())
    }
}
