//! The transaction coordinator (kafka.coordinator.transaction): transactional ids, their
//! producer ids and epochs, and the two-phase commit of transactions, persisted in the
//! internal topic `__transaction_state`.
//!
//! - `producer_id_manager`: producer ids handed out from blocks of 1000 claimed through
//!   `/latest_producer_id_block`
//! - `log`: the exact key/value schemas of `__transaction_state` records
//! - `metadata`: one transactional id and its state machine
//! - `state_manager`: partition ownership, load/unload, appends
//! - `marker_channel`: WriteTxnMarkers to partition leaders
//! - `coordinator`: InitProducerId, AddPartitionsToTxn; `end_txn`: EndTxn, markers,
//!   timeouts and expiry

// Named after Kafka's TransactionCoordinator.scala.
#[allow(clippy::module_inception)]
pub mod coordinator;
pub mod end_txn;
pub mod errors;
pub mod log;
pub mod marker_channel;
pub mod metadata;
pub mod producer_id_manager;
pub mod state_manager;

pub use coordinator::{TransactionConfig, TransactionCoordinator};
pub use log::TRANSACTION_STATE_TOPIC_NAME;
pub use producer_id_manager::ProducerIdManager;
