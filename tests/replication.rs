//! Replication (issue 5) with real ZooKeeper and three real brokers: followers copy the
//! leader's batches byte for byte, leaders shrink and expand ISRs themselves (classic path,
//! with `/isr_change_notification`), acks=all honours min.insync.replicas, unclean election,
//! divergent-tail truncation (KIP-101/279) and controlled shutdown.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, ProduceResponse};

use common::repl::*;
use common::*;

const T: Duration = Duration::from_secs(40);

/// Three brokers with replica.lag.time.max.ms = 3000 (ISR shrink within ~4.5 s).
async fn cluster(connect: &str, extra: &[(&str, &str)]) -> Vec<Broker> {
    let mut props = vec![
        ("replica.lag.time.max.ms", "3000"),
        ("controlled.shutdown.retry.backoff.ms", "500"),
    ];
    props.extend_from_slice(extra);
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| Broker::start(id, connect, &props))
        .collect();
    for b in &mut brokers {
        b.wait_listening(T);
    }
    let zk = zk_client(connect).await;
    wait_until_msg(T, "3 brokers registered and a controller", || async {
        zk.list_children("/brokers/ids")
            .await
            .map(|c| c.len() == 3)
            .unwrap_or(false)
            && zk.get_data("/controller").await.is_ok()
    })
    .await;
    brokers
}

fn by_id(brokers: &mut [Broker], id: i32) -> &mut Broker {
    brokers
        .iter_mut()
        .find(|b| b.id() == id)
        .expect("broker id")
}

async fn wait_state(
    zk: &zookeeper_client::Client,
    topic: &str,
    p: i32,
    what: &str,
    cond: impl Fn(&ZkPartitionState) -> bool,
) -> ZkPartitionState {
    let deadline = Instant::now() + T;
    loop {
        if let Some(s) = partition_state(zk, topic, p).await {
            if cond(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("{topic}-{p}: {what} not reached; state {s:?}");
            }
        } else if Instant::now() > deadline {
            panic!("{topic}-{p}: no state znode");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn val(i: usize) -> Vec<u8> {
    format!("value-{i}").into_bytes()
}

async fn assert_replicas_converge(brokers: &[Broker], leader: &Broker, topic: &str, p: i32) -> i64 {
    let mut c = client(&leader.bootstrap()).await.expect("connect leader");
    let dirs: Vec<&Path> = brokers.iter().map(|b| b.log_dir()).collect();
    let deadline = Instant::now() + T;
    loop {
        let (code, hw, _) = fetch(&mut c, topic, p, 0).await.expect("fetch");
        assert_eq!(code, 0);
        match replicas_identical_below(&dirs, topic, p, hw) {
            Ok(()) => return hw,
            Err(e) if Instant::now() > deadline => panic!("replicas of {topic}-{p} differ: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isr_shrinks_and_expands_and_acks_all_honours_min_isr() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    // A long session so SIGSTOPped followers stay registered: the leader, not the
    // controller, must be the one that shrinks the ISR.
    let mut brokers = cluster(&connect, &[("zookeeper.session.timeout.ms", "30000")]).await;
    let zk = zk_client(&connect).await;
    create_topic(
        &zk,
        "t1",
        &[(0, &[1, 2, 3])],
        &[("min.insync.replicas", "2")],
    )
    .await;
    let s0 = wait_state(&zk, "t1", 0, "ISR [1,2,3]", |s| {
        s.leader == 1 && s.isr.len() == 3
    })
    .await;

    // Followers replicate: identical batches up to the HW on every replica.
    let mut c = client(&brokers[0].bootstrap()).await.unwrap();
    wait_until(T, || async {
        fetch(
            &mut client(&brokers[0].bootstrap()).await.unwrap(),
            "t1",
            0,
            0,
        )
        .await
        .is_ok_and(|r| r.0 == 0)
    })
    .await;
    for i in 0..10 {
        let (code, base) = produce(&mut c, "t1", 0, -1, &[val(2 * i), val(2 * i + 1)])
            .await
            .unwrap();
        assert_eq!((code, base), (0, 2 * i as i64), "acks=all produce {i}");
    }
    let hw = assert_replicas_converge(&brokers, &brokers[0], "t1", 0).await;
    assert_eq!(hw, 20);

    // Follower 3 stops: the leader drops it from the ISR itself (same leader epoch) and
    // acks=all keeps working with ISR [1,2] = min.insync.replicas.
    by_id(&mut brokers, 3).sigstop();
    let stopped = Instant::now();
    // Pipelined on one connection: two acks=all produces that wait for the shrink, then an
    // ApiVersions the broker can answer at once. Responses must still come in request order.
    let mut produced = Vec::new();
    for v in [20usize, 21] {
        let id = c
            .send_oneway(&produce_request("t1", 0, -1, &[val(v)]), 7)
            .await
            .unwrap();
        produced.push((id, v as i64)); // value n goes to offset n
    }
    let third = c
        .send_oneway(&ApiVersionsRequest::default(), 0)
        .await
        .unwrap();
    for (want_id, want_base) in produced {
        let (id, r) = c.recv::<ProduceResponse>(7).await.unwrap();
        let p = &r.responses[0].partition_responses[0];
        assert_eq!(
            (id, p.error_code, p.base_offset),
            (want_id, 0, want_base),
            "pipelined acks=all produces succeed, in order, once the ISR shrank to [1,2]"
        );
    }
    let (id, r) = c.recv::<ApiVersionsResponse>(0).await.unwrap();
    assert_eq!(
        (id, r.error_code),
        (third, 0),
        "ApiVersions answered after the produces"
    );
    let s1 = wait_state(&zk, "t1", 0, "ISR [1,2]", |s| s.isr == vec![1, 2]).await;
    let shrink_ms = stopped.elapsed().as_millis();
    assert_eq!(
        s1.leader_epoch, s0.leader_epoch,
        "leader-written ISR keeps the leader epoch"
    );
    assert_eq!(s1.controller_epoch, s0.controller_epoch);
    assert!(brokers[0]
        .log_contents()
        .contains("Shrinking ISR from 1,2,3 to 1,2"));
    wait_until_msg(
        T,
        "isr_change_notification written and consumed",
        || async {
            brokers[0]
                .log_contents()
                .contains("Wrote ISR change notification")
                && zk
                    .list_children("/isr_change_notification")
                    .await
                    .is_ok_and(|c| c.is_empty())
        },
    )
    .await;
    wait_until_msg(T, "kcat sees ISR 1,2", || async {
        try_kcat_metadata(&brokers[1].bootstrap())
            .await
            .is_ok_and(|m| m.contains("isrs: 1,2\n") || m.contains("isrs: 1,2 "))
    })
    .await;
    eprintln!("ISR shrink visible in ZooKeeper {shrink_ms} ms after SIGSTOP");

    // Follower 2 stops too: the append succeeds but can only be acknowledged as
    // NOT_ENOUGH_REPLICAS_AFTER_APPEND; after that acks=all is refused before appending.
    by_id(&mut brokers, 2).sigstop();
    let (code, _) = produce(&mut c, "t1", 0, -1, &[val(21)]).await.unwrap();
    assert_eq!(code, 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND");
    wait_state(&zk, "t1", 0, "ISR [1]", |s| s.isr == vec![1]).await;
    let leo_before = disk_batches(brokers[0].log_dir(), "t1", 0)
        .last()
        .unwrap()
        .1;
    let (code, _) = produce(&mut c, "t1", 0, -1, &[val(99)]).await.unwrap();
    assert_eq!(code, 19, "NOT_ENOUGH_REPLICAS");
    assert_eq!(
        disk_batches(brokers[0].log_dir(), "t1", 0)
            .last()
            .unwrap()
            .1,
        leo_before,
        "nothing appended"
    );
    let (code, base) = produce(&mut c, "t1", 0, 1, &[val(22)]).await.unwrap();
    assert_eq!((code, base), (0, leo_before + 1), "acks=1 still works");

    // Both come back, catch up and rejoin the ISR.
    by_id(&mut brokers, 2).sigcont();
    by_id(&mut brokers, 3).sigcont();
    let s2 = wait_state(&zk, "t1", 0, "ISR of 3 again", |s| s.isr.len() == 3).await;
    assert_eq!(s2.leader_epoch, s0.leader_epoch);
    // The leader logs the expansion once ZooKeeper answered its write: soon after we see it.
    wait_until_msg(T, "the leader logs Expanding ISR", || async {
        brokers[0].log_contents().contains("Expanding ISR")
    })
    .await;
    assert_replicas_converge(&brokers, &brokers[0], "t1", 0).await;
    // Under ZKAFKA_TEST_INTER_BROKER=SASL_SSL: replication and the controller used it.
    common::security::assert_inter_broker_traffic_secured(&connect, &brokers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unclean_election_only_when_enabled() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers = cluster(&connect, &[("zookeeper.session.timeout.ms", "30000")]).await;
    let zk = zk_client(&connect).await;
    create_topic(&zk, "clean", &[(0, &[1, 2])], &[]).await;
    create_topic(
        &zk,
        "unclean",
        &[(0, &[1, 2])],
        &[("unclean.leader.election.enable", "true")],
    )
    .await;
    for t in ["clean", "unclean"] {
        wait_state(&zk, t, 0, "ISR [1,2]", |s| {
            s.leader == 1 && s.isr == vec![1, 2]
        })
        .await;
    }
    let mut c = client(&brokers[0].bootstrap()).await.unwrap();
    for t in ["clean", "unclean"] {
        wait_until(T, || async {
            produce(
                &mut client(&brokers[0].bootstrap()).await.unwrap(),
                t,
                0,
                1,
                &[val(0)],
            )
            .await
            .is_ok_and(|r| r.0 == 0)
        })
        .await;
    }
    // Follower 2 falls out of both ISRs, then the only in-sync replica (1) dies.
    by_id(&mut brokers, 2).sigstop();
    for t in ["clean", "unclean"] {
        produce(&mut c, t, 0, 1, &[val(1)]).await.unwrap();
        wait_state(&zk, t, 0, "ISR [1]", |s| s.isr == vec![1]).await;
    }
    by_id(&mut brokers, 1).kill9();
    by_id(&mut brokers, 2).sigcont();
    // The session of 1 must expire (30 s here) before the controller acts.
    let s = wait_state(&zk, "unclean", 0, "out-of-sync replica 2 elected", |s| {
        s.leader == 2
    })
    .await;
    assert_eq!(s.isr, vec![2]);
    // The controller logs the election after writing it to ZooKeeper.
    wait_until_msg(T, "the unclean election is logged", || async {
        let all_logs: String = brokers.iter().map(|b| b.log_contents()).collect();
        all_logs.contains("Unclean leader election for unclean-0")
            && all_logs.contains("data may be lost")
    })
    .await;
    // The controller writes the two partitions' states one after the other.
    wait_state(&zk, "clean", 0, "clean partition offline", |s| {
        s.leader == -1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(partition_state(&zk, "clean", 0).await.unwrap().leader, -1);
    // The ISR member returns: the clean partition comes back with it.
    by_id(&mut brokers, 1).restart();
    wait_state(&zk, "clean", 0, "leader 1 back", |s| s.leader == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn divergent_tail_is_truncated_to_the_new_leaders_epoch_end() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers = cluster(&connect, &[]).await;
    let zk = zk_client(&connect).await;
    create_topic(
        &zk,
        "d",
        &[(0, &[1, 2, 3])],
        &[("min.insync.replicas", "2")],
    )
    .await;
    wait_state(&zk, "d", 0, "ISR [1,2,3]", |s| {
        s.leader == 1 && s.isr.len() == 3
    })
    .await;
    let mut c = client(&brokers[0].bootstrap()).await.unwrap();
    wait_until(T, || async {
        produce(
            &mut client(&brokers[0].bootstrap()).await.unwrap(),
            "d",
            0,
            -1,
            &[val(0)],
        )
        .await
        .is_ok_and(|r| r.0 == 0)
    })
    .await;
    for i in 1..5 {
        assert_eq!(produce(&mut c, "d", 0, -1, &[val(i)]).await.unwrap().0, 0);
    }
    // Followers stop; the leader takes 3 unreplicated acks=1 batches and dies at once
    // (long before replica.lag.time.max.ms could shrink the ISR).
    by_id(&mut brokers, 2).sigstop();
    by_id(&mut brokers, 3).sigstop();
    // Let the followers' pending long-poll fetches (replica.fetch.wait.max.ms = 500) be
    // answered empty first, so no fetch response can carry the new batches to them.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for i in 5..8 {
        assert_eq!(
            produce(&mut c, "d", 0, 1, &[b"lost".to_vec(), val(i)])
                .await
                .unwrap()
                .0,
            0
        );
    }
    by_id(&mut brokers, 1).kill9();
    by_id(&mut brokers, 2).sigcont();
    by_id(&mut brokers, 3).sigcont();
    let killed = Instant::now();
    let s = wait_state(&zk, "d", 0, "new leader", |s| {
        s.leader == 2 || s.leader == 3
    })
    .await;
    eprintln!(
        "new leader {} elected {} ms after kill -9 of the leader",
        s.leader,
        killed.elapsed().as_millis()
    );
    let new_leader = s.leader;
    let mut c2 = client(&by_id(&mut brokers, new_leader).bootstrap())
        .await
        .unwrap();
    // ZooKeeper names the new leader before the controller's LeaderAndIsr reaches it: until
    // then it answers NOT_LEADER_OR_FOLLOWER, as Kafka does, and a client retries.
    let deadline = Instant::now() + T;
    for i in 5..8 {
        let (code, base) = loop {
            let r = produce(&mut c2, "d", 0, -1, &[val(100 + i)]).await.unwrap();
            if r.0 != 6 || i > 5 || Instant::now() > deadline {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            (code, base),
            (0, i as i64),
            "new leader continues at the committed end"
        );
    }
    by_id(&mut brokers, 1).restart();
    wait_state(&zk, "d", 0, "old leader back in ISR", |s| {
        s.isr.contains(&1)
    })
    .await;
    assert!(
        by_id(&mut brokers, 1)
            .log_contents()
            .contains("Truncated d-0"),
        "truncation logged"
    );
    let leader = by_id(&mut brokers, new_leader);
    let leader_bootstrap = leader.bootstrap();
    let hw = {
        let mut c = client(&leader_bootstrap).await.unwrap();
        let dirs: Vec<&Path> = brokers.iter().map(|b| b.log_dir()).collect();
        let deadline = Instant::now() + T;
        loop {
            let (_, hw, _) = fetch(&mut c, "d", 0, 0).await.unwrap();
            match replicas_identical_below(&dirs, "d", 0, hw) {
                Ok(()) => break hw,
                Err(e) if Instant::now() > deadline => panic!("{e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    };
    assert_eq!(hw, 8);
    let recs = records_of(
        &disk_batches(brokers[0].log_dir(), "d", 0)
            .into_iter()
            .flat_map(|b| b.2)
            .collect::<Vec<_>>(),
    );
    assert!(
        recs.iter().all(|(_, v)| v != b"lost"),
        "the divergent tail is gone from broker 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controlled_shutdown_moves_leadership_before_exit() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers = cluster(&connect, &[]).await;
    let zk = zk_client(&connect).await;
    // 12 partitions, 4 led by each broker.
    const ORDERS: [&[i32]; 3] = [&[1, 2, 3], &[2, 3, 1], &[3, 1, 2]];
    let assignment: Vec<(i32, &[i32])> = (0..12).map(|p| (p, ORDERS[p as usize % 3])).collect();
    create_topic(&zk, "cs", &assignment, &[]).await;
    for p in 0..12 {
        wait_state(&zk, "cs", p, "ISR of 3", |s| s.isr.len() == 3).await;
    }
    let b1 = by_id(&mut brokers, 1);
    let start = Instant::now();
    b1.sigterm();
    b1.wait_exit(T).expect("broker 1 exits");
    let took = start.elapsed();
    // Immediately after exit: nothing led by 1, and 1 is in no ISR.
    for p in 0..12 {
        let s = partition_state(&zk, "cs", p).await.unwrap();
        assert_ne!(
            s.leader, 1,
            "cs-{p} still led by the shut-down broker: {s:?}"
        );
        assert!(!s.isr.contains(&1), "cs-{p} ISR still has broker 1: {s:?}");
    }
    let log = b1.log_contents();
    assert!(
        log.contains("Controlled shutdown request returned successfully"),
        "{log}"
    );
    eprintln!(
        "controlled shutdown of a broker leading 4 and following 8 of 12 partitions: SIGTERM to exit {} ms",
        took.as_millis()
    );
    // Under ZKAFKA_TEST_INTER_BROKER=SASL_SSL: replication and the controller used it.
    common::security::assert_inter_broker_traffic_secured(&connect, &brokers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_behind_the_leaders_log_start_restarts_there() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers = cluster(
        &connect,
        &[
            ("zookeeper.session.timeout.ms", "30000"),
            ("log.retention.check.interval.ms", "500"),
        ],
    )
    .await;
    let zk = zk_client(&connect).await;
    // Tiny segments and retention: the leader deletes old data quickly.
    create_topic(
        &zk,
        "r",
        &[(0, &[1, 2, 3])],
        &[("segment.bytes", "1000"), ("retention.bytes", "1500")],
    )
    .await;
    wait_state(&zk, "r", 0, "ISR [1,2,3]", |s| {
        s.leader == 1 && s.isr.len() == 3
    })
    .await;
    wait_until(T, || async {
        produce(
            &mut client(&brokers[0].bootstrap()).await.unwrap(),
            "r",
            0,
            1,
            &[val(0)],
        )
        .await
        .is_ok_and(|r| r.0 == 0)
    })
    .await;
    by_id(&mut brokers, 3).sigstop();
    wait_state(&zk, "r", 0, "ISR [1,2]", |s| s.isr == vec![1, 2]).await;
    let mut c = client(&brokers[0].bootstrap()).await.unwrap();
    for i in 0..60 {
        assert_eq!(
            produce(&mut c, "r", 0, -1, &[vec![b'x'; 200], val(i)])
                .await
                .unwrap()
                .0,
            0
        );
    }
    let leader_start = wait_for(T, || async {
        let first = disk_batches(brokers[0].log_dir(), "r", 0)
            .first()
            .map(|b| b.0)?;
        (first > 10).then_some(first)
    })
    .await;
    by_id(&mut brokers, 3).sigcont();
    wait_state(&zk, "r", 0, "3 back in the ISR", |s| s.isr.len() == 3).await;
    let log3 = by_id(&mut brokers, 3).log_contents();
    assert!(
        log3.contains("Truncated r-0 fully"),
        "full truncation logged"
    );
    let first3 = disk_batches(by_id(&mut brokers, 3).log_dir(), "r", 0)
        .first()
        .map(|b| b.0)
        .unwrap();
    assert!(
        first3 >= leader_start,
        "follower restarted at or after the leader's start {leader_start}, has {first3}"
    );
    eprintln!("follower 3 restarted its log at {first3} (leader start was {leader_start} when it resumed)");
}
