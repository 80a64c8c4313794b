//! `zkafka console-producer`: kafka-console-producer.sh (Kafka 2.8's ConsoleProducer with its
//! LineMessageReader). Each stdin line becomes one record; with `parse.key=true` the text up
//! to the first `key.separator` is the key. Keyed records go to murmur2(key) mod partitions,
//! unkeyed ones to a "sticky" partition that changes after every send, as 2.8's
//! DefaultPartitioner does. Lines are gathered for up to `--timeout` ms (linger.ms) or
//! `--batch-size` records, then sent as one v2 batch per partition, one Produce request per
//! leader. Like the stock tool, it prints a `>` prompt on stdout before reading each line —
//! whether or not stdin is a terminal (the observed transcript shows 101 of them for 100 piped
//! lines) — and reports failed records on stderr, naming the partition and Kafka's error.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::{anyhow, bail};
use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::sync::mpsc;

use super::command_config::{self, ClientKind};
use super::console_records::{
    codec_by_name, compress_batch, error_name, parse_key_values, partition_for_key, split_key,
};
use super::group_client::Cluster;
use crate::log::batch::{self, build_batch};
use crate::network::client::BrokerClient;

#[derive(clap::Args, Debug, Clone)]
pub struct ConsoleProducerArgs {
    /// The server(s) to connect to: host:port[,host:port...]
    #[arg(long = "bootstrap-server", value_name = "server")]
    pub bootstrap_server: Option<String>,
    /// The broker list (deprecated in Kafka for --bootstrap-server; either works)
    #[arg(long = "broker-list", value_name = "broker-list")]
    pub broker_list: Option<String>,
    /// The topic to produce messages to
    #[arg(long, required = true)]
    pub topic: String,
    /// Message reader properties: parse.key, key.separator, ignore.error
    #[arg(long = "property", value_name = "prop")]
    pub property: Vec<String>,
    /// Producer properties as key=value (acks, linger.ms, batch.size, compression.type)
    #[arg(long = "producer-property", value_name = "producer_prop")]
    pub producer_property: Vec<String>,
    /// Producer config properties file (--producer-property wins over it)
    #[arg(long = "producer.config", value_name = "config file")]
    pub producer_config: Option<String>,
    /// The required acks of the producer requests: 1, 0, -1 or all
    #[arg(long = "request-required-acks", default_value = "1")]
    pub request_required_acks: String,
    /// The ack timeout of the producer requests, in ms
    #[arg(long = "request-timeout-ms", default_value_t = 1500)]
    pub request_timeout_ms: i32,
    /// How long to gather lines before sending them (linger.ms)
    #[arg(long, default_value_t = 1000)]
    pub timeout: u64,
    /// Most records in one batch
    #[arg(long = "batch-size", default_value_t = 200)]
    pub batch_size: usize,
    /// Send each line on its own, waiting for its acknowledgement
    #[arg(long)]
    pub sync: bool,
    /// none, gzip, snappy or lz4 (gzip when given without a value)
    #[arg(long = "compression-codec", num_args = 0..=1, default_missing_value = "gzip")]
    pub compression_codec: Option<String>,
    /// Retries of a send that failed with a retriable error
    #[arg(long = "message-send-max-retries", default_value_t = 3)]
    pub message_send_max_retries: u32,
    /// Backoff before each retry, in ms
    #[arg(long = "retry-backoff-ms", default_value_t = 100)]
    pub retry_backoff_ms: u64,
}

struct Record {
    partition: i32,
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
}

struct Producer {
    bootstrap: String,
    topic: String,
    acks: i16,
    request_timeout_ms: i32,
    codec: u8,
    retries: u32,
    backoff: Duration,
    cluster: Cluster,
    conns: HashMap<i32, BrokerClient>,
    sticky: Option<i32>,
    failed: usize,
}

/// Runs the tool; returns the exit code (1 if a line could not be parsed or a record failed).
pub async fn run(args: ConsoleProducerArgs) -> u8 {
    match run_inner(args).await {
        Ok(0) => 0,
        Ok(_) => 1,
        Err(e) => {
            eprintln!("ERROR {e:#}");
            1
        }
    }
}

async fn run_inner(args: ConsoleProducerArgs) -> anyhow::Result<usize> {
    let Some(bootstrap) = args.bootstrap_server.clone().or(args.broker_list.clone()) else {
        bail!("Missing required argument \"[bootstrap-server]\"");
    };
    let props = parse_key_values(&args.property)?;
    let pprops = command_config::configure(
        args.producer_config.as_deref(),
        &parse_key_values(&args.producer_property)?,
        ClientKind::Producer,
    )?;
    let is_true = |m: &BTreeMap<String, String>, k: &str| {
        m.get(k)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    };
    let parse_key = is_true(&props, "parse.key");
    let ignore_error = is_true(&props, "ignore.error");
    let separator = props.get("key.separator").cloned().unwrap_or("\t".into());
    let acks = match pprops
        .get("acks")
        .unwrap_or(&args.request_required_acks)
        .as_str()
    {
        "all" | "-1" => -1,
        "0" => 0,
        "1" => 1,
        a => {
            bail!("Invalid value {a} for configuration acks: String must be one of: all, -1, 0, 1")
        }
    };
    let codec_name = pprops
        .get("compression.type")
        .cloned()
        .or(args.compression_codec.clone())
        .unwrap_or("none".into());
    let codec = codec_by_name(&codec_name)?;
    let num = |k: &str, d: u64| pprops.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let linger = Duration::from_millis(if args.sync {
        0
    } else {
        num("linger.ms", args.timeout)
    });
    let batch_size = if args.sync { 1 } else { args.batch_size.max(1) };

    let topic = args.topic.clone();
    let mut p = Producer {
        cluster: Cluster::discover_topics(&bootstrap, Some(&[&topic])).await?,
        bootstrap,
        topic,
        acks,
        request_timeout_ms: args.request_timeout_ms,
        codec,
        retries: args.message_send_max_retries,
        backoff: Duration::from_millis(args.retry_backoff_ms),
        conns: HashMap::new(),
        sticky: None,
        failed: 0,
    };
    p.wait_for_partitions().await?;

    // stdin is read on a blocking thread, which prints each prompt just before it reads.
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(1024);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b">").and_then(|_| out.flush());
            drop(out);
            let mut line = Vec::new();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line.ends_with(b"\n") {
                line.pop();
                if line.ends_with(b"\r") {
                    line.pop();
                }
            }
            if tx.blocking_send(line).is_err() {
                return;
            }
        }
    });

    let mut line_number = 0usize;
    let mut pending: Vec<Record> = Vec::new();
    let mut eof = false;
    while !eof {
        let Some(first) = rx.recv().await else { break };
        let mut lines = vec![first];
        let deadline = tokio::time::Instant::now() + linger;
        while lines.len() < batch_size {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(l)) => lines.push(l),
                Ok(None) => {
                    eof = true;
                    break;
                }
                Err(_) => break,
            }
        }
        for line in lines {
            line_number += 1;
            let (key, value) = match split_key(&line, parse_key, separator.as_bytes()) {
                Some(kv) => kv,
                None if ignore_error => (None, line.clone()),
                None => {
                    p.send_all(std::mem::take(&mut pending)).await;
                    bail!(
                        "No key found on line {line_number}: {}",
                        String::from_utf8_lossy(&line)
                    );
                }
            };
            pending.push(p.record(key, value));
        }
        p.send_all(std::mem::take(&mut pending)).await;
    }
    Ok(p.failed)
}

impl Producer {
    fn partitions(&self) -> BTreeMap<i32, i32> {
        self.cluster.partitions(&self.topic)
    }

    /// Waits until metadata lists the topic's partitions (an auto-created topic answers
    /// LEADER_NOT_AVAILABLE at first).
    async fn wait_for_partitions(&mut self) -> anyhow::Result<()> {
        for _ in 0..100 {
            if !self.partitions().is_empty() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.refresh().await?;
        }
        let code = self
            .cluster
            .topic_errors
            .get(&self.topic)
            .copied()
            .unwrap_or(3);
        bail!(
            "Topic {} not present in metadata: {}",
            self.topic,
            error_name(code)
        )
    }

    async fn refresh(&mut self) -> anyhow::Result<()> {
        self.cluster = Cluster::discover_topics(&self.bootstrap, Some(&[&self.topic])).await?;
        Ok(())
    }

    fn record(&mut self, key: Option<Vec<u8>>, value: Vec<u8>) -> Record {
        let parts = self.partitions();
        let partition = match &key {
            Some(k) => partition_for_key(k, parts.len() as i32),
            None => *self.sticky.get_or_insert_with(|| {
                // Like DefaultPartitioner: a random partition that has a leader.
                let up: Vec<i32> = parts
                    .iter()
                    .filter(|(_, l)| **l >= 0)
                    .map(|(p, _)| *p)
                    .collect();
                let all: Vec<i32> = parts.keys().copied().collect();
                let from = if up.is_empty() { all } else { up };
                from[rand::random_range(0..from.len())]
            }),
        };
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Record {
            partition,
            timestamp,
            key,
            value,
        }
    }

    /// Sends `records` (one batch per partition), retrying retriable failures after a
    /// metadata refresh; records that still fail are reported on stderr.
    async fn send_all(&mut self, records: Vec<Record>) {
        // The next unkeyed record starts a new batch, so the sticky partition moves on.
        self.sticky = None;
        let mut by_partition: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
        for r in records {
            by_partition.entry(r.partition).or_default().push(r);
        }
        let mut attempt = 0;
        while !by_partition.is_empty() {
            let results = self.send_once(&by_partition).await;
            let mut retry = BTreeMap::new();
            for (partition, result) in results {
                let records = by_partition.remove(&partition).unwrap_or_default();
                let Err((retriable, why)) = result else {
                    continue;
                };
                if retriable && attempt < self.retries {
                    retry.insert(partition, records);
                    continue;
                }
                for r in &records {
                    self.failed += 1;
                    eprintln!(
                        "ERROR Error when sending message to topic {} with key: {}, value: {} bytes with error: {} (partition {}-{partition})",
                        self.topic,
                        r.key.as_ref().map_or("null".into(), |k| format!("{} bytes", k.len())),
                        r.value.len(),
                        why,
                        self.topic
                    );
                }
            }
            by_partition = retry;
            if !by_partition.is_empty() {
                attempt += 1;
                tokio::time::sleep(self.backoff).await;
                if let Err(e) = self.refresh().await {
                    eprintln!("WARN metadata refresh failed: {e:#}");
                }
            }
        }
    }

    /// One Produce request per leader; per partition Ok or Err((retriable, description)).
    async fn send_once(
        &mut self,
        by_partition: &BTreeMap<i32, Vec<Record>>,
    ) -> Vec<(i32, Result<(), (bool, String)>)> {
        let leaders = self.partitions();
        let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        let mut out = Vec::new();
        for p in by_partition.keys() {
            match leaders.get(p) {
                Some(l) if *l >= 0 => by_leader.entry(*l).or_default().push(*p),
                _ => out.push((*p, Err((true, error_name(5))))),
            }
        }
        for (leader, partitions) in by_leader {
            let data = partitions
                .iter()
                .map(|p| {
                    let recs: Vec<batch::SimpleRecord> = by_partition[p]
                        .iter()
                        .map(|r| (r.timestamp, r.key.as_deref(), Some(&r.value[..]), &[][..]))
                        .collect();
                    let b = compress_batch(build_batch(0, -1, &recs), self.codec);
                    PartitionProduceData::default()
                        .with_index(*p)
                        .with_records(Some(Bytes::from(b)))
                })
                .collect();
            let req = ProduceRequest::default()
                .with_acks(self.acks)
                .with_timeout_ms(self.request_timeout_ms)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(self.topic.clone())))
                    .with_partition_data(data)]);
            match self.produce(leader, &req).await {
                Ok(codes) => out.extend(partitions.iter().map(|p| {
                    let code = codes.get(p).copied().unwrap_or(0);
                    let r = match ResponseError::try_from_code(code) {
                        None => Ok(()),
                        Some(e) => Err((e.is_retriable(), error_name(code))),
                    };
                    (*p, r)
                })),
                Err(e) => {
                    self.conns.remove(&leader);
                    out.extend(
                        partitions
                            .iter()
                            .map(|p| (*p, Err((true, format!("{e:#}"))))),
                    );
                }
            }
        }
        out
    }

    /// Sends `req` to broker `leader`; returns partition → error code (none for acks=0).
    async fn produce(
        &mut self,
        leader: i32,
        req: &ProduceRequest,
    ) -> anyhow::Result<HashMap<i32, i16>> {
        if !self.conns.contains_key(&leader) {
            let addr = self
                .cluster
                .brokers
                .get(&leader)
                .ok_or_else(|| anyhow!("broker {leader} is not in the metadata"))?;
            let t = Duration::from_secs(30);
            let c = super::command_config::connect(addr, "console-producer", t, t).await?;
            self.conns.insert(leader, c);
        }
        let c = self.conns.get_mut(&leader).expect("connection just made");
        if self.acks == 0 {
            c.send_oneway(req, 7).await?;
            return Ok(HashMap::new());
        }
        let r = c.send(req, 7).await?;
        Ok(r.responses
            .iter()
            .flat_map(|t| {
                t.partition_responses
                    .iter()
                    .map(|p| (p.index, p.error_code))
            })
            .collect())
    }
}
