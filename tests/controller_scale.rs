//! The controller and the brokers with hundreds of partitions (issue 18), with real
//! ZooKeeper and three real brokers: a re-sent or stale LeaderAndIsr is answered as Kafka
//! answers it (never a panic), a broker failure re-elects every partition it led with one
//! write per partition state znode (never leader -1 while an ISR member is alive), a
//! restarted broker rejoins every ISR with one write per partition, several per ZooKeeper
//! transaction, and a controlled shutdown moves every leadership away before the broker exits.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::{BrokerId, LeaderAndIsrRequest, LeaderAndIsrResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use common::repl::*;
use common::*;

const T: Duration = Duration::from_secs(60);
const STALE_CONTROLLER_EPOCH: i16 = 11;

async fn cluster(connect: &str) -> Vec<Broker> {
    let props = [("controlled.shutdown.retry.backoff.ms", "500")];
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

/// `n` partitions with RF=2, each broker preferred leader of a third: [1,2], [2,3], [3,1], ...
async fn create_spread_topic(zk: &zookeeper_client::Client, topic: &str, n: i32) {
    const ORDERS: [&[i32]; 3] = [&[1, 2], &[2, 3], &[3, 1]];
    let assignment: Vec<(i32, &[i32])> = (0..n).map(|p| (p, ORDERS[p as usize % 3])).collect();
    create_topic(zk, topic, &assignment, &[]).await;
    wait_all_states(zk, topic, n, "every partition led with an ISR of 2", |s| {
        s.leader > 0 && s.isr.len() == 2
    })
    .await;
}

/// Waits until every partition's state satisfies `cond`; returns the states.
async fn wait_all_states(
    zk: &zookeeper_client::Client,
    topic: &str,
    n: i32,
    what: &str,
    cond: impl Fn(&ZkPartitionState) -> bool,
) -> BTreeMap<i32, ZkPartitionState> {
    let deadline = std::time::Instant::now() + T;
    loop {
        let states = all_states(zk, topic, n).await;
        let bad: Vec<_> = (0..n)
            .filter(|p| !states.get(p).is_some_and(&cond))
            .collect();
        if bad.is_empty() {
            return states;
        }
        if std::time::Instant::now() > deadline {
            let p = bad[0];
            panic!(
                "{topic}: {what}: not reached for {} partitions, e.g. {p}: {:?}",
                bad.len(),
                states.get(&p)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn all_states(
    zk: &zookeeper_client::Client,
    topic: &str,
    n: i32,
) -> BTreeMap<i32, ZkPartitionState> {
    let reads = (0..n).map(|p| async move { (p, partition_state(zk, topic, p).await) });
    futures::future::join_all(reads)
        .await
        .into_iter()
        .filter_map(|(p, s)| Some((p, s?)))
        .collect()
}

async fn controller_id(zk: &zookeeper_client::Client) -> i32 {
    let (data, _) = zk.get_data("/controller").await.expect("/controller");
    let v: serde_json::Value = serde_json::from_slice(&data).expect("controller json");
    v["brokerid"].as_i64().expect("brokerid") as i32
}

async fn controller_epoch(zk: &zookeeper_client::Client) -> i32 {
    let (data, _) = zk.get_data("/controller_epoch").await.expect("epoch");
    String::from_utf8_lossy(&data)
        .trim()
        .parse()
        .expect("epoch")
}

/// LeaderAndIsr v4 for one partition, as the controller sends it.
fn leader_and_isr(
    controller: i32,
    controller_epoch: i32,
    topic: &str,
    s: &ZkPartitionState,
    leader_epoch: i32,
    leader: &Broker,
) -> LeaderAndIsrRequest {
    let ids = |v: &[i32]| v.iter().copied().map(BrokerId).collect::<Vec<_>>();
    let state = LeaderAndIsrPartitionState::default()
        .with_partition_index(0)
        .with_controller_epoch(s.controller_epoch)
        .with_leader(BrokerId(s.leader))
        .with_leader_epoch(leader_epoch)
        .with_isr(ids(&s.isr))
        .with_partition_epoch(s.zk_version)
        .with_replicas(ids(&[1, 2]));
    LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(controller))
        .with_controller_epoch(controller_epoch)
        .with_broker_epoch(-1)
        .with_topic_states(vec![LeaderAndIsrTopicState::default()
            .with_topic_name(TopicName(StrBytes::from_string(topic.into())))
            .with_partition_states(vec![state])])
        .with_live_leaders(vec![LeaderAndIsrLiveLeader::default()
            .with_broker_id(BrokerId(leader.id()))
            .with_host_name(StrBytes::from_static_str("127.0.0.1"))
            .with_port(i32::from(leader.port()))])
}

async fn send_twice_at_once(addr: &str, req: &LeaderAndIsrRequest) -> [LeaderAndIsrResponse; 2] {
    let mut a = client(addr).await.expect("connect");
    let mut b = client(addr).await.expect("connect");
    let (ra, rb) = tokio::join!(a.send(req, 4), b.send(req, 4));
    [
        ra.expect("LeaderAndIsr answer"),
        rb.expect("LeaderAndIsr answer"),
    ]
}

fn partition_codes(r: &LeaderAndIsrResponse) -> Vec<i16> {
    r.partition_errors.iter().map(|e| e.error_code).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resent_or_stale_leader_and_isr_is_answered_not_a_panic() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let brokers = cluster(&connect).await;
    let zk = zk_client(&connect).await;
    create_topic(&zk, "resent", &[(0, &[1, 2])], &[]).await;
    let s = wait_all_states(&zk, "resent", 1, "ISR of 2", |s| s.isr == [1, 2]).await[&0].clone();
    let (controller, epoch) = (controller_id(&zk).await, controller_epoch(&zk).await);
    let b1 = &brokers[0];
    let b2 = &brokers[1];

    // The controller re-sends what the brokers already applied, on new connections, twice at
    // once: every answer is STALE_CONTROLLER_EPOCH for the partition, nothing else happens.
    let same = leader_and_isr(controller, epoch, "resent", &s, s.leader_epoch, b1);
    for addr in [b1.bootstrap(), b2.bootstrap()] {
        for r in send_twice_at_once(&addr, &same).await {
            assert_eq!(r.error_code, 0);
            assert_eq!(partition_codes(&r), [STALE_CONTROLLER_EPOCH], "{addr}");
        }
    }
    // A request from an older controller epoch is refused as a whole.
    let old = leader_and_isr(controller, epoch - 1, "resent", &s, s.leader_epoch + 5, b1);
    let r = client(&b1.bootstrap()).await.unwrap().send(&old, 4).await;
    assert_eq!(r.expect("answer").error_code, STALE_CONTROLLER_EPOCH);
    // A newer leader epoch sent twice at once (a slow request the controller re-sent): one is
    // applied, the other waits for it and is then refused — the race that used to panic.
    let newer = leader_and_isr(controller, epoch, "resent", &s, s.leader_epoch + 1, b1);
    let mut codes: Vec<i16> = send_twice_at_once(&b1.bootstrap(), &newer)
        .await
        .iter()
        .flat_map(partition_codes)
        .collect();
    codes.sort();
    assert_eq!(codes, [0, STALE_CONTROLLER_EPOCH]);

    // The broker keeps serving (acks=1: the follower still fetches at the epoch ZooKeeper has).
    let mut c = client(&b1.bootstrap()).await.expect("connect");
    let (code, _) = produce(&mut c, "resent", 0, 1, &[b"after".to_vec()])
        .await
        .expect("produce");
    assert_eq!(code, 0);
    for b in &brokers {
        let log = b.log_contents();
        assert!(
            !log.contains("panicked"),
            "broker {} panicked:\n{log}",
            b.id()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_failure_elects_with_one_write_per_partition() {
    const N: i32 = 300;
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers = cluster(&connect).await;
    let zk = zk_client(&connect).await;
    create_spread_topic(&zk, "fo", N).await;
    let before = all_states(&zk, "fo", N).await;
    let controller = controller_id(&zk).await;
    let victim = (1..=3).find(|b| *b != controller).unwrap();
    let led = before.values().filter(|s| s.leader == victim).count();
    assert!(led > 0, "broker {victim} leads some partitions");
    brokers[victim as usize - 1].kill9();

    let after = wait_all_states(
        &zk,
        "fo",
        N,
        "led by a live broker, victim out of ISR",
        |s| s.leader > 0 && s.leader != victim && !s.isr.contains(&victim),
    )
    .await;
    // Every partition the victim hosted got exactly one write (the election, or the ISR
    // shrink where it followed): no intermediate leader -1 while the other replica lived.
    for p in 0..N {
        let (b, a) = (&before[&p], &after[&p]);
        let expected = if b.isr.contains(&victim) { 1 } else { 0 };
        assert_eq!(
            a.zk_version - b.zk_version,
            expected,
            "fo-{p}: {b:?} -> {a:?} (victim {victim})"
        );
        assert_eq!(a.leader_epoch - b.leader_epoch, expected, "fo-{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_broker_rejoins_every_isr_in_batched_writes() {
    const N: i32 = 300;
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers = cluster(&connect).await;
    let zk = zk_client(&connect).await;
    create_spread_topic(&zk, "rj", N).await;
    let controller = controller_id(&zk).await;
    let victim = (1..=3).find(|b| *b != controller).unwrap();
    brokers[victim as usize - 1].kill9();
    let out = wait_all_states(&zk, "rj", N, "victim out of every ISR", |s| {
        s.leader > 0 && !s.isr.contains(&victim)
    })
    .await;
    brokers[victim as usize - 1].restart();
    let back = wait_all_states(
        &zk,
        "rj",
        N,
        "victim back in every ISR it belongs to",
        |s| s.leader > 0 && (s.isr.len() == 2),
    )
    .await;
    // Each rejoin is one write by the leader, at the same leader epoch, appending the victim.
    let rejoined: Vec<i32> = (0..N).filter(|p| back[p].isr.contains(&victim)).collect();
    assert_eq!(
        rejoined.len(),
        200,
        "the victim hosts 2/3 of the partitions"
    );
    for p in &rejoined {
        let (o, b) = (&out[p], &back[p]);
        assert_eq!(b.zk_version - o.zk_version, 1, "rj-{p}: {o:?} -> {b:?}");
        assert_eq!(b.leader_epoch, o.leader_epoch, "rj-{p}");
        assert_eq!(b.isr, [o.isr.clone(), vec![victim]].concat(), "rj-{p}");
    }
    // Leaders wrote those ISR changes together: far fewer ZooKeeper transactions than writes.
    let mut zxids = std::collections::BTreeSet::new();
    for p in &rejoined {
        zxids.insert(partition_state_mzxid(&zk, "rj", *p).await.expect("state"));
    }
    assert!(
        zxids.len() * 4 <= rejoined.len(),
        "{} ISR writes in {} ZooKeeper transactions",
        rejoined.len(),
        zxids.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controlled_shutdown_of_a_broker_leading_many_partitions_leaves_it_leading_none() {
    const N: i32 = 300;
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers = cluster(&connect).await;
    let zk = zk_client(&connect).await;
    create_spread_topic(&zk, "cs", N).await;
    let controller = controller_id(&zk).await;
    let victim = (1..=3).find(|b| *b != controller).unwrap();
    let before = all_states(&zk, "cs", N).await;
    assert_eq!(before.values().filter(|s| s.leader == victim).count(), 100);
    let b = &mut brokers[victim as usize - 1];
    b.sigterm();
    b.wait_exit(T).expect("the broker exits");
    // Right at exit: it leads nothing and is in no ISR.
    let at_exit = all_states(&zk, "cs", N).await;
    let still: Vec<_> = at_exit
        .iter()
        .filter(|(_, s)| s.leader == victim || s.isr.contains(&victim))
        .collect();
    assert!(
        still.is_empty(),
        "still led by / in the ISR of broker {victim}: {still:?}"
    );
    let log = b.log_contents();
    assert!(
        log.contains("Controlled shutdown request returned successfully"),
        "{log}"
    );
}
