//! Metadata requests: brokers, controller and topic partitions from the metadata cache.

use std::collections::BTreeMap;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::metadata::{MetadataSnapshot, PartitionMetadata};
use crate::network::request::RequestContext;
use crate::security::authorizer::acl::CLUSTER_NAME;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::KafkaApis;
use crate::server::errors;

/// Topics whose names mark them internal (Topic.java).
pub fn is_internal(topic: &str) -> bool {
    topic == "__consumer_offsets" || topic == "__transaction_state"
}

pub async fn handle(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &MetadataRequest,
) -> MetadataResponse {
    let requested = requested_topics(req, ctx.api_version());
    let auto_create = apis.config.boolean("auto.create.topics.enable")
        && (ctx.api_version() < 4 || req.allow_auto_topic_creation);
    // A missing topic's error: LEADER_NOT_AVAILABLE once auto-created (clients retry),
    // the creation error when that failed, else UNKNOWN_TOPIC_OR_PARTITION. A topic the
    // principal may not DESCRIBE (or, to auto-create it, CREATE) is
    // TOPIC_AUTHORIZATION_FAILED, whether or not it exists.
    let mut missing_codes: BTreeMap<String, i16> = BTreeMap::new();
    if let Some(names) = &requested {
        let snapshot = apis.metadata_cache.snapshot();
        for topic in names {
            if !apis.authorize(ctx, AclOperation::Describe, ResourceType::Topic, topic) {
                missing_codes.insert(topic.clone(), errors::TOPIC_AUTHORIZATION_FAILED);
            }
        }
        let missing = names
            .iter()
            .filter(|n| !snapshot.topics.contains_key(*n) && !missing_codes.contains_key(*n));
        for topic in missing.collect::<Vec<_>>() {
            let code = if !auto_create {
                errors::UNKNOWN_TOPIC_OR_PARTITION
            } else if !may_create(apis, ctx, topic) {
                errors::TOPIC_AUTHORIZATION_FAILED
            } else if !valid_name(topic) {
                errors::INVALID_TOPIC_EXCEPTION
            } else {
                let requester = format!("client {} at {}", ctx.client_id(), ctx.conn.peer);
                let created = super::admin::auto_create_topic(apis, topic, &requester).await;
                created.map_or_else(|c| c, |()| errors::LEADER_NOT_AVAILABLE)
            };
            missing_codes.insert(topic.clone(), code);
        }
    }
    let snapshot = apis.metadata_cache.snapshot();
    let listener = &ctx.conn.listener_name;
    let describe =
        |t: &String| describe_topic(&snapshot, t, listener, missing_codes.get(t).copied());
    let mut topics: Vec<MetadataResponseTopic> = match &requested {
        None => snapshot
            .topics
            .keys()
            .filter(|t| apis.authorize_filter(ctx, AclOperation::Describe, ResourceType::Topic, t))
            .map(describe)
            .collect(),
        Some(names) => names.iter().map(describe).collect(),
    };
    let version = ctx.api_version();
    if version >= 8 && req.include_topic_authorized_operations {
        for t in &mut topics {
            t.topic_authorized_operations = topic_authorized_operations(apis, ctx, t);
        }
    }
    let mut cluster_ops = i32::MIN;
    if (8..=10).contains(&version) && req.include_cluster_authorized_operations {
        cluster_ops = apis.cluster_authorized_operations(ctx);
    }
    MetadataResponse::default()
        .with_cluster_authorized_operations(cluster_ops)
        .with_brokers(brokers(&snapshot, listener))
        .with_cluster_id(Some(StrBytes::from_string(apis.state.cluster_id.clone())))
        .with_controller_id(BrokerId(snapshot.controller_id.unwrap_or(-1)))
        .with_topics(topics)
}

/// KIP-430: a described topic's authorized operations; a topic refused for DESCRIBE (or
/// CREATE) keeps the "not provided" default, as Kafka adds those after computing them.
fn topic_authorized_operations(
    apis: &KafkaApis,
    ctx: &RequestContext,
    t: &MetadataResponseTopic,
) -> i32 {
    let name = t.name.as_ref().map_or("", |n| n.0.as_str());
    if t.error_code == errors::TOPIC_AUTHORIZATION_FAILED {
        return t.topic_authorized_operations;
    }
    apis.authorized_operations(ctx, ResourceType::Topic, name)
}

/// Each broker is described by its endpoint on the listener this request arrived on.
fn brokers(snapshot: &MetadataSnapshot, listener: &str) -> Vec<MetadataResponseBroker> {
    snapshot
        .brokers
        .values()
        .filter_map(|b| {
            let ep = b.endpoint(listener)?;
            Some(
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.id))
                    .with_host(StrBytes::from_string(ep.host.clone()))
                    .with_port(i32::from(ep.port))
                    .with_rack(b.rack.clone().map(StrBytes::from_string)),
            )
        })
        .collect()
}

fn describe_topic(
    snapshot: &MetadataSnapshot,
    topic: &str,
    listener: &str,
    missing_code: Option<i16>,
) -> MetadataResponseTopic {
    let name = Some(TopicName(StrBytes::from_string(topic.to_string())));
    let partitions = match snapshot.topics.get(topic) {
        Some(p) if missing_code != Some(errors::TOPIC_AUTHORIZATION_FAILED) => Some(p),
        _ => None,
    };
    let Some(partitions) = partitions else {
        let code = missing_code.unwrap_or(errors::UNKNOWN_TOPIC_OR_PARTITION);
        return MetadataResponseTopic::default()
            .with_error_code(code)
            .with_name(name);
    };
    let partitions = partitions
        .iter()
        .map(|(p, meta)| describe_partition(snapshot, *p, meta, listener))
        .collect();
    MetadataResponseTopic::default()
        .with_name(name)
        .with_is_internal(is_internal(topic))
        .with_partitions(partitions)
}

fn describe_partition(
    snapshot: &MetadataSnapshot,
    p: i32,
    meta: &PartitionMetadata,
    listener: &str,
) -> MetadataResponsePartition {
    let leader_alive = snapshot
        .brokers
        .get(&meta.leader)
        .is_some_and(|b| b.endpoint(listener).is_some());
    let (code, leader) = if leader_alive {
        (errors::NONE, meta.leader)
    } else {
        (errors::LEADER_NOT_AVAILABLE, -1)
    };
    let ids = |v: &[i32]| v.iter().copied().map(BrokerId).collect::<Vec<_>>();
    MetadataResponsePartition::default()
        .with_error_code(code)
        .with_partition_index(p)
        .with_leader_id(BrokerId(leader))
        .with_leader_epoch(meta.leader_epoch)
        .with_replica_nodes(ids(&meta.replicas))
        .with_isr_nodes(ids(&meta.isr))
        .with_offline_replicas(ids(&meta.offline_replicas))
}

/// Auto-creation needs CREATE on the cluster or on the topic.
fn may_create(apis: &KafkaApis, ctx: &RequestContext, topic: &str) -> bool {
    apis.authorize_filter(
        ctx,
        AclOperation::Create,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) || apis.authorize(ctx, AclOperation::Create, ResourceType::Topic, topic)
}

fn valid_name(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// The topic names a request names, or `None` when it asks for all topics (v0: empty list).
fn requested_topics(req: &MetadataRequest, version: i16) -> Option<Vec<String>> {
    match &req.topics {
        None => None,
        Some(list) if list.is_empty() && version == 0 => None,
        Some(list) => Some(
            list.iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
                .collect(),
        ),
    }
}
