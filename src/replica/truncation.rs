//! Follower truncation before fetching from a (new) leader, KIP-101 with KIP-279's loop
//! (AbstractFetcherThread.getOffsetTruncationState; replication-and-storage.md §9.10).
//! Pure decision logic: given the leader's OffsetsForLeaderEpoch answer and the follower's
//! own epoch cache, where to truncate and whether to ask again.

/// Sentinels of the OffsetsForLeaderEpoch answer.
pub const UNDEFINED_EPOCH: i32 = -1;
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// Where to truncate, and whether the follower may start fetching afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruncationDecision {
    pub offset: i64,
    /// False: the leader answered with an epoch this follower does not know; truncate to the
    /// end of our largest smaller epoch and ask again with our (new) latest epoch (KIP-279).
    pub completed: bool,
    pub why: String,
}

/// Decides the truncation offset.
/// * `leader_epoch`, `leader_end_offset`: the leader's answer for our latest epoch;
/// * `local_end_for`: our own `(epoch, end offset)` for an epoch (epoch cache lookup);
/// * `high_watermark`, `log_end_offset`: our HW (the fallback) and LEO.
pub fn decide(
    leader_epoch: i32,
    leader_end_offset: i64,
    local_end_for: impl Fn(i32) -> (i32, i64),
    high_watermark: i64,
    log_end_offset: i64,
) -> TruncationDecision {
    if leader_end_offset == UNDEFINED_EPOCH_OFFSET {
        return TruncationDecision {
            offset: high_watermark.min(log_end_offset),
            completed: true,
            why: "the leader has no end offset for our latest epoch; falling back to the high watermark".into(),
        };
    }
    if leader_epoch == UNDEFINED_EPOCH {
        return TruncationDecision {
            offset: leader_end_offset.min(log_end_offset),
            completed: true,
            why: format!("the leader returned end offset {leader_end_offset} without an epoch"),
        };
    }
    let (local_epoch, local_end) = local_end_for(leader_epoch);
    if local_end == UNDEFINED_EPOCH_OFFSET {
        // We did not track epochs that far back: trust the leader's end offset.
        return TruncationDecision {
            offset: leader_end_offset.min(log_end_offset),
            completed: true,
            why: format!(
                "leader's epoch {leader_epoch} ends at {leader_end_offset}; no local epoch at or below it"
            ),
        };
    }
    if local_epoch != leader_epoch {
        return TruncationDecision {
            offset: local_end.min(log_end_offset),
            completed: false,
            why: format!(
                "leader's latest epoch at or below ours is {leader_epoch}, which we do not have; truncating to the end {local_end} of our epoch {local_epoch} and asking again"
            ),
        };
    }
    TruncationDecision {
        offset: local_end.min(leader_end_offset).min(log_end_offset),
        completed: true,
        why: format!(
            "leader's epoch {leader_epoch} ends at {leader_end_offset}, ours at {local_end}"
        ),
    }
}

// ---------------------------------------------------------------- the fetcher's Truncating state

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{BrokerId, OffsetForLeaderEpochRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::fetcher::{delay, ready, update, FetchSettings, States};
use super::partition::Partition;
use crate::log::TopicPartition;
use crate::network::client::BrokerClient;
use crate::server::errors;

/// OffsetsForLeaderEpoch version sent at inter.broker.protocol.version ≥ 2.3-IV1.
const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 3;

/// One OffsetsForLeaderEpoch round for partitions in the Truncating state. Returns whether
/// there were any.
pub(super) async fn truncation_round(
    s: &FetchSettings,
    states: &States,
    client: &mut BrokerClient,
) -> anyhow::Result<bool> {
    let todo = ready(states, true);
    if todo.is_empty() {
        return Ok(false);
    }
    let mut with_epochs = Vec::new();
    let mut acted = false;
    for (tp, p, epoch, _) in todo {
        let Some(pos) = p.follower_position(epoch) else {
            continue;
        };
        acted = true;
        match pos.latest_epoch {
            Some(latest) => with_epochs.push((tp, p, epoch, latest)),
            None => {
                // No epoch cache (new or legacy log): the high watermark is all we know.
                finish_truncation(
                    s,
                    states,
                    &tp,
                    &p,
                    epoch,
                    TruncationDecision {
                        offset: pos.high_watermark,
                        completed: true,
                        why: "no local leader epochs; truncating to the high watermark".into(),
                    },
                )?;
            }
        }
    }
    if with_epochs.is_empty() {
        // Only stale entries (superseded by a LeaderAndIsr) means nothing was done.
        return Ok(acted);
    }
    let mut by_topic: BTreeMap<String, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
    for (tp, _, epoch, latest) in &with_epochs {
        by_topic.entry(tp.topic.clone()).or_default().push(
            OffsetForLeaderPartition::default()
                .with_partition(tp.partition)
                .with_current_leader_epoch(*epoch)
                .with_leader_epoch(*latest),
        );
    }
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(s.broker_id))
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, parts)| {
                    OffsetForLeaderTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(t)))
                        .with_partitions(parts)
                })
                .collect(),
        );
    let resp = client.send(&req, OFFSET_FOR_LEADER_EPOCH_VERSION).await?;
    // Looked up by name: an answer lists thousands of partitions after a restart.
    let asked: HashMap<&TopicPartition, usize> = with_epochs
        .iter()
        .enumerate()
        .map(|(i, w)| (&w.0, i))
        .collect();
    for t in resp.topics {
        for r in t.partitions {
            let tp = TopicPartition::new(t.topic.0.as_str(), r.partition);
            let Some((_, p, epoch, _)) = asked.get(&tp).map(|i| &with_epochs[*i]) else {
                continue;
            };
            if r.error_code != errors::NONE {
                tracing::warn!(target: "kafka.server.ReplicaFetcherThread", "[ReplicaFetcher broker={}] OffsetsForLeaderEpoch for {tp} at leader epoch {epoch} failed with {}; retrying after {} ms", s.broker_id, errors::name(r.error_code), s.backoff_ms);
                delay(states, &tp, *epoch, s.backoff_ms);
                continue;
            }
            let Some(pos) = p.follower_position(*epoch) else {
                continue;
            };
            let decision = decide(
                r.leader_epoch,
                r.end_offset,
                |e| p.local_end_offset_for_epoch(e).unwrap_or((-1, -1)),
                pos.high_watermark,
                pos.log_end_offset,
            );
            finish_truncation(s, states, &tp, p, *epoch, decision)?;
        }
    }
    Ok(true)
}

fn finish_truncation(
    s: &FetchSettings,
    states: &States,
    tp: &TopicPartition,
    p: &Partition,
    epoch: i32,
    d: TruncationDecision,
) -> anyhow::Result<()> {
    match p.truncate_as_follower(epoch, d.offset, &d.why) {
        Ok(Some(leo)) => update(states, tp, epoch, |st| {
            st.fetch_offset = leo;
            st.truncating = !d.completed;
        }),
        Ok(None) => {}
        Err(e) => {
            tracing::error!(target: "kafka.server.ReplicaFetcherThread", "[ReplicaFetcher broker={}] Cannot truncate {tp} to {}: {e}", s.broker_id, d.offset);
            delay(states, tp, epoch, s.backoff_ms);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follower epoch cache as (epoch, start offset) entries, with end offsets per the
    /// OffsetsForLeaderEpoch table.
    fn cache(entries: &'static [(i32, i64)], leo: i64) -> impl Fn(i32) -> (i32, i64) {
        move |e| {
            if entries.last().is_some_and(|l| l.0 == e) {
                return (e, leo);
            }
            let Some(higher) = entries.iter().find(|x| x.0 > e) else {
                return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
            };
            match entries.iter().rev().find(|x| x.0 <= e) {
                None => (e, higher.1),
                Some(f) => (f.0, higher.1),
            }
        }
    }

    #[test]
    fn same_epoch_truncates_to_the_smaller_end() {
        // Follower: epoch 1 from 0, epoch 2 from 10, LEO 20. Leader: epoch 2 ends at 15.
        let d = decide(2, 15, cache(&[(1, 0), (2, 10)], 20), 12, 20);
        assert_eq!((d.offset, d.completed), (15, true));
        // Leader has more: nothing to truncate beyond our LEO.
        let d = decide(2, 30, cache(&[(1, 0), (2, 10)], 20), 12, 20);
        assert_eq!((d.offset, d.completed), (20, true));
    }

    #[test]
    fn unknown_leader_epoch_iterates_kip_279() {
        // Follower has epochs 1 and 3; the leader answers epoch 2 ending at 14.
        let d = decide(2, 14, cache(&[(1, 0), (3, 10)], 20), 5, 20);
        assert_eq!((d.offset, d.completed), (10, false));
        // After truncating to 10 our latest epoch is 1; the leader says epoch 1 ends at 8.
        let d = decide(1, 8, cache(&[(1, 0)], 10), 5, 10);
        assert_eq!((d.offset, d.completed), (8, true));
    }

    #[test]
    fn fallbacks() {
        let d = decide(
            UNDEFINED_EPOCH,
            UNDEFINED_EPOCH_OFFSET,
            cache(&[(1, 0)], 9),
            4,
            9,
        );
        assert_eq!((d.offset, d.completed), (4, true), "no epoch info: HW");
        let d = decide(UNDEFINED_EPOCH, 6, cache(&[(1, 0)], 9), 4, 9);
        assert_eq!((d.offset, d.completed), (6, true), "v0 answer");
        let d = decide(0, 3, cache(&[(2, 5)], 9), 4, 9);
        assert_eq!((d.offset, d.completed), (3, true), "below our first epoch");
    }
}
