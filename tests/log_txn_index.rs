//! The `.txnindex` of a segment (Kafka's TransactionIndex): written when an ABORT marker
//! completes a transaction, truncated with the log, rebuilt by crash recovery, and read by
//! read_committed fetches to list the aborted transactions of a range.

mod common;

use std::fs;
use std::path::Path;

use common::log_util::*;
use zkafka::log::batch::{end_transaction_marker_batch, set_producer_fields, set_transactional};
use zkafka::log::txn_index::{decode_entries, AbortedTxn};
use zkafka::log::{AppendOrigin, LoadParams, Log, LogConfig};

const A: i64 = 1000;
const B: i64 = 2000;

fn txn_batch(pid: i64, seq: i32, records: usize) -> Vec<u8> {
    let mut b = encode_batch(records, 10, 1_700_000_000_000, "k");
    set_transactional(&mut b, pid, 0);
    set_producer_fields(&mut b, pid, 0, seq);
    b
}

fn marker(log: &Log, pid: i64, commit: bool) -> i64 {
    let m = end_transaction_marker_batch(pid, 0, commit, 3, 1_700_000_000_000);
    log.append_as_leader_with_origin(&m, 1, AppendOrigin::Coordinator)
        .unwrap()
        .first_offset
}

fn txn(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
    AbortedTxn {
        producer_id: pid,
        first_offset: first,
        last_offset: last,
        last_stable_offset: lso,
    }
}

fn index_file(dir: &Path, base: i64) -> Vec<AbortedTxn> {
    match fs::read(dir.join(format!("{base:020}.txnindex"))) {
        Ok(data) => decode_entries(&data).unwrap(),
        Err(_) => Vec::new(),
    }
}

/// Offsets: A data 0-1, B data 2, A ABORT 3, B COMMIT 4, A data 5, A ABORT 6.
fn write_two_aborts(log: &Log) {
    log.append_as_leader(&txn_batch(A, 0, 2), 1).unwrap();
    log.append_as_leader(&txn_batch(B, 0, 1), 1).unwrap();
    assert_eq!(marker(log, A, false), 3);
    assert_eq!(marker(log, B, true), 4);
    log.append_as_leader(&txn_batch(A, 2, 1), 1).unwrap();
    assert_eq!(marker(log, A, false), 6);
}

#[test]
fn aborts_are_indexed_truncated_and_rebuilt_after_a_crash() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    let log = open_log(&dir, LogConfig::default());
    write_two_aborts(&log);
    // The first abort's LSO is B's open transaction; the second has none open.
    let expected = vec![txn(A, 0, 3, 2), txn(A, 5, 6, 7)];
    assert_eq!(index_file(&dir, 0), expected);
    assert_eq!(log.collect_aborted_transactions(0, 7).unwrap(), expected);
    assert_eq!(
        log.collect_aborted_transactions(4, 7).unwrap(),
        vec![txn(A, 5, 6, 7)]
    );
    assert!(log.collect_aborted_transactions(7, 8).unwrap().is_empty());

    // A new segment gets its own index, created by its first abort only.
    log.roll().unwrap();
    log.append_as_leader(&txn_batch(A, 3, 1), 1).unwrap();
    assert!(!dir.join(format!("{:020}.txnindex", 7)).exists());
    assert_eq!(marker(&log, A, false), 8);
    assert_eq!(index_file(&dir, 7), vec![txn(A, 7, 8, 9)]);
    assert_eq!(log.collect_aborted_transactions(0, 9).unwrap().len(), 3);

    // Truncation drops the entries of the markers it removes, in every segment.
    log.truncate_to(6).unwrap();
    assert_eq!(index_file(&dir, 0), vec![txn(A, 0, 3, 2)]);
    assert!(!dir.join(format!("{:020}.txnindex", 7)).exists());
    assert_eq!(marker(&log, A, false), 6);
    assert_eq!(index_file(&dir, 0), expected);
    log.close().unwrap();
    drop(log);

    // A crash that lost the index: recovery rebuilds it from the log.
    fs::remove_file(dir.join(format!("{:020}.txnindex", 0))).unwrap();
    let unclean = LoadParams {
        recovery_point: 0,
        log_start_offset: None,
        had_clean_shutdown: false,
    };
    let log = open_with(&dir, LogConfig::default(), unclean);
    assert_eq!(index_file(&dir, 0), expected);
    assert_eq!(log.collect_aborted_transactions(0, 7).unwrap(), expected);

    // kafka-dump-log prints it as DumpLogSegments.dumpTxnIndex does.
    let mut out = Vec::new();
    let file = dir.join(format!("{:020}.txnindex", 0));
    zkafka::admin::dump_log::dump_files(std::slice::from_ref(&file), false, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "Dumping {}\n\
             version: 0 producerId: 1000 firstOffset: 0 lastOffset: 3 lastStableOffset: 2\n\
             version: 0 producerId: 1000 firstOffset: 5 lastOffset: 6 lastStableOffset: 7\n",
            file.display()
        )
    );
}

#[test]
fn segments_deleted_by_retention_take_their_index_along() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    let log = open_log(&dir, LogConfig::default());
    write_two_aborts(&log);
    log.roll().unwrap();
    log.update_high_watermark(7);
    log.maybe_increment_log_start_offset(7).unwrap();
    assert_eq!(log.delete_old_segments(0).unwrap(), 1);
    assert!(!dir.join(format!("{:020}.txnindex", 0)).exists());
    assert!(dir.join(format!("{:020}.txnindex.deleted", 0)).exists());
}
