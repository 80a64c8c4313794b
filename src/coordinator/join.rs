//! JoinGroup, SyncGroup and the rebalance itself (GroupCoordinator.scala handleJoinGroup,
//! handleSyncGroup, prepareRebalance, onCompleteJoin). Every step runs under the group's
//! lock; calls that must wait (a JoinGroup until the rebalance completes, a follower's
//! SyncGroup until the leader's assignment is stored) park a oneshot sender in the member.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::coordinator::GroupCoordinator;
use super::errors;
use super::group::{Group, GroupState};
use super::member::{JoinMember, JoinResult, Member, SyncResult};
use super::records;
use crate::controller::now_ms;

/// How long a member that joined but never got its JoinGroup answer stays (MemberMetadata).
pub const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_millis(300_000);

pub struct JoinParams {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// JoinGroup v4+: unknown members first get MEMBER_ID_REQUIRED.
    pub require_known_member_id: bool,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
}

pub struct SyncParams {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignments: HashMap<String, Bytes>,
}

/// A JoinGroup either answered now or parked.
enum Outcome<T> {
    Now(T),
    Wait(oneshot::Receiver<T>),
}

impl GroupCoordinator {
    pub async fn join_group(&self, p: JoinParams) -> JoinResult {
        let fail = |code| JoinResult::error(&p.member_id, code);
        if p.group_id.is_empty() {
            return fail(errors::INVALID_GROUP_ID);
        }
        if let Err(code) = self.manager.check_owned(&p.group_id) {
            return fail(code);
        }
        if p.session_timeout_ms < self.config.min_session_timeout_ms
            || p.session_timeout_ms > self.config.max_session_timeout_ms
        {
            return fail(errors::INVALID_SESSION_TIMEOUT);
        }
        let unknown_member = p.member_id.is_empty();
        let group = match self.manager.get_group(&p.group_id) {
            Some(g) => g,
            None if unknown_member => self.manager.get_or_create_group(&p.group_id),
            None => return fail(errors::UNKNOWN_MEMBER_ID),
        };
        let outcome = {
            let mut g = group.lock().expect("group lock");
            let outcome = if !self.accept_joining_member(&g, &p.member_id) {
                if let Some(m) = g.remove_member(&p.member_id) {
                    tracing::info!(target: "kafka.coordinator.group.GroupCoordinator",
                        "Group {} is full (group.max.size {}): removing {}", g.group_id, self.config.max_size, m.member_id);
                }
                Outcome::Now(JoinResult::error("", errors::GROUP_MAX_SIZE_REACHED))
            } else if unknown_member {
                self.do_unknown_join(&mut g, &p)
            } else {
                self.do_current_member_join(&mut g, &p)
            };
            if g.is(GroupState::PreparingRebalance) {
                self.try_complete_join(&mut g);
            }
            outcome
        };
        match outcome {
            Outcome::Now(r) => r,
            Outcome::Wait(rx) => rx
                .await
                .unwrap_or_else(|_| fail(errors::COORDINATOR_NOT_AVAILABLE)),
        }
    }

    /// group.max.size (acceptJoiningMember).
    fn accept_joining_member(&self, g: &Group, member_id: &str) -> bool {
        let max = self.config.max_size as usize;
        match g.state {
            GroupState::Empty | GroupState::Dead => true,
            GroupState::PreparingRebalance => {
                g.members
                    .get(member_id)
                    .is_some_and(Member::is_awaiting_join)
                    || g.members.values().filter(|m| m.is_awaiting_join()).count() < max
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                g.has(member_id) || g.members.len() < max
            }
        }
    }

    fn do_unknown_join(&self, g: &mut Group, p: &JoinParams) -> Outcome<JoinResult> {
        let names: Vec<&str> = p.protocols.iter().map(|(n, _)| n.as_str()).collect();
        if g.is(GroupState::Dead) {
            return Outcome::Now(JoinResult::error("", errors::COORDINATOR_NOT_AVAILABLE));
        }
        if !g.supports_protocols(&p.protocol_type, &names) {
            return Outcome::Now(JoinResult::error("", errors::INCONSISTENT_GROUP_PROTOCOL));
        }
        let prefix = p.group_instance_id.as_deref().unwrap_or(&p.client_id);
        let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        match (
            &p.group_instance_id,
            g.static_member_id(p.group_instance_id.as_deref()),
        ) {
            (Some(instance), Some(old_id)) => {
                let old_id = old_id.to_string();
                self.update_static_member_and_rebalance(g, instance, &old_id, &new_id, p)
            }
            (Some(_), None) => self.add_member_and_rebalance(g, &new_id, p),
            (None, _) if p.require_known_member_id => {
                // KIP-394: the client must come back with this id, so ids handed to clients
                // that never return do not pile up as members.
                let deadline =
                    Instant::now() + Duration::from_millis(p.session_timeout_ms.max(0) as u64);
                g.pending_members.insert(new_id.clone(), deadline);
                Outcome::Now(JoinResult::error(&new_id, errors::MEMBER_ID_REQUIRED))
            }
            (None, _) => self.add_member_and_rebalance(g, &new_id, p),
        }
    }

    fn do_current_member_join(&self, g: &mut Group, p: &JoinParams) -> Outcome<JoinResult> {
        let names: Vec<&str> = p.protocols.iter().map(|(n, _)| n.as_str()).collect();
        let now = || Outcome::Now(JoinResult::error(&p.member_id, errors::UNKNOWN_MEMBER_ID));
        if g.is(GroupState::Dead) {
            return Outcome::Now(JoinResult::error(
                &p.member_id,
                errors::COORDINATOR_NOT_AVAILABLE,
            ));
        }
        if !g.supports_protocols(&p.protocol_type, &names) {
            return Outcome::Now(JoinResult::error(
                &p.member_id,
                errors::INCONSISTENT_GROUP_PROTOCOL,
            ));
        }
        if g.is_pending(&p.member_id) {
            return self.add_member_and_rebalance(g, &p.member_id, p);
        }
        let instance = p.group_instance_id.as_deref();
        if g.is_fenced(instance, &p.member_id) {
            return Outcome::Now(JoinResult::error(&p.member_id, errors::FENCED_INSTANCE_ID));
        }
        let instance_unknown = instance.is_some() && g.static_member_id(instance).is_none();
        if !g.has(&p.member_id) || instance_unknown {
            return now();
        }
        let matches = g.members[&p.member_id].matches(&p.protocols);
        match g.state {
            GroupState::PreparingRebalance => self.update_member_and_rebalance(
                g,
                p,
                &format!("member {} joining during PreparingRebalance", p.member_id),
            ),
            GroupState::CompletingRebalance if matches => {
                // It probably missed the JoinGroup answer: resend this generation's.
                Outcome::Now(self.join_result_for(g, &p.member_id))
            }
            GroupState::CompletingRebalance => self.update_member_and_rebalance(
                g,
                p,
                &format!(
                    "member {} changed its metadata during CompletingRebalance",
                    p.member_id
                ),
            ),
            GroupState::Stable if g.is_leader(&p.member_id) => self.update_member_and_rebalance(
                g,
                p,
                &format!("leader {} re-joined the group during Stable", p.member_id),
            ),
            GroupState::Stable if !matches => self.update_member_and_rebalance(
                g,
                p,
                &format!("member {} changed its metadata during Stable", p.member_id),
            ),
            GroupState::Stable => {
                let mut r = self.join_result_for(g, &p.member_id);
                r.members.clear();
                Outcome::Now(r)
            }
            GroupState::Empty | GroupState::Dead => now(),
        }
    }

    /// The current generation as seen by `member_id` (leader gets the member list).
    fn join_result_for(&self, g: &Group, member_id: &str) -> JoinResult {
        let protocol = g.protocol_name.clone().unwrap_or_default();
        let members = if g.is_leader(member_id) {
            g.members
                .values()
                .map(|m| JoinMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    metadata: m.metadata(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResult {
            error: errors::NONE,
            generation_id: g.generation_id,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol_name.clone(),
            leader_id: g.leader_id.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members,
        }
    }

    fn add_member_and_rebalance(
        &self,
        g: &mut Group,
        member_id: &str,
        p: &JoinParams,
    ) -> Outcome<JoinResult> {
        let (tx, rx) = oneshot::channel();
        let member = Member {
            member_id: member_id.to_string(),
            group_instance_id: p.group_instance_id.clone(),
            client_id: p.client_id.clone(),
            client_host: p.client_host.clone(),
            rebalance_timeout_ms: p.rebalance_timeout_ms,
            session_timeout_ms: p.session_timeout_ms,
            protocol_type: p.protocol_type.clone(),
            protocols: p.protocols.clone(),
            assignment: Bytes::new(),
            awaiting_join: Some(tx),
            awaiting_sync: None,
            is_new: true,
            heartbeat_deadline: Instant::now() + NEW_MEMBER_JOIN_TIMEOUT,
        };
        g.add_member(member);
        let why = format!(
            "adding new member {member_id} with group instance id {}",
            p.group_instance_id.as_deref().unwrap_or("None")
        );
        self.maybe_prepare_rebalance(g, &why);
        Outcome::Wait(rx)
    }

    fn update_member_and_rebalance(
        &self,
        g: &mut Group,
        p: &JoinParams,
        why: &str,
    ) -> Outcome<JoinResult> {
        let (tx, rx) = oneshot::channel();
        let m = g.members.get_mut(&p.member_id).expect("checked");
        m.protocols = p.protocols.clone();
        m.rebalance_timeout_ms = p.rebalance_timeout_ms;
        m.session_timeout_ms = p.session_timeout_ms;
        m.awaiting_join = Some(tx);
        self.maybe_prepare_rebalance(g, why);
        Outcome::Wait(rx)
    }

    /// A static member came back with a new member id: it takes over the old one's place.
    /// In Stable with an unchanged protocol the group is only re-stored, not rebalanced.
    fn update_static_member_and_rebalance(
        &self,
        g: &mut Group,
        instance: &str,
        old_id: &str,
        new_id: &str,
        p: &JoinParams,
    ) -> Outcome<JoinResult> {
        let current_leader = g.leader_id.clone().unwrap_or_default();
        g.replace_static_member(instance, old_id, new_id);
        tracing::info!(target: "kafka.coordinator.group.GroupCoordinator",
            "Static member {instance} of group {} rejoined: member id {old_id} replaced by {new_id}", g.group_id);
        let (tx, rx) = oneshot::channel();
        {
            let m = g.members.get_mut(new_id).expect("replaced");
            m.protocols = p.protocols.clone();
            m.heartbeat_deadline =
                Instant::now() + Duration::from_millis(m.session_timeout_ms.max(0) as u64);
            m.awaiting_join = Some(tx);
        }
        match g.state {
            GroupState::Stable if g.select_protocol() == g.protocol_name => {
                // No rebalance: persist the new member id, then answer with the old leader id
                // so this member does not mistake itself for the leader.
                let m = g.members.get_mut(new_id).expect("replaced");
                let tx = m.awaiting_join.take().expect("just set");
                let mut result = self.join_result_for(g, new_id);
                result.members.clear();
                result.leader_id = current_leader;
                let record = g.to_record();
                self.spawn_store_then(g.partition, &g.group_id, record, move |code| {
                    let r = if code == errors::NONE {
                        result
                    } else {
                        JoinResult::error("", code)
                    };
                    let _ = tx.send(r);
                });
            }
            GroupState::Stable => self.prepare_rebalance(
                g,
                &format!("static member {instance} rejoined with a change of protocol"),
            ),
            GroupState::CompletingRebalance => self.prepare_rebalance(
                g,
                &format!(
                    "updating metadata for static member {new_id} with instance id {instance}"
                ),
            ),
            _ => {}
        }
        Outcome::Wait(rx)
    }

    pub(crate) fn maybe_prepare_rebalance(&self, g: &mut Group, why: &str) {
        if matches!(
            g.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        ) {
            self.prepare_rebalance(g, why);
        }
    }

    pub(crate) fn prepare_rebalance(&self, g: &mut Group, why: &str) {
        if g.is(GroupState::CompletingRebalance) {
            reset_and_propagate_assignment_error(g, errors::REBALANCE_IN_PROGRESS);
        }
        let timeout = g.rebalance_timeout_ms().max(0) as u64;
        if g.is(GroupState::Empty) {
            // InitialDelayedJoin: give other members of a starting group a moment to arrive.
            let delay = self.config.initial_rebalance_delay_ms;
            g.join_deadline = Some(Instant::now() + Duration::from_millis(delay));
            g.initial_delay_remaining_ms = Some(timeout.saturating_sub(delay));
        } else {
            g.join_deadline = Some(Instant::now() + Duration::from_millis(timeout));
            g.initial_delay_remaining_ms = None;
        }
        let why = format!(
            "preparing to rebalance (old generation {}): {why}",
            g.generation_id
        );
        g.transition_to(GroupState::PreparingRebalance, now_ms(), &why);
        // joinPurgatory.tryCompleteElseWatch: when nobody is left to wait for (the last member
        // left or expired), the rebalance completes now and the group is Empty before the
        // LeaveGroup response goes out.
        self.try_complete_join(g);
    }

    /// Completes the join phase when every member has rejoined (not during the initial delay).
    pub(crate) fn try_complete_join(&self, g: &mut Group) {
        if g.initial_delay_remaining_ms.is_none() && g.has_all_members_joined() {
            self.on_complete_join(g);
        }
    }

    /// The join deadline passed (DelayedJoin / InitialDelayedJoin expiry).
    pub(crate) fn on_join_deadline(&self, g: &mut Group) {
        if let Some(remaining) = g.initial_delay_remaining_ms {
            if g.new_member_added && remaining > 0 {
                g.new_member_added = false;
                let delay = self.config.initial_rebalance_delay_ms.min(remaining);
                g.join_deadline = Some(Instant::now() + Duration::from_millis(delay));
                g.initial_delay_remaining_ms = Some(remaining.saturating_sub(delay));
                return;
            }
        }
        self.on_complete_join(g);
    }

    /// onCompleteJoin: drop dynamic members that did not rejoin, pick a leader, start the
    /// next generation and answer every parked JoinGroup.
    fn on_complete_join(&self, g: &mut Group) {
        g.join_deadline = None;
        g.initial_delay_remaining_ms = None;
        g.new_member_added = false;
        let gone: Vec<String> = g
            .members
            .values()
            .filter(|m| !m.is_awaiting_join() && !m.is_static())
            .map(|m| m.member_id.clone())
            .collect();
        for id in &gone {
            g.remove_member(id);
        }
        if !gone.is_empty() {
            tracing::info!(target: "kafka.coordinator.group.GroupCoordinator",
                "Group {} removed dynamic members who haven't joined: {gone:?}", g.group_id);
        }
        if g.is(GroupState::Dead) {
            return;
        }
        let leader_joined = g
            .leader_id
            .as_ref()
            .and_then(|l| g.members.get(l))
            .is_some_and(Member::is_awaiting_join);
        if !leader_joined {
            g.leader_id = g
                .members
                .values()
                .find(|m| m.is_awaiting_join())
                .map(|m| m.member_id.clone());
        }
        if g.leader_id.is_none() && !g.members.is_empty() {
            tracing::error!(target: "kafka.coordinator.group.GroupCoordinator",
                "Group {} could not complete rebalance because no members rejoined", g.group_id);
            g.join_deadline = Some(
                Instant::now() + Duration::from_millis(g.rebalance_timeout_ms().max(0) as u64),
            );
            return;
        }
        g.init_next_generation(now_ms());
        if g.is(GroupState::Empty) {
            let record = g.to_record();
            self.spawn_store_then(g.partition, &g.group_id, record, |_| {});
            return;
        }
        let ids: Vec<String> = g.members.keys().cloned().collect();
        for id in ids {
            let r = self.join_result_for(g, &id);
            let m = g.members.get_mut(&id).expect("listed");
            m.complete_join(r);
            m.heartbeat_deadline =
                Instant::now() + Duration::from_millis(m.session_timeout_ms.max(0) as u64);
        }
    }

    fn spawn_store_then(
        &self,
        partition: i32,
        group_id: &str,
        record: records::GroupRecord,
        then: impl FnOnce(i16) + Send + 'static,
    ) {
        let me = self.clone_handle();
        let group_id = group_id.to_string();
        tokio::spawn(async move {
            then(me.store_group(partition, &group_id, &record).await);
        });
    }
}

/// Parked SyncGroups get `code` and the assignments are cleared (resetAndPropagateAssignmentError).
pub(crate) fn reset_and_propagate_assignment_error(g: &mut Group, code: i16) {
    for m in g.members.values_mut() {
        m.assignment = Bytes::new();
        m.complete_sync(SyncResult::error(code));
    }
}
