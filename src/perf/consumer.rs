//! kafka-consumer-perf-test.sh (Kafka 2.x `ConsumerPerformance`) on librdkafka.
//!
//! A consumer in a fresh group (`perf-consumer-NNNNN`) subscribes to the topic from the earliest
//! offset and polls until `--messages` records were read or nothing came for `--timeout` ms.
//! The time spent in group joins (revoke to assign) is `rebalance.time.ms`; the rest is
//! `fetch.time.ms`. MB counts key + value bytes, 1 MB = 1024 * 1024 bytes.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

#[derive(Args, Debug)]
pub struct ConsumerPerfArgs {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long = "broker-list", value_name = "HOST1:PORT1,...")]
    pub broker_list: Option<String>,
    /// The server(s) to connect to (the name newer Kafka tools use).
    #[arg(long = "bootstrap-server", value_name = "HOST1:PORT1,...")]
    pub bootstrap_server: Option<String>,
    /// REQUIRED: The topic to consume from.
    #[arg(long, value_name = "TOPIC")]
    pub topic: String,
    /// REQUIRED: The number of messages to send or consume
    #[arg(long, value_name = "COUNT")]
    pub messages: u64,
    /// The group id to consume on (default: perf-consumer-<random>).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// The amount of data to fetch in a single request.
    #[arg(long = "fetch-size", value_name = "SIZE", default_value_t = 1024 * 1024)]
    pub fetch_size: u32,
    /// The size of the tcp RECV size.
    #[arg(long = "socket-buffer-size", value_name = "SIZE", default_value_t = 2 * 1024 * 1024)]
    pub socket_buffer_size: u32,
    /// If the consumer does not already have an established offset to consume from, start with
    /// the latest message present in the log rather than the earliest message.
    #[arg(long = "from-latest")]
    pub from_latest: bool,
    /// The maximum allowed time in milliseconds between returned records.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub timeout: u64,
    /// If set, stats are reported for each reporting interval as configured by reporting-interval
    #[arg(long = "show-detailed-stats")]
    pub show_detailed_stats: bool,
    /// Interval in milliseconds at which to print progress info.
    #[arg(long = "reporting-interval", value_name = "MS", default_value_t = 5000)]
    pub reporting_interval: u64,
    /// If set, skips printing the header for the stats
    #[arg(long = "hide-header")]
    pub hide_header: bool,
    /// Consumer config properties file.
    #[arg(long = "consumer.config", value_name = "CONFIG-FILE")]
    pub consumer_config: Option<PathBuf>,
}

/// ConsumerPerformance's rebalance listener: the time from the start (or a revoke) to the
/// following assignment adds to `rebalance.time.ms`.
struct JoinTimer {
    join_start: Mutex<Instant>,
    join_total_ms: Mutex<u64>,
}

impl ClientContext for JoinTimer {}

impl ConsumerContext for JoinTimer {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance {
            *self.join_start.lock().unwrap() = Instant::now();
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(_) = rebalance {
            let start = *self.join_start.lock().unwrap();
            *self.join_total_ms.lock().unwrap() += start.elapsed().as_millis() as u64;
        }
    }
}

struct Totals {
    messages: u64,
    bytes: u64,
}

const HEADER_FIELDS: &str = ", rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

fn build_config(args: &ConsumerPerfArgs) -> anyhow::Result<ClientConfig> {
    let Some(brokers) = args.bootstrap_server.as_ref().or(args.broker_list.as_ref()) else {
        bail!("Missing required argument \"[broker-list]\"");
    };
    let group = args
        .group
        .clone()
        .unwrap_or_else(|| format!("perf-consumer-{}", rand::random::<u32>() % 100_000));
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("max.partition.fetch.bytes", args.fetch_size.to_string())
        .set(
            "socket.receive.buffer.bytes",
            args.socket_buffer_size.to_string(),
        )
        .set(
            "auto.offset.reset",
            if args.from_latest {
                "latest"
            } else {
                "earliest"
            },
        )
        // The Java consumer's default; librdkafka would also accept it implicitly.
        .set("enable.auto.commit", "true")
        // librdkafka >= 2.4 pauses a partition's fetching for fetch.queue.backoff.ms (1 s) once
        // its local queue holds queued.min.messages (100,000): a 1M-record run then spends
        // most of its time in those pauses (both client and broker idle, ~270k rec/s here).
        // The Java consumer fetches again as soon as its buffer drains; 0 does the same.
        .set("fetch.queue.backoff.ms", "0");
    if let Some(path) = &args.consumer_config {
        for (k, v) in super::read_properties(path)? {
            if let Some((k, v)) = super::translate_java_prop(&k, &v) {
                config.set(k, v);
            }
        }
    }
    Ok(config)
}

pub fn run(args: ConsumerPerfArgs) -> anyhow::Result<()> {
    let config = build_config(&args)?;
    let context = JoinTimer {
        join_start: Mutex::new(Instant::now()),
        join_total_ms: Mutex::new(0),
    };
    let consumer: BaseConsumer<JoinTimer> = config
        .create_with_context(context)
        .context("Failed to construct kafka consumer")?;
    if !args.hide_header {
        if args.show_detailed_stats {
            println!("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec{HEADER_FIELDS}");
        } else {
            println!("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec{HEADER_FIELDS}");
        }
    }
    let start_epoch_ms = super::now_epoch_ms();
    let start = Instant::now();
    *consumer.context().join_start.lock().unwrap() = start;
    consumer
        .subscribe(&[&args.topic])
        .context("subscribe failed")?;
    let totals = consume(&consumer, &args)?;
    let elapsed_ms = start.elapsed().as_millis() as u64;
    let end_epoch_ms = start_epoch_ms + u128::from(elapsed_ms);
    let join_ms = *consumer.context().join_total_ms.lock().unwrap();
    drop(consumer);
    if !args.show_detailed_stats {
        let elapsed_secs = elapsed_ms as f64 / 1000.0;
        let fetch_ms = elapsed_ms.saturating_sub(join_ms);
        let mb = totals.bytes as f64 / (1024.0 * 1024.0);
        let fetch_secs = fetch_ms as f64 / 1000.0;
        println!(
            "{}, {}, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}",
            super::format_java_date(start_epoch_ms),
            super::format_java_date(end_epoch_ms),
            mb,
            mb / elapsed_secs,
            totals.messages,
            totals.messages as f64 / elapsed_secs,
            join_ms,
            fetch_ms,
            mb / fetch_secs,
            totals.messages as f64 / fetch_secs
        );
    }
    Ok(())
}

fn consume(consumer: &BaseConsumer<JoinTimer>, args: &ConsumerPerfArgs) -> anyhow::Result<Totals> {
    let mut totals = Totals {
        messages: 0,
        bytes: 0,
    };
    let timeout = Duration::from_millis(args.timeout);
    let interval = Duration::from_millis(args.reporting_interval.max(1));
    let mut last_consumed = Instant::now();
    let mut last_report = Instant::now();
    let (mut last_messages, mut last_bytes) = (0u64, 0u64);
    while totals.messages < args.messages && last_consumed.elapsed() <= timeout {
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                totals.messages += 1;
                totals.bytes += (m.key_len() + m.payload_len()) as u64;
                last_consumed = Instant::now();
            }
            // End of a partition is not an error for this tool.
            Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(KafkaError::MessageConsumption(
                RDKafkaErrorCode::UnknownTopicOrPartition,
            ))) => {
                bail!(
                    "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: {}",
                    args.topic
                )
            }
            Some(Err(e)) => eprintln!("WARN {e}"),
        }
        if args.show_detailed_stats && last_report.elapsed() >= interval {
            let window = last_report.elapsed().as_millis().max(1) as f64;
            let mb = totals.bytes as f64 / (1024.0 * 1024.0);
            let window_mb = (totals.bytes - last_bytes) as f64 / (1024.0 * 1024.0);
            let window_msgs = totals.messages - last_messages;
            let join_ms = *consumer.context().join_total_ms.lock().unwrap();
            println!(
                "{}, 0, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}",
                super::format_java_date(super::now_epoch_ms()),
                mb,
                1000.0 * window_mb / window,
                totals.messages,
                1000.0 * window_msgs as f64 / window,
                join_ms,
                window as u64,
                1000.0 * window_mb / window,
                1000.0 * window_msgs as f64 / window
            );
            last_report = Instant::now();
            last_messages = totals.messages;
            last_bytes = totals.bytes;
        }
    }
    if totals.messages < args.messages {
        println!(
            "WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded. You can use the --timeout option to increase the timeout.",
            args.timeout
        );
    }
    Ok(totals)
}
