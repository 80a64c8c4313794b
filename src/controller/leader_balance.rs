//! Leader balancing (KafkaController.scala; controller-behaviour.md §8): replica leader
//! elections asked for by an admin (ElectLeaders), by `/admin/preferred_replica_election`, or
//! by the auto-rebalance timer when a broker leads too few of the partitions it prefers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::sync::oneshot;

use super::active::ActiveController;
use super::batch::RequestBatch;
use super::event::ControllerEvent;
use super::state_machine::Strategy;
use super::ControllerHandle;
use crate::log::TopicPartition;
use crate::server::errors;
use crate::zk::{paths, ZkResult};

/// ElectLeaders' `ElectionType` (0 = PREFERRED, 1 = UNCLEAN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElectionType {
    Preferred,
    Unclean,
}

impl ElectionType {
    pub fn from_wire(v: i8) -> Option<ElectionType> {
        match v {
            0 => Some(ElectionType::Preferred),
            1 => Some(ElectionType::Unclean),
            _ => None,
        }
    }
}

/// Who asked for an election (Kafka's ElectionTrigger).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElectionTrigger {
    ZkTriggered,
    AdminClientTriggered,
    AutoTriggered,
}

/// Per partition: the new leader, or an error code with Kafka's message.
pub type ElectionResults = BTreeMap<TopicPartition, Result<i32, (i16, Option<String>)>>;

/// Reply channel of an admin-triggered election.
pub type ElectionReply = oneshot::Sender<ElectionResults>;

impl ControllerHandle {
    /// ElectLeaders: queued for the event task. A broker that is not (or stops being) the
    /// active controller answers NOT_CONTROLLER for every partition named.
    pub async fn elect_leaders(
        &self,
        partitions: Vec<TopicPartition>,
        election_type: ElectionType,
    ) -> ElectionResults {
        let not_controller = |ps: &[TopicPartition]| -> ElectionResults {
            ps.iter()
                .map(|tp| (tp.clone(), Err((errors::NOT_CONTROLLER, None))))
                .collect()
        };
        let (reply, rx) = oneshot::channel();
        let event = ControllerEvent::ReplicaLeaderElection {
            partitions: Some(partitions.clone()),
            election_type,
            trigger: ElectionTrigger::AdminClientTriggered,
            reply: Some(reply),
        };
        if self.events.send(event).is_err() {
            return not_controller(&partitions);
        }
        rx.await.unwrap_or_else(|_| not_controller(&partitions))
    }
}

impl ActiveController {
    /// `processReplicaLeaderElection`: admin- or ZooKeeper-triggered. Unknown partitions,
    /// topics being deleted and partitions that already have the wanted leader are answered
    /// without an election.
    pub async fn on_replica_leader_election(
        &mut self,
        requested: Option<Vec<TopicPartition>>,
        election_type: ElectionType,
        trigger: ElectionTrigger,
        reply: Option<ElectionReply>,
    ) -> ZkResult<()> {
        let partitions = match requested {
            Some(p) => p,
            None => {
                // The znode's exists-watch is re-armed whether or not it exists.
                let (exists, watcher) = self
                    .zk
                    .exists_and_watch(paths::PREFERRED_REPLICA_ELECTION)
                    .await?;
                self.rewatch("preferred_replica_election".into(), watcher, |_| {
                    Some(ControllerEvent::zk_preferred_election())
                });
                if !exists {
                    return Ok(());
                }
                let listed = self.zk.get_preferred_replica_election().await?;
                listed
                    .into_iter()
                    .map(|(t, p)| TopicPartition::new(t, p))
                    .collect()
            }
        };
        let mut results = ElectionResults::new();
        let mut electable = Vec::new();
        for tp in partitions.into_iter().collect::<BTreeSet<_>>() {
            match self.pre_election_check(&tp, election_type, trigger) {
                Some(answer) => {
                    results.insert(tp, Err(answer));
                }
                None => electable.push(tp),
            }
        }
        let elected = self
            .on_replica_election(&electable, election_type, trigger)
            .await;
        if trigger == ElectionTrigger::ZkTriggered {
            self.zk
                .delete_fenced(self.ctx.epoch_zk_version, paths::PREFERRED_REPLICA_ELECTION)
                .await?;
        }
        results.extend(elected?);
        if let Some(reply) = reply {
            let _ = reply.send(results);
        }
        Ok(())
    }

    /// The answer for a partition that needs no election, or None if it should get one.
    fn pre_election_check(
        &self,
        tp: &TopicPartition,
        election_type: ElectionType,
        trigger: ElectionTrigger,
    ) -> Option<(i16, Option<String>)> {
        let Some(replicas) = self.ctx.assignments.get(tp) else {
            tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Skipping replica leader election ({election_type:?}) for partition {tp} by {trigger:?} since it doesn't exist.", self.id);
            return Some((
                errors::UNKNOWN_TOPIC_OR_PARTITION,
                Some("The partition does not exist.".into()),
            ));
        };
        if self.ctx.is_being_deleted(&tp.topic) {
            tracing::warn!(target: "kafka.controller.KafkaController", "[Controller id={}] Skipping replica leader election ({election_type:?}) for partition {tp} by {trigger:?} since the respective topics are being deleted", self.id);
            return Some((
                errors::INVALID_TOPIC_EXCEPTION,
                Some("The topic is being deleted".into()),
            ));
        }
        let leader = self.ctx.leadership.get(tp).map_or(-1, |s| s.leader);
        let needed = match election_type {
            ElectionType::Preferred => replicas.first() != Some(&leader),
            ElectionType::Unclean => leader == -1 || !self.ctx.is_replica_online(leader),
        };
        (!needed).then_some((errors::ELECTION_NOT_NEEDED, None))
    }

    /// `onReplicaElection`: one state-machine pass; a partition that did not get the leader
    /// the strategy wanted failed with PREFERRED_LEADER_NOT_AVAILABLE (preferred) or
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE (unclean).
    async fn on_replica_election(
        &mut self,
        partitions: &[TopicPartition],
        election_type: ElectionType,
        trigger: ElectionTrigger,
    ) -> ZkResult<ElectionResults> {
        if partitions.is_empty() {
            return Ok(ElectionResults::new());
        }
        tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Starting replica leader election ({election_type:?}) for partitions {} triggered by {trigger:?}", self.id,
            partitions.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
        // Unclean only when an admin asked for it (Kafka is conservative here).
        let (strategy, name) = match election_type {
            ElectionType::Preferred => (
                Strategy::PreferredReplica,
                "PreferredReplicaPartitionLeaderElectionStrategy",
            ),
            ElectionType::Unclean if trigger == ElectionTrigger::AdminClientTriggered => (
                Strategy::UncleanElection,
                "OfflinePartitionLeaderElectionStrategy(true)",
            ),
            ElectionType::Unclean => (
                Strategy::OfflinePartition,
                "OfflinePartitionLeaderElectionStrategy(false)",
            ),
        };
        let mut batch = RequestBatch::default();
        self.machines(&mut batch)
            .partitions_online(partitions, &strategy)
            .await?;
        self.send(batch);
        Ok(partitions
            .iter()
            .map(|tp| (tp.clone(), self.election_outcome(tp, election_type, name)))
            .collect())
    }

    fn election_outcome(
        &self,
        tp: &TopicPartition,
        election_type: ElectionType,
        strategy: &str,
    ) -> Result<i32, (i16, Option<String>)> {
        let leader = self.ctx.leadership.get(tp).map_or(-1, |s| s.leader);
        let (ok, code) = match election_type {
            ElectionType::Preferred => (
                self.ctx.replicas(tp).first() == Some(&leader),
                errors::PREFERRED_LEADER_NOT_AVAILABLE,
            ),
            ElectionType::Unclean => (
                leader != -1 && self.ctx.is_replica_online_for(tp, leader),
                errors::ELIGIBLE_LEADERS_NOT_AVAILABLE,
            ),
        };
        if ok {
            return Ok(leader);
        }
        let msg = format!("Failed to elect leader for partition {tp} under strategy {strategy}");
        tracing::warn!(target: "kafka.controller.KafkaController", "[Controller id={}] {msg}; leader is still {leader}", self.id);
        Err((code, Some(msg)))
    }

    /// `checkAndTriggerAutoLeaderRebalance`: per preferred broker, if the share of its
    /// partitions it does not lead exceeds `leader.imbalance.per.broker.percentage`, move
    /// back those whose preferred replica is online and in the ISR — never while a
    /// reassignment is in progress. Schedules the next check when done.
    pub async fn on_auto_leader_rebalance(&mut self) -> ZkResult<()> {
        tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Processing automatic preferred replica leader election", self.id);
        let result = self.check_and_trigger_auto_leader_rebalance().await;
        let interval = self
            .config
            .long("leader.imbalance.check.interval.seconds")
            .max(1);
        self.schedule_auto_leader_rebalance(Duration::from_secs(interval as u64));
        result
    }

    async fn check_and_trigger_auto_leader_rebalance(&mut self) -> ZkResult<()> {
        let threshold = self.config.int("leader.imbalance.per.broker.percentage") as f64 / 100.0;
        let mut by_preferred: BTreeMap<i32, Vec<&TopicPartition>> = BTreeMap::new();
        for (tp, replicas) in &self.ctx.assignments {
            if let (Some(&preferred), false) =
                (replicas.first(), self.ctx.is_being_deleted(&tp.topic))
            {
                by_preferred.entry(preferred).or_default().push(tp);
            }
        }
        let mut candidates = Vec::new();
        for (broker, partitions) in by_preferred {
            let not_led: Vec<&TopicPartition> = partitions
                .iter()
                .copied()
                .filter(|tp| {
                    self.ctx
                        .leadership
                        .get(*tp)
                        .is_some_and(|s| s.leader != broker)
                })
                .collect();
            let ratio = not_led.len() as f64 / partitions.len() as f64;
            tracing::trace!(target: "kafka.controller.KafkaController", "Leader imbalance ratio for broker {broker} is {ratio}");
            if ratio > threshold && self.ctx.partitions_being_reassigned().is_empty() {
                candidates.extend(
                    not_led
                        .into_iter()
                        .filter(|tp| self.can_preferred_replica_be_leader(tp))
                        .cloned(),
                );
            }
        }
        self.on_replica_election(
            &candidates,
            ElectionType::Preferred,
            ElectionTrigger::AutoTriggered,
        )
        .await
        .map(|_| ())
    }

    fn can_preferred_replica_be_leader(&self, tp: &TopicPartition) -> bool {
        let Some(&preferred) = self.ctx.replicas(tp).first() else {
            return false;
        };
        self.ctx.is_replica_eligible(tp, preferred)
            && self
                .ctx
                .leadership
                .get(tp)
                .is_some_and(|s| s.isr.contains(&preferred))
    }

    /// Arms the auto-rebalance timer (only with `auto.leader.rebalance.enable`); dropped with
    /// the other watches when this controller resigns.
    pub(super) fn schedule_auto_leader_rebalance(&mut self, delay: Duration) {
        if !self.config.boolean("auto.leader.rebalance.enable") {
            return;
        }
        let events = self.events.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = events.send(ControllerEvent::AutoPreferredReplicaLeaderElection);
        });
        if let Some(old) = self.watches.insert("auto-leader-rebalance".into(), task) {
            old.abort();
        }
    }
}
