//! Append/read, validation errors, decoding with kafka-protocol, follower appends,
//! leader epochs, retention and truncation.

mod common;

use std::fs;

use bytes::BytesMut;
use common::log_util::*;
use kafka_protocol::records::RecordBatchDecoder;
use zkafka::log::batch::{build_batch, BatchHeader};
use zkafka::log::{LogConfig, LogError, TimestampType};

#[test]
fn append_read_and_decode_with_kafka_protocol() {
    let d = tempfile::tempdir().unwrap();
    let log = open_log(d.path(), small_config());
    let mut input = encode_batch(3, 10, 1000, "a");
    input.extend(encode_batch(2, 5, 2000, "b"));
    let info = log.append_as_leader(&input, 7).unwrap();
    assert_eq!(
        (
            info.first_offset,
            info.last_offset,
            info.num_messages,
            info.num_batches
        ),
        (0, 4, 5, 2)
    );
    assert_eq!(
        (info.max_timestamp, info.offset_of_max_timestamp),
        (2001, 4)
    );
    let info = log
        .append_as_leader(&encode_batch(1, 1, 3000, "c"), 7)
        .unwrap();
    assert_eq!(info.first_offset, 5);
    assert_eq!(log.log_end_offset(), 6);

    let seg = fs::read(d.path().join("00000000000000000000.log")).unwrap();
    let mut buf = BytesMut::from(&seg[..]);
    let sets = RecordBatchDecoder::decode_all(&mut buf).unwrap();
    let records: Vec<_> = sets.iter().flat_map(|s| s.records.iter()).collect();
    assert_eq!(records.len(), 6);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
        assert_eq!(r.partition_leader_epoch, 7);
    }
    assert_eq!(records[3].key.as_deref(), Some(&b"b0"[..]));

    for off in 0..6 {
        let f = log.read(off, 1 << 20, None, false).unwrap();
        let bytes = f.records.to_vec().unwrap();
        let first = BatchHeader::parse(&bytes);
        assert!(
            first.base_offset <= off && off <= first.last_offset(),
            "offset {off}"
        );
    }
    // High-watermark bound: only batches ending below 5 are returned.
    let f = log.read(0, 1 << 20, Some(5), false).unwrap();
    assert_eq!(scan(&f.records.to_vec().unwrap()).last().unwrap().2, 4);
    assert!(log
        .read(5, 1 << 20, Some(5), false)
        .unwrap()
        .records
        .is_empty());
    // max_bytes smaller than the first batch: empty unless min_one_message.
    assert!(log.read(0, 10, None, false).unwrap().records.is_empty());
    assert_eq!(
        scan(
            &log.read(0, 10, None, true)
                .unwrap()
                .records
                .to_vec()
                .unwrap()
        )
        .len(),
        1
    );
    assert!(log.read(6, 100, None, true).unwrap().records.is_empty());
    assert_eq!(log.read(7, 100, None, true).unwrap_err().error_code(), 1);
}

#[test]
fn invalid_input_is_rejected_with_kafka_codes_and_nothing_written() {
    let d = tempfile::tempdir().unwrap();
    let log = open_log(d.path(), small_config());
    let good = encode_batch(2, 10, 1000, "k");
    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 0xff;
    let mut both = good.clone();
    both.extend(&bad_crc);
    assert_eq!(log.append_as_leader(&both, 0).unwrap_err().error_code(), 2);
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(
        fs::metadata(d.path().join("00000000000000000000.log"))
            .unwrap()
            .len(),
        0
    );

    let mut magic1 = good.clone();
    magic1[16] = 1;
    assert!(matches!(
        log.append_as_leader(&magic1, 0),
        Err(LogError::UnsupportedMagic(1))
    ));

    let mut bad_count = good.clone();
    bad_count[57..61].copy_from_slice(&5i32.to_be_bytes());
    let crc = zkafka::log::batch::compute_crc(&bad_count);
    bad_count[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        log.append_as_leader(&bad_count, 0)
            .unwrap_err()
            .error_code(),
        87
    );

    log.update_config(LogConfig {
        max_message_bytes: 50,
        ..small_config()
    });
    assert_eq!(log.append_as_leader(&good, 0).unwrap_err().error_code(), 10);
    log.update_config(LogConfig {
        segment_bytes: 100,
        ..small_config()
    });
    let mut two = good.clone();
    two.extend(&good);
    assert_eq!(log.append_as_leader(&two, 0).unwrap_err().error_code(), 18);

    let mut compact = small_config();
    compact.cleanup_policy.compact = true;
    log.update_config(compact);
    let keyless = build_batch(0, -1, &[(1, None, Some(b"v"), &[])]);
    assert_eq!(
        log.append_as_leader(&keyless, 0).unwrap_err().error_code(),
        87
    );
    assert!(log.append_as_leader(&good, 0).is_ok());

    log.update_config(LogConfig {
        message_timestamp_difference_max_ms: 1000,
        ..small_config()
    });
    assert_eq!(
        log.append_as_leader(&encode_batch(1, 1, 5, "x"), 0)
            .unwrap_err()
            .error_code(),
        32
    );
    // A trailing incomplete batch is ignored, as Kafka trims it.
    log.update_config(small_config());
    let mut partial = good.clone();
    partial.extend(&good[..20]);
    let info = log.append_as_leader(&partial, 0).unwrap();
    assert_eq!(info.valid_bytes, good.len());
}

#[test]
fn log_append_time_rewrites_timestamp_and_crc() {
    let d = tempfile::tempdir().unwrap();
    let log = open_log(
        d.path(),
        LogConfig {
            message_timestamp_type: TimestampType::LogAppendTime,
            ..small_config()
        },
    );
    let info = log
        .append_as_leader(&encode_batch(3, 4, 1000, "k"), 2)
        .unwrap();
    assert!(info.log_append_time > 1000);
    let bytes = log
        .read(0, 1 << 20, None, true)
        .unwrap()
        .records
        .to_vec()
        .unwrap();
    let h = zkafka::log::batch::check_batch(&bytes).unwrap();
    assert!(h.is_log_append_time());
    assert_eq!(h.max_timestamp, info.log_append_time);
    assert_eq!(
        (info.offset_of_max_timestamp, h.partition_leader_epoch),
        (2, 2)
    );
}

/// A producer whose batch header claims a max timestamp its records do not hold: the
/// leader writes the records' real maximum with a new CRC (LogValidator's setMaxTimestamp),
/// and a correct header is written as sent.
#[test]
fn wrong_max_timestamp_is_rewritten_from_the_records() {
    use zkafka::log::batch::{check_batch, compute_crc, CRC_OFFSET, MAX_TIMESTAMP_OFFSET};
    let d = tempfile::tempdir().unwrap();
    let log = open_log(d.path(), small_config());
    let good = encode_batch(3, 4, 1000, "g"); // timestamps 1000..1002, header max 1002
    let mut bad = encode_batch(3, 4, 5000, "b"); // records 5000..5002
    bad[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&1i64.to_be_bytes());
    let crc = compute_crc(&bad);
    bad[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    let mut input = good.clone();
    input.extend_from_slice(&bad);
    let info = log.append_as_leader(&input, 4).unwrap();
    assert_eq!(
        (info.max_timestamp, info.offset_of_max_timestamp),
        (5002, 5)
    );
    let bytes = log
        .read(0, 1 << 20, None, true)
        .unwrap()
        .records
        .to_vec()
        .unwrap();
    let first = check_batch(&bytes).unwrap();
    assert_eq!(first.max_timestamp, 1002);
    assert_eq!(
        bytes[16..first.size()],
        good[16..],
        "a correct batch is kept as sent"
    );
    let second = check_batch(&bytes[first.size()..]).expect("the rewritten CRC is valid");
    assert_eq!(
        (
            second.max_timestamp,
            second.base_offset,
            second.partition_leader_epoch
        ),
        (5002, 3, 4)
    );
}

#[test]
fn follower_append_keeps_offsets_and_epochs() {
    let d = tempfile::tempdir().unwrap();
    let log = open_log(d.path(), small_config());
    let mut a = encode_batch(2, 3, 10, "k");
    a[0..8].copy_from_slice(&0i64.to_be_bytes());
    a[12..16].copy_from_slice(&0i32.to_be_bytes());
    let mut b = encode_batch(2, 3, 20, "k");
    b[0..8].copy_from_slice(&5i64.to_be_bytes()); // gap, as after compaction
    b[12..16].copy_from_slice(&3i32.to_be_bytes());
    let mut both = a.clone();
    both.extend(&b);
    let info = log.append_as_follower(&both).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (0, 6));
    assert_eq!(log.log_end_offset(), 7);
    assert_eq!(
        fs::read_to_string(d.path().join("leader-epoch-checkpoint")).unwrap(),
        "0\n2\n0 0\n3 5\n"
    );
    assert_eq!(log.end_offset_for_epoch(0), (0, 5));
    assert_eq!(log.end_offset_for_epoch(3), (3, 7));
    assert!(matches!(
        log.append_as_follower(&a),
        Err(LogError::OffsetsOutOfOrder(_))
    ));
}

#[test]
fn truncation_drops_suffix_and_epochs() {
    let d = tempfile::tempdir().unwrap();
    let log = open_log(
        d.path(),
        LogConfig {
            segment_bytes: 300,
            ..small_config()
        },
    );
    for epoch in 0..6 {
        log.append_as_leader(&encode_batch(2, 60, 100 * epoch as i64, "k"), epoch)
            .unwrap();
    }
    assert!(log.num_segments() > 2);
    log.update_high_watermark(12);
    assert!(log.truncate_to(6).unwrap());
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(log.high_watermark(), 6);
    assert_eq!(log.latest_epoch(), Some(2));
    assert!(log.segment_base_offsets().iter().all(|b| *b <= 6));
    let info = log
        .append_as_leader(&encode_batch(1, 1, 1, "z"), 9)
        .unwrap();
    assert_eq!(info.first_offset, 6);
    log.truncate_fully_and_start_at(100).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (100, 100));
    assert!(log.leader_epoch_entries().is_empty());
    assert!(d.path().join("00000000000000000100.log").exists());
}

#[test]
fn retention_by_time_and_size_moves_log_start_offset() {
    let d = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 1000,
        retention_ms: 1000,
        file_delete_delay_ms: 0,
        ..small_config()
    };
    let log = open_log(d.path(), cfg);
    let now = 1_000_000;
    // 6 segments; record timestamps increase by 1 s per segment.
    for i in 0..6i64 {
        log.append_as_leader(&encode_batch(3, 80, now - 5000 + i * 1000, "k"), 0)
            .unwrap();
        log.roll().unwrap();
    }
    let bases = log.segment_base_offsets();
    assert_eq!(bases.len(), 7);
    // Nothing is deletable while the high watermark does not cover the segments.
    assert_eq!(log.delete_old_segments(now).unwrap(), 0);
    log.update_high_watermark(log.log_end_offset());
    // Segments whose newest record is older than now - 1000 go: i = 0..=3 (newest ts up to now-1998).
    assert_eq!(log.delete_old_segments(now).unwrap(), 4);
    assert_eq!(log.log_start_offset(), bases[4]);
    assert!(fs::read_dir(d.path()).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".log.deleted")));
    log.deleter().run_all();
    assert!(!d.path().join("00000000000000000000.log.deleted").exists());

    let size_one = log.size() / 2; // two non-empty segments remain
    log.update_config(LogConfig {
        retention_ms: -1,
        retention_bytes: size_one as i64,
        segment_bytes: 1000,
        ..small_config()
    });
    assert_eq!(log.delete_old_segments(now).unwrap(), 1);
    assert_eq!(log.log_start_offset(), bases[5]);
    assert!(log.read(0, 100, None, true).is_err());

    // DeleteRecords-style start offset move, then retention rule 3 drops the segment.
    log.delete_records_before(log.log_end_offset()).unwrap();
    assert_eq!(log.delete_old_segments(now).unwrap(), 1);
    assert_eq!(log.num_segments(), 1);
}

/// The keys of every record `log` returns from `offset` on (one read).
fn keys_from(log: &zkafka::log::Log, offset: i64) -> Vec<(i64, String)> {
    let bytes = log.read(offset, 1 << 20, None, false).unwrap().records;
    let mut buf = BytesMut::from(&bytes.to_vec().unwrap()[..]);
    RecordBatchDecoder::decode_all(&mut buf)
        .unwrap()
        .iter()
        .flat_map(|s| s.records.iter())
        .map(|r| {
            let key = String::from_utf8(r.key.as_ref().unwrap().to_vec()).unwrap();
            (r.offset, key)
        })
        .collect()
}

/// Three logs taking turns under a file cache of one `.log` handle: every append, read,
/// roll, truncation, flush and recovery reopens the file it needs and nothing is misplaced.
#[test]
fn logs_sharing_a_one_handle_file_cache_stay_correct() {
    // The cache is process-wide: the other tests of this binary only reopen more often.
    zkafka::log::file_cache::FileCache::global().set_capacity(1);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let cfg = LogConfig {
        segment_bytes: 600,
        preallocate: true,
        ..small_config()
    };
    let key = |log: usize, off: i64| format!("l{log}r{}-{}", off / 2, off % 2);
    let logs: Vec<_> = dirs
        .iter()
        .map(|d| open_log(d.path(), cfg.clone()))
        .collect();
    for round in 0..6i64 {
        for (i, log) in logs.iter().enumerate() {
            let prefix = format!("l{i}r{round}-");
            let info = log
                .append_as_leader(&encode_batch(2, 60, round * 10, &prefix), 0)
                .unwrap();
            assert_eq!(info.first_offset, round * 2, "log {i}");
        }
    }
    for (i, log) in logs.iter().enumerate() {
        assert!(log.num_segments() > 2, "log {i} rolled");
        for off in (0..12).step_by(2) {
            let got = keys_from(log, off);
            assert_eq!(got[0], (off, key(i, off)), "log {i} at {off}");
        }
        assert!(log.truncate_to(7).unwrap());
        let info = log
            .append_as_leader(&encode_batch(2, 60, 99, "new-"), 1)
            .unwrap();
        assert_eq!(info.first_offset, 6, "log {i} appends after its truncation");
        log.flush().unwrap();
    }
    drop(logs);
    // Reopened as after a crash: recovery reads every segment through the one handle.
    for (i, d) in dirs.iter().enumerate() {
        let log = open_log(d.path(), cfg.clone());
        assert_eq!(log.log_end_offset(), 8, "log {i} recovered");
        let mut all = Vec::new();
        while (all.len() as i64) < 8 {
            let got = keys_from(&log, all.len() as i64);
            assert!(!got.is_empty(), "log {i} at {}", all.len());
            all.extend(got);
        }
        let want: Vec<(i64, String)> = (0..8)
            .map(|o| {
                (
                    o,
                    if o < 6 {
                        key(i, o)
                    } else {
                        format!("new-{}", o - 6)
                    },
                )
            })
            .collect();
        assert_eq!(all, want, "log {i}");
    }
}
