//! `zkafka acls` (kafka-acls.sh, admin/AclCommand.scala): add, remove and list ACLs either in
//! ZooKeeper directly through the AclAuthorizer (`--authorizer-properties
//! zookeeper.connect=...`) or through a broker (`--bootstrap-server`: CreateAcls, DeleteAcls,
//! DescribeAcls), printing what Kafka 2.8's tool prints.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;

use crate::admin::command_config;
use crate::network::client::BrokerClient;
use crate::security::authorizer::acl::{CLUSTER_NAME, WILDCARD_HOST};
use crate::security::authorizer::{
    AccessControlEntry, AccessControlEntryFilter, AclAuthorizer, AclBinding, AclBindingFilter,
    AclOperation, AclPermissionType, AuthorizerConfig, PatternType, ResourcePattern,
    ResourcePatternFilter, ResourceType,
};
use crate::security::KafkaPrincipal;
use crate::zk::KafkaZkClient;

const TIMEOUT: Duration = Duration::from_secs(30);
/// ACL APIs are spoken at v1, the first version with pattern types.
const ACL_API_VERSION: i16 = 1;

/// `zkafka acls ...`: Kafka 2.8's `kafka-acls.sh`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AclsArgs {
    /// key=val pairs for the authorizer, e.g. zookeeper.connect=localhost:2181
    #[arg(long = "authorizer-properties", num_args = 1.., value_name = "authorizer-properties")]
    pub authorizer_properties: Vec<String>,
    /// The Kafka server to connect to (uses CreateAcls/DescribeAcls/DeleteAcls)
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// Admin client property file (security.protocol, sasl.*, ssl.*)
    #[arg(long = "command-config")]
    pub command_config: Option<String>,
    /// Indicates you are trying to add ACLs
    #[arg(long)]
    pub add: bool,
    /// Indicates you are trying to remove ACLs
    #[arg(long)]
    pub remove: bool,
    /// List ACLs for the specified resource
    #[arg(long)]
    pub list: bool,
    /// topic to which ACLs should be added or removed
    #[arg(long)]
    pub topic: Vec<String>,
    /// Add/Remove cluster ACLs
    #[arg(long)]
    pub cluster: bool,
    /// Consumer Group to which the ACLs should be added or removed
    #[arg(long)]
    pub group: Vec<String>,
    /// The transactionalId to which ACLs should be added or removed
    #[arg(long = "transactional-id")]
    pub transactional_id: Vec<String>,
    /// Delegation token to which ACLs should be added or removed
    #[arg(long = "delegation-token")]
    pub delegation_token: Vec<String>,
    /// literal|prefixed (add), or also match|any (list, remove)
    #[arg(long = "resource-pattern-type", default_value = "literal")]
    pub resource_pattern_type: String,
    /// principal in PrincipalType:name format to allow
    #[arg(long = "allow-principal")]
    pub allow_principal: Vec<String>,
    /// principal in PrincipalType:name format to deny
    #[arg(long = "deny-principal")]
    pub deny_principal: Vec<String>,
    /// List ACLs for the specified principal
    #[arg(long)]
    pub principal: Vec<String>,
    /// Host from which principals listed in --allow-principal will have access
    #[arg(long = "allow-host")]
    pub allow_host: Vec<String>,
    /// Host from which principals listed in --deny-principal will be denied access
    #[arg(long = "deny-host")]
    pub deny_host: Vec<String>,
    /// Operation that is being allowed or denied (default All)
    #[arg(long)]
    pub operation: Vec<String>,
    /// Convenience option to add/remove ACLs for producer role
    #[arg(long)]
    pub producer: bool,
    /// Convenience option to add/remove ACLs for consumer role
    #[arg(long)]
    pub consumer: bool,
    /// With --producer: also IDEMPOTENT_WRITE on the cluster
    #[arg(long)]
    pub idempotent: bool,
    /// Assume Yes to all queries and do not prompt
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: AclsArgs) -> u8 {
    if let Err(e) = check_args(&args) {
        eprintln!("{e}");
        return 1;
    }
    match execute(&args).await {
        Ok(()) => 0,
        Err(e) => {
            println!("Error while executing ACL command: {e:#}");
            1
        }
    }
}

fn check_args(args: &AclsArgs) -> anyhow::Result<()> {
    let actions = [args.add, args.remove, args.list];
    if actions.iter().filter(|a| **a).count() != 1 {
        bail!("Command must include exactly one action: --list, --add, --remove. ");
    }
    if args.bootstrap_server.is_some() && !args.authorizer_properties.is_empty() {
        bail!("Only one of --bootstrap-server or --authorizer-properties must be specified");
    }
    if args.bootstrap_server.is_none() && args.authorizer_properties.is_empty() {
        bail!("One of --bootstrap-server or --authorizer-properties must be specified");
    }
    if args.list && (args.producer || args.consumer) {
        bail!("Option \"[list]\" can't be used with option \"[producer]\" or \"[consumer]\"");
    }
    if args.producer && args.topic.is_empty() && args.transactional_id.is_empty() {
        bail!("With --producer you must specify a --topic");
    }
    if args.consumer && (args.topic.is_empty() || args.group.is_empty()) {
        bail!("With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.");
    }
    Ok(())
}

/// Where ACLs live: the authorizer over ZooKeeper, or a broker.
enum AclService {
    Zk(AclAuthorizer),
    Broker(BrokerClient),
}

async fn execute(args: &AclsArgs) -> anyhow::Result<()> {
    let pattern_type = PatternType::parse(&args.resource_pattern_type)
        .filter(|p| *p != PatternType::Unknown)
        .ok_or_else(|| {
            anyhow!(
                "Unknown resource-pattern-type: {}",
                args.resource_pattern_type
            )
        })?;
    let mut service = connect(args).await?;
    if args.add {
        if !matches!(pattern_type, PatternType::Literal | PatternType::Prefixed) {
            bail!("A '--resource-pattern-type' value of '{pattern_type}' is not valid when adding acls.");
        }
        add(&mut service, args, pattern_type).await?;
    } else if args.remove {
        remove(&mut service, args, pattern_type).await?;
    }
    list(&mut service, args, pattern_type).await
}

async fn connect(args: &AclsArgs) -> anyhow::Result<AclService> {
    if let Some(bootstrap) = &args.bootstrap_server {
        let addr = bootstrap.split(',').next().unwrap_or_default().trim();
        command_config::configure_admin(args.command_config.as_deref())?;
        let client = command_config::connect(addr, "kafka-acls", TIMEOUT, TIMEOUT).await?;
        return Ok(AclService::Broker(client));
    }
    let props: BTreeMap<&str, &str> = args
        .authorizer_properties
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let connect = props
        .get("authorizer.zookeeper.url")
        .or(props.get("zookeeper.connect"))
        .ok_or_else(|| anyhow!("--authorizer-properties must set zookeeper.connect"))?;
    let zk = tokio::time::timeout(TIMEOUT, KafkaZkClient::connect(connect, TIMEOUT, TIMEOUT))
        .await
        .map_err(|_| anyhow!("Timed out waiting for connection to ZooKeeper at {connect}"))?
        .with_context(|| format!("cannot connect to ZooKeeper at {connect}"))?;
    let authorizer = AclAuthorizer::load(zk, AuthorizerConfig::default())
        .await
        .with_context(|| format!("cannot read ACLs from ZooKeeper at {connect}"))?;
    Ok(AclService::Zk(authorizer))
}

/// Tab-indented entries, one per line, as AclCommand joins them.
fn entries_text(acls: &BTreeSet<AccessControlEntry>) -> String {
    acls.iter()
        .map(|a| format!("\t{a}"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn add(
    service: &mut AclService,
    args: &AclsArgs,
    pattern_type: PatternType,
) -> anyhow::Result<()> {
    for (filter, acls) in resource_filter_to_acls(args, pattern_type)? {
        if acls.is_empty() {
            bail!("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.");
        }
        let pattern = ResourcePattern {
            resource_type: filter.resource_type,
            name: filter.name.clone().unwrap_or_default(),
            pattern_type: filter.pattern_type,
        };
        println!(
            "Adding ACLs for resource `{pattern}`: \n {} \n",
            entries_text(&acls)
        );
        let bindings: Vec<AclBinding> = acls
            .iter()
            .map(|e| AclBinding {
                pattern: pattern.clone(),
                entry: e.clone(),
            })
            .collect();
        for error in service.create(&bindings).await? {
            println!("Error while adding ACLs: {error}");
        }
    }
    Ok(())
}

async fn remove(
    service: &mut AclService,
    args: &AclsArgs,
    pattern_type: PatternType,
) -> anyhow::Result<()> {
    for (filter, acls) in resource_filter_to_acls(args, pattern_type)? {
        let question = if acls.is_empty() {
            format!(
                "Are you sure you want to delete all ACLs for resource filter `{filter}`? (y/n)"
            )
        } else {
            format!(
                "Are you sure you want to remove ACLs: \n {} \n from resource filter `{filter}`? (y/n)",
                entries_text(&acls)
            )
        };
        if !confirm(args, &question) {
            continue;
        }
        let filters: Vec<AclBindingFilter> = if acls.is_empty() {
            vec![AclBindingFilter {
                pattern: filter.clone(),
                entry: AccessControlEntryFilter::ANY,
            }]
        } else {
            acls.iter()
                .map(|e| AclBindingFilter {
                    pattern: filter.clone(),
                    entry: AccessControlEntryFilter::exact(e),
                })
                .collect()
        };
        for error in service.delete(&filters).await? {
            println!("Error while removing ACLs: {error}");
        }
    }
    Ok(())
}

fn confirm(args: &AclsArgs, question: &str) -> bool {
    if args.force {
        return true;
    }
    println!("{question}");
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim().eq_ignore_ascii_case("y")
}

async fn list(
    service: &mut AclService,
    args: &AclsArgs,
    pattern_type: PatternType,
) -> anyhow::Result<()> {
    let filters = resource_filters(args, pattern_type);
    let all = AclBindingFilter {
        pattern: ResourcePatternFilter {
            resource_type: ResourceType::Any,
            name: None,
            pattern_type: PatternType::Any,
        },
        entry: AccessControlEntryFilter::ANY,
    };
    let queries: Vec<AclBindingFilter> = if filters.is_empty() {
        vec![all]
    } else {
        filters
            .into_iter()
            .map(|pattern| AclBindingFilter {
                pattern,
                entry: AccessControlEntryFilter::ANY,
            })
            .collect()
    };
    let mut by_resource: BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>> = BTreeMap::new();
    for q in &queries {
        for b in service.describe(q).await? {
            by_resource.entry(b.pattern).or_default().insert(b.entry);
        }
    }
    let principals = parse_principals(&args.principal)?;
    if principals.is_empty() {
        print_resource_acls(&by_resource);
        return Ok(());
    }
    for principal in principals {
        println!("ACLs for principal `{principal}`");
        let mine: BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>> = by_resource
            .iter()
            .map(|(r, acls)| {
                let acls = acls.iter().filter(|a| a.principal == principal).cloned();
                (r.clone(), acls.collect::<BTreeSet<_>>())
            })
            .filter(|(_, acls)| !acls.is_empty())
            .collect();
        print_resource_acls(&mine);
    }
    Ok(())
}

fn print_resource_acls(by_resource: &BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>>) {
    for (resource, acls) in by_resource {
        println!(
            "Current ACLs for resource `{resource}`: \n {} \n",
            entries_text(acls)
        );
    }
}

// ---- turning the options into patterns and entries (AclCommand.getResourceFilterToAcls) ----

fn resource_filters(args: &AclsArgs, pattern_type: PatternType) -> Vec<ResourcePatternFilter> {
    let filter = |resource_type, name: &str| ResourcePatternFilter {
        resource_type,
        name: Some(name.trim().to_string()),
        pattern_type,
    };
    let mut out: Vec<ResourcePatternFilter> = Vec::new();
    out.extend(args.topic.iter().map(|t| filter(ResourceType::Topic, t)));
    if pattern_type == PatternType::Literal && (args.cluster || args.idempotent) {
        out.push(filter(ResourceType::Cluster, CLUSTER_NAME));
    }
    out.extend(args.group.iter().map(|g| filter(ResourceType::Group, g)));
    out.extend(
        args.transactional_id
            .iter()
            .map(|t| filter(ResourceType::TransactionalId, t)),
    );
    out.extend(
        args.delegation_token
            .iter()
            .map(|t| filter(ResourceType::DelegationToken, t)),
    );
    out
}

type FilterToAcls = BTreeMap<ResourcePatternFilter, BTreeSet<AccessControlEntry>>;

fn resource_filter_to_acls(
    args: &AclsArgs,
    pattern_type: PatternType,
) -> anyhow::Result<FilterToAcls> {
    use AclOperation::*;
    let filters = resource_filters(args, pattern_type);
    if filters.is_empty() {
        bail!("You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>");
    }
    let of_type = |t: ResourceType| filters.iter().filter(move |f| f.resource_type == t);
    let mut out = FilterToAcls::new();
    if !args.producer && !args.consumer {
        let ops = args
            .operation
            .iter()
            .map(|o| AclOperation::parse(o.trim()).ok_or_else(|| anyhow!("Invalid operation: {o}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let ops = if ops.is_empty() { vec![All] } else { ops };
        let acls = entries(args, &ops)?;
        for f in &filters {
            out.insert(f.clone(), acls.clone());
        }
    }
    let mut merge = |f: &ResourcePatternFilter, acls: BTreeSet<AccessControlEntry>| {
        out.entry(f.clone()).or_default().extend(acls);
    };
    if args.producer {
        for f in of_type(ResourceType::Topic) {
            merge(f, entries(args, &[Write, Describe, Create])?);
        }
        for f in of_type(ResourceType::TransactionalId) {
            merge(f, entries(args, &[Write, Describe])?);
        }
        if args.idempotent {
            for f in of_type(ResourceType::Cluster) {
                merge(f, entries(args, &[IdempotentWrite])?);
            }
        }
    }
    if args.consumer {
        for f in of_type(ResourceType::Topic) {
            merge(f, entries(args, &[Read, Describe])?);
        }
        for f in of_type(ResourceType::Group) {
            merge(f, entries(args, &[Read])?);
        }
    }
    validate_operations(&out)?;
    Ok(out)
}

/// Allow entries for `--allow-principal` × hosts × ops, deny entries likewise.
fn entries(args: &AclsArgs, ops: &[AclOperation]) -> anyhow::Result<BTreeSet<AccessControlEntry>> {
    let mut out = BTreeSet::new();
    let sides = [
        (
            &args.allow_principal,
            &args.allow_host,
            AclPermissionType::Allow,
        ),
        (
            &args.deny_principal,
            &args.deny_host,
            AclPermissionType::Deny,
        ),
    ];
    for (principals, hosts, permission_type) in sides {
        let principals = parse_principals(principals)?;
        let hosts: Vec<String> = if hosts.is_empty() {
            vec![WILDCARD_HOST.to_string()]
        } else {
            hosts.iter().map(|h| h.trim().to_string()).collect()
        };
        for p in &principals {
            for h in &hosts {
                for &operation in ops {
                    out.insert(AccessControlEntry {
                        principal: p.clone(),
                        host: h.clone(),
                        operation,
                        permission_type,
                    });
                }
            }
        }
    }
    Ok(out)
}

fn parse_principals(list: &[String]) -> anyhow::Result<Vec<String>> {
    list.iter()
        .map(|p| {
            KafkaPrincipal::parse(p.trim())
                .map(|p| p.to_string())
                .ok_or_else(|| {
                    anyhow!("expected a string in format principalType:principalName but got {p}")
                })
        })
        .collect()
}

fn validate_operations(filter_to_acls: &FilterToAcls) -> anyhow::Result<()> {
    for (filter, acls) in filter_to_acls {
        let supported = filter.resource_type.supported_operations();
        if acls
            .iter()
            .any(|a| a.operation != AclOperation::All && !supported.contains(&a.operation))
        {
            let names: Vec<String> = supported
                .iter()
                .chain(&[AclOperation::All])
                .map(|o| o.to_string())
                .collect();
            bail!(
                "ResourceType {} only supports operations {}",
                filter.resource_type,
                names.join(",")
            );
        }
    }
    Ok(())
}

// ---- the two back ends --------------------------------------------------------------------

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// What the Java admin client's exception says for an error answer.
fn message(code: i16, text: Option<&StrBytes>) -> String {
    match text {
        Some(t) if !t.is_empty() => format!("{}: {t}", super::java_errors::class_name(code)),
        _ => super::java_errors::message(code),
    }
}

impl AclService {
    /// Creates bindings; the error messages of those that failed.
    async fn create(&mut self, bindings: &[AclBinding]) -> anyhow::Result<Vec<String>> {
        match self {
            AclService::Zk(a) => Ok(a
                .create_acls(bindings)
                .await
                .into_iter()
                .filter_map(Result::err)
                .collect()),
            AclService::Broker(client) => {
                let creations = bindings.iter().map(creation).collect();
                let req = CreateAclsRequest::default().with_creations(creations);
                let resp = client.send(&req, ACL_API_VERSION).await?;
                // The admin client's createAcls(...).all().get() throws on the first error.
                if let Some(r) = resp.results.iter().find(|r| r.error_code != 0) {
                    bail!("{}", message(r.error_code, r.error_message.as_ref()));
                }
                Ok(vec![])
            }
        }
    }

    async fn delete(&mut self, filters: &[AclBindingFilter]) -> anyhow::Result<Vec<String>> {
        match self {
            AclService::Zk(a) => Ok(a
                .delete_acls(filters)
                .await
                .into_iter()
                .filter_map(Result::err)
                .collect()),
            AclService::Broker(client) => {
                let wire = filters.iter().map(delete_filter).collect();
                let req = DeleteAclsRequest::default().with_filters(wire);
                let resp = client.send(&req, ACL_API_VERSION).await?;
                if let Some(r) = resp.filter_results.iter().find(|r| r.error_code != 0) {
                    bail!("{}", message(r.error_code, r.error_message.as_ref()));
                }
                Ok(vec![])
            }
        }
    }

    async fn describe(&mut self, filter: &AclBindingFilter) -> anyhow::Result<Vec<AclBinding>> {
        let client = match self {
            AclService::Zk(a) => return Ok(a.acls(filter)),
            AclService::Broker(client) => client,
        };
        let f = delete_filter(filter);
        let req = DescribeAclsRequest::default()
            .with_resource_type_filter(f.resource_type_filter)
            .with_resource_name_filter(f.resource_name_filter)
            .with_pattern_type_filter(f.pattern_type_filter)
            .with_principal_filter(f.principal_filter)
            .with_host_filter(f.host_filter)
            .with_operation(f.operation)
            .with_permission_type(f.permission_type);
        let resp = client.send(&req, ACL_API_VERSION).await?;
        if resp.error_code != 0 {
            bail!("{}", message(resp.error_code, resp.error_message.as_ref()));
        }
        let mut out = Vec::new();
        for r in resp.resources {
            let pattern = ResourcePattern {
                resource_type: ResourceType::from_code(r.resource_type)
                    .unwrap_or(ResourceType::Unknown),
                name: r.resource_name.to_string(),
                pattern_type: PatternType::from_code(r.pattern_type)
                    .unwrap_or(PatternType::Unknown),
            };
            for a in r.acls {
                out.push(AclBinding {
                    pattern: pattern.clone(),
                    entry: AccessControlEntry {
                        principal: a.principal.to_string(),
                        host: a.host.to_string(),
                        operation: AclOperation::from_code(a.operation)
                            .unwrap_or(AclOperation::Unknown),
                        permission_type: AclPermissionType::from_code(a.permission_type)
                            .unwrap_or(AclPermissionType::Unknown),
                    },
                });
            }
        }
        Ok(out)
    }
}

fn creation(b: &AclBinding) -> AclCreation {
    AclCreation::default()
        .with_resource_type(b.pattern.resource_type.code())
        .with_resource_name(sb(&b.pattern.name))
        .with_resource_pattern_type(b.pattern.pattern_type.code())
        .with_principal(sb(&b.entry.principal))
        .with_host(sb(&b.entry.host))
        .with_operation(b.entry.operation.code())
        .with_permission_type(b.entry.permission_type.code())
}

/// A filter in the wire shape DeleteAcls (and, field by field, DescribeAcls) uses.
fn delete_filter(f: &AclBindingFilter) -> DeleteAclsFilter {
    DeleteAclsFilter::default()
        .with_resource_type_filter(f.pattern.resource_type.code())
        .with_resource_name_filter(f.pattern.name.as_deref().map(sb))
        .with_pattern_type_filter(f.pattern.pattern_type.code())
        .with_principal_filter(f.entry.principal.as_deref().map(sb))
        .with_host_filter(f.entry.host.as_deref().map(sb))
        .with_operation(f.entry.operation.code())
        .with_permission_type(f.entry.permission_type.code())
}
