//! Open `.log` handles of every segment, active ones included, opened on demand and kept in a
//! bounded LRU.
//!
//! Kafka keeps one descriptor per segment, so its open files grow with the partition and
//! segment counts (~4,100 per broker at 10,000 partitions RF=2 on 3 brokers). Here a segment
//! borrows its handle from this cache for each append, read, flush or truncation, and an
//! evicted one is reopened by path. That is safe because nothing depends on the descriptor:
//! appends are positioned writes at the segment's tracked size, fsync covers the pages written
//! through any handle, and truncation and rolls act on the file. Evicting a handle only drops
//! the cache's reference: a fetch response sending from it keeps it open until the bytes are
//! out. The capacity is the broker config `zkafka.log.segment.open.files.max`, at most half
//! the open-files limit.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The broker config key bounding the cache (zkafka's own; Kafka has no such cache).
pub const OPEN_FILES_MAX_CONFIG: &str = "zkafka.log.segment.open.files.max";

/// Default capacity: a broker with 10,000 partitions stays near 1,100 open files.
pub const DEFAULT_CAPACITY: usize = 1024;

/// An LRU of open files keyed by segment id (ids are never reused, so a renamed or
/// replaced segment never finds another one's handle).
pub struct FileCache {
    inner: Mutex<Lru>,
}

#[derive(Default)]
struct Lru {
    capacity: usize,
    tick: u64,
    /// id → (handle, last-use tick)
    files: HashMap<u64, (Arc<File>, u64)>,
    /// last-use tick → id, oldest first
    order: BTreeMap<u64, u64>,
}

impl Lru {
    fn touch(&mut self, id: u64) -> Option<Arc<File>> {
        let (file, used) = self.files.get_mut(&id)?;
        // The most recent already (a partition taking appends back to back): no reorder.
        if *used != self.tick {
            self.tick += 1;
            self.order.remove(used);
            *used = self.tick;
            self.order.insert(self.tick, id);
        }
        Some(file.clone())
    }

    fn remove(&mut self, id: u64) {
        if let Some((_, used)) = self.files.remove(&id) {
            self.order.remove(&used);
        }
    }

    fn evict_to(&mut self, capacity: usize) {
        while self.files.len() > capacity {
            let Some((_, id)) = self.order.pop_first() else {
                return;
            };
            self.files.remove(&id);
        }
    }
}

impl FileCache {
    pub fn new(capacity: usize) -> FileCache {
        FileCache {
            inner: Mutex::new(Lru {
                capacity: capacity.max(1),
                ..Lru::default()
            }),
        }
    }

    /// The broker-wide cache every segment uses.
    pub fn global() -> &'static FileCache {
        static CACHE: OnceLock<FileCache> = OnceLock::new();
        CACHE.get_or_init(|| FileCache::new(DEFAULT_CAPACITY))
    }

    /// A fresh id for a segment instance.
    pub fn next_id() -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_capacity(&self, capacity: usize) {
        let mut g = self.lock();
        g.capacity = capacity.max(1);
        let cap = g.capacity;
        g.evict_to(cap);
    }

    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }

    /// Number of handles held.
    pub fn len(&self) -> usize {
        self.lock().files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The handle of segment `id`, opening `path` read-write when not cached.
    pub fn get_or_open(&self, id: u64, path: &Path) -> std::io::Result<Arc<File>> {
        if let Some(f) = self.lock().touch(id) {
            return Ok(f);
        }
        // Opened outside the lock: a slow open must not stall every other segment's reads.
        let file = Arc::new(OpenOptions::new().read(true).write(true).open(path)?);
        Ok(self.insert(id, file))
    }

    /// Caches `file` for `id` (keeping a handle another thread cached first).
    pub fn insert(&self, id: u64, file: Arc<File>) -> Arc<File> {
        let mut g = self.lock();
        if let Some(f) = g.touch(id) {
            return f;
        }
        let cap = g.capacity;
        g.evict_to(cap - 1);
        g.tick += 1;
        let tick = g.tick;
        g.files.insert(id, (file.clone(), tick));
        g.order.insert(tick, id);
        file
    }

    /// Drops the handle of `id` (segment renamed to `.deleted` or dropped).
    pub fn invalidate(&self, id: u64) {
        self.lock().remove(id);
    }

    pub fn contains(&self, id: u64) -> bool {
        self.lock().files.contains_key(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(n: usize) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = (0..n)
            .map(|i| {
                let p = dir.path().join(format!("{i}.log"));
                std::fs::write(&p, format!("segment {i}")).unwrap();
                p
            })
            .collect();
        (dir, paths)
    }

    #[test]
    fn holds_at_most_capacity_and_evicts_least_recently_used() {
        let (_d, paths) = files(4);
        let cache = FileCache::new(2);
        cache.get_or_open(1, &paths[0]).unwrap();
        cache.get_or_open(2, &paths[1]).unwrap();
        cache.get_or_open(1, &paths[0]).unwrap(); // 1 is now the most recent
        cache.get_or_open(3, &paths[2]).unwrap();
        assert_eq!(cache.len(), 2);
        assert!(cache.contains(1) && cache.contains(3) && !cache.contains(2));
    }

    #[test]
    fn cached_handle_is_reused_and_reopened_after_eviction() {
        let (_d, paths) = files(2);
        let cache = FileCache::new(1);
        let a = cache.get_or_open(1, &paths[0]).unwrap();
        assert!(Arc::ptr_eq(&a, &cache.get_or_open(1, &paths[0]).unwrap()));
        cache.get_or_open(2, &paths[1]).unwrap();
        let b = cache.get_or_open(1, &paths[0]).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn an_evicted_handle_stays_usable_by_its_holder() {
        use std::os::unix::fs::FileExt;
        let (_d, paths) = files(2);
        let cache = FileCache::new(1);
        let held = cache.get_or_open(1, &paths[0]).unwrap();
        cache.get_or_open(2, &paths[1]).unwrap();
        assert!(!cache.contains(1));
        let mut buf = [0u8; 9];
        held.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"segment 0");
    }

    #[test]
    fn invalidate_and_shrinking_capacity_drop_handles() {
        let (_d, paths) = files(3);
        let cache = FileCache::new(3);
        for (i, p) in paths.iter().enumerate() {
            cache.get_or_open(i as u64, p).unwrap();
        }
        cache.invalidate(1);
        assert!(!cache.contains(1));
        cache.set_capacity(1);
        assert_eq!(cache.len(), 1);
        assert!(cache.contains(2), "the most recently used handle stays");
    }

    #[test]
    fn a_missing_file_is_an_error_not_a_cached_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(2);
        assert!(cache.get_or_open(1, &dir.path().join("gone.log")).is_err());
        assert!(cache.is_empty());
    }
}
