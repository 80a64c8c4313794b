//! Client quotas (issue 17): a `producer_byte_rate` / `consumer_byte_rate` set on a client id
//! holds a saturating confluent-kafka producer or consumer at the quota while another client
//! on the same broker keeps its speed; the broker reports `throttle_time_ms` (librdkafka's
//! statistics show it) and mutes the connection; removing the quota gives full speed back;
//! the per-entity metrics appear on `/metrics`; DescribeClientQuotas / AlterClientQuotas
//! answer kafka-python's requests and `kafka-configs.sh --bootstrap-server` uses them.
//!
//! The broker runs with `quota.window.num=3` (Kafka's default is 11): a fresh quota sensor
//! divides by at least `samples - 1` windows, so it first lets a burst of that many seconds
//! of quota through. With 11 windows that burst alone is 10 MB at 1 MB/s and a 10 s
//! measurement mostly measures the burst; with 3 it is 2 s, which the measurement skips.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::data_util::*;
use common::*;
use serde_json::Value;

const T: Duration = Duration::from_secs(60);
const MB: f64 = 1_048_576.0;
const TOPIC: &str = "quota-t";
const FREE_TOPIC: &str = "quota-free";
/// Seconds each workload runs, and the first seconds left out of its rate.
const RUN_S: &str = "12";
const SKIP_S: &str = "2";

fn script(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/quota_clients.py"
    ))
    .args(args);
    cmd
}

fn finish(child: std::process::Child, what: &str) -> Value {
    let out = child.wait_with_output().expect("quota_clients.py");
    assert!(
        out.status.success(),
        "quota_clients.py {what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{what}: {text}: {e}"))
}

/// Starts a workload (`produce` / `consume`) as its own process.
fn spawn(
    cmd: &str,
    topic: &str,
    bootstrap: &str,
    client_id: &str,
    seconds: &str,
) -> std::process::Child {
    script(&[cmd, bootstrap, topic, client_id, seconds, SKIP_S])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (scripts/test.sh installs it)")
}

fn run(cmd: &str, topic: &str, bootstrap: &str, client_id: &str, seconds: &str) -> Value {
    finish(spawn(cmd, topic, bootstrap, client_id, seconds), cmd)
}

fn rate(v: &Value) -> f64 {
    v["rate"].as_f64().unwrap()
}

fn throttle(v: &Value) -> i64 {
    v["throttle_max_ms"].as_i64().unwrap()
}

/// `zkafka configs ARGS` → (exit ok, stdout + stderr).
fn configs(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .arg("configs")
        .args(args)
        .output()
        .expect("zkafka configs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Waits until the broker logged that it applied a change of `entity_path` `n` times.
async fn wait_applied(broker: &Broker, entity_path: &str, n: usize) {
    let needle = format!("Processing override for entityPath: {entity_path} ");
    wait_until_msg(T, format!("broker applies {entity_path} #{n}"), || {
        let count = broker.log_contents().matches(&needle).count();
        async move { count >= n }
    })
    .await;
}

fn http_address(b: &Broker) -> String {
    let log = b.log_contents();
    let rest = log
        .split("/events on http://")
        .nth(1)
        .expect("HTTP endpoint logged");
    rest.split_whitespace().next().unwrap_or("").to_string()
}

fn metrics(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to /metrics");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    raw.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn byte_rate_quotas_hold_clients_at_their_quota() {
    let (zk, broker) = single_broker(&[
        ("quota.window.num", "3"),
        ("log.retention.check.interval.ms", "1000"),
        ("offsets.topic.replication.factor", "1"),
        ("zkafka.http.listener", "127.0.0.1:0"),
    ]);
    let (connect, bootstrap) = (zk.connect_string(), broker.bootstrap());
    create_topic(&connect, &bootstrap, TOPIC, 2, &[1], &[]).await;
    let bounded = [
        ("retention.bytes", "33554432"),
        ("segment.bytes", "8388608"),
    ];
    create_topic(&connect, &bootstrap, FREE_TOPIC, 2, &[1], &bounded).await;

    // Producer quota on client id `throttled`, written to ZooKeeper and applied live.
    let (ok, out) = configs(&[
        "--zookeeper",
        &connect,
        "--alter",
        "--entity-type",
        "clients",
        "--entity-name",
        "throttled",
        "--add-config",
        "producer_byte_rate=1048576",
    ]);
    assert!(ok, "{out}");
    wait_applied(&broker, "clients/throttled", 1).await;

    let started = Instant::now();
    let slow = spawn("produce", TOPIC, &bootstrap, "throttled", RUN_S);
    // The unthrottled producer writes to a topic that keeps only its last 64 MB.
    let fast = spawn("produce", FREE_TOPIC, &bootstrap, "free", RUN_S);
    let (slow, fast) = (
        finish(slow, "produce throttled"),
        finish(fast, "produce free"),
    );
    eprintln!(
        "produce: throttled {slow}, free {fast} ({:?})",
        started.elapsed()
    );
    let produced = slow.clone();
    let slow_rate = rate(&slow) / MB;
    assert!(
        (0.9..=1.1).contains(&slow_rate),
        "a 1 MB/s producer quota held the producer at {slow_rate:.3} MB/s"
    );
    assert!(throttle(&slow) > 0, "no throttle_time_ms reported: {slow}");
    assert_eq!(
        throttle(&fast),
        0,
        "the unthrottled producer was throttled: {fast}"
    );
    assert!(
        rate(&fast) > 3.0 * rate(&slow),
        "the unthrottled producer did not keep its rate: {fast} vs {slow}"
    );

    // The per-entity sensor is on /metrics, keyed by the level that matched (client id).
    let text = metrics(&http_address(&broker));
    let series = "kafka_server_quota_byte_rate{resource=\"Produce\",clientId=\"throttled\"}";
    let observed = metric_value(&text, series).unwrap_or_else(|| panic!("{series} in:\n{text}"));
    assert!(observed > 0.0, "{series} {observed}");
    let series = "kafka_server_quota_throttle_time{resource=\"Produce\",clientId=\"throttled\"}";
    assert!(
        metric_value(&text, series).is_some(),
        "{series} in:\n{text}"
    );

    // A consumer quota: the throttled fetches come back empty, the rate holds.
    let (ok, out) = configs(&[
        "--zookeeper",
        &connect,
        "--alter",
        "--entity-type",
        "clients",
        "--entity-name",
        "reader",
        "--add-config",
        "consumer_byte_rate=1048576",
    ]);
    assert!(ok, "{out}");
    wait_applied(&broker, "clients/reader", 1).await;
    let slow = spawn("consume", TOPIC, &bootstrap, "reader", "8");
    let fast = spawn("consume", TOPIC, &bootstrap, "free-reader", "8");
    let (slow, fast) = (finish(slow, "consume reader"), finish(fast, "consume free"));
    eprintln!("consume: throttled {slow}, free {fast}");
    let slow_rate = rate(&slow) / MB;
    assert!(
        (0.85..=1.15).contains(&slow_rate),
        "a 1 MB/s consumer quota held the consumer at {slow_rate:.3} MB/s"
    );
    assert!(
        throttle(&slow) > 0,
        "no fetch throttle_time_ms reported: {slow}"
    );
    // The unthrottled consumer reads everything at once (so its rate after the first
    // seconds is 0); the throttled one does not get near that in the same time.
    assert_eq!(
        throttle(&fast),
        0,
        "the unthrottled consumer was throttled: {fast}"
    );
    let (all, read, got) = (
        produced["bytes"].as_f64().unwrap(),
        fast["bytes"].as_f64().unwrap(),
        slow["bytes"].as_f64().unwrap(),
    );
    assert!(
        read >= all,
        "the unthrottled consumer did not read everything: {fast}"
    );
    assert!(
        got < 0.8 * all,
        "the throttled consumer was not held back: {slow}"
    );

    // The producer quota removed: full speed again, no throttle.
    let (ok, out) = configs(&[
        "--zookeeper",
        &connect,
        "--alter",
        "--entity-type",
        "clients",
        "--entity-name",
        "throttled",
        "--delete-config",
        "producer_byte_rate",
    ]);
    assert!(ok, "{out}");
    wait_applied(&broker, "clients/throttled", 2).await;
    let again = run("produce", FREE_TOPIC, &bootstrap, "throttled", "5");
    eprintln!("produce after removal: {again}");
    assert_eq!(throttle(&again), 0, "still throttled: {again}");
    assert!(
        rate(&again) > 3.0 * MB,
        "the producer did not get its speed back: {again}"
    );
}
