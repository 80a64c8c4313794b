//! ReplicaFetcherManager / ReplicaFetcherThread (AbstractFetcherManager.scala,
//! AbstractFetcherThread.scala, ReplicaFetcherThread.scala) at IBP 2.6: per source broker
//! `num.replica.fetchers` tasks; each first truncates its new partitions with
//! OffsetsForLeaderEpoch v3 (KIP-101/279), then fetches with Fetch v11 as replica `broker.id`
//! and appends what the leader returns, adopting its high watermark and log start offset.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::fetch_session_handler::{FetchRequestData, FetchSessionHandler};
use super::out_of_range;
use super::partition::Partition;
use super::truncation;
use crate::config::KafkaConfig;
use crate::controller::now_ms;
use crate::log::TopicPartition;
use crate::network::client::BrokerClient;
use crate::quota::ReplicationQuotas;
use crate::security::sasl::SaslClientConfig;
use crate::server::errors;

/// Request versions a 2.8 broker sends at inter.broker.protocol.version 2.6.
const FETCH_VERSION: i16 = 11;

/// Where a source broker listens (from LeaderAndIsr `LiveLeaders`, inter-broker listener).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderEndpoint {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// One partition to start fetching: from whom, at which leader epoch, from which offset.
pub struct FetcherAdd {
    pub leader: LeaderEndpoint,
    pub partition: Arc<Partition>,
    pub leader_epoch: i32,
    pub initial_offset: i64,
}

/// A partition a fetcher serves (PartitionFetchState).
pub(super) struct FetchState {
    partition: Arc<Partition>,
    leader_epoch: i32,
    pub(super) fetch_offset: i64,
    /// Needs OffsetsForLeaderEpoch-based truncation before it may fetch.
    pub(super) truncating: bool,
    delayed_until_ms: i64,
    /// The leader's high watermark minus our fetch offset after the last fetch (FetcherLagMetrics).
    pub(super) lag: i64,
    /// Caught up with the leader's high watermark at the last fetch (isReplicaInSync: false
    /// until a fetch says so); replicas in sync are never throttled.
    in_sync: bool,
}

/// Fetch settings from the broker config (replica.fetch.*).
#[derive(Clone, Debug)]
pub(super) struct FetchSettings {
    pub(super) broker_id: i32,
    max_bytes: i32,
    min_bytes: i32,
    wait_max_ms: i32,
    response_max_bytes: i32,
    pub(super) backoff_ms: i64,
    socket_timeout: Duration,
    /// The inter-broker SASL credentials, when the inter-broker listener is SASL.
    sasl: Option<SaslClientConfig>,
    /// Woken when a follower adopted a higher log start offset from its leader, so the
    /// ReplicaManager writes `log-start-offset-checkpoint` (records deleted on the leader stay
    /// deleted here after a crash).
    log_start_moved: Arc<Notify>,
    /// `follower.replication.throttled.*`: throttled partitions are left out of a fetch while
    /// the follower quota is exceeded.
    quotas: Arc<ReplicationQuotas>,
}

struct Fetcher {
    leader: LeaderEndpoint,
    partitions: Arc<Mutex<BTreeMap<TopicPartition, FetchState>>>,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

pub struct ReplicaFetcherManager {
    settings: FetchSettings,
    num_fetchers: usize,
    fetchers: Mutex<HashMap<(i32, usize), Fetcher>>,
}

/// Changes to any fetcher's partition states (added, removed, fetch offset or epoch moved,
/// delayed): unchanged since a fetcher's last full look (with no local log start offset
/// moved either), its next request is the same empty incremental one (see `Quiet`).
static STATE_CHANGES: AtomicU64 = AtomicU64::new(0);

fn count_state_change() {
    STATE_CHANGES.fetch_add(1, Ordering::SeqCst);
}

/// The counts a fetcher's last full look at its partitions saw, when nothing then made the
/// next look depend on time (a delayed or throttled partition). While both are unchanged an
/// idle fetcher sends its empty incremental request without touching its partitions, as
/// its leader answers it without reading them (fetch.rs `quiet_wait`).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Quiet {
    states: u64,
    log_starts: u64,
}

impl Quiet {
    fn now() -> Quiet {
        Quiet {
            states: STATE_CHANGES.load(Ordering::SeqCst),
            log_starts: crate::log::log_start_moves(),
        }
    }
}

/// Java's `String.hashCode` over UTF-16 code units (AbstractFetcherManager's partition hash).
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

impl ReplicaFetcherManager {
    pub fn new(config: &KafkaConfig, quotas: Arc<ReplicationQuotas>) -> ReplicaFetcherManager {
        ReplicaFetcherManager {
            settings: FetchSettings {
                broker_id: config.broker_id,
                max_bytes: config.int("replica.fetch.max.bytes"),
                min_bytes: config.int("replica.fetch.min.bytes"),
                wait_max_ms: config.int("replica.fetch.wait.max.ms"),
                response_max_bytes: config.int("replica.fetch.response.max.bytes"),
                backoff_ms: config.long("replica.fetch.backoff.ms"),
                socket_timeout: Duration::from_millis(
                    config.long("replica.socket.timeout.ms").max(1) as u64,
                ),
                sasl: SaslClientConfig::inter_broker(config).ok().flatten(),
                log_start_moved: Arc::new(Notify::new()),
                quotas,
            },
            num_fetchers: config.int("num.replica.fetchers").max(1) as usize,
            fetchers: Mutex::new(HashMap::new()),
        }
    }

    /// Notified when a follower's log start offset moved with its leader's.
    pub fn log_start_moved(&self) -> Arc<Notify> {
        self.settings.log_start_moved.clone()
    }

    /// `abs(31 * topic.hashCode + partition) % num.replica.fetchers`.
    fn fetcher_id(&self, tp: &TopicPartition) -> usize {
        let h = java_string_hash(&tp.topic)
            .wrapping_mul(31)
            .wrapping_add(tp.partition);
        (h.unsigned_abs() as usize) % self.num_fetchers
    }

    /// Starts fetching each partition (at its leader epoch, from its initial offset) from its
    /// leader, truncating first (addFetcherForPartitions). One call per LeaderAndIsr: the
    /// fetchers are looked up under one lock and each is woken once.
    pub fn add_partitions(&self, adds: Vec<FetcherAdd>) {
        let mut fetchers = self.fetchers.lock().expect("fetchers");
        let mut added: BTreeMap<(i32, usize), Vec<String>> = BTreeMap::new();
        for add in adds {
            let tp = add.partition.tp.clone();
            let key = (add.leader.id, self.fetcher_id(&tp));
            let fetcher = self.fetcher_for(&mut fetchers, key, &add.leader);
            count_state_change();
            fetcher.partitions.lock().expect("fetch states").insert(
                tp.clone(),
                FetchState {
                    partition: add.partition,
                    leader_epoch: add.leader_epoch,
                    fetch_offset: add.initial_offset,
                    truncating: true,
                    delayed_until_ms: 0,
                    lag: 0,
                    in_sync: false,
                },
            );
            added.entry(key).or_default().push(format!(
                "{tp} (leader epoch {}, initial offset {})",
                add.leader_epoch, add.initial_offset
            ));
        }
        for (key, tps) in added {
            if let Some(f) = fetchers.get(&key) {
                f.wake.notify_one();
            }
            tracing::info!(target: "kafka.server.ReplicaFetcherManager",
                "[ReplicaFetcherManager on broker {}] Added fetcher to broker {} for {} partitions, truncating first: {}",
                self.settings.broker_id, key.0, tps.len(), tps.join(", "));
        }
    }

    /// The fetcher task for `key`, started if needed (a new one if the leader moved address).
    fn fetcher_for<'a>(
        &self,
        fetchers: &'a mut HashMap<(i32, usize), Fetcher>,
        key: (i32, usize),
        leader: &LeaderEndpoint,
    ) -> &'a Fetcher {
        if fetchers.get(&key).is_some_and(|f| f.leader != *leader) {
            // The leader re-registered at another address: start over with a new connection.
            if let Some(old) = fetchers.remove(&key) {
                old.task.abort();
            }
        }
        fetchers.entry(key).or_insert_with(|| {
            let partitions = Arc::new(Mutex::new(BTreeMap::new()));
            let wake = Arc::new(Notify::new());
            let name = format!("ReplicaFetcherThread-{}-{}", key.1, leader.id);
            tracing::info!(target: "kafka.server.ReplicaFetcherManager", "[ReplicaFetcherManager on broker {}] Starting {name} for leader {}:{}", self.settings.broker_id, leader.host, leader.port);
            let task = tokio::spawn(run_fetcher(
                name,
                leader.clone(),
                self.settings.clone(),
                partitions.clone(),
                wake.clone(),
            ));
            Fetcher {
                leader: leader.clone(),
                partitions,
                wake,
                task,
            }
        })
    }

    /// Stops fetching `tps`; fetchers left without partitions are shut down.
    pub fn remove_partitions(&self, tps: &[TopicPartition]) {
        let mut fetchers = self.fetchers.lock().expect("fetchers");
        let mut removed = Vec::new();
        for f in fetchers.values() {
            let mut parts = f.partitions.lock().expect("fetch states");
            for tp in tps {
                if parts.remove(tp).is_some() {
                    count_state_change();
                    removed.push(format!("{tp} (leader {})", f.leader.id));
                }
            }
        }
        if !removed.is_empty() {
            tracing::info!(target: "kafka.server.ReplicaFetcherManager", "[ReplicaFetcherManager on broker {}] Removed fetcher for {} partitions: {}", self.settings.broker_id, removed.len(), removed.join(", "));
        }
        fetchers.retain(|_, f| {
            let idle = f.partitions.lock().expect("fetch states").is_empty();
            if idle {
                f.task.abort();
            }
            !idle
        });
    }

    /// Which partitions are being fetched, and from which leader (tests and logs).
    pub fn fetching(&self) -> Vec<(TopicPartition, i32)> {
        let fetchers = self.fetchers.lock().expect("fetchers");
        fetchers
            .values()
            .flat_map(|f| {
                let parts = f.partitions.lock().expect("fetch states");
                parts
                    .keys()
                    .map(|tp| (tp.clone(), f.leader.id))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Per fetched partition: leader, fetch offset and lag (`MaxLag`, `ConsumerLag`, /state).
    pub fn lags(&self) -> Vec<(TopicPartition, i32, i64, i64)> {
        let fetchers = self.fetchers.lock().expect("fetchers");
        fetchers
            .values()
            .flat_map(|f| {
                let parts = f.partitions.lock().expect("fetch states");
                let leader = f.leader.id;
                parts
                    .iter()
                    .map(|(tp, st)| (tp.clone(), leader, st.fetch_offset, st.lag))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn shutdown(&self) {
        for (_, f) in self.fetchers.lock().expect("fetchers").drain() {
            f.task.abort();
        }
    }
}

pub(super) type States = Arc<Mutex<BTreeMap<TopicPartition, FetchState>>>;

async fn run_fetcher(
    name: String,
    leader: LeaderEndpoint,
    s: FetchSettings,
    states: States,
    wake: Arc<Notify>,
) {
    let addr = format!("{}:{}", leader.host, leader.port);
    let backoff = Duration::from_millis(s.backoff_ms.max(1) as u64);
    let mut client: Option<BrokerClient> = None;
    let mut session = FetchSessionHandler::new();
    let mut quiet: Option<Quiet> = None;
    loop {
        if client.is_none() {
            let connected = match BrokerClient::connect_inter_broker(
                &addr,
                &name,
                s.socket_timeout,
                s.socket_timeout,
            )
            .await
            {
                Ok(c) => c.authenticated(s.sasl.as_ref()).await,
                Err(e) => Err(e),
            };
            match connected {
                Ok(c) => client = Some(c),
                Err(e) => {
                    tracing::warn!(target: "kafka.server.ReplicaFetcherThread", "[{name}] Cannot connect to leader {} at {addr}: {e}", leader.id);
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            }
        }
        let c = client.as_mut().expect("connected");
        let result = match truncation::truncation_round(&s, &states, c).await {
            Ok(true) => Ok(()),
            Ok(false) => match fetch_round(&s, &states, c, &mut session, &mut quiet).await {
                Ok(true) => Ok(()),
                Ok(false) => {
                    // Nothing to fetch right now: sleep until woken or a backoff passes.
                    let _ = tokio::time::timeout(backoff, wake.notified()).await;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            session.handle_error();
            tracing::warn!(target: "kafka.server.ReplicaFetcherThread", "[{name}] Error in request to leader {} at {addr}: {e}; backing off {} ms", leader.id, s.backoff_ms);
            client = None;
            tokio::time::sleep(backoff).await;
        }
    }
}

/// Partitions (with their leader epoch and our latest epoch) ready for an action.
pub(super) fn ready(
    states: &States,
    truncating: bool,
) -> Vec<(TopicPartition, Arc<Partition>, i32, i64)> {
    let now = now_ms();
    let map = states.lock().expect("fetch states");
    map.iter()
        .filter(|(_, st)| st.truncating == truncating && st.delayed_until_ms <= now)
        .map(|(tp, st)| {
            (
                tp.clone(),
                st.partition.clone(),
                st.leader_epoch,
                st.fetch_offset,
            )
        })
        .collect()
}

/// Updates a partition's fetch state if it is still fetched at `leader_epoch`.
pub(super) fn update(
    states: &States,
    tp: &TopicPartition,
    leader_epoch: i32,
    f: impl FnOnce(&mut FetchState),
) {
    let mut map = states.lock().expect("fetch states");
    if let Some(st) = map.get_mut(tp).filter(|st| st.leader_epoch == leader_epoch) {
        count_state_change();
        f(st);
    }
}

pub(super) fn delay(states: &States, tp: &TopicPartition, leader_epoch: i32, backoff_ms: i64) {
    update(states, tp, leader_epoch, |st| {
        st.delayed_until_ms = now_ms() + backoff_ms
    });
}

/// ReplicaFetcherThread.shouldFollowerThrottle: a replica not in sync, throttled here, while
/// the follower quota is exceeded, is left out of this fetch (never one in sync, so the ISR
/// does not shrink because of a throttle).
fn should_follower_throttle(s: &FetchSettings, states: &States, tp: &TopicPartition) -> bool {
    let quota = &s.quotas.follower;
    if !quota.is_throttled(tp) {
        return false;
    }
    let in_sync = states
        .lock()
        .expect("fetch states")
        .get(tp)
        .is_some_and(|st| st.in_sync);
    !in_sync && quota.is_quota_exceeded()
}

/// One Fetch round for partitions in the Fetching state, in the leader's fetch session.
/// Returns whether there was anything to send.
async fn fetch_round(
    s: &FetchSettings,
    states: &States,
    client: &mut BrokerClient,
    session: &mut FetchSessionHandler,
    quiet: &mut Option<Quiet>,
) -> anyhow::Result<bool> {
    let counts = Quiet::now();
    let data = match session.unchanged() {
        Some(data) if *quiet == Some(counts) => data,
        _ => {
            let data = session.build(wanted_partitions(s, states));
            let timeless = s.quotas.follower.throttled_topic_count() == 0 && !any_delayed(states);
            *quiet = timeless.then_some(counts);
            data
        }
    };
    if session.is_idle(&data) {
        return Ok(false);
    }
    let req = fetch_request(s, data);
    let resp = client.send(&req, FETCH_VERSION).await?;
    let listed: Vec<TopicPartition> = resp
        .responses
        .iter()
        .flat_map(|t| {
            let topic = t.topic.0.as_str();
            t.partitions
                .iter()
                .map(move |r| TopicPartition::new(topic, r.partition_index))
        })
        .collect();
    if !session.handle_response(resp.error_code, resp.session_id, listed.iter()) {
        match resp.error_code {
            errors::FETCH_SESSION_ID_NOT_FOUND | errors::INVALID_FETCH_SESSION_EPOCH => {
                tracing::info!(target: "kafka.server.ReplicaFetcherThread", "[ReplicaFetcher broker={}] Fetch session {} with the leader ended: {}; sending a full fetch request", s.broker_id, req.session_id, errors::name(resp.error_code));
                return Ok(true);
            }
            errors::NONE => return Ok(true),
            code => anyhow::bail!("fetch failed with top-level error {}", errors::name(code)),
        }
    }
    for (tp, r) in listed
        .into_iter()
        .zip(resp.responses.into_iter().flat_map(|t| t.partitions))
    {
        // What the leader's session holds for it: what this answer is about.
        let Some((epoch, offset, log_start)) = session.sent(&tp) else {
            continue;
        };
        let (epoch, offset, log_start) = (&epoch, &offset, &log_start);
        // Dropped or re-added at another epoch while the fetch was in flight.
        let current = states
            .lock()
            .expect("fetch states")
            .get(&tp)
            .filter(|st| (st.leader_epoch, st.fetch_offset) == (*epoch, *offset))
            .map(|st| st.partition.clone());
        let Some(p) = current else {
            continue;
        };
        let p = &p;
        match r.error_code {
            errors::NONE => {
                let records = r.records.unwrap_or_else(Bytes::new);
                crate::metrics::METRICS
                    .replication_bytes_in
                    .add(records.len() as u64);
                // In-sync replicas' traffic counts too, so the total stays in the bound.
                if s.quotas.follower.is_throttled(&tp) {
                    s.quotas.follower.record(records.len() as u64);
                }
                match p.append_records_as_follower(
                    *epoch,
                    &records,
                    r.high_watermark,
                    r.log_start_offset,
                ) {
                    Ok(Some(_)) => {
                        if let Some(pos) = p.follower_position(*epoch) {
                            if pos.log_start_offset > *log_start {
                                s.log_start_moved.notify_one();
                            }
                            update(states, &tp, *epoch, |st| {
                                st.fetch_offset = pos.log_end_offset;
                                st.lag = (r.high_watermark - pos.log_end_offset).max(0);
                                st.in_sync = st.lag == 0;
                            });
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(target: "kafka.server.ReplicaFetcherThread", "[ReplicaFetcher broker={}] Cannot append to {tp} at fetch offset {offset}: {e}; retrying after {} ms", s.broker_id, s.backoff_ms);
                        delay(states, &tp, *epoch, s.backoff_ms);
                    }
                }
            }
            errors::OFFSET_OUT_OF_RANGE => {
                tracing::warn!(target: "kafka.server.ReplicaFetcherThread", "[ReplicaFetcher broker={}] Fetch offset {offset} of {tp} is out of range on the leader; asking it for its offsets", s.broker_id);
                if let Err(e) =
                    out_of_range::handle_out_of_range(s, states, client, &tp, p, *epoch).await
                {
                    tracing::warn!(target: "kafka.server.ReplicaFetcherThread", "[ReplicaFetcher broker={}] Cannot resolve the out-of-range fetch offset of {tp}: {e}; truncating again after {} ms", s.broker_id, s.backoff_ms);
                    update(states, &tp, *epoch, |st| {
                        st.truncating = true;
                        st.delayed_until_ms = now_ms() + s.backoff_ms;
                    });
                }
            }
            code => {
                tracing::info!(target: "kafka.server.ReplicaFetcherThread", "[ReplicaFetcher broker={}] Error {} fetching {tp} at leader epoch {epoch}; retrying after {} ms", s.broker_id, errors::name(code), s.backoff_ms);
                delay(states, &tp, *epoch, s.backoff_ms);
            }
        }
    }
    Ok(true)
}

/// Every partition ready to fetch, as the request lists it (fetch offset, epoch, our log
/// start offset), less those a follower quota holds back.
fn wanted_partitions(s: &FetchSettings, states: &States) -> Vec<(TopicPartition, FetchPartition)> {
    let mut wanted = Vec::new();
    for (tp, p, epoch, offset) in ready(states, false) {
        if should_follower_throttle(s, states, &tp) {
            continue;
        }
        let Some(pos) = p.follower_position(epoch) else {
            continue;
        };
        let data = FetchPartition::default()
            .with_partition(tp.partition)
            .with_current_leader_epoch(epoch)
            .with_fetch_offset(offset)
            .with_log_start_offset(pos.log_start_offset)
            .with_partition_max_bytes(s.max_bytes);
        wanted.push((tp, data));
    }
    wanted
}

/// Whether a partition waits out a backoff: the next look at the partitions must include
/// it once that is over, so it cannot be skipped.
fn any_delayed(states: &States) -> bool {
    let now = now_ms();
    let map = states.lock().expect("fetch states");
    map.values().any(|st| st.delayed_until_ms > now)
}

/// The Fetch request (v11, as replica `broker.id`) carrying one session exchange.
fn fetch_request(s: &FetchSettings, data: FetchRequestData) -> FetchRequest {
    let mut by_topic: BTreeMap<String, Vec<FetchPartition>> = BTreeMap::new();
    for (tp, p) in data.to_send {
        by_topic.entry(tp.topic).or_default().push(p);
    }
    let mut forgotten: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for tp in data.to_forget {
        forgotten.entry(tp.topic).or_default().push(tp.partition);
    }
    let topic_name = |t: String| TopicName(StrBytes::from_string(t));
    FetchRequest::default()
        .with_replica_id(BrokerId(s.broker_id))
        .with_max_wait_ms(s.wait_max_ms)
        .with_min_bytes(s.min_bytes)
        .with_max_bytes(s.response_max_bytes)
        .with_isolation_level(0)
        .with_session_id(data.meta.session_id)
        .with_session_epoch(data.meta.epoch)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    FetchTopic::default()
                        .with_topic(topic_name(t))
                        .with_partitions(ps)
                })
                .collect(),
        )
        .with_forgotten_topics_data(
            forgotten
                .into_iter()
                .map(|(t, ps)| {
                    ForgottenTopic::default()
                        .with_topic(topic_name(t))
                        .with_partitions(ps)
                })
                .collect(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_string_hash_code() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("topic"), 110_546_223);
        assert_eq!(java_string_hash("__consumer_offsets"), -970_371_369);
    }
}
