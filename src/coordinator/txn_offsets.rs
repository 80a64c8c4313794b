//! Transactional offset commits (GroupCoordinator.handleTxnCommitOffsets and
//! GroupMetadata's pending transactional offsets): TxnOffsetCommit writes the offsets as
//! part of the producer's transaction; they become the group's committed offsets when the
//! COMMIT marker reaches `__consumer_offsets`, and are dropped on ABORT.

use super::coordinator::{GroupCoordinator, PartitionCodes};
use super::errors;
use super::group::{CommitRecordOffset, GroupState};
use super::offsets::{commit_records, split_oversized};
use super::records::OffsetAndMetadata;

/// The producer and group member a TxnOffsetCommit comes from.
pub struct TxnCommitter<'a> {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub member_id: &'a str,
    pub group_instance_id: Option<&'a str>,
    pub generation_id: i32,
}

impl GroupCoordinator {
    /// TxnOffsetCommit: per-partition error codes.
    pub async fn commit_txn_offsets(
        &self,
        group_id: &str,
        who: &TxnCommitter<'_>,
        offsets: Vec<((String, i32), OffsetAndMetadata)>,
    ) -> PartitionCodes {
        let all = |code: i16| offsets.iter().map(|(k, _)| (k.clone(), code)).collect();
        let group = match self.lookup(group_id) {
            Err(code) => return all(code),
            Ok(Some(g)) => g,
            Ok(None) => self.manager.get_or_create_group(group_id),
        };
        let (partition, valid, mut results) = {
            let g = group.lock().expect("group lock");
            let refused = if g.is(GroupState::Dead) {
                Some(errors::COORDINATOR_NOT_AVAILABLE)
            } else if g.is_fenced(who.group_instance_id, who.member_id) {
                Some(errors::FENCED_INSTANCE_ID)
            } else if !who.member_id.is_empty() && !g.has(who.member_id) {
                Some(errors::UNKNOWN_MEMBER_ID)
            } else if who.generation_id >= 0 && who.generation_id != g.generation_id {
                Some(errors::ILLEGAL_GENERATION)
            } else {
                None
            };
            if let Some(code) = refused {
                return all(code);
            }
            let (valid, results) = split_oversized(offsets, self.config.metadata_max_bytes);
            (g.partition, valid, results)
        };
        let recs = commit_records(group_id, &valid);
        let appended = if valid.is_empty() {
            Ok(-1)
        } else {
            self.manager
                .append_transactional(
                    partition,
                    recs,
                    (who.producer_id, who.producer_epoch),
                    self.config.commit_timeout,
                )
                .await
        };
        let (code, written_at) = match appended {
            Ok(at) => (errors::NONE, at),
            Err(c) => (errors::map_commit_append_error(c), -1),
        };
        let mut g = group.lock().expect("group lock");
        for (k, offset) in valid {
            if code == errors::NONE {
                let c = CommitRecordOffset {
                    batch_offset: written_at,
                    offset,
                };
                g.pending_txn_offsets
                    .entry(who.producer_id)
                    .or_default()
                    .insert(k.clone(), c);
            }
            results.push((k, code));
        }
        results
    }

    /// A marker of `producer_id`'s transaction was written to `__consumer_offsets-<partition>`:
    /// its pending offsets in that partition's groups become committed (unless a commit written
    /// later is), or are dropped. While the partition is still loading nothing is done here:
    /// the marker is already in the log, and the load reads up to the log end before it
    /// installs the groups.
    pub fn complete_pending_txn_offsets(&self, partition: i32, producer_id: i64, commit: bool) {
        self.manager.while_loaded(partition, || {
            for group in self.manager.all_groups() {
                let mut g = group.lock().expect("group lock");
                if g.partition != partition {
                    continue;
                }
                let Some(pending) = g.pending_txn_offsets.remove(&producer_id) else {
                    continue;
                };
                if commit && !g.is(GroupState::Dead) {
                    for (k, c) in pending {
                        g.commit_offset(k, c);
                    }
                }
            }
        });
    }
}
