//! `zkafka ui`, the live cluster view, against a real cluster: its JSON API (the model
//! joined from ZooKeeper and every broker's `/state`, the merged timeline with its topic
//! filter) and, in headless Chromium (tests/js/ui_browser.js with playwright-core), a
//! kill -9 of a partition leader appearing on the page as a new leader, a shrunk ISR and the
//! controller's narrated election, in English and in Korean.
//!
//! `ZKAFKA_UI_SCREENSHOTS=<dir>` makes the browser test save the README's screenshots.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::repl::{create_topic, partition_state};
use common::*;
use serde_json::Value;

const T: Duration = Duration::from_secs(60);
const TOPIC: &str = "demo";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A child process killed when the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Three brokers, each with its HTTP endpoint on its own free port (found by the ui
/// through DescribeConfigs).
async fn cluster(connect: &str, session_timeout_ms: &str) -> Vec<Broker> {
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| {
            let http = format!("127.0.0.1:{}", free_port());
            Broker::start(
                id,
                connect,
                &[
                    ("zkafka.http.listener", http.as_str()),
                    ("replica.lag.time.max.ms", "3000"),
                    ("offsets.topic.replication.factor", "3"),
                    ("zookeeper.session.timeout.ms", session_timeout_ms),
                ],
            )
        })
        .collect();
    for b in &mut brokers {
        b.wait_listening(T);
    }
    brokers
}

fn start_ui(connect: &str, dir: &Path) -> (Killed, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join("ui.log")).expect("ui.log");
    let child = Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args(["ui", "--listen", &addr, "--zookeeper", connect])
        .stdout(log.try_clone().expect("ui.log"))
        .stderr(log)
        .spawn()
        .expect("spawn zkafka ui");
    (Killed(child), addr)
}

/// GET over HTTP/1.0: (status, body).
fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

fn get_json(addr: &str, path: &str) -> Option<Value> {
    let (status, body) = http_get(addr, path).ok()?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

fn produce(bootstrap: &str, partition: i32, n: usize) {
    let mut kcat = Command::new("kcat")
        .args([
            "-P",
            "-b",
            bootstrap,
            "-t",
            TOPIC,
            "-p",
            &partition.to_string(),
        ])
        .args(["-X", "acks=all"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn kcat");
    let lines: String = (0..n).map(|i| format!("record-{i}\n")).collect();
    kcat.stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("write to kcat");
    assert!(kcat.wait().expect("kcat").success(), "kcat -P failed");
}

/// Creates `demo` (partition 0 on 1,2,3 and 1 on 2,3,1) and waits for both leaders.
async fn create_demo(connect: &str) {
    let zk = zk_client(connect).await;
    create_topic(&zk, TOPIC, &[(0, &[1, 2, 3]), (1, &[2, 3, 1])], &[]).await;
    for p in 0..2 {
        wait_until_msg(T, format!("a leader for {TOPIC}-{p}"), || {
            let zk = &zk;
            async move {
                partition_state(zk, TOPIC, p)
                    .await
                    .is_some_and(|s| s.leader >= 1 && s.isr.len() == 3)
            }
        })
        .await;
    }
}

/// The `demo-0` partition of an `/api/cluster` model.
fn partition0(model: &Value) -> Option<&Value> {
    model["topics"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == TOPIC)?["partitions"]
        .as_array()?
        .iter()
        .find(|p| p["partition"] == 0)
}

/// Waits until the model shows demo-0 with all three replicas caught up at `records`.
async fn caught_up_model(ui: &str, records: i64) -> Value {
    wait_for(T, || async move {
        let model = get_json(ui, "/api/cluster")?;
        let p = partition0(&model)?;
        let replicas = p["replica_states"].as_array()?;
        let caught_up = replicas.len() == 3
            && replicas.iter().all(|r| {
                r["online"] == true
                    && r["log_end_offset"] == records
                    && r["high_watermark"] == records
            });
        caught_up.then_some(model)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_and_the_timeline_follow_the_cluster() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    // A long session, so the gap between "stopped answering" and "gone" is wide.
    let mut brokers = cluster(&connect, "30000").await;
    create_demo(&connect).await;
    produce(&brokers[0].bootstrap(), 0, 5);
    let dir = tempfile::tempdir().expect("temp dir");
    let (_ui, ui) = start_ui(&connect, dir.path());

    let model = caught_up_model(&ui, 5).await;
    let controller = &model["controller"];
    assert!(controller["id"].as_i64().unwrap() >= 1, "{controller}");
    assert!(controller["epoch"].as_i64().unwrap() >= 1, "{controller}");
    assert_eq!(model["brokers"].as_array().unwrap().len(), 3);
    assert!(model["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["http"] == true));
    let p = partition0(&model).unwrap();
    assert_eq!(p["replicas"], serde_json::json!([1, 2, 3]));
    // Usually the preferred replica 1; another when 1 registered late on a loaded machine.
    assert!(
        [1, 2, 3].contains(&p["leader"].as_i64().unwrap()),
        "a replica leads: {p}"
    );
    assert_eq!(p["isr"].as_array().unwrap().len(), 3);
    assert!(!p["segments"].as_array().unwrap().is_empty(), "{p}");
    assert_eq!(
        model["zookeeper"]["servers"][0]["reachable"], true,
        "{}",
        model["zookeeper"]
    );

    // The timeline: the controller's election of every partition leader, filterable.
    let timeline = get_json(&ui, &format!("/api/timeline?topic={TOPIC}")).unwrap();
    let entries = timeline.as_array().unwrap();
    assert!(
        entries
            .iter()
            .all(|e| e["topic"] == TOPIC || e["broker_level"] == true),
        "the topic filter lets only {TOPIC} through: {timeline}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "leader_election"
                && e["text"].as_str().unwrap().contains("demo-0")),
        "the election of demo-0's first leader is narrated: {timeline}"
    );
    let times: Vec<i64> = entries
        .iter()
        .map(|e| e["time_ms"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "newest last: {times:?}"
    );
    let all = get_json(&ui, "/api/timeline").unwrap();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "controller_elected"),
        "the controller election is in the unfiltered timeline: {all}"
    );
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|e| e["internal"] != true),
        "internal topics are hidden by default"
    );
    let other = get_json(&ui, "/api/timeline?topic=no-such-topic").unwrap();
    assert_eq!(other, serde_json::json!([]));

    // The znode tree reads ZooKeeper as it is.
    let ids = get_json(&ui, "/api/znode?path=/brokers/ids").unwrap();
    assert_eq!(ids["children"], serde_json::json!(["1", "2", "3"]), "{ids}");
    let state = get_json(
        &ui,
        "/api/znode?path=/brokers/topics/demo/partitions/0/state",
    )
    .unwrap();
    assert!(
        state["data"].as_str().unwrap().contains("\"leader\":1"),
        "{state}"
    );
    assert_eq!(http_get(&ui, "/api/znode?path=/nothing").unwrap().0, 404);

    // kill -9: ZooKeeper keeps broker 3 registered for its 30 s session, but the view says at
    // once that it stopped answering and when its session will expire.
    brokers[2].kill9();
    let silent = wait_for(Duration::from_secs(10), || async {
        let model = get_json(&ui, "/api/cluster")?;
        let b = model["brokers"]
            .as_array()?
            .iter()
            .find(|b| b["id"] == 3)?
            .clone();
        (b["answering"] == false).then_some(b)
    })
    .await;
    assert_eq!(
        silent["session_expires_ms"].as_i64().unwrap()
            - silent["silent_since_ms"].as_i64().unwrap(),
        30_000,
        "{silent}"
    );
    let timeline = get_json(&ui, "/api/timeline").unwrap();
    assert!(
        timeline
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "broker_unreachable" && e["broker"] == 3),
        "the timeline says broker 3 stopped answering: {timeline}"
    );
    let ids = get_json(&ui, "/api/znode?path=/brokers/ids").unwrap();
    assert_eq!(
        ids["children"],
        serde_json::json!(["1", "2", "3"]),
        "still registered: {ids}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_shows_a_leader_failover_in_english_and_korean() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install chromium (scripts/test.sh installs it)"
    );
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let brokers = cluster(&connect, "6000").await;
    create_demo(&connect).await;
    produce(&brokers[0].bootstrap(), 0, 20);
    produce(&brokers[1].bootstrap(), 1, 7);
    // A consumer group, so the view has one to show.
    let _group = Killed(
        Command::new("kcat")
            .args(["-b", &brokers[1].bootstrap(), "-G", "viewers", TOPIC])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn kcat -G"),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let (_ui, ui) = start_ui(&connect, dir.path());
    caught_up_model(&ui, 20).await;

    let pids: Vec<String> = brokers
        .iter()
        .map(|b| format!("{}={}", b.id(), b.pid()))
        .collect();
    let js = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");
    let mut node = Command::new("node");
    node.arg("ui_browser.js")
        .current_dir(js)
        .env("UI_URL", format!("http://{ui}/"))
        .env("TOPIC", TOPIC)
        .env("BROKER_PIDS", pids.join(","))
        .stderr(Stdio::inherit());
    if let Ok(shots) = std::env::var("ZKAFKA_UI_SCREENSHOTS") {
        // Relative to the repository, not to tests/js where node runs.
        node.env(
            "SCREENSHOT_DIR",
            std::path::absolute(shots).expect("screenshot dir"),
        );
    }
    let out = tokio::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .expect("run node tests/js/ui_browser.js");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser test failed ({}): {stdout}\nui log:\n{}",
        out.status,
        tail_file(&dir.path().join("ui.log"), 40)
    );
    let result: Value = serde_json::from_str(stdout.trim()).expect("the script's JSON line");
    let (old, new) = (
        result["old_leader"].as_i64().unwrap(),
        result["new_leader"].as_i64().unwrap(),
    );
    assert_ne!(old, new);

    // The API agrees with the page (the cluster may have moved on since: a loaded machine
    // can expire another session), and the timeline explains the failover.
    let model = get_json(&ui, "/api/cluster").unwrap();
    let p = partition0(&model).unwrap();
    assert_ne!(p["leader"], old, "{p}");
    assert!(
        !p["isr"].as_array().unwrap().contains(&Value::from(old)),
        "{p}"
    );
    let timeline = get_json(&ui, &format!("/api/timeline?topic={TOPIC}")).unwrap();
    assert!(
        timeline.as_array().unwrap().iter().any(|e| {
            let text = e["text"].as_str().unwrap();
            // From `old`, or from -1 when a new controller first took `old` offline.
            e["kind"] == "leader_election"
                && text.contains("Partition demo-0 leader ")
                && text.contains(&format!(" -> {new}, ISR "))
                && text.contains("offline partition leader election")
        }),
        "the election is narrated with its reason: {timeline}"
    );
}
