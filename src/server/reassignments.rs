//! AlterPartitionReassignments (key 45) and ListPartitionReassignments (key 46), v0 (KIP-455):
//! served by the active controller; any other broker answers NOT_CONTROLLER at the top level.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::log::TopicPartition;
use crate::server::apis::KafkaApis;
use crate::server::errors;

fn name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}

fn ids(v: Vec<i32>) -> Vec<BrokerId> {
    v.into_iter().map(BrokerId).collect()
}

pub async fn handle_alter(
    apis: &KafkaApis,
    req: &AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let wanted: Vec<(TopicPartition, Option<Vec<i32>>)> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                let target = p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect());
                (
                    TopicPartition::new(t.name.0.to_string(), p.partition_index),
                    target,
                )
            })
        })
        .collect();
    let results = match apis.controller.get() {
        Some(c) => c.alter_partition_reassignments(wanted).await,
        None => Err(errors::NOT_CONTROLLER),
    };
    let results = match results {
        Ok(r) => r,
        Err(code) => {
            return AlterPartitionReassignmentsResponse::default().with_error_code(code);
        }
    };
    let mut by_topic: BTreeMap<String, Vec<ReassignablePartitionResponse>> = BTreeMap::new();
    for (tp, (code, message)) in results {
        by_topic.entry(tp.topic).or_default().push(
            ReassignablePartitionResponse::default()
                .with_partition_index(tp.partition)
                .with_error_code(code)
                .with_error_message(message.map(StrBytes::from_string)),
        );
    }
    let responses = by_topic
        .into_iter()
        .map(|(t, ps)| {
            ReassignableTopicResponse::default()
                .with_name(name(&t))
                .with_partitions(ps)
        })
        .collect();
    AlterPartitionReassignmentsResponse::default().with_responses(responses)
}

pub async fn handle_list(
    apis: &KafkaApis,
    req: &ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let wanted = req.topics.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partition_indexes
                    .iter()
                    .map(|p| TopicPartition::new(t.name.0.to_string(), *p))
            })
            .collect()
    });
    let ongoing = match apis.controller.get() {
        Some(c) => c.list_partition_reassignments(wanted).await,
        None => Err(errors::NOT_CONTROLLER),
    };
    let ongoing = match ongoing {
        Ok(o) => o,
        Err(code) => return ListPartitionReassignmentsResponse::default().with_error_code(code),
    };
    let mut by_topic: BTreeMap<String, Vec<OngoingPartitionReassignment>> = BTreeMap::new();
    for (tp, rs, adding, removing) in ongoing {
        by_topic.entry(tp.topic).or_default().push(
            OngoingPartitionReassignment::default()
                .with_partition_index(tp.partition)
                .with_replicas(ids(rs))
                .with_adding_replicas(ids(adding))
                .with_removing_replicas(ids(removing)),
        );
    }
    let topics = by_topic
        .into_iter()
        .map(|(t, ps)| {
            OngoingTopicReassignment::default()
                .with_name(name(&t))
                .with_partitions(ps)
        })
        .collect();
    ListPartitionReassignmentsResponse::default().with_topics(topics)
}
