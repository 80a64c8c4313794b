//! Memory-mapped sparse indexes (AbstractIndex / OffsetIndex / TimeIndex).
//!
//! Files are preallocated to the max size (rounded down to the entry size) while the
//! segment is active and trimmed to `entries * entry_size` when it is rolled or closed;
//! an existing file's entry count is its length / entry size, as in Kafka.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use super::batch::{be_i32, be_i64, NO_TIMESTAMP};
use super::errors::{IoContext, LogError};

/// Shared mmap bookkeeping for both index kinds. No file descriptor is kept: the file is
/// opened only to size and map it (Kafka's AbstractIndex closes its RandomAccessFile right
/// after mapping), and an index without entries is not mapped until its first append, so
/// an idle partition costs neither a descriptor nor a mapping for its indexes.
pub struct IndexFile {
    path: PathBuf,
    mmap: Option<MmapMut>,
    entry_size: usize,
    entries: usize,
    max_entries: usize,
}

impl IndexFile {
    fn open(path: &Path, max_index_size: usize, entry_size: usize) -> Result<IndexFile, LogError> {
        // Only a file we create is preallocated; an existing (possibly trimmed) one keeps its length.
        let newly_created = !path.exists();
        let file = open_rw(path, true)?;
        let len = file
            .metadata()
            .ctx(|| format!("stat {}", path.display()))?
            .len() as usize;
        let (len, entries) = if newly_created {
            let l = max_index_size / entry_size * entry_size;
            file.set_len(l as u64)
                .ctx(|| format!("preallocate {}", path.display()))?;
            (l, 0)
        } else {
            (len, len / entry_size)
        };
        let mut idx = IndexFile {
            path: path.to_path_buf(),
            mmap: None,
            entry_size,
            entries,
            max_entries: len / entry_size,
        };
        if entries > 0 {
            idx.map(&file)?;
        }
        Ok(idx)
    }

    /// Maps the whole file (its length is `max_entries` slots).
    fn map(&mut self, file: &File) -> Result<(), LogError> {
        self.mmap = None;
        if self.max_entries > 0 {
            // SAFETY: only this index writes the file, and it unmaps before resizing it.
            let m = unsafe { MmapMut::map_mut(file) }
                .ctx(|| format!("mmap {}", self.path.display()))?;
            // Lookups are binary searches and appends touch one slot: no readahead. With it,
            // the first touch of a crashed active segment's preallocated (sparse) index read
            // ahead and zeroed a window of pages, ~3 ms per log on a restart after kill -9.
            let _ = m.advise(memmap2::Advice::Random);
            self.mmap = Some(m);
        }
        Ok(())
    }

    fn ensure_mapped(&mut self) -> Result<(), LogError> {
        if self.mmap.is_none() {
            let file = open_rw(&self.path, false)?;
            self.map(&file)?;
        }
        Ok(())
    }

    /// Drops every entry and the mapping with them (the next append maps the file again).
    /// A crashed active segment's preallocated index is all slots at open, so it is mapped
    /// there; recovery empties it, and the mapping must go too, or a broker restarted after
    /// kill -9 keeps two mappings per empty log and runs out of vm.max_map_count (65,530
    /// by default) near 33,000 logs.
    fn clear(&mut self) {
        self.entries = 0;
        self.mmap = None;
    }

    /// Whether the file is currently mapped (it is whenever it holds entries).
    pub fn is_mapped(&self) -> bool {
        self.mmap.is_some()
    }

    fn buf(&self) -> &[u8] {
        self.mmap.as_deref().unwrap_or(&[])
    }

    fn slot(&self, n: usize) -> &[u8] {
        &self.buf()[n * self.entry_size..(n + 1) * self.entry_size]
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), LogError> {
        assert!(
            self.entries < self.max_entries,
            "append to a full index {}",
            self.path.display()
        );
        self.ensure_mapped()?;
        let at = self.entries * self.entry_size;
        self.reserve_page_of(at, bytes.len())?;
        let m = self.mmap.as_mut().expect("mapped above");
        m[at..at + bytes.len()].copy_from_slice(bytes);
        self.entries += 1;
        Ok(())
    }

    /// The file is sparse: the first write into a page of the mapping allocates it, and on a
    /// full disk that fault is a SIGBUS. Allocating the page first turns it into ENOSPC, which
    /// takes the log dir offline instead of killing the broker.
    fn reserve_page_of(&self, at: usize, len: usize) -> Result<(), LogError> {
        const PAGE: usize = 4096;
        let last_page = (at + len - 1) / PAGE;
        if at > 0 && (at - 1) / PAGE == last_page {
            return Ok(());
        }
        use std::os::fd::AsRawFd;
        // The index keeps no descriptor (see IndexFile); one open per 4 KiB page of entries.
        let file = open_rw(&self.path, false)?;
        // Never past the end: fallocate would grow the file and change its entry count.
        let start = last_page * PAGE;
        let len = PAGE.min(self.max_entries * self.entry_size - start);
        // SAFETY: plain syscall on a file descriptor opened just above.
        let rc = unsafe {
            libc::posix_fallocate(file.as_raw_fd(), start as libc::off_t, len as libc::off_t)
        };
        match rc {
            0 | libc::EOPNOTSUPP | libc::EINVAL => Ok(()),
            errno => Err(LogError::io(
                format!("allocate index page in {}", self.path.display()),
                std::io::Error::from_raw_os_error(errno),
            )),
        }
    }

    /// Resizes the file (rounded down to whole entries); entries beyond the new size are dropped.
    pub fn resize(&mut self, new_size: usize) -> Result<bool, LogError> {
        let rounded = new_size / self.entry_size * self.entry_size;
        let current = self.max_entries * self.entry_size;
        if rounded == current {
            return Ok(false);
        }
        let was_mapped = self.mmap.take().is_some();
        let file = open_rw(&self.path, false)?;
        file.set_len(rounded as u64)
            .ctx(|| format!("resize {}", self.path.display()))?;
        self.max_entries = rounded / self.entry_size;
        self.entries = self.entries.min(self.max_entries);
        if was_mapped && self.entries > 0 {
            self.map(&file)?;
        }
        Ok(true)
    }

    pub fn trim_to_valid_size(&mut self) -> Result<(), LogError> {
        self.resize(self.entries * self.entry_size).map(|_| ())
    }

    pub fn flush(&self) -> Result<(), LogError> {
        if let Some(m) = &self.mmap {
            m.flush().ctx(|| format!("flush {}", self.path.display()))?;
        }
        Ok(())
    }

    /// Largest slot whose key is <= target (keys are non-decreasing), or None.
    fn largest_lower_bound(&self, target: i64, key: impl Fn(&[u8]) -> i64) -> Option<usize> {
        if self.entries == 0 || key(self.slot(0)) > target {
            return None;
        }
        let (mut lo, mut hi) = (0usize, self.entries - 1);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if key(self.slot(mid)) <= target {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    }

    /// The partition dir was renamed (a `-future` log becoming current, a `-delete`): the
    /// file keeps its name and its mapping, only the path changes.
    pub fn set_parent_dir(&mut self, dir: &Path) {
        if let Some(name) = self.path.file_name() {
            self.path = dir.join(name);
        }
    }

    pub fn rename(&mut self, to: &Path) -> Result<(), LogError> {
        // The mapping survives the rename: it refers to the inode, not the name.
        std::fs::rename(&self.path, to)
            .ctx(|| format!("rename {} to {}", self.path.display(), to.display()))?;
        self.path = to.to_path_buf();
        Ok(())
    }
}

/// Opens an index file read-write; only `IndexFile::open` may create it.
fn open_rw(path: &Path, create: bool) -> Result<File, LogError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
        .ctx(|| format!("open index {}", path.display()))
}

/// Offset index: `int32 relativeOffset, int32 position` per entry.
pub struct OffsetIndex {
    f: IndexFile,
    base_offset: i64,
}

pub const OFFSET_ENTRY_SIZE: usize = 8;
pub const TIME_ENTRY_SIZE: usize = 12;

impl OffsetIndex {
    pub fn open(
        path: &Path,
        base_offset: i64,
        max_index_size: usize,
    ) -> Result<OffsetIndex, LogError> {
        Ok(OffsetIndex {
            f: IndexFile::open(path, max_index_size, OFFSET_ENTRY_SIZE)?,
            base_offset,
        })
    }

    pub fn entries(&self) -> usize {
        self.f.entries
    }
    pub fn max_entries(&self) -> usize {
        self.f.max_entries
    }
    pub fn is_full(&self) -> bool {
        self.f.entries >= self.f.max_entries
    }
    pub fn path(&self) -> &Path {
        &self.f.path
    }
    pub fn set_parent_dir(&mut self, dir: &Path) {
        self.f.set_parent_dir(dir);
    }

    /// Entry n as (absolute offset, position).
    pub fn entry(&self, n: usize) -> (i64, u32) {
        let s = self.f.slot(n);
        (self.base_offset + be_i32(s, 0) as i64, be_i32(s, 4) as u32)
    }

    pub fn last_offset(&self) -> i64 {
        if self.f.entries == 0 {
            self.base_offset
        } else {
            self.entry(self.f.entries - 1).0
        }
    }

    /// Appends (offset, position); offsets must strictly increase.
    pub fn append(&mut self, offset: i64, position: u32) -> Result<(), LogError> {
        if self.f.entries > 0 && offset <= self.last_offset() {
            return Err(LogError::Other(format!(
                "attempt to append offset {offset} no larger than the last offset {} to {}",
                self.last_offset(),
                self.f.path.display()
            )));
        }
        let rel = offset - self.base_offset;
        assert!(
            (0..=i32::MAX as i64).contains(&rel),
            "offset {offset} does not fit index of base {}",
            self.base_offset
        );
        let mut e = [0u8; OFFSET_ENTRY_SIZE];
        e[..4].copy_from_slice(&(rel as i32).to_be_bytes());
        e[4..].copy_from_slice(&(position as i32).to_be_bytes());
        self.f.push(&e)
    }

    /// Greatest entry with offset <= target, or (base offset, 0).
    pub fn lookup(&self, target: i64) -> (i64, u32) {
        let rel = |s: &[u8]| be_i32(s, 0) as i64;
        match self.f.largest_lower_bound(target - self.base_offset, rel) {
            Some(n) => self.entry(n),
            None => (self.base_offset, 0),
        }
    }

    /// Removes entries with offset >= `offset`.
    pub fn truncate_to(&mut self, offset: i64) {
        let rel = |s: &[u8]| be_i32(s, 0) as i64;
        let target = offset - self.base_offset;
        self.f.entries = match self.f.largest_lower_bound(target, rel) {
            None => 0,
            Some(n) if rel(self.f.slot(n)) == target => n,
            Some(n) => n + 1,
        };
    }

    pub fn reset(&mut self) {
        self.f.clear();
    }

    /// Kafka's checks plus strict monotonicity; failure means "rebuild from the .log".
    pub fn sanity_check(&self, log_size: u64) -> Result<(), String> {
        let len = self.f.max_entries * OFFSET_ENTRY_SIZE;
        if self.f.entries > 0 && self.last_offset() < self.base_offset {
            return Err(format!(
                "last offset {} below base offset {}",
                self.last_offset(),
                self.base_offset
            ));
        }
        if !len.is_multiple_of(OFFSET_ENTRY_SIZE) {
            return Err(format!(
                "index length {len} is not a multiple of {OFFSET_ENTRY_SIZE}"
            ));
        }
        let mut prev: Option<(i64, u32)> = None;
        for n in 0..self.f.entries {
            let (o, p) = self.entry(n);
            if o < self.base_offset || p as u64 >= log_size.max(1) {
                return Err(format!("entry {n} ({o}, {p}) out of range"));
            }
            if let Some((po, pp)) = prev {
                if o <= po || p <= pp {
                    return Err(format!("entry {n} ({o}, {p}) does not increase"));
                }
            }
            prev = Some((o, p));
        }
        Ok(())
    }

    pub fn all_entries(&self) -> Vec<(i64, u32)> {
        (0..self.entries()).map(|n| self.entry(n)).collect()
    }
}

/// Both indexes expose the shared file operations (resize, trim, flush, rename, file).
macro_rules! deref_index_file {
    ($t:ty) => {
        impl std::ops::Deref for $t {
            type Target = IndexFile;
            fn deref(&self) -> &IndexFile {
                &self.f
            }
        }
        impl std::ops::DerefMut for $t {
            fn deref_mut(&mut self) -> &mut IndexFile {
                &mut self.f
            }
        }
    };
}
deref_index_file!(OffsetIndex);
deref_index_file!(TimeIndex);

/// Time index: `int64 timestamp, int32 relativeOffset` per entry.
pub struct TimeIndex {
    f: IndexFile,
    base_offset: i64,
}

impl TimeIndex {
    pub fn open(
        path: &Path,
        base_offset: i64,
        max_index_size: usize,
    ) -> Result<TimeIndex, LogError> {
        Ok(TimeIndex {
            f: IndexFile::open(path, max_index_size, TIME_ENTRY_SIZE)?,
            base_offset,
        })
    }

    pub fn entries(&self) -> usize {
        self.f.entries
    }
    pub fn path(&self) -> &Path {
        &self.f.path
    }
    pub fn set_parent_dir(&mut self, dir: &Path) {
        self.f.set_parent_dir(dir);
    }
    /// The last slot is reserved for the entry written on roll/close.
    pub fn is_full(&self) -> bool {
        self.f.entries >= self.f.max_entries.saturating_sub(1)
    }

    /// Entry n as (timestamp, absolute offset).
    pub fn entry(&self, n: usize) -> (i64, i64) {
        let s = self.f.slot(n);
        (be_i64(s, 0), self.base_offset + be_i32(s, 8) as i64)
    }

    /// (timestamp, offset) of the last entry, or (-1, base offset) when empty.
    pub fn last_entry(&self) -> (i64, i64) {
        if self.f.entries == 0 {
            (NO_TIMESTAMP, self.base_offset)
        } else {
            self.entry(self.f.entries - 1)
        }
    }

    /// Appends only when `timestamp` exceeds the last entry's (TimeIndex.maybeAppend).
    pub fn maybe_append(
        &mut self,
        timestamp: i64,
        offset: i64,
        skip_full_check: bool,
    ) -> Result<(), LogError> {
        let (last_ts, last_off) = self.last_entry();
        if self.f.entries != 0 && offset < last_off {
            return Err(LogError::Other(format!(
                "attempt to append offset {offset} below the last time index offset {last_off} to {}",
                self.f.path.display()
            )));
        }
        if timestamp <= last_ts {
            return Ok(());
        }
        if !skip_full_check {
            assert!(
                !self.is_full(),
                "append to a full time index {}",
                self.f.path.display()
            );
        }
        if self.f.entries >= self.f.max_entries {
            return Ok(()); // no physical room left (tiny segment.index.bytes)
        }
        let rel = offset - self.base_offset;
        assert!((0..=i32::MAX as i64).contains(&rel));
        let mut e = [0u8; TIME_ENTRY_SIZE];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&(rel as i32).to_be_bytes());
        self.f.push(&e)
    }

    /// Greatest entry with timestamp <= target, or (-1, base offset).
    pub fn lookup(&self, target: i64) -> (i64, i64) {
        match self.f.largest_lower_bound(target, |s| be_i64(s, 0)) {
            Some(n) => self.entry(n),
            None => (NO_TIMESTAMP, self.base_offset),
        }
    }

    /// Removes entries with offset >= `offset`.
    pub fn truncate_to(&mut self, offset: i64) {
        let rel = |s: &[u8]| be_i32(s, 8) as i64;
        let target = offset - self.base_offset;
        self.f.entries = match self.f.largest_lower_bound(target, rel) {
            None => 0,
            Some(n) if rel(self.f.slot(n)) == target => n,
            Some(n) => n + 1,
        };
    }

    pub fn reset(&mut self) {
        self.f.clear();
    }

    pub fn sanity_check(&self) -> Result<(), String> {
        if self.f.entries == 0 {
            return Ok(());
        }
        let (first_ts, _) = self.entry(0);
        let (last_ts, last_off) = self.last_entry();
        if last_ts < first_ts {
            return Err(format!(
                "last timestamp {last_ts} below first timestamp {first_ts}"
            ));
        }
        if last_off < self.base_offset {
            return Err(format!(
                "last offset {last_off} below base offset {}",
                self.base_offset
            ));
        }
        let mut prev: Option<(i64, i64)> = None;
        for n in 0..self.f.entries {
            let (t, o) = self.entry(n);
            if let Some((pt, po)) = prev {
                if t <= pt || o < po {
                    return Err(format!("entry {n} ({t}, {o}) does not increase"));
                }
            }
            prev = Some((t, o));
        }
        Ok(())
    }

    pub fn all_entries(&self) -> Vec<(i64, i64)> {
        (0..self.entries()).map(|n| self.entry(n)).collect()
    }
}
