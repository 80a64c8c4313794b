//! DescribeUserScramCredentials (50) and AlterUserScramCredentials (51), KIP-554, as Kafka
//! 2.8's ZkAdminManager serves them: credentials live in `/config/users/<sanitized user>`
//! (next to the user's quotas), an alteration rewrites that znode and announces it with a
//! `/config/changes` notification so every broker reloads its CredentialCache. The client
//! salts and hashes the password; the broker derives StoredKey/ServerKey from it.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::apis::KafkaApis;
use super::errors;
use crate::admin::zk_admin::{self, desanitize_entity_name, sanitize_entity_name};
use crate::network::request::RequestContext;
use crate::security::authorizer::AclOperation;
use crate::security::sasl::scram::{ScramCredential, ScramMechanism, MIN_ITERATIONS};
use crate::zk::KafkaZkClient;

/// ZkAdminManager's upper bound on iterations (the lower one is the mechanism's minimum).
pub const MAX_ITERATIONS: i32 = 16384;

const EMPTY_USER: &str = "Username must not be empty";
const UNKNOWN_MECHANISM: &str = "Unknown SCRAM mechanism";
const DESCRIBE_FAILED: &str = "Error processing describe user SCRAM credential configs request";

type ApiError = (i16, String);

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn user_config_path(user: &str) -> String {
    format!("users/{}", sanitize_entity_name(user))
}

/// One user's result: its credentials (mechanism code, iterations), or an error.
type Described = Result<Vec<(i8, i32)>, ApiError>;

/// The SCRAM keys of a user's config, None when it has none. An unparsable stored value
/// fails the user (bad data written to ZooKeeper by hand), never the request.
fn credential_infos(config: &BTreeMap<String, String>) -> Option<Described> {
    let mut infos = Vec::new();
    for mech in ScramMechanism::ALL {
        let Some(text) = config.get(mech.name()) else {
            continue;
        };
        match ScramCredential::parse(text) {
            Some(c) => infos.push((mech.code(), c.iterations as i32)),
            None => return Some(Err((errors::UNKNOWN_SERVER_ERROR, DESCRIBE_FAILED.into()))),
        }
    }
    (!infos.is_empty()).then_some(Ok(infos))
}

fn described(user: &str, result: Described) -> DescribeUserScramCredentialsResult {
    let r = DescribeUserScramCredentialsResult::default().with_user(sb(user));
    match result {
        Ok(infos) => r.with_credential_infos(
            infos
                .into_iter()
                .map(|(m, i)| {
                    CredentialInfo::default()
                        .with_mechanism(m)
                        .with_iterations(i)
                })
                .collect(),
        ),
        Err((code, message)) => r
            .with_error_code(code)
            .with_error_message(Some(sb(&message))),
    }
}

/// Every user with a credential, sorted (a describe without names).
async fn describe_all(
    zk: &KafkaZkClient,
) -> Result<Vec<DescribeUserScramCredentialsResult>, ApiError> {
    let unknown = |e: crate::zk::ZkError| (errors::UNKNOWN_SERVER_ERROR, e.to_string());
    let mut out = BTreeMap::new();
    for sanitized in zk.get_children("/config/users").await.map_err(unknown)? {
        let config = zk
            .get_entity_config(&format!("users/{sanitized}"))
            .await
            .map_err(unknown)?;
        if let Some(result) = credential_infos(&config) {
            let user = desanitize_entity_name(&sanitized);
            out.insert(user.clone(), described(&user, result));
        }
    }
    Ok(out.into_values().collect())
}

/// Named users, once each in request order: empty names and names asked twice fail.
async fn describe_users(
    zk: &KafkaZkClient,
    users: &[String],
) -> Vec<DescribeUserScramCredentialsResult> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for user in users {
        if !seen.insert(user.as_str()) {
            continue;
        }
        let result = if user.is_empty() {
            Err((errors::RESOURCE_NOT_FOUND, EMPTY_USER.to_string()))
        } else if users.iter().filter(|u| *u == user).count() > 1 {
            Err((
                errors::DUPLICATE_RESOURCE,
                format!("Cannot describe SCRAM credentials for the same user twice in a single request: {user}"),
            ))
        } else {
            match zk.get_entity_config(&user_config_path(user)).await {
                Ok(config) => credential_infos(&config).unwrap_or_else(|| {
                    Err((
                        errors::RESOURCE_NOT_FOUND,
                        format!(
                            "Attempt to describe a user credential that does not exist: {user}"
                        ),
                    ))
                }),
                Err(e) => Err((errors::UNKNOWN_SERVER_ERROR, e.to_string())),
            }
        };
        out.push(described(user, result));
    }
    out
}

/// One (user, mechanism) change of an AlterUserScramCredentials request.
#[derive(Clone, Debug)]
enum Change {
    Delete,
    Upsert {
        iterations: i32,
        salt: Vec<u8>,
        salted_password: Vec<u8>,
    },
}

#[derive(Clone, Debug)]
struct Alteration {
    user: String,
    mechanism: i8,
    change: Change,
}

fn alterations(req: &AlterUserScramCredentialsRequest) -> Vec<Alteration> {
    let deletions = req.deletions.iter().map(|d| Alteration {
        user: d.name.to_string(),
        mechanism: d.mechanism,
        change: Change::Delete,
    });
    let upsertions = req.upsertions.iter().map(|u| Alteration {
        user: u.name.to_string(),
        mechanism: u.mechanism,
        change: Change::Upsert {
            iterations: u.iterations,
            salt: u.salt.to_vec(),
            salted_password: u.salted_password.to_vec(),
        },
    });
    deletions.chain(upsertions).collect()
}

/// Why one alteration is refused before anything is read: empty user, unknown mechanism,
/// iterations outside [4096, 16384].
fn illegal_reason(a: &Alteration) -> Option<&'static str> {
    if a.user.is_empty() {
        return Some(EMPTY_USER);
    }
    if ScramMechanism::from_code(a.mechanism).is_none() {
        return Some(UNKNOWN_MECHANISM);
    }
    match a.change {
        Change::Upsert { iterations, .. } if iterations < MIN_ITERATIONS as i32 => {
            Some("Too few iterations")
        }
        Change::Upsert { iterations, .. } if iterations > MAX_ITERATIONS => {
            Some("Too many iterations")
        }
        _ => None,
    }
}

fn result(user: &str, code: i16, message: Option<&str>) -> AlterUserScramCredentialsResult {
    AlterUserScramCredentialsResult::default()
        .with_user(sb(user))
        .with_error_code(code)
        .with_error_message(message.map(sb))
}

/// The whole request failed (not the controller, not authorized): every user, sorted.
fn all_failed(alts: &[Alteration], code: i16, message: &str) -> AlterUserScramCredentialsResponse {
    let users: BTreeSet<&str> = alts.iter().map(|a| a.user.as_str()).collect();
    AlterUserScramCredentialsResponse::default().with_results(
        users
            .into_iter()
            .map(|u| result(u, code, Some(message)))
            .collect(),
    )
}

/// The users refused by validation, with their error (code from the message, as Kafka).
fn validation_failures(alts: &[Alteration]) -> BTreeMap<String, &'static str> {
    let mut failed = BTreeMap::new();
    // Deletions first, then upsertions: a later message for the same user replaces it.
    for a in alts.iter().filter(|a| matches!(a.change, Change::Delete)) {
        if let Some(m) = illegal_reason(a) {
            failed.insert(a.user.clone(), m);
        }
    }
    for a in alts
        .iter()
        .filter(|a| matches!(a.change, Change::Upsert { .. }))
    {
        if let Some(m) = illegal_reason(a) {
            failed.insert(a.user.clone(), m);
        }
    }
    failed
}

/// Users naming the same mechanism twice (among those still valid).
fn duplicated_users(alts: &[Alteration], invalid: &BTreeMap<String, &str>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut dup = BTreeSet::new();
    for a in alts.iter().filter(|a| !invalid.contains_key(&a.user)) {
        if !seen.insert((a.user.clone(), a.mechanism)) {
            dup.insert(a.user.clone());
        }
    }
    dup
}

/// Applies a user's alterations to its config; Err when deleting a credential it lacks.
fn apply(config: &mut BTreeMap<String, String>, alts: &[&Alteration]) -> Result<(), ApiError> {
    for a in alts {
        let Some(mech) = ScramMechanism::from_code(a.mechanism) else {
            continue; // refused by validation already
        };
        if matches!(a.change, Change::Delete) && !config.contains_key(mech.name()) {
            return Err((
                errors::RESOURCE_NOT_FOUND,
                "Attempt to delete a user credential that does not exist".into(),
            ));
        }
    }
    for a in alts.iter().filter(|a| matches!(a.change, Change::Delete)) {
        if let Some(mech) = ScramMechanism::from_code(a.mechanism) {
            config.remove(mech.name());
        }
    }
    for a in alts {
        let (
            Some(mech),
            Change::Upsert {
                iterations,
                salt,
                salted_password,
            },
        ) = (ScramMechanism::from_code(a.mechanism), &a.change)
        else {
            continue;
        };
        let credential = ScramCredential::from_salted_password(
            mech,
            salt.clone(),
            salted_password,
            *iterations as u32,
        );
        config.insert(mech.name().to_string(), credential.to_config_value());
    }
    Ok(())
}

impl KafkaApis {
    pub async fn handle_describe_user_scram_credentials(
        &self,
        ctx: &RequestContext,
        req: &DescribeUserScramCredentialsRequest,
    ) -> DescribeUserScramCredentialsResponse {
        let response = DescribeUserScramCredentialsResponse::default();
        if !self.authorize_cluster(ctx, AclOperation::Describe) {
            return response
                .with_error_code(errors::CLUSTER_AUTHORIZATION_FAILED)
                .with_error_message(Some(sb("Cluster authorization failed.")));
        }
        let zk = &self.replica_manager.zk;
        let names: Vec<String> = req
            .users
            .iter()
            .flatten()
            .map(|u| u.name.to_string())
            .collect();
        if !names.is_empty() {
            return response.with_results(describe_users(zk, &names).await);
        }
        match describe_all(zk).await {
            Ok(results) => response.with_results(results),
            Err((code, message)) => response
                .with_error_code(code)
                .with_error_message(Some(sb(&message))),
        }
    }

    pub async fn handle_alter_user_scram_credentials(
        &self,
        ctx: &RequestContext,
        req: &AlterUserScramCredentialsRequest,
    ) -> AlterUserScramCredentialsResponse {
        let alts = alterations(req);
        // Kafka's `controller.isActive`: this broker is the one named in /controller.
        let active = self.controller.get().is_some_and(|c| {
            c.active_controller_id
                .load(std::sync::atomic::Ordering::SeqCst)
                == self.state.broker_id
        });
        if !active {
            return all_failed(
                &alts,
                errors::NOT_CONTROLLER,
                "This is not the correct controller for this cluster.",
            );
        }
        if !self.authorize_cluster(ctx, AclOperation::Alter) {
            return all_failed(
                &alts,
                errors::CLUSTER_AUTHORIZATION_FAILED,
                "Cluster authorization failed.",
            );
        }
        let mut results = Vec::new();
        let invalid = validation_failures(&alts);
        for (user, message) in &invalid {
            let code = if *message == UNKNOWN_MECHANISM {
                errors::UNSUPPORTED_SASL_MECHANISM
            } else {
                errors::UNACCEPTABLE_CREDENTIAL
            };
            results.push(result(user, code, Some(message)));
        }
        let duplicated = duplicated_users(&alts, &invalid);
        for user in &duplicated {
            results.push(result(
                user,
                errors::DUPLICATE_RESOURCE,
                Some("A user credential cannot be altered twice in the same request"),
            ));
        }
        let mut by_user: BTreeMap<&str, Vec<&Alteration>> = BTreeMap::new();
        for a in &alts {
            if !invalid.contains_key(&a.user) && !duplicated.contains(&a.user) {
                by_user.entry(a.user.as_str()).or_default().push(a);
            }
        }
        for (user, user_alts) in by_user {
            let outcome = self.alter_user(user, &user_alts).await;
            let (code, message) = match &outcome {
                Ok(()) => (errors::NONE, None),
                Err((code, message)) => (*code, Some(message.as_str())),
            };
            results.push(result(user, code, message));
        }
        AlterUserScramCredentialsResponse::default().with_results(results)
    }

    /// Reads, changes and writes back one user's config (with its notification), then loads
    /// the result into this broker's cache at once; the other brokers follow the notification.
    async fn alter_user(&self, user: &str, alts: &[&Alteration]) -> Result<(), ApiError> {
        let zk = &self.replica_manager.zk;
        let path = user_config_path(user);
        let mut config = zk
            .get_entity_config(&path)
            .await
            .map_err(|e| (errors::UNKNOWN_SERVER_ERROR, e.to_string()))?;
        apply(&mut config, alts)?;
        zk_admin::change_entity_config(zk, &path, &config)
            .await
            .map_err(|e| {
                tracing::info!(target: "kafka.server.ZkAdminManager", "Error encountered while altering user SCRAM credentials of {user} ({path}): {e}");
                (e.code(), e.to_string())
            })?;
        self.sasl.credentials.update_user(user, &config);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(user: &str, mechanism: i8, iterations: i32) -> Alteration {
        Alteration {
            user: user.into(),
            mechanism,
            change: Change::Upsert {
                iterations,
                salt: b"salt".to_vec(),
                salted_password: vec![1; 32],
            },
        }
    }

    fn delete(user: &str, mechanism: i8) -> Alteration {
        Alteration {
            user: user.into(),
            mechanism,
            change: Change::Delete,
        }
    }

    #[test]
    fn validation_names_each_bad_user_once_with_kafkas_messages() {
        let alts = vec![
            delete("a", 0),
            upsert("a", 1, 100),
            upsert("", 1, 4096),
            delete("b", 7),
            upsert("c", 2, 20000),
            upsert("d", 1, 4096),
        ];
        let bad = validation_failures(&alts);
        assert_eq!(bad["a"], "Too few iterations");
        assert_eq!(bad[""], EMPTY_USER);
        assert_eq!(bad["b"], UNKNOWN_MECHANISM);
        assert_eq!(bad["c"], "Too many iterations");
        assert!(!bad.contains_key("d"));
        let dup = duplicated_users(
            &[
                upsert("d", 1, 4096),
                delete("d", 1),
                upsert("e", 1, 4096),
                upsert("e", 2, 4096),
            ],
            &bad,
        );
        assert_eq!(dup, BTreeSet::from(["d".to_string()]));
    }

    #[test]
    fn apply_derives_keys_and_refuses_deleting_what_is_absent() {
        let mut config = BTreeMap::from([("producer_byte_rate".to_string(), "1024".to_string())]);
        let up = upsert("u", 2, 8192);
        apply(&mut config, &[&up]).unwrap();
        let c = ScramCredential::parse(&config["SCRAM-SHA-512"]).unwrap();
        assert_eq!((c.iterations, c.salt.as_slice()), (8192, &b"salt"[..]));
        assert_eq!(config["producer_byte_rate"], "1024");
        let del = delete("u", 1);
        let e = apply(&mut config, &[&del]).unwrap_err();
        assert_eq!(e.0, errors::RESOURCE_NOT_FOUND);
        apply(&mut config, &[&delete("u", 2)]).unwrap();
        assert!(!config.contains_key("SCRAM-SHA-512"));
        assert_eq!(credential_infos(&config), None);
    }
}
