//! The brokers' HTTP endpoint (issue 14) with real ZooKeeper, three real brokers and Debian's
//! `prometheus` scraping them: UnderReplicatedPartitions goes to 1 when a follower is
//! stopped and back to 0 when it returns; `/state` and `/events` show a leader change after
//! the leader is killed.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use common::repl::*;
use common::*;

const T: Duration = Duration::from_secs(60);

/// Three brokers with their endpoint on a free port (`127.0.0.1:0`) and a quick ISR shrink
/// (replica.lag.time.max.ms = 3000); returns them with their HTTP addresses.
async fn cluster(connect: &str, session_timeout_ms: &str) -> (Vec<Broker>, Vec<String>) {
    let props = [
        ("replica.lag.time.max.ms", "3000"),
        ("zookeeper.session.timeout.ms", session_timeout_ms),
        ("zkafka.http.listener", "127.0.0.1:0"),
    ];
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| Broker::start(id, connect, &props))
        .collect();
    for b in &mut brokers {
        b.wait_listening(T);
    }
    let http = brokers.iter().map(http_address).collect();
    (brokers, http)
}

/// The address the broker logged when its endpoint came up.
fn http_address(b: &Broker) -> String {
    let deadline = Instant::now() + T;
    loop {
        let log = b.log_contents();
        if let Some(rest) = log.split("/events on http://").nth(1) {
            return rest.split_whitespace().next().unwrap_or("").to_string();
        }
        assert!(
            Instant::now() < deadline,
            "broker {} never logged its HTTP endpoint:\n{log}",
            b.id()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// GET over HTTP/1.0 (so the body is neither chunked nor kept alive): (status, body).
fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A `prometheus` server scraping the brokers every second, in a temp dir.
struct Prometheus {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(targets: &[String]) -> Prometheus {
        let dir = tempfile::Builder::new()
            .prefix("zkafka-prometheus-")
            .tempdir()
            .unwrap();
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: zkafka\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
             \x20   static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("run prometheus (Debian package `prometheus`; scripts/test.sh installs it)");
        Prometheus { child, addr, dir }
    }

    fn log(&self) -> String {
        tail_file(&self.dir.path().join("prometheus.log"), 40)
    }

    /// The single value of an instant PromQL query, if it has one.
    fn query(&self, promql: &str) -> Option<f64> {
        let path = format!("/api/v1/query?query={}", percent_encode(promql));
        let (status, body) = http_get(&self.addr, &path).ok()?;
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_str(&body).ok()?;
        let result = v["data"]["result"].as_array()?;
        if result.len() != 1 {
            return None;
        }
        result[0]["value"][1].as_str()?.parse().ok()
    }

    async fn wait_value(&self, promql: &str, want: f64, what: &str) {
        let deadline = Instant::now() + T;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.query(promql);
            if last == Some(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "{what}: `{promql}` is {last:?}, not {want}, after {T:?}\n---- prometheus ----\n{}",
            self.log()
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn by_id(brokers: &mut [Broker], id: i32) -> &mut Broker {
    brokers
        .iter_mut()
        .find(|b| b.id() == id)
        .expect("broker id")
}

async fn wait_isr(zk: &zookeeper_client::Client, topic: &str, want: &[i32]) {
    wait_until_msg(T, format!("ISR of {topic}-0 is {want:?}"), || async {
        partition_state(zk, topic, 0)
            .await
            .is_some_and(|s| s.isr == want)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_under_replicated_partitions_while_a_follower_is_stopped() {
    let ens = ZkEnsemble::start(1);
    // A long session, so that the stopped follower leaves the ISR through its leader (after
    // replica.lag.time.max.ms) rather than through the controller (after the session timeout).
    let (mut brokers, http) = cluster(&ens.connect_string(), "30000").await;
    let zk = zk_client(&ens.connect_string()).await;
    create_topic(&zk, "demo", &[(0, &[1, 2, 3])], &[]).await;
    wait_isr(&zk, "demo", &[1, 2, 3]).await;

    let prom = Prometheus::start(&http);
    prom.wait_value(
        "count(up == 1)",
        3.0,
        "prometheus scrapes all three brokers",
    )
    .await;
    // Exactly one broker reports itself as the active controller.
    prom.wait_value(
        "sum(kafka_controller_kafkacontroller_activecontrollercount)",
        1.0,
        "one active controller",
    )
    .await;
    let under = "sum(kafka_server_replicamanager_underreplicatedpartitions)";
    prom.wait_value(under, 0.0, "all replicas in sync").await;

    // Follower 3 stops and falls behind a new record: leader 1 drops it from the ISR after
    // replica.lag.time.max.ms (a caught-up follower stays in, however long it is silent).
    by_id(&mut brokers, 3).sigstop();
    let mut c = client(&brokers[0].bootstrap()).await.unwrap();
    let (code, _) = produce(&mut c, "demo", 0, 1, &[b"r".to_vec()])
        .await
        .unwrap();
    assert_eq!(code, 0, "acks=1 produce to leader 1");
    wait_isr(&zk, "demo", &[1, 2]).await;
    prom.wait_value(under, 1.0, "leader 1 reports demo-0 under-replicated")
        .await;
    prom.wait_value(
        "sum(kafka_cluster_partition_underreplicated{topic=\"demo\",partition=\"0\"})",
        1.0,
        "the partition's own gauge",
    )
    .await;
    prom.wait_value(
        "sum(kafka_server_replicamanager_isrshrinks_total)",
        1.0,
        "one ISR shrink counted",
    )
    .await;

    // It resumes, catches up and rejoins the ISR: back to 0.
    by_id(&mut brokers, 3).sigcont();
    wait_isr(&zk, "demo", &[1, 2, 3]).await;
    prom.wait_value(under, 0.0, "in sync again").await;
}

/// The SSE stream of `/events` as lines of `data:` JSON.
struct EventStream {
    lines: tokio::io::Lines<BufReader<tokio::net::TcpStream>>,
}

impl EventStream {
    async fn open(addr: &str) -> EventStream {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET /events HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        EventStream {
            lines: BufReader::new(s).lines(),
        }
    }

    /// The first event (history included) that satisfies `pred`.
    async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + T;
        let mut seen = Vec::new();
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line()).await;
            let line = match line {
                Ok(Ok(Some(l))) => l,
                other => panic!("no event {what} ({other:?}); saw:\n{}", seen.join("\n")),
            };
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let v: Value = serde_json::from_str(data.trim()).expect("event data is JSON");
            if pred(&v) {
                return v;
            }
            seen.push(v["text"].as_str().unwrap_or("").to_string());
        }
    }
}

fn partition_of<'a>(state: &'a Value, topic: &str) -> Option<&'a Value> {
    state["partitions"]
        .as_array()?
        .iter()
        .find(|p| p["topic"] == topic && p["partition"] == 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_and_events_show_a_leader_change_after_the_leader_is_killed() {
    let ens = ZkEnsemble::start(1);
    let (mut brokers, http) = cluster(&ens.connect_string(), "6000").await;
    let zk = zk_client(&ens.connect_string()).await;
    // The leader to kill (l) and its successor (f) are not the controller (c), so the
    // election is the controller's reaction to a broker failure, not a failover.
    let c = wait_for(T, || async {
        let (_, body) = http_get(&http[0], "/state").ok()?;
        let state: Value = serde_json::from_str(&body).ok()?;
        state["controller"]["id"].as_i64().filter(|id| *id > 0)
    })
    .await as i32;
    let others: Vec<i32> = (1..=3).filter(|id| *id != c).collect();
    let (l, f) = (others[0], others[1]);
    create_topic(&zk, "demo", &[(0, &[l, f, c])], &[]).await;
    wait_isr(&zk, "demo", &[l, f, c]).await;
    let http_f = &http[f as usize - 1];

    // f follows l; its /state says so, with the leader's epoch.
    let before = wait_for(T, || async {
        let (_, body) = http_get(http_f, "/state").ok()?;
        let state: Value = serde_json::from_str(&body).ok()?;
        let p = partition_of(&state, "demo")?.clone();
        (p["role"] == "follower" && p["leader"] == l).then_some(p)
    })
    .await;
    assert_eq!(before["replicas"], serde_json::json!([l, f, c]));
    let epoch = before["leader_epoch"].as_i64().unwrap();
    // Both followers fetch from l in an incremental fetch session (KIP-227) of one partition.
    let http_l = &http[l as usize - 1];
    let sessions = "kafka_server_fetchsessioncache_numincrementalfetchsessions 2";
    let cached = "kafka_server_fetchsessioncache_numincrementalfetchpartitionscached 2";
    wait_for(T, || async {
        let metrics = http_get(http_l, "/metrics").ok()?.1;
        (metrics.contains(sessions) && metrics.contains(cached)).then_some(())
    })
    .await;

    let mut events = EventStream::open(http_f).await;
    events
        .wait_for("f became follower of demo-0", |e| {
            e["kind"] == "became_follower" && e["topic"] == "demo" && e["broker"] == f
        })
        .await;

    by_id(&mut brokers, l).kill9();
    // The controller elects f, the next live replica in the ISR; f narrates it.
    let led = events
        .wait_for("f became leader of demo-0", |e| {
            e["kind"] == "became_leader" && e["topic"] == "demo" && e["partition"] == 0
        })
        .await;
    assert_eq!(led["broker"], f, "{led}");
    let (_, body) = http_get(http_f, "/state").unwrap();
    let state: Value = serde_json::from_str(&body).unwrap();
    let p = partition_of(&state, "demo").expect("demo-0 in /state");
    assert_eq!(p["role"], "leader", "{p}");
    assert!(p["leader_epoch"].as_i64().unwrap() > epoch, "{p}");
    assert!(p["high_watermark"].as_i64().unwrap() >= 0);
    assert!(!p["segments"].as_array().unwrap().is_empty(), "{p}");
    assert_eq!(state["controller"]["id"], c, "{state}");

    // The controller narrated the election with its reason.
    let mut ctl_events = EventStream::open(&http[c as usize - 1]).await;
    let election = ctl_events
        .wait_for("the controller's leader election for demo-0", |e| {
            e["kind"] == "leader_election"
                && e["topic"] == "demo"
                && e["text"]
                    .as_str()
                    .is_some_and(|t| t.contains(&format!("leader {l} -> {f}")))
        })
        .await;
    assert!(
        election["text"]
            .as_str()
            .unwrap()
            .contains("offline partition leader election"),
        "{election}"
    );
    let metrics = http_get(http_f, "/metrics").unwrap().1;
    assert!(
        metrics.contains("kafka_log_log_logendoffset{topic=\"demo\",partition=\"0\"}"),
        "{metrics}"
    );
}
