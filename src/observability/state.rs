//! `/state`: this broker's view as JSON — what a student otherwise digs out of checkpoint
//! files and scattered log lines: each hosted partition with its role, leader epoch, ISR,
//! high watermark against every replica's log end offset, and segments; the controller; the
//! groups this broker coordinates with members, assignments and committed offsets.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::Sources;
use crate::controller::now_ms;
use crate::log::TopicPartition;

/// One follower as its leader sees it.
pub(super) struct FollowerView {
    pub id: i32,
    pub log_end_offset: i64,
    pub last_caught_up_ms_ago: i64,
}

/// One hosted partition, read under its lock once.
pub(super) struct PartitionView {
    pub tp: TopicPartition,
    pub is_leader: bool,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub min_isr: usize,
    pub log: Option<LogView>,
    pub followers: Vec<FollowerView>,
}

pub(super) struct LogView {
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
    pub size: u64,
    pub segments: Vec<i64>,
}

/// Every hosted partition, sorted by topic and partition.
pub(super) fn partition_views(s: &Sources) -> Vec<PartitionView> {
    let now = now_ms();
    let mut views: Vec<PartitionView> = s
        .replica_manager
        .all_partitions()
        .iter()
        .map(|p| {
            let inner = p.lock();
            let log = inner.log.as_ref().map(|l| LogView {
                log_start_offset: l.log_start_offset(),
                log_end_offset: l.log_end_offset(),
                high_watermark: l.high_watermark(),
                size: l.size(),
                segments: l.segment_base_offsets(),
            });
            PartitionView {
                tp: p.tp.clone(),
                is_leader: inner.state.leader == p.local_broker_id,
                leader: inner.state.leader,
                leader_epoch: inner.state.leader_epoch,
                replicas: inner.state.replicas.clone(),
                isr: inner.state.isr.clone(),
                min_isr: inner
                    .log
                    .as_ref()
                    .map_or(1, |l| l.config().min_insync_replicas as usize),
                log,
                followers: inner
                    .followers
                    .iter()
                    .map(|(id, f)| FollowerView {
                        id: *id,
                        log_end_offset: f.log_end_offset,
                        last_caught_up_ms_ago: now - f.last_caught_up_time_ms,
                    })
                    .collect(),
            }
        })
        .collect();
    views.sort_by(|a, b| (&a.tp.topic, a.tp.partition).cmp(&(&b.tp.topic, b.tp.partition)));
    views
}

pub(super) async fn handler(State(s): State<Sources>) -> Response {
    super::json(snapshot(&s))
}

fn snapshot(s: &Sources) -> Value {
    let broker_id = s.state.broker_id;
    let controller_id = s.active_controller_id.load(Ordering::SeqCst);
    let fetching: BTreeMap<TopicPartition, (i32, i64, i64)> = s
        .replica_manager
        .fetcher_manager
        .lags()
        .into_iter()
        .map(|(tp, leader, offset, lag)| (tp, (leader, offset, lag)))
        .collect();
    let partitions: Vec<Value> = partition_views(s)
        .iter()
        .map(|p| partition_json(p, fetching.get(&p.tp)))
        .collect();
    json!({
        "broker": broker_id,
        "cluster_id": s.state.cluster_id,
        "broker_epoch": s.state.broker_epoch(),
        "time_ms": now_ms(),
        // The ui says when a silent broker's registration will vanish.
        "zookeeper_session_timeout_ms": s.replica_manager.dynamic_config.static_config().zookeeper_session_timeout_ms,
        "controller": {
            "id": controller_id,
            "is_this_broker": controller_id == broker_id,
            "epoch": s.state.controller_epoch.load(Ordering::SeqCst),
        },
        "partitions": partitions,
        "groups": groups_json(s),
    })
}

fn partition_json(p: &PartitionView, fetch: Option<&(i32, i64, i64)>) -> Value {
    let role = if p.is_leader {
        "leader"
    } else if p.replicas.contains(&p.leader) {
        "follower"
    } else {
        "offline"
    };
    let hw = p.log.as_ref().map_or(-1, |l| l.high_watermark);
    let leo = p.log.as_ref().map_or(-1, |l| l.log_end_offset);
    let followers: Vec<Value> = p
        .followers
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "in_isr": p.isr.contains(&f.id),
                "log_end_offset": f.log_end_offset,
                "lag": if f.log_end_offset < 0 { Value::Null } else { json!((leo - f.log_end_offset).max(0)) },
                "last_caught_up_ms_ago": f.last_caught_up_ms_ago,
            })
        })
        .collect();
    json!({
        "topic": p.tp.topic,
        "partition": p.tp.partition,
        "internal": crate::metrics::events::is_internal_topic(&p.tp.topic),
        "role": role,
        "leader": p.leader,
        "leader_epoch": p.leader_epoch,
        "replicas": p.replicas,
        "isr": p.isr,
        "high_watermark": hw,
        "log_end_offset": leo,
        "log_start_offset": p.log.as_ref().map_or(-1, |l| l.log_start_offset),
        "size_bytes": p.log.as_ref().map_or(0, |l| l.size),
        "segments": p.log.as_ref().map(|l| l.segments.clone()).unwrap_or_default(),
        "followers": followers,
        "fetcher": fetch.map(|(leader, offset, lag)| json!({
            "leader": leader, "fetch_offset": offset, "lag": lag,
        })),
    })
}

/// The groups this broker coordinates, with committed offsets and their lag against the
/// high watermark where this broker hosts the partition.
fn groups_json(s: &Sources) -> Vec<Value> {
    let mut groups: Vec<Value> = s
        .group_coordinator
        .manager
        .all_groups()
        .iter()
        .map(|g| {
            let g = g.lock().expect("group lock");
            let members: Vec<Value> = g
                .members
                .values()
                .map(|m| {
                    json!({
                        "member_id": m.member_id,
                        "group_instance_id": m.group_instance_id,
                        "client_id": m.client_id,
                        "client_host": m.client_host,
                        "assignment": crate::admin::group_client::parse_assignment(&m.assignment),
                    })
                })
                .collect();
            let mut offsets: Vec<Value> = g
                .offsets
                .iter()
                .map(|((topic, partition), o)| {
                    let hw = local_high_watermark(s, topic, *partition);
                    json!({
                        "topic": topic,
                        "partition": partition,
                        "offset": o.offset,
                        "high_watermark": hw,
                        "lag": hw.map(|hw| (hw - o.offset).max(0)),
                    })
                })
                .collect();
            offsets.sort_by_key(|o| (o["topic"].to_string(), o["partition"].as_i64()));
            json!({
                "group": g.group_id,
                "coordinator_partition": g.partition,
                "state": g.state.name(),
                "protocol_type": g.protocol_type,
                "protocol": g.protocol_name,
                "generation": g.generation_id,
                "leader": g.leader_id,
                "members": members,
                "offsets": offsets,
            })
        })
        .collect();
    groups.sort_by_key(|g| g["group"].to_string());
    groups
}

/// A partition's high watermark if this broker hosts a replica of it.
pub(super) fn local_high_watermark(s: &Sources, topic: &str, partition: i32) -> Option<i64> {
    s.replica_manager
        .log_manager
        .get_log(&TopicPartition::new(topic, partition))
        .map(|l| l.high_watermark())
}
