//! Future logs (LogManager.futureLogs): a replica that AlterReplicaLogDirs moves to another
//! log dir of this broker is copied into `<topic>-<partition>.<uuid>-future` there, then
//! swapped with the current log in one step. The swap renames the current log to `-delete`
//! first and the future to the real name second, so a crash between the two leaves a future
//! log without a current one, which the next start completes (Kafka 2.8 instead refuses to
//! start on the duplicate dirs its opposite order leaves behind).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::super::dir_failure::LogDirFailureChannel;
use super::super::errors::LogError;
use super::super::partition_log::Log;
use super::super::util::fsync_dir;
use super::super::{FileDeleter, TopicPartition};
use super::{join_dirs, rename_for_delete, LogManager, LogManagerConfig};

type LogsByTp = HashMap<TopicPartition, (usize, Arc<Log>)>;

/// Startup: the `-future` logs found in the dirs become future logs of their current ones.
/// One without a current log is an interrupted swap and becomes the current log, unless a
/// dir is offline (its current log may be there). One in its current log's dir is deleted.
pub(super) fn adopt_loaded_futures(
    config: &LogManagerConfig,
    dir_failure: &LogDirFailureChannel,
    deleter: &FileDeleter,
    logs: &mut LogsByTp,
    futures: Vec<(usize, TopicPartition, super::super::Log)>,
    hws: &HashMap<TopicPartition, i64>,
) -> Result<LogsByTp, LogError> {
    let any_offline = !dir_failure.offline_log_dirs().is_empty();
    let mut adopted = LogsByTp::new();
    for (d, tp, log) in futures {
        let dir = &config.log_dirs[d];
        match logs.get(&tp) {
            Some((current, _)) if *current != d => {
                tracing::info!(target: "kafka.log.LogManager", "Resuming the move of {tp} to log dir {} from its future log at offset {}", dir.display(), log.log_end_offset());
                adopted.insert(tp, (d, Arc::new(log)));
            }
            Some(_) => {
                let target = rename_for_delete(dir, &tp, &log)?;
                tracing::warn!(target: "kafka.log.LogManager", "Deleting the future log of {tp} found in its current log dir {} (renamed to {})", dir.display(), target.display());
                deleter.schedule(vec![target], log.config().file_delete_delay_ms);
            }
            None if any_offline => {
                tracing::warn!(target: "kafka.log.LogManager", "Future log of {tp} in {} has no current log while log dirs {} are offline: kept as a future log", dir.display(), join_dirs(&dir_failure.offline_log_dirs()));
                adopted.insert(tp, (d, Arc::new(log)));
            }
            None => {
                log.rename_dir(&dir.join(tp.dir_name()))
                    .and_then(|_| fsync_dir(dir))?;
                if let Some(hw) = hws.get(&tp) {
                    log.update_high_watermark(*hw);
                }
                tracing::warn!(target: "kafka.log.LogManager", "Completed the interrupted replacement of the current log of {tp} by its future log in {} (log end offset {})", dir.display(), log.log_end_offset());
                logs.insert(tp, (d, Arc::new(log)));
            }
        }
    }
    Ok(adopted)
}

impl LogManager {
    /// The index of a configured log dir given as an absolute path (as AlterReplicaLogDirs
    /// and DescribeLogDirs name them).
    pub fn log_dir_index(&self, dir: &str) -> Option<usize> {
        self.config.log_dirs.iter().position(|d| {
            d.as_path() == Path::new(dir)
                || std::path::absolute(d).is_ok_and(|a| a.as_path() == Path::new(dir))
        })
    }

    pub fn is_log_dir_online(&self, dir_idx: usize) -> bool {
        self.is_dir_online(dir_idx)
    }

    /// Remembers where a partition not hosted yet is to be created
    /// (LogManager.maybeUpdatePreferredLogDir).
    pub fn maybe_update_preferred_log_dir(&self, tp: &TopicPartition, dir_idx: usize) {
        if self.get_log(tp).is_none() {
            self.preferred_log_dirs
                .lock()
                .expect("preferred dirs lock")
                .insert(tp.clone(), dir_idx);
        }
    }

    /// The preferred dir of a partition being created, if still online; used once.
    pub(super) fn take_preferred_log_dir(&self, tp: &TopicPartition) -> Option<usize> {
        let d = self
            .preferred_log_dirs
            .lock()
            .expect("preferred dirs lock")
            .remove(tp)?;
        self.is_dir_online(d).then_some(d)
    }

    pub fn get_future_log(&self, tp: &TopicPartition) -> Option<Arc<Log>> {
        self.future_logs
            .read()
            .expect("logs lock")
            .get(tp)
            .map(|(_, l)| l.clone())
    }

    pub fn all_future_logs(&self) -> Vec<(TopicPartition, Arc<Log>)> {
        self.future_logs
            .read()
            .expect("logs lock")
            .iter()
            .map(|(tp, (_, l))| (tp.clone(), l.clone()))
            .collect()
    }

    /// Every future log with the log dir it is moving to.
    pub fn all_future_logs_with_dirs(&self) -> Vec<(TopicPartition, Arc<Log>, std::path::PathBuf)> {
        self.future_logs
            .read()
            .expect("logs lock")
            .iter()
            .map(|(tp, (d, l))| (tp.clone(), l.clone(), self.config.log_dirs[*d].clone()))
            .collect()
    }

    /// Creates the future log of a hosted partition in `dir_idx` (LogManager.getOrCreateLog
    /// with isFuture); an existing one is returned as it is. Not while a dir is offline: the
    /// partition could end up with future logs in two dirs.
    pub fn get_or_create_future_log(
        &self,
        tp: &TopicPartition,
        dir_idx: usize,
    ) -> Result<Arc<Log>, LogError> {
        let _guard = self.create_lock.lock().expect("create lock");
        if let Some(f) = self.get_future_log(tp) {
            return Ok(f);
        }
        let offline = self.dir_failure.offline_log_dirs();
        if !offline.is_empty() {
            return Err(LogError::io(
                format!(
                    "cannot create the future log for {tp} because log directories {} are offline",
                    join_dirs(&offline)
                ),
                std::io::Error::other("log dir offline"),
            ));
        }
        let current = self
            .log_dir_of(tp)
            .ok_or_else(|| LogError::Other(format!("no current log of {tp} to move")))?;
        let dir = &self.config.log_dirs[dir_idx];
        if current == *dir {
            return Err(LogError::Other(format!(
                "cannot create the future log for {tp} in its current log dir {}",
                dir.display()
            )));
        }
        let config = self.config_for(&tp.topic);
        let path = dir.join(tp.future_dir_name());
        let log = Log::open(
            &path,
            tp.clone(),
            config,
            super::super::LoadParams::default(),
            self.deleter.clone(),
        )
        .and_then(|l| fsync_dir(dir).map(|_| l))
        .inspect_err(|e| {
            self.maybe_report_dir_error(dir_idx, &format!("creating the future log of {tp}"), e)
        })?;
        let log = Arc::new(log);
        log.set_dir_failure_channel(self.dir_failure.clone());
        self.future_logs
            .write()
            .expect("logs lock")
            .insert(tp.clone(), (dir_idx, log.clone()));
        tracing::info!(target: "kafka.log.LogManager", "Created the future log of {tp} in {}", path.display());
        Ok(log)
    }

    /// Drops a partition's future log and deletes its dir (a cancelled or redirected move).
    pub fn remove_future_log(&self, tp: &TopicPartition) -> Result<(), LogError> {
        let removed = self.future_logs.write().expect("logs lock").remove(tp);
        if let Some((d, log)) = removed {
            let target = self.delete_dir_of(d, tp, &log)?;
            tracing::info!(target: "kafka.log.LogManager", "Removed the future log of {tp} (renamed to {})", target.display());
            self.checkpoint_recovery_points();
        }
        Ok(())
    }

    /// Log dir failure: future logs in `dir` are forgotten (their moves stop).
    pub(super) fn forget_future_logs_in(&self, dir: &Path) {
        self.future_logs
            .write()
            .expect("logs lock")
            .retain(|_, (d, _)| self.config.log_dirs[*d] != dir);
    }

    /// The swap (LogManager.replaceCurrentWithFutureLog): the future log, caught up with the
    /// current one by the caller (who holds the partition so neither changes), becomes the
    /// current log under the real name; the old one is renamed `-delete` and removed later.
    /// On an I/O error nothing changes but the failing dir, which goes offline.
    pub fn replace_current_with_future_log(
        &self,
        tp: &TopicPartition,
    ) -> Result<Arc<Log>, LogError> {
        let _guard = self.create_lock.lock().expect("create lock");
        let (src, source) = self
            .logs
            .read()
            .expect("logs lock")
            .get(tp)
            .cloned()
            .ok_or_else(|| LogError::Other(format!("no current log of {tp} to replace")))?;
        let (dst, dest) = self
            .future_logs
            .read()
            .expect("logs lock")
            .get(tp)
            .cloned()
            .ok_or_else(|| LogError::Other(format!("no future log of {tp}")))?;
        dest.flush()?;
        let src_dir = &self.config.log_dirs[src];
        let deleted = rename_for_delete(src_dir, tp, &source).inspect_err(|e| {
            self.maybe_report_dir_error(src, &format!("renaming the current log of {tp}"), e)
        })?;
        let dst_dir = &self.config.log_dirs[dst];
        let renamed = dest
            .rename_dir(&dst_dir.join(tp.dir_name()))
            .and_then(|_| fsync_dir(dst_dir));
        if let Err(e) = renamed {
            self.maybe_report_dir_error(dst, &format!("renaming the future log of {tp}"), &e);
            // Put the current log back; it is still complete.
            source.rename_dir(&src_dir.join(tp.dir_name()))?;
            return Err(e);
        }
        dest.update_high_watermark(source.high_watermark());
        self.logs
            .write()
            .expect("logs lock")
            .insert(tp.clone(), (dst, dest.clone()));
        self.future_logs.write().expect("logs lock").remove(tp);
        self.deleter
            .schedule(vec![deleted], source.config().file_delete_delay_ms);
        self.checkpoint_recovery_points();
        self.checkpoint_log_start_offsets();
        tracing::info!(target: "kafka.log.LogManager", "The current replica is successfully replaced with the future replica for {tp}: now in {}", dst_dir.display());
        Ok(dest)
    }
}
