//! TransactionStateManager.scala: which `__transaction_state` partitions this broker owns
//! (and at which coordinator epoch), the transactional ids cached for them, loading a
//! partition when we become its leader, and appending transitions to it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::errors;
use super::log::{self as txn_log, TxnLogValue, TRANSACTION_STATE_TOPIC_NAME};
use super::metadata::{TransactionMetadata, TransactionState, TxnTransitMetadata};
use crate::controller::now_ms;
use crate::coordinator::java_abs_hash;
use crate::log::batch::{build_batch, parse_records, HeaderIter};
use crate::log::{AppendOrigin, TopicPartition};
use crate::replica::ReplicaManager;

pub type TxnRef = Arc<Mutex<TransactionMetadata>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ownership {
    /// Being read from the log; the token tells a stale load apart from the current one.
    Loading(u64),
    /// Loaded; the coordinator epoch is the partition's leader epoch.
    Loaded(i32),
}

pub struct TransactionStateManager {
    pub broker_id: i32,
    pub num_partitions: AtomicI32,
    pub replica_manager: Arc<ReplicaManager>,
    load_buffer_size: usize,
    owned: Mutex<HashMap<i32, Ownership>>,
    cache: Mutex<HashMap<String, TxnRef>>,
    next_token: AtomicU64,
}

impl TransactionStateManager {
    pub fn new(replica_manager: Arc<ReplicaManager>, num_partitions: i32) -> Self {
        let config = replica_manager.config.clone();
        TransactionStateManager {
            broker_id: replica_manager.broker_id(),
            num_partitions: AtomicI32::new(num_partitions.max(1)),
            load_buffer_size: config
                .int("transaction.state.log.load.buffer.size")
                .max(1024) as usize,
            replica_manager,
            owned: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
        }
    }

    pub fn partition_for(&self, transactional_id: &str) -> i32 {
        java_abs_hash(transactional_id) % self.num_partitions.load(Ordering::Relaxed)
    }

    /// The coordinator epoch of the id's partition if we own it loaded, else the error.
    pub fn coordinator_epoch(&self, transactional_id: &str) -> Result<i32, i16> {
        let p = self.partition_for(transactional_id);
        match self.owned.lock().expect("owned lock").get(&p) {
            Some(Ownership::Loaded(epoch)) => Ok(*epoch),
            Some(Ownership::Loading(_)) => Err(errors::COORDINATOR_LOAD_IN_PROGRESS),
            None => Err(errors::NOT_COORDINATOR),
        }
    }

    /// (coordinator epoch, metadata) of a known id; Ok(None) when we own it but it is unknown.
    pub fn get_transaction_state(&self, id: &str) -> Result<Option<(i32, TxnRef)>, i16> {
        let epoch = self.coordinator_epoch(id)?;
        let cached = self.cache.lock().expect("cache lock").get(id).cloned();
        Ok(cached.map(|m| (epoch, m)))
    }

    /// Adds `md` unless the id is already cached; returns what is cached.
    pub fn put_if_absent(&self, md: TransactionMetadata) -> TxnRef {
        let id = md.transactional_id.clone();
        self.cache
            .lock()
            .expect("cache lock")
            .entry(id)
            .or_insert_with(|| Arc::new(Mutex::new(md)))
            .clone()
    }

    pub fn remove(&self, id: &str) {
        self.cache.lock().expect("cache lock").remove(id);
    }

    /// Every cached id with its coordinator epoch (for the timeout and expiry scans).
    pub fn all_loaded(&self) -> Vec<(String, i32, TxnRef)> {
        let owned = self.owned.lock().expect("owned lock").clone();
        let cache = self.cache.lock().expect("cache lock");
        cache
            .iter()
            .filter_map(|(id, m)| match owned.get(&self.partition_for(id)) {
                Some(Ownership::Loaded(e)) => Some((id.clone(), *e, m.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn num_cached(&self) -> usize {
        self.cache.lock().expect("cache lock").len()
    }

    // ------------------------------------------------------------------ appends

    /// Writes `transit` for `id` (a tombstone for Dead) with acks=-1 and waits up to the
    /// transaction timeout; then checks we are still its coordinator at the same epoch.
    /// Errors are already mapped for the client.
    pub async fn append_transaction_to_log(
        &self,
        id: &str,
        coordinator_epoch: i32,
        transit: &TxnTransitMetadata,
    ) -> Result<(), i16> {
        let tp = TopicPartition::new(TRANSACTION_STATE_TOPIC_NAME, self.partition_for(id));
        let key = txn_log::key_bytes(id);
        let value =
            (transit.state != TransactionState::Dead).then(|| txn_log::value_bytes(transit));
        let batch = build_batch(0, 0, &[(now_ms(), Some(&key), value.as_deref(), &[])]);
        let timeout = Duration::from_millis(transit.txn_timeout_ms.max(1) as u64);
        let appended = self
            .replica_manager
            .append_and_wait_for_isr(&tp, &batch, AppendOrigin::Coordinator, timeout)
            .await;
        if let Err(code) = appended {
            tracing::warn!(target: "kafka.coordinator.transaction.TransactionStateManager",
                "[Transaction State Manager {}]: Appending {} for TransactionalId {id} to {tp} failed with error code {code}",
                self.broker_id, transit.state.name());
            return Err(errors::map_txn_append_error(code));
        }
        match self.coordinator_epoch(id) {
            Ok(e) if e == coordinator_epoch => Ok(()),
            _ => Err(errors::NOT_COORDINATOR),
        }
    }

    // ------------------------------------------------------------------ load / unload

    /// Marks the partition loading at `coordinator_epoch`; None if already loaded at it.
    pub fn start_loading(&self, partition: i32, coordinator_epoch: i32) -> Option<u64> {
        let mut owned = self.owned.lock().expect("owned lock");
        if owned.get(&partition) == Some(&Ownership::Loaded(coordinator_epoch)) {
            return None;
        }
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        owned.insert(partition, Ownership::Loading(token));
        Some(token)
    }

    /// Reads the partition from log start to log end; the last record per id wins (None =
    /// tombstone). Blocking: run it off the async workers.
    pub fn read_partition(
        &self,
        partition: i32,
    ) -> Result<HashMap<String, Option<TxnLogValue>>, String> {
        let tp = TopicPartition::new(TRANSACTION_STATE_TOPIC_NAME, partition);
        let mut out = HashMap::new();
        let Some(log) = self
            .replica_manager
            .get_partition(&tp)
            .and_then(|p| p.log())
        else {
            return Ok(out);
        };
        let end = log.log_end_offset();
        let mut next = log.log_start_offset();
        while next < end {
            let info = log
                .read(next, self.load_buffer_size, None, true)
                .map_err(|e| format!("reading {tp} at offset {next}: {e}"))?;
            if info.records.is_empty() {
                break;
            }
            let bytes = info.records.to_vec().map_err(|e| e.to_string())?;
            let before = next;
            for (pos, h) in HeaderIter::new(&bytes) {
                next = h.last_offset() + 1;
                if h.is_control() {
                    continue;
                }
                let recs = parse_records(&bytes[pos..pos + h.size()])
                    .map_err(|e| format!("batch at offset {} of {tp}: {e}", h.base_offset))?;
                for r in recs {
                    let Some(key) = r.key else { continue };
                    let id = txn_log::read_key(key)
                        .map_err(|e| format!("key at offset {} of {tp}: {e}", h.base_offset))?;
                    let value = r.value.map(txn_log::read_value).transpose().map_err(|e| {
                        format!("value of {id} at offset {} of {tp}: {e}", h.base_offset)
                    })?;
                    out.insert(id, value);
                }
            }
            if next == before {
                break;
            }
        }
        Ok(out)
    }

    /// Installs a finished load unless it went stale; returns the ids left in
    /// PrepareCommit/PrepareAbort, whose markers the coordinator must finish.
    pub fn install_loaded(
        &self,
        partition: i32,
        token: u64,
        coordinator_epoch: i32,
        loaded: HashMap<String, Option<TxnLogValue>>,
    ) -> Option<Vec<(String, TxnRef)>> {
        let mut owned = self.owned.lock().expect("owned lock");
        if owned.get(&partition) != Some(&Ownership::Loading(token)) {
            return None;
        }
        let mut cache = self.cache.lock().expect("cache lock");
        let mut pending = Vec::new();
        for (id, value) in loaded {
            let Some(v) = value else { continue };
            let md = TransactionMetadata {
                producer_epoch: v.producer_epoch,
                state: v.state,
                partitions: v.partitions,
                txn_start_timestamp: v.txn_start_timestamp,
                txn_last_update_timestamp: v.txn_last_update_timestamp,
                ..TransactionMetadata::new(&id, v.producer_id, v.txn_timeout_ms, 0)
            };
            let prepared = matches!(
                md.state,
                TransactionState::PrepareCommit | TransactionState::PrepareAbort
            );
            let r = Arc::new(Mutex::new(md));
            if prepared {
                pending.push((id.clone(), r.clone()));
            }
            cache.insert(id, r);
        }
        owned.insert(partition, Ownership::Loaded(coordinator_epoch));
        Some(pending)
    }

    /// The load failed: we cannot serve the partition (clients get NOT_COORDINATOR).
    pub fn abandon_loading(&self, partition: i32, token: u64) {
        let mut owned = self.owned.lock().expect("owned lock");
        if owned.get(&partition) == Some(&Ownership::Loading(token)) {
            owned.remove(&partition);
        }
    }

    /// We stopped leading the partition: forget its ids. Returns whether we owned it.
    pub fn remove_partition(&self, partition: i32) -> bool {
        if self
            .owned
            .lock()
            .expect("owned lock")
            .remove(&partition)
            .is_none()
        {
            return false;
        }
        let mut cache = self.cache.lock().expect("cache lock");
        cache.retain(|id, _| self.partition_for(id) != partition);
        true
    }
}
