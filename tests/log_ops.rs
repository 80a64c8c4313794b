//! Log operations (issue 16) with real ZooKeeper, three real brokers and real clients:
//! DeleteRecords through the admin APIs of confluent-kafka, kafka-python, aiokafka and
//! kafkajs (low watermark, consumers starting at the new log start offset, followers
//! following, retention deleting the segments below it, the checkpoint surviving kill -9),
//! DescribeLogDirs and DescribeCluster, and Kafka's errors for bad input.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

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
    let out = Command::new(program)
        .arg(&path)
        .args(args)
        .env(
            "NODE_PATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/node_modules"),
        )
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (scripts/test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {script} {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
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
    let brokers = jbod_cluster(&connect, &dirs).await;
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
}
