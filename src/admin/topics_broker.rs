//! `zkafka topics --bootstrap-server`: Kafka 2.8's TopicCommand `AdminClientTopicService`,
//! which sends CreateTopics, Metadata, DescribeConfigs, CreatePartitions and DeleteTopics to
//! the brokers (over the security `--command-config` sets up) instead of writing ZooKeeper.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{anyhow, bail};
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::{
    MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::command_config;
use super::controller_client::connect_controller;
use super::describe::{describe_topic, DescribeFilter, PartitionView, Reassignment, TopicView};
use super::topic_name::{has_collision_chars, is_internal};
use super::topics_args::{parse_configs_to_add, parse_replica_assignment, TopicFilter, TopicsArgs};
use crate::network::client::BrokerClient;

const TIMEOUT: Duration = Duration::from_secs(30);
/// ConfigResource.Type.TOPIC and ConfigEntry.ConfigSource.DEFAULT_CONFIG.
const TOPIC_RESOURCE: i8 = 2;
const DEFAULT_CONFIG: i8 = 5;
const MIN_IN_SYNC_REPLICAS: &str = "min.insync.replicas";

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// The error of a topic result as the tool prints it: the broker's message, or Kafka's.
fn topic_error(code: i16, message: Option<&StrBytes>) -> anyhow::Result<()> {
    match (code, message) {
        (0, _) => Ok(()),
        (41, _) => Err(NotController(super::java_errors::message(code)).into()),
        (_, Some(m)) if !m.is_empty() => Err(anyhow!("{m}")),
        _ => Err(anyhow!("{}", super::java_errors::message(code))),
    }
}

/// Runs one action against the brokers; the tool's caller prints errors.
pub async fn run(bootstrap: &str, args: &TopicsArgs) -> anyhow::Result<()> {
    command_config::configure_admin(args.command_config.as_deref())?;
    // Topic changes go to the controller; NOT_CONTROLLER (it just moved, or is still taking
    // over) is retried with a fresh lookup, as the AdminClient does.
    if args.create || args.alter || args.delete {
        let mut attempts = 0;
        loop {
            let result = match connect_controller(bootstrap).await {
                Ok(mut client) => change(&mut client, args).await,
                Err(e) if e.to_string().starts_with("no controller is known") => {
                    Err(NotController(e.to_string()).into())
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.is::<NotController>() && attempts < 20 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => return other,
            }
        }
    }
    let mut client = connect_any(bootstrap).await?;
    if args.list {
        for topic in topics(&mut client, args).await? {
            println!("{topic}");
        }
        Ok(())
    } else {
        describe(&mut client, bootstrap, args).await
    }
}

/// The topic change `args` asks for, sent to the controller.
async fn change(client: &mut BrokerClient, args: &TopicsArgs) -> anyhow::Result<()> {
    if args.create {
        create(client, args).await
    } else if args.alter {
        alter(client, args).await
    } else {
        delete(client, args).await
    }
}

/// NOT_CONTROLLER from the broker a topic change was sent to.
#[derive(Debug)]
struct NotController(String);

impl std::fmt::Display for NotController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotController {}

/// A connection to the first reachable bootstrap server.
async fn connect_any(bootstrap: &str) -> anyhow::Result<BrokerClient> {
    let mut last = anyhow!("no bootstrap server given");
    for addr in bootstrap
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        match command_config::connect(addr, "kafka-topics", TIMEOUT, TIMEOUT).await {
            Ok(c) => return Ok(c),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn create(client: &mut BrokerClient, args: &TopicsArgs) -> anyhow::Result<()> {
    let name = args.topic.clone().unwrap_or_default();
    if args
        .replication_factor
        .is_some_and(|rf| !(1..=i16::MAX as i32).contains(&rf))
    {
        bail!("The replication factor must be between 1 and 32767 inclusive");
    }
    if args.partitions.is_some_and(|p| p < 1) {
        bail!("The partitions must be greater than 0");
    }
    let configs = parse_configs_to_add(&args.config).map_err(|e| anyhow!("{e}"))?;
    if has_collision_chars(&name) {
        println!("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.");
    }
    let mut topic = CreatableTopic::default()
        .with_name(TopicName(sb(&name)))
        .with_num_partitions(args.partitions.unwrap_or(-1))
        .with_replication_factor(args.replication_factor.unwrap_or(-1) as i16)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(sb(k))
                        .with_value(Some(sb(v)))
                })
                .collect(),
        );
    if let Some(text) = args.replica_assignment.as_deref().filter(|t| !t.is_empty()) {
        let manual = parse_replica_assignment(text).map_err(|e| anyhow!("{e}"))?;
        topic = topic
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(
                manual
                    .iter()
                    .map(|(p, r)| {
                        CreatableReplicaAssignment::default()
                            .with_partition_index(*p)
                            .with_broker_ids(r.iter().map(|b| BrokerId(*b)).collect())
                    })
                    .collect(),
            );
    }
    let req = CreateTopicsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(TIMEOUT.as_millis() as i32);
    let resp = client.send(&req, 4).await?;
    let result = resp
        .topics
        .first()
        .ok_or_else(|| anyhow!("the broker returned no result for {name}"))?;
    // TOPIC_ALREADY_EXISTS is no error with --if-not-exists.
    if result.error_code == 36 && args.if_not_exists {
        return Ok(());
    }
    topic_error(result.error_code, result.error_message.as_ref())?;
    println!("Created topic {name}.");
    Ok(())
}

/// Metadata of `names` (None: every topic).
async fn metadata(
    client: &mut BrokerClient,
    names: Option<&[String]>,
) -> anyhow::Result<MetadataResponse> {
    let topics = names.map(|ns| {
        ns.iter()
            .map(|n| MetadataRequestTopic::default().with_name(Some(TopicName(sb(n)))))
            .collect()
    });
    let req = MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(false);
    client.send(&req, 10).await
}

/// Every topic, sorted, filtered by the `--topic` regex and `--exclude-internal`.
async fn topics(client: &mut BrokerClient, args: &TopicsArgs) -> anyhow::Result<Vec<String>> {
    let filter = args
        .topic
        .as_deref()
        .map(TopicFilter::new)
        .transpose()
        .map_err(|e| anyhow!("{e}"))?;
    let all: BTreeSet<String> = metadata(client, None)
        .await?
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .collect();
    Ok(all
        .into_iter()
        .filter(|t| filter.as_ref().is_none_or(|f| f.matches(t)))
        .filter(|t| !(args.exclude_internal && is_internal(t)))
        .collect())
}

/// The topics an action names; none matching is an error unless `--if-exists`.
async fn existing(client: &mut BrokerClient, args: &TopicsArgs) -> anyhow::Result<Vec<String>> {
    let found = topics(client, args).await?;
    if found.is_empty() && !args.if_exists {
        if let Some(t) = &args.topic {
            bail!("Topic '{t}' does not exist as expected");
        }
    }
    Ok(found)
}

/// What `--describe` needs of a topic's DescribeConfigs entries.
#[derive(Default)]
struct TopicConfigs {
    /// The entries that are not Kafka's defaults (as `ConfigEntry.isDefault`).
    overrides: BTreeMap<String, String>,
    /// The effective `min.insync.replicas`, whatever its source.
    min_isr: Option<i32>,
}

/// The configs of `topics`, in one DescribeConfigs request as the AdminClient sends it.
async fn topic_configs(
    client: &mut BrokerClient,
    topics: &[String],
) -> anyhow::Result<BTreeMap<String, TopicConfigs>> {
    let resources = topics.iter().map(|t| {
        DescribeConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(sb(t))
    });
    let req = DescribeConfigsRequest::default().with_resources(resources.collect());
    let resp = client.send(&req, 1).await?;
    let mut out = BTreeMap::new();
    for r in &resp.results {
        topic_error(r.error_code, r.error_message.as_ref())?;
        let mut topic = TopicConfigs::default();
        for c in &r.configs {
            let value = c.value.as_ref().map_or("", |v| v.as_str());
            if c.name.as_str() == MIN_IN_SYNC_REPLICAS {
                topic.min_isr = value.parse().ok();
            }
            if c.config_source != DEFAULT_CONFIG {
                topic
                    .overrides
                    .insert(c.name.to_string(), value.to_string());
            }
        }
        out.insert(r.resource_name.to_string(), topic);
    }
    Ok(out)
}

/// A partition as the AdminClient describes it: a leader that is not among the live brokers
/// is no leader (`Leader: none`).
fn partition_view(p: &MetadataResponsePartition, live: &BTreeSet<i32>) -> PartitionView {
    let leader = if live.contains(&p.leader_id.0) {
        p.leader_id.0
    } else {
        -1
    };
    PartitionView::new(
        p.partition_index,
        p.replica_nodes.iter().map(|b| b.0).collect(),
        Some((leader, p.isr_nodes.iter().map(|b| b.0).collect())),
    )
}

/// The reassignments in progress among `topics`' partitions, from the controller (Kafka's
/// `listAllReassignments`): none when that is unsupported or not authorized.
async fn reassignments(
    bootstrap: &str,
    topics: &[MetadataResponseTopic],
) -> anyhow::Result<BTreeMap<(String, i32), Reassignment>> {
    let listed = topics.iter().filter_map(|t| {
        Some(
            ListPartitionReassignmentsTopics::default()
                .with_name(t.name.clone()?)
                .with_partition_indexes(t.partitions.iter().map(|p| p.partition_index).collect()),
        )
    });
    let req = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(TIMEOUT.as_millis() as i32)
        .with_topics(Some(listed.collect()));
    let resp = connect_controller(bootstrap).await?.send(&req, 0).await?;
    // UNSUPPORTED_VERSION and CLUSTER_AUTHORIZATION_FAILED: described without reassignments.
    if matches!(resp.error_code, 31 | 35) {
        return Ok(BTreeMap::new());
    }
    topic_error(resp.error_code, resp.error_message.as_ref())?;
    let ids = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
    let mut out = BTreeMap::new();
    for t in &resp.topics {
        for p in &t.partitions {
            let r = Reassignment {
                replicas: ids(&p.replicas),
                adding: ids(&p.adding_replicas),
                removing: ids(&p.removing_replicas),
            };
            out.insert((t.name.0.to_string(), p.partition_index), r);
        }
    }
    Ok(out)
}

async fn describe(
    client: &mut BrokerClient,
    bootstrap: &str,
    args: &TopicsArgs,
) -> anyhow::Result<()> {
    let names = existing(client, args).await?;
    if names.is_empty() {
        return Ok(());
    }
    let mut configs = topic_configs(client, &names).await?;
    let meta = metadata(client, Some(&names)).await?;
    let live: BTreeSet<i32> = meta.brokers.iter().map(|b| b.node_id.0).collect();
    let mut moving = reassignments(bootstrap, &meta.topics).await?;
    let filter = DescribeFilter::from(args);
    for t in &meta.topics {
        let Some(name) = t.name.as_ref().map(|n| n.0.to_string()) else {
            continue;
        };
        topic_error(t.error_code, None)?;
        let mut partitions: Vec<PartitionView> = t
            .partitions
            .iter()
            .map(|p| {
                let mut view = partition_view(p, &live);
                view.reassignment = moving.remove(&(name.clone(), p.partition_index));
                view
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        let config = configs.remove(&name).unwrap_or_default();
        let view = TopicView {
            configs: config.overrides,
            min_isr: config.min_isr,
            topic_id: topic_id_text(&t.topic_id),
            name,
            partitions,
            marked_for_deletion: false,
        };
        print!("{}", describe_topic(&view, filter, &live));
    }
    Ok(())
}

/// A topic id as Kafka prints it (URL-safe base64), None for the zero id.
fn topic_id_text(id: &uuid::Uuid) -> Option<String> {
    use base64::Engine;
    (!id.is_nil()).then(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes()))
}

async fn alter(client: &mut BrokerClient, args: &TopicsArgs) -> anyhow::Result<()> {
    let count = args.partitions.unwrap_or_default();
    let names = existing(client, args).await?;
    if names.is_empty() {
        return Ok(());
    }
    let manual = match args.replica_assignment.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => Some(parse_replica_assignment(text).map_err(|e| anyhow!("{e}"))?),
        None => None,
    };
    // With --replica-assignment, the lists past a topic's current partitions are the new ones.
    let mut current = BTreeMap::new();
    if manual.is_some() {
        for t in metadata(client, Some(&names)).await?.topics {
            let name = t.name.map(|n| n.0.to_string()).unwrap_or_default();
            current.insert(name, t.partitions.len() as i32);
        }
    }
    let topics = names.iter().map(|t| {
        let new_lists = manual.as_ref().map(|m| {
            m.range(current.get(t).copied().unwrap_or(0)..)
                .map(|(_, r)| {
                    CreatePartitionsAssignment::default()
                        .with_broker_ids(r.iter().map(|b| BrokerId(*b)).collect())
                })
                .collect()
        });
        CreatePartitionsTopic::default()
            .with_name(TopicName(sb(t)))
            .with_count(count)
            .with_assignments(new_lists)
    });
    let req = CreatePartitionsRequest::default()
        .with_topics(topics.collect())
        .with_timeout_ms(TIMEOUT.as_millis() as i32);
    for r in client.send(&req, 1).await?.results {
        topic_error(r.error_code, r.error_message.as_ref())?;
    }
    Ok(())
}

async fn delete(client: &mut BrokerClient, args: &TopicsArgs) -> anyhow::Result<()> {
    let names = existing(client, args).await?;
    if names.is_empty() {
        return Ok(());
    }
    let req = DeleteTopicsRequest::default()
        .with_topic_names(names.iter().map(|t| TopicName(sb(t))).collect())
        .with_timeout_ms(TIMEOUT.as_millis() as i32);
    for r in client.send(&req, 1).await?.responses {
        topic_error(r.error_code, r.error_message.as_ref())?;
    }
    Ok(())
}
