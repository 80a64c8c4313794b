//! ZooKeeper: znode paths, one codec per znode, and the broker's session and operations.

pub mod acls;
pub mod admin;
pub mod client;
pub mod codec;
pub mod error;
pub mod paths;
pub mod producer_id;
pub mod reachability;
pub mod topics;

pub use client::{FencedOp, KafkaZkClient, SessionEvent, ZkError, ZkResult};
pub use topics::{on_watch, UpdateOutcome};
