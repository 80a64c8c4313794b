//! GroupCoordinator.scala minus JoinGroup/SyncGroup (see join.rs): Heartbeat, LeaveGroup,
//! offsets, describe/list/delete, and the timer task that expires sessions, pending member
//! ids, join phases and old offsets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::errors;
use super::group::{Group, GroupState};
use super::member::JoinResult;
use super::metadata_manager::{GroupMetadataManager, GroupRef};
use crate::config::KafkaConfig;
use crate::controller::now_ms;
use crate::replica::ReplicaManager;

/// How often the timer task looks at sessions and join deadlines.
const TICK: Duration = Duration::from_millis(100);

/// The group.* and offsets.* broker settings the coordinator uses (GroupConfig, OffsetConfig).
#[derive(Clone, Debug)]
pub struct CoordinatorConfig {
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub initial_rebalance_delay_ms: u64,
    pub max_size: i32,
    pub num_partitions: i32,
    pub replication_factor: i16,
    pub segment_bytes: i32,
    pub retention_ms: i64,
    pub retention_check_interval_ms: u64,
    pub commit_timeout: Duration,
    pub commit_required_acks: i16,
    pub metadata_max_bytes: usize,
}

impl CoordinatorConfig {
    pub fn from_broker(c: &KafkaConfig) -> CoordinatorConfig {
        CoordinatorConfig {
            min_session_timeout_ms: c.int("group.min.session.timeout.ms"),
            max_session_timeout_ms: c.int("group.max.session.timeout.ms"),
            initial_rebalance_delay_ms: c.int("group.initial.rebalance.delay.ms").max(0) as u64,
            max_size: c.int("group.max.size"),
            num_partitions: c.int("offsets.topic.num.partitions"),
            replication_factor: c.int("offsets.topic.replication.factor") as i16,
            segment_bytes: c.int("offsets.topic.segment.bytes"),
            retention_ms: c.long("offsets.retention.minutes") * 60_000,
            retention_check_interval_ms: c.long("offsets.retention.check.interval.ms").max(1)
                as u64,
            commit_timeout: Duration::from_millis(c.int("offsets.commit.timeout.ms").max(1) as u64),
            commit_required_acks: c.int("offsets.commit.required.acks") as i16,
            metadata_max_bytes: c.int("offset.metadata.max.bytes").max(0) as usize,
        }
    }
}

/// One member as DescribeGroups shows it.
pub struct MemberSummary {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: bytes::Bytes,
    pub assignment: bytes::Bytes,
}

pub struct GroupSummary {
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberSummary>,
}

/// A committed offset as OffsetFetch returns it.
pub struct FetchedOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub error: i16,
}

/// Per-partition error codes, keyed by (topic, partition).
pub type PartitionCodes = Vec<((String, i32), i16)>;

/// Cheap to clone: handlers and background tasks share the same state.
#[derive(Clone)]
pub struct GroupCoordinator {
    pub config: Arc<CoordinatorConfig>,
    pub manager: Arc<GroupMetadataManager>,
}

impl GroupCoordinator {
    pub fn new(
        config: CoordinatorConfig,
        replica_manager: Arc<ReplicaManager>,
        num_partitions: i32,
    ) -> GroupCoordinator {
        GroupCoordinator {
            manager: Arc::new(GroupMetadataManager::new(replica_manager, num_partitions)),
            config: Arc::new(config),
        }
    }

    pub(crate) fn clone_handle(&self) -> GroupCoordinator {
        self.clone()
    }

    /// Leadership of `__consumer_offsets` partitions changed (LeaderAndIsr / StopReplica).
    pub fn on_leadership_change(&self, became_leader: &[i32], resigned: &[i32]) {
        for p in became_leader {
            self.manager.on_become_leader(*p);
        }
        for p in resigned {
            self.manager.on_resign(*p);
        }
    }

    pub(crate) fn lookup(&self, group_id: &str) -> Result<Option<GroupRef>, i16> {
        self.manager.check_owned(group_id)?;
        Ok(self.manager.get_group(group_id))
    }

    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> i16 {
        if group_id.is_empty() {
            return errors::INVALID_GROUP_ID;
        }
        let group = match self.lookup(group_id) {
            // While loading, heartbeats are simply accepted (the member is not known yet).
            Err(errors::COORDINATOR_LOAD_IN_PROGRESS) => return errors::NONE,
            Err(code) => return code,
            Ok(None) => return errors::UNKNOWN_MEMBER_ID,
            Ok(Some(g)) => g,
        };
        let mut g = group.lock().expect("group lock");
        self.apply_due_timers(&mut g);
        if g.is(GroupState::Dead) {
            return errors::COORDINATOR_NOT_AVAILABLE;
        }
        if g.is_fenced(instance_id, member_id) {
            return errors::FENCED_INSTANCE_ID;
        }
        if !g.has(member_id) {
            return errors::UNKNOWN_MEMBER_ID;
        }
        if generation != g.generation_id {
            return errors::ILLEGAL_GENERATION;
        }
        let answer = match g.state {
            GroupState::Empty => return errors::UNKNOWN_MEMBER_ID,
            GroupState::PreparingRebalance => errors::REBALANCE_IN_PROGRESS,
            _ => errors::NONE,
        };
        touch(&mut g, member_id);
        answer
    }

    /// LeaveGroup: (top-level error, per-member errors in request order).
    pub fn leave_group(
        &self,
        group_id: &str,
        leaving: &[(String, Option<String>)],
    ) -> (i16, Vec<i16>) {
        if group_id.is_empty() {
            return (errors::INVALID_GROUP_ID, Vec::new());
        }
        let group = match self.lookup(group_id) {
            Err(code) => return (code, Vec::new()),
            Ok(None) => return (errors::NONE, vec![errors::UNKNOWN_MEMBER_ID; leaving.len()]),
            Ok(Some(g)) => g,
        };
        let mut g = group.lock().expect("group lock");
        if g.is(GroupState::Dead) {
            return (errors::COORDINATOR_NOT_AVAILABLE, Vec::new());
        }
        let mut out = Vec::with_capacity(leaving.len());
        for (member_id, instance) in leaving {
            let instance = instance.as_deref();
            let code = if !member_id.is_empty() && g.is_fenced(instance, member_id) {
                errors::FENCED_INSTANCE_ID
            } else if g.is_pending(member_id) {
                g.pending_members.remove(member_id);
                if g.is(GroupState::PreparingRebalance) {
                    self.try_complete_join(&mut g);
                }
                errors::NONE
            } else {
                let target = g
                    .static_member_id(instance)
                    .map(str::to_string)
                    .or_else(|| g.has(member_id).then(|| member_id.clone()));
                match target {
                    None => errors::UNKNOWN_MEMBER_ID,
                    Some(id) => {
                        self.remove_member_and_update_group(
                            &mut g,
                            &id,
                            "the member left (LeaveGroup)",
                        );
                        errors::NONE
                    }
                }
            };
            out.push(code);
        }
        (errors::NONE, out)
    }

    /// removeMemberAndUpdateGroup: a departed or expired member; the group rebalances.
    pub(crate) fn remove_member_and_update_group(&self, g: &mut Group, member_id: &str, why: &str) {
        let Some(mut m) = g.remove_member(member_id) else {
            return;
        };
        m.complete_join(JoinResult::error(member_id, errors::UNKNOWN_MEMBER_ID));
        tracing::info!(target: "kafka.coordinator.group.GroupCoordinator",
            "Member {} in group {} removed: {why}", m.describe(), g.group_id);
        let why = format!("removing member {member_id}: {why}");
        match g.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance(g, &why)
            }
            GroupState::PreparingRebalance => self.try_complete_join(g),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// DescribeGroups for one group: (error, summary).
    pub fn describe_group(&self, group_id: &str) -> (i16, GroupSummary) {
        let dead = || GroupSummary {
            state: "Dead",
            protocol_type: String::new(),
            protocol: String::new(),
            members: Vec::new(),
        };
        let group = match self.lookup(group_id) {
            Err(code) => return (code, dead()),
            Ok(None) => return (errors::NONE, dead()),
            Ok(Some(g)) => g,
        };
        let mut g = group.lock().expect("group lock");
        self.apply_due_timers(&mut g);
        let stable = g.is(GroupState::Stable);
        let protocol = if stable {
            g.protocol_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let members = g
            .members
            .values()
            .map(|m| MemberSummary {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: if stable {
                    m.metadata(&protocol)
                } else {
                    Default::default()
                },
                assignment: if stable {
                    m.assignment.clone()
                } else {
                    Default::default()
                },
            })
            .collect();
        let summary = GroupSummary {
            state: g.state.name(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol,
            members,
        };
        (errors::NONE, summary)
    }

    /// ListGroups: the groups this broker coordinates as (id, protocol type, state).
    pub fn list_groups(&self, states: &[String]) -> (i16, Vec<(String, String, &'static str)>) {
        let code = if self.manager.is_loading_any() {
            errors::COORDINATOR_LOAD_IN_PROGRESS
        } else {
            errors::NONE
        };
        let mut out: Vec<_> = self
            .manager
            .all_groups()
            .iter()
            .filter_map(|g| {
                let mut g = g.lock().expect("group lock");
                self.apply_due_timers(&mut g);
                let state = g.state.name();
                let wanted = states.is_empty() || states.iter().any(|s| s == state);
                (wanted && !g.is(GroupState::Dead)).then(|| {
                    (
                        g.group_id.clone(),
                        g.protocol_type.clone().unwrap_or_default(),
                        state,
                    )
                })
            })
            .collect();
        out.sort();
        (code, out)
    }

    /// DeleteGroups: only Empty groups; their offsets and metadata are tombstoned.
    pub async fn delete_groups(&self, group_ids: &[String]) -> Vec<(String, i16)> {
        let mut out = Vec::new();
        for id in group_ids {
            let code = match self.lookup(id) {
                Err(code) => code,
                Ok(None) => errors::GROUP_ID_NOT_FOUND,
                Ok(Some(group)) => {
                    let mut g = group.lock().expect("group lock");
                    self.apply_due_timers(&mut g);
                    match g.state {
                        GroupState::Dead => errors::GROUP_ID_NOT_FOUND,
                        GroupState::Empty => {
                            g.transition_to(GroupState::Dead, now_ms(), "deleted by DeleteGroups");
                            let keys: Vec<_> = g.offsets.drain().map(|(k, _)| k).collect();
                            self.spawn_tombstones(&g, keys, true);
                            self.manager.remove_group(id);
                            errors::NONE
                        }
                        _ => errors::NON_EMPTY_GROUP,
                    }
                }
            };
            out.push((id.clone(), code));
        }
        out
    }

    /// The timer task: sessions, pending member ids and join deadlines every TICK; offset
    /// expiry every offsets.retention.check.interval.ms.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            let expiry_every = Duration::from_millis(me.config.retention_check_interval_ms);
            let mut next_expiry = Instant::now() + expiry_every;
            loop {
                tick.tick().await;
                for group in me.manager.all_groups() {
                    let mut g = group.lock().expect("group lock");
                    me.check_timers(&mut g, Instant::now());
                }
                if Instant::now() >= next_expiry {
                    next_expiry = Instant::now() + expiry_every;
                    me.expire_offsets();
                }
            }
        })
    }

    /// Kafka's timers fire at their deadline, ours on the next TICK: a request that reports
    /// or acts on a group's state first applies what is already due (a session that expired
    /// 50 ms ago has ended, so DeleteGroups finds the group Empty as Kafka would).
    fn apply_due_timers(&self, g: &mut Group) {
        self.check_timers(g, Instant::now());
    }

    fn check_timers(&self, g: &mut Group, now: Instant) {
        if g.is(GroupState::Dead) {
            return;
        }
        let expired_pending: Vec<String> = g
            .pending_members
            .iter()
            .filter(|(_, d)| now >= **d)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired_pending {
            tracing::info!(target: "kafka.coordinator.group.GroupCoordinator",
                "Pending member {id} in group {} has been removed after session timeout expiration", g.group_id);
            g.pending_members.remove(&id);
            if g.is(GroupState::PreparingRebalance) {
                self.try_complete_join(g);
            }
        }
        let expired: Vec<String> = g
            .members
            .values()
            .filter(|m| m.is_expired(now))
            .map(|m| m.member_id.clone())
            .collect();
        for id in expired {
            self.remove_member_and_update_group(g, &id, "its session timed out (no heartbeat)");
        }
        if g.is(GroupState::PreparingRebalance) && g.join_deadline.is_some_and(|d| now >= d) {
            self.on_join_deadline(g);
        }
    }
}

/// A sign of life from a member: its session restarts.
pub(crate) fn touch(g: &mut Group, member_id: &str) {
    if let Some(m) = g.members.get_mut(member_id) {
        m.heartbeat_deadline =
            Instant::now() + Duration::from_millis(m.session_timeout_ms.max(0) as u64);
    }
}
