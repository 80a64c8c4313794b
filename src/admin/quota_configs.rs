//! `kafka-configs.sh --bootstrap-server ... --entity-type users|clients`: client quotas through
//! a broker, with DescribeClientQuotas (strict filter, as ConfigCommand's `containsOnly`) and
//! AlterClientQuotas, printing what ConfigCommand prints.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use kafka_protocol::messages::alter_client_quotas_request as alter;
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::{AlterClientQuotasRequest, DescribeClientQuotasRequest};
use kafka_protocol::protocol::StrBytes;

use crate::network::client::BrokerClient;

const TIMEOUT: Duration = Duration::from_secs(30);

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// `users` → `user`, `clients` → `client-id` (ClientQuotaEntity's types).
fn quota_entity_type(config_type: &str) -> &'static str {
    if config_type == "users" {
        "user"
    } else {
        "client-id"
    }
}

async fn connect(bootstrap: &str) -> anyhow::Result<BrokerClient> {
    let addr = bootstrap.split(',').next().unwrap_or_default().trim();
    super::command_config::connect(addr, "kafka-configs", TIMEOUT, TIMEOUT)
        .await
        .with_context(|| format!("cannot connect to {addr} (--bootstrap-server)"))
}

fn error_text(code: i16, message: Option<&str>) -> String {
    let name = crate::server::errors::name(code);
    match message {
        Some(m) => format!("{name}: {m}"),
        None => name.to_string(),
    }
}

/// `alterQuotaConfigs`: one AlterClientQuotas entry; `name` None = the default entity.
pub async fn alter(
    bootstrap: &str,
    config_type: &str,
    name: Option<&str>,
    to_add: &BTreeMap<String, String>,
    to_delete: &[String],
) -> anyhow::Result<()> {
    let mut ops = Vec::new();
    for (k, v) in to_add {
        let value: f64 = v
            .trim()
            .parse()
            .map_err(|_| anyhow!("Cannot parse quota configuration value for {k}: {v}"))?;
        ops.push(alter::OpData::default().with_key(sb(k)).with_value(value));
    }
    for k in to_delete {
        ops.push(
            alter::OpData::default()
                .with_key(sb(k.trim()))
                .with_remove(true),
        );
    }
    let entity = alter::EntityData::default()
        .with_entity_type(sb(quota_entity_type(config_type)))
        .with_entity_name(name.map(sb));
    let req = AlterClientQuotasRequest::default().with_entries(vec![alter::EntryData::default()
        .with_entity(vec![entity])
        .with_ops(ops)]);
    let resp = connect(bootstrap).await?.send(&req, 1).await?;
    let entry = resp
        .entries
        .first()
        .ok_or_else(|| anyhow!("empty AlterClientQuotas response"))?;
    if entry.error_code != 0 {
        bail!(
            "Error while executing config command with args: {}",
            error_text(entry.error_code, entry.error_message.as_deref())
        );
    }
    match name {
        Some(n) => println!(
            "Completed updating config for {} {n}.",
            config_type.trim_end_matches('s')
        ),
        None => println!("Completed updating default config for {config_type} in the cluster."),
    }
    Ok(())
}

/// `describeClientQuotaAndUserScramCredentialConfigs` (the quota part): `name` is
/// Some(name), the default entity (`--entity-default`), or every entity of the type.
pub async fn describe(
    bootstrap: &str,
    config_type: &str,
    name: Option<&str>,
    default: bool,
) -> anyhow::Result<()> {
    let ty = quota_entity_type(config_type);
    let component = match (name, default) {
        (Some(n), _) => ComponentData::default()
            .with_match_type(0)
            .with_match(Some(sb(n))),
        (None, true) => ComponentData::default().with_match_type(1),
        (None, false) => ComponentData::default().with_match_type(2),
    }
    .with_entity_type(sb(ty));
    let req = DescribeClientQuotasRequest::default()
        .with_components(vec![component])
        .with_strict(true);
    let resp = connect(bootstrap).await?.send(&req, 1).await?;
    if resp.error_code != 0 {
        bail!(
            "Error while executing config command with args: {}",
            error_text(resp.error_code, resp.error_message.as_deref())
        );
    }
    let mut lines: Vec<String> = resp
        .entries
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let entity: Vec<String> = e
                .entity
                .iter()
                .map(|p| {
                    let word = match p.entity_type.as_str() {
                        "user" => "user-principal",
                        "client-id" => "client-id",
                        other => other,
                    };
                    match &p.entity_name {
                        Some(n) => format!("{word} '{n}'"),
                        None => format!("the default {word}"),
                    }
                })
                .collect();
            let mut values: Vec<String> = e
                .values
                .iter()
                .map(|v| format!("{}={}", v.key, java_double(v.value)))
                .collect();
            values.sort();
            format!(
                "Quota configs for {} are {}",
                entity.join(", "),
                values.join(", ")
            )
        })
        .collect();
    lines.sort();
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

/// Java's `Double.toString` for the values quotas take: `12.5`, `50.0`, `1.0E7`.
pub fn java_double(v: f64) -> String {
    if v.is_finite() && v != 0.0 && (v.abs() >= 1e7 || v.abs() < 1e-3) {
        let s = format!("{v:E}");
        let (mantissa, exp) = s.split_once('E').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        return format!("{mantissa}E{exp}");
    }
    if v.fract() == 0.0 && v.is_finite() {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java_prints_them() {
        assert_eq!(java_double(50.0), "50.0");
        assert_eq!(java_double(12.5), "12.5");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1048576.0), "1048576.0");
    }
}
