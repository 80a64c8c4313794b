//! AlterReplicaLogDirs (KafkaApis.handleAlterReplicaLogDirsRequest): moves replicas hosted
//! here to other log dirs of this broker (src/replica/alter_log_dirs.rs does the moving).

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_replica_log_dirs_response::{
    AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
};
use kafka_protocol::messages::{
    AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::log::TopicPartition;
use crate::network::request::RequestContext;
use crate::replica::alter_log_dirs::NOT_HOSTED;
use crate::security::authorizer::AclOperation;
use crate::server::apis::KafkaApis;
use crate::server::errors;

pub async fn handle(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &AlterReplicaLogDirsRequest,
) -> AlterReplicaLogDirsResponse {
    let wanted: Vec<(TopicPartition, String)> = req
        .dirs
        .iter()
        .flat_map(|d| {
            d.topics.iter().flat_map(move |t| {
                t.partitions.iter().map(move |p| {
                    (
                        TopicPartition::new(t.name.0.as_str(), *p),
                        d.path.to_string(),
                    )
                })
            })
        })
        .collect();
    // Without ALTER on the cluster every partition answers CLUSTER_AUTHORIZATION_FAILED.
    let results = if apis.authorize_cluster(ctx, AclOperation::Alter) {
        apis.replica_manager.alter_replica_log_dirs(wanted).await
    } else {
        let code = errors::CLUSTER_AUTHORIZATION_FAILED;
        wanted.into_iter().map(|(tp, _)| (tp, code)).collect()
    };
    let snapshot = apis.metadata_cache.snapshot();
    let mut by_topic: BTreeMap<String, Vec<AlterReplicaLogDirPartitionResult>> = BTreeMap::new();
    for (tp, code) in results {
        // Not hosted here: a replica of a known partition may still arrive (Kafka keeps
        // REPLICA_NOT_AVAILABLE for it); an unknown one is unknown.
        let code = match code {
            NOT_HOSTED if snapshot.partition(&tp.topic, tp.partition).is_some() => {
                errors::REPLICA_NOT_AVAILABLE
            }
            NOT_HOSTED => errors::UNKNOWN_TOPIC_OR_PARTITION,
            code => code,
        };
        by_topic.entry(tp.topic).or_default().push(
            AlterReplicaLogDirPartitionResult::default()
                .with_partition_index(tp.partition)
                .with_error_code(code),
        );
    }
    let results = by_topic
        .into_iter()
        .map(|(t, partitions)| {
            AlterReplicaLogDirTopicResult::default()
                .with_topic_name(TopicName(StrBytes::from_string(t)))
                .with_partitions(partitions)
        })
        .collect();
    AlterReplicaLogDirsResponse::default().with_results(results)
}
