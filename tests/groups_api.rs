//! Consumer groups through raw requests (issue 6): FindCoordinator creating
//! `__consumer_offsets`, the join/sync/heartbeat protocol, rebalances, bad input, offsets in
//! Kafka's record format, offsets surviving a kill -9 of the coordinator, and a group whose
//! last member's session expired going straight to Empty.

mod common;

use std::time::Duration;

use common::groups::*;
use common::*;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use zkafka::coordinator::records::{self, RecordKey};
use zkafka::network::client::BrokerClient;

const BROKER_SETTINGS: &[(&str, &str)] = &[
    ("offsets.topic.num.partitions", "6"),
    ("offsets.topic.replication.factor", "1"),
    ("group.initial.rebalance.delay.ms", "0"),
];

fn commit(
    group: &str,
    member: &str,
    generation: i32,
    topic: &str,
    offsets: &[(i32, i64)],
) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(sb(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(sb(topic)))
            .with_partitions(
                offsets
                    .iter()
                    .map(|(p, o)| {
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(*p)
                            .with_committed_offset(*o)
                            .with_committed_metadata(Some(sb("")))
                    })
                    .collect(),
            )])
}

/// Committed offsets of `topic` partitions 0..n as (partition, offset), retrying while the
/// coordinator loads.
async fn fetch(c: &mut BrokerClient, group: &str, topic: &str, n: i32) -> Vec<(i32, i64)> {
    let req = OffsetFetchRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(sb(topic)))
            .with_partition_indexes((0..n).collect())]));
    for _ in 0..300 {
        let resp = c.send(&req, 7).await.unwrap();
        if matches!(resp.error_code, 14..=16) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        assert_eq!(resp.error_code, 0, "OffsetFetch error");
        return resp.topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.committed_offset))
            .collect();
    }
    panic!("coordinator still loading");
}

fn sync(
    group: &str,
    generation: i32,
    member: &str,
    assignments: &[(&str, &[u8])],
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_generation_id(generation)
        .with_member_id(sb(member))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(sb(m))
                        .with_assignment(bytes::Bytes::copy_from_slice(a))
                })
                .collect(),
        )
}

fn heartbeat(group: &str, generation: i32, member: &str) -> HeartbeatRequest {
    HeartbeatRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_generation_id(generation)
        .with_member_id(sb(member))
}

async fn describe(c: &mut BrokerClient, group: &str) -> describe_groups_response::DescribedGroup {
    let resp = c
        .send(
            &DescribeGroupsRequest::default().with_groups(vec![GroupId(sb(group))]),
            5,
        )
        .await
        .unwrap();
    resp.groups[0].clone()
}

/// Every (key, value) record in the `__consumer_offsets` partition dirs under `log_dir`.
fn offsets_topic_records(log_dir: &std::path::Path) -> Vec<(RecordKey, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(log_dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with("__consumer_offsets-") {
            continue;
        }
        for f in std::fs::read_dir(entry.path()).unwrap().flatten() {
            if f.path().extension().is_some_and(|e| e == "log") {
                let bytes = std::fs::read(f.path()).unwrap();
                for (pos, h) in zkafka::log::batch::HeaderIter::new(&bytes) {
                    let batch = &bytes[pos..pos + h.size()];
                    for r in zkafka::log::batch::parse_records(batch).unwrap() {
                        let key = records::read_key(r.key.unwrap()).unwrap();
                        out.push((key, r.value.map(|v| v.to_vec())));
                    }
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_protocol_rebalances_and_bad_input() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let brokers = start_cluster(&connect, BROKER_SETTINGS).await;
    create_topic(&brokers, "t", 4, 1).await;

    // The first FindCoordinator creates __consumer_offsets as Kafka does.
    let group = "my-group";
    let (coord_id, coord_addr) = find_coordinator(&brokers[0].bootstrap(), group).await;
    let zk = zk_client(&connect).await;
    let (cfg, _) = zk
        .get_data("/config/topics/__consumer_offsets")
        .await
        .unwrap();
    let cfg: serde_json::Value = serde_json::from_slice(&cfg).unwrap();
    assert_eq!(cfg["config"]["cleanup.policy"], "compact");
    assert_eq!(cfg["config"]["compression.type"], "producer");
    assert_eq!(cfg["config"]["segment.bytes"], "104857600");
    let (assignment, _) = zk
        .get_data("/brokers/topics/__consumer_offsets")
        .await
        .unwrap();
    let assignment: serde_json::Value = serde_json::from_slice(&assignment).unwrap();
    assert_eq!(assignment["partitions"].as_object().unwrap().len(), 6);
    // Java's "my-group".hashCode() = -1906497762 → partition 0 of 6... the leader of it answers.
    assert_eq!(zkafka::coordinator::java_abs_hash(group) % 6, 0);

    // A non-coordinator answers NOT_COORDINATOR.
    let other = brokers.iter().find(|b| b.id() != coord_id).unwrap();
    let mut wrong = client(&other.bootstrap()).await;
    let resp = wrong
        .send(&join_request(group, "", "consumer", &["t"]), 5)
        .await
        .unwrap();
    assert_eq!(resp.error_code, 16);

    // Member A joins alone: generation 1, leader, then syncs its assignment.
    let mut a = client(&coord_addr).await;
    let ja = join(&mut a, group, &["t"]).await;
    assert_eq!(ja.error_code, 0);
    assert_eq!(ja.generation_id, 1);
    assert_eq!(ja.leader, ja.member_id);
    assert_eq!(ja.members.len(), 1);
    let a_id = ja.member_id.to_string();
    let s = a
        .send(&sync(group, 1, &a_id, &[(&a_id, b"assign-a")]), 5)
        .await
        .unwrap();
    assert_eq!((s.error_code, &s.assignment[..]), (0, &b"assign-a"[..]));
    assert_eq!(
        a.send(&heartbeat(group, 1, &a_id), 4)
            .await
            .unwrap()
            .error_code,
        0
    );
    let d = describe(&mut a, group).await;
    assert_eq!(
        (d.group_state.as_str(), d.protocol_data.as_str()),
        ("Stable", "range")
    );
    assert_eq!(d.members[0].client_host.as_str(), "/127.0.0.1");
    assert_eq!(&d.members[0].member_assignment[..], b"assign-a");

    // Commits by the member are stored and fetched back.
    let r = a
        .send(&commit(group, &a_id, 1, "t", &[(0, 5), (1, 7)]), 8)
        .await
        .unwrap();
    assert!(
        r.topics[0].partitions.iter().all(|p| p.error_code == 0),
        "{r:?}"
    );
    assert_eq!(fetch(&mut a, group, "t", 2).await, vec![(0, 5), (1, 7)]);

    // Bad input, and the group is unharmed afterwards.
    let mut bad = client(&coord_addr).await;
    let r = bad
        .send(&join_request(group, "", "connect", &["t"]), 5)
        .await
        .unwrap();
    assert_eq!(
        r.error_code, 23,
        "incompatible protocol type: INCONSISTENT_GROUP_PROTOCOL"
    );
    let r = bad.send(&sync(group, 0, &a_id, &[]), 5).await.unwrap();
    assert_eq!(r.error_code, 22, "stale generation: ILLEGAL_GENERATION");
    let r = bad
        .send(&commit(group, "not-a-member", 1, "t", &[(0, 99)]), 8)
        .await
        .unwrap();
    assert_eq!(
        r.topics[0].partitions[0].error_code, 25,
        "non-member commit: UNKNOWN_MEMBER_ID"
    );
    let r = bad
        .send(&commit(group, &a_id, 1, "no-such-topic", &[(0, 1)]), 8)
        .await
        .unwrap();
    assert_eq!(r.topics[0].partitions[0].error_code, 3);
    assert_eq!(
        a.send(&heartbeat(group, 1, &a_id), 4)
            .await
            .unwrap()
            .error_code,
        0
    );
    assert_eq!(fetch(&mut a, group, "t", 2).await, vec![(0, 5), (1, 7)]);
    assert_eq!(describe(&mut a, group).await.group_state.as_str(), "Stable");

    // Member B joins: A learns of the rebalance from its heartbeat and rejoins; both get
    // generation 2 and the leader sees both members.
    let coord = coord_addr.clone();
    let b_join = tokio::spawn(async move {
        let mut b = client(&coord).await;
        let jb = join(&mut b, group, &["t"]).await;
        (b, jb)
    });
    common::wait_until_msg(T, "A told to rejoin", || {
        let coord = coord_addr.clone();
        let a_id = a_id.clone();
        async move {
            let mut c = client(&coord).await;
            c.send(&heartbeat(group, 1, &a_id), 4)
                .await
                .unwrap()
                .error_code
                == 27
        }
    })
    .await;
    let ja2 = a
        .send(&join_request(group, &a_id, "consumer", &["t"]), 5)
        .await
        .unwrap();
    let (mut b, jb) = b_join.await.unwrap();
    assert_eq!((ja2.error_code, jb.error_code), (0, 0));
    assert_eq!((ja2.generation_id, jb.generation_id), (2, 2));
    assert_eq!(ja2.leader.as_str(), a_id, "the old leader stays leader");
    assert_eq!(ja2.members.len(), 2);
    assert!(jb.members.is_empty(), "followers get no member list");
    let b_id = jb.member_id.to_string();
    // The follower's SyncGroup waits for the leader's.
    let b_sync = tokio::spawn(async move {
        let r = b
            .send(&sync(group, 2, &jb.member_id, &[]), 5)
            .await
            .unwrap();
        (b, r)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sa = a
        .send(&sync(group, 2, &a_id, &[(&a_id, b"A2"), (&b_id, b"B2")]), 5)
        .await
        .unwrap();
    let (mut b, sb_resp) = b_sync.await.unwrap();
    assert_eq!(
        (&sa.assignment[..], &sb_resp.assignment[..]),
        (&b"A2"[..], &b"B2"[..])
    );
    // A commit from the old generation is refused.
    let r = a
        .send(&commit(group, &a_id, 1, "t", &[(0, 6)]), 8)
        .await
        .unwrap();
    assert_eq!(r.topics[0].partitions[0].error_code, 22);

    // ListGroups on the coordinator; DeleteGroups refuses a non-empty group.
    let lg = a.send(&ListGroupsRequest::default(), 4).await.unwrap();
    assert!(lg
        .groups
        .iter()
        .any(|g| g.group_id.as_str() == group && g.group_state.as_str() == "Stable"));
    let dg = a
        .send(
            &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb(group))]),
            2,
        )
        .await
        .unwrap();
    assert_eq!(dg.results[0].error_code, 68);

    // Both leave in one batched LeaveGroup (v3): the group becomes Empty.
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_members(vec![
            MemberIdentity::default().with_member_id(sb(&a_id)),
            MemberIdentity::default().with_member_id(sb(&b_id)),
        ]);
    let r = b.send(&leave, 3).await.unwrap();
    assert_eq!(r.error_code, 0);
    assert!(r.members.iter().all(|m| m.error_code == 0));
    let d = describe(&mut a, group).await;
    assert_eq!((d.group_state.as_str(), d.members.len()), ("Empty", 0));
    assert_eq!(fetch(&mut a, group, "t", 2).await, vec![(0, 5), (1, 7)]);

    // What reached the log is in Kafka's schemas: offset commits (key v1, value v3) and the
    // group at generation 1, 2 and Empty (key v2, value v3).
    let coordinator = brokers.iter().find(|b| b.id() == coord_id).unwrap();
    let group_records = |recs: &[(RecordKey, Option<Vec<u8>>)]| {
        recs.iter()
            .filter(|(k, _)| matches!(k, RecordKey::Group { group: g } if g == group))
            .count()
    };
    common::wait_until_msg(T, "the Empty group is written", || async {
        group_records(&offsets_topic_records(coordinator.log_dir())) == 3
    })
    .await;
    let recs = offsets_topic_records(coordinator.log_dir());
    let commits: Vec<_> = recs
        .iter()
        .filter_map(|(k, v)| match k {
            RecordKey::Offset {
                group: g,
                topic,
                partition,
            } if g == group => Some((
                topic.clone(),
                *partition,
                records::read_offset_value(v.as_ref()?).ok()?.offset,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(commits, vec![("t".into(), 0, 5), ("t".into(), 1, 7)]);
    let generations: Vec<(i32, usize)> = recs
        .iter()
        .filter_map(|(k, v)| match k {
            RecordKey::Group { group: g } if g == group => {
                let g = records::read_group_value(v.as_ref()?).ok()?;
                Some((g.generation, g.members.len()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(generations, vec![(1, 1), (2, 2), (3, 0)]);

    // Now empty, it can be deleted; its offsets go with it.
    let dg = a
        .send(
            &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb(group))]),
            2,
        )
        .await
        .unwrap();
    assert_eq!(dg.results[0].error_code, 0);
    assert_eq!(fetch(&mut a, group, "t", 2).await, vec![(0, -1), (1, -1)]);
    assert_eq!(describe(&mut a, group).await.group_state.as_str(), "Dead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_kill_9_of_the_coordinator() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    let mut brokers = start_cluster(&connect, BROKER_SETTINGS).await;
    create_topic(&brokers, "t", 3, 1).await;
    let group = "survivor";
    // A "simple" consumer: no membership, generation -1. Like a real client it retries while
    // the just-created __consumer_offsets partition is still loading on its new leader
    // (COORDINATOR_LOAD_IN_PROGRESS 14, NOT_COORDINATOR 16).
    let deadline = std::time::Instant::now() + T;
    let coord_id = loop {
        let (coord_id, coord_addr) = find_coordinator(&brokers[0].bootstrap(), group).await;
        let r = client(&coord_addr)
            .await
            .send(&commit(group, "", -1, "t", &[(0, 11), (1, 22), (2, 33)]), 8)
            .await
            .unwrap();
        let codes: Vec<i16> = r.topics[0]
            .partitions
            .iter()
            .map(|p| p.error_code)
            .collect();
        if codes.iter().all(|&c| c == 0) {
            break coord_id;
        }
        assert!(
            codes.iter().all(|c| [14, 16].contains(c)) && std::time::Instant::now() < deadline,
            "{r:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let idx = brokers.iter().position(|b| b.id() == coord_id).unwrap();
    brokers[idx].kill9();
    brokers[idx].restart();
    brokers[idx].wait_listening(T);
    // The restarted broker leads its offsets partition again and reloads it from the log.
    let (_, addr) = find_coordinator(&brokers[(idx + 1) % 3].bootstrap(), group).await;
    let mut c = client(&addr).await;
    let mut got = Vec::new();
    for _ in 0..300 {
        match tokio::time::timeout(T, fetch(&mut c, group, "t", 3)).await {
            Ok(v) if v.iter().all(|(_, o)| *o >= 0) => {
                got = v;
                break;
            }
            _ => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let (_, addr) = find_coordinator(&brokers[(idx + 1) % 3].bootstrap(), group).await;
                c = client(&addr).await;
            }
        }
    }
    assert_eq!(got, vec![(0, 11), (1, 22), (2, 33)]);
    let d = describe(&mut c, group).await;
    assert_eq!(d.group_state.as_str(), "Empty");
}

/// A member whose session expires takes its group straight to Empty, as Kafka completes
/// that rebalance when the member is removed: DescribeGroups never shows a rebalance
/// waiting for nobody (before, PreparingRebalance with 0 members until the 5-minute
/// rebalance timeout ran out), and it does so at the session's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_of_the_last_member_leaves_the_group_empty() {
    let ens = ZkEnsemble::start(1);
    let mut broker = Broker::start(1, &ens.connect_string(), BROKER_SETTINGS);
    broker.wait_listening(T);
    let group = "expiring";
    let (_, addr) = find_coordinator(&broker.bootstrap(), group).await;
    let mut c = client(&addr).await;
    let join_req = |member: &str| {
        join_request(group, member, "consumer", &["t"])
            .with_session_timeout_ms(6000)
            .with_rebalance_timeout_ms(300_000)
    };
    let first = c.send(&join_req(""), 5).await.unwrap();
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED first");
    let joined = c.send(&join_req(&first.member_id), 5).await.unwrap();
    assert_eq!(joined.error_code, 0);
    let member = joined.member_id.to_string();
    let synced = c
        .send(
            &sync(group, joined.generation_id, &member, &[(&member, b"a")]),
            3,
        )
        .await
        .unwrap();
    assert_eq!(synced.error_code, 0);

    let synced_at = std::time::Instant::now();

    // No more heartbeats: the session ends 6 s after the SyncGroup (the member's last sign of
    // life, answered before `synced_at`). Kafka's timer fires at that deadline, so a request
    // just after it finds the group Empty (not a tick later: librdkafka's 0081 deletes its
    // groups 6 s after closing static members whose session is 6 s).
    tokio::time::sleep_until((synced_at + Duration::from_millis(6005)).into()).await;
    let d = describe(&mut c, group).await;
    assert_eq!(
        (d.group_state.as_str(), d.members.len()),
        ("Empty", 0),
        "group {group} just after its last member's session ended"
    );
    let deleted = c
        .send(
            &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb(group))]),
            2,
        )
        .await
        .unwrap();
    assert_eq!(deleted.results[0].error_code, 0, "DeleteGroups");
}
