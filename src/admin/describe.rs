//! `kafka-topics.sh --describe` output in Kafka 2.8's format (zookeeper-layout.md §9), as pure
//! functions over already-read znode data so the formatting is testable without ZooKeeper.

use std::collections::{BTreeMap, BTreeSet};

/// One partition as `--describe` sees it: assignment plus (optional) state znode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionView {
    pub partition: i32,
    /// `None` when the state znode is missing or its leader is -1.
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    /// Empty when the state znode is missing.
    pub isr: Vec<i32>,
    /// Its reassignment in progress (`--bootstrap-server` only, as in Kafka).
    pub reassignment: Option<Reassignment>,
}

/// A reassignment in progress as ListPartitionReassignments lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reassignment {
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

impl PartitionView {
    /// Kafka's `leaderOpt`: only -1 means "no leader"; any other id is shown as is.
    pub fn new(partition: i32, replicas: Vec<i32>, state: Option<(i32, Vec<i32>)>) -> Self {
        let (leader, isr) = match state {
            Some((leader, isr)) => ((leader != -1).then_some(leader), isr),
            None => (None, Vec::new()),
        };
        PartitionView {
            partition,
            leader,
            replicas,
            isr,
            reassignment: None,
        }
    }

    /// Kafka's `getReplicationFactor`: while a reassignment is in progress (some of the
    /// partition's replicas are being added or removed) the adding ones do not count.
    pub fn replication_factor(&self) -> usize {
        match &self.reassignment {
            Some(r)
                if self
                    .replicas
                    .iter()
                    .any(|b| r.adding.contains(b) || r.removing.contains(b)) =>
            {
                r.replicas.iter().filter(|b| !r.adding.contains(b)).count()
            }
            _ => self.replicas.len(),
        }
    }

    pub fn is_under_replicated(&self) -> bool {
        self.isr.len() < self.replication_factor()
    }

    /// No leader, or a leader that is not registered under `/brokers/ids`.
    pub fn is_unavailable(&self, live_brokers: &BTreeSet<i32>) -> bool {
        !self.leader.is_some_and(|l| live_brokers.contains(&l))
    }

    /// No leader, or fewer in sync than the topic's `min.insync.replicas` (when known).
    pub fn is_under_min_isr(&self, min_isr: Option<i32>) -> bool {
        self.leader.is_none() || min_isr.is_some_and(|m| (self.isr.len() as i64) < i64::from(m))
    }

    /// Exactly `min.insync.replicas` in sync (Kafka does not look at the leader here).
    pub fn is_at_min_isr(&self, min_isr: Option<i32>) -> bool {
        min_isr.is_some_and(|m| self.isr.len() as i64 == i64::from(m))
    }
}

/// A topic as `--describe` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicView {
    pub name: String,
    pub topic_id: Option<String>,
    /// Sorted by partition id.
    pub partitions: Vec<PartitionView>,
    pub configs: BTreeMap<String, String>,
    pub marked_for_deletion: bool,
    /// The topic's effective `min.insync.replicas`: known with `--bootstrap-server` only
    /// (DescribeConfigs), as in Kafka, whose ZooKeeper mode refuses the min-ISR reports.
    pub min_isr: Option<i32>,
}

/// The `--describe` report switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DescribeFilter {
    pub under_replicated: bool,
    pub unavailable: bool,
    pub under_min_isr: bool,
    pub at_min_isr: bool,
    pub topics_with_overrides: bool,
}

impl DescribeFilter {
    /// No report switch: the topic header and every partition are printed.
    fn describes_all(&self) -> bool {
        !self.under_replicated && !self.unavailable && !self.under_min_isr && !self.at_min_isr
    }

    /// `DescribeOptions.shouldPrintTopicPartition`.
    fn shows(&self, p: &PartitionView, min_isr: Option<i32>, live: &BTreeSet<i32>) -> bool {
        self.describes_all()
            || (self.under_replicated && p.is_under_replicated())
            || (self.unavailable && p.is_unavailable(live))
            || (self.under_min_isr && p.is_under_min_isr(min_isr))
            || (self.at_min_isr && p.is_at_min_isr(min_isr))
    }
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// The lines (each ending in `\n`) that `--describe` prints for one topic.
pub fn describe_topic(
    topic: &TopicView,
    filter: DescribeFilter,
    live_brokers: &BTreeSet<i32>,
) -> String {
    let marked = if topic.marked_for_deletion {
        "\tMarkedForDeletion: true"
    } else {
        ""
    };
    // The report switches turn the topic header off; --topics-with-overrides turns the
    // partition lines off and keeps only topics that have overrides.
    let describe_configs = filter.describes_all();
    let describe_partitions = !filter.topics_with_overrides;
    let mut out = String::new();
    if describe_configs && (!filter.topics_with_overrides || !topic.configs.is_empty()) {
        out.push_str(&format!("Topic: {}", topic.name));
        if let Some(id) = &topic.topic_id {
            out.push_str(&format!("\tTopicId: {id}"));
        }
        let rf = topic
            .partitions
            .first()
            .map_or(0, PartitionView::replication_factor);
        let configs: Vec<String> = topic
            .configs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!(
            "\tPartitionCount: {}\tReplicationFactor: {rf}\tConfigs: {}{marked}\n",
            topic.partitions.len(),
            configs.join(",")
        ));
    }
    if describe_partitions {
        for p in &topic.partitions {
            if !filter.shows(p, topic.min_isr, live_brokers) {
                continue;
            }
            let leader = p
                .leader
                .map_or_else(|| "none".to_string(), |l| l.to_string());
            let moving = p.reassignment.as_ref().map_or(String::new(), |r| {
                format!(
                    "\tAdding Replicas: {}\tRemoving Replicas: {}",
                    join(&r.adding),
                    join(&r.removing)
                )
            });
            out.push_str(&format!(
                "\tTopic: {}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}{moving}{marked}\n",
                topic.name,
                p.partition,
                join(&p.replicas),
                join(&p.isr)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders() -> TopicView {
        TopicView {
            name: "orders".into(),
            topic_id: Some("hhGwnQ0gRxOqd8tRBXW5Jw".into()),
            partitions: vec![
                PartitionView::new(0, vec![1, 2], Some((1, vec![1, 2]))),
                PartitionView::new(1, vec![2, 1], Some((-1, vec![2]))),
            ],
            configs: [("retention.ms".to_string(), "86400000".to_string())].into(),
            marked_for_deletion: false,
            min_isr: None,
        }
    }

    fn live() -> BTreeSet<i32> {
        [1, 2].into()
    }

    #[test]
    fn kafka_2_8_layout_example() {
        assert_eq!(
            describe_topic(&orders(), DescribeFilter::default(), &live()),
            "Topic: orders\tTopicId: hhGwnQ0gRxOqd8tRBXW5Jw\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: retention.ms=86400000\n\
             \tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\n\
             \tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,1\tIsr: 2\n"
        );
    }

    #[test]
    fn no_id_no_state_and_marked_for_deletion() {
        let t = TopicView {
            name: "t1".into(),
            topic_id: None,
            partitions: vec![PartitionView::new(0, vec![3, 1], None)],
            configs: BTreeMap::new(),
            marked_for_deletion: true,
            min_isr: None,
        };
        assert_eq!(
            describe_topic(&t, DescribeFilter::default(), &live()),
            "Topic: t1\tPartitionCount: 1\tReplicationFactor: 2\tConfigs: \tMarkedForDeletion: true\n\
             \tTopic: t1\tPartition: 0\tLeader: none\tReplicas: 3,1\tIsr: \tMarkedForDeletion: true\n"
        );
    }

    #[test]
    fn report_filters() {
        let mut t = orders();
        t.partitions
            .push(PartitionView::new(2, vec![3, 1], Some((3, vec![3, 1]))));
        let under = DescribeFilter {
            under_replicated: true,
            ..Default::default()
        };
        assert_eq!(
            describe_topic(&t, under, &live()),
            "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,1\tIsr: 2\n"
        );
        let unavailable = DescribeFilter {
            unavailable: true,
            ..Default::default()
        };
        // Partition 1 has no leader; partition 2's leader (3) is not registered.
        let text = describe_topic(&t, unavailable, &live());
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("Partition: 1\t") && text.contains("Partition: 2\t"));
        let overrides = DescribeFilter {
            topics_with_overrides: true,
            ..Default::default()
        };
        assert_eq!(
            describe_topic(&t, overrides, &live()).lines().count(),
            1,
            "header only"
        );
        t.configs.clear();
        assert_eq!(describe_topic(&t, overrides, &live()), "");
    }

    #[test]
    fn reassignment_in_progress() {
        let mut p = PartitionView::new(0, vec![3, 1, 2], Some((1, vec![1, 2])));
        p.reassignment = Some(Reassignment {
            replicas: vec![3, 1, 2],
            adding: vec![3],
            removing: vec![2],
        });
        let t = TopicView {
            partitions: vec![p],
            ..orders()
        };
        // The adding replica does not count: RF 2, and an ISR of 2 is not under-replicated.
        assert_eq!(
            describe_topic(&t, DescribeFilter::default(), &live()).lines().collect::<Vec<_>>(),
            [
                "Topic: orders\tTopicId: hhGwnQ0gRxOqd8tRBXW5Jw\tPartitionCount: 1\tReplicationFactor: 2\tConfigs: retention.ms=86400000",
                "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 3,1,2\tIsr: 1,2\tAdding Replicas: 3\tRemoving Replicas: 2"
            ]
        );
        let under = DescribeFilter {
            under_replicated: true,
            ..Default::default()
        };
        assert_eq!(describe_topic(&t, under, &live()), "");
    }

    #[test]
    fn min_isr_reports() {
        let mut t = orders();
        t.partitions
            .push(PartitionView::new(2, vec![1, 2], Some((1, vec![1]))));
        let under = DescribeFilter {
            under_min_isr: true,
            ..Default::default()
        };
        let at = DescribeFilter {
            at_min_isr: true,
            ..Default::default()
        };
        // Unknown min.insync.replicas: only leaderless partitions are under it, none at it.
        assert_eq!(
            describe_topic(&t, under, &live()),
            "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,1\tIsr: 2\n"
        );
        assert_eq!(describe_topic(&t, at, &live()), "");
        t.min_isr = Some(2);
        let text = describe_topic(&t, under, &live());
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("Partition: 1\t") && text.contains("Partition: 2\t"));
        assert_eq!(
            describe_topic(&t, at, &live()),
            "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\n"
        );
        // At min ISR counts the ISR alone, leader or not (Kafka's isAtMinIsrPartitions).
        t.min_isr = Some(1);
        let text = describe_topic(&t, at, &live());
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("Partition: 1\t") && text.contains("Partition: 2\t"));
    }
}
