//! The broker's metric registry: plain atomics that the request path, the replica manager and
//! the controller bump with one relaxed add, read only when `/metrics` is scraped. It sits
//! below every module that records into it; gauges that describe state (under-replicated
//! partitions, log sizes) are not kept here but computed from that state at scrape time,
//! as Kafka's Yammer gauges are. Names follow Kafka's MBeans (`kafka.server:type=...`).

pub mod events;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// A monotonically increasing count (a Yammer meter's `Count`).
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value set by its owner (a Yammer gauge's `Value`).
#[derive(Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub const fn new(v: i64) -> Gauge {
        Gauge(AtomicI64::new(v))
    }

    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    pub fn add(&self, v: i64) {
        self.0.fetch_add(v, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Sub-buckets per power of two: bucket bounds grow by 2^(1/4), so a percentile read from
/// the buckets is within ~19% of the true value.
const SUB_BUCKETS: u32 = 4;
/// Microsecond octaves covered (2^36 µs ≈ 19 h); longer times land in the last bucket.
const OCTAVES: u32 = 36;
const BUCKETS: usize = ((OCTAVES + 1) * SUB_BUCKETS) as usize;

/// A latency histogram over the broker's lifetime (a Yammer timer's `Count` and
/// percentiles): log-scaled buckets of microseconds, one relaxed add per observation (the
/// count is the buckets' sum, taken when scraped).
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS],
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }

    pub fn observe(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile in milliseconds (upper bound of its bucket); 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_upper_us(i) as f64 / 1000.0;
            }
        }
        bucket_upper_us(BUCKETS - 1) as f64 / 1000.0
    }
}

/// Bucket of a microsecond value: 0..3 exactly, then its octave and the two bits below
/// the top one.
fn bucket_of(us: u64) -> usize {
    if us < 4 {
        return us as usize;
    }
    let octave = 63 - us.leading_zeros();
    let sub = (us >> (octave - 2)) & 3;
    (((octave - 1) * SUB_BUCKETS) as usize + sub as usize).min(BUCKETS - 1)
}

/// Largest value in bucket `i`.
fn bucket_upper_us(i: usize) -> u64 {
    if i < 4 {
        return i as u64;
    }
    let octave = (i / 4) as u32 + 1;
    let sub = (i % 4) as u64;
    ((4 + sub) << (octave - 2)) + (1u64 << (octave - 2)) - 1
}

/// API keys with a slot of their own; Fetch from followers gets the extra slot, as Kafka
/// splits `request=Fetch` into `FetchConsumer` and `FetchFollower`.
pub const API_SLOTS: usize = 72;
pub const FETCH_FOLLOWER_SLOT: usize = API_SLOTS - 1;
/// Request versions counted per API (`RequestsPerSec,request=X,version=V`).
pub const MAX_VERSION: usize = 16;

/// `kafka.network:type=RequestMetrics,...` for one API.
pub struct RequestMetrics {
    pub requests_per_version: [Counter; MAX_VERSION],
    pub total_time: Histogram,
}

impl RequestMetrics {
    const fn new() -> RequestMetrics {
        RequestMetrics {
            requests_per_version: [const { Counter::new() }; MAX_VERSION],
            total_time: Histogram::new(),
        }
    }
}

/// Every metric the broker records as it works.
pub struct BrokerMetrics {
    pub requests: [RequestMetrics; API_SLOTS],
    /// `kafka.network:type=RequestChannel,name=RequestQueueSize`: requests read and not yet
    /// answered.
    pub request_queue_size: Gauge,
    // kafka.server:type=BrokerTopicMetrics (all topics)
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    pub messages_in: Counter,
    pub replication_bytes_in: Counter,
    pub replication_bytes_out: Counter,
    pub failed_produce_requests: Counter,
    pub failed_fetch_requests: Counter,
    pub total_produce_requests: Counter,
    pub total_fetch_requests: Counter,
    // kafka.server:type=ReplicaManager
    pub isr_shrinks: Counter,
    pub isr_expands: Counter,
    pub failed_isr_updates: Counter,
    // kafka.controller:type=KafkaController / ControllerStats
    pub controller_state: Gauge,
    pub offline_partitions: Gauge,
    pub global_partition_count: Gauge,
    pub global_topic_count: Gauge,
    pub unclean_leader_elections: Counter,
    /// LeaderElectionRateAndTimeMs: time spent on BrokerChange events.
    pub leader_election_time: Histogram,
    /// Controller events processed, by ControllerState code (`<State>RateAndTimeMs`).
    pub controller_event_time: [Histogram; CONTROLLER_STATES.len()],
    pub controller_event_queue_size: Gauge,
    // kafka.server:type=FetchSessionCache
    pub fetch_sessions: Gauge,
    pub fetch_session_partitions: Gauge,
}

impl BrokerMetrics {
    const fn new() -> BrokerMetrics {
        BrokerMetrics {
            requests: [const { RequestMetrics::new() }; API_SLOTS],
            request_queue_size: Gauge::new(0),
            bytes_in: Counter::new(),
            bytes_out: Counter::new(),
            messages_in: Counter::new(),
            replication_bytes_in: Counter::new(),
            replication_bytes_out: Counter::new(),
            failed_produce_requests: Counter::new(),
            failed_fetch_requests: Counter::new(),
            total_produce_requests: Counter::new(),
            total_fetch_requests: Counter::new(),
            isr_shrinks: Counter::new(),
            isr_expands: Counter::new(),
            failed_isr_updates: Counter::new(),
            controller_state: Gauge::new(0),
            offline_partitions: Gauge::new(0),
            global_partition_count: Gauge::new(0),
            global_topic_count: Gauge::new(0),
            unclean_leader_elections: Counter::new(),
            leader_election_time: Histogram::new(),
            controller_event_time: [const { Histogram::new() }; CONTROLLER_STATES.len()],
            controller_event_queue_size: Gauge::new(0),
            fetch_sessions: Gauge::new(0),
            fetch_session_partitions: Gauge::new(0),
        }
    }

    /// The request slot of an API key (`FETCH_FOLLOWER_SLOT` for a follower's Fetch).
    pub fn request_slot(api_key: i16, from_follower: bool) -> usize {
        if api_key == 1 && from_follower {
            FETCH_FOLLOWER_SLOT
        } else {
            (api_key.max(0) as usize).min(FETCH_FOLLOWER_SLOT - 1)
        }
    }

    /// A produce appended to a partition this broker leads (BytesIn, MessagesIn).
    pub fn produce_appended(&self, bytes: usize, messages: i64) {
        self.total_produce_requests.inc();
        self.bytes_in.add(bytes as u64);
        self.messages_in.add(messages.max(0) as u64);
    }

    pub fn produce_failed(&self) {
        self.total_produce_requests.inc();
        self.failed_produce_requests.inc();
    }

    /// A fetch answered with `bytes` of records: BytesOut for consumers, ReplicationBytesOut
    /// for followers (KafkaApis.handleFetchRequest).
    pub fn fetched(&self, from_follower: bool, bytes: u64) {
        self.total_fetch_requests.inc();
        if from_follower {
            self.replication_bytes_out.add(bytes);
        } else {
            self.bytes_out.add(bytes);
        }
    }

    /// One request answered: counts it and its total time (RequestChannel.updateRequestMetrics).
    pub fn record_request(&self, slot: usize, version: i16, total: Duration) {
        let m = &self.requests[slot];
        m.requests_per_version[(version.max(0) as usize).min(MAX_VERSION - 1)].inc();
        m.total_time.observe(total);
    }

    /// One controller event processed in `state` (a ControllerState name), taking `took`.
    pub fn record_controller_event(&self, state: &str, took: Duration) {
        if let Some(code) = controller_state_code(state) {
            self.controller_event_time[code as usize].observe(took);
            if state == "BrokerChange" {
                self.leader_election_time.observe(took);
            }
        }
    }
}

/// ControllerState names in the order of their codes (controller/ControllerState.scala).
pub const CONTROLLER_STATES: [&str; 18] = [
    "Idle",
    "ControllerChange",
    "BrokerChange",
    "TopicChange",
    "TopicDeletion",
    "AlterPartitionReassignment",
    "AutoLeaderBalance",
    "ManualLeaderBalance",
    "ControlledShutdown",
    "IsrChange",
    "LeaderAndIsrResponseReceived",
    "LogDirChange",
    "ControllerShutdown",
    "UncleanLeaderElectionEnable",
    "TopicUncleanLeaderElectionEnable",
    "ListPartitionReassignment",
    "UpdateMetadataResponseReceived",
    "UpdateFeatures",
];

/// The `ControllerState` gauge value of a state name.
pub fn controller_state_code(state: &str) -> Option<i64> {
    CONTROLLER_STATES
        .iter()
        .position(|s| *s == state)
        .map(|i| i as i64)
}

/// The broker's metrics (one broker per process).
pub static METRICS: BrokerMetrics = BrokerMetrics::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_bound_their_values() {
        let mut last = 0;
        for us in [
            0u64,
            1,
            2,
            3,
            4,
            5,
            7,
            8,
            9,
            15,
            16,
            100,
            1_000,
            12_345,
            1 << 30,
        ] {
            let b = bucket_of(us);
            assert!(b >= last, "{us} fell into an earlier bucket");
            assert!(bucket_upper_us(b) >= us, "bucket {b} does not bound {us}");
            assert!(
                b == 0 || bucket_upper_us(b - 1) < us,
                "bucket {b} is not the first for {us}"
            );
            last = b;
        }
    }

    #[test]
    fn quantiles_come_from_the_buckets() {
        let h = Histogram::new();
        for ms in 1..=100u64 {
            h.observe(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 100);
        let p50 = h.quantile_ms(0.5);
        assert!((50.0..=60.0).contains(&p50), "p50 {p50}");
        let p99 = h.quantile_ms(0.99);
        assert!((99.0..=120.0).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn controller_state_codes_match_kafka() {
        assert_eq!(controller_state_code("Idle"), Some(0));
        assert_eq!(controller_state_code("BrokerChange"), Some(2));
        assert_eq!(controller_state_code("IsrChange"), Some(9));
        assert_eq!(controller_state_code("UpdateFeatures"), Some(17));
    }
}
