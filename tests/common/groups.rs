//! Helpers for consumer-group tests: a 3-broker cluster, topic creation, finding a group's
//! coordinator and speaking the group protocol with raw requests.

use std::time::Duration;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use zkafka::network::client::BrokerClient;

use super::Broker;

pub const T: Duration = Duration::from_secs(60);

pub fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub async fn client(addr: &str) -> BrokerClient {
    BrokerClient::connect(addr, "groups-test", T, T)
        .await
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"))
}

/// Creates `topic` through whichever broker is the controller.
pub async fn create_topic(brokers: &[Broker], topic: &str, partitions: i32, rf: i16) {
    let req = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(sb(topic)))
            .with_num_partitions(partitions)
            .with_replication_factor(rf)])
        .with_timeout_ms(30_000);
    for _ in 0..100 {
        for b in brokers {
            let Ok(mut c) = BrokerClient::connect(&b.bootstrap(), "groups-test", T, T).await else {
                continue;
            };
            if let Ok(resp) = c.send(&req, 5).await {
                match resp.topics[0].error_code {
                    0 | 36 => return,
                    41 => continue,
                    e => panic!("CreateTopics {topic}: error {e}"),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no controller accepted CreateTopics for {topic}");
}

/// FindCoordinator until it names a broker; returns (broker id, "host:port").
pub async fn find_coordinator(bootstrap: &str, group: &str) -> (i32, String) {
    let mut c = client(bootstrap).await;
    let deadline = std::time::Instant::now() + T;
    loop {
        let resp = c
            .send(&FindCoordinatorRequest::default().with_key(sb(group)), 3)
            .await
            .unwrap();
        if resp.error_code == 0 {
            return (resp.node_id.0, format!("{}:{}", resp.host, resp.port));
        }
        assert_eq!(resp.error_code, 15, "FindCoordinator error");
        assert!(
            std::time::Instant::now() < deadline,
            "no coordinator for {group}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A consumer-protocol subscription (v0): topics, no user data.
pub fn subscription(topics: &[&str]) -> bytes::Bytes {
    let mut b = vec![0, 0];
    b.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for t in topics {
        b.extend_from_slice(&(t.len() as i16).to_be_bytes());
        b.extend_from_slice(t.as_bytes());
    }
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.into()
}

pub fn join_request(
    group: &str,
    member_id: &str,
    protocol_type: &str,
    topics: &[&str],
) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(sb(member_id))
        .with_protocol_type(sb(protocol_type))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(sb("range"))
            .with_metadata(subscription(topics))])
}

/// JoinGroup v5 including the MEMBER_ID_REQUIRED round trip.
pub async fn join(c: &mut BrokerClient, group: &str, topics: &[&str]) -> JoinGroupResponse {
    let first = c
        .send(&join_request(group, "", "consumer", topics), 5)
        .await
        .unwrap();
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED first");
    assert!(!first.member_id.is_empty());
    c.send(
        &join_request(group, &first.member_id, "consumer", topics),
        5,
    )
    .await
    .unwrap()
}
