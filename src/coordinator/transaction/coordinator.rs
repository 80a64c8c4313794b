//! TransactionCoordinator.scala, first half: configuration, leadership changes of
//! `__transaction_state` partitions, InitProducerId and AddPartitionsToTxn. EndTxn, the
//! markers and the background scans are in `end_txn.rs`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::errors;
use super::marker_channel::TransactionMarkerChannelManager;
use super::metadata::{TransactionMetadata, TransactionState, TxnTransitMetadata};
use super::producer_id_manager::ProducerIdManager;
use super::state_manager::{TransactionStateManager, TxnRef};
use crate::config::KafkaConfig;
use crate::controller::now_ms;
use crate::log::TopicPartition;
use crate::metadata::MetadataCache;
use crate::replica::ReplicaManager;
use crate::security::sasl::SaslClientConfig;

/// The transaction.* broker settings the coordinator uses (TransactionConfig).
#[derive(Clone, Debug)]
pub struct TransactionConfig {
    pub transactional_id_expiration_ms: i64,
    pub transaction_max_timeout_ms: i32,
    pub num_partitions: i32,
    pub replication_factor: i16,
    pub min_isr: i32,
    pub segment_bytes: i32,
    pub abort_timed_out_interval: Duration,
    pub remove_expired_interval: Duration,
    pub request_timeout: Duration,
}

impl TransactionConfig {
    pub fn from_broker(c: &KafkaConfig) -> TransactionConfig {
        let ms = |key: &str| Duration::from_millis(c.int(key).max(1) as u64);
        TransactionConfig {
            transactional_id_expiration_ms: i64::from(c.int("transactional.id.expiration.ms")),
            transaction_max_timeout_ms: c.int("transaction.max.timeout.ms"),
            num_partitions: c.int("transaction.state.log.num.partitions"),
            replication_factor: c.int("transaction.state.log.replication.factor") as i16,
            min_isr: c.int("transaction.state.log.min.isr"),
            segment_bytes: c.int("transaction.state.log.segment.bytes"),
            abort_timed_out_interval: ms(
                "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            ),
            remove_expired_interval: ms(
                "transaction.remove.expired.transaction.cleanup.interval.ms",
            ),
            request_timeout: ms("request.timeout.ms"),
        }
    }
}

/// InitProducerId's answer: (error, producer id, epoch).
pub type InitProducerIdResult = (i16, i64, i16);

/// What prepareInitProducerIdTransit decided.
enum InitAction {
    Write(TxnTransitMetadata),
    /// An ongoing transaction must be aborted first, with this bumped epoch.
    FenceAndAbort(i16),
}

/// Cheap to clone: handlers and background tasks share the same state.
#[derive(Clone)]
pub struct TransactionCoordinator {
    pub config: Arc<TransactionConfig>,
    pub state_manager: Arc<TransactionStateManager>,
    pub markers: Arc<TransactionMarkerChannelManager>,
    producer_id_manager: Arc<ProducerIdManager>,
}

impl TransactionCoordinator {
    pub fn new(
        config: TransactionConfig,
        replica_manager: Arc<ReplicaManager>,
        metadata_cache: Arc<MetadataCache>,
        producer_id_manager: Arc<ProducerIdManager>,
        num_partitions: i32,
    ) -> TransactionCoordinator {
        let broker_id = replica_manager.broker_id();
        let listener = replica_manager.config.inter_broker_listener_name.clone();
        let markers = TransactionMarkerChannelManager::new(
            broker_id,
            listener,
            config.request_timeout,
            SaslClientConfig::inter_broker(&replica_manager.config)
                .ok()
                .flatten(),
            metadata_cache,
        );
        TransactionCoordinator {
            config: Arc::new(config),
            state_manager: Arc::new(TransactionStateManager::new(
                replica_manager,
                num_partitions,
            )),
            markers: Arc::new(markers),
            producer_id_manager,
        }
    }

    async fn generate_producer_id(&self) -> Result<i64, i16> {
        self.producer_id_manager
            .generate_producer_id()
            .await
            .map_err(|e| {
                tracing::error!(target: "kafka.coordinator.transaction.TransactionCoordinator",
                    "[TransactionCoordinator id={}] Failed to allocate a producer id: {e}",
                    self.state_manager.broker_id);
                errors::COORDINATOR_NOT_AVAILABLE
            })
    }

    // ------------------------------------------------------------------ leadership

    /// Leadership of `__transaction_state` partitions changed: load the ones we lead (at
    /// their leader epoch, the coordinator epoch) and finish their pending markers; forget
    /// the ones we lost.
    pub fn on_leadership_change(&self, became_leader: &[(i32, i32)], resigned: &[i32]) {
        for &(p, epoch) in became_leader {
            self.on_election(p, epoch);
        }
        for &p in resigned {
            if self.state_manager.remove_partition(p) {
                tracing::info!(target: "kafka.coordinator.transaction.TransactionCoordinator",
                    "[TransactionCoordinator id={}] Resigned as the coordinator of {}-{p}",
                    self.state_manager.broker_id, super::TRANSACTION_STATE_TOPIC_NAME);
            }
        }
    }

    fn on_election(&self, partition: i32, coordinator_epoch: i32) {
        let Some(token) = self
            .state_manager
            .start_loading(partition, coordinator_epoch)
        else {
            return;
        };
        let me = self.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let sm = me.state_manager.clone();
            let read = tokio::task::spawn_blocking(move || sm.read_partition(partition)).await;
            let loaded = match read {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    tracing::error!(target: "kafka.coordinator.transaction.TransactionStateManager",
                        "Error loading transactions from {}-{partition}: {e}", super::TRANSACTION_STATE_TOPIC_NAME);
                    me.state_manager.abandon_loading(partition, token);
                    return;
                }
                Err(e) => {
                    tracing::error!(target: "kafka.coordinator.transaction.TransactionStateManager", "load task failed: {e}");
                    me.state_manager.abandon_loading(partition, token);
                    return;
                }
            };
            let count = loaded.len();
            let Some(pending) =
                me.state_manager
                    .install_loaded(partition, token, coordinator_epoch, loaded)
            else {
                return;
            };
            tracing::info!(target: "kafka.coordinator.transaction.TransactionStateManager",
                "[Transaction State Manager {}]: Finished loading {count} transaction metadata from {}-{partition} in {} milliseconds, of which {} have pending markers (coordinator epoch {coordinator_epoch})",
                me.state_manager.broker_id, super::TRANSACTION_STATE_TOPIC_NAME,
                started.elapsed().as_millis(), pending.len());
            for (id, md) in pending {
                me.spawn_markers(&id, coordinator_epoch, &md);
            }
        });
    }

    // ------------------------------------------------------------------ InitProducerId

    /// InitProducerId for a transactional id (handleInitProducerId). `expected` is the
    /// (pid, epoch) a v3+ client sends to resume after an error.
    pub async fn handle_init_producer_id(
        &self,
        id: &str,
        txn_timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> InitProducerIdResult {
        let fail = |code| (code, -1, -1);
        if id.is_empty() {
            return fail(errors::INVALID_REQUEST);
        }
        if txn_timeout_ms <= 0 || txn_timeout_ms > self.config.transaction_max_timeout_ms {
            return fail(errors::INVALID_TRANSACTION_TIMEOUT);
        }
        let (coordinator_epoch, md) = match self.get_or_create(id, txn_timeout_ms).await {
            Ok(v) => v,
            Err(code) => return fail(code),
        };
        // A new producer id is needed only to rotate an exhausted epoch; take it up front.
        let rotation_pid = if md.lock().expect("txn lock").is_producer_epoch_exhausted() {
            match self.generate_producer_id().await {
                Ok(pid) => Some(pid),
                Err(code) => return fail(code),
            }
        } else {
            None
        };
        let action = {
            let mut m = md.lock().expect("txn lock");
            prepare_init_producer_id_transit(&mut m, txn_timeout_ms, expected, rotation_pid)
        };
        match action {
            Err(code) => fail(code),
            Ok(InitAction::Write(transit)) => {
                match self
                    .write_transition(id, coordinator_epoch, &md, transit)
                    .await
                {
                    Ok(t) => (errors::NONE, t.producer_id, t.producer_epoch),
                    Err(code) => fail(code),
                }
            }
            Ok(InitAction::FenceAndAbort(bumped_epoch)) => {
                let pid = md.lock().expect("txn lock").producer_id;
                let code = self
                    .end_transaction(id, pid, bumped_epoch, false, false)
                    .await;
                // The client retries and then gets a further bump.
                fail(if code == errors::NONE {
                    errors::CONCURRENT_TRANSACTIONS
                } else {
                    code
                })
            }
        }
    }

    async fn get_or_create(&self, id: &str, txn_timeout_ms: i32) -> Result<(i32, TxnRef), i16> {
        if let Some(found) = self.state_manager.get_transaction_state(id)? {
            return Ok(found);
        }
        let pid = self.generate_producer_id().await?;
        let epoch = self.state_manager.coordinator_epoch(id)?;
        let md = TransactionMetadata::new(id, pid, txn_timeout_ms, now_ms());
        Ok((epoch, self.state_manager.put_if_absent(md)))
    }

    /// Appends a prepared transition and installs it once durable (or drops it).
    pub(super) async fn write_transition(
        &self,
        id: &str,
        coordinator_epoch: i32,
        md: &TxnRef,
        transit: TxnTransitMetadata,
    ) -> Result<TxnTransitMetadata, i16> {
        let appended = self
            .state_manager
            .append_transaction_to_log(id, coordinator_epoch, &transit)
            .await;
        let mut m = md.lock().expect("txn lock");
        match appended {
            Ok(()) => {
                m.complete_transition(transit.clone());
                Ok(transit)
            }
            Err(code) => {
                m.abort_pending();
                Err(code)
            }
        }
    }

    // ------------------------------------------------------------------ AddPartitionsToTxn

    /// AddPartitionsToTxn / AddOffsetsToTxn (handleAddPartitionsToTransaction): one error
    /// for all partitions.
    pub async fn handle_add_partitions_to_transaction(
        &self,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: BTreeSet<TopicPartition>,
    ) -> i16 {
        if id.is_empty() {
            return errors::INVALID_REQUEST;
        }
        let (coordinator_epoch, md) = match self.state_manager.get_transaction_state(id) {
            Ok(Some(v)) => v,
            Ok(None) => return errors::INVALID_PRODUCER_ID_MAPPING,
            Err(code) => return code,
        };
        let transit = {
            let mut m = md.lock().expect("txn lock");
            if m.producer_id != producer_id {
                return errors::INVALID_PRODUCER_ID_MAPPING;
            }
            if m.producer_epoch != producer_epoch {
                return errors::PRODUCER_FENCED;
            }
            if m.pending_state.is_some()
                || matches!(
                    m.state,
                    TransactionState::PrepareCommit | TransactionState::PrepareAbort
                )
            {
                return errors::CONCURRENT_TRANSACTIONS;
            }
            if m.state == TransactionState::Ongoing && partitions.is_subset(&m.partitions) {
                return errors::NONE;
            }
            match m.prepare_add_partitions(&partitions, now_ms()) {
                Ok(t) => t,
                Err(code) => return code,
            }
        };
        match self
            .write_transition(id, coordinator_epoch, &md, transit)
            .await
        {
            Ok(_) => errors::NONE,
            Err(code) => code,
        }
    }
}

/// prepareInitProducerIdTransit: what InitProducerId does to an existing id.
fn prepare_init_producer_id_transit(
    m: &mut TransactionMetadata,
    txn_timeout_ms: i32,
    expected: Option<(i64, i16)>,
    rotation_pid: Option<i64>,
) -> Result<InitAction, i16> {
    if m.pending_state.is_some() {
        return Err(errors::CONCURRENT_TRANSACTIONS);
    }
    if let Some((pid, epoch)) = expected {
        let ok = m.producer_epoch == -1
            || pid == m.producer_id
            || (pid == m.last_producer_id && epoch >= super::metadata::EPOCH_EXHAUSTED);
        if !ok {
            return Err(errors::PRODUCER_FENCED);
        }
    }
    let now = now_ms();
    match m.state {
        TransactionState::PrepareAbort | TransactionState::PrepareCommit => {
            Err(errors::CONCURRENT_TRANSACTIONS)
        }
        TransactionState::Empty
        | TransactionState::CompleteCommit
        | TransactionState::CompleteAbort => {
            let expected_epoch = expected.map(|(_, e)| e);
            let rotate = expected_epoch.is_none_or(|e| e == m.producer_epoch);
            if let (Some(pid), true) = (
                rotation_pid.filter(|_| rotate),
                m.is_producer_epoch_exhausted(),
            ) {
                m.prepare_producer_id_rotation(pid, txn_timeout_ms, now, expected.is_some())
                    .map(InitAction::Write)
            } else {
                m.prepare_increment_producer_epoch(txn_timeout_ms, expected_epoch, now)
                    .map(InitAction::Write)
            }
        }
        TransactionState::Ongoing => m
            .prepare_fence_producer_epoch()
            .map(InitAction::FenceAndAbort),
        TransactionState::Dead | TransactionState::PrepareEpochFence => {
            tracing::error!(target: "kafka.coordinator.transaction.TransactionCoordinator",
                "TransactionalId {} is in state {} while no transition is pending", m.transactional_id, m.state.name());
            Err(errors::UNKNOWN_SERVER_ERROR)
        }
    }
}
