//! Committed offsets (GroupCoordinator.scala handleCommitOffsets, handleFetchOffsets,
//! handleDeleteOffsets and the KIP-211 expiry task).

use super::coordinator::{touch, FetchedOffset, GroupCoordinator, PartitionCodes};
use super::errors;
use super::group::{CommitRecordOffset, Group, GroupState};
use super::records::{self, OffsetAndMetadata};
use crate::controller::now_ms;

impl GroupCoordinator {
    /// OffsetCommit v1+: per-partition error codes.
    pub async fn commit_offsets(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        offsets: Vec<((String, i32), OffsetAndMetadata)>,
    ) -> PartitionCodes {
        let all = |code: i16| offsets.iter().map(|(k, _)| (k.clone(), code)).collect();
        let group = match self.lookup(group_id) {
            Err(code) => return all(code),
            Ok(Some(g)) => g,
            // No group: a "simple" consumer storing offsets only, unless it claims a generation.
            Ok(None) if generation < 0 => self.manager.get_or_create_group(group_id),
            Ok(None) => return all(errors::ILLEGAL_GENERATION),
        };
        let (partition, valid, mut results) = {
            let mut g = group.lock().expect("group lock");
            let refused = if g.is(GroupState::Dead) {
                Some(errors::COORDINATOR_NOT_AVAILABLE)
            } else if g.is_fenced(instance_id, member_id) {
                Some(errors::FENCED_INSTANCE_ID)
            } else if generation < 0 && g.is(GroupState::Empty) {
                None
            } else if !g.has(member_id) {
                Some(errors::UNKNOWN_MEMBER_ID)
            } else if generation != g.generation_id {
                Some(errors::ILLEGAL_GENERATION)
            } else if g.is(GroupState::CompletingRebalance) {
                Some(errors::REBALANCE_IN_PROGRESS)
            } else {
                touch(&mut g, member_id);
                None
            };
            if let Some(code) = refused {
                return all(code);
            }
            let (valid, results) = split_oversized(offsets, self.config.metadata_max_bytes);
            g.pending_offset_commits += 1;
            (g.partition, valid, results)
        };
        let recs = commit_records(group_id, &valid);
        let appended = if valid.is_empty() {
            Ok(-1)
        } else {
            self.manager
                .append(
                    partition,
                    recs,
                    self.config.commit_required_acks,
                    self.config.commit_timeout,
                )
                .await
        };
        let mut g = group.lock().expect("group lock");
        g.pending_offset_commits -= 1;
        let (code, written_at) = match appended {
            Ok(at) => (errors::NONE, at),
            Err(c) => (errors::map_commit_append_error(c), -1),
        };
        for (k, offset) in valid {
            if code == errors::NONE && !g.is(GroupState::Dead) {
                let c = CommitRecordOffset {
                    batch_offset: written_at,
                    offset,
                };
                g.commit_offset(k.clone(), c);
            }
            results.push((k, code));
        }
        results
    }

    /// OffsetFetch v1+: (group error, offsets). `None` partitions = all committed ones.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<Vec<(String, i32)>>,
        require_stable: bool,
    ) -> (i16, Vec<FetchedOffset>) {
        let group = match self.lookup(group_id) {
            Err(code) => return (code, Vec::new()),
            Ok(g) => g,
        };
        let guard = group.as_ref().map(|g| g.lock().expect("group lock"));
        let offsets = guard
            .as_ref()
            .filter(|g| !g.is(GroupState::Dead))
            .map(|g| &g.offsets);
        // KIP-447: a partition with transactional offsets waiting for their marker has no
        // stable offset yet (GroupMetadata.hasPendingOffsetCommitsForTopicPartition).
        let unstable = |k: &(String, i32)| {
            require_stable
                && guard
                    .as_ref()
                    .is_some_and(|g| !g.is(GroupState::Dead) && g.has_pending_txn_offsets(k))
        };
        let one = |(t, p): (String, i32)| {
            let key = (t, p);
            if unstable(&key) {
                return FetchedOffset {
                    offset: -1,
                    leader_epoch: -1,
                    metadata: String::new(),
                    topic: key.0,
                    partition: p,
                    error: errors::UNSTABLE_OFFSET_COMMIT,
                };
            }
            let o = offsets.and_then(|m| m.get(&key));
            let t = key.0;
            FetchedOffset {
                offset: o.map_or(-1, |o| o.offset),
                leader_epoch: o.and_then(|o| o.leader_epoch).unwrap_or(-1),
                metadata: o.map(|o| o.metadata.clone()).unwrap_or_default(),
                topic: t,
                partition: p,
                error: errors::NONE,
            }
        };
        let list = match partitions {
            Some(ps) => ps.into_iter().map(one).collect(),
            None => {
                let mut keys: Vec<(String, i32)> = offsets
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                keys.sort();
                keys.into_iter().map(one).collect()
            }
        };
        (errors::NONE, list)
    }

    /// OffsetDelete: (group error, per-partition errors).
    pub fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> (i16, PartitionCodes) {
        let group = match self.lookup(group_id) {
            Err(code) => return (code, Vec::new()),
            Ok(None) => return (errors::GROUP_ID_NOT_FOUND, Vec::new()),
            Ok(Some(g)) => g,
        };
        let mut g = group.lock().expect("group lock");
        let (eligible, mut results): (Vec<_>, Vec<_>) = match g.state {
            GroupState::Dead => return (errors::GROUP_ID_NOT_FOUND, Vec::new()),
            GroupState::Empty => (partitions.to_vec(), Vec::new()),
            _ if g.protocol_type.as_deref() == Some("consumer") => {
                let subscribed =
                    |t: &str| g.subscribed_topics.as_ref().is_some_and(|s| s.contains(t));
                let (consumed, free): (Vec<_>, Vec<_>) =
                    partitions.iter().cloned().partition(|(t, _)| subscribed(t));
                let errs = consumed
                    .into_iter()
                    .map(|k| (k, errors::GROUP_SUBSCRIBED_TO_TOPIC))
                    .collect();
                (free, errs)
            }
            _ => return (errors::NON_EMPTY_GROUP, Vec::new()),
        };
        for k in &eligible {
            g.offsets.remove(k);
            g.offsets_written_at.remove(k);
        }
        self.spawn_tombstones(&g, eligible.clone(), false);
        results.extend(eligible.into_iter().map(|k| (k, errors::NONE)));
        (errors::NONE, results)
    }

    /// Tombstones for offsets (and the group record when `group_too` and it ever had a
    /// generation), appended with acks=0 as Kafka's cleanupGroupMetadata does.
    pub(crate) fn spawn_tombstones(&self, g: &Group, offsets: Vec<(String, i32)>, group_too: bool) {
        let mut recs: Vec<(Vec<u8>, Option<Vec<u8>>)> = offsets
            .iter()
            .map(|(t, p)| (records::offset_commit_key(&g.group_id, t, *p), None))
            .collect();
        if group_too && g.generation_id > 0 {
            recs.push((records::group_metadata_key(&g.group_id), None));
        }
        if recs.is_empty() {
            return;
        }
        let (manager, partition, timeout) = (
            self.manager.clone(),
            g.partition,
            self.config.commit_timeout,
        );
        tokio::spawn(async move {
            if let Err(code) = manager.append(partition, recs, 0, timeout).await {
                tracing::warn!(target: "kafka.coordinator.group.GroupMetadataManager",
                    "cannot write tombstones to __consumer_offsets-{partition}: {}", crate::server::errors::name(code));
            }
        });
    }

    pub(crate) fn expire_offsets(&self) {
        let now = now_ms();
        for group in self.manager.all_groups() {
            let mut g = group.lock().expect("group lock");
            let expired = g.remove_expired_offsets(now, self.config.retention_ms);
            let drop_group = g.is(GroupState::Empty) && g.offsets.is_empty();
            if !expired.is_empty() {
                tracing::info!(target: "kafka.coordinator.group.GroupMetadataManager",
                    "Removed {} expired offsets of group {}", expired.len(), g.group_id);
            }
            if drop_group {
                g.transition_to(
                    GroupState::Dead,
                    now_ms(),
                    "empty and all its offsets expired",
                );
                self.manager.remove_group(&g.group_id.clone());
            }
            self.spawn_tombstones(&g, expired, drop_group);
        }
    }
}

type Offsets = Vec<((String, i32), OffsetAndMetadata)>;

/// Splits a commit into the offsets to write and OFFSET_METADATA_TOO_LARGE results for those
/// whose metadata exceeds `offset.metadata.max.bytes` (plain and transactional commits alike).
pub(super) fn split_oversized(offsets: Offsets, max: usize) -> (Offsets, PartitionCodes) {
    let (valid, too_large): (Offsets, Offsets) = offsets
        .into_iter()
        .partition(|(_, o)| o.metadata.len() <= max);
    let results = too_large
        .into_iter()
        .map(|(k, _)| (k, errors::OFFSET_METADATA_TOO_LARGE))
        .collect();
    (valid, results)
}

/// The `__consumer_offsets` records of a commit: one offset-commit key/value per partition.
pub(super) fn commit_records(group_id: &str, valid: &Offsets) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    valid
        .iter()
        .map(|((t, p), o)| {
            (
                records::offset_commit_key(group_id, t, *p),
                Some(records::offset_commit_value(o)),
            )
        })
        .collect()
}
