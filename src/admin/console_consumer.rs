//! `zkafka console-consumer`: kafka-console-consumer.sh (Kafka 2.8's ConsoleConsumer with the
//! DefaultMessageFormatter). Without `--group` it reads the topic's partitions (or the one
//! `--partition`) directly, from the earliest offset with `--from-beginning` (or `--offset`)
//! and else from the end, committing nothing — the stock tool's random group with
//! auto-commit off amounts to the same. With `--group` it is a member of the group (see
//! console_group.rs): it reads its assigned partitions from the committed offsets (else
//! earliest/latest as above), commits every 5 s, on rebalance and on exit, then leaves.
//! It stops after `--max-messages`, after `--timeout-ms` without a record, or on
//! SIGINT/SIGTERM, and then prints `Processed a total of N messages` on stderr.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::bail;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::command_config::{self, ClientKind};
use super::console_group::Member;
use super::console_records::{decode, error_name, parse_key_values, Formatter, Rec};
use super::group_client::Cluster;
use crate::network::client::BrokerClient;

#[derive(clap::Args, Debug, Clone)]
pub struct ConsoleConsumerArgs {
    /// The server(s) to connect to: host:port[,host:port...]
    #[arg(long = "bootstrap-server", value_name = "server", required = true)]
    pub bootstrap_server: String,
    /// The topic to consume
    #[arg(long, required = true)]
    pub topic: String,
    /// Start at the earliest offset when there is no committed one
    #[arg(long = "from-beginning")]
    pub from_beginning: bool,
    /// Consume only this partition (from its end unless --offset)
    #[arg(long)]
    pub partition: Option<i32>,
    /// With --partition: earliest, latest or a non-negative offset
    #[arg(long)]
    pub offset: Option<String>,
    /// The consumer group to join
    #[arg(long)]
    pub group: Option<String>,
    /// Exit after this many messages
    #[arg(long = "max-messages")]
    pub max_messages: Option<u64>,
    /// Exit after this long without a message
    #[arg(long = "timeout-ms")]
    pub timeout_ms: Option<u64>,
    /// Formatter properties: print.key, print.partition, print.offset, print.timestamp,
    /// print.headers, print.value, key.separator, line.separator, headers.separator, null.literal
    #[arg(long = "property", value_name = "prop")]
    pub property: Vec<String>,
    /// Consumer properties as key=value (group.id, auto.offset.reset)
    #[arg(long = "consumer-property", value_name = "consumer_prop")]
    pub consumer_property: Vec<String>,
    /// Consumer config properties file (--consumer-property wins over it)
    #[arg(long = "consumer.config", value_name = "config file")]
    pub consumer_config: Option<String>,
}

/// Runs the tool; returns the exit code.
pub async fn run(args: ConsoleConsumerArgs) -> u8 {
    let mut count = 0u64;
    let result = run_inner(&args, &mut count).await;
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ERROR Error processing message, terminating consumer process: {e:#}");
            1
        }
    };
    eprintln!("Processed a total of {count} messages");
    code
}

/// What to do when there is no position: ListOffsets timestamp (-2 earliest, -1 latest).
fn reset_timestamp(args: &ConsoleConsumerArgs, cprops: &BTreeMap<String, String>) -> i64 {
    match cprops.get("auto.offset.reset").map(String::as_str) {
        Some("earliest") => -2,
        Some("latest") => -1,
        _ if args.from_beginning => -2,
        _ => -1,
    }
}

async fn run_inner(args: &ConsoleConsumerArgs, count: &mut u64) -> anyhow::Result<()> {
    let props = parse_key_values(&args.property)?;
    let cprops = command_config::configure(
        args.consumer_config.as_deref(),
        &parse_key_values(&args.consumer_property)?,
        ClientKind::Consumer,
    )?;
    let group = args.group.clone().or(cprops.get("group.id").cloned());
    // The stock tool's argument checks, with its messages.
    if args.offset.is_some() && args.partition.is_none() {
        bail!("The partition is required when offset is specified.");
    }
    if args.from_beginning && args.offset.is_some() {
        bail!("Options from-beginning and offset cannot be specified together.");
    }
    if group.is_some() && args.partition.is_some() {
        bail!("Options group and partition cannot be specified together.");
    }
    let start: Option<i64> = match args.offset.as_deref().map(str::to_ascii_lowercase) {
        None => None,
        Some(o) if o == "earliest" => Some(-2),
        Some(o) if o == "latest" => Some(-1),
        Some(o) => match o.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => bail!("The provided offset value '{o}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."),
        },
    };
    let reset = reset_timestamp(args, &cprops);
    let fmt = Formatter::new(&props);
    let topic = args.topic.as_str();
    let mut c = Consumer {
        cluster: Cluster::discover_topics(&args.bootstrap_server, Some(&[topic])).await?,
        bootstrap: args.bootstrap_server.clone(),
        topic: topic.to_string(),
        conns: HashMap::new(),
        positions: BTreeMap::new(),
        reset,
    };
    for _ in 0..100 {
        if !c.partitions().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.refresh().await?;
    }
    let mut member = None;
    match &group {
        Some(g) => {
            let (m, assigned) = Member::join(&c.cluster, g, topic).await?;
            member = Some(m);
            c.assign(member.as_mut(), &assigned).await?;
        }
        None => {
            let parts: Vec<i32> = match args.partition {
                Some(p) => vec![p],
                None => c.partitions().keys().copied().collect(),
            };
            match start {
                Some(o) if o >= 0 => c.positions = parts.iter().map(|p| (*p, o)).collect(),
                Some(ts) => c.seek(&parts, ts).await?,
                None => {
                    c.seek(&parts, if args.partition.is_some() { -1 } else { reset })
                        .await?
                }
            }
        }
    }

    let mut stop = Box::pin(shutdown_signal());
    let mut last_record = Instant::now();
    let mut last_commit = Instant::now();
    let max = args.max_messages.unwrap_or(u64::MAX);
    let max_wait = args.timeout_ms.unwrap_or(500).clamp(10, 500) as i32;
    let mut failure = None;
    while *count < max {
        if let Some(m) = member.as_mut() {
            if m.needs_rejoin() {
                let _ = m.commit(&c.positions).await;
                let assigned = m.rejoin(&c.cluster).await?;
                c.assign(Some(m), &assigned).await?;
            } else if last_commit.elapsed() >= Duration::from_secs(5) {
                // auto.commit.interval.ms; a failure here is retried at the next interval.
                let _ = m.commit(&c.positions).await;
                last_commit = Instant::now();
            }
        }
        let recs = tokio::select! {
            _ = &mut stop => break,
            r = c.fetch(max_wait) => r,
        };
        let (recs, next) = match recs {
            Ok(x) => x,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        let mut out = Vec::new();
        let mut all = true;
        for r in &recs {
            if *count >= max {
                all = false;
                break;
            }
            fmt.write(r, &mut out);
            *count += 1;
            c.positions.insert(r.partition, r.offset + 1);
        }
        if all {
            // Past skipped control batches too, so they are not fetched again.
            for (p, o) in next {
                let pos = c.positions.entry(p).or_insert(o);
                *pos = (*pos).max(o);
            }
        }
        if !out.is_empty() {
            last_record = Instant::now();
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(&out).and_then(|_| stdout.flush()).is_err() {
                eprintln!("Unable to write to standard out, closing consumer.");
                break;
            }
        } else if args
            .timeout_ms
            .is_some_and(|t| last_record.elapsed() > Duration::from_millis(t))
        {
            break;
        }
    }
    if let Some(mut m) = member {
        if let Err(e) = m.commit(&c.positions).await {
            eprintln!("WARN committing offsets on exit failed: {e:#}");
        }
        m.leave().await;
    }
    failure.map_or(Ok(()), Err)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

struct Consumer {
    bootstrap: String,
    topic: String,
    cluster: Cluster,
    conns: HashMap<i32, BrokerClient>,
    /// partition → next offset to print
    positions: BTreeMap<i32, i64>,
    /// ListOffsets timestamp for partitions without a valid position
    reset: i64,
}

impl Consumer {
    fn partitions(&self) -> BTreeMap<i32, i32> {
        self.cluster.partitions(&self.topic)
    }

    async fn refresh(&mut self) -> anyhow::Result<()> {
        self.cluster = Cluster::discover_topics(&self.bootstrap, Some(&[&self.topic])).await?;
        Ok(())
    }

    /// Positions of `parts` at ListOffsets `timestamp` (-2 earliest, -1 latest).
    async fn seek(&mut self, parts: &[i32], timestamp: i64) -> anyhow::Result<()> {
        let tps: Vec<(String, i32)> = parts.iter().map(|p| (self.topic.clone(), *p)).collect();
        for _ in 0..50 {
            let got = self.cluster.list_offsets(&tps, timestamp).await?;
            for ((_, p), o) in got {
                self.positions.insert(p, o);
            }
            if parts.iter().all(|p| self.positions.contains_key(p)) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.refresh().await?;
        }
        bail!("no offsets for some partitions of {}", self.topic)
    }

    /// A new group assignment: committed offsets, else the reset policy.
    async fn assign(
        &mut self,
        member: Option<&mut Member>,
        assigned: &[i32],
    ) -> anyhow::Result<()> {
        self.positions.clear();
        if let Some(m) = member {
            self.positions = m.committed(assigned).await?;
        }
        let missing: Vec<i32> = assigned
            .iter()
            .filter(|p| !self.positions.contains_key(p))
            .copied()
            .collect();
        if !missing.is_empty() {
            self.seek(&missing, self.reset).await?;
        }
        Ok(())
    }

    /// One fetch from every leader at once: the records at or past each position, in
    /// partition order, and each partition's offset after its last complete batch.
    async fn fetch(&mut self, max_wait: i32) -> anyhow::Result<(Vec<Rec>, Vec<(i32, i64)>)> {
        if self.positions.is_empty() {
            tokio::time::sleep(Duration::from_millis(max_wait as u64)).await;
            return Ok((Vec::new(), Vec::new()));
        }
        let leaders = self.partitions();
        let mut by_leader: BTreeMap<i32, Vec<(i32, i64)>> = BTreeMap::new();
        for (p, o) in &self.positions {
            by_leader
                .entry(leaders.get(p).copied().unwrap_or(-1))
                .or_default()
                .push((*p, *o));
        }
        let mut tasks = tokio::task::JoinSet::new();
        let mut stale = by_leader.remove(&-1).is_some();
        for (leader, parts) in by_leader {
            let conn = match self.conns.remove(&leader) {
                Some(c) => c,
                None => {
                    let Some(addr) = self.cluster.brokers.get(&leader) else {
                        stale = true;
                        continue;
                    };
                    let t = Duration::from_secs(30);
                    match super::command_config::connect(addr, "console-consumer", t, t).await {
                        Ok(c) => c,
                        Err(_) => {
                            stale = true;
                            continue;
                        }
                    }
                }
            };
            let req = fetch_request(&self.topic, &parts, max_wait);
            tasks.spawn(async move {
                let mut conn = conn;
                let r = conn.send(&req, 11).await;
                (leader, conn, r)
            });
        }
        let mut recs = Vec::new();
        let mut next = Vec::new();
        let mut reset = Vec::new();
        while let Some(done) = tasks.join_next().await {
            let (leader, conn, r) = done?;
            let r: FetchResponse = match r {
                Ok(r) => r,
                Err(_) => {
                    stale = true;
                    continue;
                }
            };
            self.conns.insert(leader, conn);
            for p in r.responses.iter().flat_map(|t| t.partitions.iter()) {
                let pos = self.positions.get(&p.partition_index).copied().unwrap_or(0);
                match p.error_code {
                    0 => {
                        let data = p.records.as_deref().unwrap_or_default();
                        let (mut rs, n) = decode(p.partition_index, data, pos)?;
                        recs.append(&mut rs);
                        next.push((p.partition_index, n.max(pos)));
                    }
                    1 => reset.push(p.partition_index),
                    3 | 5 | 6 | 9 | 74 | 75 => stale = true,
                    e => bail!(
                        "fetching {}-{} failed: {}",
                        self.topic,
                        p.partition_index,
                        error_name(e)
                    ),
                }
            }
        }
        if !reset.is_empty() {
            // OFFSET_OUT_OF_RANGE: the auto.offset.reset policy, as the Java consumer does.
            self.seek(&reset, self.reset).await?;
        }
        if stale {
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.refresh().await?;
        }
        recs.sort_by_key(|r| (r.partition, r.offset));
        Ok((recs, next))
    }
}

fn fetch_request(topic: &str, parts: &[(i32, i64)], max_wait: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait)
        .with_min_bytes(1)
        .with_max_bytes(52_428_800)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(
                parts
                    .iter()
                    .map(|(p, o)| {
                        FetchPartition::default()
                            .with_partition(*p)
                            .with_fetch_offset(*o)
                            .with_current_leader_epoch(-1)
                            .with_log_start_offset(-1)
                            .with_partition_max_bytes(1_048_576)
                    })
                    .collect(),
            )])
}
