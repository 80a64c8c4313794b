//! The replication throttles of `kafka-reassign-partitions.sh` (ReassignPartitionsCommand.scala
//! `calculateProposedMoveMap`, `modifyReassignmentThrottle`, `clearAllThrottles`): which
//! replicas of the moving partitions are throttled (the sources as leader side, the new
//! replicas as follower side), the rate set on every broker involved, and their removal once
//! the reassignment is done. Written through IncrementalAlterConfigs with `--bootstrap-server`
//! or directly as `/config/...` znodes with `--zookeeper`, as Kafka does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use kafka_protocol::messages::incremental_alter_configs_request as inc;
use kafka_protocol::messages::IncrementalAlterConfigsRequest;
use kafka_protocol::protocol::StrBytes;

use super::group_client::Cluster;
use super::zk_admin;
use crate::config::dynamic::{
    FOLLOWER_REPLICATION_THROTTLED_RATE, LEADER_REPLICATION_THROTTLED_RATE,
    REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND,
};
use crate::log::TopicPartition;
use crate::zk::KafkaZkClient;

pub const LEADER_THROTTLED_REPLICAS: &str = "leader.replication.throttled.replicas";
pub const FOLLOWER_THROTTLED_REPLICAS: &str = "follower.replication.throttled.replicas";
const BROKER_LEVEL_THROTTLES: [&str; 3] = [
    LEADER_REPLICATION_THROTTLED_RATE,
    FOLLOWER_REPLICATION_THROTTLED_RATE,
    REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND,
];
const TOPIC_LEVEL_THROTTLES: [&str; 2] = [LEADER_THROTTLED_REPLICAS, FOLLOWER_THROTTLED_REPLICAS];
const TIMEOUT: Duration = Duration::from_secs(30);
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

/// Where the throttle configs are written.
pub enum ConfigTarget<'a> {
    Zk(&'a KafkaZkClient),
    Brokers(&'a str),
}

/// One partition's move: the replicas it has now and the ones being added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionMove {
    pub sources: BTreeSet<i32>,
    pub destinations: BTreeSet<i32>,
}

/// topic → partition → move.
pub type MoveMap = BTreeMap<String, BTreeMap<i32, PartitionMove>>;

/// An ongoing reassignment: (all replicas, adding, removing).
pub type Ongoing = BTreeMap<TopicPartition, (Vec<i32>, Vec<i32>, Vec<i32>)>;

/// `calculateProposedMoveMap`: ongoing reassignments keep their sources (replicas minus those
/// being added); a proposed partition moves from its sources (ongoing or current) to its new
/// replicas that are not sources.
pub fn proposed_move_map(
    ongoing: &Ongoing,
    proposed: &BTreeMap<TopicPartition, Vec<i32>>,
    current: &BTreeMap<TopicPartition, Vec<i32>>,
) -> anyhow::Result<MoveMap> {
    let mut moves = MoveMap::new();
    for (tp, (replicas, adding, _)) in ongoing {
        let sources = replicas.iter().filter(|r| !adding.contains(r)).copied();
        moves.entry(tp.topic.clone()).or_default().insert(
            tp.partition,
            PartitionMove {
                sources: sources.collect(),
                destinations: adding.iter().copied().collect(),
            },
        );
    }
    for (tp, replicas) in proposed {
        let parts = moves.entry(tp.topic.clone()).or_default();
        let sources: BTreeSet<i32> = match parts.get(&tp.partition) {
            Some(m) => m.sources.clone(),
            None => current
                .get(tp)
                .ok_or_else(|| {
                    anyhow!("Trying to reassign a topic partition {tp} with 0 replicas")
                })?
                .iter()
                .copied()
                .collect(),
        };
        let destinations = replicas
            .iter()
            .filter(|r| !sources.contains(r))
            .copied()
            .collect();
        parts.insert(
            tp.partition,
            PartitionMove {
                sources,
                destinations,
            },
        );
    }
    Ok(moves)
}

/// `calculateLeaderThrottles` / `calculateFollowerThrottles`: `partition:broker` entries,
/// sorted as strings (Kafka collects them in a `TreeSet[String]`).
fn throttles(moves: &MoveMap, pick: fn(&PartitionMove) -> Vec<i32>) -> BTreeMap<String, String> {
    moves
        .iter()
        .map(|(topic, parts)| {
            let entries: BTreeSet<String> = parts
                .iter()
                .flat_map(|(p, m)| pick(m).into_iter().map(move |b| format!("{p}:{b}")))
                .collect();
            (
                topic.clone(),
                entries.into_iter().collect::<Vec<_>>().join(","),
            )
        })
        .collect()
}

/// The leader-side throttled replicas: every source of a moving partition.
pub fn leader_throttles(moves: &MoveMap) -> BTreeMap<String, String> {
    throttles(moves, |m| m.sources.iter().copied().collect())
}

/// The follower-side throttled replicas: every destination that is not also a source.
pub fn follower_throttles(moves: &MoveMap) -> BTreeMap<String, String> {
    throttles(moves, |m| {
        m.destinations
            .iter()
            .filter(|d| !m.sources.contains(d))
            .copied()
            .collect()
    })
}

/// `calculateReassigningBrokers`: every source and destination.
pub fn reassigning_brokers(moves: &MoveMap) -> BTreeSet<i32> {
    moves
        .values()
        .flat_map(|parts| parts.values())
        .flat_map(|m| m.sources.iter().chain(&m.destinations).copied())
        .collect()
}

/// `modifyReassignmentThrottle`: the topic configs of the moves, then both rates on every
/// broker involved; prints Kafka's confirmation.
pub async fn set_throttles(
    target: &ConfigTarget<'_>,
    moves: &MoveMap,
    rate: i64,
) -> anyhow::Result<()> {
    let leader = leader_throttles(moves);
    let follower = follower_throttles(moves);
    let mut topic_ops: BTreeMap<String, Vec<(&str, Option<String>)>> = BTreeMap::new();
    for (topic, value) in &leader {
        topic_ops
            .entry(topic.clone())
            .or_default()
            .push((LEADER_THROTTLED_REPLICAS, Some(value.clone())));
    }
    for (topic, value) in &follower {
        topic_ops
            .entry(topic.clone())
            .or_default()
            .push((FOLLOWER_THROTTLED_REPLICAS, Some(value.clone())));
    }
    alter_topics(target, &topic_ops).await?;
    let rate = rate.to_string();
    let broker_ops = vec![
        (LEADER_REPLICATION_THROTTLED_RATE, Some(rate.clone())),
        (FOLLOWER_REPLICATION_THROTTLED_RATE, Some(rate.clone())),
    ];
    alter_brokers(target, &reassigning_brokers(moves), &broker_ops).await?;
    println!("The inter-broker throttle limit was set to {rate} B/s");
    Ok(())
}

/// `clearAllThrottles`: the broker-level throttles of every live broker and every target
/// replica, and the topic-level ones of every topic in the plan.
pub async fn clear_all_throttles(
    target: &ConfigTarget<'_>,
    plan: &BTreeMap<TopicPartition, Vec<i32>>,
) -> anyhow::Result<()> {
    let mut brokers = live_brokers(target).await?;
    brokers.extend(plan.values().flatten().copied());
    println!(
        "Clearing broker-level throttles on broker{} {}",
        if brokers.len() == 1 { "" } else { "s" },
        join(brokers.iter())
    );
    let delete: Vec<(&str, Option<String>)> =
        BROKER_LEVEL_THROTTLES.iter().map(|k| (*k, None)).collect();
    alter_brokers(target, &brokers, &delete).await?;
    let topics: BTreeSet<&str> = plan.keys().map(|tp| tp.topic.as_str()).collect();
    println!(
        "Clearing topic-level throttles on topic{} {}",
        if topics.len() == 1 { "" } else { "s" },
        join(topics.iter())
    );
    let topic_ops: BTreeMap<String, Vec<(&str, Option<String>)>> = topics
        .iter()
        .map(|t| {
            let ops = TOPIC_LEVEL_THROTTLES.iter().map(|k| (*k, None)).collect();
            (t.to_string(), ops)
        })
        .collect();
    alter_topics(target, &topic_ops).await
}

fn join<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

async fn live_brokers(target: &ConfigTarget<'_>) -> anyhow::Result<BTreeSet<i32>> {
    Ok(match target {
        ConfigTarget::Zk(zk) => zk
            .get_all_brokers()
            .await?
            .iter()
            .map(|(b, _)| b.broker.id)
            .collect(),
        ConfigTarget::Brokers(b) => Cluster::discover_topics(b, Some(&[]))
            .await?
            .brokers
            .into_keys()
            .collect(),
    })
}

/// Applies SET (`Some`) and DELETE (`None`) operations to topic configs.
async fn alter_topics(
    target: &ConfigTarget<'_>,
    ops: &BTreeMap<String, Vec<(&str, Option<String>)>>,
) -> anyhow::Result<()> {
    match target {
        ConfigTarget::Zk(zk) => {
            for (topic, topic_ops) in ops {
                let mut configs = zk.get_topic_config(topic).await?;
                if apply_ops(&mut configs, topic_ops) {
                    zk_admin::change_topic_config(zk, topic, &configs)
                        .await
                        .map_err(|e| anyhow!("cannot change the config of topic {topic}: {e}"))?;
                }
            }
            Ok(())
        }
        ConfigTarget::Brokers(bootstrap) => {
            let resources: Vec<inc::AlterConfigsResource> = ops
                .iter()
                .map(|(topic, o)| resource(RESOURCE_TOPIC, topic, o))
                .collect();
            if resources.is_empty() {
                return Ok(());
            }
            let addr = bootstrap.split(',').next().unwrap_or_default().trim();
            incremental_alter(addr, resources).await
        }
    }
}

/// Applies the same operations to the dynamic config of each broker in `brokers`; through
/// a broker, each per-broker resource goes to the broker it names, as Kafka requires.
async fn alter_brokers(
    target: &ConfigTarget<'_>,
    brokers: &BTreeSet<i32>,
    ops: &[(&str, Option<String>)],
) -> anyhow::Result<()> {
    match target {
        ConfigTarget::Zk(zk) => {
            for id in brokers {
                let entity = format!("brokers/{id}");
                let mut configs = zk.get_entity_config(&entity).await?;
                if apply_ops(&mut configs, ops) {
                    zk_admin::change_entity_config(zk, &entity, &configs)
                        .await
                        .map_err(|e| anyhow!("cannot change the config of broker {id}: {e}"))?;
                }
            }
            Ok(())
        }
        ConfigTarget::Brokers(bootstrap) => {
            let cluster = Cluster::discover_topics(bootstrap, Some(&[])).await?;
            for id in brokers {
                let addr = cluster.brokers.get(id).ok_or_else(|| {
                    anyhow!("Broker {id} is not available (not in the cluster metadata)")
                })?;
                let r = resource(RESOURCE_BROKER, &id.to_string(), ops);
                incremental_alter(addr, vec![r]).await?;
            }
            Ok(())
        }
    }
}

/// SET or remove each key; whether anything changed (Kafka skips unchanged znodes on clear).
fn apply_ops(configs: &mut BTreeMap<String, String>, ops: &[(&str, Option<String>)]) -> bool {
    let before = configs.clone();
    for (key, value) in ops {
        match value {
            Some(v) => configs.insert(key.to_string(), v.clone()),
            None => configs.remove(*key),
        };
    }
    *configs != before
}

fn resource(ty: i8, name: &str, ops: &[(&str, Option<String>)]) -> inc::AlterConfigsResource {
    let configs = ops
        .iter()
        .map(|(k, v)| {
            inc::AlterableConfig::default()
                .with_name(StrBytes::from_string(k.to_string()))
                .with_config_operation(if v.is_some() { OP_SET } else { OP_DELETE })
                .with_value(v.clone().map(StrBytes::from_string))
        })
        .collect();
    inc::AlterConfigsResource::default()
        .with_resource_type(ty)
        .with_resource_name(StrBytes::from_string(name.to_string()))
        .with_configs(configs)
}

async fn incremental_alter(
    addr: &str,
    resources: Vec<inc::AlterConfigsResource>,
) -> anyhow::Result<()> {
    let mut client = super::command_config::connect(addr, "reassign-partitions", TIMEOUT, TIMEOUT)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let req = IncrementalAlterConfigsRequest::default().with_resources(resources);
    let resp = client.send(&req, 0).await?;
    for r in &resp.responses {
        if r.error_code != 0 {
            let name = crate::server::errors::name(r.error_code);
            let msg = r.error_message.as_deref().unwrap_or("");
            bail!(
                "cannot alter the config of {} {}: {name} {msg}",
                if r.resource_type == RESOURCE_TOPIC {
                    "topic"
                } else {
                    "broker"
                },
                r.resource_name.as_str()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    #[test]
    fn throttles_name_sources_on_the_leader_side_and_new_replicas_on_the_follower_side() {
        let current = BTreeMap::from([(tp("foo", 0), vec![1, 2]), (tp("foo", 10), vec![1])]);
        let proposed = BTreeMap::from([(tp("foo", 0), vec![2, 3]), (tp("foo", 10), vec![4])]);
        let moves = proposed_move_map(&Ongoing::new(), &proposed, &current).unwrap();
        assert_eq!(leader_throttles(&moves)["foo"], "0:1,0:2,10:1");
        assert_eq!(follower_throttles(&moves)["foo"], "0:3,10:4");
        assert_eq!(reassigning_brokers(&moves), BTreeSet::from([1, 2, 3, 4]));
    }

    #[test]
    fn an_ongoing_reassignment_keeps_its_original_sources() {
        // foo-0 moving 1,2 → 3,4 (replicas 3,4,1,2, adding 3,4); resubmitted as → 4,5.
        let ongoing = Ongoing::from([(tp("foo", 0), (vec![3, 4, 1, 2], vec![3, 4], vec![1, 2]))]);
        let proposed = BTreeMap::from([(tp("foo", 0), vec![4, 5])]);
        let moves = proposed_move_map(&ongoing, &proposed, &BTreeMap::new()).unwrap();
        assert_eq!(leader_throttles(&moves)["foo"], "0:1,0:2");
        assert_eq!(follower_throttles(&moves)["foo"], "0:4,0:5");
        let missing = proposed_move_map(&Ongoing::new(), &proposed, &BTreeMap::new());
        assert!(missing.is_err());
    }
}
