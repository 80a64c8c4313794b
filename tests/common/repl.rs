//! Replication test helpers: topics created through ZooKeeper as the stock tools do, raw
//! Produce/Fetch through `BrokerClient`, partition state from ZooKeeper, and replica logs
//! read straight from the brokers' log dirs.

use std::path::Path;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{BrokerId, FetchRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use zkafka::log::batch::{build_batch, parse_records, BatchHeader, SimpleRecord};
use zkafka::network::client::BrokerClient;

/// Creates a topic the way `kafka-topics.sh --zookeeper` does: config first, then assignment.
pub async fn create_topic(
    zk: &zookeeper_client::Client,
    topic: &str,
    assignment: &[(i32, &[i32])],
    config: &[(&str, &str)],
) {
    let opts =
        zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
    let cfg: serde_json::Map<String, Value> = config
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let cfg = serde_json::json!({"version": 1, "config": cfg}).to_string();
    zk.create(&format!("/config/topics/{topic}"), cfg.as_bytes(), &opts)
        .await
        .expect("create topic config");
    let parts: serde_json::Map<String, Value> = assignment
        .iter()
        .map(|(p, r)| (p.to_string(), serde_json::json!(r)))
        .collect();
    let data = serde_json::json!({"version": 1, "partitions": parts}).to_string();
    zk.create(&format!("/brokers/topics/{topic}"), data.as_bytes(), &opts)
        .await
        .expect("create topic assignment");
}

/// `(leader, leader_epoch, isr, controller_epoch, zk_version)` of a partition state znode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkPartitionState {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub controller_epoch: i32,
    pub zk_version: i32,
}

pub async fn partition_state(
    zk: &zookeeper_client::Client,
    topic: &str,
    partition: i32,
) -> Option<ZkPartitionState> {
    let path = format!("/brokers/topics/{topic}/partitions/{partition}/state");
    let (data, stat) = zk.get_data(&path).await.ok()?;
    let v: Value = serde_json::from_slice(&data).ok()?;
    Some(ZkPartitionState {
        leader: v["leader"].as_i64()? as i32,
        leader_epoch: v["leader_epoch"].as_i64()? as i32,
        isr: v["isr"]
            .as_array()?
            .iter()
            .filter_map(|x| x.as_i64().map(|i| i as i32))
            .collect(),
        controller_epoch: v["controller_epoch"].as_i64()? as i32,
        zk_version: stat.version,
    })
}

/// The zxid of the transaction that last wrote a partition state znode: writes made in one
/// ZooKeeper multi share it.
pub async fn partition_state_mzxid(
    zk: &zookeeper_client::Client,
    topic: &str,
    partition: i32,
) -> Option<i64> {
    let path = format!("/brokers/topics/{topic}/partitions/{partition}/state");
    zk.get_data(&path).await.ok().map(|(_, stat)| stat.mzxid)
}

pub async fn client(addr: &str) -> anyhow::Result<BrokerClient> {
    BrokerClient::connect(
        addr,
        "repl-test",
        Duration::from_secs(3),
        Duration::from_secs(40),
    )
    .await
}

/// Produce v7 of one batch holding `values`; returns (error code, base offset).
pub async fn produce(
    client: &mut BrokerClient,
    topic: &str,
    partition: i32,
    acks: i16,
    values: &[Vec<u8>],
) -> anyhow::Result<(i16, i64)> {
    let req = produce_request(topic, partition, acks, values);
    let resp = client.send(&req, 7).await?;
    let p = &resp.responses[0].partition_responses[0];
    Ok((p.error_code, p.base_offset))
}

/// A ProduceRequest of one batch holding `values` (30 s timeout).
pub fn produce_request(
    topic: &str,
    partition: i32,
    acks: i16,
    values: &[Vec<u8>],
) -> ProduceRequest {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let recs: Vec<SimpleRecord<'_>> = values
        .iter()
        .map(|v| (now, None, Some(v.as_slice()), &[][..]))
        .collect();
    let batch = build_batch(0, -1, &recs);
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.into())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch.into()))])])
}

/// A consumer Fetch (v11, no wait) from `offset`: (error, high watermark, record batches).
pub async fn fetch(
    client: &mut BrokerClient,
    topic: &str,
    partition: i32,
    offset: i64,
) -> anyhow::Result<(i16, i64, Vec<u8>)> {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(64 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.into())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(-1)
                .with_fetch_offset(offset)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(32 << 20)])]);
    let resp = client.send(&req, 11).await?;
    let p = &resp.responses[0].partitions[0];
    Ok((
        p.error_code,
        p.high_watermark,
        p.records.clone().map(|b| b.to_vec()).unwrap_or_default(),
    ))
}

/// OffsetForLeaderEpoch v3 for one partition: (error, leader epoch, end offset).
pub async fn offset_for_leader_epoch(
    client: &mut BrokerClient,
    topic: &str,
    partition: i32,
    current_leader_epoch: i32,
    leader_epoch: i32,
) -> anyhow::Result<(i16, i32, i64)> {
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    let req = kafka_protocol::messages::OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.into())))
            .with_partitions(vec![OffsetForLeaderPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(current_leader_epoch)
                .with_leader_epoch(leader_epoch)])]);
    let resp = client.send(&req, 3).await?;
    let p = &resp.topics[0].partitions[0];
    Ok((p.error_code, p.leader_epoch, p.end_offset))
}

/// Splits concatenated v2 batches into `(base offset, last offset, bytes)`.
pub fn split_batches(mut buf: &[u8]) -> Vec<(i64, i64, Vec<u8>)> {
    let mut out = Vec::new();
    while buf.len() >= 12 {
        let len = i32::from_be_bytes(buf[8..12].try_into().unwrap()) as usize + 12;
        if len > buf.len() || len < 61 {
            break;
        }
        let h = BatchHeader::parse(&buf[..len]);
        out.push((h.base_offset, h.last_offset(), buf[..len].to_vec()));
        buf = &buf[len..];
    }
    out
}

/// `(offset, value)` of every record in concatenated batches.
pub fn records_of(buf: &[u8]) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    for (base, _, b) in split_batches(buf) {
        for r in parse_records(&b).expect("parse records") {
            out.push((
                base + r.offset_delta as i64,
                r.value.unwrap_or_default().to_vec(),
            ));
        }
    }
    out
}

/// Every batch of a partition as stored in a broker's log dir (segments in offset order).
pub fn disk_batches(log_dir: &Path, topic: &str, partition: i32) -> Vec<(i64, i64, Vec<u8>)> {
    let dir = log_dir.join(format!("{topic}-{partition}"));
    let mut segs: Vec<_> = std::fs::read_dir(&dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "log"))
                .collect()
        })
        .unwrap_or_default();
    segs.sort();
    let mut all = Vec::new();
    for s in segs {
        all.extend(split_batches(&std::fs::read(s).unwrap_or_default()));
    }
    all
}

/// Batches below `hw` on disk at each log dir are identical (same bytes, same offsets).
pub fn replicas_identical_below(
    log_dirs: &[&Path],
    topic: &str,
    partition: i32,
    hw: i64,
) -> Result<(), String> {
    let lists: Vec<Vec<(i64, i64, Vec<u8>)>> = log_dirs
        .iter()
        .map(|d| {
            disk_batches(d, topic, partition)
                .into_iter()
                .filter(|b| b.1 < hw)
                .collect()
        })
        .collect();
    for (i, l) in lists.iter().enumerate() {
        let covered = l.last().map_or(0, |b| b.1 + 1);
        if covered != hw {
            return Err(format!(
                "replica {i} covers offsets below {covered}, HW is {hw}"
            ));
        }
        if *l != lists[0] {
            return Err(format!("replica {i} differs from replica 0 below HW {hw}"));
        }
    }
    Ok(())
}
