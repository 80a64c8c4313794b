//! ElectLeaders (key 43, v0–2; KafkaApis.handleElectReplicaLeader): preferred or unclean
//! leader elections run by the active controller, with one result per partition.

use std::collections::BTreeMap;

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::controller::leader_balance::{ElectionResults, ElectionType};
use crate::log::TopicPartition;
use crate::server::apis::KafkaApis;
use crate::server::errors;

pub async fn handle(apis: &KafkaApis, req: &ElectLeadersRequest) -> ElectLeadersResponse {
    // null = every partition this broker knows of; only real outcomes are then reported.
    let all = req.topic_partitions.is_none();
    let partitions: Vec<TopicPartition> = match &req.topic_partitions {
        Some(topics) => topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| TopicPartition::new(t.topic.0.to_string(), *p))
            })
            .collect(),
        None => {
            let snapshot = apis.metadata_cache.snapshot();
            snapshot
                .topics
                .iter()
                .flat_map(|(t, ps)| ps.keys().map(|p| TopicPartition::new(t.clone(), *p)))
                .collect()
        }
    };
    let Some(election_type) = ElectionType::from_wire(req.election_type) else {
        let msg = format!("Unknown election type {}", req.election_type);
        let results = partitions
            .into_iter()
            .map(|tp| (tp, Err((errors::INVALID_REQUEST, Some(msg.clone())))))
            .collect();
        return response(errors::INVALID_REQUEST, results, false);
    };
    let results = match apis.controller.get() {
        Some(controller) => controller.elect_leaders(partitions, election_type).await,
        None => partitions
            .into_iter()
            .map(|tp| (tp, Err((errors::NOT_CONTROLLER, None))))
            .collect(),
    };
    response(errors::NONE, results, all)
}

fn response(
    top_level: i16,
    results: ElectionResults,
    omit_not_needed: bool,
) -> ElectLeadersResponse {
    let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
    for (tp, result) in results {
        let (code, message) = match result {
            Ok(_) => (errors::NONE, None),
            Err((code, message)) => (code, message),
        };
        if omit_not_needed && code == errors::ELECTION_NOT_NEEDED {
            continue;
        }
        by_topic.entry(tp.topic).or_default().push(
            PartitionResult::default()
                .with_partition_id(tp.partition)
                .with_error_code(code)
                .with_error_message(message.map(StrBytes::from_string)),
        );
    }
    let results = by_topic
        .into_iter()
        .map(|(t, ps)| {
            ReplicaElectionResult::default()
                .with_topic(TopicName(StrBytes::from_string(t)))
                .with_partition_result(ps)
        })
        .collect();
    ElectLeadersResponse::default()
        .with_error_code(top_level)
        .with_replica_election_results(results)
}
