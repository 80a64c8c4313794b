//! ProducerStateManager (ProducerStateManager.scala): per partition, what each idempotent or
//! transactional producer last wrote, so that the leader can refuse out-of-order and fenced
//! batches and answer a retried batch with its original offsets instead of writing it twice.
//!
//! Followers apply the same state from the batches they replicate, so a new leader keeps
//! deduplicating; a restarted broker rebuilds it from its newest `.snapshot` file plus the
//! batches after it (snapshot.rs), or from the whole log when there is none.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::batch::BatchHeader;
use super::errors::LogError;
use super::partition_log::AppendOrigin;
use super::txn_index::AbortedTxn;

/// Batches kept per producer for duplicate detection (`NumBatchesToRetain`); the 2.8 client
/// allows at most 5 in-flight requests per connection with idempotence for this reason.
pub const NUM_BATCHES_TO_RETAIN: usize = 5;

pub const NO_PRODUCER_EPOCH: i16 = -1;
pub const NO_SEQUENCE: i32 = -1;

/// One retained batch of a producer (Kafka's BatchMetadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub last_seq: i32,
    pub last_offset: i64,
    pub offset_delta: i32,
    pub timestamp: i64,
}

impl BatchMetadata {
    pub fn first_seq(&self) -> i32 {
        decrement_sequence(self.last_seq, self.offset_delta)
    }
    pub fn first_offset(&self) -> i64 {
        self.last_offset - self.offset_delta as i64
    }
}

/// DefaultRecordBatch.decrementSequence: the inverse of `increment_sequence`.
pub fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    if sequence < decrement {
        i32::MAX - (decrement - sequence) + 1
    } else {
        sequence - decrement
    }
}

/// What the partition knows of one producer id (Kafka's ProducerStateEntry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerStateEntry {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub batch_metadata: VecDeque<BatchMetadata>,
    /// Leader epoch of the transaction coordinator's partition that wrote the last marker.
    pub coordinator_epoch: i32,
    pub last_timestamp: i64,
    /// First offset of the producer's open transaction.
    pub current_txn_first_offset: Option<i64>,
}

impl ProducerStateEntry {
    pub fn empty(producer_id: i64) -> ProducerStateEntry {
        ProducerStateEntry {
            producer_id,
            producer_epoch: NO_PRODUCER_EPOCH,
            batch_metadata: VecDeque::new(),
            coordinator_epoch: -1,
            last_timestamp: -1,
            current_txn_first_offset: None,
        }
    }

    pub fn last_seq(&self) -> i32 {
        self.batch_metadata
            .back()
            .map_or(NO_SEQUENCE, |b| b.last_seq)
    }
    pub fn last_data_offset(&self) -> i64 {
        self.batch_metadata.back().map_or(-1, |b| b.last_offset)
    }

    /// A retained batch with the same epoch and exactly the same sequence range.
    pub fn find_duplicate_batch(&self, h: &BatchHeader) -> Option<BatchMetadata> {
        if h.producer_epoch != self.producer_epoch {
            return None;
        }
        let (first, last) = (h.base_sequence, h.last_sequence());
        self.batch_metadata
            .iter()
            .find(|b| b.first_seq() == first && b.last_seq == last)
            .copied()
    }

    /// A new epoch forgets the batches of the old one.
    fn maybe_update_producer_epoch(&mut self, epoch: i16) {
        if self.producer_epoch != epoch {
            self.batch_metadata.clear();
            self.producer_epoch = epoch;
        }
    }

    fn add_batch(&mut self, epoch: i16, batch: BatchMetadata) {
        self.maybe_update_producer_epoch(epoch);
        self.batch_metadata.push_back(batch);
        while self.batch_metadata.len() > NUM_BATCHES_TO_RETAIN {
            self.batch_metadata.pop_front();
        }
        self.last_timestamp = batch.timestamp;
    }
}

/// The content of a control batch's record (EndTransactionMarker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTxnMarker {
    pub commit: bool,
    pub coordinator_epoch: i32,
}

impl EndTxnMarker {
    /// The marker of a whole control batch's bytes; None for an empty or malformed one
    /// (Kafka: an empty control batch means its transaction was cleaned away).
    pub fn from_batch(batch: &[u8]) -> Option<EndTxnMarker> {
        let records = super::batch::parse_records(batch).ok()?;
        let r = records.first()?;
        let (kind, epoch) = super::batch::read_control_record(r.key?, r.value)?;
        Some(EndTxnMarker {
            commit: kind == super::batch::CONTROL_TYPE_COMMIT,
            coordinator_epoch: epoch.unwrap_or(-1),
        })
    }
}

/// One batch of an append as the producer state sees it: its header with the offsets it is
/// written at, and the timestamp recorded for it (max timestamp, or LogAppendTime).
#[derive(Debug, Clone, Copy)]
pub struct AppendedBatch<'a> {
    pub header: &'a BatchHeader,
    pub base_offset: i64,
    pub timestamp: i64,
    /// For a control batch: its marker, if it holds one.
    pub marker: Option<EndTxnMarker>,
}

/// A transaction ended by a marker (Kafka's CompletedTxn): from its first data offset to
/// the marker's offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub is_aborted: bool,
}

/// The entries an append changes, applied only once the append is written.
#[derive(Debug, Default)]
pub struct PendingUpdate {
    entries: HashMap<i64, ProducerStateEntry>,
    /// Offset after the append's last batch.
    next_offset: i64,
    /// Transactions the append's markers end, in log order.
    completed_txns: Vec<CompletedTxn>,
}

/// The producer state of one partition.
#[derive(Debug, Default)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerStateEntry>,
    /// Offset after the last batch applied (`lastMapOffset`).
    last_map_offset: i64,
    /// Offset of the newest snapshot written or loaded (`lastSnapOffset`).
    last_snap_offset: i64,
    /// Completed transactions whose marker may not be replicated yet (`unreplicatedTxns`):
    /// first data offset → marker offset. They hold the last stable offset at their first
    /// offset until the high watermark passes the marker.
    unreplicated_txns: BTreeMap<i64, i64>,
}

impl ProducerStateManager {
    pub fn new(start_offset: i64) -> ProducerStateManager {
        ProducerStateManager {
            producers: HashMap::new(),
            last_map_offset: start_offset,
            last_snap_offset: start_offset,
            unreplicated_txns: BTreeMap::new(),
        }
    }

    /// The first offset of the earliest transaction that is open, or completed with its
    /// marker at or above `high_watermark` (firstUnstableOffset).
    pub fn first_unstable_offset(&self, high_watermark: i64) -> Option<i64> {
        let undecided = self
            .producers
            .values()
            .filter_map(|e| e.current_txn_first_offset)
            .min();
        let unreplicated = (self.unreplicated_txns.iter())
            .find(|(_, marker)| **marker >= high_watermark)
            .map(|(first, _)| *first);
        undecided.into_iter().chain(unreplicated).min()
    }

    /// The high watermark moved: transactions whose marker is below it are stable
    /// (onHighWatermarkUpdated).
    pub fn on_high_watermark_updated(&mut self, high_watermark: i64) {
        self.unreplicated_txns
            .retain(|_, marker| *marker >= high_watermark);
    }

    pub fn last_entry(&self, producer_id: i64) -> Option<&ProducerStateEntry> {
        self.producers.get(&producer_id)
    }
    pub fn active_producers(&self) -> impl Iterator<Item = &ProducerStateEntry> {
        self.producers.values()
    }
    pub fn map_end_offset(&self) -> i64 {
        self.last_map_offset
    }
    pub fn last_snap_offset(&self) -> i64 {
        self.last_snap_offset
    }
    pub fn set_last_snap_offset(&mut self, offset: i64) {
        self.last_snap_offset = offset;
    }
    pub fn set_map_end_offset(&mut self, offset: i64) {
        self.last_map_offset = offset;
    }
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// Log.maybeDuplicate: a client batch that repeats one of the producer's retained
    /// batches (same epoch, same first and last sequence).
    pub fn find_duplicate(&self, h: &BatchHeader) -> Option<BatchMetadata> {
        if h.producer_id < 0 || h.is_control() {
            return None;
        }
        self.producers.get(&h.producer_id)?.find_duplicate_batch(h)
    }

    /// Validates the producer batches of an append in order (ProducerAppendInfo) and returns
    /// the updated entries; nothing changes until `commit`.
    pub fn prepare(
        &self,
        origin: AppendOrigin,
        batches: &[AppendedBatch<'_>],
        topic_partition: &dyn std::fmt::Display,
    ) -> Result<PendingUpdate, LogError> {
        let mut pending = PendingUpdate::default();
        for b in batches {
            let last_offset = b.base_offset + b.header.last_offset_delta as i64;
            pending.next_offset = last_offset + 1;
            let pid = b.header.producer_id;
            if pid < 0 {
                continue;
            }
            let entry = match pending.entries.get_mut(&pid) {
                Some(e) => e,
                None => {
                    let current = self.producers.get(&pid).cloned();
                    let e = current.unwrap_or_else(|| ProducerStateEntry::empty(pid));
                    pending.entries.entry(pid).or_insert(e)
                }
            };
            let completed = append_batch(entry, b, last_offset, origin, topic_partition)?;
            pending.completed_txns.extend(completed);
        }
        Ok(pending)
    }

    /// Applies an append that was written (ProducerStateManager.update + updateMapEndOffset)
    /// and returns the aborted transactions it completed with the last stable offset each
    /// leaves (ProducerStateManager.lastStableOffset(completedTxn)), for the `.txnindex`.
    pub fn commit(&mut self, pending: PendingUpdate) -> Vec<AbortedTxn> {
        for (pid, entry) in pending.entries {
            self.producers.insert(pid, entry);
        }
        if pending.next_offset > self.last_map_offset {
            self.last_map_offset = pending.next_offset;
        }
        let completed = &pending.completed_txns;
        for t in completed {
            self.unreplicated_txns.insert(t.first_offset, t.last_offset);
        }
        completed
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_aborted)
            .map(|(i, t)| {
                // Still open at this marker: other producers' transactions, including those
                // whose marker comes later in the same append.
                let later = completed[i + 1..]
                    .iter()
                    .filter(|o| o.producer_id != t.producer_id)
                    .map(|o| o.first_offset);
                let open = self
                    .producers
                    .values()
                    .filter(|e| e.producer_id != t.producer_id)
                    .filter_map(|e| e.current_txn_first_offset);
                let lso = open.chain(later).min().unwrap_or(t.last_offset + 1);
                AbortedTxn {
                    producer_id: t.producer_id,
                    first_offset: t.first_offset,
                    last_offset: t.last_offset,
                    last_stable_offset: lso.min(t.last_offset + 1),
                }
            })
            .collect()
    }

    /// Replays one batch already in the log (recovery, after truncation): origin
    /// Replication, so nothing is refused, only applied. Returns the aborted transaction
    /// a marker completes (for rebuilding `.txnindex` files).
    pub fn replay(
        &mut self,
        h: &BatchHeader,
        timestamp: i64,
        marker: Option<EndTxnMarker>,
    ) -> Vec<AbortedTxn> {
        let batch = AppendedBatch {
            header: h,
            base_offset: h.base_offset,
            timestamp,
            marker,
        };
        match self.prepare(AppendOrigin::Replication, &[batch], &"replay") {
            Ok(p) => self.commit(p),
            // Replication never refuses: a transactional-state mismatch is applied as Kafka
            // does on followers, by taking the batch as written.
            Err(_) => {
                self.last_map_offset = h.last_offset() + 1;
                Vec::new()
            }
        }
    }

    /// Drops producers idle for `max_producer_id_expiration_ms` that have no open
    /// transaction (removeExpiredProducers / isProducerExpired).
    pub fn remove_expired_producers(&mut self, now_ms: i64, max_producer_id_expiration_ms: i64) {
        self.producers.retain(|_, e| {
            e.current_txn_first_offset.is_some()
                || now_ms.saturating_sub(e.last_timestamp) < max_producer_id_expiration_ms
        });
    }

    /// Replaces the whole state (snapshot load, truncation): entries and map end offset.
    pub fn reset(&mut self, entries: Vec<ProducerStateEntry>, map_end_offset: i64) {
        self.producers = entries.into_iter().map(|e| (e.producer_id, e)).collect();
        // Only called at or below the high watermark (load, truncation, log start moves).
        self.unreplicated_txns.clear();
        self.last_map_offset = map_end_offset;
        self.last_snap_offset = map_end_offset;
    }
}

/// ProducerAppendInfo.append for one batch: control batches end the open transaction (and
/// return it); data batches pass the epoch, sequence and transaction-state checks, then
/// join the entry.
fn append_batch(
    entry: &mut ProducerStateEntry,
    b: &AppendedBatch<'_>,
    last_offset: i64,
    origin: AppendOrigin,
    tp: &dyn std::fmt::Display,
) -> Result<Option<CompletedTxn>, LogError> {
    let h = b.header;
    check_producer_epoch(entry, h.producer_epoch, b.base_offset, origin, tp)?;
    if h.is_control() {
        // An empty control batch: its transaction was cleaned away, nothing to complete.
        let Some(marker) = b.marker else {
            return Ok(None);
        };
        check_coordinator_epoch(entry, &marker, b.base_offset, origin, tp)?;
        // Only a transaction with data completes (appendEndTxnMarker).
        let completed = entry.current_txn_first_offset.map(|first| CompletedTxn {
            producer_id: h.producer_id,
            first_offset: first,
            last_offset: b.base_offset,
            is_aborted: !marker.commit,
        });
        entry.maybe_update_producer_epoch(h.producer_epoch);
        entry.current_txn_first_offset = None;
        entry.coordinator_epoch = marker.coordinator_epoch;
        entry.last_timestamp = b.timestamp;
        return Ok(completed);
    }
    if origin == AppendOrigin::Client {
        check_sequence(entry, h.producer_epoch, h.base_sequence, b.base_offset, tp)?;
    }
    let batch = BatchMetadata {
        last_seq: h.last_sequence(),
        last_offset,
        offset_delta: h.last_offset_delta,
        timestamp: b.timestamp,
    };
    entry.add_batch(h.producer_epoch, batch);
    match (entry.current_txn_first_offset, h.is_transactional()) {
        (Some(_), false) if origin != AppendOrigin::Replication => {
            Err(LogError::InvalidTxnState(format!(
                "Expected transactional write from producer {} at offset {} in partition {tp}",
                h.producer_id, b.base_offset
            )))
        }
        (None, true) => {
            entry.current_txn_first_offset = Some(b.base_offset);
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// An epoch older than the stored one is fenced; replication only logs it.
fn check_producer_epoch(
    entry: &ProducerStateEntry,
    epoch: i16,
    offset: i64,
    origin: AppendOrigin,
    tp: &dyn std::fmt::Display,
) -> Result<(), LogError> {
    if epoch >= entry.producer_epoch {
        return Ok(());
    }
    let message = format!(
        "Epoch of producer {} at offset {offset} in {tp} is {epoch}, which is smaller than the last seen epoch {}",
        entry.producer_id, entry.producer_epoch
    );
    if origin == AppendOrigin::Replication {
        tracing::warn!(target: "kafka.log.ProducerStateManager", "{message}");
        return Ok(());
    }
    Err(LogError::InvalidProducerEpoch(message))
}

/// A marker from an older transaction coordinator than the last one is a zombie's
/// (checkCoordinatorEpoch); replication only logs it.
fn check_coordinator_epoch(
    entry: &ProducerStateEntry,
    marker: &EndTxnMarker,
    offset: i64,
    origin: AppendOrigin,
    tp: &dyn std::fmt::Display,
) -> Result<(), LogError> {
    if marker.coordinator_epoch >= entry.coordinator_epoch {
        return Ok(());
    }
    let (pid, theirs, ours) = (
        entry.producer_id,
        marker.coordinator_epoch,
        entry.coordinator_epoch,
    );
    if origin == AppendOrigin::Replication {
        tracing::info!(target: "kafka.log.ProducerStateManager",
            "Detected invalid coordinator epoch for producerId {pid} at offset {offset} in partition {tp}: {theirs} is older than previously known coordinator epoch {ours}");
        return Ok(());
    }
    Err(LogError::TransactionCoordinatorFenced(format!(
        "Invalid coordinator epoch for producerId {pid} at offset {offset} in partition {tp}: {theirs} (zombie), {ours} (current)"
    )))
}

/// KIP-360 rules: a new epoch starts at sequence 0 (any sequence for an unknown producer);
/// within an epoch each batch continues the last one.
fn check_sequence(
    entry: &ProducerStateEntry,
    epoch: i16,
    first_seq: i32,
    offset: i64,
    tp: &dyn std::fmt::Display,
) -> Result<(), LogError> {
    let pid = entry.producer_id;
    if epoch != entry.producer_epoch {
        if first_seq != 0 && entry.producer_epoch != NO_PRODUCER_EPOCH {
            return Err(LogError::OutOfOrderSequence(format!(
                "Invalid sequence number for new epoch of producer {pid} at offset {offset} in partition {tp}: {epoch} (request epoch), {first_seq} (seq. number), {} (current producer epoch)",
                entry.producer_epoch
            )));
        }
        return Ok(());
    }
    let last_seq = entry.last_seq();
    if entry.producer_epoch == NO_PRODUCER_EPOCH || in_sequence(last_seq, first_seq) {
        return Ok(());
    }
    Err(LogError::OutOfOrderSequence(format!(
        "Out of order sequence number for producer {pid} at offset {offset} in partition {tp}: {first_seq} (incoming seq. number), {last_seq} (current end sequence number)"
    )))
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    next_seq as i64 == last_seq as i64 + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::increment_sequence;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32) -> BatchHeader {
        BatchHeader {
            base_offset: 0,
            batch_length: 0,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            record_count: count,
        }
    }

    fn append(m: &mut ProducerStateManager, h: &BatchHeader, offset: i64) -> Result<(), LogError> {
        let b = AppendedBatch {
            header: h,
            base_offset: offset,
            timestamp: 1000,
            marker: None,
        };
        let p = m.prepare(AppendOrigin::Client, &[b], &"t-0")?;
        m.commit(p);
        Ok(())
    }

    #[test]
    fn sequences_must_follow_within_an_epoch() {
        let mut m = ProducerStateManager::new(0);
        append(&mut m, &header(7, 0, 0, 3), 0).unwrap();
        append(&mut m, &header(7, 0, 3, 2), 3).unwrap();
        let gap = append(&mut m, &header(7, 0, 9, 1), 5).unwrap_err();
        assert_eq!(gap.error_code(), 45);
        assert_eq!(m.map_end_offset(), 5);
    }

    #[test]
    fn retried_batch_is_found_with_its_offsets() {
        let mut m = ProducerStateManager::new(0);
        append(&mut m, &header(7, 0, 0, 3), 10).unwrap();
        append(&mut m, &header(7, 0, 3, 2), 13).unwrap();
        let dup = m.find_duplicate(&header(7, 0, 0, 3)).expect("duplicate");
        assert_eq!((dup.first_offset(), dup.last_offset), (10, 12));
        assert!(m.find_duplicate(&header(7, 0, 0, 2)).is_none());
        assert!(m.find_duplicate(&header(7, 1, 0, 3)).is_none());
    }

    #[test]
    fn only_five_batches_are_retained() {
        let mut m = ProducerStateManager::new(0);
        for i in 0..6 {
            append(&mut m, &header(7, 0, i, 1), i as i64).unwrap();
        }
        assert_eq!(m.last_entry(7).unwrap().batch_metadata.len(), 5);
        assert!(m.find_duplicate(&header(7, 0, 0, 1)).is_none());
        assert!(m.find_duplicate(&header(7, 0, 1, 1)).is_some());
    }

    #[test]
    fn epochs_fence_and_restart_sequences() {
        let mut m = ProducerStateManager::new(0);
        append(&mut m, &header(7, 1, 0, 1), 0).unwrap();
        let old = append(&mut m, &header(7, 0, 1, 1), 1).unwrap_err();
        assert_eq!(old.error_code(), 47);
        let bad_start = append(&mut m, &header(7, 2, 5, 1), 1).unwrap_err();
        assert_eq!(bad_start.error_code(), 45);
        append(&mut m, &header(7, 2, 0, 1), 1).unwrap();
        // An unknown producer (e.g. expired) may continue at any sequence.
        append(&mut m, &header(8, 0, 42, 1), 2).unwrap();
    }

    #[test]
    fn sequences_wrap_at_int_max() {
        assert_eq!(decrement_sequence(1, 3), i32::MAX - 1);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert!(in_sequence(i32::MAX, 0));
    }

    #[test]
    fn idle_producers_expire_unless_in_a_transaction() {
        let mut m = ProducerStateManager::new(0);
        append(&mut m, &header(7, 0, 0, 1), 0).unwrap();
        m.remove_expired_producers(1000 + 10, 10);
        assert!(m.last_entry(7).is_none());
    }

    /// A transactional data batch of one record at `offset`.
    fn txn_data(m: &mut ProducerStateManager, pid: i64, seq: i32, offset: i64) {
        let mut h = header(pid, 0, seq, 1);
        h.attributes = 0x10;
        append(m, &h, offset).unwrap();
    }

    /// A COMMIT marker at `offset` from coordinator epoch `coordinator_epoch`.
    fn commit_marker(
        m: &mut ProducerStateManager,
        pid: i64,
        coordinator_epoch: i32,
        offset: i64,
        origin: AppendOrigin,
    ) -> Result<Vec<AbortedTxn>, LogError> {
        let mut h = header(pid, 0, -1, 1);
        h.attributes = 0x30;
        let b = AppendedBatch {
            header: &h,
            base_offset: offset,
            timestamp: 1000,
            marker: Some(EndTxnMarker {
                commit: true,
                coordinator_epoch,
            }),
        };
        let p = m.prepare(origin, &[b], &"t-0")?;
        Ok(m.commit(p))
    }

    #[test]
    fn markers_from_an_older_coordinator_are_fenced() {
        let mut m = ProducerStateManager::new(0);
        txn_data(&mut m, 7, 0, 0);
        commit_marker(&mut m, 7, 5, 1, AppendOrigin::Coordinator).unwrap();
        assert_eq!(m.last_entry(7).unwrap().coordinator_epoch, 5);
        txn_data(&mut m, 7, 1, 2);
        let zombie = commit_marker(&mut m, 7, 4, 3, AppendOrigin::Coordinator).unwrap_err();
        assert_eq!(zombie.error_code(), 52);
        assert_eq!(
            m.first_unstable_offset(2),
            Some(2),
            "the transaction stays open"
        );
        assert_eq!(m.map_end_offset(), 3, "nothing applied");
        // A follower takes what its leader wrote.
        commit_marker(&mut m, 7, 4, 3, AppendOrigin::Replication).unwrap();
        commit_marker(&mut m, 7, 5, 4, AppendOrigin::Coordinator).unwrap();
    }

    #[test]
    fn completed_transactions_are_unstable_until_the_high_watermark_passes_the_marker() {
        let mut m = ProducerStateManager::new(0);
        txn_data(&mut m, 7, 0, 0);
        txn_data(&mut m, 8, 0, 1);
        assert_eq!(m.first_unstable_offset(0), Some(0));
        commit_marker(&mut m, 7, 0, 2, AppendOrigin::Coordinator).unwrap();
        // Producer 7's marker (offset 2) is not replicated while the high watermark is <= 2.
        assert_eq!(m.first_unstable_offset(2), Some(0));
        m.on_high_watermark_updated(2);
        assert_eq!(m.first_unstable_offset(2), Some(0));
        m.on_high_watermark_updated(3);
        assert_eq!(
            m.first_unstable_offset(3),
            Some(1),
            "producer 8 is still open"
        );
        commit_marker(&mut m, 8, 0, 3, AppendOrigin::Coordinator).unwrap();
        assert_eq!(m.first_unstable_offset(3), Some(1));
        assert_eq!(
            m.first_unstable_offset(4),
            None,
            "marker below the high watermark"
        );
        m.on_high_watermark_updated(4);
        assert!(m.unreplicated_txns.is_empty());
    }
}
