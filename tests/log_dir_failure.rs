//! Log dir failure (issue 12): a broker whose log dir runs out of space takes the dir
//! offline, leadership moves to the healthy in-sync replicas, acks=all producers continue and
//! every acknowledged record reads back; a single-dir broker halts, a JBOD broker keeps
//! serving the partitions of its other dir. Each disk is a size-limited tmpfs (needs root,
//! as CI runs); a restart after the disk is "fixed" (grown) recovers and rejoins the ISR.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::repl::*;
use common::*;

const T: Duration = Duration::from_secs(60);
const RECORD: usize = 100 * 1024;
/// One test at a time: each runs its own ZooKeeper and brokers, and together they would starve
/// a 2-core machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// Kafka's default session timeout (its requests time out after 40% of it) and a long connection
/// timeout: a loaded CI machine's ZooKeeper can take seconds to fsync. Failover does not wait
/// for it: a halting broker closes its session.
const LOADED_ZK: [(&str, &str); 2] = [
    ("zookeeper.connection.timeout.ms", "30000"),
    ("zookeeper.session.timeout.ms", "18000"),
];

/// A tmpfs of a given size, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

/// Mounting needs root (CI runs as root); elsewhere the tests say so and skip.
fn can_mount() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("SKIPPED: mounting a size-limited tmpfs needs root");
    }
    root
}

impl SmallDisk {
    fn mount(size_mb: u32) -> SmallDisk {
        let dir = tempfile::Builder::new()
            .prefix("zkafka-small-disk-")
            .tempdir()
            .expect("temp dir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "cannot mount a tmpfs on {} (run as root)",
            dir.path().display()
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The disk is "fixed": more room, same data.
    fn grow(&self, size_mb: u32) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size_mb}m")])
            .arg(self.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot grow the tmpfs on {}", self.path().display());
    }

    /// Fills the remaining space with a file.
    fn fill(&self) {
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=1M", "status=none"])
            .arg(format!("of={}", self.path().join("filler").display()))
            .stderr(std::process::Stdio::null())
            .status();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

async fn leader_of(zk: &zookeeper_client::Client, topic: &str, p: i32) -> Option<i32> {
    partition_state(zk, topic, p)
        .await
        .map(|s| s.leader)
        .filter(|l| *l > 0)
}

type Acked = Vec<(i32, i64, Vec<u8>)>;

/// acks=all produce of `n` records of ~100 KB to `p` through whoever leads it, retried
/// until acknowledged; returns what was acknowledged.
async fn produce_acked(
    zk: &zookeeper_client::Client,
    ports: &BTreeMap<i32, u16>,
    topic: &str,
    p: i32,
    first: usize,
    n: usize,
) -> Acked {
    let mut acked = Vec::new();
    for i in first..first + n {
        let mut value = format!("{topic}-{p}-{i}-").into_bytes();
        value.resize(RECORD, b'x');
        let deadline = std::time::Instant::now() + T;
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "record {i} to {topic}-{p} not acknowledged within {T:?}"
            );
            let Some(leader) = leader_of(zk, topic, p).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let addr = format!("127.0.0.1:{}", ports[&leader]);
            let result = match client(&addr).await {
                Ok(mut c) => produce(&mut c, topic, p, -1, std::slice::from_ref(&value)).await,
                Err(e) => Err(e),
            };
            if let Ok((0, offset)) = result {
                acked.push((p, offset, value));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    acked
}

/// The records of `topic`-`p` below the current leader's high watermark.
async fn read_partition(
    zk: &zookeeper_client::Client,
    ports: &BTreeMap<i32, u16>,
    topic: &str,
    p: i32,
) -> BTreeMap<i64, Vec<u8>> {
    let mut log = BTreeMap::new();
    let Some(leader) = leader_of(zk, topic, p).await else {
        return log;
    };
    let Ok(mut c) = client(&format!("127.0.0.1:{}", ports[&leader])).await else {
        return log;
    };
    let mut offset = 0;
    while let Ok((0, hw, records)) = fetch(&mut c, topic, p, offset).await {
        let recs = records_of(&records);
        if recs.is_empty() || offset >= hw {
            break;
        }
        for (o, v) in recs {
            offset = o + 1;
            log.insert(o, v);
        }
    }
    log
}

/// Every acknowledged record is at its offset in the current leader's log. A leader elected
/// a moment ago may not have advanced its high watermark over all of them yet: re-read then.
async fn assert_all_read_back(
    zk: &zookeeper_client::Client,
    ports: &BTreeMap<i32, u16>,
    topic: &str,
    acked: &Acked,
) {
    for p in acked
        .iter()
        .map(|a| a.0)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let deadline = std::time::Instant::now() + T;
        loop {
            let log = read_partition(zk, ports, topic, p).await;
            let missing = acked
                .iter()
                .filter(|a| a.0 == p)
                .find(|(_, o, v)| log.get(o) != Some(v));
            match missing {
                None => break,
                Some((_, o, _)) if std::time::Instant::now() >= deadline => {
                    panic!("acknowledged {topic}-{p} offset {o} lost")
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

async fn wait_isr(
    zk: &zookeeper_client::Client,
    topic: &str,
    p: i32,
    want: impl Fn(&[i32]) -> bool,
) {
    wait_until_msg(T, format!("ISR of {topic}-{p}"), || async {
        partition_state(zk, topic, p)
            .await
            .is_some_and(|s| want(&s.isr) && s.leader > 0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_moves_leadership_and_halts_the_broker() {
    if !can_mount() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let disk = SmallDisk::mount(64);
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let full_dir = disk.path().display().to_string();
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| {
            let mut props = vec![("replica.lag.time.max.ms", "3000")];
            props.extend(LOADED_ZK);
            if id == 3 {
                props.push(("log.dirs", full_dir.as_str()));
            }
            Broker::start(id, &connect, &props)
        })
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
    // Partition 0 is led by the broker whose disk fills, partition 1 only follows there.
    let assignment: Vec<(i32, &[i32])> = vec![(0, &[3, 1, 2]), (1, &[1, 3, 2])];
    create_topic(&zk, "full", &assignment, &[("min.insync.replicas", "2")]).await;
    for p in 0..2 {
        wait_isr(&zk, "full", p, |isr| isr.len() == 3).await;
    }
    let ports: BTreeMap<i32, u16> = brokers.iter().map(|b| (b.id(), b.port())).collect();

    // 2 x 400 records of 100 KB = 80 MB: more than the 64 MB disk holds.
    let mut acked = Vec::new();
    let mut i = 0;
    while brokers[2].is_running() && i < 400 {
        acked.extend(produce_acked(&zk, &ports, "full", 0, i, 10).await);
        acked.extend(produce_acked(&zk, &ports, "full", 1, i, 10).await);
        i += 10;
    }
    let status = brokers[2]
        .wait_exit(T)
        .expect("the broker with the full disk halts");
    assert!(!status.success());
    assert!(
        brokers[2]
            .log_contents()
            .contains("Shutdown broker because all log dirs in"),
        "the broker says why it halted"
    );
    for p in 0..2 {
        wait_isr(&zk, "full", p, |isr| !isr.contains(&3) && isr.len() == 2).await;
        assert_ne!(leader_of(&zk, "full", p).await, Some(3));
    }
    // Producers continue on the healthy replicas.
    acked.extend(produce_acked(&zk, &ports, "full", 0, 1000, 20).await);
    acked.extend(produce_acked(&zk, &ports, "full", 1, 1000, 20).await);
    assert_all_read_back(&zk, &ports, "full", &acked).await;

    // The disk is fixed: the broker recovers its log and rejoins the ISRs.
    disk.grow(512);
    brokers[2].restart();
    brokers[2].wait_listening(T);
    for p in 0..2 {
        wait_isr(&zk, "full", p, |isr| isr.len() == 3).await;
    }
    assert_all_read_back(&zk, &ports, "full", &acked).await;
    // Its recovered replicas hold exactly the leaders' bytes.
    let dirs = [brokers[0].log_dir(), brokers[1].log_dir(), disk.path()];
    for p in 0..2 {
        let leader = leader_of(&zk, "full", p).await.unwrap();
        let mut c = client(&format!("127.0.0.1:{}", ports[&leader]))
            .await
            .unwrap();
        let (_, hw, _) = fetch(&mut c, "full", p, 0).await.unwrap();
        wait_until_msg(T, format!("replicas of full-{p} identical"), || async {
            replicas_identical_below(&dirs, "full", p, hw).is_ok()
        })
        .await;
    }
}

/// The dir of `broker_dirs` holding `<topic>-<p>`.
fn dir_holding(broker_dirs: &[PathBuf], topic: &str, p: i32) -> Option<usize> {
    broker_dirs
        .iter()
        .position(|d| d.join(format!("{topic}-{p}")).is_dir())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jbod_broker_keeps_serving_the_healthy_dir() {
    if !can_mount() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let disk = SmallDisk::mount(32);
    let healthy = tempfile::Builder::new()
        .prefix("zkafka-healthy-dir-")
        .tempdir()
        .unwrap();
    let dirs = vec![disk.path().to_path_buf(), healthy.path().to_path_buf()];
    let log_dirs = format!("{},{}", dirs[0].display(), dirs[1].display());
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| {
            let mut props = vec![("replica.lag.time.max.ms", "3000")];
            props.extend(LOADED_ZK);
            if id == 3 {
                props.push(("log.dirs", log_dirs.as_str()));
            }
            Broker::start(id, &connect, &props)
        })
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
    let assignment: Vec<(i32, &[i32])> = vec![(0, &[3, 1, 2]), (1, &[3, 1, 2])];
    create_topic(&zk, "jbod", &assignment, &[("min.insync.replicas", "2")]).await;
    for p in 0..2 {
        wait_isr(&zk, "jbod", p, |isr| isr.len() == 3).await;
    }
    // New partitions go to the dir with the fewest partitions: one in each.
    // The ISR is written before the broker creates the log: wait for the dirs themselves.
    wait_until_msg(T, "both partition dirs on broker 3", || async {
        (0..2).all(|p| dir_holding(&dirs, "jbod", p).is_some())
    })
    .await;
    let on_disk: Vec<usize> = (0..2)
        .map(|p| dir_holding(&dirs, "jbod", p).unwrap())
        .collect();
    assert_ne!(on_disk[0], on_disk[1], "one partition per log dir");
    for d in &dirs {
        assert!(
            d.join("meta.properties").exists(),
            "meta.properties in {}",
            d.display()
        );
    }
    let failing = on_disk.iter().position(|d| *d == 0).unwrap() as i32;
    let serving = 1 - failing;
    let ports: BTreeMap<i32, u16> = brokers.iter().map(|b| (b.id(), b.port())).collect();
    let mut acked = produce_acked(&zk, &ports, "jbod", failing, 0, 5).await;
    acked.extend(produce_acked(&zk, &ports, "jbod", serving, 0, 5).await);

    disk.fill();
    acked.extend(produce_acked(&zk, &ports, "jbod", failing, 100, 40).await);
    wait_isr(&zk, "jbod", failing, |isr| !isr.contains(&3)).await;
    assert_ne!(leader_of(&zk, "jbod", failing).await, Some(3));
    assert!(
        brokers[2].is_running(),
        "one dir is left: the broker keeps running"
    );
    // The failed dir's replica answers KAFKA_STORAGE_ERROR; the other dir is still served.
    let mut c3 = client(&brokers[2].bootstrap()).await.unwrap();
    let (err, _, _) = fetch(&mut c3, "jbod", failing, 0).await.unwrap();
    assert_eq!(
        err, 56,
        "KAFKA_STORAGE_ERROR for the replica on the failed dir"
    );
    assert_eq!(leader_of(&zk, "jbod", serving).await, Some(3));
    let more = produce_acked(&zk, &ports, "jbod", serving, 100, 5).await;
    assert_eq!(
        leader_of(&zk, "jbod", serving).await,
        Some(3),
        "still led by broker 3"
    );
    acked.extend(more);
    // The controller handled and deleted the notification.
    wait_until_msg(T, "log dir notifications handled", || async {
        zk.list_children("/log_dir_event_notification")
            .await
            .is_ok_and(|c| c.is_empty())
    })
    .await;
    assert!(brokers[2]
        .log_contents()
        .contains("Wrote log dir failure notification"));
    assert_all_read_back(&zk, &ports, "jbod", &acked).await;

    // Fixed disk: restart, both dirs online, the failed replica catches up.
    let _ = std::fs::remove_file(disk.path().join("filler"));
    brokers[2].restart();
    brokers[2].wait_listening(T);
    for p in 0..2 {
        wait_isr(&zk, "jbod", p, |isr| isr.len() == 3).await;
    }
    assert_all_read_back(&zk, &ports, "jbod", &acked).await;
}

/// Running out of file descriptors is an I/O error like any other: the log dir goes offline
/// and, with no dir left, the broker halts rather than hanging with half-created logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_takes_the_dir_offline() {
    let _serial = SERIAL.lock().await;
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string_with_chroot("/kafka");
    let mut broker = Broker::start(1, &connect, &LOADED_ZK);
    broker.wait_listening(T);
    let zk = zk_client(&connect).await;
    wait_until(T, || async {
        zk.list_children("/brokers/ids")
            .await
            .is_ok_and(|c| c.len() == 1)
    })
    .await;
    // A first topic proves the controller and the broker are done starting.
    create_topic(&zk, "first", &[(0, &[1])], &[]).await;
    let first = broker.log_dir().join("first-0");
    wait_until_msg(T, "first-0 created", || {
        let first = first.clone();
        async move { first.is_dir() }
    })
    .await;
    let open = std::fs::read_dir(format!("/proc/{}/fd", broker.pid()))
        .unwrap()
        .count();
    let limit = format!("--nofile={}:{}", open + 16, open + 16);
    let ok = Command::new("prlimit")
        .args(["--pid", &broker.pid().to_string(), &limit])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "prlimit {limit} on broker pid {}", broker.pid());
    // 40 logs need about 120 descriptors.
    let assignment: Vec<(i32, Vec<i32>)> = (0..40).map(|p| (p, vec![1])).collect();
    let assignment: Vec<(i32, &[i32])> =
        assignment.iter().map(|(p, r)| (*p, r.as_slice())).collect();
    create_topic(&zk, "many", &assignment, &[]).await;
    let status = broker
        .wait_exit(T)
        .expect("the broker halts once its only dir is offline");
    assert!(!status.success());
    let log = broker.log_contents();
    assert!(log.contains("Too many open files"), "the error is named");
    assert!(log.contains("Shutdown broker because all log dirs in"));
}
