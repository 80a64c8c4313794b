//! The LogManager's checkpoint files in each online log dir (recovery points, log start
//! offsets, high watermarks): written only when their content changed, and a failed write
//! takes its dir offline.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::super::checkpoint::OffsetCheckpointFile;
use super::super::errors::LogError;
use super::super::partition_log::Log;
use super::super::TopicPartition;
use super::{
    LogManager, LOG_START_OFFSET_CHECKPOINT_FILE, RECOVERY_POINT_CHECKPOINT_FILE,
    REPLICATION_OFFSET_CHECKPOINT_FILE,
};

impl LogManager {
    /// Current and future logs of each online dir (LogManager.logsByDir).
    fn logs_by_dir(&self) -> Vec<Vec<(TopicPartition, Arc<Log>)>> {
        let mut v = vec![Vec::new(); self.config.log_dirs.len()];
        // Future logs too: a move resumed after a restart recovers from their recovery points.
        let (logs, futures) = (
            self.logs.read().expect("logs lock"),
            self.future_logs.read().expect("logs lock"),
        );
        for (tp, (d, l)) in logs.iter().chain(futures.iter()) {
            if self.is_dir_online(*d) {
                v[*d].push((tp.clone(), l.clone()));
            }
        }
        for dir in &mut v {
            dir.sort_by(|a, b| a.0.cmp(&b.0));
        }
        v
    }

    /// Writes one checkpoint file in every online dir; a dir whose write fails goes offline
    /// (LogManager.checkpointLogRecoveryOffsetsInDir and friends).
    fn write_checkpoints(
        &self,
        file: &str,
        per_dir: Vec<Vec<(TopicPartition, i64)>>,
    ) -> Result<(), LogError> {
        let mut result = Ok(());
        for (i, entries) in per_dir.into_iter().enumerate() {
            if !self.is_dir_online(i) {
                continue;
            }
            let path = self.config.log_dirs[i].join(file);
            if let Err(e) = self.write_checkpoint(path.clone(), entries) {
                self.maybe_report_dir_error(i, &format!("writing {}", path.display()), &e);
                result = Err(e);
            }
        }
        result
    }

    pub fn checkpoint_recovery_points(&self) {
        let per_dir = self
            .logs_by_dir()
            .into_iter()
            .map(|logs| {
                logs.iter()
                    .map(|(tp, l)| (tp.clone(), l.recovery_point()))
                    .collect()
            })
            .collect();
        let _ = self.write_checkpoints(RECOVERY_POINT_CHECKPOINT_FILE, per_dir);
    }

    /// Lists only logs whose start offset is above their first segment's base offset.
    pub fn checkpoint_log_start_offsets(&self) {
        let per_dir = self
            .logs_by_dir()
            .into_iter()
            .map(|logs| {
                logs.iter()
                    .filter_map(|(tp, l)| {
                        let first = l.segment_base_offsets().first().copied().unwrap_or(0);
                        let lso = l.log_start_offset();
                        (lso > first).then(|| (tp.clone(), lso))
                    })
                    .collect()
            })
            .collect();
        let _ = self.write_checkpoints(LOG_START_OFFSET_CHECKPOINT_FILE, per_dir);
    }

    /// Writes `replication-offset-checkpoint` in each dir for the given partitions hosted there.
    pub fn checkpoint_high_watermarks(
        &self,
        hws: &HashMap<TopicPartition, i64>,
    ) -> Result<(), LogError> {
        let mut per_dir: Vec<Vec<(TopicPartition, i64)>> =
            vec![Vec::new(); self.config.log_dirs.len()];
        {
            let logs = self.logs.read().expect("logs lock");
            for (tp, hw) in hws {
                if let Some((d, _)) = logs.get(tp) {
                    per_dir[*d].push((tp.clone(), *hw));
                }
            }
        }
        for entries in &mut per_dir {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        self.write_checkpoints(REPLICATION_OFFSET_CHECKPOINT_FILE, per_dir)
    }

    /// Writes a checkpoint file unless it already holds exactly `entries` (as this process
    /// wrote it; a fresh process writes each file once).
    fn write_checkpoint(
        &self,
        path: PathBuf,
        entries: Vec<(TopicPartition, i64)>,
    ) -> Result<(), LogError> {
        let mut written = self.written_checkpoints.lock().expect("checkpoints lock");
        if written.get(&path) == Some(&entries) {
            return Ok(());
        }
        OffsetCheckpointFile::new(&path).write(&entries)?;
        written.insert(path, entries);
        Ok(())
    }

    /// High watermarks from every dir's `replication-offset-checkpoint`.
    pub fn read_high_watermarks(&self) -> Result<HashMap<TopicPartition, i64>, LogError> {
        let mut out = HashMap::new();
        for d in &self.live_log_dirs() {
            out.extend(
                OffsetCheckpointFile::new(d.join(REPLICATION_OFFSET_CHECKPOINT_FILE)).read()?,
            );
        }
        Ok(out)
    }
}
