//! `zkafka topics`: Kafka 2.8's `kafka-topics.sh --zookeeper` (TopicCommand's
//! `ZookeeperTopicService`), with the stock tool's output, messages and exit codes;
//! `--bootstrap-server` goes to the brokers (`topics_broker`).

use std::collections::BTreeSet;
use std::time::Duration;

use super::assignment::RackAwareMode;
use super::describe::{describe_topic, DescribeFilter, PartitionView, TopicView};
use super::error::{AdminError, AdminResult};
use super::topic_name::{has_collision_chars, is_internal};
pub use super::topics_args::TopicsArgs;
use super::topics_args::{
    parse_configs_to_add, parse_configs_to_delete, parse_replica_assignment, TopicFilter,
};
use super::zk_admin;
use crate::zk::codec::PartitionState;
use crate::zk::{paths, KafkaZkClient};

/// The stock tool's ZooKeeper session and connection timeout.
const ZK_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the tool; returns the process exit code (0 ok, 1 error), as TopicCommand.main does.
pub async fn run(args: TopicsArgs) -> u8 {
    if let Err(e) = args.check() {
        eprintln!("{}", e.0);
        eprintln!("Run 'zkafka topics --help' for the options.");
        return 1;
    }
    if let Some(bootstrap) = &args.bootstrap_server {
        return match super::topics_broker::run(bootstrap, &args).await {
            Ok(()) => 0,
            Err(e) => {
                println!("Error while executing topic command : {e:#}");
                1
            }
        };
    }
    let connect = args.zookeeper.clone().unwrap_or_default();
    // The session setup itself is bounded too: a ZooKeeper that accepts TCP but never answers
    // must not hang the tool.
    let zk = match tokio::time::timeout(
        ZK_TIMEOUT + Duration::from_secs(5),
        KafkaZkClient::connect(&connect, ZK_TIMEOUT, ZK_TIMEOUT),
    )
    .await
    {
        Ok(Ok(zk)) => zk,
        Ok(Err(e)) => {
            eprintln!("Error while executing topic command : cannot connect to ZooKeeper at {connect}: {e}");
            return 1;
        }
        Err(_) => {
            eprintln!("Error while executing topic command : Timed out waiting for connection to ZooKeeper at {connect}");
            return 1;
        }
    };
    let result = if args.create {
        create(&zk, &args).await
    } else if args.alter {
        alter(&zk, &args).await
    } else if args.list {
        list(&zk, &args).await
    } else if args.describe {
        describe(&zk, &args).await
    } else {
        delete(&zk, &args).await
    };
    // As kafka-topics.sh: close the session rather than leave it for the servers to expire.
    zk.close().await;
    match result {
        Ok(()) => 0,
        Err(e) => {
            println!("Error while executing topic command : {e}");
            1
        }
    }
}

/// `getTopics`: all topics sorted, filtered by the `--topic` regex and `--exclude-internal`.
async fn get_topics(zk: &KafkaZkClient, args: &TopicsArgs) -> AdminResult<Vec<String>> {
    let all = zk_admin::get_all_topics(zk).await?;
    let filter = args.topic.as_deref().map(TopicFilter::new).transpose()?;
    Ok(all
        .into_iter()
        .filter(|t| filter.as_ref().is_none_or(|f| f.matches(t)))
        .filter(|t| !(args.exclude_internal && is_internal(t)))
        .collect())
}

/// `ensureTopicExists`: a named topic matching nothing is an error unless `--if-exists`.
fn ensure_topic_exists(found: &[String], args: &TopicsArgs) -> AdminResult<()> {
    match &args.topic {
        Some(t) if found.is_empty() && !args.if_exists => Err(AdminError::Operation(format!(
            "Topic '{t}' does not exist as expected"
        ))),
        _ => Ok(()),
    }
}

fn warn_message_format_version(configs: &std::collections::BTreeMap<String, String>) {
    if let Some(v) = configs.get("message.format.version") {
        println!("WARNING: The configuration message.format.version={v} is specified. This configuration will be ignored if the version is newer than the inter.broker.protocol.version specified in the broker.");
    }
}

async fn create(zk: &KafkaZkClient, args: &TopicsArgs) -> AdminResult<()> {
    let topic = args.topic.clone().unwrap_or_default();
    let configs = parse_configs_to_add(&args.config)?;
    warn_message_format_version(&configs);
    let manual = match args.replica_assignment.as_deref() {
        Some(text) if !text.is_empty() => Some(parse_replica_assignment(text)?),
        _ => None,
    };
    if has_collision_chars(&topic) {
        println!("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.");
    }
    let result = match &manual {
        Some(a) => zk_admin::create_topic_with_assignment(zk, &topic, &configs, a, false).await,
        None => {
            let mode = if args.disable_rack_aware {
                RackAwareMode::Disabled
            } else {
                RackAwareMode::Enforced
            };
            let partitions = args.partitions.unwrap_or_default();
            let rf = args.replication_factor.unwrap_or_default();
            zk_admin::create_topic(zk, &topic, partitions, rf, &configs, mode, false)
                .await
                .map(|_| ())
        }
    };
    match result {
        Ok(()) => {
            println!("Created topic {topic}.");
            Ok(())
        }
        Err(AdminError::TopicAlreadyExists(_)) if args.if_not_exists => Ok(()),
        Err(e) => Err(e),
    }
}

async fn alter(zk: &KafkaZkClient, args: &TopicsArgs) -> AdminResult<()> {
    let topics = get_topics(zk, args).await?;
    let to_add = parse_configs_to_add(&args.config)?;
    warn_message_format_version(&to_add);
    let to_delete = parse_configs_to_delete(&args.delete_config)?;
    let manual = match args.replica_assignment.as_deref() {
        Some(text) if !text.is_empty() => Some(parse_replica_assignment(text)?),
        _ => None,
    };
    ensure_topic_exists(&topics, args)?;
    for topic in &topics {
        let mut configs = zk_admin::fetch_topic_config(zk, topic).await?;
        if !args.config.is_empty() || !args.delete_config.is_empty() {
            println!("WARNING: Altering topic configuration from this script has been deprecated and may be removed in future releases.");
            println!("         Going forward, please use kafka-configs.sh for this functionality");
            configs.extend(to_add.clone());
            for name in &to_delete {
                configs.remove(name);
            }
            zk_admin::change_topic_config(zk, topic, &configs).await?;
            println!("Updated config for topic {topic}.");
        }
        if let Some(count) = args.partitions {
            if is_internal(topic) {
                return Err(AdminError::Operation(format!(
                    "The number of partitions for the internal topic {topic} cannot be changed."
                )));
            }
            println!("WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the messages will be affected");
            let Some(existing) = zk_admin::get_topic_assignment(zk, topic).await? else {
                return Err(AdminError::InvalidTopic(format!(
                    "The topic {topic} does not exist"
                )));
            };
            // Kafka takes the lists past the current partition count as the new partitions;
            // none left means automatic assignment.
            let current = existing.partitions.len() as i32;
            let new_manual: Option<super::assignment::Assignment> = manual
                .as_ref()
                .map(|m| m.range(current..).map(|(p, r)| (*p, r.clone())).collect())
                .filter(|m: &super::assignment::Assignment| !m.is_empty());
            zk_admin::add_partitions(zk, topic, count, new_manual.as_ref(), false).await?;
            println!("Adding partitions succeeded!");
        }
    }
    Ok(())
}

async fn list(zk: &KafkaZkClient, args: &TopicsArgs) -> AdminResult<()> {
    for topic in get_topics(zk, args).await? {
        if zk_admin::is_topic_marked_for_deletion(zk, &topic).await? {
            println!("{topic} - marked for deletion");
        } else {
            println!("{topic}");
        }
    }
    Ok(())
}

async fn describe(zk: &KafkaZkClient, args: &TopicsArgs) -> AdminResult<()> {
    let topics = get_topics(zk, args).await?;
    ensure_topic_exists(&topics, args)?;
    let live: BTreeSet<i32> = zk
        .get_all_brokers()
        .await?
        .iter()
        .map(|(reg, _)| reg.broker.id)
        .collect();
    let filter = DescribeFilter::from(args);
    for topic in topics {
        let Some(assignment) = zk_admin::get_topic_assignment(zk, &topic).await? else {
            println!("Topic {topic} doesn't exist!");
            continue;
        };
        let mut partitions = Vec::with_capacity(assignment.partitions.len());
        for (p, replicas) in &assignment.partitions {
            let path = paths::partition_state(&topic, *p);
            let state = match zk.get_data(&path).await? {
                Some((data, stat)) => {
                    let s = PartitionState::decode(&path, &data, stat.version)
                        .map_err(crate::zk::ZkError::from)?;
                    Some((s.leader, s.isr))
                }
                None => None,
            };
            partitions.push(PartitionView::new(*p, replicas.clone(), state));
        }
        let view = TopicView {
            marked_for_deletion: zk_admin::is_topic_marked_for_deletion(zk, &topic).await?,
            configs: zk_admin::fetch_topic_config(zk, &topic).await?,
            topic_id: assignment.topic_id.clone(),
            name: topic,
            partitions,
            min_isr: None,
        };
        print!("{}", describe_topic(&view, filter, &live));
    }
    Ok(())
}

async fn delete(zk: &KafkaZkClient, args: &TopicsArgs) -> AdminResult<()> {
    let topics = get_topics(zk, args).await?;
    ensure_topic_exists(&topics, args)?;
    for topic in topics {
        match zk_admin::delete_topic(zk, &topic).await {
            Ok(()) => {
                println!("Topic {topic} is marked for deletion.");
                println!(
                    "Note: This will have no impact if delete.topic.enable is not set to true."
                );
            }
            Err(AdminError::TopicAlreadyMarkedForDeletion(_)) => {
                println!("Topic {topic} is already marked for deletion.");
            }
            Err(e @ AdminError::Operation(_)) => return Err(e),
            Err(e) => {
                return Err(AdminError::Operation(format!(
                    "Error while deleting topic {topic}: {e}"
                )))
            }
        }
    }
    Ok(())
}
