//! `zkafka configs` (kafka-configs.sh, admin/ConfigCommand.scala): describe and alter topic,
//! broker, client and user configs, either in ZooKeeper directly (`--zookeeper`, one line
//! `Configs for <entity> are k=v,...` per entity) or through a broker (`--bootstrap-server`:
//! DescribeConfigs with sources and synonyms, IncrementalAlterConfigs).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request as inc;
use kafka_protocol::messages::{
    DescribeConfigsRequest, IncrementalAlterConfigsRequest, MetadataRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::zk_admin::{self, desanitize_entity_name, sanitize_entity_name};
use super::{quota_configs, scram_configs};
use crate::admin::group_client::Cluster;
use crate::config::dynamic::{
    DEFAULT_ENTITY, FOLLOWER_REPLICATION_THROTTLED_RATE, LEADER_REPLICATION_THROTTLED_RATE,
    REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND,
};
use crate::network::client::BrokerClient;
use crate::security::sasl::scram::{ScramCredential, ScramMechanism, MIN_ITERATIONS};
use crate::zk::{paths, KafkaZkClient};

const TIMEOUT: Duration = Duration::from_secs(30);

/// `zkafka configs ...`: Kafka 2.8's `kafka-configs.sh`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigsArgs {
    /// ZooKeeper connect string (deprecated in Kafka 2.8, still supported)
    #[arg(long, value_name = "urls")]
    pub zookeeper: Option<String>,
    /// The Kafka server to connect to
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// Admin client properties file (security.protocol, sasl.*, ssl.*) for --bootstrap-server
    #[arg(long = "command-config", value_name = "command config property file")]
    pub command_config: Option<String>,
    /// Type of entity (topics/clients/users/brokers)
    #[arg(long = "entity-type")]
    pub entity_type: Option<String>,
    /// Name of entity (topic name/client id/user principal name/broker id)
    #[arg(long = "entity-name")]
    pub entity_name: Option<String>,
    /// Default entity name for clients/users/brokers (applies to the corresponding entity
    /// type in the command line)
    #[arg(long = "entity-default")]
    pub entity_default: bool,
    /// Alter the configuration for the entity
    #[arg(long)]
    pub alter: bool,
    /// List configs for the given entity
    #[arg(long)]
    pub describe: bool,
    /// List all configs for the given broker entity (dynamic and static)
    #[arg(long)]
    pub all: bool,
    /// Key Value pairs of configs to add: k1=v1,k2=[v1,v2,v2],k3=v3
    #[arg(long = "add-config")]
    pub add_config: Option<String>,
    /// Config keys to remove: k1,k2
    #[arg(long = "delete-config", value_delimiter = ',')]
    pub delete_config: Vec<String>,
}

/// One entity of the command line: type (`topics`...) and name (None = `--entity-default`).
struct Entity {
    ty: String,
    name: Option<String>,
}

impl Entity {
    /// The znode path under `/config` (`brokers/<default>`, `users/<sanitized>`).
    fn path(&self) -> String {
        let name = match &self.name {
            None => DEFAULT_ENTITY.to_string(),
            Some(n) if matches!(self.ty.as_str(), "users" | "clients") => sanitize_entity_name(n),
            Some(n) => n.clone(),
        };
        format!("{}/{name}", self.ty)
    }

    /// ConfigEntity's toString: `topic 'foo'`, `default brokers`, `user-principal 'alice'`.
    fn describe_zk(&self) -> String {
        let word = match self.ty.as_str() {
            "topics" => "topic",
            "brokers" => "brokers",
            "users" => "user-principal",
            "clients" => "client-id",
            other => other,
        };
        match &self.name {
            Some(n) => format!("{word} '{n}'"),
            None => format!("default {word}"),
        }
    }
}

pub async fn run(args: ConfigsArgs) -> u8 {
    match execute(&args).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e:#}");
            1
        }
    }
}

async fn execute(args: &ConfigsArgs) -> anyhow::Result<()> {
    let entity = check_args(args)?;
    if let Some(connect) = &args.zookeeper {
        println!(
            "Warning: --zookeeper is deprecated and will be removed in a future version of Kafka."
        );
        println!("Use --bootstrap-server instead to specify a broker to connect to.");
        let zk = tokio::time::timeout(TIMEOUT, KafkaZkClient::connect(connect, TIMEOUT, TIMEOUT))
            .await
            .map_err(|_| anyhow!("Timed out waiting for connection to ZooKeeper at {connect}"))?
            .with_context(|| format!("cannot connect to ZooKeeper at {connect}"))?;
        let result = if args.alter {
            alter_with_zk(&zk, args, &entity).await
        } else {
            describe_with_zk(&zk, &entity).await
        };
        zk.close().await;
        return result;
    }
    let bootstrap = args.bootstrap_server.clone().unwrap_or_default();
    super::command_config::configure_admin(args.command_config.as_deref())?;
    if matches!(entity.ty.as_str(), "users" | "clients") {
        return users_or_clients_with_broker(&bootstrap, args, &entity).await;
    }
    if args.alter {
        alter_with_broker(&bootstrap, args, &entity).await
    } else {
        describe_with_broker(&bootstrap, args, &entity).await
    }
}

/// Quotas (DescribeClientQuotas/AlterClientQuotas) and, for users, SCRAM credentials
/// (DescribeUserScramCredentials/AlterUserScramCredentials) through a broker.
async fn users_or_clients_with_broker(
    bootstrap: &str,
    args: &ConfigsArgs,
    entity: &Entity,
) -> anyhow::Result<()> {
    let name = entity.name.as_deref();
    if !args.alter {
        quota_configs::describe(bootstrap, &entity.ty, name, args.entity_default).await?;
        if entity.ty == "users" && !args.entity_default {
            scram_configs::describe(bootstrap, name).await?;
        }
        return Ok(());
    }
    let to_add = to_add(args)?;
    let what = scram_configs::classify(&entity.ty, name.is_none(), &to_add, &args.delete_config)?;
    match (what, name) {
        (scram_configs::UserAlteration::Scram, Some(user)) => {
            scram_configs::alter(bootstrap, user, &to_add, &args.delete_config).await?;
            println!("Completed updating config for user {user}.");
            Ok(())
        }
        _ => quota_configs::alter(bootstrap, &entity.ty, name, &to_add, &args.delete_config).await,
    }
}

/// `ConfigCommandOptions.checkArgs`, the subset zkafka supports.
fn check_args(args: &ConfigsArgs) -> anyhow::Result<Entity> {
    if args.alter == args.describe {
        bail!("Command must include exactly one action: --describe, --alter");
    }
    match (&args.zookeeper, &args.bootstrap_server) {
        (None, None) => bail!(
            "One of the required --bootstrap-server or --zookeeper arguments must be specified"
        ),
        (Some(_), Some(_)) => {
            bail!("Only one of --bootstrap-server or --zookeeper must be specified")
        }
        _ => {}
    }
    if args.all && args.bootstrap_server.is_none() {
        bail!("--bootstrap-server must be specified for --all");
    }
    let Some(ty) = args.entity_type.clone() else {
        bail!("At least one entity type must be specified");
    };
    if !matches!(ty.as_str(), "topics" | "brokers" | "users" | "clients") {
        bail!("Invalid entity type {ty}, the entity type must be one of topics, clients, users, brokers");
    }
    if ty == "brokers" {
        if let Some(n) = &args.entity_name {
            if n.parse::<i32>().is_err() {
                bail!(
                    "The entity name for brokers must be a valid integer broker id, but it is: {n}"
                );
            }
        }
    }
    if args.alter {
        if args.entity_name.is_none() && !args.entity_default {
            if ty == "topics" {
                bail!("an entity name must be specified with --alter of topics");
            }
            bail!("an entity-name or default entity must be specified with --alter of users, clients, brokers or ips");
        }
        if args.add_config.is_none() && args.delete_config.is_empty() {
            bail!("At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter");
        }
    }
    if args.entity_default && ty == "topics" {
        bail!("--entity-default is not valid for topics");
    }
    Ok(Entity {
        ty,
        name: if args.entity_default {
            None
        } else {
            args.entity_name.clone()
        },
    })
}

/// `parseConfigsToBeAdded`: `k1=v1,k2=[a,b]` (commas inside brackets belong to the value).
pub fn parse_configs_to_add(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut depth = 0;
    let mut items = vec![String::new()];
    for ch in text.chars() {
        match ch {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().expect("one item").push(ch);
    }
    for item in items {
        let Some((k, v)) = item.split_once('=') else {
            bail!(
                "Invalid entity config: all configs to be added must be in the format \"key=val\"."
            );
        };
        let value: String = v.chars().filter(|c| *c != '[' && *c != ']').collect();
        out.insert(k.trim().to_string(), value.trim().to_string());
    }
    if out.contains_key("message.format.version") {
        println!("WARNING: The configuration message.format.version={} is specified. This configuration will be ignored if the version is newer than the inter.broker.protocol.version specified in the broker.", out["message.format.version"]);
    }
    Ok(out)
}

fn to_add(args: &ConfigsArgs) -> anyhow::Result<BTreeMap<String, String>> {
    match &args.add_config {
        Some(text) => parse_configs_to_add(text),
        None => Ok(BTreeMap::new()),
    }
}

/// `alterConfigWithZk`: merge into the stored set, validate, write znode + notification.
async fn alter_with_zk(
    zk: &KafkaZkClient,
    args: &ConfigsArgs,
    entity: &Entity,
) -> anyhow::Result<()> {
    let to_add = match &args.add_config {
        Some(text) => parse_configs_to_add(text)?,
        None => BTreeMap::new(),
    };
    if entity.ty == "brokers" {
        check_broker_running(zk, entity, &to_add).await?;
    }
    let mut configs = zk.get_entity_config(&entity.path()).await?;
    let missing: Vec<&str> = args
        .delete_config
        .iter()
        .map(|k| k.trim())
        .filter(|k| !configs.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        bail!("Invalid config(s): {}", missing.join(","));
    }
    configs.extend(to_add);
    for k in &args.delete_config {
        configs.remove(k.trim());
    }
    match entity.ty.as_str() {
        "topics" => {
            let topic = entity.name.clone().unwrap_or_default();
            zk_admin::change_topic_config(zk, &topic, &configs).await?
        }
        "users" | "clients" => {
            if entity.ty == "users" {
                scram_credentials(&mut configs)?;
            }
            check_quota_configs(&configs)?;
            zk_admin::change_entity_config(zk, &entity.path(), &configs).await?
        }
        _ => zk_admin::change_entity_config(zk, &entity.path(), &configs).await?,
    }
    println!(
        "Completed updating config for entity: {}.",
        entity.describe_zk()
    );
    Ok(())
}

/// Only the replication throttles may be written to ZooKeeper while the broker (or, for the
/// default, any broker) runs; everything else goes through the broker so it is validated.
async fn check_broker_running(
    zk: &KafkaZkClient,
    entity: &Entity,
    to_add: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let zk_ok = [
        LEADER_REPLICATION_THROTTLED_RATE,
        FOLLOWER_REPLICATION_THROTTLED_RATE,
        REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND,
    ];
    let others: Vec<&str> = to_add
        .keys()
        .map(String::as_str)
        .filter(|k| !zk_ok.contains(k))
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let error = format!(
        "--bootstrap-server option must be specified to update broker configs Set({}).",
        others.join(", ")
    );
    let info = "Broker configuration updates using ZooKeeper are supported for bootstrapping before brokers are started to enable encrypted password configs to be stored in ZooKeeper.";
    let live = zk.get_children(paths::BROKER_IDS).await?;
    match &entity.name {
        Some(id) if live.contains(id) => {
            bail!("requirement failed: {error} when broker {id} is running. {info}")
        }
        None if !live.is_empty() => {
            bail!(
                "requirement failed: {error} for default cluster if any broker is running. {info}"
            )
        }
        _ => Ok(()),
    }
}

/// `preProcessScramCredentials`: each `SCRAM-SHA-*=[iterations=N,]password=P` being added
/// becomes the stored `salt=..,stored_key=..,server_key=..,iterations=..` (4096 by default).
fn scram_credentials(configs: &mut BTreeMap<String, String>) -> anyhow::Result<()> {
    for mech in ScramMechanism::ALL {
        let Some(text) = configs.get(mech.name()) else {
            continue;
        };
        if ScramCredential::parse(text).is_some() {
            continue; // already stored, kept as it is
        }
        let (iterations, password) = match text.strip_prefix("iterations=") {
            Some(rest) => {
                let (n, pw) = rest.split_once(',').unwrap_or((rest, ""));
                (n.parse::<u32>().ok(), pw.strip_prefix("password="))
            }
            None => (
                Some(DEFAULT_SCRAM_ITERATIONS),
                text.strip_prefix("password="),
            ),
        };
        let (Some(iterations), Some(password)) = (iterations, password) else {
            bail!("Invalid credential property {}={text}", mech.name());
        };
        if iterations < MIN_ITERATIONS {
            bail!(
                "Iterations {iterations} is less than the minimum {MIN_ITERATIONS} required for {}",
                mech.name()
            );
        }
        let credential = ScramCredential::generate(mech, password, iterations);
        configs.insert(mech.name().to_string(), credential.to_config_value());
    }
    Ok(())
}

/// ConfigCommand's DefaultScramIterations.
const DEFAULT_SCRAM_ITERATIONS: u32 = 4096;

/// `DynamicConfig.Client/User` quota keys: known names, numeric values.
fn check_quota_configs(configs: &BTreeMap<String, String>) -> anyhow::Result<()> {
    const QUOTAS: &[&str] = &[
        "producer_byte_rate",
        "consumer_byte_rate",
        "request_percentage",
        "controller_mutation_rate",
    ];
    for (k, v) in configs {
        if ScramMechanism::from_name(k).is_some() {
            continue; // a credential, turned into its stored form by scram_credentials
        }
        if !QUOTAS.contains(&k.as_str()) {
            bail!("Unknown Dynamic Configuration '{k}'.");
        }
        if v.trim().parse::<f64>().is_err() {
            bail!("Invalid value {v} for configuration {k}: Not a number of type DOUBLE");
        }
    }
    Ok(())
}

/// `describeConfigWithZk`: one line per entity (every entity of the type without a name).
async fn describe_with_zk(zk: &KafkaZkClient, entity: &Entity) -> anyhow::Result<()> {
    let entities: Vec<Entity> = if entity.name.is_some()
        || !matches!(
            entity.ty.as_str(),
            "topics" | "brokers" | "users" | "clients"
        ) {
        vec![Entity {
            ty: entity.ty.clone(),
            name: entity.name.clone(),
        }]
    } else {
        let root = format!("/config/{}", entity.ty);
        let mut children = zk.get_children(&root).await?;
        children.sort();
        children
            .into_iter()
            .map(|c| Entity {
                ty: entity.ty.clone(),
                name: (c != DEFAULT_ENTITY).then(|| desanitize_entity_name(&c)),
            })
            .collect()
    };
    for e in entities {
        let configs = zk.get_entity_config(&e.path()).await?;
        let pairs: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("Configs for {} are {}", e.describe_zk(), pairs.join(","));
    }
    Ok(())
}

async fn connect(bootstrap: &str) -> anyhow::Result<BrokerClient> {
    let addr = bootstrap.split(',').next().unwrap_or_default().trim();
    super::command_config::connect(addr, "kafka-configs", TIMEOUT, TIMEOUT)
        .await
        .with_context(|| format!("cannot connect to {addr} (--bootstrap-server)"))
}

/// `alterConfig` with `--bootstrap-server`: IncrementalAlterConfigs SET/DELETE, sent to the
/// named broker for a per-broker resource.
async fn alter_with_broker(
    bootstrap: &str,
    args: &ConfigsArgs,
    entity: &Entity,
) -> anyhow::Result<()> {
    let to_add = match &args.add_config {
        Some(text) => parse_configs_to_add(text)?,
        None => BTreeMap::new(),
    };
    let mut ops: Vec<inc::AlterableConfig> = to_add
        .iter()
        .map(|(k, v)| {
            inc::AlterableConfig::default()
                .with_name(StrBytes::from_string(k.clone()))
                .with_config_operation(0)
                .with_value(Some(StrBytes::from_string(v.clone())))
        })
        .collect();
    ops.extend(args.delete_config.iter().map(|k| {
        inc::AlterableConfig::default()
            .with_name(StrBytes::from_string(k.trim().to_string()))
            .with_config_operation(1)
            .with_value(None)
    }));
    let (ty, name) = resource(entity);
    let mut client = broker_for(bootstrap, entity).await?;
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        inc::AlterConfigsResource::default()
            .with_resource_type(ty)
            .with_resource_name(StrBytes::from_string(name.clone()))
            .with_configs(ops),
    ]);
    let resp = client.send(&req, 0).await?;
    let r = resp
        .responses
        .first()
        .ok_or_else(|| anyhow!("empty IncrementalAlterConfigs response"))?;
    if r.error_code != 0 {
        bail!(
            "Error while executing config command with args: {}",
            error_text(r.error_code, r.error_message.as_deref())
        );
    }
    match &entity.name {
        Some(n) => println!(
            "Completed updating config for {} {n}.",
            entity.ty.trim_end_matches('s')
        ),
        None => println!(
            "Completed updating default config for {} in the cluster.",
            entity.ty
        ),
    }
    Ok(())
}

fn error_text(code: i16, message: Option<&str>) -> String {
    let name = crate::server::errors::name(code);
    match message {
        Some(m) => format!("{name}: {m}"),
        None => name.to_string(),
    }
}

/// (ConfigResource type, name) of an entity; the default broker is the empty name.
fn resource(entity: &Entity) -> (i8, String) {
    let ty = if entity.ty == "topics" { 2 } else { 4 };
    (ty, entity.name.clone().unwrap_or_default())
}

/// A per-broker resource must be handled by that broker; anything else by the bootstrap one.
async fn broker_for(bootstrap: &str, entity: &Entity) -> anyhow::Result<BrokerClient> {
    if entity.ty != "brokers" {
        return connect(bootstrap).await;
    }
    let Some(id) = entity.name.as_deref().and_then(|n| n.parse::<i32>().ok()) else {
        return connect(bootstrap).await;
    };
    let cluster = Cluster::discover(bootstrap).await?;
    let addr = cluster
        .brokers
        .get(&id)
        .ok_or_else(|| anyhow!("Broker {id} is not available (not in the cluster metadata)"))?;
    connect(addr).await
}

/// `describeResourceConfig`: DescribeConfigs with synonyms, Kafka's layout.
async fn describe_with_broker(
    bootstrap: &str,
    args: &ConfigsArgs,
    entity: &Entity,
) -> anyhow::Result<()> {
    let names: Vec<Option<String>> = match (&entity.name, entity.ty.as_str()) {
        (Some(n), _) => vec![Some(n.clone())],
        (None, _) if args.entity_default => vec![None],
        (None, "topics") => all_topics(bootstrap).await?.into_iter().map(Some).collect(),
        (None, _) => {
            let cluster = Cluster::discover(bootstrap).await?;
            let mut v: Vec<Option<String>> = cluster
                .brokers
                .keys()
                .map(|id| Some(id.to_string()))
                .collect();
            v.push(None);
            v
        }
    };
    for name in names {
        let e = Entity {
            ty: entity.ty.clone(),
            name,
        };
        describe_one(bootstrap, args.all, &e).await?;
    }
    Ok(())
}

async fn all_topics(bootstrap: &str) -> anyhow::Result<Vec<String>> {
    let mut c = connect(bootstrap).await?;
    let m = c
        .send(&MetadataRequest::default().with_topics(None), 1)
        .await?;
    let mut topics: Vec<String> = m
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    topics.sort();
    Ok(topics)
}

async fn describe_one(bootstrap: &str, all: bool, entity: &Entity) -> anyhow::Result<()> {
    let (ty, name) = resource(entity);
    let mut client = broker_for(bootstrap, entity).await?;
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(ty)
            .with_resource_name(StrBytes::from_string(name.clone()))
            .with_configuration_keys(None)]);
    let resp = client.send(&req, 3).await?;
    let result = resp
        .results
        .first()
        .ok_or_else(|| anyhow!("empty DescribeConfigs response"))?;
    if result.error_code != 0 {
        bail!(
            "Error while executing config command with args: {}",
            error_text(result.error_code, result.error_message.as_deref())
        );
    }
    let dynamic_source = match (&entity.name, ty) {
        (_, 2) => 1,
        (Some(_), _) => 2,
        (None, _) => 3,
    };
    let word = entity.ty.trim_end_matches('s');
    match &entity.name {
        None => println!("Default configs for {} in the cluster are:", entity.ty),
        Some(n) => println!(
            "{} configs for {word} {n} are:",
            if all { "All" } else { "Dynamic" }
        ),
    }
    let mut entries: Vec<_> = result
        .configs
        .iter()
        .filter(|c| all || c.config_source == dynamic_source)
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    for c in entries {
        let synonyms: Vec<String> = c
            .synonyms
            .iter()
            .map(|s| {
                format!(
                    "{}:{}={}",
                    source_name(s.source),
                    s.name,
                    s.value.as_deref().unwrap_or("null")
                )
            })
            .collect();
        println!(
            "  {}={} sensitive={} synonyms={{{}}}",
            c.name,
            c.value.as_deref().unwrap_or("null"),
            c.is_sensitive,
            synonyms.join(", ")
        );
    }
    Ok(())
}

/// `ConfigEntry.ConfigSource` enum names.
fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_config_lists_in_brackets() {
        let c = parse_configs_to_add("a=1, b = [x,y] ,c=").unwrap();
        assert_eq!(c["a"], "1");
        assert_eq!(c["b"], "x,y");
        assert_eq!(c["c"], "");
        assert!(parse_configs_to_add("novalue").is_err());
    }
}
