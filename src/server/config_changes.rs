//! DynamicConfigManager for topics: every broker watches `/config/changes`, applies each new
//! `config_change_<seq>` notification by re-reading the entity's config (the notification is
//! only a trigger), and purges notifications older than 15 minutes.

use std::sync::Arc;
use std::time::Duration;

use crate::replica::ReplicaManager;
use crate::zk::codec::decode_config_change;
use crate::zk::{paths, KafkaZkClient, SessionEvent, ZkResult};

/// Notifications older than this are deleted (ZkNodeChangeNotificationListener).
const NOTIFICATION_EXPIRY_MS: i64 = 15 * 60 * 1000;
const PREFIX: &str = "config_change_";

pub fn start(zk: KafkaZkClient, replicas: Arc<ReplicaManager>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sessions = zk.subscribe();
        // On startup every existing notification is applied (configs are read fresh anyway).
        let mut last_seq: i64 = -1;
        loop {
            let watcher = match process_changes(&zk, &replicas, &mut last_seq).await {
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
            *last_seq = seq;
            match decode_config_change(&data) {
                Some((ty, topic)) if ty == "topics" => apply_topic_config(replicas, &topic).await,
                Some(_) => {} // client/user/broker quotas and dynamic broker configs: not supported
                None => {
                    tracing::warn!(target: "kafka.server.DynamicConfigManager", "ignoring undecodable notification {path}")
                }
            }
        }
        if now - stat.ctime > NOTIFICATION_EXPIRY_MS {
            let _ = zk.client().await?.delete(&path, None).await;
        }
    }
    Ok(watcher)
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

fn policy_name(p: crate::log::CleanupPolicy) -> &'static str {
    match (p.delete, p.compact) {
        (true, true) => "compact,delete",
        (false, true) => "compact",
        _ => "delete",
    }
}
