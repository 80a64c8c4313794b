//! ListOffsets (KafkaApis.handleListOffsetRequest, Partition.fetchOffsetForTimestamp): the
//! earliest offset, the latest offset a requester may read, or the first offset at or after
//! a timestamp; v0 keeps its old "offsets before" answer.

use std::time::UNIX_EPOCH;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use crate::log::{util, Log, TopicPartition, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use crate::network::request::RequestContext;
use crate::replica::read::{requested_epoch, LeaderView};
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::KafkaApis;
use crate::server::errors;

/// Replica id of ordinary consumers; -2 is the debugging consumer (may read from followers).
const CONSUMER_REPLICA_ID: i32 = -1;
const DEBUGGING_REPLICA_ID: i32 = -2;
const READ_COMMITTED: i8 = 1;

pub fn handle(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &ListOffsetsRequest,
) -> ListOffsetsResponse {
    let version = ctx.api_version();
    let replica_id = req.replica_id.0;
    let snapshot = apis.metadata_cache.snapshot();
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let authorized =
                apis.authorize(ctx, AclOperation::Describe, ResourceType::Topic, &t.name);
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    if !authorized {
                        return ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(errors::TOPIC_AUTHORIZATION_FAILED);
                    }
                    let tp = TopicPartition::new(t.name.0.as_str(), p.partition_index);
                    let known = snapshot.partition(&tp.topic, tp.partition).is_some();
                    let epoch = if version >= 4 {
                        requested_epoch(p.current_leader_epoch)
                    } else {
                        None
                    };
                    let base = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    let view = if replica_id == DEBUGGING_REPLICA_ID {
                        any_replica_view(apis, &tp)
                    } else {
                        apis.replica_manager.leader_view(&tp, epoch, known)
                    };
                    let view = match view {
                        Ok(v) => v,
                        Err(code) => return base.with_error_code(code),
                    };
                    if version == 0 {
                        let offsets = offsets_before(
                            &view.log,
                            p.timestamp,
                            p.max_num_offsets,
                            replica_id == CONSUMER_REPLICA_ID,
                        );
                        return base.with_old_style_offsets(offsets);
                    }
                    let isolation =
                        (replica_id == CONSUMER_REPLICA_ID).then_some(req.isolation_level);
                    match offset_for_timestamp(&view, p.timestamp, isolation) {
                        Ok(Some((ts, offset, epoch))) => base
                            .with_timestamp(ts)
                            .with_offset(offset)
                            .with_leader_epoch(if version >= 4 { epoch } else { -1 }),
                        Ok(None) => base,
                        Err(code) => base.with_error_code(code),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// The debugging consumer (-2) may ask any replica, leader or not.
fn any_replica_view(apis: &KafkaApis, tp: &TopicPartition) -> Result<LeaderView, i16> {
    let partition = apis
        .replica_manager
        .get_partition(tp)
        .ok_or(errors::UNKNOWN_TOPIC_OR_PARTITION)?;
    let log = partition.log().ok_or(errors::NOT_LEADER_OR_FOLLOWER)?;
    let leader_epoch = partition.leader_epoch();
    Ok(LeaderView {
        partition,
        log,
        leader_epoch,
    })
}

/// Partition.fetchOffsetForTimestamp: (timestamp, offset, leader epoch), or None when no
/// record qualifies. Clients (`isolation` set) only see offsets below the high watermark
/// (read_committed: the last stable offset, which equals it without transactions); replicas
/// see the log end offset.
fn offset_for_timestamp(
    view: &LeaderView,
    timestamp: i64,
    isolation: Option<i8>,
) -> Result<Option<(i64, i64, i32)>, i16> {
    let log = &view.log;
    let last_fetchable = match isolation {
        Some(READ_COMMITTED) => log.last_stable_offset(),
        Some(_) => log.high_watermark(),
        None => log.log_end_offset(),
    };
    if timestamp == LATEST_TIMESTAMP {
        return Ok(Some((-1, last_fetchable, view.leader_epoch)));
    }
    let found = log
        .fetch_offset_by_timestamp(timestamp)
        .map_err(|e| e.error_code())?;
    Ok(found
        .filter(|t| timestamp == EARLIEST_TIMESTAMP || t.offset < last_fetchable)
        .map(|t| (t.timestamp, t.offset, t.leader_epoch.unwrap_or(-1))))
}

/// ListOffsets v0 (Log.legacyFetchOffsetsBefore): up to `max` offsets, newest first, taken from
/// segment base offsets (and the log end offset) whose segment was last modified at or
/// before `timestamp`. Consumers never see offsets above the high watermark.
fn offsets_before(log: &Log, timestamp: i64, max: i32, consumer: bool) -> Vec<i64> {
    let dir = log.dir();
    let lso = log.log_start_offset();
    let leo = log.log_end_offset();
    let now = util::now_ms();
    let mut points: Vec<(i64, i64)> = log
        .segment_base_offsets()
        .into_iter()
        .map(|base| {
            let mtime = std::fs::metadata(util::segment_path(&dir, base, ".log"))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            (base.max(lso), mtime)
        })
        .collect();
    let last_segment_has_data = points.last().is_some_and(|(base, _)| *base < leo);
    if last_segment_has_data {
        points.push((leo, now));
    }
    let start = match timestamp {
        LATEST_TIMESTAMP => points.len().checked_sub(1),
        EARLIEST_TIMESTAMP => (!points.is_empty()).then_some(0),
        ts => points.iter().rposition(|(_, mtime)| *mtime <= ts),
    };
    let Some(start) = start else {
        return Vec::new();
    };
    let mut offsets: Vec<i64> = points[..=start]
        .iter()
        .rev()
        .take(max.max(0) as usize)
        .map(|(o, _)| *o)
        .collect();
    if consumer {
        let hw = log.high_watermark();
        if offsets.iter().any(|o| *o > hw) {
            offsets.retain(|o| *o <= hw);
            offsets.insert(0, hw);
            offsets.dedup();
        }
    }
    offsets
}
