//! `/metrics`: the broker's metrics in Prometheus text, named as the common jmx_exporter
//! rules (`kafka-2_0_0.yml`) name Kafka's MBeans: `kafka.server:type=ReplicaManager,
//! name=UnderReplicatedPartitions` becomes `kafka_server_replicamanager_underreplicatedpartitions`,
//! a meter `XPerSec` becomes `..._x_total`, a timer `..._count` plus `{quantile="0.99"}`.
//! State gauges are computed here from the broker's structures, as Kafka's gauges are
//! computed when JMX reads them; counters and timers come from `crate::metrics`.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kafka_protocol::messages::ApiKey;

use super::exposition::Exposition;
use super::state::{local_high_watermark, partition_views, PartitionView};
use super::Sources;
use crate::metrics::{
    BrokerMetrics, Histogram, API_SLOTS, FETCH_FOLLOWER_SLOT, MAX_VERSION, METRICS,
};
use crate::quota::client::{MetricTags, SensorSnapshot};
use crate::quota::{ClientQuotaManagers, ClientQuotaType, ReplicationQuotas};

/// Yammer's percentile attributes and jmx_exporter's `quantile` labels for them.
const QUANTILES: [(f64, &str); 6] = [
    (0.50, "0.50"),
    (0.75, "0.75"),
    (0.95, "0.95"),
    (0.98, "0.98"),
    (0.99, "0.99"),
    (0.999, "0.999"),
];

pub(super) async fn handler(State(s): State<Sources>) -> Response {
    let body = render(&s);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn render(s: &Sources) -> String {
    let mut e = Exposition::new();
    let partitions = partition_views(s);
    replica_manager(&mut e, &partitions);
    controller(
        &mut e,
        s.active_controller_id.load(Ordering::SeqCst) == s.state.broker_id,
    );
    broker_topic_metrics(&mut e, &METRICS);
    request_metrics(&mut e, &METRICS);
    partition_metrics(&mut e, &partitions);
    log_metrics(&mut e, &partitions);
    fetcher_metrics(&mut e, s);
    fetch_session_metrics(&mut e);
    replication_quota_metrics(&mut e, &s.replica_manager.replication_quotas);
    group_metrics(&mut e, s);
    quota_metrics(&mut e, &s.quotas, crate::controller::now_ms().max(0) as u64);
    process_metrics(&mut e);
    e.finish()
}

/// `kafka.server:type=FetchSessionCache` (FetchSession.scala): live incremental fetch
/// sessions and the partitions they cache.
fn fetch_session_metrics(e: &mut Exposition) {
    let g = "kafka_server_fetchsessioncache_";
    let sessions = METRICS.fetch_sessions.get() as f64;
    let partitions = METRICS.fetch_session_partitions.get() as f64;
    e.gauge(&format!("{g}numincrementalfetchsessions"), &[], sessions);
    e.gauge(
        &format!("{g}numincrementalfetchpartitionscached"),
        &[],
        partitions,
    );
}

/// `kafka.server:type=ReplicaManager` (ReplicaManager.scala): gauges over led partitions.
fn replica_manager(e: &mut Exposition, partitions: &[PartitionView]) {
    let led: Vec<&PartitionView> = partitions.iter().filter(|p| p.is_leader).collect();
    let count = |f: &dyn Fn(&PartitionView) -> bool| led.iter().filter(|p| f(p)).count() as f64;
    let g = "kafka_server_replicamanager_";
    e.gauge(
        &format!("{g}underreplicatedpartitions"),
        &[],
        count(&|p| p.isr.len() < p.replicas.len()),
    );
    e.gauge(
        &format!("{g}underminisrpartitioncount"),
        &[],
        count(&|p| p.isr.len() < p.min_isr),
    );
    e.gauge(
        &format!("{g}atminisrpartitioncount"),
        &[],
        count(&|p| p.isr.len() == p.min_isr),
    );
    e.gauge(&format!("{g}partitioncount"), &[], partitions.len() as f64);
    e.gauge(&format!("{g}leadercount"), &[], led.len() as f64);
    e.gauge(&format!("{g}offlinereplicacount"), &[], 0.0);
    e.counter(
        &format!("{g}isrshrinks_total"),
        &[],
        METRICS.isr_shrinks.get() as f64,
    );
    e.counter(
        &format!("{g}isrexpands_total"),
        &[],
        METRICS.isr_expands.get() as f64,
    );
    e.counter(
        &format!("{g}failedisrupdates_total"),
        &[],
        METRICS.failed_isr_updates.get() as f64,
    );
}

/// `kafka.controller:type=KafkaController` and `type=ControllerStats`: only the active
/// controller reports non-zero partition figures, as in Kafka.
fn controller(e: &mut Exposition, active: bool) {
    let g = "kafka_controller_kafkacontroller_";
    let if_active = |v: i64| if active { v as f64 } else { 0.0 };
    e.gauge(&format!("{g}activecontrollercount"), &[], if_active(1));
    e.gauge(
        &format!("{g}offlinepartitionscount"),
        &[],
        if_active(METRICS.offline_partitions.get()),
    );
    e.gauge(
        &format!("{g}globalpartitioncount"),
        &[],
        if_active(METRICS.global_partition_count.get()),
    );
    e.gauge(
        &format!("{g}globaltopiccount"),
        &[],
        if_active(METRICS.global_topic_count.get()),
    );
    e.gauge(
        &format!("{g}controllerstate"),
        &[],
        METRICS.controller_state.get() as f64,
    );
    let c = "kafka_controller_controllerstats_";
    e.counter(
        &format!("{c}uncleanleaderelections_total"),
        &[],
        METRICS.unclean_leader_elections.get() as f64,
    );
    timer(
        e,
        &format!("{c}leaderelectionrateandtimems"),
        &[],
        &METRICS.leader_election_time,
    );
}

/// A Yammer timer as jmx_exporter exports it: `_count` and the percentiles, in ms.
fn timer(e: &mut Exposition, name: &str, labels: &[(&str, &str)], h: &Histogram) {
    e.counter(&format!("{name}_count"), labels, h.count() as f64);
    for (q, label) in QUANTILES {
        let mut with_q = labels.to_vec();
        with_q.push(("quantile", label));
        e.gauge(name, &with_q, h.quantile_ms(q));
    }
}

/// `kafka.server:type=BrokerTopicMetrics` over all topics.
fn broker_topic_metrics(e: &mut Exposition, m: &BrokerMetrics) {
    let g = "kafka_server_brokertopicmetrics_";
    for (name, c) in [
        ("bytesin", &m.bytes_in),
        ("bytesout", &m.bytes_out),
        ("messagesin", &m.messages_in),
        ("replicationbytesin", &m.replication_bytes_in),
        ("replicationbytesout", &m.replication_bytes_out),
        ("failedproducerequests", &m.failed_produce_requests),
        ("failedfetchrequests", &m.failed_fetch_requests),
        ("totalproducerequests", &m.total_produce_requests),
        ("totalfetchrequests", &m.total_fetch_requests),
    ] {
        e.counter(&format!("{g}{name}_total"), &[], c.get() as f64);
    }
}

/// The `request` tag of a slot: ApiKeys names, Fetch split by who fetches.
fn request_name(slot: usize) -> Option<String> {
    match slot {
        1 => Some("FetchConsumer".into()),
        FETCH_FOLLOWER_SLOT => Some("FetchFollower".into()),
        _ => ApiKey::try_from(slot as i16).ok().map(|k| format!("{k:?}")),
    }
}

/// `kafka.network:type=RequestMetrics` (RequestsPerSec by version, TotalTimeMs) for every
/// API that has seen a request, and `type=RequestChannel,name=RequestQueueSize`.
fn request_metrics(e: &mut Exposition, m: &BrokerMetrics) {
    let used: Vec<(usize, String)> = (0..API_SLOTS)
        .filter(|i| m.requests[*i].total_time.count() > 0)
        .filter_map(|i| Some((i, request_name(i)?)))
        .collect();
    for (i, name) in &used {
        for v in 0..MAX_VERSION {
            let n = m.requests[*i].requests_per_version[v].get();
            if n > 0 {
                let version = v.to_string();
                e.counter(
                    "kafka_network_requestmetrics_requests_total",
                    &[("request", name), ("version", &version)],
                    n as f64,
                );
            }
        }
    }
    for (i, name) in &used {
        let h = &m.requests[*i].total_time;
        e.counter(
            "kafka_network_requestmetrics_totaltimems_count",
            &[("request", name)],
            h.count() as f64,
        );
    }
    for (i, name) in &used {
        for (q, label) in QUANTILES {
            let h = &m.requests[*i].total_time;
            e.gauge(
                "kafka_network_requestmetrics_totaltimems",
                &[("request", name), ("quantile", label)],
                h.quantile_ms(q),
            );
        }
    }
    e.gauge(
        "kafka_network_requestchannel_requestqueuesize",
        &[],
        m.request_queue_size.get() as f64,
    );
}

/// `kafka.cluster:type=Partition,...,topic=T,partition=P` (Partition.scala): leader-side
/// figures, 0 on followers as in Kafka.
fn partition_metrics(e: &mut Exposition, partitions: &[PartitionView]) {
    type Figure = fn(&PartitionView) -> f64;
    let figures: [(&str, Figure); 5] = [
        ("underreplicated", |p| {
            (p.isr.len() < p.replicas.len()) as u8 as f64
        }),
        ("underminisr", |p| (p.isr.len() < p.min_isr) as u8 as f64),
        ("atminisr", |p| (p.isr.len() == p.min_isr) as u8 as f64),
        ("insyncreplicascount", |p| p.isr.len() as f64),
        ("replicascount", |p| p.replicas.len() as f64),
    ];
    for (name, f) in figures {
        let family = format!("kafka_cluster_partition_{name}");
        for p in partitions {
            let partition = p.tp.partition.to_string();
            let v = if p.is_leader { f(p) } else { 0.0 };
            e.gauge(
                &family,
                &[("topic", &p.tp.topic), ("partition", &partition)],
                v,
            );
        }
    }
}

/// `kafka.log:type=Log,name=...,topic=T,partition=P` (Log.scala).
fn log_metrics(e: &mut Exposition, partitions: &[PartitionView]) {
    type Figure = fn(&super::state::LogView) -> f64;
    let figures: [(&str, Figure); 4] = [
        ("logendoffset", |l| l.log_end_offset as f64),
        ("logstartoffset", |l| l.log_start_offset as f64),
        ("size", |l| l.size as f64),
        ("numlogsegments", |l| l.segments.len() as f64),
    ];
    for (name, f) in figures {
        let family = format!("kafka_log_log_{name}");
        for p in partitions {
            if let Some(l) = &p.log {
                let partition = p.tp.partition.to_string();
                e.gauge(
                    &family,
                    &[("topic", &p.tp.topic), ("partition", &partition)],
                    f(l),
                );
            }
        }
    }
}

/// `kafka.server:type=ReplicaFetcherManager,name=MaxLag,clientId=Replica` and the per-partition
/// `type=FetcherLagMetrics,name=ConsumerLag` (the leader's high watermark minus our fetch offset).
fn fetcher_metrics(e: &mut Exposition, s: &Sources) {
    let lags = s.replica_manager.fetcher_manager.lags();
    let max = lags.iter().map(|l| l.3).max().unwrap_or(0);
    e.gauge(
        "kafka_server_replicafetchermanager_maxlag",
        &[("clientId", "Replica")],
        max as f64,
    );
    for (tp, leader, _, lag) in &lags {
        let client = format!("ReplicaFetcherThread-0-{leader}");
        let partition = tp.partition.to_string();
        e.gauge(
            "kafka_server_fetcherlagmetrics_consumerlag",
            &[
                ("clientId", &client),
                ("topic", &tp.topic),
                ("partition", &partition),
            ],
            *lag as f64,
        );
    }
}

/// `kafka.server:type=LeaderReplication` / `type=FollowerReplication`, attribute `byte-rate`
/// (ReplicationQuotaManager): the measured rate of throttled replication traffic, in bytes/s.
fn replication_quota_metrics(e: &mut Exposition, quotas: &ReplicationQuotas) {
    for q in [&quotas.leader, &quotas.follower] {
        let family = format!(
            "kafka_server_{}_byte_rate",
            q.replication_type().name().to_lowercase()
        );
        e.gauge(&family, &[], q.byte_rate());
    }
}

/// `kafka.coordinator.group:type=GroupMetadataManager` (NumGroups by state, NumOffsets) and,
/// named as kafka_exporter names them, each group's committed offsets and lag for partitions
/// hosted here.
fn group_metrics(e: &mut Exposition, s: &Sources) {
    let groups = s.group_coordinator.manager.all_groups();
    let mut by_state = std::collections::BTreeMap::<&str, usize>::new();
    let (mut offsets, mut lags) = (0, Vec::new());
    for g in &groups {
        let g = g.lock().expect("group lock");
        *by_state.entry(g.state.name()).or_default() += 1;
        offsets += g.offsets.len();
        for ((topic, partition), o) in &g.offsets {
            let lag = local_high_watermark(s, topic, *partition).map(|hw| (hw - o.offset).max(0));
            lags.push((g.group_id.clone(), topic.clone(), *partition, o.offset, lag));
        }
    }
    let g = "kafka_coordinator_group_groupmetadatamanager_";
    e.gauge(&format!("{g}numgroups"), &[], groups.len() as f64);
    e.gauge(&format!("{g}numoffsets"), &[], offsets as f64);
    for state in [
        "Stable",
        "PreparingRebalance",
        "CompletingRebalance",
        "Empty",
        "Dead",
    ] {
        let n = by_state.get(state).copied().unwrap_or(0);
        e.gauge(
            &format!("{g}numgroups{}", state.to_lowercase()),
            &[],
            n as f64,
        );
    }
    lags.sort();
    for (group, topic, partition, offset, _) in &lags {
        let p = partition.to_string();
        let labels = [
            ("consumergroup", group.as_str()),
            ("topic", topic),
            ("partition", &p),
        ];
        e.gauge(
            "kafka_consumergroup_current_offset",
            &labels,
            *offset as f64,
        );
    }
    for (group, topic, partition, _, lag) in &lags {
        if let Some(lag) = lag {
            let p = partition.to_string();
            let labels = [
                ("consumergroup", group.as_str()),
                ("topic", topic),
                ("partition", &p),
            ];
            e.gauge("kafka_consumergroup_lag", &labels, *lag as f64);
        }
    }
}

/// Client quota sensors (`kafka.server:type=Produce|Fetch|Request,user=U,client-id=C`), named
/// as jmx_exporter's quota rule names them: `kafka_server_quota_<attribute>` with labels
/// `resource`, `user`, `clientId`; a tag the matched quota level does not use is left out,
/// as Kafka leaves it out of the MBean name. Only entities seen since a quota was configured.
fn quota_metrics(e: &mut Exposition, quotas: &ClientQuotaManagers, now_ms: u64) {
    let sensors: Vec<_> = ClientQuotaType::ALL
        .iter()
        .map(|t| (*t, quotas.get(*t).snapshot(now_ms)))
        .collect();
    let labels = |t: ClientQuotaType, tags: &MetricTags| {
        let mut l = vec![("resource", t.metric_group().to_string())];
        if !tags.user.is_empty() {
            l.push(("user", tags.user.clone()));
        }
        if !tags.client_id.is_empty() {
            l.push(("clientId", tags.client_id.clone()));
        }
        l
    };
    type Figure = fn(&SensorSnapshot) -> f64;
    let families: [(&str, bool, Figure); 3] = [
        ("kafka_server_quota_byte_rate", false, |s| s.rate),
        ("kafka_server_quota_request_time", true, |s| s.rate),
        ("kafka_server_quota_throttle_time", false, |s| {
            s.throttle_time_avg_ms
        }),
    ];
    for (name, request_only, figure) in families {
        for (t, snapshot) in &sensors {
            // byte-rate belongs to Produce/Fetch, request-time to Request; throttle-time to all.
            let is_request = *t == ClientQuotaType::Request;
            if name != "kafka_server_quota_throttle_time" && is_request != request_only {
                continue;
            }
            for s in snapshot {
                let l = labels(*t, &s.tags);
                let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
                e.gauge(name, &l, figure(s));
            }
        }
    }
}

/// The standard process collector's figures, from /proc/self.
fn process_metrics(e: &mut Exposition) {
    let p = super::process::read();
    if let Some(cpu) = p.cpu_seconds {
        e.counter("process_cpu_seconds_total", &[], cpu);
    }
    if let Some(rss) = p.resident_bytes {
        e.gauge("process_resident_memory_bytes", &[], rss as f64);
    }
    if let Some(vm) = p.virtual_bytes {
        e.gauge("process_virtual_memory_bytes", &[], vm as f64);
    }
    if let Some(start) = p.start_time_seconds {
        e.gauge("process_start_time_seconds", &[], start);
    }
    if let Some(fds) = p.open_fds {
        e.gauge("process_open_fds", &[], fds as f64);
    }
    if let Some(max) = p.max_fds {
        e.gauge("process_max_fds", &[], max as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::TopicPartition;

    /// The Prometheus names the common jmx_exporter rules give Kafka's MBeans (operations
    /// §6.3 of the reference notes); `/metrics` must use exactly these.
    const JMX_EXPORTER_NAMES: &[&str] = &[
        "kafka_server_replicamanager_underreplicatedpartitions",
        "kafka_server_replicamanager_underminisrpartitioncount",
        "kafka_server_replicamanager_isrshrinks_total",
        "kafka_server_replicamanager_isrexpands_total",
        "kafka_controller_kafkacontroller_offlinepartitionscount",
        "kafka_controller_kafkacontroller_activecontrollercount",
        "kafka_controller_kafkacontroller_controllerstate",
        "kafka_controller_controllerstats_uncleanleaderelections_total",
        "kafka_controller_controllerstats_leaderelectionrateandtimems_count",
        "kafka_controller_controllerstats_leaderelectionrateandtimems",
        "kafka_server_brokertopicmetrics_bytesin_total",
        "kafka_server_brokertopicmetrics_bytesout_total",
        "kafka_server_brokertopicmetrics_messagesin_total",
        "kafka_network_requestmetrics_requests_total",
        "kafka_network_requestmetrics_totaltimems_count",
        "kafka_network_requestmetrics_totaltimems",
        "kafka_network_requestchannel_requestqueuesize",
        "kafka_cluster_partition_underminisr",
        "kafka_server_leaderreplication_byte_rate",
        "kafka_server_followerreplication_byte_rate",
    ];

    fn families(text: &str) -> std::collections::BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .map(str::to_string)
            .collect()
    }

    fn demo_partition() -> PartitionView {
        PartitionView {
            tp: TopicPartition::new("demo", 0),
            is_leader: true,
            leader: 1,
            leader_epoch: 3,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2],
            min_isr: 2,
            log: Some(super::super::state::LogView {
                log_start_offset: 0,
                log_end_offset: 42,
                high_watermark: 40,
                size: 4096,
                segments: vec![0, 30],
            }),
            followers: vec![],
        }
    }

    fn render_without_sources() -> String {
        let mut e = Exposition::new();
        let partitions = [demo_partition()];
        replica_manager(&mut e, &partitions);
        controller(&mut e, true);
        broker_topic_metrics(&mut e, &METRICS);
        METRICS.record_request(0, 9, std::time::Duration::from_millis(3));
        request_metrics(&mut e, &METRICS);
        partition_metrics(&mut e, &partitions);
        log_metrics(&mut e, &partitions);
        let quotas = ReplicationQuotas::new(crate::quota::QuotaWindow::default());
        quotas.leader.record(20_000);
        replication_quota_metrics(&mut e, &quotas);
        e.finish()
    }

    #[test]
    fn names_follow_the_jmx_exporter_rules() {
        let text = render_without_sources();
        let emitted = families(&text);
        for name in JMX_EXPORTER_NAMES {
            assert!(emitted.contains(*name), "{name} missing from:\n{text}");
        }
        assert!(text.contains(
            "kafka_network_requestmetrics_requests_total{request=\"Produce\",version=\"9\"}"
        ));
        assert!(text.contains(
            "kafka_network_requestmetrics_totaltimems{request=\"Produce\",quantile=\"0.99\"}"
        ));
        assert!(text.contains(
            "kafka_controller_controllerstats_leaderelectionrateandtimems{quantile=\"0.99\"}"
        ));
    }

    #[test]
    fn quota_sensors_are_named_as_jmx_exporter_names_them() {
        use crate::quota::{EntityName, QuotaEntity, QuotaWindow};
        let q = ClientQuotaManagers::new(QuotaWindow::default(), None, None);
        let app = QuotaEntity::new(None, Some(EntityName::Name("app".into())));
        q.produce.update_quota(app, Some(1000.0));
        q.produce
            .record_and_get_throttle_time_ms("ANONYMOUS", "app", 20_000.0, 0);
        q.produce.record_throttle("ANONYMOUS", "app", 10_000, 0);
        let mut e = Exposition::new();
        quota_metrics(&mut e, &q, 0);
        let text = e.finish();
        assert!(
            text.contains(
                "kafka_server_quota_byte_rate{resource=\"Produce\",clientId=\"app\"} 2000\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "kafka_server_quota_throttle_time{resource=\"Produce\",clientId=\"app\"} 10000\n"
            ),
            "{text}"
        );
        assert!(!text.contains("Fetch"), "{text}");
    }

    #[test]
    fn gauges_describe_the_partitions() {
        let text = render_without_sources();
        assert!(
            text.contains("\nkafka_server_replicamanager_underreplicatedpartitions 1\n"),
            "{text}"
        );
        assert!(text.contains("\nkafka_server_replicamanager_underminisrpartitioncount 0\n"));
        assert!(text
            .contains("kafka_cluster_partition_underreplicated{topic=\"demo\",partition=\"0\"} 1"));
        assert!(text.contains("kafka_log_log_logendoffset{topic=\"demo\",partition=\"0\"} 42"));
        assert!(text.contains("kafka_log_log_numlogsegments{topic=\"demo\",partition=\"0\"} 2"));
        assert!(
            text.contains("\nkafka_server_leaderreplication_byte_rate 20000\n"),
            "{text}"
        );
        assert!(
            text.contains("\nkafka_server_followerreplication_byte_rate 0"),
            "{text}"
        );
    }
}
