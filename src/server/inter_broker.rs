//! Requests from the controller: UpdateMetadata (and, with topics, LeaderAndIsr/StopReplica).
//! Every one is fenced by controller epoch and broker epoch first.

use std::sync::atomic::Ordering;

use kafka_protocol::messages::{UpdateMetadataRequest, UpdateMetadataResponse};

use crate::cluster::{Broker, EndPoint, SecurityProtocol};
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
    let ids: Vec<String> = brokers.iter().map(|b| b.id.to_string()).collect();
    tracing::info!(target: "state.change.logger",
        "[Broker id={}] Cached live brokers [{}] and controller {controller_id} from UpdateMetadata (controller epoch {})",
        apis.state.broker_id, ids.join(","), req.controller_epoch);
    apis.metadata_cache.update_brokers(controller_id, brokers);
    UpdateMetadataResponse::default().with_error_code(errors::NONE)
}
