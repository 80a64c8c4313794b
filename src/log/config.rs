//! Topic-level log settings (Kafka 2.8 `LogConfig.scala`) with their defaults.

use std::collections::BTreeMap;
use std::fmt;

/// Which clean-up policies apply to a topic (`cleanup.policy` is a list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    pub delete: bool,
    pub compact: bool,
}

/// `message.timestamp.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// Topic-level log configuration. Field names follow the Kafka property names.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    pub segment_bytes: i32,
    pub segment_ms: i64,
    pub segment_jitter_ms: i64,
    pub segment_index_bytes: i32,
    pub index_interval_bytes: i32,
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub file_delete_delay_ms: i64,
    pub flush_messages: i64,
    pub flush_ms: i64,
    pub max_message_bytes: i32,
    pub cleanup_policy: CleanupPolicy,
    pub compression_type: String,
    pub delete_retention_ms: i64,
    pub min_compaction_lag_ms: i64,
    pub max_compaction_lag_ms: i64,
    pub min_cleanable_dirty_ratio: f64,
    pub message_timestamp_type: TimestampType,
    pub message_timestamp_difference_max_ms: i64,
    pub message_format_version: String,
    pub message_downconversion_enable: bool,
    pub min_insync_replicas: i32,
    pub preallocate: bool,
    pub unclean_leader_election_enable: bool,
    pub leader_replication_throttled_replicas: String,
    pub follower_replication_throttled_replicas: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1_073_741_824,
            segment_ms: 604_800_000,
            segment_jitter_ms: 0,
            segment_index_bytes: 10_485_760,
            index_interval_bytes: 4096,
            retention_ms: 604_800_000,
            retention_bytes: -1,
            file_delete_delay_ms: 60_000,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
            max_message_bytes: 1_048_588,
            cleanup_policy: CleanupPolicy {
                delete: true,
                compact: false,
            },
            compression_type: "producer".to_string(),
            delete_retention_ms: 86_400_000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            min_cleanable_dirty_ratio: 0.5,
            message_timestamp_type: TimestampType::CreateTime,
            message_timestamp_difference_max_ms: i64::MAX,
            message_format_version: "2.8-IV1".to_string(),
            message_downconversion_enable: true,
            min_insync_replicas: 1,
            preallocate: false,
            unclean_leader_election_enable: false,
            leader_replication_throttled_replicas: String::new(),
            follower_replication_throttled_replicas: String::new(),
        }
    }
}

/// A topic config override that could not be applied: the key at fault and Kafka's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

fn err(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    let reason = reason.into();
    ConfigError::new(
        key,
        format!("Invalid value {value} for configuration {key}: {reason}"),
    )
}

fn parse_long(key: &str, v: &str, min: Option<i64>) -> Result<i64, ConfigError> {
    let n: i64 = v
        .trim()
        .parse()
        .map_err(|_| err(key, v, "Expected value to be a 64-bit integer"))?;
    match min {
        Some(m) if n < m => Err(err(key, v, format!("Value must be at least {m}"))),
        _ => Ok(n),
    }
}

fn parse_int(key: &str, v: &str, min: Option<i32>) -> Result<i32, ConfigError> {
    let n: i32 = v
        .trim()
        .parse()
        .map_err(|_| err(key, v, "Expected value to be a 32-bit integer"))?;
    match min {
        Some(m) if n < m => Err(err(key, v, format!("Value must be at least {m}"))),
        _ => Ok(n),
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(err(key, v, "Expected value to be either true or false")),
    }
}

fn one_of(key: &str, v: &str, allowed: &[&str]) -> Result<String, ConfigError> {
    let t = v.trim();
    if allowed.contains(&t) {
        Ok(t.to_string())
    } else {
        Err(err(
            key,
            v,
            format!("String must be one of: {}", allowed.join(", ")),
        ))
    }
}

impl LogConfig {
    /// Defaults overlaid with topic overrides (`/config/topics/<t>` strings).
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<LogConfig, ConfigError> {
        LogConfig::default().with_overrides(props)
    }

    /// `self` (e.g. built from broker defaults) overlaid with topic overrides.
    pub fn with_overrides(
        &self,
        props: &BTreeMap<String, String>,
    ) -> Result<LogConfig, ConfigError> {
        // Kafka's validation (names, types, ranges, messages) first; `set` then only parses.
        super::config_def::validate_topic_configs(props)?;
        let mut c = self.clone();
        for (k, v) in props {
            c.set(k, v)?;
        }
        if c.min_compaction_lag_ms > c.max_compaction_lag_ms {
            return Err(err(
                "min.compaction.lag.ms",
                &c.min_compaction_lag_ms.to_string(),
                "conflict: min.compaction.lag.ms must not exceed max.compaction.lag.ms",
            ));
        }
        Ok(c)
    }

    /// Applies one `key=value` override.
    pub fn set(&mut self, key: &str, v: &str) -> Result<(), ConfigError> {
        match key {
            "cleanup.policy" => {
                let mut p = CleanupPolicy {
                    delete: false,
                    compact: false,
                };
                for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    match item {
                        "delete" => p.delete = true,
                        "compact" => p.compact = true,
                        _ => {
                            return Err(err(key, v, "Invalid value; must be compact and/or delete"))
                        }
                    }
                }
                self.cleanup_policy = p;
            }
            "compression.type" => {
                self.compression_type = one_of(
                    key,
                    v,
                    &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
                )?
            }
            "delete.retention.ms" => self.delete_retention_ms = parse_long(key, v, Some(0))?,
            "file.delete.delay.ms" => self.file_delete_delay_ms = parse_long(key, v, Some(0))?,
            "flush.messages" => self.flush_messages = parse_long(key, v, Some(0))?,
            "flush.ms" => self.flush_ms = parse_long(key, v, Some(0))?,
            "follower.replication.throttled.replicas" => {
                self.follower_replication_throttled_replicas = v.trim().to_string()
            }
            "leader.replication.throttled.replicas" => {
                self.leader_replication_throttled_replicas = v.trim().to_string()
            }
            "index.interval.bytes" => self.index_interval_bytes = parse_int(key, v, Some(0))?,
            "max.compaction.lag.ms" => self.max_compaction_lag_ms = parse_long(key, v, Some(1))?,
            "max.message.bytes" => self.max_message_bytes = parse_int(key, v, Some(0))?,
            "message.downconversion.enable" => {
                self.message_downconversion_enable = parse_bool(key, v)?
            }
            "message.format.version" => {
                if v.trim().is_empty() {
                    return Err(err(key, v, "Version must not be empty"));
                }
                self.message_format_version = v.trim().to_string()
            }
            "message.timestamp.difference.max.ms" => {
                self.message_timestamp_difference_max_ms = parse_long(key, v, Some(0))?
            }
            "message.timestamp.type" => {
                self.message_timestamp_type = match v.trim() {
                    "CreateTime" => TimestampType::CreateTime,
                    "LogAppendTime" => TimestampType::LogAppendTime,
                    _ => {
                        return Err(err(
                            key,
                            v,
                            "String must be one of: CreateTime, LogAppendTime",
                        ))
                    }
                }
            }
            "min.cleanable.dirty.ratio" => {
                let r: f64 = v
                    .trim()
                    .parse()
                    .map_err(|_| err(key, v, "Expected a double"))?;
                if !(0.0..=1.0).contains(&r) {
                    return Err(err(key, v, "Value must be in [0.0, 1.0]"));
                }
                self.min_cleanable_dirty_ratio = r;
            }
            "min.compaction.lag.ms" => self.min_compaction_lag_ms = parse_long(key, v, Some(0))?,
            "min.insync.replicas" => self.min_insync_replicas = parse_int(key, v, Some(1))?,
            "preallocate" => self.preallocate = parse_bool(key, v)?,
            "retention.bytes" => self.retention_bytes = parse_long(key, v, None)?,
            "retention.ms" => self.retention_ms = parse_long(key, v, Some(-1))?,
            "segment.bytes" => self.segment_bytes = parse_int(key, v, Some(14))?,
            "segment.index.bytes" => self.segment_index_bytes = parse_int(key, v, Some(0))?,
            "segment.jitter.ms" => self.segment_jitter_ms = parse_long(key, v, Some(0))?,
            "segment.ms" => self.segment_ms = parse_long(key, v, Some(1))?,
            "unclean.leader.election.enable" => {
                self.unclean_leader_election_enable = parse_bool(key, v)?
            }
            _ => return Err(err(key, v, "Unknown topic config name")),
        }
        Ok(())
    }

    /// Effective max segment age: compacted topics also roll by `max.compaction.lag.ms`.
    pub fn max_segment_ms(&self) -> i64 {
        if self.cleanup_policy.compact && self.max_compaction_lag_ms > 0 {
            self.segment_ms.min(self.max_compaction_lag_ms)
        } else {
            self.segment_ms
        }
    }

    /// Random jitter in `[0, min(segment.jitter.ms, segment.ms))`, chosen once per segment.
    pub fn random_segment_jitter(&self) -> i64 {
        let bound = self.segment_jitter_ms.min(self.max_segment_ms());
        if bound <= 0 {
            0
        } else {
            (crate::log::util::random_u64() % bound as u64) as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_kafka_2_8() {
        let c = LogConfig::default();
        assert_eq!(c.segment_bytes, 1_073_741_824);
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert_eq!(c.retention_ms, 604_800_000);
        assert_eq!(c.segment_index_bytes, 10_485_760);
        assert!(c.cleanup_policy.delete && !c.cleanup_policy.compact);
    }

    #[test]
    fn overrides_apply_and_errors_name_the_key() {
        let c = LogConfig::from_props(&props(&[
            ("retention.ms", "86400000"),
            ("segment.bytes", "10485760"),
            ("cleanup.policy", "compact,delete"),
            ("message.timestamp.type", "LogAppendTime"),
        ]))
        .unwrap();
        assert_eq!(c.retention_ms, 86_400_000);
        assert_eq!(c.segment_bytes, 10_485_760);
        assert!(c.cleanup_policy.compact && c.cleanup_policy.delete);
        assert_eq!(c.message_timestamp_type, TimestampType::LogAppendTime);

        let e = LogConfig::from_props(&props(&[("segment.bytes", "13")])).unwrap_err();
        assert_eq!(e.key, "segment.bytes");
        let e = LogConfig::from_props(&props(&[("retention.ms", "abc")])).unwrap_err();
        assert_eq!(e.key, "retention.ms");
        let e = LogConfig::from_props(&props(&[("no.such", "1")])).unwrap_err();
        assert_eq!(e.key, "no.such");
        let e = LogConfig::from_props(&props(&[
            ("min.compaction.lag.ms", "10"),
            ("max.compaction.lag.ms", "5"),
        ]))
        .unwrap_err();
        assert_eq!(e.key, "min.compaction.lag.ms");
    }
}
