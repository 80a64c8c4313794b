//! Fetch (KafkaApis.handleFetchRequest, ReplicaManager.fetchMessages/readFromLocalLog,
//! DelayedFetch) for consumers and followers.
//!
//! * Consumers (replica id -1) read up to the high watermark, followers up to the log end
//!   offset; a follower's fetch also tells the leader how far it got
//!   (`Partition::update_follower_fetch_state`), which can move the high watermark.
//! * Long poll: the answer goes out once `min_bytes` are readable, on an error, or when
//!   `max_wait_ms` runs out; appends and high-watermark moves wake the waiting fetch.
//! * Fetch sessions (KIP-227, fetch_session.rs): a full fetch with epoch 0 opens a session
//!   when the cache has room; its incremental fetches read every partition of the session and
//!   answer only those that changed. Epoch -1 (what librdkafka and most clients send) is a
//!   sessionless full fetch. A follower session whose last answer listed nothing is quiet
//!   while no partition changes (`change_count`): its fetches wait for any change without
//!   reading or watching its partitions, so an idle broker's fetch work does not grow with
//!   the partitions it leads (the followers' fetch states catch up through the session
//!   clock, partition.rs `catch_up_with_clock`).
//! * Records are returned exactly as stored (see fetch_response.rs).
//! * Quotas: a consumer over its byte-rate or request quota gets an empty response with the
//!   larger throttle time; the time spent waiting for data is not request time.

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::FetchRequest;

use super::fetch_response::{self, FetchedPartition, FetchedTopic};
use super::fetch_session::{FetchContext, PartitionData};
use crate::log::{FileSlice, LogError, TopicPartition};
use crate::network::fetch_metadata::{FetchMetadata, FINAL_EPOCH, INVALID_SESSION_ID};
use crate::network::request::RequestContext;
use crate::replica::purgatory::wait_until_complete;
use crate::replica::read::requested_epoch;
use crate::replica::Partition;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::{Handled, KafkaApis};
use crate::server::{client_quotas, errors, request_quota};

const READ_COMMITTED: i8 = 1;

/// One partition to read.
struct PartitionFetch {
    tp: TopicPartition,
    data: PartitionData,
    /// READ on the topic (consumers) or CLUSTER_ACTION on the cluster (followers).
    authorized: bool,
}

/// What the whole request asks for.
struct FetchParams {
    replica_id: i32,
    max_bytes: usize,
    /// v0–v2 had no response-wide limit and never returned an oversized first batch.
    hard_max_bytes_limit: bool,
    read_committed: bool,
}

impl FetchParams {
    fn is_from_follower(&self) -> bool {
        self.replica_id >= 0
    }
}

pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: FetchRequest) -> Handled {
    let started = Instant::now();
    let version = ctx.api_version();
    let correlation_id = ctx.header.correlation_id;
    let follower = req.replica_id.0 >= 0;
    let params = fetch_params(apis, ctx, &req);
    let now = crate::controller::now_ms();
    let (meta, data, to_forget) = requested(version, &req);
    let changes = change_count(apis);
    let (mut session, mut data) = apis
        .fetch_sessions
        .new_context(meta, data, &to_forget, follower, now, changes);
    let mut max_wait = Duration::from_millis(req.max_wait_ms.max(0) as u64);
    if let FetchContext::Quiet { session_id, epoch } = session {
        match serve_quiet(apis, ctx, changes, (session_id, epoch), max_wait).await {
            Ok(woken) => (session, data, max_wait) = woken,
            Err(answered) => return answered,
        }
    }
    if let FetchContext::Error { code, session_id } = session {
        tracing::debug!(target: "kafka.server.FetchManager", "Session error for {}: {}", meta.session_id, errors::name(code));
        return encode(version, correlation_id, code, session_id, &[]);
    }
    // Followers need CLUSTER_ACTION, consumers READ on each topic; a refused partition
    // answers TOPIC_AUTHORIZATION_FAILED either way (KafkaApis.handleFetchRequest).
    let follower_authorized = !follower || apis.authorize_cluster(ctx, AclOperation::ClusterAction);
    let fetches = authorized_fetches(apis, ctx, data, follower, follower_authorized);

    let purgatory = &apis.replica_manager.fetch_purgatory;
    let read_at = change_count(apis);
    let mut seen = purgatory.changes();
    let first = read_all(apis, &params, &fetches);
    if params.is_from_follower() && follower_authorized {
        let clock = apis.fetch_sessions.clock(&session);
        update_follower_states(apis, &params, &fetches, &first, clock.as_ref());
    }
    let readable: usize = first.iter().map(|p| p.records.length as usize).sum();
    let done_now = max_wait.is_zero()
        || fetches.is_empty()
        || readable >= req.min_bytes.max(0) as usize
        || first
            .iter()
            .any(|p| p.error_code != errors::NONE || p.diverging_epoch.is_some());
    // The handler's own time so far: all of it that counts against a request quota.
    let handler_time = started.elapsed();
    let result = if done_now {
        first
    } else {
        let waker = purgatory.watch(fetches.iter().map(|f| &f.tp));
        let min_bytes = req.min_bytes.max(0) as usize;
        // The last read stands while no partition changed since it was taken (appends, high
        // watermark and leadership moves all pass through the purgatory): an idle follower's
        // session of thousands of partitions is read once per long poll, not three more times.
        let last = std::sync::Mutex::new(Some(first));
        // DelayedFetch.tryComplete: re-reading only looks up index positions (no bytes are
        // copied until the response is encoded), so it doubles as the "enough bytes?" check.
        wait_until_complete(
            &waker,
            max_wait,
            || {
                let changes = purgatory.changes();
                if changes == seen {
                    return None;
                }
                seen = changes;
                let r = read_all(apis, &params, &fetches);
                let bytes: usize = r.iter().map(|p| p.records.length as usize).sum();
                let error = r.iter().any(|p| p.error_code != errors::NONE);
                if bytes >= min_bytes || error {
                    return Some(r);
                }
                *last.lock().expect("last read") = Some(r);
                None
            },
            || {
                let read = last.lock().expect("last read").take();
                read.unwrap_or_else(|| read_all(apis, &params, &fetches))
            },
        )
        .await
    };
    let request_throttle_ms = match params.is_from_follower() {
        true => 0,
        false => request_quota::record(apis, ctx, handler_time),
    };
    let read = Read {
        fetches,
        result,
        request_throttle_ms,
        read_at,
    };
    respond(apis, ctx, &params, session, read, now)
}

/// What a fetch read, and the request-quota throttle its handling earned.
struct Read {
    fetches: Vec<PartitionFetch>,
    result: Vec<FetchedPartition>,
    request_throttle_ms: u64,
    /// The change count before the first read.
    read_at: u64,
}

/// Appends, high-watermark and leadership moves (the fetch purgatory's count) plus log start
/// offset moves: while unchanged, a read of any partition finds what the last one found.
fn change_count(apis: &KafkaApis) -> u64 {
    apis.replica_manager.fetch_purgatory.changes() + crate::log::log_start_moves()
}

/// A quiet session's fetch: Err(the empty answer) once `max_wait` passed without a change,
/// else the session's partitions to read after all, for the time left.
async fn serve_quiet(
    apis: &KafkaApis,
    ctx: &RequestContext,
    changes: u64,
    (session_id, epoch): (i32, i32),
    max_wait: Duration,
) -> Result<(FetchContext, Vec<(TopicPartition, PartitionData)>, Duration), Handled> {
    let (version, correlation_id) = (ctx.api_version(), ctx.header.correlation_id);
    let deadline = tokio::time::Instant::now() + max_wait;
    if quiet_wait(apis, ctx, changes, deadline).await {
        crate::metrics::METRICS.fetched(true, 0);
        return Err(encode(
            version,
            correlation_id,
            errors::NONE,
            session_id,
            &[],
        ));
    }
    let Some((session, data)) = apis.fetch_sessions.wake_quiet(session_id, epoch) else {
        let code = errors::INVALID_FETCH_SESSION_EPOCH;
        return Err(encode(
            version,
            correlation_id,
            code,
            INVALID_SESSION_ID,
            &[],
        ));
    };
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    Ok((session, data, left))
}

/// A quiet follower fetch (FetchContext::Quiet): its session's last answer listed nothing and
/// nothing changed since, so instead of reading and watching every partition of the session
/// (thousands, every replica.fetch.wait.max.ms), it waits for any change. True: none came
/// before `deadline` and the (empty) answer stands; false: read the session after all.
async fn quiet_wait(
    apis: &KafkaApis,
    ctx: &RequestContext,
    changes: u64,
    deadline: tokio::time::Instant,
) -> bool {
    if !apis.authorize_cluster(ctx, AclOperation::ClusterAction) {
        return false; // the full path answers each partition's authorization error
    }
    let purgatory = &apis.replica_manager.fetch_purgatory;
    let seen = purgatory.changes();
    if change_count(apis) != changes || purgatory.any_change_after(seen, deadline).await {
        return false;
    }
    change_count(apis) == changes
}

/// The response: the partitions the session context selects, under the session id (a new
/// one for a full fetch opening a session); consumers' sizes go through their fetch quota.
fn respond(
    apis: &KafkaApis,
    ctx: &RequestContext,
    params: &FetchParams,
    session: FetchContext,
    read: Read,
    now: i64,
) -> Handled {
    let Read {
        fetches,
        result,
        request_throttle_ms,
        read_at,
    } = read;
    let (version, correlation_id) = (ctx.api_version(), ctx.header.correlation_id);
    let sessions = &apis.fetch_sessions;
    let mask = match sessions.select(&session, fetches.iter().map(|f| &f.tp), &result) {
        Ok(mask) => mask,
        Err(code) => {
            tracing::info!(target: "kafka.server.FetchManager", "Incremental fetch session {session:?}: another request of the session came first. Possible duplicate request.");
            return encode(version, correlation_id, code, session_id_of(&session), &[]);
        }
    };
    let session_id = match session {
        FetchContext::Full { privileged } => {
            let data = fetches.iter().map(|f| (&f.tp, &f.data));
            sessions.create(privileged, data, &result, now)
        }
        _ => session_id_of(&session),
    };
    let sent: u64 = result.iter().map(|p| p.records.length).sum();
    if params.is_from_follower() {
        record_leader_throttled_bytes(apis, &fetches, &result);
    }
    let topics = group_by_topic(fetches, result, &mask);
    let handled = encode(version, correlation_id, errors::NONE, session_id, &topics);
    if params.is_from_follower() {
        sessions.commit(&session, &topics);
        // A throttled replica may get nothing while it is behind: never quiet then.
        let throttling = apis
            .replica_manager
            .replication_quotas
            .leader
            .throttled_topic_count();
        if topics.is_empty() && throttling == 0 && change_count(apis) == read_at {
            sessions.mark_quiet(&session, read_at);
        }
        crate::metrics::METRICS.fetched(true, sent);
        return handled;
    }
    let throttled_session = match session {
        FetchContext::Incremental { session_id, .. } => session_id,
        _ => INVALID_SESSION_ID,
    };
    match apply_fetch_quota(apis, ctx, handled, throttled_session, request_throttle_ms) {
        Ok(h) => {
            sessions.commit(&session, &topics);
            crate::metrics::METRICS.fetched(false, sent);
            h
        }
        Err(throttled) => {
            // A throttled full fetch gets no session (FetchContext.getThrottledResponse).
            if matches!(session, FetchContext::Full { .. }) && session_id != INVALID_SESSION_ID {
                sessions.remove(session_id);
            }
            throttled
        }
    }
}

fn session_id_of(session: &FetchContext) -> i32 {
    match *session {
        FetchContext::Incremental { session_id, .. } => session_id,
        FetchContext::Error { session_id, .. } => session_id,
        _ => INVALID_SESSION_ID,
    }
}

/// The request's limits: consumers get at most `fetch.max.bytes` and what their quota allows
/// over the window, followers `replica.fetch.response.max.bytes`.
fn fetch_params(apis: &KafkaApis, ctx: &RequestContext, req: &FetchRequest) -> FetchParams {
    let version = ctx.api_version();
    let follower = req.replica_id.0 >= 0;
    let config_max = if follower {
        apis.config.int("replica.fetch.response.max.bytes")
    } else {
        apis.config.int("fetch.max.bytes")
    };
    // A consumer never gets more in one response than its quota allows over the window
    // (Kafka's maxQuotaWindowBytes); followers are exempt from client quotas.
    let quota_max = match follower {
        false => apis
            .quotas
            .fetch
            .max_value_in_quota_window(&ctx.conn.principal.name, ctx.client_id())
            .map_or(i32::MAX, |m| m.min(i32::MAX as f64) as i32),
        true => i32::MAX,
    };
    FetchParams {
        replica_id: req.replica_id.0,
        max_bytes: if version >= 3 {
            req.max_bytes.min(config_max).min(quota_max).max(0) as usize
        } else {
            quota_max.max(0) as usize
        },
        hard_max_bytes_limit: version <= 2,
        read_committed: version >= 4 && req.isolation_level == READ_COMMITTED,
    }
}

type Requested = (
    FetchMetadata,
    Vec<(TopicPartition, PartitionData)>,
    Vec<TopicPartition>,
);

/// The request's session metadata, partitions and forgotten partitions (v7+ fields; older
/// versions are sessionless).
fn requested(version: i16, req: &FetchRequest) -> Requested {
    let meta = match version >= 7 {
        true => FetchMetadata {
            session_id: req.session_id,
            epoch: req.session_epoch,
        },
        false => FetchMetadata {
            session_id: INVALID_SESSION_ID,
            epoch: FINAL_EPOCH,
        },
    };
    let data = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                let data = PartitionData {
                    fetch_offset: p.fetch_offset,
                    log_start_offset: p.log_start_offset,
                    max_bytes: p.partition_max_bytes,
                    current_leader_epoch: (version >= 9)
                        .then(|| requested_epoch(p.current_leader_epoch))
                        .flatten(),
                    last_fetched_epoch: (version >= 12)
                        .then(|| requested_epoch(p.last_fetched_epoch))
                        .flatten(),
                };
                (TopicPartition::new(t.topic.0.as_str(), p.partition), data)
            })
        })
        .collect();
    let forgotten = match version >= 7 {
        true => req
            .forgotten_topics_data
            .iter()
            .flat_map(|t| {
                let topic = t.topic.0.as_str();
                t.partitions
                    .iter()
                    .map(move |p| TopicPartition::new(topic, *p))
            })
            .collect(),
        false => Vec::new(),
    };
    (meta, data, forgotten)
}

/// Each partition with its authorization, asked once per run of partitions of one topic.
fn authorized_fetches(
    apis: &KafkaApis,
    ctx: &RequestContext,
    data: Vec<(TopicPartition, PartitionData)>,
    follower: bool,
    follower_authorized: bool,
) -> Vec<PartitionFetch> {
    let mut last: Option<(String, bool)> = None;
    data.into_iter()
        .map(|(tp, data)| {
            let authorized = match &last {
                Some((topic, ok)) if *topic == tp.topic => *ok,
                _ => {
                    let ok = follower_authorized
                        && (follower
                            || apis.authorize(
                                ctx,
                                AclOperation::Read,
                                ResourceType::Topic,
                                &tp.topic,
                            ));
                    last = Some((tp.topic.clone(), ok));
                    ok
                }
            };
            PartitionFetch {
                tp,
                data,
                authorized,
            }
        })
        .collect()
}

/// Records a consumer's response size against its fetch quota. Within both quotas the
/// response goes as it is (Ok); over either, the bytes are taken back and an empty response
/// with the larger throttle time goes instead (Err), as KafkaApis.handleFetchRequest does.
fn apply_fetch_quota(
    apis: &KafkaApis,
    ctx: &RequestContext,
    handled: Handled,
    session_id: i32,
    request_throttle_ms: u64,
) -> Result<Handled, Handled> {
    let quota = &apis.quotas.fetch;
    let Handled::Encoded(frame) = &handled else {
        return Ok(handled);
    };
    let size = frame.len() as f64;
    let throttle_ms = client_quotas::record(quota, ctx, size).max(request_throttle_ms);
    if throttle_ms == 0 {
        return Ok(handled);
    }
    if quota.enabled() {
        let now = crate::controller::now_ms().max(0) as u64;
        quota.unrecord(&ctx.conn.principal.name, ctx.client_id(), size, now);
    }
    let throttle_field = client_quotas::as_response_ms(throttle_ms);
    let empty = fetch_response::encode_throttled(
        ctx.api_version(),
        ctx.header.correlation_id,
        throttle_field,
        session_id,
    )
    .map_or_else(
        |e| Handled::Close(format!("cannot encode a fetch response: {e}")),
        Handled::Encoded,
    );
    Err(Handled::Throttled {
        throttle_ms,
        response: Box::new(empty),
    })
}

/// ReplicaManager.readFromLocalLog over all partitions, in request order: each partition
/// gets at most min(its own limit, what the response has left); the first partition with
/// data may exceed that by one batch (minOneMessage) so consumers always make progress.
fn read_all(
    apis: &KafkaApis,
    params: &FetchParams,
    fetches: &[PartitionFetch],
) -> Vec<FetchedPartition> {
    let mut limit = params.max_bytes;
    let mut min_one_message = !params.hard_max_bytes_limit;
    let snapshot = apis.metadata_cache.snapshot();
    fetches
        .iter()
        .map(|f| {
            let known = snapshot.partition(&f.tp.topic, f.tp.partition).is_some();
            let max = (f.data.max_bytes.max(0) as usize).min(limit);
            let p = read_partition(apis, params, f, max, min_one_message, known);
            let size = p.records.length as usize;
            if size > 0 {
                min_one_message = false;
            }
            limit = limit.saturating_sub(size);
            p
        })
        .collect()
}

fn read_partition(
    apis: &KafkaApis,
    params: &FetchParams,
    f: &PartitionFetch,
    max_bytes: usize,
    min_one_message: bool,
    known: bool,
) -> FetchedPartition {
    let mut out = FetchedPartition {
        index: f.tp.partition,
        error_code: errors::NONE,
        high_watermark: -1,
        last_stable_offset: -1,
        log_start_offset: -1,
        diverging_epoch: None,
        aborted_transactions: None,
        records: FileSlice::empty(),
    };
    if !f.authorized {
        out.error_code = errors::TOPIC_AUTHORIZATION_FAILED;
        return out;
    }
    let view = match apis
        .replica_manager
        .leader_view(&f.tp, f.data.current_leader_epoch, known)
    {
        Ok(v) => v,
        Err(code) => {
            out.error_code = code;
            return out;
        }
    };
    let log = &view.log;
    // The high watermark is taken before reading, so the response never claims less than
    // the records it carries (Partition.fetchOffsetSnapshot).
    out.high_watermark = log.high_watermark();
    out.last_stable_offset = log.last_stable_offset().min(out.high_watermark);
    out.log_start_offset = log.log_start_offset();
    if let Some(last_epoch) = f.data.last_fetched_epoch {
        // Truncate-on-fetch (KIP-595 as used by 2.7+ followers): if the follower's last epoch
        // ends earlier here, or we never had it, tell it where our logs diverge.
        let (epoch, end_offset) = log.end_offset_for_epoch(last_epoch);
        if epoch < last_epoch || end_offset < f.data.fetch_offset {
            out.diverging_epoch = Some((epoch, end_offset));
            return out;
        }
    }
    // Consumers read up to the high watermark, read_committed ones up to the last stable
    // offset; followers up to the log end.
    let max_offset = match (params.is_from_follower(), params.read_committed) {
        (true, _) => None,
        (false, true) => Some(out.last_stable_offset),
        (false, false) => Some(out.high_watermark),
    };
    match log.read(f.data.fetch_offset, max_bytes, max_offset, min_one_message) {
        Ok(info) if params.read_committed && !params.is_from_follower() => {
            add_aborted_transactions(apis, log, f, &info, &mut out);
            if out.error_code == errors::NONE {
                out.records = info.records;
            }
        }
        // Read first, as Kafka does, then drop the data of a throttled replica.
        Ok(_) if should_leader_throttle(apis, params, &view.partition) => {}
        Ok(info) => out.records = info.records,
        Err(e @ LogError::OffsetOutOfRange { .. }) => {
            tracing::debug!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Error processing fetch with max size {max_bytes} from replica {} on partition {}: {e}", apis.replica_manager.broker_id(), params.replica_id, f.tp);
            out.error_code = errors::OFFSET_OUT_OF_RANGE;
        }
        Err(e) => {
            tracing::error!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Error processing fetch on partition {}: {e}", apis.replica_manager.broker_id(), f.tp);
            log.maybe_report_storage_error("reading", &e);
            out.error_code = e.error_code();
        }
    }
    out
}

/// Log.addAbortedTransactions: a read_committed consumer learns which producers' records in
/// the returned range were aborted, so it can drop them. Read_uncommitted fetches and
/// followers never get here.
fn add_aborted_transactions(
    apis: &KafkaApis,
    log: &crate::log::Log,
    f: &PartitionFetch,
    info: &crate::log::FetchDataInfo,
    out: &mut FetchedPartition,
) {
    if info.records.is_empty() {
        out.aborted_transactions = Some(Vec::new());
        return;
    }
    match log.collect_aborted_transactions(f.data.fetch_offset, info.next_offset) {
        Ok(txns) => {
            let list = txns
                .iter()
                .map(|t| (t.producer_id, t.first_offset))
                .collect();
            out.aborted_transactions = Some(list);
        }
        Err(e) => {
            // KafkaException from the index: the consumer retries the fetch.
            tracing::error!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Error reading the transaction index of {}: {e}", apis.replica_manager.broker_id(), f.tp);
            log.maybe_report_storage_error("reading the transaction index of", &e);
            out.error_code = e.error_code();
        }
    }
}

/// ReplicaManager.shouldLeaderThrottle: a follower's fetch of a throttled partition returns
/// no data while the leader quota is exceeded, unless the follower is in the ISR (throttling
/// it could shrink the ISR).
fn should_leader_throttle(apis: &KafkaApis, params: &FetchParams, partition: &Partition) -> bool {
    let quota = &apis.replica_manager.replication_quotas.leader;
    if !params.is_from_follower() || !quota.is_throttled(&partition.tp) {
        return false;
    }
    let in_sync = partition.lock().state.isr.contains(&params.replica_id);
    !in_sync && quota.is_quota_exceeded()
}

/// KafkaApis.sizeOfThrottledPartitions: the bytes a follower fetch returns for throttled
/// partitions count against the leader quota, in sync or not.
fn record_leader_throttled_bytes(
    apis: &KafkaApis,
    fetches: &[PartitionFetch],
    result: &[FetchedPartition],
) {
    let quota = &apis.replica_manager.replication_quotas.leader;
    let bytes: u64 = fetches
        .iter()
        .zip(result)
        .filter(|(f, _)| quota.is_throttled(&f.tp))
        .map(|(_, r)| r.records.length)
        .sum();
    quota.record(bytes);
}

/// ReplicaManager.updateFollowerFetchState: each successful partition read tells the leader
/// the follower's log end offset (its fetch offset); a moved high watermark may complete
/// acks=all produces and consumer fetches waiting on it.
fn update_follower_states(
    apis: &KafkaApis,
    params: &FetchParams,
    fetches: &[PartitionFetch],
    results: &[FetchedPartition],
    session_clock: Option<&Arc<AtomicI64>>,
) {
    let rm = &apis.replica_manager;
    let now = crate::controller::now_ms();
    for (f, r) in fetches.iter().zip(results) {
        if r.error_code != errors::NONE {
            continue;
        }
        let Some(partition) = rm.get_partition(&f.tp) else {
            continue;
        };
        if partition.update_follower_fetch_state(
            params.replica_id,
            f.data.fetch_offset,
            f.data.log_start_offset,
            now,
            session_clock,
        ) {
            rm.complete_delayed_requests(&f.tp);
        } else {
            // The follower's log start offset may have moved: a DeleteRecords may be done.
            rm.delete_records_purgatory.check_and_complete(&f.tp);
        }
    }
}

/// Groups the listed partitions under their topics, one entry per run of partitions of one
/// topic, in fetch order (as Kafka's FetchResponse does).
fn group_by_topic(
    fetches: Vec<PartitionFetch>,
    results: Vec<FetchedPartition>,
    listed: &[bool],
) -> Vec<FetchedTopic> {
    let mut topics: Vec<FetchedTopic> = Vec::new();
    for ((f, r), _) in fetches
        .into_iter()
        .zip(results)
        .zip(listed)
        .filter(|(_, listed)| **listed)
    {
        match topics.last_mut() {
            Some(t) if t.name == f.tp.topic => t.partitions.push(r),
            _ => topics.push(FetchedTopic {
                name: f.tp.topic,
                partitions: vec![r],
            }),
        }
    }
    topics
}

fn encode(
    version: i16,
    correlation_id: i32,
    error_code: i16,
    session_id: i32,
    topics: &[FetchedTopic],
) -> Handled {
    match fetch_response::encode(version, correlation_id, error_code, session_id, topics) {
        Ok(buf) => Handled::Encoded(buf),
        Err(e) => Handled::Close(format!("cannot read records for a fetch response: {e}")),
    }
}
