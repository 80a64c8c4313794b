//! No acknowledged loss (issue 5): a verifying acks=all producer (RF 3, min.insync.replicas 2,
//! retries) records every acknowledged (partition, offset, value) while partition leaders and
//! the controller are kill -9'ed at random for 20 rounds, each victim restarted. Afterwards
//! every acknowledged record is read back at its offset, per-partition order holds, and the
//! replicas are byte-identical below the high watermark.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::repl::*;
use common::*;

const T: Duration = Duration::from_secs(60);
const PARTITIONS: i32 = 3;
const ROUNDS: usize = 20;

type Acks = Arc<Mutex<Vec<(i32, i64, Vec<u8>)>>>;

async fn leader_of(zk: &zookeeper_client::Client, p: i32) -> Option<i32> {
    partition_state(zk, "chaos", p)
        .await
        .map(|s| s.leader)
        .filter(|l| *l > 0)
}

/// One acks=all producer: value i goes to partition i % 3, retried until acknowledged.
async fn produce_loop(
    connect: String,
    ports: BTreeMap<i32, u16>,
    stop: Arc<AtomicBool>,
    acks: Acks,
) {
    let zk = zk_client(&connect).await;
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let p = (i % PARTITIONS as u64) as i32;
        let value = format!("v{i}").into_bytes();
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let Some(leader) = leader_of(&zk, p).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let addr = format!("127.0.0.1:{}", ports[&leader]);
            let result = match client(&addr).await {
                Ok(mut c) => produce(&mut c, "chaos", p, -1, std::slice::from_ref(&value)).await,
                Err(e) => Err(e),
            };
            match result {
                Ok((0, offset)) => {
                    acks.lock().unwrap().push((p, offset, value.clone()));
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        i += 1;
    }
}

/// Every record of chaos-`p` up to the high watermark, read from its leader, and that HW.
/// The last failover's controller runs its first preferred-leader check 5 s after taking
/// over and may hand a partition back to the restarted replica meanwhile: a read answered
/// NOT_LEADER_OR_FOLLOWER starts again at the leader ZooKeeper names then, and one below
/// `acked_end` again once a new leader's HW caught up (bounded: a loss still shows).
async fn read_partition(
    zk: &zookeeper_client::Client,
    brokers: &[Broker],
    p: i32,
    acked_end: i64,
) -> (BTreeMap<i64, Vec<u8>>, i64) {
    let deadline = Instant::now() + T;
    'leader: loop {
        let leader = leader_of(zk, p).await.expect("a leader");
        let addr = brokers
            .iter()
            .find(|b| b.id() == leader)
            .unwrap()
            .bootstrap();
        let mut c = client(&addr).await.unwrap();
        let mut stored = BTreeMap::new();
        let (mut offset, mut hw) = (0, 0);
        loop {
            let (code, h, bytes) = fetch(&mut c, "chaos", p, offset).await.unwrap();
            if code == 6 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue 'leader;
            }
            assert_eq!(code, 0, "chaos-{p}: fetch from leader {leader}");
            hw = hw.max(h);
            let recs = records_of(&bytes);
            if recs.is_empty() {
                if hw < acked_end && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue 'leader;
                }
                return (stored, hw);
            }
            for (o, v) in recs {
                offset = o + 1;
                stored.insert(o, v);
            }
        }
    }
}

fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_record_is_lost_under_leader_and_controller_kills() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let props = [("replica.lag.time.max.ms", "3000")];
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| Broker::start(id, &connect, &props))
        .collect();
    for b in &mut brokers {
        b.wait_listening(T);
    }
    let zk = zk_client(&connect).await;
    wait_until(T, || async {
        zk.list_children("/brokers/ids")
            .await
            .is_ok_and(|c| c.len() == 3)
    })
    .await;
    let assignment: Vec<(i32, &[i32])> = vec![(0, &[1, 2, 3]), (1, &[2, 3, 1]), (2, &[3, 1, 2])];
    create_topic(&zk, "chaos", &assignment, &[("min.insync.replicas", "2")]).await;
    let full_isrs = || async {
        for p in 0..PARTITIONS {
            match partition_state(&zk, "chaos", p).await {
                Some(s) if s.isr.len() == 3 && s.leader > 0 => {}
                _ => return false,
            }
        }
        true
    };
    wait_until_msg(T, "all ISRs full", full_isrs).await;

    let ports: BTreeMap<i32, u16> = brokers.iter().map(|b| (b.id(), b.port())).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let acks: Acks = Arc::default();
    let producer = tokio::spawn(produce_loop(
        connect.clone(),
        ports,
        stop.clone(),
        acks.clone(),
    ));

    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ std::process::id() as u64;
    let start = Instant::now();
    let mut failovers = Vec::new();
    for round in 0..ROUNDS {
        tokio::time::sleep(Duration::from_millis(300 + xorshift(&mut seed) % 700)).await;
        let controller = zk
            .get_data("/controller")
            .await
            .ok()
            .and_then(|(d, _)| serde_json::from_slice::<serde_json::Value>(&d).ok())
            .and_then(|v| v["brokerid"].as_i64())
            .map(|v| v as i32);
        let victim = if xorshift(&mut seed).is_multiple_of(3) {
            controller.unwrap_or(1)
        } else {
            let p = (xorshift(&mut seed) % PARTITIONS as u64) as i32;
            leader_of(&zk, p).await.unwrap_or(1)
        };
        let led: Vec<i32> = {
            let mut v = Vec::new();
            for p in 0..PARTITIONS {
                if leader_of(&zk, p).await == Some(victim) {
                    v.push(p);
                }
            }
            v
        };
        let killed = Instant::now();
        brokers
            .iter_mut()
            .find(|b| b.id() == victim)
            .unwrap()
            .kill9();
        // Death is noticed when its ZooKeeper session expires (6 s).
        wait_until_msg(
            T,
            format!("round {round}: broker {victim} deregistered"),
            || async {
                zk.get_data(&format!("/brokers/ids/{victim}"))
                    .await
                    .is_err()
            },
        )
        .await;
        wait_until_msg(
            T,
            format!("round {round}: leaders moved off {victim}"),
            || async {
                for p in &led {
                    if leader_of(&zk, *p).await.is_none_or(|l| l == victim) {
                        return false;
                    }
                }
                true
            },
        )
        .await;
        failovers.push(killed.elapsed().as_millis());
        brokers
            .iter_mut()
            .find(|b| b.id() == victim)
            .unwrap()
            .restart();
        wait_until_msg(
            T,
            format!("round {round}: ISRs full again after restarting {victim}"),
            full_isrs,
        )
        .await;
        eprintln!(
            "round {round}: killed broker {victim} (controller {controller:?}, leading {led:?}); leaders moved after {} ms; {} acks so far",
            failovers.last().unwrap(),
            acks.lock().unwrap().len()
        );
    }
    stop.store(true, Ordering::SeqCst);
    let _ = tokio::time::timeout(Duration::from_secs(40), producer).await;
    let acks = acks.lock().unwrap().clone();
    eprintln!(
        "{ROUNDS} rounds in {} s, {} acknowledged records, failover (kill -9 → new leaders in ZooKeeper) min/avg/max {}/{}/{} ms",
        start.elapsed().as_secs(),
        acks.len(),
        failovers.iter().min().unwrap(),
        failovers.iter().sum::<u128>() / failovers.len() as u128,
        failovers.iter().max().unwrap()
    );
    assert!(
        acks.len() > 100,
        "the producer made progress: {} acks",
        acks.len()
    );

    wait_until_msg(T, "all ISRs full at the end", full_isrs).await;
    for p in 0..PARTITIONS {
        let acked_end = acks.iter().filter(|a| a.0 == p).map(|a| a.1 + 1).max();
        let (stored, hw) = read_partition(&zk, &brokers, p, acked_end.unwrap_or(0)).await;
        let mut last = -1;
        for (_, o, v) in acks.iter().filter(|a| a.0 == p) {
            assert!(
                *o > last,
                "chaos-{p}: acknowledged offsets out of order ({last} then {o})"
            );
            last = *o;
            assert_eq!(
                stored.get(o),
                Some(v),
                "chaos-{p}: acknowledged record at offset {o} lost or changed"
            );
        }
        let dirs: Vec<&Path> = brokers.iter().map(|b| b.log_dir()).collect();
        wait_until_msg(
            T,
            format!("chaos-{p} replicas identical below HW {hw}"),
            || async { replicas_identical_below(&dirs, "chaos", p, hw).is_ok() },
        )
        .await;
    }
    // Under ZKAFKA_TEST_INTER_BROKER=SASL_SSL: replication and the controller used it.
    common::security::assert_inter_broker_traffic_secured(&connect, &brokers).await;
}
