//! Magic-v2 record batch header access (DefaultRecordBatch.java layout) and a small
//! record parser used only off the hot path (compacted-topic key checks, dumps, timestamp
//! lookups). All fields are big-endian.

use super::errors::LogError;

/// offset(8) + length(4): bytes in front of `batchLength`'s coverage.
pub const LOG_OVERHEAD: usize = 12;
/// Fixed v2 batch header size.
pub const RECORD_BATCH_OVERHEAD: usize = 61;

pub const BASE_OFFSET_OFFSET: usize = 0;
pub const LENGTH_OFFSET: usize = 8;
pub const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
pub const MAGIC_OFFSET: usize = 16;
pub const CRC_OFFSET: usize = 17;
pub const ATTRIBUTES_OFFSET: usize = 21;
pub const LAST_OFFSET_DELTA_OFFSET: usize = 23;
pub const BASE_TIMESTAMP_OFFSET: usize = 27;
pub const MAX_TIMESTAMP_OFFSET: usize = 35;
pub const PRODUCER_ID_OFFSET: usize = 43;
pub const PRODUCER_EPOCH_OFFSET: usize = 51;
pub const BASE_SEQUENCE_OFFSET: usize = 53;
pub const RECORDS_COUNT_OFFSET: usize = 57;

pub const TIMESTAMP_TYPE_MASK: i16 = 0x08;
pub const TRANSACTIONAL_MASK: i16 = 0x10;
pub const CONTROL_MASK: i16 = 0x20;
pub const NO_TIMESTAMP: i64 = -1;

#[inline]
pub(crate) fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
#[inline]
pub(crate) fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
#[inline]
pub(crate) fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}

/// Decoded v2 batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the 61-byte header; `buf` must hold at least that many bytes and magic 2.
    pub fn parse(buf: &[u8]) -> BatchHeader {
        debug_assert!(buf.len() >= RECORD_BATCH_OVERHEAD);
        BatchHeader {
            base_offset: be_i64(buf, BASE_OFFSET_OFFSET),
            batch_length: be_i32(buf, LENGTH_OFFSET),
            partition_leader_epoch: be_i32(buf, PARTITION_LEADER_EPOCH_OFFSET),
            magic: buf[MAGIC_OFFSET] as i8,
            crc: be_i32(buf, CRC_OFFSET) as u32,
            attributes: be_i16(buf, ATTRIBUTES_OFFSET),
            last_offset_delta: be_i32(buf, LAST_OFFSET_DELTA_OFFSET),
            base_timestamp: be_i64(buf, BASE_TIMESTAMP_OFFSET),
            max_timestamp: be_i64(buf, MAX_TIMESTAMP_OFFSET),
            producer_id: be_i64(buf, PRODUCER_ID_OFFSET),
            producer_epoch: be_i16(buf, PRODUCER_EPOCH_OFFSET),
            base_sequence: be_i32(buf, BASE_SEQUENCE_OFFSET),
            record_count: be_i32(buf, RECORDS_COUNT_OFFSET),
        }
    }

    /// Total bytes of the batch including the 12-byte log overhead.
    pub fn size(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> u8 {
        (self.attributes & 0x07) as u8
    }
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_MASK != 0
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_MASK != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_MASK != 0
    }
    /// Kafka's `lastSequence`: wraps at i32::MAX; -1 when the batch has no sequence.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
}

/// DefaultRecordBatch.incrementSequence: sequences wrap to 0 after i32::MAX.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

pub fn compression_name(codec: u8) -> &'static str {
    match codec {
        0 => "NONE",
        1 => "GZIP",
        2 => "SNAPPY",
        3 => "LZ4",
        4 => "ZSTD",
        _ => "UNKNOWN",
    }
}

/// CRC-32C over attributes..end, the range the v2 `crc` field covers.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..])
}

/// Checks framing, magic and CRC of the batch starting at `buf[0]`; returns its header.
/// `buf` may extend past the batch. Used by both append validation and recovery.
pub fn check_batch(buf: &[u8]) -> Result<BatchHeader, LogError> {
    if buf.len() < LOG_OVERHEAD {
        return Err(LogError::CorruptMessage(format!(
            "{} bytes left, less than the log overhead {LOG_OVERHEAD}",
            buf.len()
        )));
    }
    let len = be_i32(buf, LENGTH_OFFSET);
    // 14 = the smallest legal message (LegacyRecord.RECORD_OVERHEAD_V0), as Kafka checks.
    if len < 14 {
        return Err(LogError::CorruptMessage(format!(
            "invalid batch length {len}"
        )));
    }
    let size = len as usize + LOG_OVERHEAD;
    if buf.len() < MAGIC_OFFSET + 1 {
        return Err(LogError::CorruptMessage(
            "batch truncated before magic".into(),
        ));
    }
    let magic = buf[MAGIC_OFFSET] as i8;
    match magic {
        2 => {}
        0 | 1 => return Err(LogError::UnsupportedMagic(magic)),
        m => return Err(LogError::CorruptMessage(format!("invalid magic {m}"))),
    }
    if size < RECORD_BATCH_OVERHEAD {
        return Err(LogError::CorruptMessage(format!(
            "batch size {size} below the v2 header size"
        )));
    }
    if size > buf.len() {
        return Err(LogError::CorruptMessage(format!(
            "batch of {size} bytes but only {} bytes remain",
            buf.len()
        )));
    }
    let header = BatchHeader::parse(buf);
    let actual = compute_crc(&buf[..size]);
    if actual != header.crc {
        return Err(LogError::CorruptMessage(format!(
            "record batch is corrupt (stored crc = {}, computed crc = {actual})",
            header.crc
        )));
    }
    if header.last_offset_delta < 0 {
        return Err(LogError::CorruptMessage(format!(
            "negative lastOffsetDelta {}",
            header.last_offset_delta
        )));
    }
    Ok(header)
}

/// Iterates `(position, header)` over a byte range that was already validated.
pub struct HeaderIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> HeaderIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        HeaderIter { buf, pos: 0 }
    }
}

impl Iterator for HeaderIter<'_> {
    type Item = (usize, BatchHeader);
    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        if rest.len() < RECORD_BATCH_OVERHEAD {
            return None;
        }
        let h = BatchHeader::parse(rest);
        if h.batch_length < 0 || h.size() > rest.len() {
            return None;
        }
        let at = self.pos;
        self.pos += h.size();
        Some((at, h))
    }
}

/// One record inside an uncompressed v2 batch (borrowing the batch bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn varlong(&mut self) -> Result<i64, String> {
        let mut raw: u64 = 0;
        for i in 0..10 {
            let byte = *self.b.get(self.at).ok_or("varint runs past the batch")?;
            self.at += 1;
            raw |= ((byte & 0x7f) as u64) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err("varint longer than 10 bytes".into())
    }
    fn varint(&mut self) -> Result<i32, String> {
        let v = self.varlong()?;
        i32::try_from(v).map_err(|_| format!("varint {v} overflows int32"))
    }
    fn bytes(&mut self, len: i32) -> Result<Option<&'a [u8]>, String> {
        if len < 0 {
            return Ok(None);
        }
        let end = self.at + len as usize;
        if end > self.b.len() {
            return Err("record field runs past the batch".into());
        }
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(Some(s))
    }
}

/// Decodes the records of an uncompressed batch. Errors describe the malformation.
pub fn parse_records(batch: &[u8]) -> Result<Vec<RecordView<'_>>, String> {
    let h = BatchHeader::parse(batch);
    if h.compression() != 0 {
        return Err(format!("compressed batch (codec {})", h.compression()));
    }
    let mut cur = Cursor {
        b: &batch[..h.size().min(batch.len())],
        at: RECORD_BATCH_OVERHEAD,
    };
    let mut out = Vec::with_capacity(h.record_count.max(0) as usize);
    for _ in 0..h.record_count.max(0) {
        let len = cur.varint()?;
        if len < 0 {
            return Err(format!("negative record length {len}"));
        }
        let start = cur.at;
        let end = start + len as usize;
        if end > cur.b.len() {
            return Err("record runs past the batch".into());
        }
        cur.at += 1; // attributes, unused
        let timestamp_delta = cur.varlong()?;
        let offset_delta = cur.varint()?;
        let klen = cur.varint()?;
        let key = cur.bytes(klen)?;
        let vlen = cur.varint()?;
        let value = cur.bytes(vlen)?;
        let hcount = cur.varint()?;
        if hcount < 0 {
            return Err(format!("negative header count {hcount}"));
        }
        let mut headers = Vec::with_capacity(hcount as usize);
        for _ in 0..hcount {
            let kl = cur.varint()?;
            let hk = cur.bytes(kl)?.ok_or("null header key")?;
            let vl = cur.varint()?;
            headers.push((hk, cur.bytes(vl)?));
        }
        if cur.at != end {
            return Err(format!("record length {len} does not match its content"));
        }
        out.push(RecordView {
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        });
    }
    if cur.at != cur.b.len() {
        return Err("trailing bytes after the last record".into());
    }
    Ok(out)
}

/// Leader-side rewrite of one batch in place: offsets, leader epoch and, for
/// LogAppendTime, the max timestamp + timestamp-type bit (which requires a new CRC).
pub fn patch_for_leader(
    batch: &mut [u8],
    base_offset: i64,
    leader_epoch: i32,
    log_append_time: Option<i64>,
) {
    batch[BASE_OFFSET_OFFSET..BASE_OFFSET_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
    batch[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4]
        .copy_from_slice(&leader_epoch.to_be_bytes());
    if let Some(now) = log_append_time {
        let attrs = be_i16(batch, ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_MASK;
        let unchanged =
            be_i16(batch, ATTRIBUTES_OFFSET) == attrs && be_i64(batch, MAX_TIMESTAMP_OFFSET) == now;
        if !unchanged {
            batch[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
            batch[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8]
                .copy_from_slice(&now.to_be_bytes());
            let crc = compute_crc(batch);
            batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        }
    }
}

/// DefaultRecordBatch.setMaxTimestamp for a CreateTime batch: the header's max timestamp
/// and a new CRC (it covers the field).
pub fn set_max_timestamp(batch: &mut [u8], max_timestamp: i64) {
    batch[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8]
        .copy_from_slice(&max_timestamp.to_be_bytes());
    let crc = compute_crc(batch);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

fn put_varlong(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Appends one v2 record (length-prefixed; attributes 0) to `out`. Shared by `build_batch`
/// and the log cleaner, which re-encodes surviving records with their original deltas.
pub fn encode_record(
    out: &mut Vec<u8>,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&[u8], Option<&[u8]>)],
) {
    let mut r = vec![0u8];
    put_varlong(&mut r, timestamp_delta);
    put_varlong(&mut r, offset_delta as i64);
    for field in [key, value] {
        match field {
            Some(b) => {
                put_varlong(&mut r, b.len() as i64);
                r.extend_from_slice(b);
            }
            None => put_varlong(&mut r, -1),
        }
    }
    put_varlong(&mut r, headers.len() as i64);
    for (hk, hv) in headers.iter() {
        put_varlong(&mut r, hk.len() as i64);
        r.extend_from_slice(hk);
        match hv {
            Some(v) => {
                put_varlong(&mut r, v.len() as i64);
                r.extend_from_slice(v);
            }
            None => put_varlong(&mut r, -1),
        }
    }
    put_varlong(out, r.len() as i64);
    out.extend_from_slice(&r);
}

/// One record for `build_batch`: (timestamp, key, value, headers).
pub type SimpleRecord<'a> = (
    i64,
    Option<&'a [u8]>,
    Option<&'a [u8]>,
    &'a [(&'a [u8], Option<&'a [u8]>)],
);

/// Builds an uncompressed v2 batch with a valid CRC (producer id/epoch/sequence unset).
/// Used by the bench, tests and coordinators that write their own records.
pub fn build_batch(
    base_offset: i64,
    partition_leader_epoch: i32,
    records: &[SimpleRecord<'_>],
) -> Vec<u8> {
    let base_ts = records.first().map(|r| r.0).unwrap_or(NO_TIMESTAMP);
    let max_ts = records.iter().map(|r| r.0).max().unwrap_or(NO_TIMESTAMP);
    let mut body = Vec::new();
    for (i, (ts, key, value, headers)) in records.iter().enumerate() {
        encode_record(&mut body, ts - base_ts, i as i32, *key, *value, headers);
    }
    frame_batch(
        base_offset,
        partition_leader_epoch,
        0,
        records.len(),
        base_ts,
        max_ts,
        &body,
    )
}

/// Frames encoded records (`body`, possibly compressed per `attributes`) as one v2 batch:
/// Kafka's header layout, no producer id/epoch/sequence, CRC32C over attributes..end.
pub fn frame_batch(
    base_offset: i64,
    partition_leader_epoch: i32,
    attributes: i16,
    count: usize,
    base_ts: i64,
    max_ts: i64,
    body: &[u8],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(RECORD_BATCH_OVERHEAD + body.len());
    b.extend_from_slice(&base_offset.to_be_bytes());
    b.extend_from_slice(
        &((RECORD_BATCH_OVERHEAD - LOG_OVERHEAD + body.len()) as i32).to_be_bytes(),
    );
    b.extend_from_slice(&partition_leader_epoch.to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&(count as i32 - 1).max(0).to_be_bytes());
    b.extend_from_slice(&base_ts.to_be_bytes());
    b.extend_from_slice(&max_ts.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&(count as i32).to_be_bytes());
    b.extend_from_slice(body);
    let crc = compute_crc(&b);
    b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Sets producer id, epoch and base sequence of a built batch and its CRC (the idempotent
/// and transactional fields `frame_batch` leaves unset).
pub fn set_producer_fields(batch: &mut [u8], producer_id: i64, epoch: i16, base_sequence: i32) {
    batch[PRODUCER_ID_OFFSET..PRODUCER_ID_OFFSET + 8].copy_from_slice(&producer_id.to_be_bytes());
    batch[PRODUCER_EPOCH_OFFSET..PRODUCER_EPOCH_OFFSET + 2].copy_from_slice(&epoch.to_be_bytes());
    batch[BASE_SEQUENCE_OFFSET..BASE_SEQUENCE_OFFSET + 4]
        .copy_from_slice(&base_sequence.to_be_bytes());
    let crc = compute_crc(batch);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Control record types (clients ControlRecordType): the key's second int16.
pub const CONTROL_TYPE_ABORT: i16 = 0;
pub const CONTROL_TYPE_COMMIT: i16 = 1;

/// A transaction marker (MemoryRecords.withEndTransactionMarker): a transactional control
/// batch of one record, key = (version 0, type), value = (version 0, coordinator epoch).
pub fn end_transaction_marker_batch(
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    timestamp: i64,
) -> Vec<u8> {
    let kind = if commit {
        CONTROL_TYPE_COMMIT
    } else {
        CONTROL_TYPE_ABORT
    };
    let mut key = 0i16.to_be_bytes().to_vec();
    key.extend_from_slice(&kind.to_be_bytes());
    let mut value = 0i16.to_be_bytes().to_vec();
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let mut body = Vec::new();
    encode_record(&mut body, 0, 0, Some(&key), Some(&value), &[]);
    let attributes = TRANSACTIONAL_MASK | CONTROL_MASK;
    let mut b = frame_batch(0, 0, attributes, 1, timestamp, timestamp, &body);
    set_producer_fields(&mut b, producer_id, producer_epoch, -1);
    b
}

/// (type, coordinator epoch) of a control record; None when it is not a valid marker.
pub fn read_control_record(key: &[u8], value: Option<&[u8]>) -> Option<(i16, Option<i32>)> {
    let kind = i16::from_be_bytes(key.get(2..4)?.try_into().ok()?);
    let epoch = value
        .and_then(|v| v.get(2..6))
        .and_then(|b| b.try_into().ok())
        .map(i32::from_be_bytes);
    Some((kind, epoch))
}

/// Marks a built batch transactional for `producer_id`/`epoch` (base sequence 0).
pub fn set_transactional(batch: &mut [u8], producer_id: i64, epoch: i16) {
    let attrs = be_i16(batch, ATTRIBUTES_OFFSET) | TRANSACTIONAL_MASK;
    batch[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    set_producer_fields(batch, producer_id, epoch, 0);
}
