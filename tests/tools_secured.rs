//! Every command-line tool against a secured broker (issues 16/17): one broker whose client
//! listener is SASL_SSL only (no PLAINTEXT listener a tool could slip through) plus an SSL
//! listener that requires a client certificate. Each tool gets Kafka 2.8's flag for a client
//! properties file (`--command-config`, `--producer.config`, `--consumer.config`,
//! `--admin.config`) and must do its job: topics created, listed, described; records produced
//! and consumed in a group; the group described; configs altered; records deleted; API
//! versions, log dirs, leader election and reassignments listed. Logins with PLAIN,
//! SCRAM-SHA-256 and SCRAM-SHA-512 are checked in the broker's log; a wrong password, an
//! unknown property and a PLAINTEXT attempt fail with clear errors.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::data_util::zkafka_tool;
use common::security::*;
use common::*;

const ALICE_PW: &str = "alice-test-only-pw";

/// A client properties file in `dir`: SASL_SSL as alice with `mechanism` (or `password`),
/// trusting the test CA; `extra` lines appended.
fn sasl_ssl_properties(
    dir: &Path,
    pki: &Pki,
    mechanism: &str,
    password: &str,
    extra: &str,
) -> PathBuf {
    let module = if mechanism == "PLAIN" {
        "org.apache.kafka.common.security.plain.PlainLoginModule"
    } else {
        "org.apache.kafka.common.security.scram.ScramLoginModule"
    };
    let text = format!(
        "security.protocol=SASL_SSL\nsasl.mechanism={mechanism}\n\
         sasl.jaas.config={module} required username=\"alice\" password=\"{password}\";\n\
         ssl.truststore.type=PEM\nssl.truststore.location={}\n{extra}",
        s(&pki.ca)
    );
    let path = dir.join(format!("{mechanism}-{}.properties", password.len()));
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs a tool that must succeed; returns its stdout.
fn ok(tool: &str, args: &[&str], input: &str) -> String {
    let (success, out, err) = zkafka_tool(tool, args, input);
    assert!(success, "zkafka {tool} {args:?} failed:\n{out}\n{err}");
    out
}

/// Runs a tool that must fail; returns stdout and stderr together.
fn fails(tool: &str, args: &[&str]) -> String {
    let (success, out, err) = zkafka_tool(tool, args, "");
    assert!(
        !success,
        "zkafka {tool} {args:?} should fail:\n{out}\n{err}"
    );
    format!("{out}{err}")
}

/// Broker 1 with a SASL_SSL listener at the harness's port (inter-broker, SCRAM-SHA-512 as
/// `broker`; PLAIN, SCRAM-SHA-256/512 for clients) and an SSL one requiring certificates.
async fn start_secured_broker(connect: &str, pki: &Pki) -> Broker {
    add_broker_user(connect);
    let mut props = secured_props("SASL_SSL", Some(pki), &[("alice", ALICE_PW)]);
    let listeners = "SASL_SSL://127.0.0.1:{port},SSL://127.0.0.1:{free_port}";
    props.extend([
        ("listeners".into(), listeners.into()),
        ("advertised.listeners".into(), listeners.into()),
        (
            "sasl.enabled.mechanisms".into(),
            "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN".into(),
        ),
        (
            "listener.name.ssl.ssl.client.auth".into(),
            "required".into(),
        ),
        ("offsets.topic.replication.factor".into(), "1".into()),
        ("offsets.topic.num.partitions".into(), "1".into()),
    ]);
    let props: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut broker = Broker::start(1, connect, &props);
    broker.wait_listening(Duration::from_secs(30));
    let zk = zk_client(connect).await;
    wait_until_msg(
        Duration::from_secs(30),
        "broker 1 registered and controller",
        || async {
            zk.check_stat("/brokers/ids/1").await.unwrap().is_some()
                && zk.check_stat("/controller").await.unwrap().is_some()
        },
    )
    .await;
    broker
}

/// kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh (the librdkafka tools of the
/// `perf` feature: `cargo test --features perf --test tools_secured`): 2,000 records out and
/// back over SASL_SSL, each tool ending with its results line.
#[cfg(feature = "perf")]
fn perf_tools_print_their_results(bootstrap: &str, producer_config: &str, consumer_config: &str) {
    let out = ok(
        "perf",
        &[
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "2000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--producer.config",
            producer_config,
            "--producer-props",
            &format!("bootstrap.servers={bootstrap}"),
        ],
        "",
    );
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("2000 records sent, ") && last.ends_with(" ms 99.9th."),
        "{out}"
    );
    let out = ok(
        "perf",
        &[
            "consumer",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            "perf",
            "--messages",
            "2000",
            "--consumer.config",
            consumer_config,
        ],
        "",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.len() == 2 && lines[0].starts_with("start.time, end.time, data.consumed.in.MB"),
        "a header and a results line: {out}"
    );
    // start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, ...
    let fields: Vec<&str> = lines[1].split(", ").collect();
    assert_eq!((fields.len(), fields[4]), (10, "2000"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_works_against_a_sasl_ssl_cluster() {
    std::env::set_var("ZKAFKA_LOG", format!("info,{SASL_LOGIN_LOG}"));
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let zk = ZkEnsemble::start(1);
    let connect = zk.connect_string();
    add_scram_user(
        &connect,
        "alice",
        &format!("SCRAM-SHA-256=[password={ALICE_PW}],SCRAM-SHA-512=[password={ALICE_PW}]"),
    );
    let broker = start_secured_broker(&connect, &pki).await;
    let b = broker.bootstrap();
    let b = b.as_str();
    let plain = sasl_ssl_properties(dir.path(), &pki, "PLAIN", ALICE_PW, "");
    let scram256 =
        sasl_ssl_properties(dir.path(), &pki, "SCRAM-SHA-256", ALICE_PW, "client.id=t\n");
    let scram512 = sasl_ssl_properties(dir.path(), &pki, "SCRAM-SHA-512", ALICE_PW, "acks=all\n");
    let (plain, scram256, scram512) = (s(&plain), s(&scram256), s(&scram512));

    // kafka-topics.sh --bootstrap-server --command-config: create, list, describe.
    let topic_args = |extra: &[&'static str]| {
        let mut v = vec!["--bootstrap-server", b, "--command-config", plain];
        v.extend_from_slice(extra);
        v
    };
    let out = ok(
        "topics",
        &topic_args(&[
            "--create",
            "--topic",
            "secure",
            "--partitions",
            "2",
            "--replication-factor",
            "1",
            "--config",
            "retention.ms=86400000",
        ]),
        "",
    );
    assert_eq!(out.trim(), "Created topic secure.");
    let out = ok("topics", &topic_args(&["--list"]), "");
    assert!(out.lines().any(|l| l == "secure"), "{out}");
    let out = ok(
        "topics",
        &topic_args(&["--describe", "--topic", "secure"]),
        "",
    );
    assert!(
        out.starts_with("Topic: secure\t")
            && out.contains("\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: ")
            && out.contains("retention.ms=86400000")
            && out.contains("\tTopic: secure\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1"),
        "{out}"
    );

    // Console producer (SCRAM-SHA-512 file, acks=all from it) and consumer (SCRAM-SHA-256
    // file, --consumer-property on top) in a group.
    let out = ok(
        "console-producer",
        &[
            "--bootstrap-server",
            b,
            "--topic",
            "secure",
            "--producer.config",
            scram512,
        ],
        "r1\nr2\nr3\n",
    );
    assert!(!out.contains("ERROR"), "{out}");
    let out = ok(
        "console-consumer",
        &[
            "--bootstrap-server",
            b,
            "--topic",
            "secure",
            "--consumer.config",
            scram256,
            "--consumer-property",
            "group.id=g1",
            "--from-beginning",
            "--max-messages",
            "3",
            "--timeout-ms",
            "20000",
        ],
        "",
    );
    let mut read: Vec<&str> = out.lines().collect();
    read.sort();
    assert_eq!(read, ["r1", "r2", "r3"], "{out}");

    #[cfg(feature = "perf")]
    perf_tools_print_their_results(b, scram512, scram256);

    // kafka-consumer-groups.sh --command-config: the group committed the 3 records.
    let out = ok(
        "consumer-groups",
        &[
            "--bootstrap-server",
            b,
            "--command-config",
            plain,
            "--describe",
            "--group",
            "g1",
        ],
        "",
    );
    let header = out
        .lines()
        .find(|l| l.contains("CURRENT-OFFSET"))
        .unwrap_or_default();
    let column = header
        .split_whitespace()
        .position(|c| c == "CURRENT-OFFSET");
    let committed: i64 = out
        .lines()
        .filter(|l| l.split_whitespace().any(|c| c == "secure"))
        .filter_map(|l| l.split_whitespace().nth(column?)?.parse::<i64>().ok())
        .sum();
    assert_eq!(committed, 3, "{out}");

    // kafka-configs.sh --bootstrap-server --command-config: alter, then describe.
    let cfg = |extra: &[&'static str]| {
        let mut v = vec![
            "--bootstrap-server",
            b,
            "--command-config",
            scram512,
            "--entity-type",
            "topics",
            "--entity-name",
            "secure",
        ];
        v.extend_from_slice(extra);
        v
    };
    let out = ok(
        "configs",
        &cfg(&["--alter", "--add-config", "retention.ms=3600000"]),
        "",
    );
    assert!(
        out.contains("Completed updating config for topic secure."),
        "{out}"
    );
    let out = ok("configs", &cfg(&["--describe"]), "");
    assert!(out.contains("retention.ms=3600000"), "{out}");

    // The other admin tools, each with its own flag name.
    let out = ok(
        "broker-api-versions",
        &["--bootstrap-server", b, "--command-config", plain],
        "",
    );
    assert!(
        out.contains(&format!("{b} (id: 1 rack: null) -> (")),
        "{out}"
    );
    let offsets = dir.path().join("offsets.json");
    let json = r#"{"version":1,"partitions":[{"topic":"secure","partition":0,"offset":-1},{"topic":"secure","partition":1,"offset":-1}]}"#;
    std::fs::write(&offsets, json).unwrap();
    let out = ok(
        "delete-records",
        &[
            "--bootstrap-server",
            b,
            "--command-config",
            plain,
            "--offset-json-file",
            s(&offsets),
        ],
        "",
    );
    let low: i64 = out
        .lines()
        .filter_map(|l| l.split("\tlow_watermark: ").nth(1))
        .map(|n| n.parse::<i64>().unwrap())
        .sum();
    assert_eq!(
        low, 3,
        "both partitions emptied up to their high watermark: {out}"
    );
    let out = ok(
        "log-dirs",
        &[
            "--bootstrap-server",
            b,
            "--command-config",
            plain,
            "--describe",
            "--topic-list",
            "secure",
        ],
        "",
    );
    assert!(out.contains("\"partition\":\"secure-0\""), "{out}");
    let out = ok(
        "leader-election",
        &[
            "--bootstrap-server",
            b,
            "--admin.config",
            scram256,
            "--election-type",
            "preferred",
            "--topic",
            "secure",
            "--partition",
            "0",
        ],
        "",
    );
    assert!(
        out.contains("Valid replica already elected for partitions"),
        "{out}"
    );
    ok(
        "reassign-partitions",
        &["--bootstrap-server", b, "--command-config", plain, "--list"],
        "",
    );

    // More partitions, then the topic's deletion.
    ok(
        "topics",
        &topic_args(&["--alter", "--topic", "secure", "--partitions", "3"]),
        "",
    );
    let out = ok(
        "topics",
        &topic_args(&["--describe", "--topic", "secure"]),
        "",
    );
    assert!(out.contains("\tPartitionCount: 3\t"), "{out}");
    ok(
        "topics",
        &topic_args(&["--create", "--topic", "doomed"]),
        "",
    );
    ok(
        "topics",
        &topic_args(&["--delete", "--topic", "doomed"]),
        "",
    );
    let out = ok("topics", &topic_args(&["--list"]), "");
    assert!(!out.contains("doomed"), "deleted: {out}");

    // SSL with a client certificate (keystore = key + chain in one PEM file).
    let keystore = dir.path().join("alice-keystore.pem");
    let key = std::fs::read_to_string(&pki.client_key).unwrap();
    let cert = std::fs::read_to_string(&pki.client_cert).unwrap();
    std::fs::write(&keystore, format!("{key}{cert}")).unwrap();
    let ssl = dir.path().join("ssl.properties");
    std::fs::write(
        &ssl,
        format!(
            "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={}\n\
             ssl.keystore.type=PEM\nssl.keystore.location={}\n",
            s(&pki.ca),
            s(&keystore)
        ),
    )
    .unwrap();
    let ssl_addr = listener_address(&broker, "SSL").unwrap();
    let out = ok(
        "topics",
        &[
            "--bootstrap-server",
            &ssl_addr,
            "--command-config",
            s(&ssl),
            "--list",
        ],
        "",
    );
    assert!(out.lines().any(|l| l == "secure"), "{out}");

    // The broker saw each mechanism's login over SASL_SSL.
    let log = broker.log_contents();
    for mech in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let want = format!("on SASL_SSL: authenticationID=alice, mechanism={mech}");
        assert!(
            log.contains(&want),
            "the broker logged alice's {mech} login"
        );
    }

    // Failures are clear: wrong password, unknown key, no security on a SASL_SSL port.
    let wrong = sasl_ssl_properties(dir.path(), &pki, "PLAIN", "wrong", "");
    let err = fails(
        "topics",
        &[
            "--bootstrap-server",
            b,
            "--command-config",
            s(&wrong),
            "--list",
        ],
    );
    assert!(err.contains("Invalid username or password"), "{err}");
    let bad = sasl_ssl_properties(
        dir.path(),
        &pki,
        "SCRAM-SHA-512",
        ALICE_PW,
        "sasl.kerberos.service.name=kafka\n",
    );
    let err = fails(
        "consumer-groups",
        &[
            "--bootstrap-server",
            b,
            "--command-config",
            s(&bad),
            "--list",
        ],
    );
    assert!(
        err.contains(&format!(
            "{}: sasl.kerberos.service.name is not supported",
            s(&bad)
        )),
        "{err}"
    );
    let err = fails(
        "console-producer",
        &[
            "--bootstrap-server",
            b,
            "--topic",
            "secure",
            "--producer.config",
            plain,
            "--producer-property",
            "bootstrap.server=x",
        ],
    );
    assert!(err.contains("unknown property bootstrap.server"), "{err}");
    fails("broker-api-versions", &["--bootstrap-server", b]);
}
