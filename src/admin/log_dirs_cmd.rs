//! `zkafka log-dirs`: kafka-log-dirs.sh (admin/LogDirsCommand.scala). Asks each broker for
//! DescribeLogDirs and prints Kafka's JSON: per broker, per log dir, each replica's size,
//! offset lag and whether it is a `-future` replica.

use anyhow::{anyhow, bail, Context};
use kafka_protocol::messages::DescribeLogDirsRequest;

use super::group_client::{connect, Cluster};
use super::java_errors;

#[derive(clap::Args, Debug, Clone)]
pub struct LogDirsArgs {
    /// REQUIRED: the server(s) to use for bootstrapping
    #[arg(
        long = "bootstrap-server",
        value_name = "The server(s) to use for bootstrapping"
    )]
    pub bootstrap_server: Option<String>,
    /// Describe the specified log directories on the specified brokers.
    #[arg(long)]
    pub describe: bool,
    /// The list of topics to be queried in the form "topic1,topic2,topic3". All topics will
    /// be queried if no topic list is specified
    #[arg(long = "topic-list", value_name = "Topic list", default_value = "")]
    pub topic_list: String,
    /// The list of brokers to be queried in the form "0,1,2". All brokers in the cluster will
    /// be queried if no broker list is specified
    #[arg(long = "broker-list", value_name = "Broker list")]
    pub broker_list: Option<String>,
    /// Property file containing configs to be passed to Admin Client (security.protocol,
    /// sasl.*, ssl.*).
    #[arg(long = "command-config", value_name = "Admin client property file")]
    pub command_config: Option<String>,
}

pub async fn run(args: LogDirsArgs) -> u8 {
    match run_inner(&args).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e:#}");
            1
        }
    }
}

async fn run_inner(a: &LogDirsArgs) -> anyhow::Result<()> {
    let (Some(bootstrap), true) = (&a.bootstrap_server, a.describe) else {
        bail!("Missing required argument \"[bootstrap-server]\" or \"[describe]\"");
    };
    let topics: Vec<&str> = a.topic_list.split(',').filter(|t| !t.is_empty()).collect();
    super::command_config::configure_admin(a.command_config.as_deref())?;
    let cluster = Cluster::discover(bootstrap).await?;
    let brokers: Vec<i32> = match &a.broker_list {
        Some(list) => list
            .split(',')
            .filter(|b| !b.is_empty())
            .map(|b| {
                b.trim()
                    .parse()
                    .with_context(|| format!("invalid broker id {b:?}"))
            })
            .collect::<anyhow::Result<_>>()?,
        None => cluster.brokers.keys().copied().collect(),
    };
    println!("Querying brokers for log directories information");
    let mut described = Vec::new();
    for id in &brokers {
        let dirs = describe_broker(&cluster, *id, &topics).await?;
        described.push(format!(
            "{{\"broker\":{id},\"logDirs\":[{}]}}",
            dirs.join(",")
        ));
    }
    let ids: Vec<String> = brokers.iter().map(i32::to_string).collect();
    println!(
        "Received log directory information from brokers {}",
        ids.join(",")
    );
    println!("{{\"version\":1,\"brokers\":[{}]}}", described.join(","));
    Ok(())
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// One broker's log dirs as LogDirsCommand.formatAsJson writes them, keys in its order
/// (written by hand: serde_json's maps sort their keys).
async fn describe_broker(
    cluster: &Cluster,
    id: i32,
    topics: &[&str],
) -> anyhow::Result<Vec<String>> {
    let addr = cluster
        .brokers
        .get(&id)
        .ok_or_else(|| anyhow!("Broker {id} is not in the cluster metadata"))?;
    let resp = connect(addr)
        .await?
        .send(&DescribeLogDirsRequest::default().with_topics(None), 1)
        .await
        .with_context(|| format!("DescribeLogDirs to broker {id} at {addr}"))?;
    let mut dirs = Vec::new();
    for r in resp.results {
        let mut partitions = Vec::new();
        for t in r
            .topics
            .iter()
            .filter(|t| topics.is_empty() || topics.contains(&t.name.0.as_str()))
        {
            for p in &t.partitions {
                partitions.push(format!(
                    "{{\"partition\":{},\"size\":{},\"offsetLag\":{},\"isFuture\":{}}}",
                    quote(&format!("{}-{}", t.name.0, p.partition_index)),
                    p.partition_size,
                    p.offset_lag,
                    p.is_future_key
                ));
            }
        }
        let error = match r.error_code {
            0 => "null".to_string(),
            code => quote(&java_errors::class_name(code)),
        };
        dirs.push(format!(
            "{{\"logDir\":{},\"error\":{error},\"partitions\":[{}]}}",
            quote(r.log_dir.as_str()),
            partitions.join(",")
        ));
    }
    Ok(dirs)
}
