//! Topic and broker configs changed at runtime (issue 16, configs part): AlterConfigs and
//! IncrementalAlterConfigs from confluent-kafka, kafka-python, aiokafka and kafkajs write
//! `/config/...` and `/config/changes` as Kafka 2.8 does and take effect on the running broker
//! (retention.ms → old segments deleted, min.insync.replicas → acks=all refused); bad input
//! gets Kafka's errors with nothing applied; DescribeConfigs reports sources and synonyms.

mod common;

use std::time::Duration;

use common::data_util::*;
use common::security::configs_tool;
use common::*;
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::incremental_alter_configs_request as inc;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(60);

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// `config_clients.py alter CLIENT MODE BOOTSTRAP TYPE NAME CONFIGS` → (code, message).
fn py_alter(client: &str, mode: &str, b: &str, ty: &str, name: &str, cfg: Value) -> (i64, String) {
    let out = run_script(
        "python3",
        "tests/python/config_clients.py",
        &["alter", client, mode, b, ty, name, &cfg.to_string()],
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"));
    (
        v["code"].as_i64().unwrap(),
        v["message"].as_str().unwrap_or("").to_string(),
    )
}

fn js_alter(b: &str, ty: &str, name: &str, cfg: Value) -> (i64, String) {
    let out = run_script(
        "node",
        "tests/js/config_clients.js",
        &[b, ty, name, &cfg.to_string()],
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"));
    (
        v["code"].as_i64().unwrap(),
        v["message"].as_str().unwrap_or("").to_string(),
    )
}

fn py_describe(b: &str, ty: &str, name: &str) -> Value {
    let out = run_script(
        "python3",
        "tests/python/config_clients.py",
        &["describe", b, ty, name],
    );
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"))
}

fn run_script(program: &str, script: &str, args: &[&str]) -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new(program)
        .arg(format!("{dir}/{script}"))
        .args(args)
        .env("NODE_PATH", format!("{dir}/tests/js/node_modules"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (scripts/test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {script} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn znode_config(zk: &zookeeper_client::Client, path: &str) -> Value {
    match zk.get_data(path).await {
        Ok((data, _)) => serde_json::from_slice(&data).unwrap(),
        Err(_) => Value::Null,
    }
}

/// The entity paths of every `/config/changes` notification, in sequence order.
async fn notifications(zk: &zookeeper_client::Client) -> Vec<String> {
    let mut children = zk.list_children("/config/changes").await.unwrap();
    children.sort();
    let mut out = Vec::new();
    for c in children {
        let (data, _) = zk.get_data(&format!("/config/changes/{c}")).await.unwrap();
        let v: Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(v["version"], 2, "{v}");
        out.push(v["entity_path"].as_str().unwrap().to_string());
    }
    out
}

async fn produce(bootstrap: &str, topic: &str, n: usize) -> Result<String, String> {
    let input: String = (0..n)
        .map(|i| format!("value-{i:04}-{}\n", "x".repeat(40)))
        .collect();
    kcat_with_input(
        &[
            "-P",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-X",
            "acks=all",
            "-X",
            "message.send.max.retries=0",
            "-X",
            "message.timeout.ms=10000",
            // Small batches: the test topics roll 2 KiB segments.
            "-X",
            "batch.num.messages=10",
        ],
        input.as_bytes(),
    )
    .await
}

async fn earliest(broker: &Broker, topic: &str) -> i64 {
    let mut c = client(broker).await;
    list_offset(&mut c, topic, 0, -2).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_alters_topic_configs_and_they_take_effect() {
    let (ens, broker) = single_broker(&[
        ("log.retention.check.interval.ms", "300"),
        ("log.segment.delete.delay.ms", "0"),
    ]);
    let b = broker.bootstrap();
    let connect = ens.connect_string();
    let zk = zk_client(&connect).await;
    create_topic(&connect, &b, "rt", 1, &[1], &[("segment.bytes", "2048")]).await;
    create_topic(&connect, &b, "mi", 1, &[1], &[]).await;
    produce(&b, "rt", 300).await.unwrap();
    assert_eq!(earliest(&broker, "rt").await, 0);

    // confluent-kafka IncrementalAlterConfigs: retention.ms lowered, segment.bytes kept.
    let r = py_alter(
        "confluent",
        "incremental",
        &b,
        "topic",
        "rt",
        json!({"retention.ms": "1000"}),
    );
    assert_eq!(r.0, 0, "{r:?}");
    assert_eq!(
        znode_config(&zk, "/config/topics/rt").await,
        json!({"version": 1, "config": {"retention.ms": "1000", "segment.bytes": "2048"}})
    );
    assert!(notifications(&zk).await.contains(&"topics/rt".to_string()));
    wait_until_msg(T, "old segments of rt deleted by retention.ms", || async {
        earliest(&broker, "rt").await > 0
    })
    .await;

    // kafka-python AlterConfigs: min.insync.replicas=2 on a one-replica topic refuses acks=all.
    produce(&b, "mi", 5).await.unwrap();
    let r = py_alter(
        "kafka-python",
        "legacy",
        &b,
        "topic",
        "mi",
        json!({"min.insync.replicas": "2"}),
    );
    assert_eq!(r.0, 0, "{r:?}");
    wait_until_msg(T, "acks=all refused with NOT_ENOUGH_REPLICAS", || async {
        matches!(produce(&b, "mi", 1).await, Err(e) if e.contains("Not enough in-sync replicas"))
    })
    .await;
    // kafka-python IncrementalAlterConfigs DELETE: the broker default (1) is back.
    let r = py_alter(
        "kafka-python",
        "incremental",
        &b,
        "topic",
        "mi",
        json!({"min.insync.replicas": null}),
    );
    assert_eq!(r.0, 0, "{r:?}");
    wait_until_msg(T, "acks=all accepted again", || async {
        produce(&b, "mi", 1).await.is_ok()
    })
    .await;

    // aiokafka and kafkajs (AlterConfigs: the whole set is replaced).
    let r = py_alter(
        "aiokafka",
        "legacy",
        &b,
        "topic",
        "mi",
        json!({"retention.bytes": "4096"}),
    );
    assert_eq!(r.0, 0, "{r:?}");
    assert_eq!(
        znode_config(&zk, "/config/topics/mi").await["config"],
        json!({"retention.bytes": "4096"})
    );
    let r = js_alter(
        &b,
        "topic",
        "mi",
        json!({"cleanup.policy": "compact,delete"}),
    );
    assert_eq!(r.0, 0, "{r:?}");
    assert_eq!(
        znode_config(&zk, "/config/topics/mi").await["config"],
        json!({"cleanup.policy": "compact,delete"})
    );
    // APPEND / SUBTRACT on a list config.
    let r = py_alter(
        "confluent",
        "incremental",
        &b,
        "topic",
        "mi",
        json!({"cleanup.policy": ["SUBTRACT", "delete"]}),
    );
    assert_eq!(r.0, 0, "{r:?}");
    assert_eq!(
        znode_config(&zk, "/config/topics/mi").await["config"],
        json!({"cleanup.policy": "compact"})
    );

    // Describe: the override and where the rest comes from.
    let d = py_describe(&b, "topic", "rt");
    assert_eq!(d["retention.ms"]["value"], "1000");
    assert_eq!(d["retention.ms"]["source"], 1, "DYNAMIC_TOPIC_CONFIG");
    assert_eq!(d["segment.bytes"]["source"], 1);
    assert_eq!(d["cleanup.policy"]["source"], 5, "DEFAULT_CONFIG");
    assert_eq!(
        d["cleanup.policy"]["synonyms"],
        json!([["log.cleanup.policy", "delete", 5]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_configs_per_broker_and_cluster_default_apply_live() {
    let (ens, broker) = single_broker(&[
        ("log.retention.check.interval.ms", "300"),
        ("log.segment.delete.delay.ms", "0"),
        ("log.segment.bytes", "2048"),
    ]);
    let b = broker.bootstrap();
    let connect = ens.connect_string();
    let zk = zk_client(&connect).await;
    create_topic(&connect, &b, "bt", 1, &[1], &[]).await;
    create_topic(&connect, &b, "mi", 1, &[1], &[]).await;
    produce(&b, "bt", 300).await.unwrap();

    // Cluster default, as the Java AdminClient of kafka-configs.sh sends it (the Python and
    // JS clients refuse an empty broker name): min.insync.replicas=2 reaches every topic
    // without an override.
    let mut c = client(&broker).await;
    let r = incremental(
        &mut c,
        4,
        "",
        &[("min.insync.replicas", 0, Some("2"))],
        false,
    )
    .await;
    assert_eq!(r.0, 0, "{r:?}");
    assert_eq!(
        znode_config(&zk, "/config/brokers/<default>").await,
        json!({"version": 1, "config": {"min.insync.replicas": "2"}})
    );
    wait_until_msg(T, "acks=all refused after the cluster default changed", || async {
        matches!(produce(&b, "mi", 1).await, Err(e) if e.contains("Not enough in-sync replicas"))
    })
    .await;

    // Per broker beats the default; log.retention.ms reaches the existing logs.
    let r = py_alter(
        "kafka-python",
        "incremental",
        &b,
        "broker",
        "1",
        json!({"log.retention.ms": "1000", "min.insync.replicas": "1", "leader.replication.throttled.rate": "1048576"}),
    );
    assert_eq!(r.0, 0, "{r:?}");
    assert_eq!(
        znode_config(&zk, "/config/brokers/1").await["config"],
        json!({"log.retention.ms": "1000", "min.insync.replicas": "1", "leader.replication.throttled.rate": "1048576"})
    );
    let paths = notifications(&zk).await;
    assert!(
        paths.contains(&"brokers/<default>".to_string()),
        "{paths:?}"
    );
    assert!(paths.contains(&"brokers/1".to_string()), "{paths:?}");
    wait_until_msg(
        T,
        "segments of bt deleted by the dynamic log.retention.ms",
        || async { earliest(&broker, "bt").await > 0 },
    )
    .await;
    wait_until_msg(
        T,
        "acks=all accepted with the per-broker min.insync.replicas",
        || async { produce(&b, "mi", 1).await.is_ok() },
    )
    .await;

    // DescribeConfigs: sources, synonyms, read-only.
    let d = py_describe(&b, "broker", "1");
    assert_eq!(d["log.retention.ms"]["value"], "1000");
    assert_eq!(d["log.retention.ms"]["source"], 2, "DYNAMIC_BROKER_CONFIG");
    assert_eq!(
        d["log.retention.ms"]["synonyms"],
        json!([
            ["log.retention.ms", "1000", 2],
            ["log.retention.hours", "168", 5]
        ])
    );
    assert_eq!(d["min.insync.replicas"]["value"], "1");
    assert_eq!(d["min.insync.replicas"]["source"], 2);
    // confluent-kafka keeps one synonym per name: every layer is in the raw response.
    assert_eq!(
        raw_synonyms(&mut c, &broker.id().to_string(), "min.insync.replicas").await,
        vec![
            ("min.insync.replicas".into(), Some("1".into()), 2),
            ("min.insync.replicas".into(), Some("2".into()), 3),
            ("min.insync.replicas".into(), Some("1".into()), 5),
        ]
    );
    assert_eq!(d["log.segment.bytes"]["source"], 4, "STATIC_BROKER_CONFIG");
    assert_eq!(d["leader.replication.throttled.rate"]["value"], "1048576");
    assert_eq!(d["log.retention.ms"]["read_only"], false);
    assert_eq!(d["broker.id"]["read_only"], true);
    // The cluster-default resource lists only what `<default>` sets.
    assert_eq!(
        raw_synonyms(&mut c, "", "").await,
        vec![("min.insync.replicas".into(), Some("2".into()), 3)]
    );
    let d = py_describe(&b, "topic", "bt");
    assert_eq!(d["retention.ms"]["value"], "1000");
    assert_eq!(d["retention.ms"]["source"], 2);

    // A restarted broker reads its dynamic configs before loading the logs.
    let mut broker = broker;
    broker.restart();
    broker.wait_listening(T);
    let d = py_describe(&broker.bootstrap(), "broker", "1");
    assert_eq!(d["log.retention.ms"]["value"], "1000");
}

async fn incremental(
    c: &mut zkafka::network::client::BrokerClient,
    ty: i8,
    name: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> (i16, String) {
    let configs = ops
        .iter()
        .map(|(k, op, v)| {
            inc::AlterableConfig::default()
                .with_name(sb(k))
                .with_config_operation(*op)
                .with_value(v.map(sb))
        })
        .collect();
    let req = IncrementalAlterConfigsRequest::default()
        .with_resources(vec![inc::AlterConfigsResource::default()
            .with_resource_type(ty)
            .with_resource_name(sb(name))
            .with_configs(configs)])
        .with_validate_only(validate_only);
    let resp = c.send(&req, 1).await.unwrap();
    let r = &resp.responses[0];
    (
        r.error_code,
        r.error_message.as_deref().unwrap_or("").to_string(),
    )
}

/// DescribeConfigs v3 with synonyms of one broker key (`""`: the only key the resource
/// has): (name, value, source) each.
async fn raw_synonyms(
    c: &mut zkafka::network::client::BrokerClient,
    broker: &str,
    key: &str,
) -> Vec<(String, Option<String>, i8)> {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(sb(broker))
            .with_configuration_keys((!key.is_empty()).then(|| vec![sb(key)]))]);
    let resp = c.send(&req, 3).await.unwrap();
    assert_eq!(resp.results[0].configs.len(), 1, "{resp:?}");
    resp.results[0].configs[0]
        .synonyms
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.value.as_ref().map(|v| v.to_string()),
                s.source,
            )
        })
        .collect()
}

async fn legacy(
    c: &mut zkafka::network::client::BrokerClient,
    ty: i8,
    name: &str,
    entries: &[(&str, &str)],
) -> (i16, String) {
    let configs = entries
        .iter()
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(sb(k))
                .with_value(Some(sb(v)))
        })
        .collect();
    let req = AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(ty)
        .with_resource_name(sb(name))
        .with_configs(configs)]);
    let resp = c.send(&req, 1).await.unwrap();
    let r = &resp.responses[0];
    (
        r.error_code,
        r.error_message.as_deref().unwrap_or("").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_changes_get_kafka_errors_and_nothing_is_applied() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let brokers = start_cluster(&connect, &[]).await;
    let broker = &brokers[0];
    let b = broker.bootstrap();
    let zk = zk_client(&connect).await;
    create_topic(&connect, &b, "t", 1, &[1], &[("retention.ms", "5000")]).await;
    let before = znode_config(&zk, "/config/topics/t").await;
    let mut c = client(broker).await;
    let id = broker.id();

    // Topic: unknown name → INVALID_CONFIG, bad value → INVALID_REQUEST, in Kafka's words;
    // a good key next to a bad one is not applied either.
    let r = incremental(
        &mut c,
        2,
        "t",
        &[
            ("segment.bytes", 0, Some("4096")),
            ("no.such.config", 0, Some("1")),
        ],
        false,
    )
    .await;
    assert_eq!(r, (40, "Unknown topic config name: no.such.config".into()));
    let r = incremental(
        &mut c,
        2,
        "t",
        &[
            ("segment.bytes", 0, Some("4096")),
            ("retention.ms", 0, Some("abc")),
        ],
        false,
    )
    .await;
    assert_eq!(r, (42, "Invalid config value for resource ConfigResource(type=TOPIC, name='t'): Invalid value abc for configuration retention.ms: Not a number of type LONG".into()));
    let r = legacy(&mut c, 2, "t", &[("min.insync.replicas", "0")]).await;
    assert_eq!(r, (42, "Invalid config value for resource ConfigResource(type=TOPIC, name='t'): Invalid value 0 for configuration min.insync.replicas: Value must be at least 1".into()));
    let r = incremental(&mut c, 2, "t", &[("retention.ms", 2, Some("1"))], false).await;
    assert_eq!(
        r,
        (
            42,
            "Config value append is not allowed for config key: retention.ms".into()
        )
    );
    let r = incremental(
        &mut c,
        2,
        "t",
        &[("retention.ms", 0, Some("1")), ("retention.ms", 1, None)],
        false,
    )
    .await;
    assert_eq!(
        r,
        (
            42,
            "Error due to duplicate config keys : retention.ms".into()
        )
    );
    let r = legacy(&mut c, 2, "nope", &[("retention.ms", "1")]).await;
    assert_eq!(r, (3, "The topic 'nope' does not exist.".into()));
    // validate_only checks but writes nothing.
    let r = incremental(&mut c, 2, "t", &[("retention.ms", 0, Some("1"))], true).await;
    assert_eq!(r.0, 0, "{r:?}");
    assert_eq!(znode_config(&zk, "/config/topics/t").await, before);

    // Broker: read-only keys, per-broker-only keys at the default, a per-broker resource
    // sent to another broker.
    let r = incremental(
        &mut c,
        4,
        &id.to_string(),
        &[
            ("log.cleaner.threads", 0, Some("2")),
            ("num.partitions", 0, Some("3")),
        ],
        false,
    )
    .await;
    assert_eq!(r, (42, format!("Invalid config value for resource ConfigResource(type=BROKER, name='{id}'): Cannot update these configs dynamically: Set(num.partitions)")));
    let r = incremental(
        &mut c,
        4,
        "",
        &[("listeners", 0, Some("PLAINTEXT://:1"))],
        false,
    )
    .await;
    assert_eq!(r, (42, "Invalid config value for resource ConfigResource(type=BROKER, name=''): Cannot update these configs at default cluster level, broker id must be specified: Set(listeners)".into()));
    let other = brokers[1].id();
    let r = incremental(
        &mut c,
        4,
        &other.to_string(),
        &[("log.cleaner.threads", 0, Some("2"))],
        false,
    )
    .await;
    assert_eq!(
        r,
        (
            42,
            format!("Unexpected broker id, expected {id}, but received {other}")
        )
    );
    let r = incremental(
        &mut c,
        4,
        &id.to_string(),
        &[("log.cleaner.threads", 0, Some("x"))],
        false,
    )
    .await;
    assert_eq!(r, (42, format!("Invalid config value for resource ConfigResource(type=BROKER, name='{id}'): Invalid value x for configuration log.cleaner.threads: Not a number of type INT")));
    let r = incremental(
        &mut c,
        4,
        &id.to_string(),
        &[("num.io.threads", 0, Some("100"))],
        false,
    )
    .await;
    assert_eq!(r.0, 42, "{r:?}");
    assert!(
        r.1.contains("value should not be greater than double the current value 8"),
        "{r:?}"
    );
    for path in [
        "/config/brokers/<default>",
        &format!("/config/brokers/{id}"),
    ] {
        assert_eq!(znode_config(&zk, path).await, Value::Null, "{path} written");
    }

    // Through a client: the same codes reach the application.
    let r = py_alter(
        "confluent",
        "incremental",
        &b,
        "topic",
        "t",
        json!({"no.such.config": "1"}),
    );
    assert_eq!(r.0, 40, "{r:?}");
    let r = js_alter(&b, "topic", "t", json!({"retention.ms": "abc"}));
    assert_eq!(r.0, 42, "{r:?}");
    assert_eq!(znode_config(&zk, "/config/topics/t").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_configs_tool_speaks_kafkas_flags_and_output() {
    let (ens, broker) = single_broker(&[]);
    let b = broker.bootstrap();
    let connect = ens.connect_string();
    create_topic(&connect, &b, "foo", 1, &[1], &[]).await;
    let topic = [
        "--bootstrap-server",
        &b,
        "--entity-type",
        "topics",
        "--entity-name",
        "foo",
    ];

    let alter = [
        &topic[..],
        &[
            "--alter",
            "--add-config",
            "cleanup.policy=[compact,delete],retention.ms=1000",
        ],
    ]
    .concat();
    let r = configs_tool(&alter);
    assert_eq!(
        r,
        (
            0,
            "Completed updating config for topic foo.\n".into(),
            String::new()
        )
    );
    let r = configs_tool(&[&topic[..], &["--describe"]].concat());
    assert_eq!(
        r.1,
        "Dynamic configs for topic foo are:\n  \
         cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}\n  \
         retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}\n"
    );
    let r = configs_tool(&[&topic[..], &["--alter", "--delete-config", "retention.ms"]].concat());
    assert_eq!(r.0, 0, "{r:?}");
    let r = configs_tool(&[&topic[..], &["--alter", "--add-config", "retention.ms=abc"]].concat());
    assert_eq!(r.0, 1);
    assert!(
        r.2.contains("Invalid value abc for configuration retention.ms: Not a number of type LONG"),
        "{r:?}"
    );

    // Brokers: the cluster default and one broker, with Kafka's headers.
    let brokers = ["--bootstrap-server", &b, "--entity-type", "brokers"];
    let r = configs_tool(
        &[
            &brokers[..],
            &[
                "--entity-default",
                "--alter",
                "--add-config",
                "log.cleaner.threads=2",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        r.1, "Completed updating default config for brokers in the cluster.\n",
        "{r:?}"
    );
    let r = configs_tool(
        &[
            &brokers[..],
            &[
                "--entity-name",
                "1",
                "--alter",
                "--add-config",
                "log.cleaner.backoff.ms=20000",
            ],
        ]
        .concat(),
    );
    assert_eq!(r.1, "Completed updating config for broker 1.\n", "{r:?}");
    let r = configs_tool(&[&brokers[..], &["--entity-name", "1", "--describe"]].concat());
    assert_eq!(
        r.1,
        "Dynamic configs for broker 1 are:\n  \
         log.cleaner.backoff.ms=20000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.cleaner.backoff.ms=20000, DEFAULT_CONFIG:log.cleaner.backoff.ms=15000}\n"
    );
    let r = configs_tool(&[&brokers[..], &["--entity-default", "--describe"]].concat());
    assert_eq!(
        r.1,
        "Default configs for brokers in the cluster are:\n  \
         log.cleaner.threads=2 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.threads=2}\n"
    );
    let r = configs_tool(&[&brokers[..], &["--entity-name", "1", "--describe", "--all"]].concat());
    assert!(r.1.starts_with("All configs for broker 1 are:\n"), "{r:?}");
    assert!(r.1.contains("\n  log.cleaner.threads=2 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.threads=2, DEFAULT_CONFIG:log.cleaner.threads=1}\n"), "{}", r.1);
    let r = configs_tool(
        &[
            &brokers[..],
            &[
                "--entity-name",
                "1",
                "--alter",
                "--add-config",
                "num.partitions=3",
            ],
        ]
        .concat(),
    );
    assert_eq!(r.0, 1);
    assert!(
        r.2.contains("Cannot update these configs dynamically: Set(num.partitions)"),
        "{r:?}"
    );

    // --zookeeper: users and clients (quota keys stored for the broker to read), raw lines.
    let zk_warning = "Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\nUse --bootstrap-server instead to specify a broker to connect to.\n";
    let users = ["--zookeeper", &connect, "--entity-type", "users"];
    let r = configs_tool(
        &[
            &users[..],
            &[
                "--entity-name",
                "CN=alice",
                "--alter",
                "--add-config",
                "producer_byte_rate=1024,consumer_byte_rate=2048",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        r.1,
        format!("{zk_warning}Completed updating config for entity: user-principal 'CN=alice'.\n"),
        "{r:?}"
    );
    let zk = zk_client(&connect).await;
    assert_eq!(
        znode_config(&zk, "/config/users/CN%3Dalice").await,
        json!({"version": 1, "config": {"consumer_byte_rate": "2048", "producer_byte_rate": "1024"}})
    );
    assert!(notifications(&zk)
        .await
        .contains(&"users/CN%3Dalice".to_string()));
    let r = configs_tool(&[&users[..], &["--describe"]].concat());
    assert_eq!(r.1, format!("{zk_warning}Configs for user-principal 'CN=alice' are consumer_byte_rate=2048,producer_byte_rate=1024\n"));
    let r = configs_tool(&[
        "--zookeeper",
        &connect,
        "--entity-type",
        "clients",
        "--entity-default",
        "--alter",
        "--add-config",
        "nope=1",
    ]);
    assert_eq!(r.0, 1);
    assert!(
        r.2.contains("Unknown Dynamic Configuration 'nope'."),
        "{r:?}"
    );
    let r = configs_tool(&[
        "--zookeeper",
        &connect,
        "--entity-type",
        "topics",
        "--entity-name",
        "foo",
        "--describe",
    ]);
    assert_eq!(
        r.1,
        format!("{zk_warning}Configs for topic 'foo' are cleanup.policy=compact,delete\n")
    );
    // Broker configs other than the throttles need the broker while it runs.
    let r = configs_tool(&[
        "--zookeeper",
        &connect,
        "--entity-type",
        "brokers",
        "--entity-name",
        "1",
        "--alter",
        "--add-config",
        "log.cleaner.threads=2",
    ]);
    assert_eq!(r.0, 1);
    assert!(r.2.contains("--bootstrap-server option must be specified to update broker configs Set(log.cleaner.threads). when broker 1 is running."), "{r:?}");
    let r = configs_tool(&[
        "--zookeeper",
        &connect,
        "--entity-type",
        "brokers",
        "--entity-name",
        "1",
        "--alter",
        "--add-config",
        "follower.replication.throttled.rate=1000",
    ]);
    assert_eq!(r.0, 0, "{r:?}");
}
