//! TransactionMetadata.scala: one transactional id's state and Kafka's transitions. Every
//! change is two-phase: `prepare_*` checks the transition, sets the pending state and returns
//! the new metadata to write; once the record is durable `complete_transition` applies it
//! (a failed append calls `abort_pending`).

use std::collections::BTreeSet;

use super::errors;
use crate::log::TopicPartition;

/// Epochs from here on are "exhausted": the coordinator never hands out i16::MAX so that
/// it can always fence with one more bump.
pub const EPOCH_EXHAUSTED: i16 = i16::MAX - 1;
pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_PRODUCER_EPOCH: i16 = -1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    /// Being removed (transactional id expiry); in memory only.
    Dead,
    /// Bumping the epoch before aborting an ongoing transaction; in memory only.
    PrepareEpochFence,
}

impl TransactionState {
    pub fn byte(self) -> u8 {
        self as u8
    }

    pub fn from_byte(b: i8) -> Option<TransactionState> {
        use TransactionState::*;
        [
            Empty,
            Ongoing,
            PrepareCommit,
            PrepareAbort,
            CompleteCommit,
            CompleteAbort,
            Dead,
            PrepareEpochFence,
        ]
        .get(usize::try_from(b).ok()?)
        .copied()
    }

    pub fn name(self) -> &'static str {
        use TransactionState::*;
        match self {
            Empty => "Empty",
            Ongoing => "Ongoing",
            PrepareCommit => "PrepareCommit",
            PrepareAbort => "PrepareAbort",
            CompleteCommit => "CompleteCommit",
            CompleteAbort => "CompleteAbort",
            Dead => "Dead",
            PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// The states a transition into `self` may start from (TransactionMetadata.validPreviousStates).
    fn valid_previous(self) -> &'static [TransactionState] {
        use TransactionState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[Ongoing, PrepareEpochFence],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteAbort, CompleteCommit],
            PrepareEpochFence => &[Ongoing],
        }
    }

    /// Ids in these states may expire (transactional.id.expiration.ms).
    pub fn expiration_allowed(self) -> bool {
        matches!(
            self,
            TransactionState::Empty
                | TransactionState::CompleteCommit
                | TransactionState::CompleteAbort
        )
    }
}

/// What one transition writes and, once durable, installs (TxnTransitMetadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnTransitMetadata {
    pub producer_id: i64,
    pub last_producer_id: i64,
    pub producer_epoch: i16,
    pub last_producer_epoch: i16,
    pub txn_timeout_ms: i32,
    pub state: TransactionState,
    pub partitions: BTreeSet<TopicPartition>,
    pub txn_start_timestamp: i64,
    pub txn_last_update_timestamp: i64,
}

#[derive(Debug, Clone)]
pub struct TransactionMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub last_producer_id: i64,
    pub producer_epoch: i16,
    pub last_producer_epoch: i16,
    pub txn_timeout_ms: i32,
    pub state: TransactionState,
    pub partitions: BTreeSet<TopicPartition>,
    pub txn_start_timestamp: i64,
    pub txn_last_update_timestamp: i64,
    pub pending_state: Option<TransactionState>,
    /// A fencing bump whose append failed is not bumped again on retry.
    pub has_failed_epoch_fence: bool,
}

impl TransactionMetadata {
    pub fn new(id: &str, producer_id: i64, txn_timeout_ms: i32, now: i64) -> Self {
        TransactionMetadata {
            transactional_id: id.to_string(),
            producer_id,
            last_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            txn_timeout_ms,
            state: TransactionState::Empty,
            partitions: BTreeSet::new(),
            txn_start_timestamp: -1,
            txn_last_update_timestamp: now,
            pending_state: None,
            has_failed_epoch_fence: false,
        }
    }

    pub fn is_producer_epoch_exhausted(&self) -> bool {
        self.producer_epoch >= EPOCH_EXHAUSTED
    }

    fn transit(&self) -> TxnTransitMetadata {
        TxnTransitMetadata {
            producer_id: self.producer_id,
            last_producer_id: self.last_producer_id,
            producer_epoch: self.producer_epoch,
            last_producer_epoch: self.last_producer_epoch,
            txn_timeout_ms: self.txn_timeout_ms,
            state: self.state,
            partitions: self.partitions.clone(),
            txn_start_timestamp: self.txn_start_timestamp,
            txn_last_update_timestamp: self.txn_last_update_timestamp,
        }
    }

    /// Sets `new_state` pending and returns `t` for it; CONCURRENT_TRANSACTIONS when another
    /// transition is pending. An invalid transition is our own bug (callers check states).
    fn prepare(
        &mut self,
        new_state: TransactionState,
        t: TxnTransitMetadata,
    ) -> Result<TxnTransitMetadata, i16> {
        if self.pending_state.is_some() {
            return Err(errors::CONCURRENT_TRANSACTIONS);
        }
        if !new_state.valid_previous().contains(&self.state) {
            tracing::error!(target: "kafka.coordinator.transaction.TransactionMetadata",
                "TransactionalId {} cannot move from {} to {}", self.transactional_id,
                self.state.name(), new_state.name());
            return Err(errors::UNKNOWN_SERVER_ERROR);
        }
        self.pending_state = Some(new_state);
        Ok(TxnTransitMetadata {
            state: new_state,
            ..t
        })
    }

    /// InitProducerId on an existing id: epoch + 1, or a retry of a bump whose answer was
    /// lost (prepareIncrementProducerEpoch).
    pub fn prepare_increment_producer_epoch(
        &mut self,
        new_timeout_ms: i32,
        expected_epoch: Option<i16>,
        now: i64,
    ) -> Result<TxnTransitMetadata, i16> {
        if self.is_producer_epoch_exhausted() {
            return Err(errors::UNKNOWN_SERVER_ERROR);
        }
        let (epoch, last_epoch) = match expected_epoch {
            None => (self.producer_epoch + 1, NO_PRODUCER_EPOCH),
            Some(e) if self.producer_epoch == NO_PRODUCER_EPOCH || e == self.producer_epoch => {
                (self.producer_epoch + 1, self.producer_epoch)
            }
            Some(e) if e == self.last_producer_epoch => {
                (self.producer_epoch, self.last_producer_epoch)
            }
            Some(_) => return Err(errors::PRODUCER_FENCED),
        };
        let t = TxnTransitMetadata {
            producer_epoch: epoch,
            last_producer_epoch: last_epoch,
            txn_timeout_ms: new_timeout_ms,
            partitions: BTreeSet::new(),
            txn_start_timestamp: -1,
            txn_last_update_timestamp: now,
            ..self.transit()
        };
        self.prepare(TransactionState::Empty, t)
    }

    /// InitProducerId with an exhausted epoch: a new producer id at epoch 0.
    pub fn prepare_producer_id_rotation(
        &mut self,
        new_producer_id: i64,
        new_timeout_ms: i32,
        now: i64,
        record_last_epoch: bool,
    ) -> Result<TxnTransitMetadata, i16> {
        let t = TxnTransitMetadata {
            producer_id: new_producer_id,
            last_producer_id: self.producer_id,
            producer_epoch: 0,
            last_producer_epoch: if record_last_epoch {
                self.producer_epoch
            } else {
                NO_PRODUCER_EPOCH
            },
            txn_timeout_ms: new_timeout_ms,
            partitions: BTreeSet::new(),
            txn_start_timestamp: -1,
            txn_last_update_timestamp: now,
            ..self.transit()
        };
        self.prepare(TransactionState::Empty, t)
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: Ongoing with the union of partitions; the
    /// transaction's start time is set by its first partition.
    pub fn prepare_add_partitions(
        &mut self,
        added: &BTreeSet<TopicPartition>,
        now: i64,
    ) -> Result<TxnTransitMetadata, i16> {
        let start = match self.state {
            TransactionState::Empty
            | TransactionState::CompleteCommit
            | TransactionState::CompleteAbort => now,
            _ => self.txn_start_timestamp,
        };
        let t = TxnTransitMetadata {
            partitions: self.partitions.union(added).cloned().collect(),
            txn_start_timestamp: start,
            txn_last_update_timestamp: now,
            ..self.transit()
        };
        self.prepare(TransactionState::Ongoing, t)
    }

    /// EndTxn (or the coordinator's own abort): PrepareCommit / PrepareAbort.
    pub fn prepare_abort_or_commit(
        &mut self,
        new_state: TransactionState,
        now: i64,
    ) -> Result<TxnTransitMetadata, i16> {
        let t = TxnTransitMetadata {
            txn_last_update_timestamp: now,
            ..self.transit()
        };
        self.prepare(new_state, t)
    }

    /// All markers written: CompleteCommit / CompleteAbort with no partitions.
    pub fn prepare_complete(&mut self, now: i64) -> Result<TxnTransitMetadata, i16> {
        let new_state = if self.state == TransactionState::PrepareCommit {
            TransactionState::CompleteCommit
        } else {
            TransactionState::CompleteAbort
        };
        let t = TxnTransitMetadata {
            partitions: BTreeSet::new(),
            txn_last_update_timestamp: now,
            ..self.transit()
        };
        self.prepare(new_state, t)
    }

    /// Fencing an ongoing transaction (InitProducerId from a new instance, or a timeout):
    /// returns the bumped epoch the abort is then written with (prepareFenceProducerEpoch).
    /// After a failed fence the epoch in memory is already bumped and is not bumped again.
    pub fn prepare_fence_producer_epoch(&mut self) -> Result<i16, i16> {
        if self.producer_epoch == i16::MAX {
            return Err(errors::UNKNOWN_SERVER_ERROR);
        }
        if self.pending_state.is_some() {
            return Err(errors::CONCURRENT_TRANSACTIONS);
        }
        let bumped = if self.has_failed_epoch_fence {
            self.producer_epoch
        } else {
            self.producer_epoch + 1
        };
        self.pending_state = Some(TransactionState::PrepareEpochFence);
        Ok(bumped)
    }

    /// Transactional id expiry: Dead, written as a tombstone.
    pub fn prepare_dead(&mut self) -> Result<TxnTransitMetadata, i16> {
        let t = self.transit();
        self.prepare(TransactionState::Dead, t)
    }

    /// The transition's record is durable: install it.
    pub fn complete_transition(&mut self, t: TxnTransitMetadata) {
        self.producer_id = t.producer_id;
        self.last_producer_id = t.last_producer_id;
        self.producer_epoch = t.producer_epoch;
        self.last_producer_epoch = t.last_producer_epoch;
        self.txn_timeout_ms = t.txn_timeout_ms;
        self.state = t.state;
        self.partitions = t.partitions;
        self.txn_start_timestamp = t.txn_start_timestamp;
        self.txn_last_update_timestamp = t.txn_last_update_timestamp;
        self.pending_state = None;
        self.has_failed_epoch_fence = false;
    }

    /// The append failed: the metadata stays as it was.
    pub fn abort_pending(&mut self) {
        self.pending_state = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md() -> TransactionMetadata {
        TransactionMetadata::new("t", 7, 60000, 0)
    }

    #[test]
    fn first_bump_gives_epoch_zero_and_states_round_trip() {
        let mut m = md();
        let t = m.prepare_increment_producer_epoch(1000, None, 5).unwrap();
        assert_eq!(t.producer_epoch, 0);
        assert_eq!(
            m.prepare_increment_producer_epoch(1000, None, 5),
            Err(errors::CONCURRENT_TRANSACTIONS)
        );
        m.complete_transition(t);
        assert_eq!(m.state, TransactionState::Empty);
        for b in 0..8 {
            assert_eq!(TransactionState::from_byte(b).unwrap().byte(), b as u8);
        }
        assert_eq!(TransactionState::from_byte(8), None);
    }

    #[test]
    fn add_partitions_then_commit_then_complete() {
        let mut m = md();
        let t = m.prepare_increment_producer_epoch(1000, None, 1).unwrap();
        m.complete_transition(t);
        let parts: BTreeSet<_> = [TopicPartition::new("a", 0)].into_iter().collect();
        let t = m.prepare_add_partitions(&parts, 10).unwrap();
        assert_eq!(t.txn_start_timestamp, 10);
        m.complete_transition(t);
        let t = m
            .prepare_abort_or_commit(TransactionState::PrepareCommit, 20)
            .unwrap();
        m.complete_transition(t);
        let t = m.prepare_complete(30).unwrap();
        assert_eq!(t.state, TransactionState::CompleteCommit);
        assert!(t.partitions.is_empty());
        m.complete_transition(t);
        // Commit from CompleteCommit is not a valid transition.
        assert!(m
            .prepare_abort_or_commit(TransactionState::PrepareCommit, 40)
            .is_err());
    }

    #[test]
    fn a_stale_expected_epoch_is_fenced_and_a_lost_bump_is_repeated() {
        let mut m = md();
        for _ in 0..3 {
            let t = m.prepare_increment_producer_epoch(1000, None, 1).unwrap();
            m.complete_transition(t);
        }
        assert_eq!(m.producer_epoch, 2);
        let t = m
            .prepare_increment_producer_epoch(1000, Some(2), 1)
            .unwrap();
        m.complete_transition(t);
        assert_eq!((m.producer_epoch, m.last_producer_epoch), (3, 2));
        let t = m
            .prepare_increment_producer_epoch(1000, Some(2), 1)
            .unwrap();
        assert_eq!(t.producer_epoch, 3, "retry of the lost bump");
        m.abort_pending();
        assert_eq!(
            m.prepare_increment_producer_epoch(1000, Some(0), 1),
            Err(errors::PRODUCER_FENCED)
        );
    }
}
