//! Batch-level work of the cleaner: reading a segment file batch by batch through a bounded
//! buffer, and filtering one v2 batch (MemoryRecords.filterTo). A batch whose records all
//! survive is copied byte for byte; otherwise it is rebuilt keeping what Kafka keeps — base
//! offset, lastOffsetDelta, leader epoch, attributes (codec, timestamp type, transactional,
//! control), producer id/epoch and base sequence — with every surviving record at its
//! original offset and timestamp, and a new CRC. A producer's last batch may be kept with
//! no records at all (an empty batch) so that its producer state survives.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::batch::{
    check_batch, compute_crc, encode_record, parse_records, read_control_record, BatchHeader,
    ATTRIBUTES_OFFSET, BASE_TIMESTAMP_OFFSET, CONTROL_MASK, CRC_OFFSET, LENGTH_OFFSET,
    LOG_OVERHEAD, MAX_TIMESTAMP_OFFSET, NO_TIMESTAMP, RECORDS_COUNT_OFFSET, RECORD_BATCH_OVERHEAD,
    TIMESTAMP_TYPE_MASK, TRANSACTIONAL_MASK,
};
use super::errors::LogError;
use crate::record::codec;

/// Calls `f(header, batch bytes)` for each batch of `file[0..size)`, reading `io_buffer`
/// bytes at a time (grown for a larger batch, up to `max_batch`). `f` returns false to stop.
pub fn for_each_batch(
    file: &File,
    size: u64,
    io_buffer: usize,
    max_batch: usize,
    mut f: impl FnMut(&BatchHeader, &[u8]) -> Result<bool, LogError>,
) -> Result<(), LogError> {
    let mut cap = io_buffer.max(RECORD_BATCH_OVERHEAD);
    let mut buf = Vec::new();
    let mut pos = 0u64;
    while pos < size {
        let len = cap.min((size - pos) as usize);
        buf.resize(len, 0);
        file.read_exact_at(&mut buf, pos)
            .map_err(|e| LogError::io("read segment for cleaning", e))?;
        let mut at = 0usize;
        while buf.len() - at >= LOG_OVERHEAD {
            let blen = i32::from_be_bytes(
                buf[at + LENGTH_OFFSET..at + LENGTH_OFFSET + 4]
                    .try_into()
                    .expect("4 bytes"),
            );
            let bsize = (blen.max(0) as usize) + LOG_OVERHEAD;
            if bsize > buf.len() - at {
                break;
            }
            let batch = &buf[at..at + bsize];
            let h = check_batch(batch)?;
            if !f(&h, batch)? {
                return Ok(());
            }
            at += bsize;
        }
        if at == 0 {
            // Not even one batch fits: grow the buffer like Kafka's growBuffers.
            let blen = if buf.len() >= LOG_OVERHEAD {
                i32::from_be_bytes(buf[LENGTH_OFFSET..LENGTH_OFFSET + 4].try_into().expect("4"))
            } else {
                -1
            };
            let need = blen.max(0) as usize + LOG_OVERHEAD;
            if blen < 0 || need > max_batch.max(cap) || pos + need as u64 > size {
                return Err(LogError::CorruptMessage(format!(
                    "batch at position {pos} of {need} bytes cannot be read for cleaning"
                )));
            }
            cap = need;
            continue;
        }
        pos += at as u64;
    }
    Ok(())
}

/// What became of one batch.
#[derive(Debug)]
pub enum Filtered {
    /// Every record survives: write the original bytes.
    Whole,
    /// Some records survive: write this rebuilt batch.
    Rebuilt(Vec<u8>),
    /// Nothing survives.
    Dropped,
}

/// Counters for the cleaning summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct FilterStats {
    pub records_read: u64,
    pub records_kept: u64,
    pub tombstones_kept: u64,
    pub tombstones_removed: u64,
    /// Whole batches dropped: aborted transactions' data and markers no longer needed.
    pub batches_discarded: u64,
}

impl FilterStats {
    pub fn add(&mut self, o: &FilterStats) {
        self.records_read += o.records_read;
        self.records_kept += o.records_kept;
        self.tombstones_kept += o.tombstones_kept;
        self.tombstones_removed += o.tombstones_removed;
        self.batches_discarded += o.batches_discarded;
    }
}

/// The records of a batch as an uncompressed batch buffer `parse_records` can read.
pub fn uncompressed_view(batch: &[u8], h: &BatchHeader) -> Result<Option<Vec<u8>>, String> {
    if h.compression() == 0 {
        return Ok(None);
    }
    let body = codec::decompress(h.compression(), &batch[RECORD_BATCH_OVERHEAD..h.size()])?;
    let mut v = Vec::with_capacity(RECORD_BATCH_OVERHEAD + body.len());
    v.extend_from_slice(&batch[..RECORD_BATCH_OVERHEAD]);
    v.extend_from_slice(&body);
    let attrs = h.attributes & !0x07;
    v[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    let len = (v.len() - LOG_OVERHEAD) as i32;
    v[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    Ok(Some(v))
}

/// Calls `f(offset, key, has_value)` for each record of a data batch; Err if the batch
/// cannot be decoded (corrupt).
pub fn for_each_record(
    batch: &[u8],
    h: &BatchHeader,
    mut f: impl FnMut(i64, Option<&[u8]>, bool),
) -> Result<(), String> {
    let owned = uncompressed_view(batch, h)?;
    let plain = owned.as_deref().unwrap_or(batch);
    for r in parse_records(plain)? {
        f(
            h.base_offset + r.offset_delta as i64,
            r.key,
            r.value.is_some(),
        );
    }
    Ok(())
}

/// Filters a data batch: `keep(offset, key, has_value)` decides each record.
pub fn filter_batch(
    batch: &[u8],
    h: &BatchHeader,
    keep: impl Fn(i64, Option<&[u8]>, bool) -> bool,
) -> Result<(Filtered, FilterStats), String> {
    let mut st = FilterStats::default();
    let owned = uncompressed_view(batch, h)?;
    let plain = owned.as_deref().unwrap_or(batch);
    let records = parse_records(plain)?;
    let mut kept = Vec::with_capacity(records.len());
    for r in &records {
        let offset = h.base_offset + r.offset_delta as i64;
        let tomb = r.value.is_none();
        st.records_read += 1;
        if keep(offset, r.key, !tomb) {
            st.records_kept += 1;
            st.tombstones_kept += tomb as u64;
            kept.push(r);
        } else {
            st.tombstones_removed += tomb as u64;
        }
    }
    // An empty batch (left by an earlier clean) is dropped too unless kept empty again.
    if kept.is_empty() {
        return Ok((Filtered::Dropped, st));
    }
    if kept.len() == records.len() {
        return Ok((Filtered::Whole, st));
    }
    // Timestamps: CreateTime batches get first/max from the survivors; LogAppendTime ones
    // report maxTimestamp for every record, so base = max and deltas 0 (as Kafka rebuilds).
    let abs = |r: &super::batch::RecordView<'_>| h.base_timestamp + r.timestamp_delta;
    let (base_ts, max_ts) = if h.is_log_append_time() {
        (h.max_timestamp, h.max_timestamp)
    } else {
        (
            abs(kept[0]),
            kept.iter().map(|r| abs(r)).max().expect("non-empty"),
        )
    };
    let mut body = Vec::new();
    for r in &kept {
        let delta = if h.is_log_append_time() {
            0
        } else {
            abs(r) - base_ts
        };
        encode_record(&mut body, delta, r.offset_delta, r.key, r.value, &r.headers);
    }
    if h.compression() != 0 {
        body = codec::compress(h.compression(), &body)?;
    }
    let mut out = Vec::with_capacity(RECORD_BATCH_OVERHEAD + body.len());
    out.extend_from_slice(&batch[..RECORD_BATCH_OVERHEAD]);
    out.extend_from_slice(&body);
    let len = (out.len() - LOG_OVERHEAD) as i32;
    out[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    out[BASE_TIMESTAMP_OFFSET..BASE_TIMESTAMP_OFFSET + 8].copy_from_slice(&base_ts.to_be_bytes());
    out[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&max_ts.to_be_bytes());
    out[RECORDS_COUNT_OFFSET..RECORDS_COUNT_OFFSET + 4]
        .copy_from_slice(&(kept.len() as i32).to_be_bytes());
    let crc = compute_crc(&out);
    out[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Ok((Filtered::Rebuilt(out), st))
}

/// DefaultRecordBatch.writeEmptyHeader: the batch with no records, kept only for its
/// producer fields (id, epoch, sequence range via lastOffsetDelta): uncompressed, first
/// timestamp -1, max timestamp and the timestamp-type/transactional/control bits kept.
pub fn empty_batch(batch: &[u8], h: &BatchHeader) -> Vec<u8> {
    let mut out = batch[..RECORD_BATCH_OVERHEAD].to_vec();
    let len = (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32;
    out[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    let attrs = h.attributes & (TIMESTAMP_TYPE_MASK | TRANSACTIONAL_MASK | CONTROL_MASK);
    out[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    out[BASE_TIMESTAMP_OFFSET..BASE_TIMESTAMP_OFFSET + 8]
        .copy_from_slice(&NO_TIMESTAMP.to_be_bytes());
    out[RECORDS_COUNT_OFFSET..RECORDS_COUNT_OFFSET + 4].copy_from_slice(&0i32.to_be_bytes());
    let crc = compute_crc(&out);
    out[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    out
}

/// The control type (ABORT 0, COMMIT 1) of a control batch's record; None for an empty or
/// unreadable one.
pub fn control_type(batch: &[u8]) -> Option<i16> {
    let records = parse_records(batch).ok()?;
    let r = records.first()?;
    read_control_record(r.key?, r.value).map(|(kind, _)| kind)
}
