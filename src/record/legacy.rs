//! Legacy message sets (magic 0 and 1, LegacyRecord.java) converted to one magic-2 batch on
//! produce, as Kafka 2.8's LogValidator does when the topic's message format (2.8 by
//! default) is newer than what the producer sent: every message's CRC-32 is checked,
//! compressed wrappers are opened, and the records are re-encoded as a v2 batch compressed
//! with the producer's codec (`compression.type=producer`). Offsets are assigned later by
//! the log, like for any v2 batch. Magic-0 messages have no timestamp (-1).

use super::codec;
use crate::log::batch::{encode_record, frame_batch, LOG_OVERHEAD};
use crate::log::{LogConfig, LogError};

const CODEC_MASK: u8 = 0x07;
const TIMESTAMP_TYPE_MASK: u8 = 0x08;

/// One message of a legacy set.
struct Message<'a> {
    magic: u8,
    attributes: u8,
    timestamp: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
}

/// A record to re-encode (owned: inner messages live in decompressed buffers).
struct Converted {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

fn corrupt(why: impl Into<String>) -> LogError {
    LogError::CorruptMessage(why.into())
}

fn be_i32(b: &[u8], at: usize) -> Result<i32, LogError> {
    b.get(at..at + 4)
        .map(|s| i32::from_be_bytes(s.try_into().expect("4 bytes")))
        .ok_or_else(|| corrupt("message truncated"))
}

fn bytes_field<'a>(b: &'a [u8], at: &mut usize) -> Result<Option<&'a [u8]>, LogError> {
    let len = be_i32(b, *at)?;
    *at += 4;
    if len < 0 {
        return Ok(None);
    }
    let s = b
        .get(*at..*at + len as usize)
        .ok_or_else(|| corrupt("key or value runs past the message"))?;
    *at += len as usize;
    Ok(Some(s))
}

/// Splits a legacy set into messages (checking each CRC); a trailing partial entry is
/// ignored, as Kafka's iterator does.
fn parse_set(buf: &[u8]) -> Result<Vec<Message<'_>>, LogError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while buf.len() - pos >= LOG_OVERHEAD {
        let size = be_i32(buf, pos + 8)?;
        if size < 14 {
            return Err(corrupt(format!(
                "message size {size} is below the minimum (14)"
            )));
        }
        let end = pos + LOG_OVERHEAD + size as usize;
        if end > buf.len() {
            break;
        }
        let m = &buf[pos + LOG_OVERHEAD..end];
        let stored = u32::from_be_bytes(m[0..4].try_into().expect("4 bytes"));
        let computed = crc32fast::hash(&m[4..]);
        if stored != computed {
            return Err(corrupt(format!(
                "message is corrupt (stored crc = {stored}, computed crc = {computed})"
            )));
        }
        let (magic, attributes) = (m[4], m[5]);
        let mut at = 6;
        let timestamp = match magic {
            0 => -1,
            1 => {
                let t = m
                    .get(6..14)
                    .map(|s| i64::from_be_bytes(s.try_into().expect("8 bytes")))
                    .ok_or_else(|| corrupt("message truncated"))?;
                at = 14;
                t
            }
            other => {
                return Err(corrupt(format!(
                    "invalid magic {other} in a legacy message set"
                )))
            }
        };
        let key = bytes_field(m, &mut at)?;
        let value = bytes_field(m, &mut at)?;
        if at != m.len() {
            return Err(corrupt("message size does not match its content"));
        }
        out.push(Message {
            magic,
            attributes,
            timestamp,
            key,
            value,
        });
        pos = end;
    }
    Ok(out)
}

/// Converts a legacy message set to one v2 batch (base offset 0, leader epoch -1).
pub fn convert_to_v2(records: &[u8], _config: &LogConfig) -> Result<Vec<u8>, LogError> {
    let mut converted = Vec::new();
    let mut batch_codec = 0u8;
    for m in parse_set(records)? {
        let codec = m.attributes & CODEC_MASK;
        if codec == 0 {
            converted.push(Converted {
                timestamp: m.timestamp,
                key: m.key.map(<[u8]>::to_vec),
                value: m.value.map(<[u8]>::to_vec),
            });
            continue;
        }
        batch_codec = codec;
        let wrapped = m
            .value
            .ok_or_else(|| LogError::InvalidRecord("compressed message without a value".into()))?;
        if codec == codec::ZSTD {
            // KIP-110: zstd exists only for magic 2.
            return Err(corrupt("zstd is not allowed in legacy message sets"));
        }
        let inner = codec::decompress_legacy(codec, wrapped).map_err(corrupt)?;
        // A v1 wrapper with LogAppendTime stamps its time on every inner message.
        let wrapper_time =
            (m.magic == 1 && m.attributes & TIMESTAMP_TYPE_MASK != 0).then_some(m.timestamp);
        for im in parse_set(&inner)? {
            if im.attributes & CODEC_MASK != 0 {
                return Err(LogError::InvalidRecord(
                    "compressed outer record should not have an inner record with a compression attribute set".into(),
                ));
            }
            converted.push(Converted {
                timestamp: wrapper_time.unwrap_or(im.timestamp),
                key: im.key.map(<[u8]>::to_vec),
                value: im.value.map(<[u8]>::to_vec),
            });
        }
    }
    if converted.is_empty() {
        return Err(LogError::InvalidRecord(
            "message set without messages".into(),
        ));
    }
    build_v2(&converted, batch_codec)
}

/// MemoryRecordsBuilder for magic 2: records (no headers: legacy messages have none),
/// compressed as one block when `codec` is set, CreateTime, no producer id.
fn build_v2(records: &[Converted], codec: u8) -> Result<Vec<u8>, LogError> {
    let base_ts = records[0].timestamp;
    let max_ts = records.iter().map(|r| r.timestamp).max().unwrap_or(-1);
    let mut body = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let delta = r.timestamp - base_ts;
        encode_record(
            &mut body,
            delta,
            i as i32,
            r.key.as_deref(),
            r.value.as_deref(),
            &[],
        );
    }
    if codec != 0 {
        body = codec::compress(codec, &body).map_err(LogError::Other)?;
    }
    Ok(frame_batch(
        0,
        -1,
        i16::from(codec),
        records.len(),
        base_ts,
        max_ts,
        &body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{check_batch, parse_records};

    /// A legacy message entry (offset, size, crc, magic, attributes, [ts], key, value).
    fn message(
        magic: u8,
        attributes: u8,
        ts: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut m = vec![magic, attributes];
        if magic == 1 {
            m.extend_from_slice(&ts.to_be_bytes());
        }
        for f in [key, value] {
            match f {
                Some(b) => {
                    m.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    m.extend_from_slice(b);
                }
                None => m.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        let mut e = 0i64.to_be_bytes().to_vec();
        e.extend_from_slice(&((m.len() + 4) as i32).to_be_bytes());
        e.extend_from_slice(&crc32fast::hash(&m).to_be_bytes());
        e.extend_from_slice(&m);
        e
    }

    #[test]
    fn converts_plain_and_compressed_sets() {
        let config = LogConfig::default();
        for magic in [0u8, 1] {
            for codec_id in [0u8, codec::GZIP, codec::SNAPPY, codec::LZ4] {
                let inner: Vec<u8> = (0..3)
                    .flat_map(|i| {
                        message(
                            magic,
                            0,
                            1000 + i,
                            Some(b"k"),
                            Some(format!("v{i}").as_bytes()),
                        )
                    })
                    .collect();
                let set = if codec_id == 0 {
                    inner
                } else {
                    let z = codec::compress(codec_id, &inner).unwrap();
                    message(magic, codec_id, 1002, None, Some(&z))
                };
                let v2 = convert_to_v2(&set, &config).unwrap();
                let h = check_batch(&v2).unwrap();
                assert_eq!((h.record_count, h.compression()), (3, codec_id));
                if codec_id == 0 {
                    let recs = parse_records(&v2).unwrap();
                    assert_eq!(recs[2].value, Some(&b"v2"[..]));
                    assert_eq!(recs[1].timestamp_delta, if magic == 1 { 1 } else { 0 });
                }
                assert_eq!(h.max_timestamp, if magic == 1 { 1002 } else { -1 });
            }
        }
    }

    #[test]
    fn bad_crc_is_corrupt() {
        let mut m = message(1, 0, 5, None, Some(b"x"));
        let last = m.len() - 1;
        m[last] ^= 1;
        let e = convert_to_v2(&m, &LogConfig::default()).unwrap_err();
        assert_eq!(e.error_code(), 2);
    }
}
