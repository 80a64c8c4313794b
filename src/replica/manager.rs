//! `ReplicaManager` (server/ReplicaManager.scala): the partitions this broker hosts, how they
//! become leaders or followers on the controller's word, and the high-watermark checkpoint.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use kafka_protocol::messages::StopReplicaRequest;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use super::fetcher::ReplicaFetcherManager;
use super::isr::{ExpiryCandidates, IsrProposal};
use super::partition::Partition;
use super::purgatory::Purgatory;
use crate::config::dynamic::DynamicBrokerConfig;
use crate::config::KafkaConfig;
use crate::log::{LogConfig, LogManager, TopicPartition};
use crate::quota::{QuotaWindow, ReplicationQuotas};
use crate::server::apis::BrokerState;
use crate::server::errors;
use crate::zk::KafkaZkClient;

/// Leader epoch values in StopReplica that bypass the epoch check.
const EPOCH_DURING_DELETE: i32 = -2;
const NO_EPOCH: i32 = -1;

pub struct ReplicaManager {
    pub config: Arc<KafkaConfig>,
    /// server.properties plus `/config/brokers/<id>` and `<default>`: the live values of the
    /// dynamic broker configs (log defaults, replication throttle rates, ...).
    pub dynamic_config: Arc<DynamicBrokerConfig>,
    pub state: Arc<BrokerState>,
    pub log_manager: Arc<LogManager>,
    pub zk: KafkaZkClient,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Partitions whose log dir failed (Kafka's HostedPartition.Offline): every request for
    /// them is answered KAFKA_STORAGE_ERROR until the broker restarts.
    pub(super) offline_partitions: RwLock<HashSet<TopicPartition>>,
    /// acks=all produce requests waiting for the high watermark.
    pub produce_purgatory: Purgatory,
    /// Long-poll fetches waiting for data.
    pub fetch_purgatory: Purgatory,
    /// DeleteRecords requests waiting for followers to move their log start offsets.
    pub delete_records_purgatory: Purgatory,
    /// Follower side: fetchers pulling from the leaders of partitions we follow.
    pub fetcher_manager: ReplicaFetcherManager,
    /// Replication throttles: the leader side applies to followers' fetches served here, the
    /// follower side to our fetchers (QuotaManagers.leader / follower).
    pub replication_quotas: Arc<ReplicationQuotas>,
    /// ISR changes decided by partitions we lead, for the ISR writer task.
    isr_tx: UnboundedSender<IsrProposal>,
    isr_rx: Mutex<Option<UnboundedReceiver<IsrProposal>>>,
    /// Partitions the isr-expiration task looks at (those that may have a lagging follower).
    pub expiry_candidates: Arc<ExpiryCandidates>,
    pub(super) leadership_listener: OnceLock<LeadershipListener>,
    /// Kafka's replicaStateChangeLock: one LeaderAndIsr or StopReplica at a time, so a request
    /// the controller re-sent on a new connection waits for the first instead of racing it.
    pub(super) state_change_lock: tokio::sync::Mutex<()>,
    /// Wakes the task copying replicas into their future logs (alter_log_dirs.rs).
    pub(super) alter_log_dirs_wakeup: tokio::sync::Notify,
}

/// Told which partitions this broker now leads (`true`) or no longer leads (`false`) after
/// a LeaderAndIsr or a deleting StopReplica (Kafka's onLeadershipChange callback, which the
/// group coordinator uses to load and unload `__consumer_offsets` partitions).
pub type LeadershipListener = Box<dyn Fn(&[(TopicPartition, bool)]) + Send + Sync>;

impl ReplicaManager {
    pub fn new(
        config: Arc<KafkaConfig>,
        state: Arc<BrokerState>,
        log_manager: Arc<LogManager>,
        zk: KafkaZkClient,
        dynamic_config: Arc<DynamicBrokerConfig>,
    ) -> Arc<ReplicaManager> {
        let (isr_tx, isr_rx) = mpsc::unbounded_channel();
        let replication_quotas = Arc::new(ReplicationQuotas::new(QuotaWindow::new(
            config.int("replication.quota.window.num") as i64,
            config.int("replication.quota.window.size.seconds") as i64,
        )));
        let manager = Arc::new(ReplicaManager {
            fetcher_manager: ReplicaFetcherManager::new(&config, replication_quotas.clone()),
            replication_quotas,
            isr_tx,
            isr_rx: Mutex::new(Some(isr_rx)),
            expiry_candidates: Arc::default(),
            config,
            dynamic_config,
            state,
            log_manager,
            zk,
            partitions: RwLock::new(HashMap::new()),
            offline_partitions: RwLock::new(HashSet::new()),
            produce_purgatory: Purgatory::new("Produce"),
            fetch_purgatory: Purgatory::new("Fetch"),
            delete_records_purgatory: Purgatory::new("DeleteRecords"),
            leadership_listener: OnceLock::new(),
            state_change_lock: tokio::sync::Mutex::new(()),
            alter_log_dirs_wakeup: tokio::sync::Notify::new(),
        });
        manager.apply_replication_throttled_rates();
        manager
    }

    /// BrokerConfigHandler: the leader and follower throttle rates from this broker's
    /// dynamic config (unset = unthrottled), applied live.
    pub fn apply_replication_throttled_rates(&self) {
        let d = &self.dynamic_config;
        let q = &self.replication_quotas;
        q.leader.update_quota(d.leader_replication_throttled_rate());
        q.follower
            .update_quota(d.follower_replication_throttled_rate());
    }

    /// TopicConfigHandler: this broker's throttled replicas of `topic` from its config.
    pub fn apply_replication_throttled_replicas(&self, topic: &str, config: &LogConfig) {
        let q = &self.replication_quotas;
        let id = self.broker_id();
        q.leader
            .update_topic(topic, &config.leader_replication_throttled_replicas, id);
        q.follower
            .update_topic(topic, &config.follower_replication_throttled_replicas, id);
    }

    pub fn broker_id(&self) -> i32 {
        self.state.broker_id
    }

    pub fn get_partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions
            .read()
            .expect("partitions lock")
            .get(tp)
            .cloned()
    }

    pub(super) fn partitions_mut(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<TopicPartition, Arc<Partition>>> {
        self.partitions.write().expect("partitions lock")
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .expect("partitions lock")
            .values()
            .cloned()
            .collect()
    }

    /// The partition if this broker leads it, else the error a client should get.
    pub fn leader_partition(&self, tp: &TopicPartition) -> Result<Arc<Partition>, i16> {
        match self.get_partition(tp) {
            Some(p) if p.is_leader() => Ok(p),
            Some(_) => Err(errors::NOT_LEADER_OR_FOLLOWER),
            None if self.is_partition_offline(tp) => Err(errors::KAFKA_STORAGE_ERROR),
            None => Err(errors::UNKNOWN_TOPIC_OR_PARTITION),
        }
    }

    /// Wakes waiting produce, fetch and DeleteRecords requests after `tp` changed.
    pub fn complete_delayed_requests(&self, tp: &TopicPartition) {
        self.produce_purgatory.check_and_complete(tp);
        self.fetch_purgatory.check_and_complete(tp);
        self.delete_records_purgatory.check_and_complete(tp);
    }

    /// Tells the listener of leadership gained (`true`) or lost (`false`) outside LeaderAndIsr.
    pub(super) fn notify_leadership_listener(&self, changes: &[(TopicPartition, bool)]) {
        if let Some(listener) = self.leadership_listener.get() {
            listener(changes);
        }
    }

    pub(super) fn get_or_create_partition(&self, tp: &TopicPartition) -> Arc<Partition> {
        if let Some(p) = self.get_partition(tp) {
            return p;
        }
        let mut all = self.partitions.write().expect("partitions lock");
        all.entry(tp.clone())
            .or_insert_with(|| {
                Arc::new(
                    Partition::with_isr_updates(
                        tp.clone(),
                        self.broker_id(),
                        Some(self.isr_tx.clone()),
                        self.config.long("replica.lag.time.max.ms"),
                    )
                    .with_expiry_candidates(self.expiry_candidates.clone()),
                )
            })
            .clone()
    }

    /// Broker log defaults overlaid with `/config/topics/<t>`; remembered by the LogManager.
    pub async fn topic_log_config(&self, topic: &str) -> LogConfig {
        let overrides = match self.zk.get_topic_config(topic).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(target: "kafka.server.ReplicaManager", "cannot read /config/topics/{topic}: {e}; using broker defaults");
                BTreeMap::new()
            }
        };
        let defaults = self.log_manager.config_for("");
        let config = match defaults.with_overrides(&overrides) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(target: "kafka.server.ReplicaManager", "invalid config in /config/topics/{topic}: {e}; using broker defaults");
                defaults
            }
        };
        self.log_manager.update_topic_config(topic, config.clone());
        self.apply_replication_throttled_replicas(topic, &config);
        config
    }

    /// StopReplica v3 (stopReplicas): stop serving, and delete the log when asked.
    pub async fn stop_replicas(&self, req: &StopReplicaRequest) -> Vec<(TopicPartition, i16)> {
        let _serial = self.state_change_lock.lock().await;
        let mut results = Vec::new();
        let states = req.topic_states.iter().flat_map(|t| {
            t.partition_states.iter().map(move |p| {
                (
                    TopicPartition::new(t.topic_name.0.as_str(), p.partition_index),
                    p.leader_epoch,
                    p.delete_partition,
                )
            })
        });
        let legacy = req.topics.iter().flat_map(|t| {
            t.partition_indexes.iter().map(move |p| {
                (
                    TopicPartition::new(t.name.0.as_str(), *p),
                    NO_EPOCH,
                    req.delete_partitions,
                )
            })
        });
        let ungrouped = req.ungrouped_partitions.iter().map(|p| {
            (
                TopicPartition::new(p.topic_name.0.as_str(), p.partition_index),
                NO_EPOCH,
                req.delete_partitions,
            )
        });
        for (tp, epoch, delete) in states.chain(legacy).chain(ungrouped) {
            let code = match self.get_partition(&tp) {
                None if self.is_partition_offline(&tp) => errors::KAFKA_STORAGE_ERROR,
                Some(p)
                    if epoch != EPOCH_DURING_DELETE
                        && epoch != NO_EPOCH
                        && epoch <= p.leader_epoch() =>
                {
                    errors::FENCED_LEADER_EPOCH
                }
                _ => self.stop_partition(&tp, delete),
            };
            results.push((tp, code));
        }
        results
    }

    fn stop_partition(&self, tp: &TopicPartition, delete: bool) -> i16 {
        self.fetcher_manager
            .remove_partitions(std::slice::from_ref(tp));
        if delete {
            if let Some(listener) = self.leadership_listener.get() {
                listener(&[(tp.clone(), false)]);
            }
            self.partitions.write().expect("partitions lock").remove(tp);
            match self.log_manager.async_delete(tp) {
                Ok(Some(dir)) => {
                    tracing::info!(target: "state.change.logger", "[Broker id={}] Deleted log of {tp} (renamed to {} for deletion)", self.broker_id(), dir.display())
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(target: "kafka.server.ReplicaManager", "cannot delete log of {tp}: {e}");
                    return errors::KAFKA_STORAGE_ERROR;
                }
            }
        }
        self.complete_delayed_requests(tp);
        errors::NONE
    }

    /// Writes every hosted partition's high watermark to `replication-offset-checkpoint`.
    pub fn checkpoint_high_watermarks(&self) {
        let hws: HashMap<TopicPartition, i64> = self
            .all_partitions()
            .iter()
            .filter_map(|p| Some((p.tp.clone(), p.log()?.high_watermark())))
            .collect();
        if let Err(e) = self.log_manager.checkpoint_high_watermarks(&hws) {
            tracing::error!(target: "kafka.server.ReplicaManager", "cannot checkpoint high watermarks: {e}");
        }
    }

    /// Background duties: the ISR tasks (writer, isr-expiration, change notifications) and
    /// the high-watermark checkpoint (replica.high.watermark.checkpoint.interval.ms).
    pub fn start_background_tasks(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = match self.isr_rx.lock().expect("isr receiver").take() {
            Some(rx) => super::isr::start_isr_tasks(self, rx),
            None => Vec::new(),
        };
        tasks.push(self.start_checkpoint_task());
        tasks.push(self.start_log_start_checkpoint_task());
        tasks.push(self.start_alter_log_dirs_task());
        tasks
    }

    /// Writes `log-start-offset-checkpoint` whenever a follower adopted its leader's higher
    /// log start offset (DeleteRecords on the leader), rather than only every
    /// `log.flush.start.offset.checkpoint.interval.ms`.
    fn start_log_start_checkpoint_task(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let moved = self.fetcher_manager.log_start_moved();
        let lm = self.log_manager.clone();
        tokio::spawn(async move {
            loop {
                moved.notified().await;
                let lm = lm.clone();
                let _ =
                    tokio::task::spawn_blocking(move || lm.checkpoint_log_start_offsets()).await;
            }
        })
    }

    /// Stops every fetcher (broker shutdown).
    pub fn shutdown(&self) {
        self.fetcher_manager.shutdown();
    }

    fn start_checkpoint_task(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let every = Duration::from_millis(
            self.config
                .long("replica.high.watermark.checkpoint.interval.ms")
                .max(100) as u64,
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let m = me.clone();
                let _ = tokio::task::spawn_blocking(move || m.checkpoint_high_watermarks()).await;
            }
        })
    }
}
