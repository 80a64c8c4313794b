//! zkafka: a broker that mirrors classic, ZooKeeper-coordinated Apache Kafka 2.x.
//!
//! Modules follow Kafka's own packages: `config`, `zk` (znode paths and codecs), `controller`,
//! `log` (segments, indexes, checkpoints, recovery, retention), `network`, `server` (broker
//! lifecycle and request handlers), `metadata` (the broker's metadata cache), `cluster`
//! (brokers and endpoints), `security` (principals, authentication, authorization), `quota`
//! (rates and throttle times), `admin` (the command-line tools) and `ui` (the live
//! cluster view).

pub mod admin;
pub mod alloc;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod coordinator;
pub mod log;
pub mod logging;
pub mod metadata;
pub mod metrics;
pub mod network;
pub mod observability;
#[cfg(feature = "perf")]
pub mod perf;
pub mod quota;
pub mod record;
pub mod replica;
pub mod security;
pub mod server;
pub mod ui;
pub mod wait;
pub mod zk;

#[global_allocator]
static GLOBAL: alloc::BrokerAllocator = alloc::BrokerAllocator;
