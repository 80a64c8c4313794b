//! Topics from ZooKeeper to bytes on disk (issue 4, cluster side): topic znodes as the stock
//! tools write them (v1 and v3), the controller's partition states, CreateTopics /
//! CreatePartitions / DeleteTopics / DescribeConfigs, auto-creation, and runtime config changes.

mod common;

use std::time::Duration;

use common::*;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use zkafka::network::client::BrokerClient;

const T: Duration = Duration::from_secs(30);

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all())
}

async fn controller_id(zk: &zookeeper_client::Client) -> i32 {
    let (data, _) = zk.get_data("/controller").await.unwrap();
    serde_json::from_slice::<Value>(&data).unwrap()["brokerid"]
        .as_i64()
        .unwrap() as i32
}

async fn client(b: &Broker) -> BrokerClient {
    BrokerClient::connect(&b.bootstrap(), "topics-api-test", T, T)
        .await
        .unwrap()
}

/// Leaders per partition of `topic` as kcat (librdkafka) sees them through `bootstrap`.
async fn leaders(bootstrap: &str, topic: &str) -> Vec<i64> {
    let meta = kcat_metadata_json(bootstrap).await;
    let Some(t) = meta["topics"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["topic"] == topic))
    else {
        return vec![];
    };
    let mut parts: Vec<(i64, i64)> = t["partitions"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["partition"].as_i64().unwrap(),
                        p["leader"].as_i64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    parts.sort();
    parts.into_iter().map(|(_, l)| l).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_tool_znodes_v1_and_v3_become_usable_topics() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let brokers = start_cluster(&connect, &[]).await;
    let zk = zk_client(&connect).await;
    // Exactly what kafka-topics.sh 2.1 (v1) and 2.8 (v3) write: config first, then the topic.
    zk.create(
        "/config/topics/old",
        br#"{"version":1,"config":{}}"#,
        &persistent(),
    )
    .await
    .unwrap();
    zk.create(
        "/brokers/topics/old",
        br#"{"version":1,"partitions":{"2":[1,3,2],"1":[3,2,1],"0":[2,1,3]}}"#,
        &persistent(),
    )
    .await
    .unwrap();
    zk.create(
        "/config/topics/new",
        br#"{"version":1,"config":{"retention.ms":"86400000"}}"#,
        &persistent(),
    )
    .await
    .unwrap();
    let v3 = br#"{"version":3,"partitions":{"0":[3,1],"1":[1,2]},"adding_replicas":{},"removing_replicas":{}}"#;
    zk.create("/brokers/topics/new", v3, &persistent())
        .await
        .unwrap();

    let epoch = wait_for(T, || async { zk.get_data("/controller_epoch").await.ok() })
        .await
        .0;
    let epoch = String::from_utf8(epoch).unwrap();
    for (topic, p, leader, isr) in [
        ("old", 0, 2, "[2,1,3]"),
        ("old", 2, 1, "[1,3,2]"),
        ("new", 0, 3, "[3,1]"),
    ] {
        let path = format!("/brokers/topics/{topic}/partitions/{p}/state");
        let (data, stat) = wait_for(T, || async { zk.get_data(&path).await.ok() }).await;
        let expected = format!(
            r#"{{"controller_epoch":{epoch},"leader":{leader},"version":1,"leader_epoch":0,"isr":{isr}}}"#
        );
        assert_eq!(
            String::from_utf8(data).unwrap(),
            expected,
            "{path} is Kafka's JSON"
        );
        assert_eq!(stat.version, 0);
    }
    for b in &brokers {
        let bootstrap = b.bootstrap();
        wait_until_msg(
            T,
            format!("broker {} serves leaders of both topics", b.id()),
            || {
                let bootstrap = bootstrap.clone();
                async move {
                    leaders(&bootstrap, "old").await == vec![2, 3, 1]
                        && leaders(&bootstrap, "new").await == vec![3, 1]
                }
            },
        )
        .await;
    }
    // Each replica has its partition directory on disk.
    assert!(
        brokers[0].log_dir().join("old-0").is_dir() && brokers[0].log_dir().join("new-1").is_dir()
    );
    assert!(
        !brokers[1].log_dir().join("new-0").exists(),
        "broker 2 is not a replica of new-0"
    );
}

fn creatable(name: &str, partitions: i32, rf: i16) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(TopicName(StrBytes::from_string(name.into())))
        .with_num_partitions(partitions)
        .with_replication_factor(rf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_alter_delete_topics_through_the_api() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let brokers = start_cluster(&connect, &[]).await;
    let zk = zk_client(&connect).await;
    let ctrl = controller_id(&zk).await;
    let controller = brokers.iter().find(|b| b.id() == ctrl).unwrap();
    let other = brokers.iter().find(|b| b.id() != ctrl).unwrap();
    let mut c = client(controller).await;

    // Not the controller: NOT_CONTROLLER, as in Kafka.
    let req = CreateTopicsRequest::default()
        .with_topics(vec![creatable("t", 2, 2)])
        .with_timeout_ms(10_000);
    let resp = client(other).await.send(&req, 5).await.unwrap();
    assert_eq!(resp.topics[0].error_code, 41);

    // validate_only writes nothing.
    let resp = c
        .send(&req.clone().with_validate_only(true), 5)
        .await
        .unwrap();
    assert_eq!(
        (resp.topics[0].error_code, resp.topics[0].num_partitions),
        (0, 2)
    );
    assert!(zk.check_stat("/brokers/topics/t").await.unwrap().is_none());

    let cfg = CreatableTopicConfig::default()
        .with_name(StrBytes::from_static_str("segment.bytes"))
        .with_value(Some(StrBytes::from_static_str("1048576")));
    let mut topic = creatable("t", 2, 2);
    topic.configs = vec![cfg];
    let resp = c
        .send(
            &CreateTopicsRequest::default()
                .with_topics(vec![topic])
                .with_timeout_ms(10_000),
            5,
        )
        .await
        .unwrap();
    assert_eq!(
        resp.topics[0].error_code, 0,
        "{:?}",
        resp.topics[0].error_message
    );
    let (data, _) = zk.get_data("/config/topics/t").await.unwrap();
    assert_eq!(
        data,
        br#"{"version":1,"config":{"segment.bytes":"1048576"}}"#
    );
    let v: Value =
        serde_json::from_slice(&zk.get_data("/brokers/topics/t").await.unwrap().0).unwrap();
    assert_eq!(v["version"], 3);
    assert_eq!(v["partitions"].as_object().unwrap().len(), 2);

    // Errors carry Kafka's codes.
    let resp = c.send(&req, 5).await.unwrap();
    assert_eq!(resp.topics[0].error_code, 36, "TOPIC_ALREADY_EXISTS");
    let resp = c
        .send(
            &CreateTopicsRequest::default().with_topics(vec![creatable("big", 1, 4)]),
            5,
        )
        .await
        .unwrap();
    assert_eq!(resp.topics[0].error_code, 38, "INVALID_REPLICATION_FACTOR");
    let resp = c
        .send(
            &CreateTopicsRequest::default().with_topics(vec![creatable("bad/name", 1, 1)]),
            5,
        )
        .await
        .unwrap();
    assert_eq!(resp.topics[0].error_code, 17, "INVALID_TOPIC_EXCEPTION");

    // A config without a value refuses its topic only (ZkAdminManager.createTopics); an
    // existing topic is still reported as existing.
    let config = |name: &'static str, value: Option<&'static str>| {
        CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str(name))
            .with_value(value.map(StrBytes::from_static_str))
    };
    let mut nulls = creatable("nulls", 1, 1);
    nulls.configs = vec![
        config("segment.bytes", None),
        config("cleanup.policy", Some("compact")),
        config("retention.ms", None),
    ];
    let mut exists = creatable("t", 1, 1);
    exists.configs = vec![config("retention.ms", None)];
    let topics = vec![nulls, creatable("fine", 1, 1), exists];
    let req = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_validate_only(true);
    let resp = c.send(&req, 5).await.unwrap();
    let got: Vec<(i16, Option<String>)> = resp
        .topics
        .iter()
        .map(|t| {
            (
                t.error_code,
                t.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    let msg = "Null value not supported for topic configs : segment.bytes,retention.ms";
    assert_eq!(got[0], (42, Some(msg.to_string())), "INVALID_REQUEST");
    assert_eq!(got[1].0, 0, "the other topic is fine: {got:?}");
    assert_eq!(got[2].0, 36, "TOPIC_ALREADY_EXISTS: {got:?}");

    // DescribeConfigs shows the override and the defaults.
    let res = DescribeConfigsResource::default()
        .with_resource_type(2)
        .with_resource_name(StrBytes::from_static_str("t"))
        .with_configuration_keys(None);
    let resp = c
        .send(
            &DescribeConfigsRequest::default().with_resources(vec![res]),
            3,
        )
        .await
        .unwrap();
    let configs = &resp.results[0].configs;
    let seg = configs
        .iter()
        .find(|e| e.name.as_str() == "segment.bytes")
        .unwrap();
    assert_eq!(
        (seg.value.as_deref(), seg.config_source),
        (Some("1048576"), 1)
    );
    let ret = configs
        .iter()
        .find(|e| e.name.as_str() == "retention.ms")
        .unwrap();
    assert_eq!(
        (ret.value.as_deref(), ret.config_source),
        (Some("604800000"), 5)
    );

    // More partitions while clients are connected.
    let cp = CreatePartitionsTopic::default()
        .with_name(TopicName(StrBytes::from_static_str("t")))
        .with_count(4)
        .with_assignments(None);
    let resp = c
        .send(
            &CreatePartitionsRequest::default()
                .with_topics(vec![cp])
                .with_timeout_ms(10_000),
            3,
        )
        .await
        .unwrap();
    assert_eq!(
        resp.results[0].error_code, 0,
        "{:?}",
        resp.results[0].error_message
    );
    let bootstrap = other.bootstrap();
    wait_until_msg(T, "4 partitions with leaders", || {
        let b = bootstrap.clone();
        async move { leaders(&b, "t").await.iter().filter(|l| **l > 0).count() == 4 }
    })
    .await;

    // Delete: directories renamed for deletion and every znode gone, admin request last.
    let dt = DeleteTopicsRequest::default()
        .with_topic_names(vec![TopicName(StrBytes::from_static_str("t"))])
        .with_timeout_ms(15_000);
    let resp = c.send(&dt, 4).await.unwrap();
    assert_eq!(resp.responses[0].error_code, 0);
    for path in [
        "/brokers/topics/t",
        "/config/topics/t",
        "/admin/delete_topics/t",
    ] {
        wait_until_msg(T, format!("{path} deleted"), || async {
            zk.check_stat(path).await.unwrap().is_none()
        })
        .await;
    }
    for b in &brokers {
        let live: Vec<String> = std::fs::read_dir(b.log_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("t-") && !n.ends_with("-delete"))
            .collect();
        assert!(live.is_empty(), "broker {} still has {live:?}", b.id());
    }
    let resp = c.send(&dt, 4).await.unwrap();
    assert_eq!(
        resp.responses[0].error_code, 3,
        "deleting a missing topic: UNKNOWN_TOPIC_OR_PARTITION"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_creation_follows_the_broker_setting() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let on = Broker::start(1, &connect, &[("num.partitions", "3")]);
    let zk = zk_client(&connect).await;
    wait_until_msg(T, "controller", || async {
        zk.check_stat("/controller").await.unwrap().is_some()
    })
    .await;
    let bootstrap = on.bootstrap();
    wait_until_msg(T, "auto-created topic with 3 leaders", || {
        let b = bootstrap.clone();
        async move {
            let _ = kcat(&["-b", &b, "-L", "-t", "auto1", "-m", "5"]).await;
            leaders(&b, "auto1").await == vec![1, 1, 1]
        }
    })
    .await;
    let (data, _) = zk.get_data("/config/topics/auto1").await.unwrap();
    assert_eq!(data, br#"{"version":1,"config":{}}"#);

    let off = Broker::start(2, &connect, &[("auto.create.topics.enable", "false")]);
    let b = off.bootstrap();
    wait_until_msg(T, "broker 2 serving", || {
        let b = b.clone();
        async move { try_kcat_metadata(&b).await.is_ok() }
    })
    .await;
    let out = kcat(&["-b", &off.bootstrap(), "-L", "-t", "never", "-m", "5"])
        .await
        .unwrap_or_else(|e| e);
    assert!(
        out.contains("Unknown topic or partition") || out.contains("Broker: Unknown topic"),
        "{out}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(zk
        .check_stat("/brokers/topics/never")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_config_changes_apply_while_running() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let brokers = start_cluster(&connect, &[]).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args([
            "topics",
            "--zookeeper",
            &connect,
            "--create",
            "--topic",
            "cfg",
            "--partitions",
            "1",
            "--replication-factor",
            "3",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .args([
            "topics",
            "--zookeeper",
            &connect,
            "--alter",
            "--topic",
            "cfg",
            "--config",
            "retention.ms=1234",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for b in &brokers {
        wait_until_msg(
            T,
            format!("broker {} applies the override", b.id()),
            || async {
                b.log_contents().contains(
                    "entityPath: topics/cfg: applied to 1 local partition(s) (retention.ms=1234",
                )
            },
        )
        .await;
    }
}
