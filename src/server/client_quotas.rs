//! Client quota configs from ZooKeeper (Kafka's ClientIdConfigHandler / UserConfigHandler):
//! every `/config/users/...` and `/config/clients/...` entity is read at startup, and each
//! `users/...` or `clients/...` change notification re-reads that one entity and hands its
//! quota keys to the ClientQuotaManagers. Entity names in znodes are sanitized; the managers
//! work with the plain names.

use std::collections::{BTreeMap, HashMap};

use crate::admin::zk_admin::{desanitize_entity_name, sanitize_entity_name};
use crate::config::dynamic::DEFAULT_ENTITY;
use crate::config::KafkaConfig;
use crate::controller::now_ms;
use crate::logging::escape;
use crate::network::request::RequestContext;
use crate::quota::{
    ClientQuotaManager, ClientQuotaManagers, ClientQuotaType, EntityName, QuotaEntity, QuotaWindow,
};
use crate::zk::{KafkaZkClient, ZkResult};

/// Long.MAX as the "no static default" marker of `quota.producer.default`/`quota.consumer.default`.
const UNLIMITED: i64 = i64::MAX;

/// The managers with `quota.window.*` and the static defaults of the broker config.
pub fn managers_from_config(config: &KafkaConfig) -> ClientQuotaManagers {
    let window = QuotaWindow::new(
        config.int("quota.window.num") as i64,
        config.int("quota.window.size.seconds") as i64,
    );
    let static_default = |key: &str| {
        let v = config.long(key);
        (v != UNLIMITED && v > 0).then_some(v as f64)
    };
    ClientQuotaManagers::new(
        window,
        static_default("quota.producer.default"),
        static_default("quota.consumer.default"),
    )
}

fn entity_name(segment: &str) -> EntityName {
    if segment == DEFAULT_ENTITY {
        EntityName::Default
    } else {
        EntityName::Name(desanitize_entity_name(segment))
    }
}

fn segment(name: &EntityName) -> String {
    match name {
        EntityName::Default => DEFAULT_ENTITY.to_string(),
        EntityName::Name(n) => sanitize_entity_name(n),
    }
}

/// The entity of a notification's (type, name): `users`+`U`, `users`+`U/clients/C`,
/// `clients`+`C`. Anything else is not a client quota entity.
pub fn entity_from_path(entity_type: &str, name: &str) -> Option<QuotaEntity> {
    match entity_type {
        "clients" if !name.contains('/') => Some(QuotaEntity::new(None, Some(entity_name(name)))),
        "users" => match name.split('/').collect::<Vec<_>>()[..] {
            [u] => Some(QuotaEntity::new(Some(entity_name(u)), None)),
            [u, "clients", c] => Some(QuotaEntity::new(Some(entity_name(u)), Some(entity_name(c)))),
            _ => None,
        },
        _ => None,
    }
}

/// The entity's path under `/config` (`users/alice/clients/app`), names sanitized.
pub fn entity_path(entity: &QuotaEntity) -> Option<String> {
    match (&entity.user, &entity.client_id) {
        (Some(u), None) => Some(format!("users/{}", segment(u))),
        (Some(u), Some(c)) => Some(format!("users/{}/clients/{}", segment(u), segment(c))),
        (None, Some(c)) => Some(format!("clients/{}", segment(c))),
        (None, None) => None,
    }
}

/// The quota keys of an entity config with numeric values (others are not quotas, e.g. SCRAM
/// credentials on a user, and are skipped).
pub fn quota_values(config: &BTreeMap<String, String>) -> HashMap<String, f64> {
    config
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.trim().parse::<f64>().ok()?)))
        .collect()
}

/// Every client quota entity that has a znode, with its config (startup, DescribeClientQuotas).
pub async fn read_all_entities(
    zk: &KafkaZkClient,
) -> ZkResult<Vec<(QuotaEntity, BTreeMap<String, String>)>> {
    let mut paths = Vec::new();
    for c in zk.get_children("/config/clients").await? {
        paths.push(("clients", c));
    }
    for u in zk.get_children("/config/users").await? {
        for c in zk
            .get_children(&format!("/config/users/{u}/clients"))
            .await?
        {
            paths.push(("users", format!("{u}/clients/{c}")));
        }
        paths.push(("users", u));
    }
    let mut out = Vec::new();
    for (ty, name) in paths {
        let Some(entity) = entity_from_path(ty, &name) else {
            continue;
        };
        let config = zk.get_entity_config(&format!("{ty}/{name}")).await?;
        out.push((entity, config));
    }
    Ok(out)
}

/// Loads every stored quota into the managers (before the broker serves clients).
pub async fn load_all(zk: &KafkaZkClient, managers: &ClientQuotaManagers) -> ZkResult<()> {
    let mut per_type: HashMap<ClientQuotaType, HashMap<QuotaEntity, f64>> = HashMap::new();
    for (entity, config) in read_all_entities(zk).await? {
        let values = quota_values(&config);
        for t in ClientQuotaType::ALL {
            if let Some(v) = values.get(t.config_key()) {
                per_type.entry(t).or_default().insert(entity.clone(), *v);
            }
        }
    }
    for t in ClientQuotaType::ALL {
        managers
            .get(t)
            .replace_all(per_type.remove(&t).unwrap_or_default());
    }
    Ok(())
}

/// A `users/...` or `clients/...` notification: re-reads the entity and applies its quotas.
pub async fn apply_change(
    zk: &KafkaZkClient,
    managers: &ClientQuotaManagers,
    entity_type: &str,
    name: &str,
) -> ZkResult<()> {
    let Some(entity) = entity_from_path(entity_type, name) else {
        return Ok(());
    };
    let config = zk
        .get_entity_config(&format!("{entity_type}/{name}"))
        .await?;
    let values = quota_values(&config);
    managers.update_entity(&entity, &values);
    let target = if entity_type == "users" {
        "kafka.server.UserConfigHandler"
    } else {
        "kafka.server.ClientIdConfigHandler"
    };
    tracing::info!(target: "kafka.server.DynamicConfigManager",
        "Processing override for entityPath: {entity_type}/{name} with config: {:?} ({target})", config);
    Ok(())
}

/// Records `value` for the request's (user, client id) on `manager` and returns the throttle
/// time it earned (0 when within quota or no quota applies); a throttle is also counted for
/// the `throttle-time` metric. One atomic load when no quota of this type exists.
pub fn record(manager: &ClientQuotaManager, ctx: &RequestContext, value: f64) -> u64 {
    if !manager.enabled() {
        return 0;
    }
    let now = now_ms().max(0) as u64;
    let user = ctx.conn.principal.name.as_str();
    let client_id = ctx.client_id();
    let throttle = manager.record_and_get_throttle_time_ms(user, client_id, value, now);
    if throttle > 0 {
        manager.record_throttle(user, client_id, throttle, now);
        tracing::debug!(target: "kafka.server.ClientQuotaManager",
            "Quota violated for sensor ({}-User:{user}-{}). Delay time: ({throttle})",
            manager.quota_type().metric_group(), escape(client_id));
    }
    throttle
}

/// A throttle time as the i32 responses carry.
pub fn as_response_ms(throttle_ms: u64) -> i32 {
    throttle_ms.min(i32::MAX as u64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_paths_round_trip_with_sanitized_names() {
        let e = entity_from_path("users", "CN%3Dalice/clients/<default>").unwrap();
        assert_eq!(e.user, Some(EntityName::Name("CN=alice".into())));
        assert_eq!(e.client_id, Some(EntityName::Default));
        assert_eq!(
            entity_path(&e).unwrap(),
            "users/CN%3Dalice/clients/<default>"
        );
        let c = entity_from_path("clients", "app").unwrap();
        assert_eq!(entity_path(&c).unwrap(), "clients/app");
        assert!(entity_from_path("topics", "t").is_none());
        assert!(entity_from_path("users", "a/b").is_none());
    }
}
