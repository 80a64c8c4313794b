//! SyncGroup (GroupCoordinator.scala handleSyncGroup): followers wait for the leader's
//! assignment, which is persisted to `__consumer_offsets` before anyone gets theirs.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::coordinator::GroupCoordinator;
use super::errors;
use super::group::{Group, GroupState};
use super::join::{reset_and_propagate_assignment_error, SyncParams};
use super::member::SyncResult;
use super::records;
use crate::controller::now_ms;

impl GroupCoordinator {
    pub async fn sync_group(&self, p: SyncParams) -> SyncResult {
        match self.manager.check_owned(&p.group_id) {
            Ok(()) => {}
            Err(errors::COORDINATOR_LOAD_IN_PROGRESS) => {
                return SyncResult::error(errors::REBALANCE_IN_PROGRESS)
            }
            Err(code) => return SyncResult::error(code),
        }
        if p.group_id.is_empty() {
            return SyncResult::error(errors::INVALID_GROUP_ID);
        }
        let Some(group) = self.manager.get_group(&p.group_id) else {
            return SyncResult::error(errors::UNKNOWN_MEMBER_ID);
        };
        let rx = {
            let mut guard = group.lock().expect("group lock");
            let g = &mut *guard;
            let immediate = if g.is(GroupState::Dead) {
                Some(errors::COORDINATOR_NOT_AVAILABLE)
            } else if g.is_fenced(p.group_instance_id.as_deref(), &p.member_id) {
                Some(errors::FENCED_INSTANCE_ID)
            } else if !g.has(&p.member_id) {
                Some(errors::UNKNOWN_MEMBER_ID)
            } else if p.generation_id != g.generation_id {
                Some(errors::ILLEGAL_GENERATION)
            } else if p.protocol_type.is_some() && p.protocol_type != g.protocol_type
                || p.protocol_name.is_some() && p.protocol_name != g.protocol_name
            {
                Some(errors::INCONSISTENT_GROUP_PROTOCOL)
            } else {
                match g.state {
                    GroupState::Empty => Some(errors::UNKNOWN_MEMBER_ID),
                    GroupState::PreparingRebalance => Some(errors::REBALANCE_IN_PROGRESS),
                    _ => None,
                }
            };
            if let Some(code) = immediate {
                return SyncResult::error(code);
            }
            if g.is(GroupState::Stable) {
                let m = g.members.get_mut(&p.member_id).expect("checked");
                m.heartbeat_deadline =
                    Instant::now() + Duration::from_millis(m.session_timeout_ms.max(0) as u64);
                return SyncResult {
                    error: errors::NONE,
                    protocol_type: g.protocol_type.clone(),
                    protocol_name: g.protocol_name.clone(),
                    assignment: m.assignment.clone(),
                };
            }
            // CompletingRebalance: park until the leader's assignment is stored.
            let (tx, rx) = oneshot::channel();
            g.members
                .get_mut(&p.member_id)
                .expect("checked")
                .awaiting_sync = Some(tx);
            if g.is_leader(&p.member_id) {
                self.store_leader_assignment(g, &p);
            }
            rx
        };
        rx.await
            .unwrap_or_else(|_| SyncResult::error(errors::REBALANCE_IN_PROGRESS))
    }

    /// The leader's SyncGroup: persist the group with its assignments; on success everyone
    /// gets theirs and the group is Stable, on failure everyone gets the error and the group
    /// rebalances again.
    fn store_leader_assignment(&self, g: &mut Group, p: &SyncParams) {
        let mut assignment = p.assignments.clone();
        for id in g.members.keys() {
            assignment.entry(id.clone()).or_default();
        }
        let mut record = g.to_record();
        for m in &mut record.members {
            m.assignment = assignment
                .get(&m.member_id)
                .map(|a| a.to_vec())
                .unwrap_or_default();
        }
        let generation = g.generation_id;
        let group_id = g.group_id.clone();
        let me = self.clone_handle();
        let partition = g.partition;
        tokio::spawn(async move {
            let code = me.store_group(partition, &group_id, &record).await;
            let Some(group) = me.manager.get_group(&group_id) else {
                return;
            };
            let mut g = group.lock().expect("group lock");
            // The group may have moved on (a new member joined) while we were appending.
            if !g.is(GroupState::CompletingRebalance) || g.generation_id != generation {
                return;
            }
            if code != errors::NONE {
                reset_and_propagate_assignment_error(&mut g, code);
                me.maybe_prepare_rebalance(&mut g, "error storing the group assignment");
                return;
            }
            let ids: Vec<String> = g.members.keys().cloned().collect();
            let (pt, pn) = (g.protocol_type.clone(), g.protocol_name.clone());
            for id in ids {
                let m = g.members.get_mut(&id).expect("listed");
                m.assignment = assignment.get(&id).cloned().unwrap_or_default();
                let a = m.assignment.clone();
                m.complete_sync(SyncResult {
                    error: errors::NONE,
                    protocol_type: pt.clone(),
                    protocol_name: pn.clone(),
                    assignment: a,
                });
            }
            g.transition_to(
                GroupState::Stable,
                now_ms(),
                "the leader's assignment was stored",
            );
        });
    }

    /// Appends the group's metadata record; returns the mapped error (NONE on success).
    pub(crate) async fn store_group(
        &self,
        partition: i32,
        group_id: &str,
        record: &records::GroupRecord,
    ) -> i16 {
        let key = records::group_metadata_key(group_id);
        let value = records::group_metadata_value(record);
        match self
            .manager
            .append(
                partition,
                vec![(key, Some(value))],
                self.config.commit_required_acks,
                self.config.commit_timeout,
            )
            .await
        {
            Ok(_) => errors::NONE,
            Err(code) => {
                let mapped = errors::map_group_append_error(code);
                tracing::warn!(target: "kafka.coordinator.group.GroupMetadataManager",
                    "Failed to write group metadata of {group_id} ({}, answered as {})", crate::server::errors::name(code), crate::server::errors::name(mapped));
                mapped
            }
        }
    }
}
