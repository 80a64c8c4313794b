//! `zkafka reassign-partitions` (kafka-reassign-partitions.sh, admin/ReassignPartitionsCommand
//! .scala): generate a proposal, execute it (AlterPartitionReassignments through the
//! controller, or `/admin/reassign_partitions` with the deprecated `--zookeeper`), verify,
//! list and cancel — with Kafka's messages and JSON layout.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};

use crate::admin::assignment::{assign_replicas_to_brokers, BrokerMetadata};
use crate::admin::controller_client as cc;
use crate::admin::reassign_log_dirs::{self as log_dirs, ReplicaMoves};
use crate::admin::reassign_throttle::{self as throttle, ConfigTarget};
use crate::log::TopicPartition;
use crate::zk::codec::ordered_json;
use crate::zk::{codec, paths, KafkaZkClient};

/// `zkafka reassign-partitions ...`
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReassignPartitionsArgs {
    /// The Kafka server(s) to connect to: host:port[,host:port...]
    #[arg(long = "bootstrap-server", value_name = "host:port")]
    pub bootstrap_server: Option<String>,
    /// Property file containing configs to be passed to Admin Client (security.protocol,
    /// sasl.*, ssl.*)
    #[arg(long = "command-config", value_name = "Admin client property file")]
    pub command_config: Option<String>,
    /// Deprecated: ZooKeeper connect string
    #[arg(long, value_name = "urls")]
    pub zookeeper: Option<String>,
    /// Generate a candidate assignment (nothing is changed)
    #[arg(long)]
    pub generate: bool,
    /// Start the reassignment in --reassignment-json-file
    #[arg(long)]
    pub execute: bool,
    /// Report the status of the reassignment in --reassignment-json-file
    #[arg(long)]
    pub verify: bool,
    /// List the partition reassignments in progress
    #[arg(long)]
    pub list: bool,
    /// Cancel the reassignments in --reassignment-json-file
    #[arg(long)]
    pub cancel: bool,
    /// {"version":1,"partitions":[{"topic":"foo","partition":0,"replicas":[1,2]}]}
    #[arg(
        long = "reassignment-json-file",
        value_name = "manual assignment json file path"
    )]
    pub reassignment_json_file: Option<String>,
    /// {"topics":[{"topic":"foo"}],"version":1}
    #[arg(
        long = "topics-to-move-json-file",
        value_name = "topics to reassign json file path"
    )]
    pub topics_to_move_json_file: Option<String>,
    /// Brokers to generate the assignment on: 1,2,3
    #[arg(long = "broker-list", value_name = "brokerlist")]
    pub broker_list: Option<String>,
    /// Execute even if reassignments are already in progress
    #[arg(long)]
    pub additional: bool,
    /// The movement of partitions between brokers will be throttled to this value (bytes/sec).
    /// Can be altered by resubmitting the current reassignment with --additional.
    #[arg(long, value_name = "throttle", allow_negative_numbers = true)]
    pub throttle: Option<i64>,
    /// Not supported: zkafka's tool moves no replicas between log directories
    #[arg(
        long = "replica-alter-log-dirs-throttle",
        value_name = "replicaAlterLogDirsThrottle",
        allow_negative_numbers = true
    )]
    pub replica_alter_log_dirs_throttle: Option<i64>,
    /// Keep the throttles after --verify
    #[arg(long = "preserve-throttles")]
    pub preserve_throttles: bool,
    /// The maximum time in ms to wait for log directory replica assignment to begin.
    #[arg(long, value_name = "timeout", default_value_t = 10000)]
    pub timeout: u64,
}

type Plan = BTreeMap<TopicPartition, Vec<i32>>;

/// Kafka's `formatAsReassignmentJson`: compact, sorted, `log_dirs` all "any".
pub fn format_as_reassignment_json(plan: &Plan) -> String {
    let entries: Vec<String> = plan
        .iter()
        .map(|(tp, r)| {
            ordered_json(&[
                ("topic", json!(tp.topic)),
                ("partition", json!(tp.partition)),
                ("replicas", json!(r)),
                ("log_dirs", json!(vec!["any"; r.len()])),
            ])
        })
        .collect();
    format!("{{\"version\":1,\"partitions\":[{}]}}", entries.join(","))
}

/// The reassignment JSON file: partitions with their target replicas.
pub fn parse_reassignment_json(path: &str, text: &str) -> anyhow::Result<Plan> {
    let v: Value = serde_json::from_str(text).with_context(|| format!("cannot parse {path}"))?;
    let list = v["partitions"]
        .as_array()
        .ok_or_else(|| anyhow!("{path}: missing \"partitions\""))?;
    let mut plan = Plan::new();
    for e in list {
        let topic = e["topic"]
            .as_str()
            .ok_or_else(|| anyhow!("{path}: entry without \"topic\": {e}"))?;
        let p = e["partition"]
            .as_i64()
            .ok_or_else(|| anyhow!("{path}: entry without \"partition\": {e}"))?;
        let replicas: Vec<i32> = e["replicas"]
            .as_array()
            .ok_or_else(|| anyhow!("{path}: entry without \"replicas\": {e}"))?
            .iter()
            .map(|r| {
                r.as_i64()
                    .map(|x| x as i32)
                    .ok_or_else(|| anyhow!("{path}: bad replica id in {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        if let Some(dirs) = e["log_dirs"].as_array() {
            if dirs.len() != replicas.len() {
                bail!(
                    "Partition {topic}-{p} has {} replicas but {} log dirs",
                    replicas.len(),
                    dirs.len()
                );
            }
            if let Some(d) = dirs.iter().find(|d| !d.is_string()) {
                bail!("{path}: log dir {d} of {topic}-{p} must be \"any\" or an absolute path");
            }
        }
        let tp = TopicPartition::new(topic, p as i32);
        if plan.insert(tp.clone(), replicas).is_some() {
            bail!("Partition reassignment contains duplicate topic partitions: {tp}");
        }
    }
    if plan.is_empty() {
        bail!("Partition reassignment list cannot be empty");
    }
    Ok(plan)
}

fn read(path: &Option<String>, flag: &str) -> anyhow::Result<(String, String)> {
    let path = path
        .clone()
        .ok_or_else(|| anyhow!("Missing required argument \"[{flag}]\""))?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    Ok((path, text))
}

pub async fn run(args: ReassignPartitionsArgs) -> u8 {
    match tokio::time::timeout(Duration::from_secs(120), dispatch(&args)).await {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            println!("Error: {e:#}");
            1
        }
        Err(_) => {
            println!("Error: timed out");
            1
        }
    }
}

async fn dispatch(args: &ReassignPartitionsArgs) -> anyhow::Result<u8> {
    let actions = [
        args.generate,
        args.execute,
        args.verify,
        args.list,
        args.cancel,
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        bail!("Command must include exactly one action: --generate, --execute, --verify, --list or --cancel");
    }
    check_throttle_args(args)?;
    let target = match (&args.zookeeper, &args.bootstrap_server) {
        (Some(zk), None) => {
            println!("Warning: --zookeeper is deprecated, and will be removed in a future version of Kafka.");
            let t = Duration::from_secs(30);
            Target::Zk(
                KafkaZkClient::connect(zk, t, t)
                    .await
                    .with_context(|| format!("cannot connect to ZooKeeper at {zk}"))?,
            )
        }
        (None, Some(b)) => {
            super::command_config::configure_admin(args.command_config.as_deref())?;
            Target::Brokers(b.clone())
        }
        _ => bail!("Please specify --bootstrap-server"),
    };
    if args.generate {
        generate(args, &target).await
    } else if args.execute {
        execute(args, &target).await
    } else if args.verify {
        verify(args, &target).await
    } else if args.list {
        list(&target).await
    } else {
        cancel(args, &target).await
    }
}

/// Kafka's `permittedArgs`: the throttle options belong to `--execute` (and
/// `--preserve-throttles` to `--verify` and `--cancel`).
fn check_throttle_args(args: &ReassignPartitionsArgs) -> anyhow::Result<()> {
    let action = if args.generate {
        "generate"
    } else if args.execute {
        "execute"
    } else if args.verify {
        "verify"
    } else if args.list {
        "list"
    } else {
        "cancel"
    };
    let misplaced = [
        ("throttle", args.throttle.is_some(), args.execute),
        (
            "replica-alter-log-dirs-throttle",
            args.replica_alter_log_dirs_throttle.is_some(),
            args.execute,
        ),
        (
            "preserve-throttles",
            args.preserve_throttles,
            args.verify || args.cancel,
        ),
    ];
    for (opt, given, allowed) in misplaced {
        if given && !allowed {
            bail!("Option \"[{opt}]\" can't be used with action \"[{action}]\"");
        }
    }
    if args.replica_alter_log_dirs_throttle.is_some() {
        // Kafka throttles ReplicaAlterLogDirsThread copies with it; this tool refuses log_dirs
        // other than "any", so no such copy is ever started and nothing could be throttled.
        bail!("--replica-alter-log-dirs-throttle is not supported by zkafka: this tool moves no replicas between log directories (log_dirs must be \"any\")");
    }
    Ok(())
}

enum Target {
    Zk(KafkaZkClient),
    Brokers(String),
}

impl Target {
    fn config_target(&self) -> ConfigTarget<'_> {
        match self {
            Target::Zk(zk) => ConfigTarget::Zk(zk),
            Target::Brokers(b) => ConfigTarget::Brokers(b),
        }
    }

    fn bootstrap(&self, what: &str) -> anyhow::Result<&str> {
        match self {
            Target::Brokers(b) => Ok(b),
            Target::Zk(_) => {
                bail!("{what} is not supported with --zookeeper. Use --bootstrap-server instead.")
            }
        }
    }

    async fn current(&self, topics: &[String]) -> anyhow::Result<Plan> {
        match self {
            Target::Brokers(b) => cc::describe_assignments(b, topics).await,
            Target::Zk(zk) => {
                let mut out = Plan::new();
                for t in topics {
                    if let Some(a) = zk.get_topic_assignment(t).await? {
                        out.extend(
                            a.partitions
                                .into_iter()
                                .map(|(p, r)| (TopicPartition::new(t.clone(), p), r)),
                        );
                    }
                }
                Ok(out)
            }
        }
    }

    /// Partitions being reassigned → RS (topic znodes' adding/removing sets with ZooKeeper).
    async fn ongoing(
        &self,
        topics: &[String],
    ) -> anyhow::Result<BTreeMap<TopicPartition, (Vec<i32>, Vec<i32>, Vec<i32>)>> {
        match self {
            Target::Brokers(b) => cc::list_partition_reassignments(b).await,
            Target::Zk(zk) => {
                let mut out = BTreeMap::new();
                for t in topics {
                    let Some(a) = zk.get_topic_assignment(t).await? else {
                        continue;
                    };
                    for (p, rs) in &a.partitions {
                        let adding = a.adding_replicas.get(p).cloned().unwrap_or_default();
                        let removing = a.removing_replicas.get(p).cloned().unwrap_or_default();
                        if !adding.is_empty() || !removing.is_empty() {
                            out.insert(
                                TopicPartition::new(t.clone(), *p),
                                (rs.clone(), adding, removing),
                            );
                        }
                    }
                }
                for (t, p, r) in zk.get_partition_reassignment_znode().await? {
                    out.entry(TopicPartition::new(t, p))
                        .or_insert((r, vec![], vec![]));
                }
                Ok(out)
            }
        }
    }
}

fn topics_of(plan: &Plan) -> Vec<String> {
    let mut t: Vec<String> = plan.keys().map(|tp| tp.topic.clone()).collect();
    t.dedup();
    t
}

async fn generate(args: &ReassignPartitionsArgs, target: &Target) -> anyhow::Result<u8> {
    let (path, text) = read(&args.topics_to_move_json_file, "topics-to-move-json-file")?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("cannot parse {path}"))?;
    let topics: Vec<String> = v["topics"]
        .as_array()
        .ok_or_else(|| anyhow!("{path}: missing \"topics\""))?
        .iter()
        .filter_map(|t| t["topic"].as_str().map(str::to_string))
        .collect();
    let brokers: Vec<i32> = args
        .broker_list
        .as_deref()
        .ok_or_else(|| anyhow!("Missing required argument \"[broker-list]\""))?
        .split(',')
        .map(|b| {
            b.trim()
                .parse::<i32>()
                .map_err(|_| anyhow!("Invalid broker id in --broker-list: {b}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let current = target.current(&topics).await?;
    let metas: Vec<BrokerMetadata> = brokers
        .iter()
        .map(|b| BrokerMetadata::new(*b, None))
        .collect();
    let mut proposed = Plan::new();
    for topic in &topics {
        let parts: Vec<&Vec<i32>> = current
            .iter()
            .filter(|(tp, _)| &tp.topic == topic)
            .map(|(_, r)| r)
            .collect();
        let Some(rf) = parts.first().map(|r| r.len() as i32) else {
            bail!("Topic {topic} not found");
        };
        let a = assign_replicas_to_brokers(&metas, parts.len() as i32, rf, None, None)
            .map_err(|e| anyhow!("{e}"))?;
        proposed.extend(
            a.into_iter()
                .map(|(p, r)| (TopicPartition::new(topic.clone(), p), r)),
        );
    }
    println!(
        "Current partition replica assignment\n{}\n",
        format_as_reassignment_json(&current)
    );
    println!(
        "Proposed partition reassignment configuration\n{}",
        format_as_reassignment_json(&proposed)
    );
    Ok(0)
}

async fn execute(args: &ReassignPartitionsArgs, target: &Target) -> anyhow::Result<u8> {
    let (path, text) = read(&args.reassignment_json_file, "reassignment-json-file")?;
    let plan = parse_reassignment_json(&path, &text)?;
    let moves = replica_moves(&path, &text, target)?;
    let topics = topics_of(&plan);
    let ongoing = target.ongoing(&topics).await?;
    if !args.additional && !ongoing.is_empty() {
        bail!("Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one. The --additional flag can also be used to change the throttle by resubmitting the current reassignment.");
    }
    let current = target.current(&topics).await?;
    let original: Plan = current
        .into_iter()
        .filter(|(tp, _)| plan.contains_key(tp))
        .collect();
    println!("Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback", format_as_reassignment_json(&original));
    if let Some(rate) = args.throttle.filter(|r| *r >= 0) {
        println!("Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.");
        // With --zookeeper Kafka knows no ongoing moves (the legacy znode must not exist).
        let ongoing = match target {
            Target::Zk(_) => Default::default(),
            Target::Brokers(_) => ongoing,
        };
        let moves = throttle::proposed_move_map(&ongoing, &plan, &original)?;
        throttle::set_throttles(&target.config_target(), &moves, rate).await?;
    }
    let names = plan
        .keys()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    match target {
        Target::Zk(zk) => {
            let missing: Vec<String> = plan
                .keys()
                .filter(|tp| !original.contains_key(*tp))
                .map(ToString::to_string)
                .collect();
            if !missing.is_empty() {
                bail!(
                    "The proposed assignment contains non-existent partitions: {}",
                    missing.join(", ")
                );
            }
            let entries: Vec<(String, i32, Vec<i32>)> = plan
                .iter()
                .map(|(tp, r)| (tp.topic.clone(), tp.partition, r.clone()))
                .collect();
            let data = codec::encode_reassign_partitions(&entries);
            let client = zk.client().await?;
            let opts = zookeeper_client::CreateMode::Persistent
                .with_acls(zookeeper_client::Acls::anyone_all());
            client
                .create(paths::REASSIGN_PARTITIONS, data.as_bytes(), &opts)
                .await
                .map_err(|e| anyhow!("cannot create {}: {e}", paths::REASSIGN_PARTITIONS))?;
        }
        Target::Brokers(b) => {
            let wanted: Vec<(TopicPartition, Option<Vec<i32>>)> = plan
                .iter()
                .map(|(tp, r)| (tp.clone(), Some(r.clone())))
                .collect();
            let errors: Vec<(TopicPartition, (i16, String))> =
                cc::alter_partition_reassignments(b, &wanted)
                    .await?
                    .into_iter()
                    .filter_map(|(tp, e)| e.map(|e| (tp, e)))
                    .collect();
            if !errors.is_empty() {
                println!("Error reassigning partition(s):");
                for (tp, (code, msg)) in &errors {
                    println!(
                        "{tp}: {}",
                        if msg.is_empty() {
                            crate::server::errors::name(*code).to_string()
                        } else {
                            msg.clone()
                        }
                    );
                }
                return Ok(1);
            }
        }
    }
    let word = if plan.len() == 1 {
        "reassignment"
    } else {
        "reassignments"
    };
    println!("Successfully started partition {word} for {names}");
    if let (Target::Brokers(b), false) = (target, moves.is_empty()) {
        log_dirs::execute_moves(b, &moves, Duration::from_millis(args.timeout)).await?;
    }
    Ok(0)
}

/// The replicas to move to a given log dir; these need --bootstrap-server (only brokers
/// know their log dirs).
fn replica_moves(path: &str, text: &str, target: &Target) -> anyhow::Result<ReplicaMoves> {
    let moves = log_dirs::parse_replica_moves(path, text)?;
    if !moves.is_empty() && matches!(target, Target::Zk(_)) {
        bail!("bootstrap-server needs to be provided when replica reassignments are present.");
    }
    Ok(moves)
}

async fn verify(args: &ReassignPartitionsArgs, target: &Target) -> anyhow::Result<u8> {
    let (path, text) = read(&args.reassignment_json_file, "reassignment-json-file")?;
    let plan = parse_reassignment_json(&path, &text)?;
    let moves = replica_moves(&path, &text, target)?;
    if matches!(target, Target::Zk(_)) {
        println!("Warning: because you are using the deprecated --zookeeper option, the results may be incomplete.  Use --bootstrap-server instead for more accurate results.");
    }
    let topics = topics_of(&plan);
    let ongoing = target.ongoing(&topics).await?;
    let current = target.current(&topics).await?;
    println!("Status of partition reassignment:");
    let join = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let mut in_progress = false;
    for (tp, wanted) in &plan {
        if ongoing.contains_key(tp) {
            in_progress = true;
            println!("Reassignment of partition {tp} is still in progress.");
        } else if current.get(tp) == Some(wanted) {
            println!("Reassignment of partition {tp} is complete.");
        } else {
            let now = current.get(tp).map(|r| join(r)).unwrap_or_default();
            println!("There is no active reassignment of partition {tp}, but replica set is {now} rather than {}.", join(wanted));
        }
    }
    if let (Target::Brokers(b), false) = (target, moves.is_empty()) {
        in_progress |= log_dirs::verify_moves(b, &moves).await?;
    }
    if !in_progress && !args.preserve_throttles {
        // Every throttle goes: the tool cannot know all source brokers of earlier moves.
        throttle::clear_all_throttles(&target.config_target(), &plan).await?;
    }
    Ok(u8::from(in_progress))
}

async fn list(target: &Target) -> anyhow::Result<u8> {
    let b = target.bootstrap("--list")?;
    let ongoing = cc::list_partition_reassignments(b).await?;
    if ongoing.is_empty() {
        println!("No partition reassignments found.");
        return Ok(0);
    }
    let join = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    println!("Current partition reassignments:");
    for (tp, (rs, adding, removing)) in ongoing {
        println!(
            "{tp}: replicas: {}. adding: {}. removing: {}.",
            join(&rs),
            join(&adding),
            join(&removing)
        );
    }
    Ok(0)
}

async fn cancel(args: &ReassignPartitionsArgs, target: &Target) -> anyhow::Result<u8> {
    let b = target.bootstrap("--cancel")?;
    let (path, text) = read(&args.reassignment_json_file, "reassignment-json-file")?;
    let plan = parse_reassignment_json(&path, &text)?;
    let wanted: Vec<(TopicPartition, Option<Vec<i32>>)> =
        plan.keys().map(|tp| (tp.clone(), None)).collect();
    let results = cc::alter_partition_reassignments(b, &wanted).await?;
    let cancelled: Vec<String> = results
        .iter()
        .filter(|(_, e)| e.is_none())
        .map(|(tp, _)| tp.to_string())
        .collect();
    if cancelled.is_empty() {
        println!("None of the specified partition reassignments are active.");
    } else {
        println!(
            "Successfully cancelled partition reassignment(s) for: {}",
            cancelled.join(",")
        );
    }
    if !args.preserve_throttles {
        throttle::clear_all_throttles(&target.config_target(), &plan).await?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassignment_json_reads_and_writes_kafkas_layout() {
        let text = r#"{"version":1,"partitions":[{"topic":"b","partition":0,"replicas":[2,3]},{"topic":"a","partition":1,"replicas":[1],"log_dirs":["any"]}]}"#;
        let plan = parse_reassignment_json("f", text).unwrap();
        assert_eq!(
            format_as_reassignment_json(&plan),
            r#"{"version":1,"partitions":[{"topic":"a","partition":1,"replicas":[1],"log_dirs":["any"]},{"topic":"b","partition":0,"replicas":[2,3],"log_dirs":["any","any"]}]}"#
        );
        let dup = r#"{"partitions":[{"topic":"a","partition":0,"replicas":[1]},{"topic":"a","partition":0,"replicas":[2]}]}"#;
        assert!(parse_reassignment_json("f", dup).is_err());
        let dirs =
            r#"{"partitions":[{"topic":"a","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}"#;
        assert!(parse_reassignment_json("f", dirs).is_err());
        let dirs = r#"{"partitions":[{"topic":"a","partition":0,"replicas":[1],"log_dirs":[7]}]}"#;
        assert!(parse_reassignment_json("f", dirs).is_err());
        assert!(parse_reassignment_json("f", r#"{"partitions":[]}"#).is_err());
    }
}
