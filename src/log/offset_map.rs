//! The cleaner's key → latest offset map (Kafka's SkeinOffsetMap): keys are stored as a
//! 128-bit hash, not verbatim, so memory per entry is fixed and the map can be bounded by
//! `log.cleaner.dedupe.buffer.size`. A hash collision could only make the cleaner keep an
//! extra old record or drop one superseded under another key; at 128 bits that is
//! astronomically unlikely (Kafka accepts the same with MD5).

use std::collections::HashMap;

/// Bytes Kafka charges per entry: a 16-byte hash plus an 8-byte offset.
pub const BYTES_PER_ENTRY: usize = 24;

pub struct OffsetMap {
    map: HashMap<u128, i64>,
    max_entries: usize,
    latest_offset: i64,
}

impl OffsetMap {
    /// A map using at most `buffer_bytes * load_factor` worth of entries.
    pub fn new(buffer_bytes: usize, load_factor: f64) -> OffsetMap {
        let slots = buffer_bytes / BYTES_PER_ENTRY;
        let max_entries = ((slots as f64) * load_factor.clamp(0.01, 1.0)) as usize;
        OffsetMap {
            map: HashMap::new(),
            max_entries: max_entries.max(1),
            latest_offset: -1,
        }
    }

    fn hash(key: &[u8]) -> u128 {
        twox_hash::XxHash3_128::oneshot(key)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// True when one more new key would exceed the configured size.
    pub fn is_full(&self) -> bool {
        self.map.len() >= self.max_entries
    }
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Records `offset` as the latest for `key`; returns false (and stores nothing) when
    /// the map is full and the key is new.
    pub fn put(&mut self, key: &[u8], offset: i64) -> bool {
        let h = Self::hash(key);
        if self.is_full() && !self.map.contains_key(&h) {
            return false;
        }
        self.map.insert(h, offset);
        self.latest_offset = self.latest_offset.max(offset);
        true
    }

    /// Latest offset of `key`, or -1 if the dirty section never wrote it.
    pub fn get(&self, key: &[u8]) -> i64 {
        self.map.get(&Self::hash(key)).copied().unwrap_or(-1)
    }

    /// Highest offset the map has covered (records above it were not looked at).
    pub fn latest_offset(&self) -> i64 {
        self.latest_offset
    }
    /// Marks everything up to `offset` as covered (keyless records, control batches).
    pub fn update_latest_offset(&mut self, offset: i64) {
        self.latest_offset = self.latest_offset.max(offset);
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.latest_offset = -1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_buffer_and_latest_wins() {
        let mut m = OffsetMap::new(24 * 10, 0.5);
        assert_eq!(m.max_entries(), 5);
        for i in 0..5 {
            assert!(m.put(format!("k{i}").as_bytes(), i));
        }
        assert!(m.is_full());
        assert!(!m.put(b"new", 9));
        assert!(m.put(b"k1", 7), "existing keys update even when full");
        assert_eq!(m.get(b"k1"), 7);
        assert_eq!(m.get(b"absent"), -1);
        assert_eq!(m.latest_offset(), 7);
    }
}
