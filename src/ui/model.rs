//! The JSON model the page draws (`/api/cluster`): ZooKeeper's truth (registrations,
//! controller, each partition's assignment and leader/ISR/epoch state znode) joined with
//! every broker's own `/state` (each replica's log end offset and high watermark, segments,
//! the groups it coordinates). Topics and partitions come from ZooKeeper, so a partition
//! whose leader died still shows, with the replicas that are gone marked offline.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::discovery::BrokerInfo;
use crate::log::TopicPartition;
use crate::metrics::events::is_internal_topic;
use crate::zk::{paths, KafkaZkClient, ZkResult};

/// Each broker's `/state`, by broker id.
pub type BrokerStates = BTreeMap<i32, Value>;

/// The whole model; ZooKeeper errors end up in `error` rather than failing the page.
pub async fn build(
    zk: &KafkaZkClient,
    connect: &str,
    brokers: &[BrokerInfo],
    states: &BrokerStates,
) -> Value {
    let (ensemble, controller, topics) = futures::join!(
        super::zookeeper::ensemble(connect),
        super::zookeeper::controller(zk),
        topics(zk, states),
    );
    let (topics, error) = match topics {
        Ok(t) => (t, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let high_watermarks = leader_high_watermarks(&topics);
    json!({
        "time_ms": crate::controller::now_ms(),
        "zookeeper": {"connect": connect, "servers": ensemble},
        "controller": controller,
        "brokers": brokers.iter().map(|b| broker_json(b, states.get(&b.id()))).collect::<Vec<_>>(),
        "topics": topics,
        "groups": groups(states, &high_watermarks),
        "error": error,
    })
}

fn broker_json(b: &BrokerInfo, state: Option<&Value>) -> Value {
    let r = &b.registration;
    json!({
        "id": b.id(),
        "endpoints": r.broker.endpoints.iter().map(|e| e.connection_string()).collect::<Vec<_>>(),
        "rack": r.broker.rack,
        "broker_epoch": b.epoch,
        "registered_ms": r.timestamp_ms,
        "http": state.is_some(),
        "partitions": state.and_then(|s| s["partitions"].as_array()).map(Vec::len),
        "leaders": state.and_then(|s| s["partitions"].as_array())
            .map(|ps| ps.iter().filter(|p| p["role"] == "leader").count()),
    })
}

async fn topics(zk: &KafkaZkClient, states: &BrokerStates) -> ZkResult<Vec<Value>> {
    let mut names = zk.get_children(paths::BROKER_TOPICS).await?;
    names.sort();
    let assignments = futures::future::join_all(names.iter().map(|t| zk.get_topic_assignment(t)))
        .await
        .into_iter()
        .collect::<ZkResult<Vec<_>>>()?;
    let replicas_of = replica_index(states);
    let mut out = Vec::new();
    for (name, assignment) in names.iter().zip(assignments) {
        let Some(assignment) = assignment else {
            continue; // deleted between the two reads
        };
        let tps: Vec<TopicPartition> = assignment
            .partitions
            .keys()
            .map(|p| TopicPartition::new(name, *p))
            .collect();
        let zk_states = zk.get_partition_states(&tps).await?;
        let partitions: Vec<Value> = tps
            .iter()
            .zip(zk_states)
            .map(|(tp, st)| {
                let replicas = &assignment.partitions[&tp.partition];
                partition_json(tp, replicas, st.as_ref(), &replicas_of)
            })
            .collect();
        out.push(json!({
            "name": name,
            "internal": is_internal_topic(name),
            "partitions": partitions,
        }));
    }
    Ok(out)
}

/// (broker, topic, partition) → that broker's own view of its replica.
type ReplicaIndex<'a> = HashMap<(i32, &'a str, i64), &'a Value>;

fn replica_index(states: &BrokerStates) -> ReplicaIndex<'_> {
    let mut index = HashMap::new();
    for (broker, state) in states {
        for p in state["partitions"].as_array().into_iter().flatten() {
            if let (Some(topic), Some(partition)) = (p["topic"].as_str(), p["partition"].as_i64()) {
                index.insert((*broker, topic, partition), p);
            }
        }
    }
    index
}

fn partition_json(
    tp: &TopicPartition,
    replicas: &[i32],
    state: Option<&crate::zk::codec::PartitionState>,
    index: &ReplicaIndex<'_>,
) -> Value {
    let leader = state.map_or(-1, |s| s.leader);
    let isr = state.map(|s| s.isr.clone()).unwrap_or_default();
    let local = |id: i32| index.get(&(id, tp.topic.as_str(), i64::from(tp.partition)));
    let replica_states: Vec<Value> = replicas
        .iter()
        .map(|id| {
            let own = local(*id);
            json!({
                "id": id,
                "online": own.is_some(),
                "in_isr": isr.contains(id),
                "is_leader": *id == leader,
                "log_end_offset": own.map(|p| p["log_end_offset"].clone()),
                "high_watermark": own.map(|p| p["high_watermark"].clone()),
                "log_start_offset": own.map(|p| p["log_start_offset"].clone()),
                "segments": own.map(|p| p["segments"].clone()),
                "size_bytes": own.map(|p| p["size_bytes"].clone()),
            })
        })
        .collect();
    let on_leader = local(leader);
    json!({
        "partition": tp.partition,
        "replicas": replicas,
        "leader": leader,
        "isr": isr,
        "leader_epoch": state.map(|s| s.leader_epoch),
        "controller_epoch": state.map(|s| s.controller_epoch),
        "zk_version": state.map(|s| s.zk_version),
        "high_watermark": on_leader.map(|p| p["high_watermark"].clone()),
        "log_end_offset": on_leader.map(|p| p["log_end_offset"].clone()),
        "segments": on_leader.map(|p| p["segments"].clone()),
        "replica_states": replica_states,
    })
}

/// (topic, partition) → the high watermark its leader reports.
fn leader_high_watermarks(topics: &[Value]) -> HashMap<(String, i64), i64> {
    let mut out = HashMap::new();
    for t in topics {
        let name = t["name"].as_str().unwrap_or_default();
        for p in t["partitions"].as_array().into_iter().flatten() {
            if let (Some(partition), Some(hw)) =
                (p["partition"].as_i64(), p["high_watermark"].as_i64())
            {
                out.insert((name.to_string(), partition), hw);
            }
        }
    }
    out
}

/// The groups from their coordinators' `/state`, with each committed offset's lag against
/// the partition leader's high watermark (the consumer-groups tool's LAG column).
fn groups(states: &BrokerStates, hws: &HashMap<(String, i64), i64>) -> Vec<Value> {
    let mut by_name: BTreeMap<String, Value> = BTreeMap::new();
    for (broker, state) in states {
        for g in state["groups"].as_array().into_iter().flatten() {
            let Some(name) = g["group"].as_str() else {
                continue;
            };
            // After a coordinator moved, the old one may still list the group as Dead.
            if g["state"] == "Dead" && by_name.contains_key(name) {
                continue;
            }
            let mut g = g.clone();
            g["coordinator"] = json!(broker);
            for o in g["offsets"].as_array_mut().into_iter().flatten() {
                let key = (
                    o["topic"].as_str().unwrap_or_default().to_string(),
                    o["partition"].as_i64().unwrap_or(-1),
                );
                if let (Some(hw), Some(offset)) = (hws.get(&key), o["offset"].as_i64()) {
                    o["high_watermark"] = json!(hw);
                    o["lag"] = json!((hw - offset).max(0));
                }
            }
            by_name.insert(name.to_string(), g);
        }
    }
    by_name.into_values().collect()
}
