//! The data path at the protocol level, with typed requests over raw connections: long-poll
//! fetches, offset range errors, leader-epoch fencing, bad produce input (nothing appended,
//! broker keeps serving), trailing bytes after a request body (ignored, as Kafka does), acks=0
//! and acks=all, the queued.max.request.bytes memory pool, incremental fetch sessions (KIP-227).

mod common;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::data_util::*;
use common::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchRequest, FetchResponse, ListOffsetsRequest, MetadataRequest,
    MetadataResponse, ProduceRequest, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zkafka::log::batch::build_batch;
use zkafka::network::client::BrokerClient;

fn batch(n: usize, value_len: usize) -> Bytes {
    let value = vec![b'v'; value_len];
    let recs: Vec<_> = (0..n)
        .map(|i| {
            (
                1_700_000_000_000 + i as i64,
                Some(&b"k"[..]),
                Some(&value[..]),
                &[][..],
            )
        })
        .collect();
    Bytes::from(build_batch(0, -1, &recs))
}

fn produce_req(
    topic: &str,
    partition: i32,
    acks: i16,
    timeout_ms: i32,
    records: Bytes,
) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(timeout_ms)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

/// Produce v8; returns (error code, base offset).
async fn produce(
    c: &mut BrokerClient,
    topic: &str,
    acks: i16,
    timeout_ms: i32,
    records: Bytes,
) -> (i16, i64) {
    let r = c
        .send(&produce_req(topic, 0, acks, timeout_ms, records), 8)
        .await
        .expect("Produce");
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn fetch_req(
    topic: &str,
    offset: i64,
    epoch: i32,
    max_wait_ms: i32,
    replica_id: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(replica_id.into())
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_current_leader_epoch(epoch)
                .with_partition_max_bytes(1 << 20)])])
}

async fn fetch(c: &mut BrokerClient, req: &FetchRequest, version: i16) -> FetchResponse {
    c.send(req, version).await.expect("Fetch")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_range_errors_and_epochs() {
    let (zk, broker) = single_broker(&[]);
    create_topic(
        &zk.connect_string(),
        &broker.bootstrap(),
        "lp",
        1,
        &[1],
        &[],
    )
    .await;
    let mut c = client(&broker).await;
    let mut waiter = client(&broker).await;

    // Nothing to read: a 300 ms long poll expires empty, not earlier.
    let started = Instant::now();
    let r = fetch(&mut waiter, &fetch_req("lp", 0, -1, 300, -1), 12).await;
    assert!(started.elapsed() >= Duration::from_millis(290));
    assert_eq!(r.session_id, 0, "answered sessionless");
    let p = &r.responses[0].partitions[0];
    assert_eq!((p.error_code, p.high_watermark), (0, 0));
    assert!(p.records.as_ref().unwrap().is_empty());

    // A 10 s long poll returns as soon as a produce lands.
    let handle = tokio::spawn(async move {
        let started = Instant::now();
        let r = fetch(&mut waiter, &fetch_req("lp", 0, 0, 10_000, -1), 12).await;
        (r, Instant::now(), started)
    });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let sent = batch(5, 100);
    let produced_at = Instant::now();
    assert_eq!(produce(&mut c, "lp", 1, 5000, sent.clone()).await, (0, 0));
    let (r, returned_at, started) = handle.await.unwrap();
    let latency = returned_at.duration_since(produced_at);
    eprintln!(
        "long poll answered {latency:?} after the produce ({:?} in total)",
        returned_at - started
    );
    // Woken by the produce, not expired (that would be ~9 s after it): a loaded machine
    // may take a second or two to answer, far from the expiry.
    assert!(
        latency < Duration::from_secs(5),
        "fetch took {latency:?} after the produce"
    );
    let p = &r.responses[0].partitions[0];
    assert_eq!(
        (
            p.error_code,
            p.high_watermark,
            p.last_stable_offset,
            p.log_start_offset
        ),
        (0, 5, 5, 0)
    );
    let got = p.records.as_ref().unwrap();
    assert_eq!(got.len(), sent.len(), "the stored batch comes back whole");
    assert_eq!(got[12..16], 0i32.to_be_bytes(), "leader epoch stamped");
    assert_eq!(got[21..], sent[21..], "record bytes untouched");

    // Every Fetch version answers; beyond the log end and below its start is out of range.
    for v in 0..=12 {
        let r = fetch(&mut c, &fetch_req("lp", 0, -1, 0, -1), v).await;
        assert_eq!(
            r.responses[0].partitions[0].records.as_ref().unwrap().len(),
            sent.len(),
            "v{v}"
        );
    }
    for offset in [6, 100, -1] {
        let r = fetch(&mut c, &fetch_req("lp", offset, -1, 0, -1), 12).await;
        assert_eq!(
            r.responses[0].partitions[0].error_code, 1,
            "offset {offset}: OFFSET_OUT_OF_RANGE"
        );
    }
    // At the log end: nothing, no error.
    let r = fetch(&mut c, &fetch_req("lp", 5, -1, 0, -1), 12).await;
    assert_eq!(r.responses[0].partitions[0].error_code, 0);
    // Leader epoch from the future: UNKNOWN_LEADER_EPOCH (75).
    let r = fetch(&mut c, &fetch_req("lp", 0, 7, 0, -1), 12).await;
    assert_eq!(r.responses[0].partitions[0].error_code, 75);
    // A topic nobody has: UNKNOWN_TOPIC_OR_PARTITION.
    let r = fetch(&mut c, &fetch_req("nope", 0, -1, 0, -1), 12).await;
    assert_eq!(r.responses[0].partitions[0].error_code, 3);

    // ListOffsets: every version, by timestamp, and v0's offset list.
    assert_eq!(
        list_offset(&mut c, "lp", 0, 1_700_000_000_003).await,
        (0, 3, 0)
    );
    assert_eq!(list_offset(&mut c, "lp", 0, 1_800_000_000_000).await.1, -1);
    for v in 0..=6 {
        let req = ListOffsetsRequest::default()
            .with_replica_id((-1).into())
            .with_topics(vec![
                kafka_protocol::messages::list_offsets_request::ListOffsetsTopic::default()
                    .with_name(topic_name("lp"))
                    .with_partitions(vec![
                    kafka_protocol::messages::list_offsets_request::ListOffsetsPartition::default()
                        .with_timestamp(-1)
                        .with_max_num_offsets(if v == 0 { 10 } else { 1 }),
                ]),
            ]);
        let r = c.send(&req, v).await.expect("ListOffsets");
        let p = &r.topics[0].partitions[0];
        assert_eq!(p.error_code, 0);
        if v == 0 {
            assert_eq!(p.old_style_offsets, vec![5, 0]);
        } else {
            assert_eq!(p.offset, 5, "v{v}");
        }
    }
}

/// A consumer's Fetch v12 in session `id` at `epoch`, listing `offsets` (partition, offset).
fn session_fetch(topic: &str, id: i32, epoch: i32, offsets: &[(i32, i64)]) -> FetchRequest {
    let partitions: Vec<FetchPartition> = offsets
        .iter()
        .map(|&(p, offset)| {
            FetchPartition::default()
                .with_partition(p)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)
        })
        .collect();
    let topics = match partitions.is_empty() {
        true => Vec::new(),
        false => vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(partitions)],
    };
    FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(200)
        .with_min_bytes(1)
        .with_session_id(id)
        .with_session_epoch(epoch)
        .with_topics(topics)
}

/// (partition, high watermark, record bytes) of each partition a response lists.
fn listed(r: &FetchResponse) -> Vec<(i32, i64, usize)> {
    r.responses
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| {
            let bytes = p.records.as_ref().map_or(0, |b| b.len());
            (p.partition_index, p.high_watermark, bytes)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_fetch_sessions() {
    let (zk, broker) = single_broker(&[]);
    create_topic(
        &zk.connect_string(),
        &broker.bootstrap(),
        "fs",
        2,
        &[1],
        &[],
    )
    .await;
    let mut c = client(&broker).await;

    // Epoch 0 opens a session; the full answer lists both partitions.
    let r = fetch(&mut c, &session_fetch("fs", 0, 0, &[(0, 0), (1, 0)]), 12).await;
    assert_eq!(r.error_code, 0);
    let id = r.session_id;
    assert_ne!(id, 0, "a session was opened");
    assert_eq!(listed(&r), vec![(0, 0, 0), (1, 0, 0)]);
    // Nothing changed: the incremental long poll expires with an empty answer.
    let r = fetch(&mut c, &session_fetch("fs", id, 1, &[]), 12).await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    assert!(listed(&r).is_empty(), "{r:?}");
    // Records on partition 1 only: only it is listed, though neither was named.
    let sent = batch(5, 10);
    let p = c
        .send(&produce_req("fs", 1, 1, 5000, sent.clone()), 8)
        .await
        .unwrap();
    assert_eq!(p.responses[0].partition_responses[0].error_code, 0);
    let r = fetch(&mut c, &session_fetch("fs", id, 2, &[]), 12).await;
    assert_eq!(listed(&r), vec![(1, 5, sent.len())]);
    // Moving past the records: partition 1 is named at offset 5; nothing new to list.
    let r = fetch(&mut c, &session_fetch("fs", id, 3, &[(1, 5)]), 12).await;
    assert!(listed(&r).is_empty(), "{r:?}");
    // A repeated epoch and an unknown session are session errors.
    let r = fetch(&mut c, &session_fetch("fs", id, 3, &[]), 12).await;
    assert_eq!(r.error_code, 71, "INVALID_FETCH_SESSION_EPOCH");
    let r = fetch(
        &mut c,
        &session_fetch("fs", id.wrapping_add(1).max(1), 1, &[]),
        12,
    )
    .await;
    assert_eq!(r.error_code, 70, "FETCH_SESSION_ID_NOT_FOUND");
    // A full fetch with epoch -1 closes the session and is answered sessionless.
    let r = fetch(&mut c, &session_fetch("fs", id, -1, &[(0, 0), (1, 5)]), 12).await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    assert_eq!(listed(&r).len(), 2);
    let r = fetch(&mut c, &session_fetch("fs", id, 4, &[]), 12).await;
    assert_eq!(r.error_code, 70, "the closed session is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_produce_input_appends_nothing() {
    let (zk, broker) = single_broker(&[("auto.create.topics.enable", "false")]);
    let zk_connect = zk.connect_string();
    create_topic(
        &zk_connect,
        &broker.bootstrap(),
        "bad",
        1,
        &[1],
        &[("max.message.bytes", "2000")],
    )
    .await;
    create_topic(
        &zk_connect,
        &broker.bootstrap(),
        "isr2",
        1,
        &[1],
        &[("min.insync.replicas", "2")],
    )
    .await;
    let mut c = client(&broker).await;
    assert_eq!(produce(&mut c, "bad", 1, 5000, batch(2, 10)).await, (0, 0));

    let mut corrupt = BytesMut::from(&batch(2, 10)[..]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let mut two = BytesMut::from(&batch(1, 10)[..]);
    two.extend_from_slice(&batch(1, 10));
    let cases: Vec<(&str, &str, i16, Bytes, i16)> = vec![
        ("missing topic", "missing", 1, batch(1, 10), 3),
        ("oversized batch", "bad", 1, batch(3, 1000), 10),
        ("bad CRC", "bad", 1, corrupt.freeze(), 2),
        ("acks=2", "bad", 2, batch(1, 10), 21),
        ("two batches in v8", "bad", 1, two.freeze(), 87),
        (
            "garbage",
            "bad",
            1,
            Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]),
            2,
        ),
        (
            "min.insync.replicas=2, acks=all",
            "isr2",
            -1,
            batch(1, 10),
            19,
        ),
    ];
    for (what, topic, acks, records, want) in cases {
        let (err, base) = produce(&mut c, topic, acks, 1000, records).await;
        assert_eq!((err, base), (want, -1), "{what}");
    }
    assert_eq!(
        list_offset(&mut c, "bad", 0, -1).await,
        (0, 2, 0),
        "nothing appended"
    );
    assert_eq!(
        list_offset(&mut c, "isr2", 0, -1).await.1,
        0,
        "nothing appended"
    );
    // Still serving, and acks=1 with min.insync.replicas=2 is fine.
    assert_eq!(produce(&mut c, "bad", 1, 5000, batch(1, 10)).await, (0, 2));
    assert_eq!(produce(&mut c, "isr2", 1, 5000, batch(1, 10)).await, (0, 0));
}

async fn write_request<R: Encodable + HeaderVersion>(
    s: &mut tokio::net::TcpStream,
    key: ApiKey,
    v: i16,
    corr: i32,
    req: &R,
) {
    write_request_with_trailer(s, key, v, corr, req, &[]).await;
}

/// Writes one request frame whose body is followed by `trailer` (inside the frame).
async fn write_request_with_trailer<R: Encodable + HeaderVersion>(
    s: &mut tokio::net::TcpStream,
    key: ApiKey,
    v: i16,
    corr: i32,
    req: &R,
    trailer: &[u8],
) {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[0; 4]);
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(v)
        .with_correlation_id(corr)
        .with_client_id(Some(StrBytes::from_static_str("raw")))
        .encode(&mut buf, R::header_version(v))
        .unwrap();
    req.encode(&mut buf, v).unwrap();
    buf.extend_from_slice(trailer);
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    s.write_all(&buf).await.unwrap();
}

/// Reads one response frame and decodes its header; returns (correlation id, body).
async fn read_response(s: &mut tokio::net::TcpStream, key: ApiKey, v: i16) -> (i32, Bytes) {
    let size = s
        .read_i32()
        .await
        .expect("a response, not a closed connection");
    let mut body = vec![0; size as usize];
    s.read_exact(&mut body).await.unwrap();
    let mut body = Bytes::from(body);
    let h = ResponseHeader::decode(&mut body, key.response_header_version(v)).unwrap();
    (h.correlation_id, body)
}

/// librdkafka >= 2.1 sends 3 bytes after an all-topics Metadata v9+ body; Kafka's request
/// parser ignores what follows a complete body, so the broker answers and keeps the
/// connection, as it does for any request with trailing bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_bytes_after_a_request_body_are_ignored() {
    let (zk, b) = single_broker(&[]);
    create_topic(&zk.connect_string(), &b.bootstrap(), "tb", 2, &[1], &[]).await;
    let mut s = tokio::net::TcpStream::connect(b.bootstrap()).await.unwrap();
    let all_topics = MetadataRequest::default().with_topics(None);
    write_request_with_trailer(&mut s, ApiKey::Metadata, 11, 1, &all_topics, &[0, 0, 0]).await;
    let (corr, mut body) = read_response(&mut s, ApiKey::Metadata, 11).await;
    assert_eq!(corr, 1);
    let r = MetadataResponse::decode(&mut body, 11).unwrap();
    assert_eq!(r.brokers.len(), 1);
    let tb = r
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some("tb"))
        .expect("topic tb listed");
    assert_eq!((tb.error_code, tb.partitions.len()), (0, 2));

    // The same connection goes on serving; a pre-flexible request with trailing bytes too.
    write_request_with_trailer(
        &mut s,
        ApiKey::ApiVersions,
        0,
        2,
        &ApiVersionsRequest::default(),
        b"xyz",
    )
    .await;
    let (corr, body) = read_response(&mut s, ApiKey::ApiVersions, 0).await;
    assert_eq!(corr, 2);
    assert_eq!(
        &body[..2],
        &0i16.to_be_bytes(),
        "ApiVersions error code NONE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero_and_acks_all() {
    let (zk, b1) = single_broker(&[]);
    let zk_connect = zk.connect_string();
    // Broker 2 keeps its ZooKeeper session while stopped, so it stays in the ISR.
    let mut b2 = Broker::start(2, &zk_connect, &[("zookeeper.session.timeout.ms", "30000")]);
    b2.wait_listening(Duration::from_secs(30));
    create_topic(&zk_connect, &b1.bootstrap(), "a0", 1, &[1], &[]).await;
    create_topic(&zk_connect, &b1.bootstrap(), "all", 1, &[1, 2], &[]).await;

    // acks=0: no response at all; the next request's answer is the first thing read.
    let mut s = tokio::net::TcpStream::connect(b1.bootstrap())
        .await
        .unwrap();
    write_request(
        &mut s,
        ApiKey::Produce,
        8,
        1,
        &produce_req("a0", 0, 0, 1000, batch(3, 10)),
    )
    .await;
    let lo = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_topics(vec![
            kafka_protocol::messages::list_offsets_request::ListOffsetsTopic::default()
                .with_name(topic_name("a0"))
                .with_partitions(vec![
                    kafka_protocol::messages::list_offsets_request::ListOffsetsPartition::default()
                        .with_timestamp(-1),
                ]),
        ]);
    write_request(&mut s, ApiKey::ListOffsets, 5, 2, &lo).await;
    let size = s.read_i32().await.unwrap();
    let mut body = vec![0; size as usize];
    s.read_exact(&mut body).await.unwrap();
    let mut body = Bytes::from(body);
    let h =
        ResponseHeader::decode(&mut body, ApiKey::ListOffsets.response_header_version(5)).unwrap();
    assert_eq!(h.correlation_id, 2, "no response to the acks=0 produce");
    let r = kafka_protocol::messages::ListOffsetsResponse::decode(&mut body, 5).unwrap();
    assert_eq!(r.topics[0].partitions[0].offset, 3);

    // acks=all with a follower that does not fetch: REQUEST_TIMED_OUT, data written.
    b2.sigstop();
    let mut c = client(&b1).await;
    let started = Instant::now();
    assert_eq!(produce(&mut c, "all", -1, 500, batch(2, 10)).await, (7, 0));
    assert!(started.elapsed() >= Duration::from_millis(450));
    // Acting as follower 2, our fetch at the leader's log end completes a waiting acks=all.
    let mut waiting = client(&b1).await;
    let pending =
        tokio::spawn(async move { produce(&mut waiting, "all", -1, 20_000, batch(1, 10)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !pending.is_finished(),
        "acks=all must wait for the follower"
    );
    // The pending batch lands once its connection is served (later on a loaded machine); a
    // follower reads it below the log end, past the HW.
    let stored = batch(2, 10).len() + batch(1, 10).len();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = fetch(&mut c, &fetch_req("all", 0, 0, 0, 2), 12).await;
        let read = r.responses[0].partitions[0].records.as_ref().unwrap().len();
        if read == stored {
            break;
        }
        assert!(
            Instant::now() < deadline && read < stored,
            "followers read past the HW: {read} bytes, want {stored}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        list_offset(&mut c, "all", 0, -1).await.1,
        0,
        "consumers see the HW"
    );
    fetch(&mut c, &fetch_req("all", 3, 0, 0, 2), 12).await;
    assert_eq!(
        list_offset(&mut c, "all", 0, -1).await.1,
        3,
        "HW follows the follower"
    );
    let (err, base) = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("acks=all completes")
        .unwrap();
    assert_eq!((err, base), (0, 2));
    b2.sigcont();
}

/// queued.max.request.bytes (KIP-72) bounds the request bytes all connections hold: while one
/// connection's half-sent request holds the whole pool, another's request waits; it is served
/// once that memory returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_max_request_bytes_bounds_request_memory() {
    let (_zk, b) = single_broker(&[
        ("socket.request.max.bytes", "100000"),
        ("queued.max.request.bytes", "100000"),
    ]);
    // A claims a 100,000-byte request and sends 10 bytes of it: it holds the whole pool.
    let mut a = tokio::net::TcpStream::connect(b.bootstrap()).await.unwrap();
    a.write_all(&100_000i32.to_be_bytes()).await.unwrap();
    a.write_all(&[0u8; 10]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut other = tokio::net::TcpStream::connect(b.bootstrap()).await.unwrap();
    write_request(
        &mut other,
        ApiKey::ApiVersions,
        0,
        7,
        &ApiVersionsRequest::default(),
    )
    .await;
    let mut size = [0u8; 4];
    let early = tokio::time::timeout(Duration::from_secs(2), other.read_exact(&mut size)).await;
    assert!(early.is_err(), "answered while the pool was exhausted");
    // A goes away: its reservation returns to the pool and the waiting request is served.
    drop(a);
    tokio::time::timeout(Duration::from_secs(10), other.read_exact(&mut size))
        .await
        .expect("answered once the pool had room")
        .unwrap();
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    other.read_exact(&mut body).await.unwrap();
    assert_eq!(&body[..4], &7i32.to_be_bytes(), "the ApiVersions response");
}
