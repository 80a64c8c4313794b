//! The log cleaner service (LogCleaner + LogCleanerManager): `log.cleaner.threads` threads
//! that each pick the dirtiest compacted log not already being cleaned, clean it, and record
//! the new first dirty offset in the log dir's `cleaner-offset-checkpoint`; with nothing to
//! do a thread sleeps `log.cleaner.backoff.ms` (or until stopped).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::checkpoint::{OffsetCheckpointFile, CLEANER_OFFSET_CHECKPOINT_FILE};
use super::cleaner::{CleanResult, Cleaner, CleanerSettings};
use super::errors::LogError;
use super::partition_log::Log;
use super::swap::LogSnapshot;
use super::util::now_ms;
use super::TopicPartition;

/// Broker-level `log.cleaner.*` settings.
#[derive(Debug, Clone)]
pub struct LogCleanerConfig {
    pub enable: bool,
    pub threads: usize,
    pub dedupe_buffer_size: i64,
    pub io_buffer_size: usize,
    pub io_buffer_load_factor: f64,
    pub backoff_ms: i64,
    pub max_message_bytes: usize,
}

impl Default for LogCleanerConfig {
    fn default() -> Self {
        LogCleanerConfig {
            enable: true,
            threads: 1,
            dedupe_buffer_size: 134_217_728,
            io_buffer_size: 524_288,
            io_buffer_load_factor: 0.9,
            backoff_ms: 15_000,
            max_message_bytes: 1_048_588,
        }
    }
}

/// A log with its dir (for the checkpoint) and Kafka's cleanable range.
pub struct LogToClean {
    pub tp: TopicPartition,
    pub log: Arc<Log>,
    pub log_dir: PathBuf,
    pub first_dirty: i64,
    pub first_uncleanable: i64,
    pub clean_bytes: u64,
    pub dirty_bytes: u64,
    pub needs_compaction_now: bool,
}

impl LogToClean {
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.dirty_bytes;
        if total == 0 {
            0.0
        } else {
            self.dirty_bytes as f64 / total as f64
        }
    }
}

/// Lists every hosted log with its log dir (supplied by the LogManager).
pub type LogLister = dyn Fn() -> Vec<(TopicPartition, Arc<Log>, PathBuf)> + Send + Sync;

struct Shared {
    config: LogCleanerConfig,
    logs: Box<LogLister>,
    /// Logs being cleaned by some thread, plus the checkpoint files (one lock, as Kafka).
    in_progress: Mutex<HashSet<TopicPartition>>,
    stop: (Mutex<bool>, Condvar),
}

pub struct LogCleaner {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// Kafka's cleanableOffsets: `[first dirty, first uncleanable)` and whether a segment is
/// past `max.compaction.lag.ms`. An invalid checkpoint falls back to the log start offset.
pub fn cleanable_offsets(
    snap: &LogSnapshot,
    log: &Log,
    checkpoint: Option<i64>,
    now: i64,
) -> (i64, i64, bool) {
    let config = log.config();
    let start = snap.log_start_offset;
    let first_dirty = match checkpoint {
        Some(o) if o >= start && o <= snap.log_end_offset => o,
        _ => start,
    };
    let active = snap.active_base();
    let dirty_inactive = snap
        .segments
        .iter()
        .filter(|s| s.next_offset > first_dirty && s.base_offset < active);
    let lag = config.min_compaction_lag_ms.max(0);
    let lag_bound = if lag > 0 {
        dirty_inactive
            .clone()
            .find(|s| s.largest_timestamp > now - lag)
            .map(|s| s.base_offset)
    } else {
        None
    };
    // Never past the high watermark (a follower could still truncate above it), nor into
    // an undecided transaction (its records' fate is unknown: Kafka's firstUnstableOffset).
    let first_unstable = log.first_unstable_offset();
    let first_uncleanable = [
        Some(active),
        Some(snap.high_watermark),
        first_unstable,
        lag_bound,
    ]
    .into_iter()
    .flatten()
    .min()
    .expect("non-empty");
    let max_lag = config.max_compaction_lag_ms;
    let needs_now = max_lag < i64::MAX
        && dirty_inactive
            .clone()
            .next()
            .is_some_and(|s| s.largest_timestamp >= 0 && now - s.largest_timestamp > max_lag);
    (first_dirty, first_uncleanable.max(first_dirty), needs_now)
}

impl LogCleaner {
    pub fn new(config: LogCleanerConfig, logs: Box<LogLister>) -> LogCleaner {
        LogCleaner {
            shared: Arc::new(Shared {
                config,
                logs,
                in_progress: Mutex::new(HashSet::new()),
                stop: (Mutex::new(false), Condvar::new()),
            }),
            threads: Mutex::new(Vec::new()),
        }
    }

    pub fn config(&self) -> &LogCleanerConfig {
        &self.shared.config
    }

    /// Starts the threads (kafka-log-cleaner-thread-N).
    pub fn startup(&self) {
        let mut threads = self.threads.lock().expect("threads lock");
        let n = self.shared.config.threads;
        for i in 0..n {
            let shared = self.shared.clone();
            let h = std::thread::Builder::new()
                .name(format!("kafka-log-cleaner-thread-{i}"))
                .spawn(move || shared.run(i))
                .expect("spawn cleaner thread");
            threads.push(h);
        }
        tracing::info!(target: "kafka.log.LogCleaner", "Starting the log cleaner with {n} threads");
    }

    /// Stops and joins the threads; a pass in progress finishes first.
    pub fn shutdown(&self) {
        *self.shared.stop.0.lock().expect("stop lock") = true;
        self.shared.stop.1.notify_all();
        for h in self.threads.lock().expect("threads lock").drain(..) {
            let _ = h.join();
        }
    }

    /// One pass by the calling thread (tests, tools): cleans the dirtiest eligible log.
    pub fn clean_once(&self) -> Result<Option<(TopicPartition, CleanResult)>, LogError> {
        let mut cleaner = Cleaner::new(self.shared.settings());
        self.shared.clean_one(&mut cleaner, 0)
    }

    /// After a truncation to `offset`, a checkpoint above it would mark new, never mapped
    /// records as clean: lower it (LogCleanerManager.maybeTruncateCheckpoint).
    pub fn maybe_truncate_checkpoint(
        &self,
        dir: &PathBuf,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), LogError> {
        let _g = self.shared.in_progress.lock().expect("cleaner lock");
        let file = OffsetCheckpointFile::new(dir.join(CLEANER_OFFSET_CHECKPOINT_FILE));
        let current = file.read().unwrap_or_default();
        if current.get(tp).is_some_and(|o| *o > offset) {
            self.shared.update_checkpoint(dir, tp, offset)?;
        }
        Ok(())
    }

    /// Cleaner checkpoints of all dirs.
    pub fn checkpoints(&self) -> HashMap<TopicPartition, i64> {
        let _g = self.shared.in_progress.lock().expect("cleaner lock");
        self.shared.read_all_checkpoints()
    }
}

impl Drop for LogCleaner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shared {
    fn settings(&self) -> CleanerSettings {
        let c = &self.config;
        CleanerSettings {
            dedupe_buffer_bytes: (c.dedupe_buffer_size.max(0) as usize) / c.threads.max(1),
            load_factor: c.io_buffer_load_factor,
            io_buffer_bytes: c.io_buffer_size.max(4096),
            max_batch_bytes: c.max_message_bytes.max(c.io_buffer_size) * 2 + (1 << 20),
            halt_after_swap_file: false,
        }
    }

    fn run(&self, id: usize) {
        let mut cleaner = Cleaner::new(self.settings());
        loop {
            if *self.stop.0.lock().expect("stop lock") {
                return;
            }
            let cleaned = match self.clean_one(&mut cleaner, id) {
                Ok(r) => r.is_some(),
                Err(e) => {
                    tracing::error!(target: "kafka.log.LogCleaner", error = %e, "cleaner thread {id}: cleaning failed");
                    false
                }
            };
            if !cleaned {
                let stopped = self.stop.0.lock().expect("stop lock");
                let wait = Duration::from_millis(self.config.backoff_ms.max(1) as u64);
                let (stopped, _) = self
                    .stop
                    .1
                    .wait_timeout_while(stopped, wait, |s| !*s)
                    .expect("stop lock");
                if *stopped {
                    return;
                }
            }
        }
    }

    fn read_all_checkpoints(&self) -> HashMap<TopicPartition, i64> {
        let mut dirs: Vec<PathBuf> = (self.logs)().into_iter().map(|(_, _, d)| d).collect();
        dirs.sort();
        dirs.dedup();
        let mut out = HashMap::new();
        for d in dirs {
            match OffsetCheckpointFile::new(d.join(CLEANER_OFFSET_CHECKPOINT_FILE)).read() {
                Ok(m) => out.extend(m),
                Err(e) => {
                    tracing::warn!(target: "kafka.log.LogCleaner", error = %e, "unreadable cleaner checkpoint ignored")
                }
            }
        }
        out
    }

    /// Grabs the filthiest log (grabFilthiestCompactedLog), marking it in progress.
    fn grab_filthiest(&self, now: i64) -> Option<LogToClean> {
        let mut in_progress = self.in_progress.lock().expect("cleaner lock");
        let mut checkpoints = self.read_all_checkpoints();
        let mut best: Option<LogToClean> = None;
        for (tp, log, dir) in (self.logs)() {
            if let Some(t) = log.take_truncation_point() {
                if checkpoints.get(&tp).is_some_and(|o| *o > t) {
                    if let Err(e) = self.update_checkpoint(&dir, &tp, t) {
                        tracing::error!(target: "kafka.log.LogCleaner", error = %e, "cannot lower the cleaner checkpoint");
                    }
                    checkpoints.insert(tp.clone(), t);
                }
            }
            let config = log.config();
            if !config.cleanup_policy.compact || in_progress.contains(&tp) {
                continue;
            }
            let snap = log.snapshot();
            let (first_dirty, first_uncleanable, needs_now) =
                cleanable_offsets(&snap, &log, checkpoints.get(&tp).copied(), now);
            let bytes_in = |lo: i64, hi: i64| -> u64 {
                snap.segments
                    .iter()
                    .filter(|s| s.next_offset > lo && s.base_offset < hi)
                    .map(|s| s.size)
                    .sum()
            };
            let ltc = LogToClean {
                clean_bytes: bytes_in(snap.log_start_offset, first_dirty),
                dirty_bytes: bytes_in(first_dirty, first_uncleanable),
                tp,
                log,
                log_dir: dir,
                first_dirty,
                first_uncleanable,
                needs_compaction_now: needs_now,
            };
            // Kafka: strictly above the minimum ratio (so an all-clean log never qualifies),
            // or anything dirty once max.compaction.lag.ms has passed.
            let eligible = ltc.dirty_bytes > 0
                && (ltc.needs_compaction_now
                    || ltc.dirty_ratio() > config.min_cleanable_dirty_ratio);
            if eligible
                && best
                    .as_ref()
                    .is_none_or(|b| ltc.dirty_ratio() > b.dirty_ratio())
            {
                best = Some(ltc);
            }
        }
        if let Some(b) = &best {
            in_progress.insert(b.tp.clone());
        }
        best
    }

    fn clean_one(
        &self,
        cleaner: &mut Cleaner,
        id: usize,
    ) -> Result<Option<(TopicPartition, CleanResult)>, LogError> {
        let Some(ltc) = self.grab_filthiest(now_ms()) else {
            return Ok(None);
        };
        let result = cleaner.clean(&ltc.log, ltc.first_dirty, ltc.first_uncleanable);
        let mut in_progress = self.in_progress.lock().expect("cleaner lock");
        in_progress.remove(&ltc.tp);
        // An I/O error while cleaning takes the dir offline (LogCleaner's IOException case).
        let res = result.inspect_err(|e| ltc.log.maybe_report_storage_error("cleaning", e))?;
        if res.end_offset > ltc.first_dirty && res.aborted_groups == 0 {
            self.update_checkpoint(&ltc.log_dir, &ltc.tp, res.end_offset)
                .inspect_err(|e| {
                    ltc.log
                        .maybe_report_storage_error("writing the cleaner checkpoint", e)
                })?;
        }
        drop(in_progress);
        log_summary(id, &ltc, &res);
        Ok(Some((ltc.tp, res)))
    }

    /// Rewrites the dir's checkpoint with the logs still hosted there plus `tp`'s offset.
    fn update_checkpoint(
        &self,
        dir: &PathBuf,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), LogError> {
        let file = OffsetCheckpointFile::new(dir.join(CLEANER_OFFSET_CHECKPOINT_FILE));
        let hosted: HashSet<TopicPartition> = (self.logs)()
            .into_iter()
            .filter(|(_, _, d)| d == dir)
            .map(|(t, _, _)| t)
            .collect();
        let mut entries: Vec<(TopicPartition, i64)> = file
            .read()
            .unwrap_or_default()
            .into_iter()
            .filter(|(t, _)| hosted.contains(t) && t != tp)
            .collect();
        entries.push((tp.clone(), offset));
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        file.write(&entries)
    }
}

/// The one line per pass that tells what cleaning did.
fn log_summary(id: usize, ltc: &LogToClean, r: &CleanResult) {
    let pct = if r.bytes_before > 0 {
        100.0 * (1.0 - r.bytes_after as f64 / r.bytes_before as f64)
    } else {
        0.0
    };
    tracing::info!(
        target: "kafka.log.LogCleaner",
        "Cleaner {id}: cleaned log {} (dirty section = [{}, {}), dirty ratio {:.2}{}): {} segments in {} groups, {} -> {} bytes ({:.1}% smaller), {} -> {} records, tombstones kept {} / removed {}, delete horizon {}, {} ms{}{}",
        ltc.tp,
        r.first_dirty,
        r.end_offset,
        ltc.dirty_ratio(),
        if ltc.needs_compaction_now { ", max.compaction.lag.ms passed" } else { "" },
        r.segments_cleaned,
        r.groups,
        r.bytes_before,
        r.bytes_after,
        pct,
        r.stats.records_read,
        r.stats.records_kept,
        r.stats.tombstones_kept,
        r.stats.tombstones_removed,
        r.delete_horizon_ms,
        r.elapsed_ms,
        if r.aborted_groups > 0 { format!(", {} groups discarded (log changed)", r.aborted_groups) } else { String::new() },
        if r.stats.batches_discarded > 0 { format!(", {} aborted-transaction batches and markers removed", r.stats.batches_discarded) } else { String::new() },
    );
}
