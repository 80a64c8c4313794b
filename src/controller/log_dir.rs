//! Log dir failures on the controller side (KafkaController.processLogDirEventNotification,
//! onBrokerLogDirFailure, processLeaderAndIsrResponseReceived): a broker's
//! `/log_dir_event_notification` makes the controller send LeaderAndIsr for every replica on
//! that broker; replicas answering KAFKA_STORAGE_ERROR are on a failed dir and go offline
//! (new leaders from the rest of the ISR, ISR shrunk), a later NONE brings them back.

use std::collections::BTreeSet;

use super::active::{join_ids, ActiveController};
use super::batch::RequestBatch;
use super::context::ReplicaState;
use super::event::ControllerEvent;
use crate::log::TopicPartition;
use crate::server::errors;
use crate::zk::codec::decode_log_dir_event;
use crate::zk::{paths, ZkResult};

impl ActiveController {
    /// At failover: watch `/log_dir_event_notification` and drop its children; the
    /// LeaderAndIsr sent to every replica at start-up finds failed dirs anyway.
    pub(super) async fn delete_stale_log_dir_notifications(&mut self) -> ZkResult<()> {
        let children = self.watch_log_dir_notifications().await?;
        self.delete_log_dir_notifications(&children).await
    }

    async fn watch_log_dir_notifications(&mut self) -> ZkResult<Vec<String>> {
        let (children, watcher) = self
            .zk
            .get_children_and_watch(paths::LOG_DIR_EVENT_NOTIFICATION)
            .await?;
        self.rewatch("log_dir".into(), watcher, |_| {
            Some(ControllerEvent::LogDirEventNotification)
        });
        Ok(children)
    }

    async fn delete_log_dir_notifications(&self, children: &[String]) -> ZkResult<()> {
        for child in children {
            let path = format!("{}/{child}", paths::LOG_DIR_EVENT_NOTIFICATION);
            self.zk
                .delete_fenced(self.ctx.epoch_zk_version, &path)
                .await?;
        }
        Ok(())
    }

    /// `LogDirEventNotification`: LeaderAndIsr to every replica of the notifying brokers,
    /// then delete the processed notifications.
    pub async fn on_log_dir_event_notification(&mut self) -> ZkResult<()> {
        let children = self.watch_log_dir_notifications().await?;
        let mut brokers = BTreeSet::new();
        for child in &children {
            let path = format!("{}/{child}", paths::LOG_DIR_EVENT_NOTIFICATION);
            if let Some((data, _)) = self.zk.get_data(&path).await? {
                match decode_log_dir_event(&path, &data) {
                    Ok(id) => {
                        brokers.insert(id);
                    }
                    Err(e) => {
                        tracing::warn!(target: "kafka.controller.KafkaController", "{e}; ignoring it")
                    }
                }
            }
        }
        let brokers: Vec<i32> = brokers.into_iter().collect();
        if !brokers.is_empty() {
            self.on_broker_log_dir_failure(&brokers).await?;
        }
        self.delete_log_dir_notifications(&children).await
    }

    /// `onBrokerLogDirFailure`: asks the brokers about all their replicas; the answers tell
    /// which are on failed dirs.
    async fn on_broker_log_dir_failure(&mut self, brokers: &[i32]) -> ZkResult<()> {
        tracing::info!(target: "kafka.controller.KafkaController",
            "[Controller id={}] Handling log directory failure for brokers {}", self.id, join_ids(brokers));
        let replicas = self.ctx.replicas_on_brokers(brokers);
        let mut batch = RequestBatch::default();
        self.machines(&mut batch)
            .replicas_to(&replicas, ReplicaState::Online)
            .await?;
        self.send(batch);
        Ok(())
    }

    /// `LeaderAndIsrResponseReceived`: KAFKA_STORAGE_ERROR marks a replica as on an offline
    /// dir, NONE clears the mark; newly offline replicas go through onReplicasBecomeOffline.
    pub async fn on_leader_and_isr_response(
        &mut self,
        broker: i32,
        error_code: i16,
        partition_errors: &[(TopicPartition, i16)],
    ) -> ZkResult<()> {
        if error_code != errors::NONE {
            tracing::error!(target: "state.change.logger", "[Controller id={}] LeaderAndIsr to broker {broker} failed with {}", self.id, crate::server::errors::name(error_code));
            return Ok(());
        }
        for (tp, code) in partition_errors.iter().filter(|(_, c)| *c != errors::NONE) {
            tracing::warn!(target: "state.change.logger", "[Controller id={}] Broker {broker} answered LeaderAndIsr for {tp} with {}", self.id, crate::server::errors::name(*code));
        }
        if !self.ctx.is_replica_online(broker) {
            return Ok(());
        }
        let marks = self.ctx.replicas_on_offline_dirs.entry(broker).or_default();
        let mut newly_offline = Vec::new();
        for (tp, code) in partition_errors {
            if *code == errors::KAFKA_STORAGE_ERROR && marks.insert(tp.clone()) {
                newly_offline.push((tp.clone(), broker));
            } else if *code == errors::NONE {
                marks.remove(tp);
            }
        }
        if newly_offline.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = newly_offline.iter().map(|(tp, _)| tp.to_string()).collect();
        tracing::info!(target: "state.change.logger",
            "[Controller id={}] Mark replicas {} on broker {broker} as offline", self.id, names.join(","));
        self.on_replicas_become_offline(newly_offline).await
    }
}
