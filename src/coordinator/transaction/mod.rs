//! The transaction coordinator side of exactly-once (kafka.coordinator.transaction).
//!
//! - `producer_id_manager`: producer ids handed out from blocks of 1000 claimed through
//!   `/latest_producer_id_block`

pub mod producer_id_manager;

pub use producer_id_manager::ProducerIdManager;
