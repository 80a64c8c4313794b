//! Helpers for the data-path tests: topics created the way Kafka's own tool does (znodes),
//! Kafka's murmur2 partitioner, kcat with input, typed requests over a raw connection, and
//! `zkafka <tool>` runs.

use std::process::Stdio;
use std::time::Duration;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::io::AsyncWriteExt;
use zkafka::network::client::BrokerClient;

use super::{wait_until_msg, zk_client, Broker, ZkEnsemble};

/// Runs `zkafka <tool> args` with `input` on stdin: (success, stdout, stderr).
pub fn zkafka_tool(name: &str, args: &[&str], input: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .arg(name)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One ZooKeeper node and broker 1 (with `extra` properties), listening.
pub fn single_broker(extra: &[(&str, &str)]) -> (ZkEnsemble, Broker) {
    let zk = ZkEnsemble::start(1);
    let mut broker = Broker::start(1, &zk.connect_string(), extra);
    broker.wait_listening(Duration::from_secs(30));
    (zk, broker)
}

/// Creates `topic` as kafka-topics.sh does against ZooKeeper: the config znode first, then
/// the assignment (all partitions on `replicas`), and waits until kcat sees every leader.
pub async fn create_topic(
    zk_connect: &str,
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    replicas: &[i32],
    config: &[(&str, &str)],
) {
    use zookeeper_client as zk;
    let client = zk_client(zk_connect).await;
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let cfg: serde_json::Map<String, serde_json::Value> = config
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    let cfg = serde_json::json!({"version": 1, "config": cfg}).to_string();
    client
        .create(&format!("/config/topics/{topic}"), cfg.as_bytes(), &opts)
        .await
        .expect("create /config/topics/<t>");
    let assignment: serde_json::Map<String, serde_json::Value> = (0..partitions)
        .map(|p| (p.to_string(), serde_json::json!(replicas)))
        .collect();
    let assignment = serde_json::json!({"version": 1, "partitions": assignment}).to_string();
    client
        .create(
            &format!("/brokers/topics/{topic}"),
            assignment.as_bytes(),
            &opts,
        )
        .await
        .expect("create /brokers/topics/<t>");
    wait_until_msg(
        Duration::from_secs(30),
        format!("leaders for all partitions of {topic}"),
        || async {
            let Ok(text) =
                super::kcat(&["-b", bootstrap, "-L", "-J", "-t", topic, "-m", "5"]).await
            else {
                return false;
            };
            let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
            let parts = v["topics"][0]["partitions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            parts.len() == partitions as usize
                && parts
                    .iter()
                    .all(|p| p["leader"].as_i64().unwrap_or(-1) >= 0)
        },
    )
    .await;
}

/// Kafka's `Utils.murmur2` (the Java client's default partitioner hash).
pub fn murmur2(data: &[u8]) -> i32 {
    let m: u32 = 0x5bd1e995;
    let seed: u32 = 0x9747b28c;
    let len = data.len();
    let mut h: u32 = seed ^ (len as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(m);
        k ^= k >> 24;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(m);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(m);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a keyed record.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// Runs kcat with `input` on stdin (60 s limit).
pub async fn kcat_with_input(args: &[&str], input: &[u8]) -> Result<String, String> {
    let mut child = tokio::process::Command::new("kcat")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run kcat: {e}"))?;
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
        let _ = stdin.shutdown().await;
    });
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .map_err(|_| format!("kcat {args:?} timed out"))?
        .map_err(|e| e.to_string())?;
    let _ = writer.await;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "kcat {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A protocol client on the broker's listener.
pub async fn client(broker: &Broker) -> BrokerClient {
    BrokerClient::connect(
        &broker.bootstrap(),
        "data-path-test",
        Duration::from_secs(5),
        Duration::from_secs(30),
    )
    .await
    .expect("connect to broker")
}

pub fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// ListOffsets v5 for one partition at `timestamp` (-1 latest, -2 earliest):
/// (error code, offset, leader epoch).
pub async fn list_offset(
    c: &mut BrokerClient,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> (i16, i64, i32) {
    let req = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(timestamp)])]);
    let r = c.send(&req, 5).await.expect("ListOffsets");
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.offset, p.leader_epoch)
}

/// Runs tests/python/clients.py (kafka-python) with `args`; its stdout.
pub fn python_clients(args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/clients.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (scripts/test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "python3 clients.py {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs tests/python/txn_clients.py (confluent-kafka transactions); one JSON value per
/// stdout line.
pub fn txn_clients(args: &[&str]) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/txn_clients.py");
    // A client stuck in retries fails the test instead of hanging it.
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["120", "python3", script]).args(args);
    json_lines_of(&mut cmd, &format!("txn_clients.py {args:?}"))
}

/// Runs a client command that prints one JSON value per stdout line; it must succeed
/// (`what` names it in the failure, with its stderr).
pub fn json_lines_of(cmd: &mut std::process::Command, what: &str) -> Vec<serde_json::Value> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} (scripts/test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
