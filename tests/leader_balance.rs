//! Leader balance (issue 16) with real ZooKeeper, three real brokers and real admin clients:
//! auto leader rebalance after a broker restart, ElectLeaders through kafka-python and
//! confluent-kafka (preferred and unclean, with Kafka's per-partition errors), and the
//! ZooKeeper-triggered election of `/admin/preferred_replica_election`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

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
}
