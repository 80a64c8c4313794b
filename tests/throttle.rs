//! Replication throttles (issue 16) with real ZooKeeper, three real brokers, kcat and
//! kafka-python: `kafka-reassign-partitions.sh --throttle` holds a move of some MB back while
//! an unthrottled move of the same size completes, `--additional` raises the rate live and the
//! move completes, `--verify` then removes every throttle config, and records produced with
//! acks=all during the throttled move are all there afterwards.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::repl::*;
use common::*;

const T: Duration = Duration::from_secs(60);
/// Bytes loaded into each topic before it moves (1,000-byte records).
const RECORDS: usize = 4_000;
const RECORD_BYTES: usize = 1_000;

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

fn python(args: &[String]) -> serde_json::Value {
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

/// Bytes of record batches a broker holds for a partition (its `.log` segment files).
fn log_bytes(broker: &Broker, partition_dir: &str) -> u64 {
    let dir = broker.log_dir().join(partition_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// `/config/<path>`'s config map (empty when the znode does not exist).
async fn zk_config(zk: &zookeeper_client::Client, path: &str) -> serde_json::Value {
    match zk.get_data(&format!("/config/{path}")).await {
        Ok((data, _)) => {
            let v: serde_json::Value = serde_json::from_slice(&data).expect("config JSON");
            v["config"].clone()
        }
        Err(_) => serde_json::json!({}),
    }
}

/// Waits until `topic`'s znode assigns `target` to partition 0 with nothing adding/removing
/// and the controller no longer lists a reassignment.
async fn wait_moved(zk: &zookeeper_client::Client, bootstrap: &str, topic: &str, target: &[i32]) {
    let deadline = Instant::now() + T;
    loop {
        let (data, _) = zk
            .get_data(&format!("/brokers/topics/{topic}"))
            .await
            .expect("topic znode");
        let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
        let listed = tool(&[
            "reassign-partitions",
            "--bootstrap-server",
            bootstrap,
            "--list",
        ])
        .1;
        if v["partitions"]["0"] == serde_json::json!(target)
            && v["adding_replicas"] == serde_json::json!({})
            && listed.contains("No partition reassignments found.")
        {
            return;
        }
        assert!(Instant::now() < deadline, "{topic} never moved: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn fill(bootstrap: &str, topic: &str, dir: &Path) {
    let file = dir.join(format!(
        "zkafka-throttle-{topic}-{}.txt",
        std::process::id()
    ));
    let line = "x".repeat(RECORD_BYTES);
    std::fs::write(&file, format!("{line}\n").repeat(RECORDS)).unwrap();
    let f = file.to_str().unwrap();
    kcat(&["-b", bootstrap, "-t", topic, "-P", "-l", f])
        .await
        .expect("kcat produce");
    let _ = std::fs::remove_file(&file);
}

fn plan_file(name: &str, json: &str) -> String {
    let path = std::env::temp_dir().join(format!("zkafka-{name}-{}.json", std::process::id()));
    std::fs::write(&path, json).unwrap();
    path.to_str().unwrap().to_string()
}

fn reassign(bootstrap: &str, action: &str, plan: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "reassign-partitions",
        "--bootstrap-server",
        bootstrap,
        action,
        "--reassignment-json-file",
        plan,
    ];
    args.extend_from_slice(extra);
    tool(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_slows_a_reassignment_until_raised_and_verify_removes_it() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let brokers = start_cluster(&connect, &[("auto.leader.rebalance.enable", "false")]).await;
    let zk = zk_client(&connect).await;
    create_topic(&zk, "fast", &[(0, &[1])], &[]).await;
    create_topic(
        &zk,
        "slow",
        &[(0, &[1, 2])],
        &[("min.insync.replicas", "2")],
    )
    .await;
    let bootstrap = brokers[0].bootstrap();
    wait_until_msg(T, "slow-0 has both replicas in sync", || async {
        partition_state(&zk, "slow", 0)
            .await
            .is_some_and(|s| s.isr.len() == 2)
    })
    .await;
    let tmp = std::env::temp_dir();
    fill(&bootstrap, "fast", &tmp).await;
    fill(&bootstrap, "slow", &tmp).await;
    let size = log_bytes(&brokers[0], "slow-0");
    assert!(
        size >= (RECORDS * RECORD_BYTES) as u64,
        "{size} bytes loaded"
    );

    // Unthrottled, the same amount of data moves to broker 3 at full speed.
    let fast = plan_file(
        "fast",
        r#"{"version":1,"partitions":[{"topic":"fast","partition":0,"replicas":[3]}]}"#,
    );
    let (code, out) = reassign(&bootstrap, "--execute", &fast, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("throttle"), "{out}");
    wait_moved(&zk, &bootstrap, "fast", &[3]).await;

    // Throttled to 100 KB/s (while acks=all producers keep writing), it is held back.
    let producer = tokio::task::spawn_blocking({
        let bootstrap = bootstrap.clone();
        move || python(&["produce".into(), bootstrap, "slow".into(), "2000".into()])
    });
    let slow = plan_file(
        "slow",
        r#"{"version":1,"partitions":[{"topic":"slow","partition":0,"replicas":[2,3]}]}"#,
    );
    let (code, out) = reassign(&bootstrap, "--execute", &slow, &["--throttle", "100000"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\nThe inter-broker throttle limit was set to 100000 B/s\nSuccessfully started partition reassignment for slow-0"),
        "{out}"
    );
    let topic_config = zk_config(&zk, "topics/slow").await;
    assert_eq!(
        topic_config["leader.replication.throttled.replicas"],
        "0:1,0:2"
    );
    assert_eq!(
        topic_config["follower.replication.throttled.replicas"],
        "0:3"
    );
    assert_eq!(
        topic_config["min.insync.replicas"], "2",
        "other configs kept"
    );
    for id in [1, 2, 3] {
        let c = zk_config(&zk, &format!("brokers/{id}")).await;
        assert_eq!(
            c["leader.replication.throttled.rate"], "100000",
            "broker {id}"
        );
        assert_eq!(
            c["follower.replication.throttled.rate"], "100000",
            "broker {id}"
        );
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    let copied = log_bytes(&brokers[2], "slow-0");
    let leader = log_bytes(&brokers[0], "slow-0");
    assert!(
        copied * 2 < leader,
        "the throttled replica holds {copied} of {leader} bytes after 6 s"
    );
    let (code, out) = reassign(&bootstrap, "--verify", &slow, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Reassignment of partition slow-0 is still in progress."),
        "{out}"
    );
    assert!(
        !out.contains("Clearing"),
        "throttles stay while moving: {out}"
    );

    // Resubmitting with --additional raises the rate live; the move completes.
    let (code, out) = reassign(
        &bootstrap,
        "--execute",
        &slow,
        &["--additional", "--throttle", "100000000"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("The inter-broker throttle limit was set to 100000000 B/s"),
        "{out}"
    );
    wait_moved(&zk, &bootstrap, "slow", &[2, 3]).await;
    let (code, out) = reassign(&bootstrap, "--verify", &slow, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Reassignment of partition slow-0 is complete.\nClearing broker-level throttles on brokers 1,2,3\nClearing topic-level throttles on topic slow"),
        "{out}"
    );
    let topic_config = zk_config(&zk, "topics/slow").await;
    assert_eq!(
        topic_config,
        serde_json::json!({"min.insync.replicas": "2"})
    );
    for id in [1, 2, 3] {
        let c = zk_config(&zk, &format!("brokers/{id}")).await;
        assert_eq!(c, serde_json::json!({}), "broker {id}");
    }

    let acked: Vec<String> =
        serde_json::from_value(producer.await.expect("producer task")).unwrap();
    assert!(
        acked.len() > 1000,
        "most records acknowledged: {}",
        acked.len()
    );
    let consumed = python(&["consume".into(), bootstrap.clone(), "slow".into()]);
    let consumed: std::collections::BTreeSet<String> = serde_json::from_value(consumed).unwrap();
    let lost: Vec<&String> = acked.iter().filter(|v| !consumed.contains(*v)).collect();
    assert!(lost.is_empty(), "acknowledged records lost: {}", lost.len());

    // The deprecated --zookeeper path writes and clears the same znodes.
    let back = plan_file(
        "back",
        r#"{"version":1,"partitions":[{"topic":"fast","partition":0,"replicas":[1]}]}"#,
    );
    let zk_args = ["reassign-partitions", "--zookeeper", connect.as_str()];
    let (code, out) = tool(
        &[
            &zk_args[..],
            &[
                "--execute",
                "--reassignment-json-file",
                &back,
                "--throttle",
                "10000000",
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("The inter-broker throttle limit was set to 10000000 B/s"),
        "{out}"
    );
    let c = zk_config(&zk, "topics/fast").await;
    assert_eq!(c["leader.replication.throttled.replicas"], "0:3", "{c}");
    assert_eq!(c["follower.replication.throttled.replicas"], "0:1", "{c}");
    wait_moved(&zk, &bootstrap, "fast", &[1]).await;
    let (code, out) = tool(
        &[
            &zk_args[..],
            &["--verify", "--reassignment-json-file", &back],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Clearing topic-level throttles on topic fast"),
        "{out}"
    );
    assert_eq!(zk_config(&zk, "topics/fast").await, serde_json::json!({}));
    assert_eq!(zk_config(&zk, "brokers/3").await, serde_json::json!({}));
    for f in [fast, slow, back] {
        let _ = std::fs::remove_file(f);
    }
    drop(brokers);
}
