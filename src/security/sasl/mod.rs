//! SASL as Kafka's brokers configure and run it: which mechanisms each listener enables, the
//! JAAS options behind PLAIN, the SCRAM credential cache filled from `/config/users`, and the
//! broker's own client credentials for inter-broker connections. The per-connection state
//! machine (SaslServerAuthenticator) lives in `network::authenticator`.

pub mod credentials;
pub mod jaas;
pub mod plain;
pub mod scram;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cluster::SecurityProtocol;
use crate::config::{ConfigError, KafkaConfig};
pub use credentials::CredentialCache;
use scram::ScramMechanism;

pub const PLAIN: &str = "PLAIN";
pub const GSSAPI: &str = "GSSAPI";

/// Why an authentication failed. Kafka sends the message of a SaslAuthenticationException to
/// the client and replaces any other mechanism error with a generic one (it may say too much).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslFailure {
    Authentication(String),
    Internal(String),
}

impl SaslFailure {
    /// What the client is told (SaslServerAuthenticator.handleSaslToken).
    pub fn client_message(&self, mechanism: &str) -> String {
        match self {
            SaslFailure::Authentication(m) => m.clone(),
            SaslFailure::Internal(_) => format!("Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"),
        }
    }

    /// What the broker logs.
    pub fn detail(&self) -> &str {
        match self {
            SaslFailure::Authentication(m) | SaslFailure::Internal(m) => m,
        }
    }
}

/// Whether a listener's protocol authenticates with SASL.
pub fn is_sasl(protocol: SecurityProtocol) -> bool {
    matches!(
        protocol,
        SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
    )
}

/// The value of `key` for `listener`: `listener.name.<listener>.<key>` wins over `<key>`.
fn listener_value(config: &KafkaConfig, listener: &str, key: &str) -> Option<String> {
    let prefixed = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
    config
        .passthrough(&prefixed)
        .or_else(|| config.passthrough(key))
}

/// The JAAS entry for `mechanism` on `listener`:
/// `listener.name.<l>.<mechanism lower-case>.sasl.jaas.config`, else `sasl.jaas.config`.
fn jaas_entry(
    config: &KafkaConfig,
    listener: &str,
    mechanism: &str,
) -> Result<Option<jaas::JaasEntry>, ConfigError> {
    let prefixed = format!(
        "listener.name.{}.{}.sasl.jaas.config",
        listener.to_ascii_lowercase(),
        mechanism.to_ascii_lowercase()
    );
    let (key, text) = match config.passthrough(&prefixed) {
        Some(text) => (prefixed, text),
        None => match config.string("sasl.jaas.config") {
            Some(text) => ("sasl.jaas.config".to_string(), text),
            None => return Ok(None),
        },
    };
    jaas::parse(&text)
        .map(Some)
        .map_err(|e| ConfigError::invalid(&key, "[hidden]", e))
}

/// One SASL listener's server side.
#[derive(Clone, Debug, Default)]
pub struct ListenerSasl {
    /// `sasl.enabled.mechanisms` (listener-prefixed or global), in configured order.
    pub enabled_mechanisms: Vec<String>,
    /// PLAIN's `user_<name>` JAAS options: name → password.
    pub plain_users: BTreeMap<String, String>,
    /// KIP-368 `connections.max.reauth.ms` per enabled mechanism (0 = sessions never expire).
    pub max_reauth_ms: BTreeMap<String, i64>,
}

impl ListenerSasl {
    /// How long a session of `mechanism` lasts before the client must re-authenticate.
    pub fn session_lifetime_ms(&self, mechanism: &str) -> i64 {
        self.max_reauth_ms
            .get(mechanism)
            .copied()
            .unwrap_or(0)
            .max(0)
    }
}

/// `connections.max.reauth.ms` for one mechanism of a listener, as SaslChannelBuilder reads
/// it: `listener.name.<l>.<mechanism>.` prefix, then `listener.name.<l>.`, then the broker's.
fn max_reauth_ms(
    config: &KafkaConfig,
    listener: &str,
    mechanism: &str,
) -> Result<i64, ConfigError> {
    let key = "connections.max.reauth.ms";
    let l = listener.to_ascii_lowercase();
    let prefixed = [
        format!("listener.name.{l}.{}.{key}", mechanism.to_ascii_lowercase()),
        format!("listener.name.{l}.{key}"),
    ];
    for k in prefixed {
        if let Some(v) = config.passthrough(&k) {
            return v
                .trim()
                .parse::<i64>()
                .map_err(|_| ConfigError::invalid(&k, &v, "not a number of type LONG"));
        }
    }
    Ok(config.long(key))
}

/// Everything the authenticator needs, built once at startup.
#[derive(Debug)]
pub struct SaslServerConfig {
    pub listeners: BTreeMap<String, ListenerSasl>,
    pub credentials: Arc<CredentialCache>,
    /// connection.failed.authentication.delay.ms
    pub failed_authentication_delay_ms: u64,
}

impl SaslServerConfig {
    /// Reads and checks every SASL listener's settings: a broker that could not authenticate
    /// anyone (only GSSAPI, which zkafka does not implement) refuses to start.
    pub fn from_config(
        config: &KafkaConfig,
        credentials: Arc<CredentialCache>,
    ) -> Result<SaslServerConfig, ConfigError> {
        let mut listeners = BTreeMap::new();
        for ep in config
            .listeners
            .iter()
            .filter(|e| is_sasl(e.security_protocol))
        {
            listeners.insert(
                ep.listener_name.clone(),
                listener_sasl(config, &ep.listener_name)?,
            );
        }
        Ok(SaslServerConfig {
            listeners,
            credentials,
            failed_authentication_delay_ms: config
                .long("connection.failed.authentication.delay.ms")
                .max(0) as u64,
        })
    }
}

fn listener_sasl(config: &KafkaConfig, listener: &str) -> Result<ListenerSasl, ConfigError> {
    let key = "sasl.enabled.mechanisms";
    let text = listener_value(config, listener, key).unwrap_or_default();
    let enabled: Vec<String> = text
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    let usable: Vec<&String> = enabled.iter().filter(|m| m.as_str() != GSSAPI).collect();
    if usable.is_empty() {
        return Err(ConfigError::invalid(
            key,
            &text,
            format!("listener {listener} uses SASL but zkafka implements PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 only (no Kerberos/GSSAPI): enable one of them"),
        ));
    }
    if let Some(m) = usable
        .iter()
        .find(|m| m.as_str() != PLAIN && ScramMechanism::from_name(m).is_none())
    {
        return Err(ConfigError::invalid(
            key,
            &text,
            format!("unsupported SASL mechanism {m}: zkafka implements PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512"),
        ));
    }
    let mut plain_users = BTreeMap::new();
    if enabled.iter().any(|m| m == PLAIN) {
        let entry = jaas_entry(config, listener, PLAIN)?.ok_or_else(|| {
            ConfigError::invalid(
                &format!("listener.name.{}.plain.sasl.jaas.config", listener.to_ascii_lowercase()),
                "null",
                format!("PLAIN is enabled on listener {listener} but no JAAS config gives its users (user_<name>=\"<password>\")"),
            )
        })?;
        for (k, v) in entry.options {
            if let Some(user) = k.strip_prefix("user_") {
                plain_users.insert(user.to_string(), v);
            }
        }
    }
    let mut reauth = BTreeMap::new();
    for m in &enabled {
        reauth.insert(m.clone(), max_reauth_ms(config, listener, m)?);
    }
    Ok(ListenerSasl {
        enabled_mechanisms: enabled,
        plain_users,
        max_reauth_ms: reauth,
    })
}

/// How this broker authenticates its own connections to other brokers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaslClientConfig {
    pub mechanism: String,
    pub username: String,
    pub password: String,
}

impl SaslClientConfig {
    /// `None` when the inter-broker listener is not SASL; otherwise
    /// `sasl.mechanism.inter.broker.protocol` with the `username`/`password` of that
    /// mechanism's JAAS entry on the inter-broker listener.
    pub fn inter_broker(config: &KafkaConfig) -> Result<Option<SaslClientConfig>, ConfigError> {
        let ep = config.inter_broker_endpoint();
        if !is_sasl(ep.security_protocol) {
            return Ok(None);
        }
        let key = "sasl.mechanism.inter.broker.protocol";
        let mechanism = config.string(key).unwrap_or_default();
        let listener = &ep.listener_name;
        let enabled = listener_sasl(config, listener)?.enabled_mechanisms;
        if !enabled.contains(&mechanism) {
            return Err(ConfigError::invalid(
                key,
                &mechanism,
                format!("sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication (listener {listener} enables {})", enabled.join(",")),
            ));
        }
        let entry = jaas_entry(config, listener, &mechanism)?.unwrap_or_default();
        let (Some(username), Some(password)) =
            (entry.options.get("username"), entry.options.get("password"))
        else {
            return Err(ConfigError::invalid(
                &format!(
                    "listener.name.{}.{}.sasl.jaas.config",
                    listener.to_ascii_lowercase(),
                    mechanism.to_ascii_lowercase()
                ),
                "[hidden]",
                "the inter-broker JAAS entry needs username and password options",
            ));
        };
        Ok(Some(SaslClientConfig {
            mechanism,
            username: username.clone(),
            password: password.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[(&str, &str)]) -> KafkaConfig {
        let mut props: BTreeMap<String, String> = [
            ("broker.id", "1"),
            ("zookeeper.connect", "127.0.0.1:2181"),
            ("log.dirs", "/tmp/x"),
            (
                "listeners",
                "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            props.insert(k.to_string(), v.to_string());
        }
        KafkaConfig::from_props(&props).unwrap()
    }

    const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"b\" password=\"bp\" user_b=\"bp\" user_alice=\"ap\";";

    #[test]
    fn reauth_ms_per_mechanism_then_listener_then_broker() {
        let c = config(&[
            ("sasl.enabled.mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512"),
            ("connections.max.reauth.ms", "1000"),
            (
                "listener.name.sasl_plaintext.connections.max.reauth.ms",
                "2000",
            ),
            (
                "listener.name.sasl_plaintext.scram-sha-512.connections.max.reauth.ms",
                "3000",
            ),
        ]);
        let server = SaslServerConfig::from_config(&c, Default::default()).unwrap();
        let l = &server.listeners["SASL_PLAINTEXT"];
        assert_eq!(l.session_lifetime_ms("SCRAM-SHA-512"), 3000);
        assert_eq!(l.session_lifetime_ms("SCRAM-SHA-256"), 2000);
        let c = config(&[
            ("sasl.enabled.mechanisms", "SCRAM-SHA-256"),
            ("connections.max.reauth.ms", "1000"),
        ]);
        let server = SaslServerConfig::from_config(&c, Default::default()).unwrap();
        assert_eq!(
            server.listeners["SASL_PLAINTEXT"].session_lifetime_ms("SCRAM-SHA-256"),
            1000
        );
    }

    #[test]
    fn gssapi_only_is_refused_with_the_key_named() {
        let err = SaslServerConfig::from_config(&config(&[]), Default::default()).unwrap_err();
        assert!(err.to_string().contains("sasl.enabled.mechanisms"), "{err}");
        assert!(err.to_string().contains("GSSAPI"), "{err}");
        let c = config(&[("sasl.enabled.mechanisms", "PLAIN")]);
        let err = SaslServerConfig::from_config(&c, Default::default()).unwrap_err();
        assert!(err.to_string().contains("plain.sasl.jaas.config"), "{err}");
    }

    #[test]
    fn listener_prefixed_settings_win_and_give_plain_users_and_broker_credentials() {
        let c = config(&[
            ("sasl.enabled.mechanisms", "GSSAPI"),
            (
                "listener.name.sasl_plaintext.sasl.enabled.mechanisms",
                "PLAIN,SCRAM-SHA-512",
            ),
            ("listener.name.sasl_plaintext.plain.sasl.jaas.config", JAAS),
            ("inter.broker.listener.name", "SASL_PLAINTEXT"),
            ("sasl.mechanism.inter.broker.protocol", "PLAIN"),
        ]);
        let server = SaslServerConfig::from_config(&c, Default::default()).unwrap();
        let l = &server.listeners["SASL_PLAINTEXT"];
        assert_eq!(l.enabled_mechanisms, vec!["PLAIN", "SCRAM-SHA-512"]);
        assert_eq!(l.plain_users["alice"], "ap");
        assert!(!server.listeners.contains_key("PLAINTEXT"));
        assert_eq!(l.session_lifetime_ms("SCRAM-SHA-512"), 0);
        let client = SaslClientConfig::inter_broker(&c).unwrap().unwrap();
        assert_eq!(
            (client.username.as_str(), client.password.as_str()),
            ("b", "bp")
        );
        let wrong = config(&[
            ("sasl.enabled.mechanisms", "PLAIN"),
            ("sasl.jaas.config", JAAS),
            ("inter.broker.listener.name", "SASL_PLAINTEXT"),
            ("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-256"),
        ]);
        let err = SaslClientConfig::inter_broker(&wrong).unwrap_err();
        assert!(
            err.to_string()
                .contains("sasl.mechanism.inter.broker.protocol"),
            "{err}"
        );
    }
}
