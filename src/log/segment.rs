//! One segment: `<base>.log` plus its `.index`, `.timeindex` and, once a transaction is
//! aborted in it, `.txnindex` (LogSegment.scala).

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::MmapOptions;

use super::batch::{check_batch, BatchHeader, HeaderIter, NO_TIMESTAMP};
use super::config::LogConfig;
use super::epoch_cache::LeaderEpochFileCache;
use super::errors::{IoContext, LogError};
use super::file_batches::FileBatches;
use super::file_cache::FileCache;
use super::index::{OffsetIndex, TimeIndex};
use super::txn_index::{TransactionIndex, TXN_INDEX_FILE_SUFFIX};
use super::util::{
    now_ms, segment_path, with_suffix, DELETED_FILE_SUFFIX, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX,
    TIME_INDEX_FILE_SUFFIX,
};

/// Log progress while recovering every this many bytes.
const RECOVERY_PROGRESS_BYTES: usize = 256 << 20;

/// A contiguous byte range of one batch-aligned segment file region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentRange {
    pub position: u64,
    pub length: u64,
    /// Base offset of the first batch in the range.
    pub first_batch_base_offset: i64,
    /// Offset after the range's last batch (its first batch's base offset when empty).
    pub next_offset: i64,
}

pub struct LogSegment {
    base_offset: i64,
    /// Unique per instance: the key of this segment's handle in the file cache.
    id: u64,
    pub(super) log_path: PathBuf,
    /// Bytes written: appends go to this position (pwrite), so any handle of the `.log`,
    /// the first one or one reopened after a cache eviction, continues at the right place.
    size: u64,
    pub(crate) offset_index: OffsetIndex,
    pub(crate) time_index: TimeIndex,
    /// Aborted transactions whose marker is in this segment (opened per use, see txn_index.rs).
    pub(crate) txn_index: TransactionIndex,
    index_interval_bytes: u64,
    bytes_since_last_index_entry: u64,
    max_timestamp_so_far: i64,
    offset_of_max_timestamp: i64,
    rolling_based_timestamp: Option<i64>,
    created_ms: i64,
    roll_jitter_ms: i64,
}

impl LogSegment {
    /// Opens (or creates) the segment files. A new `.log` is preallocated when configured.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        file_already_exists: bool,
    ) -> Result<LogSegment, LogError> {
        Self::open_with_suffix(dir, base_offset, config, file_already_exists, "")
    }

    /// `open` with `suffix` appended to every file name (the cleaner's `.cleaned` segments).
    pub fn open_with_suffix(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        file_already_exists: bool,
        suffix: &str,
    ) -> Result<LogSegment, LogError> {
        let log_path = with_suffix(&segment_path(dir, base_offset, LOG_FILE_SUFFIX), suffix);
        let id = FileCache::next_id();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(!file_already_exists)
            .truncate(false)
            .open(&log_path)
            .ctx(|| format!("open segment {}", log_path.display()))?;
        let mut size = file
            .metadata()
            .ctx(|| format!("stat {}", log_path.display()))?
            .len();
        if !file_already_exists && config.preallocate {
            file.set_len(config.segment_bytes as u64)
                .ctx(|| format!("preallocate {}", log_path.display()))?;
            size = 0;
        }
        let max_index = config.segment_index_bytes.max(0) as usize;
        let offset_index = OffsetIndex::open(
            &with_suffix(&segment_path(dir, base_offset, INDEX_FILE_SUFFIX), suffix),
            base_offset,
            max_index,
        )?;
        let time_index = TimeIndex::open(
            &with_suffix(
                &segment_path(dir, base_offset, TIME_INDEX_FILE_SUFFIX),
                suffix,
            ),
            base_offset,
            max_index,
        )?;
        let txn_index = TransactionIndex::open(
            &with_suffix(
                &segment_path(dir, base_offset, TXN_INDEX_FILE_SUFFIX),
                suffix,
            ),
            base_offset,
        )?;
        let (max_ts, max_ts_offset) = time_index.last_entry();
        // Even the active segment's handle lives in the bounded cache: open files do not
        // grow with the partition count (Kafka keeps one per segment). Cached only now that
        // the segment exists, whose drop takes it out again.
        FileCache::global().insert(id, Arc::new(file));
        let mut seg = LogSegment {
            base_offset,
            id,
            log_path,
            size,
            offset_index,
            time_index,
            txn_index,
            index_interval_bytes: config.index_interval_bytes.max(0) as u64,
            bytes_since_last_index_entry: 0,
            max_timestamp_so_far: max_ts,
            offset_of_max_timestamp: max_ts_offset,
            rolling_based_timestamp: None,
            created_ms: now_ms(),
            roll_jitter_ms: config.random_segment_jitter(),
        };
        seg.rolling_based_timestamp = seg.first_batch_header()?.map(|h| h.max_timestamp);
        Ok(seg)
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The partition dir was renamed: open handles stay valid, paths follow the new dir.
    pub fn set_parent_dir(&mut self, dir: &Path) {
        if let Some(name) = self.log_path.file_name() {
            self.log_path = dir.join(name);
        }
        self.offset_index.set_parent_dir(dir);
        self.time_index.set_parent_dir(dir);
    }
    /// Unique id of this segment instance (what the cleaner compares to detect a swap).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The `.log` handle, from the file cache (reopened on demand after an eviction).
    pub fn file(&self) -> Result<Arc<File>, LogError> {
        FileCache::global()
            .get_or_open(self.id, &self.log_path)
            .ctx(|| format!("open segment {}", self.log_path.display()))
    }

    pub fn max_timestamp_so_far(&self) -> i64 {
        self.max_timestamp_so_far
    }
    pub fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }

    /// The whole batches from byte `from` to the end of the segment.
    pub(crate) fn batches_from(&self, from: u64) -> Result<FileBatches<'_>, LogError> {
        Ok(FileBatches::new(
            self.file()?,
            &self.log_path,
            from,
            self.size,
        ))
    }

    fn first_batch_header(&mut self) -> Result<Option<BatchHeader>, LogError> {
        Ok(self.batches_from(0)?.next_batch()?.map(|(_, h)| h))
    }

    /// Appends already validated batches whose last offset is `largest_offset`, given as
    /// consecutive byte ranges (written with one pwritev).
    pub fn append(
        &mut self,
        largest_offset: i64,
        largest_timestamp: i64,
        offset_of_max_timestamp: i64,
        parts: &[&[u8]],
    ) -> Result<(), LogError> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len == 0 {
            return Ok(());
        }
        assert!(
            self.can_convert_to_relative_offset(largest_offset),
            "offset {largest_offset} does not fit segment {}",
            self.base_offset
        );
        let position = self.size;
        write_all_vectored_at(&*self.file()?, parts, position)
            .ctx(|| format!("append to {}", self.log_path.display()))?;
        self.size += len as u64;
        if position == 0 {
            self.rolling_based_timestamp = Some(largest_timestamp);
        }
        if largest_timestamp > self.max_timestamp_so_far {
            self.max_timestamp_so_far = largest_timestamp;
            self.offset_of_max_timestamp = offset_of_max_timestamp;
        }
        // Sparse indexing: one entry per `index.interval.bytes`, pointing at this append's start.
        if self.bytes_since_last_index_entry > self.index_interval_bytes {
            self.offset_index.append(largest_offset, position as u32)?;
            self.time_index.maybe_append(
                self.max_timestamp_so_far,
                self.offset_of_max_timestamp,
                false,
            )?;
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += len as u64;
        Ok(())
    }

    pub fn can_convert_to_relative_offset(&self, offset: i64) -> bool {
        let rel = offset - self.base_offset;
        (0..=i32::MAX as i64).contains(&rel)
    }

    /// LogSegment.shouldRoll for an append of `size` bytes.
    pub fn should_roll(
        &self,
        config: &LogConfig,
        size: usize,
        max_ts: i64,
        last_offset: i64,
        now: i64,
    ) -> bool {
        let time_waited = match self.rolling_based_timestamp {
            Some(ts) if ts >= 0 => max_ts - ts,
            _ => now - self.created_ms,
        };
        let time_due = self.size > 0 && time_waited > config.max_segment_ms() - self.roll_jitter_ms;
        self.size > (config.segment_bytes as u64).saturating_sub(size as u64)
            || time_due
            || self.offset_index.is_full()
            || self.time_index.is_full()
            || !self.can_convert_to_relative_offset(last_offset)
    }

    /// Position and header of the first batch whose last offset >= `offset`.
    pub fn translate_offset(
        &mut self,
        offset: i64,
    ) -> Result<Option<(usize, BatchHeader)>, LogError> {
        let (_, start) = self.offset_index.lookup(offset);
        let mut batches = self.batches_from(u64::from(start))?;
        while let Some((p, h)) = batches.next_batch()? {
            if h.last_offset() >= offset {
                return Ok(Some((p as usize, h)));
            }
        }
        Ok(None)
    }

    /// Whole batches starting with the one holding `start_offset`: at most `max_size` bytes
    /// (but at least one batch with `min_one_message`), only batches ending below `max_offset`.
    /// `None` when no batch in this segment reaches `start_offset`.
    pub fn read(
        &mut self,
        start_offset: i64,
        max_size: usize,
        max_offset: Option<i64>,
        min_one_message: bool,
    ) -> Result<Option<SegmentRange>, LogError> {
        let Some((pos, first)) = self.translate_offset(start_offset)? else {
            return Ok(None);
        };
        let mut len = 0usize;
        let mut next_offset = first.base_offset;
        let mut batches = self.batches_from(pos as u64)?;
        while let Some((_, h)) = batches.next_batch()? {
            if max_offset.is_some_and(|m| h.last_offset() >= m) {
                break;
            }
            if len + h.size() > max_size && !(len == 0 && min_one_message) {
                break;
            }
            len += h.size();
            next_offset = h.last_offset() + 1;
        }
        Ok(Some(SegmentRange {
            position: pos as u64,
            length: len as u64,
            first_batch_base_offset: first.base_offset,
            next_offset,
        }))
    }

    /// Next offset after the last batch (or the base offset when empty).
    pub fn read_next_offset(&mut self) -> Result<i64, LogError> {
        let (_, start) = self.offset_index.lookup(i64::MAX);
        let mut next = self.base_offset;
        let mut batches = self.batches_from(u64::from(start))?;
        while let Some((_, h)) = batches.next_batch()? {
            next = h.last_offset() + 1;
        }
        Ok(next)
    }

    /// Rebuilds the indexes by validating every batch; truncates at the first invalid
    /// byte. Returns the number of bytes truncated.
    pub fn recover(
        &mut self,
        epoch_cache: Option<&mut LeaderEpochFileCache>,
    ) -> Result<u64, LogError> {
        self.offset_index.reset();
        self.time_index.reset();
        self.max_timestamp_so_far = NO_TIMESTAMP;
        self.offset_of_max_timestamp = self.base_offset;
        let file = self.file()?;
        self.size = file
            .metadata()
            .ctx(|| format!("stat {}", self.log_path.display()))?
            .len();
        let interval = self.index_interval_bytes as usize;
        let base = self.base_offset;
        let path = self.log_path.clone();
        let total = self.size as usize;
        // Recovery checks every byte, so it maps the file, for this walk only.
        let map = match total {
            0 => None,
            // SAFETY: the map lives for this call only; nothing else writes the file meanwhile
            // (recovery runs before the log is opened for appends).
            _ => Some(
                unsafe { MmapOptions::new().len(total).map(&*file) }
                    .ctx(|| format!("mmap {}", path.display()))?,
            ),
        };
        let view: &[u8] = map.as_deref().unwrap_or(&[]);
        let mut valid = 0usize;
        let mut last_index_entry = 0usize;
        let mut prev_last = base - 1;
        let mut max_ts = NO_TIMESTAMP;
        let mut max_ts_offset = base;
        let mut entries: Vec<(i64, u32, i64, i64)> = Vec::new();
        let mut epochs: Vec<(i32, i64)> = Vec::new();
        let mut next_progress = RECOVERY_PROGRESS_BYTES;
        while valid < view.len() {
            let h = match check_batch(&view[valid..]) {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(segment = %path.display(), position = valid, error = %e, "invalid batch found during recovery; truncating");
                    break;
                }
            };
            if h.base_offset <= prev_last || h.last_offset() - base > i32::MAX as i64 {
                tracing::warn!(segment = %path.display(), position = valid, base_offset = h.base_offset, "out-of-order or out-of-range offsets during recovery; truncating");
                break;
            }
            if h.max_timestamp > max_ts {
                max_ts = h.max_timestamp;
                max_ts_offset = h.last_offset();
            }
            if valid - last_index_entry > interval {
                entries.push((h.last_offset(), valid as u32, max_ts, max_ts_offset));
                last_index_entry = valid;
            }
            if h.partition_leader_epoch >= 0 {
                epochs.push((h.partition_leader_epoch, h.base_offset));
            }
            prev_last = h.last_offset();
            valid += h.size();
            if valid >= next_progress {
                tracing::info!(segment = %path.display(), recovered_bytes = valid, total_bytes = total, "recovering segment ({}%)", valid * 100 / total.max(1));
                next_progress += RECOVERY_PROGRESS_BYTES;
            }
        }
        let first_ts = HeaderIter::new(&view[..valid])
            .next()
            .map(|(_, h)| h.max_timestamp);
        for (off, pos, ts, ts_off) in entries {
            if self.offset_index.is_full() || self.time_index.is_full() {
                break;
            }
            self.offset_index.append(off, pos)?;
            self.time_index.maybe_append(ts, ts_off, false)?;
        }
        if let Some(cache) = epoch_cache {
            for (epoch, start) in epochs {
                if cache.latest_epoch().is_none_or(|l| epoch > l) {
                    cache.assign(epoch, start)?;
                }
            }
        }
        let truncated = (total - valid) as u64;
        if truncated > 0 {
            file.set_len(valid as u64)
                .ctx(|| format!("truncate {}", path.display()))?;
        }
        self.size = valid as u64;
        self.max_timestamp_so_far = max_ts;
        self.offset_of_max_timestamp = max_ts_offset;
        self.rolling_based_timestamp = first_ts;
        self.bytes_since_last_index_entry = (valid - last_index_entry) as u64;
        self.offset_index.trim_to_valid_size()?;
        self.time_index.maybe_append(max_ts, max_ts_offset, true)?;
        self.time_index.trim_to_valid_size()?;
        Ok(truncated)
    }

    /// Drops every batch whose last offset >= `offset`; returns bytes removed.
    pub fn truncate_to(&mut self, offset: i64) -> Result<u64, LogError> {
        let Some((pos, _)) = self.translate_offset(offset)? else {
            return Ok(0);
        };
        self.offset_index.truncate_to(offset);
        self.time_index.truncate_to(offset);
        self.txn_index.truncate_to(offset)?;
        let removed = self.size - pos as u64;
        self.file()?
            .set_len(pos as u64)
            .ctx(|| format!("truncate {}", self.log_path.display()))?;
        self.size = pos as u64;
        self.bytes_since_last_index_entry = 0;
        // Recompute the timestamps exactly from the remaining headers (rare path).
        let (mut max_ts, mut max_off) = (NO_TIMESTAMP, self.base_offset);
        let mut first = None;
        let mut batches = self.batches_from(0)?;
        while let Some((_, h)) = batches.next_batch()? {
            first.get_or_insert(h.max_timestamp);
            if h.max_timestamp > max_ts {
                max_ts = h.max_timestamp;
                max_off = h.last_offset();
            }
        }
        self.max_timestamp_so_far = max_ts;
        self.offset_of_max_timestamp = max_off;
        self.rolling_based_timestamp = first;
        if self.size == 0 {
            self.created_ms = now_ms();
        }
        Ok(removed)
    }

    /// Roll/close: final time-index entry, indexes and a preallocated `.log` trimmed.
    pub fn on_became_inactive(&mut self) -> Result<(), LogError> {
        self.time_index.maybe_append(
            self.max_timestamp_so_far,
            self.offset_of_max_timestamp,
            true,
        )?;
        self.trim_indexes()?;
        // Stat by name: a segment whose handle was evicted need not reopen to learn its size.
        let len = fs::metadata(&self.log_path)
            .ctx(|| format!("stat {}", self.log_path.display()))?
            .len();
        if len != self.size {
            self.file()?
                .set_len(self.size)
                .ctx(|| format!("trim {}", self.log_path.display()))?;
        }
        Ok(())
    }

    /// Forgets every index entry without touching the files (a segment with no bytes).
    pub fn reset_indexes(&mut self) {
        self.offset_index.reset();
        self.time_index.reset();
        self.max_timestamp_so_far = NO_TIMESTAMP;
        self.offset_of_max_timestamp = self.base_offset;
        self.bytes_since_last_index_entry = 0;
    }

    /// Trims both indexes to their entries (a no-op for a segment rolled before).
    pub fn trim_indexes(&mut self) -> Result<(), LogError> {
        self.offset_index.trim_to_valid_size()?;
        self.time_index.trim_to_valid_size()
    }

    /// Re-extends the indexes of the active segment to the max index size.
    pub fn resize_indexes(&mut self, size: usize) -> Result<(), LogError> {
        self.offset_index.resize(size)?;
        self.time_index.resize(size)?;
        Ok(())
    }

    /// Index sanity check on load; a failure means the indexes must be rebuilt.
    pub fn sanity_check(&self) -> Result<(), String> {
        self.offset_index.sanity_check(self.size)?;
        self.time_index.sanity_check()?;
        let (_, last) = self.time_index.last_entry();
        if self.time_index.entries() > 0 && last < self.base_offset {
            return Err("time index offset below base".into());
        }
        Ok(())
    }

    /// fsync of the `.log` through whichever handle the cache has: fsync covers every dirty
    /// page of the file, those written through an evicted (closed) handle too, and Linux
    /// reports a writeback error to a handle opened after it as long as nobody saw it yet.
    pub fn flush(&self) -> Result<(), LogError> {
        self.file()?
            .sync_all()
            .ctx(|| format!("fsync {}", self.log_path.display()))?;
        self.offset_index.flush()?;
        self.time_index.flush()?;
        self.txn_index.flush()
    }

    /// The files to fsync from another thread (the async flush after a roll): paths, not
    /// handles, so a backlog of pending flushes holds no descriptors.
    pub fn flush_paths(&self) -> Vec<PathBuf> {
        let mut paths = self.paths();
        if self.txn_index.entries() > 0 {
            paths.push(self.txn_index.path().to_path_buf());
        }
        paths
    }

    /// Max record timestamp, or the file's mtime when the segment has no timestamps.
    pub fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp_so_far >= 0 {
            return self.max_timestamp_so_far;
        }
        fs::metadata(&self.log_path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// First `(timestamp, offset)` at or after `ts` with offset >= `starting_offset`.
    /// Uncompressed batches are resolved per record; compressed ones at batch level.
    pub fn find_offset_by_timestamp(
        &mut self,
        ts: i64,
        starting_offset: i64,
    ) -> Result<Option<(i64, i64, i32)>, LogError> {
        let (_, ts_off) = self.time_index.lookup(ts);
        let (_, pos) = self.offset_index.lookup(ts_off.max(starting_offset));
        let mut batches = self.batches_from(u64::from(pos))?;
        while let Some((p, h)) = batches.next_batch()? {
            if h.max_timestamp < ts || h.last_offset() < starting_offset {
                continue;
            }
            if h.compression() == 0 && !h.is_log_append_time() {
                let mut batch = vec![0u8; h.size()];
                self.file()?
                    .read_exact_at(&mut batch, p)
                    .ctx(|| format!("read batch at {p} of {}", self.log_path.display()))?;
                if let Ok(records) = super::batch::parse_records(&batch) {
                    for r in records {
                        let (t, o) = (
                            h.base_timestamp + r.timestamp_delta,
                            h.base_offset + r.offset_delta as i64,
                        );
                        if t >= ts && o >= starting_offset {
                            return Ok(Some((t, o, h.partition_leader_epoch)));
                        }
                    }
                    continue;
                }
            }
            return Ok(Some((
                h.max_timestamp,
                h.base_offset.max(starting_offset),
                h.partition_leader_epoch,
            )));
        }
        Ok(None)
    }

    /// Renames the three files to `*.deleted`; returns the new paths for delayed removal.
    pub fn rename_to_deleted(&mut self) -> Result<Vec<PathBuf>, LogError> {
        let mut out = Vec::new();
        let new_log = with_suffix(&self.log_path, DELETED_FILE_SUFFIX);
        fs::rename(&self.log_path, &new_log)
            .ctx(|| format!("rename {}", self.log_path.display()))?;
        // A cached handle would keep the doomed file's blocks allocated until evicted.
        FileCache::global().invalidate(self.id);
        self.log_path = new_log.clone();
        out.push(new_log);
        let oi = with_suffix(self.offset_index.path(), DELETED_FILE_SUFFIX);
        self.offset_index.rename(&oi)?;
        out.push(oi);
        let ti = with_suffix(self.time_index.path(), DELETED_FILE_SUFFIX);
        self.time_index.rename(&ti)?;
        out.push(ti);
        if self.txn_index.exists() {
            let xi = with_suffix(self.txn_index.path(), DELETED_FILE_SUFFIX);
            self.txn_index.rename(&xi)?;
            out.push(xi);
        }
        Ok(out)
    }

    /// Paths of the segment's files (for immediate deletion).
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![
            self.log_path.clone(),
            self.offset_index.path().to_path_buf(),
            self.time_index.path().to_path_buf(),
        ];
        if self.txn_index.exists() {
            paths.push(self.txn_index.path().to_path_buf());
        }
        paths
    }
}

impl Drop for LogSegment {
    fn drop(&mut self) {
        FileCache::global().invalidate(self.id);
    }
}

/// pwritev(2) of all of `parts` at `offset`, resuming after short writes.
fn write_all_vectored_at(file: &File, parts: &[&[u8]], mut offset: u64) -> std::io::Result<()> {
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    let mut bufs: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
    let mut rest = &mut bufs[..];
    while !rest.is_empty() {
        let count = rest.len().min(1024) as libc::c_int; // IOV_MAX
                                                         // SAFETY: IoSlice is ABI-compatible with iovec on Unix, and every slice is borrowed
                                                         // for the duration of the call.
        let n = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                rest.as_ptr() as *const libc::iovec,
                count,
                offset as libc::off_t,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        offset += n as u64;
        IoSlice::advance_slices(&mut rest, n as usize);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::build_batch;

    /// A batch of `n` 100-byte records at offsets `base..base + n`.
    fn batch(base: i64, n: usize) -> Vec<u8> {
        let value = [b'x'; 100];
        let records: Vec<_> = (0..n)
            .map(|i| (1000 + i as i64, None, Some(&value[..]), &[][..]))
            .collect();
        build_batch(base, 0, &records)
    }

    /// What the cache does under pressure: drops its handle of the segment.
    fn evict(seg: &LogSegment) {
        FileCache::global().invalidate(seg.id());
        assert!(!FileCache::global().contains(seg.id()));
    }

    #[test]
    fn appends_reads_flush_truncation_and_roll_work_across_evictions() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            preallocate: true,
            segment_bytes: 1 << 20,
            index_interval_bytes: 200,
            ..LogConfig::default()
        };
        let mut seg = LogSegment::open(dir.path(), 0, &config, false).unwrap();
        let mut written = Vec::new();
        let mut ends = Vec::new();
        for i in 0..5 {
            let b = batch(i * 3, 3);
            // A fetch response may still hold the handle the cache lets go of.
            let held = seg.file().unwrap();
            evict(&seg);
            seg.append(i * 3 + 2, 1002, i * 3 + 2, &[&b]).unwrap();
            drop(held);
            written.extend_from_slice(&b);
            ends.push(written.len());
        }
        evict(&seg);
        seg.flush().unwrap();
        let on_disk = fs::read(seg.log_path()).unwrap();
        assert_eq!(on_disk.len(), 1 << 20, "still preallocated");
        assert_eq!(
            &on_disk[..written.len()],
            &written[..],
            "appends at the tracked size"
        );

        evict(&seg);
        let r = seg.read(7, 1 << 20, None, false).unwrap().unwrap();
        assert_eq!((r.first_batch_base_offset, r.next_offset), (6, 15));
        assert_eq!(r.position, ends[1] as u64);

        evict(&seg);
        assert_eq!(
            seg.truncate_to(9).unwrap(),
            (written.len() - ends[2]) as u64
        );
        written.truncate(ends[2]);
        evict(&seg);
        let b = batch(9, 2);
        seg.append(10, 1001, 10, &[&b]).unwrap();
        written.extend_from_slice(&b);
        evict(&seg);
        assert_eq!(seg.read_next_offset().unwrap(), 11);

        evict(&seg);
        seg.on_became_inactive().unwrap();
        assert_eq!(
            fs::read(seg.log_path()).unwrap(),
            written,
            "preallocation trimmed"
        );
        let id = seg.id();
        seg.file().unwrap();
        drop(seg);
        assert!(
            !FileCache::global().contains(id),
            "a dropped segment's handle is closed"
        );
    }
}
