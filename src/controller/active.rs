//! The active controller: failover (rebuilding all state from ZooKeeper alone), broker
//! membership changes, and sending the requests the state machines queue.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zookeeper_client::{EventType, OneshotWatcher};

use super::batch::RequestBatch;
use super::channel::ControllerChannelManager;
use super::context::{diff_brokers, ControllerContext, PartitionStateKind, ReplicaState};
use super::event::ControllerEvent;
use super::leader_balance::{ElectionTrigger, ElectionType};
use super::state_machine::{StateMachines, Strategy};
use crate::cluster::Broker;
use crate::config::KafkaConfig;
use crate::log::TopicPartition;
use crate::metrics::events::{EventKind, Subject};
use crate::security::sasl::SaslClientConfig;
use crate::zk::{on_watch, paths, KafkaZkClient, ZkResult};

/// State and duties of the broker that holds `/controller`; dropped on resignation.
pub struct ActiveController {
    pub ctx: ControllerContext,
    pub(super) channels: ControllerChannelManager,
    pub(super) watches: BTreeMap<String, JoinHandle<()>>,
    pub(super) zk: KafkaZkClient,
    pub(super) config: Arc<KafkaConfig>,
    pub(super) events: mpsc::UnboundedSender<ControllerEvent>,
    pub(super) id: i32,
    /// The ZooKeeper session that won the election (its expiry ends this controllership).
    pub(super) session_id: i64,
}

impl Drop for ActiveController {
    fn drop(&mut self) {
        for (_, w) in std::mem::take(&mut self.watches) {
            w.abort();
        }
    }
}

pub(super) fn join_ids(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

impl ActiveController {
    /// `onControllerFailover`: watch, read every broker, topic and partition state, tell the
    /// brokers, then bring New/Offline partitions online.
    pub async fn failover(
        id: i32,
        epoch: i32,
        epoch_zk_version: i32,
        zk: KafkaZkClient,
        config: Arc<KafkaConfig>,
        events: mpsc::UnboundedSender<ControllerEvent>,
    ) -> ZkResult<ActiveController> {
        let channels = ControllerChannelManager::new(
            id,
            config.inter_broker_listener_name.clone(),
            Duration::from_millis(config.long("controller.socket.timeout.ms") as u64),
            Duration::from_millis(config.long("request.timeout.ms") as u64),
            // Validated at startup, so an error cannot happen here.
            SaslClientConfig::inter_broker(&config).ok().flatten(),
            events.clone(),
        );
        let ctx = ControllerContext {
            epoch,
            epoch_zk_version,
            ..Default::default()
        };
        let mut active = ActiveController {
            ctx,
            channels,
            watches: BTreeMap::new(),
            session_id: zk.session_id(),
            zk,
            config,
            events,
            id,
        };
        active.ctx.live_brokers = active.watch_and_read_brokers().await?;
        for (b, _) in active.ctx.live_brokers.values() {
            active.channels.add_broker(b);
        }
        active.delete_stale_isr_notifications().await?;
        active.delete_stale_log_dir_notifications().await?;
        active.load_topics().await?;
        tracing::info!(target: "kafka.controller.KafkaController",
            "[Controller id={id}] Initialized live brokers: {}; {} topics, {} partitions",
            join_ids(&active.ctx.live_broker_ids()), active.ctx.all_topics().len(), active.ctx.assignments.len());
        // Brokers learn the live broker list before any LeaderAndIsr.
        let mut batch = RequestBatch::default();
        batch.add_update_metadata(&active.ctx.live_broker_ids(), []);
        active.send(batch);
        active.start_state_machines().await?;
        active.resume_reassignments().await?;
        active.watch_delete_topics_and_resume().await?;
        // Pending preferred elections, then the first imbalance check 5 s after failover.
        active
            .on_replica_leader_election(
                None,
                ElectionType::Preferred,
                ElectionTrigger::ZkTriggered,
                None,
            )
            .await?;
        active.schedule_auto_leader_rebalance(Duration::from_secs(5));
        Ok(active)
    }

    pub(super) fn machines<'a>(&'a mut self, batch: &'a mut RequestBatch) -> StateMachines<'a> {
        StateMachines {
            ctx: &mut self.ctx,
            zk: &self.zk,
            batch,
            config: &self.config,
            controller_id: self.id,
        }
    }

    pub(super) fn send(&self, batch: RequestBatch) {
        if !batch.is_empty() {
            batch.send(
                self.id,
                &self.ctx,
                &self.channels,
                &self.config.inter_broker_listener_name,
            );
        }
    }

    /// Keeps one task per watched path; re-arming replaces (and cancels) the previous one.
    pub(super) fn rewatch(
        &mut self,
        key: String,
        watcher: OneshotWatcher,
        make: impl FnOnce(EventType) -> Option<ControllerEvent> + Send + 'static,
    ) {
        let task = on_watch(watcher, self.events.clone(), make);
        if let Some(old) = self.watches.insert(key, task) {
            old.abort();
        }
    }

    async fn watch_and_read_brokers(&mut self) -> ZkResult<BTreeMap<i32, (Broker, i64)>> {
        let (_, watcher) = self.zk.get_children_and_watch(paths::BROKER_IDS).await?;
        self.rewatch("brokers".into(), watcher, |_| {
            Some(ControllerEvent::BrokerChange)
        });
        let all = self.zk.get_all_brokers().await?;
        Ok(all
            .into_iter()
            .map(|(reg, epoch)| (reg.broker.id, (reg.broker, epoch)))
            .collect())
    }

    /// Partition state machine start-up: every partition is Online, Offline or New by what
    /// ZooKeeper says; LeaderAndIsr to every online replica; then elect New/Offline ones.
    async fn start_state_machines(&mut self) -> ZkResult<()> {
        let mut batch = RequestBatch::default();
        let all: Vec<TopicPartition> = self.ctx.assignments.keys().cloned().collect();
        for tp in &all {
            let kind = match self.ctx.leadership.get(tp) {
                None => PartitionStateKind::New,
                Some(s) if self.ctx.is_replica_online_for(tp, s.leader) => {
                    PartitionStateKind::Online
                }
                Some(_) => PartitionStateKind::Offline,
            };
            self.ctx.partition_states.insert(tp.clone(), kind);
        }
        let (online, offline): (Vec<_>, Vec<_>) = all
            .iter()
            .flat_map(|tp| self.ctx.replicas(tp).iter().map(move |r| (tp.clone(), *r)))
            .partition(|(tp, r)| self.ctx.is_replica_online_for(tp, *r));
        let mut sm = self.machines(&mut batch);
        sm.replicas_to(&online, ReplicaState::Online).await?;
        sm.replicas_to(&offline, ReplicaState::Offline).await?;
        self.send(batch);
        self.trigger_online_partition_state_change().await
    }

    /// Elects leaders for every New/Offline partition of topics not being deleted.
    pub(super) async fn trigger_online_partition_state_change(&mut self) -> ZkResult<()> {
        let candidates: Vec<TopicPartition> = self
            .ctx
            .partition_states
            .iter()
            .filter(|(tp, s)| {
                matches!(s, PartitionStateKind::New | PartitionStateKind::Offline)
                    && !self.ctx.is_being_deleted(&tp.topic)
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let mut batch = RequestBatch::default();
        self.machines(&mut batch)
            .partitions_online(&candidates, &Strategy::OfflinePartition)
            .await?;
        self.send(batch);
        Ok(())
    }

    /// `BrokerChange`: new, dead and bounced brokers (controller-behaviour.md §7.1).
    pub async fn on_broker_change(&mut self) -> ZkResult<()> {
        let current = self.watch_and_read_brokers().await?;
        let diff = diff_brokers(&self.ctx.live_brokers, &current);
        if diff == Default::default() {
            return Ok(());
        }
        crate::narrate!(info, "kafka.controller.KafkaController", EventKind::BrokerChange, Subject::NONE,
            "[Controller id={}] Newly added brokers: {}, deleted brokers: {}, bounced brokers: {}, all live brokers: {}",
            self.id, join_ids(&diff.new), join_ids(&diff.dead), join_ids(&diff.bounced),
            join_ids(&current.keys().copied().collect::<Vec<_>>()));
        for id in diff.dead.iter().chain(&diff.bounced) {
            self.channels.remove_broker(*id);
            self.ctx.live_brokers.remove(id);
            self.ctx.shutting_down.remove(id);
        }
        let failed: Vec<i32> = diff.dead.iter().chain(&diff.bounced).copied().collect();
        if !failed.is_empty() {
            self.on_broker_failure(&failed).await?;
        }
        let started: Vec<i32> = diff.new.iter().chain(&diff.bounced).copied().collect();
        for id in &started {
            let entry = current[id].clone();
            self.channels.add_broker(&entry.0);
            self.ctx.live_brokers.insert(*id, entry);
        }
        if !started.is_empty() {
            self.on_broker_startup(&started).await?;
        }
        Ok(())
    }

    /// `onBrokerStartup`: everyone learns the new brokers, the new brokers learn every
    /// partition, their replicas come online, offline partitions get leaders again.
    async fn on_broker_startup(&mut self, new: &[i32]) -> ZkResult<()> {
        for id in new {
            self.ctx.replicas_on_offline_dirs.remove(id);
        }
        let mut batch = RequestBatch::default();
        let existing: Vec<i32> = self
            .ctx
            .live_broker_ids()
            .into_iter()
            .filter(|b| !new.contains(b))
            .collect();
        batch.add_update_metadata(&existing, []);
        let with_leaders: Vec<TopicPartition> = self.ctx.leadership.keys().cloned().collect();
        batch.add_update_metadata(new, with_leaders);
        let replicas = self.ctx.replicas_on_brokers(new);
        self.machines(&mut batch)
            .replicas_to(&replicas, ReplicaState::Online)
            .await?;
        self.send(batch);
        self.trigger_online_partition_state_change().await?;
        self.resume_reassignments_on(new).await?;
        self.resume_deletions().await
    }

    /// `onBrokerFailure`: partitions led by the dead go offline and get new leaders; the dead
    /// replicas leave the ISRs.
    async fn on_broker_failure(&mut self, dead: &[i32]) -> ZkResult<()> {
        for id in dead {
            self.ctx.replicas_on_offline_dirs.remove(id);
        }
        let replicas = self.ctx.replicas_on_brokers(dead);
        self.on_replicas_become_offline(replicas).await
    }

    /// `onReplicasBecomeOffline` (dead brokers or failed log dirs): partitions whose leader
    /// is now offline get new leaders, the replicas leave the ISRs.
    pub(super) async fn on_replicas_become_offline(
        &mut self,
        replicas: Vec<(TopicPartition, i32)>,
    ) -> ZkResult<()> {
        let leaderless: Vec<TopicPartition> = self
            .ctx
            .leadership
            .iter()
            .filter(|(tp, s)| {
                !self.ctx.is_replica_online_for(tp, s.leader)
                    && !self.ctx.is_being_deleted(&tp.topic)
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        let mut batch = RequestBatch::default();
        let mut sm = self.machines(&mut batch);
        sm.partitions_to(&leaderless, PartitionStateKind::Offline);
        self.send(batch);
        self.trigger_online_partition_state_change().await?;
        let (deleting, normal): (Vec<_>, Vec<_>) = replicas
            .into_iter()
            .partition(|(tp, _)| self.ctx.is_being_deleted(&tp.topic));
        let mut batch = RequestBatch::default();
        let mut sm = self.machines(&mut batch);
        sm.replicas_to(&normal, ReplicaState::Offline).await?;
        sm.replicas_to(&deleting, ReplicaState::DeletionIneligible)
            .await?;
        for (tp, _) in &deleting {
            self.ctx
                .topics_ineligible_for_deletion
                .insert(tp.topic.clone());
        }
        if leaderless.is_empty() {
            batch.add_update_metadata(&self.ctx.live_broker_ids(), []);
        }
        self.send(batch);
        Ok(())
    }

    async fn delete_stale_isr_notifications(&mut self) -> ZkResult<()> {
        for child in self.zk.get_children(paths::ISR_CHANGE_NOTIFICATION).await? {
            let path = format!("{}/{child}", paths::ISR_CHANGE_NOTIFICATION);
            self.zk
                .delete_fenced(self.ctx.epoch_zk_version, &path)
                .await?;
        }
        let (_, watcher) = self
            .zk
            .get_children_and_watch(paths::ISR_CHANGE_NOTIFICATION)
            .await?;
        self.rewatch("isr".into(), watcher, |_| {
            Some(ControllerEvent::IsrChangeNotification)
        });
        Ok(())
    }
}
