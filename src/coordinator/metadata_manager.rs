//! GroupMetadataManager.scala: which `__consumer_offsets` partitions this broker owns, the
//! groups cached for them, loading a partition into the cache when we become its leader,
//! unloading it when we stop, and appending group/offset records to it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::errors;
use super::group::{Group, GroupState};
use super::load::LoadedPartition;
use super::member::{JoinResult, Member, SyncResult};
use super::records::GroupRecord;
use crate::controller::now_ms;
use crate::log::batch::{build_batch, set_transactional, HeaderIter};
use crate::log::{AppendOrigin, TopicPartition};
use crate::replica::purgatory::wait_until_complete;
use crate::replica::ReplicaManager;

pub const GROUP_METADATA_TOPIC_NAME: &str = "__consumer_offsets";

pub type GroupRef = Arc<Mutex<Group>>;

/// Java's `String.hashCode` over UTF-16 code units, then Kafka's `Utils.abs` (MIN → 0).
pub fn java_abs_hash(s: &str) -> i32 {
    let h = s
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    if h == i32::MIN {
        0
    } else {
        h.abs()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ownership {
    /// Being read from the log; the token tells a stale load apart from the current one.
    Loading(u64),
    Loaded,
}

pub struct GroupMetadataManager {
    pub broker_id: i32,
    /// Partition count of `__consumer_offsets` (ZooKeeper at startup, else the config).
    pub num_partitions: AtomicI32,
    pub replica_manager: Arc<ReplicaManager>,
    pub load_buffer_size: usize,
    groups: Mutex<HashMap<String, GroupRef>>,
    owned: Mutex<HashMap<i32, Ownership>>,
    next_token: AtomicU64,
}

impl GroupMetadataManager {
    pub fn new(replica_manager: Arc<ReplicaManager>, num_partitions: i32) -> GroupMetadataManager {
        let config = replica_manager.config.clone();
        GroupMetadataManager {
            broker_id: replica_manager.broker_id(),
            num_partitions: AtomicI32::new(num_partitions.max(1)),
            load_buffer_size: config.int("offsets.load.buffer.size").max(1024) as usize,
            replica_manager,
            groups: Mutex::new(HashMap::new()),
            owned: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
        }
    }

    pub fn partition_for(&self, group_id: &str) -> i32 {
        java_abs_hash(group_id) % self.num_partitions.load(Ordering::Relaxed)
    }

    /// Ok when we own and have loaded the group's partition, else the error to answer.
    pub fn check_owned(&self, group_id: &str) -> Result<(), i16> {
        let p = self.partition_for(group_id);
        match self.owned.lock().expect("owned lock").get(&p) {
            Some(Ownership::Loaded) => Ok(()),
            Some(Ownership::Loading(_)) => Err(errors::COORDINATOR_LOAD_IN_PROGRESS),
            None => Err(errors::NOT_COORDINATOR),
        }
    }

    pub fn is_loading_any(&self) -> bool {
        self.owned
            .lock()
            .expect("owned lock")
            .values()
            .any(|o| matches!(o, Ownership::Loading(_)))
    }

    pub fn get_group(&self, group_id: &str) -> Option<GroupRef> {
        self.groups
            .lock()
            .expect("groups lock")
            .get(group_id)
            .cloned()
    }

    /// The group, created Empty if missing (GroupMetadataManager.addGroup).
    pub fn get_or_create_group(&self, group_id: &str) -> GroupRef {
        let partition = self.partition_for(group_id);
        self.groups
            .lock()
            .expect("groups lock")
            .entry(group_id.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(Group::new(group_id, partition, now_ms()))))
            .clone()
    }

    pub fn remove_group(&self, group_id: &str) {
        self.groups.lock().expect("groups lock").remove(group_id);
    }

    pub fn all_groups(&self) -> Vec<GroupRef> {
        self.groups
            .lock()
            .expect("groups lock")
            .values()
            .cloned()
            .collect()
    }

    // ------------------------------------------------------------------ appends

    /// Appends key/value records (None value = tombstone) to our `__consumer_offsets`
    /// partition and, for acks=-1, waits until the ISR has them or `timeout` passes.
    /// Ok is the log offset the records were written at; errors are the raw produce errors,
    /// callers map them (errors::map_*_append_error).
    pub async fn append(
        &self,
        partition: i32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        required_acks: i16,
        timeout: Duration,
    ) -> Result<i64, i16> {
        let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, partition);
        let leader = self.replica_manager.leader_partition(&tp)?;
        let now = now_ms();
        let simple: Vec<_> = records
            .iter()
            .map(|(k, v)| (now, Some(k.as_slice()), v.as_deref(), &[][..]))
            .collect();
        let batch = build_batch(0, 0, &simple);
        let info = leader.append_records_to_leader(&batch, required_acks)?;
        self.replica_manager.complete_delayed_requests(&tp);
        if required_acks != -1 {
            return Ok(info.first_offset);
        }
        let required = info.last_offset + 1;
        let waker = self.replica_manager.produce_purgatory.watch([&tp]);
        wait_until_complete(
            &waker,
            timeout,
            || leader.check_enough_replicas_reached(required),
            || Err(errors::REQUEST_TIMED_OUT),
        )
        .await
        .map(|()| info.first_offset)
    }

    /// TxnOffsetCommit's write: the offsets as a transactional batch of the producer (base
    /// sequence 0), so the transaction's marker decides whether they count. Ok is the log
    /// offset they were written at.
    pub async fn append_transactional(
        &self,
        partition: i32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        producer: (i64, i16),
        timeout: Duration,
    ) -> Result<i64, i16> {
        let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, partition);
        let now = now_ms();
        let simple: Vec<_> = records
            .iter()
            .map(|(k, v)| (now, Some(k.as_slice()), v.as_deref(), &[][..]))
            .collect();
        let mut batch = build_batch(0, 0, &simple);
        set_transactional(&mut batch, producer.0, producer.1);
        self.replica_manager
            .append_and_wait_for_isr(&tp, &batch, AppendOrigin::Coordinator, timeout)
            .await
            .map(|info| info.first_offset)
    }

    // ------------------------------------------------------------------ load / unload

    /// We became leader of `__consumer_offsets-<partition>`: load it in the background
    /// (requests for its groups get COORDINATOR_LOAD_IN_PROGRESS meanwhile).
    pub fn on_become_leader(self: &Arc<Self>, partition: i32) {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        {
            let mut owned = self.owned.lock().expect("owned lock");
            if owned.get(&partition) == Some(&Ownership::Loaded) {
                // Still leader after an ISR/epoch change: the cache is current.
                return;
            }
            owned.insert(partition, Ownership::Loading(token));
        }
        // Routine, once per __consumer_offsets partition: debug (the groups it loads are info).
        tracing::debug!(target: "kafka.coordinator.group.GroupMetadataManager",
            "[GroupMetadataManager brokerId={}] Scheduling loading of offsets and group metadata from {GROUP_METADATA_TOPIC_NAME}-{partition}",
            self.broker_id);
        let me = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let reader = me.clone();
            let loaded = tokio::task::spawn_blocking(move || {
                let mut loaded = LoadedPartition::default();
                reader
                    .read_partition(partition, &mut loaded)
                    .map(|()| loaded)
            })
            .await;
            let (loaded, catch_up) = match loaded {
                Ok(Ok(v)) => (v, true),
                Ok(Err(e)) => {
                    tracing::error!(target: "kafka.coordinator.group.GroupMetadataManager",
                        "Error loading offsets from {GROUP_METADATA_TOPIC_NAME}-{partition}: {e}");
                    (LoadedPartition::default(), false)
                }
                Err(e) => {
                    tracing::error!(target: "kafka.coordinator.group.GroupMetadataManager", "load task failed: {e}");
                    (LoadedPartition::default(), false)
                }
            };
            me.install_loaded(partition, token, loaded, catch_up, started);
        });
    }

    /// Reads the partition on from where `loaded` stopped until it reaches the log end
    /// offset, looked up again after each read as Kafka's loader does (markers appended
    /// meanwhile are read too).
    fn read_partition(&self, partition: i32, loaded: &mut LoadedPartition) -> Result<(), String> {
        let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, partition);
        let Some(log) = self
            .replica_manager
            .get_partition(&tp)
            .and_then(|p| p.log())
        else {
            return Ok(());
        };
        let name = tp.to_string();
        let mut next = loaded.next.unwrap_or_else(|| log.log_start_offset());
        while next < log.log_end_offset() {
            let info = log
                .read(next, self.load_buffer_size, None, true)
                .map_err(|e| e.to_string())?;
            if info.records.is_empty() {
                break;
            }
            let bytes = info.records.to_vec().map_err(|e| e.to_string())?;
            let before = next;
            for (pos, h) in HeaderIter::new(&bytes) {
                next = h.last_offset() + 1;
                loaded.next = Some(next);
                loaded.apply_batch(&h, &bytes[pos..pos + h.size()], &name)?;
            }
            if next == before {
                break;
            }
        }
        Ok(())
    }

    /// Installs a finished load. Under the ownership lock it first reads what was appended
    /// since: a transaction marker written meanwhile is either read here or, once Loaded,
    /// completes the restored pending offsets (`while_loaded`).
    fn install_loaded(
        &self,
        partition: i32,
        token: u64,
        mut loaded: LoadedPartition,
        catch_up: bool,
        started: Instant,
    ) {
        let mut owned = self.owned.lock().expect("owned lock");
        if owned.get(&partition) != Some(&Ownership::Loading(token)) {
            // Unloaded (or reloaded) while we were reading: this result is stale.
            return;
        }
        if catch_up {
            if let Err(e) = self.read_partition(partition, &mut loaded) {
                tracing::error!(target: "kafka.coordinator.group.GroupMetadataManager",
                    "Error loading offsets from {GROUP_METADATA_TOPIC_NAME}-{partition}: {e}");
            }
        }
        let now = now_ms();
        let mut count = 0;
        let mut cache = self.groups.lock().expect("groups lock");
        for name in loaded.group_names() {
            let record = loaded.groups.get(&name).cloned().flatten();
            let offsets = loaded.committed(&name);
            let pending = loaded.pending_for(&name);
            if record.is_none() && offsets.is_empty() && pending.is_empty() {
                continue;
            }
            let mut g = match &record {
                Some(r) => group_from_record(&name, partition, r, now),
                None => Group::new(&name, partition, now),
            };
            for (k, c) in offsets {
                g.commit_offset(k, c);
            }
            g.pending_txn_offsets = pending;
            tracing::info!(target: "kafka.coordinator.group.GroupCoordinator",
                "Loaded group {name} ({GROUP_METADATA_TOPIC_NAME}-{partition}): {} at generation {} with {} members, {} offsets and {} pending transactional offsets",
                g.state.name(), g.generation_id, g.members.len(), g.offsets.len(),
                g.pending_txn_offsets.values().map(|m| m.len()).sum::<usize>());
            cache.insert(name.clone(), Arc::new(Mutex::new(g)));
            count += 1;
        }
        owned.insert(partition, Ownership::Loaded);
        tracing::debug!(target: "kafka.coordinator.group.GroupMetadataManager",
            "[GroupMetadataManager brokerId={}] Finished loading offsets and group metadata from {GROUP_METADATA_TOPIC_NAME}-{partition} in {} milliseconds ({count} groups)",
            self.broker_id, started.elapsed().as_millis());
    }

    /// Runs `f` while holding the ownership lock if the partition is loaded here; None if
    /// it is loading (the load will read what `f` would have applied) or not ours.
    pub fn while_loaded<R>(&self, partition: i32, f: impl FnOnce() -> R) -> Option<R> {
        let owned = self.owned.lock().expect("owned lock");
        (owned.get(&partition) == Some(&Ownership::Loaded)).then(f)
    }

    /// We are no longer leader of the partition: drop its groups, marking them Dead, and
    /// send NOT_COORDINATOR to anyone parked in JoinGroup/SyncGroup.
    pub fn on_resign(&self, partition: i32) {
        if self
            .owned
            .lock()
            .expect("owned lock")
            .remove(&partition)
            .is_none()
        {
            return;
        }
        let removed: Vec<GroupRef> = {
            let mut cache = self.groups.lock().expect("groups lock");
            let ids: Vec<String> = cache
                .iter()
                .filter(|(_, g)| g.lock().expect("group lock").partition == partition)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| cache.remove(id)).collect()
        };
        let now = now_ms();
        for g in &removed {
            let mut g = g.lock().expect("group lock");
            for m in g.members.values_mut() {
                let id = m.member_id.clone();
                m.complete_join(JoinResult::error(&id, errors::NOT_COORDINATOR));
                m.complete_sync(SyncResult::error(errors::NOT_COORDINATOR));
            }
            g.transition_to(
                GroupState::Dead,
                now,
                "this broker is no longer leader of its __consumer_offsets partition",
            );
        }
        tracing::debug!(target: "kafka.coordinator.group.GroupMetadataManager",
            "[GroupMetadataManager brokerId={}] Unloaded {} groups of {GROUP_METADATA_TOPIC_NAME}-{partition}",
            self.broker_id, removed.len());
    }
}

/// A group as the log left it: Stable with members, Empty without; members' session timers
/// start now.
fn group_from_record(name: &str, partition: i32, r: &GroupRecord, now: i64) -> Group {
    let mut g = Group::new(name, partition, now);
    g.protocol_type = Some(r.protocol_type.clone()).filter(|p| !p.is_empty());
    g.generation_id = r.generation;
    g.protocol_name = r.protocol.clone();
    g.leader_id = r.leader.clone();
    if r.current_state_timestamp >= 0 {
        g.state_timestamp_ms = r.current_state_timestamp;
    }
    let protocol = r.protocol.clone().unwrap_or_default();
    for m in &r.members {
        if let Some(i) = &m.group_instance_id {
            g.static_members.insert(i.clone(), m.member_id.clone());
        }
        let member = Member {
            member_id: m.member_id.clone(),
            group_instance_id: m.group_instance_id.clone(),
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            rebalance_timeout_ms: m.rebalance_timeout,
            session_timeout_ms: m.session_timeout,
            protocol_type: r.protocol_type.clone(),
            protocols: vec![(protocol.clone(), Bytes::from(m.subscription.clone()))],
            assignment: Bytes::from(m.assignment.clone()),
            awaiting_join: None,
            awaiting_sync: None,
            is_new: false,
            heartbeat_deadline: Instant::now()
                + Duration::from_millis(m.session_timeout.max(0) as u64),
        };
        g.members.insert(m.member_id.clone(), member);
    }
    if !g.members.is_empty() {
        // Loaded groups start Stable (the recorded generation completed its rebalance).
        g.state = GroupState::Stable;
        g.subscribed_topics = if g.protocol_type.as_deref() == Some("consumer") {
            let mut all = std::collections::BTreeSet::new();
            let mut ok = true;
            for m in g.members.values() {
                match super::group::parse_subscription_topics(&m.metadata(&protocol)) {
                    Some(t) => all.extend(t),
                    None => ok = false,
                }
            }
            ok.then_some(all)
        } else {
            None
        };
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_partitions_match_the_reference_examples() {
        let p = |g: &str| java_abs_hash(g) % 50;
        assert_eq!(p("test"), 48);
        assert_eq!(p("my-group"), 12);
        assert_eq!(p("group1"), 40);
        assert_eq!(p(""), 0);
        assert_eq!(java_abs_hash("test"), 3556498);
    }
}
