//! The replica state machine's transitions (ReplicaStateMachine.handleStateChanges). Going
//! offline takes a replica out of the ISRs in ZooKeeper: for a whole broker's replicas at once,
//! with pipelined reads and writes, one write per partition.

use std::collections::BTreeMap;

use super::context::ReplicaState;
use super::state_machine::StateMachines;
use crate::log::TopicPartition;
use crate::metrics::events::{EventKind, Subject};
use crate::zk::codec::PartitionState;
use crate::zk::{UpdateOutcome, ZkResult};

impl StateMachines<'_> {
    /// Replica transitions. Offline ones are grouped per broker, as Kafka does, so that each
    /// broker's replicas leave the ISRs in one pipelined batch.
    pub async fn replicas_to(
        &mut self,
        replicas: &[(TopicPartition, i32)],
        target: ReplicaState,
    ) -> ZkResult<()> {
        if target == ReplicaState::Offline {
            let mut by_broker: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
            for (tp, broker) in replicas {
                by_broker.entry(*broker).or_default().push(tp.clone());
            }
            for (broker, partitions) in by_broker {
                self.replicas_offline(broker, &partitions).await?;
            }
        }
        for (tp, broker) in replicas {
            match target {
                ReplicaState::Online => self.replica_online(tp, *broker),
                ReplicaState::DeletionStarted => self.batch.add_stop_replica(*broker, tp, true),
                ReplicaState::NonExistent => {
                    if let Some(list) = self.ctx.assignments.get_mut(tp) {
                        list.retain(|r| r != broker);
                    }
                    self.ctx.replica_states.remove(&(tp.clone(), *broker));
                    continue;
                }
                ReplicaState::Offline
                | ReplicaState::New
                | ReplicaState::DeletionSuccessful
                | ReplicaState::DeletionIneligible => {}
            }
            self.ctx
                .replica_states
                .insert((tp.clone(), *broker), target);
        }
        Ok(())
    }

    /// → OnlineReplica: a replica with known leadership learns it through LeaderAndIsr.
    fn replica_online(&mut self, tp: &TopicPartition, broker: i32) {
        let from_new =
            self.ctx.replica_states.get(&(tp.clone(), broker)) == Some(&ReplicaState::New);
        if let (false, Some(state)) = (from_new, self.ctx.leadership.get(tp).cloned()) {
            self.batch
                .add_leader_and_isr(self.ctx, &[broker], tp, &state, false);
        }
    }

    /// → OfflineReplica for `broker`'s replicas of `partitions`: stop them, and drop the
    /// broker from each ISR in ZooKeeper (leader -1 where it still led). Partitions whose
    /// state no longer names it (an election already moved on) are not written again.
    async fn replicas_offline(
        &mut self,
        broker: i32,
        partitions: &[TopicPartition],
    ) -> ZkResult<()> {
        for tp in partitions {
            self.batch.add_stop_replica(broker, tp, false);
        }
        let with_state: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| {
                let known = self.ctx.leadership.contains_key(*tp);
                if !known {
                    let live = self.ctx.live_broker_ids();
                    self.batch.add_update_metadata(&live, [(*tp).clone()]);
                }
                known
            })
            .cloned()
            .collect();
        let mut pending = with_state;
        while !pending.is_empty() {
            let mut writes = Vec::new();
            for (tp, current) in self.read_states(&pending).await? {
                match without_replica(&current, broker, self.ctx.epoch) {
                    Some(next) => writes.push((tp, current, next)),
                    None => {
                        self.ctx.leadership.insert(tp, current);
                    }
                }
            }
            let states: Vec<_> = writes
                .iter()
                .map(|(tp, _, next)| (tp.clone(), next.clone()))
                .collect();
            let outcomes = self
                .zk
                .update_partition_states(self.ctx.epoch_zk_version, &states)
                .await;
            pending = Vec::new();
            let mut failure = None;
            for ((tp, current, next), outcome) in writes.into_iter().zip(outcomes) {
                match outcome {
                    Ok(UpdateOutcome::VersionConflict) => pending.push(tp),
                    Ok(UpdateOutcome::Updated(version)) => {
                        let next = PartitionState {
                            zk_version: version,
                            ..next
                        };
                        self.removed_from_isr(&tp, broker, &current, next);
                    }
                    Err(e) => failure = failure.or(Some(e)),
                }
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(())
    }

    /// The ISR shrink was written: cache it and tell the other replicas.
    fn removed_from_isr(
        &mut self,
        tp: &TopicPartition,
        broker: i32,
        current: &PartitionState,
        next: PartitionState,
    ) {
        crate::narrate!(info, "state.change.logger", EventKind::IsrShrink, Subject::partition(&tp.topic, tp.partition),
            "{} Replica {broker} of {tp} went offline, so the controller removed it from the ISR: leader {} -> {}, ISR {:?} -> {:?}, leader epoch {}",
            self.prefix(), current.leader, next.leader, current.isr, next.isr, next.leader_epoch);
        self.ctx.leadership.insert(tp.clone(), next.clone());
        if !self.ctx.is_being_deleted(&tp.topic) {
            let others: Vec<i32> = self
                .ctx
                .replicas(tp)
                .iter()
                .copied()
                .filter(|r| *r != broker)
                .collect();
            self.batch
                .add_leader_and_isr(self.ctx, &others, tp, &next, false);
        }
    }
}

/// The state without `broker`: leader -1 if it led, out of the ISR unless it is the ISR's
/// only member (so the last in-sync replica stays known). None when nothing changes.
fn without_replica(
    current: &PartitionState,
    broker: i32,
    controller_epoch: i32,
) -> Option<PartitionState> {
    let leader = if current.leader == broker {
        -1
    } else {
        current.leader
    };
    let isr: Vec<i32> = if current.isr.len() > 1 {
        current
            .isr
            .iter()
            .copied()
            .filter(|r| *r != broker)
            .collect()
    } else {
        current.isr.clone()
    };
    (leader != current.leader || isr != current.isr).then(|| PartitionState {
        leader,
        isr,
        leader_epoch: current.leader_epoch + 1,
        controller_epoch,
        zk_version: current.zk_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(leader: i32, isr: &[i32]) -> PartitionState {
        PartitionState {
            leader,
            leader_epoch: 4,
            isr: isr.to_vec(),
            controller_epoch: 2,
            zk_version: 9,
        }
    }

    #[test]
    fn an_offline_replica_leaves_the_isr_once() {
        let next = without_replica(&state(1, &[1, 2]), 2, 3).unwrap();
        assert_eq!((next.leader, next.isr, next.leader_epoch), (1, vec![1], 5));
        let next = without_replica(&state(1, &[1, 2]), 1, 3).unwrap();
        assert_eq!((next.leader, next.isr), (-1, vec![2]));
        // Already elected away from it: nothing to write.
        assert_eq!(without_replica(&state(2, &[2]), 1, 3), None);
        // The last ISR member stays in the ISR; only leadership goes.
        let next = without_replica(&state(1, &[1]), 1, 3).unwrap();
        assert_eq!((next.leader, next.isr), (-1, vec![1]));
    }
}
