//! `zkafka leader-election` (kafka-leader-election.sh, admin/LeaderElectionCommand.scala) and
//! `zkafka preferred-replica-election` (the deprecated kafka-preferred-replica-election.sh):
//! ElectLeaders through the controller, or `/admin/preferred_replica_election` in ZooKeeper.

use std::time::Duration;

use crate::admin::command_config;
use crate::admin::controller_client::{self, PartitionErrors};
use crate::log::TopicPartition;
use crate::zk::{codec, paths, KafkaZkClient};

/// `zkafka leader-election ...`
#[derive(clap::Args, Debug, Clone)]
pub struct LeaderElectionArgs {
    /// The Kafka server(s) to connect to: host:port[,host:port...]
    #[arg(long = "bootstrap-server", value_name = "host:port")]
    pub bootstrap_server: String,
    /// Configuration properties files to pass to the admin client (security.protocol, sasl.*,
    /// ssl.*)
    #[arg(long = "admin.config", value_name = "config file")]
    pub admin_config: Option<String>,
    /// preferred or unclean
    #[arg(long = "election-type", value_name = "election type")]
    pub election_type: String,
    /// Topic whose partitions get an election (with --partition: only that one)
    #[arg(long)]
    pub topic: Option<String>,
    /// Partition of --topic
    #[arg(long)]
    pub partition: Option<i32>,
    /// Elect leaders for every partition
    #[arg(long = "all-topic-partitions")]
    pub all_topic_partitions: bool,
    /// JSON file: {"partitions":[{"topic":"foo","partition":1}]}
    #[arg(long = "path-to-json-file", value_name = "Path to JSON file")]
    pub path_to_json_file: Option<String>,
}

/// `zkafka preferred-replica-election ...` (deprecated in Kafka 2.8).
#[derive(clap::Args, Debug, Clone)]
pub struct PreferredReplicaElectionArgs {
    /// ZooKeeper connect string: writes /admin/preferred_replica_election
    #[arg(long, value_name = "urls")]
    pub zookeeper: Option<String>,
    /// The Kafka server(s): runs ElectLeaders (PREFERRED)
    #[arg(long = "bootstrap-server", value_name = "host:port")]
    pub bootstrap_server: Option<String>,
    /// Admin client config properties file to pass to the admin client when
    /// --bootstrap-server is given
    #[arg(long = "admin.config", value_name = "config file")]
    pub admin_config: Option<String>,
    /// JSON file: {"partitions":[{"topic":"foo","partition":1}]}; all partitions if absent
    #[arg(
        long = "path-to-json-file",
        value_name = "list of partitions for which preferred replica leader election needs to be triggered"
    )]
    pub path_to_json_file: Option<String>,
}

/// Kafka's exception class for an error code, as the tool prints it.
fn exception(code: i16, message: &str) -> String {
    let class = match code {
        3 => "UnknownTopicOrPartitionException",
        7 => "TimeoutException",
        17 => "InvalidTopicException",
        41 => "NotControllerException",
        80 => "PreferredLeaderNotAvailableException",
        83 => "EligibleLeadersNotAvailableException",
        _ => "KafkaException",
    };
    format!("org.apache.kafka.common.errors.{class}: {message}")
}

fn read_partitions_file(path: &str) -> Result<Vec<TopicPartition>, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let list = codec::decode_preferred_replica_election(path, &data).map_err(|e| e.to_string())?;
    Ok(list
        .into_iter()
        .map(|(t, p)| TopicPartition::new(t, p))
        .collect())
}

impl LeaderElectionArgs {
    fn partitions(&self) -> Result<Option<Vec<TopicPartition>>, String> {
        let chosen = [
            self.topic.is_some(),
            self.all_topic_partitions,
            self.path_to_json_file.is_some(),
        ];
        if chosen.iter().filter(|c| **c).count() != 1 {
            return Err("One and only one of the following options is required: all-topic-partitions, topic, path-to-json-file".into());
        }
        if self.partition.is_some() && self.topic.is_none() {
            return Err("Missing required option(s): topic".into());
        }
        if let Some(path) = &self.path_to_json_file {
            return read_partitions_file(path).map(Some);
        }
        match (&self.topic, self.partition) {
            (Some(t), Some(p)) => Ok(Some(vec![TopicPartition::new(t.clone(), p)])),
            (Some(t), None) => Ok(Some(vec![TopicPartition::new(t.clone(), -1)])),
            _ => Ok(None),
        }
    }
}

pub async fn run(args: LeaderElectionArgs) -> u8 {
    let (kind, name) = match args.election_type.to_ascii_lowercase().as_str() {
        "preferred" => (0, "PREFERRED"),
        "unclean" => (1, "UNCLEAN"),
        other => {
            eprintln!("Invalid election type: {other}; must be preferred or unclean");
            return 1;
        }
    };
    let partitions = match args.partitions() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if let Err(e) = command_config::configure_admin(args.admin_config.as_deref()) {
        eprintln!("{e:#}");
        return 1;
    }
    // --topic without --partition: every partition of that topic (looked up in metadata).
    let partitions = match partitions {
        Some(ps) if ps.len() == 1 && ps[0].partition == -1 => {
            match crate::admin::group_client::Cluster::discover(&args.bootstrap_server).await {
                Ok(c) => Some(
                    c.partitions(&ps[0].topic)
                        .keys()
                        .map(|p| TopicPartition::new(ps[0].topic.clone(), *p))
                        .collect(),
                ),
                Err(e) => {
                    println!("Error while making request");
                    eprintln!("{e:#}");
                    return 1;
                }
            }
        }
        other => other,
    };
    let results = tokio::time::timeout(
        Duration::from_secs(60),
        controller_client::elect_leaders(&args.bootstrap_server, kind, partitions.as_deref()),
    )
    .await;
    match results {
        Err(_) => {
            println!("Timeout waiting for election results");
            1
        }
        Ok(Err(e)) => {
            println!("Error while making request");
            eprintln!("{e:#}");
            1
        }
        Ok(Ok(results)) => print_results(name, &results),
    }
}

/// LeaderElectionCommand's summary (the "already elected" line lists the succeeded
/// partitions: a quirk of Kafka 2.8 kept as is).
fn print_results(name: &str, results: &PartitionErrors) -> u8 {
    let join = |v: &[&TopicPartition]| {
        v.iter()
            .map(|tp| tp.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let succeeded: Vec<&TopicPartition> = results
        .iter()
        .filter(|(_, e)| e.is_none())
        .map(|(tp, _)| tp)
        .collect();
    let noop = results.values().any(|e| matches!(e, Some((84, _))));
    let failed: Vec<(&TopicPartition, &(i16, String))> = results
        .iter()
        .filter_map(|(tp, e)| e.as_ref().filter(|(c, _)| *c != 84).map(|e| (tp, e)))
        .collect();
    if !succeeded.is_empty() {
        println!(
            "Successfully completed leader election ({name}) for partitions {}",
            join(&succeeded)
        );
    }
    if noop {
        println!(
            "Valid replica already elected for partitions {}",
            join(&succeeded)
        );
    }
    for (tp, (code, msg)) in &failed {
        println!(
            "Error completing leader election ({name}) for partition: {tp}: {}",
            exception(*code, msg)
        );
    }
    if failed.is_empty() {
        0
    } else {
        eprintln!("{} replica(s) could not be elected", failed.len());
        1
    }
}

pub async fn run_preferred(args: PreferredReplicaElectionArgs) -> u8 {
    println!("This tool is deprecated. Please use kafka-leader-election tool. Tracking issue: KAFKA-8405");
    let listed = match args
        .path_to_json_file
        .as_deref()
        .map(read_partitions_file)
        .transpose()
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    match (&args.zookeeper, &args.bootstrap_server) {
        (Some(zk), None) => write_election_znode(zk, listed).await,
        (None, Some(bootstrap)) => {
            if let Err(e) = command_config::configure_admin(args.admin_config.as_deref()) {
                eprintln!("{e:#}");
                return 1;
            }
            match controller_client::elect_leaders(bootstrap, 0, listed.as_deref()).await {
                Ok(results) => print_preferred_results(&results),
                Err(e) => {
                    eprintln!("Error while making request: {e:#}");
                    1
                }
            }
        }
        _ => {
            eprintln!("Exactly one of '--bootstrap-server' or '--zookeeper' must be specified");
            1
        }
    }
}

fn print_preferred_results(results: &PartitionErrors) -> u8 {
    let list = |noop: bool| {
        results
            .iter()
            .filter(|(_, e)| match e {
                None => !noop,
                Some((code, _)) => noop && *code == 84,
            })
            .map(|(tp, _)| tp.to_string())
            .collect::<Vec<_>>()
    };
    let ok = list(false);
    let noop = list(true);
    if !ok.is_empty() {
        println!(
            "Successfully completed preferred leader election for partitions {}",
            ok.join(", ")
        );
    }
    if !noop.is_empty() {
        println!(
            "Preferred replica already elected for partitions {}",
            noop.join(", ")
        );
    }
    let mut failed = 0;
    for (tp, e) in results {
        if let Some((code, msg)) = e.as_ref().filter(|(c, _)| *c != 84) {
            failed += 1;
            println!(
                "Error completing preferred leader election for partition: {tp}: {}",
                exception(*code, msg)
            );
        }
    }
    u8::from(failed > 0)
}

/// `--zookeeper`: write the election request (every partition when no file is given).
async fn write_election_znode(connect: &str, listed: Option<Vec<TopicPartition>>) -> u8 {
    let timeout = Duration::from_secs(30);
    let zk = match KafkaZkClient::connect(connect, timeout, timeout).await {
        Ok(zk) => zk,
        Err(e) => {
            eprintln!("Failed to start preferred replica election: cannot connect to ZooKeeper at {connect}: {e}");
            return 1;
        }
    };
    match elect_via_znode(&zk, listed).await {
        Ok(()) => 0,
        Err(e) => {
            println!("Failed to start preferred replica election");
            eprintln!("{e}");
            1
        }
    }
}

async fn elect_via_znode(
    zk: &KafkaZkClient,
    listed: Option<Vec<TopicPartition>>,
) -> anyhow::Result<()> {
    let mut existing = Vec::new();
    for topic in crate::admin::zk_admin::get_all_topics(zk).await? {
        if let Some(a) = zk.get_topic_assignment(&topic).await? {
            existing.extend(
                a.partitions
                    .keys()
                    .map(|p| TopicPartition::new(topic.clone(), *p)),
            );
        }
    }
    let wanted = listed.unwrap_or_else(|| existing.clone());
    let (known, unknown): (Vec<_>, Vec<_>) =
        wanted.into_iter().partition(|tp| existing.contains(tp));
    for tp in &unknown {
        println!(
            "Skipping preferred replica leader election for partition {tp} since it doesn't exist."
        );
    }
    let body: Vec<(String, i32)> = known
        .iter()
        .map(|tp| (tp.topic.clone(), tp.partition))
        .collect();
    let data = codec::encode_preferred_replica_election(&body);
    let client = zk.client().await?;
    let opts =
        zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
    match client
        .create(paths::PREFERRED_REPLICA_ELECTION, data.as_bytes(), &opts)
        .await
    {
        Ok(_) => {}
        Err(zookeeper_client::Error::NodeExists) => {
            anyhow::bail!("Preferred replica leader election currently in progress for {}. Aborting operation", paths::PREFERRED_REPLICA_ELECTION)
        }
        Err(e) => anyhow::bail!("cannot create {}: {e}", paths::PREFERRED_REPLICA_ELECTION),
    }
    let names: Vec<String> = known.iter().map(ToString::to_string).collect();
    println!(
        "Created preferred replica election path with {}",
        names.join(",")
    );
    println!(
        "Successfully started preferred replica election for partitions Set({})",
        names.join(", ")
    );
    Ok(())
}
