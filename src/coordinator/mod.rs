//! The group coordinator (kafka.coordinator.group): consumer group membership, rebalances
//! and committed offsets, persisted in the internal topic `__consumer_offsets`.
//!
//! - `records`: the exact key/value schemas of `__consumer_offsets` records
//! - `member`, `group`: one member, one group and its state machine
//! - `metadata_manager`: partition ownership, load/unload, appends; `load`: reading a
//!   partition's records into groups, offsets and pending transactional offsets
//! - `join`: JoinGroup and the rebalance; `sync`: SyncGroup; `offsets`: commit/fetch/delete
//!   and expiry of offsets; `coordinator`: heartbeats, leaving, describe/list/delete, timers
//! - `transaction`: the transaction coordinator's package (producer ids first)

// Named after Kafka's GroupCoordinator.scala, which the brief's module map also uses.
#[allow(clippy::module_inception)]
pub mod coordinator;
pub mod errors;
pub mod group;
pub mod join;
pub mod load;
pub mod member;
pub mod metadata_manager;
pub mod offsets;
pub mod records;
pub mod sync;
pub mod transaction;
pub mod txn_offsets;

pub use coordinator::{CoordinatorConfig, GroupCoordinator};
pub use metadata_manager::{java_abs_hash, GROUP_METADATA_TOPIC_NAME};
