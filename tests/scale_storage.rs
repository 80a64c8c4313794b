//! Storage at scale on a real broker process: open files bounded independently of the
//! number of partitions and segments under a 512-descriptor limit, clean restarts that
//! recover nothing, and a kill -9 that rebuilds no index of an empty log.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::data_util::{client, create_topic};
use common::repl::{fetch, produce_request, split_batches};
use common::*;

/// Partitions per topic; the test grows the broker from one topic to two.
const PARTITIONS: i32 = 200;
const OPEN_FILES_LIMIT: u64 = 512;
const CACHE_CAP: usize = 32;
/// Produce rounds (one batch per partition each) and records per batch.
const ROUNDS: usize = 7;
const RECORDS_PER_BATCH: usize = 4;

fn open_fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn segment_count(log_dir: &Path, topic: &str) -> usize {
    let mut n = 0;
    for e in fs::read_dir(log_dir).unwrap().flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{topic}-"))
        {
            continue;
        }
        n += fs::read_dir(e.path())
            .unwrap()
            .flatten()
            .filter(|f| f.file_name().to_string_lossy().ends_with(".log"))
            .count();
    }
    n
}

/// The broker's output since its last (re)start.
fn current_run_log(b: &Broker) -> String {
    let all = b.log_contents();
    match all.rfind("==== harness: restarting broker") {
        Some(i) => all[i..].to_string(),
        None => all,
    }
}

/// One Produce request per partition, each a batch of 4 records of 300 bytes (~1.3 KB):
/// with log.segment.bytes=4096 a segment holds three batches.
async fn produce_round(b: &Broker, topic: &str, round: usize) {
    let mut c = client(b).await;
    for p in 0..PARTITIONS {
        let values: Vec<Vec<u8>> = (0..RECORDS_PER_BATCH)
            .map(|i| vec![b'a' + (round + i) as u8; 300])
            .collect();
        let req = produce_request(topic, p, -1, &values);
        let resp = c.send(&req, 7).await.expect("produce");
        let err = resp.responses[0].partition_responses[0].error_code;
        assert_eq!(
            err, 0,
            "produce round {round} to {topic}-{p}: {:?}",
            resp.responses[0].partition_responses[0]
        );
    }
}

/// Creates `topic` (all partitions on broker 1) and produces every round to it; returns the
/// broker's open files and the topic's segment count after the first two rounds and at the end.
async fn fill_topic(zk: &ZkEnsemble, b: &Broker, topic: &str) -> [(usize, usize); 2] {
    create_topic_znodes(&zk.connect_string(), topic, PARTITIONS).await;
    wait_led(b, topic, PARTITIONS as usize).await;
    produce_round(b, topic, 0).await;
    produce_round(b, topic, 1).await;
    let few = (open_fds(b.pid()), segment_count(b.log_dir(), topic));
    for round in 2..ROUNDS {
        produce_round(b, topic, round).await;
    }
    let many = (open_fds(b.pid()), segment_count(b.log_dir(), topic));
    assert!(
        many.1 >= few.1 + PARTITIONS as usize,
        "{topic}: {} then {} segments",
        few.1,
        many.1
    );
    [few, many]
}

/// Reads every batch of every partition of `topic` back (waiting for the leaders after a
/// restart); returns the number of batches.
async fn read_back(b: &Broker, topic: &str) -> usize {
    let mut c = client(b).await;
    let mut total = 0usize;
    let end = (ROUNDS * RECORDS_PER_BATCH) as i64;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    for p in 0..PARTITIONS {
        // One fetch reads within one segment: walk all of them.
        let mut offset = 0;
        while offset < end {
            let (err, hw, records) = fetch(&mut c, topic, p, offset).await.expect("fetch");
            if err != 0 || hw != end {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{topic}-{p} at {offset}: error {err}, high watermark {hw} (want {end})"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue; // the leader may not be back yet
            }
            let batches = split_batches(&records);
            assert!(!batches.is_empty(), "{topic}-{p} at {offset}");
            offset = batches.last().unwrap().1 + 1;
            total += batches.len();
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hundred_partitions_under_512_open_files_independent_of_partitions_and_segments() {
    let zk = ZkEnsemble::start(1);
    let cap = CACHE_CAP.to_string();
    let mut b = Broker::start_with_open_files_limit(
        1,
        &zk.connect_string(),
        &[
            ("zkafka.log.segment.open.files.max", &cap),
            ("log.segment.bytes", "4096"),
            // The restart must not fail on a ZooKeeper slowed down by a loaded machine.
            ("zookeeper.connection.timeout.ms", "30000"),
        ],
        OPEN_FILES_LIMIT,
    );
    b.wait_listening(Duration::from_secs(30));
    let idle_fds = open_fds(b.pid());
    let [(fds_few, _), (fds_200, segments_200)] = fill_topic(&zk, &b, "wide").await;
    let [_, (fds_400, segments_400)] = fill_topic(&zk, &b, "wider").await;
    eprintln!(
        "open files: idle {idle_fds}, 200 partitions {fds_200} ({segments_200} segments), \
         400 partitions {fds_400} ({} segments)",
        segments_200 + segments_400
    );
    // Active segments' `.log` files are behind the bounded cache too and indexes hold no
    // descriptor: fewer open files than partitions, whatever the partition count.
    let bound = idle_fds + CACHE_CAP + 32;
    assert!(
        bound < PARTITIONS as usize,
        "the bound ({bound}) must be below one file per partition"
    );
    for (fds, what) in [(fds_200, "200 partitions"), (fds_400, "400 partitions")] {
        assert!(
            fds <= bound,
            "{fds} open files with {what} (idle {idle_fds}, bound {bound})"
        );
    }
    assert!(
        fds_200 <= fds_few + 8 && fds_400 <= fds_200 + 8,
        "open files grew: {fds_few} at 200 partitions and few segments, {fds_200} at \
         {segments_200} segments, {fds_400} at 400 partitions and {} segments",
        segments_200 + segments_400
    );

    // Clean restart under the same limit: nothing recovered, no index rebuilt, every
    // record readable again (every read goes through the bounded cache).
    b.restart();
    b.wait_listening(Duration::from_secs(60));
    for topic in ["wide", "wider"] {
        let total = read_back(&b, topic).await;
        assert_eq!(
            total,
            PARTITIONS as usize * ROUNDS,
            "every batch of {topic} read back"
        );
    }
    assert!(open_fds(b.pid()) <= bound);
    let run = current_run_log(&b);
    for bad in [
        "rebuilding index",
        "recovering unflushed",
        "Too many open files",
    ] {
        assert!(!run.contains(bad), "clean restart logged {bad:?}");
    }
    assert!(
        run.contains("Open files limit (RLIMIT_NOFILE): soft 512, hard 512"),
        "the limits are logged"
    );
}

/// Every index file of the topic's partitions, backdated an hour; returns (path, mtime).
fn backdate_indexes(log_dir: &Path, topic: &str) -> Vec<(PathBuf, SystemTime)> {
    let old = SystemTime::now() - Duration::from_secs(3600);
    let mut out = Vec::new();
    for e in fs::read_dir(log_dir).unwrap().flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{topic}-"))
        {
            continue;
        }
        for f in fs::read_dir(e.path()).unwrap().flatten() {
            if f.file_name().to_string_lossy().ends_with("index") {
                let h = fs::OpenOptions::new().write(true).open(f.path()).unwrap();
                h.set_modified(old).unwrap();
                out.push((f.path(), old));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_rebuilds_no_index_of_empty_logs_and_clean_restart_recovers_nothing() {
    let zk = ZkEnsemble::start(1);
    let mut b = Broker::start(1, &zk.connect_string(), &[]);
    b.wait_listening(Duration::from_secs(30));
    let (zkc, boot) = (zk.connect_string(), b.bootstrap());
    create_topic(&zkc, &boot, "empty", 20, &[1], &[]).await;
    create_topic(&zkc, &boot, "full", 2, &[1], &[]).await;
    let mut c = client(&b).await;
    for p in 0..2 {
        let resp = c
            .send(&produce_request("full", p, -1, &[vec![7u8; 100]]), 7)
            .await
            .unwrap();
        assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    }
    drop(c);

    b.kill9();
    let indexes = backdate_indexes(b.log_dir(), "empty");
    assert_eq!(indexes.len(), 40);
    b.restart();
    b.wait_listening(Duration::from_secs(60));
    wait_led(&b, "empty", 20).await;
    let run = current_run_log(&b);
    assert!(
        !run.contains("rebuilding index"),
        "no index rebuilt:\n{run}"
    );
    // The partitions holding data are recovered (this is what a clean restart must skip).
    assert!(
        run.contains("recovering unflushed"),
        "unclean restart recovers"
    );
    let after: Vec<(PathBuf, SystemTime)> = indexes
        .iter()
        .map(|(p, _)| (p.clone(), fs::metadata(p).unwrap().modified().unwrap()))
        .collect();
    assert_eq!(after, indexes, "empty logs' index files untouched");

    b.restart(); // SIGTERM: clean shutdown, then start again
    b.wait_listening(Duration::from_secs(60));
    wait_led(&b, "full", 2).await;
    let run = current_run_log(&b);
    assert!(
        !run.contains("recovering unflushed"),
        "clean restart recovers nothing"
    );
    assert!(!run.contains("rebuilding index"));
}

/// The topic's znodes as kafka-topics.sh writes them (all partitions on broker 1).
async fn create_topic_znodes(zk_connect: &str, topic: &str, partitions: i32) {
    use zookeeper_client as zk;
    let client = zk_client(zk_connect).await;
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let cfg = serde_json::json!({"version": 1, "config": {}});
    client
        .create(
            &format!("/config/topics/{topic}"),
            cfg.to_string().as_bytes(),
            &opts,
        )
        .await
        .expect("create /config/topics/<t>");
    let assignment: serde_json::Map<String, serde_json::Value> = (0..partitions)
        .map(|p| (p.to_string(), serde_json::json!([1])))
        .collect();
    let assignment = serde_json::json!({"version": 1, "partitions": assignment});
    client
        .create(
            &format!("/brokers/topics/{topic}"),
            assignment.to_string().as_bytes(),
            &opts,
        )
        .await
        .expect("create /brokers/topics/<t>");
}

/// Waits until every partition of the topic has a leader (generous: 200 log creations on
/// a loaded 2-core machine).
async fn wait_led(b: &Broker, topic: &str, partitions: usize) {
    let boot = b.bootstrap();
    wait_until_msg(
        Duration::from_secs(120),
        format!("leaders for {topic}"),
        || async {
            let Ok(text) = kcat(&["-b", &boot, "-L", "-J", "-t", topic, "-m", "5"]).await else {
                return false;
            };
            let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
            let parts = v["topics"][0]["partitions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            parts.len() == partitions && parts.iter().all(|p| p["leader"].as_i64() >= Some(0))
        },
    )
    .await;
}
