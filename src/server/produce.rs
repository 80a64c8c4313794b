//! Produce (KafkaApis.handleProduceRequest, ReplicaManager.appendRecords, DelayedProduce):
//! per-partition validation, leader appends, and the acks=all wait for the high watermark.
//!
//! Magic-2 batches go to the log as the client sent them, after the log's validator has read
//! every record (log/validator.rs); a refused batch is answered with Kafka's error code and,
//! from Produce v8 on, `error_message` and per-record `record_errors`. Legacy message sets
//! (magic 0/1, from produce v0–v2 clients) are converted to v2 first, as Kafka 2.8 does with
//! its default `log.message.format.version`.

use std::borrow::Cow;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};

use crate::log::batch::{be_i32, ATTRIBUTES_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET};
use crate::log::validator::RecordError;
use crate::log::{LogError, TopicPartition};
use crate::logging::{escape, RateLimit, Suppressed};
use crate::network::request::RequestContext;
use crate::record::legacy;
use crate::replica::partition::AppendError;
use crate::replica::purgatory::wait_until_complete;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::{Handled, KafkaApis};
use crate::server::{client_quotas, errors};

/// Refused produce input is logged at WARN at most once per 10 s (every refusal at DEBUG):
/// a misbehaving producer must not flood the log.
static REFUSED_APPEND: RateLimit = RateLimit::new(10_000);

/// Upper bound on how long an acks=all request may wait, whatever its timeout says.
const MAX_PRODUCE_WAIT: Duration = Duration::from_secs(300);

/// One partition's outcome, in request order.
struct PartitionResult {
    index: i32,
    error_code: i16,
    base_offset: i64,
    log_append_time: i64,
    log_start_offset: i64,
    /// acks=all: the offset the high watermark must reach (last appended offset + 1).
    required_offset: Option<i64>,
    /// Why the batch was refused (Produce v8 `error_message`).
    error_message: Option<String>,
    /// The records the validator refused (Produce v8 `record_errors`).
    record_errors: Vec<RecordError>,
}

impl PartitionResult {
    fn error(index: i32, error_code: i16) -> PartitionResult {
        PartitionResult {
            index,
            error_code,
            base_offset: -1,
            log_append_time: -1,
            log_start_offset: -1,
            required_offset: None,
            error_message: None,
            record_errors: Vec::new(),
        }
    }

    /// A refused append, with the explanation the log gave.
    fn refused(index: i32, e: LogError) -> PartitionResult {
        let mut r = PartitionResult::error(index, e.error_code());
        r.error_message = Some(e.to_string());
        if let LogError::RecordsRejected { record_errors, .. } = e {
            r.record_errors = record_errors;
        }
        r
    }
}

pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: ProduceRequest) -> Handled {
    let acks = req.acks;
    let mut topics: TopicResults = Vec::with_capacity(req.topic_data.len());
    let valid_acks = matches!(acks, -1..=1);
    // A transactional producer needs WRITE on its transactional id, else every partition
    // fails; then WRITE on each topic (KafkaApis.handleProduceRequest).
    let txn_denied = req.transactional_id.as_ref().is_some_and(|id| {
        !apis.authorize(ctx, AclOperation::Write, ResourceType::TransactionalId, id)
    });
    for topic in req.topic_data {
        let name = topic.name.0.to_string();
        let denied = if txn_denied {
            Some(errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        } else if !apis.authorize(ctx, AclOperation::Write, ResourceType::Topic, &name) {
            Some(errors::TOPIC_AUTHORIZATION_FAILED)
        } else {
            None
        };
        let results = topic
            .partition_data
            .into_iter()
            .map(|p| {
                if let Some(code) = denied {
                    return PartitionResult::error(p.index, code);
                }
                if !valid_acks {
                    return PartitionResult::error(p.index, errors::INVALID_REQUIRED_ACKS);
                }
                let tp = TopicPartition::new(name.as_str(), p.index);
                append_partition(apis, ctx, &tp, acks, p.records.unwrap_or_default())
            })
            .collect();
        topics.push((topic.name, results));
    }
    // The data is appended whatever the quota says; only the answer carries the throttle.
    let throttle_ms = client_quotas::record(&apis.quotas.produce, ctx, ctx.size as f64);
    let throttle_field = if ctx.api_version() >= 1 {
        client_quotas::as_response_ms(throttle_ms)
    } else {
        0 // v0 has no field: the muted connection alone slows the client down
    };
    let handled = respond_after_appends(apis, acks, req.timeout_ms, topics, throttle_field);
    if throttle_ms == 0 || matches!(handled, Handled::Close(_)) {
        return handled;
    }
    Handled::Throttled {
        throttle_ms,
        response: Box::new(handled),
    }
}

fn respond_after_appends(
    apis: &KafkaApis,
    acks: i16,
    timeout_ms: i32,
    mut topics: TopicResults,
    throttle_time_ms: i32,
) -> Handled {
    if acks == -1 {
        let rm = apis.replica_manager.clone();
        return Handled::Deferred(Box::pin(async move {
            await_replication(&rm, &mut topics, timeout_ms).await;
            respond(topics, throttle_time_ms)
        }));
    }
    if acks == 0 {
        // Kafka sends nothing for acks=0; when something failed it closes the connection so
        // the client learns of it (and refreshes its metadata) rather than losing data silently.
        let failed = topics
            .iter()
            .flat_map(|(_, ps)| ps.iter())
            .find(|p| p.error_code != errors::NONE);
        return match failed {
            Some(p) => Handled::Close(format!(
                "acks=0 produce failed with {} for partition {}",
                errors::name(p.error_code),
                p.index
            )),
            None => Handled::NoResponse,
        };
    }
    respond(topics, throttle_time_ms)
}

type TopicResults = Vec<(kafka_protocol::messages::TopicName, Vec<PartitionResult>)>;

fn respond(topics: TopicResults, throttle_time_ms: i32) -> Handled {
    let responses = topics
        .into_iter()
        .map(|(name, ps)| {
            let partition_responses = ps
                .into_iter()
                .map(|p| {
                    let record_errors = p
                        .record_errors
                        .into_iter()
                        .map(|e| {
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(e.batch_index)
                                .with_batch_index_error_message(Some(e.message.into()))
                        })
                        .collect();
                    PartitionProduceResponse::default()
                        .with_index(p.index)
                        .with_error_code(p.error_code)
                        .with_base_offset(p.base_offset)
                        .with_log_append_time_ms(p.log_append_time)
                        .with_log_start_offset(p.log_start_offset)
                        .with_record_errors(record_errors)
                        .with_error_message(p.error_message.map(Into::into))
                })
                .collect();
            TopicProduceResponse::default()
                .with_name(name)
                .with_partition_responses(partition_responses)
        })
        .collect();
    let body = ProduceResponse::default()
        .with_responses(responses)
        .with_throttle_time_ms(throttle_time_ms);
    Handled::Respond(Box::new(ResponseKind::Produce(body).into()))
}

/// Validates, converts if needed, and appends one partition's records as leader.
fn append_partition(
    apis: &KafkaApis,
    ctx: &RequestContext,
    tp: &TopicPartition,
    acks: i16,
    records: Bytes,
) -> PartitionResult {
    let version = ctx.api_version();
    let rm = &apis.replica_manager;
    let known = apis
        .metadata_cache
        .snapshot()
        .partition(&tp.topic, tp.partition)
        .is_some();
    let view = match rm.leader_view(tp, None, known) {
        Ok(v) => v,
        Err(code) => return PartitionResult::error(tp.partition, code),
    };
    let records = match prepare_records(version, &records, &view.log.config()) {
        Ok(r) => r,
        Err((code, why)) => {
            log_refused(ctx, tp, rm.broker_id(), code, &why);
            let mut r = PartitionResult::error(tp.partition, code);
            r.error_message = Some(why);
            return r;
        }
    };
    match view.partition.append_records_to_leader(&records, acks) {
        Ok(info) => {
            // Appends wake long-poll fetches; a moved high watermark may complete acks=all.
            rm.complete_delayed_requests(tp);
            crate::metrics::METRICS.produce_appended(records.len(), info.num_messages);
            PartitionResult {
                index: tp.partition,
                error_code: errors::NONE,
                base_offset: info.first_offset,
                log_append_time: info.log_append_time,
                log_start_offset: info.log_start_offset,
                required_offset: (info.last_offset >= 0).then_some(info.last_offset + 1),
                error_message: None,
                record_errors: Vec::new(),
            }
        }
        Err(AppendError::Partition(code)) => {
            crate::metrics::METRICS.produce_failed();
            tracing::debug!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Error processing append operation on partition {tp}: {}", rm.broker_id(), errors::name(code));
            PartitionResult::error(tp.partition, code)
        }
        Err(AppendError::Log(e)) => {
            crate::metrics::METRICS.produce_failed();
            log_refused(ctx, tp, rm.broker_id(), e.error_code(), &e);
            PartitionResult::refused(tp.partition, e)
        }
    }
}

/// One line per refused append; the topic and client id are the client's strings, escaped.
fn log_refused(
    ctx: &RequestContext,
    tp: &TopicPartition,
    broker: i32,
    code: i16,
    why: &dyn std::fmt::Display,
) {
    let (topic, client) = (escape(&tp.topic), escape(ctx.client_id()));
    let peer = &ctx.conn.peer;
    tracing::debug!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={broker}] Error processing append operation on partition {topic}-{} from client {client} at {peer}: error {code}: {why}", tp.partition);
    if let Some(n) = REFUSED_APPEND.allow() {
        tracing::warn!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={broker}] Refused produce to partition {topic}-{} from client {client} at {peer}: error {code}: {why}{}", tp.partition, Suppressed(n));
    }
}

/// ProduceRequest.validateRecords plus legacy conversion. From v3 on a request carries
/// exactly one magic-2 batch; older requests carry message sets of one magic, which are
/// converted to v2 batches here.
fn prepare_records<'a>(
    version: i16,
    records: &'a Bytes,
    config: &crate::log::LogConfig,
) -> Result<Cow<'a, [u8]>, (i16, String)> {
    let buf: &[u8] = records;
    let mut pos = 0usize;
    let mut count = 0usize;
    let mut magic: Option<i8> = None;
    // Walks the framing like Kafka's ByteBufferLogInputStream: a trailing partial entry is
    // ignored, a size below the smallest legal message is corrupt.
    while buf.len() - pos >= LOG_OVERHEAD {
        let len = be_i32(buf, pos + LENGTH_OFFSET);
        if len < 14 {
            return Err((
                errors::CORRUPT_MESSAGE,
                format!("record size {len} is less than the minimum record overhead (14)"),
            ));
        }
        let size = LOG_OVERHEAD + len as usize;
        if size > buf.len() - pos {
            break;
        }
        let m = buf[pos + MAGIC_OFFSET] as i8;
        if magic.is_some_and(|prev| prev != m) {
            return Err((
                errors::INVALID_RECORD,
                "all batches of a produce request must have the same magic".into(),
            ));
        }
        magic = Some(m);
        count += 1;
        pos += size;
    }
    if version >= 3 {
        if count != 1 {
            return Err((
                errors::INVALID_RECORD,
                format!("produce requests with version {version} must contain exactly one record batch, got {count}"),
            ));
        }
        if magic != Some(2) {
            return Err((
                errors::INVALID_RECORD,
                format!("produce requests with version {version} are only allowed to contain record batches with magic version 2"),
            ));
        }
    }
    // zstd arrived with produce v7 (KIP-110); older requests may not use it.
    let zstd = |at: usize| {
        buf.get(at + ATTRIBUTES_OFFSET + 1)
            .is_some_and(|a| a & 0x07 == 4)
    };
    if version < 7 && magic == Some(2) && zstd(0) {
        return Err((
            errors::UNSUPPORTED_COMPRESSION_TYPE,
            format!("produce requests with version {version} may not use zstd compression"),
        ));
    }
    match magic {
        Some(0) | Some(1) => legacy::convert_to_v2(&buf[..pos], config)
            .map(Cow::Owned)
            .map_err(|e| (e.error_code(), e.to_string())),
        _ => Ok(Cow::Borrowed(buf)),
    }
}

/// DelayedProduce: waits until every appended partition's high watermark reaches its last
/// offset + 1 (or fails), or the request's timeout passes (REQUEST_TIMED_OUT).
async fn await_replication(
    rm: &crate::replica::ReplicaManager,
    topics: &mut [(kafka_protocol::messages::TopicName, Vec<PartitionResult>)],
    timeout_ms: i32,
) {
    let mut pending = Vec::new();
    for (ti, (name, ps)) in topics.iter().enumerate() {
        for (pi, p) in ps.iter().enumerate() {
            if let (Some(required), errors::NONE) = (p.required_offset, p.error_code) {
                let tp = TopicPartition::new(name.0.as_str(), p.index);
                pending.push((ti, pi, tp, required));
            }
        }
    }
    if pending.is_empty() {
        return;
    }
    let waker = rm
        .produce_purgatory
        .watch(pending.iter().map(|(_, _, tp, _)| tp));
    let timeout = Duration::from_millis(timeout_ms.max(0) as u64).min(MAX_PRODUCE_WAIT);
    let mut outcome: Vec<Option<i16>> = vec![None; pending.len()];
    wait_until_complete(
        &waker,
        timeout,
        || {
            for (i, (_, _, tp, required)) in pending.iter().enumerate() {
                if outcome[i].is_some() {
                    continue;
                }
                outcome[i] = match rm.get_partition(tp) {
                    None if rm.is_partition_offline(tp) => Some(errors::KAFKA_STORAGE_ERROR),
                    None => Some(errors::NOT_LEADER_OR_FOLLOWER),
                    Some(p) => p
                        .check_enough_replicas_reached(*required)
                        .map(|r| r.err().unwrap_or(errors::NONE)),
                };
            }
            outcome.iter().all(Option::is_some).then_some(())
        },
        || (),
    )
    .await;
    for ((ti, pi, _, _), code) in pending.iter().zip(outcome) {
        topics[*ti].1[*pi].error_code = code.unwrap_or(errors::REQUEST_TIMED_OUT);
    }
}
