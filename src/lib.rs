//! zkafka: a broker that mirrors classic, ZooKeeper-coordinated Apache Kafka 2.x.

pub mod admin;
pub mod log;
