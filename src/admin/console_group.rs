//! Group membership for `zkafka console-consumer --group`: what Kafka's ConsumerCoordinator
//! does for a single-topic subscription. JoinGroup (protocol type "consumer", the "range"
//! assignor), SyncGroup (this member computes every member's assignment when it is the
//! leader), Heartbeat every 3 s on a connection of its own (a REBALANCE_IN_PROGRESS or
//! lost membership there asks the consumer to rejoin), OffsetFetch of the committed
//! positions, OffsetCommit as the member of the current generation, and LeaveGroup on exit.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};
use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::console_records::error_name;
use super::group_client::{
    commit_offsets, encode_consumer_protocol, parse_assignment, parse_subscription, Cluster,
};
use crate::network::client::BrokerClient;

const T: Duration = Duration::from_secs(30);
/// Kafka consumer defaults: session.timeout.ms, max.poll.interval.ms (the rebalance timeout)
/// and heartbeat.interval.ms.
const SESSION_TIMEOUT_MS: i32 = 10_000;
const REBALANCE_TIMEOUT_MS: i32 = 300_000;
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub struct Member {
    group: String,
    topic: String,
    coordinator: String,
    conn: BrokerClient,
    member_id: String,
    generation: i32,
    rejoin: Arc<AtomicBool>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Member {
    /// Joins `group` subscribed to `topic`; returns the member and its assigned partitions.
    pub async fn join(
        cluster: &Cluster,
        group: &str,
        topic: &str,
    ) -> anyhow::Result<(Member, Vec<i32>)> {
        let (_, coordinator) = cluster.coordinator(group).await?;
        let conn = super::command_config::connect(&coordinator, "console-consumer", T, T).await?;
        let mut m = Member {
            group: group.to_string(),
            topic: topic.to_string(),
            coordinator,
            conn,
            member_id: String::new(),
            generation: -1,
            rejoin: Arc::new(AtomicBool::new(false)),
            heartbeat: None,
        };
        let assigned = m.rejoin(cluster).await?;
        Ok((m, assigned))
    }

    /// True once the heartbeat learnt that the group is rebalancing or dropped this member.
    pub fn needs_rejoin(&self) -> bool {
        self.rejoin.load(Ordering::Relaxed)
    }

    /// JoinGroup + SyncGroup until this member has an assignment of a stable generation.
    pub async fn rejoin(&mut self, cluster: &Cluster) -> anyhow::Result<Vec<i32>> {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        for _ in 0..50 {
            let join = JoinGroupRequest::default()
                .with_group_id(GroupId(sb(&self.group)))
                .with_session_timeout_ms(SESSION_TIMEOUT_MS)
                .with_rebalance_timeout_ms(REBALANCE_TIMEOUT_MS)
                .with_member_id(sb(&self.member_id))
                .with_protocol_type(sb("consumer"))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(sb("range"))
                    .with_metadata(subscription(&self.topic))]);
            // The broker may hold a JoinGroup for up to the rebalance timeout.
            let mut c = super::command_config::connect(
                &self.coordinator,
                "console-consumer",
                T,
                Duration::from_millis(REBALANCE_TIMEOUT_MS as u64 + 5_000),
            )
            .await?;
            let r = c.send(&join, 5).await?;
            match r.error_code {
                0 => {}
                // MEMBER_ID_REQUIRED: join again with the id the coordinator handed out.
                79 => {
                    self.member_id = r.member_id.to_string();
                    continue;
                }
                25 => {
                    self.member_id.clear();
                    continue;
                }
                14 | 15 | 16 | 27 => {
                    self.find_coordinator(cluster).await?;
                    continue;
                }
                e => bail!(
                    "JoinGroup of group {} failed: {}",
                    self.group,
                    error_name(e)
                ),
            }
            self.member_id = r.member_id.to_string();
            self.generation = r.generation_id;
            let assignments = if r.leader == r.member_id {
                let subs: Vec<(String, Vec<String>)> = r
                    .members
                    .iter()
                    .map(|m| (m.member_id.to_string(), parse_subscription(&m.metadata)))
                    .collect();
                range_assign(&subs, cluster)
                    .into_iter()
                    .map(|(m, a)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(sb(&m))
                            .with_assignment(encode_assignment(&a))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let sync = SyncGroupRequest::default()
                .with_group_id(GroupId(sb(&self.group)))
                .with_generation_id(self.generation)
                .with_member_id(sb(&self.member_id))
                .with_assignments(assignments);
            let s = c.send(&sync, 3).await?;
            match s.error_code {
                0 => {}
                27 | 22 | 25 => continue,
                e => bail!(
                    "SyncGroup of group {} failed: {}",
                    self.group,
                    error_name(e)
                ),
            }
            self.conn = c;
            self.rejoin.store(false, Ordering::Relaxed);
            self.start_heartbeat().await?;
            return Ok(parse_assignment(&s.assignment)
                .remove(&self.topic)
                .unwrap_or_default());
        }
        bail!("could not join group {}", self.group)
    }

    async fn find_coordinator(&mut self, cluster: &Cluster) -> anyhow::Result<()> {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.coordinator = cluster.coordinator(&self.group).await?.1;
        Ok(())
    }

    async fn start_heartbeat(&mut self) -> anyhow::Result<()> {
        let mut c =
            super::command_config::connect(&self.coordinator, "console-consumer", T, T).await?;
        let req = HeartbeatRequest::default()
            .with_group_id(GroupId(sb(&self.group)))
            .with_generation_id(self.generation)
            .with_member_id(sb(&self.member_id));
        let rejoin = self.rejoin.clone();
        self.heartbeat = Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT_INTERVAL).await;
                match c.send(&req, 1).await {
                    Ok(r) if r.error_code == 0 => {}
                    _ => {
                        rejoin.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }));
        Ok(())
    }

    /// The group's committed offsets for `partitions` of the topic (absent: none committed).
    pub async fn committed(&mut self, partitions: &[i32]) -> anyhow::Result<BTreeMap<i32, i64>> {
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(sb(&self.group)))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(TopicName(sb(&self.topic)))
                .with_partition_indexes(partitions.to_vec())]));
        for _ in 0..100 {
            let r = self.conn.send(&req, 3).await?;
            if r.error_code == 14 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            if r.error_code != 0 {
                bail!(
                    "OffsetFetch of group {} failed: {}",
                    self.group,
                    error_name(r.error_code)
                );
            }
            return Ok(r
                .topics
                .iter()
                .flat_map(|t| t.partitions.iter())
                .filter(|p| p.error_code == 0 && p.committed_offset >= 0)
                .map(|p| (p.partition_index, p.committed_offset))
                .collect());
        }
        Err(anyhow!(
            "the coordinator of group {} kept loading",
            self.group
        ))
    }

    /// Commits `positions` (partition → next offset to read) as this generation's member.
    pub async fn commit(&mut self, positions: &BTreeMap<i32, i64>) -> anyhow::Result<()> {
        let offsets = positions
            .iter()
            .map(|(p, o)| ((self.topic.clone(), *p), *o))
            .collect();
        commit_offsets(
            &mut self.conn,
            &self.group,
            self.generation,
            &self.member_id,
            &offsets,
        )
        .await
    }

    /// LeaveGroup, so the group rebalances at once instead of after the session timeout.
    pub async fn leave(mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        let req = LeaveGroupRequest::default()
            .with_group_id(GroupId(sb(&self.group)))
            .with_member_id(sb(&self.member_id));
        let _ = self.conn.send(&req, 1).await;
    }
}

/// ConsumerProtocol subscription v0: one topic, no user data.
/// ConsumerProtocol subscription v0 to `topic`, no user data.
fn subscription(topic: &str) -> Bytes {
    let s = ConsumerProtocolSubscription::default()
        .with_topics(vec![StrBytes::from_string(topic.to_string())]);
    encode_consumer_protocol(&s, 0)
}

/// ConsumerProtocol assignment v0: topic → partitions, null user data.
fn encode_assignment(a: &BTreeMap<String, Vec<i32>>) -> Bytes {
    let partitions = a
        .iter()
        .map(|(t, ps)| {
            consumer_protocol_assignment::TopicPartition::default()
                .with_topic(TopicName(StrBytes::from_string(t.clone())))
                .with_partitions(ps.clone())
        })
        .collect();
    let asg = ConsumerProtocolAssignment::default().with_assigned_partitions(partitions);
    encode_consumer_protocol(&asg, 0)
}

/// Kafka's RangeAssignor: per topic, the subscribed members sorted by id each get a
/// contiguous range; the first `partitions % members` get one extra.
fn range_assign(
    subs: &[(String, Vec<String>)],
    cluster: &Cluster,
) -> BTreeMap<String, BTreeMap<String, Vec<i32>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<i32>>> = subs
        .iter()
        .map(|(m, _)| (m.clone(), BTreeMap::new()))
        .collect();
    let mut topics: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (m, ts) in subs {
        for t in ts {
            topics.entry(t).or_default().push(m);
        }
    }
    for (t, mut members) in topics {
        let Some(parts) = cluster.leaders.get(t) else {
            continue;
        };
        members.sort();
        let n = parts.len();
        let (per, extra) = (n / members.len(), n % members.len());
        let mut next = 0;
        for (i, m) in members.iter().enumerate() {
            let count = per + usize::from(i < extra);
            let ps = (next..next + count).map(|p| p as i32).collect();
            next += count;
            out.get_mut(*m)
                .expect("member listed")
                .insert(t.to_string(), ps);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_protocol_payloads_have_kafkas_v0_layout_and_round_trip() {
        let mut want = vec![0, 0, 0, 0, 0, 1, 0, 2];
        want.extend_from_slice(b"t1");
        want.extend_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(&subscription("t1")[..], &want[..]);
        assert_eq!(parse_subscription(&want), vec!["t1".to_string()]);
        let a: BTreeMap<String, Vec<i32>> =
            [("a".to_string(), vec![0, 2]), ("b".to_string(), vec![1])].into();
        assert_eq!(parse_assignment(&encode_assignment(&a)), a);
        assert!(
            parse_assignment(&[0, 0, 0]).is_empty(),
            "truncated input reads as empty"
        );
    }
}
