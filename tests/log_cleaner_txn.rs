//! Log compaction of transactional data (LogCleaner.scala's transaction rules): aborted
//! transactions' batches go, markers stay until their transaction's data is gone and their
//! segment is past delete.retention.ms, nothing from the first open transaction on is
//! cleaned, a producer's last batch survives (emptied) so producer state can be rebuilt, and
//! each cleaned segment's `.txnindex` lists only the aborts whose markers it kept.

mod common;

use std::fs;
use std::path::Path;

use common::log_util::open_with;
use zkafka::log::batch::{
    build_batch, end_transaction_marker_batch, parse_records, read_control_record,
    set_producer_fields, set_transactional, HeaderIter, CONTROL_TYPE_COMMIT,
};
use zkafka::log::cleaner_manager::cleanable_offsets;
use zkafka::log::config::CleanupPolicy;
use zkafka::log::txn_index::{decode_entries, AbortedTxn};
use zkafka::log::{AppendOrigin, Cleaner, CleanerSettings, LoadParams, Log, LogConfig};

const A: i64 = 1000;
const B: i64 = 2000;
const C: i64 = 3000;
const TS: i64 = 1_700_000_000_000;

fn name(pid: i64) -> &'static str {
    match pid {
        A => "A",
        B => "B",
        C => "C",
        _ => "p",
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_index_bytes: 4096,
        delete_retention_ms: 60_000,
        cleanup_policy: CleanupPolicy {
            delete: false,
            compact: true,
        },
        ..LogConfig::default()
    }
}

/// Appends a transactional batch of `pid` with `key=value` records.
fn txn_append(log: &Log, pid: i64, seq: i32, records: &[(&str, &str)]) -> i64 {
    let recs: Vec<_> = records
        .iter()
        .map(|(k, v)| (TS, Some(k.as_bytes()), Some(v.as_bytes()), &[][..]))
        .collect();
    let mut b = build_batch(0, 0, &recs);
    set_transactional(&mut b, pid, 0);
    set_producer_fields(&mut b, pid, 0, seq);
    log.append_as_leader(&b, 1).unwrap().first_offset
}

fn marker(log: &Log, pid: i64, commit: bool) -> i64 {
    let m = end_transaction_marker_batch(pid, 0, commit, 3, TS);
    log.append_as_leader_with_origin(&m, 1, AppendOrigin::Coordinator)
        .unwrap()
        .first_offset
}

/// The log's batches in file order: `o:k=v` per record, `o:P-COMMIT`/`o:P-ABORT` per
/// marker, `o:P-empty` for a batch kept with no records.
fn on_disk(dir: &Path) -> Vec<String> {
    try_on_disk(dir).unwrap()
}

fn try_on_disk(dir: &Path) -> Result<Vec<String>, String> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let bytes = fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        for (p, h) in HeaderIter::new(&bytes) {
            let batch = &bytes[p..p + h.size()];
            zkafka::log::batch::check_batch(batch).map_err(|e| e.to_string())?;
            let records = parse_records(batch)?;
            let who = name(h.producer_id);
            if records.is_empty() {
                out.push(format!("{}:{who}-empty", h.base_offset));
            }
            for r in records {
                let o = h.base_offset + r.offset_delta as i64;
                if h.is_control() {
                    let (kind, _) = read_control_record(r.key.unwrap(), r.value).unwrap();
                    let kind = if kind == CONTROL_TYPE_COMMIT {
                        "COMMIT"
                    } else {
                        "ABORT"
                    };
                    out.push(format!("{o}:{who}-{kind}"));
                } else {
                    let s = |b: Option<&[u8]>| String::from_utf8(b.unwrap().to_vec()).unwrap();
                    out.push(format!("{o}:{}={}", s(r.key), s(r.value)));
                }
            }
        }
    }
    Ok(out)
}

fn txn_index(dir: &Path) -> Vec<(i64, i64, i64)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txnindex"))
        .collect();
    files.sort();
    for f in files {
        let entries: Vec<AbortedTxn> = decode_entries(&fs::read(f).unwrap()).unwrap();
        out.extend(
            entries
                .iter()
                .map(|t| (t.producer_id, t.first_offset, t.last_offset)),
        );
    }
    out
}

/// One pass as the broker's cleaner thread chooses its range.
fn clean(cleaner: &mut Cleaner, log: &Log, first_dirty: i64) -> i64 {
    let now = zkafka::log::swap::system_time_ms(std::time::SystemTime::now());
    let (first_dirty, first_uncleanable, _) =
        cleanable_offsets(&log.snapshot(), log, Some(first_dirty), now);
    let r = cleaner.clean(log, first_dirty, first_uncleanable).unwrap();
    r.end_offset
}

fn roll_and_commit_hw(log: &Log) {
    log.roll().unwrap();
    log.update_high_watermark(log.log_end_offset());
}

#[test]
fn aborted_data_goes_markers_follow_and_open_transactions_are_not_cleaned() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    let log = open_with(&dir, config(), LoadParams::default());
    assert_eq!(txn_append(&log, A, 0, &[("k0", "a1"), ("k1", "a1")]), 0);
    assert_eq!(txn_append(&log, B, 0, &[("k0", "b1"), ("k2", "b1")]), 2);
    assert_eq!(marker(&log, A, false), 4);
    assert_eq!(marker(&log, B, true), 5);
    assert_eq!(txn_append(&log, A, 2, &[("k1", "a2")]), 6);
    assert_eq!(marker(&log, A, true), 7);
    // B's last batch is aborted: it stays (empty) for B's sequence number.
    assert_eq!(txn_append(&log, B, 2, &[("k2", "b2")]), 8);
    assert_eq!(marker(&log, B, false), 9);
    log.roll().unwrap();
    // C's transaction stays open through the first pass; its key shadows k0.
    assert_eq!(txn_append(&log, C, 0, &[("k0", "c1")]), 10);
    log.roll().unwrap();
    assert_eq!(txn_append(&log, A, 3, &[("k1", "a3")]), 11);
    assert_eq!(marker(&log, A, true), 12);
    roll_and_commit_hw(&log);
    assert_eq!(txn_index(&dir), vec![(A, 0, 4), (B, 8, 9)]);

    // Pass 1 stops at C's open transaction (10); nothing is past the delete horizon yet.
    // The aborted k0/k2 values never shadow the committed ones in the offset map.
    let mut cleaner = Cleaner::new(CleanerSettings::default());
    let end1 = clean(&mut cleaner, &log, 0);
    assert_eq!(end1, 10);
    let after1 = [
        "2:k0=b1",
        "3:k2=b1",
        "4:A-ABORT",
        "5:B-COMMIT",
        "6:k1=a2",
        "7:A-COMMIT",
        "8:B-empty",
        "9:B-ABORT",
        "10:k0=c1",
        "11:k1=a3",
        "12:A-COMMIT",
    ];
    assert_eq!(on_disk(&dir), after1);
    // A's ABORT stays within the horizon, and so does its entry: it covered a batch this
    // pass removed. B's covers the batch kept empty.
    assert_eq!(txn_index(&dir), vec![(A, 0, 4), (B, 8, 9)]);

    // C commits; pass 2 cleans everything below the active segment. k0 and k1 have newer
    // committed values, so B's batch loses k0 and A's batch at 6 goes. A's ABORT, whose data
    // is gone, stays (within the horizon) but leaves the index.
    assert_eq!(marker(&log, C, true), 13);
    roll_and_commit_hw(&log);
    let end2 = clean(&mut cleaner, &log, end1);
    assert_eq!(end2, 14);
    let after2 = [
        "3:k2=b1",
        "4:A-ABORT",
        "5:B-COMMIT",
        "7:A-COMMIT",
        "8:B-empty",
        "9:B-ABORT",
        "10:k0=c1",
        "11:k1=a3",
        "12:A-COMMIT",
        "13:C-COMMIT",
    ];
    assert_eq!(on_disk(&dir), after2);
    assert_eq!(txn_index(&dir), vec![(B, 8, 9)]);

    // Past delete.retention.ms, markers whose transaction left no batch go: A's ABORT and
    // A's COMMIT at 7. B's COMMIT still has its k2 record, B's ABORT its empty batch.
    log.update_config(LogConfig {
        delete_retention_ms: 0,
        ..config()
    });
    let recs = [(TS, Some(&b"k9"[..]), Some(&b"x"[..]), &[][..])];
    log.append_as_leader(&build_batch(0, 0, &recs), 1).unwrap();
    roll_and_commit_hw(&log);
    assert_eq!(clean(&mut cleaner, &log, end2), 15);
    let after3 = [
        "3:k2=b1",
        "5:B-COMMIT",
        "8:B-empty",
        "9:B-ABORT",
        "10:k0=c1",
        "11:k1=a3",
        "12:A-COMMIT",
        "13:C-COMMIT",
        "14:k9=x",
    ];
    assert_eq!(on_disk(&dir), after3);
    assert_eq!(txn_index(&dir), vec![(B, 8, 9)]);

    // Producer state rebuilt from the cleaned log alone matches the live one.
    let producers = log.last_records_of_active_producers();
    log.close().unwrap();
    drop(log);
    for f in fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "snapshot") {
            fs::remove_file(p).unwrap();
        }
    }
    let unclean = LoadParams {
        recovery_point: 0,
        log_start_offset: None,
        had_clean_shutdown: false,
    };
    let log = open_with(&dir, config(), unclean);
    assert_eq!(log.last_records_of_active_producers(), producers);
    assert_eq!(producers.len(), 3, "{producers:?}");
    assert_eq!(txn_index(&dir), vec![(B, 8, 9)]);
    assert_eq!(on_disk(&dir), after3);
}

/// `on_disk` of a live broker's partition: retried while the cleaner swaps files.
fn on_disk_live(dir: &Path) -> Vec<String> {
    for _ in 0..50 {
        if let Ok(v) = try_on_disk(dir) {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    on_disk(dir)
}

/// The values on disk (sorted) and the markers and empty batches, without offsets.
fn summary(entries: &[String]) -> (Vec<String>, Vec<String>) {
    let mut values = Vec::new();
    let mut other = Vec::new();
    for e in entries {
        let item = e.split_once(':').unwrap().1;
        match item.split_once('=') {
            Some((_, v)) => values.push(v.to_string()),
            None => other.push(item.to_string()),
        }
    }
    values.sort();
    (values, other)
}

/// Values a confluent-kafka consumer reads from partition 0 with `isolation`, sorted.
fn consumed(bootstrap: &str, topic: &str, isolation: &str) -> Vec<String> {
    let mut v: Vec<String> =
        common::data_util::txn_clients(&["consume", bootstrap, topic, isolation])
            .iter()
            .map(|r| r["v"].as_str().unwrap().to_string())
            .collect();
    v.sort();
    v
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    v.sort();
    v
}

/// Polls the partition's files until `done` holds of them (the cleaner runs by itself).
async fn wait_on_disk(
    dir: &Path,
    broker: &common::Broker,
    what: &str,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let got = on_disk_live(dir);
        if done(&got) {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not cleaned in time: {got:?}\nbroker log tail:\n{}",
            common::tail_file(broker.log_path(), 30)
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A real broker compacts a topic written by confluent-kafka's transactional producer:
/// committed values are deduplicated, aborted ones leave the files, an open transaction's
/// records survive cleaning until it is aborted (by its timeout), and both read_committed
/// and read_uncommitted consumers read exactly the committed data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_cleans_aborted_transactions_of_a_compacted_topic() {
    let (zk, broker) = common::data_util::single_broker(&[
        ("log.cleaner.backoff.ms", "100"),
        ("log.cleaner.dedupe.buffer.size", "2097152"),
        ("offsets.topic.num.partitions", "1"),
        ("offsets.topic.replication.factor", "1"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("transaction.state.log.num.partitions", "1"),
        ("transaction.state.log.replication.factor", "1"),
        ("transaction.state.log.min.isr", "1"),
        (
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            "500",
        ),
    ]);
    let bootstrap = broker.bootstrap();
    let topic = "txn-compacted";
    common::data_util::create_topic(
        &zk.connect_string(),
        &bootstrap,
        topic,
        1,
        &[1],
        &[
            ("cleanup.policy", "compact"),
            ("segment.ms", "200"),
            ("min.cleanable.dirty.ratio", "0.01"),
            ("delete.retention.ms", "0"),
        ],
    )
    .await;
    let dir = broker.log_dir().join(format!("{topic}-0"));
    // Keys k-0..k-9: "commit-1-<i>" committed, "abort-<i>" aborted, "commit-2-<i>" committed.
    common::data_util::txn_clients(&["confluent-txn", &bootstrap, topic, "tc-1", "tc-g", "10"]);
    // After segment.ms the open transaction's first batch starts a new segment: everything
    // before it is cleanable, nothing from it on.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    common::data_util::txn_clients(&["hang", &bootstrap, topic, "tc-open", "6000", "10", "k-"]);
    let hung_at = std::time::Instant::now();

    let committed = values("commit-2", 10);
    let mut with_open = committed.clone();
    with_open.extend(values("hung", 10));
    with_open.sort();
    wait_on_disk(&dir, &broker, "first pass", |e| summary(e).0 == with_open).await;
    assert_eq!(consumed(&bootstrap, topic, "read_committed"), committed);
    assert_eq!(consumed(&bootstrap, topic, "read_uncommitted"), with_open);

    // The open transaction times out and is aborted (its producer's epoch bumped); once a
    // later record rolls its segment the cleaner removes its records. Of the markers only
    // the COMMIT of the surviving commit-2 values stays, and the hung producer's ABORT (or,
    // once its transaction is gone, that marker kept empty for the producer's epoch): the
    // other transactions left no records, and delete.retention.ms is 0.
    let timeout = std::time::Duration::from_millis(6000 + 1500);
    tokio::time::sleep(timeout.saturating_sub(hung_at.elapsed())).await;
    common::data_util::kcat_with_input(
        &["-P", "-b", &bootstrap, "-t", topic, "-K", ":", "-p", "0"],
        b"zz-end:done\n",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut final_values = committed.clone();
    final_values.push("done".into());
    final_values.sort();
    let last = wait_on_disk(&dir, &broker, "second pass", |e| {
        let (v, m) = summary(e);
        let count = |s: &str| m.iter().filter(|x| *x == s).count();
        v == final_values && count("p-COMMIT") == 1 && count("p-ABORT") + count("p-empty") == 1
    })
    .await;
    eprintln!("on disk after cleaning: {last:?}");
    assert_eq!(consumed(&bootstrap, topic, "read_committed"), final_values);
    assert_eq!(
        consumed(&bootstrap, topic, "read_uncommitted"),
        final_values
    );

    // kafka-dump-log.sh --transaction-log-decoder shows both transactions' coordinator
    // states (TransactionLog.formatRecordKeyAndValue).
    let seg = broker
        .log_dir()
        .join("__transaction_state-0/00000000000000000000.log");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args(["dump-log", "--transaction-log-decoder", "--files"])
        .arg(&seg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let line = |id: &str, state: &str| {
        text.lines().any(|l| {
            l.contains(&format!(
                " key: transaction_metadata::transactionalId={id} payload: producerId:"
            )) && l.contains(state)
        })
    };
    assert!(
        line("tc-open", ",state=Ongoing,partitions=[txn-compacted-0],"),
        "{text}"
    );
    assert!(line("tc-open", ",txnTimeoutMs=6000"), "{text}");
    assert!(
        line("tc-open", ",state=CompleteAbort,partitions=[],"),
        "{text}"
    );
    assert!(
        line("tc-1", ",state=CompleteCommit,partitions=[],"),
        "{text}"
    );
}
