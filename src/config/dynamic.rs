//! Dynamic broker configuration (server/DynamicBrokerConfig.scala): the configs stored in
//! `/config/brokers/<id>` (per broker) and `/config/brokers/<default>` (cluster default), which
//! of Kafka 2.8's keys may be changed at runtime and at which level, and the effective config
//! with Kafka's precedence: per broker > cluster default > server.properties > default.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use super::def::{self, ConfigDef, Type};
use super::KafkaConfig;

/// The entity name of the cluster-wide default (`/config/brokers/<default>`).
pub const DEFAULT_ENTITY: &str = "<default>";

pub const LEADER_REPLICATION_THROTTLED_RATE: &str = "leader.replication.throttled.rate";
pub const FOLLOWER_REPLICATION_THROTTLED_RATE: &str = "follower.replication.throttled.rate";
pub const REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND: &str =
    "replica.alter.log.dirs.io.max.bytes.per.second";

/// `DynamicConfig.Broker`: keys that exist only as dynamic configs (LONG, default
/// Long.MaxValue = unthrottled, at least 0).
pub static DYNAMIC_ONLY_CONFIGS: &[ConfigDef] = &[
    ConfigDef {
        name: LEADER_REPLICATION_THROTTLED_RATE,
        ty: Type::Long,
        default: Some("9223372036854775807"),
        at_least: Some(0),
    },
    ConfigDef {
        name: FOLLOWER_REPLICATION_THROTTLED_RATE,
        ty: Type::Long,
        default: Some("9223372036854775807"),
        at_least: Some(0),
    },
    ConfigDef {
        name: REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND,
        ty: Type::Long,
        default: Some("9223372036854775807"),
        at_least: Some(0),
    },
];

/// `DynamicLogConfig.ReconfigurableConfigs`: the broker keys of `LogConfig.TopicConfigSynonyms`
/// minus `log.message.format.version`.
const LOG_CONFIGS: &[&str] = &[
    "log.segment.bytes",
    "log.roll.ms",
    "log.roll.jitter.ms",
    "log.index.size.max.bytes",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.retention.bytes",
    "log.retention.ms",
    "message.max.bytes",
    "log.index.interval.bytes",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.segment.delete.delay.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.cleanup.policy",
    "unclean.leader.election.enable",
    "min.insync.replicas",
    "compression.type",
    "log.preallocate",
    "log.message.timestamp.type",
    "log.message.timestamp.difference.max.ms",
    "log.message.downconversion.enable",
];

/// `LogCleaner`, `DynamicThreadPool`, `SocketServer` reconfigurable configs and metric reporters.
const CLUSTER_WIDE_CONFIGS: &[&str] = &[
    "log.cleaner.threads",
    "log.cleaner.dedupe.buffer.size",
    "log.cleaner.io.buffer.load.factor",
    "log.cleaner.io.buffer.size",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.backoff.ms",
    "num.io.threads",
    "num.network.threads",
    "num.replica.fetchers",
    "num.recovery.threads.per.data.dir",
    "background.threads",
    "metric.reporters",
    "max.connections.per.ip",
    "max.connections.per.ip.overrides",
    "max.connections",
    "max.connection.creation.rate",
];

/// `DynamicListenerConfig.ReconfigurableConfigs` (listener, SSL and SASL keys): per broker only.
const PER_BROKER_CONFIGS: &[&str] = &[
    "advertised.listeners",
    "listeners",
    "listener.security.protocol.map",
    "principal.builder.class",
    "ssl.protocol",
    "ssl.provider",
    "ssl.cipher.suites",
    "ssl.enabled.protocols",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.endpoint.identification.algorithm",
    "ssl.secure.random.implementation",
    "ssl.client.auth",
    "ssl.engine.factory.class",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.jaas.config",
    "sasl.enabled.mechanisms",
    "sasl.kerberos.service.name",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.principal.to.local.rules",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "connections.max.reauth.ms",
];

/// `SslConfigs.RECONFIGURABLE_CONFIGS`: only settable with a `listener.name.<l>.` prefix.
const SSL_RECONFIGURABLE_CONFIGS: &[&str] = &[
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.truststore.certificates",
];

/// `max.connections` and `max.connection.creation.rate` may be set per listener cluster-wide.
const CLUSTER_LEVEL_LISTENER_CONFIGS: &[&str] =
    &["max.connections", "max.connection.creation.rate"];

/// `DynamicBrokerConfig.AllDynamicConfigs` plus the `DynamicConfig.Broker` quota keys: the
/// broker configs a DescribeConfigs reports as not read-only.
pub fn is_dynamic(name: &str) -> bool {
    LOG_CONFIGS.contains(&name)
        || CLUSTER_WIDE_CONFIGS.contains(&name)
        || PER_BROKER_CONFIGS.contains(&name)
        || DYNAMIC_ONLY_CONFIGS.iter().any(|d| d.name == name)
}

/// The definition of a broker key, including the dynamic-only ones.
pub fn find_def(name: &str) -> Option<&'static ConfigDef> {
    def::find(name).or_else(|| DYNAMIC_ONLY_CONFIGS.iter().find(|d| d.name == name))
}

/// `listener.name.<l>.<base>` → `<base>`.
fn listener_base(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("listener.name.")?;
    rest.split_once('.').map(|(_, base)| base)
}

/// Kafka's `Set(a, b)` rendering of the keys a message names.
fn scala_set(names: &BTreeSet<&str>) -> String {
    let v: Vec<&str> = names.iter().copied().collect();
    format!("Set({})", v.join(", "))
}

/// `DynamicBrokerConfig.validateConfigs`: the `ConfigException` text for a dynamic update of
/// `props` at the per-broker (`per_broker`) or cluster-default level. Keys Kafka does not
/// know are allowed (custom configs), as in Kafka.
pub fn validate_dynamic(props: &BTreeMap<String, String>, per_broker: bool) -> Result<(), String> {
    let names: BTreeSet<&str> = props.keys().map(String::as_str).collect();
    let non_dynamic: BTreeSet<&str> = names
        .iter()
        .copied()
        .filter(|n| def::find(n).is_some() && !is_dynamic(n))
        .collect();
    if !non_dynamic.is_empty() {
        return Err(format!(
            "Cannot update these configs dynamically: {}",
            scala_set(&non_dynamic)
        ));
    }
    let security: BTreeSet<&str> = names
        .iter()
        .copied()
        .filter(|n| SSL_RECONFIGURABLE_CONFIGS.contains(n))
        .collect();
    if !security.is_empty() {
        return Err(format!(
            "These security configs can be dynamically updated only per-listener using the listener prefix: {}",
            scala_set(&security)
        ));
    }
    for (name, value) in props {
        let base = listener_base(name).unwrap_or(name);
        if let Some(d) = find_def(base) {
            def::validate(d, value).map_err(|e| e.0)?;
        }
    }
    if !per_broker {
        let per_broker_only: BTreeSet<&str> = names
            .iter()
            .copied()
            .filter(|n| match listener_base(n) {
                Some(base) => !CLUSTER_LEVEL_LISTENER_CONFIGS.contains(&base),
                None => {
                    PER_BROKER_CONFIGS.contains(n) && !CLUSTER_LEVEL_LISTENER_CONFIGS.contains(n)
                }
            })
            .collect();
        if !per_broker_only.is_empty() {
            return Err(format!(
                "Cannot update these configs at default cluster level, broker id must be specified: {}",
                scala_set(&per_broker_only)
            ));
        }
    }
    Ok(())
}

/// `DynamicBrokerConfig.brokerConfigSynonyms`: the keys that set the same value, highest
/// precedence first.
pub fn broker_config_synonyms(name: &str) -> Vec<&str> {
    match name {
        "log.roll.ms" | "log.roll.hours" => vec!["log.roll.ms", "log.roll.hours"],
        "log.roll.jitter.ms" | "log.roll.jitter.hours" => {
            vec!["log.roll.jitter.ms", "log.roll.jitter.hours"]
        }
        "log.flush.interval.ms" => vec!["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        "log.retention.ms" | "log.retention.minutes" | "log.retention.hours" => vec![
            "log.retention.ms",
            "log.retention.minutes",
            "log.retention.hours",
        ],
        _ => match listener_base(name) {
            Some(base) => vec![name, base],
            None => vec![name],
        },
    }
}

/// The two dynamic layers as stored in ZooKeeper.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DynamicLayers {
    /// `/config/brokers/<id>`
    pub per_broker: BTreeMap<String, String>,
    /// `/config/brokers/<default>`
    pub cluster_default: BTreeMap<String, String>,
}

/// The broker's static config plus its dynamic layers, and the effective config they give.
/// Readers take a snapshot (`current()`); the config change listener swaps it.
pub struct DynamicBrokerConfig {
    static_config: Arc<KafkaConfig>,
    state: RwLock<(DynamicLayers, Arc<KafkaConfig>)>,
}

impl DynamicBrokerConfig {
    pub fn new(static_config: Arc<KafkaConfig>) -> DynamicBrokerConfig {
        DynamicBrokerConfig {
            state: RwLock::new((DynamicLayers::default(), static_config.clone())),
            static_config,
        }
    }

    /// The server.properties config (no dynamic layer).
    pub fn static_config(&self) -> &Arc<KafkaConfig> {
        &self.static_config
    }

    /// The effective config: dynamic layers over server.properties.
    pub fn current(&self) -> Arc<KafkaConfig> {
        self.state.read().expect("dynamic config lock").1.clone()
    }

    pub fn layers(&self) -> DynamicLayers {
        self.state.read().expect("dynamic config lock").0.clone()
    }

    /// Installs newly read layers. Invalid or non-dynamic entries are dropped with one log
    /// line each (Kafka's `removeInvalidConfigs`), so a bad znode never stops the broker.
    /// Returns the previous effective config.
    pub fn update(&self, mut layers: DynamicLayers) -> Arc<KafkaConfig> {
        drop_invalid(&mut layers.per_broker, true);
        drop_invalid(&mut layers.cluster_default, false);
        let mut merged = layers.cluster_default.clone();
        merged.extend(layers.per_broker.clone());
        let effective = Arc::new(self.static_config.with_overrides(&merged));
        let mut state = self.state.write().expect("dynamic config lock");
        let old = std::mem::replace(&mut *state, (layers, effective));
        old.1
    }

    /// A key's value from the per-broker layer only, else its default (Kafka applies the
    /// replication throttle rates from `/config/brokers/<id>` only: BrokerConfigHandler).
    fn per_broker_long(&self, name: &str) -> i64 {
        let state = self.state.read().expect("dynamic config lock");
        state
            .0
            .per_broker
            .get(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(i64::MAX)
    }

    /// `leader.replication.throttled.rate` in bytes/s (i64::MAX = unthrottled).
    pub fn leader_replication_throttled_rate(&self) -> i64 {
        self.per_broker_long(LEADER_REPLICATION_THROTTLED_RATE)
    }

    /// `follower.replication.throttled.rate` in bytes/s (i64::MAX = unthrottled).
    pub fn follower_replication_throttled_rate(&self) -> i64 {
        self.per_broker_long(FOLLOWER_REPLICATION_THROTTLED_RATE)
    }

    /// `replica.alter.log.dirs.io.max.bytes.per.second` (i64::MAX = unthrottled).
    pub fn replica_alter_log_dirs_io_max_bytes_per_second(&self) -> i64 {
        self.per_broker_long(REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND)
    }
}

fn drop_invalid(props: &mut BTreeMap<String, String>, per_broker: bool) {
    let level = if per_broker {
        "broker"
    } else {
        "default cluster"
    };
    props.retain(|k, v| {
        let one = BTreeMap::from([(k.clone(), v.clone())]);
        match validate_dynamic(&one, per_broker) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(target: "kafka.server.DynamicBrokerConfig",
                    "Dynamic {level} config contains an invalid value for {k}, it will be ignored: {e}");
                false
            }
        }
    });
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

    #[test]
    fn validation_matches_kafka_messages() {
        assert!(validate_dynamic(&props(&[("log.retention.ms", "1000")]), false).is_ok());
        assert!(validate_dynamic(&props(&[("my.custom.key", "x")]), false).is_ok());
        assert_eq!(
            validate_dynamic(&props(&[("num.partitions", "3"), ("broker.id", "1")]), true)
                .unwrap_err(),
            "Cannot update these configs dynamically: Set(broker.id, num.partitions)"
        );
        assert_eq!(
            validate_dynamic(&props(&[("log.cleaner.threads", "x")]), true).unwrap_err(),
            "Invalid value x for configuration log.cleaner.threads: Not a number of type INT"
        );
        assert_eq!(
            validate_dynamic(&props(&[("leader.replication.throttled.rate", "-1")]), true)
                .unwrap_err(),
            "Invalid value -1 for configuration leader.replication.throttled.rate: Value must be at least 0"
        );
        assert_eq!(
            validate_dynamic(&props(&[("listeners", "PLAINTEXT://:9092")]), false).unwrap_err(),
            "Cannot update these configs at default cluster level, broker id must be specified: Set(listeners)"
        );
        assert!(validate_dynamic(&props(&[("max.connections", "10")]), false).is_ok());
        assert!(
            validate_dynamic(&props(&[("ssl.keystore.password", "x")]), true)
                .unwrap_err()
                .starts_with("These security configs can be dynamically updated only per-listener")
        );
    }

    #[test]
    fn precedence_and_throttles() {
        let base: BTreeMap<String, String> = props(&[
            ("broker.id", "1"),
            ("zookeeper.connect", "127.0.0.1:2181"),
            ("listeners", "PLAINTEXT://127.0.0.1:9092"),
            ("log.dirs", "/tmp/a"),
            ("log.retention.ms", "5000"),
        ]);
        let d = DynamicBrokerConfig::new(Arc::new(KafkaConfig::from_props(&base).unwrap()));
        assert_eq!(d.current().long("log.retention.ms"), 5000);
        assert_eq!(d.leader_replication_throttled_rate(), i64::MAX);
        d.update(DynamicLayers {
            per_broker: props(&[
                ("log.retention.ms", "1000"),
                ("leader.replication.throttled.rate", "1024"),
                ("num.partitions", "9"),
            ]),
            cluster_default: props(&[
                ("log.retention.ms", "2000"),
                ("log.segment.bytes", "4096"),
                ("follower.replication.throttled.rate", "77"),
            ]),
        });
        let c = d.current();
        assert_eq!(c.long("log.retention.ms"), 1000, "per broker wins");
        assert_eq!(
            c.long("log.segment.bytes"),
            4096,
            "default beats static default"
        );
        assert_eq!(c.int("num.partitions"), 1, "static-only key ignored");
        assert_eq!(d.leader_replication_throttled_rate(), 1024);
        assert_eq!(
            d.follower_replication_throttled_rate(),
            i64::MAX,
            "throttle rates come from the per-broker znode only"
        );
        assert!(!d.layers().per_broker.contains_key("num.partitions"));
    }
}
