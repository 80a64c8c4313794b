//! zkafka: a broker that mirrors classic, ZooKeeper-coordinated Apache Kafka 2.x.
//!
//! Modules follow Kafka's own packages: `config`, `zk` (znode paths and codecs), `controller`,
//! `network`, `server` (broker lifecycle and request handlers), `metadata` (the broker's
//! metadata cache) and `cluster` (brokers and endpoints).

pub mod admin;
pub mod alloc;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod logging;
pub mod metadata;
pub mod network;
pub mod server;
pub mod zk;

#[global_allocator]
static GLOBAL: alloc::BrokerAllocator = alloc::BrokerAllocator;
