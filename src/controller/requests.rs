//! Building controller requests at the versions Kafka 2.8 uses for a given IBP
//! (controller-behaviour.md §14.3).

use kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint,
};
use kafka_protocol::messages::{BrokerId, UpdateMetadataRequest};
use kafka_protocol::protocol::StrBytes;

use super::context::ControllerContext;
use crate::config::ApiVersion;

pub fn update_metadata_version(ibp: ApiVersion) -> i16 {
    if ibp >= ApiVersion(2, 4, 1) {
        6
    } else if ibp >= ApiVersion(2, 2, 0) {
        5
    } else {
        4
    }
}

/// UpdateMetadata carrying the live brokers (every listener of each), for one target broker.
pub fn update_metadata(
    controller_id: i32,
    ctx: &ControllerContext,
    target_broker_epoch: i64,
    version: i16,
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
    // Broker epochs exist from v5 (KIP-380); older versions must leave the field at -1.
    let broker_epoch = if version >= 5 {
        target_broker_epoch
    } else {
        -1
    };
    UpdateMetadataRequest::default()
        .with_controller_id(BrokerId(controller_id))
        .with_controller_epoch(ctx.epoch)
        .with_broker_epoch(broker_epoch)
        .with_live_brokers(live_brokers)
}
