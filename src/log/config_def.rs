//! Topic-level config definitions and validation (Kafka 2.8's `LogConfig.validate`): the known
//! names with their types and valid values (broker-config.md §11), and ConfigDef's error
//! messages, so a bad override fails as it would with the stock tool and CreateTopics returns
//! INVALID_CONFIG. `LogConfig::with_overrides` validates with this before applying.

use std::collections::BTreeMap;

use super::config::ConfigError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Int,
    Long,
    Double,
    Boolean,
    String,
    List,
}

#[derive(Clone, Copy, Debug)]
enum Valid {
    Any,
    AtLeast(i64),
    Between(f64, f64),
    In(&'static [&'static str]),
    ListIn(&'static [&'static str]),
    ThrottledReplicas,
    ApiVersion,
}

/// (name, type, validator) in Kafka's definition order, which is the order values are checked
/// in (and so decides which error a request with several bad values gets).
const DEFS: &[(&str, Type, Valid)] = &[
    ("segment.bytes", Type::Int, Valid::AtLeast(14)),
    ("segment.ms", Type::Long, Valid::AtLeast(1)),
    ("segment.jitter.ms", Type::Long, Valid::AtLeast(0)),
    ("segment.index.bytes", Type::Int, Valid::AtLeast(0)),
    ("flush.messages", Type::Long, Valid::AtLeast(0)),
    ("flush.ms", Type::Long, Valid::AtLeast(0)),
    ("retention.bytes", Type::Long, Valid::Any),
    ("retention.ms", Type::Long, Valid::AtLeast(-1)),
    ("max.message.bytes", Type::Int, Valid::AtLeast(0)),
    ("index.interval.bytes", Type::Int, Valid::AtLeast(0)),
    ("delete.retention.ms", Type::Long, Valid::AtLeast(0)),
    ("min.compaction.lag.ms", Type::Long, Valid::AtLeast(0)),
    ("max.compaction.lag.ms", Type::Long, Valid::AtLeast(1)),
    ("file.delete.delay.ms", Type::Long, Valid::AtLeast(0)),
    (
        "min.cleanable.dirty.ratio",
        Type::Double,
        Valid::Between(0.0, 1.0),
    ),
    (
        "cleanup.policy",
        Type::List,
        Valid::ListIn(&["compact", "delete"]),
    ),
    ("unclean.leader.election.enable", Type::Boolean, Valid::Any),
    ("min.insync.replicas", Type::Int, Valid::AtLeast(1)),
    (
        "compression.type",
        Type::String,
        Valid::In(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
    ),
    ("preallocate", Type::Boolean, Valid::Any),
    ("message.format.version", Type::String, Valid::ApiVersion),
    (
        "message.timestamp.type",
        Type::String,
        Valid::In(&["CreateTime", "LogAppendTime"]),
    ),
    (
        "message.timestamp.difference.max.ms",
        Type::Long,
        Valid::AtLeast(0),
    ),
    (
        "leader.replication.throttled.replicas",
        Type::List,
        Valid::ThrottledReplicas,
    ),
    (
        "follower.replication.throttled.replicas",
        Type::List,
        Valid::ThrottledReplicas,
    ),
    ("message.downconversion.enable", Type::Boolean, Valid::Any),
];

/// Kafka 2.8's `ApiVersion` ids: `message.format.version` must name one (or its short form).
const API_VERSIONS: &[&str] = &[
    "0.8.0",
    "0.8.1",
    "0.8.2",
    "0.9.0",
    "0.10.0-IV0",
    "0.10.0-IV1",
    "0.10.1-IV0",
    "0.10.1-IV1",
    "0.10.1-IV2",
    "0.10.2-IV0",
    "0.11.0-IV0",
    "0.11.0-IV1",
    "0.11.0-IV2",
    "1.0-IV0",
    "1.1-IV0",
    "2.0-IV0",
    "2.0-IV1",
    "2.1-IV0",
    "2.1-IV1",
    "2.1-IV2",
    "2.2-IV0",
    "2.2-IV1",
    "2.3-IV0",
    "2.3-IV1",
    "2.4-IV0",
    "2.4-IV1",
    "2.5-IV0",
    "2.6-IV0",
    "2.7-IV0",
    "2.7-IV1",
    "2.7-IV2",
    "2.8-IV0",
    "2.8-IV1",
];

/// All topic config names, sorted (`LogConfig.configNames`).
pub fn topic_config_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = DEFS.iter().map(|d| d.0).collect();
    names.sort_unstable();
    names
}

/// DescribeConfigs' ConfigType id of a topic config (BOOLEAN 1, STRING 2, INT 3, LONG 5,
/// DOUBLE 6, LIST 7; UNKNOWN 0 for names that are not topic configs).
pub fn topic_config_type_id(name: &str) -> i8 {
    match DEFS.iter().find(|d| d.0 == name).map(|d| d.1) {
        Some(Type::Boolean) => 1,
        Some(Type::String) => 2,
        Some(Type::Int) => 3,
        Some(Type::Long) => 5,
        Some(Type::Double) => 6,
        Some(Type::List) => 7,
        None => 0,
    }
}

/// `LogConfig.validateNames`: every name must be a topic config.
pub fn validate_topic_config_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), ConfigError> {
    for name in names {
        if !DEFS.iter().any(|d| d.0 == name) {
            return Err(ConfigError::new(
                name,
                format!("Unknown topic config name: {name}"),
            ));
        }
    }
    Ok(())
}

/// `LogConfig.validate`: known names, parseable and valid values, and
/// `min.compaction.lag.ms` ≤ `max.compaction.lag.ms`.
pub fn validate_topic_configs(configs: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    validate_topic_config_names(configs.keys().map(String::as_str))?;
    for &(name, ty, valid) in DEFS {
        if let Some(value) = configs.get(name) {
            check_value(name, ty, valid, value).map_err(|m| ConfigError::new(name, m))?;
        }
    }
    let lag = |k: &str, default: i64| {
        configs
            .get(k)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(default)
    };
    let (min, max) = (
        lag("min.compaction.lag.ms", 0),
        lag("max.compaction.lag.ms", i64::MAX),
    );
    if min > max {
        return Err(ConfigError::new(
            "min.compaction.lag.ms",
            format!("conflict topic config setting min.compaction.lag.ms ({min}) > max.compaction.lag.ms ({max})"),
        ));
    }
    Ok(())
}

/// ConfigException's message: `Invalid value <v> for configuration <name>: <why>`.
fn invalid(name: &str, value: impl std::fmt::Display, why: &str) -> String {
    format!("Invalid value {value} for configuration {name}: {why}")
}

fn check_value(name: &str, ty: Type, valid: Valid, raw: &str) -> Result<(), String> {
    let v = raw.trim();
    let not_number = |t: &str| invalid(name, raw, &format!("Not a number of type {t}"));
    match ty {
        Type::Int => {
            let n: i32 = v.parse().map_err(|_| not_number("INT"))?;
            check_range(name, i64::from(n), valid)
        }
        Type::Long => {
            let n: i64 = v.parse().map_err(|_| not_number("LONG"))?;
            check_range(name, n, valid)
        }
        Type::Double => {
            let n = parse_java_double(v).ok_or_else(|| not_number("DOUBLE"))?;
            if let Valid::Between(lo, hi) = valid {
                if n < lo {
                    let why = format!("Value must be at least {lo}");
                    return Err(invalid(name, java_double(n), &why));
                }
                if n > hi {
                    let why = format!("Value must be no more than {hi}");
                    return Err(invalid(name, java_double(n), &why));
                }
            }
            Ok(())
        }
        Type::Boolean => {
            if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
                Ok(())
            } else {
                Err(invalid(
                    name,
                    raw,
                    "Expected value to be either true or false",
                ))
            }
        }
        Type::String => check_string(name, v, valid),
        Type::List => {
            let items: Vec<&str> = if v.is_empty() {
                vec![]
            } else {
                v.split(',').map(str::trim).collect()
            };
            check_list(name, &items, valid)
        }
    }
}

fn check_range(name: &str, n: i64, valid: Valid) -> Result<(), String> {
    match valid {
        Valid::AtLeast(min) if n < min => {
            Err(invalid(name, n, &format!("Value must be at least {min}")))
        }
        _ => Ok(()),
    }
}

fn check_string(name: &str, v: &str, valid: Valid) -> Result<(), String> {
    match valid {
        Valid::In(options) if !options.contains(&v) => Err(invalid(
            name,
            v,
            &format!("String must be one of: {}", options.join(", ")),
        )),
        Valid::ApiVersion if !is_api_version(v) => Err(invalid(
            name,
            v,
            &format!("Version `{v}` is not a valid version"),
        )),
        _ => Ok(()),
    }
}

fn check_list(name: &str, items: &[&str], valid: Valid) -> Result<(), String> {
    match valid {
        Valid::ListIn(options) => {
            for item in items {
                if !options.contains(item) {
                    return Err(invalid(
                        name,
                        item,
                        &format!("String must be one of: {}", options.join(", ")),
                    ));
                }
            }
            Ok(())
        }
        Valid::ThrottledReplicas => {
            let replica_pairs = items.iter().all(|i| i.is_empty() || is_replica_pair(i));
            if replica_pairs || items.concat().trim() == "*" {
                Ok(())
            } else {
                Err(invalid(
                    name,
                    format!("[{}]", items.join(", ")),
                    &format!("{name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."),
                ))
            }
        }
        _ => Ok(()),
    }
}

/// `[0-9]+:[0-9]+`.
fn is_replica_pair(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    matches!(s.split_once(':'), Some((a, b)) if digits(a) && digits(b))
}

/// `ApiVersion.apply`: the first two segments (three for 0.x) must name a known version.
fn is_api_version(v: &str) -> bool {
    let take = if v.starts_with("0.") { 3 } else { 2 };
    let key = v.split('.').take(take).collect::<Vec<_>>().join(".");
    API_VERSIONS
        .iter()
        .any(|known| *known == key || known.split('-').next() == Some(key.as_str()))
}

/// Java's `Double.parseDouble` on a trimmed string: accepts what Rust does, minus Rust-only
/// spellings (`inf`, `infinity`, `nan` in any case), plus Java's `Infinity`/`NaN`.
fn parse_java_double(v: &str) -> Option<f64> {
    let body = v.trim_start_matches(['+', '-']);
    if body.eq_ignore_ascii_case("inf")
        || (body.eq_ignore_ascii_case("infinity") && body != "Infinity")
        || (body.eq_ignore_ascii_case("nan") && body != "NaN")
    {
        return None;
    }
    v.parse().ok()
}

/// Java's `Double.toString` for ordinary values (`2.0`, not `2`).
fn java_double(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e7 {
        format!("{n:.1}")
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        validate_topic_configs(&cfg(pairs)).unwrap_err().to_string()
    }

    #[test]
    fn names_are_kafka_2_8s() {
        let names = topic_config_names();
        assert_eq!(names.len(), 26);
        assert_eq!(names[0], "cleanup.policy");
        assert_eq!(err(&[("x", "1")]), "Unknown topic config name: x");
        assert!(validate_topic_config_names(["retention.ms", "preallocate"]).is_ok());
    }

    #[test]
    fn good_values_pass() {
        let ok = cfg(&[
            ("retention.ms", "-1"),
            ("retention.bytes", "-5"),
            ("segment.bytes", " 14 "),
            ("cleanup.policy", "compact,delete"),
            ("compression.type", "lz4"),
            ("min.cleanable.dirty.ratio", "0.25"),
            ("unclean.leader.election.enable", "TRUE"),
            ("message.format.version", "2.1"),
            ("leader.replication.throttled.replicas", "0:1,1:2"),
            ("follower.replication.throttled.replicas", "*"),
            ("message.timestamp.type", "LogAppendTime"),
            ("min.insync.replicas", "2"),
        ]);
        validate_topic_configs(&ok).unwrap();
        for v in [
            "0.10.0-IV1",
            "0.10.2",
            "2.8-IV1",
            "2.8",
            "1.0",
            "0.8.2.1",
            "2.7.1",
        ] {
            assert!(is_api_version(v), "{v}");
        }
        for v in ["3.0", "2.9", "abc", "0.12.0"] {
            assert!(!is_api_version(v), "{v}");
        }
    }

    #[test]
    fn bad_values_get_configexception_messages() {
        assert_eq!(
            err(&[("retention.ms", "abc")]),
            "Invalid value abc for configuration retention.ms: Not a number of type LONG"
        );
        assert_eq!(
            err(&[("segment.bytes", "10")]),
            "Invalid value 10 for configuration segment.bytes: Value must be at least 14"
        );
        assert_eq!(
            err(&[("segment.bytes", "3000000000")]),
            "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT"
        );
        assert_eq!(
            err(&[("min.insync.replicas", "0")]),
            "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"
        );
        assert_eq!(
            err(&[("min.cleanable.dirty.ratio", "2")]),
            "Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"
        );
        assert_eq!(
            err(&[("cleanup.policy", "compact,nope")]),
            "Invalid value nope for configuration cleanup.policy: String must be one of: compact, delete"
        );
        assert_eq!(
            err(&[("compression.type", "LZ4")]),
            "Invalid value LZ4 for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"
        );
        assert_eq!(
            err(&[("preallocate", "yes")]),
            "Invalid value yes for configuration preallocate: Expected value to be either true or false"
        );
        assert_eq!(
            err(&[("message.format.version", "9.9")]),
            "Invalid value 9.9 for configuration message.format.version: Version `9.9` is not a valid version"
        );
        assert!(err(&[("leader.replication.throttled.replicas", "0-1")])
            .starts_with("Invalid value [0-1] for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas must be the literal '*'"));
        assert_eq!(
            err(&[
                ("min.compaction.lag.ms", "10"),
                ("max.compaction.lag.ms", "5")
            ]),
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)"
        );
        // Definition order decides which of several bad values is reported.
        assert!(err(&[("segment.ms", "0"), ("segment.bytes", "1")]).contains("segment.bytes"));
    }
}
