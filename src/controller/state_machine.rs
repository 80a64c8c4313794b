//! The partition and replica state machines (PartitionStateMachine.scala,
//! ReplicaStateMachine.scala). Transitions write ZooKeeper (fenced) and queue requests on the
//! batch; the caller sends the batch when the event is done.

use std::collections::{BTreeMap, BTreeSet};

use super::batch::RequestBatch;
use super::context::{ControllerContext, PartitionStateKind};
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
    /// ElectLeaders UNCLEAN: the offline strategy with `allowUnclean = true`.
    UncleanElection,
    /// Reassignment completion: the first target replica that is online and in the ISR (the
    /// assignment is already the target when this runs).
    Reassign,
}

pub struct StateMachines<'a> {
    pub ctx: &'a mut ControllerContext,
    pub zk: &'a KafkaZkClient,
    pub batch: &'a mut RequestBatch,
    pub config: &'a KafkaConfig,
    pub controller_id: i32,
}

impl StateMachines<'_> {
    pub(super) fn prefix(&self) -> String {
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
        self.elect_leaders(&existing, strategy).await
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

    /// Online/Offline → Online with `strategy` (doElectLeaderForPartitions): read the state
    /// znodes, elect, and write each partition's new leader and ISR once, conditional on its
    /// zkVersion. Reads and writes are pipelined (one round trip each for the whole batch, as
    /// Kafka's async ZooKeeper calls); partitions that lose a zkVersion race are re-read and
    /// elected again.
    async fn elect_leaders(
        &mut self,
        partitions: &[TopicPartition],
        strategy: &Strategy,
    ) -> ZkResult<()> {
        let mut pending = partitions.to_vec();
        while !pending.is_empty() {
            let current = self.read_states(&pending).await?;
            let unclean = self.unclean_allowed(&current, strategy).await?;
            let mut planned = Vec::new();
            for (tp, state) in current {
                let Some(elected) = self.run_strategy(&tp, &state, strategy, &unclean) else {
                    tracing::error!(target: "state.change.logger", "{} Partition {tp} has no eligible leader ({strategy:?}, replicas {:?}, ISR {:?}, live brokers {:?}); it stays offline", self.prefix(), self.ctx.replicas(&tp), state.isr, self.ctx.live_broker_ids());
                    self.ctx.leadership.insert(tp, state);
                    continue;
                };
                let next = PartitionState {
                    leader: elected.leader,
                    leader_epoch: state.leader_epoch + 1,
                    isr: elected.isr.clone(),
                    controller_epoch: self.ctx.epoch,
                    zk_version: state.zk_version,
                };
                planned.push((tp, state, next, elected));
            }
            let writes: Vec<_> = planned
                .iter()
                .map(|(tp, _, next, _)| (tp.clone(), next.clone()))
                .collect();
            let outcomes = self
                .zk
                .update_partition_states(self.ctx.epoch_zk_version, &writes)
                .await;
            pending = Vec::new();
            let mut failure = None;
            for ((tp, old, next, elected), outcome) in planned.into_iter().zip(outcomes) {
                match outcome {
                    Ok(UpdateOutcome::VersionConflict) => pending.push(tp),
                    Ok(UpdateOutcome::Updated(version)) => {
                        let next = PartitionState {
                            zk_version: version,
                            ..next
                        };
                        self.leader_elected(&tp, &old, next, &elected, strategy);
                    }
                    Err(e) => failure = failure.or(Some(e)),
                }
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(())
    }

    /// `updateLeaderEpoch`: leader and ISR unchanged, leader epoch + 1 (conditional on the
    /// zkVersion, re-read on a race). None when the partition has no state znode.
    pub async fn bump_leader_epoch(
        &mut self,
        tp: &TopicPartition,
    ) -> ZkResult<Option<PartitionState>> {
        loop {
            let Some((_, current)) = self.read_states(std::slice::from_ref(tp)).await?.pop() else {
                return Ok(None);
            };
            let next = PartitionState {
                leader_epoch: current.leader_epoch + 1,
                controller_epoch: self.ctx.epoch,
                ..current
            };
            let writes = [(tp.clone(), next.clone())];
            let outcome = self
                .zk
                .update_partition_states(self.ctx.epoch_zk_version, &writes)
                .await
                .pop()
                .expect("one outcome per write")?;
            if let UpdateOutcome::Updated(version) = outcome {
                let next = PartitionState {
                    zk_version: version,
                    ..next
                };
                self.ctx.leadership.insert(tp.clone(), next.clone());
                return Ok(Some(next));
            }
        }
    }

    /// The partitions' state znodes, read pipelined. Partitions without one are logged and
    /// left out; a state written by a newer controller means we are no longer the controller.
    pub(super) async fn read_states(
        &self,
        partitions: &[TopicPartition],
    ) -> ZkResult<Vec<(TopicPartition, PartitionState)>> {
        let states = self.zk.get_partition_states(partitions).await?;
        let mut out = Vec::with_capacity(partitions.len());
        for (tp, state) in partitions.iter().zip(states) {
            match state {
                None => {
                    tracing::error!(target: "state.change.logger", "{} Partition {tp} has no state znode", self.prefix())
                }
                Some(s) if s.controller_epoch > self.ctx.epoch => {
                    return Err(ZkError::ControllerMoved)
                }
                Some(s) => out.push((tp.clone(), s)),
            }
        }
        Ok(out)
    }

    /// A successful election: cache it, LeaderAndIsr to the strategy's recipients.
    fn leader_elected(
        &mut self,
        tp: &TopicPartition,
        old: &PartitionState,
        next: PartitionState,
        elected: &Elected,
        strategy: &Strategy,
    ) {
        self.log_election(tp, old, &next, elected, strategy);
        self.ctx.leadership.insert(tp.clone(), next.clone());
        self.ctx
            .partition_states
            .insert(tp.clone(), PartitionStateKind::Online);
        let recipients = self.recipients(tp, strategy);
        self.batch
            .add_leader_and_isr(self.ctx, &recipients, tp, &next, false);
    }

    fn run_strategy(
        &self,
        tp: &TopicPartition,
        current: &PartitionState,
        strategy: &Strategy,
        unclean: &BTreeMap<String, bool>,
    ) -> Option<Elected> {
        let replicas = self.ctx.replicas(tp);
        let online = |r: i32| self.ctx.is_replica_eligible(tp, r);
        match strategy {
            Strategy::OfflinePartition => {
                let allow = unclean.get(&tp.topic).copied().unwrap_or(false);
                election::offline_partition_leader(replicas, &current.isr, online, allow)
            }
            Strategy::ControlledShutdown(down) => {
                election::controlled_shutdown_leader(replicas, &current.isr, online, |r| {
                    down.contains(&r)
                })
            }
            Strategy::PreferredReplica => {
                election::preferred_replica_leader(replicas, &current.isr, online)
            }
            Strategy::UncleanElection => {
                election::offline_partition_leader(replicas, &current.isr, online, true)
            }
            Strategy::Reassign => {
                election::reassign_partition_leader(replicas, &current.isr, online)
            }
        }
    }

    /// `unclean.leader.election.enable` (topic override over the broker default) of every
    /// topic that has a partition without a live ISR member; read once per topic, pipelined.
    /// Partitions with a live ISR member never need it.
    async fn unclean_allowed(
        &self,
        current: &[(TopicPartition, PartitionState)],
        strategy: &Strategy,
    ) -> ZkResult<BTreeMap<String, bool>> {
        if !matches!(strategy, Strategy::OfflinePartition) {
            return Ok(BTreeMap::new());
        }
        let topics: BTreeSet<&str> = current
            .iter()
            .filter(|(tp, s)| !s.isr.iter().any(|r| self.ctx.is_replica_eligible(tp, *r)))
            .map(|(tp, _)| tp.topic.as_str())
            .collect();
        let default = self.unclean_default().await?;
        let configs =
            futures::future::join_all(topics.iter().map(|t| self.zk.get_topic_config(t))).await;
        let mut out = BTreeMap::new();
        for (topic, config) in topics.into_iter().zip(configs) {
            let allowed = match config?.get("unclean.leader.election.enable") {
                Some(v) => v.eq_ignore_ascii_case("true"),
                None => default,
            };
            out.insert(topic.to_string(), allowed);
        }
        Ok(out)
    }

    /// This broker's `unclean.leader.election.enable`: `/config/brokers/<id>`, then
    /// `<default>`, then server.properties, read at each election so a dynamic change counts.
    async fn unclean_default(&self) -> ZkResult<bool> {
        let key = "unclean.leader.election.enable";
        let id = self.config.broker_id.to_string();
        for entity in [id.as_str(), crate::config::dynamic::DEFAULT_ENTITY] {
            let layer = self
                .zk
                .get_entity_config(&format!("brokers/{entity}"))
                .await?;
            if let Some(v) = layer.get(key) {
                return Ok(v.trim().eq_ignore_ascii_case("true"));
            }
        }
        Ok(self.config.boolean(key))
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
            Strategy::UncleanElection => "unclean leader election requested by an admin",
            Strategy::Reassign => "reassigned partition leader election",
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
}
