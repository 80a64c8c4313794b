//! The options of `zkafka topics` (Kafka 2.8's `TopicCommandOptions`), their cross-checks with
//! the stock tool's messages, and the parsing of `--config` / `--replica-assignment` values.

use std::collections::BTreeMap;

use super::assignment::Assignment;
use super::error::{AdminError, AdminResult};
use super::zk_admin::{validate_topic_config_names, validate_topic_configs};

/// `zkafka topics ...`: Kafka 2.8's `kafka-topics.sh` (`--zookeeper` or `--bootstrap-server`).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct TopicsArgs {
    /// ZooKeeper connect string: host:port[,host:port...][/chroot]
    #[arg(long, value_name = "hosts")]
    pub zookeeper: Option<String>,
    /// The Kafka server(s) to connect to instead of ZooKeeper: host:port[,host:port...]
    #[arg(long = "bootstrap-server", value_name = "server")]
    pub bootstrap_server: Option<String>,
    /// Admin client properties file for --bootstrap-server (security.protocol, sasl.*, ssl.*)
    #[arg(long = "command-config", value_name = "command config property file")]
    pub command_config: Option<String>,
    /// Create a new topic
    #[arg(long)]
    pub create: bool,
    /// List all available topics
    #[arg(long)]
    pub list: bool,
    /// List details for the given topics
    #[arg(long)]
    pub describe: bool,
    /// Alter the number of partitions and/or configuration for the topic
    #[arg(long)]
    pub alter: bool,
    /// Delete a topic
    #[arg(long)]
    pub delete: bool,
    /// The topic; a regular expression except with --create
    #[arg(long)]
    pub topic: Option<String>,
    /// The number of partitions for the topic being created or altered
    #[arg(long, value_name = "# of partitions", allow_negative_numbers = true)]
    pub partitions: Option<i32>,
    /// The replication factor for each partition in the topic being created
    #[arg(long = "replication-factor", allow_negative_numbers = true)]
    pub replication_factor: Option<i32>,
    /// Manual assignment: broker_id_for_part1_replica1:broker_id_for_part1_replica2,...
    #[arg(long = "replica-assignment")]
    pub replica_assignment: Option<String>,
    /// A topic configuration override (name=value), repeatable
    #[arg(long = "config", value_name = "name=value")]
    pub config: Vec<String>,
    /// A topic configuration override to remove, repeatable
    #[arg(long = "delete-config", value_name = "name")]
    pub delete_config: Vec<String>,
    /// Only act if the topic exists (alter, delete, describe)
    #[arg(long = "if-exists")]
    pub if_exists: bool,
    /// Only create the topic if it does not exist yet
    #[arg(long = "if-not-exists")]
    pub if_not_exists: bool,
    /// Describe: only partitions whose ISR is smaller than their replica set
    #[arg(long = "under-replicated-partitions")]
    pub under_replicated_partitions: bool,
    /// Describe: only partitions without an available leader
    #[arg(long = "unavailable-partitions")]
    pub unavailable_partitions: bool,
    /// Describe: only partitions whose ISR is smaller than min.insync.replicas (or that have
    /// no leader); --bootstrap-server only, as in Kafka
    #[arg(long = "under-min-isr-partitions")]
    pub under_min_isr_partitions: bool,
    /// Describe: only partitions whose ISR size equals min.insync.replicas; --bootstrap-server
    /// only, as in Kafka
    #[arg(long = "at-min-isr-partitions")]
    pub at_min_isr_partitions: bool,
    /// Describe: only topics with config overrides
    #[arg(long = "topics-with-overrides")]
    pub topics_with_overrides: bool,
    /// Leave internal topics out of --list / --describe
    #[arg(long = "exclude-internal")]
    pub exclude_internal: bool,
    /// Assign replicas without rack information
    #[arg(long = "disable-rack-aware")]
    pub disable_rack_aware: bool,
    /// Accepted and ignored, as in Kafka
    #[arg(long)]
    pub force: bool,
}

impl From<&TopicsArgs> for super::describe::DescribeFilter {
    fn from(args: &TopicsArgs) -> Self {
        super::describe::DescribeFilter {
            under_replicated: args.under_replicated_partitions,
            unavailable: args.unavailable_partitions,
            under_min_isr: args.under_min_isr_partitions,
            at_min_isr: args.at_min_isr_partitions,
            topics_with_overrides: args.topics_with_overrides,
        }
    }
}

/// A command-line mistake: Kafka prints the message and the usage and exits with 1.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl TopicsArgs {
    fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("create", self.create),
            ("list", self.list),
            ("describe", self.describe),
            ("alter", self.alter),
            ("delete", self.delete),
            ("zookeeper", self.zookeeper.is_some()),
            ("bootstrap-server", self.bootstrap_server.is_some()),
            ("topic", self.topic.is_some()),
            ("partitions", self.partitions.is_some()),
            ("replication-factor", self.replication_factor.is_some()),
            ("replica-assignment", self.replica_assignment.is_some()),
            ("config", !self.config.is_empty()),
            ("delete-config", !self.delete_config.is_empty()),
            ("if-exists", self.if_exists),
            ("if-not-exists", self.if_not_exists),
            (
                "under-replicated-partitions",
                self.under_replicated_partitions,
            ),
            ("unavailable-partitions", self.unavailable_partitions),
            ("under-min-isr-partitions", self.under_min_isr_partitions),
            ("at-min-isr-partitions", self.at_min_isr_partitions),
            ("topics-with-overrides", self.topics_with_overrides),
            ("exclude-internal", self.exclude_internal),
            ("disable-rack-aware", self.disable_rack_aware),
            ("force", self.force),
        ];
        flags.iter().filter(|f| f.1).map(|f| f.0).collect()
    }

    /// `TopicCommandOptions.checkArgs`, same order and messages.
    pub fn check(&self) -> Result<(), UsageError> {
        let given = self.given();
        let has = |o: &str| given.contains(&o);
        if given.is_empty() {
            return usage("Create, delete, describe, or change a topic.");
        }
        let actions = ["create", "list", "alter", "describe", "delete"];
        if actions.iter().filter(|a| has(a)).count() != 1 {
            return usage("Command must include exactly one action: --list, --describe, --create, --alter or --delete");
        }
        if has("bootstrap-server") == has("zookeeper") {
            return usage("Only one of --bootstrap-server or --zookeeper must be specified");
        }
        let require = |o: &str| {
            if has(o) {
                Ok(())
            } else {
                usage(&format!("Missing required argument \"[{o}]\""))
            }
        };
        if has("describe") && has("if-exists") {
            require("topic")?;
        }
        if !has("list") && !has("describe") {
            require("topic")?;
        }
        // With --bootstrap-server the brokers' defaults fill them in.
        if has("create") && !has("replica-assignment") && has("zookeeper") {
            require("partitions")?;
            require("replication-factor")?;
        }
        // Topic configs change through kafka-configs with --bootstrap-server.
        if has("bootstrap-server") && has("alter") {
            if has("config") {
                return usage("Option combination \"[bootstrap-server],[config]\" can't be used with option \"[alter]\" (the kafka-configs CLI supports altering topic configs with a --bootstrap-server option)");
            }
            require("partitions")?;
        }
        let all_actions: &[&str] = &actions;
        let except = |keep: &[&str]| -> Vec<&str> {
            all_actions
                .iter()
                .copied()
                .filter(|a| !keep.contains(a))
                .collect()
        };
        let reports = [
            "under-replicated-partitions",
            "under-min-isr-partitions",
            "at-min-isr-partitions",
            "unavailable-partitions",
        ];
        let report_rule = |me: &str, extra: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = except(&["describe"])
                .iter()
                .map(|s| s.to_string())
                .collect();
            v.extend(reports.iter().filter(|r| **r != me).map(|s| s.to_string()));
            v.push("topics-with-overrides".into());
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<_>>();
        let mut rules: Vec<(&str, Vec<String>)> = vec![
            ("config", owned(except(&["alter", "create"]))),
            ("delete-config", {
                let mut v = owned(except(&["alter"]));
                v.push("bootstrap-server".into());
                v
            }),
            ("partitions", owned(except(&["alter", "create"]))),
            ("replication-factor", owned(except(&["create"]))),
            ("replica-assignment", owned(except(&["create", "alter"]))),
        ];
        if has("create") {
            rules.push((
                "replica-assignment",
                owned(vec!["partitions", "replication-factor"]),
            ));
        }
        let mut all_reports = owned(except(&["describe"]));
        all_reports.extend(reports.iter().map(|s| s.to_string()));
        rules.extend([
            (
                "under-replicated-partitions",
                report_rule("under-replicated-partitions", &[]),
            ),
            (
                "under-min-isr-partitions",
                report_rule("under-min-isr-partitions", &["zookeeper"]),
            ),
            (
                "at-min-isr-partitions",
                report_rule("at-min-isr-partitions", &["zookeeper"]),
            ),
            (
                "unavailable-partitions",
                report_rule("unavailable-partitions", &[]),
            ),
            ("topics-with-overrides", all_reports),
            ("if-exists", owned(except(&["alter", "delete", "describe"]))),
            ("if-not-exists", owned(except(&["create"]))),
            ("exclude-internal", owned(except(&["list", "describe"]))),
        ]);
        for (used, invalid) in rules {
            if !has(used) {
                continue;
            }
            if let Some(bad) = invalid.iter().find(|o| has(o)) {
                return usage(&format!(
                    "Option \"[{used}]\" can't be used with option \"[{bad}]\""
                ));
            }
        }
        Ok(())
    }
}

fn usage(msg: &str) -> Result<(), UsageError> {
    Err(UsageError(msg.to_string()))
}

/// `parseTopicConfigsToBeAdded`: each `--config` is `key=value` (split like Java's
/// `split("\\s*=\\s*")`, which drops trailing empty parts), then `LogConfig.validate`.
pub fn parse_configs_to_add(values: &[String]) -> AdminResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for raw in values {
        // Trimming every part equals Java's split on `\s*=\s*` followed by Kafka's trims.
        let mut parts: Vec<&str> = raw.split('=').map(str::trim).collect();
        while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        if parts.len() != 2 {
            return Err(AdminError::Operation(
                "requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".".into(),
            ));
        }
        out.insert(parts[0].trim().to_string(), parts[1].trim().to_string());
    }
    validate_topic_configs(&out)?;
    Ok(out)
}

/// `parseTopicConfigsToBeDeleted`: names only, each must be a topic config.
pub fn parse_configs_to_delete(values: &[String]) -> AdminResult<Vec<String>> {
    let names: Vec<String> = values.iter().map(|v| v.trim().to_string()).collect();
    validate_topic_config_names(names.iter().map(String::as_str))?;
    Ok(names)
}

/// `parseReplicaAssignment`: `1:2,2:3,...` → partition i gets the i-th list.
pub fn parse_replica_assignment(text: &str) -> AdminResult<Assignment> {
    let mut out = Assignment::new();
    let mut lists: Vec<&str> = text.split(',').collect();
    // Java's split drops trailing empty strings.
    while lists.len() > 1 && lists.last() == Some(&"") {
        lists.pop();
    }
    for (i, list) in lists.iter().enumerate() {
        let brokers = list
            .split(':')
            .map(|s| {
                s.trim().parse::<i32>().map_err(|_| {
                    AdminError::Operation(format!("For input string: \"{}\"", s.trim()))
                })
            })
            .collect::<AdminResult<Vec<i32>>>()?;
        let mut dups: Vec<i32> = Vec::new();
        for (j, b) in brokers.iter().enumerate() {
            if brokers[..j].contains(b) && !dups.contains(b) {
                dups.push(*b);
            }
        }
        if !dups.is_empty() {
            let d: Vec<String> = dups.iter().map(i32::to_string).collect();
            return Err(AdminError::Operation(format!(
                "Partition replica lists may not contain duplicate entries: {}",
                d.join(",")
            )));
        }
        let first_len = out.get(&0).map_or(brokers.len(), Vec::len);
        if brokers.len() != first_len {
            return Err(AdminError::Operation(format!(
                "Partition {i} has different replication factor: {list}"
            )));
        }
        out.insert(i as i32, brokers);
    }
    Ok(out)
}

/// Kafka's `IncludeList` topic filter: `,` means `|`, spaces and surrounding quotes are
/// dropped, and the regex must match the whole name.
pub struct TopicFilter(regex::Regex);

impl TopicFilter {
    pub fn new(raw: &str) -> AdminResult<TopicFilter> {
        let cleaned = raw.trim().replace(',', "|").replace(' ', "");
        let cleaned = cleaned.trim_start_matches(['"', '\'']);
        let cleaned = cleaned.trim_end_matches(['"', '\'']);
        regex::Regex::new(&format!("^(?:{cleaned})$"))
            .map(TopicFilter)
            .map_err(|_| AdminError::Operation(format!("{cleaned} is an invalid regex.")))
    }

    pub fn matches(&self, topic: &str) -> bool {
        self.0.is_match(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut TopicsArgs)) -> TopicsArgs {
        let mut a = TopicsArgs {
            zookeeper: Some("zk:2181".into()),
            ..Default::default()
        };
        f(&mut a);
        a
    }

    fn check(f: impl FnOnce(&mut TopicsArgs)) -> Result<(), String> {
        args(f).check().map_err(|e| e.0)
    }

    #[test]
    fn kafka_arg_checks() {
        assert_eq!(
            TopicsArgs::default().check().unwrap_err().0,
            "Create, delete, describe, or change a topic."
        );
        assert!(check(|a| a.list = true).is_ok());
        assert!(check(|a| {
            a.list = true;
            a.delete = true
        })
        .unwrap_err()
        .starts_with("Command must include exactly one action"));
        assert_eq!(
            check(|a| a.delete = true).unwrap_err(),
            "Missing required argument \"[topic]\""
        );
        assert_eq!(
            check(|a| {
                a.create = true;
                a.topic = Some("t".into());
                a.partitions = Some(1)
            })
            .unwrap_err(),
            "Missing required argument \"[replication-factor]\""
        );
        assert_eq!(
            check(|a| {
                a.create = true;
                a.topic = Some("t".into());
                a.partitions = Some(1);
                a.replica_assignment = Some("1".into())
            })
            .unwrap_err(),
            "Option \"[replica-assignment]\" can't be used with option \"[partitions]\""
        );
        assert_eq!(
            check(|a| {
                a.list = true;
                a.config = vec!["x=1".into()]
            })
            .unwrap_err(),
            "Option \"[config]\" can't be used with option \"[list]\""
        );
        assert_eq!(
            check(|a| {
                a.describe = true;
                a.under_min_isr_partitions = true
            })
            .unwrap_err(),
            "Option \"[under-min-isr-partitions]\" can't be used with option \"[zookeeper]\""
        );
        assert!(check(|a| {
            a.describe = true;
            a.under_replicated_partitions = true
        })
        .is_ok());
        assert!(check(|a| {
            a.zookeeper = None;
            a.list = true
        })
        .unwrap_err()
        .starts_with("Only one of --bootstrap-server or --zookeeper"));
    }

    #[test]
    fn config_values() {
        let c =
            parse_configs_to_add(&["retention.ms = 100".into(), "cleanup.policy=compact".into()])
                .unwrap();
        assert_eq!(c["retention.ms"], "100");
        assert_eq!(c["cleanup.policy"], "compact");
        for bad in ["retention.ms", "retention.ms=", "a=b=c"] {
            let e = parse_configs_to_add(&[bad.into()]).unwrap_err();
            assert!(
                e.to_string().contains("must be in the format \"key=val\""),
                "{bad}"
            );
        }
        assert_eq!(
            parse_configs_to_add(&["nope=1".into()])
                .unwrap_err()
                .to_string(),
            "Unknown topic config name: nope"
        );
        assert!(parse_configs_to_delete(&["nope".into()]).is_err());
        assert_eq!(
            parse_configs_to_delete(&[" retention.ms ".into()]).unwrap(),
            ["retention.ms"]
        );
    }

    #[test]
    fn replica_assignment_text() {
        let a = parse_replica_assignment("1:2, 2:3,3:1").unwrap();
        assert_eq!(a[&0], vec![1, 2]);
        assert_eq!(a[&1], vec![2, 3]);
        assert_eq!(a.len(), 3);
        assert_eq!(
            parse_replica_assignment("1:1:2").unwrap_err().to_string(),
            "Partition replica lists may not contain duplicate entries: 1"
        );
        assert!(parse_replica_assignment("1:2,3")
            .unwrap_err()
            .to_string()
            .starts_with("Partition 1 has different replication factor"));
        assert_eq!(
            parse_replica_assignment("1:x").unwrap_err().to_string(),
            "For input string: \"x\""
        );
    }

    #[test]
    fn topic_filter_is_a_whole_name_regex() {
        let f = TopicFilter::new("t.*,other").unwrap();
        assert!(f.matches("t1") && f.matches("other") && !f.matches("xt1") && !f.matches("others"));
        assert!(TopicFilter::new("\"t1\"").unwrap().matches("t1"));
        assert_eq!(
            TopicFilter::new("t(").err().unwrap().to_string(),
            "t( is an invalid regex."
        );
    }
}
