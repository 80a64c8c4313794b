//! Tests of the integration-test harness itself (tests/common): real
//! ZooKeeper ensembles, the ZooKeeper client helper, pause/resume, node
//! failover, process cleanup, the broker process plumbing and kcat.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use zookeeper_client as zk;

fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

fn ephemeral() -> zk::CreateOptions<'static> {
    zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all())
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_zookeeper_serves_pauses_and_cleans_up() {
    let zk_ens = ZkEnsemble::start(1);
    assert_eq!(zk_ens.len(), 1);
    assert_eq!(zk_ens.mode(1).as_deref(), Some("standalone"));
    assert_eq!(zk_ens.leader(), Some(1));
    assert_eq!(
        zk_ens.four_letter(1, "ruok").as_deref(),
        Some("imok"),
        "4lw ruok"
    );

    let client = zk_client(&zk_ens.connect_string()).await;
    client
        .create("/harness", b"hello", &persistent())
        .await
        .expect("create /harness");
    client
        .create("/harness/eph", b"", &ephemeral())
        .await
        .expect("create ephemeral");
    let (data, _) = client.get_data("/harness").await.expect("get /harness");
    assert_eq!(data, b"hello");
    assert_eq!(
        client.list_children("/harness").await.unwrap(),
        vec!["eph".to_string()]
    );

    // A chrooted client sees the same node at "/".
    let chrooted = zk_client(&zk_ens.connect_string_with_chroot("/harness")).await;
    assert_eq!(chrooted.get_data("/").await.unwrap().0, b"hello");

    // Paused: the server answers nothing; resumed: the session carries on.
    zk_ens.pause();
    assert_eq!(zk_ens.mode(1), None, "a SIGSTOPped node must not answer");
    tokio::time::sleep(Duration::from_millis(500)).await;
    zk_ens.resume();
    wait_until(Duration::from_secs(20), || async {
        client.get_data("/harness/eph").await.is_ok()
    })
    .await;
    assert_eq!(zk_ens.mode(1).as_deref(), Some("standalone"));

    // Drop kills the JVM and deletes the data directory.
    let pids = zk_ens.pids();
    let dir = zk_ens.dir().to_path_buf();
    assert_eq!(pids.len(), 1);
    assert!(pids.iter().all(|&p| alive(p)));
    drop(zk_ens);
    for p in pids {
        assert!(!alive(p), "ZooKeeper pid {p} survived the ensemble's drop");
    }
    assert!(
        !dir.exists(),
        "{} survived the ensemble's drop",
        dir.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_ensemble_elects_fails_over_and_cleans_up() {
    let mut ens = ZkEnsemble::start(3);
    assert_eq!(ens.connect_string().split(',').count(), 3);
    let modes: Vec<String> = (1..=3).map(|id| ens.mode(id).unwrap()).collect();
    assert_eq!(
        modes.iter().filter(|m| *m == "leader").count(),
        1,
        "{modes:?}"
    );
    assert_eq!(
        modes.iter().filter(|m| *m == "follower").count(),
        2,
        "{modes:?}"
    );

    let client = zk_client(&ens.connect_string()).await;
    client
        .create("/replicated", b"v1", &persistent())
        .await
        .unwrap();

    // Every node has it (each client connected to one node only).
    for port in ens.client_ports() {
        let one = zk_client(&format!("127.0.0.1:{port}")).await;
        one.sync("/replicated").await.unwrap();
        assert_eq!(one.get_data("/replicated").await.unwrap().0, b"v1");
    }

    // Kill the leader: the other two elect a new one and keep the data.
    let old_leader = ens.leader().expect("a leader");
    ens.kill_node(old_leader);
    ens.wait_serving(Duration::from_secs(60));
    let new_leader = ens.leader().expect("a new leader");
    assert_ne!(new_leader, old_leader);
    wait_until(Duration::from_secs(30), || async {
        matches!(client.get_data("/replicated").await, Ok((d, _)) if d == b"v1")
    })
    .await;

    // Bring the old leader back; it rejoins as a follower.
    ens.start_node(old_leader);
    ens.wait_serving(Duration::from_secs(60));
    assert_eq!(ens.mode(old_leader).as_deref(), Some("follower"));

    // Pause the whole ensemble, then resume it.
    ens.pause();
    assert!((1..=3).all(|id| ens.mode(id).is_none()));
    ens.resume();
    ens.wait_serving(Duration::from_secs(60));
    wait_until_msg(
        Duration::from_secs(30),
        "client works after resume",
        || async { client.set_data("/replicated", b"v2", None).await.is_ok() },
    )
    .await;

    let pids = ens.pids();
    let dir = ens.dir().to_path_buf();
    assert_eq!(pids.len(), 3);
    drop(client);
    drop(ens);
    for p in pids {
        assert!(!alive(p), "ZooKeeper pid {p} survived the ensemble's drop");
    }
    assert!(!dir.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_is_clean_and_idempotent() {
    let mut ens = ZkEnsemble::start(1);
    let pids = ens.pids();
    let start = Instant::now();
    ens.stop();
    assert!(start.elapsed() < Duration::from_secs(15));
    assert!(ens.pids().is_empty());
    for p in pids {
        assert!(!alive(p));
    }
    ens.stop();
}

/// The broker plumbing, against whatever `zkafka` currently is: the process
/// gets a properties file following the contract, writes its output to the
/// log file, and SIGTERM ends it with exit status 0 (the stub exits 0 at once;
/// the real broker shuts down cleanly).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_process_plumbing() {
    let zk_ens = ZkEnsemble::start(1);
    let mut broker = Broker::start(
        7,
        &zk_ens.connect_string(),
        &[
            ("zookeeper.session.timeout.ms", "7000"),
            ("num.partitions", "2"),
        ],
    );
    let props = std::fs::read_to_string(broker.props_path()).unwrap();
    assert!(props.contains("broker.id=7\n"), "{props}");
    assert!(props.contains(&format!(
        "listeners=PLAINTEXT://127.0.0.1:{}\n",
        broker.port()
    )));
    assert!(props.contains(&format!("zookeeper.connect={}\n", zk_ens.connect_string())));
    assert!(
        props.contains("zookeeper.session.timeout.ms=7000\n"),
        "extra replaces"
    );
    assert!(!props.contains("zookeeper.session.timeout.ms=6000"));
    assert!(props.contains("num.partitions=2\n"));
    assert!(props.contains(&format!("log.dirs={}\n", broker.log_dir().display())));
    assert!(broker.log_dir().is_dir());
    assert!(broker.log_path().exists());
    assert_eq!(broker.bootstrap(), format!("127.0.0.1:{}", broker.port()));

    // Give a real broker a moment to come up before asking it to stop.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let first_pid = broker.pid();
    broker.sigterm();
    let status = broker
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no exit 30s after SIGTERM:\n{}", broker.log_contents()));
    assert!(
        status.success(),
        "exit {status}:\n{}",
        broker.log_contents()
    );
    assert!(!broker.is_running());

    broker.restart();
    assert_ne!(broker.pid(), first_pid);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = broker.pid();
    drop(broker);
    assert!(!alive(pid), "broker pid {pid} survived drop");
}

#[test]
fn free_ports_are_distinct_and_bindable() {
    let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
    let mut sorted = ports.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), ports.len());
    for p in ports {
        std::net::TcpListener::bind(("127.0.0.1", p)).expect("free port is bindable");
    }
}

#[test]
fn parses_kcat_broker_lines() {
    let text = "Metadata for all topics (from broker 2: 127.0.0.1:9093/2):\n \
                3 brokers:\n  broker 1 at 127.0.0.1:9092\n  \
                broker 2 at 127.0.0.1:9093 (controller)\n  broker 3 at 127.0.0.1:9094\n \
                0 topics:\n";
    let brokers = parse_kcat_brokers(text);
    assert_eq!(brokers.len(), 3);
    assert_eq!(
        brokers[1],
        KcatBroker {
            id: 2,
            address: "127.0.0.1:9093".into(),
            controller: true
        }
    );
    assert!(!brokers[0].controller && !brokers[2].controller);
}

#[tokio::test]
async fn kcat_reports_unreachable_bootstrap() {
    let port = free_port();
    let err = try_kcat_metadata(&format!("127.0.0.1:{port}"))
        .await
        .expect_err("nothing listens there");
    assert!(err.contains("kcat"), "{err}");
}
