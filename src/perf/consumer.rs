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
        let origin = path.display().to_string();
        for (k, v) in super::read_properties(path)? {
            for (k, v) in super::translate_java_props(&k, &v, &origin)? {
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

/// Records and bytes read so far, and the detailed-stats window.
struct Progress<'a> {
    args: &'a ConsumerPerfArgs,
    totals: Totals,
    last_consumed: Instant,
    last_report: Instant,
    last_messages: u64,
    last_bytes: u64,
    /// The last warning printed and when: repeats are printed at most every WARN_REPEAT.
    last_warning: Option<(String, Instant)>,
}

/// librdkafka reports a down broker on every poll; one line per this interval is enough.
const WARN_REPEAT: Duration = Duration::from_secs(5);

impl Progress<'_> {
    fn running(&self) -> bool {
        self.totals.messages < self.args.messages
            && self.last_consumed.elapsed() <= Duration::from_millis(self.args.timeout)
    }

    /// Counts one record, or deals with what librdkafka delivered instead of one.
    fn account(&mut self, result: Result<(usize, usize), KafkaError>) -> anyhow::Result<()> {
        match result {
            Ok((key_len, payload_len)) => {
                self.totals.messages += 1;
                self.totals.bytes += (key_len + payload_len) as u64;
            }
            // End of a partition is not an error for this tool.
            Err(KafkaError::PartitionEOF(_)) => {}
            Err(KafkaError::MessageConsumption(RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                bail!(
                    "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: {}",
                    self.args.topic
                )
            }
            Err(e) => self.warn(e.to_string()),
        }
        Ok(())
    }

    fn warn(&mut self, text: String) {
        let repeat = self
            .last_warning
            .as_ref()
            .is_some_and(|(last, at)| *last == text && at.elapsed() < WARN_REPEAT);
        if !repeat {
            eprintln!("WARN {text}");
            self.last_warning = Some((text, Instant::now()));
        }
    }

    /// After each poll: notes progress and prints a detailed-stats line when one is due.
    fn after_poll(&mut self, consumed_before: u64, join_ms: u64) {
        if self.totals.messages > consumed_before {
            self.last_consumed = Instant::now();
        }
        let interval = Duration::from_millis(self.args.reporting_interval.max(1));
        if !self.args.show_detailed_stats || self.last_report.elapsed() < interval {
            return;
        }
        let window = self.last_report.elapsed().as_millis().max(1) as f64;
        let t = &self.totals;
        let mb = t.bytes as f64 / (1024.0 * 1024.0);
        let window_mb = (t.bytes - self.last_bytes) as f64 / (1024.0 * 1024.0);
        let window_msgs = t.messages - self.last_messages;
        println!(
            "{}, 0, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}",
            super::format_java_date(super::now_epoch_ms()),
            mb,
            1000.0 * window_mb / window,
            t.messages,
            1000.0 * window_msgs as f64 / window,
            join_ms,
            window as u64,
            1000.0 * window_mb / window,
            1000.0 * window_msgs as f64 / window
        );
        self.last_report = Instant::now();
        self.last_messages = t.messages;
        self.last_bytes = t.bytes;
    }
}

fn consume(consumer: &BaseConsumer<JoinTimer>, args: &ConsumerPerfArgs) -> anyhow::Result<Totals> {
    let now = Instant::now();
    let mut progress = Progress {
        args,
        totals: Totals {
            messages: 0,
            bytes: 0,
        },
        last_consumed: now,
        last_report: now,
        last_messages: 0,
        last_bytes: 0,
        last_warning: None,
    };
    let join_ms = || *consumer.context().join_total_ms.lock().unwrap();
    // Until the first record, poll() serves the group join (and the JoinTimer's callbacks).
    while progress.totals.messages == 0 && progress.running() {
        let before = progress.totals.messages;
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            progress.account(m.map(|m| (m.key_len(), m.payload_len())))?;
        }
        progress.after_poll(before, join_ms());
    }
    // Then records come in batches, as the Java consumer's poll() returns up to
    // max.poll.records: one lock of librdkafka's queue per batch instead of per record.
    // The assigned partitions feed a queue of their own; poll() keeps serving the consumer
    // queue (offset commits, rebalances, records of partitions assigned later).
    let assignment = consumer.assignment().context("assignment")?;
    let queue = batch::RecordQueue::of(consumer, &assignment);
    let mut batch = batch::Batch::with_capacity(BATCH_SIZE);
    while progress.running() {
        let before = progress.totals.messages;
        while let Some(m) = consumer.poll(Duration::ZERO) {
            progress.account(m.map(|m| (m.key_len(), m.payload_len())))?;
        }
        queue.consume(Duration::from_millis(100), &mut batch);
        for r in batch.drain() {
            progress.account(r)?;
        }
        progress.after_poll(before, join_ms());
    }
    if progress.totals.messages < args.messages {
        println!(
            "WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded. You can use the --timeout option to increase the timeout.",
            args.timeout
        );
    }
    Ok(progress.totals)
}

/// Records taken from librdkafka per batch (the Java consumer's max.poll.records is 500).
const BATCH_SIZE: usize = 1000;

/// librdkafka's batch consume API, which the rdkafka crate does not wrap.
mod batch {
    use std::ffi::CString;
    use std::ptr;
    use std::time::Duration;

    use rdkafka::bindings as rdsys;
    use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode;
    use rdkafka::TopicPartitionList;

    /// A queue that the assigned partitions' fetch queues are forwarded to, so it holds
    /// records only (librdkafka's batch API cannot return other events).
    pub struct RecordQueue {
        queue: *mut rdsys::rd_kafka_queue_t,
        partitions: Vec<*mut rdsys::rd_kafka_queue_t>,
    }

    impl RecordQueue {
        pub fn of<C: ConsumerContext>(
            consumer: &BaseConsumer<C>,
            assignment: &TopicPartitionList,
        ) -> RecordQueue {
            let rk = consumer.client().native_ptr();
            // SAFETY: `rk` is valid while `consumer` lives; the handles are released in Drop,
            // which runs before the consumer is dropped in `consume`.
            unsafe {
                let queue = rdsys::rd_kafka_queue_new(rk);
                let mut partitions = Vec::new();
                for e in assignment.elements() {
                    let Ok(topic) = CString::new(e.topic()) else {
                        continue;
                    };
                    let pq = rdsys::rd_kafka_queue_get_partition(rk, topic.as_ptr(), e.partition());
                    if !pq.is_null() {
                        rdsys::rd_kafka_queue_forward(pq, queue);
                        partitions.push(pq);
                    }
                }
                RecordQueue { queue, partitions }
            }
        }

        /// Waits up to `timeout` for records; fills `batch` with what one call returned.
        pub fn consume(&self, timeout: Duration, batch: &mut Batch) {
            batch.results.clear();
            // SAFETY: `ptrs` has room for `ptrs.len()` message pointers; each returned message
            // is read once and destroyed here.
            unsafe {
                let n = rdsys::rd_kafka_consume_batch_queue(
                    self.queue,
                    timeout.as_millis() as i32,
                    batch.ptrs.as_mut_ptr(),
                    batch.ptrs.len(),
                );
                for &m in batch.ptrs.iter().take(n.max(0) as usize) {
                    batch.results.push(outcome(&*m));
                    rdsys::rd_kafka_message_destroy(m);
                }
            }
        }
    }

    impl Drop for RecordQueue {
        fn drop(&mut self) {
            // SAFETY: every handle came from librdkafka above and is released once.
            unsafe {
                for &pq in &self.partitions {
                    rdsys::rd_kafka_queue_forward(pq, ptr::null_mut());
                    rdsys::rd_kafka_queue_destroy(pq);
                }
                rdsys::rd_kafka_queue_destroy(self.queue);
            }
        }
    }

    /// (key length, value length) of a record, or the error delivered in its place.
    fn outcome(m: &rdsys::rd_kafka_message_t) -> Result<(usize, usize), KafkaError> {
        use rdsys::rd_kafka_resp_err_t as E;
        match m.err {
            E::RD_KAFKA_RESP_ERR_NO_ERROR => Ok((m.key_len, m.len)),
            E::RD_KAFKA_RESP_ERR__PARTITION_EOF => Err(KafkaError::PartitionEOF(m.partition)),
            e => Err(KafkaError::MessageConsumption(RDKafkaErrorCode::from(e))),
        }
    }

    pub struct Batch {
        ptrs: Vec<*mut rdsys::rd_kafka_message_t>,
        results: Vec<Result<(usize, usize), KafkaError>>,
    }

    impl Batch {
        pub fn with_capacity(n: usize) -> Batch {
            Batch {
                ptrs: vec![ptr::null_mut(); n],
                results: Vec::with_capacity(n),
            }
        }

        pub fn drain(&mut self) -> std::vec::Drain<'_, Result<(usize, usize), KafkaError>> {
            self.results.drain(..)
        }
    }
}
