//! The broker's metadata cache (MetadataCache.scala): what this broker believes about the
//! cluster, fed only by the controller's UpdateMetadata requests and read by Metadata requests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

use crate::cluster::Broker;

/// One partition as the controller last described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

/// One consistent view of the cluster; replaced whole on every UpdateMetadata.
#[derive(Clone, Debug, Default)]
pub struct MetadataSnapshot {
    pub brokers: BTreeMap<i32, Broker>,
    pub controller_id: Option<i32>,
    pub topics: BTreeMap<String, BTreeMap<i32, PartitionMetadata>>,
}

impl MetadataSnapshot {
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionMetadata> {
        self.topics.get(topic)?.get(&partition)
    }
}

/// Leader sentinel the controller sends for partitions of a topic being deleted.
const LEADER_DURING_DELETE: i32 = -2;

#[derive(Default)]
pub struct MetadataCache {
    snapshot: RwLock<Arc<MetadataSnapshot>>,
    /// Set by the controller's first UpdateMetadata; before it the cache knows no broker,
    /// not even this one.
    initialized: AtomicBool,
    first_update: Notify,
    /// A wait for the first update timed out (logged once).
    wait_timed_out: AtomicBool,
}

impl MetadataCache {
    /// A cheap, immutable view; readers never block the next update for long.
    pub fn snapshot(&self) -> Arc<MetadataSnapshot> {
        self.snapshot.read().expect("metadata lock").clone()
    }

    /// Applies an UpdateMetadata: brokers replaced, controller adopted, partitions upserted
    /// (or removed when their leader is -2, i.e. their topic is being deleted).
    pub fn update(
        &self,
        controller_id: i32,
        brokers: Vec<Broker>,
        partitions: Vec<(String, i32, PartitionMetadata)>,
    ) -> Vec<(String, i32)> {
        let mut guard = self.snapshot.write().expect("metadata lock");
        let mut next = (**guard).clone();
        next.brokers = brokers.into_iter().map(|b| (b.id, b)).collect();
        next.controller_id = (controller_id >= 0).then_some(controller_id);
        let mut deleted = Vec::new();
        for (topic, p, meta) in partitions {
            if meta.leader == LEADER_DURING_DELETE {
                if let Some(parts) = next.topics.get_mut(&topic) {
                    parts.remove(&p);
                    if parts.is_empty() {
                        next.topics.remove(&topic);
                    }
                }
                deleted.push((topic, p));
            } else {
                next.topics.entry(topic).or_default().insert(p, meta);
            }
        }
        *guard = Arc::new(next);
        drop(guard);
        if !self.initialized.swap(true, Ordering::SeqCst) {
            self.first_update.notify_waiters();
        }
        deleted
    }

    /// True the first time it is called: a timed-out wait is logged once, not per request.
    pub fn first_wait_timeout(&self) -> bool {
        !self.wait_timed_out.swap(true, Ordering::SeqCst)
    }

    /// True once an UpdateMetadata has been applied.
    pub fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::SeqCst)
    }

    /// Waits (at most `limit`) for the controller's first UpdateMetadata; true once it came.
    pub async fn await_first_update(&self, limit: Duration) -> bool {
        crate::wait::until(&self.first_update, limit, || self.is_initialized()).await
    }
}
