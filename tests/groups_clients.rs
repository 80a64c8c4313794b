//! Consumer groups with real clients (issue 6): librdkafka balanced consumers (`kcat -G`)
//! share a topic's partitions and take over a killed member's, and kafka-python consumers
//! commit offsets that survive their restarts while another group reads independently; a group
//! whose last consumer closed is Empty (ListGroups, DescribeGroups) and deletable at once.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::groups::*;
use common::*;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DescribeGroupsRequest, GroupId, ListGroupsRequest,
};

const SETTINGS: &[(&str, &str)] = &[
    ("offsets.topic.num.partitions", "6"),
    ("offsets.topic.replication.factor", "3"),
    ("group.initial.rebalance.delay.ms", "500"),
];

/// A `kcat -G` balanced consumer whose stderr (rebalance lines) goes to a file.
struct KcatMember {
    child: Child,
    stderr: PathBuf,
}

impl KcatMember {
    fn start(
        dir: &std::path::Path,
        n: usize,
        bootstrap: &str,
        group: &str,
        topic: &str,
    ) -> KcatMember {
        let stderr = dir.join(format!("kcat-{n}.err"));
        let child = Command::new("kcat")
            .args([
                "-b",
                bootstrap,
                "-G",
                group,
                topic,
                "-o",
                "beginning",
                "-f",
                "%p %o\n",
            ])
            .args([
                "-X",
                "session.timeout.ms=6000",
                "-X",
                "heartbeat.interval.ms=500",
            ])
            .args(["-X", "partition.assignment.strategy=range"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("kcat (scripts/test.sh installs it)");
        KcatMember { child, stderr }
    }

    /// The partitions of its latest "assigned:" line, None before its first assignment or
    /// after a revocation not yet followed by an assignment.
    fn assignment(&self) -> Option<BTreeSet<i32>> {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let line = text.lines().rev().find(|l| l.contains("rebalanced"))?;
        let (_, list) = line.split_once("assigned: ")?;
        Some(
            list.split(", ")
                .filter_map(|p| p.split_once('[')?.1.trim_end_matches(']').parse().ok())
                .collect(),
        )
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for KcatMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_for_assignments(
    members: &[&KcatMember],
    what: &str,
    ok: impl Fn(&[Option<BTreeSet<i32>>]) -> bool,
) {
    let deadline = std::time::Instant::now() + T;
    loop {
        let a: Vec<_> = members.iter().map(|m| m.assignment()).collect();
        if ok(&a) {
            return;
        }
        if std::time::Instant::now() > deadline {
            let logs: Vec<String> = members.iter().map(|m| m.log()).collect();
            panic!("{what}: assignments {a:?}\n{}", logs.join("\n----\n"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_members_split_partitions_and_take_over_a_killed_one() {
    let ens = ZkEnsemble::start(1);
    let brokers = start_cluster(&ens.connect_string(), SETTINGS).await;
    create_topic(&brokers, "t", 4, 1).await;
    let bootstrap = brokers
        .iter()
        .map(|b| b.bootstrap())
        .collect::<Vec<_>>()
        .join(",");
    let dir = tempfile::tempdir().unwrap();

    let mut members: Vec<KcatMember> = (0..4)
        .map(|n| KcatMember::start(dir.path(), n, &bootstrap, "kg", "t"))
        .collect();
    let one_each = |a: &[Option<BTreeSet<i32>>]| {
        let all: BTreeSet<i32> = a.iter().flatten().flatten().copied().collect();
        a.iter().all(|s| s.as_ref().is_some_and(|s| s.len() == 1)) && all.len() == 4
    };
    wait_for_assignments(
        &members.iter().collect::<Vec<_>>(),
        "4 members, 1 partition each",
        one_each,
    )
    .await;

    // A fifth member gets nothing; the others keep one each.
    members.push(KcatMember::start(dir.path(), 4, &bootstrap, "kg", "t"));
    wait_for_assignments(
        &members.iter().collect::<Vec<_>>(),
        "5 members: one idle",
        |a| {
            let sizes: Vec<usize> = a
                .iter()
                .map(|s| s.as_ref().map_or(99, |s| s.len()))
                .collect();
            let all: BTreeSet<i32> = a.iter().flatten().flatten().copied().collect();
            sizes.iter().filter(|n| **n == 1).count() == 4 && sizes.contains(&0) && all.len() == 4
        },
    )
    .await;

    // kill -9 a member holding a partition: within the session timeout (6 s) plus the
    // rebalance its partition is someone else's.
    let victim = members
        .iter()
        .position(|m| m.assignment().is_some_and(|s| s.len() == 1))
        .unwrap();
    let lost = *members[victim].assignment().unwrap().iter().next().unwrap();
    let started = std::time::Instant::now();
    let dead = members.remove(victim);
    drop(dead);
    wait_for_assignments(
        &members.iter().collect::<Vec<_>>(),
        "partition of the killed member moved",
        |a| {
            let all: BTreeSet<i32> = a.iter().flatten().flatten().copied().collect();
            all.contains(&lost)
                && all.len() == 4
                && a.iter().all(|s| s.as_ref().is_some_and(|s| s.len() == 1))
        },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

fn python(args: &[&str]) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/clients.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (scripts/test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "python3 clients.py {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn consumed(lines: &[serde_json::Value]) -> BTreeSet<(i64, i64)> {
    lines
        .iter()
        .filter(|v| v.get("p").is_some())
        .map(|v| (v["p"].as_i64().unwrap(), v["o"].as_i64().unwrap()))
        .collect()
}

/// Right after the last member left, as Kafka completes that rebalance inside the LeaveGroup:
/// ListGroups and DescribeGroups show the group Empty with no members, DeleteGroups deletes it.
async fn assert_empty_and_deletable(bootstrap: &str, group: &str) {
    let (_, addr) = find_coordinator(bootstrap, group).await;
    let mut c = client(&addr).await;
    let listed = c.send(&ListGroupsRequest::default(), 4).await.unwrap();
    let state = listed
        .groups
        .iter()
        .find(|g| g.group_id.as_str() == group)
        .map(|g| g.group_state.to_string());
    assert_eq!(
        state.as_deref(),
        Some("Empty"),
        "ListGroups state of {group}"
    );
    let described = c
        .send(
            &DescribeGroupsRequest::default().with_groups(vec![GroupId(sb(group))]),
            5,
        )
        .await
        .unwrap();
    let d = &described.groups[0];
    assert_eq!(
        (d.error_code, d.group_state.as_str(), d.members.len()),
        (0, "Empty", 0),
        "DescribeGroups of {group}"
    );
    let deleted = c
        .send(
            &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb(group))]),
            2,
        )
        .await
        .unwrap();
    assert_eq!(deleted.results[0].error_code, 0, "DeleteGroups of {group}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_groups_commit_and_resume_independently() {
    let ens = ZkEnsemble::start(1);
    let mut brokers = start_cluster(&ens.connect_string(), SETTINGS).await;
    create_topic(&brokers, "pt", 3, 3).await;
    let bootstrap = brokers[0].bootstrap();
    let input: String = (0..30).map(|i| format!("k{i}:v{i}\n")).collect();
    common::data_util::kcat_with_input(
        &["-P", "-b", &bootstrap, "-t", "pt", "-K:"],
        input.as_bytes(),
    )
    .await
    .unwrap();

    // Group A reads everything and commits.
    let first = python(&["group-consume", &bootstrap, "pt", "ga", "30", "15"]);
    assert_eq!(consumed(&first).len(), 30);
    // Restarted, it has nothing left to read: its offsets were committed.
    let again = python(&["group-consume", &bootstrap, "pt", "ga", "1", "6"]);
    assert_eq!(consumed(&again).len(), 0, "{again:?}");
    // Group B is independent: it reads everything too.
    let other = python(&["group-consume", &bootstrap, "pt", "gb", "30", "15"]);
    assert_eq!(consumed(&other), consumed(&first));
    // Its only member closed (LeaveGroup): the group is Empty at once, so it can be deleted.
    assert_empty_and_deletable(&bootstrap, "gb").await;

    // More data, then kill -9 of group A's coordinator: __consumer_offsets has RF 3, so the
    // group moves to the new leader of its partition and A resumes exactly where it committed.
    let more: String = (30..40).map(|i| format!("k{i}:v{i}\n")).collect();
    common::data_util::kcat_with_input(
        &["-P", "-b", &bootstrap, "-t", "pt", "-K:"],
        more.as_bytes(),
    )
    .await
    .unwrap();
    let (coord, _) = find_coordinator(&bootstrap, "ga").await;
    let idx = brokers.iter().position(|b| b.id() == coord).unwrap();
    brokers[idx].kill9();
    // The group moves once the killed broker's session expires and its __consumer_offsets
    // partition gets a new leader; until then FindCoordinator still names the dead broker.
    let survivor = brokers
        .iter()
        .find(|b| b.id() != coord)
        .unwrap()
        .bootstrap();
    wait_until_msg(T, "group ga moved off the killed coordinator", || {
        let survivor = survivor.clone();
        async move { find_coordinator(&survivor, "ga").await.0 != coord }
    })
    .await;
    let all: String = brokers
        .iter()
        .filter(|b| b.id() != coord)
        .map(|b| b.bootstrap())
        .collect::<Vec<_>>()
        .join(",");
    let resumed = python(&["group-consume", &all, "pt", "ga", "10", "20"]);
    assert_eq!(consumed(&resumed).len(), 10, "{resumed:?}");
}
