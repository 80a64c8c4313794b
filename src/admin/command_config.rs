//! A tool's `--command-config` file (the admin client properties Kafka's tools accept): how
//! the tool connects. `security.protocol=SASL_PLAINTEXT` with `sasl.mechanism` (PLAIN,
//! SCRAM-SHA-256/512) and the `username`/`password` of `sasl.jaas.config` logs the tool's
//! connection in; PLAINTEXT (the default) connects as is.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::network::client::BrokerClient;
use crate::security::sasl::{jaas, SaslClientConfig};

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

/// The SASL login the properties ask for; None for PLAINTEXT.
pub fn sasl_login(props: &BTreeMap<String, String>) -> anyhow::Result<Option<SaslClientConfig>> {
    let protocol = props
        .get("security.protocol")
        .map_or("PLAINTEXT", String::as_str);
    match protocol.to_ascii_uppercase().as_str() {
        "PLAINTEXT" => return Ok(None),
        "SASL_PLAINTEXT" => {}
        other => bail!("security.protocol={other} is not supported by this tool"),
    }
    let mechanism = props
        .get("sasl.mechanism")
        .cloned()
        .unwrap_or_else(|| "GSSAPI".to_string());
    let text = props.get("sasl.jaas.config").ok_or_else(|| {
        anyhow!("sasl.jaas.config is required with security.protocol=SASL_PLAINTEXT")
    })?;
    let entry = jaas::parse(text).map_err(|e| anyhow!("sasl.jaas.config: {e}"))?;
    let option = |k: &str| {
        entry
            .options
            .get(k)
            .cloned()
            .ok_or_else(|| anyhow!("sasl.jaas.config has no {k} option"))
    };
    Ok(Some(SaslClientConfig {
        mechanism,
        username: option("username")?,
        password: option("password")?,
    }))
}

/// Connects to `addr` and logs in as the `--command-config` file (if any) says.
pub async fn connect(
    addr: &str,
    client_id: &str,
    command_config: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<BrokerClient> {
    let login = match command_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --command-config {path}"))?;
            sasl_login(&parse_properties(&text))
                .with_context(|| format!("--command-config {path}"))?
        }
        None => None,
    };
    let client = BrokerClient::connect(addr, client_id, timeout, timeout)
        .await
        .with_context(|| format!("cannot connect to {addr} (--bootstrap-server)"))?;
    client
        .authenticated(login.as_ref())
        .await
        .with_context(|| format!("SASL login to {addr} failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_properties_give_the_login() {
        let props = parse_properties(
            "# admin\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"p=w\";\n",
        );
        let login = sasl_login(&props).unwrap().unwrap();
        assert_eq!(
            (
                login.mechanism.as_str(),
                login.username.as_str(),
                login.password.as_str()
            ),
            ("SCRAM-SHA-512", "admin", "p=w")
        );
        assert!(sasl_login(&parse_properties("security.protocol=PLAINTEXT"))
            .unwrap()
            .is_none());
        assert!(sasl_login(&parse_properties("security.protocol=SSL")).is_err());
        assert!(sasl_login(&parse_properties("security.protocol=SASL_PLAINTEXT")).is_err());
    }
}
