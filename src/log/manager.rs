//! LogManager: all partition logs over several log dirs, their checkpoint files, the
//! clean-shutdown marker and `-delete` dirs; its background tasks are in `background`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;

use super::checkpoint::{
    OffsetCheckpointFile, LOG_START_OFFSET_CHECKPOINT_FILE, RECOVERY_POINT_CHECKPOINT_FILE,
    REPLICATION_OFFSET_CHECKPOINT_FILE,
};
use super::cleaner_manager::{LogCleaner, LogCleanerConfig};
use super::config::LogConfig;
use super::deleter::FileDeleter;
use super::dir_failure::{is_storage_failure, LogDirFailureChannel};
use super::errors::{IoContext, LogError};
use super::load::LoadParams;
use super::partition_log::Log;
use super::util::{random_uuid_hex, DELETE_DIR_SUFFIX, FUTURE_DIR_SUFFIX};
use super::TopicPartition;

mod background;
mod checkpoints;
mod future;

pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
pub const LOCK_FILE: &str = ".lock";

/// Broker-level settings of the log manager (broker-config.md §5).
#[derive(Debug, Clone)]
pub struct LogManagerConfig {
    pub log_dirs: Vec<PathBuf>,
    /// Dirs found failed before the logs load (meta.properties unreadable or unwritable).
    pub initial_offline_dirs: Vec<PathBuf>,
    pub recovery_threads_per_data_dir: usize,
    pub retention_check_interval_ms: i64,
    /// `log.flush.scheduler.interval.ms`.
    pub flush_check_interval_ms: i64,
    pub flush_recovery_offset_checkpoint_interval_ms: i64,
    pub flush_start_offset_checkpoint_interval_ms: i64,
    /// Delay before the first retention run (Kafka: 30 s).
    pub initial_task_delay_ms: i64,
    /// `log.segment.delete.delay.ms`, used for `-delete` dirs.
    pub file_delete_delay_ms: i64,
    /// `log.cleaner.*`: compaction threads, started with the background tasks.
    pub cleaner: LogCleanerConfig,
    /// `transactional.id.expiration.ms`: idle producers are forgotten after this long
    /// (2.8 has no separate producer.id.expiration.ms).
    pub max_producer_id_expiration_ms: i64,
}

/// How often idle producers are expired (LogManager `ProducerIdExpirationCheckIntervalMs`).
pub const PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS: i64 = 600_000;

impl LogManagerConfig {
    pub fn new(log_dirs: Vec<PathBuf>) -> LogManagerConfig {
        LogManagerConfig {
            log_dirs,
            initial_offline_dirs: Vec::new(),
            recovery_threads_per_data_dir: 1,
            retention_check_interval_ms: 300_000,
            flush_check_interval_ms: i64::MAX,
            flush_recovery_offset_checkpoint_interval_ms: 60_000,
            flush_start_offset_checkpoint_interval_ms: 60_000,
            initial_task_delay_ms: 30_000,
            file_delete_delay_ms: 60_000,
            cleaner: LogCleanerConfig::default(),
            max_producer_id_expiration_ms: 604_800_000,
        }
    }
}

struct Scheduler {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: JoinHandle<()>,
}

pub struct LogManager {
    config: LogManagerConfig,
    default_config: RwLock<LogConfig>,
    topic_configs: RwLock<HashMap<String, LogConfig>>,
    logs: RwLock<HashMap<TopicPartition, (usize, Arc<Log>)>>,
    /// `-future` logs: replicas being moved to another log dir by AlterReplicaLogDirs
    /// (LogManager.futureLogs), with the index of the dir they are moving to.
    future_logs: RwLock<HashMap<TopicPartition, (usize, Arc<Log>)>>,
    /// Where AlterReplicaLogDirs asked a partition not hosted yet to be created
    /// (LogManager.preferredLogDirs); used once, when its log is created.
    preferred_log_dirs: Mutex<HashMap<TopicPartition, usize>>,
    deleter: Arc<FileDeleter>,
    dir_failure: Arc<LogDirFailureChannel>,
    _locks: Vec<File>,
    scheduler: Mutex<Option<Scheduler>>,
    cleaner: Mutex<Option<Arc<LogCleaner>>>,
    create_lock: Mutex<()>,
    /// What each checkpoint file last received: unchanged content is not written again, so
    /// an idle broker does no checkpoint I/O however many partitions it hosts.
    written_checkpoints: Mutex<HashMap<PathBuf, Vec<(TopicPartition, i64)>>>,
}

/// `a,b,c` for log lines naming several dirs.
pub fn join_dirs(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn read_checkpoint_or_empty(path: &Path) -> HashMap<TopicPartition, i64> {
    match OffsetCheckpointFile::new(path).read() {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable checkpoint treated as empty");
            HashMap::new()
        }
    }
}

/// The logs of one log dir, loaded at startup; `true` marks a `-future` log.
type DirLogs = Vec<(TopicPartition, Log, bool)>;

/// Renames a log's dir in `dir` to `<topic>-<partition>.<uuid>-delete` (the topic part
/// shortened so the name stays within 255 bytes) and fsyncs `dir`; returns the new path.
fn rename_for_delete(dir: &Path, tp: &TopicPartition, log: &Log) -> Result<PathBuf, LogError> {
    let uuid = random_uuid_hex();
    let suffix = format!("-{}.{uuid}{DELETE_DIR_SUFFIX}", tp.partition);
    let max_topic = 255usize.saturating_sub(suffix.len());
    let topic: String = tp.topic.chars().take(max_topic).collect();
    let target = dir.join(format!("{topic}{suffix}"));
    log.rename_dir(&target)
        .and_then(|_| super::util::fsync_dir(dir))?;
    Ok(target)
}

/// Locks a log dir with `.lock` (held until the process exits).
fn lock_dir(dir: &Path) -> Result<File, LogError> {
    fs::create_dir_all(dir).ctx(|| format!("create log dir {}", dir.display()))?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .ctx(|| format!("open lock in {}", dir.display()))?;
    lock.try_lock().map_err(|_| {
        LogError::Other(format!(
            "failed to acquire lock on {}/.lock: another process holds it",
            dir.display()
        ))
    })?;
    Ok(lock)
}

/// Loads every partition log of one dir with `recovery_threads_per_data_dir` threads.
fn load_dir(
    dir: &Path,
    config: &LogManagerConfig,
    default_config: &LogConfig,
    topic_configs: &HashMap<String, LogConfig>,
    deleter: &Arc<FileDeleter>,
) -> Result<(DirLogs, HashMap<TopicPartition, i64>), LogError> {
    // 2.8 deletes the marker before loading, so a crash while loading counts as unclean.
    let marker = dir.join(CLEAN_SHUTDOWN_FILE);
    let clean = marker.exists();
    if clean {
        fs::remove_file(&marker).ctx(|| format!("delete {}", marker.display()))?;
    }
    let recovery_points = read_checkpoint_or_empty(&dir.join(RECOVERY_POINT_CHECKPOINT_FILE));
    let start_offsets = read_checkpoint_or_empty(&dir.join(LOG_START_OFFSET_CHECKPOINT_FILE));
    let hws = read_checkpoint_or_empty(&dir.join(REPLICATION_OFFSET_CHECKPOINT_FILE));
    let mut jobs = Vec::new();
    for entry in fs::read_dir(dir).ctx(|| format!("list {}", dir.display()))? {
        let entry = entry.ctx(|| format!("list {}", dir.display()))?;
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(DELETE_DIR_SUFFIX) {
            deleter.schedule(vec![entry.path()], config.file_delete_delay_ms);
            continue;
        }
        if name.ends_with(FUTURE_DIR_SUFFIX) {
            // A move interrupted by a restart resumes from what was copied (Kafka does so).
            if let Some(tp) = TopicPartition::parse_future_dir_name(&name) {
                jobs.push((tp, entry.path(), true));
            }
            continue;
        }
        if let Some(tp) = TopicPartition::parse_dir_name(&name) {
            jobs.push((tp, entry.path(), false));
        }
    }
    let threads = config.recovery_threads_per_data_dir.max(1);
    let chunks: Vec<Vec<(TopicPartition, PathBuf, bool)>> = (0..threads)
        .map(|t| jobs.iter().skip(t).step_by(threads).cloned().collect())
        .collect();
    let loaded: Vec<Result<DirLogs, LogError>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (recovery_points, start_offsets) = (&recovery_points, &start_offsets);
                s.spawn(move || {
                    let mut out = Vec::new();
                    for (tp, path, is_future) in chunk {
                        let cfg = topic_configs
                            .get(&tp.topic)
                            .cloned()
                            .unwrap_or_else(|| default_config.clone());
                        let params = LoadParams {
                            recovery_point: recovery_points.get(&tp).copied().unwrap_or(0),
                            log_start_offset: start_offsets.get(&tp).copied(),
                            had_clean_shutdown: clean,
                        };
                        let log = Log::open(&path, tp.clone(), cfg, params, deleter.clone())?;
                        out.push((tp, log, is_future));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("log loading thread panicked"))
            .collect()
    });
    let mut logs = Vec::new();
    for batch in loaded {
        logs.extend(batch?);
    }
    for f in [
        RECOVERY_POINT_CHECKPOINT_FILE,
        LOG_START_OFFSET_CHECKPOINT_FILE,
        REPLICATION_OFFSET_CHECKPOINT_FILE,
    ] {
        OffsetCheckpointFile::new(dir.join(f)).ensure_exists()?;
    }
    Ok((logs, hws))
}

impl LogManager {
    /// Locks every log dir and loads all partition logs (recovering after an unclean stop).
    /// A dir failing with an I/O error goes offline (reported on the returned manager's
    /// failure channel); the broker starts as long as one dir is left.
    pub fn startup(
        config: LogManagerConfig,
        default_config: LogConfig,
        topic_configs: HashMap<String, LogConfig>,
    ) -> Result<Arc<LogManager>, LogError> {
        let started = std::time::Instant::now();
        tracing::info!(target: "kafka.log.LogManager", "Loading logs.");
        let deleter = Arc::new(FileDeleter::new());
        let dir_failure = LogDirFailureChannel::new();
        let mut locks = Vec::new();
        let mut logs = HashMap::new();
        let (mut futures, mut all_hws) = (Vec::new(), HashMap::new());
        for dir in &config.initial_offline_dirs {
            let msg = format!("Log dir {} failed before loading", dir.display());
            dir_failure.maybe_add_offline_log_dir(dir, &msg, &"meta.properties I/O error");
        }
        for (dir_idx, dir) in config.log_dirs.iter().enumerate() {
            if dir_failure.has_offline_log_dir(dir) {
                continue;
            }
            let loaded = lock_dir(dir).and_then(|lock| {
                locks.push(lock);
                load_dir(dir, &config, &default_config, &topic_configs, &deleter)
            });
            let (dir_logs, hws) = match loaded {
                Ok(l) => l,
                Err(e) if is_storage_failure(&e) => {
                    let msg = format!("Error while loading log dir {}", dir.display());
                    dir_failure.maybe_add_offline_log_dir(dir, &msg, &e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            all_hws.extend(hws.clone());
            for (tp, log, is_future) in dir_logs {
                log.set_dir_failure_channel(dir_failure.clone());
                if is_future {
                    futures.push((dir_idx, tp, log));
                    continue;
                }
                if let Some(hw) = hws.get(&tp) {
                    log.update_high_watermark(*hw);
                }
                if logs.insert(tp.clone(), (dir_idx, Arc::new(log))).is_some() {
                    return Err(LogError::Other(format!(
                        "duplicate log directories for {tp}"
                    )));
                }
            }
        }
        let future_logs = future::adopt_loaded_futures(
            &config,
            &dir_failure,
            &deleter,
            &mut logs,
            futures,
            &all_hws,
        )?;
        tracing::info!(target: "kafka.log.LogManager",
            "Logs loading complete in {} ms.", started.elapsed().as_millis());
        if dir_failure.offline_log_dirs().len() == config.log_dirs.len() {
            return Err(LogError::Other(format!(
                "all log dirs in {} have failed (log.dirs)",
                join_dirs(&config.log_dirs)
            )));
        }
        Ok(Arc::new(LogManager {
            config,
            default_config: RwLock::new(default_config),
            topic_configs: RwLock::new(topic_configs),
            logs: RwLock::new(logs),
            future_logs: RwLock::new(future_logs),
            preferred_log_dirs: Mutex::new(HashMap::new()),
            deleter,
            dir_failure,
            _locks: locks,
            scheduler: Mutex::new(None),
            cleaner: Mutex::new(None),
            create_lock: Mutex::new(()),
            written_checkpoints: Mutex::new(HashMap::new()),
        }))
    }

    /// Where I/O errors on this broker's log dirs are reported.
    pub fn dir_failure_channel(&self) -> &Arc<LogDirFailureChannel> {
        &self.dir_failure
    }

    fn is_dir_online(&self, dir_idx: usize) -> bool {
        !self
            .dir_failure
            .has_offline_log_dir(&self.config.log_dirs[dir_idx])
    }

    /// The configured log dirs still online (LogManager.liveLogDirs).
    pub fn live_log_dirs(&self) -> Vec<PathBuf> {
        (0..self.config.log_dirs.len())
            .filter(|i| self.is_dir_online(*i))
            .map(|i| self.config.log_dirs[i].clone())
            .collect()
    }

    /// Reports an I/O error of a dir-level operation (checkpoints, markers): the dir goes offline.
    fn maybe_report_dir_error(&self, dir_idx: usize, what: &str, e: &LogError) {
        if is_storage_failure(e) {
            let dir = &self.config.log_dirs[dir_idx];
            let msg = format!("Error while {what} in dir {}", dir.display());
            self.dir_failure.maybe_add_offline_log_dir(dir, &msg, e);
        }
    }

    /// LogManager.handleLogDirFailure: forgets every log in the failed dir (their replicas
    /// are no longer served) and returns how many dirs are left online.
    pub fn handle_log_dir_failure(&self, dir: &Path) -> usize {
        let offline: Vec<TopicPartition> = {
            let mut logs = self.logs.write().expect("logs lock");
            let in_dir: Vec<TopicPartition> = logs
                .iter()
                .filter(|(_, (d, _))| self.config.log_dirs[*d] == dir)
                .map(|(tp, _)| tp.clone())
                .collect();
            for tp in &in_dir {
                logs.remove(tp);
            }
            in_dir
        };
        self.forget_future_logs_in(dir);
        let names: Vec<String> = offline.iter().map(|tp| tp.to_string()).collect();
        tracing::warn!(target: "kafka.log.LogManager",
            "Logs for partitions {} are offline due to failure on log directory {}",
            names.join(","), dir.display());
        self.live_log_dirs().len()
    }

    pub fn log_dirs(&self) -> &[PathBuf] {
        &self.config.log_dirs
    }
    pub fn deleter(&self) -> &Arc<FileDeleter> {
        &self.deleter
    }

    pub fn get_log(&self, tp: &TopicPartition) -> Option<Arc<Log>> {
        self.logs
            .read()
            .expect("logs lock")
            .get(tp)
            .map(|(_, l)| l.clone())
    }

    pub fn all_logs(&self) -> Vec<(TopicPartition, Arc<Log>)> {
        self.logs
            .read()
            .expect("logs lock")
            .iter()
            .map(|(tp, (_, l))| (tp.clone(), l.clone()))
            .collect()
    }

    /// The log dir a partition lives in.
    pub fn log_dir_of(&self, tp: &TopicPartition) -> Option<PathBuf> {
        self.logs
            .read()
            .expect("logs lock")
            .get(tp)
            .map(|(d, _)| self.config.log_dirs[*d].clone())
    }

    /// Effective config for a topic (override or broker default).
    pub fn config_for(&self, topic: &str) -> LogConfig {
        self.topic_configs
            .read()
            .expect("configs lock")
            .get(topic)
            .cloned()
            .unwrap_or_else(|| self.default_config.read().expect("config lock").clone())
    }

    /// The topics that have their own config (from `/config/topics` at startup and since).
    pub fn topic_configs(&self) -> Vec<(String, LogConfig)> {
        let configs = self.topic_configs.read().expect("configs lock");
        configs
            .iter()
            .map(|(t, c)| (t.clone(), c.clone()))
            .collect()
    }

    /// Applies a new topic config to the topic's existing logs and future ones.
    pub fn update_topic_config(&self, topic: &str, config: LogConfig) {
        self.topic_configs
            .write()
            .expect("configs lock")
            .insert(topic.to_string(), config.clone());
        for (tp, log) in self.all_logs().into_iter().chain(self.all_future_logs()) {
            if tp.topic == topic {
                log.update_config(config.clone());
            }
        }
    }

    pub fn update_default_config(&self, config: LogConfig) {
        *self.default_config.write().expect("config lock") = config;
    }

    /// Returns the log, creating it in the online log dir holding the fewest partitions
    /// (LogManager.nextLogDirs). A log that is not new (`is_new` of LeaderAndIsr) is not
    /// created while a dir is offline: its data may be in that dir (LogManager.getOrCreateLog).
    pub fn get_or_create_log(
        &self,
        tp: &TopicPartition,
        config: Option<LogConfig>,
        is_new: bool,
    ) -> Result<Arc<Log>, LogError> {
        if let Some(l) = self.get_log(tp) {
            return Ok(l);
        }
        let config = config.unwrap_or_else(|| self.config_for(&tp.topic));
        let (_, result) = self
            .get_or_create_logs(vec![(tp.clone(), config, is_new)])
            .pop()
            .ok_or_else(|| LogError::Other(format!("no log created for {tp}")))?;
        result
    }

    /// Returns the logs, creating the missing ones, each in the log dir holding the fewest
    /// partitions. Every dir that got new partition directories is fsynced once for all of
    /// them, so a LeaderAndIsr of thousands of new partitions costs one fsync per dir.
    pub fn get_or_create_logs(
        &self,
        wanted: Vec<(TopicPartition, LogConfig, bool)>,
    ) -> Vec<(TopicPartition, Result<Arc<Log>, LogError>)> {
        let _guard = self.create_lock.lock().expect("create lock");
        let offline = self.dir_failure.offline_log_dirs();
        let mut counts = vec![0usize; self.config.log_dirs.len()];
        for (d, _) in self.logs.read().expect("logs lock").values() {
            counts[*d] += 1;
        }
        let mut opened = Vec::with_capacity(wanted.len());
        for (tp, config, is_new) in wanted {
            if let Some(l) = self.get_log(&tp) {
                opened.push((tp, Ok((usize::MAX, l))));
                continue;
            }
            // A replica that is not new may have its data on an offline dir: never create it
            // elsewhere (LogManager.getOrCreateLog's isNew check).
            if !is_new && !offline.is_empty() {
                let e = LogError::io(
                    format!(
                        "cannot create log for {tp} because log directories {} are offline",
                        join_dirs(&offline)
                    ),
                    std::io::Error::other("log dir offline"),
                );
                opened.push((tp, Err(e)));
                continue;
            }
            let result = self.open_new_log(&tp, config, &counts);
            if let Ok((d, _)) = &result {
                counts[*d] += 1;
            }
            opened.push((tp, result));
        }
        let mut synced: HashMap<usize, Result<(), String>> = HashMap::new();
        opened
            .into_iter()
            .map(|(tp, result)| {
                let result = result.and_then(|(d, log)| {
                    if d == usize::MAX {
                        return Ok(log); // existed already
                    }
                    let dir = &self.config.log_dirs[d];
                    synced
                        .entry(d)
                        .or_insert_with(|| {
                            super::util::fsync_dir(dir).map_err(|e| {
                                self.maybe_report_dir_error(d, "syncing new log dirs", &e);
                                e.to_string()
                            })
                        })
                        .clone()
                        .map_err(|context| LogError::Io {
                            context,
                            source: std::io::Error::other("fsync of the log dir failed"),
                        })?;
                    self.logs
                        .write()
                        .expect("logs lock")
                        .insert(tp.clone(), (d, log.clone()));
                    tracing::info!(partition = %tp, dir = %log.dir().display(), "created log");
                    Ok(log)
                });
                (tp, result)
            })
            .collect()
    }

    /// Opens a new log in the online dir with the fewest partitions (`counts`); not yet
    /// registered.
    fn open_new_log(
        &self,
        tp: &TopicPartition,
        config: LogConfig,
        counts: &[usize],
    ) -> Result<(usize, Arc<Log>), LogError> {
        let dir_idx = match self.take_preferred_log_dir(tp) {
            Some(d) => d,
            None => self.next_log_dir(counts)?,
        };
        let path = self.config.log_dirs[dir_idx].join(tp.dir_name());
        let log = Log::open(
            &path,
            tp.clone(),
            config,
            LoadParams::default(),
            self.deleter.clone(),
        )
        .inspect_err(|e| {
            self.maybe_report_dir_error(dir_idx, &format!("creating log for {tp}"), e);
        })?;
        let log = Arc::new(log);
        log.set_dir_failure_channel(self.dir_failure.clone());
        Ok((dir_idx, log))
    }

    /// The online dir holding the fewest partitions (`counts`), the first such in `log.dirs`
    /// on ties (LogManager.nextLogDirs).
    fn next_log_dir(&self, counts: &[usize]) -> Result<usize, LogError> {
        (0..counts.len())
            .filter(|i| self.is_dir_online(*i))
            .min_by_key(|i| (counts[*i], *i))
            .ok_or_else(|| {
                LogError::io(
                    format!(
                        "no log dir is online (log.dirs={})",
                        join_dirs(&self.config.log_dirs)
                    ),
                    std::io::Error::other("all log dirs offline"),
                )
            })
    }

    /// Topic deletion: renames the dir to `<topic>-<partition>.<uuid>-delete` and removes
    /// it after `file.delete.delay.ms`; checkpoints are rewritten without it.
    pub fn async_delete(&self, tp: &TopicPartition) -> Result<Option<PathBuf>, LogError> {
        // The future first: a crash between the two renames must not leave a future log
        // without its current one (that is how an interrupted swap looks at startup).
        if let Some((dir_idx, future)) = self.future_logs.write().expect("logs lock").remove(tp) {
            self.delete_dir_of(dir_idx, tp, &future)?;
        }
        let Some((dir_idx, log)) = self.logs.write().expect("logs lock").remove(tp) else {
            return Ok(None);
        };
        let target = self.delete_dir_of(dir_idx, tp, &log)?;
        self.checkpoint_recovery_points();
        self.checkpoint_log_start_offsets();
        Ok(Some(target))
    }

    /// Renames a log's dir to `<topic>-<partition>.<uuid>-delete` and schedules its removal
    /// after `file.delete.delay.ms`; returns the new path.
    fn delete_dir_of(
        &self,
        dir_idx: usize,
        tp: &TopicPartition,
        log: &Log,
    ) -> Result<PathBuf, LogError> {
        let target =
            rename_for_delete(&self.config.log_dirs[dir_idx], tp, log).inspect_err(|e| {
                self.maybe_report_dir_error(dir_idx, &format!("deleting log of {tp}"), e)
            })?;
        self.deleter
            .schedule(vec![target.clone()], log.config().file_delete_delay_ms);
        Ok(target)
    }

    /// PeriodicProducerExpirationCheck over all logs.
    pub fn remove_expired_producers(&self, now: i64) {
        let max = self.config.max_producer_id_expiration_ms;
        for (_, log) in self.all_logs() {
            log.remove_expired_producers(now, max);
        }
    }

    /// One retention pass over all logs; returns segments deleted.
    pub fn cleanup_logs(&self, now: i64) -> usize {
        let mut n = 0;
        for (tp, log) in self.all_logs() {
            match log.delete_old_segments(now) {
                Ok(k) => n += k,
                Err(e) => {
                    tracing::error!(partition = %tp, error = %e, "retention failed");
                    log.maybe_report_storage_error("deleting old segments", &e);
                }
            }
        }
        n
    }

    /// `flush.ms` checks over all logs.
    pub fn flush_dirty_logs(&self, now: i64) {
        for (tp, log) in self.all_logs() {
            if let Err(e) = log.flush_if_due(now) {
                tracing::error!(partition = %tp, error = %e, "flush failed");
                log.maybe_report_storage_error("flushing", &e);
            }
        }
    }

    /// All logs with the log dir each lives in (what the cleaner works through).
    pub fn all_logs_with_dirs(&self) -> Vec<(TopicPartition, Arc<Log>, PathBuf)> {
        self.logs
            .read()
            .expect("logs lock")
            .iter()
            .map(|(tp, (d, l))| (tp.clone(), l.clone(), self.config.log_dirs[*d].clone()))
            .collect()
    }

    /// Clean shutdown: stop tasks, flush and close every log, write checkpoints, then
    /// create `.kafka_cleanshutdown` in each dir that stayed online and closed cleanly.
    pub fn shutdown(&self) -> Result<(), LogError> {
        self.stop_cleaner();
        self.stop_background_tasks();
        for (_, log) in self.all_logs().into_iter().chain(self.all_future_logs()) {
            if let Err(e) = log.close() {
                log.maybe_report_storage_error("closing", &e);
            }
        }
        self.checkpoint_recovery_points();
        self.checkpoint_log_start_offsets();
        for (i, d) in self.config.log_dirs.iter().enumerate() {
            if !self.is_dir_online(i) {
                continue;
            }
            let marker = d.join(CLEAN_SHUTDOWN_FILE);
            let written = File::create(&marker)
                .ctx(|| format!("create {}", marker.display()))
                .and_then(|_| super::util::fsync_dir(d));
            if let Err(e) = written {
                self.maybe_report_dir_error(i, "writing the clean shutdown marker", &e);
            }
        }
        let offline = self.dir_failure.offline_log_dirs();
        if !offline.is_empty() {
            return Err(LogError::Other(format!(
                "log dirs {} are offline; their logs will be recovered at the next start",
                join_dirs(&offline)
            )));
        }
        Ok(())
    }
}

impl Drop for LogManager {
    fn drop(&mut self) {
        self.stop_cleaner();
        self.stop_background_tasks();
    }
}
