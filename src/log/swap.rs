//! Segment replacement for the log cleaner (Log.replaceSegments): the cleaned segment is
//! renamed `.cleaned` → `.swap`, the segments it replaces → `.deleted`, then `.swap` → final
//! name. A crash anywhere in between is finished by `load.rs` (a `.swap` log wins and the
//! segments it overlaps are dropped), so the log never shows both or neither.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::errors::{IoContext, LogError};
use super::file_cache::FileCache;
use super::partition_log::Log;
use super::segment::LogSegment;
use super::util::{fsync_dir, with_suffix};

/// What the cleaner saw of one segment, taken under the log lock and read without it.
#[derive(Debug, Clone)]
pub struct SegmentSnapshot {
    pub base_offset: i64,
    /// Base offset of the next segment (the log end offset for the active one).
    pub next_offset: i64,
    /// The segment instance (`LogSegment::id`): a swap only replaces what was read.
    pub id: u64,
    /// The `.log` at snapshot time, opened through the file cache when read.
    pub path: PathBuf,
    pub size: u64,
    /// `.log` mtime: tombstone retention is measured from it, as in Kafka.
    pub last_modified_ms: i64,
    pub largest_timestamp: i64,
    pub offset_index_bytes: u64,
    pub time_index_bytes: u64,
}

/// The log as the cleaner needs it: its segments and offsets at one instant.
#[derive(Debug, Clone)]
pub struct LogSnapshot {
    pub dir: PathBuf,
    pub segments: Vec<SegmentSnapshot>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
}

impl LogSnapshot {
    pub fn active_base(&self) -> i64 {
        self.segments.last().map(|s| s.base_offset).unwrap_or(0)
    }
}

impl SegmentSnapshot {
    /// The `.log` handle, from the file cache (opened by path when evicted).
    pub fn open(&self) -> Result<Arc<File>, LogError> {
        FileCache::global()
            .get_or_open(self.id, &self.path)
            .ctx(|| format!("open segment {}", self.path.display()))
    }
}

/// Kafka's `File.lastModified`: by name, so an unopened inactive segment stays unopened.
fn mtime_ms(path: &Path) -> i64 {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl LogSegment {
    /// File mtime of the `.log` in ms (Kafka's `LogSegment.lastModified`).
    pub fn last_modified_ms(&self) -> i64 {
        mtime_ms(self.log_path())
    }

    /// Sets the `.log` mtime: a cleaned segment inherits the last input segment's, so
    /// tombstone retention is not restarted by cleaning.
    pub fn set_last_modified_ms(&self, ms: i64) -> Result<(), LogError> {
        let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
        self.file()?
            .set_modified(t)
            .ctx(|| format!("set mtime of {}", self.log_path().display()))
    }

    /// Renames the three files from `<name><old>` to `<name><new>` (suffixes may be empty).
    pub fn change_file_suffixes(&mut self, old: &str, new: &str) -> Result<(), LogError> {
        let swap = |p: &Path| -> PathBuf {
            let s = p.to_string_lossy();
            let stem = s.strip_suffix(old).unwrap_or(&s).to_string();
            with_suffix(Path::new(&stem), new)
        };
        let to = swap(&self.log_path);
        fs::rename(&self.log_path, &to).ctx(|| format!("rename {}", self.log_path.display()))?;
        self.log_path = to;
        let to = swap(self.offset_index.path());
        self.offset_index.rename(&to)?;
        let to = swap(self.time_index.path());
        self.time_index.rename(&to)?;
        let to = swap(self.txn_index.path());
        self.txn_index.rename(&to)
    }

    fn snapshot(&self, next_offset: i64) -> SegmentSnapshot {
        SegmentSnapshot {
            base_offset: self.base_offset(),
            next_offset,
            id: self.id(),
            path: self.log_path().to_path_buf(),
            size: self.size(),
            last_modified_ms: self.last_modified_ms(),
            largest_timestamp: self.largest_timestamp(),
            offset_index_bytes: self.offset_index.entries() as u64 * 8,
            time_index_bytes: self.time_index.entries() as u64 * 12,
        }
    }
}

impl Log {
    /// Segments and offsets at this instant, for the cleaner to read without the lock.
    pub fn snapshot(&self) -> LogSnapshot {
        let g = self.lock();
        let bases: Vec<i64> = g.segments.keys().copied().collect();
        let segments = g
            .segments
            .values()
            .enumerate()
            .map(|(i, s)| s.snapshot(bases.get(i + 1).copied().unwrap_or(g.log_end_offset)))
            .collect();
        LogSnapshot {
            dir: g.dir.clone(),
            segments,
            log_start_offset: g.log_start_offset,
            log_end_offset: g.log_end_offset,
            high_watermark: g.high_watermark,
        }
    }

    /// Swaps `cleaned` (files still named `*.swap`) in for `old`, provided those segments
    /// are exactly what the cleaner read (same file, same size, not active): a retention
    /// pass, truncation or deletion meanwhile makes this return `Ok(false)` and the caller
    /// drops its output instead.
    pub fn replace_segments(
        &self,
        mut cleaned: LogSegment,
        old: &[SegmentSnapshot],
    ) -> Result<bool, LogError> {
        let delay = self.config().file_delete_delay_ms;
        let mut g = self.lock();
        let active_base = g.active().base_offset();
        let unchanged = old.iter().all(|o| {
            o.base_offset < active_base
                && g.segments
                    .get(&o.base_offset)
                    .is_some_and(|s| s.id() == o.id && s.size() == o.size)
        });
        let same_dir = cleaned.log_path().parent() == Some(g.dir.as_path());
        if !unchanged || !same_dir {
            return Ok(false);
        }
        // The cleaner wrote the `.txnindex` of what it kept (before the commit point).
        cleaned.txn_index.flush()?;
        let mut doomed = Vec::new();
        for o in old {
            let mut s = g.segments.remove(&o.base_offset).expect("checked above");
            doomed.extend(s.rename_to_deleted()?);
            if o.base_offset != cleaned.base_offset() {
                g.delete_producer_snapshot(o.base_offset);
            }
        }
        // The commit point after the `.deleted` renames: from here the swap file alone holds
        // these offsets, and recovery would promote it just like this rename does.
        cleaned.change_file_suffixes(super::util::SWAP_FILE_SUFFIX, "")?;
        fsync_dir(&g.dir)?;
        g.segments.insert(cleaned.base_offset(), cleaned);
        self.deleter.schedule(doomed, delay);
        Ok(true)
    }
}

/// Milliseconds since the epoch of a `SystemTime` (test helper for mtimes).
pub fn system_time_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
