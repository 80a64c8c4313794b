//! DescribeClientQuotas (48) and AlterClientQuotas (49), as Kafka 2.8's ZkAdminManager
//! answers them: quotas are read from and written to the `/config/users/...` and
//! `/config/clients/...` znodes (an alteration also writes a change notification, which
//! every broker, this one included, applies to its quota managers).
//!
//! Entity types are `user` and `client-id`; a null entity name is the `<default>` entity.
//! `ip` entities (connection-rate quotas) are accepted in filters but zkafka stores none.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_client_quotas_request as alter_req;
use kafka_protocol::messages::alter_client_quotas_response as alter_resp;
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::describe_client_quotas_response as describe_resp;
use kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::apis::KafkaApis;
use super::client_quotas::{entity_path, quota_values, read_all_entities};
use super::errors;
use crate::admin::quota_configs::java_double;
use crate::admin::zk_admin;
use crate::network::request::RequestContext;
use crate::quota::{EntityName, QuotaEntity};
use crate::security::authorizer::AclOperation;

const USER: &str = "user";

/// The error response of a principal without the cluster operation the API needs.
fn cluster_denied() -> ApiError {
    let message = "Cluster authorization failed.".to_string();
    (errors::CLUSTER_AUTHORIZATION_FAILED, message)
}

const CLIENT_ID: &str = "client-id";
const IP: &str = "ip";

/// DescribeClientQuotas match types.
const MATCH_EXACT: i8 = 0;
const MATCH_DEFAULT: i8 = 1;
const MATCH_SPECIFIED: i8 = 2;

/// The client and user quota keys with whether each is integral (DynamicConfig.Client/User:
/// the byte rates are LONG, the others DOUBLE).
const QUOTA_KEYS: &[(&str, bool)] = &[
    ("producer_byte_rate", true),
    ("consumer_byte_rate", true),
    ("request_percentage", false),
    ("controller_mutation_rate", false),
];

/// A request failure: Kafka's error code and message.
type ApiError = (i16, String);

fn invalid(msg: impl Into<String>) -> ApiError {
    (errors::INVALID_REQUEST, msg.into())
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// What one filter component asks for: a name, the default entity, or any entity.
#[derive(Clone, Debug, PartialEq)]
enum Match {
    Exact(String),
    Default,
    Any,
}

struct Filter {
    user: Option<Match>,
    client_id: Option<Match>,
    ip: bool,
    strict: bool,
}

fn parse_filter(req: &DescribeClientQuotasRequest) -> Result<Filter, ApiError> {
    let mut filter = Filter {
        user: None,
        client_id: None,
        ip: false,
        strict: req.strict,
    };
    for c in &req.components {
        let m = parse_match(c)?;
        match c.entity_type.as_str() {
            USER if filter.user.is_some() => {
                return Err(invalid("Duplicate user filter component entity type"))
            }
            USER => filter.user = Some(m),
            CLIENT_ID if filter.client_id.is_some() => {
                return Err(invalid("Duplicate client filter component entity type"))
            }
            CLIENT_ID => filter.client_id = Some(m),
            IP if filter.ip => return Err(invalid("Duplicate ip filter component entity type")),
            IP => filter.ip = true,
            "" => return Err(invalid("Unexpected empty filter component entity type")),
            other => {
                return Err((
                    errors::UNSUPPORTED_VERSION,
                    format!("Custom entity type '{other}' not supported"),
                ))
            }
        }
    }
    if filter.ip && (filter.user.is_some() || filter.client_id.is_some()) {
        return Err(invalid("Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component."));
    }
    Ok(filter)
}

fn parse_match(c: &ComponentData) -> Result<Match, ApiError> {
    match (c.match_type, &c._match) {
        (MATCH_EXACT, Some(name)) => Ok(Match::Exact(name.to_string())),
        (MATCH_EXACT, None) => Err(invalid(format!(
            "Request specified MATCH_TYPE_EXACT, but set match string to null for entity type {}",
            c.entity_type.as_str()
        ))),
        (MATCH_DEFAULT, _) => Ok(Match::Default),
        (MATCH_SPECIFIED, _) => Ok(Match::Any),
        (other, _) => Err(invalid(format!("Unexpected match type: {other}"))),
    }
}

/// ZkAdminManager's `matches`: a component must match the entity's part; a missing
/// component matches an entity without that part, or any when not strict.
fn matches(component: &Option<Match>, name: &Option<EntityName>, strict: bool) -> bool {
    match (component, name) {
        (Some(Match::Exact(n)), Some(EntityName::Name(e))) => n == e,
        (Some(Match::Default), Some(EntityName::Default)) => true,
        (Some(Match::Any), Some(_)) => true,
        (Some(_), _) => false,
        (None, None) => true,
        (None, Some(_)) => !strict,
    }
}

fn entity_data(entity: &QuotaEntity) -> Vec<describe_resp::EntityData> {
    let part = |ty: &str, n: &EntityName| {
        describe_resp::EntityData::default()
            .with_entity_type(sb(ty))
            .with_entity_name(match n {
                EntityName::Default => None,
                EntityName::Name(n) => Some(sb(n)),
            })
    };
    let mut out = Vec::new();
    if let Some(u) = &entity.user {
        out.push(part(USER, u));
    }
    if let Some(c) = &entity.client_id {
        out.push(part(CLIENT_ID, c));
    }
    out
}

impl KafkaApis {
    pub async fn handle_describe_client_quotas(
        &self,
        ctx: &RequestContext,
        req: &DescribeClientQuotasRequest,
    ) -> DescribeClientQuotasResponse {
        let result = if self.authorize_cluster(ctx, AclOperation::DescribeConfigs) {
            self.describe_client_quotas(req).await
        } else {
            Err(cluster_denied())
        };
        match result {
            Ok(entries) => DescribeClientQuotasResponse::default().with_entries(Some(entries)),
            Err((code, message)) => DescribeClientQuotasResponse::default()
                .with_error_code(code)
                .with_error_message(Some(sb(&message)))
                .with_entries(None),
        }
    }

    async fn describe_client_quotas(
        &self,
        req: &DescribeClientQuotasRequest,
    ) -> Result<Vec<describe_resp::EntryData>, ApiError> {
        let filter = parse_filter(req)?;
        if filter.ip {
            return Ok(Vec::new()); // no connection-rate quotas are stored by zkafka
        }
        let all = read_all_entities(&self.replica_manager.zk)
            .await
            .map_err(|e| (errors::UNKNOWN_SERVER_ERROR, e.to_string()))?;
        let mut entries = Vec::new();
        for (entity, config) in all {
            let values: BTreeMap<String, f64> = quota_values(&config)
                .into_iter()
                .filter(|(k, _)| QUOTA_KEYS.iter().any(|(q, _)| q == k))
                .collect();
            if values.is_empty()
                || !matches(&filter.user, &entity.user, filter.strict)
                || !matches(&filter.client_id, &entity.client_id, filter.strict)
            {
                continue;
            }
            let values = values
                .iter()
                .map(|(k, v)| {
                    describe_resp::ValueData::default()
                        .with_key(sb(k))
                        .with_value(*v)
                })
                .collect();
            entries.push(
                describe_resp::EntryData::default()
                    .with_entity(entity_data(&entity))
                    .with_values(values),
            );
        }
        Ok(entries)
    }

    pub async fn handle_alter_client_quotas(
        &self,
        ctx: &RequestContext,
        req: &AlterClientQuotasRequest,
    ) -> AlterClientQuotasResponse {
        // Without ALTER_CONFIGS on the cluster every entry answers CLUSTER_AUTHORIZATION_FAILED.
        let authorized = self.authorize_cluster(ctx, AclOperation::AlterConfigs);
        let mut results = Vec::with_capacity(req.entries.len());
        for entry in &req.entries {
            let outcome = match authorized {
                true => self.alter_entity(entry, req.validate_only).await,
                false => Err(cluster_denied()),
            };
            let (code, message) = match outcome {
                Ok(()) => (errors::NONE, None),
                Err((code, message)) if !authorized => (code, Some(sb(&message))),
                Err((code, message)) => {
                    tracing::info!(target: "kafka.server.ZkAdminManager", "Error encountered while updating client quotas: {message}");
                    (code, Some(sb(&message)))
                }
            };
            let entity = entry
                .entity
                .iter()
                .map(|e| {
                    alter_resp::EntityData::default()
                        .with_entity_type(e.entity_type.clone())
                        .with_entity_name(e.entity_name.clone())
                })
                .collect();
            results.push(
                alter_resp::EntryData::default()
                    .with_error_code(code)
                    .with_error_message(message)
                    .with_entity(entity),
            );
        }
        AlterClientQuotasResponse::default().with_entries(results)
    }

    /// ZkAdminManager.alterEntityQuotas: reads the entity's config, applies the ops, and
    /// (unless validate-only) writes it back with a change notification.
    async fn alter_entity(
        &self,
        entry: &alter_req::EntryData,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let entity = parse_alter_entity(entry)?;
        let path = entity_path(&entity).ok_or_else(|| invalid("Invalid client quota entity"))?;
        let zk = &self.replica_manager.zk;
        let unknown = |e: crate::zk::ZkError| (errors::UNKNOWN_SERVER_ERROR, e.to_string());
        let mut config = zk.get_entity_config(&path).await.map_err(unknown)?;
        apply_ops(&mut config, &entry.ops)?;
        if validate_only {
            return Ok(());
        }
        zk_admin::change_entity_config(zk, &path, &config)
            .await
            .map_err(|e| (e.code(), e.to_string()))?;
        // This broker applies its own change at once; the others on the notification.
        self.quotas.update_entity(&entity, &quota_values(&config));
        Ok(())
    }
}

/// The entity of an alteration: user and/or client-id (null name = default); ip entities
/// are refused as zkafka does not enforce connection-rate quotas.
fn parse_alter_entity(entry: &alter_req::EntryData) -> Result<QuotaEntity, ApiError> {
    let mut entity = QuotaEntity::new(None, None);
    for e in &entry.entity {
        let name = match &e.entity_name {
            None => EntityName::Default,
            Some(n) => EntityName::Name(n.to_string()),
        };
        let slot = match e.entity_type.as_str() {
            USER => &mut entity.user,
            CLIENT_ID => &mut entity.client_id,
            IP => {
                return Err(invalid(
                    "IP quotas (connection_creation_rate) are not supported by zkafka",
                ))
            }
            other => {
                return Err(invalid(format!(
                    "Unhandled client quota entity type: {other}"
                )))
            }
        };
        if slot.replace(name).is_some() {
            return Err(invalid(format!(
                "Duplicate quota entity type: {}",
                e.entity_type.as_str()
            )));
        }
    }
    Ok(entity)
}

/// Applies remove / set ops with Kafka's validation: known keys only, integral values for
/// the byte rates (within 1e-6), stored as Java prints them.
fn apply_ops(
    config: &mut BTreeMap<String, String>,
    ops: &[alter_req::OpData],
) -> Result<(), ApiError> {
    for op in ops {
        let key = op.key.to_string();
        if op.remove {
            config.remove(&key);
            continue;
        }
        let Some((_, integral)) = QUOTA_KEYS.iter().find(|(k, _)| *k == key) else {
            return Err(invalid(format!("Invalid configuration key {key}")));
        };
        let text = if *integral {
            let rounded = (op.value + 1e-6).trunc();
            if (rounded - op.value).abs() > 1e-6 {
                return Err(invalid(format!("Configuration {key} must be a LONG value")));
            }
            format!("{}", rounded as i64)
        } else {
            java_double(op.value)
        };
        config.insert(key, text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_validate_keys_and_integral_rates() {
        let mut c = BTreeMap::new();
        let op = |k: &str, v: f64, remove: bool| {
            alter_req::OpData::default()
                .with_key(sb(k))
                .with_value(v)
                .with_remove(remove)
        };
        apply_ops(&mut c, &[op("producer_byte_rate", 1024.0, false)]).unwrap();
        apply_ops(&mut c, &[op("request_percentage", 50.0, false)]).unwrap();
        assert_eq!(c["producer_byte_rate"], "1024");
        assert_eq!(c["request_percentage"], "50.0");
        let e = apply_ops(&mut c, &[op("producer_byte_rate", 1.5, false)]).unwrap_err();
        assert_eq!(e.0, errors::INVALID_REQUEST);
        let e = apply_ops(&mut c, &[op("retention.ms", 1.0, false)]).unwrap_err();
        assert_eq!(e.1, "Invalid configuration key retention.ms");
        apply_ops(&mut c, &[op("producer_byte_rate", 0.0, true)]).unwrap();
        assert!(!c.contains_key("producer_byte_rate"));
    }

    #[test]
    fn strict_and_match_types_select_entities() {
        let alice = Some(EntityName::Name("alice".into()));
        let any = Some(Match::Any);
        assert!(matches(&any, &alice, true));
        assert!(!matches(&any, &None, false));
        assert!(matches(&None, &alice, false));
        assert!(!matches(&None, &alice, true));
        assert!(matches(
            &Some(Match::Default),
            &Some(EntityName::Default),
            true
        ));
        assert!(!matches(&Some(Match::Exact("bob".into())), &alice, false));
    }
}
