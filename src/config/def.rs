//! The broker's config definitions: every Kafka 2.8 broker key we know, its type and default
//! (server/KafkaConfig.scala), and Kafka's validation messages.

use std::fmt;

/// The value type of a config key, as Kafka's ConfigDef names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Int,
    Long,
    Short,
    Double,
    Boolean,
    String,
    List,
    Password,
    Class,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Type::Int => "INT",
            Type::Long => "LONG",
            Type::Short => "SHORT",
            Type::Double => "DOUBLE",
            Type::Boolean => "BOOLEAN",
            Type::String => "STRING",
            Type::List => "LIST",
            Type::Password => "PASSWORD",
            Type::Class => "CLASS",
        };
        f.write_str(name)
    }
}

/// One broker config key: name, type, default (`None` = null), and smallest legal value.
pub struct ConfigDef {
    pub name: &'static str,
    pub ty: Type,
    pub default: Option<&'static str>,
    pub at_least: Option<i64>,
}

const fn def(name: &'static str, ty: Type, default: Option<&'static str>) -> ConfigDef {
    ConfigDef {
        name,
        ty,
        default,
        at_least: None,
    }
}

const fn min(name: &'static str, ty: Type, default: &'static str, at_least: i64) -> ConfigDef {
    ConfigDef {
        name,
        ty,
        default: Some(default),
        at_least: Some(at_least),
    }
}

use Type::*;

const MAX_INT: &str = "2147483647";
const MAX_LONG: &str = "9223372036854775807";

/// Every broker-level key of Kafka 2.8 that zkafka reads or accepts (broker-config.md).
pub static BROKER_CONFIGS: &[ConfigDef] = &[
    // ZooKeeper
    def("zookeeper.connect", String, None),
    def("zookeeper.session.timeout.ms", Int, Some("18000")),
    def("zookeeper.connection.timeout.ms", Int, None),
    def("zookeeper.sync.time.ms", Int, Some("2000")),
    def("zookeeper.set.acl", Boolean, Some("false")),
    min("zookeeper.max.in.flight.requests", Int, "10", 1),
    def("zookeeper.ssl.client.enable", Boolean, Some("false")),
    // Broker identity and general
    def("broker.id", Int, Some("-1")),
    def("broker.id.generation.enable", Boolean, Some("true")),
    min("reserved.broker.max.id", Int, "1000", 0),
    def("broker.rack", String, None),
    min("message.max.bytes", Int, "1048588", 0),
    min("num.network.threads", Int, "3", 1),
    min("num.io.threads", Int, "8", 1),
    min("background.threads", Int, "10", 1),
    min("queued.max.requests", Int, "500", 1),
    def("queued.max.request.bytes", Long, Some("-1")),
    def("request.timeout.ms", Int, Some("30000")),
    def("socket.connection.setup.timeout.ms", Long, Some("10000")),
    def(
        "socket.connection.setup.timeout.max.ms",
        Long,
        Some("30000"),
    ),
    // Kafka 2.8 defaults to 2.8-IV1; zkafka to 2.6, the last level with the classic ISR path.
    def(
        "inter.broker.protocol.version",
        String,
        Some(super::DEFAULT_IBP),
    ),
    def("auto.create.topics.enable", Boolean, Some("true")),
    def("delete.topic.enable", Boolean, Some("true")),
    min("num.partitions", Int, "1", 1),
    def("default.replication.factor", Int, Some("1")),
    min("min.insync.replicas", Int, "1", 1),
    def("unclean.leader.election.enable", Boolean, Some("false")),
    def("compression.type", String, Some("producer")),
    def("authorizer.class.name", String, Some("")),
    // Read by AclAuthorizer: `User:a;User:b`.
    def("super.users", String, Some("")),
    def("allow.everyone.if.no.acl.found", Boolean, Some("false")),
    def("create.topic.policy.class.name", Class, None),
    def("alter.config.policy.class.name", Class, None),
    // Listeners and sockets
    def("listeners", String, None),
    def("advertised.listeners", String, None),
    def(
        "listener.security.protocol.map",
        String,
        Some("PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"),
    ),
    def("inter.broker.listener.name", String, None),
    def("security.inter.broker.protocol", String, Some("PLAINTEXT")),
    def("control.plane.listener.name", String, None),
    def("host.name", String, Some("")),
    def("port", Int, Some("9092")),
    def("advertised.host.name", String, None),
    def("advertised.port", Int, None),
    def("socket.send.buffer.bytes", Int, Some("102400")),
    def("socket.receive.buffer.bytes", Int, Some("102400")),
    min("socket.request.max.bytes", Int, "104857600", 1),
    min("max.connections.per.ip", Int, MAX_INT, 0),
    def("max.connections.per.ip.overrides", String, Some("")),
    min("max.connections", Int, MAX_INT, 0),
    min("max.connection.creation.rate", Int, MAX_INT, 0),
    def("connections.max.idle.ms", Long, Some("600000")),
    min("connection.failed.authentication.delay.ms", Int, "100", 0),
    // Log storage
    def("log.dirs", String, None),
    def("log.dir", String, Some("/tmp/kafka-logs")),
    min("log.segment.bytes", Int, "1073741824", 14),
    def("log.roll.ms", Long, None),
    min("log.roll.hours", Int, "168", 1),
    def("log.roll.jitter.ms", Long, None),
    min("log.roll.jitter.hours", Int, "0", 0),
    def("log.retention.ms", Long, None),
    def("log.retention.minutes", Int, None),
    def("log.retention.hours", Int, Some("168")),
    def("log.retention.bytes", Long, Some("-1")),
    min("log.retention.check.interval.ms", Long, "300000", 1),
    def("log.cleanup.policy", List, Some("delete")),
    min("log.segment.delete.delay.ms", Long, "60000", 0),
    min("log.index.size.max.bytes", Int, "10485760", 4),
    min("log.index.interval.bytes", Int, "4096", 0),
    min("log.flush.interval.messages", Long, MAX_LONG, 1),
    def("log.flush.interval.ms", Long, None),
    def("log.flush.scheduler.interval.ms", Long, Some(MAX_LONG)),
    min("log.flush.offset.checkpoint.interval.ms", Int, "60000", 0),
    min(
        "log.flush.start.offset.checkpoint.interval.ms",
        Int,
        "60000",
        0,
    ),
    def("log.preallocate", Boolean, Some("false")),
    def("log.message.format.version", String, Some("2.8-IV1")),
    def("log.message.timestamp.type", String, Some("CreateTime")),
    def(
        "log.message.timestamp.difference.max.ms",
        Long,
        Some(MAX_LONG),
    ),
    def("log.message.downconversion.enable", Boolean, Some("true")),
    min("num.recovery.threads.per.data.dir", Int, "1", 1),
    // zkafka's own: at most this many segments' `.log` files open at once, active ones
    // included (an LRU of handles reopened on demand; at most half the open-files limit).
    min("zkafka.log.segment.open.files.max", Int, "1024", 1),
    def("num.replica.alter.log.dirs.threads", Int, None),
    // Log cleaner
    def("log.cleaner.enable", Boolean, Some("true")),
    min("log.cleaner.threads", Int, "1", 0),
    def(
        "log.cleaner.io.max.bytes.per.second",
        Double,
        Some("1.7976931348623157E308"),
    ),
    def("log.cleaner.dedupe.buffer.size", Long, Some("134217728")),
    min("log.cleaner.io.buffer.size", Int, "524288", 0),
    def("log.cleaner.io.buffer.load.factor", Double, Some("0.9")),
    min("log.cleaner.backoff.ms", Long, "15000", 0),
    def("log.cleaner.min.cleanable.ratio", Double, Some("0.5")),
    def("log.cleaner.delete.retention.ms", Long, Some("86400000")),
    def("log.cleaner.min.compaction.lag.ms", Long, Some("0")),
    def("log.cleaner.max.compaction.lag.ms", Long, Some(MAX_LONG)),
    // Replication
    def("replica.lag.time.max.ms", Long, Some("30000")),
    def("replica.socket.timeout.ms", Int, Some("30000")),
    def("replica.socket.receive.buffer.bytes", Int, Some("65536")),
    min("replica.fetch.max.bytes", Int, "1048576", 0),
    def("replica.fetch.wait.max.ms", Int, Some("500")),
    def("replica.fetch.min.bytes", Int, Some("1")),
    min("replica.fetch.response.max.bytes", Int, "10485760", 0),
    min("replica.fetch.backoff.ms", Int, "1000", 0),
    def("num.replica.fetchers", Int, Some("1")),
    def(
        "replica.high.watermark.checkpoint.interval.ms",
        Long,
        Some("5000"),
    ),
    def("replica.selector.class", String, None),
    def("fetch.purgatory.purge.interval.requests", Int, Some("1000")),
    def(
        "producer.purgatory.purge.interval.requests",
        Int,
        Some("1000"),
    ),
    def(
        "delete.records.purgatory.purge.interval.requests",
        Int,
        Some("1"),
    ),
    def("auto.leader.rebalance.enable", Boolean, Some("true")),
    def("leader.imbalance.per.broker.percentage", Int, Some("10")),
    def("leader.imbalance.check.interval.seconds", Long, Some("300")),
    def("controller.socket.timeout.ms", Int, Some("30000")),
    def("controlled.shutdown.enable", Boolean, Some("true")),
    def("controlled.shutdown.max.retries", Int, Some("3")),
    def("controlled.shutdown.retry.backoff.ms", Long, Some("5000")),
    min("fetch.max.bytes", Int, "57671680", 1024),
    min("max.incremental.fetch.session.cache.slots", Int, "1000", 0),
    // Group coordinator and offsets
    def("group.min.session.timeout.ms", Int, Some("6000")),
    def("group.max.session.timeout.ms", Int, Some("1800000")),
    def("group.initial.rebalance.delay.ms", Int, Some("3000")),
    min("group.max.size", Int, MAX_INT, 1),
    def("offset.metadata.max.bytes", Int, Some("4096")),
    min("offsets.load.buffer.size", Int, "5242880", 1),
    min("offsets.topic.replication.factor", Short, "3", 1),
    min("offsets.topic.num.partitions", Int, "50", 1),
    min("offsets.topic.segment.bytes", Int, "104857600", 1),
    def("offsets.topic.compression.codec", Int, Some("0")),
    min("offsets.retention.minutes", Int, "10080", 1),
    min("offsets.retention.check.interval.ms", Long, "600000", 1),
    min("offsets.commit.timeout.ms", Int, "5000", 1),
    def("offsets.commit.required.acks", Short, Some("-1")),
    // Transactions and producer ids
    min("transactional.id.expiration.ms", Int, "604800000", 1),
    min("transaction.max.timeout.ms", Int, "900000", 1),
    min("transaction.state.log.min.isr", Int, "2", 1),
    min("transaction.state.log.load.buffer.size", Int, "5242880", 1),
    min("transaction.state.log.replication.factor", Short, "3", 1),
    min("transaction.state.log.num.partitions", Int, "50", 1),
    min("transaction.state.log.segment.bytes", Int, "104857600", 1),
    min(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        Int,
        "10000",
        1,
    ),
    min(
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        Int,
        "3600000",
        1,
    ),
    // Quotas
    def("quota.producer.default", Long, Some(MAX_LONG)),
    def("quota.consumer.default", Long, Some(MAX_LONG)),
    def("quota.window.num", Int, Some("11")),
    def("quota.window.size.seconds", Int, Some("1")),
    def("replication.quota.window.num", Int, Some("11")),
    def("replication.quota.window.size.seconds", Int, Some("1")),
    def(
        "alter.log.dirs.replication.quota.window.num",
        Int,
        Some("11"),
    ),
    def(
        "alter.log.dirs.replication.quota.window.size.seconds",
        Int,
        Some("1"),
    ),
    def("controller.quota.window.num", Int, Some("11")),
    def("controller.quota.window.size.seconds", Int, Some("1")),
    def("client.quota.callback.class", Class, None),
    // Security, tokens, metrics (SSL listeners are served; SASL keys are accepted)
    def("sasl.enabled.mechanisms", List, Some("GSSAPI")),
    def(
        "sasl.mechanism.inter.broker.protocol",
        String,
        Some("GSSAPI"),
    ),
    def("sasl.jaas.config", Password, None),
    def("ssl.protocol", String, Some("TLSv1.3")),
    def("ssl.enabled.protocols", List, Some("TLSv1.2,TLSv1.3")),
    def("ssl.keystore.type", String, Some("JKS")),
    def("ssl.truststore.type", String, Some("JKS")),
    def("ssl.client.auth", String, Some("none")),
    def("ssl.keystore.location", String, None),
    def("ssl.keystore.password", Password, None),
    def("ssl.key.password", Password, None),
    def("ssl.keystore.key", Password, None),
    def("ssl.keystore.certificate.chain", Password, None),
    def("ssl.truststore.location", String, None),
    def("ssl.truststore.password", Password, None),
    def("ssl.truststore.certificates", Password, None),
    def("ssl.cipher.suites", List, None),
    def("ssl.principal.mapping.rules", String, Some("DEFAULT")),
    def(
        "ssl.endpoint.identification.algorithm",
        String,
        Some("https"),
    ),
    def("principal.builder.class", Class, None),
    def("connections.max.reauth.ms", Long, Some("0")),
    def("delegation.token.master.key", Password, None),
    def("delegation.token.secret.key", Password, None),
    def("delegation.token.max.lifetime.ms", Long, Some("604800000")),
    def("delegation.token.expiry.time.ms", Long, Some("86400000")),
    def(
        "delegation.token.expiry.check.interval.ms",
        Long,
        Some("3600000"),
    ),
    def("password.encoder.secret", Password, None),
    def(
        "password.encoder.cipher.algorithm",
        String,
        Some("AES/CBC/PKCS5Padding"),
    ),
    def("metrics.num.samples", Int, Some("2")),
    def("metrics.sample.window.ms", Long, Some("30000")),
    def("metric.reporters", List, Some("")),
    def("kafka.metrics.reporters", List, Some("")),
    def("kafka.metrics.polling.interval.secs", Int, Some("10")),
    // zkafka's own: `host:port` of the HTTP endpoint serving /metrics (Prometheus text with
    // the jmx_exporter names of Kafka's MBeans), /state (JSON) and /events (server-sent
    // events). Empty (the default) = no endpoint.
    def("zkafka.http.listener", String, Some("")),
];

/// Looks up a key's definition.
pub fn find(name: &str) -> Option<&'static ConfigDef> {
    BROKER_CONFIGS.iter().find(|d| d.name == name)
}

/// A config problem, worded as Kafka's `ConfigException` so users recognise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub std::string::String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub fn invalid(name: &str, value: &str, why: impl fmt::Display) -> Self {
        ConfigError(format!(
            "Invalid value {value} for configuration {name}: {why}"
        ))
    }

    pub fn missing(name: &str) -> Self {
        ConfigError(format!(
            "Missing required configuration \"{name}\" which has no default value."
        ))
    }
}

/// Checks that `value` parses as the key's type and respects its lower bound.
pub fn validate(def: &ConfigDef, value: &str) -> Result<(), ConfigError> {
    let v = value.trim();
    let number = match def.ty {
        Int => Some(v.parse::<i32>().map(i64::from).ok()),
        Short => Some(v.parse::<i16>().map(i64::from).ok()),
        Long => Some(v.parse::<i64>().ok()),
        Double => {
            v.parse::<f64>().map_err(|_| {
                ConfigError::invalid(def.name, value, "Not a number of type DOUBLE")
            })?;
            None
        }
        Boolean => {
            if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                return Err(ConfigError::invalid(
                    def.name,
                    value,
                    "Expected value to be either true or false",
                ));
            }
            None
        }
        String | List | Password | Class => None,
    };
    match (number, def.at_least) {
        (Some(None), _) => Err(ConfigError::invalid(
            def.name,
            value,
            format!("Not a number of type {}", def.ty),
        )),
        (Some(Some(n)), Some(lo)) if n < lo => Err(ConfigError::invalid(
            def.name,
            value,
            format!("Value must be at least {lo}"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_defaults_valid() {
        let mut names: Vec<_> = BROKER_CONFIGS.iter().map(|d| d.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), BROKER_CONFIGS.len());
        for d in BROKER_CONFIGS {
            if let Some(v) = d.default {
                validate(d, v).unwrap_or_else(|e| panic!("default of {}: {e}", d.name));
            }
        }
    }

    #[test]
    fn messages_match_kafka() {
        let e = validate(find("broker.id").unwrap(), "abc").unwrap_err();
        assert_eq!(
            e.0,
            "Invalid value abc for configuration broker.id: Not a number of type INT"
        );
        let e = validate(find("num.io.threads").unwrap(), "0").unwrap_err();
        assert_eq!(
            e.0,
            "Invalid value 0 for configuration num.io.threads: Value must be at least 1"
        );
        let e = validate(find("delete.topic.enable").unwrap(), "yes").unwrap_err();
        assert!(e.0.contains("delete.topic.enable"));
    }
}
