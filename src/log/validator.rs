//! LogValidator (Kafka's LogValidator.scala, with DefaultRecordBatch/DefaultRecord's readers):
//! the leader reads every record of a batch before it is written, so no producer can make a
//! partition unreadable. One pass over the request bytes already in memory; compressed
//! payloads are decompressed into a per-thread buffer that is reused; nothing is allocated
//! per record, and a valid batch is then written exactly as the client sent it.
//!
//! Error codes follow Kafka 2.8: structure, counts, control batches and producer fields are
//! INVALID_RECORD (InvalidRecordException); keys on compacted topics are INVALID_RECORD and
//! timestamps INVALID_TIMESTAMP, both with per-record `record_errors`. Where Kafka 2.8 answers
//! UNKNOWN_SERVER_ERROR (an undefined codec id, a payload its codec cannot decode) this
//! answers CORRUPT_MESSAGE, which says what is wrong. Stricter than Kafka, because such
//! batches stall consumers: key/value lengths below -1, offset deltas other than 0..count-1
//! and non-zero record attributes are refused instead of read as null, renumbered or
//! ignored.

use std::cell::RefCell;

use super::batch::{BatchHeader, RECORD_BATCH_OVERHEAD};
use super::config::TimestampType;
use super::errors::LogError;
use crate::record::codec;

/// One refused record of a batch: Produce v8's `record_errors` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub batch_index: i32,
    pub message: String,
}

/// What validation needs to know about the log and the append.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext {
    pub now: i64,
    /// `cleanup.policy` contains `compact`: every record needs a key.
    pub compacted: bool,
    pub timestamp_type: TimestampType,
    pub timestamp_difference_max_ms: i64,
    /// A producer's append (AppendOrigin.Client): control batches are refused, the batch
    /// header must be consistent.
    pub from_client: bool,
}

/// The batch's largest record timestamp, recomputed from its records as LogValidator does,
/// and the offset delta Kafka files it under (the record's own for an uncompressed batch,
/// the last one for a compressed batch, as `validateMessagesAndAssignOffsetsCompressed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxTimestamp {
    pub timestamp: i64,
    pub offset_delta: i32,
}

/// RecordBatch.NO_TIMESTAMP: where Kafka's max-timestamp scan starts.
const NO_TIMESTAMP: i64 = -1;

/// Decompressed batches larger than this leave the per-thread buffer shrunk back, so one
/// big batch does not pin its memory on every worker thread.
const KEPT_BUFFER: usize = 4 << 20;

thread_local! {
    static DECOMPRESSED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Validates one v2 batch whose framing and CRC `check_batch` already accepted; returns
/// its max timestamp as the records say (the header's may differ: the caller rewrites it).
pub fn validate_batch(
    batch: &[u8],
    h: &BatchHeader,
    ctx: &ValidationContext,
) -> Result<MaxTimestamp, LogError> {
    if ctx.from_client {
        validate_client_header(h)?;
    }
    let records = &batch[RECORD_BATCH_OVERHEAD..h.size()];
    match h.compression() {
        0 => validate_records(records, h, ctx),
        c if c <= codec::ZSTD => DECOMPRESSED.with(|cell| {
            let mut buf = cell.borrow_mut();
            let r = codec::decompress_into(c, records, &mut buf)
                .map_err(|e| {
                    LogError::CorruptMessage(format!(
                        "the {} payload of the record batch cannot be decompressed: {e}",
                        super::batch::compression_name(c)
                    ))
                })
                .and_then(|()| validate_records(&buf, h, ctx))
                .map(|max| MaxTimestamp {
                    offset_delta: h.last_offset_delta,
                    ..max
                });
            if buf.capacity() > KEPT_BUFFER {
                *buf = Vec::new();
            }
            r
        }),
        c => Err(LogError::CorruptMessage(format!(
            "unknown compression type id {c} in the record batch attributes"
        ))),
    }
}

/// Log.analyzeAndValidateRecords + LogValidator.validateBatch for a producer's v2 batch.
fn validate_client_header(h: &BatchHeader) -> Result<(), LogError> {
    let invalid = |m: String| Err(LogError::InvalidRecord(m));
    if h.base_offset != 0 {
        return invalid(format!(
            "the baseOffset of the record batch should be 0, but it is {}",
            h.base_offset
        ));
    }
    if h.record_count <= 0 {
        return invalid(format!(
            "invalid reported count for record batch: {}",
            h.record_count
        ));
    }
    if h.last_offset_delta as i64 + 1 != h.record_count as i64 {
        return invalid(format!(
            "inconsistent batch offset range [0, {}] and count of records {}",
            h.last_offset_delta, h.record_count
        ));
    }
    if h.is_control() {
        return invalid("clients are not allowed to write control records".into());
    }
    let has_producer_id = h.producer_id >= 0;
    if has_producer_id && h.base_sequence < 0 {
        return invalid(format!(
            "invalid sequence number {} in record batch with producerId {}",
            h.base_sequence, h.producer_id
        ));
    }
    // The idempotent/transactional producer state builds on these being coherent.
    if has_producer_id && h.producer_epoch < 0 {
        return invalid(format!(
            "invalid producer epoch {} in record batch with producerId {}",
            h.producer_epoch, h.producer_id
        ));
    }
    if !has_producer_id && h.is_transactional() {
        return invalid("a transactional record batch must have a producerId".into());
    }
    Ok(())
}

/// Reads `count` records from `body` (the batch's records, decompressed), DefaultRecord's
/// layout: varint length, attributes, varlong timestamp delta, varint offset delta, key,
/// value, headers. Structural faults fail at once; key and timestamp faults are collected
/// per record, as Kafka reports them.
fn validate_records(
    body: &[u8],
    h: &BatchHeader,
    ctx: &ValidationContext,
) -> Result<MaxTimestamp, LogError> {
    if h.record_count < 0 {
        return Err(LogError::InvalidRecord(format!(
            "found invalid record count {} in magic v2 batch",
            h.record_count
        )));
    }
    let count = h.record_count;
    let check_ts = ctx.timestamp_type == TimestampType::CreateTime
        && ctx.timestamp_difference_max_ms != i64::MAX;
    let mut rejected: Vec<RecordError> = Vec::new();
    let mut invalid_timestamp = false;
    let mut max = MaxTimestamp {
        timestamp: NO_TIMESTAMP,
        offset_delta: -1,
    };
    let mut r = Reader { b: body, at: 0 };
    for i in 0..count {
        let rec = r
            .record(i)
            .map_err(|why| LogError::InvalidRecord(format!("record {i} of the batch: {why}")))?;
        if ctx.compacted && !rec.has_key {
            rejected.push(RecordError {
                batch_index: i,
                message: "Compacted topic cannot accept message without key".into(),
            });
            continue;
        }
        let ts = h.base_timestamp.wrapping_add(rec.timestamp_delta);
        if ts > max.timestamp {
            max = MaxTimestamp {
                timestamp: ts,
                offset_delta: i,
            };
        }
        let out_of_range =
            check_ts && ts != -1 && ts.abs_diff(ctx.now) > ctx.timestamp_difference_max_ms as u64;
        let append_time = ctx.from_client && h.is_log_append_time();
        invalid_timestamp |= out_of_range || append_time;
        if out_of_range {
            let max = ctx.timestamp_difference_max_ms;
            rejected.push(RecordError {
                batch_index: i,
                message: format!(
                    "Timestamp {ts} of message with offset {i} is out of range. The timestamp should be within [{}, {}]",
                    ctx.now.saturating_sub(max),
                    ctx.now.saturating_add(max)
                ),
            });
        } else if append_time {
            rejected.push(RecordError {
                batch_index: i,
                message: "Invalid timestamp type in message: producers may not set the timestamp type to LogAppendTime".into(),
            });
        }
    }
    if r.at != body.len() {
        return Err(LogError::InvalidRecord(format!(
            "incorrect declared batch size: {} bytes remain after the batch's {count} records",
            body.len() - r.at
        )));
    }
    if rejected.is_empty() {
        return Ok(max);
    }
    // The partition's error is INVALID_TIMESTAMP if any record failed for its timestamp.
    Err(LogError::RecordsRejected {
        invalid_timestamp,
        record_errors: rejected,
    })
}

/// What validation keeps of a record.
struct RecordInfo {
    timestamp_delta: i64,
    has_key: bool,
}

/// A bounds-checked cursor over varint-framed records; errors are built only on failure.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, &'static str> {
        let v = *self.b.get(self.at).ok_or("premature end of the batch")?;
        self.at += 1;
        Ok(v)
    }

    /// ByteUtils.readVarlong: zigzag, at most `max_bytes` bytes.
    fn zigzag(&mut self, max_bytes: usize) -> Result<i64, &'static str> {
        let mut raw = 0u64;
        for i in 0..max_bytes {
            let b = self.byte()?;
            raw |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err("varint is too long")
    }

    fn varint(&mut self) -> Result<i32, &'static str> {
        let v = self.zigzag(5)?;
        i32::try_from(v).map_err(|_| "varint overflows int32")
    }

    fn varlong(&mut self) -> Result<i64, &'static str> {
        self.zigzag(10)
    }

    /// Skips a length-prefixed field inside the record ending at `end`; -1 is null.
    fn field(&mut self, end: usize, what: &'static str) -> Result<bool, String> {
        let len = self.varint()?;
        if len < -1 {
            return Err(format!("invalid {what} length {len}"));
        }
        if len == -1 {
            return Ok(false);
        }
        if len as usize > end.saturating_sub(self.at) {
            return Err(format!("{what} length {len} runs past the record"));
        }
        self.at += len as usize;
        Ok(true)
    }

    fn record(&mut self, index: i32) -> Result<RecordInfo, String> {
        let len = self.varint()?;
        if len < 0 || len as usize > self.b.len() - self.at {
            return Err(format!(
                "record length {len} does not fit the {} bytes left in the batch",
                self.b.len() - self.at
            ));
        }
        let start = self.at;
        let end = start + len as usize;
        // Record attributes are unused in v2 and every client writes 0; kafka-python reads
        // them as a varint, so a high bit here would misalign it (found by the live test).
        let attributes = self.byte()?;
        if attributes != 0 {
            return Err(format!(
                "record attributes {attributes} where v2 defines none"
            ));
        }
        let timestamp_delta = self.varlong()?;
        let offset_delta = self.varint()?;
        if offset_delta != index {
            return Err(format!(
                "offset delta {offset_delta} where {index} was expected (deltas must be 0..count-1)"
            ));
        }
        let has_key = self.field(end, "key")?;
        self.field(end, "value")?;
        let headers = self.varint()?;
        // Each header takes at least two bytes: a count beyond that is refused before any
        // work, so 2^30 headers cost nothing.
        if headers < 0 || headers as usize > end.saturating_sub(self.at) / 2 {
            return Err(format!("invalid number of record headers {headers}"));
        }
        for _ in 0..headers {
            let key_len = self.varint()?;
            if key_len < 0 {
                return Err(format!("invalid negative header key size {key_len}"));
            }
            if key_len as usize > end.saturating_sub(self.at) {
                return Err(format!("header key length {key_len} runs past the record"));
            }
            self.at += key_len as usize;
            self.field(end, "header value")?;
        }
        if self.at != end {
            return Err(format!(
                "invalid record size: expected to read {len} bytes in record payload, but instead read {}",
                self.at as i64 - start as i64
            ));
        }
        Ok(RecordInfo {
            timestamp_delta,
            has_key,
        })
    }
}

#[cfg(test)]
mod tests;
