//! LogValidator parity (issue 12): every poison batch — undefined codec, codec flag on bytes
//! of another codec, bad key/record lengths, 2^30 headers, offset-delta gaps, control
//! batches, bad timestamps, keyless records on a compacted topic, zstd below produce v7 —
//! is refused over the raw protocol with Kafka's error code (and Produce v8's error_message
//! and record_errors), nothing of it is appended, and every partition that received them
//! still reads to its end with kcat (librdkafka) and kafka-python.

mod common;

use bytes::Bytes;
use common::data_util::*;
use common::poison::{self, Target};

use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use zkafka::network::client::BrokerClient;
use zkafka::record::codec;

/// (topic, poison target, topic config).
type TopicSpec = (
    &'static str,
    Target,
    &'static [(&'static str, &'static str)],
);

const TOPICS: [TopicSpec; 3] = [
    ("plain", Target::Plain, &[]),
    (
        "compacted",
        Target::Compacted,
        &[("cleanup.policy", "compact")],
    ),
    (
        "stamped",
        Target::Stamped,
        &[("message.timestamp.difference.max.ms", "3600000")],
    ),
];

fn topic_of(target: Target) -> &'static str {
    TOPICS.iter().find(|t| t.1 == target).unwrap().0
}

async fn produce(c: &mut BrokerClient, topic: &str, batch: &[u8], version: i16) -> ProduceResponse {
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(Bytes::copy_from_slice(batch)))])]);
    c.send(&req, version).await.expect("Produce")
}

/// `kcat -C` of partition 0 from the beginning to its end: the number of records.
async fn kcat_count(bootstrap: &str, topic: &str) -> usize {
    let args = [
        "-C",
        "-b",
        bootstrap,
        "-t",
        topic,
        "-p",
        "0",
        "-o",
        "beginning",
        "-e",
        "-q",
    ];
    let out = kcat_with_input(&args, b"")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    out.lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_batches_are_refused_and_partitions_read_to_their_end() {
    let (zk, broker) = single_broker(&[]);
    let bootstrap = broker.bootstrap();
    for (topic, _, config) in TOPICS {
        create_topic(&zk.connect_string(), &bootstrap, topic, 1, &[1], config).await;
    }
    let mut c = client(&broker).await;
    let poisons = poison::all();
    let refused = poisons.len();
    for p in poisons {
        let r = produce(&mut c, topic_of(p.target), &p.batch, p.version).await;
        let part = &r.responses[0].partition_responses[0];
        assert_eq!(part.error_code, p.error_code, "{}: error code", p.name);
        assert_eq!(part.base_offset, -1, "{}", p.name);
        if p.version < 8 {
            continue;
        }
        let message = part.error_message.as_ref().map(|m| m.to_string());
        assert!(
            message.is_some_and(|m| !m.is_empty()),
            "{}: error_message",
            p.name
        );
        let indexes: Vec<i32> = part.record_errors.iter().map(|e| e.batch_index).collect();
        assert_eq!(indexes, p.record_errors, "{}: record_errors", p.name);
        for e in &part.record_errors {
            assert!(e.batch_index_error_message.is_some(), "{}", p.name);
        }
    }
    // Nothing of the poison was appended.
    for (topic, _, _) in TOPICS {
        assert_eq!(list_offset(&mut c, topic, 0, -1).await.1, 0, "{topic}");
    }

    // A valid zstd batch is accepted from produce v7 on, and valid batches everywhere.
    let plain = poison::records(3);
    let zstd = codec::compress(codec::ZSTD, &plain).unwrap();
    for (topic, _, _) in TOPICS {
        let r = produce(
            &mut c,
            topic,
            &poison::batch(codec::ZSTD as i16, 3, &zstd),
            7,
        )
        .await;
        let part = &r.responses[0].partition_responses[0];
        assert_eq!((part.error_code, part.base_offset), (0, 0), "{topic} zstd");
        let r = produce(&mut c, topic, &poison::batch(0, 3, &plain), 8).await;
        let part = &r.responses[0].partition_responses[0];
        assert_eq!((part.error_code, part.base_offset), (0, 3), "{topic}");
        let input: String = (0..10).map(|i| format!("key-{i}:kcat-{i}\n")).collect();
        kcat_with_input(
            &["-P", "-b", &bootstrap, "-t", topic, "-p", "0", "-K:"],
            input.as_bytes(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    // Each partition reads to its end with librdkafka and kafka-python.
    for (topic, _, _) in TOPICS {
        assert_eq!(
            list_offset(&mut c, topic, 0, -1).await.1,
            16,
            "{topic} log end"
        );
        assert_eq!(kcat_count(&bootstrap, topic).await, 16, "{topic}: kcat");
        let lines = python_clients(&["consume", &bootstrap, topic, "16"]);
        assert_eq!(lines.lines().count(), 16, "{topic}: kafka-python");
    }
    // Bad input is logged, rate-limited (one WARN line per 10 s): not one line per refusal.
    let log = broker.log_contents();
    let warned = log
        .lines()
        .filter(|l| l.contains("Refused produce"))
        .count();
    assert!(
        (1..refused).contains(&warned),
        "{warned} lines for {refused} refusals:\n{log}"
    );
}
