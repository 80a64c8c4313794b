//! Unit tests of the record validator: each poison batch of issue 12 with a correct CRC,
//! and valid batches in every codec.

use super::*;
use crate::log::batch::{
    check_batch, compute_crc, encode_record, frame_batch, ATTRIBUTES_OFFSET, BASE_SEQUENCE_OFFSET,
    CRC_OFFSET, PRODUCER_ID_OFFSET,
};

const NOW: i64 = 1_700_000_000_000;

fn ctx() -> ValidationContext {
    ValidationContext {
        now: NOW,
        compacted: false,
        timestamp_type: TimestampType::CreateTime,
        timestamp_difference_max_ms: i64::MAX,
        from_client: true,
    }
}

fn zigzag(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push(z as u8 | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Records encoded as the producer would, one per value.
fn body(values: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    for (i, v) in values.iter().enumerate() {
        encode_record(&mut b, i as i64, i as i32, Some(b"k"), Some(v), &[]);
    }
    b
}

/// One record from raw fields after the length: lets a test write any length it likes.
fn raw_record(fields: &[i64], len_override: Option<i64>) -> Vec<u8> {
    let mut r = vec![0u8]; // attributes
    for f in fields {
        zigzag(&mut r, *f);
    }
    let mut out = Vec::new();
    zigzag(&mut out, len_override.unwrap_or(r.len() as i64));
    out.extend_from_slice(&r);
    out
}

fn batch(attributes: i16, count: usize, records: &[u8]) -> Vec<u8> {
    frame_batch(0, -1, attributes, count, NOW, NOW + count as i64, records)
}

fn recrc(b: &mut [u8]) {
    let crc = compute_crc(b);
    b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

fn validate(b: &[u8], ctx: &ValidationContext) -> Result<(), LogError> {
    let h = check_batch(b).expect("test batches have a correct CRC");
    validate_batch(b, &h, ctx).map(|_| ())
}

fn code(b: &[u8]) -> i16 {
    validate(b, &ctx()).map_or_else(|e| e.error_code(), |()| 0)
}

#[test]
fn valid_batches_in_every_codec_pass() {
    let plain = body(&[b"one", b"two", b"three"]);
    assert_eq!(code(&batch(0, 3, &plain)), 0);
    for c in [codec::GZIP, codec::SNAPPY, codec::LZ4, codec::ZSTD] {
        let packed = codec::compress(c, &plain).unwrap();
        assert_eq!(code(&batch(c as i16, 3, &packed)), 0, "codec {c}");
    }
}

#[test]
fn undefined_codec_and_undecodable_payloads_are_corrupt() {
    let plain = body(&[b"v"]);
    for c in 5..=7 {
        assert_eq!(code(&batch(c, 1, &plain)), 2, "codec {c}");
    }
    for c in [codec::GZIP, codec::SNAPPY, codec::LZ4, codec::ZSTD] {
        assert_eq!(
            code(&batch(c as i16, 1, &plain)),
            2,
            "codec {c} on plain bytes"
        );
    }
}

#[test]
fn compressed_payload_with_fewer_records_than_declared_is_invalid() {
    let packed = codec::compress(codec::GZIP, &body(&[b"a", b"b"])).unwrap();
    assert_eq!(code(&batch(codec::GZIP as i16, 3, &packed)), 87);
}

#[test]
fn bad_key_lengths_are_invalid() {
    // fields: timestamp delta, offset delta, key length, (key), value length, headers
    assert_eq!(
        code(&batch(0, 1, &raw_record(&[0, 0, -5, -1, 0], None))),
        87
    );
    assert_eq!(
        code(&batch(
            0,
            1,
            &raw_record(&[0, 0, i32::MAX as i64, -1, 0], None)
        )),
        87
    );
    // A key length that overflows int32 in its varint.
    assert_eq!(
        code(&batch(0, 1, &raw_record(&[0, 0, 1 << 40, -1, 0], None))),
        87
    );
    // Null key and value are fine.
    assert_eq!(code(&batch(0, 1, &raw_record(&[0, 0, -1, -1, 0], None))), 0);
}

#[test]
fn wrong_record_length_is_invalid() {
    let ok = raw_record(&[0, 0, -1, -1, 0], None);
    let n = ok.len() as i64 - 1;
    for len in [n - 1, n + 1, -3, 1 << 20] {
        let mut r = raw_record(&[0, 0, -1, -1, 0], Some(len));
        r.extend_from_slice(&[0; 4]); // room for the longer claim
        assert_eq!(code(&batch(0, 1, &r)), 87, "length {len}");
    }
}

#[test]
fn absurd_header_counts_are_refused_without_work() {
    assert_eq!(
        code(&batch(0, 1, &raw_record(&[0, 0, -1, -1, 1 << 30], None))),
        87
    );
    assert_eq!(
        code(&batch(0, 1, &raw_record(&[0, 0, -1, -1, -1], None))),
        87
    );
    // One header with a negative key size.
    assert_eq!(
        code(&batch(0, 1, &raw_record(&[0, 0, -1, -1, 1, -2, -1], None))),
        87
    );
    // One valid header: key "" and a null value.
    assert_eq!(
        code(&batch(0, 1, &raw_record(&[0, 0, -1, -1, 1, 0, -1], None))),
        0
    );
}

#[test]
fn offset_deltas_must_run_from_zero() {
    let mut b = Vec::new();
    encode_record(&mut b, 0, 0, None, Some(b"a"), &[]);
    encode_record(&mut b, 0, 2, None, Some(b"b"), &[]);
    assert_eq!(code(&batch(0, 2, &b)), 87);
    // Header count and record count disagree with the records.
    assert_eq!(code(&batch(0, 3, &body(&[b"a", b"b"]))), 87);
    assert_eq!(
        code(&batch(0, 1, &body(&[b"a", b"b"]))),
        87,
        "trailing record"
    );
}

#[test]
fn header_fields_are_checked_for_clients() {
    let plain = body(&[b"v"]);
    let mut control = batch(0x20, 1, &plain);
    recrc(&mut control);
    assert_eq!(code(&control), 87);
    let mut rebased = batch(0, 1, &plain);
    rebased[7] = 5;
    assert_eq!(code(&rebased), 87, "base offset 5");
    let mut pid = batch(0, 1, &plain);
    pid[PRODUCER_ID_OFFSET..PRODUCER_ID_OFFSET + 8].copy_from_slice(&7i64.to_be_bytes());
    recrc(&mut pid);
    assert_eq!(code(&pid), 87, "producer id without a sequence");
    pid[BASE_SEQUENCE_OFFSET..BASE_SEQUENCE_OFFSET + 4].copy_from_slice(&0i32.to_be_bytes());
    recrc(&mut pid);
    assert_eq!(code(&pid), 87, "producer id with epoch -1");
    pid[PRODUCER_ID_OFFSET + 8..PRODUCER_ID_OFFSET + 10].copy_from_slice(&0i16.to_be_bytes());
    recrc(&mut pid);
    assert_eq!(code(&pid), 0, "idempotent batch");
    let mut txn = batch(0x10, 1, &plain);
    recrc(&mut txn);
    assert_eq!(code(&txn), 87, "transactional without producer id");
    // The coordinator's own appends skip the client-only header checks.
    let c = ValidationContext {
        from_client: false,
        ..ctx()
    };
    assert!(validate(&control, &c).is_ok());
}

#[test]
fn keyless_records_on_compacted_topics_are_listed() {
    let mut b = Vec::new();
    encode_record(&mut b, 0, 0, Some(b"k"), Some(b"a"), &[]);
    encode_record(&mut b, 0, 1, None, Some(b"b"), &[]);
    let c = ValidationContext {
        compacted: true,
        ..ctx()
    };
    match validate(&batch(0, 2, &b), &c) {
        Err(e @ LogError::RecordsRejected { .. }) => {
            assert_eq!(e.error_code(), 87);
            assert_eq!(e.to_string(), "One or more records have been rejected");
            let LogError::RecordsRejected { record_errors, .. } = e else {
                unreachable!()
            };
            assert_eq!(record_errors.len(), 1);
            assert_eq!(record_errors[0].batch_index, 1);
        }
        other => panic!("expected RecordsRejected, got {other:?}"),
    }
}

#[test]
fn timestamps_outside_the_allowed_difference_are_invalid() {
    let mut b = Vec::new();
    encode_record(&mut b, 0, 0, None, Some(b"now"), &[]);
    encode_record(&mut b, -10 * 3_600_000, 1, None, Some(b"old"), &[]);
    let c = ValidationContext {
        timestamp_difference_max_ms: 3_600_000,
        ..ctx()
    };
    let e = validate(&batch(0, 2, &b), &c).unwrap_err();
    assert_eq!(e.error_code(), 32);
    let LogError::RecordsRejected { record_errors, .. } = e else {
        panic!("expected RecordsRejected")
    };
    assert_eq!(record_errors[0].batch_index, 1);
    assert!(record_errors[0].message.contains("out of range"));
    // LogAppendTime topics take any client timestamp; extreme ones do not overflow.
    let lat = ValidationContext {
        timestamp_type: TimestampType::LogAppendTime,
        ..c
    };
    assert!(validate(&batch(0, 2, &b), &lat).is_ok());
    let mut far = Vec::new();
    encode_record(&mut far, i64::MAX, 0, None, None, &[]);
    assert_eq!(
        validate(&batch(0, 1, &far), &c).unwrap_err().error_code(),
        32
    );
}

#[test]
fn clients_may_not_claim_log_append_time() {
    let mut b = batch(0, 1, &body(&[b"v"]));
    b[ATTRIBUTES_OFFSET + 1] |= 0x08;
    recrc(&mut b);
    assert_eq!(code(&b), 32);
}

#[test]
fn lz4_frames_are_read_as_consumers_read_them() {
    // A frame whose header checksum is wrong decodes with a lenient reader but librdkafka
    // refuses it ("Invalid compressed data"): found by the live bad-input test.
    let mut packed = codec::compress(codec::LZ4, &body(&[b"a", b"b"])).unwrap();
    assert_eq!(code(&batch(codec::LZ4 as i16, 2, &packed)), 0);
    packed[6] ^= 0x01;
    assert_eq!(code(&batch(codec::LZ4 as i16, 2, &packed)), 2);
}

#[test]
fn lz4_frames_cut_short_are_refused() {
    // Without its end mark, or with bytes after it, python-lz4 refuses the frame.
    let packed = codec::compress(codec::LZ4, &body(&[b"a", b"b"])).unwrap();
    let cut = &packed[..packed.len() - 4];
    assert_eq!(code(&batch(codec::LZ4 as i16, 2, cut)), 2);
    let mut long = packed.clone();
    long.push(0);
    assert_eq!(code(&batch(codec::LZ4 as i16, 2, &long)), 2);
}

#[test]
fn record_attributes_and_negative_counts_are_refused() {
    let mut r = raw_record(&[0, 0, -1, -1, 0], None);
    r[1] = 0x80; // attributes: kafka-python would read a two-byte varint here
    assert_eq!(code(&batch(0, 1, &r)), 87);
    let mut b = batch(0, 1, &body(&[b"v"]));
    b[57..61].copy_from_slice(&(-65536i32).to_be_bytes());
    recrc(&mut b);
    let coordinator = ValidationContext {
        from_client: false,
        ..ctx()
    };
    assert_eq!(validate(&b, &coordinator).unwrap_err().error_code(), 87);
}

#[test]
fn max_timestamp_is_recomputed_from_the_records() {
    // Record timestamps NOW + 5, NOW - 3, NOW + 9, NOW: the largest is the third record's.
    let mut plain = Vec::new();
    for (i, delta) in [5i64, -3, 9, 0].iter().enumerate() {
        encode_record(&mut plain, *delta, i as i32, Some(b"k"), Some(b"v"), &[]);
    }
    // The header claims NOW + 4 (a producer bug): validation reports what the records say.
    let b = frame_batch(0, -1, 0, 4, NOW, NOW + 4, &plain);
    let h = check_batch(&b).unwrap();
    let max = validate_batch(&b, &h, &ctx()).unwrap();
    assert_eq!(
        max,
        MaxTimestamp {
            timestamp: NOW + 9,
            offset_delta: 2
        }
    );
    // Compressed: Kafka files the max timestamp under the batch's last offset.
    let packed = codec::compress(codec::GZIP, &plain).unwrap();
    let b = frame_batch(0, -1, codec::GZIP as i16, 4, NOW, NOW + 100, &packed);
    let h = check_batch(&b).unwrap();
    let max = validate_batch(&b, &h, &ctx()).unwrap();
    assert_eq!(
        max,
        MaxTimestamp {
            timestamp: NOW + 9,
            offset_delta: 3
        }
    );
    // No timestamps at all (base -1, deltas 0): NO_TIMESTAMP, as Kafka's scan starts.
    let mut none = Vec::new();
    encode_record(&mut none, 0, 0, Some(b"k"), Some(b"v"), &[]);
    let b = frame_batch(0, -1, 0, 1, -1, -1, &none);
    let h = check_batch(&b).unwrap();
    assert_eq!(validate_batch(&b, &h, &ctx()).unwrap().timestamp, -1);
}
