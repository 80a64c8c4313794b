//! DeleteRecords (KafkaApis.handleDeleteRecordsRequest, ReplicaManager.deleteRecords,
//! DelayedDeleteRecords): each partition's leader moves its log start offset, then the request
//! waits until the low watermark (min log start offset over the live replicas) reaches the
//! requested offset on every partition, or its timeout passes (REQUEST_TIMED_OUT). It needs
//! DELETE on each topic.

use std::time::Duration;

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use crate::log::TopicPartition;
use crate::network::request::RequestContext;
use crate::replica::purgatory::wait_until_complete;
use crate::replica::ReplicaManager;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::KafkaApis;
use crate::server::errors;

/// Upper bound on how long a DeleteRecords request may wait, whatever its timeout says.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// One partition's state while the request runs.
struct Status {
    tp: TopicPartition,
    /// The offset the low watermark must reach; None once answered with an error.
    required: Option<i64>,
    low_watermark: i64,
    error_code: i16,
}

pub async fn handle(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let rm = &apis.replica_manager;
    let mut statuses: Vec<Status> = req
        .topics
        .iter()
        .flat_map(|t| {
            let authorized =
                apis.authorize(ctx, AclOperation::Delete, ResourceType::Topic, &t.name);
            t.partitions.iter().map(move |p| {
                let tp = TopicPartition::new(t.name.0.as_str(), p.partition_index);
                if authorized {
                    delete_on_leader(apis, tp, p.offset)
                } else {
                    failed(tp, errors::TOPIC_AUTHORIZATION_FAILED)
                }
            })
        })
        .collect();
    if statuses.iter().any(|s| s.required.is_some()) {
        persist_log_start_offsets(rm).await;
        let timeout = Duration::from_millis(req.timeout_ms.max(0) as u64).min(MAX_WAIT);
        wait_for_low_watermarks(apis, &mut statuses, timeout).await;
    }
    respond(req, statuses)
}

/// Moves one partition's log start offset on this broker, its leader.
fn delete_on_leader(apis: &KafkaApis, tp: TopicPartition, offset: i64) -> Status {
    let rm = &apis.replica_manager;
    let alive = apis.metadata_cache.snapshot();
    let outcome = rm.leader_partition(&tp).and_then(|p| {
        let required = p.delete_records_on_leader(offset)?;
        Ok((required, p.low_watermark_if_leader(&alive.brokers)?))
    });
    match outcome {
        Ok((required, low)) => {
            tracing::info!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Deleted records of {tp} before offset {required} (ClientRecordDeletion); low watermark is {low}", rm.broker_id());
            Status {
                tp,
                required: Some(required),
                low_watermark: low,
                error_code: errors::NONE,
            }
        }
        Err(code) => failed(tp, code),
    }
}

/// A partition answered with an error at once (INVALID_LOW_WATERMARK).
fn failed(tp: TopicPartition, error_code: i16) -> Status {
    Status {
        tp,
        required: None,
        low_watermark: -1,
        error_code,
    }
}

/// Writes `log-start-offset-checkpoint` now rather than within
/// `log.flush.start.offset.checkpoint.interval.ms`: a crash right after the answer must not
/// bring deleted records back.
async fn persist_log_start_offsets(rm: &std::sync::Arc<ReplicaManager>) {
    let lm = rm.log_manager.clone();
    let _ = tokio::task::spawn_blocking(move || lm.checkpoint_log_start_offsets()).await;
}

/// DelayedDeleteRecords: completes each partition once its low watermark reached the
/// required offset, or with the error that ended its leadership; the rest time out.
async fn wait_for_low_watermarks(apis: &KafkaApis, statuses: &mut [Status], timeout: Duration) {
    let rm = &apis.replica_manager;
    let pending: Vec<usize> = (0..statuses.len())
        .filter(|i| statuses[*i].required.is_some())
        .collect();
    let waker = rm
        .delete_records_purgatory
        .watch(pending.iter().map(|i| &statuses[*i].tp));
    wait_until_complete(
        &waker,
        timeout,
        || {
            let alive = apis.metadata_cache.snapshot();
            for &i in &pending {
                let s = &mut statuses[i];
                let Some(required) = s.required else { continue };
                let low = rm
                    .leader_partition(&s.tp)
                    .and_then(|p| p.low_watermark_if_leader(&alive.brokers));
                match low {
                    Ok(low) => {
                        s.low_watermark = low;
                        if low >= required {
                            s.required = None;
                        }
                    }
                    Err(code) => {
                        s.error_code = code;
                        s.low_watermark = -1;
                        s.required = None;
                    }
                }
            }
            statuses.iter().all(|s| s.required.is_none()).then_some(())
        },
        || (),
    )
    .await;
    for s in statuses.iter_mut().filter(|s| s.required.is_some()) {
        s.error_code = errors::REQUEST_TIMED_OUT;
    }
}

/// Groups the results back under their topics, in request order.
fn respond(req: &DeleteRecordsRequest, statuses: Vec<Status>) -> DeleteRecordsResponse {
    let mut statuses = statuses.into_iter();
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .filter_map(|_| statuses.next())
                .map(|s| {
                    DeleteRecordsPartitionResult::default()
                        .with_partition_index(s.tp.partition)
                        .with_low_watermark(s.low_watermark)
                        .with_error_code(s.error_code)
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
