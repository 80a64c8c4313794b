//! Topic and partition znode operations (KafkaZkClient.scala's topic half).

use zookeeper_client as zkc;
use zookeeper_client::{EventType, OneshotWatcher};

use super::client::{FencedOp, KafkaZkClient, ZkError, ZkResult};
use super::codec::{self, PartitionState, TopicAssignment};
use super::paths;
use crate::log::TopicPartition;

/// The outcome of a conditional partition-state write.
#[derive(Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Written; the znode's new zkVersion.
    Updated(i32),
    /// Someone else wrote first (BADVERSION): re-read and decide again.
    VersionConflict,
}

impl KafkaZkClient {
    /// Topic names under `/brokers/topics`, with a child watch when `watch` is set.
    pub async fn get_topics_and_watch(&self) -> ZkResult<(Vec<String>, OneshotWatcher)> {
        let client = self.client().await?;
        let (mut topics, watcher) = self
            .in_flight(|| client.list_and_watch_children(paths::BROKER_TOPICS))
            .await
            .map_err(|e| ZkError::op(paths::BROKER_TOPICS, e))?;
        topics.sort();
        Ok((topics, watcher))
    }

    /// A topic's assignment with a data watch (fires on partition additions and deletion).
    pub async fn get_topic_assignment_and_watch(
        &self,
        topic: &str,
    ) -> ZkResult<Option<(TopicAssignment, OneshotWatcher)>> {
        let path = paths::topic(topic);
        let client = self.client().await?;
        match self.in_flight(|| client.get_and_watch_data(&path)).await {
            Ok((data, _, watcher)) => Ok(Some((TopicAssignment::decode(&path, &data)?, watcher))),
            Err(zkc::Error::NoNode) => Ok(None),
            Err(e) => Err(ZkError::op(&path, e)),
        }
    }

    pub async fn get_topic_assignment(&self, topic: &str) -> ZkResult<Option<TopicAssignment>> {
        let path = paths::topic(topic);
        match self.get_data(&path).await? {
            Some((data, _)) => Ok(Some(TopicAssignment::decode(&path, &data)?)),
            None => Ok(None),
        }
    }

    pub async fn get_partition_state(
        &self,
        tp: &TopicPartition,
    ) -> ZkResult<Option<PartitionState>> {
        let path = paths::partition_state(&tp.topic, tp.partition);
        match self.get_data(&path).await? {
            Some((data, stat)) => Ok(Some(PartitionState::decode(&path, &data, stat.version)?)),
            None => Ok(None),
        }
    }

    /// Many partition states at once: the reads are pipelined on the session (Kafka's
    /// getTopicPartitionStatesRaw), one round trip for all instead of one per partition.
    pub async fn get_partition_states(
        &self,
        tps: &[TopicPartition],
    ) -> ZkResult<Vec<Option<PartitionState>>> {
        futures::future::join_all(tps.iter().map(|tp| self.get_partition_state(tp)))
            .await
            .into_iter()
            .collect()
    }

    /// Many conditional, controller-fenced partition-state writes at once, pipelined (Kafka's
    /// updateLeaderAndIsr): one outcome per state, in order.
    pub async fn update_partition_states(
        &self,
        epoch_zk_version: i32,
        states: &[(TopicPartition, PartitionState)],
    ) -> Vec<ZkResult<UpdateOutcome>> {
        futures::future::join_all(
            states
                .iter()
                .map(|(tp, s)| self.update_partition_state(Some(epoch_zk_version), tp, s)),
        )
        .await
    }

    /// Creates `partitions`, `partitions/<p>` and `partitions/<p>/state`, each fenced by the
    /// controller epoch, as the controller does when a partition first gets a leader.
    pub async fn create_partition_state(
        &self,
        epoch_zk_version: i32,
        tp: &TopicPartition,
        state: &PartitionState,
    ) -> ZkResult<()> {
        let base = format!("{}/partitions", paths::topic(&tp.topic));
        for parent in [base.clone(), format!("{base}/{}", tp.partition)] {
            let op = FencedOp::Create {
                path: parent,
                data: vec![],
            };
            match self.fenced_multi(epoch_zk_version, &[op]).await {
                Ok(()) => {}
                Err(e) if e.is(zkc::Error::NodeExists) => {}
                Err(e) => return Err(e),
            }
        }
        let path = paths::partition_state(&tp.topic, tp.partition);
        let op = FencedOp::Create {
            path,
            data: state.encode().into_bytes(),
        };
        self.fenced_multi(epoch_zk_version, &[op]).await
    }

    /// Conditional setData of a partition state on `state.zk_version`, fenced when
    /// `epoch_zk_version` is given (controller) and unfenced otherwise (partition leader).
    pub async fn update_partition_state(
        &self,
        epoch_zk_version: Option<i32>,
        tp: &TopicPartition,
        state: &PartitionState,
    ) -> ZkResult<UpdateOutcome> {
        let path = paths::partition_state(&tp.topic, tp.partition);
        let data = state.encode().into_bytes();
        let result = match epoch_zk_version {
            Some(v) => {
                let op = FencedOp::SetData {
                    path: path.clone(),
                    data,
                    version: Some(state.zk_version),
                };
                self.fenced_multi(v, &[op]).await
            }
            None => {
                let client = self.client().await?;
                let set = self
                    .in_flight(|| client.set_data(&path, &data, Some(state.zk_version)))
                    .await;
                set.map(|_| ()).map_err(|e| ZkError::op(&path, e))
            }
        };
        match result {
            Ok(()) => Ok(UpdateOutcome::Updated(state.zk_version + 1)),
            Err(e) if e.is(zkc::Error::BadVersion) => Ok(UpdateOutcome::VersionConflict),
            Err(e) => Err(e),
        }
    }

    /// Several partition leaders' conditional ISR writes (unfenced) in one multi: one
    /// ZooKeeper transaction, applied whole or not at all. Returns the new zkVersions in
    /// order; any failure (a zkVersion conflict included) means nothing was written.
    pub async fn update_partition_states_in_one_multi(
        &self,
        states: &[(TopicPartition, PartitionState)],
    ) -> ZkResult<Vec<i32>> {
        let client = self.client().await?;
        let mut multi = client.new_multi_writer();
        for (tp, state) in states {
            let path = paths::partition_state(&tp.topic, tp.partition);
            let data = state.encode().into_bytes();
            multi
                .add_set_data(&path, &data, Some(state.zk_version))
                .map_err(|e| ZkError::op(&path, e))?;
        }
        match self.in_flight(|| multi.commit()).await {
            Ok(_) => Ok(states.iter().map(|(_, s)| s.zk_version + 1).collect()),
            Err(zkc::MultiWriteError::OperationFailed { index, source }) => {
                let (tp, _) = &states[index.min(states.len().saturating_sub(1))];
                Err(ZkError::op(
                    &paths::partition_state(&tp.topic, tp.partition),
                    source,
                ))
            }
            Err(e) => Err(ZkError::op(paths::BROKER_TOPICS, zkc::Error::from(e))),
        }
    }

    /// Removes a deleted topic's znodes in Kafka's order: partition states and partitions,
    /// the topic, its config, and last the `/admin/delete_topics` request.
    pub async fn delete_topic_znodes(
        &self,
        epoch_zk_version: i32,
        topic: &str,
        partitions: &[i32],
    ) -> ZkResult<()> {
        let base = paths::topic(topic);
        let mut order = Vec::new();
        for p in partitions {
            order.push(format!("{base}/partitions/{p}/state"));
            order.push(format!("{base}/partitions/{p}"));
        }
        order.push(format!("{base}/partitions"));
        order.push(base);
        order.push(format!("{}/{topic}", paths::CONFIG_TOPICS));
        order.push(format!("{}/{topic}", paths::DELETE_TOPICS));
        for path in order {
            let op = FencedOp::Delete {
                path,
                version: None,
            };
            match self.fenced_multi(epoch_zk_version, &[op]).await {
                Ok(()) => {}
                Err(e) if e.is(zkc::Error::NoNode) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Children of a notification path (sorted), with a child watch.
    pub async fn get_children_and_watch(
        &self,
        path: &str,
    ) -> ZkResult<(Vec<String>, OneshotWatcher)> {
        let client = self.client().await?;
        let (mut children, watcher) = self
            .in_flight(|| client.list_and_watch_children(path))
            .await
            .map_err(|e| ZkError::op(path, e))?;
        children.sort();
        Ok((children, watcher))
    }

    /// Deletes a processed notification or request znode, fenced by the controller epoch.
    pub async fn delete_fenced(&self, epoch_zk_version: i32, path: &str) -> ZkResult<()> {
        let op = FencedOp::Delete {
            path: path.to_string(),
            version: None,
        };
        match self.fenced_multi(epoch_zk_version, &[op]).await {
            Err(e) if e.is(zkc::Error::NoNode) => Ok(()),
            other => other,
        }
    }

    /// A topic's config overrides from `/config/topics/<t>` (empty when absent).
    pub async fn get_topic_config(
        &self,
        topic: &str,
    ) -> ZkResult<std::collections::BTreeMap<String, String>> {
        self.get_entity_config(&format!("topics/{topic}")).await
    }

    /// An entity's configs from `/config/<entity path>` (empty when absent), e.g.
    /// `brokers/1`, `brokers/<default>`, `users/alice/clients/app`.
    pub async fn get_entity_config(
        &self,
        entity_path: &str,
    ) -> ZkResult<std::collections::BTreeMap<String, String>> {
        let path = paths::entity_config(entity_path);
        match self.get_data(&path).await? {
            Some((data, _)) => Ok(codec::decode_entity_config(&path, &data)?),
            None => Ok(Default::default()),
        }
    }
}

/// Spawns a task that turns a one-shot watch into an event (ignoring session events).
pub fn on_watch<E: Send + 'static>(
    watcher: OneshotWatcher,
    events: tokio::sync::mpsc::UnboundedSender<E>,
    make: impl FnOnce(EventType) -> Option<E> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let fired = watcher.changed().await;
        if fired.event_type == EventType::Session {
            return;
        }
        if let Some(e) = make(fired.event_type) {
            let _ = events.send(e);
        }
    })
}
