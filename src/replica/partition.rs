//! `Partition` (cluster/Partition.scala): one partition hosted on this broker — its log, whether
//! this broker leads or follows it, the ISR, and (as leader) what each follower has fetched.
//! The high watermark lives in the log; the leader moves it to the smallest log end offset
//! of the ISR.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc::UnboundedSender;

use super::isr::{ExpiryCandidates, IsrProposal};
use crate::log::{AppendOrigin, Log, LogAppendInfo, LogError, TopicPartition};
use crate::server::errors;

/// Why a leader append failed: the partition's state, or the log (which explains itself,
/// e.g. the records the validator refused).
#[derive(Debug)]
pub enum AppendError {
    Partition(i16),
    Log(LogError),
}

impl AppendError {
    pub fn error_code(&self) -> i16 {
        match self {
            AppendError::Partition(code) => *code,
            AppendError::Log(e) => e.error_code(),
        }
    }
}

impl From<AppendError> for i16 {
    fn from(e: AppendError) -> i16 {
        e.error_code()
    }
}

/// What the leader knows about one follower (Replica.scala).
#[derive(Clone, Debug, Default)]
pub struct FollowerState {
    pub log_end_offset: i64,
    pub log_start_offset: i64,
    /// Last time the follower had fetched up to the leader's log end offset.
    pub last_caught_up_time_ms: i64,
    pub last_fetch_leader_log_end_offset: i64,
    pub last_fetch_time_ms: i64,
    /// When the fetch session this follower last fetched through was last used. Fetches of
    /// an idle session are answered without looking at its partitions (fetch.rs), so they
    /// only advance this clock; `catch_up_with_clock` folds them in.
    pub fetch_clock: Option<Arc<AtomicI64>>,
}

impl FollowerState {
    /// Applies the fetches only the session clock saw, as updateFollowerFetchState would
    /// have: same fetch offset, leader end offset `leader_leo` unchanged since (any append
    /// folds the clock in first), so caught up iff the follower is at `leader_leo`.
    pub fn catch_up_with_clock(&mut self, leader_leo: i64) {
        let Some(t) = self.fetch_clock.as_ref().map(|c| c.load(Ordering::SeqCst)) else {
            return;
        };
        if t > self.last_fetch_time_ms {
            if self.log_end_offset >= leader_leo {
                self.last_caught_up_time_ms = self.last_caught_up_time_ms.max(t);
            }
            self.last_fetch_time_ms = t;
        }
    }
}

/// Leadership and ISR as the controller (or, for ISR changes, the leader) last set them.
#[derive(Clone, Debug, Default)]
pub struct LeaderAndIsr {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    pub zk_version: i32,
    /// Epoch of the controller whose LeaderAndIsr made this state (written back with ISR changes).
    pub controller_epoch: i32,
}

pub struct PartitionInner {
    pub log: Option<Arc<Log>>,
    pub state: LeaderAndIsr,
    /// Log end offset at which the current leader epoch started (leader only).
    pub leader_epoch_start_offset: i64,
    pub followers: BTreeMap<i32, FollowerState>,
    /// This leader proposed an ISR change that is being written to ZooKeeper; no further
    /// change is proposed until it lands or is dropped (one writer per partition).
    pub isr_change_in_flight: bool,
    /// The `-future` log an AlterReplicaLogDirs is filling in another log dir (Partition
    /// .futureLog); it follows every truncation of `log`.
    pub future_log: Option<Arc<Log>>,
    /// How many times `log` was truncated: a copy into the future log read before a
    /// truncation is stale and must not be appended.
    pub log_truncations: u64,
}

pub struct Partition {
    pub tp: TopicPartition,
    pub local_broker_id: i32,
    inner: Mutex<PartitionInner>,
    /// Where ISR expansions decided on the fetch path go to be written (the ISR task of
    /// the ReplicaManager); None in unit tests, where expansions are only decided.
    isr_updates: Option<UnboundedSender<IsrProposal>>,
    /// `replica.lag.time.max.ms`: how long a follower may be behind and still hold the HW.
    pub replica_lag_time_max_ms: i64,
    /// The isr-expiration task's list this partition goes on when a follower may fall
    /// behind (None in unit tests), and whether it is on it now.
    expiry: Option<Arc<ExpiryCandidates>>,
    expiry_listed: AtomicBool,
}

impl Partition {
    pub fn new(tp: TopicPartition, local_broker_id: i32) -> Partition {
        Self::with_isr_updates(tp, local_broker_id, None, 30_000)
    }

    pub fn with_isr_updates(
        tp: TopicPartition,
        local_broker_id: i32,
        isr_updates: Option<UnboundedSender<IsrProposal>>,
        replica_lag_time_max_ms: i64,
    ) -> Partition {
        let inner = PartitionInner {
            log: None,
            // Kafka's initial leader epoch - 1: the first LeaderAndIsr (epoch 0) is newer.
            state: LeaderAndIsr {
                leader: -1,
                leader_epoch: -1,
                ..Default::default()
            },
            leader_epoch_start_offset: -1,
            followers: BTreeMap::new(),
            isr_change_in_flight: false,
            future_log: None,
            log_truncations: 0,
        };
        Partition {
            tp,
            local_broker_id,
            inner: Mutex::new(inner),
            isr_updates,
            replica_lag_time_max_ms,
            expiry: None,
            expiry_listed: AtomicBool::new(false),
        }
    }

    /// Lists the partition with the isr-expiration task whenever it may have a lagging follower.
    pub fn with_expiry_candidates(mut self, list: Arc<ExpiryCandidates>) -> Partition {
        self.expiry = Some(list);
        self
    }

    /// Puts the partition on the isr-expiration task's list (once until the task takes it
    /// off): after an append, a leadership change or an ISR change.
    pub(super) fn mark_expiry_candidate(&self) {
        if let Some(list) = &self.expiry {
            if !self.expiry_listed.swap(true, Ordering::SeqCst) {
                list.insert(&self.tp);
            }
        }
    }

    /// The isr-expiration task took the partition off its list; cleared before the task looks
    /// at the partition, so an append racing with that look lists it again.
    pub(super) fn clear_expiry_listed(&self) {
        self.expiry_listed.store(false, Ordering::SeqCst);
    }

    /// The partition's state; never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, PartitionInner> {
        self.inner.lock().expect("partition lock")
    }

    pub fn log(&self) -> Option<Arc<Log>> {
        self.lock().log.clone()
    }

    pub fn leader_epoch(&self) -> i32 {
        self.lock().state.leader_epoch
    }

    pub fn is_leader(&self) -> bool {
        self.lock().state.leader == self.local_broker_id
    }

    /// Becomes leader (Partition.makeLeader): adopts the state, starts a new leader epoch at
    /// the log end offset, and resets what it knows of followers. Returns whether leadership
    /// is new (as opposed to an ISR/epoch refresh while already leading). A state whose leader
    /// epoch is not newer than ours is refused with STALE_CONTROLLER_EPOCH, as Kafka does.
    pub fn make_leader(
        &self,
        state: LeaderAndIsr,
        log: Arc<Log>,
        now_ms: i64,
    ) -> Result<bool, i16> {
        let mut inner = self.lock();
        self.check_epoch_increases(&inner, &state)?;
        let was_leader = inner.state.leader == self.local_broker_id;
        let leo = log.log_end_offset();
        if log.latest_epoch().is_none_or(|e| e < state.leader_epoch) {
            log.assign_epoch_start_offset(state.leader_epoch, leo)
                .inspect_err(|e| log.maybe_report_storage_error("assigning a leader epoch", e))
                .map_err(|e: LogError| e.error_code())?;
        }
        let followers = state
            .replicas
            .iter()
            .filter(|r| **r != self.local_broker_id)
            .map(|r| {
                let caught_up = if state.isr.contains(r) { now_ms } else { 0 };
                let fs = FollowerState {
                    log_end_offset: -1,
                    log_start_offset: -1,
                    last_caught_up_time_ms: caught_up,
                    ..Default::default()
                };
                (*r, fs)
            })
            .collect();
        inner.followers = followers;
        inner.isr_change_in_flight = false;
        inner.leader_epoch_start_offset = leo;
        inner.state = state;
        inner.log = Some(log);
        drop(inner);
        self.maybe_increment_high_watermark();
        self.mark_expiry_candidate();
        Ok(!was_leader)
    }

    /// A LeaderAndIsr is applied only with a newer leader epoch. The request comes from the
    /// network (a re-sent or stale controller request), so this is an answer, not an assertion;
    /// checked under the partition lock so that two concurrent requests cannot both pass.
    fn check_epoch_increases(
        &self,
        inner: &PartitionInner,
        state: &LeaderAndIsr,
    ) -> Result<(), i16> {
        if state.leader_epoch > inner.state.leader_epoch {
            Ok(())
        } else {
            Err(errors::STALE_CONTROLLER_EPOCH)
        }
    }

    /// Becomes a follower of `state.leader` (Partition.makeFollower). Returns whether the
    /// leader changed, i.e. whether fetching must (re)start; STALE_CONTROLLER_EPOCH for a leader
    /// epoch that is not newer than ours.
    pub fn make_follower(&self, state: LeaderAndIsr, log: Arc<Log>) -> Result<bool, i16> {
        let mut inner = self.lock();
        let changed =
            inner.state.leader != state.leader || inner.state.leader_epoch != state.leader_epoch;
        self.check_epoch_increases(&inner, &state)?;
        inner.followers.clear();
        inner.isr_change_in_flight = false;
        inner.leader_epoch_start_offset = -1;
        inner.state = state;
        inner.log = Some(log);
        Ok(changed)
    }

    /// Appends a producer's batches as leader; acks=-1 first checks min.insync.replicas.
    pub fn append_records_to_leader(
        &self,
        records: &[u8],
        required_acks: i16,
    ) -> Result<LogAppendInfo, AppendError> {
        self.append_records_to_leader_with_origin(records, required_acks, AppendOrigin::Client)
    }

    /// As `append_records_to_leader`, for the coordinators' own writes (AppendOrigin
    /// Coordinator: transaction markers are control batches, which producers may not write).
    pub fn append_records_to_leader_with_origin(
        &self,
        records: &[u8],
        required_acks: i16,
        origin: AppendOrigin,
    ) -> Result<LogAppendInfo, AppendError> {
        let mut inner = self.lock();
        if inner.state.leader != self.local_broker_id {
            return Err(AppendError::Partition(errors::NOT_LEADER_OR_FOLLOWER));
        }
        let log = inner
            .log
            .clone()
            .ok_or(AppendError::Partition(errors::NOT_LEADER_OR_FOLLOWER))?;
        // The log end offset moves: idle-session fetches seen so far were at the old one.
        let leo = log.log_end_offset();
        for f in inner.followers.values_mut() {
            f.catch_up_with_clock(leo);
        }
        let min_isr = log.config().min_insync_replicas as usize;
        if required_acks == -1 && inner.state.isr.len() < min_isr {
            tracing::warn!(target: "kafka.cluster.Partition", "[Partition {} broker={}] Rejecting produce with acks=all: ISR {:?} is smaller than min.insync.replicas={min_isr}", self.tp, self.local_broker_id, inner.state.isr);
            return Err(AppendError::Partition(errors::NOT_ENOUGH_REPLICAS));
        }
        let epoch = inner.state.leader_epoch;
        // The lock is held through the append so a concurrent leader change cannot interleave.
        let info = log
            .append_as_leader_with_origin(records, epoch, origin)
            .map_err(|e| {
                log.maybe_report_storage_error("appending as leader", &e);
                AppendError::Log(e)
            })?;
        drop(inner);
        self.maybe_increment_high_watermark();
        self.mark_expiry_candidate();
        Ok(info)
    }

    /// Leader: HW = smallest log end offset among the ISR and the followers that caught up
    /// within `replica.lag.time.max.ms` (so a rejoining follower can reach the HW); it never
    /// moves back (Partition.maybeIncrementLeaderHW).
    pub fn maybe_increment_high_watermark(&self) -> Option<i64> {
        let mut inner = self.lock();
        let log = inner.log.clone()?;
        if inner.state.leader != self.local_broker_id {
            return None;
        }
        let now = crate::controller::now_ms();
        let mut hw = log.log_end_offset();
        for f in inner.followers.values_mut() {
            f.catch_up_with_clock(hw);
        }
        for (id, f) in &inner.followers {
            let counts = inner.state.isr.contains(id)
                || now - f.last_caught_up_time_ms <= self.replica_lag_time_max_ms;
            if counts {
                // A follower whose position is unknown holds the HW where it is.
                hw = hw.min(f.log_end_offset.max(log.high_watermark()));
            }
        }
        log.maybe_increment_high_watermark(hw)
    }

    /// Leader: records what a follower's fetch says about it (Partition.updateFollowerFetchState),
    /// moves the high watermark, and proposes adding the follower to the ISR once it has
    /// caught up (replication-and-storage.md §9.6). Returns whether the high watermark moved.
    pub fn update_follower_fetch_state(
        &self,
        replica_id: i32,
        fetch_offset: i64,
        log_start_offset: i64,
        now_ms: i64,
        session_clock: Option<&Arc<AtomicI64>>,
    ) -> bool {
        {
            let mut inner = self.lock();
            let leader_leo = match inner.log.as_ref() {
                Some(log) if inner.state.leader == self.local_broker_id => log.log_end_offset(),
                _ => return false,
            };
            let Some(f) = inner.followers.get_mut(&replica_id) else {
                return false;
            };
            f.catch_up_with_clock(leader_leo);
            if let Some(clock) = session_clock.filter(|c| {
                f.fetch_clock
                    .as_ref()
                    .is_none_or(|mine| !Arc::ptr_eq(mine, c))
            }) {
                f.fetch_clock = Some(clock.clone());
            }
            // Caught up if it reached the leader's end now, or the end as of its previous fetch.
            if fetch_offset >= leader_leo {
                f.last_caught_up_time_ms = now_ms;
            } else if fetch_offset >= f.last_fetch_leader_log_end_offset {
                f.last_caught_up_time_ms = f.last_caught_up_time_ms.max(f.last_fetch_time_ms);
            }
            f.log_end_offset = fetch_offset;
            f.log_start_offset = log_start_offset;
            f.last_fetch_leader_log_end_offset = leader_leo;
            f.last_fetch_time_ms = now_ms;
        }
        let moved = self.maybe_increment_high_watermark().is_some();
        self.maybe_expand_isr(replica_id);
        moved
    }

    /// Proposes `replica_id` for the ISR if it is out of it, has reached the high watermark
    /// and has caught up into the current leader epoch (Partition.maybeExpandIsr).
    fn maybe_expand_isr(&self, replica_id: i32) {
        let proposal = {
            let mut inner = self.lock();
            let Some(log) = inner.log.as_ref() else {
                return;
            };
            if inner.state.leader != self.local_broker_id
                || inner.isr_change_in_flight
                || inner.state.isr.contains(&replica_id)
                || !inner.state.replicas.contains(&replica_id)
            {
                return;
            }
            let hw = log.high_watermark();
            let Some(f) = inner.followers.get(&replica_id) else {
                return;
            };
            if f.log_end_offset < hw || f.log_end_offset < inner.leader_epoch_start_offset {
                return;
            }
            let mut new_isr = inner.state.isr.clone();
            new_isr.push(replica_id);
            let why = format!(
                "replica {replica_id} caught up: log end offset {} >= high watermark {hw} and >= leader epoch start offset {}",
                f.log_end_offset, inner.leader_epoch_start_offset
            );
            inner.isr_change_in_flight = true;
            IsrProposal::new(&self.tp, &inner.state, new_isr, why)
        };
        self.submit_isr_change(proposal);
    }

    /// Hands an ISR change to the ISR task, or forgets it when there is none.
    pub(super) fn submit_isr_change(&self, proposal: IsrProposal) {
        let sent = self
            .isr_updates
            .as_ref()
            .is_some_and(|tx| tx.send(proposal).is_ok());
        if !sent {
            self.lock().isr_change_in_flight = false;
        }
    }

    /// Whether every ISR member has `required_offset` (acks=all), or the error to answer:
    /// None while waiting.
    pub fn check_enough_replicas_reached(&self, required_offset: i64) -> Option<Result<(), i16>> {
        let inner = self.lock();
        let Some(log) = inner.log.as_ref() else {
            return Some(Err(errors::NOT_LEADER_OR_FOLLOWER));
        };
        if inner.state.leader != self.local_broker_id {
            return Some(Err(errors::NOT_LEADER_OR_FOLLOWER));
        }
        if log.high_watermark() >= required_offset {
            let min_isr = log.config().min_insync_replicas as usize;
            return Some(if inner.state.isr.len() >= min_isr {
                Ok(())
            } else {
                Err(errors::NOT_ENOUGH_REPLICAS_AFTER_APPEND)
            });
        }
        None
    }
}
