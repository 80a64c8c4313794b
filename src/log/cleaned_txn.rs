//! The cleaner's view of transactions (LogCleaner.scala `CleanedTransactionMetadata`).
//! Walking a log in offset order, it tells which data batches belong to an aborted
//! transaction (to be discarded), which markers may go (none of their transaction's
//! batches remain), and which aborted transactions the cleaned segment's `.txnindex` keeps.
//! Also the producer bookkeeping the cleaner must respect (`lastRecordsOfActiveProducers`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use super::batch::{BatchHeader, CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT};
use super::txn_index::AbortedTxn;

/// An aborted transaction the cleaner has entered and the last of its batches seen so far.
#[derive(Debug)]
struct AbortedTransactionMetadata {
    aborted_txn: AbortedTxn,
    last_observed_batch_offset: Option<i64>,
}

/// Transaction state carried across the segments (and groups) of one cleaning pass.
#[derive(Debug, Default)]
pub struct CleanedTransactionMetadata {
    ongoing_committed_txns: HashSet<i64>,
    ongoing_aborted_txns: HashMap<i64, AbortedTransactionMetadata>,
    /// Min-heap by first offset: (first offset, producer id, last offset, LSO).
    aborted_transactions: BinaryHeap<Reverse<(i64, i64, i64, i64)>>,
    /// Aborted transactions whose marker stays in the segment being written.
    cleaned_index: Vec<AbortedTxn>,
}

impl CleanedTransactionMetadata {
    pub fn add_aborted_transactions(&mut self, txns: &[AbortedTxn]) {
        for t in txns {
            let key = (
                t.first_offset,
                t.producer_id,
                t.last_offset,
                t.last_stable_offset,
            );
            self.aborted_transactions.push(Reverse(key));
        }
    }

    /// The aborted transactions retained in the output segment so far, in marker order
    /// (for its `.txnindex`); the next output segment starts empty.
    pub fn take_cleaned_index(&mut self) -> Vec<AbortedTxn> {
        std::mem::take(&mut self.cleaned_index)
    }

    /// A control batch was read: returns whether it may be discarded. `marker` is the
    /// control type of its record (None for an empty batch, which an earlier clean left).
    pub fn on_control_batch_read(&mut self, h: &BatchHeader, marker: Option<i16>) -> bool {
        self.consume_aborted_txns_up_to(h.last_offset());
        let Some(kind) = marker else {
            return h.record_count == 0;
        };
        match kind {
            CONTROL_TYPE_ABORT => match self.ongoing_aborted_txns.remove(&h.producer_id) {
                // Kept until every batch of the transaction is gone; one may survive as the
                // producer's last batch (retained empty).
                Some(m) if m.last_observed_batch_offset.is_some() => {
                    self.cleaned_index.push(m.aborted_txn);
                    false
                }
                _ => true,
            },
            // Discardable when no batch of the transaction was traversed.
            CONTROL_TYPE_COMMIT => !self.ongoing_committed_txns.remove(&h.producer_id),
            _ => false,
        }
    }

    /// A data batch was read: returns whether it belongs to an aborted transaction.
    pub fn on_batch_read(&mut self, h: &BatchHeader) -> bool {
        self.consume_aborted_txns_up_to(h.last_offset());
        if !h.is_transactional() {
            return false;
        }
        match self.ongoing_aborted_txns.get_mut(&h.producer_id) {
            Some(m) => {
                m.last_observed_batch_offset = Some(h.last_offset());
                true
            }
            None => {
                self.ongoing_committed_txns.insert(h.producer_id);
                false
            }
        }
    }

    fn consume_aborted_txns_up_to(&mut self, offset: i64) {
        while let Some(Reverse((first, pid, last, lso))) = self.aborted_transactions.peek() {
            if *first > offset {
                break;
            }
            let aborted_txn = AbortedTxn {
                producer_id: *pid,
                first_offset: *first,
                last_offset: *last,
                last_stable_offset: *lso,
            };
            self.aborted_transactions.pop();
            self.ongoing_aborted_txns
                .entry(aborted_txn.producer_id)
                .or_insert(AbortedTransactionMetadata {
                    aborted_txn,
                    last_observed_batch_offset: None,
                });
        }
    }
}

/// What the cleaner keeps of an active producer (Log.lastRecordsOfActiveProducers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastRecord {
    pub last_data_offset: Option<i64>,
    pub producer_epoch: i16,
}

/// Whether the batch holds a producer's last state, so it is kept (empty if need be): the
/// batch with its last data offset (its last sequence), or, when the producer's last entry
/// is a marker, that marker (its epoch fences zombies).
pub fn is_batch_last_record_of_producer(
    last_records: &HashMap<i64, LastRecord>,
    h: &BatchHeader,
) -> bool {
    last_records
        .get(&h.producer_id)
        .is_some_and(|last| match last.last_data_offset {
            Some(offset) => h.last_offset() == offset,
            None => h.is_control() && h.producer_epoch == last.producer_epoch,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{CONTROL_MASK, TRANSACTIONAL_MASK};

    fn header(pid: i64, base: i64, last_delta: i32, attributes: i16, count: i32) -> BatchHeader {
        BatchHeader {
            base_offset: base,
            batch_length: 0,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes,
            last_offset_delta: last_delta,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: 0,
            base_sequence: 0,
            record_count: count,
        }
    }
    fn data(pid: i64, base: i64) -> BatchHeader {
        header(pid, base, 1, TRANSACTIONAL_MASK, 2)
    }
    fn marker(pid: i64, at: i64) -> BatchHeader {
        header(pid, at, 0, TRANSACTIONAL_MASK | CONTROL_MASK, 1)
    }

    #[test]
    fn aborted_batches_go_and_their_marker_stays_while_one_was_seen() {
        let mut m = CleanedTransactionMetadata::default();
        let aborted = AbortedTxn {
            producer_id: 1,
            first_offset: 0,
            last_offset: 4,
            last_stable_offset: 0,
        };
        m.add_aborted_transactions(&[aborted]);
        assert!(m.on_batch_read(&data(1, 0)), "pid 1 is aborted");
        assert!(!m.on_batch_read(&data(2, 2)), "pid 2 commits");
        assert!(!m.on_control_batch_read(&marker(1, 4), Some(CONTROL_TYPE_ABORT)));
        assert!(!m.on_control_batch_read(&marker(2, 5), Some(CONTROL_TYPE_COMMIT)));
        assert_eq!(m.take_cleaned_index(), vec![aborted]);
        // A later pass: the batches are gone, so are both markers' reasons to stay.
        let mut m = CleanedTransactionMetadata::default();
        m.add_aborted_transactions(&[aborted]);
        assert!(m.on_control_batch_read(&marker(1, 4), Some(CONTROL_TYPE_ABORT)));
        assert!(m.on_control_batch_read(&marker(2, 5), Some(CONTROL_TYPE_COMMIT)));
        assert!(m.take_cleaned_index().is_empty());
        let empty = header(3, 6, 0, TRANSACTIONAL_MASK | CONTROL_MASK, 0);
        assert!(m.on_control_batch_read(&empty, None));
    }

    #[test]
    fn the_last_batch_of_an_active_producer_is_recognised() {
        let mut last = HashMap::new();
        last.insert(
            1,
            LastRecord {
                last_data_offset: Some(1),
                producer_epoch: 0,
            },
        );
        last.insert(
            2,
            LastRecord {
                last_data_offset: None,
                producer_epoch: 0,
            },
        );
        assert!(is_batch_last_record_of_producer(&last, &data(1, 0)));
        assert!(!is_batch_last_record_of_producer(&last, &data(1, 2)));
        assert!(is_batch_last_record_of_producer(&last, &marker(2, 9)));
        assert!(!is_batch_last_record_of_producer(&last, &data(2, 7)));
        assert!(!is_batch_last_record_of_producer(&last, &data(3, 0)));
    }
}
