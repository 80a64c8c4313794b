//! The client data path with real clients: kcat (librdkafka) and kafka-python produce and
//! consume through a real broker on a real ZooKeeper; what comes back must be exactly what
//! went in — keys, values, headers, timestamps, offsets, partitioning and per-partition order.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::data_util::*;
use common::*;
use serde_json::Value;

const PARTITIONS: i32 = 4;

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// `kcat -C -J` of the whole topic.
async fn kcat_consume_all(bootstrap: &str, topic: &str) -> Vec<Value> {
    let out = kcat_with_input(
        &[
            "-C",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-J",
            "-q",
        ],
        b"",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    json_lines(&out)
}

/// kcat headers come as ["k1","v1","k2","v2"].
fn kcat_headers(v: &Value) -> Vec<(String, String)> {
    let h = v["headers"].as_array().cloned().unwrap_or_default();
    h.chunks(2)
        .map(|c| {
            (
                c[0].as_str().unwrap().to_string(),
                c[1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_round_trip_keys_headers_and_partitioning() {
    let (zk, broker) = single_broker(&[("auto.create.topics.enable", "false")]);
    let bootstrap = broker.bootstrap();
    create_topic(
        &zk.connect_string(),
        &bootstrap,
        "kc",
        PARTITIONS,
        &[1],
        &[],
    )
    .await;
    let n = 2000;
    let input: String = (0..n).map(|i| format!("key-{i}\tvalue-{i}\n")).collect();
    kcat_with_input(
        &[
            "-P",
            "-b",
            &bootstrap,
            "-t",
            "kc",
            "-K",
            "\t",
            "-H",
            "source=kcat",
            "-H",
            "empty=",
            "-X",
            "partitioner=murmur2_random",
            "-z",
            "lz4",
        ],
        input.as_bytes(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let got = kcat_consume_all(&bootstrap, "kc").await;
    assert_eq!(got.len(), n);
    let mut next_offset: BTreeMap<i64, i64> = BTreeMap::new();
    let mut last_index: BTreeMap<i64, i64> = BTreeMap::new();
    for m in &got {
        let p = m["partition"].as_i64().unwrap();
        let key = m["key"].as_str().unwrap();
        let i: i64 = key.strip_prefix("key-").unwrap().parse().unwrap();
        assert_eq!(m["payload"].as_str().unwrap(), format!("value-{i}"));
        assert_eq!(
            p,
            partition_for_key(key.as_bytes(), PARTITIONS) as i64,
            "{key}"
        );
        assert_eq!(
            kcat_headers(m),
            vec![
                ("source".into(), "kcat".into()),
                ("empty".into(), "".into())
            ]
        );
        // Offsets are dense from 0 and follow production order within a partition.
        let o = m["offset"].as_i64().unwrap();
        let expect = next_offset.entry(p).or_insert(0);
        assert_eq!(o, *expect, "partition {p}");
        *expect += 1;
        let prev = last_index.insert(p, i).unwrap_or(-1);
        assert!(i > prev, "partition {p}: record {i} after {prev}");
    }
    let mut c = client(&broker).await;
    for (p, end) in &next_offset {
        let (err, latest, epoch) = list_offset(&mut c, "kc", *p as i32, -1).await;
        assert_eq!((err, latest), (0, *end));
        assert_eq!(epoch, 0, "leader epoch of a fresh topic");
        assert_eq!(list_offset(&mut c, "kc", *p as i32, -2).await.1, 0);
    }
}

fn python(args: &[&str]) -> String {
    python_clients(args)
}

const BASE_TS: i64 = 1_600_000_000_000;

fn expected_value(i: i64) -> String {
    format!("value-{i}-{}", "x".repeat((i % 50) as usize))
}

/// Produces `n` records with kafka-python (codec `codec`), reads them back with kcat, and
/// checks every record against what the producer was acknowledged.
async fn python_to_kcat(broker: &Broker, topic: &str, n: usize, codec: &str, legacy: Option<&str>) {
    let bootstrap = broker.bootstrap();
    let n_s = n.to_string();
    let mut args = vec!["produce", &bootstrap, topic, &n_s, codec];
    if let Some(v) = legacy {
        args.push(v);
    }
    let started = Instant::now();
    let acks = json_lines(&python(&args));
    eprintln!(
        "kafka-python produced {n} {codec} records in {:?}",
        started.elapsed()
    );
    assert_eq!(acks.len(), n);
    let mut ack_of: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for a in &acks {
        let (i, p, o) = (
            a["i"].as_i64().unwrap(),
            a["p"].as_i64().unwrap(),
            a["o"].as_i64().unwrap(),
        );
        let key = format!("key-{i}");
        assert_eq!(p, partition_for_key(key.as_bytes(), PARTITIONS) as i64);
        assert!(
            ack_of.insert((p, o), i).is_none(),
            "offset {p}/{o} acknowledged twice"
        );
    }
    let started = Instant::now();
    let got = kcat_consume_all(&bootstrap, topic).await;
    eprintln!(
        "kcat consumed {} records in {:?}",
        got.len(),
        started.elapsed()
    );
    assert_eq!(got.len(), n);
    for m in &got {
        let (p, o) = (
            m["partition"].as_i64().unwrap(),
            m["offset"].as_i64().unwrap(),
        );
        let i = ack_of[&(p, o)];
        assert_eq!(m["key"].as_str().unwrap(), format!("key-{i}"));
        assert_eq!(m["payload"].as_str().unwrap(), expected_value(i));
        match legacy {
            None => {
                assert_eq!(m["ts"].as_i64().unwrap(), BASE_TS + i);
                assert_eq!(kcat_headers(m), vec![("idx".into(), i.to_string())]);
            }
            Some(v) if v.starts_with("0.9") => {}
            Some(_) => assert_eq!(m["ts"].as_i64().unwrap(), BASE_TS + i),
        }
    }
}

/// Produces with kcat (codec `codec`) and reads back with kafka-python.
async fn kcat_to_python(broker: &Broker, topic: &str, n: usize, codec: &str) {
    let bootstrap = broker.bootstrap();
    let input: String = (0..n)
        .map(|i| format!("key-{i}\t{}\n", expected_value(i as i64)))
        .collect();
    kcat_with_input(
        &[
            "-P",
            "-b",
            &bootstrap,
            "-t",
            topic,
            "-K",
            "\t",
            "-H",
            "from=kcat",
            "-z",
            codec,
            "-X",
            "partitioner=murmur2_random",
        ],
        input.as_bytes(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let got = json_lines(&python(&["consume", &bootstrap, topic, &n.to_string()]));
    assert_eq!(got.len(), n);
    let mut seen = vec![false; n];
    let mut next_offset: BTreeMap<i64, i64> = BTreeMap::new();
    for m in &got {
        let key = m["k"].as_str().unwrap();
        let i: usize = key.strip_prefix("key-").unwrap().parse().unwrap();
        let p = m["p"].as_i64().unwrap();
        assert_eq!(p, partition_for_key(key.as_bytes(), PARTITIONS) as i64);
        assert_eq!(m["v"].as_str().unwrap(), expected_value(i as i64));
        assert_eq!(m["h"], serde_json::json!([["from", "kcat"]]));
        let expect = next_offset.entry(p).or_insert(0);
        assert_eq!(m["o"].as_i64().unwrap(), *expect);
        *expect += 1;
        assert!(!std::mem::replace(&mut seen[i], true), "record {i} twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_kcat_round_trip_100k_records() {
    let (zk, broker) = single_broker(&[]);
    create_topic(
        &zk.connect_string(),
        &broker.bootstrap(),
        "big",
        PARTITIONS,
        &[1],
        &[],
    )
    .await;
    python_to_kcat(&broker, "big", 100_000, "none", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_round_trips_between_clients() {
    let (zk, broker) = single_broker(&[]);
    let zk_connect = zk.connect_string();
    let bootstrap = broker.bootstrap();
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let py = format!("py-{codec}");
        create_topic(&zk_connect, &bootstrap, &py, PARTITIONS, &[1], &[]).await;
        python_to_kcat(&broker, &py, 3000, codec, None).await;
        let kc = format!("kc-{codec}");
        create_topic(&zk_connect, &bootstrap, &kc, PARTITIONS, &[1], &[]).await;
        kcat_to_python(&broker, &kc, 3000, codec).await;
    }
}

/// Old producers (kafka-python pinned to 0.9 / 0.10, i.e. magic 0 / magic 1 message sets via
/// produce v1 / v2) are converted to v2 batches that today's clients read back exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_message_formats_are_converted() {
    let (zk, broker) = single_broker(&[]);
    let zk_connect = zk.connect_string();
    let bootstrap = broker.bootstrap();
    for (api, magic) in [("0.9", 0), ("0.10.0", 1)] {
        for codec in ["none", "gzip", "snappy", "lz4"] {
            let topic = format!("legacy-m{magic}-{codec}");
            create_topic(&zk_connect, &bootstrap, &topic, PARTITIONS, &[1], &[]).await;
            python_to_kcat(&broker, &topic, 500, codec, Some(api)).await;
        }
    }
}

/// confluent-kafka's bundled librdkafka (>= 2.1) follows every all-topics Metadata request
/// (v9+) with 3 stray bytes: `list_topics()` and a regex subscription both send one, and
/// both must work as with Kafka, which ignores bytes after a request body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_lists_topics_and_subscribes_by_regex() {
    let (zk, broker) = single_broker(&[
        ("auto.create.topics.enable", "false"),
        ("offsets.topic.replication.factor", "1"),
        ("offsets.topic.num.partitions", "4"),
        ("group.initial.rebalance.delay.ms", "0"),
    ]);
    let zk_connect = zk.connect_string();
    let bootstrap = broker.bootstrap();
    for (topic, partitions) in [("rx-a", 2), ("rx-b", 3), ("other", 1)] {
        create_topic(&zk_connect, &bootstrap, topic, partitions, &[1], &[]).await;
        let input: String = (0..5).map(|i| format!("{topic}-{i}\n")).collect();
        kcat_with_input(&["-P", "-b", &bootstrap, "-t", topic], input.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let lines = json_lines(&python(&[
        "confluent-regex",
        &bootstrap,
        "^rx-.*",
        "rx",
        "10",
    ]));
    let topics = &lines[0]["topics"];
    for (topic, partitions) in [("rx-a", 2), ("rx-b", 3), ("other", 1)] {
        assert_eq!(topics[topic], partitions, "list_topics(): {topics}");
    }
    let mut values: Vec<&str> = lines[1..]
        .iter()
        .map(|v| v["v"].as_str().unwrap())
        .collect();
    values.sort();
    let mut expected: Vec<String> = ["rx-a", "rx-b"]
        .iter()
        .flat_map(|t| (0..5).map(move |i| format!("{t}-{i}")))
        .collect();
    expected.sort();
    assert_eq!(
        values, expected,
        "the regex subscription reads rx-a and rx-b only"
    );
}
