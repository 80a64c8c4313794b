//! `zkafka topics` (kafka-topics.sh --zookeeper) against a real ZooKeeper, no broker: fake
//! broker registrations and hand-written partition states stand in for the cluster. Asserts
//! the tool's output text, exit codes and the znodes it writes (byte-exact where Kafka's
//! payload is deterministic). The `--bootstrap-server` replication reports, which need
//! DescribeConfigs, run against two real brokers.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use zkafka::cluster::{Broker, EndPoint, SecurityProtocol};
use zkafka::zk::codec::{BrokerRegistration, PartitionState, TopicAssignment};
use zookeeper_client as zk;

fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the built binary as `zkafka topics --zookeeper <connect> <args>`.
fn topics(connect: &str, args: &[&str]) -> Run {
    topics_at("--zookeeper", connect, args)
}

/// `zkafka topics <server_flag> <address> <args>`.
fn topics_at(server_flag: &str, address: &str, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .arg("topics")
        .arg(server_flag)
        .arg(address)
        .args(args)
        .output()
        .expect("run zkafka topics");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs and asserts exit code and exact stdout.
#[track_caller]
fn expect(connect: &str, args: &[&str], code: i32, stdout: &str) {
    let r = topics(connect, args);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (code, stdout),
        "zkafka topics {args:?}; stderr: {}",
        r.stderr
    );
}

async fn mkdirs(c: &zk::Client, path: &str) {
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        match c.create(&prefix, b"", &persistent()).await {
            Ok(_) | Err(zk::Error::NodeExists) => {}
            Err(e) => panic!("create {prefix}: {e}"),
        }
    }
}

async fn put(c: &zk::Client, path: &str, data: &str) {
    let parent = path.rsplit_once('/').unwrap().0;
    mkdirs(c, parent).await;
    match c.create(path, data.as_bytes(), &persistent()).await {
        Ok(_) => {}
        Err(zk::Error::NodeExists) => {
            c.set_data(path, data.as_bytes(), None).await.unwrap();
        }
        Err(e) => panic!("create {path}: {e}"),
    }
}

async fn get(c: &zk::Client, path: &str) -> String {
    let (data, _) = c
        .get_data(path)
        .await
        .unwrap_or_else(|e| panic!("get {path}: {e}"));
    String::from_utf8(data).unwrap()
}

/// A broker registration as a 2.8 broker writes it (ephemeral, owned by the test's session).
async fn register_broker(c: &zk::Client, id: i32, rack: Option<&str>) {
    mkdirs(c, "/brokers/ids").await;
    let reg = BrokerRegistration {
        broker: Broker {
            id,
            endpoints: vec![EndPoint {
                listener_name: "PLAINTEXT".into(),
                host: "127.0.0.1".into(),
                port: 9090 + id as u16,
                security_protocol: SecurityProtocol::Plaintext,
            }],
            rack: rack.map(str::to_string),
        },
        version: 5,
        jmx_port: -1,
        timestamp_ms: 1,
    };
    let eph = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    c.create(&format!("/brokers/ids/{id}"), reg.encode().as_bytes(), &eph)
        .await
        .expect("register fake broker");
}

async fn put_state(c: &zk::Client, topic: &str, p: i32, leader: i32, isr: &[i32]) {
    let s = PartitionState {
        leader,
        leader_epoch: 0,
        isr: isr.to_vec(),
        controller_epoch: 1,
        zk_version: 0,
    };
    put(
        c,
        &format!("/brokers/topics/{topic}/partitions/{p}/state"),
        &s.encode(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_describe_alter_delete() {
    let ens = ZkEnsemble::start(1);
    let zk_connect = ens.connect_string_with_chroot("/kafka");
    let root = zk_client(&ens.connect_string()).await;
    mkdirs(&root, "/kafka").await;
    let c = zk_client(&zk_connect).await;
    for id in 1..=3 {
        register_broker(&c, id, None).await;
    }
    let z = zk_connect.as_str();

    // --- create with automatic assignment
    expect(
        z,
        &[
            "--create",
            "--topic",
            "t1",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ],
        0,
        "Created topic t1.\n",
    );
    assert_eq!(
        get(&c, "/config/topics/t1").await,
        r#"{"version":1,"config":{}}"#
    );
    let raw = get(&c, "/brokers/topics/t1").await;
    assert!(raw.starts_with(r#"{"version":3,"partitions":{"#), "{raw}");
    assert!(
        raw.ends_with(r#""adding_replicas":{},"removing_replicas":{}}"#),
        "v3 without topic_id: {raw}"
    );
    let a = TopicAssignment::decode("t1", raw.as_bytes()).unwrap();
    assert_eq!(a.partitions.keys().copied().collect::<Vec<_>>(), [0, 1, 2]);
    let mut leaders: Vec<i32> = a.partitions.values().map(|r| r[0]).collect();
    leaders.sort();
    assert_eq!(leaders, [1, 2, 3], "one leader per broker: {raw}");
    for r in a.partitions.values() {
        let mut s = r.clone();
        s.sort();
        assert_eq!(s, [1, 2, 3], "{raw}");
    }

    // --- existing topic, --if-not-exists, too large a replication factor
    expect(
        z,
        &[
            "--create",
            "--topic",
            "t1",
            "--partitions",
            "1",
            "--replication-factor",
            "1",
        ],
        1,
        "Error while executing topic command : Topic 't1' already exists.\n",
    );
    expect(
        z,
        &[
            "--create",
            "--topic",
            "t1",
            "--partitions",
            "1",
            "--replication-factor",
            "1",
            "--if-not-exists",
        ],
        0,
        "",
    );
    expect(
        z,
        &["--create", "--topic", "big", "--partitions", "1", "--replication-factor", "4"],
        1,
        "Error while executing topic command : Replication factor: 4 larger than available brokers: 3.\n",
    );

    // --- create with a manual assignment and configs: byte-exact znodes
    expect(
        z,
        &[
            "--create",
            "--topic",
            "t2",
            "--replica-assignment",
            "1:2,2:3",
            "--config",
            "retention.ms=1000",
            "--config",
            "cleanup.policy=compact",
        ],
        0,
        "Created topic t2.\n",
    );
    assert_eq!(
        get(&c, "/brokers/topics/t2").await,
        r#"{"version":3,"partitions":{"0":[1,2],"1":[2,3]},"adding_replicas":{},"removing_replicas":{}}"#
    );
    assert_eq!(
        get(&c, "/config/topics/t2").await,
        r#"{"version":1,"config":{"cleanup.policy":"compact","retention.ms":"1000"}}"#
    );
    expect(
        z,
        &["--create", "--topic", "bad", "--partitions", "1", "--replication-factor", "1", "--config", "retention.ms=abc"],
        1,
        "Error while executing topic command : Invalid value abc for configuration retention.ms: Not a number of type LONG\n",
    );
    assert!(root
        .check_stat("/kafka/brokers/topics/bad")
        .await
        .unwrap()
        .is_none());

    // --- '.'/'_' names: warning, then the collision check
    let warning = "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\n";
    expect(
        z,
        &[
            "--create",
            "--topic",
            "a.b",
            "--partitions",
            "1",
            "--replication-factor",
            "1",
        ],
        0,
        &format!("{warning}Created topic a.b.\n"),
    );
    expect(
        z,
        &["--create", "--topic", "a_b", "--partitions", "1", "--replication-factor", "1"],
        1,
        &format!("{warning}Error while executing topic command : Topic 'a_b' collides with existing topics: a.b\n"),
    );

    expect(z, &["--list"], 0, "a.b\nt1\nt2\n");
    expect(z, &["--list", "--topic", "t.*"], 0, "t1\nt2\n");

    // --- describe: partition 0 has a state znode, partition 1 has none
    put_state(&c, "t2", 0, 1, &[1, 2]).await;
    let p0 = "\tTopic: t2\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\n";
    let p1 = "\tTopic: t2\tPartition: 1\tLeader: none\tReplicas: 2,3\tIsr: \n";
    expect(
        z,
        &["--describe", "--topic", "t2"],
        0,
        &format!("Topic: t2\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=compact,retention.ms=1000\n{p0}{p1}"),
    );
    expect(
        z,
        &[
            "--describe",
            "--topic",
            "t2",
            "--under-replicated-partitions",
        ],
        0,
        p1,
    );
    expect(
        z,
        &["--describe", "--topic", "t2", "--unavailable-partitions"],
        0,
        p1,
    );
    expect(
        z,
        &["--describe", "--topics-with-overrides"],
        0,
        "Topic: t2\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=compact,retention.ms=1000\n",
    );
    // A leader that is not registered makes the partition unavailable.
    put_state(&c, "t2", 0, 7, &[7]).await;
    let r = topics(
        z,
        &["--describe", "--topic", "t2", "--unavailable-partitions"],
    );
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(
        r.stdout.contains("Partition: 0\tLeader: 7\t"),
        "{}",
        r.stdout
    );
    put_state(&c, "t2", 0, 1, &[1, 2]).await;

    // --- alter --partitions: existing entries kept, new ones with Kafka's fixed start index
    let grow = "WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the messages will be affected\n";
    expect(
        z,
        &["--alter", "--topic", "t2", "--partitions", "4"],
        0,
        &format!("{grow}Adding partitions succeeded!\n"),
    );
    assert_eq!(
        get(&c, "/brokers/topics/t2").await,
        r#"{"version":3,"partitions":{"0":[1,2],"1":[2,3],"2":[3,1],"3":[1,3]},"adding_replicas":{},"removing_replicas":{}}"#
    );
    expect(
        z,
        &["--alter", "--topic", "t2", "--partitions", "2"],
        1,
        &format!("{grow}Error while executing topic command : The number of partitions for a topic can only be increased. Topic t2 currently has 4 partitions, 2 would not be an increase.\n"),
    );

    // --- alter --config: the full override set, then a change notification
    expect(
        z,
        &["--alter", "--topic", "t2", "--config", "retention.ms=2000", "--delete-config", "cleanup.policy"],
        0,
        "WARNING: Altering topic configuration from this script has been deprecated and may be removed in future releases.\n         Going forward, please use kafka-configs.sh for this functionality\nUpdated config for topic t2.\n",
    );
    assert_eq!(
        get(&c, "/config/topics/t2").await,
        r#"{"version":1,"config":{"retention.ms":"2000"}}"#
    );
    let changes = c.list_children("/config/changes").await.unwrap();
    assert_eq!(changes, ["config_change_0000000000"]);
    assert_eq!(
        get(&c, "/config/changes/config_change_0000000000").await,
        r#"{"version":2,"entity_path":"topics/t2"}"#
    );

    // --- delete
    let marked = "Topic t1 is marked for deletion.\nNote: This will have no impact if delete.topic.enable is not set to true.\n";
    expect(z, &["--delete", "--topic", "t1"], 0, marked);
    assert_eq!(get(&c, "/admin/delete_topics/t1").await, "");
    expect(
        z,
        &["--delete", "--topic", "t1"],
        0,
        "Topic t1 is already marked for deletion.\n",
    );
    expect(z, &["--list"], 0, "a.b\nt1 - marked for deletion\nt2\n");
    let r = topics(z, &["--describe", "--topic", "t1"]);
    assert_eq!(r.stdout.lines().count(), 4, "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .all(|l| l.ends_with("\tMarkedForDeletion: true")),
        "{}",
        r.stdout
    );
    expect(
        z,
        &["--delete", "--topic", "nope"],
        1,
        "Error while executing topic command : Topic 'nope' does not exist as expected\n",
    );
    expect(z, &["--delete", "--topic", "nope", "--if-exists"], 0, "");
    expect(
        z,
        &["--describe", "--topic", "nope"],
        1,
        "Error while executing topic command : Topic 'nope' does not exist as expected\n",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_topics_internal_topics_and_racks() {
    let ens = ZkEnsemble::start(1);
    let z = ens.connect_string();
    let z = z.as_str();
    let c = zk_client(z).await;
    register_broker(&c, 1, Some("r1")).await;
    register_broker(&c, 2, Some("r2")).await;
    register_broker(&c, 3, Some("r1")).await;

    // A topic created by kafka-topics 2.1 (v1 znode, no config znode).
    put(
        &c,
        "/brokers/topics/old",
        r#"{"version":1,"partitions":{"1":[2,1],"0":[1,2]}}"#,
    )
    .await;
    put_state(&c, "old", 0, 1, &[1, 2]).await;
    put_state(&c, "old", 1, 2, &[2]).await;
    put(
        &c,
        "/brokers/topics/__consumer_offsets",
        r#"{"version":1,"partitions":{"0":[1]}}"#,
    )
    .await;
    expect(
        z,
        &["--describe", "--topic", "o.*"],
        0,
        "Topic: old\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: \n\
         \tTopic: old\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\n\
         \tTopic: old\tPartition: 1\tLeader: 2\tReplicas: 2,1\tIsr: 2\n",
    );
    expect(z, &["--list"], 0, "__consumer_offsets\nold\n");
    expect(z, &["--list", "--exclude-internal"], 0, "old\n");

    // Growing a v1 topic rewrites it as v3 with the old entries untouched.
    let r = topics(z, &["--alter", "--topic", "old", "--partitions", "3"]);
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    let raw = get(&c, "/brokers/topics/old").await;
    assert!(
        raw.starts_with(r#"{"version":3,"partitions":{"0":[1,2],"1":[2,1],"2":["#),
        "{raw}"
    );

    // Internal topics: neither deleted nor grown.
    expect(
        z,
        &["--delete", "--topic", "__consumer_offsets"],
        1,
        "Error while executing topic command : Topic __consumer_offsets is a kafka internal topic and is not allowed to be marked for deletion.\n",
    );
    assert!(c
        .check_stat("/admin/delete_topics/__consumer_offsets")
        .await
        .unwrap()
        .is_none());
    expect(
        z,
        &["--alter", "--topic", "__consumer_offsets", "--partitions", "3"],
        1,
        "Error while executing topic command : The number of partitions for the internal topic __consumer_offsets cannot be changed.\n",
    );

    // Rack-aware: every partition's two replicas sit on both racks.
    expect(
        z,
        &[
            "--create",
            "--topic",
            "racked",
            "--partitions",
            "6",
            "--replication-factor",
            "2",
        ],
        0,
        "Created topic racked.\n",
    );
    let a =
        TopicAssignment::decode("r", get(&c, "/brokers/topics/racked").await.as_bytes()).unwrap();
    for r in a.partitions.values() {
        let racks: Vec<bool> = r.iter().map(|b| *b == 2).collect();
        assert!(
            racks.contains(&true) && racks.contains(&false),
            "{r:?} on one rack"
        );
    }

    // A broker without a rack: refused unless --disable-rack-aware.
    register_broker(&c, 4, None).await;
    expect(
        z,
        &["--create", "--topic", "norack", "--partitions", "1", "--replication-factor", "1"],
        1,
        "Error while executing topic command : Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.\n",
    );
    expect(
        z,
        &[
            "--create",
            "--topic",
            "norack",
            "--partitions",
            "1",
            "--replication-factor",
            "1",
            "--disable-rack-aware",
        ],
        0,
        "Created topic norack.\n",
    );

    // Command-line mistakes: usage error on stderr, exit 1.
    let r = topics(z, &["--topic", "x"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Command must include exactly one action"),
        "{}",
        r.stderr
    );
    let r = topics(z, &["--create", "--topic", "x", "--partitions", "1"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("Missing required argument \"[replication-factor]\""),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_down_fails_naming_the_connect_string() {
    let connect = format!("127.0.0.1:{}", free_port());
    let started = Instant::now();
    let r = tokio::task::spawn_blocking(move || {
        let r = topics(&connect, &["--list"]);
        (r, connect)
    })
    .await
    .unwrap();
    let (r, connect) = r;
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains(&connect), "{}", r.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "took {:?}",
        started.elapsed()
    );
}

/// Session ids the server tracks, from the `dump` four-letter word ("Session Sets").
fn tracked_sessions(ens: &ZkEnsemble) -> Vec<String> {
    let dump = ens.four_letter(1, "dump").expect("dump");
    let sessions = dump.split("ephemeral nodes dump").next().unwrap_or("");
    sessions
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("0x"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_closes_its_sessions_instead_of_leaving_them_to_expire() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let c = zk_client(&ens.connect_string()).await;
    let before = tracked_sessions(&ens);
    assert_eq!(
        before,
        vec![format!("{}", c.session_id())],
        "only the test's session"
    );
    let r = tokio::task::spawn_blocking(move || topics(&connect, &["--list"]))
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    // Both the chroot-creating and the tool's session are gone at once, not after 30 s.
    assert_eq!(tracked_sessions(&ens), before);
}

/// `zkafka topics --bootstrap-server <bootstrap> --describe <report>`, which must succeed.
fn report(bootstrap: &str, report: &str) -> String {
    let r = topics_at("--bootstrap-server", bootstrap, &["--describe", report]);
    assert_eq!(r.code, 0, "--describe {report}: {}{}", r.stdout, r.stderr);
    r.stdout
}

/// Kafka 2.8's AdminClientTopicService reports: `min.insync.replicas` comes per topic from
/// DescribeConfigs (override or default), a partition without a leader is under it, and a
/// leader that left the cluster is `none`. Broker 1 (the controller) keeps running while
/// broker 2 stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_server_replication_reports_on_two_brokers() {
    const T: Duration = Duration::from_secs(30);
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let zk = zk_client(&connect).await;
    // One ZooKeeper request at a time: the controller's pipelined reads and writes and the
    // ISR writes wait their turn (zookeeper.max.in.flight.requests), none waits on another.
    let mut b1 = common::Broker::start(1, &connect, &[("zookeeper.max.in.flight.requests", "1")]);
    b1.wait_listening(T);
    wait_until_msg(T, "broker 1 is the controller", || async {
        zk.check_stat("/controller").await.unwrap().is_some()
    })
    .await;
    // No controlled shutdown: broker 2 leaves at once, leading partitions it cannot hand over.
    let mut b2 = common::Broker::start(2, &connect, &[("controlled.shutdown.enable", "false")]);
    b2.wait_listening(T);
    let b = b1.bootstrap();
    wait_until_msg(T, "broker 1's metadata lists both brokers", || async {
        parse_kcat_brokers(&kcat_metadata(&b).await).len() == 2
    })
    .await;
    for (topic, assignment, config) in [
        ("a", "1:2,2:1", "min.insync.replicas=2"),
        ("b", "2", "retention.ms=60000"),
    ] {
        let args = [
            "--create",
            "--topic",
            topic,
            "--replica-assignment",
            assignment,
            "--config",
            config,
        ];
        let r = topics_at("--bootstrap-server", &b, &args);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    }
    let a0 = "\tTopic: a\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\n";
    let a1 = "\tTopic: a\tPartition: 1\tLeader: 2\tReplicas: 2,1\tIsr: 2,1\n";
    let b0 = "\tTopic: b\tPartition: 0\tLeader: 2\tReplicas: 2\tIsr: 2\n";
    let all = format!("{a0}{a1}{b0}");
    wait_until_msg(T, "every partition led, ISRs full", || async {
        report(&b, "--at-min-isr-partitions") == all
    })
    .await;
    assert_eq!(report(&b, "--under-min-isr-partitions"), "");
    assert_eq!(report(&b, "--under-replicated-partitions"), "");
    assert_eq!(report(&b, "--unavailable-partitions"), "");

    b2.sigterm();
    assert!(b2.wait_exit(T).is_some(), "broker 2 exits");
    let a0 = "\tTopic: a\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1\n";
    let a1 = "\tTopic: a\tPartition: 1\tLeader: 1\tReplicas: 2,1\tIsr: 1\n";
    // Its only replica gone, b-0 keeps its last ISR and has no leader.
    let b0 = "\tTopic: b\tPartition: 0\tLeader: none\tReplicas: 2\tIsr: 2\n";
    let shrunk = format!("{a0}{a1}");
    wait_until_msg(T, "broker 1 leads a, the ISRs shrank", || async {
        report(&b, "--under-replicated-partitions") == shrunk
    })
    .await;
    assert_eq!(report(&b, "--unavailable-partitions"), b0);
    assert_eq!(
        report(&b, "--under-min-isr-partitions"),
        format!("{a0}{a1}{b0}")
    );
    // Kafka's at-min check counts the ISR alone: b-0's one member equals its minimum of 1.
    assert_eq!(report(&b, "--at-min-isr-partitions"), b0);
    // Without a report: the header with the overrides only, then every partition.
    let r = topics_at("--bootstrap-server", &b, &["--describe", "--topic", "b"]);
    assert!(
        r.stdout.starts_with("Topic: b\t")
            && r.stdout
                .contains("\tReplicationFactor: 1\tConfigs: retention.ms=60000\n")
            && r.stdout.ends_with(b0),
        "{}",
        r.stdout
    );

    // Moving b-0 to broker 1 cannot finish without a leader: the line shows the move and the
    // adding replica does not count in the replication factor.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("move.json");
    let json = r#"{"version":1,"partitions":[{"topic":"b","partition":0,"replicas":[1]}]}"#;
    std::fs::write(&plan, json).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args(["reassign-partitions", "--bootstrap-server", &b, "--execute"])
        .arg("--reassignment-json-file")
        .arg(&plan)
        .output()
        .expect("run zkafka reassign-partitions");
    assert!(out.status.success(), "{out:?}");
    let moving = "\tTopic: b\tPartition: 0\tLeader: none\tReplicas: 1,2\tIsr: 2\tAdding Replicas: 1\tRemoving Replicas: 2\n";
    wait_until_msg(T, "b-0 listed as moving", || async {
        let r = topics_at("--bootstrap-server", &b, &["--describe", "--topic", "b"]);
        r.stdout.ends_with(moving) && r.stdout.contains("\tReplicationFactor: 1\t")
    })
    .await;
    assert_eq!(report(&b, "--unavailable-partitions"), moving);
}
