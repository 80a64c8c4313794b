//! Leader epoch → start offset cache backed by `leader-epoch-checkpoint`
//! (server/epoch/LeaderEpochFileCache.scala; KIP-101 / KIP-279 semantics).

use std::path::{Path, PathBuf};

use super::checkpoint::CheckpointFile;
use super::errors::LogError;

pub const UNDEFINED_EPOCH: i32 = -1;
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// `(epoch, start offset)` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// Epochs and start offsets both strictly increase; every change is flushed to the file,
/// except the load-time truncation of the end (`truncate_on_load`), kept in memory until
/// the next write.
pub struct LeaderEpochFileCache {
    file: CheckpointFile,
    epochs: Vec<EpochEntry>,
    /// The file still lists entries `truncate_on_load` dropped (see there).
    stale_file: bool,
}

impl LeaderEpochFileCache {
    /// Loads the checkpoint (missing/empty file = empty cache).
    pub fn load(path: &Path) -> Result<LeaderEpochFileCache, LogError> {
        let file = CheckpointFile::new(path, 0);
        let mut epochs = Vec::new();
        for (i, row) in file.read(2)?.into_iter().enumerate() {
            let bad = |r: String| LogError::MalformedFile {
                path: path.to_path_buf(),
                line: i + 3,
                reason: r,
            };
            let epoch: i32 = row[0]
                .parse()
                .map_err(|_| bad(format!("epoch {:?} is not an integer", row[0])))?;
            let start_offset: i64 = row[1]
                .parse()
                .map_err(|_| bad(format!("offset {:?} is not an integer", row[1])))?;
            if let Some(last) = epochs.last() {
                let last: &EpochEntry = last;
                if epoch <= last.epoch || start_offset < last.start_offset {
                    return Err(bad("epochs and start offsets must increase".into()));
                }
            }
            epochs.push(EpochEntry {
                epoch,
                start_offset,
            });
        }
        Ok(LeaderEpochFileCache {
            file,
            epochs,
            stale_file: false,
        })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }
    pub fn set_path(&mut self, path: PathBuf) {
        self.file = CheckpointFile::new(path, 0);
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.epochs
    }
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }
    pub fn latest_entry(&self) -> Option<EpochEntry> {
        self.epochs.last().copied()
    }
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.last().map(|e| e.epoch)
    }
    pub fn earliest_entry(&self) -> Option<EpochEntry> {
        self.epochs.first().copied()
    }

    fn flush(&mut self) -> Result<(), LogError> {
        let lines: Vec<String> = self
            .epochs
            .iter()
            .map(|e| format!("{} {}", e.epoch, e.start_offset))
            .collect();
        self.file.write(&lines)?;
        self.stale_file = false;
        Ok(())
    }

    /// Opening a log: `truncate_from_end(log_end_offset)` in memory only, then
    /// `truncate_from_start(log_start_offset)`. Kafka rewrites the file for the first, two
    /// fsyncs per log on every start: an empty log led once loses its `(epoch, 0)` entry
    /// each time, which made restarts with thousands of partitions slow.
    ///
    /// Crash-safe: the file only keeps entries at or after the log end offset, and every
    /// load drops those again, until the log end offset passes them. Only an append moves it
    /// up, and it writes the file first (`write_if_stale`); truncations move it down (the
    /// entries stay beyond it) and any other change writes the whole cache.
    pub fn truncate_on_load(
        &mut self,
        log_start_offset: i64,
        log_end_offset: i64,
    ) -> Result<(), LogError> {
        let before = self.epochs.len();
        if log_end_offset >= 0 {
            self.epochs.retain(|e| e.start_offset < log_end_offset);
        }
        self.stale_file |= self.epochs.len() != before;
        self.truncate_from_start(log_start_offset)
    }

    /// Writes the cache if the file still holds what `truncate_on_load` dropped: called
    /// before an append moves the log end offset past those entries.
    pub fn write_if_stale(&mut self) -> Result<(), LogError> {
        if self.stale_file {
            self.flush()?;
        }
        Ok(())
    }

    /// Records that `epoch` starts at `start_offset`. Entries with epoch >= `epoch` or
    /// start offset >= `start_offset` are removed first so both columns stay increasing.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> Result<(), LogError> {
        if epoch < 0 || start_offset < 0 {
            return Ok(()); // unknown epoch (-1) carries no information
        }
        if let Some(last) = self.latest_entry() {
            if last.epoch == epoch && start_offset >= last.start_offset {
                return Ok(());
            }
        }
        let before = self.epochs.len();
        self.epochs
            .retain(|e| e.epoch < epoch && e.start_offset < start_offset);
        if before - self.epochs.len() > 1 {
            tracing::warn!(
                epoch,
                start_offset,
                removed = before - self.epochs.len(),
                "non-monotonic leader epoch entries removed"
            );
        }
        self.epochs.push(EpochEntry {
            epoch,
            start_offset,
        });
        debug_assert!(self
            .epochs
            .windows(2)
            .all(|w| w[0].epoch < w[1].epoch && w[0].start_offset < w[1].start_offset));
        self.flush()
    }

    /// Log truncated to `end_offset`: drop entries starting at or after it.
    pub fn truncate_from_end(&mut self, end_offset: i64) -> Result<(), LogError> {
        if end_offset >= 0
            && self
                .latest_entry()
                .is_some_and(|e| e.start_offset >= end_offset)
        {
            self.epochs.retain(|e| e.start_offset < end_offset);
            self.flush()?;
        }
        Ok(())
    }

    /// Log start offset raised to `start_offset`: drop entries at or below it and re-add the
    /// last dropped epoch starting at `start_offset`.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> Result<(), LogError> {
        let removed: Vec<EpochEntry> = self
            .epochs
            .iter()
            .copied()
            .filter(|e| e.start_offset <= start_offset)
            .collect();
        if let Some(last) = removed.last() {
            if removed.len() == 1 && last.start_offset == start_offset {
                return Ok(()); // the first entry already starts there: nothing changes
            }
            self.epochs.retain(|e| e.start_offset > start_offset);
            self.epochs.insert(
                0,
                EpochEntry {
                    epoch: last.epoch,
                    start_offset,
                },
            );
            self.flush()?;
        }
        Ok(())
    }

    /// Answer to OffsetsForLeaderEpoch: `(epoch, end offset)` per the KIP-279 table.
    pub fn end_offset_for(&self, requested_epoch: i32, log_end_offset: i64) -> (i32, i64) {
        if requested_epoch == UNDEFINED_EPOCH {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if self.latest_epoch() == Some(requested_epoch) {
            return (requested_epoch, log_end_offset);
        }
        let Some(higher) = self.epochs.iter().find(|e| e.epoch > requested_epoch) else {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        };
        match self
            .epochs
            .iter()
            .rev()
            .find(|e| e.epoch <= requested_epoch)
        {
            None => (requested_epoch, higher.start_offset),
            Some(floor) => (floor.epoch, higher.start_offset),
        }
    }

    /// Epoch of the entry covering `offset`, if any.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        self.epochs
            .iter()
            .rev()
            .find(|e| e.start_offset <= offset)
            .map(|e| e.epoch)
    }

    /// Removes everything (e.g. truncate fully) and flushes.
    pub fn clear_and_flush(&mut self) -> Result<(), LogError> {
        self.epochs.clear();
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn cache() -> (tempfile::TempDir, LeaderEpochFileCache) {
        let d = tempfile::tempdir().unwrap();
        let c = LeaderEpochFileCache::load(&d.path().join("leader-epoch-checkpoint")).unwrap();
        (d, c)
    }

    #[test]
    fn file_format_matches_observed() {
        let (d, mut c) = cache();
        c.assign(0, 0).unwrap();
        c.assign(10, 20).unwrap();
        let p = d.path().join("leader-epoch-checkpoint");
        // Observed t2-0/leader-epoch-checkpoint after clean shutdown.
        assert_eq!(fs::read_to_string(&p).unwrap(), "0\n2\n0 0\n10 20\n");
        let again = LeaderEpochFileCache::load(&p).unwrap();
        assert_eq!(again.entries(), c.entries());
        fs::write(&p, "").unwrap(); // __consumer_offsets-0 had a 0-byte file
        assert!(LeaderEpochFileCache::load(&p).unwrap().is_empty());
        fs::write(&p, "0\n2\n3 5\n2 9\n").unwrap();
        assert!(matches!(
            LeaderEpochFileCache::load(&p),
            Err(LogError::MalformedFile { line: 4, .. })
        ));
    }

    #[test]
    fn assign_and_truncate_semantics() {
        let (_d, mut c) = cache();
        c.assign(1, 0).unwrap();
        c.assign(1, 5).unwrap(); // same epoch later offset: no-op
        c.assign(3, 10).unwrap();
        c.assign(5, 20).unwrap();
        assert_eq!(c.entries().len(), 3);
        c.assign(4, 15).unwrap(); // removes epoch 5 (epoch >= 4)
        assert_eq!(
            c.latest_entry(),
            Some(EpochEntry {
                epoch: 4,
                start_offset: 15
            })
        );
        c.truncate_from_end(12).unwrap();
        assert_eq!(
            c.latest_entry(),
            Some(EpochEntry {
                epoch: 3,
                start_offset: 10
            })
        );
        c.truncate_from_start(11).unwrap();
        assert_eq!(
            c.entries(),
            &[EpochEntry {
                epoch: 3,
                start_offset: 11
            }]
        );
    }

    #[test]
    fn end_offset_for_follows_kip_279_table() {
        let (_d, mut c) = cache();
        c.assign(2, 10).unwrap();
        c.assign(4, 30).unwrap();
        c.assign(7, 50).unwrap();
        let leo = 60;
        assert_eq!(c.end_offset_for(-1, leo), (-1, -1));
        assert_eq!(c.end_offset_for(7, leo), (7, 60));
        assert_eq!(c.end_offset_for(9, leo), (-1, -1));
        assert_eq!(c.end_offset_for(1, leo), (1, 10));
        assert_eq!(c.end_offset_for(2, leo), (2, 30));
        assert_eq!(c.end_offset_for(3, leo), (2, 30));
        assert_eq!(c.end_offset_for(5, leo), (4, 50));
    }
}
