//! Moving a replica between the log dirs of this broker (ReplicaManager.alterReplicaLogDirs
//! and ReplicaAlterLogDirsThread): AlterReplicaLogDirs creates a `-future` log in the
//! destination dir, a background task copies the current log into it batch by batch (at most
//! `replica.alter.log.dirs.io.max.bytes.per.second`), and once the future log has caught up,
//! under the partition lock (no append can interleave), the two are swapped. Appends and
//! truncations go on as usual meanwhile: every truncation of the current log truncates the
//! future log too, and a copy read before a truncation is dropped.

use std::sync::Arc;
use std::time::Duration;

use super::manager::ReplicaManager;
use super::partition::{Partition, PartitionInner};
use crate::log::{Log, LogError, TopicPartition};
use crate::quota::rate::{throttle_time_ms, QuotaWindow, Rate};
use crate::server::errors;

/// A copy small enough to be made under the partition lock to finish a move under load.
const TAIL_BYTES: usize = 64 * 1024;

/// How an AlterReplicaLogDirs for one partition ended when the partition is not hosted
/// here: the caller tells REPLICA_NOT_AVAILABLE (known topic) from UNKNOWN_TOPIC_OR_PARTITION.
pub const NOT_HOSTED: i16 = i16::MIN;

impl Partition {
    pub fn future_log(&self) -> Option<Arc<Log>> {
        self.lock().future_log.clone()
    }

    /// Makes `future` this partition's future log unless it has one (also before the
    /// partition has its current log: a LeaderAndIsr after a restart attaches it first).
    pub fn attach_future_log(&self, future: Arc<Log>) {
        let mut inner = self.lock();
        if inner.future_log.is_none() {
            inner.future_log = Some(future);
        }
    }

    pub fn detach_future_log(&self) -> Option<Arc<Log>> {
        self.lock().future_log.take()
    }
}

/// What the copier read from the current log for the future log.
enum Chunk {
    Records(Vec<u8>),
    /// The current log starts above the future's end (retention, DeleteRecords).
    StartAt(i64),
    /// The future log is ahead of the current one.
    TruncateTo(i64),
    CaughtUp,
}

fn read_chunk(current: &Log, start: i64, max_bytes: usize) -> Result<Chunk, LogError> {
    let (lso, leo) = (current.log_start_offset(), current.log_end_offset());
    if start < lso {
        return Ok(Chunk::StartAt(lso));
    }
    if start > leo {
        return Ok(Chunk::TruncateTo(leo));
    }
    match current.read(start, max_bytes, None, true) {
        Ok(d) if d.records.is_empty() => Ok(Chunk::CaughtUp),
        Ok(d) => Ok(Chunk::Records(d.records.to_vec().map_err(|e| {
            LogError::io(format!("read {}", d.records.path.display()), e)
        })?)),
        Err(LogError::OffsetOutOfRange { .. }) => read_chunk_bounds(current, start),
        Err(e) => Err(e),
    }
}

/// Retention moved the log start offset between the bounds check and the read.
fn read_chunk_bounds(current: &Log, start: i64) -> Result<Chunk, LogError> {
    let lso = current.log_start_offset();
    Ok(if start < lso {
        Chunk::StartAt(lso)
    } else {
        Chunk::TruncateTo(current.log_end_offset())
    })
}

/// Applies a chunk to the future log and adopts the current log's high watermark and log
/// start offset (ReplicaAlterLogDirsThread.processPartitionData); returns the bytes copied.
fn apply_chunk(current: &Log, future: &Log, chunk: Chunk) -> Result<usize, LogError> {
    let copied = match chunk {
        Chunk::Records(bytes) => {
            future.append_as_follower(&bytes)?;
            bytes.len()
        }
        Chunk::StartAt(offset) => {
            future.truncate_fully_and_start_at(offset)?;
            0
        }
        Chunk::TruncateTo(offset) => {
            future.truncate_to(offset)?;
            0
        }
        Chunk::CaughtUp => 0,
    };
    let hw = future.update_high_watermark(current.high_watermark());
    let lso = current.log_start_offset().min(hw);
    if lso > future.log_start_offset() {
        future.maybe_increment_log_start_offset(lso)?;
    }
    Ok(copied)
}

impl ReplicaManager {
    /// AlterReplicaLogDirs (ReplicaManager.alterReplicaLogDirs): per partition, the error
    /// code, or NOT_HOSTED. Serialized with LeaderAndIsr and StopReplica.
    pub async fn alter_replica_log_dirs(
        self: &Arc<Self>,
        dirs: Vec<(TopicPartition, String)>,
    ) -> Vec<(TopicPartition, i16)> {
        let _serial = self.state_change_lock.lock().await;
        let me = self.clone();
        let results = tokio::task::spawn_blocking(move || {
            dirs.into_iter()
                .map(|(tp, dir)| {
                    let code = me
                        .alter_replica_log_dir(&tp, &dir)
                        .err()
                        .unwrap_or(errors::NONE);
                    (tp, code)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        self.alter_log_dirs_wakeup.notify_one();
        results
    }

    fn alter_replica_log_dir(&self, tp: &TopicPartition, dir: &str) -> Result<(), i16> {
        let lm = &self.log_manager;
        let warn = |why: &str, code: i16| {
            tracing::warn!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Unable to alter log dirs for {tp}: {why}", self.broker_id());
            code
        };
        if tp.future_dir_name().len() > 255 {
            return Err(warn(
                "The topic name is too long.",
                errors::INVALID_TOPIC_EXCEPTION,
            ));
        }
        let Some(idx) = lm.log_dir_index(dir) else {
            let why = format!("Log dir {dir} is not found in the config.");
            return Err(warn(&why, errors::LOG_DIR_NOT_FOUND));
        };
        if !lm.is_log_dir_online(idx) {
            let why = format!("Log directory {dir} is offline");
            return Err(warn(&why, errors::KAFKA_STORAGE_ERROR));
        }
        let target = &lm.log_dirs()[idx];
        match self.get_partition(tp) {
            // A move to another dir than the one in progress cancels that one.
            Some(p) if p.future_log().is_some_and(|f| f.parent_dir() != *target) => {
                p.detach_future_log();
                lm.remove_future_log(tp).map_err(|e| {
                    warn(
                        &format!("cannot remove its future log: {e}"),
                        errors::KAFKA_STORAGE_ERROR,
                    )
                })?;
            }
            None if self.is_partition_offline(tp) => {
                let why = format!("Partition {tp} is offline");
                return Err(warn(&why, errors::KAFKA_STORAGE_ERROR));
            }
            _ => {}
        }
        // Not hosted yet: its log will be created in `dir` when it arrives.
        lm.maybe_update_preferred_log_dir(tp, idx);
        let partition = self.get_partition(tp).ok_or(NOT_HOSTED)?;
        let log = partition.log().ok_or(NOT_HOSTED)?;
        if log.parent_dir() == *target {
            tracing::info!(target: "kafka.cluster.Partition", "[Partition {tp} broker={}] Current log directory {} is same as requested log dir {dir}. Skipping future replica creation.", self.broker_id(), target.display());
            return Ok(());
        }
        if partition.future_log().is_none() {
            let future = lm
                .get_or_create_future_log(tp, idx)
                .map_err(|e| warn(&e.to_string(), errors::KAFKA_STORAGE_ERROR))?;
            partition.attach_future_log(future);
            tracing::info!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Moving {tp} from {} to {}", self.broker_id(), log.parent_dir().display(), target.display());
        }
        Ok(())
    }

    /// LeaderAndIsr: a partition whose future log was loaded at startup gets it back before
    /// any fetch or truncation touches its current log, and the move resumes.
    pub(super) fn attach_loaded_future_log(&self, partition: &Partition) {
        if let Some(future) = self.log_manager.get_future_log(&partition.tp) {
            partition.attach_future_log(future);
            self.alter_log_dirs_wakeup.notify_one();
        }
    }

    /// The ReplicaAlterLogDirsThread: copies into every future log until none is left.
    pub(super) fn start_alter_log_dirs_task(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut rate = Rate::new(QuotaWindow::new(
                me.config
                    .long("alter.log.dirs.replication.quota.window.num"),
                me.config
                    .long("alter.log.dirs.replication.quota.window.size.seconds"),
            ));
            loop {
                let moving = me.moving_partitions();
                if moving.is_empty() {
                    let wake = me.alter_log_dirs_wakeup.notified();
                    let _ = tokio::time::timeout(Duration::from_secs(1), wake).await;
                    continue;
                }
                let bound = me
                    .dynamic_config
                    .replica_alter_log_dirs_io_max_bytes_per_second();
                let now = crate::controller::now_ms().max(0) as u64;
                let wait =
                    throttle_time_ms(rate.measure(now), bound as f64, rate.window_size_ms(now));
                if bound < i64::MAX && wait > 0 {
                    tokio::time::sleep(Duration::from_millis(wait.min(1000))).await;
                    continue;
                }
                let max_bytes = me
                    .config
                    .long("replica.fetch.max.bytes")
                    .clamp(1, bound.max(1)) as usize;
                let m = me.clone();
                let (copied, failed) =
                    tokio::task::spawn_blocking(move || m.copy_round(&moving, max_bytes))
                        .await
                        .unwrap_or((0, true));
                rate.record(copied as f64, crate::controller::now_ms().max(0) as u64);
                // A failing copy is retried (and logged) once a second, not in a busy loop.
                if failed {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                } else if copied == 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        })
    }

    /// Hosted partitions with a future log; those whose future log is gone (its dir failed)
    /// drop it.
    fn moving_partitions(&self) -> Vec<Arc<Partition>> {
        let mut moving = Vec::new();
        for p in self.all_partitions() {
            let Some(future) = p.future_log() else {
                continue;
            };
            match self.log_manager.get_future_log(&p.tp) {
                Some(f) if Arc::ptr_eq(&f, &future) => moving.push(p),
                _ => {
                    p.detach_future_log();
                }
            }
        }
        moving
    }

    /// One pass over the moving partitions; returns the bytes copied and whether a copy failed.
    fn copy_round(&self, moving: &[Arc<Partition>], max_bytes: usize) -> (usize, bool) {
        let (mut copied, mut failed) = (0, false);
        for p in moving {
            match self.copy_into_future(p, max_bytes) {
                Ok(n) => copied += n,
                Err(e) => {
                    failed = true;
                    tracing::error!(target: "kafka.server.ReplicaAlterLogDirsThread", "[ReplicaAlterLogDirsThread broker={}] Error copying {} into its future log: {e}", self.broker_id(), p.tp);
                }
            }
        }
        (copied, failed)
    }

    /// Copies one chunk of the current log into the future log, and swaps them once the
    /// future log has caught up (the last small tail is copied under the partition lock so a
    /// busy partition finishes too).
    fn copy_into_future(&self, p: &Partition, max_bytes: usize) -> Result<usize, LogError> {
        let (current, future, truncations) = {
            let inner = p.lock();
            match (&inner.log, &inner.future_log) {
                (Some(c), Some(f)) => (c.clone(), f.clone(), inner.log_truncations),
                _ => return Ok(0),
            }
        };
        let start = future.log_end_offset();
        let chunk = read_chunk(&current, start, max_bytes)?;
        let near = current.size().saturating_sub(future.size()) <= 2 * TAIL_BYTES as u64;
        if near {
            // Most of it is copied: make the swap's fsync short.
            future.flush()?;
        }
        let mut inner = p.lock();
        let unchanged = inner.log_truncations == truncations
            && inner.log.as_ref().is_some_and(|l| Arc::ptr_eq(l, &current))
            && inner
                .future_log
                .as_ref()
                .is_some_and(|f| Arc::ptr_eq(f, &future))
            && future.log_end_offset() == start;
        if !unchanged {
            return Ok(0);
        }
        let report = |e: LogError| {
            future.maybe_report_storage_error("copying into the future log", &e);
            e
        };
        let mut copied = apply_chunk(&current, &future, chunk).map_err(report)?;
        if near && future.log_end_offset() < current.log_end_offset() {
            let chunk = read_chunk(&current, future.log_end_offset(), TAIL_BYTES)?;
            copied += apply_chunk(&current, &future, chunk).map_err(report)?;
        }
        if future.log_end_offset() == current.log_end_offset() {
            self.replace_current_with_future(&mut inner, &current, &future)?;
        }
        Ok(copied)
    }

    /// Partition.maybeReplaceCurrentWithFutureReplica, under the partition lock.
    fn replace_current_with_future(
        &self,
        inner: &mut PartitionInner,
        current: &Log,
        future: &Arc<Log>,
    ) -> Result<(), LogError> {
        let tp = current.topic_partition().clone();
        // Epochs the current log started without writing a batch yet.
        for e in current.leader_epoch_entries() {
            if future.latest_epoch().is_none_or(|l| e.epoch > l) {
                future.assign_epoch_start_offset(e.epoch, e.start_offset)?;
            }
        }
        let swapped = self.log_manager.replace_current_with_future_log(&tp)?;
        let lso = current.log_start_offset().min(swapped.high_watermark());
        if lso > swapped.log_start_offset() {
            swapped.maybe_increment_log_start_offset(lso)?;
        }
        inner.log = Some(swapped);
        inner.future_log = None;
        Ok(())
    }
}
