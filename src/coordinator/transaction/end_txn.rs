//! TransactionCoordinator.scala, second half: EndTxn and the coordinator's own aborts,
//! writing the markers then the Complete* record, and the two background scans (timed-out
//! transactions, expired transactional ids).

use std::time::Duration;

use super::coordinator::TransactionCoordinator;
use super::errors;
use super::marker_channel::TxnMarkerEntry;
use super::metadata::{TransactionState, TxnTransitMetadata};
use super::state_manager::TxnRef;
use crate::controller::now_ms;

/// Pause before writing the Complete* record again after a failed append.
const COMPLETE_RETRY_BACKOFF: Duration = Duration::from_millis(200);

impl TransactionCoordinator {
    /// EndTxn from a client.
    pub async fn handle_end_transaction(
        &self,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> i16 {
        self.end_transaction(id, producer_id, producer_epoch, commit, true)
            .await
    }

    /// Phase 1 of endTransaction: write PrepareCommit/PrepareAbort; then answer NONE and
    /// send the markers in the background (phase 2). `from_client` false = the coordinator
    /// aborting a fenced or timed-out transaction with the bumped epoch.
    pub(super) async fn end_transaction(
        &self,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        from_client: bool,
    ) -> i16 {
        if id.is_empty() {
            return errors::INVALID_REQUEST;
        }
        let (coordinator_epoch, md) = match self.state_manager.get_transaction_state(id) {
            Ok(Some(v)) => v,
            Ok(None) => return errors::INVALID_PRODUCER_ID_MAPPING,
            Err(code) => return code,
        };
        let prepared = {
            let mut m = md.lock().expect("txn lock");
            let r = prepare_end(&mut m, producer_id, producer_epoch, commit, from_client);
            if r.is_err() && !from_client {
                // Our own abort could not start: let a later scan or InitProducerId retry.
                if m.pending_state == Some(TransactionState::PrepareEpochFence) {
                    m.pending_state = None;
                }
            }
            r
        };
        let (transit, is_epoch_fence) = match prepared {
            Ok(Some(v)) => v,
            Ok(None) => return errors::NONE,
            Err(code) => return code,
        };
        match self
            .write_transition(id, coordinator_epoch, &md, transit)
            .await
        {
            Ok(_) => {
                self.spawn_markers(id, coordinator_epoch, &md);
                errors::NONE
            }
            Err(code) => {
                if is_epoch_fence {
                    md.lock().expect("txn lock").has_failed_epoch_fence = true;
                }
                code
            }
        }
    }

    /// Phase 2: markers to every partition, then CompleteCommit/CompleteAbort. Also run for
    /// transactions a newly loaded partition left in PrepareCommit/PrepareAbort.
    pub(super) fn spawn_markers(&self, id: &str, coordinator_epoch: i32, md: &TxnRef) {
        let entry = {
            let m = md.lock().expect("txn lock");
            TxnMarkerEntry {
                transactional_id: id.to_string(),
                producer_id: m.producer_id,
                producer_epoch: m.producer_epoch,
                commit: m.state == TransactionState::PrepareCommit,
                coordinator_epoch,
                partitions: m.partitions.clone(),
            }
        };
        let me = self.clone();
        let md = md.clone();
        tokio::spawn(async move {
            let sm = me.state_manager.clone();
            let id = entry.transactional_id.clone();
            let still_coordinator = || sm.coordinator_epoch(&id) == Ok(coordinator_epoch);
            match me.markers.write_markers(&entry, still_coordinator).await {
                Ok(()) => me.complete_transaction(&entry, &md).await,
                Err(code) => {
                    tracing::info!(target: "kafka.coordinator.transaction.TransactionMarkerChannelManager",
                    "Stopped writing markers of TransactionalId {id} (producer id {}, epoch {}): error code {code}",
                    entry.producer_id, entry.producer_epoch)
                }
            }
        });
    }

    /// All markers are written: record CompleteCommit/CompleteAbort, retrying while we are
    /// still the coordinator.
    async fn complete_transaction(&self, entry: &TxnMarkerEntry, md: &TxnRef) {
        let id = &entry.transactional_id;
        loop {
            let transit = {
                let mut m = md.lock().expect("txn lock");
                let expected = if entry.commit {
                    TransactionState::PrepareCommit
                } else {
                    TransactionState::PrepareAbort
                };
                if m.state != expected || m.producer_epoch != entry.producer_epoch {
                    return;
                }
                match m.prepare_complete(now_ms()) {
                    Ok(t) => t,
                    Err(_) => return,
                }
            };
            match self
                .write_transition(id, entry.coordinator_epoch, md, transit)
                .await
            {
                Ok(t) => {
                    tracing::debug!(target: "kafka.coordinator.transaction.TransactionCoordinator",
                        "Completed transaction of TransactionalId {id}: {} (producer id {}, epoch {})",
                        t.state.name(), t.producer_id, t.producer_epoch);
                    return;
                }
                Err(errors::NOT_COORDINATOR) => return,
                Err(code) => {
                    tracing::warn!(target: "kafka.coordinator.transaction.TransactionCoordinator",
                        "Writing the completion of TransactionalId {id} failed with error code {code}; retrying");
                    tokio::time::sleep(COMPLETE_RETRY_BACKOFF).await;
                }
            }
        }
    }

    // ------------------------------------------------------------------ background scans

    /// The two scans on their configured periods.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut abort = tokio::time::interval(me.config.abort_timed_out_interval);
            let mut expire = tokio::time::interval(me.config.remove_expired_interval);
            abort.tick().await;
            expire.tick().await;
            loop {
                tokio::select! {
                    _ = abort.tick() => me.abort_timed_out_transactions(),
                    _ = expire.tick() => me.remove_expired_transactional_ids().await,
                }
            }
        })
    }

    /// Ongoing transactions past their timeout are fenced (epoch + 1) and aborted
    /// (abortTimedOutTransactions).
    pub fn abort_timed_out_transactions(&self) {
        let now = now_ms();
        for (id, _, md) in self.state_manager.all_loaded() {
            let fenced = {
                let mut m = md.lock().expect("txn lock");
                let expired = m.state == TransactionState::Ongoing
                    && m.pending_state.is_none()
                    && m.txn_start_timestamp + i64::from(m.txn_timeout_ms) < now;
                if !expired {
                    continue;
                }
                match m.prepare_fence_producer_epoch() {
                    Ok(epoch) => (m.producer_id, epoch),
                    Err(_) => continue,
                }
            };
            tracing::info!(target: "kafka.coordinator.transaction.TransactionCoordinator",
                "Aborting transaction of TransactionalId {id} (producer id {}) because it has timed out; fencing with epoch {}",
                fenced.0, fenced.1);
            let me = self.clone();
            tokio::spawn(async move {
                let code = me
                    .end_transaction(&id, fenced.0, fenced.1, false, false)
                    .await;
                if code != errors::NONE {
                    tracing::warn!(target: "kafka.coordinator.transaction.TransactionCoordinator",
                        "Aborting the timed-out transaction of TransactionalId {id} failed with error code {code}; the next scan retries");
                }
            });
        }
    }

    /// Idle ids older than transactional.id.expiration.ms get a tombstone and leave the
    /// cache (removeExpiredTransactionalIds).
    pub async fn remove_expired_transactional_ids(&self) {
        let cutoff = now_ms() - self.config.transactional_id_expiration_ms;
        for (id, coordinator_epoch, md) in self.state_manager.all_loaded() {
            let transit: TxnTransitMetadata = {
                let mut m = md.lock().expect("txn lock");
                let expired = m.state.expiration_allowed()
                    && m.pending_state.is_none()
                    && m.txn_last_update_timestamp <= cutoff;
                if !expired {
                    continue;
                }
                match m.prepare_dead() {
                    Ok(t) => t,
                    Err(_) => continue,
                }
            };
            if self
                .write_transition(&id, coordinator_epoch, &md, transit)
                .await
                .is_ok()
            {
                self.state_manager.remove(&id);
                tracing::info!(target: "kafka.coordinator.transaction.TransactionStateManager",
                    "Removed expired TransactionalId {id} (idle longer than transactional.id.expiration.ms={})",
                    self.config.transactional_id_expiration_ms);
            }
        }
    }
}

/// Checks of endTransaction phase 1; Ok(None) = already done (an idempotent retry).
/// The flag says the transition is a fencing abort.
fn prepare_end(
    m: &mut super::metadata::TransactionMetadata,
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    from_client: bool,
) -> Result<Option<(TxnTransitMetadata, bool)>, i16> {
    use TransactionState::*;
    if m.producer_id != producer_id {
        return Err(errors::INVALID_PRODUCER_ID_MAPPING);
    }
    if (from_client && producer_epoch != m.producer_epoch) || producer_epoch < m.producer_epoch {
        return Err(errors::PRODUCER_FENCED);
    }
    if m.pending_state.is_some() && m.pending_state != Some(PrepareEpochFence) {
        return Err(errors::CONCURRENT_TRANSACTIONS);
    }
    match (m.state, commit) {
        (Ongoing, _) => {
            let next = if commit { PrepareCommit } else { PrepareAbort };
            let fence = next == PrepareAbort && m.pending_state == Some(PrepareEpochFence);
            if fence {
                // The abort carries the bumped epoch (prepareFenceProducerEpoch).
                m.pending_state = None;
                m.producer_epoch = producer_epoch;
                m.last_producer_epoch = -1;
            }
            m.prepare_abort_or_commit(next, now_ms())
                .map(|t| Some((t, fence)))
        }
        (CompleteCommit, true) | (CompleteAbort, false) => Ok(None),
        (PrepareCommit, true) | (PrepareAbort, false) => Err(errors::CONCURRENT_TRANSACTIONS),
        (Dead, _) | (PrepareEpochFence, _) => Err(errors::UNKNOWN_SERVER_ERROR),
        _ => Err(errors::INVALID_TXN_STATE),
    }
}
