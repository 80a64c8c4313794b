//! Leader balance and reassignment (issue 16) with real ZooKeeper, three real brokers and
//! real admin clients: auto leader rebalance after a broker restart, ElectLeaders through
//! kafka-python and confluent-kafka (preferred and unclean, with Kafka's per-partition
//! errors), `/admin/preferred_replica_election`, and partition reassignment (KIP-455 API and
//! `/admin/reassign_partitions`) under acks=all load, with cancellation and bad input.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use common::repl::*;
use common::*;

const T: Duration = Duration::from_secs(40);

async fn cluster(connect: &str, extra: &[(&str, &str)]) -> Vec<Broker> {
    let mut props = vec![
        ("replica.lag.time.max.ms", "3000"),
        ("controlled.shutdown.retry.backoff.ms", "500"),
    ];
    props.extend_from_slice(extra);
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| Broker::start(id, connect, &props))
        .collect();
    for b in &mut brokers {
        b.wait_listening(T);
    }
    let zk = zk_client(connect).await;
    wait_until_msg(T, "3 brokers registered and a controller", || async {
        zk.list_children("/brokers/ids")
            .await
            .map(|c| c.len() == 3)
            .unwrap_or(false)
            && zk.get_data("/controller").await.is_ok()
    })
    .await;
    brokers
}

async fn wait_state(
    zk: &zookeeper_client::Client,
    topic: &str,
    p: i32,
    what: &str,
    cond: impl Fn(&ZkPartitionState) -> bool,
) -> ZkPartitionState {
    let deadline = Instant::now() + T;
    loop {
        let s = partition_state(zk, topic, p).await;
        match s {
            Some(s) if cond(&s) => return s,
            _ if Instant::now() > deadline => panic!("{topic}-{p}: {what} not reached; {s:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Restarts broker `id` cleanly (controlled shutdown moves its leaderships away) and waits
/// until it is back in the ISR of `topic`-`p`.
async fn bounce(
    brokers: &mut [Broker],
    zk: &zookeeper_client::Client,
    id: i32,
    topic: &str,
    p: i32,
) {
    let b = brokers.iter_mut().find(|b| b.id() == id).unwrap();
    b.restart();
    b.wait_listening(T);
    wait_state(zk, topic, p, "restarted broker back in the ISR", |s| {
        s.isr.contains(&id) && s.isr.len() > 1 && s.leader != id
    })
    .await;
}

fn python(args: &[&str]) -> serde_json::Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/leader_clients.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "leader_clients.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from leader_clients.py")
}

async fn python_async(args: Vec<String>) -> serde_json::Value {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        python(&refs)
    })
    .await
    .expect("python task")
}

/// `(partitions, adding_replicas, removing_replicas)` of `/brokers/topics/<topic>`.
async fn topic_znode(zk: &zookeeper_client::Client, topic: &str) -> serde_json::Value {
    let (data, _) = zk
        .get_data(&format!("/brokers/topics/{topic}"))
        .await
        .expect("topic znode");
    serde_json::from_slice(&data).expect("topic znode JSON")
}

async fn wait_assignment(
    zk: &zookeeper_client::Client,
    topic: &str,
    what: &str,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = topic_znode(zk, topic).await;
        if cond(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{topic}: {what} not reached: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The active controller's address (it serves the reassignment APIs).
async fn controller_bootstrap(zk: &zookeeper_client::Client, brokers: &[Broker]) -> String {
    let (data, _) = zk.get_data("/controller").await.expect("/controller");
    let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
    let id = v["brokerid"].as_i64().unwrap() as i32;
    brokers.iter().find(|b| b.id() == id).unwrap().bootstrap()
}

/// Makes sure broker `id` is not the controller (the cancellation step kills it and talks to
/// the controller): forces a re-election, as operators do, by deleting `/controller`.
async fn controller_other_than(zk: &zookeeper_client::Client, id: i32) {
    for _ in 0..30 {
        // An error means no controller for a moment, between two elections.
        if let Ok((data, stat)) = zk.get_data("/controller").await {
            let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
            if v["brokerid"].as_i64() != Some(i64::from(id)) {
                return;
            }
            let _ = zk.delete("/controller", Some(stat.version)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("broker {id} kept winning the controller election");
}

/// AlterPartitionReassignments v0 for one partition (`None` cancels); its error code.
async fn alter(controller: &str, topic: &str, p: i32, target: Option<&[i32]>) -> i16 {
    use kafka_protocol::messages::alter_partition_reassignments_request::{
        ReassignablePartition, ReassignableTopic,
    };
    let partition = ReassignablePartition::default()
        .with_partition_index(p)
        .with_replicas(target.map(|t| t.iter().copied().map(BrokerId).collect()));
    let req = AlterPartitionReassignmentsRequest::default().with_topics(vec![
        ReassignableTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![partition]),
    ]);
    let mut c = client(controller).await.expect("connect to the controller");
    let resp: AlterPartitionReassignmentsResponse = c.send(&req, 0).await.expect("alter");
    assert_eq!(resp.error_code, 0, "top-level error");
    resp.responses[0].partitions[0].error_code
}

/// Runs a `zkafka` tool; (exit code, stdout + stderr).
fn tool(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args(args)
        .output()
        .expect("run zkafka");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn describe(connect: &str, topic: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args([
            "topics",
            "--zookeeper",
            connect,
            "--describe",
            "--topic",
            topic,
        ])
        .output()
        .expect("run zkafka topics");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_returns_to_preferred_replicas_after_a_restart() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers = cluster(
        &connect,
        &[("leader.imbalance.check.interval.seconds", "2")],
    )
    .await;
    let zk = zk_client(&connect).await;
    create_topic(&zk, "bal", &[(0, &[1, 2, 3]), (1, &[2, 3, 1])], &[]).await;
    wait_state(&zk, "bal", 0, "leader 1", |s| {
        s.leader == 1 && s.isr.len() == 3
    })
    .await;
    let b = brokers.iter_mut().find(|b| b.id() == 1).unwrap();
    b.restart();
    b.wait_listening(T);
    // Controlled shutdown moved leadership of bal-0 to 2; the imbalance check (every 2 s)
    // gives it back to its preferred replica once broker 1 is in the ISR again.
    let s = wait_state(&zk, "bal", 0, "leader back on preferred replica 1", |s| {
        s.leader == 1 && s.isr.contains(&1) && s.leader_epoch >= 2
    })
    .await;
    assert!(s.leader_epoch >= 2, "leadership moved away and back: {s:?}");
    let out = describe(&connect, "bal");
    assert!(
        out.contains("Partition: 0\tLeader: 1\t"),
        "describe shows the preferred leader:\n{out}"
    );
    assert!(out.contains("Partition: 1\tLeader: 2\t"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elect_leaders_through_admin_clients_and_the_zookeeper_znode() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers = cluster(&connect, &[("auto.leader.rebalance.enable", "false")]).await;
    let zk = zk_client(&connect).await;
    create_topic(&zk, "el", &[(0, &[1, 2]), (1, &[2, 1])], &[]).await;
    create_topic(&zk, "solo", &[(0, &[3])], &[]).await;
    wait_state(&zk, "el", 0, "leader 1", |s| {
        s.leader == 1 && s.isr.len() == 2
    })
    .await;
    wait_state(&zk, "solo", 0, "leader 3", |s| s.leader == 3).await;
    let bootstrap = brokers[1].bootstrap();

    // kafka-python: el-0 needs an election, el-1 does not, el-7 does not exist.
    bounce(&mut brokers, &zk, 1, "el", 0).await;
    let r = python(&[
        "elect",
        "kafka-python",
        &bootstrap,
        "preferred",
        "el:0",
        "el:1",
        "el:7",
    ]);
    assert_eq!(r["el-0"], serde_json::Value::Null, "{r}");
    assert_eq!(r["el-1"], "84", "ELECTION_NOT_NEEDED: {r}");
    assert_eq!(r["el-7"], "3", "UNKNOWN_TOPIC_OR_PARTITION: {r}");
    wait_state(&zk, "el", 0, "preferred leader 1", |s| s.leader == 1).await;

    // confluent-kafka, all partitions: only the one that needed an election is reported.
    bounce(&mut brokers, &zk, 1, "el", 0).await;
    let r = python(&["elect", "confluent", &bootstrap, "preferred"]);
    assert_eq!(
        r,
        serde_json::json!({"el-0": null}),
        "only el-0 was elected"
    );
    wait_state(&zk, "el", 0, "preferred leader 1", |s| s.leader == 1).await;

    // The deprecated ZooKeeper path: the controller elects and deletes the znode.
    bounce(&mut brokers, &zk, 1, "el", 0).await;
    let opts =
        zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
    let body = r#"{"version":1,"partitions":[{"topic":"el","partition":0}]}"#;
    zk.create("/admin/preferred_replica_election", body.as_bytes(), &opts)
        .await
        .expect("create /admin/preferred_replica_election");
    wait_state(&zk, "el", 0, "preferred leader 1", |s| s.leader == 1).await;
    wait_until_msg(T, "znode deleted by the controller", || async {
        zk.check_stat("/admin/preferred_replica_election")
            .await
            .unwrap()
            .is_none()
    })
    .await;

    // Unclean: a partition whose only replica is gone has no eligible leader; one with a
    // live leader needs no election.
    brokers.iter_mut().find(|b| b.id() == 3).unwrap().kill9();
    wait_state(&zk, "solo", 0, "leaderless", |s| s.leader == -1).await;
    let r = python(&[
        "elect",
        "kafka-python",
        &bootstrap,
        "unclean",
        "solo:0",
        "el:1",
    ]);
    assert_eq!(r["solo-0"], "83", "ELIGIBLE_LEADERS_NOT_AVAILABLE: {r}");
    assert_eq!(r["el-1"], "84", "ELECTION_NOT_NEEDED: {r}");
    // The same through kafka-leader-election.sh: Kafka's lines and a failing exit code.
    let (code, out) = tool(&[
        "leader-election",
        "--bootstrap-server",
        &bootstrap,
        "--election-type",
        "unclean",
        "--topic",
        "solo",
        "--partition",
        "0",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Error completing leader election (UNCLEAN) for partition: solo-0: org.apache.kafka.common.errors.EligibleLeadersNotAvailableException: Failed to elect leader for partition solo-0"), "{out}");
    assert!(out.contains("1 replica(s) could not be elected"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_a_topic_from_brokers_1_2_to_2_3_under_load_loses_nothing() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let brokers = cluster(&connect, &[("auto.leader.rebalance.enable", "false")]).await;
    let zk = zk_client(&connect).await;
    create_topic(
        &zk,
        "mv",
        &[(0, &[1, 2]), (1, &[2, 1])],
        &[("min.insync.replicas", "2")],
    )
    .await;
    for p in 0..2 {
        wait_state(&zk, "mv", p, "both replicas in sync", |s| s.isr.len() == 2).await;
    }
    let bootstrap = brokers[1].bootstrap();
    let producer = tokio::spawn(python_async(
        ["produce", &bootstrap, "mv", "2000"]
            .map(String::from)
            .to_vec(),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let plan = std::env::temp_dir().join(format!("zkafka-mv-plan-{}.json", std::process::id()));
    std::fs::write(
        &plan,
        r#"{"version":1,"partitions":[{"topic":"mv","partition":0,"replicas":[2,3]},{"topic":"mv","partition":1,"replicas":[3,2],"log_dirs":["any","any"]}]}"#,
    )
    .unwrap();
    let plan = plan.to_str().unwrap().to_string();
    let (code, out) = tool(&[
        "reassign-partitions",
        "--bootstrap-server",
        &bootstrap,
        "--execute",
        "--reassignment-json-file",
        &plan,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(r#"{"version":1,"partitions":[{"topic":"mv","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},{"topic":"mv","partition":1,"replicas":[2,1],"log_dirs":["any","any"]}]}"#), "rollback JSON: {out}");
    assert!(
        out.contains("Successfully started partition reassignments for mv-0,mv-1"),
        "{out}"
    );
    // While in progress the topic znode holds RS = TRS + ORS with the adding/removing sets
    // (or it already finished).
    let done = wait_assignment(&zk, "mv", "RS = TRS, nothing adding or removing", |v| {
        v["partitions"] == serde_json::json!({"0": [2, 3], "1": [3, 2]})
            && v["adding_replicas"] == serde_json::json!({})
            && v["removing_replicas"] == serde_json::json!({})
    })
    .await;
    assert_eq!(done["version"], 3);
    for p in 0..2 {
        let s = wait_state(&zk, "mv", p, "ISR = target", |s| {
            let mut isr = s.isr.clone();
            isr.sort();
            isr == [2, 3]
        })
        .await;
        assert!(
            [2, 3].contains(&s.leader),
            "leader moved into the target: {s:?}"
        );
    }
    let listed = python(&["list", &bootstrap]);
    assert_eq!(listed, serde_json::json!({}), "no reassignment left");
    let (code, out) = tool(&[
        "reassign-partitions",
        "--bootstrap-server",
        &bootstrap,
        "--verify",
        "--reassignment-json-file",
        &plan,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Status of partition reassignment:\nReassignment of partition mv-0 is complete.\nReassignment of partition mv-1 is complete."),
        "{out}"
    );
    let _ = std::fs::remove_file(&plan);
    let removed = brokers[0].log_dir().join("mv-0");
    wait_until_msg(T, "broker 1 deleted its replicas of mv", || {
        let removed = removed.clone();
        async move { !removed.exists() }
    })
    .await;
    let acked = producer.await.expect("producer task");
    let acked: Vec<String> = serde_json::from_value(acked).unwrap();
    assert!(
        acked.len() > 1000,
        "most records were acknowledged: {}",
        acked.len()
    );
    let consumed = python(&["consume", &bootstrap, "mv"]);
    let consumed: std::collections::BTreeSet<String> = serde_json::from_value(consumed).unwrap();
    let lost: Vec<&String> = acked.iter().filter(|v| !consumed.contains(*v)).collect();
    assert!(
        lost.is_empty(),
        "acknowledged records lost: {} e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    drop(brokers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassignment_cancellation_bad_input_and_the_zookeeper_znode() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    // A long session: a killed broker stays registered (so "alive" to the controller) for a
    // while, during which a reassignment to it starts but cannot finish.
    let mut brokers = cluster(
        &connect,
        &[
            ("auto.leader.rebalance.enable", "false"),
            ("zookeeper.session.timeout.ms", "20000"),
        ],
    )
    .await;
    let zk = zk_client(&connect).await;
    create_topic(&zk, "rb", &[(0, &[1, 2]), (1, &[1, 2])], &[]).await;
    for p in 0..2 {
        wait_state(&zk, "rb", p, "both replicas in sync", |s| s.isr.len() == 2).await;
    }
    controller_other_than(&zk, 3).await;
    let bootstrap = brokers[1].bootstrap();
    let before = topic_znode(&zk, "rb").await;

    // Bad input: Kafka's errors, and nothing applied (the znode is unchanged).
    let r = python(&["reassign", &bootstrap, "rb:0=1,9", "rb:1=2,2", "nope:0=1,2"]);
    assert_eq!(
        r["rb-0"], "InvalidReplicationAssignmentError",
        "missing broker: {r}"
    );
    assert_eq!(
        r["rb-1"], "InvalidReplicationAssignmentError",
        "duplicates: {r}"
    );
    assert_eq!(r["nope-0"], "UnknownTopicOrPartitionError", "{r}");
    let r = python(&["reassign", &bootstrap, "rb:1=cancel"]);
    assert_eq!(r["rb-1"], "NoReassignmentInProgressError", "{r}");
    assert_eq!(topic_znode(&zk, "rb").await, before, "nothing applied");

    // Cancellation: broker 3 is killed so the move to it cannot finish; cancel reverts.
    brokers.iter_mut().find(|b| b.id() == 3).unwrap().kill9();
    // Straight to the controller: admin clients insist on reaching the dead broker.
    let controller = controller_bootstrap(&zk, &brokers).await;
    assert_eq!(alter(&controller, "rb", 0, Some(&[3, 2])).await, 0);
    let ongoing = wait_assignment(&zk, "rb", "RS = TRS + ORS", |v| {
        v["partitions"]["0"] == serde_json::json!([3, 2, 1])
    })
    .await;
    assert_eq!(ongoing["adding_replicas"], serde_json::json!({"0": [3]}));
    assert_eq!(ongoing["removing_replicas"], serde_json::json!({"0": [1]}));
    let mut c = client(&controller)
        .await
        .expect("connect to the controller");
    let listed: ListPartitionReassignmentsResponse = c
        .send(&ListPartitionReassignmentsRequest::default(), 0)
        .await
        .expect("ListPartitionReassignments");
    let p = &listed.topics[0].partitions[0];
    let as_ids = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
    assert_eq!(
        (
            as_ids(&p.replicas),
            as_ids(&p.adding_replicas),
            as_ids(&p.removing_replicas)
        ),
        (vec![3, 2, 1], vec![3], vec![1])
    );
    assert_eq!(alter(&controller, "rb", 0, None).await, 0, "cancelled");
    // ORS = RS − AR, in RS order (Kafka's `originReplicas`): the original set, [2,1].
    wait_assignment(&zk, "rb", "back to the original replicas", |v| {
        v["partitions"]["0"] == serde_json::json!([2, 1])
            && v["adding_replicas"] == serde_json::json!({})
    })
    .await;
    let b3 = brokers.iter_mut().find(|b| b.id() == 3).unwrap();
    b3.restart();
    b3.wait_listening(T);
    wait_until_msg(T, "broker 3 registered again", || async {
        zk.list_children("/brokers/ids").await.unwrap().len() == 3
    })
    .await;

    // The ZooKeeper path: the controller moves rb-1 and deletes the znode when done.
    let opts =
        zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
    let body = r#"{"version":1,"partitions":[{"topic":"rb","partition":1,"replicas":[3,1]}]}"#;
    zk.create("/admin/reassign_partitions", body.as_bytes(), &opts)
        .await
        .expect("create /admin/reassign_partitions");
    wait_assignment(&zk, "rb", "rb-1 on [3,1]", |v| {
        v["partitions"]["1"] == serde_json::json!([3, 1])
            && v["removing_replicas"] == serde_json::json!({})
    })
    .await;
    wait_until_msg(T, "/admin/reassign_partitions deleted", || async {
        zk.check_stat("/admin/reassign_partitions")
            .await
            .unwrap()
            .is_none()
    })
    .await;
}
