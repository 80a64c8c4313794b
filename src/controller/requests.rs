//! Building controller requests at the versions a Kafka 2.8 controller uses with IBP 2.6–2.7-IV1
//! (controller-behaviour.md §14.3): LeaderAndIsr v4, UpdateMetadata v6, StopReplica v3.

use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaTopicState,
};
use kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataTopicState,
};
use kafka_protocol::messages::{
    BrokerId, LeaderAndIsrRequest, StopReplicaRequest, TopicName, UpdateMetadataRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::context::ControllerContext;
use crate::log::TopicPartition;
use crate::zk::codec::PartitionState;

pub const LEADER_AND_ISR_VERSION: i16 = 4;
pub const UPDATE_METADATA_VERSION: i16 = 6;
pub const STOP_REPLICA_VERSION: i16 = 3;

/// Leader sentinel in UpdateMetadata for partitions of topics being deleted.
pub const LEADER_DURING_DELETE: i32 = -2;
/// StopReplica leader epoch for topics being deleted: accepted unconditionally.
pub const EPOCH_DURING_DELETE: i32 = -2;

fn topic_name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}

fn ids(v: &[i32]) -> Vec<BrokerId> {
    v.iter().copied().map(BrokerId).collect()
}

/// Groups per-partition entries by topic, keeping topics in name order.
fn group_by_topic<S, T>(
    items: impl IntoIterator<Item = (TopicPartition, S)>,
    make: impl Fn(TopicName, Vec<S>) -> T,
) -> Vec<T> {
    let mut by_topic: std::collections::BTreeMap<String, Vec<S>> = Default::default();
    for (tp, s) in items {
        by_topic.entry(tp.topic).or_default().push(s);
    }
    by_topic
        .into_iter()
        .map(|(t, v)| make(topic_name(&t), v))
        .collect()
}

pub fn leader_and_isr_partition(
    tp: &TopicPartition,
    state: &PartitionState,
    replicas: &[i32],
    is_new: bool,
) -> LeaderAndIsrPartitionState {
    LeaderAndIsrPartitionState::default()
        .with_partition_index(tp.partition)
        .with_controller_epoch(state.controller_epoch)
        .with_leader(BrokerId(state.leader))
        .with_leader_epoch(state.leader_epoch)
        .with_isr(ids(&state.isr))
        .with_partition_epoch(state.zk_version)
        .with_replicas(ids(replicas))
        .with_is_new(is_new)
}

/// LeaderAndIsr for one broker; `live_leaders` lists every leader named, on the inter-broker
/// listener, so the follower knows where to fetch from.
pub fn leader_and_isr(
    controller_id: i32,
    ctx: &ControllerContext,
    target_broker_epoch: i64,
    partitions: Vec<(TopicPartition, LeaderAndIsrPartitionState)>,
    listener: &str,
) -> LeaderAndIsrRequest {
    let mut leaders: Vec<i32> = partitions.iter().map(|(_, s)| s.leader.0).collect();
    leaders.sort();
    leaders.dedup();
    let live_leaders = leaders
        .iter()
        .filter_map(|id| {
            let (b, _) = ctx.live_brokers.get(id)?;
            let ep = b.endpoint(listener)?;
            Some(
                LeaderAndIsrLiveLeader::default()
                    .with_broker_id(BrokerId(*id))
                    .with_host_name(StrBytes::from_string(ep.host.clone()))
                    .with_port(i32::from(ep.port)),
            )
        })
        .collect();
    let topics = group_by_topic(partitions, |name, states| {
        LeaderAndIsrTopicState::default()
            .with_topic_name(name)
            .with_partition_states(states)
    });
    LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(controller_id))
        .with_controller_epoch(ctx.epoch)
        .with_broker_epoch(target_broker_epoch)
        .with_topic_states(topics)
        .with_live_leaders(live_leaders)
}

/// The UpdateMetadata entry of one partition (leader -2 while its topic is being deleted).
pub fn update_metadata_partition(
    ctx: &ControllerContext,
    tp: &TopicPartition,
) -> Option<UpdateMetadataPartitionState> {
    let state = ctx.leadership.get(tp)?;
    let leader = if ctx.is_being_deleted(&tp.topic) {
        LEADER_DURING_DELETE
    } else {
        state.leader
    };
    Some(
        UpdateMetadataPartitionState::default()
            .with_partition_index(tp.partition)
            .with_controller_epoch(state.controller_epoch)
            .with_leader(BrokerId(leader))
            .with_leader_epoch(state.leader_epoch)
            .with_isr(ids(&state.isr))
            .with_zk_version(state.zk_version)
            .with_replicas(ids(ctx.replicas(tp)))
            .with_offline_replicas(ids(&ctx.offline_replicas(tp))),
    )
}

/// UpdateMetadata carrying the live brokers (every listener of each) and `partitions`.
pub fn update_metadata(
    controller_id: i32,
    ctx: &ControllerContext,
    target_broker_epoch: i64,
    partitions: &[TopicPartition],
) -> UpdateMetadataRequest {
    let live_brokers = ctx
        .live_brokers
        .values()
        .map(|(b, _)| {
            let endpoints = b
                .endpoints
                .iter()
                .map(|e| {
                    UpdateMetadataEndpoint::default()
                        .with_port(i32::from(e.port))
                        .with_host(StrBytes::from_string(e.host.clone()))
                        .with_listener(StrBytes::from_string(e.listener_name.clone()))
                        .with_security_protocol(e.security_protocol.id())
                })
                .collect();
            UpdateMetadataBroker::default()
                .with_id(BrokerId(b.id))
                .with_endpoints(endpoints)
                .with_rack(b.rack.clone().map(StrBytes::from_string))
        })
        .collect();
    // Partitions without leadership are skipped, as in Kafka.
    let entries = partitions
        .iter()
        .filter_map(|tp| Some((tp.clone(), update_metadata_partition(ctx, tp)?)));
    let topics = group_by_topic(entries, |name, states| {
        UpdateMetadataTopicState::default()
            .with_topic_name(name)
            .with_partition_states(states)
    });
    UpdateMetadataRequest::default()
        .with_controller_id(BrokerId(controller_id))
        .with_controller_epoch(ctx.epoch)
        .with_broker_epoch(target_broker_epoch)
        .with_topic_states(topics)
        .with_live_brokers(live_brokers)
}

/// StopReplica v3: per partition, the leader epoch and whether to delete the log.
pub fn stop_replica(
    controller_id: i32,
    ctx: &ControllerContext,
    target_broker_epoch: i64,
    partitions: &[(TopicPartition, bool)],
) -> StopReplicaRequest {
    let entries = partitions.iter().map(|(tp, delete)| {
        let epoch = if ctx.is_being_deleted(&tp.topic) {
            EPOCH_DURING_DELETE
        } else {
            ctx.leadership.get(tp).map_or(-1, |s| s.leader_epoch)
        };
        let state = StopReplicaPartitionState::default()
            .with_partition_index(tp.partition)
            .with_leader_epoch(epoch)
            .with_delete_partition(*delete);
        (tp.clone(), state)
    });
    let topics = group_by_topic(entries, |name, states| {
        StopReplicaTopicState::default()
            .with_topic_name(name)
            .with_partition_states(states)
    });
    StopReplicaRequest::default()
        .with_controller_id(BrokerId(controller_id))
        .with_controller_epoch(ctx.epoch)
        .with_broker_epoch(target_broker_epoch)
        .with_topic_states(topics)
}
