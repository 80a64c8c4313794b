//! Transactions with real clients (issue 13): confluent-kafka's transactional producer
//! commits and aborts through the transaction coordinator (`__transaction_state`), its
//! markers reach every partition, offsets sent with the transaction become the group's
//! committed offsets, a second producer with the same transactional.id fences the first,
//! and an abandoned transaction is aborted when it times out.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::data_util::{create_topic, json_lines_of, txn_clients};
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
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["120", "node", "txn_clients.js"])
        .args(args)
        .current_dir(dir);
    json_lines_of(&mut cmd, &format!("node txn_clients.js {args:?}"))
}

/// A client ran its three transactions (commit, abort, commit with offsets) on `txn-in`:
/// every record reached the log, the aborted ones too (read_uncommitted), the markers took
/// offsets of their own, and the group's offset arrived with the committed transaction.
/// Returns the records per partition as read_uncommitted saw them.
async fn check_three_transactions(bootstrap: &str, group: &str) -> BTreeMap<i64, Vec<String>> {
    let uncommitted = read_values(bootstrap, "txn-in", "read_uncommitted");
    assert_eq!(
        all_values(&uncommitted),
        expected(&["commit-1", "abort", "commit-2"], 20)
    );
    check_read_committed(bootstrap, &uncommitted);
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
    uncommitted
}

/// A read_committed consumer (librdkafka, which drops records by the Fetch response's
/// aborted_transactions) sees every committed record, in log order, and none aborted.
fn check_read_committed(bootstrap: &str, uncommitted: &BTreeMap<i64, Vec<String>>) {
    let want: BTreeMap<i64, Vec<String>> = uncommitted
        .iter()
        .map(|(p, vs)| {
            let kept = vs.iter().filter(|v| !v.starts_with("abort-")).cloned();
            (*p, kept.collect::<Vec<_>>())
        })
        .filter(|(_, vs)| !vs.is_empty())
        .collect();
    // EndTxn answers before its markers are written: until then the last stable offset
    // holds the transaction back, so a reader may end early, never read aborted records.
    let mut committed = BTreeMap::new();
    for _ in 0..20 {
        committed = read_values(bootstrap, "txn-in", "read_committed");
        let aborted = committed
            .values()
            .flatten()
            .any(|v| v.starts_with("abort-"));
        assert!(
            !aborted,
            "read_committed saw aborted records: {committed:?}"
        );
        if committed == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        committed, want,
        "read_committed sees every committed record in order"
    );
}

/// `.txnindex` entries (34 bytes each) over the `txn-in` partitions in `log_dir`.
fn txn_index_entries(log_dir: &std::path::Path) -> u64 {
    (0..3)
        .flat_map(|p| std::fs::read_dir(log_dir.join(format!("txn-in-{p}"))).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txnindex"))
        .map(|p| std::fs::metadata(p).unwrap().len() / 34)
        .sum()
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
    let uncommitted = check_three_transactions(&bootstrap, "g-1").await;
    // One aborted transaction per partition it wrote to, indexed on every replica.
    let aborted_partitions = uncommitted
        .values()
        .filter(|vs| vs.iter().any(|v| v.starts_with("abort-")))
        .count() as u64;
    for b in &brokers {
        assert_eq!(txn_index_entries(b.log_dir()), aborted_partitions);
    }
    // The group's new coordinator rebuilds its offsets from __consumer_offsets: the offset
    // of the committed transaction counts, the one of the aborted transaction (7) does not.
    let (coordinator, _) = common::groups::find_coordinator(&bootstrap, "g-1").await;
    let mut brokers = brokers;
    let victim = brokers.iter().position(|b| b.id() == coordinator).unwrap();
    brokers[victim].kill9();
    let survivor = brokers[(victim + 1) % 3].bootstrap();
    let c = txn_clients(&["committed", &survivor, "g-1", "txn-in", "0"]);
    assert_eq!(
        c[0]["offset"], 42,
        "offsets after the group coordinator moved"
    );
    // The partitions it led moved to followers, whose indexes came from replication; the
    // killed broker recovers its log (and indexes) at restart.
    check_read_committed(&survivor, &uncommitted);
    brokers[victim].restart();
    brokers[victim].wait_listening(Duration::from_secs(60));
    let dir = brokers[victim].log_dir().to_path_buf();
    wait_until_msg(
        Duration::from_secs(30),
        "the restarted broker's .txnindex",
        || {
            let n = txn_index_entries(&dir);
            async move { n == aborted_partitions }
        },
    )
    .await;
    check_read_committed(&brokers[victim].bootstrap(), &uncommitted);
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

/// (producer id, is control, control type) of every transactional batch of a partition as
/// one broker stored it.
fn txn_batches(log_dir: &std::path::Path, topic: &str, partition: i32) -> Vec<(i64, bool, i16)> {
    use zkafka::log::batch::{parse_records, BatchHeader};
    common::repl::disk_batches(log_dir, topic, partition)
        .into_iter()
        .filter_map(|(_, _, b)| {
            let h = BatchHeader::parse(&b);
            if !h.is_transactional() {
                return None;
            }
            let kind = if h.is_control() {
                let recs = parse_records(&b).expect("control batch parses");
                let key = recs[0].key.expect("control key");
                i16::from_be_bytes([key[2], key[3]])
            } else {
                -1
            };
            Some((h.producer_id, h.is_control(), kind))
        })
        .collect()
}

/// (partitions with an open transaction, ABORT markers) of a topic in one broker's log dir:
/// a producer's transaction is open until a marker of that producer follows its data.
fn transaction_summary(
    log_dir: &std::path::Path,
    topic: &str,
    partitions: i32,
) -> (Vec<String>, usize) {
    let mut aborts = 0;
    let mut open_in = Vec::new();
    for p in 0..partitions {
        let mut open = std::collections::BTreeSet::new();
        for (pid, control, kind) in txn_batches(log_dir, topic, p) {
            if control {
                open.remove(&pid);
                aborts += usize::from(kind == 0);
            } else {
                open.insert(pid);
            }
        }
        if !open.is_empty() {
            open_in.push(format!("{topic}-{p}: producers {open:?}"));
        }
    }
    (open_in, aborts)
}

/// The broker id coordinating `txn_id` (FindCoordinator key type 1).
async fn txn_coordinator_of(bootstrap: &str, txn_id: &str) -> i32 {
    use kafka_protocol::messages::FindCoordinatorRequest;
    let req = FindCoordinatorRequest::default()
        .with_key(txn_id.to_string().into())
        .with_key_type(1);
    wait_for(Duration::from_secs(30), || async {
        let mut c = common::repl::client(bootstrap).await.ok()?;
        let r = c.send(&req, 2).await.ok()?;
        (r.error_code == 0).then_some(r.node_id.0)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_coordinator_aborts_the_open_transaction_of_a_killed_one() {
    let (_zk, mut brokers) = txn_cluster().await;
    let bootstrap = brokers[0].bootstrap();
    // An open transaction: records written, neither committed nor aborted.
    let r = txn_clients(&["hang", &bootstrap, "txn-in", "tx-fail", "60000", "10"]);
    assert_eq!(r[0]["done"], true);
    // __consumer_offsets (replication factor 3) must exist before a broker dies.
    let c = txn_clients(&["committed", &bootstrap, "g-fail", "txn-in", "0"]);
    assert_eq!(c[0]["offset"], -1001, "no offset committed yet");
    let coordinator = txn_coordinator_of(&bootstrap, "tx-fail").await;
    let victim = brokers.iter().position(|b| b.id() == coordinator).unwrap();
    brokers[victim].kill9();
    let survivor = &brokers[(victim + 1) % 3];
    // The same transactional id on the new coordinator: it loads __transaction_state, finds
    // the transaction Ongoing, fences and aborts it, then serves the new producer.
    let done = txn_clients(&[
        "confluent-txn",
        &survivor.bootstrap(),
        "txn-in",
        "tx-fail",
        "g-fail",
        "20",
    ]);
    assert_eq!(done[0]["done"], true);
    let (open, aborts) = transaction_summary(survivor.log_dir(), "txn-in", 3);
    assert!(open.is_empty(), "transactions left open: {open:?}");
    assert!(
        aborts >= 2,
        "the hung and the aborted transactions have ABORT markers"
    );
    let c = txn_clients(&["committed", &survivor.bootstrap(), "g-fail", "txn-in", "0"]);
    assert_eq!(c[0]["offset"], 42);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_past_its_timeout_is_aborted_by_the_coordinator() {
    let (_zk, brokers) = txn_cluster().await;
    let bootstrap = brokers[0].bootstrap();
    let r = txn_clients(&["hang", &bootstrap, "txn-in", "tx-slow", "2000", "10"]);
    assert_eq!(r[0]["done"], true);
    // The scan runs every second here; the abort writes ABORT markers on every partition
    // the transaction touched.
    wait_until_msg(
        Duration::from_secs(30),
        "the timed-out transaction aborted",
        || async {
            brokers.iter().all(|b| {
                let (open, aborts) = transaction_summary(b.log_dir(), "txn-in", 3);
                open.is_empty() && aborts >= 1
            })
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn read_committed_consumers_stop_at_the_last_stable_offset() {
    let (_zk, brokers) = txn_cluster().await;
    let bootstrap = brokers[0].bootstrap();
    let done = txn_clients(&[
        "confluent-txn",
        &bootstrap,
        "txn-in",
        "tx-lso",
        "g-lso",
        "20",
    ]);
    assert_eq!(done[0]["done"], true);
    // A transaction left open holds the last stable offset at its first record.
    let r = txn_clients(&["hang", &bootstrap, "txn-in", "tx-open", "60000", "10"]);
    assert_eq!(r[0]["done"], true);
    let uncommitted = all_values(&read_values(&bootstrap, "txn-in", "read_uncommitted"));
    assert_eq!(
        uncommitted
            .iter()
            .filter(|v| v.starts_with("hung-"))
            .count(),
        10,
        "read_uncommitted reads the open transaction"
    );
    let committed = all_values(&read_values(&bootstrap, "txn-in", "read_committed"));
    assert!(
        !committed.iter().any(|v| v.starts_with("hung-")),
        "read_committed stops before the open transaction: {committed:?}"
    );
    for v in expected(&["commit-1", "commit-2"], 20) {
        assert!(committed.contains(&v), "{v} committed but not read");
    }
}

/// (partition error, committed offset) of `group`'s `topic`-0 from its coordinator
/// (OffsetFetch v7); None while no broker serves the group.
async fn fetch_offset(
    bootstrap: &str,
    group: &str,
    topic: &str,
    require_stable: bool,
) -> Option<(i16, i64)> {
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
    use kafka_protocol::messages::{
        FindCoordinatorRequest, GroupId, OffsetFetchRequest, TopicName,
    };
    let mut c = common::repl::client(bootstrap).await.ok()?;
    let find = FindCoordinatorRequest::default().with_key(group.to_string().into());
    let r = c.send(&find, 3).await.ok()?;
    if r.error_code != 0 {
        return None;
    }
    let mut c = common::repl::client(&format!("{}:{}", r.host, r.port))
        .await
        .ok()?;
    let req = OffsetFetchRequest::default()
        .with_group_id(GroupId(group.to_string().into()))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(topic.to_string().into()))
            .with_partition_indexes(vec![0])]))
        .with_require_stable(require_stable);
    let r = c.send(&req, 7).await.ok()?;
    let p = r.topics.first()?.partitions.first()?;
    (r.error_code == 0).then_some((p.error_code, p.committed_offset))
}

/// One JSON line from a client's stdout.
fn read_json(out: &mut impl std::io::BufRead) -> serde_json::Value {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_transactional_offsets_survive_a_group_coordinator_kill() {
    use std::io::{BufReader, Write};
    let (_zk, mut brokers) = txn_cluster().await;
    let bootstrap = brokers[0].bootstrap();
    // __consumer_offsets (replication factor 3) must exist before a broker dies.
    let c = txn_clients(&["committed", &bootstrap, "g-pend", "txn-in", "0"]);
    assert_eq!(c[0]["offset"], -1001, "no offset committed yet");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/txn_clients.py");
    let mut producer = std::process::Command::new("timeout")
        .args(["180", "python3", script, "pending-offsets", &bootstrap])
        .args(["txn-in", "tx-pend", "g-pend"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut out = BufReader::new(producer.stdout.take().unwrap());
    assert_eq!(read_json(&mut out)["sent"], true);
    // KIP-447: offsets of an open transaction make require_stable fetches fail retriably.
    let before = wait_for(Duration::from_secs(30), || {
        fetch_offset(&bootstrap, "g-pend", "txn-in", true)
    })
    .await;
    assert_eq!(before, (88, -1), "UNSTABLE_OFFSET_COMMIT while pending");
    let (coordinator, _) = common::groups::find_coordinator(&bootstrap, "g-pend").await;
    let victim = brokers.iter().position(|b| b.id() == coordinator).unwrap();
    brokers[victim].kill9();
    let survivor = brokers[(victim + 1) % 3].bootstrap();
    // The new coordinator read the TxnOffsetCommit record with no marker after it: pending.
    let after = wait_for(Duration::from_secs(60), || {
        fetch_offset(&survivor, "g-pend", "txn-in", true)
    })
    .await;
    assert_eq!(after, (88, -1), "still pending on the new coordinator");
    let unstable = fetch_offset(&survivor, "g-pend", "txn-in", false).await;
    assert_eq!(
        unstable,
        Some((0, -1)),
        "without require_stable: nothing committed"
    );
    // The COMMIT marker reaches the new coordinator's partition: the offset is committed.
    writeln!(producer.stdin.as_mut().unwrap(), "commit").unwrap();
    assert_eq!(read_json(&mut out)["committed"], true);
    assert!(producer.wait().unwrap().success());
    let c = txn_clients(&["committed", &survivor, "g-pend", "txn-in", "0"]);
    assert_eq!(c[0]["offset"], 42, "the committed transaction's offset");
}

/// WriteTxnMarkers (COMMIT) for producer 4242 on `txn-in`-0 from `coordinator_epoch`: the
/// partition's error code, from whichever broker leads it.
async fn write_marker(brokers: &[Broker], coordinator_epoch: i32) -> i16 {
    use kafka_protocol::messages::write_txn_markers_request::{
        WritableTxnMarker, WritableTxnMarkerTopic,
    };
    use kafka_protocol::messages::{ProducerId, TopicName, WriteTxnMarkersRequest};
    let req = WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
        .with_producer_id(ProducerId(4242))
        .with_producer_epoch(0)
        .with_transaction_result(true)
        .with_topics(vec![WritableTxnMarkerTopic::default()
            .with_name(TopicName("txn-in".to_string().into()))
            .with_partition_indexes(vec![0])])
        .with_coordinator_epoch(coordinator_epoch)]);
    wait_for(Duration::from_secs(30), || async {
        for b in brokers {
            let mut c = common::repl::client(&b.bootstrap()).await.ok()?;
            let r = c.send(&req, 1).await.ok()?;
            let code = r
                .markers
                .first()?
                .topics
                .first()?
                .partitions
                .first()?
                .error_code;
            if code != 3 && code != 6 {
                return Some(code);
            }
        }
        None
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_marker_from_an_older_transaction_coordinator_is_fenced() {
    let (_zk, brokers) = txn_cluster().await;
    assert_eq!(write_marker(&brokers, 5).await, 0, "first marker");
    assert_eq!(write_marker(&brokers, 5).await, 0, "same coordinator epoch");
    assert_eq!(
        write_marker(&brokers, 4).await,
        52,
        "TRANSACTION_COORDINATOR_FENCED for a zombie coordinator"
    );
    assert_eq!(write_marker(&brokers, 6).await, 0, "a newer coordinator");
}

/// Runs `txn_clients.py ctp` in the background. Its loop has a deadline (SECONDS + 240 s),
/// but a call blocked inside librdkafka would outlive it: past SECONDS + 300 s it gets
/// SIGABRT, and Python's faulthandler prints where it was stuck into the stderr the test
/// reports.
/// The consume-transform-produce loop's client.
enum CtpClient {
    /// confluent-kafka (librdkafka), tests/python/txn_clients.py `ctp`.
    Librdkafka,
    /// The Kafka Java client, tests/java/TransactionalCopy.java, compiled against this
    /// classpath (a kafka-clients jar and its dependencies).
    Java(String),
}

fn spawn_ctp(client: &CtpClient, args: &[&str]) -> std::process::Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/txn_clients.py");
    let seconds: u64 = args[5].parse().expect("SECONDS");
    let mut command = std::process::Command::new("timeout");
    command.args(["-s", "ABRT", "-k", "10", &(seconds + 300).to_string()]);
    match client {
        CtpClient::Librdkafka => command.args(["python3", "-X", "faulthandler", script, "ctp"]),
        CtpClient::Java(classpath) => {
            let cp = common::java::compile("TransactionalCopy", classpath);
            command.args(["java", "-cp", &cp, "TransactionalCopy"])
        }
    };
    command
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 (scripts/test.sh installs it): {e}"))
}

/// The input indexes `i` of `out-<i>` values, per partition in offset order.
fn out_indexes(by_partition: &BTreeMap<i64, Vec<String>>) -> BTreeMap<i64, Vec<u64>> {
    by_partition
        .iter()
        .map(|(p, vs)| {
            let ix = vs
                .iter()
                .map(|v| v.trim_start_matches("out-").parse().expect("out-<i>"))
                .collect();
            (*p, ix)
        })
        .collect()
}

/// A consume-transform-produce loop in transactions (read_committed `ctp-in` -> `ctp-out`,
/// offsets sent with each transaction) while, round after round, the transaction
/// coordinator's broker and the leaders of `ctp-out` are killed with -9 and restarted; then
/// `ctp-out` read with read_committed holds every input exactly once, in input order per
/// partition. With `abort_every` > 0 the loop also aborts every `abort_every`-th
/// transaction on purpose (after its records and offsets were sent) and processes its
/// inputs again.
async fn ctp_chaos(rounds: usize, inputs: usize, abort_every: usize, client: CtpClient) {
    let (zk, mut brokers) = txn_cluster().await;
    let connect = zk.connect_string();
    let bootstrap: Vec<String> = brokers.iter().map(|b| b.bootstrap()).collect();
    let bootstrap = bootstrap.join(",");
    let isr2 = [("min.insync.replicas", "2")];
    for topic in ["ctp-in", "ctp-out"] {
        create_topic(
            &connect,
            &brokers[0].bootstrap(),
            topic,
            3,
            &[1, 2, 3],
            &isr2,
        )
        .await;
    }
    let n = inputs.to_string();
    txn_clients(&["fill", &bootstrap, "ctp-in", "3", &n]);
    let (txn_id, group) = ("ctp-txn", "ctp-group");
    let seconds = (8 * rounds + 6).to_string();
    let abort_every = abort_every.to_string();
    let args = [
        "ctp",
        &bootstrap,
        "ctp-in",
        "ctp-out",
        txn_id,
        group,
        &seconds,
        "10",
        &abort_every,
    ];
    let ctp = spawn_ctp(&client, &args[1..]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let zk_client = common::zk_client(&connect).await;
    for round in 0..rounds {
        let victim = if round % 2 == 0 {
            txn_coordinator_of(&brokers[0].bootstrap(), txn_id).await
        } else {
            let p = (round / 2 % 3) as i32;
            match common::repl::partition_state(&zk_client, "ctp-out", p).await {
                Some(s) if s.leader > 0 => s.leader,
                _ => continue,
            }
        };
        let b = brokers.iter_mut().find(|b| b.id() == victim).unwrap();
        eprintln!("ctp chaos round {round}: kill -9 broker {victim}");
        b.kill9();
        tokio::time::sleep(Duration::from_secs(3)).await;
        b.restart();
        b.wait_listening(Duration::from_secs(30));
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let out = tokio::task::spawn_blocking(move || ctp.wait_with_output())
        .await
        .unwrap()
        .expect("ctp output");
    assert!(
        out.status.success(),
        "the transactional loop failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    eprintln!("ctp chaos: {rounds} rounds, {inputs} inputs, loop {stats}");
    let read = out_indexes(&read_values(&bootstrap, "ctp-out", "read_committed"));
    let mut seen = std::collections::HashMap::new();
    for i in read.values().flatten() {
        *seen.entry(*i).or_insert(0) += 1;
    }
    let dups: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        dups.is_empty(),
        "{} inputs written more than once (input: count), e.g. {:?}",
        dups.len(),
        &dups[..dups.len().min(10)]
    );
    let lost: Vec<usize> = (0..inputs)
        .filter(|i| !seen.contains_key(&(*i as u64)))
        .collect();
    assert!(
        lost.is_empty(),
        "{} inputs missing from ctp-out, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    for (p, ix) in &read {
        assert!(
            ix.windows(2).all(|w| w[0] < w[1]),
            "ctp-out-{p} out of input order"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn consume_transform_produce_survives_coordinator_and_leader_kills() {
    ctp_chaos(3, 600, 0, CtpClient::Librdkafka).await;
}

/// The same with every fourth transaction aborted on purpose, whose records read_committed
/// consumers must skip (the aborted-transactions list in Fetch responses). Two rounds of
/// kills (the coordinator's broker, then a ctp-out leader) keep it near a minute.
#[tokio::test(flavor = "multi_thread")]
async fn consume_transform_produce_with_aborts_survives_kills() {
    ctp_chaos(2, 600, 4, CtpClient::Librdkafka).await;
}

/// The long run: `cargo test --test transactions -- --ignored --exact
/// consume_transform_produce_survives_12_rounds_of_kills`.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn consume_transform_produce_survives_12_rounds_of_kills() {
    ctp_chaos(12, 3000, 0, CtpClient::Librdkafka).await;
}

/// The loop with the Kafka Java client (a group member, so each TxnOffsetCommit carries its
/// generation, KIP-447), every fourth transaction aborted on purpose, through 12 rounds of
/// kills. Needs a Kafka Java client, which no registry this project's CI reaches ships:
/// `KAFKA_CLIENTS_CLASSPATH=<kafka-clients jar and its dependencies> cargo test --test
/// transactions java -- --ignored`.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn java_consume_transform_produce_survives_12_rounds_of_kills() {
    let classpath = common::java::clients_classpath();
    ctp_chaos(12, 3000, 4, CtpClient::Java(classpath)).await;
}
