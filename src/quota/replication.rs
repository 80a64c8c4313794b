//! Replication throttles (server/ReplicationQuotaManager.scala): one manager for the leader
//! side and one for the follower side of this broker. Each holds the throttled replicas of
//! this broker per topic (from the topic configs `leader.replication.throttled.replicas` /
//! `follower.replication.throttled.replicas`), the bound (`leader.replication.throttled.rate` /
//! `follower.replication.throttled.rate` from `/config/brokers/<id>`) and the byte rate of the
//! throttled partitions' replication traffic, sampled as Kafka's `SimpleRate` over
//! `replication.quota.window.num` windows of `replication.quota.window.size.seconds`.
//!
//! The fetch paths ask `is_throttled` first: with no throttled topic that is one relaxed
//! atomic load, so an unthrottled broker pays nothing more.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Instant;

use super::rate::{QuotaWindow, Rate};
use crate::log::TopicPartition;

/// The bound meaning "no throttle" (Kafka's `ReplicationQuotaManagerConfig.QuotaBytesPerSecondDefault`).
pub const UNTHROTTLED: i64 = i64::MAX;

/// Which replication traffic a manager measures (Kafka's `QuotaType`); its name is the
/// metric group (`kafka.server:type=LeaderReplication,name=byte-rate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicationType {
    LeaderReplication,
    FollowerReplication,
}

impl ReplicationType {
    pub fn name(self) -> &'static str {
        match self {
            ReplicationType::LeaderReplication => "LeaderReplication",
            ReplicationType::FollowerReplication => "FollowerReplication",
        }
    }
}

/// A topic's throttled partitions on this broker: all of them (`*`) or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThrottledPartitions {
    All,
    Some(Vec<i32>),
}

impl ThrottledPartitions {
    fn contains(&self, partition: i32) -> bool {
        match self {
            ThrottledPartitions::All => true,
            ThrottledPartitions::Some(ps) => ps.contains(&partition),
        }
    }
}

/// TopicConfigHandler.parseThrottledPartitions: the partitions of `partition:broker` pairs
/// naming `broker_id`, all of them for `*`, none for an empty value. The value was validated
/// when written; a malformed pair is skipped here rather than trusted.
pub fn parse_throttled_partitions(value: &str, broker_id: i32) -> Option<ThrottledPartitions> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value == "*" {
        return Some(ThrottledPartitions::All);
    }
    let partitions = value
        .split(',')
        .filter_map(|pair| {
            let (p, b) = pair.trim().split_once(':')?;
            let (p, b) = (p.trim().parse::<i32>().ok()?, b.trim().parse::<i32>().ok()?);
            (b == broker_id).then_some(p)
        })
        .collect();
    Some(ThrottledPartitions::Some(partitions))
}

/// Milliseconds on a monotonic clock (sample windows must not move with the wall clock).
fn monotonic_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

#[derive(Debug)]
pub struct ReplicationQuotaManager {
    replication_type: ReplicationType,
    /// Set while any topic has throttled partitions: the fast path of `is_throttled`.
    any_throttled: AtomicBool,
    throttled: RwLock<HashMap<String, ThrottledPartitions>>,
    /// Bytes per second; `UNTHROTTLED` when no rate is configured.
    bound: AtomicI64,
    rate: Mutex<Rate>,
}

impl ReplicationQuotaManager {
    pub fn new(replication_type: ReplicationType, window: QuotaWindow) -> ReplicationQuotaManager {
        ReplicationQuotaManager {
            replication_type,
            any_throttled: AtomicBool::new(false),
            throttled: RwLock::new(HashMap::new()),
            bound: AtomicI64::new(UNTHROTTLED),
            rate: Mutex::new(Rate::new(window)),
        }
    }

    pub fn replication_type(&self) -> ReplicationType {
        self.replication_type
    }

    /// `updateQuota`: the new bound in bytes/s applies from the next check.
    pub fn update_quota(&self, bytes_per_second: i64) {
        self.bound.store(bytes_per_second, Ordering::Relaxed);
    }

    /// `upperBound`: the configured bound in bytes/s.
    pub fn upper_bound(&self) -> i64 {
        self.bound.load(Ordering::Relaxed)
    }

    /// `isQuotaExceeded`: the measured rate of throttled traffic is above the bound.
    pub fn is_quota_exceeded(&self) -> bool {
        let bound = self.upper_bound();
        if bound == UNTHROTTLED {
            return false;
        }
        self.byte_rate() > bound as f64
    }

    /// The measured byte rate of throttled replication traffic (the `byte-rate` metric).
    pub fn byte_rate(&self) -> f64 {
        let mut rate = self.rate.lock().expect("replication quota rate");
        rate.measure_simple(monotonic_ms())
    }

    /// `record`: counts bytes of throttled partitions, whether or not the quota is exceeded
    /// (in-sync replicas' traffic counts too, so the total stays within the bound).
    pub fn record(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let mut rate = self.rate.lock().expect("replication quota rate");
        rate.record(bytes as f64, monotonic_ms());
    }

    /// `isThrottled`: whether `tp` is in this broker's throttled replicas of its topic.
    pub fn is_throttled(&self, tp: &TopicPartition) -> bool {
        if !self.any_throttled.load(Ordering::Relaxed) {
            return false;
        }
        let throttled = self.throttled.read().expect("throttled replicas");
        throttled
            .get(&tp.topic)
            .is_some_and(|t| t.contains(tp.partition))
    }

    /// `markThrottled` / `removeThrottle` from a topic config value (TopicConfigHandler).
    pub fn update_topic(&self, topic: &str, value: &str, broker_id: i32) {
        let mut throttled = self.throttled.write().expect("throttled replicas");
        let changed = match parse_throttled_partitions(value, broker_id) {
            Some(partitions) => {
                throttled.insert(topic.to_string(), partitions.clone()) != Some(partitions)
            }
            None => throttled.remove(topic).is_some(),
        };
        self.any_throttled
            .store(!throttled.is_empty(), Ordering::Relaxed);
        if changed {
            tracing::info!(target: "kafka.server.TopicConfigHandler",
                "{}: throttled replicas of topic {topic} on broker {broker_id} are now {:?}",
                self.replication_type.name(), throttled.get(topic));
        }
    }

    /// How many topics have throttled partitions here (metrics and `/state`).
    pub fn throttled_topic_count(&self) -> usize {
        self.throttled.read().expect("throttled replicas").len()
    }
}

/// The leader and follower managers of a broker (Kafka's `QuotaManagers.leader/follower`).
#[derive(Debug)]
pub struct ReplicationQuotas {
    pub leader: ReplicationQuotaManager,
    pub follower: ReplicationQuotaManager,
}

impl ReplicationQuotas {
    pub fn new(window: QuotaWindow) -> ReplicationQuotas {
        ReplicationQuotas {
            leader: ReplicationQuotaManager::new(ReplicationType::LeaderReplication, window),
            follower: ReplicationQuotaManager::new(ReplicationType::FollowerReplication, window),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_replicas_parse_as_kafka() {
        assert_eq!(parse_throttled_partitions("", 1), None);
        assert_eq!(
            parse_throttled_partitions(" * ", 1),
            Some(ThrottledPartitions::All)
        );
        assert_eq!(
            parse_throttled_partitions("0:1,1:2,2:1,x:1", 1),
            Some(ThrottledPartitions::Some(vec![0, 2]))
        );
        assert_eq!(
            parse_throttled_partitions("0:2", 1),
            Some(ThrottledPartitions::Some(vec![]))
        );
    }

    #[test]
    fn only_named_partitions_are_throttled_and_removal_clears_them() {
        let q = ReplicationQuotaManager::new(
            ReplicationType::LeaderReplication,
            QuotaWindow::default(),
        );
        let tp = |t: &str, p| TopicPartition::new(t, p);
        assert!(!q.is_throttled(&tp("a", 0)));
        q.update_topic("a", "0:1,1:2", 1);
        q.update_topic("b", "*", 1);
        assert!(q.is_throttled(&tp("a", 0)));
        assert!(
            !q.is_throttled(&tp("a", 1)),
            "partition 1 is throttled on broker 2"
        );
        assert!(q.is_throttled(&tp("b", 7)));
        assert!(!q.is_throttled(&tp("c", 0)));
        q.update_topic("a", "", 1);
        q.update_topic("b", "", 1);
        assert!(!q.is_throttled(&tp("b", 7)));
        assert_eq!(q.throttled_topic_count(), 0);
    }

    #[test]
    fn the_quota_is_exceeded_only_above_a_configured_bound() {
        let q = ReplicationQuotaManager::new(
            ReplicationType::FollowerReplication,
            QuotaWindow::default(),
        );
        q.record(10_000_000);
        assert!(!q.is_quota_exceeded(), "no bound configured");
        q.update_quota(100_000);
        assert!(
            q.is_quota_exceeded(),
            "10 MB within one window is over 100 KB/s"
        );
        q.update_quota(100_000_000);
        assert!(!q.is_quota_exceeded(), "the bound changes live");
    }
}
