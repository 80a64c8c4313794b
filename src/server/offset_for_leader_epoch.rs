//! OffsetForLeaderEpoch (versions 0–3), leader side (KafkaApis.handleOffsetForLeaderEpochRequest,
//! Partition.lastOffsetForLeaderEpoch): the end offset of the requested epoch from the
//! leader's epoch cache, which a follower uses to find where its log diverged (KIP-101/279)
//! and a consumer to detect truncation after a leader change (KIP-320).

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use crate::log::TopicPartition;
use crate::network::request::RequestContext;
use crate::replica::ReplicaManager;
use crate::security::authorizer::acl::CLUSTER_NAME;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::KafkaApis;
use crate::server::errors;

/// Sentinel answer (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET) that goes with every error.
const UNDEFINED_EPOCH: i32 = -1;
const UNDEFINED_EPOCH_OFFSET: i64 = -1;

pub fn handle(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let rm = &apis.replica_manager;
    // A follower holds CLUSTER_ACTION; a consumer (KIP-320) needs DESCRIBE on each topic.
    let follower = apis.authorize_filter(
        ctx,
        AclOperation::ClusterAction,
        ResourceType::Cluster,
        CLUSTER_NAME,
    );
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let authorized = follower
                || apis.authorize(ctx, AclOperation::Describe, ResourceType::Topic, &t.topic);
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let tp = TopicPartition::new(t.topic.0.as_str(), p.partition);
                    let outcome = if authorized {
                        last_offset_for_epoch(rm, &tp, p.current_leader_epoch, p.leader_epoch)
                    } else {
                        Err(errors::TOPIC_AUTHORIZATION_FAILED)
                    };
                    let (code, epoch, end) = match outcome {
                        Ok((epoch, end)) => (errors::NONE, epoch, end),
                        Err(code) => (code, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET),
                    };
                    EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_error_code(code)
                        .with_leader_epoch(epoch)
                        .with_end_offset(end)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

/// The leader's `(epoch, end offset)` for `requested`, after the CurrentLeaderEpoch check
/// (-1 = not checked, versions 0–1).
fn last_offset_for_epoch(
    rm: &ReplicaManager,
    tp: &TopicPartition,
    current_leader_epoch: i32,
    requested: i32,
) -> Result<(i32, i64), i16> {
    let partition = rm.leader_partition(tp)?;
    let ours = partition.leader_epoch();
    if current_leader_epoch >= 0 && current_leader_epoch < ours {
        return Err(errors::FENCED_LEADER_EPOCH);
    }
    if current_leader_epoch > ours {
        return Err(errors::UNKNOWN_LEADER_EPOCH);
    }
    let log = partition.log().ok_or(errors::NOT_LEADER_OR_FOLLOWER)?;
    Ok(log.end_offset_for_epoch(requested))
}
