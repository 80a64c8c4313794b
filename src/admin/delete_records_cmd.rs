//! `zkafka delete-records`: kafka-delete-records.sh (admin/DeleteRecordsCommand.scala).
//! Reads `{"partitions":[{"topic":"foo","partition":0,"offset":10}],"version":1}`, sends
//! DeleteRecords to each partition's leader and prints each low watermark or error.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::{DeleteRecordsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;

use super::group_client::{connect, Cluster};
use super::java_errors;
use crate::log::TopicPartition;

#[derive(clap::Args, Debug, Clone)]
pub struct DeleteRecordsArgs {
    /// REQUIRED: The server to connect to.
    #[arg(
        long = "bootstrap-server",
        value_name = "server(s) to use for bootstrapping"
    )]
    pub bootstrap_server: Option<String>,
    /// REQUIRED: The JSON file with offset per partition.
    #[arg(long = "offset-json-file", value_name = "Offset json file path")]
    pub offset_json_file: Option<String>,
    /// A property file containing configs to be passed to Admin Client (security.protocol,
    /// sasl.*, ssl.*).
    #[arg(
        long = "command-config",
        value_name = "command config property file path"
    )]
    pub command_config: Option<String>,
}

/// How long the broker may wait for followers (the AdminClient's default request timeout).
const TIMEOUT_MS: i32 = 30_000;

pub async fn run(args: DeleteRecordsArgs) -> u8 {
    match run_inner(&args).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e:#}");
            1
        }
    }
}

async fn run_inner(a: &DeleteRecordsArgs) -> anyhow::Result<()> {
    let (Some(bootstrap), Some(file)) = (&a.bootstrap_server, &a.offset_json_file) else {
        bail!("Missing required argument \"[bootstrap-server]\" or \"[offset-json-file]\"");
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
    let offsets = parse_offset_json(&text)?;
    super::command_config::configure_admin(a.command_config.as_deref())?;
    let cluster = Cluster::discover(bootstrap).await?;
    println!("Executing records delete operation");
    let results = delete_all(&cluster, &offsets).await;
    println!("Records delete operation completed:");
    for (tp, result) in results {
        match result {
            Ok(low) => println!("partition: {tp}\tlow_watermark: {low}"),
            Err(msg) => println!("partition: {tp}\terror: {msg}"),
        }
    }
    Ok(())
}

/// DeleteRecordsCommand.parseOffsetJsonStringWithoutDedup plus its duplicate check.
pub fn parse_offset_json(text: &str) -> anyhow::Result<Vec<(TopicPartition, i64)>> {
    let js: Value =
        serde_json::from_str(text).map_err(|_| anyhow!("The input string is not a valid JSON"))?;
    let version = js.get("version").map_or(Some(1), Value::as_i64);
    if version != Some(1) {
        bail!("Not supported version field value {}", js["version"]);
    }
    let parts = js
        .get("partitions")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("Missing partitions field"))?;
    let mut out = Vec::new();
    for p in parts {
        let field = |k: &str| p.get(k).ok_or_else(|| anyhow!("Missing field {k} in {p}"));
        let topic = field("topic")?
            .as_str()
            .ok_or_else(|| anyhow!("topic must be a string in {p}"))?;
        let partition = field("partition")?
            .as_i64()
            .ok_or_else(|| anyhow!("partition must be an integer in {p}"))?;
        let offset = field("offset")?
            .as_i64()
            .ok_or_else(|| anyhow!("offset must be an integer in {p}"))?;
        out.push((TopicPartition::new(topic, partition as i32), offset));
    }
    let mut seen = BTreeSet::new();
    let dups: Vec<String> = out
        .iter()
        .filter(|(tp, _)| !seen.insert(tp.clone()))
        .map(|(tp, _)| tp.to_string())
        .collect();
    if !dups.is_empty() {
        bail!(
            "Offset json file contains duplicate topic partitions: {}",
            dups.join(",")
        );
    }
    Ok(out)
}

type Outcome = Result<i64, String>;

/// One DeleteRecords per leader (as the AdminClient groups them); results by partition.
async fn delete_all(
    cluster: &Cluster,
    offsets: &[(TopicPartition, i64)],
) -> BTreeMap<TopicPartition, Outcome> {
    let mut results = BTreeMap::new();
    let mut by_leader: BTreeMap<i32, Vec<(TopicPartition, i64)>> = BTreeMap::new();
    for (tp, offset) in offsets {
        match cluster.partitions(&tp.topic).get(&tp.partition) {
            Some(leader) if *leader >= 0 => by_leader
                .entry(*leader)
                .or_default()
                .push((tp.clone(), *offset)),
            Some(_) => {
                results.insert(tp.clone(), Err(java_errors::message(5)));
            }
            None => {
                let code = cluster.topic_errors.get(&tp.topic).copied().unwrap_or(3);
                results.insert(tp.clone(), Err(java_errors::message(code)));
            }
        }
    }
    for (leader, parts) in by_leader {
        let answers = send_to_leader(cluster, leader, &parts).await;
        for (tp, _) in parts {
            let outcome = match &answers {
                Ok(map) => map
                    .get(&tp)
                    .cloned()
                    .unwrap_or_else(|| Err(java_errors::message(-1))),
                Err(e) => Err(format!(
                    "org.apache.kafka.common.errors.DisconnectException: {e}"
                )),
            };
            results.insert(tp, outcome);
        }
    }
    results
}

async fn send_to_leader(
    cluster: &Cluster,
    leader: i32,
    parts: &[(TopicPartition, i64)],
) -> anyhow::Result<BTreeMap<TopicPartition, Outcome>> {
    let addr = cluster
        .brokers
        .get(&leader)
        .ok_or_else(|| anyhow!("broker {leader} is not in the metadata"))?;
    let mut topics: BTreeMap<&str, Vec<DeleteRecordsPartition>> = BTreeMap::new();
    for (tp, offset) in parts {
        topics.entry(tp.topic.as_str()).or_default().push(
            DeleteRecordsPartition::default()
                .with_partition_index(tp.partition)
                .with_offset(*offset),
        );
    }
    let req = DeleteRecordsRequest::default()
        .with_timeout_ms(TIMEOUT_MS)
        .with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    DeleteRecordsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(t.to_string())))
                        .with_partitions(ps)
                })
                .collect(),
        );
    let resp = connect(addr).await?.send(&req, 1).await?;
    let mut out = BTreeMap::new();
    for t in resp.topics {
        for p in t.partitions {
            let tp = TopicPartition::new(t.name.0.as_str(), p.partition_index);
            let outcome = match p.error_code {
                0 => Ok(p.low_watermark),
                code => Err(java_errors::message(code)),
            };
            out.insert(tp, outcome);
        }
    }
    Ok(out)
}
