//! Reading a `__consumer_offsets` partition into groups and offsets
//! (GroupMetadataManager.loadGroupsAndOffsets): the latest record per key wins, and offsets
//! written by a transaction (TxnOffsetCommit) stay pending until their producer's marker:
//! COMMIT makes them committed unless a newer commit of the same partition was read, ABORT
//! drops them, and those without a marker yet are kept pending on the loaded group.

use std::collections::HashMap;

use super::group::CommitRecordOffset;
use super::records::{self, GroupRecord, RecordKey};
use crate::log::batch::{parse_records, read_control_record, BatchHeader, CONTROL_TYPE_COMMIT};

/// (topic, partition).
pub type PartitionKey = (String, i32);

/// What one partition holds, as read so far.
#[derive(Debug, Default)]
pub struct LoadedPartition {
    /// Group metadata per group; None = removed (tombstone).
    pub groups: HashMap<String, Option<GroupRecord>>,
    /// Committed offsets per group.
    pub offsets: HashMap<String, HashMap<PartitionKey, CommitRecordOffset>>,
    /// Transactional offsets per producer id, per group, waiting for their marker.
    pub pending: HashMap<i64, HashMap<String, HashMap<PartitionKey, CommitRecordOffset>>>,
    /// The offset to read on from (None: the log start offset).
    pub next: Option<i64>,
}

impl LoadedPartition {
    /// Applies one batch (`bytes` is the whole batch). Err only for a record value that does
    /// not decode; an unknown key is logged and skipped.
    pub fn apply_batch(&mut self, h: &BatchHeader, bytes: &[u8], tp: &str) -> Result<(), String> {
        if h.is_control() {
            self.apply_marker(h, bytes);
            return Ok(());
        }
        let recs = match parse_records(bytes) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(target: "kafka.coordinator.group.GroupMetadataManager",
                    "skipping unreadable batch at offset {} of {tp}: {e}", h.base_offset);
                return Ok(());
            }
        };
        let txn_pid = h.is_transactional().then_some(h.producer_id);
        for r in recs {
            let Some(key) = r.key else { continue };
            match records::read_key(key) {
                Ok(RecordKey::Offset {
                    group,
                    topic,
                    partition,
                }) => {
                    let v = r.value.map(records::read_offset_value).transpose()?;
                    let target = match txn_pid {
                        Some(pid) => self.pending.entry(pid).or_default(),
                        None => &mut self.offsets,
                    };
                    let group_offsets = target.entry(group).or_default();
                    match v {
                        Some(offset) => {
                            let loaded = CommitRecordOffset {
                                batch_offset: h.base_offset,
                                offset,
                            };
                            group_offsets.insert((topic, partition), loaded);
                        }
                        None => {
                            group_offsets.remove(&(topic, partition));
                        }
                    }
                }
                Ok(RecordKey::Group { group }) => {
                    let v = r.value.map(records::read_group_value).transpose()?;
                    self.groups.insert(group, v);
                }
                Err(e) => {
                    tracing::warn!(target: "kafka.coordinator.group.GroupMetadataManager",
                        "unknown key in {tp}: {e}")
                }
            }
        }
        Ok(())
    }

    /// A transaction marker: the producer's pending offsets become committed on COMMIT
    /// (unless older than the partition's committed one) and are dropped otherwise. An empty
    /// control batch (cleaned) leaves them pending, as Kafka does.
    fn apply_marker(&mut self, h: &BatchHeader, bytes: &[u8]) {
        let Some(commit) = parse_records(bytes).ok().and_then(|r| {
            let r = r.first()?;
            read_control_record(r.key?, r.value).map(|(t, _)| t == CONTROL_TYPE_COMMIT)
        }) else {
            return;
        };
        let Some(pending) = self.pending.remove(&h.producer_id) else {
            return;
        };
        if !commit {
            return;
        }
        for (group, offsets) in pending {
            let committed = self.offsets.entry(group).or_default();
            for (k, o) in offsets {
                if committed
                    .get(&k)
                    .is_none_or(|c| c.batch_offset < o.batch_offset)
                {
                    committed.insert(k, o);
                }
            }
        }
    }

    /// Every group named by a record, sorted.
    pub fn group_names(&self) -> Vec<String> {
        let pending = self.pending.values().flat_map(|m| m.keys());
        let mut names: Vec<String> = (self.groups.keys())
            .chain(self.offsets.keys())
            .chain(pending)
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// One group's committed offsets.
    pub fn committed(&self, group: &str) -> HashMap<PartitionKey, CommitRecordOffset> {
        self.offsets.get(group).cloned().unwrap_or_default()
    }

    /// One group's transactional offsets still waiting for a marker, per producer id.
    pub fn pending_for(
        &self,
        group: &str,
    ) -> HashMap<i64, HashMap<PartitionKey, CommitRecordOffset>> {
        let mut out = HashMap::new();
        for (pid, groups) in &self.pending {
            if let Some(m) = groups.get(group).filter(|m| !m.is_empty()) {
                out.insert(*pid, m.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::records::OffsetAndMetadata;
    use crate::log::batch::{build_batch, end_transaction_marker_batch, set_transactional};

    fn offset(o: i64) -> OffsetAndMetadata {
        OffsetAndMetadata {
            offset: o,
            leader_epoch: None,
            metadata: String::new(),
            commit_timestamp: 1,
            expire_timestamp: None,
        }
    }

    /// Applies a batch as if it were at `at` in the log.
    fn apply(l: &mut LoadedPartition, mut batch: Vec<u8>, at: i64, txn: Option<i64>) {
        if let Some(pid) = txn {
            set_transactional(&mut batch, pid, 0);
        }
        let mut h = BatchHeader::parse(&batch);
        h.base_offset = at;
        l.apply_batch(&h, &batch, "__consumer_offsets-0").unwrap();
    }

    /// Group "g" commits `o` for t-0 at log offset `at`, in producer `txn`'s transaction.
    fn commit(l: &mut LoadedPartition, o: i64, at: i64, txn: Option<i64>) {
        let key = records::offset_commit_key("g", "t", 0);
        let value = records::offset_commit_value(&offset(o));
        let batch = build_batch(0, 0, &[(1, Some(&key[..]), Some(&value[..]), &[][..])]);
        apply(l, batch, at, txn);
    }

    fn marker(l: &mut LoadedPartition, pid: i64, commit: bool, at: i64) {
        apply(
            l,
            end_transaction_marker_batch(pid, 0, commit, 0, 1),
            at,
            None,
        );
    }

    fn committed(l: &LoadedPartition) -> Option<i64> {
        l.committed("g")
            .get(&("t".to_string(), 0))
            .map(|c| c.offset.offset)
    }

    #[test]
    fn transactional_offsets_wait_for_their_marker() {
        let mut l = LoadedPartition::default();
        commit(&mut l, 5, 0, None);
        commit(&mut l, 42, 1, Some(7));
        commit(&mut l, 43, 2, Some(8));
        assert_eq!(committed(&l), Some(5));
        let pending = l.pending_for("g");
        assert_eq!(pending[&7][&("t".to_string(), 0)].offset.offset, 42);
        marker(&mut l, 7, true, 3);
        assert_eq!(committed(&l), Some(42));
        marker(&mut l, 8, false, 4);
        assert_eq!(committed(&l), Some(42), "an aborted offset never counts");
        assert!(l.pending_for("g").is_empty());
        assert_eq!(l.group_names(), vec!["g".to_string()]);
    }

    #[test]
    fn a_commit_written_after_the_transactional_one_wins() {
        let mut l = LoadedPartition::default();
        commit(&mut l, 42, 0, Some(7));
        commit(&mut l, 50, 1, None);
        marker(&mut l, 7, true, 2);
        assert_eq!(committed(&l), Some(50));
        // Pending offsets of a group with no other record still name it.
        commit(&mut l, 60, 3, Some(9));
        assert_eq!(l.pending_for("g")[&9].len(), 1);
    }
}
