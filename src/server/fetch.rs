//! Fetch (KafkaApis.handleFetchRequest, ReplicaManager.fetchMessages/readFromLocalLog,
//! DelayedFetch) for consumers and followers.
//!
//! * Consumers (replica id -1) read up to the high watermark, followers up to the log end
//!   offset; a follower's fetch also tells the leader how far it got
//!   (`Partition::update_follower_fetch_state`), which can move the high watermark.
//! * Long poll: the answer goes out once `min_bytes` are readable, on an error, or when
//!   `max_wait_ms` runs out; appends and high-watermark moves wake the waiting fetch.
//! * Fetch sessions (KIP-227): every request is answered as a full, sessionless fetch
//!   (session id 0), which Kafka itself does when its session cache is full; clients then
//!   keep sending full requests. An incremental request naming a session gets
//!   FETCH_SESSION_ID_NOT_FOUND, as for a session Kafka has evicted.
//! * Records are returned exactly as stored (see fetch_response.rs).

use std::time::Duration;

use kafka_protocol::messages::FetchRequest;

use super::fetch_response::{self, FetchedPartition, FetchedTopic};
use crate::log::{FileSlice, LogError, TopicPartition};
use crate::network::request::RequestContext;
use crate::replica::purgatory::wait_until_complete;
use crate::replica::read::requested_epoch;
use crate::replica::Partition;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::{Handled, KafkaApis};
use crate::server::{client_quotas, errors};

const READ_COMMITTED: i8 = 1;
/// Session epochs meaning "full request": INITIAL (0, open a session) and FINAL (-1, none).
const INITIAL_EPOCH: i32 = 0;
const FINAL_EPOCH: i32 = -1;

/// One partition as requested.
struct PartitionFetch {
    tp: TopicPartition,
    fetch_offset: i64,
    partition_max_bytes: i32,
    current_leader_epoch: Option<i32>,
    last_fetched_epoch: Option<i32>,
    /// The follower's log start offset (v5+).
    follower_log_start_offset: i64,
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
    let version = ctx.api_version();
    let correlation_id = ctx.header.correlation_id;
    if version >= 7
        && (req.session_id != 0 || !matches!(req.session_epoch, INITIAL_EPOCH | FINAL_EPOCH))
    {
        let code = if req.session_id != 0 {
            errors::FETCH_SESSION_ID_NOT_FOUND
        } else {
            errors::INVALID_FETCH_SESSION_EPOCH
        };
        return encode(version, correlation_id, code, &[]);
    }
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
    let params = FetchParams {
        replica_id: req.replica_id.0,
        max_bytes: if version >= 3 {
            req.max_bytes.min(config_max).min(quota_max).max(0) as usize
        } else {
            quota_max.max(0) as usize
        },
        hard_max_bytes_limit: version <= 2,
        read_committed: version >= 4 && req.isolation_level == READ_COMMITTED,
    };
    // Followers need CLUSTER_ACTION, consumers READ on each topic; a refused partition
    // answers TOPIC_AUTHORIZATION_FAILED either way (KafkaApis.handleFetchRequest).
    let follower_authorized = !follower || apis.authorize_cluster(ctx, AclOperation::ClusterAction);
    let fetches: Vec<PartitionFetch> = req
        .topics
        .iter()
        .flat_map(|t| {
            let authorized = follower_authorized
                && (follower
                    || apis.authorize(ctx, AclOperation::Read, ResourceType::Topic, &t.topic));
            t.partitions.iter().map(move |p| PartitionFetch {
                authorized,
                tp: TopicPartition::new(t.topic.0.as_str(), p.partition),
                fetch_offset: p.fetch_offset,
                partition_max_bytes: p.partition_max_bytes,
                current_leader_epoch: if version >= 9 {
                    requested_epoch(p.current_leader_epoch)
                } else {
                    None
                },
                last_fetched_epoch: if version >= 12 {
                    requested_epoch(p.last_fetched_epoch)
                } else {
                    None
                },
                follower_log_start_offset: p.log_start_offset,
            })
        })
        .collect();

    let first = read_all(apis, &params, &fetches);
    if params.is_from_follower() && follower_authorized {
        update_follower_states(apis, &params, &fetches, &first);
    }
    let readable: usize = first.iter().map(|p| p.records.length as usize).sum();
    let done_now = req.max_wait_ms <= 0
        || fetches.is_empty()
        || readable >= req.min_bytes.max(0) as usize
        || first
            .iter()
            .any(|p| p.error_code != errors::NONE || p.diverging_epoch.is_some());
    let result = if done_now {
        first
    } else {
        let rm = &apis.replica_manager;
        let waker = rm.fetch_purgatory.watch(fetches.iter().map(|f| &f.tp));
        let min_bytes = req.min_bytes.max(0) as usize;
        // DelayedFetch.tryComplete: re-reading only looks up index positions (no bytes are
        // copied until the response is encoded), so it doubles as the "enough bytes?" check.
        wait_until_complete(
            &waker,
            Duration::from_millis(req.max_wait_ms as u64),
            || {
                let r = read_all(apis, &params, &fetches);
                let bytes: usize = r.iter().map(|p| p.records.length as usize).sum();
                let error = r.iter().any(|p| p.error_code != errors::NONE);
                (bytes >= min_bytes || error).then_some(r)
            },
            || read_all(apis, &params, &fetches),
        )
        .await
    };
    let sent: u64 = result.iter().map(|p| p.records.length).sum();
    if params.is_from_follower() {
        record_leader_throttled_bytes(apis, &fetches, &result);
    }
    let topic_names: Vec<String> = req.topics.iter().map(|t| t.topic.0.to_string()).collect();
    let sizes: Vec<usize> = req.topics.iter().map(|t| t.partitions.len()).collect();
    let handled = encode_grouped(version, correlation_id, &topic_names, &sizes, result);
    if params.is_from_follower() {
        crate::metrics::METRICS.fetched(true, sent);
        return handled;
    }
    match apply_fetch_quota(apis, ctx, handled) {
        Ok(h) => {
            crate::metrics::METRICS.fetched(false, sent);
            h
        }
        Err(throttled) => throttled,
    }
}

/// Records a consumer's response size against its fetch quota. Within quota the response
/// goes as it is (Ok); over it, the bytes are taken back and an empty response with the
/// throttle time goes instead (Err), as KafkaApis.handleFetchRequest does.
fn apply_fetch_quota(
    apis: &KafkaApis,
    ctx: &RequestContext,
    handled: Handled,
) -> Result<Handled, Handled> {
    let quota = &apis.quotas.fetch;
    let Handled::Encoded(frame) = &handled else {
        return Ok(handled);
    };
    if !quota.enabled() {
        return Ok(handled);
    }
    let size = frame.len() as f64;
    let throttle_ms = client_quotas::record(quota, ctx, size);
    if throttle_ms == 0 {
        return Ok(handled);
    }
    let now = crate::controller::now_ms().max(0) as u64;
    quota.unrecord(&ctx.conn.principal.name, ctx.client_id(), size, now);
    let throttle_field = client_quotas::as_response_ms(throttle_ms);
    let empty = fetch_response::encode_throttled(
        ctx.api_version(),
        ctx.header.correlation_id,
        throttle_field,
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
            let max = (f.partition_max_bytes.max(0) as usize).min(limit);
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
        .leader_view(&f.tp, f.current_leader_epoch, known)
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
    if let Some(last_epoch) = f.last_fetched_epoch {
        // Truncate-on-fetch (KIP-595 as used by 2.7+ followers): if the follower's last epoch
        // ends earlier here, or we never had it, tell it where our logs diverge.
        let (epoch, end_offset) = log.end_offset_for_epoch(last_epoch);
        if epoch < last_epoch || end_offset < f.fetch_offset {
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
    match log.read(f.fetch_offset, max_bytes, max_offset, min_one_message) {
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
    match log.collect_aborted_transactions(f.fetch_offset, info.next_offset) {
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
            f.fetch_offset,
            f.follower_log_start_offset,
            now,
        ) {
            rm.complete_delayed_requests(&f.tp);
        } else {
            // The follower's log start offset may have moved: a DeleteRecords may be done.
            rm.delete_records_purgatory.check_and_complete(&f.tp);
        }
    }
}

/// Regroups the flat per-partition results under their topics, in request order.
fn encode_grouped(
    version: i16,
    correlation_id: i32,
    names: &[String],
    sizes: &[usize],
    results: Vec<FetchedPartition>,
) -> Handled {
    let mut it = results.into_iter();
    let topics: Vec<FetchedTopic> = names
        .iter()
        .zip(sizes)
        .map(|(name, n)| FetchedTopic {
            name: name.clone(),
            partitions: it.by_ref().take(*n).collect(),
        })
        .collect();
    encode(version, correlation_id, errors::NONE, &topics)
}

fn encode(version: i16, correlation_id: i32, error_code: i16, topics: &[FetchedTopic]) -> Handled {
    match fetch_response::encode(version, correlation_id, error_code, 0, topics) {
        Ok(buf) => Handled::Encoded(buf),
        Err(e) => Handled::Close(format!("cannot read records for a fetch response: {e}")),
    }
}
