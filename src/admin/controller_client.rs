//! The admin calls the leader and reassignment tools send to the active controller (as
//! Kafka's AdminClient does): find it through Metadata, then ElectLeaders,
//! AlterPartitionReassignments and ListPartitionReassignments.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, Context};
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::command_config;
use crate::log::TopicPartition;
use crate::network::client::BrokerClient;

const TIMEOUT: Duration = Duration::from_secs(60);

/// Per partition: None = success, Some((error code, message)).
pub type PartitionErrors = BTreeMap<TopicPartition, Option<(i16, String)>>;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn by_topic(partitions: &[TopicPartition]) -> BTreeMap<String, Vec<i32>> {
    let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        out.entry(tp.topic.clone()).or_default().push(tp.partition);
    }
    out
}

/// A connection to the active controller, found through the first reachable bootstrap server.
pub async fn connect_controller(bootstrap: &str) -> anyhow::Result<BrokerClient> {
    let mut last = anyhow!("no bootstrap server given");
    for addr in bootstrap
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        let attempt = async {
            let mut c = command_config::connect(addr, "admin", TIMEOUT, TIMEOUT).await?;
            let m = c
                .send(&MetadataRequest::default().with_topics(Some(vec![])), 1)
                .await?;
            let id = m.controller_id.0;
            let b = m
                .brokers
                .iter()
                .find(|b| b.node_id.0 == id)
                .ok_or_else(|| anyhow!("no controller is known to {addr}"))?;
            let target = format!("{}:{}", b.host, b.port);
            command_config::connect(&target, "admin", TIMEOUT, TIMEOUT)
                .await
                .with_context(|| format!("cannot connect to the controller at {target}"))
        };
        match attempt.await {
            Ok(c) => return Ok(c),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// ElectLeaders v1 (`None` = all partitions); election type 0 preferred, 1 unclean.
pub async fn elect_leaders(
    bootstrap: &str,
    election_type: i8,
    partitions: Option<&[TopicPartition]>,
) -> anyhow::Result<PartitionErrors> {
    let topics = partitions.map(|ps| {
        by_topic(ps)
            .into_iter()
            .map(|(t, p)| {
                TopicPartitions::default()
                    .with_topic(TopicName(sb(&t)))
                    .with_partitions(p)
            })
            .collect()
    });
    let req = ElectLeadersRequest::default()
        .with_election_type(election_type)
        .with_topic_partitions(topics)
        .with_timeout_ms(60_000);
    let resp = connect_controller(bootstrap).await?.send(&req, 1).await?;
    let mut out = PartitionErrors::new();
    for t in resp.replica_election_results {
        for p in t.partition_result {
            let err = (p.error_code != 0).then(|| {
                let msg = p.error_message.map(|m| m.to_string()).unwrap_or_default();
                (p.error_code, msg)
            });
            out.insert(
                TopicPartition::new(t.topic.0.to_string(), p.partition_id),
                err,
            );
        }
    }
    Ok(out)
}

/// AlterPartitionReassignments v0 (`None` target cancels).
pub async fn alter_partition_reassignments(
    bootstrap: &str,
    wanted: &[(TopicPartition, Option<Vec<i32>>)],
) -> anyhow::Result<PartitionErrors> {
    let mut topics: BTreeMap<String, Vec<ReassignablePartition>> = BTreeMap::new();
    for (tp, target) in wanted {
        topics.entry(tp.topic.clone()).or_default().push(
            ReassignablePartition::default()
                .with_partition_index(tp.partition)
                .with_replicas(
                    target
                        .as_ref()
                        .map(|t| t.iter().copied().map(BrokerId).collect()),
                ),
        );
    }
    let req = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(60_000)
        .with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    ReassignableTopic::default()
                        .with_name(TopicName(sb(&t)))
                        .with_partitions(ps)
                })
                .collect(),
        );
    let resp = connect_controller(bootstrap).await?.send(&req, 0).await?;
    if resp.error_code != 0 {
        return Err(anyhow!("{}", crate::server::errors::name(resp.error_code)));
    }
    let mut out = PartitionErrors::new();
    for t in resp.responses {
        for p in t.partitions {
            let err = (p.error_code != 0).then(|| {
                let msg = p.error_message.map(|m| m.to_string()).unwrap_or_default();
                (p.error_code, msg)
            });
            out.insert(
                TopicPartition::new(t.name.0.to_string(), p.partition_index),
                err,
            );
        }
    }
    Ok(out)
}

/// ListPartitionReassignments v0 (all): partition → (RS, AR, RR).
pub async fn list_partition_reassignments(
    bootstrap: &str,
) -> anyhow::Result<BTreeMap<TopicPartition, (Vec<i32>, Vec<i32>, Vec<i32>)>> {
    let req = ListPartitionReassignmentsRequest::default().with_timeout_ms(60_000);
    let resp = connect_controller(bootstrap).await?.send(&req, 0).await?;
    if resp.error_code != 0 {
        return Err(anyhow!("{}", crate::server::errors::name(resp.error_code)));
    }
    let ids = |v: Vec<BrokerId>| v.into_iter().map(|b| b.0).collect::<Vec<_>>();
    let mut out = BTreeMap::new();
    for t in resp.topics {
        for p in t.partitions {
            out.insert(
                TopicPartition::new(t.name.0.to_string(), p.partition_index),
                (
                    ids(p.replicas),
                    ids(p.adding_replicas),
                    ids(p.removing_replicas),
                ),
            );
        }
    }
    Ok(out)
}

/// Replica lists of `topics` (all when empty) from Metadata v1.
pub async fn describe_assignments(
    bootstrap: &str,
    topics: &[String],
) -> anyhow::Result<BTreeMap<TopicPartition, Vec<i32>>> {
    let wanted = (!topics.is_empty()).then(|| {
        topics
            .iter()
            .map(|t| {
                metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(sb(t))))
            })
            .collect()
    });
    let mut c = connect_controller(bootstrap).await?;
    let m = c
        .send(&MetadataRequest::default().with_topics(wanted), 1)
        .await?;
    let mut out = BTreeMap::new();
    for t in m.topics.iter().filter(|t| t.error_code == 0) {
        let Some(name) = t.name.as_ref() else {
            continue;
        };
        for p in &t.partitions {
            let replicas = p.replica_nodes.iter().map(|b| b.0).collect();
            out.insert(
                TopicPartition::new(name.to_string(), p.partition_index),
                replicas,
            );
        }
    }
    Ok(out)
}
