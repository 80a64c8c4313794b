//! Bounded live fuzzing (issue 12): thousands of mutated requests and corrupt record batches
//! (deterministic seed, bounded count and time) against a running broker. Every poison batch
//! gets an error code; every mutated batch either gets an error code or, when the mutation
//! left it valid, is appended; mutated request frames get an answer or a closed connection.
//! Afterwards the broker still serves: a normal produce/consume round trip works and each
//! partition reads to its end with kcat (librdkafka) and kafka-python.

mod common;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::data_util::*;
use common::poison::{self, Target};
use common::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchRequest, MetadataRequest, ProduceRequest, RequestHeader,
};
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zkafka::log::batch::{CRC_OFFSET, RECORD_BATCH_OVERHEAD};
use zkafka::record::codec;

const SEED: u64 = 0x5eed_1234_abcd_0012;
const CORRUPT_BATCHES: usize = 3000;
const MUTATED_REQUESTS: usize = 3000;
/// Each phase stops early after this long, whatever its count (slow CI machines).
const PHASE_LIMIT: Duration = Duration::from_secs(60);

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Flips, overwrites, inserts or deletes a few bytes of `b` from `from` on.
fn mutate(rng: &mut Rng, b: &mut Vec<u8>, from: usize) {
    for _ in 0..1 + rng.below(4) {
        if b.len() <= from {
            b.push(rng.next() as u8);
            continue;
        }
        let at = from + rng.below(b.len() - from);
        match rng.below(5) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = rng.next() as u8,
            2 => b[at] = [0x00, 0x7f, 0x80, 0xff, 0x01][rng.below(5)],
            3 => b.insert(at, rng.next() as u8),
            _ => {
                b.remove(at);
            }
        }
    }
}

fn produce_req(topic: &str, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])])
}

/// A valid batch of 1..=5 records in a random codec.
fn valid_batch(rng: &mut Rng) -> Vec<u8> {
    let n = 1 + rng.below(5);
    let body = poison::records(n);
    match rng.below(5) {
        0 => poison::batch(0, n, &body),
        c => poison::batch(c as i16, n, &codec::compress(c as u8, &body).unwrap()),
    }
}

/// Phase 1: corrupt batches on one protocol connection. Returns the records appended.
async fn corrupt_batches(broker: &Broker, rng: &mut Rng) -> (i64, usize) {
    let mut c = client(broker).await;
    let poisons = poison::all();
    let started = Instant::now();
    let (mut appended, mut refused) = (0i64, 0usize);
    for i in 0..CORRUPT_BATCHES {
        if started.elapsed() > PHASE_LIMIT {
            eprintln!("corrupt batches: stopped after {i} ({PHASE_LIMIT:?})");
            break;
        }
        // Every fourth is a known poison batch, sent as it is (its expected code is known);
        // the rest are valid batches with random mutations.
        if i % 4 == 0 {
            let p = &poisons[rng.below(poisons.len())];
            let topic = if p.target == Target::Compacted {
                "fuzz-compacted"
            } else {
                "fuzz"
            };
            if p.target == Target::Stamped {
                continue;
            }
            let r = c
                .send(&produce_req(topic, Bytes::from(p.batch.clone())), p.version)
                .await
                .expect("Produce");
            let code = r.responses[0].partition_responses[0].error_code;
            assert_eq!(code, p.error_code, "poison batch {:?} #{i}", p.name);
            refused += 1;
            continue;
        }
        let mut b = valid_batch(rng);
        let from = RECORD_BATCH_OVERHEAD.min(b.len());
        mutate(rng, &mut b, from);
        // Mostly with a fixed length and CRC, so the mutation reaches the records.
        if rng.below(8) != 0 && b.len() >= RECORD_BATCH_OVERHEAD {
            let len = (b.len() - 12) as i32;
            b[8..12].copy_from_slice(&len.to_be_bytes());
            poison::recrc(&mut b);
        } else if b.len() > CRC_OFFSET + 4 {
            b[CRC_OFFSET] ^= 0x55;
        }
        let r = c
            .send(&produce_req("fuzz", Bytes::from(b)), 8)
            .await
            .expect("Produce");
        let p = &r.responses[0].partition_responses[0];
        if p.error_code == 0 {
            appended += 1;
        } else {
            assert!(p.base_offset == -1, "refused batch #{i} has an offset");
            refused += 1;
        }
    }
    (appended, refused)
}

/// Request frames to mutate: each a size-prefixed request as a client sends it.
fn seed_frames() -> Vec<Vec<u8>> {
    fn frame<R: Encodable + HeaderVersion>(key: ApiKey, v: i16, req: &R) -> Vec<u8> {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[0; 4]);
        RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(v)
            .with_correlation_id(7)
            .with_client_id(Some(StrBytes::from_static_str("fuzz\n\u{1b}[31m")))
            .encode(&mut buf, R::header_version(v))
            .unwrap();
        req.encode(&mut buf, v).unwrap();
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        buf.to_vec()
    }
    let batch = Bytes::from(poison::batch(0, 2, &poison::records(2)));
    let fetch = FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(0)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name("fuzz"))
            .with_partitions(vec![
                FetchPartition::default().with_partition_max_bytes(1 << 16)
            ])]);
    vec![
        frame(ApiKey::Produce, 8, &produce_req("fuzz", batch.clone())),
        frame(ApiKey::Produce, 3, &produce_req("fuzz", batch)),
        frame(
            ApiKey::Metadata,
            9,
            &MetadataRequest::default().with_topics(None),
        ),
        frame(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()),
        frame(ApiKey::Fetch, 12, &fetch),
        frame(ApiKey::Fetch, 4, &fetch),
    ]
}

/// Sends one frame; Ok(true) when a response came, Ok(false) when the broker closed.
async fn exchange(s: &mut TcpStream, frame: &[u8]) -> std::io::Result<bool> {
    s.write_all(frame).await?;
    let read = async {
        let size = s.read_i32().await?;
        let mut body = vec![0; size.max(0) as usize];
        s.read_exact(&mut body).await?;
        Ok::<_, std::io::Error>(())
    };
    match tokio::time::timeout(Duration::from_millis(300), read).await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(_)) => Ok(false),
        // No answer (an acks=0 produce, or a size prefix promising more bytes): drop it.
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Phase 2: mutated request frames, each on a connection that is replaced when it closes.
async fn mutated_requests(broker: &Broker, rng: &mut Rng) -> (usize, usize) {
    let seeds = seed_frames();
    let started = Instant::now();
    let (mut answered, mut closed) = (0, 0);
    let mut conn: Option<TcpStream> = None;
    for i in 0..MUTATED_REQUESTS {
        if started.elapsed() > PHASE_LIMIT {
            eprintln!("mutated requests: stopped after {i} ({PHASE_LIMIT:?})");
            break;
        }
        let mut f = seeds[rng.below(seeds.len())].clone();
        // Keep the size prefix honest most of the time, so the body is what gets parsed.
        mutate(rng, &mut f, 4);
        if rng.below(10) != 0 {
            let size = (f.len() - 4) as i32;
            f[..4].copy_from_slice(&size.to_be_bytes());
        }
        let s = match conn.as_mut() {
            Some(s) => s,
            None => conn.insert(
                TcpStream::connect(broker.bootstrap())
                    .await
                    .expect("connect"),
            ),
        };
        match exchange(s, &f).await {
            Ok(true) => answered += 1,
            _ => {
                closed += 1;
                conn = None;
            }
        }
    }
    (answered, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_mutated_requests_and_corrupt_batches() {
    let (zk, mut broker) = single_broker(&[("auto.create.topics.enable", "false")]);
    let bootstrap = broker.bootstrap();
    create_topic(&zk.connect_string(), &bootstrap, "fuzz", 1, &[1], &[]).await;
    let compact = [("cleanup.policy", "compact")];
    create_topic(
        &zk.connect_string(),
        &bootstrap,
        "fuzz-compacted",
        1,
        &[1],
        &compact,
    )
    .await;
    let mut rng = Rng(SEED);

    let (appended, refused) = corrupt_batches(&broker, &mut rng).await;
    eprintln!("corrupt batches: {refused} refused, {appended} still valid and appended");
    assert!(
        refused > CORRUPT_BATCHES / 4,
        "most corrupt batches are refused"
    );
    let (answered, closed) = mutated_requests(&broker, &mut rng).await;
    eprintln!("mutated requests: {answered} answered, {closed} closed or unanswered");
    assert!(broker.is_running(), "the broker survived");

    // A normal round trip still works, and every partition reads to its end.
    let mut c = client(&broker).await;
    for topic in ["fuzz", "fuzz-compacted"] {
        let input: String = (0..20).map(|i| format!("k{i}:after-{i}\n")).collect();
        kcat_with_input(
            &["-P", "-b", &bootstrap, "-t", topic, "-p", "0", "-K:"],
            input.as_bytes(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let end = list_offset(&mut c, topic, 0, -1).await.1;
        assert!(end >= 20, "{topic}: log end {end}");
        let args = [
            "-C",
            "-b",
            &bootstrap,
            "-t",
            topic,
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%o\n",
        ];
        let out = kcat_with_input(&args, b"")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let offsets: Vec<i64> = out.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(
            offsets.len() as i64,
            end,
            "{topic}: kcat reads every record"
        );
        assert_eq!(
            offsets.last(),
            Some(&(end - 1)),
            "{topic}: kcat reads to the end"
        );
        let py = python_clients(&["consume", &bootstrap, topic, &end.to_string()]);
        assert_eq!(
            py.lines().count() as i64,
            end,
            "{topic}: kafka-python reads every record"
        );
        assert!(
            py.contains("after-19"),
            "{topic}: the round trip's last record"
        );
    }
}
