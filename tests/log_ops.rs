//! Log operations (issue 16) with real ZooKeeper, three real brokers and real clients:
//! DeleteRecords through the admin APIs of confluent-kafka, kafka-python, aiokafka and
//! kafkajs (low watermark, consumers starting at the new log start offset, followers
//! following, retention deleting the segments below it, the checkpoint surviving kill -9),
//! DescribeLogDirs and DescribeCluster, and Kafka's errors for bad input.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::data_util::json_lines_of;
use common::repl::*;
use common::*;

const T: Duration = Duration::from_secs(60);

/// (client, partition, offset to delete before): one partition per client.
const DELETES: [(&str, i32, i64); 4] = [
    ("confluent", 0, 25),
    ("kafka-python", 1, 35),
    ("aiokafka", 2, 45),
    ("kafkajs", 3, 55),
];

/// Three brokers whose retention runs every 500 ms (the log-start-offset checkpoint keeps its
/// 60 s period: leader and followers write it when DeleteRecords moves their start).
async fn cluster(connect: &str) -> Vec<Broker> {
    let props = [("log.retention.check.interval.ms", "500")];
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| Broker::start(id, connect, &props))
        .collect();
    for b in &mut brokers {
        b.wait_listening(T);
    }
    brokers
}

fn run_json(program: &str, script: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let path = format!("{}/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(program);
    cmd.arg(&path).args(args).env(
        "NODE_PATH",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/node_modules"),
    );
    json_lines_of(&mut cmd, &format!("{program} {script} {args:?}"))
}

/// Deletes records before `offset` with one client; its one JSON answer.
fn delete_records(
    client: &str,
    bootstrap: &str,
    topic: &str,
    p: i32,
    offset: i64,
) -> serde_json::Value {
    let (p, o) = (p.to_string(), offset.to_string());
    let mut out = if client == "kafkajs" {
        run_json(
            "node",
            "tests/js/logops.js",
            &["delete-records", bootstrap, topic, &p, &o],
        )
    } else {
        run_json(
            "python3",
            "tests/python/logops_clients.py",
            &["delete-records", client, bootstrap, topic, &p, &o],
        )
    };
    out.remove(0)
}

async fn leader_of(zk: &zookeeper_client::Client, topic: &str, p: i32) -> i32 {
    wait_for(T, || async {
        partition_state(zk, topic, p)
            .await
            .filter(|s| s.leader > 0)
            .map(|s| s.leader)
    })
    .await
}

fn broker(brokers: &[Broker], id: i32) -> &Broker {
    brokers.iter().find(|b| b.id() == id).expect("broker id")
}

/// ListOffsets EARLIEST on the partition's current leader, once it answers without error.
async fn earliest(zk: &zookeeper_client::Client, brokers: &[Broker], topic: &str, p: i32) -> i64 {
    wait_for(T, || async {
        let leader = leader_of(zk, topic, p).await;
        let mut c = client(&broker(brokers, leader).bootstrap()).await.ok()?;
        let (code, offset, _) = list_offset(&mut c, topic, p, -2).await;
        (code == 0).then_some(offset)
    })
    .await
}

async fn list_offset(
    c: &mut zkafka::network::client::BrokerClient,
    topic: &str,
    p: i32,
    ts: i64,
) -> (i16, i64, i32) {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::ListOffsetsRequest;
    let req = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(kafka_protocol::messages::TopicName(
                kafka_protocol::protocol::StrBytes::from_string(topic.into()),
            ))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(p)
                .with_timestamp(ts)])]);
    match c.send(&req, 5).await {
        Ok(r) => {
            let p = &r.topics[0].partitions[0];
            (p.error_code, p.offset, p.leader_epoch)
        }
        Err(_) => (-1, -1, -1),
    }
}

/// Offsets kcat reads from the beginning of `topic`-`p` on the leader.
async fn kcat_offsets(bootstrap: &str, topic: &str, p: i32) -> Vec<i64> {
    let out = kcat(&[
        "-C",
        "-b",
        bootstrap,
        "-t",
        topic,
        "-p",
        &p.to_string(),
        "-o",
        "beginning",
        "-e",
        "-f",
        "%o\n",
    ])
    .await
    .expect("kcat consume");
    out.lines().map(|l| l.trim().parse().unwrap()).collect()
}

/// A raw DeleteRecords v1 for one partition (5 s timeout): (error code, low watermark).
async fn raw_delete(
    c: &mut zkafka::network::client::BrokerClient,
    topic: &str,
    p: i32,
    offset: i64,
) -> (i16, i64) {
    use kafka_protocol::messages::delete_records_request::{
        DeleteRecordsPartition, DeleteRecordsTopic,
    };
    use kafka_protocol::messages::DeleteRecordsRequest;
    let req = DeleteRecordsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![DeleteRecordsTopic::default()
            .with_name(kafka_protocol::messages::TopicName(
                kafka_protocol::protocol::StrBytes::from_string(topic.into()),
            ))
            .with_partitions(vec![DeleteRecordsPartition::default()
                .with_partition_index(p)
                .with_offset(offset)])]);
    let r = c.send(&req, 1).await.expect("DeleteRecords");
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.low_watermark)
}

async fn produce_100(zk: &zookeeper_client::Client, brokers: &[Broker], topic: &str, p: i32) {
    let leader = leader_of(zk, topic, p).await;
    let mut c = client(&broker(brokers, leader).bootstrap()).await.unwrap();
    // The leader learns of its leadership from the controller shortly after ZooKeeper does.
    wait_until(T, || async {
        list_offset(
            &mut client(&broker(brokers, leader).bootstrap()).await.unwrap(),
            topic,
            p,
            -1,
        )
        .await
        .0 == 0
    })
    .await;
    for batch in 0..10 {
        let values: Vec<Vec<u8>> = (0..10)
            .map(|i| format!("value-{p}-{}-{}", batch * 10 + i, "x".repeat(40)).into_bytes())
            .collect();
        let (code, _) = produce(&mut c, topic, p, -1, &values).await.unwrap();
        assert_eq!(code, 0, "acks=all produce to {topic}-{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_through_four_client_admins() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let mut brokers = cluster(&connect).await;
    let zk = zk_client(&connect).await;
    create_topic(
        &zk,
        "dr",
        &[
            (0, &[1, 2, 3]),
            (1, &[2, 3, 1]),
            (2, &[3, 1, 2]),
            (3, &[1, 2, 3]),
        ],
        &[("segment.bytes", "1024")],
    )
    .await;
    for p in 0..4 {
        produce_100(&zk, &brokers, "dr", p).await;
    }
    let bootstrap = brokers[0].bootstrap();
    for (client, p, offset) in DELETES {
        let got = delete_records(client, &bootstrap, "dr", p, offset);
        if client == "kafkajs" {
            assert_eq!(got, serde_json::json!({"ok": true}), "{client}");
        } else {
            // The low watermark is the smallest log start offset over all three replicas:
            // reaching the requested offset means the followers moved theirs too.
            assert_eq!(got["low_watermark"], offset, "{client}: {got}");
        }
    }
    for (client, p, offset) in DELETES {
        assert_eq!(earliest(&zk, &brokers, "dr", p).await, offset, "{client}");
        let leader = broker(&brokers, leader_of(&zk, "dr", p).await).bootstrap();
        let offsets = kcat_offsets(&leader, "dr", p).await;
        assert_eq!(
            offsets.first(),
            Some(&offset),
            "kcat starts at the log start offset"
        );
        assert_eq!(offsets.len() as i64, 100 - offset);
    }
    // kafkajs reports no low watermark: asking again for the same offset answers it.
    let again = delete_records("confluent", &bootstrap, "dr", 3, 55);
    assert_eq!(again["low_watermark"], 55);
    // A fetch below the log start offset is out of range.
    let leader_of_0 = leader_of(&zk, "dr", 0).await;
    let leader0 = broker(&brokers, leader_of_0).bootstrap();
    let mut c = client(&leader0).await.unwrap();
    assert_eq!(
        fetch(&mut c, "dr", 0, 3).await.unwrap().0,
        1,
        "OFFSET_OUT_OF_RANGE"
    );

    // Bad input: Kafka's errors, nothing moved.
    let above = delete_records("confluent", &bootstrap, "dr", 0, 1000);
    assert_eq!(above["error"], "OFFSET_OUT_OF_RANGE", "{above}");
    let above = delete_records("kafka-python", &bootstrap, "dr", 1, 101);
    assert_eq!(above["error"], "OffsetOutOfRangeError", "{above}");
    // Clients check their metadata before sending; the broker's own answers, raw:
    let mut c = client(&bootstrap).await.unwrap();
    assert_eq!(
        raw_delete(&mut c, "no-such-topic", 0, 1).await,
        (3, -1),
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert_eq!(
        raw_delete(&mut c, "dr", 7, 1).await,
        (3, -1),
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    let follower = [1, 2, 3].into_iter().find(|id| *id != leader_of_0).unwrap();
    let mut f = client(&broker(&brokers, follower).bootstrap())
        .await
        .unwrap();
    assert_eq!(
        raw_delete(&mut f, "dr", 0, 30).await,
        (6, -1),
        "NOT_LEADER_OR_FOLLOWER"
    );
    let mut l = client(&broker(&brokers, leader_of_0).bootstrap())
        .await
        .unwrap();
    assert_eq!(
        raw_delete(&mut l, "dr", 0, -5).await,
        (1, -1),
        "OFFSET_OUT_OF_RANGE"
    );
    // -1 means the high watermark.
    assert_eq!(
        raw_delete(&mut l, "dr", 0, -1).await,
        (0, 100),
        "delete up to the high watermark"
    );
    assert_eq!(earliest(&zk, &brokers, "dr", 1).await, 35);

    // Retention deletes the segments wholly below the log start offset, on every replica.
    let started = Instant::now();
    for b in &brokers {
        wait_until_msg(
            T,
            format!("broker {} deleted dr-0's first segment", b.id()),
            || async {
                disk_batches(b.log_dir(), "dr", 0)
                    .first()
                    .is_some_and(|(base, _, _)| *base > 0)
            },
        )
        .await;
    }
    eprintln!(
        "segments below the log start offset deleted after {:?}",
        started.elapsed()
    );

    // kill -9 every broker: the log-start-offset-checkpoint brings the offsets back.
    for b in &mut brokers {
        b.kill9();
    }
    for b in &mut brokers {
        b.restart();
    }
    for (client, p, offset) in DELETES {
        let offset = if p == 0 { 100 } else { offset };
        assert_eq!(
            earliest(&zk, &brokers, "dr", p).await,
            offset,
            "{client} after restart"
        );
    }
}

/// Runs `zkafka <args>` (the tool behind scripts/kafka-*.sh); its stdout, asserting success.
fn tool(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args(args)
        .output()
        .expect("run zkafka");
    assert!(
        out.status.success(),
        "zkafka {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Three brokers with two log dirs each (JBOD).
async fn jbod_cluster(connect: &str, dirs: &tempfile::TempDir) -> Vec<Broker> {
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| {
            let d = |x: &str| dirs.path().join(format!("b{id}-{x}")).display().to_string();
            let log_dirs = format!("{},{}", d("a"), d("b"));
            Broker::start(id, connect, &[("log.dirs", log_dirs.as_str())])
        })
        .collect();
    for b in &mut brokers {
        b.wait_listening(T);
    }
    brokers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_dirs_cluster_and_the_tools() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let dirs = tempfile::tempdir().unwrap();
    let mut brokers = jbod_cluster(&connect, &dirs).await;
    let zk = zk_client(&connect).await;
    create_topic(&zk, "ld", &[(0, &[1, 2, 3]), (1, &[2, 3, 1])], &[]).await;
    for p in 0..2 {
        produce_100(&zk, &brokers, "ld", p).await;
    }
    let bootstrap = brokers[0].bootstrap();

    // DescribeLogDirs through kafka-python: two dirs per broker, each replica in one of them,
    // with its size and no lag once the followers caught up.
    wait_until_msg(T, "every replica of ld described, caught up", || async {
        let dirs = run_json(
            "python3",
            "tests/python/logops_clients.py",
            &["describe-log-dirs", &bootstrap],
        );
        let replicas: Vec<&serde_json::Value> = dirs
            .iter()
            .flat_map(|d| d["partitions"].as_array().unwrap())
            .filter(|p| p["topic"] == "ld")
            .collect();
        dirs.len() == 6
            && dirs.iter().all(|d| d["error"] == 0)
            && replicas.len() == 6
            && replicas
                .iter()
                .all(|p| p["size"].as_i64() > Some(0) && p["lag"] == 0 && p["future"] == false)
    })
    .await;

    // kafka-log-dirs.sh: Kafka's three lines, its JSON keys in its order.
    let out = tool(&[
        "log-dirs",
        "--bootstrap-server",
        &bootstrap,
        "--describe",
        "--topic-list",
        "ld",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Querying brokers for log directories information");
    assert_eq!(
        lines[1],
        "Received log directory information from brokers 1,2,3"
    );
    assert!(
        lines[2].starts_with(r#"{"version":1,"brokers":[{"broker":1,"logDirs":[{"logDir":""#),
        "{out}"
    );
    assert!(lines[2].contains(r#"{"partition":"ld-0","size":"#), "{out}");
    assert!(
        lines[2].contains(r#""offsetLag":0,"isFuture":false}"#),
        "{out}"
    );
    let json: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(json["brokers"].as_array().unwrap().len(), 3);
    let out = tool(&[
        "log-dirs",
        "--bootstrap-server",
        &bootstrap,
        "--describe",
        "--broker-list",
        "2",
    ]);
    assert!(
        out.contains("Received log directory information from brokers 2\n"),
        "{out}"
    );
    let json: serde_json::Value = serde_json::from_str(out.lines().nth(2).unwrap()).unwrap();
    assert_eq!(json["brokers"][0]["logDirs"].as_array().unwrap().len(), 2);
    assert!(json["brokers"][0]["logDirs"][0]["error"].is_null());

    // kafka-delete-records.sh: a low watermark, and Kafka's exception for an offset too high.
    let file = dirs.path().join("offsets.json");
    std::fs::write(
        &file,
        r#"{"partitions":[{"topic":"ld","partition":0,"offset":5},{"topic":"ld","partition":1,"offset":500}],"version":1}"#,
    )
    .unwrap();
    let out = tool(&[
        "delete-records",
        "--bootstrap-server",
        &bootstrap,
        "--offset-json-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out,
        "Executing records delete operation\nRecords delete operation completed:\n\
         partition: ld-0\tlow_watermark: 5\n\
         partition: ld-1\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: The requested offset is not within the range of offsets maintained by the server.\n"
    );

    // kafka-broker-api-versions.sh: one block per broker, Kafka 2.8's words.
    let out = tool(&["broker-api-versions", "--bootstrap-server", &bootstrap]);
    for b in &brokers {
        let head = format!(
            "{} (id: {} rack: null) -> (\n\tProduce(0): 0 to ",
            b.bootstrap(),
            b.id()
        );
        assert!(out.contains(&head), "{out}");
    }
    assert_eq!(
        out.matches("\tDeleteRecords(21): 0 to 2 [usable: 2],\n")
            .count(),
        3,
        "{out}"
    );
    assert_eq!(
        out.matches("\tDescribeLogDirs(35): 0 to 2 [usable: 2],\n")
            .count(),
        3,
        "{out}"
    );
    assert_eq!(
        out.matches("\tDescribeCluster(60): 0 [usable: 0],\n")
            .count(),
        3,
        "{out}"
    );

    // DescribeCluster through confluent-kafka (librdkafka sends DescribeCluster v0).
    let cluster_id = String::from_utf8(zk.get_data("/cluster/id").await.unwrap().0).unwrap();
    let controller = String::from_utf8(zk.get_data("/controller").await.unwrap().0).unwrap();
    let controller: serde_json::Value = serde_json::from_str(&controller).unwrap();
    let got = run_json(
        "python3",
        "tests/python/logops_clients.py",
        &["describe-cluster", &bootstrap],
    );
    assert!(
        cluster_id.contains(got[0]["cluster_id"].as_str().unwrap()),
        "{got:?} vs {cluster_id}"
    );
    assert_eq!(got[0]["controller"], controller["brokerid"]);
    assert_eq!(got[0]["brokers"], serde_json::json!([1, 2, 3]));

    moves_between_log_dirs(&connect, &zk, &mut brokers, &dirs).await;
}

/// The log dir of broker `id` holding `mv-0` (its current log), and the other one.
fn mv_dirs(dirs: &tempfile::TempDir, id: i32) -> (std::path::PathBuf, std::path::PathBuf) {
    let d = |x: &str| dirs.path().join(format!("b{id}-{x}"));
    if d("a").join("mv-0").is_dir() {
        (d("a"), d("b"))
    } else {
        (d("b"), d("a"))
    }
}

/// Names of the entries of `dir` that start with `prefix`.
fn entries(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// acks=all produce of 10 records of 1000 bytes numbered from `first` to `mv-0` through its
/// leader; the acknowledged (offset, value) pairs, or None when not acknowledged.
async fn produce_ten(
    zk: &zookeeper_client::Client,
    addrs: &std::collections::BTreeMap<i32, String>,
    first: usize,
) -> Option<Vec<(i64, Vec<u8>)>> {
    let leader = partition_state(zk, "mv", 0)
        .await
        .filter(|s| s.leader > 0)?
        .leader;
    let mut c = client(&addrs[&leader]).await.ok()?;
    let values: Vec<Vec<u8>> = (first..first + 10)
        .map(|i| {
            let mut v = format!("mv-{i}-").into_bytes();
            v.resize(1000, b'x');
            v
        })
        .collect();
    match produce(&mut c, "mv", 0, -1, &values).await {
        Ok((0, base)) => Some((base..).zip(values).collect()),
        _ => None,
    }
}

/// Produces to `mv-0` with acks=all until `stop`, retrying through leader changes; returns
/// every acknowledged record.
fn start_load(
    connect: &str,
    addrs: std::collections::BTreeMap<i32, String>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(i64, Vec<u8>)>> {
    let connect = connect.to_string();
    tokio::spawn(async move {
        let zk = zk_client(&connect).await;
        let (mut acked, mut n) = (Vec::new(), 100_000);
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            match produce_ten(&zk, &addrs, n).await {
                Some(a) => {
                    acked.extend(a);
                    n += 10;
                }
                None => tokio::time::sleep(Duration::from_millis(100)).await,
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        acked
    })
}

/// `mv-0` as kafka-log-dirs.sh describes it on broker 1: (log dir, isFuture) per replica.
fn described_mv(bootstrap: &str) -> Vec<(String, bool)> {
    let out = tool(&[
        "log-dirs",
        "--bootstrap-server",
        bootstrap,
        "--describe",
        "--topic-list",
        "mv",
        "--broker-list",
        "1",
    ]);
    let json: serde_json::Value = serde_json::from_str(out.lines().nth(2).unwrap()).unwrap();
    let mut found = Vec::new();
    for d in json["brokers"][0]["logDirs"].as_array().unwrap() {
        for p in d["partitions"].as_array().unwrap() {
            assert_eq!(p["partition"], "mv-0", "{out}");
            let dir = d["logDir"].as_str().unwrap().to_string();
            found.push((dir, p["isFuture"].as_bool().unwrap()));
        }
    }
    found.sort();
    found
}

/// `zkafka <args>` whatever its exit status: stdout.
fn tool_any(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args(args)
        .output()
        .expect("run zkafka");
    String::from_utf8(out.stdout).unwrap()
}

fn verify_moves(bootstrap: &str, json_file: &std::path::Path) -> String {
    tool_any(&[
        "reassign-partitions",
        "--bootstrap-server",
        bootstrap,
        "--verify",
        "--reassignment-json-file",
        json_file.to_str().unwrap(),
    ])
}

fn set_alter_dir_throttle(bootstrap: &str, bytes_per_second: Option<u64>) {
    let setting =
        bytes_per_second.map(|b| format!("replica.alter.log.dirs.io.max.bytes.per.second={b}"));
    let (flag, value) = match &setting {
        Some(s) => ("--add-config", s.as_str()),
        None => (
            "--delete-config",
            "replica.alter.log.dirs.io.max.bytes.per.second",
        ),
    };
    tool(&[
        "configs",
        "--bootstrap-server",
        bootstrap,
        "--entity-type",
        "brokers",
        "--entity-name",
        "1",
        "--alter",
        flag,
        value,
    ]);
}

/// AlterReplicaLogDirs (issue 16): broker 1 moves its replica of `mv-0` to its other log dir
/// under acks=all load, first through kafka-python's admin (throttled, killed -9 mid-copy:
/// the restart resumes the copy from the future log), then back through
/// kafka-reassign-partitions.sh; every acknowledged record reads back and the moved replica
/// is byte-identical to the others.
async fn moves_between_log_dirs(
    connect: &str,
    zk: &zookeeper_client::Client,
    brokers: &mut [Broker],
    dirs: &tempfile::TempDir,
) {
    let started = Instant::now();
    let bootstrap = brokers[1].bootstrap();
    let addrs: std::collections::BTreeMap<i32, String> =
        brokers.iter().map(|b| (b.id(), b.bootstrap())).collect();
    create_topic(zk, "mv", &[(0, &[1, 2, 3])], &[("segment.bytes", "65536")]).await;
    let mut acked = Vec::new();
    while acked.len() < 600 {
        let first = acked.len();
        match produce_ten(zk, &addrs, first).await {
            Some(a) => acked.extend(a),
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    eprintln!("mv: 600 records produced after {:?}", started.elapsed());
    let (src, dst) = mv_dirs(dirs, 1);
    let (src_s, dst_s) = (src.display().to_string(), dst.display().to_string());
    // ~200 KB may go at once (Kafka's rate allows a burst of 10 windows), then 20 KB/s.
    set_alter_dir_throttle(&bootstrap, Some(20_000));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = start_load(connect, addrs.clone(), stop.clone());

    // Kafka's errors first: a dir that is not configured, a partition that does not exist.
    let alter = |topic: &str, p: i32, dir: &str| {
        run_json(
            "python3",
            "tests/python/logops_clients.py",
            &["alter-log-dir", &bootstrap, topic, &p.to_string(), "1", dir],
        )
        .remove(0)["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(alter("mv", 0, "/no/such/dir"), "LogDirNotFoundError");
    assert_eq!(alter("mv", 9, &dst_s), "UnknownTopicOrPartitionError");
    assert_eq!(alter("mv", 0, &dst_s), "NoError");

    // During the copy: a future replica in the destination, Kafka's words from --verify.
    let abs = |p: &std::path::Path| std::path::absolute(p).unwrap().display().to_string();
    assert_eq!(
        described_mv(&bootstrap),
        {
            let mut v = vec![(abs(&src), false), (abs(&dst), true)];
            v.sort();
            v
        },
        "DescribeLogDirs while copying"
    );
    let json_file = dirs.path().join("mv-move.json");
    let plan = |dir: &str| {
        format!(
            r#"{{"version":1,"partitions":[{{"topic":"mv","partition":0,"replicas":[1,2,3],"log_dirs":["{dir}","any","any"]}}]}}"#
        )
    };
    std::fs::write(&json_file, plan(&dst_s)).unwrap();
    let out = verify_moves(&bootstrap, &json_file);
    assert!(
        out.contains(
            "Reassignment of replica mv-0-1 is still in progress.
"
        ),
        "{out}"
    );
    assert_eq!(
        entries(&dst, "mv-0.").len(),
        1,
        "one -future dir in {dst_s}"
    );
    assert!(entries(&dst, "mv-0.")[0].ends_with("-future"));

    // kill -9 mid-copy: the restart resumes the move from the future log.
    let b1 = brokers.iter_mut().find(|b| b.id() == 1).unwrap();
    b1.kill9();
    b1.restart();
    b1.wait_listening(T);
    assert!(entries(&dst, "mv-0.")[0].ends_with("-future"));
    wait_until_msg(T, "the future replica of mv-0 described again", || async {
        described_mv(&bootstrap)
            .iter()
            .any(|(d, f)| *f && *d == abs(&dst))
    })
    .await;
    eprintln!(
        "mv: broker 1 restarted mid-copy after {:?}",
        started.elapsed()
    );
    set_alter_dir_throttle(&bootstrap, None);
    wait_until_msg(
        T,
        "--verify reports the move of mv-0-1 completed",
        || async {
            verify_moves(&bootstrap, &json_file).contains(
                "Reassignment of replica mv-0-1 completed successfully.
",
            )
        },
    )
    .await;
    eprintln!("mv: first move completed after {:?}", started.elapsed());
    assert_eq!(described_mv(&bootstrap), vec![(abs(&dst), false)]);
    assert!(dst.join("mv-0").is_dir() && !src.join("mv-0").exists());
    assert!(entries(&dst, "mv-0.").is_empty(), "no future dir left");

    // Back to the first dir through kafka-reassign-partitions.sh, still under load.
    std::fs::write(&json_file, plan(&src_s)).unwrap();
    let out = tool(&[
        "reassign-partitions",
        "--bootstrap-server",
        &bootstrap,
        "--execute",
        "--reassignment-json-file",
        json_file.to_str().unwrap(),
    ]);
    assert!(
        out.ends_with(
            "Successfully started partition reassignment for mv-0
Successfully started log directory move for: mv-0-1
"
        ),
        "{out}"
    );
    wait_until_msg(T, "the move back to the first dir completed", || async {
        verify_moves(&bootstrap, &json_file).contains(
            "Reassignment of replica mv-0-1 completed successfully.
",
        )
    })
    .await;
    assert!(src.join("mv-0").is_dir() && !dst.join("mv-0").exists());

    eprintln!("mv: second move completed after {:?}", started.elapsed());
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    acked.extend(load.await.unwrap());
    assert_mv_complete(zk, brokers, dirs, &acked).await;
    eprintln!("mv: all checked after {:?}", started.elapsed());
}

/// Every acknowledged record of `mv-0` reads back from the leader, and once the ISR holds all
/// three replicas their logs are byte-identical below the high watermark.
async fn assert_mv_complete(
    zk: &zookeeper_client::Client,
    brokers: &[Broker],
    dirs: &tempfile::TempDir,
    acked: &[(i64, Vec<u8>)],
) {
    wait_until_msg(T, "mv-0's ISR holds all three replicas", || async {
        partition_state(zk, "mv", 0)
            .await
            .is_some_and(|s| s.isr.len() == 3)
    })
    .await;
    let leader = leader_of(zk, "mv", 0).await;
    let mut c = client(&broker(brokers, leader).bootstrap()).await.unwrap();
    let mut log = std::collections::BTreeMap::new();
    let (mut hw, deadline) = (0, Instant::now() + T);
    loop {
        let mut offset = log.keys().last().map_or(0, |o| o + 1);
        while let Ok((0, h, records)) = fetch(&mut c, "mv", 0, offset).await {
            hw = h;
            let recs = records_of(&records);
            if recs.is_empty() || offset >= h {
                break;
            }
            for (o, v) in recs {
                offset = o + 1;
                log.insert(o, v);
            }
        }
        let lost = acked.iter().find(|(o, v)| log.get(o) != Some(v));
        match lost {
            None => break,
            Some((o, _)) if Instant::now() > deadline => {
                panic!("acknowledged mv-0 offset {o} lost")
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    eprintln!("{} acknowledged records of mv-0 read back", acked.len());
    let replica_dirs: Vec<std::path::PathBuf> = (1..=3).map(|id| mv_dirs(dirs, id).0).collect();
    let refs: Vec<&std::path::Path> = replica_dirs.iter().map(|d| d.as_path()).collect();
    wait_until_msg(T, "the replicas of mv-0 identical below the HW", || async {
        replicas_identical_below(&refs, "mv", 0, hw).is_ok()
    })
    .await;
}
