//! kafka-producer-perf-test.sh (Kafka 2.x `ProducerPerformance`) on librdkafka.
//!
//! Same flags, same record payload (random `A`-`Z`), same throttling (a target rate in
//! records/s, -1 = unlimited), same statistics: every 5 s a window line, at the end a total line
//! with percentiles, latency being the time from `send` to the delivery callback in whole ms.
//! With `--transaction-duration-ms` > 0 the records go in transactions, each committed once
//! it is that old (ProducerPerformance's transactional mode). `--warmup-records` (from newer
//! Kafka's tool, KIP-1052) keeps the first records out of a second, "steady state" total, so
//! client start-up (connecting, an idempotent producer's ProducerId) does not skew a short run.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

/// ProducerPerformance's reporting interval.
const REPORTING_INTERVAL: Duration = Duration::from_millis(5000);

#[derive(Args, Debug)]
pub struct ProducerPerfArgs {
    /// produce messages to this topic
    #[arg(long, value_name = "TOPIC")]
    pub topic: String,
    /// number of messages to produce
    #[arg(long = "num-records", value_name = "NUM-RECORDS")]
    pub num_records: u64,
    /// message size in bytes
    #[arg(long = "record-size", value_name = "RECORD-SIZE")]
    pub record_size: usize,
    /// throttle maximum message throughput to *approximately* THROUGHPUT messages/sec; -1 for
    /// no throttling
    #[arg(long, value_name = "THROUGHPUT", allow_negative_numbers = true)]
    pub throughput: f64,
    /// kafka producer related configuration properties like bootstrap.servers, client.id etc.
    #[arg(long = "producer-props", value_name = "PROP-NAME=PROP-VALUE", num_args = 1..)]
    pub producer_props: Vec<String>,
    /// producer config properties file
    #[arg(long = "producer.config", value_name = "CONFIG-FILE")]
    pub producer_config: Option<PathBuf>,
    /// The transactionalId to use if transaction-duration-ms is > 0. Useful when testing the
    /// performance of concurrent transactions.
    #[arg(
        long = "transactional-id",
        value_name = "TRANSACTIONAL-ID",
        default_value = "performance-producer-default-transactional-id"
    )]
    pub transactional_id: String,
    /// The max age of each transaction. The commitTransaction will be called after this time
    /// has elapsed. Transactions are only enabled if this value is positive.
    #[arg(
        long = "transaction-duration-ms",
        value_name = "TRANSACTION-DURATION",
        default_value_t = 0
    )]
    pub transaction_duration_ms: u64,
    /// The number of records to treat as warmup; these initial records will not be included
    /// in steady-state statistics. An additional summary line will be printed describing the
    /// steady-state statistics.
    #[arg(
        long = "warmup-records",
        value_name = "WARMUP-RECORDS",
        default_value_t = 0
    )]
    pub warmup_records: u64,
}

/// ProducerPerformance's transactional mode: a transaction begins with its first record and
/// is committed with the first record sent after it is `duration` old (and at the end).
struct Transactions {
    duration: Duration,
    started: Option<Instant>,
}

impl Transactions {
    fn new(args: &ProducerPerfArgs) -> Option<Transactions> {
        (args.transaction_duration_ms > 0).then(|| Transactions {
            duration: Duration::from_millis(args.transaction_duration_ms),
            started: None,
        })
    }

    fn before_send(&mut self, producer: &impl Producer<PerfContext>) -> anyhow::Result<()> {
        if self.started.is_none() {
            producer.begin_transaction().context("beginTransaction")?;
            self.started = Some(Instant::now());
        }
        Ok(())
    }

    fn after_send(
        &mut self,
        producer: &impl Producer<PerfContext>,
        last: bool,
    ) -> anyhow::Result<()> {
        let due = self.started.is_some_and(|t| t.elapsed() >= self.duration);
        if due || (last && self.started.is_some()) {
            producer
                .commit_transaction(TRANSACTION_TIMEOUT)
                .context("commitTransaction")?;
            self.started = None;
        }
        Ok(())
    }
}

/// How long init/commit may take (the Java producer's max.block.ms default, 60 s).
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// ProducerPerformance.Stats: totals, the current window and the latency samples.
struct Stats {
    start: Instant,
    window_start: Instant,
    count: u64,
    bytes: u64,
    total_latency: u64,
    max_latency: u64,
    window_count: u64,
    window_bytes: u64,
    window_total_latency: u64,
    window_max_latency: u64,
    /// Every `sampling`-th latency, as in Kafka (which keeps at most 500,000).
    latencies: Vec<u32>,
    sampling: u64,
    iteration: u64,
    /// The steady-state half of a run with warmup records: says so in its lines.
    steady_state: bool,
}

impl Stats {
    fn new(num_records: u64, steady_state: bool) -> Self {
        let now = Instant::now();
        let sampling = (num_records / num_records.clamp(1, 500_000)).max(1);
        Stats {
            start: now,
            window_start: now,
            count: 0,
            bytes: 0,
            total_latency: 0,
            max_latency: 0,
            window_count: 0,
            window_bytes: 0,
            window_total_latency: 0,
            window_max_latency: 0,
            latencies: Vec::with_capacity((num_records / sampling + 1) as usize),
            sampling,
            iteration: 0,
            steady_state,
        }
    }

    /// The whole run: warmup and steady state together (Kafka's `Stats(first, second)`).
    fn combined(first: &Stats, second: &Stats) -> Stats {
        let mut latencies = first.latencies.clone();
        latencies.extend_from_slice(&second.latencies);
        Stats {
            start: first.start.min(second.start),
            window_start: second.window_start,
            count: first.count + second.count,
            bytes: first.bytes + second.bytes,
            total_latency: first.total_latency + second.total_latency,
            max_latency: first.max_latency.max(second.max_latency),
            window_count: 0,
            window_bytes: 0,
            window_total_latency: 0,
            window_max_latency: 0,
            latencies,
            sampling: first.sampling,
            iteration: first.iteration + second.iteration,
            steady_state: false,
        }
    }

    fn record(&mut self, latency_ms: u64, bytes: u64, now: Instant) {
        self.count += 1;
        self.bytes += bytes;
        self.total_latency += latency_ms;
        self.max_latency = self.max_latency.max(latency_ms);
        self.window_count += 1;
        self.window_bytes += bytes;
        self.window_total_latency += latency_ms;
        self.window_max_latency = self.window_max_latency.max(latency_ms);
        if self.iteration.is_multiple_of(self.sampling) {
            self.latencies.push(latency_ms as u32);
        }
        self.iteration += 1;
        if now.duration_since(self.window_start) >= REPORTING_INTERVAL {
            if self.steady_state && self.count == self.window_count {
                println!("Beginning steady state.");
            }
            self.print_window(now);
            self.new_window(now);
        }
    }

    fn print_window(&self, now: Instant) {
        let elapsed = now.duration_since(self.window_start).as_millis().max(1) as f64;
        let recs_per_sec = 1000.0 * self.window_count as f64 / elapsed;
        let mb_per_sec = 1000.0 * self.window_bytes as f64 / elapsed / (1024.0 * 1024.0);
        println!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            self.window_count,
            recs_per_sec,
            mb_per_sec,
            self.window_total_latency as f64 / self.window_count.max(1) as f64,
            self.window_max_latency as f64
        );
    }

    fn new_window(&mut self, now: Instant) {
        self.window_start = now;
        self.window_count = 0;
        self.window_bytes = 0;
        self.window_total_latency = 0;
        self.window_max_latency = 0;
    }

    fn print_total(&mut self) {
        let elapsed = self.start.elapsed().as_millis().max(1) as f64;
        let recs_per_sec = 1000.0 * self.count as f64 / elapsed;
        let mb_per_sec = 1000.0 * self.bytes as f64 / elapsed / (1024.0 * 1024.0);
        self.latencies.sort_unstable();
        let percs: Vec<u32> = [0.5, 0.95, 0.99, 0.999]
            .iter()
            .map(|p| {
                // Kafka: latencies[(int) (p * size)] over the sorted samples.
                let i = (p * self.latencies.len() as f64) as usize;
                self.latencies.get(i).copied().unwrap_or(0)
            })
            .collect();
        // Java's %f: six decimals.
        println!(
            "{}{} records sent, {:.6} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            self.count,
            if self.steady_state { " steady state" } else { "" },
            recs_per_sec,
            mb_per_sec,
            self.total_latency as f64 / self.count.max(1) as f64,
            self.max_latency as f64,
            percs[0],
            percs[1],
            percs[2],
            percs[3]
        );
    }
}

/// Delivery callbacks run on the ThreadedProducer's polling thread and feed the stats.
struct PerfContext {
    /// The warmup records' stats (only with --warmup-records).
    warmup: Mutex<Option<Stats>>,
    /// The other records' stats; with warmup, made when the first steady-state record is sent.
    stats: Mutex<Option<Stats>>,
    record_size: u64,
    errors: Mutex<Option<String>>,
}

/// What a delivery callback needs about its record: Kafka's PerfCallback fields.
struct Sent {
    at: Instant,
    warmup: bool,
}

impl ClientContext for PerfContext {}

impl ProducerContext for PerfContext {
    /// The send time of the record, as Kafka's PerfCallback keeps it.
    type DeliveryOpaque = Box<Sent>;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: Box<Sent>) {
        let now = Instant::now();
        match result {
            Ok(_) => {
                let latency = now.duration_since(sent.at).as_millis() as u64;
                let stats = if sent.warmup {
                    &self.warmup
                } else {
                    &self.stats
                };
                let mut stats = stats.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(stats) = stats.as_mut() {
                    stats.record(latency, self.record_size, now);
                }
            }
            Err((e, _)) => {
                // Kafka prints the exception's stack trace and goes on.
                let mut first = self.errors.lock().unwrap_or_else(|e| e.into_inner());
                if first.is_none() {
                    eprintln!("org.apache.kafka.common.KafkaException: {e}");
                    *first = Some(e.to_string());
                }
            }
        }
    }
}

/// The Java producer's defaults where librdkafka's differ, so "stock client settings" mean the
/// same thing as for kafka-producer-perf-test.sh: acks=1 (librdkafka: all), linger.ms=0
/// (librdkafka: 5), batch.size=16384 (librdkafka: 1 MB), 5 requests in flight (librdkafka: 1M),
/// buffer.memory=32 MiB (librdkafka queues up to 1 GiB, which turns a saturating run's latency
/// into seconds of queueing in the client).
const JAVA_PRODUCER_DEFAULTS: [(&str, &str); 5] = [
    ("acks", "1"),
    ("linger.ms", "0"),
    ("batch.size", "16384"),
    ("max.in.flight.requests.per.connection", "5"),
    ("buffer.memory", "33554432"),
];

fn build_config(args: &ProducerPerfArgs) -> anyhow::Result<ClientConfig> {
    let mut props: Vec<(String, String)> = JAVA_PRODUCER_DEFAULTS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(path) = &args.producer_config {
        props.extend(super::read_properties(path)?);
    }
    for kv in &args.producer_props {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("Invalid property: {kv}");
        };
        props.push((k.trim().to_string(), v.trim().to_string()));
    }
    if args.transaction_duration_ms > 0 {
        props.push(("transactional.id".into(), args.transactional_id.clone()));
    }
    if !props.iter().any(|(k, _)| k == "bootstrap.servers") {
        bail!("Either --producer-props or --producer.config must be specified (bootstrap.servers is missing)");
    }
    let mut config = ClientConfig::new();
    let origin = match &args.producer_config {
        Some(path) => format!("{} or --producer-props", path.display()),
        None => "--producer-props".to_string(),
    };
    for (k, v) in props {
        for (k, v) in super::translate_java_props(&k, &v, &origin)? {
            config.set(k, v);
        }
    }
    Ok(config)
}

/// A payload of random upper-case letters, like ProducerPerformance's.
fn random_payload(size: usize) -> Vec<u8> {
    (0..size)
        .map(|_| b'A' + (rand::random::<u32>() % 26) as u8)
        .collect()
}

pub fn run(args: ProducerPerfArgs) -> anyhow::Result<()> {
    let config = build_config(&args)?;
    let warmup = args.warmup_records;
    if warmup > 0 && warmup >= args.num_records {
        bail!("The value for --warmup-records must be strictly fewer than the number of records in the test, --num-records.");
    }
    let context = PerfContext {
        warmup: Mutex::new((warmup > 0).then(|| Stats::new(warmup, false))),
        stats: Mutex::new((warmup == 0).then(|| Stats::new(args.num_records, false))),
        record_size: args.record_size as u64,
        errors: Mutex::new(None),
    };
    if warmup > 0 {
        println!("Warmup first {warmup} records. Steady state results will print after the complete test summary.");
    }
    let producer: ThreadedProducer<PerfContext> = config
        .create_with_context(context)
        .context("Failed to construct kafka producer")?;
    let mut transactions = Transactions::new(&args);
    if transactions.is_some() {
        producer
            .init_transactions(TRANSACTION_TIMEOUT)
            .context("initTransactions")?;
    }
    let payload = random_payload(args.record_size);
    restart_clock(producer.context());
    let start = Instant::now();
    for i in 0..args.num_records {
        if warmup > 0 && i == warmup {
            // Made here so that its clock starts with its first record, as in Kafka.
            *lock(&producer.context().stats) = Some(Stats::new(args.num_records - warmup, true));
        }
        let sent_at = Instant::now();
        // ThroughputThrottler: if ahead of `throughput` records/s, sleep the deficit away.
        if args.throughput > 0.0 {
            let due = start + Duration::from_secs_f64(i as f64 / args.throughput);
            if due > sent_at {
                std::thread::sleep(due - sent_at);
            }
        }
        if let Some(t) = &mut transactions {
            t.before_send(&producer)?;
        }
        let sent = Sent {
            at: Instant::now(),
            warmup: i < warmup,
        };
        let mut record =
            BaseRecord::<(), [u8], Box<Sent>>::with_opaque_to(&args.topic, Box::new(sent))
                .payload(&payload[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                // The Java producer blocks when buffer.memory is full; librdkafka returns
                // QueueFull instead: wait for deliveries to drain the queue, then retry.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err((e, _)) => bail!("{e}"),
            }
        }
        if let Some(t) = &mut transactions {
            t.after_send(&producer, i + 1 == args.num_records)?;
        }
    }
    // Kafka closes the producer (which flushes) before printing the totals.
    producer
        .flush(Duration::from_secs(300))
        .context("flush: records still undelivered after 300 s")?;
    print_totals(producer.context());
    Ok(())
}

fn lock(stats: &Mutex<Option<Stats>>) -> std::sync::MutexGuard<'_, Option<Stats>> {
    stats.lock().unwrap_or_else(|e| e.into_inner())
}

/// The clock starts after the producer is made (and transactions initialised), as in Kafka.
fn restart_clock(context: &PerfContext) {
    for stats in [&context.warmup, &context.stats] {
        if let Some(stats) = lock(stats).as_mut() {
            let now = Instant::now();
            stats.start = now;
            stats.window_start = now;
        }
    }
}

/// The whole run's total line, then, with warmup records, the steady state's.
fn print_totals(context: &PerfContext) {
    let mut warmup = lock(&context.warmup);
    let mut stats = lock(&context.stats);
    match (warmup.as_mut(), stats.as_mut()) {
        (Some(w), Some(s)) => {
            Stats::combined(w, s).print_total();
            s.print_total();
        }
        (Some(w), None) => w.print_total(),
        (None, Some(s)) => s.print_total(),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_stats_add_up_warmup_and_steady_state() {
        let t0 = Instant::now();
        let mut warmup = Stats::new(2, false);
        let mut steady = Stats::new(3, true);
        warmup.record(10, 100, t0);
        warmup.record(30, 100, t0);
        for latency in [5, 7, 9] {
            steady.record(latency, 200, t0);
        }
        let all = Stats::combined(&warmup, &steady);
        assert_eq!((all.count, all.bytes), (5, 800));
        assert_eq!((all.total_latency, all.max_latency), (61, 30));
        assert_eq!(all.latencies.len(), 5);
        assert!(!all.steady_state && steady.steady_state);
        assert_eq!(all.start, warmup.start.min(steady.start));
    }
}
