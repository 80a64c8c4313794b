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
use serde_json::{json, Value};

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

/// `zkafka configs --<via> ADDR --alter --entity-type clients --entity-name CLIENT
/// --add-config CONFIG`, asserted to succeed (`via` is "zookeeper" or "bootstrap-server").
fn alter_client(via: &str, addr: &str, client: &str, config: &str) {
    let flag = format!("--{via}");
    let (ok, out) = configs(&[
        &flag,
        addr,
        "--alter",
        "--entity-type",
        "clients",
        "--entity-name",
        client,
        "--add-config",
        config,
    ]);
    assert!(ok, "{out}");
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
    alter_client(
        "zookeeper",
        &connect,
        "throttled",
        "producer_byte_rate=1048576",
    );
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
    // The quota must hold (at most 10% over); the lower bound only checks the client was
    // not starved, loosely, as a loaded machine slows every client down.
    let slow_rate = rate(&slow) / MB;
    assert!(
        (0.5..=1.1).contains(&slow_rate),
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
    alter_client(
        "zookeeper",
        &connect,
        "reader",
        "consumer_byte_rate=1048576",
    );
    wait_applied(&broker, "clients/reader", 1).await;
    let slow = spawn("consume", TOPIC, &bootstrap, "reader", "8");
    let fast = spawn("consume", TOPIC, &bootstrap, "free-reader", "8");
    let (slow, fast) = (finish(slow, "consume reader"), finish(fast, "consume free"));
    eprintln!("consume: throttled {slow}, free {fast}");
    let slow_rate = rate(&slow) / MB;
    assert!(
        (0.3..=1.15).contains(&slow_rate),
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
    // In 5 s it gets well past the 5 MB (plus the first window's burst) the quota allowed.
    assert!(
        again["bytes"].as_f64().unwrap() > 15.0 * MB,
        "the producer did not get its speed back: {again}"
    );
}

/// `quota_clients.py describe|alter ...` (kafka-python's protocol classes) → its JSON line.
fn py(args: &[&str]) -> Value {
    let out = script(args).output().expect("python3");
    assert!(
        out.status.success(),
        "quota_clients.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{args:?}: {text}: {e}"))
}

fn py_alter(bootstrap: &str, entity: Value, ops: Value) -> (i64, String) {
    let v = py(&[
        "alter",
        bootstrap,
        &entity.to_string(),
        &ops.to_string(),
        "false",
    ]);
    (
        v["code"].as_i64().unwrap(),
        v["message"].as_str().unwrap_or("").to_string(),
    )
}

fn py_describe(bootstrap: &str, components: Value, strict: bool) -> Value {
    let strict = if strict { "true" } else { "false" };
    py(&["describe", bootstrap, &components.to_string(), strict])
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_and_alter_client_quotas_through_the_broker() {
    let (zk, broker) = single_broker(&[]);
    let (connect, b) = (zk.connect_string(), broker.bootstrap());

    // AlterClientQuotas from kafka-python: a user's default-client entity, then refusals.
    let alice = json!({"user": "alice", "client-id": null});
    let ops = json!({"producer_byte_rate": 2048, "request_percentage": 12.5});
    assert_eq!(py_alter(&b, alice.clone(), ops), (0, String::new()));
    let (code, message) = py_alter(&b, alice.clone(), json!({"retention.ms": 1}));
    assert_eq!(
        (code, message.as_str()),
        (42, "Invalid configuration key retention.ms")
    );
    let (code, message) = py_alter(&b, alice.clone(), json!({"producer_byte_rate": 1.5}));
    assert_eq!(code, 42, "{message}");
    let app = json!({"client-id": "app"});
    assert_eq!(
        py_alter(&b, app, json!({"consumer_byte_rate": 4096})),
        (0, String::new())
    );

    // Written as Kafka writes it: the znode and a change notification.
    let zkc = zk_client(&connect).await;
    let (data, _) = zkc
        .get_data("/config/users/alice/clients/<default>")
        .await
        .expect("/config/users/alice/clients/<default>");
    let stored: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(
        stored,
        json!({"version": 1, "config": {"producer_byte_rate": "2048", "request_percentage": "12.5"}})
    );

    // DescribeClientQuotas from kafka-python: exact, any-specified, strict and errors.
    let v = py_describe(&b, json!([["user", 0, "alice"]]), false);
    assert_eq!(
        v["entries"],
        json!([[{"client-id": null, "user": "alice"},
                {"producer_byte_rate": 2048.0, "request_percentage": 12.5}]]),
        "{v}"
    );
    let v = py_describe(&b, json!([["user", 0, "alice"]]), true);
    assert_eq!(
        v["entries"],
        json!([]),
        "strict: only user-only entities: {v}"
    );
    let v = py_describe(&b, json!([["client-id", 2, null]]), true);
    assert_eq!(
        v["entries"],
        json!([[{"client-id": "app"}, {"consumer_byte_rate": 4096.0}]]),
        "{v}"
    );
    let v = py_describe(&b, json!([]), false);
    assert_eq!(v["entries"].as_array().unwrap().len(), 2, "{v}");
    let v = py_describe(
        &b,
        json!([["ip", 0, "10.0.0.1"], ["user", 0, "alice"]]),
        false,
    );
    assert_eq!(v["code"], 42, "{v}");
    let v = py_describe(&b, json!([["group", 0, "g"]]), false);
    assert_eq!(v["code"], 35, "{v}");

    // kafka-configs.sh --bootstrap-server for clients and users, Kafka's output.
    let bs = ["--bootstrap-server", b.as_str()];
    let (ok, out) = configs(
        &[
            &bs[..],
            &[
                "--alter",
                "--entity-type",
                "clients",
                "--entity-name",
                "tool-app",
                "--add-config",
                "producer_byte_rate=1024,consumer_byte_rate=2048",
            ],
        ]
        .concat(),
    );
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "Completed updating config for client tool-app.");
    let (ok, out) = configs(
        &[
            &bs[..],
            &[
                "--describe",
                "--entity-type",
                "clients",
                "--entity-name",
                "tool-app",
            ],
        ]
        .concat(),
    );
    assert!(ok, "{out}");
    assert_eq!(
        out.trim(),
        "Quota configs for client-id 'tool-app' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0"
    );
    let (ok, out) = configs(
        &[
            &bs[..],
            &[
                "--alter",
                "--entity-type",
                "users",
                "--entity-default",
                "--add-config",
                "request_percentage=50",
            ],
        ]
        .concat(),
    );
    assert!(ok, "{out}");
    assert_eq!(
        out.trim(),
        "Completed updating default config for users in the cluster."
    );
    let (ok, out) = configs(
        &[
            &bs[..],
            &["--describe", "--entity-type", "users", "--entity-default"],
        ]
        .concat(),
    );
    assert!(ok, "{out}");
    assert_eq!(
        out.trim(),
        "Quota configs for the default user-principal are request_percentage=50.0"
    );
    let (ok, out) = configs(
        &[
            &bs[..],
            &[
                "--alter",
                "--entity-type",
                "clients",
                "--entity-name",
                "tool-app",
                "--delete-config",
                "consumer_byte_rate",
            ],
        ]
        .concat(),
    );
    assert!(ok, "{out}");
    let (ok, out) = configs(&[
        "--zookeeper",
        &connect,
        "--describe",
        "--entity-type",
        "clients",
        "--entity-name",
        "tool-app",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("Configs for client-id 'tool-app' are producer_byte_rate=1024\n"),
        "{out}"
    );
    let (ok, out) = configs(
        &[
            &bs[..],
            &[
                "--alter",
                "--entity-type",
                "clients",
                "--entity-name",
                "x",
                "--add-config",
                "bogus=1",
            ],
        ]
        .concat(),
    );
    // Refused by the tool before any request, as ConfigCommand refuses it.
    assert!(
        !ok && out.contains("Only quota configs can be added for 'clients'")
            && out.contains("bogus"),
        "{out}"
    );

    // kafka-broker-api-versions.sh lists both APIs as usable.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args(["broker-api-versions", "--bootstrap-server", &b])
        .output()
        .expect("zkafka broker-api-versions");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "\tDescribeClientQuotas(48): 0 to 1 [usable: 1],\n",
        "\tAlterClientQuotas(49): 0 to 1 [usable: 1],\n",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
}

/// Sends up to `n` cheap Metadata v9 requests as `client_id`, stopping at the first one
/// answered with a throttle: (requests sent, largest throttle_time_ms seen).
async fn metadata_burst(bootstrap: &str, client_id: &str, n: usize) -> (usize, i32) {
    use kafka_protocol::messages::MetadataRequest;
    let mut c = zkafka::network::client::BrokerClient::connect(bootstrap, client_id, T, T)
        .await
        .unwrap();
    let req = MetadataRequest::default().with_topics(Some(vec![]));
    let mut max = 0;
    for i in 1..=n {
        let r = c.send(&req, 9).await.unwrap();
        max = max.max(r.throttle_time_ms);
        if max > 0 {
            return (i, max);
        }
    }
    (n, max)
}

/// request_percentage (ClientRequestQuotaManager): a client id allowed 1 % of a thread that
/// sends Metadata requests back to back is answered with throttle_time_ms > 0 (and muted),
/// while another client id sending as many is not throttled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_percentage_throttles_a_busy_client_only() {
    let (_zk, broker) = single_broker(&[("quota.window.num", "3")]);
    let b = broker.bootstrap();
    alter_client("bootstrap-server", &b, "greedy", "request_percentage=1");
    let (sent, throttle) = metadata_burst(&b, "greedy", 5000).await;
    assert!(
        throttle > 0,
        "greedy was never throttled in {sent} requests"
    );
    assert!(
        throttle <= 1000,
        "a request throttle is at most one window: {throttle}"
    );
    let (polite_sent, polite) = metadata_burst(&b, "polite", sent).await;
    assert_eq!((polite_sent, polite), (sent, 0), "polite is not throttled");
}

/// Sends up to `n` Produce (acks=1) requests of one record to partition 0 of `topic` as
/// `client_id`, stopping at the first one answered with a throttle: its throttle_time_ms.
async fn produce_burst(bootstrap: &str, topic: &str, client_id: &str, n: usize) -> i32 {
    let mut c = zkafka::network::client::BrokerClient::connect(bootstrap, client_id, T, T)
        .await
        .unwrap();
    let req = common::repl::produce_request(topic, 0, 1, &[b"v".to_vec()]);
    for _ in 0..n {
        let r = c.send(&req, 8).await.unwrap();
        let code = r.responses[0].partition_responses[0].error_code;
        assert_eq!(code, 0, "a throttled produce is still appended");
        if r.throttle_time_ms > 0 {
            return r.throttle_time_ms;
        }
    }
    0
}

/// Sends up to `n` consumer Fetch requests (v11, no wait) for partition 0 of `topic` as
/// `client_id`, stopping at the first one answered with a throttle: (its throttle_time_ms,
/// partitions in it).
async fn fetch_burst(bootstrap: &str, topic: &str, client_id: &str, n: usize) -> (i32, usize) {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
    let mut c = zkafka::network::client::BrokerClient::connect(bootstrap, client_id, T, T)
        .await
        .unwrap();
    let partition = FetchPartition::default()
        .with_fetch_offset(0)
        .with_partition_max_bytes(1 << 20);
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(topic.to_string().into()))
            .with_partitions(vec![partition])]);
    for _ in 0..n {
        let r = c.send(&req, 11).await.unwrap();
        if r.throttle_time_ms > 0 {
            return (r.throttle_time_ms, r.responses.len());
        }
    }
    (0, 0)
}

/// request_percentage holds for Produce and Fetch too (KafkaApis.handleProduceRequest /
/// handleFetchRequest): librdkafka clients over it observe throttle times, and Produce and
/// Fetch responses themselves carry the larger of the byte-rate and the request throttle (a
/// throttled fetch is answered empty). librdkafka's statistics sum every response's
/// throttle, so the Produce and Fetch answers are checked on the wire too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_percentage_throttles_produce_and_fetch() {
    let (zk, broker) = single_broker(&[("quota.window.num", "3")]);
    let (connect, b) = (zk.connect_string(), broker.bootstrap());
    create_topic(&connect, &b, TOPIC, 1, &[1], &[]).await;
    for client in ["busy-writer", "busy-reader"] {
        alter_client("bootstrap-server", &b, client, "request_percentage=0.001");
    }
    let produced = run("produce", TOPIC, &b, "busy-writer", "4");
    eprintln!("produce: {produced}");
    assert!(throttle(&produced) > 0, "no produce throttle: {produced}");
    assert!(produced["bytes"].as_f64().unwrap() > 0.0, "{produced}");
    let ms = produce_burst(&b, TOPIC, "busy-writer", 5).await;
    assert!((1..=1000).contains(&ms), "Produce throttle_time_ms {ms}");

    let consumed = run("consume", TOPIC, &b, "busy-reader", "4");
    eprintln!("consume: {consumed}");
    assert!(throttle(&consumed) > 0, "no fetch throttle: {consumed}");
    let (ms, partitions) = fetch_burst(&b, TOPIC, "busy-reader", 5).await;
    assert!((1..=1000).contains(&ms), "Fetch throttle_time_ms {ms}");
    assert_eq!(partitions, 0, "a throttled fetch returns no partitions");
}
