//! DescribeLogDirs (ReplicaManager.describeLogDirs) and DescribeCluster
//! (KafkaApis.handleDescribeCluster): what an operator asks of a broker's disks and of the
//! cluster. Both only read state this broker already holds.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, DescribeLogDirsRequest,
    DescribeLogDirsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::log::{Log, LogManager, TopicPartition};
use crate::network::request::RequestContext;
use crate::security::authorizer::AclOperation;
use crate::server::apis::KafkaApis;
use crate::server::errors;

/// Kafka's `DescribeLogDirsResponse.INVALID_OFFSET_LAG`.
const INVALID_OFFSET_LAG: i64 = -1;

/// One replica's entry: a current log, or a `-future` log an AlterReplicaLogDirs is filling.
struct LogDirEntry {
    tp: TopicPartition,
    log: Arc<Log>,
    dir: PathBuf,
    is_future: bool,
}

fn log_dir_entries(lm: &LogManager) -> Vec<LogDirEntry> {
    let current = lm.all_logs_with_dirs().into_iter().map(|e| (e, false));
    let future = lm
        .all_future_logs_with_dirs()
        .into_iter()
        .map(|e| (e, true));
    current
        .chain(future)
        .map(|((tp, log, dir), is_future)| LogDirEntry {
            tp,
            log,
            dir,
            is_future,
        })
        .collect()
}

pub fn describe_log_dirs(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    // Without DESCRIBE on the cluster Kafka answers an empty result list.
    if !apis.authorize_cluster(ctx, AclOperation::Describe) {
        return DescribeLogDirsResponse::default();
    }
    let lm = &apis.replica_manager.log_manager;
    let wanted: Option<HashSet<TopicPartition>> = req.topics.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(move |p| TopicPartition::new(t.topic.0.as_str(), *p))
            })
            .collect()
    });
    let live = lm.live_log_dirs();
    let entries = log_dir_entries(lm);
    let results = lm
        .log_dirs()
        .iter()
        .map(|dir| {
            if !live.contains(dir) {
                return dir_result(dir, errors::KAFKA_STORAGE_ERROR, Vec::new());
            }
            let mut by_topic: BTreeMap<&str, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
            for e in entries.iter().filter(|e| &e.dir == dir) {
                if wanted.as_ref().is_some_and(|w| !w.contains(&e.tp)) {
                    continue;
                }
                by_topic
                    .entry(e.tp.topic.as_str())
                    .or_default()
                    .push(describe_partition(apis, e));
            }
            let topics = by_topic
                .into_iter()
                .map(|(t, partitions)| {
                    DescribeLogDirsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(t.to_string())))
                        .with_partitions(partitions)
                })
                .collect();
            dir_result(dir, errors::NONE, topics)
        })
        .collect();
    DescribeLogDirsResponse::default().with_results(results)
}

fn dir_result(dir: &Path, code: i16, topics: Vec<DescribeLogDirsTopic>) -> DescribeLogDirsResult {
    let path = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    DescribeLogDirsResult::default()
        .with_error_code(code)
        .with_log_dir(StrBytes::from_string(path.display().to_string()))
        .with_topics(topics)
        .with_total_bytes(-1)
        .with_usable_bytes(-1)
}

/// Size and offset lag (ReplicaManager.getLogEndOffsetLag): behind the high watermark for a
/// current replica, behind the current log's end for a future one.
fn describe_partition(apis: &KafkaApis, e: &LogDirEntry) -> DescribeLogDirsPartition {
    let leo = e.log.log_end_offset();
    let lag = match apis.replica_manager.log_manager.get_log(&e.tp) {
        Some(current) if e.is_future => current.log_end_offset() - leo,
        Some(current) => (current.high_watermark() - leo).max(0),
        None => INVALID_OFFSET_LAG,
    };
    DescribeLogDirsPartition::default()
        .with_partition_index(e.tp.partition)
        .with_partition_size(e.log.size() as i64)
        .with_offset_lag(lag)
        .with_is_future_key(e.is_future)
}

/// DescribeCluster v0: the live brokers with an endpoint on the listener the request came in on.
pub fn describe_cluster(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &DescribeClusterRequest,
) -> DescribeClusterResponse {
    let snapshot = apis.metadata_cache.snapshot();
    let listener = &ctx.conn.listener_name;
    let brokers = snapshot
        .brokers
        .values()
        .filter_map(|b| {
            let ep = b.endpoint(listener)?;
            Some(
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(b.id))
                    .with_host(StrBytes::from_string(ep.host.clone()))
                    .with_port(ep.port as i32)
                    .with_rack(b.rack.clone().map(StrBytes::from_string)),
            )
        })
        .collect();
    let ops = if req.include_cluster_authorized_operations {
        apis.cluster_authorized_operations(ctx)
    } else {
        i32::MIN
    };
    DescribeClusterResponse::default()
        .with_cluster_id(StrBytes::from_string(apis.state.cluster_id.clone()))
        .with_controller_id(BrokerId(snapshot.controller_id.unwrap_or(-1)))
        .with_brokers(brokers)
        .with_cluster_authorized_operations(ops)
}
