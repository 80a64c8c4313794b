//! The broker's metadata cache (MetadataCache.scala): what this broker believes about the
//! cluster, fed only by the controller's UpdateMetadata requests and read by Metadata requests.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::cluster::Broker;

/// One consistent view of the cluster; replaced whole on every UpdateMetadata.
#[derive(Clone, Debug, Default)]
pub struct MetadataSnapshot {
    pub brokers: BTreeMap<i32, Broker>,
    pub controller_id: Option<i32>,
}

#[derive(Default)]
pub struct MetadataCache {
    snapshot: RwLock<Arc<MetadataSnapshot>>,
}

impl MetadataCache {
    /// A cheap, immutable view; readers never block the next update for long.
    pub fn snapshot(&self) -> Arc<MetadataSnapshot> {
        self.snapshot.read().expect("metadata lock").clone()
    }

    /// Applies an UpdateMetadata: the live broker list is replaced, the controller adopted.
    pub fn update_brokers(&self, controller_id: i32, brokers: Vec<Broker>) {
        let mut guard = self.snapshot.write().expect("metadata lock");
        let mut next = (**guard).clone();
        next.brokers = brokers.into_iter().map(|b| (b.id, b)).collect();
        next.controller_id = (controller_id >= 0).then_some(controller_id);
        *guard = Arc::new(next);
    }
}
