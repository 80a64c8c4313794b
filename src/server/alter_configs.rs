//! AlterConfigs (key 33) and IncrementalAlterConfigs (key 44) for topics and brokers
//! (ZkAdminManager.alterConfigs / incrementalAlterConfigs): validate the whole new set of a
//! resource, then write `/config/<type>/<name>` and a `/config/changes` notification, so a
//! resource is changed completely or not at all. Every broker (this one too) applies the
//! change when it sees the notification (`config_changes`).

use std::collections::BTreeMap;

use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::admin::error::INVALID_CONFIG;
use crate::admin::zk_admin;
use crate::config::def::Type;
use crate::config::dynamic::{find_def, validate_dynamic, DEFAULT_ENTITY};
use crate::log::config_def::{validate_topic_config_names, validate_topic_configs};
use crate::network::request::RequestContext;
use crate::security::authorizer::AclOperation;
use crate::server::apis::KafkaApis;
use crate::server::config_changes;
use crate::server::errors;

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
const RESOURCE_BROKER_LOGGER: i8 = 8;

/// IncrementalAlterConfigs operations (`AlterConfigOp.OpType`).
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

type ApiError = (i16, String);

/// What a principal needs on the resource (cluster for brokers, the topic for topics).
const ALTER: AclOperation = AclOperation::AlterConfigs;

/// One requested change of an IncrementalAlterConfigs resource.
struct Op {
    name: String,
    op: i8,
    value: Option<String>,
}

impl KafkaApis {
    pub async fn handle_alter_configs(
        &self,
        ctx: &RequestContext,
        req: &AlterConfigsRequest,
    ) -> AlterConfigsResponse {
        let mut responses = Vec::new();
        for r in &req.resources {
            let entries: Vec<(String, Option<String>)> = r
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                .collect();
            let (ty, name) = (r.resource_type, &r.resource_name);
            // BROKER_LOGGER is refused as invalid before any authorization (as Kafka does).
            let denial = (ty != RESOURCE_BROKER_LOGGER)
                .then(|| self.config_resource_denial(ctx, ALTER, ty, name))
                .flatten();
            let (code, msg) = match denial {
                Some(code) => (code, None),
                None => split(
                    self.alter_whole(ty, name, &entries, req.validate_only)
                        .await,
                ),
            };
            responses.push(
                alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(msg)
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone()),
            );
        }
        AlterConfigsResponse::default().with_responses(responses)
    }

    pub async fn handle_incremental_alter_configs(
        &self,
        ctx: &RequestContext,
        req: &IncrementalAlterConfigsRequest,
    ) -> IncrementalAlterConfigsResponse {
        let mut responses = Vec::new();
        for r in &req.resources {
            let ops: Vec<Op> = r
                .configs
                .iter()
                .map(|c| Op {
                    name: c.name.to_string(),
                    op: c.config_operation,
                    value: c.value.as_ref().map(|v| v.to_string()),
                })
                .collect();
            let (ty, name) = (r.resource_type, &r.resource_name);
            let (code, msg) = match self.config_resource_denial(ctx, ALTER, ty, name) {
                Some(code) => (code, None),
                None => split(
                    self.alter_incremental(ty, name, &ops, req.validate_only)
                        .await,
                ),
            };
            responses.push(
                incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(msg)
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone()),
            );
        }
        IncrementalAlterConfigsResponse::default().with_responses(responses)
    }

    /// AlterConfigs: the entries replace the resource's whole dynamic set.
    async fn alter_whole(
        &self,
        ty: i8,
        name: &str,
        entries: &[(String, Option<String>)],
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let nulls: Vec<&str> = entries
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_str())
            .collect();
        if !nulls.is_empty() {
            return Err((
                errors::INVALID_REQUEST,
                format!("Null value not supported for : {}", nulls.join(",")),
            ));
        }
        let configs: BTreeMap<String, String> = entries
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect();
        match ty {
            RESOURCE_TOPIC => self.alter_topic(name, configs, validate_only).await,
            RESOURCE_BROKER => {
                let entity = self.broker_entity(name)?;
                self.alter_broker(ty, name, &entity, configs, validate_only)
                    .await
            }
            other => Err(unsupported_type(other)),
        }
    }

    /// IncrementalAlterConfigs: the operations apply to the stored dynamic set.
    async fn alter_incremental(
        &self,
        ty: i8,
        name: &str,
        ops: &[Op],
        validate_only: bool,
    ) -> Result<(), ApiError> {
        check_ops(ops)?;
        match ty {
            RESOURCE_TOPIC => {
                let list_ops = ops.iter().filter(|o| o.op >= OP_APPEND);
                validate_topic_config_names(list_ops.map(|o| o.name.as_str()))
                    .map_err(|e| (INVALID_CONFIG, e.message))?;
                let mut configs = self.stored(&format!("topics/{name}")).await?;
                prepare_incremental(ops, &mut configs, topic_list_key)
                    .map_err(|e| (errors::INVALID_REQUEST, e))?;
                self.alter_topic(name, configs, validate_only).await
            }
            RESOURCE_BROKER => {
                let entity = self.broker_entity(name)?;
                let mut configs = self.stored(&format!("brokers/{entity}")).await?;
                prepare_incremental(ops, &mut configs, broker_list_key)
                    .map_err(|e| (errors::INVALID_REQUEST, e))?;
                self.alter_broker(ty, name, &entity, configs, validate_only)
                    .await
            }
            other => Err(unsupported_type(other)),
        }
    }

    async fn stored(&self, entity_path: &str) -> Result<BTreeMap<String, String>, ApiError> {
        self.replica_manager
            .zk
            .get_entity_config(entity_path)
            .await
            .map_err(|e| (errors::UNKNOWN_SERVER_ERROR, e.to_string()))
    }

    async fn alter_topic(
        &self,
        topic: &str,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        if !self.metadata_cache.snapshot().topics.contains_key(topic) {
            return Err((
                errors::UNKNOWN_TOPIC_OR_PARTITION,
                format!("The topic '{topic}' does not exist."),
            ));
        }
        // Unknown names are InvalidConfigurationException (INVALID_CONFIG); bad values are
        // ConfigException, which ZkAdminManager turns into INVALID_REQUEST.
        validate_topic_config_names(configs.keys().map(String::as_str))
            .map_err(|e| (INVALID_CONFIG, e.message))?;
        validate_topic_configs(&configs)
            .map_err(|e| invalid_value(RESOURCE_TOPIC, topic, e.message))?;
        if validate_only {
            return Ok(());
        }
        tracing::info!(target: "kafka.server.ZkAdminManager",
            "Updating topic {topic} with new configuration : {}", loggable(&configs));
        zk_admin::change_entity_config(
            &self.replica_manager.zk,
            &format!("topics/{topic}"),
            &configs,
        )
        .await
        .map_err(|e| (e.code(), e.to_string()))
    }

    /// `getBrokerId`: empty name = cluster default; any other must be this broker's id.
    fn broker_entity(&self, name: &str) -> Result<String, ApiError> {
        if name.is_empty() {
            return Ok(DEFAULT_ENTITY.to_string());
        }
        let id: i32 = name.parse().map_err(|_| {
            (
                errors::INVALID_REQUEST,
                format!("Broker id must be an integer, but it is: {name}"),
            )
        })?;
        if id != self.state.broker_id {
            return Err((
                errors::INVALID_REQUEST,
                format!(
                    "Unexpected broker id, expected {}, but received {name}",
                    self.state.broker_id
                ),
            ));
        }
        Ok(id.to_string())
    }

    async fn alter_broker(
        &self,
        ty: i8,
        name: &str,
        entity: &str,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let per_broker = entity != DEFAULT_ENTITY;
        validate_dynamic(&configs, per_broker).map_err(|e| invalid_value(ty, name, e))?;
        self.validate_reconfiguration(&configs)
            .map_err(|e| invalid_value(ty, name, e))?;
        if validate_only {
            return Ok(());
        }
        if per_broker {
            tracing::info!(target: "kafka.server.ZkAdminManager",
                "Updating broker {entity} with new configuration : {}", loggable(&configs));
        } else {
            tracing::info!(target: "kafka.server.ZkAdminManager",
                "Updating brokers with new configuration : {}", loggable(&configs));
        }
        let zk = &self.replica_manager.zk;
        zk_admin::change_entity_config(zk, &format!("brokers/{entity}"), &configs)
            .await
            .map_err(|e| (e.code(), e.to_string()))?;
        // Applied here at once, so a describe that follows on this broker reads its own
        // write; the change notification applies it again (idempotently) everywhere else.
        if let Err(e) = config_changes::apply_broker_config(zk, &self.replica_manager).await {
            tracing::warn!(target: "kafka.server.ZkAdminManager",
                "config of brokers/{entity} written; applying it here waits for its change notification: {e}");
        }
        Ok(())
    }

    /// The reconfigurables' own checks (DynamicThreadPool / LogCleaner
    /// `validateReconfiguration`): thread counts move by at most a factor of two.
    fn validate_reconfiguration(&self, configs: &BTreeMap<String, String>) -> Result<(), String> {
        let current = self.replica_manager.dynamic_config.current();
        for key in [
            "num.io.threads",
            "num.network.threads",
            "num.replica.fetchers",
            "num.recovery.threads.per.data.dir",
            "background.threads",
            "log.cleaner.threads",
        ] {
            let Some(new) = configs.get(key).and_then(|v| v.trim().parse::<i32>().ok()) else {
                continue;
            };
            let old = current.int(key);
            if new == old {
                continue;
            }
            let what = if key == "log.cleaner.threads" {
                "Log cleaner threads".to_string()
            } else {
                format!("Dynamic thread count update validation failed for {key}={new}")
            };
            if new < 1 {
                return Err(format!("{what}, value should be at least 1"));
            }
            if new < old / 2 {
                return Err(format!(
                    "{what}, value should be at least half the current value {old}"
                ));
            }
            if new > old * 2 {
                return Err(format!(
                    "{what}, value should not be greater than double the current value {old}"
                ));
            }
        }
        Ok(())
    }
}

fn split(result: Result<(), ApiError>) -> (i16, Option<StrBytes>) {
    match result {
        Ok(()) => (errors::NONE, None),
        Err((code, msg)) => (code, Some(StrBytes::from_string(msg))),
    }
}

/// `ConfigResource.toString`, as Kafka's messages print it.
fn resource_string(ty: i8, name: &str) -> String {
    let ty = match ty {
        RESOURCE_TOPIC => "TOPIC",
        RESOURCE_BROKER => "BROKER",
        RESOURCE_BROKER_LOGGER => "BROKER_LOGGER",
        _ => "UNKNOWN",
    };
    format!("ConfigResource(type={ty}, name='{name}')")
}

/// A ConfigException from validation, as ZkAdminManager reports it (INVALID_REQUEST).
fn invalid_value(ty: i8, name: &str, why: impl std::fmt::Display) -> ApiError {
    let message = format!(
        "Invalid config value for resource {}: {why}",
        resource_string(ty, name)
    );
    tracing::info!(target: "kafka.server.ZkAdminManager", "{message}");
    (errors::INVALID_REQUEST, message)
}

fn unsupported_type(ty: i8) -> ApiError {
    let name = match ty {
        RESOURCE_BROKER_LOGGER => "BROKER_LOGGER".to_string(),
        _ => "UNKNOWN".to_string(),
    };
    (
        errors::INVALID_REQUEST,
        format!(
            "AlterConfigs is only supported for topics and brokers, but resource type is {name}"
        ),
    )
}

/// Duplicate keys, null values other than DELETE and unknown operations are refused before
/// anything is read.
fn check_ops(ops: &[Op]) -> Result<(), ApiError> {
    let mut seen = std::collections::BTreeSet::new();
    let dups: std::collections::BTreeSet<&str> = ops
        .iter()
        .filter(|o| !seen.insert(o.name.as_str()))
        .map(|o| o.name.as_str())
        .collect();
    if !dups.is_empty() {
        let list: Vec<&str> = dups.into_iter().collect();
        return Err((
            errors::INVALID_REQUEST,
            format!("Error due to duplicate config keys : {}", list.join(",")),
        ));
    }
    if let Some(o) = ops.iter().find(|o| !(OP_SET..=OP_SUBTRACT).contains(&o.op)) {
        return Err((
            errors::INVALID_REQUEST,
            format!("Unknown alter config operation type {}", o.op),
        ));
    }
    let nulls: Vec<String> = ops
        .iter()
        .filter(|o| o.value.is_none() && o.op != OP_DELETE)
        .map(|o| format!("{}:{}", op_name(o.op), o.name))
        .collect();
    if !nulls.is_empty() {
        return Err((
            errors::INVALID_REQUEST,
            format!("Null value not supported for : {}", nulls.join(",")),
        ));
    }
    Ok(())
}

fn op_name(op: i8) -> &'static str {
    match op {
        OP_SET => "SET",
        OP_DELETE => "DELETE",
        OP_APPEND => "APPEND",
        _ => "SUBTRACT",
    }
}

/// Whether a topic key is a LIST (APPEND/SUBTRACT allowed), and its default as a list.
fn topic_list_key(name: &str) -> Result<Option<&'static str>, String> {
    match name {
        "cleanup.policy" => Ok(Some("delete")),
        "leader.replication.throttled.replicas" | "follower.replication.throttled.replicas" => {
            Ok(Some(""))
        }
        _ => {
            validate_topic_config_names([name]).map_err(|e| e.message)?;
            Ok(None)
        }
    }
}

fn broker_list_key(name: &str) -> Result<Option<&'static str>, String> {
    Ok(find_def(name)
        .filter(|d| d.ty == Type::List)
        .map(|d| d.default.unwrap_or("")))
}

/// `prepareIncrementalConfigs`: SET / DELETE / APPEND / SUBTRACT on the stored set.
fn prepare_incremental(
    ops: &[Op],
    configs: &mut BTreeMap<String, String>,
    list_key: fn(&str) -> Result<Option<&'static str>, String>,
) -> Result<(), String> {
    for o in ops {
        let value = o.value.clone().unwrap_or_default();
        match o.op {
            OP_SET => {
                configs.insert(o.name.clone(), value);
            }
            OP_DELETE => {
                configs.remove(&o.name);
            }
            _ => {
                let verb = if o.op == OP_APPEND {
                    "append"
                } else {
                    "subtract"
                };
                let Some(default) = list_key(&o.name)? else {
                    return Err(format!(
                        "Config value {verb} is not allowed for config key: {}",
                        o.name
                    ));
                };
                let old = configs
                    .get(&o.name)
                    .cloned()
                    .unwrap_or_else(|| default.to_string());
                let mut list: Vec<String> = split_list(&old);
                let given = split_list(&value);
                if o.op == OP_APPEND {
                    list.extend(given);
                } else {
                    // Scala's `diff`: each given item removes one occurrence.
                    for g in given {
                        if let Some(i) = list.iter().position(|x| *x == g) {
                            list.remove(i);
                        }
                    }
                }
                configs.insert(o.name.clone(), list.join(","));
            }
        }
    }
    Ok(())
}

fn split_list(s: &str) -> Vec<String> {
    if s.is_empty() {
        return vec![];
    }
    s.split(',').map(str::to_string).collect()
}

/// `k=v` pairs for the log, with password-like values hidden.
fn loggable(configs: &BTreeMap<String, String>) -> String {
    configs
        .iter()
        .map(|(k, v)| {
            let sensitive =
                find_def(k).is_some_and(|d| d.ty == Type::Password) || k.contains("password");
            if sensitive {
                format!("{k} -> [hidden]")
            } else {
                format!("{k} -> {v}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str, op: i8, value: Option<&str>) -> Op {
        Op {
            name: name.into(),
            op,
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn incremental_ops_apply_as_kafka() {
        let mut c = BTreeMap::from([("retention.ms".to_string(), "1".to_string())]);
        prepare_incremental(
            &[
                op("retention.ms", OP_DELETE, None),
                op("cleanup.policy", OP_APPEND, Some("compact")),
                op("segment.bytes", OP_SET, Some("1024")),
            ],
            &mut c,
            topic_list_key,
        )
        .unwrap();
        assert_eq!(c.get("cleanup.policy").unwrap(), "delete,compact");
        assert_eq!(c.get("segment.bytes").unwrap(), "1024");
        assert!(!c.contains_key("retention.ms"));
        prepare_incremental(
            &[op("cleanup.policy", OP_SUBTRACT, Some("delete"))],
            &mut c,
            topic_list_key,
        )
        .unwrap();
        assert_eq!(c.get("cleanup.policy").unwrap(), "compact");
        let e = prepare_incremental(
            &[op("retention.ms", OP_APPEND, Some("1"))],
            &mut c,
            topic_list_key,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "Config value append is not allowed for config key: retention.ms"
        );
    }

    #[test]
    fn bad_op_lists_are_refused() {
        let e = check_ops(&[op("a", OP_SET, Some("1")), op("a", OP_DELETE, None)]).unwrap_err();
        assert_eq!(e.1, "Error due to duplicate config keys : a");
        let e = check_ops(&[op("a", OP_APPEND, None)]).unwrap_err();
        assert_eq!(e.1, "Null value not supported for : APPEND:a");
        assert!(check_ops(&[op("a", OP_DELETE, None)]).is_ok());
    }
}
