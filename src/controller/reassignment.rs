//! Partition reassignment (KIP-455; KafkaController.onPartitionReassignment,
//! controller-behaviour.md §12): RS = TRS ++ ORS while the target replicas catch up, then the
//! leader moves into TRS, the removed replicas are stopped and deleted, and RS = TRS. Started
//! by AlterPartitionReassignments or `/admin/reassign_partitions`; the adding/removing sets in
//! the topic znode let a new controller resume.

use std::collections::BTreeMap;

use tokio::sync::oneshot;

use super::active::ActiveController;
use super::batch::RequestBatch;
use super::context::{Reassignment, ReplicaState};
use super::event::ControllerEvent;
use super::state_machine::Strategy;
use super::ControllerHandle;
use crate::log::TopicPartition;
use crate::server::errors;
use crate::zk::{paths, ZkResult};

/// Per partition: NONE or an error code with Kafka's message.
pub type ReassignmentResults = BTreeMap<TopicPartition, (i16, Option<String>)>;

/// An ongoing reassignment as ListPartitionReassignments reports it: RS, AR, RR.
pub type OngoingReassignment = (TopicPartition, Vec<i32>, Vec<i32>, Vec<i32>);

/// `ReplicaAssignment.reassignTo`: RS = distinct(TRS ++ ORS), AR = RS − ORS, RR = RS − TRS.
pub fn reassign_to(origin: &[i32], target: &[i32]) -> (Vec<i32>, Reassignment) {
    let mut rs: Vec<i32> = Vec::new();
    for r in target.iter().chain(origin) {
        if !rs.contains(r) {
            rs.push(*r);
        }
    }
    let adding = rs.iter().copied().filter(|r| !origin.contains(r)).collect();
    let removing = rs.iter().copied().filter(|r| !target.contains(r)).collect();
    (rs, Reassignment { adding, removing })
}

impl ControllerHandle {
    /// AlterPartitionReassignments; `None` targets cancel. Err = top-level NOT_CONTROLLER.
    pub async fn alter_partition_reassignments(
        &self,
        reassignments: Vec<(TopicPartition, Option<Vec<i32>>)>,
    ) -> Result<ReassignmentResults, i16> {
        let (reply, rx) = oneshot::channel();
        let event = ControllerEvent::ApiPartitionReassignment {
            reassignments,
            reply,
        };
        self.events
            .send(event)
            .map_err(|_| errors::NOT_CONTROLLER)?;
        rx.await.map_err(|_| errors::NOT_CONTROLLER)
    }

    /// ListPartitionReassignments (`None` = all). Err = top-level NOT_CONTROLLER.
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<OngoingReassignment>, i16> {
        let (reply, rx) = oneshot::channel();
        let event = ControllerEvent::ListPartitionReassignments { partitions, reply };
        self.events
            .send(event)
            .map_err(|_| errors::NOT_CONTROLLER)?;
        rx.await.map_err(|_| errors::NOT_CONTROLLER)
    }
}

impl ActiveController {
    /// ORS: the replicas before the ongoing reassignment (RS − AR), or the assignment.
    fn origin_replicas(&self, tp: &TopicPartition) -> Vec<i32> {
        let rs = self.ctx.replicas(tp).to_vec();
        match self.ctx.reassignments.get(tp) {
            Some(r) => rs.into_iter().filter(|x| !r.adding.contains(x)).collect(),
            None => rs,
        }
    }

    /// TRS: RS − RR.
    fn target_replicas(&self, tp: &TopicPartition) -> Vec<i32> {
        let removing = self
            .ctx
            .reassignments
            .get(tp)
            .map(|r| r.removing.clone())
            .unwrap_or_default();
        self.ctx
            .replicas(tp)
            .iter()
            .copied()
            .filter(|r| !removing.contains(r))
            .collect()
    }

    /// `validateReplicas`: non-empty, no duplicates, no negative ids, adding replicas live.
    fn validate_replicas(&self, tp: &TopicPartition, replicas: &[i32]) -> Option<(i16, String)> {
        let list = format!(
            "List({})",
            replicas
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut distinct = replicas.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        if replicas.is_empty() {
            return Some((
                errors::INVALID_REPLICA_ASSIGNMENT,
                "Empty replica list specified in partition reassignment.".into(),
            ));
        }
        if distinct.len() != replicas.len() {
            return Some((
                errors::INVALID_REPLICA_ASSIGNMENT,
                format!("Duplicate replica ids in partition reassignment replica list: {list}"),
            ));
        }
        if replicas.iter().any(|r| *r < 0) {
            return Some((
                errors::INVALID_REPLICA_ASSIGNMENT,
                format!("Invalid broker id in replica list: {list}"),
            ));
        }
        let (_, next) = reassign_to(&self.origin_replicas(tp), replicas);
        if next.adding.iter().any(|r| !self.ctx.is_replica_online(*r)) {
            return Some((
                errors::INVALID_REPLICA_ASSIGNMENT,
                format!(
                    "Replica assignment has brokers that are not alive. Replica list: List({}), live broker list: Set({})",
                    next.adding.iter().map(i32::to_string).collect::<Vec<_>>().join(", "),
                    self.ctx.live_broker_ids().iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        None
    }

    /// `processApiPartitionReassignment`. Partitions reassigned through the API leave
    /// `/admin/reassign_partitions` (the latest request wins).
    pub async fn on_api_partition_reassignment(
        &mut self,
        reassignments: Vec<(TopicPartition, Option<Vec<i32>>)>,
        reply: oneshot::Sender<ReassignmentResults>,
    ) -> ZkResult<()> {
        let mut results = ReassignmentResults::new();
        let mut to_start = Vec::new();
        for (tp, target) in reassignments {
            if let Some((code, msg)) = target
                .as_deref()
                .and_then(|t| self.validate_replicas(&tp, t))
            {
                results.insert(tp, (code, Some(msg)));
                continue;
            }
            match (target, self.ctx.reassignments.contains_key(&tp)) {
                (Some(t), _) => to_start.push((tp, t)),
                (None, true) => {
                    let origin = self.origin_replicas(&tp);
                    to_start.push((tp, origin));
                }
                (None, false) => {
                    results.insert(tp, (errors::NO_REASSIGNMENT_IN_PROGRESS, None));
                }
            }
        }
        let started: Vec<TopicPartition> = to_start.iter().map(|(tp, _)| tp.clone()).collect();
        self.remove_from_zk_reassignment(|tp, _| started.contains(tp))
            .await?;
        let triggered = self.maybe_trigger_partition_reassignment(to_start).await;
        results.extend(triggered?);
        let _ = reply.send(results);
        Ok(())
    }

    /// `maybeTriggerPartitionReassignment`: unknown partitions and topics being deleted are
    /// refused; the others start.
    async fn maybe_trigger_partition_reassignment(
        &mut self,
        reassignments: Vec<(TopicPartition, Vec<i32>)>,
    ) -> ZkResult<ReassignmentResults> {
        let mut results = ReassignmentResults::new();
        for (tp, target) in reassignments {
            let known = self.ctx.assignments.contains_key(&tp);
            if !known || self.ctx.is_being_deleted(&tp.topic) {
                tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Skipping reassignment of {tp}: the partition does not exist or its topic is being deleted", self.id);
                results.insert(
                    tp,
                    (
                        errors::UNKNOWN_TOPIC_OR_PARTITION,
                        Some("The partition does not exist.".into()),
                    ),
                );
                continue;
            }
            self.on_partition_reassignment(&tp, &target).await?;
            results.insert(tp, (errors::NONE, None));
        }
        Ok(results)
    }

    /// `processZkPartitionReassignment`: re-arm the exists-watch; start every partition listed;
    /// those that cannot start leave the znode.
    pub async fn on_zk_partition_reassignment(&mut self) -> ZkResult<()> {
        let (exists, watcher) = self.zk.exists_and_watch(paths::REASSIGN_PARTITIONS).await?;
        self.rewatch("reassign_partitions".into(), watcher, |_| {
            Some(ControllerEvent::ZkPartitionReassignment)
        });
        if !exists {
            return Ok(());
        }
        let listed = self.zk.get_partition_reassignment_znode().await?;
        let wanted: Vec<(TopicPartition, Vec<i32>)> = listed
            .into_iter()
            .map(|(t, p, r)| (TopicPartition::new(t, p), r))
            .collect();
        let results = self.maybe_trigger_partition_reassignment(wanted).await?;
        let failed: Vec<TopicPartition> = results
            .into_iter()
            .filter(|(_, (code, _))| *code != errors::NONE)
            .map(|(tp, _)| tp)
            .collect();
        if !failed.is_empty() {
            tracing::warn!(target: "kafka.controller.KafkaController", "[Controller id={}] Failed reassignment through zk of partitions {}", self.id,
                failed.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
            self.remove_from_zk_reassignment(|tp, _| failed.contains(tp))
                .await?;
        }
        Ok(())
    }

    /// Rewrites `/admin/reassign_partitions` without the entries `drop` selects.
    async fn remove_from_zk_reassignment(
        &mut self,
        drop: impl Fn(&TopicPartition, &[i32]) -> bool,
    ) -> ZkResult<()> {
        let listed = self.zk.get_partition_reassignment_znode().await?;
        let before = listed.len();
        let left: Vec<(String, i32, Vec<i32>)> = listed
            .into_iter()
            .filter(|(t, p, r)| !drop(&TopicPartition::new(t.clone(), *p), r))
            .collect();
        if left.len() != before {
            self.zk
                .set_partition_reassignment_znode(self.ctx.epoch_zk_version, &left)
                .await?;
        }
        Ok(())
    }

    /// `onPartitionReassignment`: phase U (record RS/AR/RR; stop replicas a replaced
    /// reassignment no longer needs), then phase A (new replicas start) or, if TRS is
    /// already in the ISR, phase B (complete).
    pub(super) async fn on_partition_reassignment(
        &mut self,
        tp: &TopicPartition,
        target: &[i32],
    ) -> ZkResult<()> {
        let old_rs = self.ctx.replicas(tp).to_vec();
        let (rs, next) = reassign_to(&self.origin_replicas(tp), target);
        tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Reassigning {tp}: target replicas {target:?}, full replica set {rs:?}, adding {:?}, removing {:?}", self.id, next.adding, next.removing);
        self.ctx.assignments.insert(tp.clone(), rs.clone());
        if next.adding.is_empty() && next.removing.is_empty() {
            self.ctx.reassignments.remove(tp);
        } else {
            self.ctx.reassignments.insert(tp.clone(), next.clone());
        }
        self.write_topic_assignment(tp).await?;
        let unneeded: Vec<(TopicPartition, i32)> = old_rs
            .iter()
            .filter(|r| !rs.contains(r))
            .map(|r| (tp.clone(), *r))
            .collect();
        self.stop_removed_replicas(&unneeded).await?;
        if self.is_reassignment_complete(tp).await? {
            self.complete_reassignment(tp).await
        } else {
            self.start_adding_replicas(tp, &next.adding).await
        }
    }

    /// "Complete" = every TRS member is in the ISR (read from ZooKeeper).
    async fn is_reassignment_complete(&mut self, tp: &TopicPartition) -> ZkResult<bool> {
        let Some(state) = self.zk.get_partition_state(tp).await? else {
            return Ok(false);
        };
        let done = self
            .target_replicas(tp)
            .iter()
            .all(|r| state.isr.contains(r));
        self.ctx.leadership.insert(tp.clone(), state);
        Ok(done)
    }

    /// Phase A: bump the leader epoch (leader and ISR unchanged) so that every replica learns
    /// the new RS; the adding replicas get LeaderAndIsr(isNew) and start fetching.
    async fn start_adding_replicas(&mut self, tp: &TopicPartition, adding: &[i32]) -> ZkResult<()> {
        let mut batch = RequestBatch::default();
        let mut sm = self.machines(&mut batch);
        if let Some(state) = sm.bump_leader_epoch(tp).await? {
            let origin: Vec<i32> = sm
                .ctx
                .replicas(tp)
                .iter()
                .copied()
                .filter(|r| !adding.contains(r))
                .collect();
            sm.batch
                .add_leader_and_isr(sm.ctx, &origin, tp, &state, false);
            sm.batch
                .add_leader_and_isr(sm.ctx, adding, tp, &state, true);
        }
        let adding: Vec<(TopicPartition, i32)> = adding.iter().map(|r| (tp.clone(), *r)).collect();
        sm.replicas_to(&adding, ReplicaState::New).await?;
        self.send(batch);
        Ok(())
    }

    /// Phase B: RS = TRS; the leader moves into TRS if needed (else an epoch bump tells the
    /// replicas); RR replicas are stopped and deleted; the znodes are rewritten.
    async fn complete_reassignment(&mut self, tp: &TopicPartition) -> ZkResult<()> {
        let target = self.target_replicas(tp);
        let removing = self
            .ctx
            .reassignments
            .remove(tp)
            .map(|r| r.removing)
            .unwrap_or_default();
        self.ctx.assignments.insert(tp.clone(), target.clone());
        let leader = self.ctx.leadership.get(tp).map_or(-1, |s| s.leader);
        let mut batch = RequestBatch::default();
        let mut sm = self.machines(&mut batch);
        let online: Vec<(TopicPartition, i32)> = target.iter().map(|r| (tp.clone(), *r)).collect();
        sm.replicas_to(&online, ReplicaState::Online).await?;
        if !target.contains(&leader) || !sm.ctx.is_replica_online_for(tp, leader) {
            sm.partitions_online(std::slice::from_ref(tp), &Strategy::Reassign)
                .await?;
        } else if let Some(state) = sm.bump_leader_epoch(tp).await? {
            sm.batch
                .add_leader_and_isr(sm.ctx, &target, tp, &state, false);
        }
        self.send(batch);
        let removed: Vec<(TopicPartition, i32)> =
            removing.iter().map(|r| (tp.clone(), *r)).collect();
        self.stop_removed_replicas(&removed).await?;
        self.write_topic_assignment(tp).await?;
        self.remove_from_zk_reassignment(|p, r| p == tp && r == target.as_slice())
            .await?;
        tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Reassignment of {tp} to {target:?} completed", self.id);
        let mut batch = RequestBatch::default();
        batch.add_update_metadata(&self.ctx.live_broker_ids(), [tp.clone()]);
        self.send(batch);
        self.resume_deletions().await
    }

    /// Replicas leaving the partition: Offline (out of the ISR, StopReplica), then deleted
    /// (StopReplica delete=true) and forgotten.
    async fn stop_removed_replicas(&mut self, replicas: &[(TopicPartition, i32)]) -> ZkResult<()> {
        if replicas.is_empty() {
            return Ok(());
        }
        let mut batch = RequestBatch::default();
        let mut sm = self.machines(&mut batch);
        sm.replicas_to(replicas, ReplicaState::Offline).await?;
        sm.replicas_to(replicas, ReplicaState::DeletionStarted)
            .await?;
        sm.replicas_to(replicas, ReplicaState::DeletionSuccessful)
            .await?;
        sm.replicas_to(replicas, ReplicaState::NonExistent).await?;
        self.send(batch);
        Ok(())
    }

    /// Writes the partition's RS/AR/RR into `/brokers/topics/<t>` (controller-fenced),
    /// keeping the other partitions and the topic id as they are.
    async fn write_topic_assignment(&mut self, tp: &TopicPartition) -> ZkResult<()> {
        let Some(mut assignment) = self.zk.get_topic_assignment(&tp.topic).await? else {
            return Ok(());
        };
        let p = tp.partition;
        assignment
            .partitions
            .insert(p, self.ctx.replicas(tp).to_vec());
        assignment.adding_replicas.remove(&p);
        assignment.removing_replicas.remove(&p);
        if let Some(r) = self.ctx.reassignments.get(tp) {
            if !r.adding.is_empty() {
                assignment.adding_replicas.insert(p, r.adding.clone());
            }
            if !r.removing.is_empty() {
                assignment.removing_replicas.insert(p, r.removing.clone());
            }
        }
        self.zk
            .set_topic_assignment_fenced(self.ctx.epoch_zk_version, &tp.topic, &assignment)
            .await
    }

    /// ISR changes and broker start-ups may complete reassignments: check each ongoing one.
    pub(super) async fn maybe_complete_reassignments(&mut self) -> ZkResult<()> {
        for tp in self.ctx.partitions_being_reassigned() {
            if self.is_reassignment_complete(&tp).await? {
                self.complete_reassignment(&tp).await?;
            }
        }
        Ok(())
    }

    /// At failover: first `/admin/reassign_partitions` (it replaces API reassignments of the
    /// same partitions), then the API reassignments recorded in the topic znodes.
    pub(super) async fn resume_reassignments(&mut self) -> ZkResult<()> {
        self.on_zk_partition_reassignment().await?;
        for tp in self.ctx.partitions_being_reassigned() {
            let target = self.target_replicas(&tp);
            self.on_partition_reassignment(&tp, &target).await?;
        }
        Ok(())
    }

    /// `onBrokerStartup`: reassignments whose target includes a new broker are driven again
    /// (its adding replicas get their LeaderAndIsr).
    pub(super) async fn resume_reassignments_on(&mut self, new: &[i32]) -> ZkResult<()> {
        for tp in self.ctx.partitions_being_reassigned() {
            let target = self.target_replicas(&tp);
            if target.iter().any(|r| new.contains(r)) {
                self.on_partition_reassignment(&tp, &target).await?;
            }
        }
        Ok(())
    }

    /// `processListPartitionReassignments`: only partitions being reassigned are listed.
    pub fn on_list_partition_reassignments(
        &self,
        partitions: Option<Vec<TopicPartition>>,
        reply: oneshot::Sender<Vec<OngoingReassignment>>,
    ) {
        let wanted = partitions.unwrap_or_else(|| self.ctx.partitions_being_reassigned());
        let out = wanted
            .into_iter()
            .filter_map(|tp| {
                let r = self.ctx.reassignments.get(&tp)?.clone();
                let rs = self.ctx.replicas(&tp).to_vec();
                Some((tp, rs, r.adding, r.removing))
            })
            .collect();
        let _ = reply.send(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassign_to_puts_the_target_first() {
        let (rs, r) = reassign_to(&[1, 2, 3], &[4, 5, 6]);
        assert_eq!(rs, vec![4, 5, 6, 1, 2, 3]);
        assert_eq!((r.adding, r.removing), (vec![4, 5, 6], vec![1, 2, 3]));
        let (rs, r) = reassign_to(&[1, 2], &[2, 3]);
        assert_eq!(rs, vec![2, 3, 1]);
        assert_eq!((r.adding, r.removing), (vec![3], vec![1]));
        // Cancelling: back to the origin.
        let (rs, r) = reassign_to(&[1, 2], &[1, 2]);
        assert_eq!(rs, vec![1, 2]);
        assert!(r.adding.is_empty() && r.removing.is_empty());
    }
}
