//! Poison record batches (issue 12): v2 batches with a correct CRC whose records a partition
//! must never accept, each with the error code Kafka answers, and the helpers that build
//! them. Shared by the validation test and the live fuzz test.

use zkafka::log::batch::{compute_crc, encode_record, frame_batch, ATTRIBUTES_OFFSET, CRC_OFFSET};
use zkafka::record::codec;

pub const CORRUPT_MESSAGE: i16 = 2;
pub const INVALID_TIMESTAMP: i16 = 32;
pub const UNSUPPORTED_COMPRESSION_TYPE: i16 = 76;
pub const INVALID_RECORD: i16 = 87;

/// Which topic a poison batch goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Default topic configuration.
    Plain,
    /// `cleanup.policy=compact`.
    Compacted,
    /// `message.timestamp.difference.max.ms=3600000` (CreateTime).
    Stamped,
}

pub struct Poison {
    pub name: &'static str,
    pub target: Target,
    pub batch: Vec<u8>,
    /// Produce request version to send it with.
    pub version: i16,
    pub error_code: i16,
    /// The record indexes Produce v8's `record_errors` names, for per-record refusals.
    pub record_errors: &'static [i32],
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// ByteUtils.writeVarlong.
pub fn zigzag(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push(z as u8 | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// One record from raw varint fields after attributes (timestamp delta, offset delta, key
/// length, ...), length-prefixed with its true length or `len`.
pub fn raw_record(fields: &[i64], len: Option<i64>) -> Vec<u8> {
    let mut r = vec![0u8];
    for f in fields {
        zigzag(&mut r, *f);
    }
    let mut out = Vec::new();
    zigzag(&mut out, len.unwrap_or(r.len() as i64));
    out.extend_from_slice(&r);
    out
}

/// `n` well-formed keyed records (values "value-<i>").
pub fn records(n: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..n {
        let v = format!("value-{i}");
        encode_record(
            &mut b,
            i as i64,
            i as i32,
            Some(b"key"),
            Some(v.as_bytes()),
            &[],
        );
    }
    b
}

/// A v2 batch of `count` records (`body`, already compressed per `attributes`), timestamps
/// now, base offset 0, correct CRC.
pub fn batch(attributes: i16, count: usize, body: &[u8]) -> Vec<u8> {
    let now = now_ms();
    frame_batch(0, -1, attributes, count, now, now + count as i64, body)
}

/// Writes the CRC of a batch whose header was edited.
pub fn recrc(b: &mut [u8]) {
    let crc = compute_crc(b);
    b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

fn p(name: &'static str, target: Target, batch: Vec<u8>, error_code: i16) -> Poison {
    Poison {
        name,
        target,
        batch,
        version: 8,
        error_code,
        record_errors: &[],
    }
}

/// Every poison batch of issue 12.
pub fn all() -> Vec<Poison> {
    let plain = records(3);
    let mut out = vec![];
    for c in [5i16, 6, 7] {
        out.push(p(
            "undefined codec",
            Target::Plain,
            batch(c, 3, &plain),
            CORRUPT_MESSAGE,
        ));
    }
    for c in [codec::GZIP, codec::SNAPPY, codec::LZ4, codec::ZSTD] {
        out.push(p(
            "codec flag on uncompressed bytes",
            Target::Plain,
            batch(c as i16, 3, &plain),
            CORRUPT_MESSAGE,
        ));
    }
    let rec = |fields: &[i64]| batch(0, 1, &raw_record(fields, None));
    out.push(p(
        "negative key length",
        Target::Plain,
        rec(&[0, 0, -7, -1, 0]),
        INVALID_RECORD,
    ));
    out.push(p(
        "huge key length",
        Target::Plain,
        rec(&[0, 0, i32::MAX as i64, -1, 0]),
        INVALID_RECORD,
    ));
    let mut long = raw_record(&[0, 0, -1, -1, 0], Some(9));
    long.extend_from_slice(&[0; 4]);
    out.push(p(
        "wrong record length",
        Target::Plain,
        batch(0, 1, &long),
        INVALID_RECORD,
    ));
    out.push(p(
        "2^30 headers",
        Target::Plain,
        rec(&[0, 0, -1, -1, 1 << 30]),
        INVALID_RECORD,
    ));
    let mut gaps = Vec::new();
    encode_record(&mut gaps, 0, 0, Some(b"k"), Some(b"a"), &[]);
    encode_record(&mut gaps, 0, 5, Some(b"k"), Some(b"b"), &[]);
    out.push(p(
        "non-sequential offset deltas",
        Target::Plain,
        batch(0, 2, &gaps),
        INVALID_RECORD,
    ));
    out.push(p(
        "count above the records",
        Target::Plain,
        batch(0, 4, &plain),
        INVALID_RECORD,
    ));
    let mut control = batch(0x20, 3, &plain);
    recrc(&mut control);
    out.push(p(
        "control batch from a client",
        Target::Plain,
        control,
        INVALID_RECORD,
    ));
    let mut append_time = batch(0, 3, &plain);
    append_time[ATTRIBUTES_OFFSET + 1] |= 0x08;
    recrc(&mut append_time);
    out.push(Poison {
        record_errors: &[0, 1, 2],
        ..p(
            "client claims LogAppendTime",
            Target::Plain,
            append_time,
            INVALID_TIMESTAMP,
        )
    });
    let mut old = Vec::new();
    encode_record(&mut old, 0, 0, Some(b"k"), Some(b"now"), &[]);
    encode_record(&mut old, -48 * 3_600_000, 1, Some(b"k"), Some(b"old"), &[]);
    out.push(Poison {
        record_errors: &[1],
        ..p(
            "timestamp beyond difference.max.ms",
            Target::Stamped,
            batch(0, 2, &old),
            INVALID_TIMESTAMP,
        )
    });
    let mut keyless = Vec::new();
    encode_record(&mut keyless, 0, 0, Some(b"k"), Some(b"a"), &[]);
    encode_record(&mut keyless, 0, 1, None, Some(b"b"), &[]);
    out.push(Poison {
        record_errors: &[1],
        ..p(
            "null key on a compacted topic",
            Target::Compacted,
            batch(0, 2, &keyless),
            INVALID_RECORD,
        )
    });
    let zstd = codec::compress(codec::ZSTD, &plain).unwrap();
    out.push(Poison {
        version: 3,
        ..p(
            "zstd below produce v7",
            Target::Plain,
            batch(codec::ZSTD as i16, 3, &zstd),
            UNSUPPORTED_COMPRESSION_TYPE,
        )
    });
    out
}
