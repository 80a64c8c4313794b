//! AclAuthorizer (`kafka.security.authorizer.AclAuthorizer`): ACLs kept in ZooKeeper, cached
//! on every broker and refreshed from change notifications, and the allow/deny decision every
//! API asks for. Decisions are logged as Kafka's `kafka.authorizer.logger` logs them.

pub mod acl;
mod notifications;
pub mod store;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use acl::{
    AccessControlEntry, AccessControlEntryFilter, AclBinding, AclBindingFilter, AclOperation,
    AclPermissionType, PatternType, ResourcePattern, ResourcePatternFilter, ResourceType,
};
use acl::{WILDCARD_HOST, WILDCARD_PRINCIPAL, WILDCARD_RESOURCE};

use super::KafkaPrincipal;
use crate::config::KafkaConfig;
use crate::zk::acls::{AclWrite, CHANGE_PREFIX};
use crate::zk::{KafkaZkClient, ZkResult};

/// `authorizer.class.name` values that select this authorizer (2.8's and the pre-2.4 name).
pub const CLASS_NAMES: &[&str] = &[
    "kafka.security.authorizer.AclAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
];

/// Conditional-write attempts before giving up (AclAuthorizer's maxUpdateRetries).
const MAX_UPDATE_RETRIES: usize = 10;

/// The authorizer's settings from the broker config.
#[derive(Clone, Debug, Default)]
pub struct AuthorizerConfig {
    /// `super.users`: principals every check allows.
    pub super_users: HashSet<String>,
    /// `allow.everyone.if.no.acl.found`.
    pub allow_everyone_if_no_acl_found: bool,
}

impl AuthorizerConfig {
    /// None when `authorizer.class.name` is empty; an error names an authorizer we lack.
    pub fn from_broker_config(config: &KafkaConfig) -> anyhow::Result<Option<AuthorizerConfig>> {
        let class = config.string("authorizer.class.name").unwrap_or_default();
        let class = class.trim();
        if class.is_empty() {
            return Ok(None);
        }
        if !CLASS_NAMES.contains(&class) {
            anyhow::bail!(
                "authorizer.class.name={class} is not supported; use {}",
                CLASS_NAMES[0]
            );
        }
        let super_users = config.string("super.users").unwrap_or_default();
        Ok(Some(AuthorizerConfig {
            super_users: parse_super_users(&super_users),
            allow_everyone_if_no_acl_found: config.boolean("allow.everyone.if.no.acl.found"),
        }))
    }
}

/// `User:a;User:b` (split on `;`, as AclAuthorizer does).
pub fn parse_super_users(text: &str) -> HashSet<String> {
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Who asks and for which request, for the decision and its log line.
pub struct RequestIdentity<'a> {
    pub principal: &'a KafkaPrincipal,
    pub host: IpAddr,
    /// The API's name as Kafka logs it (`Produce`, `JoinGroup`).
    pub api: &'a str,
}

pub struct AclAuthorizer {
    zk: KafkaZkClient,
    config: AuthorizerConfig,
    /// Every pattern's ACLs, as last read from ZooKeeper (no empty sets).
    cache: RwLock<BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>>>,
}

impl AclAuthorizer {
    /// Creates the store paths and loads every ACL (AclAuthorizer.configure), without
    /// listening for changes: what `kafka-acls.sh --authorizer-properties` uses.
    pub async fn load(zk: KafkaZkClient, config: AuthorizerConfig) -> ZkResult<AclAuthorizer> {
        zk.create_acl_paths().await?;
        let authorizer = AclAuthorizer {
            zk,
            config,
            cache: RwLock::new(BTreeMap::new()),
        };
        authorizer.load_all().await?;
        Ok(authorizer)
    }

    /// The broker's authorizer: loaded, and kept current by the change notification
    /// listeners (returned so the server can stop them).
    pub async fn start(
        zk: KafkaZkClient,
        config: AuthorizerConfig,
    ) -> ZkResult<(Arc<AclAuthorizer>, Vec<tokio::task::JoinHandle<()>>)> {
        let authorizer = Arc::new(Self::load(zk, config).await?);
        let tasks = notifications::start(authorizer.clone());
        Ok((authorizer, tasks))
    }

    async fn load_all(&self) -> ZkResult<()> {
        let mut loaded = BTreeMap::new();
        for pattern_type in [PatternType::Literal, PatternType::Prefixed] {
            let root = store::store_root(pattern_type);
            for type_name in self.zk.get_children(root).await? {
                let Some(resource_type) = ResourceType::parse(&type_name) else {
                    tracing::warn!(target: "kafka.security.authorizer.AclAuthorizer", "Ignoring unknown ResourceType: {type_name} under {root}");
                    continue;
                };
                for name in self.zk.get_children(&format!("{root}/{type_name}")).await? {
                    let pattern = ResourcePattern::new(resource_type, &name, pattern_type);
                    let (acls, _) = self.read_acls(&pattern).await?;
                    if !acls.is_empty() {
                        loaded.insert(pattern, acls);
                    }
                }
            }
        }
        let count: usize = loaded.values().map(BTreeSet::len).sum();
        tracing::info!(target: "kafka.security.authorizer.AclAuthorizer", "Loaded {count} ACL(s) on {} resource pattern(s) from ZooKeeper", loaded.len());
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        Ok(())
    }

    /// A pattern's ACLs and znode version (-1 = no znode). A payload we cannot parse is
    /// logged and read as no ACLs, so one bad znode cannot stop a broker.
    async fn read_acls(
        &self,
        pattern: &ResourcePattern,
    ) -> ZkResult<(BTreeSet<AccessControlEntry>, i32)> {
        let path = store::pattern_path(pattern);
        let Some((data, stat)) = self.zk.get_data(&path).await? else {
            return Ok((BTreeSet::new(), -1));
        };
        match store::decode_acls(&data) {
            Ok(acls) => Ok((acls, stat.version)),
            Err(e) => {
                tracing::error!(target: "kafka.security.authorizer.AclAuthorizer", "Ignoring the ACLs in {path}: {e}");
                Ok((BTreeSet::new(), stat.version))
            }
        }
    }

    /// Re-reads one pattern into the cache (a change notification named it).
    pub async fn refresh(&self, pattern: &ResourcePattern) -> ZkResult<()> {
        let (acls, _) = self.read_acls(pattern).await?;
        tracing::debug!(target: "kafka.security.authorizer.AclAuthorizer", "Processing ACL change for {pattern}: {} ACL(s)", acls.len());
        self.set_cached(pattern, acls);
        Ok(())
    }

    fn set_cached(&self, pattern: &ResourcePattern, acls: BTreeSet<AccessControlEntry>) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if acls.is_empty() {
            cache.remove(pattern);
        } else {
            cache.insert(pattern.clone(), acls);
        }
    }

    pub(crate) fn zk(&self) -> &KafkaZkClient {
        &self.zk
    }

    // ---- decisions --------------------------------------------------------------------------

    /// May `who` do `op` on the resource? Denials are logged at INFO when `log_if_denied`
    /// (an explicit request), at TRACE when merely filtering; allows at DEBUG.
    pub fn authorize(
        &self,
        who: &RequestIdentity,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
        log_if_denied: bool,
    ) -> bool {
        let allowed = self.decide(who, op, resource_type, name);
        log_decision(who, op, resource_type, name, allowed, log_if_denied);
        allowed
    }

    fn decide(
        &self,
        who: &RequestIdentity,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        let principal = who.principal.to_string();
        let host = canonical_host(who.host);
        let resource = ResourcePattern::new(resource_type, name, PatternType::Literal);
        decide(&cache, &self.config, &principal, &host, op, &resource)
    }

    /// authorizeByResourceType (KIP-679): may `who` do `op` on *some* resource of the type?
    /// InitProducerId without a transactional id asks this for WRITE on any topic.
    pub fn authorize_any(
        &self,
        who: &RequestIdentity,
        op: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        let principal = who.principal.to_string();
        if self.config.super_users.contains(&principal) {
            return true;
        }
        let host = canonical_host(who.host);
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        let entries = |perm: AclPermissionType| -> Vec<&ResourcePattern> {
            cache
                .iter()
                .filter(|(p, acls)| {
                    p.resource_type == resource_type
                        && acls.iter().any(|a| {
                            a.permission_type == perm
                                && (a.principal == principal || a.principal == WILDCARD_PRINCIPAL)
                                && (a.host == host || a.host == WILDCARD_HOST)
                                && (a.operation == op || a.operation == AclOperation::All)
                        })
                })
                .map(|(p, _)| p)
                .collect()
        };
        let denies = entries(AclPermissionType::Deny);
        let denied_everywhere = denies
            .iter()
            .any(|p| p.pattern_type == PatternType::Literal && p.name == WILDCARD_RESOURCE);
        if denied_everywhere {
            return false;
        }
        if self.config.allow_everyone_if_no_acl_found {
            return true;
        }
        let dominated = |allow: &ResourcePattern| {
            denies.iter().any(|d| match d.pattern_type {
                PatternType::Prefixed => allow.name.starts_with(&d.name),
                _ => allow.pattern_type == PatternType::Literal && d.name == allow.name,
            })
        };
        entries(AclPermissionType::Allow)
            .into_iter()
            .any(|p| !dominated(p))
    }

    // ---- ACL administration (CreateAcls, DeleteAcls, DescribeAcls, kafka-acls.sh) ----------

    /// Every cached binding the filter matches.
    pub fn acls(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        cache
            .iter()
            .filter(|(p, _)| filter.pattern.matches(p))
            .flat_map(|(p, acls)| {
                acls.iter().map(|e| AclBinding {
                    pattern: p.clone(),
                    entry: e.clone(),
                })
            })
            .filter(|b| filter.entry.matches(&b.entry))
            .collect()
    }

    /// Adds bindings; one result per binding, in order (an error message when it failed).
    pub async fn create_acls(&self, bindings: &[AclBinding]) -> Vec<Result<(), String>> {
        let mut results: Vec<Result<(), String>> = bindings
            .iter()
            .map(
                |b| match b.pattern.invalid_reason().or(b.entry.invalid_reason()) {
                    Some(reason) => Err(reason),
                    None => Ok(()),
                },
            )
            .collect();
        let mut by_pattern: BTreeMap<&ResourcePattern, Vec<usize>> = BTreeMap::new();
        for (i, b) in bindings.iter().enumerate() {
            if results[i].is_ok() {
                by_pattern.entry(&b.pattern).or_default().push(i);
            }
        }
        for (pattern, indexes) in by_pattern {
            let added: Vec<AccessControlEntry> =
                indexes.iter().map(|&i| bindings[i].entry.clone()).collect();
            let outcome = self
                .update_resource_acls(pattern, |current| {
                    current.iter().chain(&added).cloned().collect()
                })
                .await;
            if let Err(e) = outcome {
                for i in indexes {
                    results[i] = Err(e.clone());
                }
            }
        }
        results
    }

    /// Removes every binding each filter matches; per filter, the bindings it deleted.
    pub async fn delete_acls(
        &self,
        filters: &[AclBindingFilter],
    ) -> Vec<Result<Vec<AclBinding>, String>> {
        let patterns: BTreeSet<ResourcePattern> = {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            cache
                .keys()
                .filter(|p| filters.iter().any(|f| f.pattern.matches(p)))
                .cloned()
                .collect()
        };
        let mut results: Vec<Result<Vec<AclBinding>, String>> =
            filters.iter().map(|_| Ok(vec![])).collect();
        for pattern in patterns {
            let matches = |e: &AccessControlEntry| {
                let b = AclBinding {
                    pattern: pattern.clone(),
                    entry: e.clone(),
                };
                filters.iter().any(|f| f.matches(&b))
            };
            let outcome = self
                .update_resource_acls(&pattern, |current| {
                    current.iter().filter(|e| !matches(e)).cloned().collect()
                })
                .await;
            attribute_deletions(filters, &pattern, outcome, &mut results);
        }
        results
    }

    /// Rewrites one pattern's ACLs with `update(current)`: a conditional write on the znode
    /// version, retried on conflict; a change notification when the set changed. Returns the
    /// old and new sets.
    async fn update_resource_acls(
        &self,
        pattern: &ResourcePattern,
        update: impl Fn(&BTreeSet<AccessControlEntry>) -> BTreeSet<AccessControlEntry>,
    ) -> Result<AclChange, String> {
        let path = store::pattern_path(pattern);
        let zk_err = |e: crate::zk::ZkError| format!("{path}: {e}");
        for _ in 0..MAX_UPDATE_RETRIES {
            let (old, version) = self.read_acls(pattern).await.map_err(zk_err)?;
            let new = update(&old);
            if new == old {
                self.set_cached(pattern, new.clone());
                return Ok(AclChange { old, new });
            }
            let data = (!new.is_empty()).then(|| store::encode_acls(&new));
            let written = self
                .zk
                .conditional_write_acls(&path, data.as_deref(), version)
                .await
                .map_err(zk_err)?;
            match written {
                AclWrite::Written => {
                    let (root, data) = store::change_notification(pattern);
                    let prefix = format!("{root}/{CHANGE_PREFIX}");
                    self.zk
                        .create_sequential(&prefix, &data)
                        .await
                        .map_err(zk_err)?;
                    self.set_cached(pattern, new.clone());
                    return Ok(AclChange { old, new });
                }
                AclWrite::Conflict => {
                    let backoff = 100 + rand::random_range(0..50u64);
                    tokio::time::sleep(Duration::from_millis(backoff)).await;
                }
            }
        }
        Err(format!(
            "Failed to update ACLs for {pattern} after trying a maximum of {MAX_UPDATE_RETRIES} times"
        ))
    }
}

/// A pattern's ACLs before and after an update.
struct AclChange {
    old: BTreeSet<AccessControlEntry>,
    new: BTreeSet<AccessControlEntry>,
}

/// Credits each deleted binding to every filter that matches it.
fn attribute_deletions(
    filters: &[AclBindingFilter],
    pattern: &ResourcePattern,
    outcome: Result<AclChange, String>,
    results: &mut [Result<Vec<AclBinding>, String>],
) {
    let change = match outcome {
        Ok(c) => c,
        Err(e) => {
            for (f, r) in filters.iter().zip(results.iter_mut()) {
                if f.pattern.matches(pattern) {
                    *r = Err(e.clone());
                }
            }
            return;
        }
    };
    for entry in change.old.difference(&change.new) {
        let b = AclBinding {
            pattern: pattern.clone(),
            entry: entry.clone(),
        };
        for (f, r) in filters.iter().zip(results.iter_mut()) {
            if let (true, Ok(list)) = (f.matches(&b), r.as_mut()) {
                list.push(b.clone());
            }
        }
    }
}

/// AclAuthorizer.authorizeAction on a literal resource: super users, then ACLs (deny wins).
fn decide(
    cache: &BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>>,
    config: &AuthorizerConfig,
    principal: &str,
    host: &str,
    op: AclOperation,
    resource: &ResourcePattern,
) -> bool {
    if config.super_users.contains(principal) {
        return true;
    }
    let acls = matching_acls(cache, resource.resource_type, &resource.name);
    if acls.is_empty() {
        return config.allow_everyone_if_no_acl_found;
    }
    let applies = |a: &AccessControlEntry| {
        (a.principal == principal || a.principal == WILDCARD_PRINCIPAL)
            && (a.host == host || a.host == WILDCARD_HOST)
    };
    // Deny wins, and only names the operation itself (or ALL).
    let denied = acls.iter().any(|a| {
        a.permission_type == AclPermissionType::Deny
            && (a.operation == op || a.operation == AclOperation::All)
            && applies(a)
    });
    !denied
        && acls.iter().any(|a| {
            a.permission_type == AclPermissionType::Allow && a.operation.allows(op) && applies(a)
        })
}

/// ACLs that apply to a resource: literal on its name, literal `*`, and prefixes of its name.
fn matching_acls<'a>(
    cache: &'a BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>>,
    resource_type: ResourceType,
    name: &str,
) -> Vec<&'a AccessControlEntry> {
    let mut out = Vec::new();
    for n in [name, WILDCARD_RESOURCE] {
        let key = ResourcePattern::new(resource_type, n, PatternType::Literal);
        if let Some(acls) = cache.get(&key) {
            out.extend(acls.iter());
        }
    }
    // Every prefix of `name` sorts between its first character and `name` itself.
    let Some(first) = name.chars().next() else {
        return out;
    };
    let low = ResourcePattern::new(resource_type, &first.to_string(), PatternType::Literal);
    let high = ResourcePattern::new(resource_type, name, PatternType::Prefixed);
    for (p, acls) in cache.range(low..=high) {
        if p.pattern_type == PatternType::Prefixed && name.starts_with(&p.name) {
            out.extend(acls.iter());
        }
    }
    out
}

/// The client address as Kafka compares it (`getHostAddress`; IPv4-mapped IPv6 as IPv4).
fn canonical_host(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

/// Kafka's authorizer log line.
fn log_decision(
    who: &RequestIdentity,
    op: AclOperation,
    resource_type: ResourceType,
    name: &str,
    allowed: bool,
    log_if_denied: bool,
) {
    macro_rules! line {
        ($level:ident, $result:expr) => {
            tracing::$level!(target: "kafka.authorizer.logger",
                "Principal = {} is {} Operation = {} from host = {} on resource = {}:LITERAL:{} for request = {} with resourceRefCount = 1",
                who.principal, $result, op.pascal(), canonical_host(who.host), resource_type.pascal(), name, who.api)
        };
    }
    match (allowed, log_if_denied) {
        (true, _) => line!(debug, "Allowed"),
        (false, true) => line!(info, "Denied"),
        (false, false) => line!(trace, "Denied"),
    }
}

#[cfg(test)]
mod tests;
