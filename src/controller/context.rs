//! ControllerContext: the active controller's cached view of the cluster, owned by the event
//! task alone (no locks). Rebuilt from ZooKeeper on every failover.

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::Broker;
use crate::log::TopicPartition;
use crate::zk::codec::PartitionState;

/// Partition states of Kafka's PartitionStateMachine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionStateKind {
    NonExistent,
    New,
    Online,
    Offline,
}

/// Replica states of Kafka's ReplicaStateMachine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    New,
    Online,
    Offline,
    DeletionStarted,
    DeletionSuccessful,
    DeletionIneligible,
    NonExistent,
}

#[derive(Debug, Default)]
pub struct ControllerContext {
    /// This controller's epoch and the zkVersion of `/controller_epoch` that fences its writes.
    pub epoch: i32,
    pub epoch_zk_version: i32,
    /// Live brokers with their broker epochs (czxid of their registration).
    pub live_brokers: BTreeMap<i32, (Broker, i64)>,
    /// Replica assignment per partition (first = preferred leader).
    pub assignments: BTreeMap<TopicPartition, Vec<i32>>,
    /// Leader, ISR, epochs and zkVersion per partition, as last read or written.
    pub leadership: BTreeMap<TopicPartition, PartitionState>,
    pub partition_states: BTreeMap<TopicPartition, PartitionStateKind>,
    pub replica_states: BTreeMap<(TopicPartition, i32), ReplicaState>,
    /// Topics queued for deletion, and those whose deletion cannot progress right now.
    pub topics_to_delete: BTreeSet<String>,
    pub topics_ineligible_for_deletion: BTreeSet<String>,
    pub topics_deletion_started: BTreeSet<String>,
    /// Brokers in controlled shutdown: still live (they get requests) but never elected.
    pub shutting_down: BTreeSet<i32>,
    /// Replicas whose broker answered LeaderAndIsr with KAFKA_STORAGE_ERROR: their log dir
    /// failed, so they count as offline although the broker lives (replicasOnOfflineDirs).
    pub replicas_on_offline_dirs: BTreeMap<i32, BTreeSet<TopicPartition>>,
    /// Partitions being reassigned (KIP-455): their adding (AR) and removing (RR) replicas.
    /// The full replica set RS is in `assignments`.
    pub reassignments: BTreeMap<TopicPartition, Reassignment>,
}

/// A partition's ongoing reassignment: RS = `assignments[tp]`, TRS = RS − RR, ORS = RS − AR.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reassignment {
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

impl ControllerContext {
    pub fn live_broker_ids(&self) -> Vec<i32> {
        self.live_brokers.keys().copied().collect()
    }

    pub fn broker_epoch(&self, id: i32) -> i64 {
        self.live_brokers.get(&id).map_or(-1, |(_, e)| *e)
    }

    /// Whether the broker is live (requests to it are sent).
    pub fn is_replica_online(&self, broker: i32) -> bool {
        self.live_brokers.contains_key(&broker)
    }

    /// Kafka's isReplicaOnline(broker, partition): a live broker whose log dir holding
    /// `tp` has not failed.
    pub fn is_replica_online_for(&self, tp: &TopicPartition, broker: i32) -> bool {
        self.is_replica_online(broker)
            && !self
                .replicas_on_offline_dirs
                .get(&broker)
                .is_some_and(|s| s.contains(tp))
    }

    /// Online for `tp` and not shutting down: may lead or be counted as an online ISR member.
    pub fn is_replica_eligible(&self, tp: &TopicPartition, broker: i32) -> bool {
        self.is_replica_online_for(tp, broker) && !self.shutting_down.contains(&broker)
    }

    pub fn all_topics(&self) -> BTreeSet<String> {
        self.assignments.keys().map(|tp| tp.topic.clone()).collect()
    }

    pub fn partitions_of(&self, topic: &str) -> Vec<TopicPartition> {
        self.assignments
            .keys()
            .filter(|tp| tp.topic == topic)
            .cloned()
            .collect()
    }

    pub fn replicas(&self, tp: &TopicPartition) -> &[i32] {
        self.assignments.get(tp).map_or(&[], Vec::as_slice)
    }

    /// Partitions with a replica on `broker`.
    pub fn partitions_on_broker(&self, broker: i32) -> Vec<TopicPartition> {
        self.assignments
            .iter()
            .filter(|(_, r)| r.contains(&broker))
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// Every (partition, broker) replica hosted on one of `brokers`.
    pub fn replicas_on_brokers(&self, brokers: &[i32]) -> Vec<(TopicPartition, i32)> {
        brokers
            .iter()
            .flat_map(|b| {
                self.partitions_on_broker(*b)
                    .into_iter()
                    .map(move |tp| (tp, *b))
            })
            .collect()
    }

    pub fn partitions_being_reassigned(&self) -> Vec<TopicPartition> {
        self.reassignments.keys().cloned().collect()
    }

    pub fn is_being_deleted(&self, topic: &str) -> bool {
        self.topics_to_delete.contains(topic)
    }

    /// Assigned replicas that are not on a live broker (UpdateMetadata `OfflineReplicas`).
    pub fn offline_replicas(&self, tp: &TopicPartition) -> Vec<i32> {
        self.replicas(tp)
            .iter()
            .copied()
            .filter(|r| !self.is_replica_online_for(tp, *r))
            .collect()
    }

    pub fn remove_topic(&mut self, topic: &str) {
        self.assignments.retain(|tp, _| tp.topic != topic);
        self.leadership.retain(|tp, _| tp.topic != topic);
        self.partition_states.retain(|tp, _| tp.topic != topic);
        self.replica_states.retain(|(tp, _), _| tp.topic != topic);
        self.reassignments.retain(|tp, _| tp.topic != topic);
        self.topics_to_delete.remove(topic);
        self.topics_ineligible_for_deletion.remove(topic);
        self.topics_deletion_started.remove(topic);
    }
}

/// Brokers that appeared, vanished, or re-registered (larger czxid) since the last look.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BrokerDiff {
    pub new: Vec<i32>,
    pub dead: Vec<i32>,
    pub bounced: Vec<i32>,
}

pub fn diff_brokers(
    known: &BTreeMap<i32, (Broker, i64)>,
    current: &BTreeMap<i32, (Broker, i64)>,
) -> BrokerDiff {
    let mut d = BrokerDiff::default();
    for (id, (_, epoch)) in current {
        match known.get(id) {
            None => d.new.push(*id),
            Some((_, old)) if epoch > old => d.bounced.push(*id),
            Some(_) => {}
        }
    }
    d.dead = known
        .keys()
        .filter(|id| !current.contains_key(id))
        .copied()
        .collect();
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(id: i32, epoch: i64) -> (i32, (Broker, i64)) {
        (
            id,
            (
                Broker {
                    id,
                    endpoints: vec![],
                    rack: None,
                },
                epoch,
            ),
        )
    }

    #[test]
    fn diff_detects_new_dead_and_bounced() {
        let known: BTreeMap<_, _> = [b(1, 10), b(2, 20), b(3, 30)].into_iter().collect();
        let current: BTreeMap<_, _> = [b(1, 10), b(3, 35), b(4, 40)].into_iter().collect();
        let d = diff_brokers(&known, &current);
        assert_eq!(
            d,
            BrokerDiff {
                new: vec![4],
                dead: vec![2],
                bounced: vec![3]
            }
        );
    }
}
