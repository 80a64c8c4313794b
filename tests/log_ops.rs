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

/// Three brokers whose retention and log-start-offset checkpoint run every 500 ms.
async fn cluster(connect: &str) -> Vec<Broker> {
    let props = [
        ("log.retention.check.interval.ms", "500"),
        ("log.flush.start.offset.checkpoint.interval.ms", "500"),
    ];
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
            .filter(|s| s.leader > 0 && s.isr.len() == 3)
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
    tokio::time::sleep(Duration::from_millis(1500)).await;
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
