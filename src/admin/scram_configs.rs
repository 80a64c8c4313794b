//! `kafka-configs.sh --bootstrap-server ... --entity-type users` for SCRAM credentials
//! (ConfigCommand's `alterUserScramCredentialConfigs` and the SCRAM half of
//! `describeClientQuotaAndUserScramCredentialConfigs`): AlterUserScramCredentials to the
//! controller, with the password salted and hashed here as the AdminClient does, and
//! DescribeUserScramCredentials to the bootstrap broker.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::controller_client::connect_controller;
use super::java_errors;
use crate::security::sasl::scram::{secure_random_string, ScramMechanism, MIN_ITERATIONS};
use crate::server::errors;

const TIMEOUT: Duration = Duration::from_secs(30);
/// ConfigCommand's DefaultScramIterations.
const DEFAULT_ITERATIONS: i32 = 4096;
const QUOTA_KEYS: &[&str] = &[
    "producer_byte_rate",
    "consumer_byte_rate",
    "request_percentage",
    "controller_mutation_rate",
];

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// What a users/clients `--alter` through a broker changes.
#[derive(Debug, PartialEq)]
pub enum UserAlteration {
    Quotas,
    Scram,
}

/// ConfigCommand's checks on the keys of a users/clients alteration with `--bootstrap-server`.
pub fn classify(
    entity_type: &str,
    default_entity: bool,
    to_add: &BTreeMap<String, String>,
    to_delete: &[String],
) -> anyhow::Result<UserAlteration> {
    let is_scram = |k: &str| ScramMechanism::from_name(k).is_some();
    let is_quota = |k: &str| QUOTA_KEYS.contains(&k);
    let added: Vec<&str> = to_add.keys().map(String::as_str).collect();
    let deleted: Vec<&str> = to_delete.iter().map(|k| k.trim()).collect();
    let unknown = |keys: &[&str], allow_scram: bool| -> Vec<String> {
        keys.iter()
            .filter(|k| !(is_quota(k) || (allow_scram && is_scram(k))))
            .map(|k| k.to_string())
            .collect()
    };
    let scram = added.iter().chain(&deleted).any(|k| is_scram(k));
    let quota = added.iter().chain(&deleted).any(|k| is_quota(k));
    if entity_type == "clients" {
        let bad = unknown(&added, false);
        if !bad.is_empty() {
            bail!("Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected config names: Set({})", bad.join(", "));
        }
        let bad = unknown(&deleted, false);
        if !bad.is_empty() {
            bail!("Only quota configs can be deleted for 'clients' using --bootstrap-server. Unexpected config names: Set({})", bad.join(", "));
        }
        return Ok(UserAlteration::Quotas);
    }
    let bad = unknown(&added, true);
    if !bad.is_empty() {
        bail!("Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: Set({})", bad.join(", "));
    }
    let bad = unknown(&deleted, true);
    if !bad.is_empty() {
        bail!("Only quota and SCRAM credential configs can be deleted for 'users' using --bootstrap-server. Unexpected config names: Set({})", bad.join(", "));
    }
    if !scram {
        return Ok(UserAlteration::Quotas);
    }
    if default_entity {
        bail!("The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.");
    }
    if quota {
        bail!("Cannot alter both quota and SCRAM credential configs simultaneously for 'users' using --bootstrap-server.");
    }
    Ok(UserAlteration::Scram)
}

/// `(?:iterations=(-?[0-9]*),)?password=(.*)`: iterations (default 4096, also for -1) and
/// password of one credential being added.
fn iterations_and_password(mech: ScramMechanism, text: &str) -> anyhow::Result<(i32, String)> {
    let invalid = || anyhow!("Invalid credential property {}={text}", mech.name());
    let (iterations, rest) = match text.strip_prefix("iterations=") {
        Some(rest) => {
            let (n, rest) = rest.split_once(',').ok_or_else(invalid)?;
            let n = match n {
                "" | "-1" => DEFAULT_ITERATIONS,
                n => n.parse::<i32>().map_err(|_| invalid())?,
            };
            (n, rest)
        }
        None => (DEFAULT_ITERATIONS, text),
    };
    let password = rest.strip_prefix("password=").ok_or_else(invalid)?;
    if iterations < MIN_ITERATIONS as i32 {
        bail!(
            "Iterations {iterations} is less than the minimum {MIN_ITERATIONS} required for {}",
            mech.name()
        );
    }
    Ok((iterations, password.to_string()))
}

/// The AdminClient's upsertion: a fresh salt and the salted password, never the password.
fn upsertion(
    user: &str,
    mech: ScramMechanism,
    text: &str,
) -> anyhow::Result<ScramCredentialUpsertion> {
    let (iterations, password) = iterations_and_password(mech, text)?;
    let salt = secure_random_string().into_bytes();
    let salted = mech.salted_password(password.as_bytes(), &salt, iterations as u32);
    Ok(ScramCredentialUpsertion::default()
        .with_name(sb(user))
        .with_mechanism(mech.code())
        .with_iterations(iterations)
        .with_salt(Bytes::from(salt))
        .with_salted_password(Bytes::from(salted)))
}

fn error_text(code: i16, message: Option<&str>) -> String {
    match message {
        Some(m) => format!("{}: {m}", java_errors::class_name(code)),
        None => java_errors::message(code),
    }
}

/// Adds/replaces and deletes one user's credentials.
pub async fn alter(
    bootstrap: &str,
    user: &str,
    to_add: &BTreeMap<String, String>,
    to_delete: &[String],
) -> anyhow::Result<()> {
    let mut req = AlterUserScramCredentialsRequest::default();
    for k in to_delete {
        let mech = ScramMechanism::from_name(k.trim())
            .ok_or_else(|| anyhow!("Unknown SCRAM mechanism {k}"))?;
        req.deletions.push(
            ScramCredentialDeletion::default()
                .with_name(sb(user))
                .with_mechanism(mech.code()),
        );
    }
    for (k, v) in to_add {
        let mech =
            ScramMechanism::from_name(k).ok_or_else(|| anyhow!("Unknown SCRAM mechanism {k}"))?;
        req.upsertions.push(upsertion(user, mech, v)?);
    }
    let resp = connect_controller(bootstrap).await?.send(&req, 0).await?;
    if let Some(r) = resp.results.iter().find(|r| r.error_code != errors::NONE) {
        bail!(
            "Error while executing config command with args: {}",
            error_text(r.error_code, r.error_message.as_deref())
        );
    }
    if resp.results.is_empty() {
        bail!("empty AlterUserScramCredentials response");
    }
    Ok(())
}

/// One line per user with credentials (`name` None = all users); a user without any prints
/// nothing, as the AdminClient drops RESOURCE_NOT_FOUND results from `users()`.
pub async fn describe(bootstrap: &str, name: Option<&str>) -> anyhow::Result<()> {
    let addr = bootstrap.split(',').next().unwrap_or_default().trim();
    let mut client = super::command_config::connect(addr, "kafka-configs", TIMEOUT, TIMEOUT)
        .await
        .with_context(|| format!("cannot connect to {addr} (--bootstrap-server)"))?;
    let users = name.map(|n| vec![UserName::default().with_name(sb(n))]);
    let req = DescribeUserScramCredentialsRequest::default().with_users(users);
    let resp = client.send(&req, 0).await?;
    if resp.error_code != errors::NONE {
        bail!(
            "Error while executing config command with args: {}",
            error_text(resp.error_code, resp.error_message.as_deref())
        );
    }
    for r in resp
        .results
        .iter()
        .filter(|r| r.error_code != errors::RESOURCE_NOT_FOUND)
    {
        if r.error_code != errors::NONE {
            println!(
                "Error retrieving SCRAM credential configs for user-principal '{}': ExecutionException: {}",
                r.user,
                error_text(r.error_code, r.error_message.as_deref())
            );
            continue;
        }
        let infos: Vec<String> = r
            .credential_infos
            .iter()
            .map(|i| {
                let mech = ScramMechanism::from_code(i.mechanism).map_or("UNKNOWN", |m| m.name());
                format!("{mech}=iterations={}", i.iterations)
            })
            .collect();
        println!(
            "SCRAM credential configs for user-principal '{}' are {}",
            r.user,
            infos.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_as_config_command_does() {
        let m = ScramMechanism::Sha512;
        assert_eq!(
            iterations_and_password(m, "password=a,b").unwrap(),
            (4096, "a,b".into())
        );
        assert_eq!(
            iterations_and_password(m, "iterations=8192,password=x").unwrap(),
            (8192, "x".into())
        );
        let e = iterations_and_password(m, "iterations=100,password=x").unwrap_err();
        assert!(e.to_string().contains("less than the minimum 4096"), "{e}");
        assert!(iterations_and_password(m, "pw=x").is_err());
    }

    #[test]
    fn scram_and_quota_keys_are_not_mixed() {
        let add = |k: &str| BTreeMap::from([(k.to_string(), "v".to_string())]);
        let scram = add("SCRAM-SHA-256");
        assert_eq!(
            classify("users", false, &scram, &[]).unwrap(),
            UserAlteration::Scram
        );
        assert!(classify("users", true, &scram, &[]).is_err());
        assert!(classify("clients", false, &scram, &[]).is_err());
        let both = ["request_percentage".to_string()];
        assert!(classify("users", false, &scram, &both).is_err());
        let quota = add("producer_byte_rate");
        assert_eq!(
            classify("users", true, &quota, &[]).unwrap(),
            UserAlteration::Quotas
        );
        assert!(classify("users", false, &add("retention.ms"), &[]).is_err());
    }
}
