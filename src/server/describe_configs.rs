//! DescribeConfigs for topics, this broker and the cluster default (ConfigHelper.describeConfigs):
//! every config with its effective value, where it comes from (topic override, per-broker or
//! cluster-default dynamic config, server.properties, default) and, when asked, its synonyms
//! in precedence order, so tools show what the log and the broker really use.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_topics_response::CreatableTopicConfigs;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::config::def::{Type, BROKER_CONFIGS};
use crate::config::dynamic::{broker_config_synonyms, find_def, is_dynamic, DynamicLayers};
use crate::config::KafkaConfig;
use crate::log::config_def::{topic_config_names, topic_config_type_id};
use crate::network::request::RequestContext;
use crate::security::authorizer::AclOperation;
use crate::server::apis::KafkaApis;
use crate::server::errors;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

/// ConfigSource values of DescribeConfigs v1+.
const DYNAMIC_TOPIC_CONFIG: i8 = 1;
const DYNAMIC_BROKER_CONFIG: i8 = 2;
const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
const STATIC_BROKER_CONFIG: i8 = 4;
const DEFAULT_CONFIG: i8 = 5;

/// (name, value, source) of one synonym.
type Synonym = (String, Option<String>, i8);

struct Entry {
    name: String,
    value: Option<String>,
    source: i8,
    sensitive: bool,
    read_only: bool,
    synonyms: Vec<Synonym>,
    config_type: i8,
}

/// Where a broker key's value can come from, highest precedence first (ConfigHelper's
/// `configSynonyms` inputs).
struct Layers<'a> {
    dynamic: &'a DynamicLayers,
    static_config: &'a KafkaConfig,
}

impl Layers<'_> {
    /// `configSynonyms`: every synonym's value in every layer, from the first one that names
    /// `name` itself (so `retention.ms` with only `log.retention.hours` set has none).
    fn synonyms(&self, name: &str, sensitive: bool) -> Vec<Synonym> {
        let names = broker_config_synonyms(name);
        let statics = self.static_config.static_props();
        let mut out = Vec::new();
        let value = |v: &String| if sensitive { None } else { Some(v.clone()) };
        for n in &names {
            if let Some(v) = self.dynamic.per_broker.get(*n) {
                out.push((n.to_string(), value(v), DYNAMIC_BROKER_CONFIG));
            }
        }
        for n in &names {
            if let Some(v) = self.dynamic.cluster_default.get(*n) {
                out.push((n.to_string(), value(v), DYNAMIC_DEFAULT_BROKER_CONFIG));
            }
        }
        for n in &names {
            if let Some(v) = statics.get(*n) {
                out.push((n.to_string(), value(v), STATIC_BROKER_CONFIG));
            }
        }
        for n in &names {
            if let Some(v) = find_def(n).and_then(|d| d.default) {
                out.push((n.to_string(), value(&v.to_string()), DEFAULT_CONFIG));
            }
        }
        let first = out.iter().position(|s| s.0 == name).unwrap_or(out.len());
        out.split_off(first)
    }
}

impl KafkaApis {
    pub async fn handle_describe_configs(
        &self,
        ctx: &RequestContext,
        req: &DescribeConfigsRequest,
    ) -> DescribeConfigsResponse {
        let version = ctx.api_version();
        let mut results = Vec::new();
        let include_synonyms = version >= 1 && req.include_synonyms;
        for r in &req.resources {
            let name = r.resource_name.to_string();
            let op = AclOperation::DescribeConfigs;
            if let Some(code) = self.config_resource_denial(ctx, op, r.resource_type, &name) {
                results.push(
                    DescribeConfigsResult::default()
                        .with_resource_type(r.resource_type)
                        .with_resource_name(r.resource_name.clone())
                        .with_error_code(code)
                        .with_error_message(Some(StrBytes::from_static_str(denial_message(code)))),
                );
                continue;
            }
            let keys: Option<Vec<String>> = r
                .configuration_keys
                .as_ref()
                .filter(|k| !k.is_empty())
                .map(|k| k.iter().map(|s| s.to_string()).collect());
            let entries = match r.resource_type {
                RESOURCE_TOPIC => self.topic_entries(&name).await,
                RESOURCE_BROKER if name.is_empty() => Ok(self.default_broker_entries()),
                RESOURCE_BROKER if name == self.state.broker_id.to_string() => {
                    Ok(self.broker_entries())
                }
                RESOURCE_BROKER if name.parse::<i32>().is_err() => Err((
                    errors::INVALID_REQUEST,
                    format!("Broker id must be an integer, but it is: {name}"),
                )),
                RESOURCE_BROKER => Err((
                    errors::INVALID_REQUEST,
                    format!(
                        "Unexpected broker id, expected {} or empty string, but received {name}",
                        self.state.broker_id
                    ),
                )),
                other => Err((
                    errors::INVALID_REQUEST,
                    format!("Unsupported resource type: {other}"),
                )),
            };
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            results.push(match entries {
                Ok(list) => result.with_configs(
                    list.into_iter()
                        .filter(|e| keys.as_ref().is_none_or(|k| k.contains(&e.name)))
                        .map(|e| to_wire(e, version, include_synonyms))
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
        Ok(self.topic_entries_with(&overrides))
    }

    /// CreateTopics v5+: a new topic's configs as ZkAdminManager returns them (the topic's
    /// overrides over the broker's log defaults, with their sources).
    pub fn created_topic_configs(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Vec<CreatableTopicConfigs> {
        let wire = |e: Entry| {
            CreatableTopicConfigs::default()
                .with_name(StrBytes::from_string(e.name))
                .with_value(e.value.map(StrBytes::from_string))
                .with_read_only(e.read_only)
                .with_config_source(e.source)
                .with_is_sensitive(e.sensitive)
        };
        self.topic_entries_with(overrides)
            .into_iter()
            .map(wire)
            .collect()
    }

    /// Every topic config with its effective value given the topic's overrides.
    fn topic_entries_with(&self, overrides: &BTreeMap<String, String>) -> Vec<Entry> {
        let dynamic = &self.replica_manager.dynamic_config;
        let defaults: BTreeMap<String, String> = dynamic.current().log_config_props();
        let layers_now = dynamic.layers();
        let layers = Layers {
            dynamic: &layers_now,
            static_config: dynamic.static_config(),
        };
        let broker_keys = broker_key_of_topic_key();
        topic_config_names()
            .into_iter()
            .map(|name| {
                let value = overrides
                    .get(name)
                    .or_else(|| defaults.get(name))
                    .cloned()
                    .unwrap_or_default();
                let mut synonyms = Vec::new();
                if overrides.contains_key(name) {
                    synonyms.push((name.to_string(), Some(value.clone()), DYNAMIC_TOPIC_CONFIG));
                }
                if let Some(broker_key) = broker_keys.get(name) {
                    synonyms.extend(layers.synonyms(broker_key, false));
                }
                Entry {
                    name: name.to_string(),
                    value: Some(value),
                    source: synonyms.first().map_or(DEFAULT_CONFIG, |s| s.2),
                    sensitive: false,
                    read_only: false,
                    synonyms,
                    config_type: topic_config_type_id(name),
                }
            })
            .collect()
    }

    /// This broker's every config with its effective value (per-broker resource).
    fn broker_entries(&self) -> Vec<Entry> {
        let dynamic = &self.replica_manager.dynamic_config;
        let current = dynamic.current();
        let layers_now = dynamic.layers();
        let layers = Layers {
            dynamic: &layers_now,
            static_config: dynamic.static_config(),
        };
        let mut names: Vec<String> = BROKER_CONFIGS.iter().map(|d| d.name.to_string()).collect();
        // Dynamic-only and custom keys appear once set, as in Kafka's `originals`.
        for k in layers_now
            .cluster_default
            .keys()
            .chain(layers_now.per_broker.keys())
        {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        names
            .into_iter()
            .map(|name| {
                let value = if crate::config::def::find(&name).is_some() {
                    current.string(&name)
                } else {
                    layers_now
                        .per_broker
                        .get(&name)
                        .or_else(|| layers_now.cluster_default.get(&name))
                        .cloned()
                };
                broker_entry(&layers, name, value, true)
            })
            .collect()
    }

    /// The cluster-default resource: only the keys set in `/config/brokers/<default>`.
    fn default_broker_entries(&self) -> Vec<Entry> {
        let dynamic = &self.replica_manager.dynamic_config;
        let layers_now = dynamic.layers();
        let layers = Layers {
            dynamic: &layers_now,
            static_config: dynamic.static_config(),
        };
        layers_now
            .cluster_default
            .iter()
            .map(|(k, v)| broker_entry(&layers, k.clone(), Some(v.clone()), false))
            .collect()
    }
}

/// ConfigHelper's `createBrokerConfigEntry`.
/// Errors.message() of the authorization errors a resource can get.
fn denial_message(code: i16) -> &'static str {
    match code {
        errors::TOPIC_AUTHORIZATION_FAILED => "Topic authorization failed.",
        _ => "Cluster authorization failed.",
    }
}

fn broker_entry(layers: &Layers, name: String, value: Option<String>, per_broker: bool) -> Entry {
    let def = find_def(&name);
    let sensitive = def.is_none_or(|d| d.ty == Type::Password);
    let mut synonyms = layers.synonyms(&name, sensitive);
    if !per_broker {
        synonyms.retain(|s| s.2 == DYNAMIC_DEFAULT_BROKER_CONFIG);
    }
    Entry {
        source: synonyms.first().map_or(DEFAULT_CONFIG, |s| s.2),
        value: if sensitive { None } else { value },
        sensitive,
        read_only: !is_dynamic(&name),
        synonyms,
        config_type: def.map_or(0, |d| type_id(d.ty)),
        name,
    }
}

/// DescribeConfigsResponse.ConfigType ids.
fn type_id(ty: Type) -> i8 {
    match ty {
        Type::Boolean => 1,
        Type::String => 2,
        Type::Int => 3,
        Type::Short => 4,
        Type::Long => 5,
        Type::Double => 6,
        Type::List => 7,
        Type::Class => 8,
        Type::Password => 9,
    }
}

/// `LogConfig.TopicConfigSynonyms`: the broker key each topic key defaults from.
fn broker_key_of_topic_key() -> BTreeMap<&'static str, &'static str> {
    [
        ("segment.bytes", "log.segment.bytes"),
        ("segment.ms", "log.roll.ms"),
        ("segment.jitter.ms", "log.roll.jitter.ms"),
        ("segment.index.bytes", "log.index.size.max.bytes"),
        ("flush.messages", "log.flush.interval.messages"),
        ("flush.ms", "log.flush.interval.ms"),
        ("retention.bytes", "log.retention.bytes"),
        ("retention.ms", "log.retention.ms"),
        ("max.message.bytes", "message.max.bytes"),
        ("index.interval.bytes", "log.index.interval.bytes"),
        ("delete.retention.ms", "log.cleaner.delete.retention.ms"),
        ("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms"),
        ("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"),
        ("file.delete.delay.ms", "log.segment.delete.delay.ms"),
        (
            "min.cleanable.dirty.ratio",
            "log.cleaner.min.cleanable.ratio",
        ),
        ("cleanup.policy", "log.cleanup.policy"),
        (
            "unclean.leader.election.enable",
            "unclean.leader.election.enable",
        ),
        ("min.insync.replicas", "min.insync.replicas"),
        ("compression.type", "compression.type"),
        ("preallocate", "log.preallocate"),
        ("message.format.version", "log.message.format.version"),
        ("message.timestamp.type", "log.message.timestamp.type"),
        (
            "message.timestamp.difference.max.ms",
            "log.message.timestamp.difference.max.ms",
        ),
        (
            "message.downconversion.enable",
            "log.message.downconversion.enable",
        ),
    ]
    .into_iter()
    .collect()
}

fn to_wire(e: Entry, version: i16, include_synonyms: bool) -> DescribeConfigsResourceResult {
    // v0 has is_default; v1+ replaced it with config_source (setting both fails to encode).
    let is_default = version == 0 && e.source == DEFAULT_CONFIG;
    let synonyms = if include_synonyms {
        e.synonyms
            .into_iter()
            .map(|(name, value, source)| {
                DescribeConfigsSynonym::default()
                    .with_name(StrBytes::from_string(name))
                    .with_value(value.map(StrBytes::from_string))
                    .with_source(source)
            })
            .collect()
    } else {
        vec![]
    };
    DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name))
        .with_value(e.value.map(StrBytes::from_string))
        .with_read_only(e.read_only)
        .with_is_default(is_default)
        .with_config_source(if version >= 1 { e.source } else { -1 })
        .with_is_sensitive(e.sensitive)
        .with_synonyms(synonyms)
        .with_config_type(if version >= 3 { e.config_type } else { 0 })
}
