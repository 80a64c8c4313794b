//! DynamicConfigManager: every broker watches `/config/changes`, applies each new
//! `config_change_<seq>` notification by re-reading the entity's config (the notification is
//! only a trigger), and purges notifications older than 15 minutes. Topic changes go to the
//! topic's local logs (TopicConfigHandler); `brokers/<id>` and `brokers/<default>` changes
//! re-read both dynamic broker layers and apply the new log defaults (BrokerConfigHandler).
//! `users/...` and `clients/...` changes re-read the entity's quotas (client_quotas.rs);
//! `users/<user>` changes also re-read that user's SCRAM credentials into the CredentialCache
//! (UserConfigHandler).

use std::sync::Arc;
use std::time::Duration;

use crate::admin::zk_admin::desanitize_entity_name;
use crate::config::dynamic::{DynamicLayers, DEFAULT_ENTITY};
use crate::log::LogConfig;
use crate::quota::ClientQuotaManagers;
use crate::replica::ReplicaManager;
use crate::security::sasl::CredentialCache;
use crate::zk::codec::decode_config_change;
use crate::zk::{paths, KafkaZkClient, SessionEvent, ZkResult};

/// Notifications older than this are deleted (ZkNodeChangeNotificationListener).
const NOTIFICATION_EXPIRY_MS: i64 = 15 * 60 * 1000;
const PREFIX: &str = "config_change_";

pub fn start(
    zk: KafkaZkClient,
    replicas: Arc<ReplicaManager>,
    quotas: Arc<ClientQuotaManagers>,
    credentials: Arc<CredentialCache>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sessions = zk.subscribe();
        // On startup every existing notification is applied (configs are read fresh anyway).
        let mut last_seq: i64 = -1;
        loop {
            let watcher = match process_changes(
                &zk,
                &replicas,
                &quotas,
                &credentials,
                &mut last_seq,
            )
            .await
            {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(target: "kafka.common.ZkNodeChangeNotificationListener", "cannot read {}: {e}; retrying", paths::CONFIG_CHANGES);
                    None
                }
            };
            match watcher {
                Some(w) => tokio::select! {
                    _ = w.changed() => {}
                    Ok(SessionEvent::Initialized) = sessions.recv() => {}
                },
                None => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    })
}

async fn process_changes(
    zk: &KafkaZkClient,
    replicas: &ReplicaManager,
    quotas: &ClientQuotaManagers,
    credentials: &CredentialCache,
    last_seq: &mut i64,
) -> ZkResult<zookeeper_client::OneshotWatcher> {
    let (children, watcher) = zk.get_children_and_watch(paths::CONFIG_CHANGES).await?;
    let now = crate::controller::now_ms();
    for child in children {
        let Some(seq) = child
            .strip_prefix(PREFIX)
            .and_then(|s| s.parse::<i64>().ok())
        else {
            continue;
        };
        let path = format!("{}/{child}", paths::CONFIG_CHANGES);
        let Some((data, stat)) = zk.get_data(&path).await? else {
            continue;
        };
        if seq > *last_seq {
            match decode_config_change(&data) {
                Some((ty, topic)) if ty == "topics" => apply_topic_config(replicas, &topic).await,
                Some((ty, name)) if ty == "brokers" => {
                    let ours = replicas.broker_id().to_string();
                    if name == DEFAULT_ENTITY || name == ours {
                        apply_broker_config(zk, replicas).await?;
                    }
                }
                Some((ty, name)) if ty == "users" || ty == "clients" => {
                    super::client_quotas::apply_change(zk, quotas, &ty, &name).await?;
                    // `users/<user>/clients/<id>` and `users/<default>` hold quotas only.
                    if ty == "users" && !name.contains('/') && name != DEFAULT_ENTITY {
                        update_user_credentials(zk, credentials, &name).await?;
                    }
                }
                Some(_) => {}
                None => {
                    tracing::warn!(target: "kafka.server.DynamicConfigManager", "ignoring undecodable notification {path}")
                }
            }
            // Only now: a ZooKeeper error above retries this notification.
            *last_seq = seq;
        }
        if now - stat.ctime > NOTIFICATION_EXPIRY_MS {
            let _ = zk.client().await?.delete(&path, None).await;
        }
    }
    Ok(watcher)
}

/// Fills the CredentialCache from every `/config/users/<user>` (startup).
pub async fn load_credentials(zk: &KafkaZkClient, credentials: &CredentialCache) -> ZkResult<()> {
    for user in zk.get_children(paths::CONFIG_USERS).await? {
        if user != DEFAULT_ENTITY {
            update_user_credentials(zk, credentials, &user).await?;
        }
    }
    Ok(())
}

/// Re-reads one user's SCRAM credentials (`sanitized` is the znode name).
async fn update_user_credentials(
    zk: &KafkaZkClient,
    credentials: &CredentialCache,
    sanitized: &str,
) -> ZkResult<()> {
    let config = zk.get_entity_config(&format!("users/{sanitized}")).await?;
    let user = desanitize_entity_name(sanitized);
    for key in credentials.update_user(&user, &config) {
        tracing::warn!(target: "kafka.server.UserConfigHandler", "ignoring unparsable {key} credential of user {user} in {}/{sanitized}", paths::CONFIG_USERS);
    }
    tracing::info!(target: "kafka.server.UserConfigHandler", "Processing credentials for user {user}");
    Ok(())
}

/// Re-reads `/config/topics/<t>` and applies it to every hosted log of the topic.
async fn apply_topic_config(replicas: &ReplicaManager, topic: &str) {
    let config = replicas.topic_log_config(topic).await;
    let mut applied = 0;
    for p in replicas
        .all_partitions()
        .into_iter()
        .filter(|p| p.tp.topic == topic)
    {
        if let Some(log) = p.log() {
            log.update_config(config.clone());
            applied += 1;
        }
    }
    tracing::info!(target: "kafka.server.TopicConfigHandler",
        "Processing override for entityPath: topics/{topic}: applied to {applied} local partition(s) (retention.ms={}, segment.bytes={}, min.insync.replicas={}, cleanup.policy={})",
        config.retention_ms, config.segment_bytes, config.min_insync_replicas, policy_name(config.cleanup_policy));
}

/// Both dynamic broker layers of broker `id` (`/config/brokers/<id>`, `<default>`).
pub async fn read_broker_layers(zk: &KafkaZkClient, id: i32) -> ZkResult<DynamicLayers> {
    Ok(DynamicLayers {
        per_broker: zk.get_entity_config(&format!("brokers/{id}")).await?,
        cluster_default: zk
            .get_entity_config(&format!("brokers/{DEFAULT_ENTITY}"))
            .await?,
    })
}

/// Re-reads the dynamic broker layers and applies what changed: new log defaults go to the
/// LogManager and every hosted topic's logs (topic overrides still win).
pub async fn apply_broker_config(zk: &KafkaZkClient, replicas: &ReplicaManager) -> ZkResult<()> {
    let layers = read_broker_layers(zk, replicas.broker_id()).await?;
    let old = replicas.dynamic_config.update(layers.clone());
    replicas.apply_replication_throttled_rates();
    let new = replicas.dynamic_config.current();
    tracing::info!(target: "kafka.server.BrokerConfigHandler",
        "Processing override for broker {}: per-broker {:?}, cluster default {:?}",
        replicas.broker_id(), layers.per_broker, layers.cluster_default);
    let props = new.log_config_props();
    if old.log_config_props() == props {
        return Ok(());
    }
    match LogConfig::from_props(&props) {
        Ok(defaults) => replicas.log_manager.update_default_config(defaults),
        Err(e) => {
            tracing::error!(target: "kafka.server.DynamicLogConfig", "new log defaults are invalid, keeping the old ones: {e}");
            return Ok(());
        }
    }
    let topics: std::collections::BTreeSet<String> = replicas
        .all_partitions()
        .into_iter()
        .map(|p| p.tp.topic.clone())
        .collect();
    for topic in topics {
        apply_topic_config(replicas, &topic).await;
    }
    Ok(())
}

fn policy_name(p: crate::log::CleanupPolicy) -> &'static str {
    match (p.delete, p.compact) {
        (true, true) => "compact,delete",
        (false, true) => "compact",
        _ => "delete",
    }
}
