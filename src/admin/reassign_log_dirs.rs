//! The log-dir half of `kafka-reassign-partitions.sh` (ReassignPartitionsCommand.scala
//! `executeMoves`, `findLogDirMoveStates`): replicas given an absolute path in `log_dirs` are
//! moved there with AlterReplicaLogDirs sent to their broker (retried while the replica has
//! not arrived yet), and `--verify` asks each broker's DescribeLogDirs where they are.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use kafka_protocol::messages::alter_replica_log_dirs_request::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic,
};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::{AlterReplicaLogDirsRequest, DescribeLogDirsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;

use super::group_client::{connect, Cluster};
use crate::log::TopicPartition;
use crate::server::errors;

/// Kafka's `AnyLogDir`: the replica may live in any dir.
pub const ANY_LOG_DIR: &str = "any";

/// (broker, partition) → target log dir; the key order is Kafka's
/// `compareTopicPartitionReplicas` (broker, topic, partition).
pub type ReplicaMoves = BTreeMap<(i32, TopicPartition), String>;

/// TopicPartitionReplica.toString: `<topic>-<partition>-<broker>`.
fn replica_name((broker, tp): &(i32, TopicPartition)) -> String {
    format!("{}-{}-{broker}", tp.topic, tp.partition)
}

fn names<'a>(replicas: impl Iterator<Item = &'a (i32, TopicPartition)>) -> String {
    replicas.map(replica_name).collect::<Vec<_>>().join(",")
}

/// The replicas of the reassignment JSON whose `log_dirs` entry is not "any".
pub fn parse_replica_moves(path: &str, text: &str) -> anyhow::Result<ReplicaMoves> {
    let v: Value = serde_json::from_str(text).with_context(|| format!("cannot parse {path}"))?;
    let mut moves = ReplicaMoves::new();
    for e in v["partitions"].as_array().into_iter().flatten() {
        let (Some(topic), Some(p), Some(replicas)) = (
            e["topic"].as_str(),
            e["partition"].as_i64(),
            e["replicas"].as_array(),
        ) else {
            continue; // parse_reassignment_json reports malformed entries
        };
        let Some(dirs) = e["log_dirs"].as_array() else {
            continue;
        };
        for (r, d) in replicas.iter().zip(dirs) {
            let dir = d
                .as_str()
                .ok_or_else(|| anyhow!("{path}: log dir {d} of {topic}-{p} is not a string"))?;
            let broker = r
                .as_i64()
                .ok_or_else(|| anyhow!("{path}: bad replica id in {e}"))?;
            if dir != ANY_LOG_DIR {
                let key = (broker as i32, TopicPartition::new(topic, p as i32));
                moves.insert(key, dir.to_string());
            }
        }
    }
    Ok(moves)
}

/// `executeMoves`: AlterReplicaLogDirs until every move has started; a replica not on its
/// broker yet (REPLICA_NOT_AVAILABLE) is retried every 100 ms for `timeout`.
pub async fn execute_moves(
    bootstrap: &str,
    moves: &ReplicaMoves,
    timeout: Duration,
) -> anyhow::Result<()> {
    let started_at = Instant::now();
    let mut pending = moves.clone();
    loop {
        let cluster = Cluster::discover(bootstrap).await?;
        let mut started = Vec::new();
        for (broker, dirs) in by_broker(&pending) {
            for (key, code) in alter_on_broker(&cluster, broker, &dirs).await? {
                match code {
                    errors::NONE => started.push(key),
                    errors::REPLICA_NOT_AVAILABLE => {}
                    code => bail!(
                        "Failed to alter dir for {}: {}",
                        replica_name(&key),
                        errors::name(code)
                    ),
                }
            }
        }
        started.sort();
        if !started.is_empty() {
            let s = if started.len() == 1 { "" } else { "s" };
            println!(
                "Successfully started log directory move{s} for: {}",
                names(started.iter())
            );
        }
        for k in &started {
            pending.remove(k);
        }
        if pending.is_empty() {
            return Ok(());
        }
        if started_at.elapsed() >= timeout {
            let s = if pending.len() == 1 { "" } else { "s" };
            bail!(
                "Timed out before log directory move{s} could be started for: {}",
                names(pending.keys())
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One broker's moves: log dir → the partitions to move there.
type BrokerMoves = BTreeMap<String, Vec<TopicPartition>>;

fn by_broker(moves: &ReplicaMoves) -> BTreeMap<i32, BrokerMoves> {
    let mut out: BTreeMap<i32, BrokerMoves> = BTreeMap::new();
    for ((broker, tp), dir) in moves {
        out.entry(*broker)
            .or_default()
            .entry(dir.clone())
            .or_default()
            .push(tp.clone());
    }
    out
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

async fn alter_on_broker(
    cluster: &Cluster,
    broker: i32,
    dirs: &BrokerMoves,
) -> anyhow::Result<Vec<((i32, TopicPartition), i16)>> {
    let addr = cluster
        .brokers
        .get(&broker)
        .ok_or_else(|| anyhow!("Broker {broker} is not in the cluster metadata"))?;
    let req = AlterReplicaLogDirsRequest::default().with_dirs(
        dirs.iter()
            .map(|(dir, tps)| {
                let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
                for tp in tps {
                    topics.entry(&tp.topic).or_default().push(tp.partition);
                }
                AlterReplicaLogDir::default()
                    .with_path(sb(dir))
                    .with_topics(
                        topics
                            .into_iter()
                            .map(|(t, ps)| {
                                AlterReplicaLogDirTopic::default()
                                    .with_name(TopicName(sb(t)))
                                    .with_partitions(ps)
                            })
                            .collect(),
                    )
            })
            .collect(),
    );
    let resp = connect(addr)
        .await?
        .send(&req, 1)
        .await
        .with_context(|| format!("AlterReplicaLogDirs to broker {broker} at {addr}"))?;
    Ok(resp
        .results
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                let tp = TopicPartition::new(t.topic_name.0.as_str(), p.partition_index);
                ((broker, tp), p.error_code)
            })
        })
        .collect())
}

/// Where a replica lives on its broker (Admin ReplicaLogDirInfo).
#[derive(Default)]
struct ReplicaLogDirInfo {
    current: Option<String>,
    future: Option<String>,
}

/// `verifyReplicaMoves`: prints one line per move in Kafka's words; returns whether any is
/// still in progress (or did not reach its dir).
pub async fn verify_moves(bootstrap: &str, moves: &ReplicaMoves) -> anyhow::Result<bool> {
    let cluster = Cluster::discover(bootstrap).await?;
    let mut infos: HashMap<(i32, TopicPartition), ReplicaLogDirInfo> = HashMap::new();
    for (broker, dirs) in by_broker(moves) {
        let tps: Vec<TopicPartition> = dirs.into_values().flatten().collect();
        for (tp, dir, is_future) in describe_on_broker(&cluster, broker, &tps).await? {
            let info = infos.entry((broker, tp)).or_default();
            if is_future {
                info.future = Some(dir);
            } else {
                info.current = Some(dir);
            }
        }
    }
    let mut ongoing = false;
    for (key, target) in moves {
        let (broker, tp) = key;
        let info = infos.remove(key).unwrap_or_default();
        let line = match (info.current, info.future) {
            (None, _) => format!("Partition {tp} is not found in any live log dir on broker {broker}. There is likely an offline log directory on the broker."),
            (Some(current), None) if current == *target => {
                format!("Reassignment of replica {} completed successfully.", replica_name(key))
            }
            (Some(current), None) => format!("Partition {tp} on broker {broker} is not being moved from log dir {current} to {target}."),
            (Some(_), Some(future)) if future == *target => {
                format!("Reassignment of replica {} is still in progress.", replica_name(key))
            }
            (Some(_), Some(future)) => format!("Partition {tp} on broker {broker} is being moved to log dir {future} instead of {target}."),
        };
        ongoing |= !line.ends_with("completed successfully.");
        println!("{line}");
    }
    Ok(ongoing)
}

/// DescribeLogDirs for `tps` on one broker: (partition, log dir, is future).
async fn describe_on_broker(
    cluster: &Cluster,
    broker: i32,
    tps: &[TopicPartition],
) -> anyhow::Result<Vec<(TopicPartition, String, bool)>> {
    let Some(addr) = cluster.brokers.get(&broker) else {
        return Ok(Vec::new());
    };
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        topics.entry(&tp.topic).or_default().push(tp.partition);
    }
    let req = DescribeLogDirsRequest::default().with_topics(Some(
        topics
            .into_iter()
            .map(|(t, ps)| {
                DescribableLogDirTopic::default()
                    .with_topic(TopicName(sb(t)))
                    .with_partitions(ps)
            })
            .collect(),
    ));
    let resp = connect(addr)
        .await?
        .send(&req, 1)
        .await
        .with_context(|| format!("DescribeLogDirs to broker {broker} at {addr}"))?;
    let mut out = Vec::new();
    for r in resp.results.iter().filter(|r| r.error_code == errors::NONE) {
        for t in &r.topics {
            for p in &t.partitions {
                let tp = TopicPartition::new(t.name.0.as_str(), p.partition_index);
                out.push((tp, r.log_dir.to_string(), p.is_future_key));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_replicas_with_a_path_move_in_kafkas_order() {
        let text = r#"{"version":1,"partitions":[
            {"topic":"b","partition":0,"replicas":[2,1],"log_dirs":["/d/b","any"]},
            {"topic":"a","partition":1,"replicas":[2,1],"log_dirs":["/d/x","/d/y"]},
            {"topic":"a","partition":0,"replicas":[1]}]}"#;
        let moves = parse_replica_moves("f", text).unwrap();
        let keys: Vec<String> = moves.keys().map(replica_name).collect();
        assert_eq!(keys, ["a-1-1", "a-1-2", "b-0-2"]);
        assert_eq!(moves[&(1, TopicPartition::new("a", 1))], "/d/y");
    }
}
