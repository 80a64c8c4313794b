//! `zkafka perf producer|consumer`: kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh
//! on librdkafka (the `rdkafka` crate), with Kafka 2.x's flags and output lines, so the numbers
//! are read the same way as Kafka's and `scripts/bench.sh` can parse either tool; and
//! `zkafka perf partition-states`, the ZooKeeper reader bench.sh times elections with.
//!
//! Only built with `--features perf`: librdkafka is a C library compiled from source, and the
//! broker, its tests and CI must not need it.

pub mod consumer;
pub mod producer;
pub mod states;

use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct PerfArgs {
    #[command(subcommand)]
    pub command: PerfCommand,
}

#[derive(Subcommand, Debug)]
pub enum PerfCommand {
    /// kafka-producer-perf-test.sh: produce N records of a fixed size at a target rate
    Producer(producer::ProducerPerfArgs),
    /// kafka-consumer-perf-test.sh: consume N records from the start of a topic
    Consumer(consumer::ConsumerPerfArgs),
    /// Every partition state znode of a topic with its ZooKeeper mtime (for bench.sh timings)
    PartitionStates(states::PartitionStatesArgs),
}

/// Runs a perf tool; the exit code is the tool's (0 ok, 1 error).
pub fn run(args: PerfArgs) -> u8 {
    let result = match args.command {
        PerfCommand::Producer(a) => producer::run(a),
        PerfCommand::Consumer(a) => consumer::run(a),
        PerfCommand::PartitionStates(a) => states::run(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Exception in thread \"main\" {e:#}");
            1
        }
    }
}

/// Reads a Java properties file (`key=value`, `key: value`, `#`/`!` comments) into pairs,
/// for `--producer.config` / `--consumer.config`.
pub(crate) fn read_properties(path: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("java.io.FileNotFoundException: {} ({e})", path.display()))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (k, v) = match line.find(['=', ':']) {
            Some(i) => (line[..i].trim(), line[i + 1..].trim()),
            None => (line, ""),
        };
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Java client properties that librdkafka does not know, mapped to its equivalents or dropped,
/// so the command lines and config files written for Kafka's Java tools work unchanged (the
/// security ones as `admin::command_config::librdkafka_security` maps them).
pub(crate) fn translate_java_props(
    key: &str,
    value: &str,
    file: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    if let Some(pairs) = crate::admin::command_config::librdkafka_security(key, value, file)? {
        return Ok(pairs);
    }
    Ok(translate_java_prop(key, value).into_iter().collect())
}

fn translate_java_prop(key: &str, value: &str) -> Option<(String, String)> {
    match key {
        // Serializers are Java classes; the tools send raw bytes anyway.
        "key.serializer" | "value.serializer" | "key.deserializer" | "value.deserializer" => None,
        // The Java producer's buffer in bytes; librdkafka's queue limit is in KiB.
        "buffer.memory" => value.parse::<u64>().ok().map(|b| {
            (
                "queue.buffering.max.kbytes".to_string(),
                (b / 1024).max(1).to_string(),
            )
        }),
        // Java-only knobs with no librdkafka counterpart: dropped.
        "max.block.ms" | "client.dns.lookup" | "metrics.recording.level" => None,
        _ => Some((key.to_string(), value.to_string())),
    }
}

/// Milliseconds since the Unix epoch as local time in Java's `yyyy-MM-dd HH:mm:ss:SSS`
/// (ConsumerPerformance's default `--date-format`).
pub(crate) fn format_java_date(epoch_ms: u128) -> String {
    let secs = (epoch_ms / 1000) as libc::time_t;
    let millis = (epoch_ms % 1000) as u32;
    // SAFETY: localtime_r writes only into `tm`, which is a plain C struct we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return epoch_ms.to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}:{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        millis
    )
}

pub(crate) fn now_epoch_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
