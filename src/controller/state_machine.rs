//! The partition and replica state machines (PartitionStateMachine.scala,
//! ReplicaStateMachine.scala). Transitions write ZooKeeper (fenced) and queue requests on the
//! batch; the caller sends the batch when the event is done.

use std::collections::BTreeSet;

use super::batch::RequestBatch;
use super::context::{ControllerContext, PartitionStateKind, ReplicaState};
use super::election::{self, Elected};
use crate::config::KafkaConfig;
use crate::log::TopicPartition;
use crate::metrics::events::{EventKind, Subject};
use crate::metrics::METRICS;
use crate::zk::codec::PartitionState;
use crate::zk::{KafkaZkClient, UpdateOutcome, ZkError, ZkResult};

/// Which leader election strategy an Online transition uses.
#[derive(Clone, Debug)]
pub enum Strategy {
    /// New/Offline partitions: first live ISR member (unclean only if allowed).
    OfflinePartition,
    /// Controlled shutdown of the listed brokers.
    ControlledShutdown(BTreeSet<i32>),
    /// Back to the preferred (first assigned) replica.
    PreferredReplica,
}

pub struct StateMachines<'a> {
    pub ctx: &'a mut ControllerContext,
    pub zk: &'a KafkaZkClient,
    pub batch: &'a mut RequestBatch,
    pub config: &'a KafkaConfig,
    pub controller_id: i32,
}

impl StateMachines<'_> {
    fn prefix(&self) -> String {
        format!(
            "[Controller id={} epoch={}]",
            self.controller_id, self.ctx.epoch
        )
    }

    /// Record-only partition transitions (→ New, → Offline, → NonExistent).
    pub fn partitions_to(&mut self, partitions: &[TopicPartition], target: PartitionStateKind) {
        for tp in partitions {
            let from = self
                .ctx
                .partition_states
                .get(tp)
                .copied()
                .unwrap_or(PartitionStateKind::NonExistent);
            tracing::debug!(target: "state.change.logger", "{} Partition {tp} state {from:?} -> {target:?}", self.prefix());
            if target == PartitionStateKind::NonExistent {
                self.ctx.partition_states.remove(tp);
            } else {
                self.ctx.partition_states.insert(tp.clone(), target);
            }
        }
    }

    /// → OnlinePartition: New partitions get their first leader; Online/Offline ones an election.
    pub async fn partitions_online(
        &mut self,
        partitions: &[TopicPartition],
        strategy: &Strategy,
    ) -> ZkResult<()> {
        let (new, existing): (Vec<_>, Vec<_>) = partitions
            .iter()
            .filter(|tp| self.ctx.partition_states.contains_key(*tp))
            .cloned()
            .partition(|tp| self.ctx.partition_states[tp] == PartitionStateKind::New);
        self.initialize_leaders(&new).await?;
        for tp in &existing {
            self.elect_leader(tp, strategy).await?;
        }
        Ok(())
    }

    /// NewPartition → OnlinePartition: leader = first live replica, ISR = live replicas.
    /// The state znodes are created with pipelined requests, as Kafka's async ZooKeeper calls
    /// do: one round trip after another would make a 50-partition topic take a second.
    async fn initialize_leaders(&mut self, partitions: &[TopicPartition]) -> ZkResult<()> {
        let planned: Vec<(&TopicPartition, PartitionState)> = partitions
            .iter()
            .filter_map(|tp| self.initial_state(tp).map(|s| (tp, s)))
            .collect();
        let (zk, epoch_zk_version) = (self.zk, self.ctx.epoch_zk_version);
        let created = futures::future::join_all(
            planned
                .iter()
                .map(|(tp, state)| zk.create_partition_state(epoch_zk_version, tp, state)),
        )
        .await;
        for ((tp, state), result) in planned.into_iter().zip(created) {
            match result {
                Ok(()) => self.leader_initialized(tp, state),
                Err(e) if e.is(zookeeper_client::Error::NodeExists) => {
                    tracing::error!(target: "state.change.logger", "{} Partition {tp} already has a state znode; not initializing", self.prefix());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The first leader and ISR of a new partition, or None without a live replica.
    fn initial_state(&self, tp: &TopicPartition) -> Option<PartitionState> {
        let live: Vec<i32> = self
            .ctx
            .replicas(tp)
            .iter()
            .copied()
            .filter(|r| self.ctx.is_replica_eligible(tp, *r))
            .collect();
        let Some(&leader) = live.first() else {
            tracing::error!(target: "state.change.logger", "{} Partition {tp} has no live replica among {:?}; it stays NewPartition", self.prefix(), self.ctx.replicas(tp));
            return None;
        };
        Some(PartitionState {
            leader,
            leader_epoch: 0,
            isr: live,
            controller_epoch: self.ctx.epoch,
            zk_version: 0,
        })
    }

    fn leader_initialized(&mut self, tp: &TopicPartition, state: PartitionState) {
        let (leader, live) = (state.leader, state.isr.clone());
        crate::narrate!(info, "state.change.logger", EventKind::LeaderElection, Subject::partition(&tp.topic, tp.partition), "{} Partition {tp} NewPartition -> OnlinePartition: leader {leader}, ISR {live:?}, leader epoch 0", self.prefix());
        self.ctx.leadership.insert(tp.clone(), state.clone());
        self.ctx
            .partition_states
            .insert(tp.clone(), PartitionStateKind::Online);
        self.batch
            .add_leader_and_isr(self.ctx, &live, tp, &state, true);
    }

    /// Online/Offline → Online with `strategy`; retried on zkVersion conflicts.
    async fn elect_leader(&mut self, tp: &TopicPartition, strategy: &Strategy) -> ZkResult<()> {
        loop {
            let Some(current) = self.zk.get_partition_state(tp).await? else {
                tracing::error!(target: "state.change.logger", "{} Partition {tp} has no state znode; cannot elect a leader", self.prefix());
                return Ok(());
            };
            if current.controller_epoch > self.ctx.epoch {
                // A newer controller wrote this state: we are no longer the controller.
                return Err(ZkError::ControllerMoved);
            }
            let Some(elected) = self.run_strategy(tp, &current, strategy).await? else {
                tracing::error!(target: "state.change.logger", "{} Partition {tp} has no eligible leader ({strategy:?}, replicas {:?}, ISR {:?}, live brokers {:?}); it stays offline", self.prefix(), self.ctx.replicas(tp), current.isr, self.ctx.live_broker_ids());
                self.ctx.leadership.insert(tp.clone(), current);
                return Ok(());
            };
            let next = PartitionState {
                leader: elected.leader,
                leader_epoch: current.leader_epoch + 1,
                isr: elected.isr.clone(),
                controller_epoch: self.ctx.epoch,
                zk_version: current.zk_version,
            };
            match self
                .zk
                .update_partition_state(Some(self.ctx.epoch_zk_version), tp, &next)
                .await?
            {
                UpdateOutcome::VersionConflict => continue,
                UpdateOutcome::Updated(version) => {
                    let next = PartitionState {
                        zk_version: version,
                        ..next
                    };
                    self.log_election(tp, &current, &next, &elected, strategy);
                    self.ctx.leadership.insert(tp.clone(), next.clone());
                    self.ctx
                        .partition_states
                        .insert(tp.clone(), PartitionStateKind::Online);
                    let recipients = self.recipients(tp, strategy);
                    self.batch
                        .add_leader_and_isr(self.ctx, &recipients, tp, &next, false);
                    return Ok(());
                }
            }
        }
    }

    async fn run_strategy(
        &self,
        tp: &TopicPartition,
        current: &PartitionState,
        strategy: &Strategy,
    ) -> ZkResult<Option<Elected>> {
        let replicas = self.ctx.replicas(tp);
        let online = |r: i32| self.ctx.is_replica_eligible(tp, r);
        Ok(match strategy {
            Strategy::OfflinePartition => {
                let has_live_isr = current.isr.iter().any(|r| online(*r));
                let unclean = !has_live_isr && self.unclean_allowed(&tp.topic).await?;
                election::offline_partition_leader(replicas, &current.isr, online, unclean)
            }
            Strategy::ControlledShutdown(down) => {
                election::controlled_shutdown_leader(replicas, &current.isr, online, |r| {
                    down.contains(&r)
                })
            }
            Strategy::PreferredReplica => {
                election::preferred_replica_leader(replicas, &current.isr, online)
            }
        })
    }

    /// `unclean.leader.election.enable` of the topic (its override over the broker default).
    async fn unclean_allowed(&self, topic: &str) -> ZkResult<bool> {
        let overrides = self.zk.get_topic_config(topic).await?;
        Ok(match overrides.get("unclean.leader.election.enable") {
            Some(v) => v.eq_ignore_ascii_case("true"),
            None => self.config.boolean("unclean.leader.election.enable"),
        })
    }

    fn recipients(&self, tp: &TopicPartition, strategy: &Strategy) -> Vec<i32> {
        let replicas = self.ctx.replicas(tp).iter().copied();
        match strategy {
            Strategy::PreferredReplica => replicas.collect(),
            _ => replicas
                .filter(|r| self.ctx.is_replica_online_for(tp, *r))
                .collect(),
        }
    }

    fn log_election(
        &self,
        tp: &TopicPartition,
        old: &PartitionState,
        new: &PartitionState,
        e: &Elected,
        strategy: &Strategy,
    ) {
        let why = match strategy {
            Strategy::OfflinePartition => "offline partition leader election",
            Strategy::ControlledShutdown(_) => "controlled shutdown leader election",
            Strategy::PreferredReplica => "preferred replica leader election",
        };
        let subject = Subject::partition(&tp.topic, tp.partition);
        if e.unclean {
            METRICS.unclean_leader_elections.inc();
            crate::narrate!(warn, "state.change.logger", EventKind::LeaderElection, subject,
                "{} Unclean leader election for {tp}: no live ISR member of {:?}; electing out-of-sync replica {} with leader epoch {} (data may be lost)",
                self.prefix(), old.isr, new.leader, new.leader_epoch);
        } else {
            crate::narrate!(info, "state.change.logger", EventKind::LeaderElection, subject,
                "{} Partition {tp} leader {} -> {}, ISR {:?} -> {:?}, leader epoch {} -> {} ({why})",
                self.prefix(), old.leader, new.leader, old.isr, new.isr, old.leader_epoch, new.leader_epoch);
        }
    }

    /// Replica transitions (ReplicaStateMachine.handleStateChanges).
    pub async fn replicas_to(
        &mut self,
        replicas: &[(TopicPartition, i32)],
        target: ReplicaState,
    ) -> ZkResult<()> {
        for (tp, broker) in replicas {
            match target {
                ReplicaState::Online => self.replica_online(tp, *broker),
                ReplicaState::Offline => self.replica_offline(tp, *broker).await?,
                ReplicaState::DeletionStarted => self.batch.add_stop_replica(*broker, tp, true),
                ReplicaState::NonExistent => {
                    if let Some(list) = self.ctx.assignments.get_mut(tp) {
                        list.retain(|r| r != broker);
                    }
                    self.ctx.replica_states.remove(&(tp.clone(), *broker));
                    continue;
                }
                ReplicaState::New
                | ReplicaState::DeletionSuccessful
                | ReplicaState::DeletionIneligible => {}
            }
            self.ctx
                .replica_states
                .insert((tp.clone(), *broker), target);
        }
        Ok(())
    }

    /// → OnlineReplica: a replica with known leadership learns it through LeaderAndIsr.
    fn replica_online(&mut self, tp: &TopicPartition, broker: i32) {
        let from_new =
            self.ctx.replica_states.get(&(tp.clone(), broker)) == Some(&ReplicaState::New);
        if let (false, Some(state)) = (from_new, self.ctx.leadership.get(tp).cloned()) {
            self.batch
                .add_leader_and_isr(self.ctx, &[broker], tp, &state, false);
        }
    }

    /// → OfflineReplica: stop it, and drop it from the ISR in ZooKeeper (leader -1 if it led);
    /// an ISR of one is left as is so the last in-sync replica stays known.
    async fn replica_offline(&mut self, tp: &TopicPartition, broker: i32) -> ZkResult<()> {
        self.batch.add_stop_replica(broker, tp, false);
        loop {
            let Some(current) = self.zk.get_partition_state(tp).await? else {
                self.batch
                    .add_update_metadata(&self.ctx.live_broker_ids(), [tp.clone()]);
                return Ok(());
            };
            if current.controller_epoch > self.ctx.epoch {
                return Err(ZkError::ControllerMoved);
            }
            let leader = if current.leader == broker {
                -1
            } else {
                current.leader
            };
            let isr: Vec<i32> = if current.isr.len() > 1 {
                current
                    .isr
                    .iter()
                    .copied()
                    .filter(|r| *r != broker)
                    .collect()
            } else {
                current.isr.clone()
            };
            if leader == current.leader && isr == current.isr {
                self.ctx.leadership.insert(tp.clone(), current);
                return Ok(());
            }
            let next = PartitionState {
                leader,
                isr,
                leader_epoch: current.leader_epoch + 1,
                controller_epoch: self.ctx.epoch,
                zk_version: current.zk_version,
            };
            if let UpdateOutcome::Updated(version) = self
                .zk
                .update_partition_state(Some(self.ctx.epoch_zk_version), tp, &next)
                .await?
            {
                let next = PartitionState {
                    zk_version: version,
                    ..next
                };
                crate::narrate!(info, "state.change.logger", EventKind::PartitionOffline, Subject::partition(&tp.topic, tp.partition),
                    "{} Replica {broker} of {tp} went offline: leader {} -> {}, ISR {:?} -> {:?}, leader epoch {}",
                    self.prefix(), current.leader, next.leader, current.isr, next.isr, next.leader_epoch);
                self.ctx.leadership.insert(tp.clone(), next.clone());
                if !self.ctx.is_being_deleted(&tp.topic) {
                    let others: Vec<i32> = self
                        .ctx
                        .replicas(tp)
                        .iter()
                        .copied()
                        .filter(|r| *r != broker)
                        .collect();
                    self.batch
                        .add_leader_and_isr(self.ctx, &others, tp, &next, false);
                }
                return Ok(());
            }
        }
    }
}
