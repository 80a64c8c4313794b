//! ISR maintenance by the partition leader, the classic way (IBP < 2.7-IV2): the leader
//! decides shrinks and expansions, writes the partition state znode itself (conditional on
//! its zkVersion), and batches `/isr_change_notification` znodes so the controller tells the
//! other brokers (replication-and-storage.md §9.5–9.7, zookeeper-layout.md §6.7, §6.10).
//!
//! All writes go through one task (several partitions' writes in flight, at most one per
//! partition) and the partition lock is never held across ZooKeeper I/O.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use super::manager::ReplicaManager;
use super::partition::{LeaderAndIsr, Partition};
use crate::controller::now_ms;
use crate::log::TopicPartition;
use crate::metrics::events::{EventKind, Subject};
use crate::metrics::METRICS;
use crate::zk::codec::{encode_isr_change, PartitionState};
use crate::zk::{paths, UpdateOutcome};

/// Kafka's constants (ReplicaManager.scala): check every 2.5 s; write when nothing changed
/// for 5 s, or when the last write is 60 s old.
const ISR_CHANGE_PROPAGATION_INTERVAL_MS: u64 = 2_500;
const ISR_CHANGE_PROPAGATION_BLACKOUT_MS: i64 = 5_000;
const ISR_CHANGE_PROPAGATION_MAX_DELAY_MS: i64 = 60_000;

/// An ISR change a leader wants to write: its current state plus the new ISR.
#[derive(Clone, Debug)]
pub struct IsrProposal {
    pub tp: TopicPartition,
    pub leader: i32,
    pub leader_epoch: i32,
    pub controller_epoch: i32,
    pub zk_version: i32,
    pub old_isr: Vec<i32>,
    pub new_isr: Vec<i32>,
    pub why: String,
}

impl IsrProposal {
    pub fn new(
        tp: &TopicPartition,
        state: &LeaderAndIsr,
        new_isr: Vec<i32>,
        why: String,
    ) -> IsrProposal {
        IsrProposal {
            tp: tp.clone(),
            leader: state.leader,
            leader_epoch: state.leader_epoch,
            controller_epoch: state.controller_epoch,
            zk_version: state.zk_version,
            old_isr: state.isr.clone(),
            new_isr,
            why,
        }
    }

    /// The znode payload: leader and leader epoch unchanged, the controller epoch of the
    /// LeaderAndIsr that made us leader (not the current controller's).
    fn znode(&self) -> PartitionState {
        PartitionState {
            leader: self.leader,
            leader_epoch: self.leader_epoch,
            isr: self.new_isr.clone(),
            controller_epoch: self.controller_epoch,
            zk_version: self.zk_version,
        }
    }
}

impl Partition {
    /// Leader: the ISR without followers that are behind and have not caught up within
    /// `replica.lag.time.max.ms` (Partition.maybeShrinkIsr; the leader never drops itself).
    pub fn maybe_shrink_isr(&self, now_ms: i64) -> Option<IsrProposal> {
        let mut inner = self.lock();
        let leader_leo = inner.log.as_ref()?.log_end_offset();
        if inner.state.leader != self.local_broker_id || inner.isr_change_in_flight {
            return None;
        }
        for f in inner.followers.values_mut() {
            f.catch_up_with_clock(leader_leo);
        }
        let (mut lagging, mut details) = (Vec::new(), Vec::new());
        for r in inner
            .state
            .isr
            .iter()
            .filter(|r| **r != self.local_broker_id)
        {
            let (leo, caught_up) = inner
                .followers
                .get(r)
                .map_or((-1, 0), |f| (f.log_end_offset, f.last_caught_up_time_ms));
            if leo != leader_leo && now_ms - caught_up > self.replica_lag_time_max_ms {
                lagging.push(*r);
                details.push(format!(
                    "{r} (log end offset {leo}, last caught up {} ms ago)",
                    now_ms - caught_up
                ));
            }
        }
        if lagging.is_empty() {
            return None;
        }
        let new_isr: Vec<i32> = inner
            .state
            .isr
            .iter()
            .copied()
            .filter(|r| !lagging.contains(r))
            .collect();
        let why = format!(
            "out of sync for more than replica.lag.time.max.ms={} with leader log end offset {leader_leo}: {}",
            self.replica_lag_time_max_ms,
            details.join(", ")
        );
        inner.isr_change_in_flight = true;
        Some(IsrProposal::new(&self.tp, &inner.state, new_isr, why))
    }

    /// Leader: whether an ISR follower is not at the log end offset (or an ISR change is in
    /// flight), i.e. whether the isr-expiration task must keep looking at this partition.
    pub fn may_have_lagging_isr_follower(&self) -> bool {
        let inner = self.lock();
        let Some(log) = inner.log.as_ref() else {
            return false;
        };
        if inner.state.leader != self.local_broker_id {
            return false;
        }
        let leo = log.log_end_offset();
        inner.isr_change_in_flight
            || inner.state.isr.iter().any(|r| {
                *r != self.local_broker_id
                    && inner
                        .followers
                        .get(r)
                        .is_none_or(|f| f.log_end_offset != leo)
            })
    }

    /// Adopts a written ISR (`Some(zk_version)`) or forgets a dropped one (`None`), unless a
    /// LeaderAndIsr has superseded the state it was proposed for. Returns whether adopted.
    pub fn complete_isr_change(&self, p: &IsrProposal, written: Option<i32>) -> bool {
        {
            let mut inner = self.lock();
            if inner.state.leader != p.leader || inner.state.leader_epoch != p.leader_epoch {
                tracing::info!(target: "kafka.cluster.Partition",
                    "[Partition {} broker={}] Ignoring the outcome of ISR change {:?} -> {:?}: leader epoch moved from {} to {}",
                    self.tp, self.local_broker_id, p.old_isr, p.new_isr, p.leader_epoch, inner.state.leader_epoch);
                return false;
            }
            inner.isr_change_in_flight = false;
            let Some(version) = written else {
                return false;
            };
            let (kind, event, meter) = if p.new_isr.len() < p.old_isr.len() {
                ("Shrinking", EventKind::IsrShrink, &METRICS.isr_shrinks)
            } else {
                ("Expanding", EventKind::IsrExpand, &METRICS.isr_expands)
            };
            meter.inc();
            crate::narrate!(info, "kafka.cluster.Partition", event, Subject::partition(&self.tp.topic, self.tp.partition),
                "[Partition {} broker={}] {kind} ISR from {} to {} at leader epoch {} (zkVersion {} -> {version}): {}",
                self.tp, self.local_broker_id, join(&p.old_isr), join(&p.new_isr), p.leader_epoch, p.zk_version, p.why);
            inner.state.isr = p.new_isr.clone();
            inner.state.zk_version = version;
        }
        self.maybe_increment_high_watermark();
        // A follower may join the ISR at the high watermark, still behind the log end.
        self.mark_expiry_candidate();
        true
    }
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Partitions led here that may have an ISR follower behind the log end offset: the only
/// ones the isr-expiration task looks at. Kafka scans every partition it leads every
/// `replica.lag.time.max.ms / 2`; here a partition is listed on an append, a leadership or
/// an ISR change, and stays listed while an ISR follower is behind, so an idle broker's
/// tick costs nothing however many partitions it leads.
#[derive(Default)]
pub struct ExpiryCandidates {
    listed: Mutex<HashSet<TopicPartition>>,
}

impl ExpiryCandidates {
    pub fn insert(&self, tp: &TopicPartition) {
        self.listed
            .lock()
            .expect("expiry candidates")
            .insert(tp.clone());
    }

    fn take(&self) -> HashSet<TopicPartition> {
        std::mem::take(&mut *self.listed.lock().expect("expiry candidates"))
    }

    pub fn len(&self) -> usize {
        self.listed.lock().expect("expiry candidates").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Partitions whose ISR changed since the last `/isr_change_notification`.
#[derive(Default)]
pub struct IsrChangeSet {
    pending: BTreeSet<TopicPartition>,
    last_change_ms: i64,
    last_propagation_ms: i64,
}

impl IsrChangeSet {
    pub fn record(&mut self, tp: &TopicPartition, now: i64) {
        self.pending.insert(tp.clone());
        self.last_change_ms = now;
    }

    /// Kafka's schedule: something pending and (quiet for 5 s, or last write 60 s ago).
    fn take_if_due(&mut self, now: i64) -> Option<Vec<TopicPartition>> {
        let due = !self.pending.is_empty()
            && (self.last_change_ms + ISR_CHANGE_PROPAGATION_BLACKOUT_MS < now
                || self.last_propagation_ms + ISR_CHANGE_PROPAGATION_MAX_DELAY_MS < now);
        due.then(|| {
            self.last_propagation_ms = now;
            std::mem::take(&mut self.pending).into_iter().collect()
        })
    }
}

/// Starts the ISR writer, the `isr-expiration` task and the notification task.
pub fn start_isr_tasks(
    rm: &Arc<ReplicaManager>,
    proposals: UnboundedReceiver<IsrProposal>,
) -> Vec<JoinHandle<()>> {
    // As Kafka: the 60 s maximum delay counts from start-up, so changes in the first minute
    // wait for a 5 s quiet period and later ones after a long calm go out at the next check.
    let changes = Arc::new(Mutex::new(IsrChangeSet {
        last_propagation_ms: now_ms(),
        ..Default::default()
    }));
    vec![
        tokio::spawn(write_isr_changes(rm.clone(), proposals, changes.clone())),
        tokio::spawn(expire_lagging_replicas(rm.clone())),
        tokio::spawn(propagate_isr_changes(rm.clone(), changes)),
    ]
}

/// Every `replica.lag.time.max.ms / 2`: propose shrinks for the listed partitions (see
/// `ExpiryCandidates`); those with no follower behind any more leave the list.
async fn expire_lagging_replicas(rm: Arc<ReplicaManager>) {
    let lag = rm.config.long("replica.lag.time.max.ms").max(2);
    let mut tick = tokio::time::interval(Duration::from_millis(lag as u64 / 2));
    tick.tick().await;
    loop {
        tick.tick().await;
        expire_listed(&rm.expiry_candidates, |tp| rm.get_partition(tp), now_ms());
    }
}

/// One isr-expiration tick over the listed partitions (`lookup` finds a hosted partition).
pub(super) fn expire_listed(
    list: &ExpiryCandidates,
    lookup: impl Fn(&TopicPartition) -> Option<Arc<Partition>>,
    now: i64,
) {
    for tp in list.take() {
        let Some(p) = lookup(&tp) else {
            continue;
        };
        p.clear_expiry_listed();
        if let Some(proposal) = p.maybe_shrink_isr(now) {
            p.submit_isr_change(proposal);
        }
        if p.may_have_lagging_isr_follower() {
            p.mark_expiry_candidate();
        }
    }
}

/// The ISR writer: conditional setData on the cached zkVersion; on BADVERSION the change
/// counts only if the znode already holds exactly what we meant to write. Proposals queued
/// together go out as one multi of up to ISR_WRITES_PER_MULTI writes (one ZooKeeper
/// transaction and log sync for all), with up to ISR_WRITES_IN_FLIGHT requests in flight (a
/// partition has at most one write: `isr_change_in_flight`). A restarted follower rejoins
/// thousands of ISRs at once; Kafka writes each from a request thread, 8 at a time.
async fn write_isr_changes(
    rm: Arc<ReplicaManager>,
    mut proposals: UnboundedReceiver<IsrProposal>,
    changes: Arc<Mutex<IsrChangeSet>>,
) {
    use futures::StreamExt;
    futures::stream::poll_fn(|cx| proposals.poll_recv(cx))
        .ready_chunks(ISR_WRITES_PER_MULTI)
        .for_each_concurrent(ISR_WRITES_IN_FLIGHT, |batch| {
            write_and_complete(&rm, &changes, batch)
        })
        .await;
}

/// Kafka's default num.io.threads: how many ISR writes its request threads can have going
/// (the ZooKeeper client's zookeeper.max.in.flight.requests bounds them too).
const ISR_WRITES_IN_FLIGHT: usize = 8;
/// ~15 KB of request: far below jute.maxbuffer.
const ISR_WRITES_PER_MULTI: usize = 100;

async fn write_and_complete(
    rm: &ReplicaManager,
    changes: &Mutex<IsrChangeSet>,
    batch: Vec<IsrProposal>,
) {
    let batch: Vec<(Arc<Partition>, IsrProposal)> = batch
        .into_iter()
        .filter_map(|p| Some((rm.get_partition(&p.tp)?, p)))
        .collect();
    let written = match write_together(rm, &batch).await {
        Some(versions) => versions,
        None => {
            let one_by_one = batch.iter().map(|(_, p)| write_one(rm, p));
            futures::future::join_all(one_by_one).await
        }
    };
    for ((partition, p), written) in batch.iter().zip(written) {
        if partition.complete_isr_change(p, written) {
            changes
                .lock()
                .expect("isr change set")
                .record(&p.tp, now_ms());
        }
        // A shrink may let the HW pass waiting acks=all produces (or fail them on min ISR).
        rm.complete_delayed_requests(&p.tp);
    }
}

/// Several proposals in one multi; None when it failed (nothing was written: each is then
/// written on its own, which sorts out zkVersion conflicts and unknown outcomes).
async fn write_together(
    rm: &ReplicaManager,
    batch: &[(Arc<Partition>, IsrProposal)],
) -> Option<Vec<Option<i32>>> {
    if batch.len() < 2 {
        return None;
    }
    let states: Vec<_> = batch
        .iter()
        .map(|(_, p)| (p.tp.clone(), p.znode()))
        .collect();
    match rm.zk.update_partition_states_in_one_multi(&states).await {
        Ok(versions) => Some(versions.into_iter().map(Some).collect()),
        Err(e) => {
            tracing::info!(target: "kafka.cluster.Partition",
                "[ReplicaManager broker={}] {} ISR changes written together failed ({e}); writing each on its own",
                rm.broker_id(), batch.len());
            None
        }
    }
}

async fn write_one(rm: &ReplicaManager, p: &IsrProposal) -> Option<i32> {
    let me = rm.broker_id();
    let wanted = p.znode();
    match rm.zk.update_partition_state(None, &p.tp, &wanted).await {
        Ok(UpdateOutcome::Updated(v)) => Some(v),
        Ok(UpdateOutcome::VersionConflict) => match rm.zk.get_partition_state(&p.tp).await {
            Ok(Some(stored))
                if stored.leader == wanted.leader
                    && stored.leader_epoch == wanted.leader_epoch
                    && stored.isr == wanted.isr
                    && stored.controller_epoch == wanted.controller_epoch =>
            {
                Some(stored.zk_version)
            }
            Ok(stored) => {
                METRICS.failed_isr_updates.inc();
                tracing::info!(target: "kafka.cluster.Partition",
                    "[Partition {} broker={me}] Cached zkVersion {} not equal to that in zookeeper ({:?}), skip updating ISR {:?} -> {:?}; waiting for the controller",
                    p.tp, p.zk_version, stored.map(|s| s.zk_version), p.old_isr, p.new_isr);
                None
            }
            Err(e) => {
                METRICS.failed_isr_updates.inc();
                tracing::warn!(target: "kafka.cluster.Partition", "[Partition {} broker={me}] Cannot re-read partition state after a zkVersion conflict: {e}", p.tp);
                None
            }
        },
        Err(e) => {
            METRICS.failed_isr_updates.inc();
            tracing::warn!(target: "kafka.cluster.Partition", "[Partition {} broker={me}] Failed to write ISR {:?} -> {:?} to ZooKeeper: {e}", p.tp, p.old_isr, p.new_isr);
            None
        }
    }
}

/// Every 2.5 s: one `/isr_change_notification/isr_change_<seq>` listing all changed
/// partitions, when due. A failed write keeps them pending.
async fn propagate_isr_changes(rm: Arc<ReplicaManager>, changes: Arc<Mutex<IsrChangeSet>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(ISR_CHANGE_PROPAGATION_INTERVAL_MS));
    loop {
        tick.tick().await;
        let now = now_ms();
        let Some(due) = changes.lock().expect("isr change set").take_if_due(now) else {
            continue;
        };
        let list: Vec<(String, i32)> = due
            .iter()
            .map(|tp| (tp.topic.clone(), tp.partition))
            .collect();
        let prefix = format!("{}/isr_change_", paths::ISR_CHANGE_NOTIFICATION);
        match rm
            .zk
            .create_sequential(&prefix, encode_isr_change(&list).as_bytes())
            .await
        {
            Ok(path) => tracing::info!(target: "kafka.server.ReplicaManager",
                "[ReplicaManager broker={}] Wrote ISR change notification {path} for {}",
                rm.broker_id(), due.iter().map(|tp| tp.to_string()).collect::<Vec<_>>().join(",")),
            Err(e) => {
                tracing::warn!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Cannot write ISR change notification: {e}; will retry", rm.broker_id());
                let mut set = changes.lock().expect("isr change set");
                for tp in &due {
                    set.record(tp, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_waits_for_quiet_period_or_max_delay() {
        let tp = TopicPartition::new("t", 0);
        let mut set = IsrChangeSet {
            last_propagation_ms: 100_000,
            ..Default::default()
        };
        set.record(&tp, 100_000);
        assert!(set.take_if_due(102_500).is_none(), "not quiet for 5 s yet");
        assert_eq!(set.take_if_due(105_001), Some(vec![tp.clone()]));
        assert!(set.take_if_due(110_000).is_none(), "nothing pending");
        // Continuous changes: written once the last write is 60 s old.
        for t in (105_001..170_000).step_by(2_500) {
            set.record(&tp, t);
            if set.take_if_due(t).is_some() {
                assert!(t > 165_001, "written at {t}");
                return;
            }
        }
        panic!("never written despite the 60 s maximum delay");
    }
}
