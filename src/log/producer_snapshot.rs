//! Producer state snapshots (`<20-digit offset>.snapshot`, ProducerStateManager.scala
//! `writeSnapshot` / `readSnapshot`) and the log's producer state rebuild.
//!
//! Layout (big-endian): `int16 version = 1`, `uint32 crc` (CRC-32C of everything after it),
//! `int32 count`, then per producer `int64 producer_id, int16 epoch, int32 last_sequence,
//! int64 last_offset, int32 offset_delta, int64 timestamp, int32 coordinator_epoch,
//! int64 current_txn_first_offset`. The file name is the offset the snapshot covers up to
//! (exclusive). A snapshot only saves replaying: without one the whole log is replayed, so
//! a lost or corrupt snapshot costs time, never correctness.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::errors::{IoContext, LogError};
use super::partition_log::LogInner;
use super::producer_state::{BatchMetadata, EndTxnMarker, ProducerStateEntry};

pub const PRODUCER_SNAPSHOT_FILE_SUFFIX: &str = ".snapshot";
pub const PRODUCER_SNAPSHOT_VERSION: i16 = 1;
const HEADER_SIZE: usize = 10;
const ENTRY_SIZE: usize = 46;

pub fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{offset:020}{PRODUCER_SNAPSHOT_FILE_SUFFIX}"))
}

/// Snapshot files of `dir` as (offset, path), oldest first.
pub fn list_snapshots(dir: &Path) -> Vec<(i64, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(i64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let offset = name
                .strip_suffix(PRODUCER_SNAPSHOT_FILE_SUFFIX)?
                .parse()
                .ok()?;
            Some((offset, e.path()))
        })
        .collect();
    found.sort();
    found
}

pub fn encode_snapshot<'a>(entries: impl Iterator<Item = &'a ProducerStateEntry>) -> Vec<u8> {
    let entries: Vec<&ProducerStateEntry> = entries.collect();
    let mut buf = Vec::with_capacity(HEADER_SIZE + ENTRY_SIZE * entries.len());
    buf.extend_from_slice(&PRODUCER_SNAPSHOT_VERSION.to_be_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&(entries.len() as i32).to_be_bytes());
    for e in entries {
        let last = e.batch_metadata.back();
        buf.extend_from_slice(&e.producer_id.to_be_bytes());
        buf.extend_from_slice(&e.producer_epoch.to_be_bytes());
        buf.extend_from_slice(&e.last_seq().to_be_bytes());
        buf.extend_from_slice(&e.last_data_offset().to_be_bytes());
        buf.extend_from_slice(&last.map_or(0, |b| b.offset_delta).to_be_bytes());
        buf.extend_from_slice(&e.last_timestamp.to_be_bytes());
        buf.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
        buf.extend_from_slice(&e.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
    }
    let crc = crc32c::crc32c(&buf[6..]);
    buf[2..6].copy_from_slice(&crc.to_be_bytes());
    buf
}

/// Decodes a snapshot; any bad version, CRC or size is an error naming what is wrong.
pub fn decode_snapshot(data: &[u8]) -> Result<Vec<ProducerStateEntry>, String> {
    if data.len() < HEADER_SIZE {
        return Err(format!("{} bytes is shorter than the header", data.len()));
    }
    let version = i16::from_be_bytes([data[0], data[1]]);
    if version != PRODUCER_SNAPSHOT_VERSION {
        return Err(format!("snapshot version {version} (expected 1)"));
    }
    let stored = u32::from_be_bytes(data[2..6].try_into().expect("4 bytes"));
    let computed = crc32c::crc32c(&data[6..]);
    if stored != computed {
        return Err(format!(
            "CRC {stored:#x} does not match the computed {computed:#x}"
        ));
    }
    let count = i32::from_be_bytes(data[6..10].try_into().expect("4 bytes"));
    if count < 0 || data.len() != HEADER_SIZE + ENTRY_SIZE * count as usize {
        return Err(format!("{count} entries do not fit {} bytes", data.len()));
    }
    Ok(data[HEADER_SIZE..]
        .chunks_exact(ENTRY_SIZE)
        .map(decode_entry)
        .collect())
}

fn decode_entry(b: &[u8]) -> ProducerStateEntry {
    let i64_at = |at: usize| i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let i32_at = |at: usize| i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    let mut e = ProducerStateEntry::empty(i64_at(0));
    e.producer_epoch = i16::from_be_bytes([b[8], b[9]]);
    let (last_seq, last_offset, offset_delta) = (i32_at(10), i64_at(14), i32_at(22));
    e.last_timestamp = i64_at(26);
    e.coordinator_epoch = i32_at(34);
    let txn = i64_at(38);
    e.current_txn_first_offset = (txn >= 0).then_some(txn);
    if last_offset >= 0 {
        e.batch_metadata.push_back(BatchMetadata {
            last_seq,
            last_offset,
            offset_delta,
            timestamp: e.last_timestamp,
        });
    }
    e
}

impl LogInner {
    /// Writes `<map end offset>.snapshot` (create, write, fsync) if anything was applied
    /// since the last one (ProducerStateManager.takeSnapshot).
    pub(crate) fn take_producer_snapshot(&mut self) -> Result<(), LogError> {
        let ps = &self.producer_state;
        let offset = ps.map_end_offset();
        if offset <= ps.last_snap_offset() {
            return Ok(());
        }
        let path = snapshot_path(&self.dir, offset);
        let data = encode_snapshot(ps.active_producers());
        let mut f = fs::File::create(&path).ctx(|| format!("create {}", path.display()))?;
        f.write_all(&data)
            .and_then(|_| f.sync_all())
            .ctx(|| format!("write {}", path.display()))?;
        self.producer_state.set_last_snap_offset(offset);
        Ok(())
    }

    /// Deletes the snapshot named after a deleted segment's base offset.
    pub(crate) fn delete_producer_snapshot(&self, offset: i64) {
        let _ = fs::remove_file(snapshot_path(&self.dir, offset));
    }

    /// ProducerStateManager.removeStraySnapshots at load: snapshots that match no segment base
    /// offset go, except the newest one if it lies at or above the last segment's base (the
    /// clean-shutdown snapshot at the log end offset).
    pub(crate) fn remove_stray_producer_snapshots(&self) {
        let max_base = self.segments.keys().next_back().copied();
        let strays: Vec<(i64, PathBuf)> = list_snapshots(&self.dir)
            .into_iter()
            .filter(|(o, _)| !self.segments.contains_key(o))
            .collect();
        let keep = strays
            .last()
            .filter(|(o, _)| max_base.is_some_and(|m| *o >= m))
            .map(|(o, _)| *o);
        for (offset, path) in strays {
            if Some(offset) != keep {
                let _ = fs::remove_file(path);
            }
        }
    }

    /// Rebuilds the producer state up to the log end offset (Log.loadProducerState): stale
    /// snapshots above it are deleted, the newest readable one is loaded (a corrupt one is
    /// deleted and the next older tried) and the batches after it are replayed.
    pub(crate) fn load_producer_state(&mut self) -> Result<(), LogError> {
        self.load_producer_state_rebuilding(None)
    }

    /// `load_producer_state`, also rebuilding the `.txnindex` of every segment from base
    /// offset `rebuild_from` on (segments recovered after a crash or swapped in by the
    /// cleaner): the replay starts at or below it, and each ABORT marker met from there is
    /// indexed again, as Kafka's segment recovery does.
    pub(crate) fn load_producer_state_rebuilding(
        &mut self,
        rebuild_from: Option<i64>,
    ) -> Result<(), LogError> {
        let leo = self.log_end_offset;
        let start = self.log_start_offset;
        let rebuild_from = rebuild_from.filter(|r| *r < leo);
        if let Some(from) = rebuild_from {
            for seg in self.segments.range_mut(from..).map(|(_, s)| s) {
                seg.txn_index.reset()?;
            }
        }
        let usable_up_to = rebuild_from.map_or(leo, |r| r.min(leo));
        self.producer_state.reset(Vec::new(), start);
        for (offset, path) in list_snapshots(&self.dir).into_iter().rev() {
            if offset > leo || offset < start {
                let _ = fs::remove_file(&path);
                continue;
            }
            if offset > usable_up_to {
                continue;
            }
            let read = fs::read(&path).map_err(|e| e.to_string());
            match read.and_then(|d| decode_snapshot(&d)) {
                Ok(entries) => {
                    self.producer_state.reset(entries, offset);
                    break;
                }
                Err(why) => {
                    tracing::warn!(target: "kafka.log.ProducerStateManager", "Deleting corrupt producer state snapshot {}: {why}", path.display());
                    let _ = fs::remove_file(&path);
                }
            }
        }
        let from = self.producer_state.map_end_offset();
        self.replay_producer_batches(from, leo, rebuild_from.unwrap_or(i64::MAX))
    }

    /// Applies the producer batches in `[from, to)` read from the segment files; aborted
    /// transactions whose marker is at or above `index_from` go into the `.txnindex`.
    fn replay_producer_batches(
        &mut self,
        from: i64,
        to: i64,
        index_from: i64,
    ) -> Result<(), LogError> {
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        for (i, base) in bases.iter().enumerate() {
            let next = bases.get(i + 1).copied().unwrap_or(to);
            if next <= from || *base >= to {
                continue;
            }
            let seg = &self.segments[base];
            let file = seg.file()?;
            let mut batches = seg.batches_from(0)?;
            let mut aborted = Vec::new();
            while let Some((pos, h)) = batches.next_batch()? {
                if h.last_offset() < from || h.base_offset >= to || h.magic < 2 {
                    continue;
                }
                let marker = match h.is_control() {
                    true => read_marker(&file, pos, &h, seg.log_path())?,
                    false => None,
                };
                let done = self.producer_state.replay(&h, h.max_timestamp, marker);
                aborted.extend(done.into_iter().filter(|t| t.last_offset >= index_from));
            }
            let seg = self.segments.get_mut(base).expect("listed");
            for txn in aborted {
                seg.txn_index.append(&txn)?;
            }
        }
        self.producer_state.set_map_end_offset(to);
        Ok(())
    }
}

/// The marker of the control batch at `pos` (a few dozen bytes, read on its own).
fn read_marker(
    file: &fs::File,
    pos: u64,
    h: &super::batch::BatchHeader,
    path: &Path,
) -> Result<Option<EndTxnMarker>, LogError> {
    use std::os::unix::fs::FileExt;
    let mut batch = vec![0u8; h.size()];
    file.read_exact_at(&mut batch, pos)
        .ctx(|| format!("read control batch at {pos} of {}", path.display()))?;
    Ok(EndTxnMarker::from_batch(&batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trips_in_kafkas_layout() {
        let mut e = ProducerStateEntry::empty(42);
        e.producer_epoch = 3;
        e.last_timestamp = 1_700_000_000_000;
        e.current_txn_first_offset = Some(90);
        e.batch_metadata.push_back(BatchMetadata {
            last_seq: 9,
            last_offset: 99,
            offset_delta: 4,
            timestamp: e.last_timestamp,
        });
        let data = encode_snapshot([e.clone(), ProducerStateEntry::empty(7)].iter());
        assert_eq!(data.len(), 10 + 2 * 46);
        assert_eq!(&data[..2], &[0, 1]);
        assert_eq!(
            decode_snapshot(&data).unwrap(),
            vec![e, ProducerStateEntry::empty(7)]
        );
        let mut bad = data.clone();
        bad[20] ^= 1;
        assert!(decode_snapshot(&bad).unwrap_err().contains("CRC"));
    }

    #[test]
    fn file_names_are_twenty_digit_offsets() {
        let p = snapshot_path(Path::new("/d"), 1234);
        assert_eq!(p, Path::new("/d/00000000000000001234.snapshot"));
    }
}
