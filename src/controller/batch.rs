//! ControllerBrokerRequestBatch: requests accumulated while the state machines run, then sent
//! per broker in Kafka's order — all LeaderAndIsr, then UpdateMetadata, then StopReplica.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::leader_and_isr_request::LeaderAndIsrPartitionState;
use kafka_protocol::messages::BrokerId;

use super::channel::{ControllerChannelManager, ControllerRequest};
use super::context::ControllerContext;
use super::requests;
use crate::log::TopicPartition;
use crate::zk::codec::PartitionState;

#[derive(Default)]
pub struct RequestBatch {
    leader_and_isr: BTreeMap<i32, BTreeMap<TopicPartition, LeaderAndIsrPartitionState>>,
    update_metadata_brokers: BTreeSet<i32>,
    update_metadata_partitions: BTreeSet<TopicPartition>,
    stop_replica: BTreeMap<i32, BTreeMap<TopicPartition, bool>>,
}

impl RequestBatch {
    /// LeaderAndIsr for `tp` to `brokers`; also UpdateMetadata for `tp` to every live broker.
    /// A later entry replaces an earlier one, but `is_new` sticks once set.
    pub fn add_leader_and_isr(
        &mut self,
        ctx: &ControllerContext,
        brokers: &[i32],
        tp: &TopicPartition,
        state: &PartitionState,
        is_new: bool,
    ) {
        for &b in brokers.iter().filter(|b| ctx.is_replica_online(**b)) {
            let entry = self.leader_and_isr.entry(b).or_default();
            let was_new = entry.get(tp).is_some_and(|s| s.is_new);
            let replicas = ctx.replicas(tp);
            let r = ctx.reassignments.get(tp).cloned().unwrap_or_default();
            let ids = |v: Vec<i32>| v.into_iter().map(BrokerId).collect();
            entry.insert(
                tp.clone(),
                requests::leader_and_isr_partition(tp, state, replicas, is_new || was_new)
                    .with_adding_replicas(ids(r.adding))
                    .with_removing_replicas(ids(r.removing)),
            );
        }
        self.add_update_metadata(&ctx.live_broker_ids(), [tp.clone()]);
    }

    pub fn add_update_metadata(
        &mut self,
        brokers: &[i32],
        partitions: impl IntoIterator<Item = TopicPartition>,
    ) {
        self.update_metadata_brokers.extend(brokers);
        self.update_metadata_partitions.extend(partitions);
    }

    /// StopReplica; `delete` sticks once set.
    pub fn add_stop_replica(&mut self, broker: i32, tp: &TopicPartition, delete: bool) {
        let entry = self
            .stop_replica
            .entry(broker)
            .or_default()
            .entry(tp.clone())
            .or_insert(false);
        *entry |= delete;
    }

    pub fn is_empty(&self) -> bool {
        self.leader_and_isr.is_empty()
            && self.update_metadata_brokers.is_empty()
            && self.stop_replica.is_empty()
    }

    /// Queues everything on the brokers' channels; requests to dead brokers are dropped.
    pub fn send(
        self,
        controller_id: i32,
        ctx: &ControllerContext,
        channels: &ControllerChannelManager,
        listener: &str,
    ) {
        for (broker, partitions) in self.leader_and_isr {
            let req = requests::leader_and_isr(
                controller_id,
                ctx,
                ctx.broker_epoch(broker),
                partitions.into_iter().collect(),
                listener,
            );
            channels.send(broker, ControllerRequest::LeaderAndIsr(req));
        }
        let partitions: Vec<TopicPartition> = self.update_metadata_partitions.into_iter().collect();
        for broker in self
            .update_metadata_brokers
            .into_iter()
            .filter(|b| ctx.is_replica_online(*b))
        {
            let req = requests::update_metadata(
                controller_id,
                ctx,
                ctx.broker_epoch(broker),
                &partitions,
            );
            channels.send(broker, ControllerRequest::UpdateMetadata(req));
        }
        for (broker, partitions) in self.stop_replica {
            let list: Vec<(TopicPartition, bool)> = partitions.into_iter().collect();
            let req = requests::stop_replica(controller_id, ctx, ctx.broker_epoch(broker), &list);
            channels.send(broker, ControllerRequest::StopReplica(req));
        }
    }
}
