//! A tool's client properties — Kafka's `--command-config` (`--admin.config`,
//! `--producer.config`, `--consumer.config`, and `--producer-property`/`--consumer-property`
//! on top): how every tool connects to brokers. `security.protocol` PLAINTEXT (the default),
//! SSL, SASL_PLAINTEXT or SASL_SSL; `sasl.mechanism` PLAIN or SCRAM-SHA-256/512 with the
//! `username`/`password` of `sasl.jaas.config`; `ssl.truststore.*`/`ssl.keystore.*` as PEM.
//!
//! A tool process is one client: it loads its properties once ([`configure`]) and every
//! connection it opens ([`connect`]) uses them, so the tools' many connect sites need no
//! plumbing. A key no Java client knows, or a security setting zkafka does not implement, is
//! an error naming the key and the file.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::cluster::SecurityProtocol;
use crate::network::client::BrokerClient;
use crate::security::sasl::scram::ScramMechanism;
use crate::security::sasl::{jaas, SaslClientConfig, PLAIN};

/// Which Java client the properties configure: each accepts its own keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    Admin,
    Producer,
    Consumer,
}

/// How a tool's connections are secured.
#[derive(Clone, Default)]
pub struct ClientSecurity {
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub sasl: Option<SaslClientConfig>,
}

/// The process's client security, set once by the tool before it connects.
static SECURITY: OnceLock<ClientSecurity> = OnceLock::new();

/// The security settings zkafka's tools implement.
const SECURITY_KEYS: &[&str] = &[
    "security.protocol",
    "sasl.mechanism",
    "sasl.jaas.config",
    "ssl.truststore.location",
    "ssl.truststore.type",
    "ssl.truststore.certificates",
    "ssl.truststore.password",
    "ssl.keystore.location",
    "ssl.keystore.type",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.password",
    "ssl.endpoint.identification.algorithm",
    "ssl.enabled.protocols",
    "ssl.protocol",
    "ssl.cipher.suites",
];

/// Keys every Java client accepts; the tools take them and keep their own behaviour.
const COMMON_KEYS: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "client.dns.lookup",
    "request.timeout.ms",
    "default.api.timeout.ms",
    "retries",
    "retry.backoff.ms",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "connections.max.idle.ms",
    "metadata.max.age.ms",
    "send.buffer.bytes",
    "receive.buffer.bytes",
    "socket.connection.setup.timeout.ms",
    "socket.connection.setup.timeout.max.ms",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.sample.window.ms",
    "metrics.recording.level",
];

const PRODUCER_KEYS: &[&str] = &[
    "acks",
    "batch.size",
    "buffer.memory",
    "compression.type",
    "delivery.timeout.ms",
    "enable.idempotence",
    "interceptor.classes",
    "key.serializer",
    "value.serializer",
    "linger.ms",
    "max.block.ms",
    "max.in.flight.requests.per.connection",
    "max.request.size",
    "metadata.max.idle.ms",
    "partitioner.class",
    "transaction.timeout.ms",
    "transactional.id",
];

const CONSUMER_KEYS: &[&str] = &[
    "group.id",
    "group.instance.id",
    "auto.offset.reset",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "client.rack",
    "check.crcs",
    "exclude.internal.topics",
    "allow.auto.create.topics",
    "fetch.min.bytes",
    "fetch.max.bytes",
    "fetch.max.wait.ms",
    "max.partition.fetch.bytes",
    "max.poll.records",
    "max.poll.interval.ms",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "isolation.level",
    "interceptor.classes",
    "key.deserializer",
    "value.deserializer",
    "partition.assignment.strategy",
];

/// Java properties text: `key=value` (or `key: value`) lines; `#`/`!` comments.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let at = l.find(['=', ':'])?;
            Some((l[..at].trim().to_string(), l[at + 1..].trim().to_string()))
        })
        .collect()
}

/// Reads a client properties file.
pub fn read_properties(path: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the client properties file {path}"))?;
    Ok(parse_properties(&text))
}

/// Refuses a security setting zkafka lacks or a key no Java client knows (a typo); a key of
/// another kind of client (`acks` in an admin tool's file) is only warned about, as Kafka's
/// clients do, so one properties file can serve every tool.
fn check_key(key: &str, kind: ClientKind, file: &str) -> anyhow::Result<()> {
    let own = match kind {
        ClientKind::Admin => &[][..],
        ClientKind::Producer => PRODUCER_KEYS,
        ClientKind::Consumer => CONSUMER_KEYS,
    };
    if SECURITY_KEYS.contains(&key) || COMMON_KEYS.contains(&key) || own.contains(&key) {
        return Ok(());
    }
    if ["security.", "ssl.", "sasl."]
        .iter()
        .any(|p| key.starts_with(p))
    {
        bail!("{file}: {key} is not supported by zkafka's tools (they implement security.protocol, sasl.mechanism PLAIN/SCRAM-SHA-256/SCRAM-SHA-512 with sasl.jaas.config, and PEM ssl.truststore.*/ssl.keystore.*)");
    }
    if PRODUCER_KEYS.contains(&key) || CONSUMER_KEYS.contains(&key) {
        eprintln!("WARN The configuration '{key}' was supplied but isn't a known config of a Kafka {kind:?} client (in {file}).");
        return Ok(());
    }
    bail!("{file}: unknown property {key}")
}

/// The client security `props` (read from `file`) ask for.
pub fn client_security(
    props: &BTreeMap<String, String>,
    kind: ClientKind,
    file: &str,
) -> anyhow::Result<ClientSecurity> {
    for key in props.keys() {
        check_key(key, kind, file)?;
    }
    let name = props
        .get("security.protocol")
        .map_or("PLAINTEXT", String::as_str);
    let protocol = SecurityProtocol::parse(name).ok_or_else(|| {
        anyhow!(
            "{file}: invalid security.protocol={name} (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)"
        )
    })?;
    let tls = match protocol {
        SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => Some(
            crate::security::ssl::client_config_from_properties(props, file)
                .map_err(|e| anyhow!("{}", e.0))?,
        ),
        _ => None,
    };
    let sasl = match protocol {
        SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl => {
            Some(sasl_login(props, file)?)
        }
        _ => None,
    };
    Ok(ClientSecurity { tls, sasl })
}

/// The SASL login of a SASL_* protocol: the mechanism and the JAAS username/password.
fn sasl_login(props: &BTreeMap<String, String>, file: &str) -> anyhow::Result<SaslClientConfig> {
    let mechanism = props
        .get("sasl.mechanism")
        .cloned()
        .unwrap_or_else(|| "GSSAPI".to_string());
    if mechanism != PLAIN && ScramMechanism::from_name(&mechanism).is_none() {
        bail!("{file}: sasl.mechanism={mechanism} is not supported (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)");
    }
    let text = props
        .get("sasl.jaas.config")
        .ok_or_else(|| anyhow!("{file}: sasl.jaas.config is required with SASL"))?;
    let entry = jaas::parse(text).map_err(|e| anyhow!("{file}: sasl.jaas.config: {e}"))?;
    let option = |k: &str| {
        entry
            .options
            .get(k)
            .cloned()
            .ok_or_else(|| anyhow!("{file}: sasl.jaas.config has no {k} option"))
    };
    Ok(SaslClientConfig {
        mechanism,
        username: option("username")?,
        password: option("password")?,
    })
}

/// Loads the tool's client properties — the file (if any), then `overrides` (e.g.
/// `--producer-property`) on top — makes them the security of every later [`connect`], and
/// returns them for the tool's own keys (acks, group.id...).
pub fn configure(
    file: Option<&str>,
    overrides: &BTreeMap<String, String>,
    kind: ClientKind,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut props = match file {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    props.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    let origin = match (file, overrides.is_empty()) {
        (Some(path), true) => path.to_string(),
        (Some(path), false) => format!("{path} (with the command line's properties)"),
        (None, _) => "the command line's properties".to_string(),
    };
    let security = client_security(&props, kind, &origin)?;
    let _ = SECURITY.set(security);
    Ok(props)
}

/// [`configure`] for an admin tool's `--command-config` file alone.
pub fn configure_admin(file: Option<&str>) -> anyhow::Result<()> {
    configure(file, &BTreeMap::new(), ClientKind::Admin).map(|_| ())
}

/// Connects to `addr` as the tool's client properties say: TLS for SSL/SASL_SSL, then the
/// SASL login for SASL_*; plain TCP when the tool was not configured.
pub async fn connect(
    addr: &str,
    client_id: &str,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> anyhow::Result<BrokerClient> {
    let security = SECURITY.get();
    let tls = security.and_then(|s| s.tls.as_ref());
    let client = BrokerClient::connect_over(addr, client_id, tls, connect_timeout, request_timeout)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    client
        .authenticated(security.and_then(|s| s.sasl.as_ref()))
        .await
        .with_context(|| format!("SASL login to {addr} failed"))
}

/// A Java client's security property as librdkafka (the perf tools) names it: None when `key`
/// is not a security setting; an error for one librdkafka cannot take (JKS stores, GSSAPI...).
pub fn librdkafka_security(
    key: &str,
    value: &str,
    file: &str,
) -> anyhow::Result<Option<Vec<(String, String)>>> {
    let one = |k: &str, v: &str| Ok(Some(vec![(k.to_string(), v.to_string())]));
    match key {
        "security.protocol" | "sasl.mechanism" => one(key, value),
        "sasl.jaas.config" => {
            let entry = jaas::parse(value).map_err(|e| anyhow!("{file}: sasl.jaas.config: {e}"))?;
            let mut out = Vec::new();
            for (java, rdk) in [("username", "sasl.username"), ("password", "sasl.password")] {
                if let Some(v) = entry.options.get(java) {
                    out.push((rdk.to_string(), v.clone()));
                }
            }
            Ok(Some(out))
        }
        "ssl.truststore.location" => one("ssl.ca.location", value),
        "ssl.truststore.certificates" => one("ssl.ca.pem", value),
        // A PEM keystore holds the key and the chain: librdkafka reads each from the file.
        "ssl.keystore.location" => Ok(Some(vec![
            ("ssl.key.location".to_string(), value.to_string()),
            ("ssl.certificate.location".to_string(), value.to_string()),
        ])),
        "ssl.keystore.key" => one("ssl.key.pem", value),
        "ssl.keystore.certificate.chain" => one("ssl.certificate.pem", value),
        "ssl.endpoint.identification.algorithm" if value.is_empty() => {
            one("ssl.endpoint.identification.algorithm", "none")
        }
        "ssl.endpoint.identification.algorithm" => one(key, value),
        "ssl.truststore.type" | "ssl.keystore.type" if value.eq_ignore_ascii_case("PEM") => {
            Ok(Some(Vec::new()))
        }
        // Passwords of PEM stores, and protocol/cipher choices librdkafka negotiates itself.
        "ssl.truststore.password"
        | "ssl.keystore.password"
        | "ssl.enabled.protocols"
        | "ssl.protocol"
        | "ssl.cipher.suites" => Ok(Some(Vec::new())),
        _ if ["security.", "ssl.", "sasl."]
            .iter()
            .any(|p| key.starts_with(p)) =>
        {
            bail!("{file}: {key}={value} is not supported by zkafka's perf tools (PEM stores, PLAIN and SCRAM only)")
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn security(text: &str) -> anyhow::Result<ClientSecurity> {
        client_security(
            &parse_properties(text),
            ClientKind::Admin,
            "admin.properties",
        )
    }

    #[test]
    fn sasl_properties_give_the_login() {
        let s = security(
            "# admin\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"p=w\";\n",
        )
        .unwrap();
        let login = s.sasl.unwrap();
        assert_eq!(
            (
                login.mechanism.as_str(),
                login.username.as_str(),
                login.password.as_str()
            ),
            ("SCRAM-SHA-512", "admin", "p=w")
        );
        assert!(s.tls.is_none());
        let plain = security("security.protocol=PLAINTEXT\nclient.id=x").unwrap();
        assert!(plain.sasl.is_none() && plain.tls.is_none());
        assert!(security("security.protocol=SASL_PLAINTEXT").is_err());
    }

    #[test]
    fn java_security_properties_in_librdkafka_names() {
        let rdk = |k: &str, v: &str| librdkafka_security(k, v, "p.properties");
        let jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"pw\";";
        let pairs = rdk("sasl.jaas.config", jaas).unwrap().unwrap();
        assert_eq!(
            pairs,
            [
                ("sasl.username".to_string(), "alice".to_string()),
                ("sasl.password".to_string(), "pw".to_string())
            ]
        );
        let ca = rdk("ssl.truststore.location", "/ca.pem").unwrap().unwrap();
        assert_eq!(ca, [("ssl.ca.location".to_string(), "/ca.pem".to_string())]);
        assert_eq!(
            rdk("ssl.keystore.location", "/k.pem")
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        assert!(rdk("ssl.truststore.type", "PEM")
            .unwrap()
            .unwrap()
            .is_empty());
        let e = rdk("ssl.truststore.type", "JKS").unwrap_err().to_string();
        assert!(e.contains("p.properties: ssl.truststore.type=JKS"), "{e}");
        assert!(rdk("acks", "all").unwrap().is_none());
    }

    #[test]
    fn bad_properties_name_the_key_and_file() {
        let err = |text: &str| security(text).err().unwrap().to_string();
        let e = err("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=GSSAPI");
        assert!(
            e.contains("admin.properties") && e.contains("GSSAPI"),
            "{e}"
        );
        let e = err("sasl.kerberos.service.name=kafka");
        assert!(
            e.contains("sasl.kerberos.service.name is not supported"),
            "{e}"
        );
        let e = err("securty.protocol=SSL");
        assert!(
            e.contains("admin.properties: unknown property securty.protocol"),
            "{e}"
        );
        assert!(
            security("group.id=g\nacks=all").is_ok(),
            "other clients' keys: a warning"
        );
        let e = err("security.protocol=TLS");
        assert!(e.contains("security.protocol=TLS"), "{e}");
        // SSL without a truststore, or with Kafka's default JKS type.
        let e = err("security.protocol=SSL");
        assert!(
            e.contains("ssl.truststore.location (in admin.properties)"),
            "{e}"
        );
        let e = err("security.protocol=SSL\nssl.truststore.location=/nonexistent.pem");
        assert!(e.contains("/nonexistent.pem"), "{e}");
        let consumer = parse_properties("group.id=g\nsecurity.protocol=PLAINTEXT");
        assert!(client_security(&consumer, ClientKind::Consumer, "c.properties").is_ok());
    }
}
