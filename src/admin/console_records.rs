//! Record-level pieces shared by the console tools: `k=v` arguments, Kafka's error names,
//! the default partitioner's murmur2, compressing and inflating v2 batches, decoding fetched
//! batches into records, and the DefaultMessageFormatter that prints them.

use std::collections::BTreeMap;

use anyhow::bail;

use crate::log::batch::{self, BatchHeader, HeaderIter};
use crate::record::codec;

/// `k=v` arguments as Kafka's CommandLineUtils.parseKeyValueArgs reads them: split at the
/// first '=', values taken literally (no `\t` unescaping, as in Kafka).
pub fn parse_key_values(args: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => bail!("Invalid command line properties: {a}"),
        })
        .collect()
}

/// Kafka's `Utils.murmur2`, the default partitioner's hash of the serialized key.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ (data.len() as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]).wrapping_mul(M);
        k ^= k >> 24;
        h = h.wrapping_mul(M) ^ k.wrapping_mul(M);
    }
    match tail.len() {
        // Java's switch falls through: 3 then 2 then 1.
        3 => h ^= ((tail[2] as u32) << 16) ^ ((tail[1] as u32) << 8) ^ (tail[0] as u32),
        2 => h ^= ((tail[1] as u32) << 8) ^ (tail[0] as u32),
        1 => h ^= tail[0] as u32,
        _ => {}
    }
    if !tail.is_empty() {
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a keyed record: `toPositive(murmur2(key)) % numPartitions`.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// The codec id of a `compression.type` / `--compression-codec` name (zstd is not among
/// the codecs record::codec can write).
pub fn codec_by_name(name: &str) -> anyhow::Result<u8> {
    Ok(match name {
        "none" => 0,
        "gzip" => codec::GZIP,
        "snappy" => codec::SNAPPY,
        "lz4" => codec::LZ4,
        c => bail!(
            "compression codec {c} is not supported by this producer (none, gzip, snappy, lz4)"
        ),
    })
}

/// LineMessageReader: with parse.key the key is the text before the first separator; a
/// line without one is an error (unless ignore.error, which the caller handles).
pub fn split_key(line: &[u8], parse_key: bool, sep: &[u8]) -> Option<(Option<Vec<u8>>, Vec<u8>)> {
    if !parse_key {
        return Some((None, line.to_vec()));
    }
    let n = line.windows(sep.len().max(1)).position(|w| w == sep)?;
    Some((Some(line[..n].to_vec()), line[n + sep.len()..].to_vec()))
}

/// Kafka's error name and code, e.g. `NOT_ENOUGH_REPLICAS (19)`.
pub fn error_name(code: i16) -> String {
    crate::server::errors::name(code).to_string()
}

/// Compresses the records of an uncompressed v2 batch with `codec` (the attributes' low
/// bits), fixing the length and CRC; codec 0 returns the batch as is.
pub fn compress_batch(mut b: Vec<u8>, codec: u8) -> Vec<u8> {
    if codec == 0 {
        return b;
    }
    let Ok(body) = codec::compress(codec, &b[batch::RECORD_BATCH_OVERHEAD..]) else {
        return b;
    };
    b.truncate(batch::RECORD_BATCH_OVERHEAD);
    b.extend_from_slice(&body);
    let len = (b.len() - batch::LOG_OVERHEAD) as i32;
    b[batch::LENGTH_OFFSET..batch::LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    let attrs = codec as i16;
    b[batch::ATTRIBUTES_OFFSET..batch::ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    let crc = batch::compute_crc(&b);
    b[batch::CRC_OFFSET..batch::CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Kafka's DefaultMessageFormatter settings.
pub struct Formatter {
    timestamp: bool,
    partition: bool,
    offset: bool,
    headers: bool,
    key: bool,
    value: bool,
    key_sep: Vec<u8>,
    line_sep: Vec<u8>,
    headers_sep: Vec<u8>,
    null: Vec<u8>,
}

pub struct Rec {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: (bool, i64),
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Formatter {
    pub fn new(props: &BTreeMap<String, String>) -> Formatter {
        let flag = |k: &str, d: bool| {
            props
                .get(k)
                .map_or(d, |v| v.trim().eq_ignore_ascii_case("true"))
        };
        let bytes = |k: &str, d: &str| props.get(k).map_or(d, |v| v.as_str()).as_bytes().to_vec();
        Formatter {
            timestamp: flag("print.timestamp", false),
            partition: flag("print.partition", false),
            offset: flag("print.offset", false),
            headers: flag("print.headers", false),
            key: flag("print.key", false),
            value: flag("print.value", true),
            key_sep: bytes("key.separator", "\t"),
            line_sep: bytes("line.separator", "\n"),
            headers_sep: bytes("headers.separator", ","),
            null: bytes("null.literal", "null"),
        }
    }

    /// DefaultMessageFormatter.writeTo: each printed column is followed by the key separator
    /// if another column follows, else by the line separator.
    pub fn write(&self, r: &Rec, out: &mut Vec<u8>) {
        let mut cols: Vec<Vec<u8>> = Vec::new();
        if self.timestamp {
            let kind = if r.timestamp.0 {
                "LogAppendTime"
            } else {
                "CreateTime"
            };
            cols.push(format!("{kind}:{}", r.timestamp.1).into_bytes());
        }
        if self.partition {
            cols.push(format!("Partition:{}", r.partition).into_bytes());
        }
        if self.offset {
            cols.push(format!("Offset:{}", r.offset).into_bytes());
        }
        if self.headers {
            let mut h = Vec::new();
            for (i, (k, v)) in r.headers.iter().enumerate() {
                if i > 0 {
                    h.extend_from_slice(&self.headers_sep);
                }
                h.extend_from_slice(k);
                h.push(b':');
                h.extend_from_slice(v.as_deref().unwrap_or(&self.null));
            }
            cols.push(if r.headers.is_empty() {
                b"NO_HEADERS".to_vec()
            } else {
                h
            });
        }
        if self.key {
            cols.push(r.key.clone().unwrap_or_else(|| self.null.clone()));
        }
        if self.value {
            cols.push(r.value.clone().unwrap_or_else(|| self.null.clone()));
        }
        let n = cols.len();
        for (i, c) in cols.into_iter().enumerate() {
            out.extend_from_slice(&c);
            out.extend_from_slice(if i + 1 < n {
                &self.key_sep
            } else {
                &self.line_sep
            });
        }
    }
}

/// The data records at or past `from` in the complete v2 batches of `data` (control batches
/// skipped, compressed ones inflated), and the offset after the last complete batch.
pub fn decode(partition: i32, data: &[u8], from: i64) -> anyhow::Result<(Vec<Rec>, i64)> {
    let mut out = Vec::new();
    let mut next = from;
    for (at, h) in HeaderIter::new(data) {
        next = next.max(h.last_offset() + 1);
        if h.magic != 2 || h.is_control() || h.last_offset() < from {
            continue;
        }
        let raw = &data[at..at + h.size()];
        let plain;
        let b = if h.compression() == 0 {
            raw
        } else {
            plain = inflate(&h, raw)?;
            &plain[..]
        };
        let records = batch::parse_records(b)
            .map_err(|e| anyhow::anyhow!("corrupt batch at offset {}: {e}", h.base_offset))?;
        for r in records {
            let offset = h.base_offset + r.offset_delta as i64;
            if offset < from {
                continue;
            }
            let ts = if h.is_log_append_time() {
                h.max_timestamp
            } else {
                h.base_timestamp + r.timestamp_delta
            };
            out.push(Rec {
                partition,
                offset,
                timestamp: (h.is_log_append_time(), ts),
                key: r.key.map(<[u8]>::to_vec),
                value: r.value.map(<[u8]>::to_vec),
                headers: r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                    .collect(),
            });
        }
    }
    Ok((out, next))
}

/// The batch with its records decompressed and the codec bits and length fixed, so the
/// uncompressed record parser can read it (its CRC is not checked again).
fn inflate(h: &BatchHeader, raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let body = codec::decompress(h.compression(), &raw[batch::RECORD_BATCH_OVERHEAD..])
        .map_err(|e| anyhow::anyhow!("cannot decompress batch at offset {}: {e}", h.base_offset))?;
    let mut b = raw[..batch::RECORD_BATCH_OVERHEAD].to_vec();
    b.extend_from_slice(&body);
    let len = (b.len() - batch::LOG_OVERHEAD) as i32;
    b[batch::LENGTH_OFFSET..batch::LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    let attrs = h.attributes & !0x07;
    b[batch::ATTRIBUTES_OFFSET..batch::ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_utils_test() {
        // The cases of Kafka's UtilsTest.testMurmur2.
        for (data, want) in [
            (&b"21"[..], -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ] {
            assert_eq!(murmur2(data), want, "{}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn split_key_uses_the_first_separator() {
        assert_eq!(
            split_key(b"k:v:w", true, b":"),
            Some((Some(b"k".to_vec()), b"v:w".to_vec()))
        );
        assert_eq!(
            split_key(b"k:", true, b":"),
            Some((Some(b"k".to_vec()), vec![]))
        );
        assert_eq!(split_key(b"kv", true, b":"), None);
        assert_eq!(
            split_key(b"k:v", false, b":"),
            Some((None, b"k:v".to_vec()))
        );
    }

    #[test]
    fn compressed_batches_decode() {
        let recs: Vec<batch::SimpleRecord> = vec![
            (1000, Some(&b"k"[..]), Some(&b"v1"[..]), &[][..]),
            (1001, None, Some(&b"v2"[..]), &[][..]),
        ];
        for codec in [0, codec::GZIP, codec::SNAPPY, codec::LZ4] {
            let b = compress_batch(batch::build_batch(10, -1, &recs), codec);
            assert_eq!(BatchHeader::parse(&b).compression(), codec);
            let (rs, next) = decode(2, &b, 11).unwrap();
            assert_eq!(next, 12);
            assert_eq!(rs.len(), 1, "records before the position are skipped");
            assert_eq!((rs[0].offset, rs[0].timestamp), (11, (false, 1001)));
            assert_eq!(
                (rs[0].key.as_deref(), rs[0].value.as_deref()),
                (None, Some(&b"v2"[..]))
            );
        }
    }

    #[test]
    fn formatter_columns_follow_default_message_formatter() {
        let props = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let r = Rec {
            partition: 1,
            offset: 7,
            timestamp: (false, 5),
            key: None,
            value: Some(b"v".to_vec()),
            headers: vec![(b"h".to_vec(), Some(b"x".to_vec()))],
        };
        let out = |f: Formatter| {
            let mut o = Vec::new();
            f.write(&r, &mut o);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(out(Formatter::new(&props(&[]))), "v\n");
        assert_eq!(
            out(Formatter::new(&props(&[
                ("print.timestamp", "true"),
                ("print.partition", "true"),
                ("print.offset", "true"),
                ("print.headers", "true"),
                ("print.key", "true"),
            ]))),
            "CreateTime:5\tPartition:1\tOffset:7\th:x\tnull\tv\n"
        );
        assert_eq!(
            out(Formatter::new(&props(&[
                ("print.key", "true"),
                ("print.value", "false"),
                ("null.literal", "-")
            ]))),
            "-\n"
        );
    }
}
