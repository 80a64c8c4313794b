//! One group's state (GroupMetadata.scala): the state machine, members, protocol selection,
//! generation and committed offsets. Callers hold the group's lock; nothing here awaits.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use indexmap::IndexMap;

use crate::metrics::events::{EventKind, Subject};

use super::member::Member;
use super::records::{GroupRecord, MemberRecord, OffsetAndMetadata};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name DescribeGroups and ListGroups use.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    fn valid_previous(self) -> &'static [GroupState] {
        use GroupState::*;
        match self {
            Empty => &[PreparingRebalance],
            PreparingRebalance => &[Stable, CompletingRebalance, Empty],
            CompletingRebalance => &[PreparingRebalance],
            Stable => &[CompletingRebalance],
            Dead => &[Stable, PreparingRebalance, CompletingRebalance, Empty, Dead],
        }
    }
}

/// An offset with the log offset of the batch that wrote it (CommitRecordMetadataAndOffset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRecordOffset {
    pub batch_offset: i64,
    pub offset: OffsetAndMetadata,
}

pub struct Group {
    pub group_id: String,
    /// The `__consumer_offsets` partition holding this group (for log lines and stores).
    pub partition: i32,
    pub state: GroupState,
    pub state_timestamp_ms: i64,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub generation_id: i32,
    pub leader_id: Option<String>,
    /// Insertion order matters: a departed leader is replaced by the oldest member.
    pub members: IndexMap<String, Member>,
    /// group.instance.id → member id of static members.
    pub static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, with the time they expire.
    pub pending_members: HashMap<String, Instant>,
    pub offsets: HashMap<(String, i32), OffsetAndMetadata>,
    /// Log offset of the record behind each committed offset: of two commits of a
    /// partition the later written wins (CommitRecordMetadataAndOffset.olderThan).
    pub offsets_written_at: HashMap<(String, i32), i64>,
    /// TxnOffsetCommit offsets per producer id, waiting for their transaction's marker.
    pub pending_txn_offsets: HashMap<i64, HashMap<(String, i32), CommitRecordOffset>>,
    /// Commits being appended; offsets are not expired meanwhile.
    pub pending_offset_commits: usize,
    /// Whether a member joined during the initial delayed join of generation 0.
    pub new_member_added: bool,
    /// When the current PreparingRebalance gives up waiting for members.
    pub join_deadline: Option<Instant>,
    /// Some(remaining ms of the rebalance timeout) while in the initial delayed join.
    pub initial_delay_remaining_ms: Option<u64>,
    /// Topics the members subscribe to (consumer protocol), None when unknown.
    pub subscribed_topics: Option<BTreeSet<String>>,
}

impl Group {
    pub fn new(group_id: &str, partition: i32, now_ms: i64) -> Group {
        Group {
            group_id: group_id.to_string(),
            partition,
            state: GroupState::Empty,
            state_timestamp_ms: now_ms,
            protocol_type: None,
            protocol_name: None,
            generation_id: 0,
            leader_id: None,
            members: IndexMap::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            offsets: HashMap::new(),
            offsets_written_at: HashMap::new(),
            pending_txn_offsets: HashMap::new(),
            pending_offset_commits: 0,
            new_member_added: false,
            join_deadline: None,
            initial_delay_remaining_ms: None,
            subscribed_topics: None,
        }
    }

    pub fn is(&self, s: GroupState) -> bool {
        self.state == s
    }

    /// Makes `offset`, written at log offset `written_at`, the partition's committed offset
    /// unless a later-written commit already is (GroupMetadata.onOffsetCommitAppend).
    pub fn commit_offset(&mut self, partition: (String, i32), c: CommitRecordOffset) {
        let current = self.offsets_written_at.get(&partition);
        if current.is_some_and(|at| *at > c.batch_offset) {
            return;
        }
        self.offsets_written_at
            .insert(partition.clone(), c.batch_offset);
        self.offsets.insert(partition, c.offset);
    }

    /// Whether a transaction's offsets for this partition wait for its marker.
    pub fn has_pending_txn_offsets(&self, partition: &(String, i32)) -> bool {
        (self.pending_txn_offsets.values()).any(|m| m.contains_key(partition))
    }

    /// Moves to `to` and logs one line saying why (the line to watch rebalances by).
    pub fn transition_to(&mut self, to: GroupState, now_ms: i64, why: &str) {
        let from = self.state;
        if !to.valid_previous().contains(&from) {
            tracing::error!(target: "kafka.coordinator.group.GroupMetadata",
                "Group {} should be in one of {:?} before moving to {to:?}, but is in {from:?}",
                self.group_id, to.valid_previous());
        }
        self.state = to;
        self.state_timestamp_ms = now_ms;
        let members: Vec<String> = self.members.values().map(Member::describe).collect();
        crate::narrate!(
            info,
            "kafka.coordinator.group.GroupCoordinator",
            EventKind::GroupStateChange,
            Subject::group(&self.group_id),
            "Group {} ({}): {} -> {} at generation {} with {} members [{}] (leader {}): {why}",
            self.group_id,
            self.partition,
            from.name(),
            to.name(),
            self.generation_id,
            members.len(),
            members.join(", "),
            self.leader_id.as_deref().unwrap_or("none")
        );
    }

    pub fn has(&self, member_id: &str) -> bool {
        self.members.contains_key(member_id)
    }

    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader_id.as_deref() == Some(member_id)
    }

    pub fn is_pending(&self, member_id: &str) -> bool {
        self.pending_members.contains_key(member_id)
    }

    pub fn static_member_id(&self, instance_id: Option<&str>) -> Option<&str> {
        instance_id.and_then(|i| self.static_members.get(i).map(String::as_str))
    }

    /// A request whose instance id maps to another member id is from a fenced (older) client.
    pub fn is_fenced(&self, instance_id: Option<&str>, member_id: &str) -> bool {
        self.static_member_id(instance_id)
            .is_some_and(|known| known != member_id)
    }

    pub fn add_member(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.member_id.clone());
        }
        if let Some(i) = &member.group_instance_id {
            self.static_members
                .insert(i.clone(), member.member_id.clone());
        }
        self.pending_members.remove(&member.member_id);
        if self.is(GroupState::PreparingRebalance) && self.generation_id == 0 {
            self.new_member_added = true;
        }
        self.members.insert(member.member_id.clone(), member);
    }

    pub fn remove_member(&mut self, member_id: &str) -> Option<Member> {
        let m = self.members.shift_remove(member_id)?;
        if let Some(i) = &m.group_instance_id {
            if self.static_members.get(i).map(String::as_str) == Some(member_id) {
                self.static_members.remove(i);
            }
        }
        if self.is_leader(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        Some(m)
    }

    /// Static member rejoining with a new member id: same member, same assignment.
    pub fn replace_static_member(&mut self, instance_id: &str, old_id: &str, new_id: &str) {
        if let Some(mut m) = self.members.shift_remove(old_id) {
            // The old client's parked calls are fenced.
            m.complete_join(super::member::JoinResult::error(
                old_id,
                super::errors::FENCED_INSTANCE_ID,
            ));
            m.complete_sync(super::member::SyncResult::error(
                super::errors::FENCED_INSTANCE_ID,
            ));
            m.member_id = new_id.to_string();
            self.members.insert(new_id.to_string(), m);
        }
        if self.is_leader(old_id) {
            self.leader_id = Some(new_id.to_string());
        }
        self.static_members
            .insert(instance_id.to_string(), new_id.to_string());
    }

    pub fn has_all_members_joined(&self) -> bool {
        self.members.values().all(Member::is_awaiting_join) && self.pending_members.is_empty()
    }

    /// Rebalance timeout = the largest any member asked for.
    pub fn rebalance_timeout_ms(&self) -> i32 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Protocols every member supports.
    pub fn candidate_protocols(&self) -> Vec<&str> {
        let Some(first) = self.members.values().next() else {
            return Vec::new();
        };
        first
            .protocols
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == n))
            })
            .collect()
    }

    /// Whether a member with these protocols may join (GroupMetadata.supportsProtocols).
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[&str]) -> bool {
        if self.is(GroupState::Empty) {
            !protocol_type.is_empty() && !protocols.is_empty()
        } else {
            self.protocol_type.as_deref() == Some(protocol_type)
                && protocols.iter().any(|p| {
                    self.members
                        .values()
                        .all(|m| m.protocols.iter().any(|(n, _)| n == p))
                })
        }
    }

    /// Each member votes for its preferred candidate; most votes wins (first candidate on ties).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: Vec<(&str, usize)> = candidates.iter().map(|c| (*c, 0)).collect();
        for m in self.members.values() {
            if let Some(v) = m.vote(&candidates) {
                if let Some(slot) = votes.iter_mut().find(|(c, _)| *c == v) {
                    slot.1 += 1;
                }
            }
        }
        let best = votes.iter().map(|(_, n)| *n).max()?;
        votes
            .iter()
            .find(|(_, n)| *n == best)
            .map(|(c, _)| c.to_string())
    }

    /// Next generation (GroupMetadata.initNextGeneration): with members the chosen protocol
    /// and CompletingRebalance, without members Empty.
    pub fn init_next_generation(&mut self, now_ms: i64) {
        self.generation_id += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.subscribed_topics = None;
            self.transition_to(
                GroupState::Empty,
                now_ms,
                "rebalance completed without members",
            );
        } else {
            self.protocol_name = self.select_protocol();
            self.subscribed_topics = self.compute_subscribed_topics();
            let why = format!(
                "all members joined or the rebalance timed out; protocol {}",
                self.protocol_name.as_deref().unwrap_or("none")
            );
            self.transition_to(GroupState::CompletingRebalance, now_ms, &why);
        }
    }

    fn compute_subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut all = BTreeSet::new();
        for m in self.members.values() {
            all.extend(parse_subscription_topics(&m.metadata(protocol))?);
        }
        Some(all)
    }

    /// The record persisted for this group (assignments included).
    pub fn to_record(&self) -> GroupRecord {
        let protocol = self.protocol_name.clone();
        GroupRecord {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation_id,
            protocol: protocol.clone(),
            leader: self.leader_id.clone(),
            current_state_timestamp: self.state_timestamp_ms,
            members: self
                .members
                .values()
                .map(|m| MemberRecord {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout_ms,
                    session_timeout: m.session_timeout_ms,
                    subscription: protocol
                        .as_deref()
                        .map(|p| m.metadata(p).to_vec())
                        .unwrap_or_default(),
                    assignment: m.assignment.to_vec(),
                })
                .collect(),
        }
    }

    /// Offsets past retention (GroupMetadata.removeExpiredOffsets, KIP-211). Removed from the
    /// cache and returned so tombstones can be written.
    pub fn remove_expired_offsets(&mut self, now_ms: i64, retention_ms: i64) -> Vec<(String, i32)> {
        if self.pending_offset_commits > 0 {
            return Vec::new();
        }
        let expired_by_time = |o: &OffsetAndMetadata, base: i64| match o.expire_timestamp {
            Some(e) => now_ms >= e,
            None => now_ms - base >= retention_ms,
        };
        let expired: Vec<(String, i32)> = match (&self.protocol_type, self.state) {
            (Some(_), GroupState::Empty) => {
                let empty_since = self.state_timestamp_ms;
                self.offsets
                    .iter()
                    .filter(|(_, o)| {
                        let base = if empty_since > 0 {
                            empty_since
                        } else {
                            o.commit_timestamp
                        };
                        expired_by_time(o, base)
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            }
            (Some(pt), _) if pt == "consumer" && self.subscribed_topics.is_some() => {
                let subscribed = self.subscribed_topics.as_ref().expect("checked");
                self.offsets
                    .iter()
                    .filter(|((t, _), o)| {
                        !subscribed.contains(t) && expired_by_time(o, o.commit_timestamp)
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            }
            (None, _) => self
                .offsets
                .iter()
                .filter(|(_, o)| expired_by_time(o, o.commit_timestamp))
                .map(|(k, _)| k.clone())
                .collect(),
            _ => Vec::new(),
        };
        for k in &expired {
            self.offsets.remove(k);
            self.offsets_written_at.remove(k);
        }
        expired
    }
}

/// Topics of a consumer-protocol subscription (int16 version, [string] topics, ...).
pub fn parse_subscription_topics(b: &[u8]) -> Option<Vec<String>> {
    let i16_at = |at: usize| Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?));
    let _version = i16_at(0)?;
    let n = i32::from_be_bytes(b.get(2..6)?.try_into().ok()?);
    let mut at = 6;
    let mut topics = Vec::new();
    for _ in 0..n.max(0) {
        let len = i16_at(at)?.max(0) as usize;
        at += 2;
        topics.push(String::from_utf8(b.get(at..at + len)?.to_vec()).ok()?);
        at += len;
    }
    Some(topics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn member(id: &str, protocols: &[&str]) -> Member {
        Member {
            member_id: id.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            rebalance_timeout_ms: 1000,
            session_timeout_ms: 1000,
            protocol_type: "consumer".into(),
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::new()))
                .collect(),
            assignment: Bytes::new(),
            awaiting_join: None,
            awaiting_sync: None,
            is_new: false,
            heartbeat_deadline: Instant::now(),
        }
    }

    #[test]
    fn protocol_selection_by_votes_among_common_protocols() {
        let mut g = Group::new("g", 0, 0);
        g.add_member(member("a", &["range", "roundrobin"]));
        g.add_member(member("b", &["roundrobin", "range"]));
        g.add_member(member("c", &["roundrobin", "sticky"]));
        assert_eq!(g.candidate_protocols(), vec!["roundrobin"]);
        assert_eq!(g.select_protocol().as_deref(), Some("roundrobin"));
        assert_eq!(g.leader_id.as_deref(), Some("a"));
    }

    #[test]
    fn supports_protocols_rules() {
        let mut g = Group::new("g", 0, 0);
        assert!(!g.supports_protocols("", &["range"]));
        assert!(!g.supports_protocols("consumer", &[]));
        assert!(g.supports_protocols("consumer", &["range"]));
        g.add_member(member("a", &["range"]));
        g.transition_to(GroupState::PreparingRebalance, 0, "test");
        assert!(!g.supports_protocols("connect", &["range"]));
        assert!(!g.supports_protocols("consumer", &["sticky"]));
        assert!(g.supports_protocols("consumer", &["sticky", "range"]));
    }

    #[test]
    fn leader_moves_to_oldest_member_when_it_leaves() {
        let mut g = Group::new("g", 0, 0);
        g.add_member(member("a", &["range"]));
        g.add_member(member("b", &["range"]));
        g.add_member(member("c", &["range"]));
        g.remove_member("a");
        assert_eq!(g.leader_id.as_deref(), Some("b"));
    }

    #[test]
    fn empty_group_offsets_expire_from_the_time_it_became_empty() {
        let mut g = Group::new("g", 0, 1000);
        g.protocol_type = Some("consumer".into());
        g.offsets.insert(
            ("t".into(), 0),
            OffsetAndMetadata {
                offset: 1,
                leader_epoch: None,
                metadata: String::new(),
                commit_timestamp: 0,
                expire_timestamp: None,
            },
        );
        assert!(g.remove_expired_offsets(1500, 1000).is_empty());
        assert_eq!(g.remove_expired_offsets(2000, 1000), vec![("t".into(), 0)]);
    }

    #[test]
    fn parses_consumer_subscriptions() {
        let mut b = vec![0, 1, 0, 0, 0, 2];
        for t in ["t1", "topic2"] {
            b.extend_from_slice(&(t.len() as i16).to_be_bytes());
            b.extend_from_slice(t.as_bytes());
        }
        b.extend_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            parse_subscription_topics(&b).unwrap(),
            vec!["t1".to_string(), "topic2".to_string()]
        );
    }

    #[test]
    fn the_later_written_commit_of_a_partition_wins() {
        let mut g = Group::new("g", 0, 0);
        let c = |at: i64, o: i64| CommitRecordOffset {
            batch_offset: at,
            offset: OffsetAndMetadata {
                offset: o,
                leader_epoch: None,
                metadata: String::new(),
                commit_timestamp: 0,
                expire_timestamp: None,
            },
        };
        let k = ("t".to_string(), 0);
        g.commit_offset(k.clone(), c(10, 50));
        // A transaction's offset written before it, committed by a marker after it.
        g.commit_offset(k.clone(), c(7, 42));
        assert_eq!(g.offsets[&k].offset, 50);
        g.commit_offset(k.clone(), c(11, 60));
        assert_eq!(g.offsets[&k].offset, 60);
    }
}
