//! Requests from the controller: UpdateMetadata (and, with topics, LeaderAndIsr/StopReplica).
//! Every one is fenced by controller epoch and broker epoch first.

use std::sync::atomic::Ordering;

use kafka_protocol::messages::leader_and_isr_response::LeaderAndIsrPartitionError;
use kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use kafka_protocol::messages::{
    LeaderAndIsrRequest, LeaderAndIsrResponse, StopReplicaRequest, StopReplicaResponse, TopicName,
    UpdateMetadataRequest, UpdateMetadataResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::cluster::{Broker, EndPoint, SecurityProtocol};
use crate::metadata::PartitionMetadata;
use crate::server::apis::{BrokerState, KafkaApis};
use crate::server::errors;

/// Checks a controller request's epochs (KafkaApis.isBrokerEpochStale and the controller
/// epoch check). On success the request's controller epoch becomes the highest seen.
pub fn check_fencing(
    state: &BrokerState,
    controller_id: i32,
    controller_epoch: i32,
    broker_epoch: i64,
) -> Result<(), i16> {
    let seen = state.controller_epoch.load(Ordering::SeqCst);
    if controller_epoch < seen {
        tracing::warn!(target: "state.change.logger",
            "[Broker id={}] Ignoring request from controller {controller_id} with epoch {controller_epoch} since the latest known controller epoch is {seen}",
            state.broker_id);
        return Err(errors::STALE_CONTROLLER_EPOCH);
    }
    let ours = state.broker_epoch();
    if broker_epoch != -1 && broker_epoch < ours {
        tracing::info!(target: "state.change.logger",
            "[Broker id={}] Ignoring request from controller {controller_id}: broker epoch {broker_epoch} is older than the current broker epoch {ours}",
            state.broker_id);
        return Err(errors::STALE_BROKER_EPOCH);
    }
    state
        .controller_epoch
        .fetch_max(controller_epoch, Ordering::SeqCst);
    Ok(())
}

pub fn handle_update_metadata(
    apis: &KafkaApis,
    req: &UpdateMetadataRequest,
) -> UpdateMetadataResponse {
    let controller_id = req.controller_id.0;
    if let Err(code) = check_fencing(
        &apis.state,
        controller_id,
        req.controller_epoch,
        req.broker_epoch,
    ) {
        return UpdateMetadataResponse::default().with_error_code(code);
    }
    let brokers: Vec<Broker> = req
        .live_brokers
        .iter()
        .map(|b| Broker {
            id: b.id.0,
            rack: b.rack.as_ref().map(|r| r.to_string()),
            endpoints: b
                .endpoints
                .iter()
                .filter_map(|e| {
                    Some(EndPoint {
                        listener_name: e.listener.to_string(),
                        host: e.host.to_string(),
                        port: u16::try_from(e.port).ok()?,
                        security_protocol: SecurityProtocol::from_id(e.security_protocol)?,
                    })
                })
                .collect(),
        })
        .collect();
    let partitions: Vec<(String, i32, PartitionMetadata)> = req
        .topic_states
        .iter()
        .flat_map(|t| {
            t.partition_states
                .iter()
                .map(move |p| (t.topic_name.0.to_string(), p))
        })
        .chain(
            req.ungrouped_partition_states
                .iter()
                .map(|p| (p.topic_name.0.to_string(), p)),
        )
        .map(|(topic, p)| {
            let meta = PartitionMetadata {
                leader: p.leader.0,
                leader_epoch: p.leader_epoch,
                isr: p.isr.iter().map(|b| b.0).collect(),
                replicas: p.replicas.iter().map(|b| b.0).collect(),
                offline_replicas: p.offline_replicas.iter().map(|b| b.0).collect(),
            };
            (topic, p.partition_index, meta)
        })
        .collect();
    let ids: Vec<String> = brokers.iter().map(|b| b.id.to_string()).collect();
    tracing::info!(target: "state.change.logger",
        "[Broker id={}] Cached live brokers [{}], controller {controller_id} and {} partition states from UpdateMetadata (controller epoch {})",
        apis.state.broker_id, ids.join(","), partitions.len(), req.controller_epoch);
    apis.metadata_cache
        .update(controller_id, brokers, partitions);
    UpdateMetadataResponse::default().with_error_code(errors::NONE)
}

pub async fn handle_leader_and_isr(
    apis: &KafkaApis,
    req: &LeaderAndIsrRequest,
) -> LeaderAndIsrResponse {
    if let Err(code) = check_fencing(
        &apis.state,
        req.controller_id.0,
        req.controller_epoch,
        req.broker_epoch,
    ) {
        return LeaderAndIsrResponse::default().with_error_code(code);
    }
    let results = apis.replica_manager.become_leader_or_follower(req).await;
    // v4 answers per partition with the topic name; v5 (topic ids) is not spoken here.
    let partition_errors = results
        .into_iter()
        .map(|(tp, code)| {
            LeaderAndIsrPartitionError::default()
                .with_topic_name(TopicName(StrBytes::from_string(tp.topic)))
                .with_partition_index(tp.partition)
                .with_error_code(code)
        })
        .collect::<Vec<_>>();
    LeaderAndIsrResponse::default().with_partition_errors(partition_errors)
}

pub async fn handle_stop_replica(
    apis: &KafkaApis,
    req: &StopReplicaRequest,
) -> StopReplicaResponse {
    if let Err(code) = check_fencing(
        &apis.state,
        req.controller_id.0,
        req.controller_epoch,
        req.broker_epoch,
    ) {
        return StopReplicaResponse::default().with_error_code(code);
    }
    let partition_errors = apis
        .replica_manager
        .stop_replicas(req)
        .await
        .into_iter()
        .map(|(tp, code)| {
            StopReplicaPartitionError::default()
                .with_topic_name(TopicName(StrBytes::from_string(tp.topic)))
                .with_partition_index(tp.partition)
                .with_error_code(code)
        })
        .collect();
    StopReplicaResponse::default().with_partition_errors(partition_errors)
}
