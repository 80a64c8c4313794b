//! Topics on the active controller: creation and partition increase (TopicChange,
//! PartitionModifications), deletion (TopicDeletionManager) and ISR change notifications.

use std::collections::BTreeSet;

use zookeeper_client::EventType;

use super::active::ActiveController;
use super::batch::RequestBatch;
use super::context::{PartitionStateKind, Reassignment, ReplicaState};
use super::event::ControllerEvent;
use super::state_machine::Strategy;
use crate::log::TopicPartition;
use crate::metrics::events::{EventKind, Subject};
use crate::zk::codec::decode_isr_change;
use crate::zk::{paths, ZkResult};

impl ActiveController {
    /// Reads every topic's assignment (data-watching each) and every partition state.
    pub(super) async fn load_topics(&mut self) -> ZkResult<()> {
        let (topics, watcher) = self.zk.get_topics_and_watch().await?;
        self.rewatch("topics".into(), watcher, |_| {
            Some(ControllerEvent::TopicChange)
        });
        for topic in topics {
            self.load_topic(&topic).await?;
        }
        Ok(())
    }

    /// Adds one topic's partitions (and leadership where a state znode exists) to the context;
    /// returns the partitions that were not known before.
    async fn load_topic(&mut self, topic: &str) -> ZkResult<Vec<TopicPartition>> {
        let Some((assignment, watcher)) = self.zk.get_topic_assignment_and_watch(topic).await?
        else {
            return Ok(vec![]);
        };
        let name = topic.to_string();
        self.rewatch(format!("topic:{topic}"), watcher, move |kind| {
            (kind == EventType::NodeDataChanged)
                .then(|| ControllerEvent::PartitionModifications(name))
        });
        let new: Vec<(TopicPartition, Vec<i32>)> = assignment
            .partitions
            .into_iter()
            .map(|(p, replicas)| (TopicPartition::new(topic, p), replicas))
            .filter(|(tp, _)| !self.ctx.assignments.contains_key(tp))
            .collect();
        // One pipelined read for all of them: a failover reads every partition of the cluster.
        let tps: Vec<TopicPartition> = new.iter().map(|(tp, _)| tp.clone()).collect();
        let states = self.zk.get_partition_states(&tps).await?;
        for (p, adding) in &assignment.adding_replicas {
            let tp = TopicPartition::new(topic, *p);
            let removing = assignment
                .removing_replicas
                .get(p)
                .cloned()
                .unwrap_or_default();
            let r = Reassignment {
                adding: adding.clone(),
                removing,
            };
            self.ctx.reassignments.entry(tp).or_insert(r);
        }
        for (p, removing) in &assignment.removing_replicas {
            let r = Reassignment {
                adding: vec![],
                removing: removing.clone(),
            };
            self.ctx
                .reassignments
                .entry(TopicPartition::new(topic, *p))
                .or_insert(r);
        }
        for ((tp, replicas), state) in new.into_iter().zip(states) {
            if let Some(state) = state {
                self.ctx.leadership.insert(tp.clone(), state);
            }
            self.ctx.assignments.insert(tp, replicas);
        }
        Ok(tps)
    }

    /// `TopicChange`: new topics get their partitions created; vanished ones are forgotten.
    pub async fn on_topic_change(&mut self) -> ZkResult<()> {
        let (topics, watcher) = self.zk.get_topics_and_watch().await?;
        self.rewatch("topics".into(), watcher, |_| {
            Some(ControllerEvent::TopicChange)
        });
        let current: BTreeSet<String> = topics.into_iter().collect();
        let known = self.ctx.all_topics();
        for gone in known.difference(&current) {
            self.ctx.remove_topic(gone);
            if let Some(w) = self.watches.remove(&format!("topic:{gone}")) {
                w.abort();
            }
        }
        let mut new_partitions = Vec::new();
        for topic in current.difference(&known) {
            new_partitions.extend(self.load_topic(topic).await?);
        }
        if !new_partitions.is_empty() {
            let names: BTreeSet<&str> = new_partitions.iter().map(|tp| tp.topic.as_str()).collect();
            crate::narrate!(
                info,
                "kafka.controller.KafkaController",
                EventKind::TopicChange,
                Subject::NONE,
                "[Controller id={}] New topics: [{}], {} new partitions",
                self.id,
                names.into_iter().collect::<Vec<_>>().join(","),
                new_partitions.len()
            );
            self.on_new_partition_creation(&new_partitions).await?;
        }
        Ok(())
    }

    /// `PartitionModifications`: partitions added to an existing topic.
    pub async fn on_partition_modifications(&mut self, topic: &str) -> ZkResult<()> {
        if self.ctx.is_being_deleted(topic) {
            tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Ignoring partition change for {topic}: it is being deleted", self.id);
            return Ok(());
        }
        let added = self.load_topic(topic).await?;
        if !added.is_empty() {
            tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] New partitions of {topic}: {:?}", self.id, added.iter().map(|tp| tp.partition).collect::<Vec<_>>());
            self.on_new_partition_creation(&added).await?;
        }
        Ok(())
    }

    /// `onNewPartitionCreation`: New → Online with LeaderAndIsr(isNew) to the ISR.
    async fn on_new_partition_creation(&mut self, partitions: &[TopicPartition]) -> ZkResult<()> {
        let replicas: Vec<(TopicPartition, i32)> = partitions
            .iter()
            .flat_map(|tp| self.ctx.replicas(tp).iter().map(move |r| (tp.clone(), *r)))
            .collect();
        let mut batch = RequestBatch::default();
        let mut sm = self.machines(&mut batch);
        sm.partitions_to(partitions, PartitionStateKind::New);
        sm.replicas_to(&replicas, ReplicaState::New).await?;
        sm.partitions_online(partitions, &Strategy::OfflinePartition)
            .await?;
        sm.replicas_to(&replicas, ReplicaState::Online).await?;
        self.send(batch);
        Ok(())
    }

    pub(super) async fn watch_delete_topics_and_resume(&mut self) -> ZkResult<()> {
        self.on_topic_deletion().await
    }

    /// `TopicDeletion`: queue the requested topics (or drop the requests when deletion is
    /// disabled or the topic does not exist), then make progress.
    pub async fn on_topic_deletion(&mut self) -> ZkResult<()> {
        let (requested, watcher) = self.zk.get_children_and_watch(paths::DELETE_TOPICS).await?;
        self.rewatch("delete_topics".into(), watcher, |_| {
            Some(ControllerEvent::TopicDeletion)
        });
        let known = self.ctx.all_topics();
        let enabled = self.config.boolean("delete.topic.enable");
        for topic in requested {
            if !known.contains(&topic) || !enabled {
                let why = if enabled {
                    "it does not exist"
                } else {
                    "delete.topic.enable is false"
                };
                tracing::info!(target: "kafka.controller.TopicDeletionManager", "[Topic Deletion Manager {}] Removing deletion request for {topic}: {why}", self.id);
                let path = format!("{}/{topic}", paths::DELETE_TOPICS);
                self.zk
                    .delete_fenced(self.ctx.epoch_zk_version, &path)
                    .await?;
            } else if self.ctx.topics_to_delete.insert(topic.clone()) {
                tracing::info!(target: "kafka.controller.TopicDeletionManager", "[Topic Deletion Manager {}] Queued {topic} for deletion", self.id);
            }
        }
        self.resume_deletions().await
    }

    /// `resumeDeletions`: complete, retry or start the deletion of every queued topic.
    pub(super) async fn resume_deletions(&mut self) -> ZkResult<()> {
        let queued: Vec<String> = self.ctx.topics_to_delete.iter().cloned().collect();
        for topic in queued {
            let replicas = self.topic_replicas(&topic);
            let state = |r: &(TopicPartition, i32)| self.ctx.replica_states.get(r).copied();
            if replicas
                .iter()
                .all(|r| state(r) == Some(ReplicaState::DeletionSuccessful))
            {
                self.complete_deletion(&topic).await?;
            } else if replicas
                .iter()
                .any(|r| state(r) == Some(ReplicaState::DeletionStarted))
            {
                continue; // waiting for StopReplica responses
            } else if self.ctx.topics_ineligible_for_deletion.contains(&topic) {
                let ineligible: Vec<_> = replicas
                    .into_iter()
                    .filter(|r| state(r) == Some(ReplicaState::DeletionIneligible))
                    .collect();
                self.retry_ineligible(&topic, ineligible).await?;
            } else {
                self.start_deletion(&topic).await?;
            }
        }
        Ok(())
    }

    fn topic_replicas(&self, topic: &str) -> Vec<(TopicPartition, i32)> {
        self.ctx
            .partitions_of(topic)
            .into_iter()
            .flat_map(|tp| {
                self.ctx
                    .replicas(&tp)
                    .iter()
                    .map(move |r| (tp.clone(), *r))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Ineligible replicas whose brokers are back are retried; others keep waiting.
    async fn retry_ineligible(
        &mut self,
        topic: &str,
        replicas: Vec<(TopicPartition, i32)>,
    ) -> ZkResult<()> {
        let live: Vec<_> = replicas
            .into_iter()
            .filter(|(tp, b)| self.ctx.is_replica_online_for(tp, *b))
            .collect();
        if live.is_empty() {
            return Ok(());
        }
        self.ctx.topics_ineligible_for_deletion.remove(topic);
        let mut batch = RequestBatch::default();
        self.machines(&mut batch)
            .replicas_to(&live, ReplicaState::Offline)
            .await?;
        self.send(batch);
        self.start_deletion(topic).await
    }

    /// `onTopicDeletion`: brokers drop the topic from metadata (leader -2), live replicas are
    /// stopped and deleted; replicas on dead brokers make the topic ineligible for now.
    async fn start_deletion(&mut self, topic: &str) -> ZkResult<()> {
        let partitions = self.ctx.partitions_of(topic);
        let mut batch = RequestBatch::default();
        if self.ctx.topics_deletion_started.insert(topic.to_string()) {
            tracing::info!(target: "kafka.controller.TopicDeletionManager", "[Topic Deletion Manager {}] Deleting topic {topic}", self.id);
            let mut sm = self.machines(&mut batch);
            sm.partitions_to(&partitions, PartitionStateKind::Offline);
            sm.partitions_to(&partitions, PartitionStateKind::NonExistent);
        }
        batch.add_update_metadata(&self.ctx.live_broker_ids(), partitions.iter().cloned());
        let (live, dead): (Vec<_>, Vec<_>) = self
            .topic_replicas(topic)
            .into_iter()
            .filter(|r| self.ctx.replica_states.get(r) != Some(&ReplicaState::DeletionSuccessful))
            .partition(|(tp, b)| self.ctx.is_replica_online_for(tp, *b));
        if !dead.is_empty() {
            self.ctx
                .topics_ineligible_for_deletion
                .insert(topic.to_string());
        }
        let mut sm = self.machines(&mut batch);
        sm.replicas_to(&dead, ReplicaState::DeletionIneligible)
            .await?;
        sm.replicas_to(&live, ReplicaState::Offline).await?;
        sm.replicas_to(&live, ReplicaState::DeletionStarted).await?;
        self.send(batch);
        Ok(())
    }

    /// Every replica deleted: remove the topic's znodes, the admin request last.
    async fn complete_deletion(&mut self, topic: &str) -> ZkResult<()> {
        let partitions: Vec<i32> = self
            .ctx
            .partitions_of(topic)
            .iter()
            .map(|tp| tp.partition)
            .collect();
        if let Some(w) = self.watches.remove(&format!("topic:{topic}")) {
            w.abort();
        }
        self.zk
            .delete_topic_znodes(self.ctx.epoch_zk_version, topic, &partitions)
            .await?;
        self.ctx.remove_topic(topic);
        crate::narrate!(
            info,
            "kafka.controller.TopicDeletionManager",
            EventKind::TopicDeleted,
            Subject::topic(topic),
            "[Topic Deletion Manager {}] Deletion of topic {topic} successfully completed",
            self.id
        );
        Ok(())
    }

    /// StopReplica answers: deletions succeed or make the topic ineligible, then progress.
    pub async fn on_stop_replica_response(
        &mut self,
        broker: i32,
        error_code: i16,
        errors: &[(TopicPartition, i16)],
    ) -> ZkResult<()> {
        let mut changed = false;
        for (tp, code) in errors {
            let key = (tp.clone(), broker);
            if self.ctx.replica_states.get(&key) != Some(&ReplicaState::DeletionStarted) {
                continue;
            }
            let ok = error_code == 0 && *code == 0;
            let next = if ok {
                ReplicaState::DeletionSuccessful
            } else {
                ReplicaState::DeletionIneligible
            };
            if !ok {
                tracing::warn!(target: "kafka.controller.TopicDeletionManager", "[Topic Deletion Manager {}] Replica {broker} of {tp} failed to delete ({}); deletion of {} paused", self.id, crate::server::errors::name(*code), tp.topic);
                self.ctx
                    .topics_ineligible_for_deletion
                    .insert(tp.topic.clone());
            }
            self.ctx.replica_states.insert(key, next);
            changed = true;
        }
        if changed {
            self.resume_deletions().await?;
        }
        Ok(())
    }

    /// `IsrChangeNotification`: re-read the listed partitions' states, UpdateMetadata them to
    /// every broker, and delete the processed notifications.
    pub async fn on_isr_change_notification(&mut self) -> ZkResult<()> {
        let (children, watcher) = self
            .zk
            .get_children_and_watch(paths::ISR_CHANGE_NOTIFICATION)
            .await?;
        self.rewatch("isr".into(), watcher, |_| {
            Some(ControllerEvent::IsrChangeNotification)
        });
        let mut changed = BTreeSet::new();
        for child in &children {
            let path = format!("{}/{child}", paths::ISR_CHANGE_NOTIFICATION);
            if let Some((data, _)) = self.zk.get_data(&path).await? {
                match decode_isr_change(&path, &data) {
                    Ok(list) => {
                        changed.extend(list.into_iter().map(|(t, p)| TopicPartition::new(t, p)))
                    }
                    Err(e) => {
                        tracing::warn!(target: "kafka.controller.KafkaController", "{e}; ignoring it")
                    }
                }
            }
        }
        let changed: Vec<TopicPartition> = changed
            .into_iter()
            .filter(|tp| self.ctx.assignments.contains_key(tp))
            .collect();
        let states = self.zk.get_partition_states(&changed).await?;
        let mut refreshed = Vec::new();
        for (tp, state) in changed.into_iter().zip(states) {
            if let Some(state) = state {
                tracing::info!(target: "state.change.logger", "[Controller id={}] ISR of {tp} is now {:?} (leader {}, leader epoch {}), as written by the leader", self.id, state.isr, state.leader, state.leader_epoch);
                self.ctx.leadership.insert(tp.clone(), state);
                refreshed.push(tp);
            }
        }
        if !refreshed.is_empty() {
            let mut batch = RequestBatch::default();
            batch.add_update_metadata(&self.ctx.live_broker_ids(), refreshed);
            self.send(batch);
            self.maybe_complete_reassignments().await?;
        }
        for child in children {
            let path = format!("{}/{child}", paths::ISR_CHANGE_NOTIFICATION);
            self.zk
                .delete_fenced(self.ctx.epoch_zk_version, &path)
                .await?;
        }
        Ok(())
    }
}
