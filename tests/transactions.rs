//! Transactions with real clients (issue 13): confluent-kafka's transactional producer
//! commits and aborts through the transaction coordinator (`__transaction_state`), its
//! markers reach every partition, offsets sent with the transaction become the group's
//! committed offsets, a second producer with the same transactional.id fences the first,
//! and an abandoned transaction is aborted when it times out.

mod common;

use std::collections::BTreeMap;

use common::data_util::create_topic;
use common::*;

const SETTINGS: &[(&str, &str)] = &[
    ("offsets.topic.num.partitions", "3"),
    ("offsets.topic.replication.factor", "3"),
    ("transaction.state.log.num.partitions", "5"),
    ("transaction.state.log.replication.factor", "3"),
    (
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "1000",
    ),
    ("group.initial.rebalance.delay.ms", "0"),
];

/// Runs tests/python/txn_clients.py; one JSON value per stdout line.
fn txn_clients(args: &[&str]) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/txn_clients.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (scripts/test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "txn_clients.py {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Values read with `isolation`, per partition in offset order.
fn read_values(bootstrap: &str, topic: &str, isolation: &str) -> BTreeMap<i64, Vec<String>> {
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for r in txn_clients(&["consume", bootstrap, topic, isolation]) {
        out.entry(r["p"].as_i64().unwrap())
            .or_default()
            .push(r["v"].as_str().unwrap().to_string());
    }
    out
}

fn all_values(by_partition: &BTreeMap<i64, Vec<String>>) -> Vec<String> {
    let mut v: Vec<String> = by_partition.values().flatten().cloned().collect();
    v.sort();
    v
}

fn expected(prefixes: &[&str], count: usize) -> Vec<String> {
    let mut v: Vec<String> = prefixes
        .iter()
        .flat_map(|p| (0..count).map(move |i| format!("{p}-{i}")))
        .collect();
    v.sort();
    v
}

/// Runs tests/js/txn_clients.js (kafkajs); one JSON value per stdout line.
fn js_txn_clients(args: &[&str]) -> Vec<serde_json::Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");
    let out = std::process::Command::new("node")
        .arg("txn_clients.js")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node (scripts/test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "node txn_clients.js {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A client ran its three transactions (commit, abort, commit with offsets) on `txn-in`:
/// every record reached the log, the aborted ones too (read_uncommitted), the markers took
/// offsets of their own, and the group's offset arrived with the committed transaction.
async fn check_three_transactions(bootstrap: &str, group: &str) {
    let uncommitted = read_values(bootstrap, "txn-in", "read_uncommitted");
    assert_eq!(
        all_values(&uncommitted),
        expected(&["commit-1", "abort", "commit-2"], 20)
    );
    let c = txn_clients(&["committed", bootstrap, group, "txn-in", "0"]);
    assert_eq!(c[0]["offset"], 42, "offset committed in the transaction");
    let md = kcat_metadata_json(bootstrap).await;
    let txn_topic = md["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "__transaction_state")
        .expect("__transaction_state exists");
    assert_eq!(txn_topic["partitions"].as_array().unwrap().len(), 5);
}

async fn txn_cluster() -> (ZkEnsemble, Vec<Broker>) {
    let zk = ZkEnsemble::start(1);
    let brokers = start_cluster(&zk.connect_string(), SETTINGS).await;
    let bootstrap = brokers[0].bootstrap();
    create_topic(
        &zk.connect_string(),
        &bootstrap,
        "txn-in",
        3,
        &[1, 2, 3],
        &[],
    )
    .await;
    (zk, brokers)
}

#[tokio::test(flavor = "multi_thread")]
async fn confluent_transactions_commit_abort_and_send_offsets() {
    let (_zk, brokers) = txn_cluster().await;
    let bootstrap = brokers[0].bootstrap();
    let done = txn_clients(&["confluent-txn", &bootstrap, "txn-in", "tx-1", "g-1", "20"]);
    assert_eq!(done[0]["done"], true);
    check_three_transactions(&bootstrap, "g-1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kafkajs_transactions_commit_abort_and_send_offsets() {
    let (_zk, brokers) = txn_cluster().await;
    let bootstrap = brokers[1].bootstrap();
    let done = js_txn_clients(&["txn", &bootstrap, "txn-in", "tx-js", "g-js", "20"]);
    assert_eq!(done[0]["done"], true);
    check_three_transactions(&bootstrap, "g-js").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aiokafka_transactions_commit_abort_and_send_offsets() {
    let (_zk, brokers) = txn_cluster().await;
    let bootstrap = brokers[2].bootstrap();
    let done = txn_clients(&[
        "aiokafka-txn",
        &bootstrap,
        "txn-in",
        "tx-aio",
        "g-aio",
        "20",
    ]);
    assert_eq!(done[0]["done"], true);
    check_three_transactions(&bootstrap, "g-aio").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_producer_with_the_same_transactional_id_fences_the_first() {
    let zk = ZkEnsemble::start(1);
    let brokers = start_cluster(&zk.connect_string(), SETTINGS).await;
    let bootstrap = brokers[0].bootstrap();
    create_topic(
        &zk.connect_string(),
        &bootstrap,
        "fenced",
        1,
        &[1, 2, 3],
        &[],
    )
    .await;
    let r = txn_clients(&["fence", &bootstrap, "fenced", "tx-zombie"]);
    assert_eq!(r[0]["b_committed"], true);
    let err = r[0]["a_error"].as_str().unwrap_or("none");
    assert!(
        err.contains("FENCED") || err.contains("EPOCH"),
        "the zombie's commit fails as fenced, got {err}"
    );
}
