//! One compaction pass over one log (LogCleaner.scala `Cleaner.doClean`):
//!
//! 1. build key → latest offset over the dirty section `[first dirty, first uncleanable)`
//!    (bounded by the dedupe buffer; if it fills, the pass ends where it stopped);
//! 2. group the segments below that end into runs that fit one segment (size, index size,
//!    relative offsets) and rewrite each run into one `.cleaned` segment, keeping a record
//!    iff it is the latest for its key (records above the mapped range always stay), and
//!    tombstones only while their segment is younger than the delete horizon;
//! 3. swap each output in (`swap.rs`). The active segment is never read or written.
//!
//! Transactions (`cleaned_txn.rs`): batches of aborted transactions go whole, and never
//! enter the map; a COMMIT/ABORT marker goes once none of its transaction's batches remain
//! and its segment is past the delete horizon (an ABORT that stays keeps its `.txnindex`
//! entry); a producer's last batch stays, emptied if nothing of it survives. Nothing from
//! the first open transaction on is cleaned (the caller's first uncleanable offset).
//!
//! Offsets never change: survivors keep their offsets, leaving gaps that readers skip.

use std::fs;
use std::time::Instant;

use std::borrow::Cow;
use std::collections::HashMap;

use super::batch::BatchHeader;
use super::clean_batch::{
    control_type, empty_batch, filter_batch, for_each_batch, for_each_record, FilterStats, Filtered,
};
use super::cleaned_txn::{
    is_batch_last_record_of_producer, CleanedTransactionMetadata, LastRecord,
};
use super::config::LogConfig;
use super::errors::LogError;
use super::offset_map::OffsetMap;
use super::partition_log::Log;
use super::segment::LogSegment;
use super::swap::{LogSnapshot, SegmentSnapshot};
use super::util::{CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX};

/// Per-thread cleaner settings (from the broker's `log.cleaner.*`).
#[derive(Debug, Clone)]
pub struct CleanerSettings {
    /// This thread's share of `log.cleaner.dedupe.buffer.size`.
    pub dedupe_buffer_bytes: usize,
    pub load_factor: f64,
    pub io_buffer_bytes: usize,
    /// Largest batch the reader will grow its buffer to (`message.max.bytes` and more).
    pub max_batch_bytes: usize,
    /// Test hook: stop after the `.swap` files exist, as if the broker died there.
    pub halt_after_swap_file: bool,
}

impl Default for CleanerSettings {
    fn default() -> Self {
        CleanerSettings {
            dedupe_buffer_bytes: 128 << 20,
            load_factor: 0.9,
            io_buffer_bytes: 512 << 10,
            max_batch_bytes: 64 << 20,
            halt_after_swap_file: false,
        }
    }
}

/// The outcome of one pass, for the summary line and the checkpoint.
#[derive(Debug, Default, Clone)]
pub struct CleanResult {
    pub first_dirty: i64,
    /// Exclusive end of the cleaned range: the new first dirty offset.
    pub end_offset: i64,
    pub segments_cleaned: usize,
    pub groups: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub stats: FilterStats,
    pub delete_horizon_ms: i64,
    /// Groups not swapped in because the log changed underneath.
    pub aborted_groups: usize,
    pub elapsed_ms: u128,
}

pub struct Cleaner {
    settings: CleanerSettings,
    map: OffsetMap,
}

impl Cleaner {
    pub fn new(settings: CleanerSettings) -> Cleaner {
        let map = OffsetMap::new(settings.dedupe_buffer_bytes, settings.load_factor);
        Cleaner { settings, map }
    }

    /// Cleans `log` from `first_dirty` up to (excluding) `first_uncleanable`.
    pub fn clean(
        &mut self,
        log: &Log,
        first_dirty: i64,
        first_uncleanable: i64,
    ) -> Result<CleanResult, LogError> {
        let started = Instant::now();
        let config = log.config();
        let snap = log.snapshot();
        let mut res = CleanResult {
            first_dirty,
            end_offset: first_dirty,
            ..CleanResult::default()
        };
        let first_uncleanable = first_uncleanable.min(snap.active_base());
        if first_dirty >= first_uncleanable {
            return Ok(res);
        }
        self.build_offset_map(log, &snap, first_dirty, first_uncleanable)?;
        if self.map.latest_offset() < first_dirty {
            return Ok(res);
        }
        let end = self.map.latest_offset() + 1;
        res.end_offset = end;
        // Tombstones in segments last modified before this are due for removal: the newest
        // already-clean segment's mtime minus delete.retention.ms (0 on a first pass).
        res.delete_horizon_ms = snap
            .segments
            .iter()
            .rfind(|s| s.base_offset < first_dirty)
            .map(|s| s.last_modified_ms - config.delete_retention_ms)
            .unwrap_or(0);
        let to_clean: Vec<&SegmentSnapshot> = snap
            .segments
            .iter()
            .filter(|s| s.base_offset < end && s.base_offset < snap.active_base())
            .collect();
        let mut txns = CleanedTransactionMetadata::default();
        for group in group_segments_by_size(&to_clean, &config, first_uncleanable) {
            let before: u64 = group.iter().map(|s| s.size).sum();
            let horizon = res.delete_horizon_ms;
            let (after, st, swapped) =
                self.clean_group(log, &snap, &config, &group, horizon, &mut txns)?;
            if self.settings.halt_after_swap_file {
                return Ok(res);
            }
            res.stats.add(&st);
            if swapped {
                res.groups += 1;
                res.segments_cleaned += group.len();
                res.bytes_before += before;
                res.bytes_after += after;
            } else {
                res.aborted_groups += 1;
            }
        }
        res.elapsed_ms = started.elapsed().as_millis();
        Ok(res)
    }

    /// Fills the map from the dirty segments; stops early (at a record) when it is full.
    /// Aborted transactions' records are not mapped (they will be discarded).
    fn build_offset_map(
        &mut self,
        log: &Log,
        snap: &LogSnapshot,
        first_dirty: i64,
        first_uncleanable: i64,
    ) -> Result<(), LogError> {
        self.map.clear();
        let mut txns = CleanedTransactionMetadata::default();
        txns.add_aborted_transactions(
            &log.collect_aborted_transactions(first_dirty, first_uncleanable)?,
        );
        let dirty = snap
            .segments
            .iter()
            .filter(|s| s.next_offset > first_dirty && s.base_offset < first_uncleanable);
        let mut full = false;
        for seg in dirty {
            let map = &mut self.map;
            for_each_batch(
                &*seg.open()?,
                seg.size,
                self.settings.io_buffer_bytes,
                self.settings.max_batch_bytes,
                |h, batch| {
                    if h.last_offset() < first_dirty {
                        return Ok(true);
                    }
                    if h.base_offset >= first_uncleanable {
                        return Ok(false);
                    }
                    let aborted = if h.is_control() {
                        txns.on_control_batch_read(h, control_type(batch));
                        false
                    } else {
                        txns.on_batch_read(h)
                    };
                    if !h.is_control() && !aborted {
                        let mut ok = true;
                        let r = for_each_record(batch, h, |offset, key, _| {
                            if !ok || offset < first_dirty {
                                return;
                            }
                            if let Some(k) = key {
                                if !map.put(k, offset) {
                                    ok = false;
                                    return;
                                }
                            }
                            map.update_latest_offset(offset);
                        });
                        if r.is_err() {
                            // An undecodable (corrupt) batch is kept whole; only its range counts.
                            map.update_latest_offset(h.last_offset());
                        }
                        if !ok {
                            full = true;
                            return Ok(false);
                        }
                    }
                    map.update_latest_offset(h.last_offset());
                    Ok(true)
                },
            )?;
            if full {
                break;
            }
        }
        if full && self.map.latest_offset() < first_dirty {
            return Err(LogError::Other(format!(
                "log cleaner dedupe buffer too small: not even one batch from offset {first_dirty} fits {} keys",
                self.map.max_entries()
            )));
        }
        Ok(())
    }

    /// Rewrites one group into a `.cleaned` segment and swaps it in. Returns the new size,
    /// the counters and whether the swap happened.
    fn clean_group(
        &mut self,
        log: &Log,
        snap: &LogSnapshot,
        config: &LogConfig,
        group: &[&SegmentSnapshot],
        delete_horizon_ms: i64,
        txns: &mut CleanedTransactionMetadata,
    ) -> Result<(u64, FilterStats, bool), LogError> {
        let base = group[0].base_offset;
        let out_config = LogConfig {
            preallocate: false,
            ..config.clone()
        };
        for suffix in [CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX] {
            remove_leftovers(snap, base, suffix);
        }
        let mut cleaned =
            LogSegment::open_with_suffix(&snap.dir, base, &out_config, false, CLEANED_FILE_SUFFIX)?;
        let result = self
            .copy_group(log, &mut cleaned, group, delete_horizon_ms, txns)
            .and_then(|st| {
                // The aborted transactions whose markers stay, as Kafka's cleanedIndex.
                for txn in txns.take_cleaned_index() {
                    cleaned.txn_index.append(&txn)?;
                }
                Ok(st)
            });
        let st = match result {
            Ok(st) => st,
            Err(e) => {
                drop(cleaned);
                remove_leftovers(snap, base, CLEANED_FILE_SUFFIX);
                return Err(e);
            }
        };
        cleaned.on_became_inactive()?;
        cleaned.flush()?;
        cleaned.set_last_modified_ms(group.last().expect("non-empty").last_modified_ms)?;
        let size = cleaned.size();
        cleaned.change_file_suffixes(CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX)?;
        if self.settings.halt_after_swap_file {
            return Ok((size, st, false));
        }
        let old: Vec<SegmentSnapshot> = group.iter().map(|s| (*s).clone()).collect();
        let swapped = log.replace_segments(cleaned, &old)?;
        if !swapped {
            tracing::info!(target: "kafka.log.LogCleaner", dir = %snap.dir.display(), base_offset = base,
                "log changed while cleaning; discarding the cleaned segment");
            remove_leftovers(snap, base, SWAP_FILE_SUFFIX);
        }
        Ok((size, st, swapped))
    }

    fn copy_group(
        &self,
        log: &Log,
        cleaned: &mut LogSegment,
        group: &[&SegmentSnapshot],
        delete_horizon_ms: i64,
        txns: &mut CleanedTransactionMetadata,
    ) -> Result<FilterStats, LogError> {
        let mut st = FilterStats::default();
        let last_records = log.last_records_of_active_producers();
        for (i, seg) in group.iter().enumerate() {
            // The whole segment's aborted transactions: its cleaned `.txnindex` is rebuilt.
            let upper = group.get(i + 1).map_or(seg.next_offset, |n| n.base_offset);
            txns.add_aborted_transactions(
                &log.collect_aborted_transactions(seg.base_offset, upper)?,
            );
            let retain = seg.last_modified_ms > delete_horizon_ms;
            for_each_batch(
                &*seg.open()?,
                seg.size,
                self.settings.io_buffer_bytes,
                self.settings.max_batch_bytes,
                |h, batch| {
                    let out = self.clean_batch(h, batch, retain, txns, &last_records, &mut st)?;
                    if let Some(bytes) = out {
                        let oh = BatchHeader::parse(&bytes);
                        cleaned.append(
                            oh.last_offset(),
                            oh.max_timestamp,
                            oh.last_offset(),
                            &[&bytes],
                        )?;
                    }
                    Ok(true)
                },
            )?;
        }
        Ok(st)
    }

    /// What of one batch is written out (Kafka's cleanInto filter): `retain` is
    /// retainDeletesAndTxnMarkers for its segment.
    fn clean_batch<'b>(
        &self,
        h: &BatchHeader,
        batch: &'b [u8],
        retain: bool,
        txns: &mut CleanedTransactionMetadata,
        last_records: &HashMap<i64, LastRecord>,
        st: &mut FilterStats,
    ) -> Result<Option<Cow<'b, [u8]>>, LogError> {
        // Markers ride on the tombstone horizon, and go only once their data is gone.
        let discard = if h.is_control() {
            txns.on_control_batch_read(h, control_type(batch)) && !retain
        } else {
            txns.on_batch_read(h)
        };
        let retain_empty = h.producer_id >= 0 && is_batch_last_record_of_producer(last_records, h);
        if discard && !retain_empty {
            st.batches_discarded += 1;
            return Ok(None);
        }
        let map = &self.map;
        let latest = map.latest_offset();
        // Kafka's shouldRetainRecord: anything past the mapped range stays; keyless records
        // go; otherwise only the latest offset of a key, and a tombstone only while deletes
        // are retained. A discarded batch kept for its producer state keeps no record.
        let keep = |offset: i64, key: Option<&[u8]>, has_value: bool| {
            if discard {
                return false;
            }
            if offset > latest {
                return true;
            }
            let Some(k) = key else { return false };
            offset >= map.get(k) && (has_value || retain)
        };
        let (f, s) = filter_batch(batch, h, keep).map_err(|e| {
            LogError::CorruptMessage(format!(
                "batch at offset {} cannot be cleaned: {e}",
                h.base_offset
            ))
        })?;
        st.add(&s);
        Ok(match f {
            Filtered::Whole => Some(Cow::Borrowed(batch)),
            Filtered::Rebuilt(v) => Some(Cow::Owned(v)),
            Filtered::Dropped if retain_empty => Some(Cow::Owned(empty_batch(batch, h))),
            Filtered::Dropped => None,
        })
    }
}

fn remove_leftovers(snap: &LogSnapshot, base: i64, suffix: &str) {
    use super::util::TIME_INDEX_FILE_SUFFIX;
    use super::util::{segment_path, with_suffix, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX};
    let txn = super::txn_index::TXN_INDEX_FILE_SUFFIX;
    for s in [
        LOG_FILE_SUFFIX,
        INDEX_FILE_SUFFIX,
        TIME_INDEX_FILE_SUFFIX,
        txn,
    ] {
        let _ = fs::remove_file(with_suffix(&segment_path(&snap.dir, base, s), suffix));
    }
}

/// Kafka's groupSegmentsBySize: consecutive segments whose data fits `segment.bytes`,
/// whose indexes fit `segment.index.bytes`, and whose offsets stay within an int32 of the
/// group's base offset (relative offsets in the index).
pub fn group_segments_by_size<'a>(
    segments: &[&'a SegmentSnapshot],
    config: &LogConfig,
    first_uncleanable: i64,
) -> Vec<Vec<&'a SegmentSnapshot>> {
    let max_size = config.segment_bytes.max(0) as u64;
    let max_index = config.segment_index_bytes.max(0) as u64;
    let mut groups = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let first = segments[i];
        let mut group = vec![first];
        let (mut size, mut oi, mut ti) =
            (first.size, first.offset_index_bytes, first.time_index_bytes);
        i += 1;
        while let Some(next) = segments.get(i) {
            let last_offset = next.next_offset.min(first_uncleanable) - 1;
            if size + next.size > max_size
                || oi + next.offset_index_bytes > max_index
                || ti + next.time_index_bytes > max_index
                || last_offset - first.base_offset > i32::MAX as i64
            {
                break;
            }
            size += next.size;
            oi += next.offset_index_bytes;
            ti += next.time_index_bytes;
            group.push(next);
            i += 1;
        }
        groups.push(group);
    }
    groups
}
