//! DescribeConfigs for topics and this broker (ZkAdminManager.describeConfigs): every config
//! with its effective value and where it comes from, so tools show what the log really uses.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::config::def::{Type, BROKER_CONFIGS};
use crate::log::config_def::topic_config_names;
use crate::server::apis::KafkaApis;
use crate::server::errors;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

/// ConfigSource values of DescribeConfigs v1+.
const DYNAMIC_TOPIC_CONFIG: i8 = 1;
const STATIC_BROKER_CONFIG: i8 = 4;
const DEFAULT_CONFIG: i8 = 5;

struct Entry {
    name: String,
    value: Option<String>,
    source: i8,
    sensitive: bool,
    read_only: bool,
}

impl KafkaApis {
    pub async fn handle_describe_configs(
        &self,
        req: &DescribeConfigsRequest,
        version: i16,
    ) -> DescribeConfigsResponse {
        let mut results = Vec::new();
        for r in &req.resources {
            let name = r.resource_name.to_string();
            let keys: Option<Vec<String>> = r
                .configuration_keys
                .as_ref()
                .map(|k| k.iter().map(|s| s.to_string()).collect());
            let entries = match r.resource_type {
                RESOURCE_TOPIC => self.topic_entries(&name).await,
                RESOURCE_BROKER if name.is_empty() || name == self.state.broker_id.to_string() => {
                    Ok(self.broker_entries())
                }
                RESOURCE_BROKER => Err((
                    errors::INVALID_REQUEST,
                    format!(
                        "Unexpected broker id, expected {} or empty string, but received {name}",
                        self.state.broker_id
                    ),
                )),
                other => Err((
                    errors::INVALID_REQUEST,
                    format!("Unsupported resource type {other}"),
                )),
            };
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            results.push(match entries {
                Ok(list) => result.with_configs(
                    list.into_iter()
                        .filter(|e| keys.as_ref().is_none_or(|k| k.contains(&e.name)))
                        .map(|e| to_wire(e, version))
                        .collect(),
                ),
                Err((code, msg)) => result
                    .with_error_code(code)
                    .with_error_message(Some(StrBytes::from_string(msg))),
            });
        }
        DescribeConfigsResponse::default().with_results(results)
    }

    async fn topic_entries(&self, topic: &str) -> Result<Vec<Entry>, (i16, String)> {
        if !self.metadata_cache.snapshot().topics.contains_key(topic) {
            return Err((
                errors::UNKNOWN_TOPIC_OR_PARTITION,
                format!("Topic {topic} does not exist"),
            ));
        }
        let overrides = self
            .replica_manager
            .zk
            .get_topic_config(topic)
            .await
            .map_err(|e| (errors::UNKNOWN_SERVER_ERROR, e.to_string()))?;
        let defaults: BTreeMap<String, String> = self.config.log_config_props();
        let broker_keys = broker_key_of_topic_key();
        Ok(topic_config_names()
            .into_iter()
            .map(|name| {
                let (value, source) = match overrides.get(name) {
                    Some(v) => (Some(v.clone()), DYNAMIC_TOPIC_CONFIG),
                    None => {
                        let explicit = broker_keys
                            .get(name)
                            .is_some_and(|k| self.config.was_supplied(k));
                        let source = if explicit {
                            STATIC_BROKER_CONFIG
                        } else {
                            DEFAULT_CONFIG
                        };
                        (
                            Some(defaults.get(name).cloned().unwrap_or_default()),
                            source,
                        )
                    }
                };
                Entry {
                    name: name.to_string(),
                    value,
                    source,
                    sensitive: false,
                    read_only: false,
                }
            })
            .collect())
    }

    fn broker_entries(&self) -> Vec<Entry> {
        BROKER_CONFIGS
            .iter()
            .map(|d| {
                let sensitive = d.ty == Type::Password;
                let value = if sensitive {
                    None
                } else {
                    self.config.string(d.name)
                };
                let source = if self.config.was_supplied(d.name) {
                    STATIC_BROKER_CONFIG
                } else {
                    DEFAULT_CONFIG
                };
                // zkafka has no dynamic broker configs: everything is read-only at runtime.
                Entry {
                    name: d.name.to_string(),
                    value,
                    source,
                    sensitive,
                    read_only: true,
                }
            })
            .collect()
    }
}

/// The broker key each topic key defaults from (for the STATIC_BROKER_CONFIG source).
fn broker_key_of_topic_key() -> BTreeMap<&'static str, &'static str> {
    [
        ("segment.bytes", "log.segment.bytes"),
        ("segment.ms", "log.roll.ms"),
        ("retention.ms", "log.retention.ms"),
        ("retention.bytes", "log.retention.bytes"),
        ("max.message.bytes", "message.max.bytes"),
        ("cleanup.policy", "log.cleanup.policy"),
        ("min.insync.replicas", "min.insync.replicas"),
        (
            "unclean.leader.election.enable",
            "unclean.leader.election.enable",
        ),
        ("compression.type", "compression.type"),
    ]
    .into_iter()
    .collect()
}

fn to_wire(e: Entry, version: i16) -> DescribeConfigsResourceResult {
    // v0 has is_default; v1+ replaced it with config_source (setting both fails to encode).
    let is_default = version == 0 && e.source == DEFAULT_CONFIG;
    DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name))
        .with_value(e.value.map(StrBytes::from_string))
        .with_read_only(e.read_only)
        .with_is_default(is_default)
        .with_config_source(if version >= 1 { e.source } else { -1 })
        .with_is_sensitive(e.sensitive)
}
