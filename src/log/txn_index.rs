//! The transaction index (`<base>.txnindex`, TransactionIndex.scala): one 34-byte entry per
//! aborted transaction whose ABORT marker lies in the segment, so a read_committed fetch can
//! tell the consumer which producers' records to drop without reading the log.
//!
//! Entry (big-endian): `int16 version = 0, int64 producerId, int64 firstOffset,
//! int64 lastOffset (the marker), int64 lastStableOffset` (the LSO when the marker was
//! written). Entries have increasing `lastOffset`. The file exists only once a segment has
//! an aborted transaction, and no descriptor is kept: aborts and reads of aborted ranges are
//! rare, so each opens the file for the call. The last entry's `lastOffset` stays in memory,
//! which lets a fetch skip every segment whose aborts all lie below the fetch offset.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::errors::{IoContext, LogError};

pub const TXN_INDEX_FILE_SUFFIX: &str = ".txnindex";
pub const ABORTED_TXN_SIZE: usize = 34;
pub const ABORTED_TXN_VERSION: i16 = 0;

/// One aborted transaction (Kafka's AbortedTxn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    pub fn encode(&self) -> [u8; ABORTED_TXN_SIZE] {
        let mut b = [0u8; ABORTED_TXN_SIZE];
        b[0..2].copy_from_slice(&ABORTED_TXN_VERSION.to_be_bytes());
        b[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        b[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        b[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        b[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        b
    }

    /// Decodes one entry; a version above 0 is an error, as in Kafka.
    pub fn decode(b: &[u8]) -> Result<AbortedTxn, String> {
        let i64_at = |at: usize| i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let version = i16::from_be_bytes([b[0], b[1]]);
        if version > ABORTED_TXN_VERSION {
            return Err(format!(
                "Unexpected aborted transaction version {version}, current version is {ABORTED_TXN_VERSION}"
            ));
        }
        Ok(AbortedTxn {
            producer_id: i64_at(2),
            first_offset: i64_at(10),
            last_offset: i64_at(18),
            last_stable_offset: i64_at(26),
        })
    }
}

/// Decodes a whole `.txnindex` file's bytes (a trailing partial entry is ignored, as
/// Kafka's iterator does).
pub fn decode_entries(data: &[u8]) -> Result<Vec<AbortedTxn>, String> {
    data.chunks_exact(ABORTED_TXN_SIZE)
        .map(AbortedTxn::decode)
        .collect()
}

/// What `collect_aborted_txns` found in one segment (TxnIndexSearchResult).
#[derive(Debug, Default)]
pub struct TxnIndexSearchResult {
    pub aborted: Vec<AbortedTxn>,
    /// An entry's LSO reached the upper bound: later segments cannot matter.
    pub is_complete: bool,
}

/// The transaction index of one segment.
#[derive(Debug)]
pub struct TransactionIndex {
    path: PathBuf,
    start_offset: i64,
    entries: usize,
    last_offset: Option<i64>,
    /// Appended or truncated since the last fsync (segment flushes share the segment).
    dirty: AtomicBool,
}

impl TransactionIndex {
    /// Looks at an existing file (its entry count and last entry); creates nothing.
    pub fn open(path: &Path, start_offset: i64) -> Result<TransactionIndex, LogError> {
        let mut idx = TransactionIndex {
            path: path.to_path_buf(),
            start_offset,
            entries: 0,
            last_offset: None,
            dirty: AtomicBool::new(false),
        };
        let len = match fs::metadata(path) {
            Ok(m) => m.len() as usize,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(idx),
            Err(e) => return Err(LogError::io(format!("stat {}", path.display()), e)),
        };
        idx.entries = len / ABORTED_TXN_SIZE;
        if idx.entries > 0 {
            idx.last_offset = Some(idx.read_entry(idx.entries - 1)?.last_offset);
        }
        Ok(idx)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn entries(&self) -> usize {
        self.entries
    }
    pub fn last_offset(&self) -> Option<i64> {
        self.last_offset
    }

    fn read_entry(&self, n: usize) -> Result<AbortedTxn, LogError> {
        let file = fs::File::open(&self.path).ctx(|| format!("open {}", self.path.display()))?;
        let mut b = [0u8; ABORTED_TXN_SIZE];
        file.read_exact_at(&mut b, (n * ABORTED_TXN_SIZE) as u64)
            .ctx(|| format!("read {}", self.path.display()))?;
        AbortedTxn::decode(&b).map_err(|e| self.corrupt(e))
    }

    fn corrupt(&self, why: String) -> LogError {
        LogError::Other(format!("transaction index {}: {why}", self.path.display()))
    }

    /// Appends an entry (creating the file on the first one); `last_offset` must increase.
    pub fn append(&mut self, txn: &AbortedTxn) -> Result<(), LogError> {
        if let Some(last) = self.last_offset.filter(|l| *l >= txn.last_offset) {
            return Err(self.corrupt(format!(
                "the last offset of appended transactions must increase sequentially, but {} is not greater than current last offset {last}",
                txn.last_offset
            )));
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)
            .ctx(|| format!("open {}", self.path.display()))?;
        file.write_all_at(&txn.encode(), (self.entries * ABORTED_TXN_SIZE) as u64)
            .ctx(|| format!("append to {}", self.path.display()))?;
        self.entries += 1;
        self.last_offset = Some(txn.last_offset);
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Every entry, in file order.
    pub fn all_aborted_txns(&self) -> Result<Vec<AbortedTxn>, LogError> {
        if self.entries == 0 {
            return Ok(Vec::new());
        }
        let file = fs::File::open(&self.path).ctx(|| format!("open {}", self.path.display()))?;
        let mut data = vec![0u8; self.entries * ABORTED_TXN_SIZE];
        file.read_exact_at(&mut data, 0)
            .ctx(|| format!("read {}", self.path.display()))?;
        decode_entries(&data).map_err(|e| self.corrupt(e))
    }

    /// TransactionIndex.collectAbortedTxns: entries overlapping `[fetch_offset,
    /// upper_bound)`, stopping at the first whose LSO reaches `upper_bound`.
    pub fn collect_aborted_txns(
        &self,
        fetch_offset: i64,
        upper_bound: i64,
    ) -> Result<TxnIndexSearchResult, LogError> {
        let mut out = TxnIndexSearchResult::default();
        // Every entry's LSO is at most its last offset + 1, so when the newest entry ends
        // below the fetch offset nothing here is collected and nothing completes the search.
        if self.last_offset.is_none_or(|l| l < fetch_offset) {
            return Ok(out);
        }
        for txn in self.all_aborted_txns()? {
            if txn.last_offset >= fetch_offset && txn.first_offset < upper_bound {
                out.aborted.push(txn);
            }
            if txn.last_stable_offset >= upper_bound {
                out.is_complete = true;
                break;
            }
        }
        Ok(out)
    }

    /// Drops the entries whose marker is at or above `offset` (log truncation).
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        if self.last_offset.is_none_or(|l| l < offset) {
            return Ok(());
        }
        let all = self.all_aborted_txns()?;
        let keep = all.iter().take_while(|t| t.last_offset < offset).count();
        self.set_entries(keep, all.get(keep.wrapping_sub(1)).map(|t| t.last_offset))
    }

    /// Removes every entry (segment recovery rebuilds them).
    pub fn reset(&mut self) -> Result<(), LogError> {
        self.set_entries(0, None)
    }

    fn set_entries(&mut self, n: usize, last_offset: Option<i64>) -> Result<(), LogError> {
        match OpenOptions::new().write(true).open(&self.path) {
            Ok(f) => f
                .set_len((n * ABORTED_TXN_SIZE) as u64)
                .ctx(|| format!("truncate {}", self.path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LogError::io(format!("open {}", self.path.display()), e)),
        }
        self.entries = n;
        self.last_offset = last_offset;
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// fsyncs the file if it changed since the last flush.
    pub fn flush(&self) -> Result<(), LogError> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let r = match fs::File::open(&self.path) {
            Ok(f) => f.sync_all(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        if r.is_err() {
            self.dirty.store(true, Ordering::Relaxed);
        }
        r.ctx(|| format!("fsync {}", self.path.display()))
    }

    /// Renames the file if it exists; the index follows the new name either way.
    pub fn rename(&mut self, to: &Path) -> Result<(), LogError> {
        match fs::rename(&self.path, to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(LogError::io(
                    format!("rename {} to {}", self.path.display(), to.display()),
                    e,
                ))
            }
        }
        self.path = to.to_path_buf();
        Ok(())
    }

    /// Whether the file exists (so renames and deletions should carry it).
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// TransactionIndex.sanityCheck: no entry may end below the segment's base offset.
    pub fn sanity_check(&self) -> Result<(), String> {
        match self.last_offset {
            Some(l) if l < self.start_offset => Err(format!(
                "last offset {l} of an aborted transaction in {} is less than start offset {}",
                self.path.display(),
                self.start_offset
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: lso,
        }
    }

    #[test]
    fn entries_are_34_bytes_in_kafkas_layout() {
        let b = txn(7, 10, 20, 21).encode();
        assert_eq!(b.len(), 34);
        assert_eq!(&b[0..2], &[0, 0]);
        assert_eq!(&b[2..10], &7i64.to_be_bytes());
        assert_eq!(&b[26..34], &21i64.to_be_bytes());
        assert_eq!(AbortedTxn::decode(&b).unwrap(), txn(7, 10, 20, 21));
        let mut v1 = b;
        v1[1] = 1;
        assert!(AbortedTxn::decode(&v1).is_err());
    }

    #[test]
    fn created_on_first_append_and_reopened_with_its_last_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.txnindex");
        let mut idx = TransactionIndex::open(&path, 0).unwrap();
        assert!(!path.exists());
        idx.append(&txn(1, 0, 5, 6)).unwrap();
        idx.append(&txn(2, 3, 9, 10)).unwrap();
        assert!(
            idx.append(&txn(3, 9, 9, 10)).is_err(),
            "last offset must grow"
        );
        assert_eq!(fs::metadata(&path).unwrap().len(), 68);
        let idx = TransactionIndex::open(&path, 0).unwrap();
        assert_eq!((idx.entries(), idx.last_offset()), (2, Some(9)));
    }

    #[test]
    fn collects_overlapping_entries_until_one_reaches_the_upper_bound() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = TransactionIndex::open(&dir.path().join("0.txnindex"), 0).unwrap();
        idx.append(&txn(1, 0, 5, 6)).unwrap();
        idx.append(&txn(2, 7, 12, 13)).unwrap();
        idx.append(&txn(3, 14, 20, 21)).unwrap();
        let r = idx.collect_aborted_txns(6, 13).unwrap();
        assert_eq!(r.aborted, vec![txn(2, 7, 12, 13)]);
        assert!(r.is_complete);
        let r = idx.collect_aborted_txns(0, 100).unwrap();
        assert_eq!(r.aborted.len(), 3);
        assert!(!r.is_complete);
        assert!(idx.collect_aborted_txns(21, 30).unwrap().aborted.is_empty());
    }

    #[test]
    fn truncation_drops_entries_from_the_marker_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.txnindex");
        let mut idx = TransactionIndex::open(&path, 0).unwrap();
        idx.append(&txn(1, 0, 5, 6)).unwrap();
        idx.append(&txn(2, 7, 12, 13)).unwrap();
        idx.truncate_to(12).unwrap();
        assert_eq!((idx.entries(), idx.last_offset()), (1, Some(5)));
        assert_eq!(fs::metadata(&path).unwrap().len(), 34);
        idx.reset().unwrap();
        assert_eq!((idx.entries(), idx.last_offset()), (0, None));
        idx.append(&txn(3, 1, 2, 3)).unwrap();
    }
}
