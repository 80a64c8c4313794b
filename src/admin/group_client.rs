//! The Kafka client calls `zkafka consumer-groups` makes (what Kafka's AdminClient does for
//! ConsumerGroupCommand): metadata, ListGroups on every broker, FindCoordinator,
//! DescribeGroups, OffsetFetch/OffsetCommit on the coordinator, ListOffsets on leaders.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};

use crate::network::client::BrokerClient;

const TIMEOUT: Duration = Duration::from_secs(30);

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub struct Cluster {
    /// broker id → "host:port"
    pub brokers: BTreeMap<i32, String>,
    /// topic → partition → leader id
    pub leaders: BTreeMap<String, BTreeMap<i32, i32>>,
    /// topic → the Metadata error code for topics that had one (e.g. 5 while being created)
    pub topic_errors: BTreeMap<String, i16>,
}

pub async fn connect(addr: &str) -> anyhow::Result<BrokerClient> {
    super::command_config::connect(addr, "consumer-groups", TIMEOUT, TIMEOUT).await
}

impl Cluster {
    /// partition → leader id of `topic` (empty when metadata does not list it).
    pub fn partitions(&self, topic: &str) -> BTreeMap<i32, i32> {
        self.leaders.get(topic).cloned().unwrap_or_default()
    }

    /// Metadata (all topics) from the first reachable bootstrap server.
    pub async fn discover(bootstrap: &str) -> anyhow::Result<Cluster> {
        Cluster::discover_topics(bootstrap, None).await
    }

    /// Metadata for `topics` (None: all) from the first reachable bootstrap server. Naming a
    /// topic lets the broker auto-create it (Metadata v1), as Kafka's producer and consumer do.
    pub async fn discover_topics(
        bootstrap: &str,
        topics: Option<&[&str]>,
    ) -> anyhow::Result<Cluster> {
        let req = MetadataRequest::default().with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| {
                    metadata_request::MetadataRequestTopic::default()
                        .with_name(Some(TopicName(sb(t))))
                })
                .collect()
        }));
        let mut last = anyhow!("no bootstrap server given");
        for addr in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            let attempt = async {
                let mut c = connect(addr).await?;
                c.send(&req, 1).await
            };
            match attempt.await {
                Ok(m) => {
                    let brokers = m
                        .brokers
                        .iter()
                        .map(|b| (b.node_id.0, format!("{}:{}", b.host, b.port)))
                        .collect();
                    let leaders = m
                        .topics
                        .iter()
                        .filter_map(|t| {
                            let name = t.name.as_ref()?.to_string();
                            let ps = t
                                .partitions
                                .iter()
                                .map(|p| (p.partition_index, p.leader_id.0))
                                .collect();
                            Some((name, ps))
                        })
                        .collect();
                    let topic_errors = m
                        .topics
                        .iter()
                        .filter(|t| t.error_code != 0)
                        .filter_map(|t| Some((t.name.as_ref()?.to_string(), t.error_code)))
                        .collect();
                    return Ok(Cluster {
                        brokers,
                        leaders,
                        topic_errors,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Every group on every broker as (id, protocol type, state).
    pub async fn list_groups(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for addr in self.brokers.values() {
            let mut c = connect(addr).await?;
            let r = c.send(&ListGroupsRequest::default(), 3).await?;
            if r.error_code != 0 && r.error_code != 14 {
                bail!(
                    "ListGroups from {addr} failed with {}",
                    crate::server::errors::name(r.error_code)
                );
            }
            out.extend(
                r.groups
                    .iter()
                    .map(|g| (g.group_id.to_string(), g.protocol_type.to_string())),
            );
        }
        Ok(out)
    }

    /// The coordinator of `group` as (id, "host:port"), retrying while it is not available.
    pub async fn coordinator(&self, group: &str) -> anyhow::Result<(i32, String)> {
        let addr = self
            .brokers
            .values()
            .next()
            .ok_or_else(|| anyhow!("no brokers"))?;
        let mut c = connect(addr).await?;
        for _ in 0..100 {
            let r = c
                .send(&FindCoordinatorRequest::default().with_key(sb(group)), 2)
                .await?;
            if r.error_code == 0 {
                return Ok((r.node_id.0, format!("{}:{}", r.host, r.port)));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("The coordinator is not available.")
    }

    pub async fn describe(
        &self,
        coordinator: &str,
        group: &str,
    ) -> anyhow::Result<describe_groups_response::DescribedGroup> {
        let mut c = connect(coordinator).await?;
        for _ in 0..100 {
            let r = c
                .send(
                    &DescribeGroupsRequest::default().with_groups(vec![GroupId(sb(group))]),
                    3,
                )
                .await?;
            let g = r
                .groups
                .into_iter()
                .next()
                .ok_or_else(|| anyhow!("empty answer"))?;
            if g.error_code == 14 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            if g.error_code != 0 {
                bail!(
                    "DescribeGroups failed with {}",
                    crate::server::errors::name(g.error_code)
                );
            }
            return Ok(g);
        }
        bail!("The coordinator is loading and hence can't process requests.")
    }

    /// Committed offsets of the group: (topic, partition) → offset.
    pub async fn committed(
        &self,
        coordinator: &str,
        group: &str,
    ) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
        let mut c = connect(coordinator).await?;
        let r = c
            .send(
                &OffsetFetchRequest::default()
                    .with_group_id(GroupId(sb(group)))
                    .with_topics(None),
                3,
            )
            .await?;
        if r.error_code != 0 {
            bail!(
                "OffsetFetch failed with {}",
                crate::server::errors::name(r.error_code)
            );
        }
        Ok(r.topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .filter(|p| p.committed_offset >= 0)
                    .map(move |p| ((t.name.to_string(), p.partition_index), p.committed_offset))
            })
            .collect())
    }

    /// ListOffsets on each partition's leader: -1 latest, -2 earliest, else by timestamp
    /// (partitions without such an offset map to the log end offset, as Kafka's tool does).
    pub async fn list_offsets(
        &self,
        partitions: &[(String, i32)],
        timestamp: i64,
    ) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
        let mut by_leader: BTreeMap<i32, Vec<&(String, i32)>> = BTreeMap::new();
        for tp in partitions {
            let leader = self
                .leaders
                .get(&tp.0)
                .and_then(|ps| ps.get(&tp.1))
                .copied()
                .unwrap_or(-1);
            by_leader.entry(leader).or_default().push(tp);
        }
        let mut out = BTreeMap::new();
        for (leader, tps) in by_leader {
            let Some(addr) = self.brokers.get(&leader) else {
                continue;
            };
            let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (t, p) in tps {
                topics.entry(t).or_default().push(*p);
            }
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(
                    topics
                        .iter()
                        .map(|(t, ps)| {
                            ListOffsetsTopic::default()
                                .with_name(TopicName(sb(t)))
                                .with_partitions(
                                    ps.iter()
                                        .map(|p| {
                                            ListOffsetsPartition::default()
                                                .with_partition_index(*p)
                                                .with_timestamp(timestamp)
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let r = connect(addr).await?.send(&req, 1).await?;
            for t in &r.topics {
                for p in &t.partitions {
                    if p.error_code == 0 && p.offset >= 0 {
                        out.insert((t.name.to_string(), p.partition_index), p.offset);
                    }
                }
            }
        }
        Ok(out)
    }

    /// OffsetCommit as a non-member (generation -1), as the tool's --execute does.
    pub async fn commit(
        &self,
        coordinator: &str,
        group: &str,
        offsets: &BTreeMap<(String, i32), i64>,
    ) -> anyhow::Result<()> {
        let mut c = connect(coordinator).await?;
        commit_offsets(&mut c, group, -1, "", offsets).await
    }
    pub async fn delete_group(&self, coordinator: &str, group: &str) -> anyhow::Result<i16> {
        let r = connect(coordinator)
            .await?
            .send(
                &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb(group))]),
                1,
            )
            .await?;
        Ok(r.results.first().map_or(0, |g| g.error_code))
    }
}

/// OffsetCommit v2 on an open coordinator connection: as a non-member (generation -1, member
/// "") or as the group member `member_id` of `generation` (the console consumer).
pub async fn commit_offsets(
    c: &mut BrokerClient,
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: &BTreeMap<(String, i32), i64>,
) -> anyhow::Result<()> {
    let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for ((t, p), o) in offsets {
        topics.entry(t).or_default().push(
            OffsetCommitRequestPartition::default()
                .with_partition_index(*p)
                .with_committed_offset(*o)
                .with_committed_metadata(Some(sb(""))),
        );
    }
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(sb(member_id))
        .with_retention_time_ms(-1)
        .with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    OffsetCommitRequestTopic::default()
                        .with_name(TopicName(sb(t)))
                        .with_partitions(ps)
                })
                .collect(),
        );
    let r = c.send(&req, 2).await?;
    for t in &r.topics {
        for p in &t.partitions {
            if p.error_code != 0 {
                bail!(
                    "committing {}-{} failed with {}",
                    t.name.as_str(),
                    p.partition_index,
                    crate::server::errors::name(p.error_code)
                );
            }
        }
    }
    Ok(())
}

/// Decodes a ConsumerProtocol payload (JoinGroup metadata, SyncGroup assignment): a 2-byte
/// version, then the body at that version. Newer versions only append fields, so they decode
/// with the newest schema kafka-protocol knows.
fn decode_consumer_protocol<T: Decodable + Message>(b: &[u8]) -> Option<T> {
    let mut buf = Bytes::copy_from_slice(b);
    if buf.len() < 2 {
        return None;
    }
    let version = buf.get_i16();
    if version < 0 {
        return None;
    }
    T::decode(&mut buf, version.min(T::VERSIONS.max)).ok()
}

/// `msg` as a ConsumerProtocol payload at `version`.
pub fn encode_consumer_protocol<T: Encodable>(msg: &T, version: i16) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(version);
    msg.encode(&mut b, version)
        .expect("a ConsumerProtocol message encodes at a version it has");
    b.freeze()
}

/// A consumer-protocol assignment: topic → partitions (empty for anything unreadable).
pub fn parse_assignment(b: &[u8]) -> BTreeMap<String, Vec<i32>> {
    decode_consumer_protocol::<ConsumerProtocolAssignment>(b)
        .map(|a| {
            a.assigned_partitions
                .into_iter()
                .map(|tp| (tp.topic.0.to_string(), tp.partitions))
                .collect()
        })
        .unwrap_or_default()
}

/// The topics of a consumer-protocol subscription (empty for anything unreadable).
pub fn parse_subscription(b: &[u8]) -> Vec<String> {
    decode_consumer_protocol::<ConsumerProtocolSubscription>(b)
        .map(|s| s.topics.iter().map(|t| t.to_string()).collect())
        .unwrap_or_default()
}
