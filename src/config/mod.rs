//! Broker configuration: `server.properties` plus `--override`s, resolved against Kafka 2.8's
//! names and defaults into a typed `KafkaConfig` (server/KafkaConfig.scala).

pub mod def;
pub mod dynamic;
pub mod properties;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cluster::{parse_protocol_map, EndPoint, SecurityProtocol};
pub use def::ConfigError;

/// The inter-broker protocol level zkafka speaks when `inter.broker.protocol.version` is unset:
/// 2.6 is the last level with the classic ISR path (leaders write ISR to ZooKeeper).
pub const DEFAULT_IBP: &str = "2.6";

/// An `inter.broker.protocol.version` such as `2.6` or `2.7-IV1`, as (major, minor, iv).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u8, pub u8, pub u8);

impl ApiVersion {
    /// Last internal version of each release, so that a short form `2.7` means `2.7-IV2`.
    fn last_iv(major: u8, minor: u8) -> u8 {
        match (major, minor) {
            (2, 1) => 2,
            (2, 2) | (2, 3) | (2, 4) | (2, 8) => 1,
            (2, 7) => 2,
            _ => 0,
        }
    }

    pub fn parse(text: &str) -> Option<ApiVersion> {
        let (release, iv) = match text.split_once("-IV") {
            Some((r, iv)) => (r, Some(iv.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let mut parts = release.split('.');
        let major: u8 = parts.next()?.parse().ok()?;
        let minor: u8 = parts.next()?.parse().ok()?;
        Some(ApiVersion(
            major,
            minor,
            iv.unwrap_or_else(|| Self::last_iv(major, minor)),
        ))
    }
}

/// The resolved broker configuration. Structural settings are typed fields; everything else
/// is reachable by its Kafka name through the typed getters.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    pub broker_id: i32,
    pub zookeeper_connect: String,
    pub zookeeper_session_timeout_ms: u64,
    pub zookeeper_connection_timeout_ms: u64,
    pub listeners: Vec<EndPoint>,
    pub advertised_listeners: Vec<EndPoint>,
    pub inter_broker_listener_name: String,
    pub inter_broker_protocol_version: ApiVersion,
    pub log_dirs: Vec<PathBuf>,
    pub rack: Option<String>,
    /// Every known key with its effective value (`None` = null default).
    values: BTreeMap<&'static str, Option<String>>,
    /// Keys that were supplied but are not broker configs (logged, as Kafka does).
    pub unknown_keys: Vec<String>,
    /// Keys given in the file or as overrides (DescribeConfigs reports them as static).
    supplied: std::collections::BTreeSet<String>,
    /// Supplied keys that are not in the config table but are read by name: per-listener
    /// (`listener.name.<l>.…`), `ssl.*` and `sasl.*` settings.
    passthrough: BTreeMap<String, String>,
}

impl KafkaConfig {
    /// Reads a properties file and applies `key=value` overrides on top.
    pub fn load(path: &Path, overrides: &[String]) -> Result<KafkaConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "Cannot read broker config file {}: {e}",
                path.display()
            ))
        })?;
        let mut props = properties::parse(&text);
        for o in overrides {
            let (k, v) = o.split_once('=').ok_or_else(|| {
                ConfigError(format!("Invalid --override {o:?}: expected key=value"))
            })?;
            props.insert(k.trim().to_string(), v.trim().to_string());
        }
        Self::from_props(&props)
    }

    pub fn from_props(props: &BTreeMap<String, String>) -> Result<KafkaConfig, ConfigError> {
        let mut values = BTreeMap::new();
        for d in def::BROKER_CONFIGS {
            let v = props.get(d.name).map(String::as_str).or(d.default);
            if let (Some(v), true) = (v, props.contains_key(d.name)) {
                def::validate(d, v)?;
            }
            values.insert(d.name, v.map(|s| s.trim().to_string()));
        }
        let unknown_keys = props
            .keys()
            .filter(|k| def::find(k).is_none() && !is_passthrough(k))
            .cloned()
            .collect();
        let mut cfg = KafkaConfig {
            broker_id: 0,
            zookeeper_connect: String::new(),
            zookeeper_session_timeout_ms: 0,
            zookeeper_connection_timeout_ms: 0,
            listeners: vec![],
            advertised_listeners: vec![],
            inter_broker_listener_name: String::new(),
            inter_broker_protocol_version: ApiVersion(2, 6, 0),
            log_dirs: vec![],
            rack: None,
            values,
            unknown_keys,
            supplied: props.keys().cloned().collect(),
            passthrough: props
                .iter()
                .filter(|(k, _)| is_passthrough(k))
                .map(|(k, v)| (k.clone(), v.trim().to_string()))
                .collect(),
        };
        cfg.resolve_structure()?;
        Ok(cfg)
    }

    fn resolve_structure(&mut self) -> Result<(), ConfigError> {
        self.broker_id = self.int("broker.id");
        if self.broker_id < 0 {
            // zkafka needs an explicit id: generated ids would hide which broker is which.
            return Err(ConfigError::invalid(
                "broker.id",
                &self.broker_id.to_string(),
                "zkafka requires an explicit non-negative broker.id",
            ));
        }
        self.zookeeper_connect = self
            .string("zookeeper.connect")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConfigError::missing("zookeeper.connect"))?;
        self.zookeeper_session_timeout_ms = self.int("zookeeper.session.timeout.ms").max(1) as u64;
        self.zookeeper_connection_timeout_ms = self
            .opt_i64("zookeeper.connection.timeout.ms")
            .map(|v| v.max(1) as u64)
            .unwrap_or(self.zookeeper_session_timeout_ms);
        self.resolve_listeners()?;
        self.resolve_ibp()?;
        self.log_dirs = self.resolve_log_dirs()?;
        self.rack = self.string("broker.rack").filter(|r| !r.is_empty());
        self.http_listener()?;
        let (pool, max_request) = (
            self.long("queued.max.request.bytes"),
            self.long("socket.request.max.bytes"),
        );
        if pool > 0 && pool < max_request {
            // A pool smaller than one request could never admit the largest one.
            return Err(ConfigError::invalid(
                "queued.max.request.bytes",
                &pool.to_string(),
                "queued.max.request.bytes must be larger or equal to socket.request.max.bytes",
            ));
        }
        Ok(())
    }

    /// `zkafka.http.listener` as `(host, port)`, None when the endpoint is off (the default).
    pub fn http_listener(&self) -> Result<Option<(String, u16)>, ConfigError> {
        let Some(v) = self
            .string("zkafka.http.listener")
            .filter(|v| !v.is_empty())
        else {
            return Ok(None);
        };
        let parsed = v
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(['[', ']']).to_string(), p.parse().ok()?)));
        parsed
            .map(Some)
            .ok_or_else(|| ConfigError::invalid("zkafka.http.listener", &v, "Expected host:port"))
    }

    fn resolve_listeners(&mut self) -> Result<(), ConfigError> {
        let map_text = self
            .string("listener.security.protocol.map")
            .unwrap_or_default();
        let map = parse_protocol_map(&map_text)
            .map_err(|e| ConfigError::invalid("listener.security.protocol.map", &map_text, e))?;
        let listeners_text = self.string("listeners").unwrap_or_else(|| {
            let host = self.string("host.name").unwrap_or_default();
            format!("PLAINTEXT://{host}:{}", self.int("port"))
        });
        self.listeners = parse_listener_list("listeners", &listeners_text, &map)?;
        self.advertised_listeners = match self.string("advertised.listeners") {
            Some(text) => parse_listener_list("advertised.listeners", &text, &map)?,
            None => self.listeners.clone(),
        };
        for ep in &self.advertised_listeners {
            if ep.host == "0.0.0.0" {
                return Err(ConfigError::invalid(
                    "advertised.listeners",
                    &ep.to_string(),
                    "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0",
                ));
            }
        }
        self.inter_broker_listener_name = match self.string("inter.broker.listener.name") {
            Some(name) => name.to_ascii_uppercase(),
            None => self
                .string("security.inter.broker.protocol")
                .unwrap_or_else(|| "PLAINTEXT".into()),
        };
        if !self
            .advertised_listeners
            .iter()
            .any(|e| e.listener_name == self.inter_broker_listener_name)
        {
            return Err(ConfigError::invalid(
                "inter.broker.listener.name",
                &self.inter_broker_listener_name,
                "inter.broker.listener.name must be a listener name defined in advertised.listeners",
            ));
        }
        Ok(())
    }

    fn resolve_ibp(&mut self) -> Result<(), ConfigError> {
        let key = "inter.broker.protocol.version";
        let text = self.string(key).unwrap_or_else(|| DEFAULT_IBP.into());
        let v = ApiVersion::parse(&text)
            .ok_or_else(|| ConfigError::invalid(key, &text, "not a Kafka version"))?;
        // The request versions and ISR path below are fixed by this range (2.6's wire format).
        if v < ApiVersion(2, 6, 0) || v >= ApiVersion(2, 7, 2) {
            return Err(ConfigError::invalid(
                key,
                &text,
                "zkafka implements the classic ZooKeeper ISR path of IBP 2.6: use 2.6, 2.7-IV0 or 2.7-IV1",
            ));
        }
        self.inter_broker_protocol_version = v;
        Ok(())
    }

    fn resolve_log_dirs(&self) -> Result<Vec<PathBuf>, ConfigError> {
        let text = self
            .string("log.dirs")
            .or_else(|| self.string("log.dir"))
            .unwrap_or_default();
        let dirs: Vec<PathBuf> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        if dirs.is_empty() {
            return Err(ConfigError::invalid(
                "log.dirs",
                &text,
                "At least one log directory must be defined",
            ));
        }
        Ok(dirs)
    }

    /// This config with known keys replaced by `overrides` (the dynamic layers; values were
    /// validated by the caller, unknown keys are ignored). Structural fields stay as they are:
    /// listeners and log dirs are not reconfigured live.
    pub fn with_overrides(&self, overrides: &BTreeMap<String, String>) -> KafkaConfig {
        let mut out = self.clone();
        for (k, v) in overrides {
            if let Some(slot) = out.values.get_mut(k.as_str()) {
                *slot = Some(v.trim().to_string());
            }
        }
        out
    }

    /// The keys given in server.properties or as overrides, with their values.
    pub fn static_props(&self) -> BTreeMap<String, String> {
        self.supplied
            .iter()
            .filter_map(|k| Some((k.clone(), self.values.get(k.as_str())?.clone()?)))
            .collect()
    }

    pub fn was_supplied(&self, key: &str) -> bool {
        self.supplied.contains(key)
    }

    /// A key as one listener sees it: `listener.name.<listener lower-case>.<key>` wins over
    /// `<key>` (Kafka's valuesWithPrefixOverride for a listener's SSL and SASL settings).
    pub fn listener_string(&self, listener: &str, key: &str) -> Option<String> {
        let scoped = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
        match self.passthrough.get(&scoped) {
            Some(v) => Some(v.clone()),
            None => self.passthrough(key),
        }
    }

    /// A supplied key's value, known or not (`listener.name.<l>.plain.sasl.jaas.config`).
    pub fn passthrough(&self, key: &str) -> Option<String> {
        match def::find(key) {
            Some(_) => self.string(key),
            None => self.passthrough.get(key).cloned(),
        }
    }

    /// The raw effective value of a known key.
    pub fn string(&self, name: &str) -> Option<String> {
        self.lookup(name).clone()
    }

    fn lookup(&self, name: &str) -> &Option<String> {
        self.values
            .get(name)
            .unwrap_or_else(|| panic!("config key {name} is not defined in config::def"))
    }

    pub fn opt_i64(&self, name: &str) -> Option<i64> {
        // Values were validated at load, so parsing cannot fail here.
        self.lookup(name)
            .as_deref()
            .map(|v| v.parse().expect("validated"))
    }

    pub fn long(&self, name: &str) -> i64 {
        self.opt_i64(name)
            .unwrap_or_else(|| panic!("config key {name} has no value"))
    }

    pub fn int(&self, name: &str) -> i32 {
        self.long(name) as i32
    }

    pub fn boolean(&self, name: &str) -> bool {
        self.lookup(name)
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The listener other brokers and the controller use to reach this broker.
    pub fn inter_broker_endpoint(&self) -> &EndPoint {
        self.advertised_listeners
            .iter()
            .find(|e| e.listener_name == self.inter_broker_listener_name)
            .expect("validated in resolve_listeners")
    }

    /// The broker's log defaults as topic-level keys (LogConfig's "server default property"
    /// mapping), with Kafka's precedence among the ms/minutes/hours synonyms.
    pub fn log_config_props(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut put = |topic_key: &str, v: Option<String>| {
            if let Some(v) = v {
                out.insert(topic_key.to_string(), v);
            }
        };
        let hours = |k: &str| self.opt_i64(k).map(|h| (h * 3_600_000).to_string());
        let minutes = |k: &str| self.opt_i64(k).map(|m| (m * 60_000).to_string());
        put(
            "segment.ms",
            self.string("log.roll.ms")
                .or_else(|| hours("log.roll.hours")),
        );
        put(
            "segment.jitter.ms",
            self.string("log.roll.jitter.ms")
                .or_else(|| hours("log.roll.jitter.hours")),
        );
        put(
            "retention.ms",
            self.string("log.retention.ms")
                .or_else(|| minutes("log.retention.minutes"))
                .or_else(|| hours("log.retention.hours")),
        );
        put(
            "flush.ms",
            self.string("log.flush.interval.ms")
                .or_else(|| self.string("log.flush.scheduler.interval.ms")),
        );
        for (topic_key, broker_key) in [
            ("segment.bytes", "log.segment.bytes"),
            ("segment.index.bytes", "log.index.size.max.bytes"),
            ("index.interval.bytes", "log.index.interval.bytes"),
            ("retention.bytes", "log.retention.bytes"),
            ("file.delete.delay.ms", "log.segment.delete.delay.ms"),
            ("flush.messages", "log.flush.interval.messages"),
            ("max.message.bytes", "message.max.bytes"),
            ("cleanup.policy", "log.cleanup.policy"),
            ("compression.type", "compression.type"),
            ("delete.retention.ms", "log.cleaner.delete.retention.ms"),
            ("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms"),
            ("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"),
            (
                "min.cleanable.dirty.ratio",
                "log.cleaner.min.cleanable.ratio",
            ),
            ("message.timestamp.type", "log.message.timestamp.type"),
            (
                "message.timestamp.difference.max.ms",
                "log.message.timestamp.difference.max.ms",
            ),
            ("message.format.version", "log.message.format.version"),
            (
                "message.downconversion.enable",
                "log.message.downconversion.enable",
            ),
            ("min.insync.replicas", "min.insync.replicas"),
            ("preallocate", "log.preallocate"),
            (
                "unclean.leader.election.enable",
                "unclean.leader.election.enable",
            ),
        ] {
            put(topic_key, self.string(broker_key));
        }
        out
    }

    /// Whether `/brokers/ids` registrations use version 5 (`features`), IBP ≥ 2.7-IV0.
    pub fn registration_version(&self) -> i32 {
        if self.inter_broker_protocol_version >= ApiVersion(2, 7, 0) {
            5
        } else {
            4
        }
    }
}

/// Keys Kafka accepts as prefixes of known configs (listener-scoped settings and the like).
fn is_passthrough(key: &str) -> bool {
    key.starts_with("listener.name.") || key.starts_with("ssl.") || key.starts_with("sasl.")
}

fn parse_listener_list(
    key: &str,
    text: &str,
    map: &BTreeMap<String, SecurityProtocol>,
) -> Result<Vec<EndPoint>, ConfigError> {
    let mut out: Vec<EndPoint> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let ep = EndPoint::parse(item, map).map_err(|e| ConfigError::invalid(key, text, e))?;
        if out.iter().any(|o| o.listener_name == ep.listener_name) {
            return Err(ConfigError::invalid(
                key,
                text,
                format!(
                    "Each listener must have a different name, {} is repeated",
                    ep.listener_name
                ),
            ));
        }
        out.push(ep);
    }
    if out.is_empty() {
        return Err(ConfigError::invalid(key, text, "no listener defined"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("broker.id", "1"),
            ("zookeeper.connect", "127.0.0.1:2181/kafka"),
            ("listeners", "PLAINTEXT://127.0.0.1:9092"),
            ("log.dirs", "/tmp/a,/tmp/b"),
        ]
    }

    #[test]
    fn resolves_defaults_and_structure() {
        let c = KafkaConfig::from_props(&props(&base())).unwrap();
        assert_eq!(c.broker_id, 1);
        assert_eq!(c.zookeeper_session_timeout_ms, 18000);
        assert_eq!(c.zookeeper_connection_timeout_ms, 18000);
        assert_eq!(c.log_dirs.len(), 2);
        assert_eq!(c.int("num.partitions"), 1);
        assert_eq!(c.long("log.segment.bytes"), 1073741824);
        assert!(c.boolean("delete.topic.enable"));
        assert_eq!(c.inter_broker_endpoint().port, 9092);
        assert_eq!(c.registration_version(), 4);
    }

    #[test]
    fn errors_name_the_key() {
        let mut p = base();
        p.retain(|(k, _)| *k != "zookeeper.connect");
        let e = KafkaConfig::from_props(&props(&p)).unwrap_err();
        assert!(e.0.contains("zookeeper.connect"), "{e}");
        let mut p = base();
        p.push(("socket.request.max.bytes", "lots"));
        let e = KafkaConfig::from_props(&props(&p)).unwrap_err();
        assert!(e.0.contains("socket.request.max.bytes"), "{e}");
        let mut p = base();
        p.push(("listeners", "PLAINTEXT://127.0.0.1:port"));
        let e = KafkaConfig::from_props(&props(&p)).unwrap_err();
        assert!(e.0.contains("listeners"), "{e}");
        let mut p = base();
        p.push(("inter.broker.protocol.version", "2.8"));
        let e = KafkaConfig::from_props(&props(&p)).unwrap_err();
        assert!(e.0.contains("inter.broker.protocol.version"), "{e}");
    }

    #[test]
    fn request_memory_pool_must_hold_the_largest_request() {
        let mut p = base();
        p.push(("socket.request.max.bytes", "1000000"));
        p.push(("queued.max.request.bytes", "999999"));
        let e = KafkaConfig::from_props(&props(&p)).unwrap_err();
        assert!(
            e.0.contains(
                "queued.max.request.bytes must be larger or equal to socket.request.max.bytes"
            ),
            "{e}"
        );
        p.pop();
        p.push(("queued.max.request.bytes", "1000000"));
        assert!(KafkaConfig::from_props(&props(&p)).is_ok());
    }

    #[test]
    fn unknown_keys_are_collected() {
        let mut p = base();
        p.push(("not.a.kafka.key", "1"));
        let c = KafkaConfig::from_props(&props(&p)).unwrap();
        assert_eq!(c.unknown_keys, vec!["not.a.kafka.key".to_string()]);
    }

    #[test]
    fn log_defaults_follow_kafka_precedence() {
        let mut p = base();
        p.push(("log.retention.minutes", "2"));
        p.push(("log.roll.hours", "1"));
        p.push(("log.segment.bytes", "1024"));
        let c = KafkaConfig::from_props(&props(&p)).unwrap();
        let l = c.log_config_props();
        assert_eq!(
            l["retention.ms"], "120000",
            "minutes win over the hours default"
        );
        assert_eq!(l["segment.ms"], "3600000");
        assert_eq!(l["segment.bytes"], "1024");
        let log = crate::log::LogConfig::from_props(&l).unwrap();
        assert_eq!(log.segment_bytes, 1024);
        assert_eq!(log.retention_ms, 120000);
    }

    #[test]
    fn api_versions_parse() {
        assert_eq!(ApiVersion::parse("2.6"), Some(ApiVersion(2, 6, 0)));
        assert_eq!(ApiVersion::parse("2.7"), Some(ApiVersion(2, 7, 2)));
        assert_eq!(ApiVersion::parse("2.7-IV0"), Some(ApiVersion(2, 7, 0)));
        assert_eq!(ApiVersion::parse("x"), None);
    }
}
