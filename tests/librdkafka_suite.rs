//! librdkafka's own broker test suite against a 3-broker zkafka cluster, run as its
//! maintainers run it on CI: `test-runner -Q -E` (quick mode, no sockem network-fault
//! tests) with `TEST_KAFKA_VERSION=2.8.0`, our fidelity target, so the tests for 2.8
//! features are selected. The suite is built from the librdkafka sources bundled in the
//! rdkafka-sys crate by `tests/scripts/librdkafka-suite.sh`, which runs this test.
//!
//! `tests/librdkafka/expected-failures.txt` lists the tests that need a feature zkafka
//! does not have yet, each with the issue that brings it. The run fails when a test fails
//! that is not listed, and when a listed test passes (the list must shrink with the code).
//! A test listed as `flaky:` (timing-dependent, with the reason) may do either.
//!
//! Tests that run Kafka's tools (`$KAFKA_PATH/bin/kafka-topics.sh --zookeeper ...`) run
//! ours from `scripts/`.
//!
//! Environment: `LIBRDKAFKA_TESTS_DIR` (required: librdkafka's built `tests/` directory),
//! `LIBRDKAFKA_TESTS` (optional: librdkafka's `TESTS` filter, e.g. `0001,0033`),
//! `LIBRDKAFKA_REPEAT` (optional, default 1: run test-runner that many times against the one
//! cluster, to chase an intermittent failure; each run's output is kept).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// librdkafka's "default" test scenario (as its trivup clusters run it): topic auto-creation,
/// 4 partitions, replication factor 3, and the ACL authorizer open to everyone where no ACL
/// matches (trivup's broker template), which the tests that deny a topic with
/// `kafka-acls.sh` (0109, 0115, 0119) and 0081's ACL subtests need; everything else at
/// Kafka's defaults (tests rely on some, e.g. group.initial.rebalance.delay.ms=3000 lets two
/// consumers join one generation).
const SETTINGS: &[(&str, &str)] = &[
    ("auto.create.topics.enable", "true"),
    ("num.partitions", "4"),
    ("default.replication.factor", "3"),
    (
        "authorizer.class.name",
        "kafka.security.authorizer.AclAuthorizer",
    ),
    ("allow.everyone.if.no.acl.found", "true"),
    // Kafka's default (the harness shortens it for failover tests).
    ("zookeeper.session.timeout.ms", "18000"),
];

const EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/librdkafka/expected-failures.txt"
);

/// Test name (e.g. `0033_regex_subscribe`) -> why it is expected to fail.
fn expected_failures() -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(EXPECTED).unwrap_or_else(|e| panic!("cannot read {EXPECTED}: {e}"));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, why)) => (name.to_string(), why.trim().to_string()),
            None => panic!("{EXPECTED}: `{l}` names no missing feature and issue"),
        })
        .collect()
}

/// Test name -> state (PASSED, FAILED, SKIPPED, RUNNING, NOT_STARTED) from test-runner's
/// JSON report (TEST_REPORT).
fn read_report(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("test-runner wrote no report {}: {e}", path.display()));
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("unreadable report {}: {e}", path.display()));
    report["tests"]
        .as_object()
        .expect("report has tests")
        .iter()
        .filter(|(name, _)| name.as_str() != "<MAIN>")
        .map(|(name, t)| (name.clone(), t["state"].as_str().unwrap_or("?").to_string()))
        .collect()
}

fn tests_dir() -> PathBuf {
    let dir = std::env::var_os("LIBRDKAFKA_TESTS_DIR")
        .map(PathBuf::from)
        .expect(
            "LIBRDKAFKA_TESTS_DIR is not set: run tests/scripts/librdkafka-suite.sh, which builds \
         librdkafka's test-runner and sets it",
        );
    assert!(
        dir.join("test-runner").is_file(),
        "no test-runner in {} (LIBRDKAFKA_TESTS_DIR)",
        dir.display()
    );
    dir
}

/// `kcat -L` on this librdkafka instead of the system's: since 2.1 its all-topics Metadata
/// request (v9+) carries 3 stray bytes after the body, which Kafka ignores.
fn kcat_lists_the_cluster(dir: &Path, bootstrap: &str) {
    let kcat = |args: &[&str]| {
        Command::new("kcat")
            .args(args)
            .env("LD_LIBRARY_PATH", dir.join("../src"))
            .output()
            .expect("run kcat")
    };
    let version = kcat(&["-V"]);
    eprintln!("{}", String::from_utf8_lossy(&version.stdout).trim());
    let out = kcat(&["-L", "-b", bootstrap, "-m", "10"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(" 3 brokers:"),
        "kcat -L with librdkafka from {}: {}\n{text}{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs librdkafka's test-runner: run tests/scripts/librdkafka-suite.sh"]
async fn librdkafka_test_suite_quick_mode() {
    let dir = tests_dir();
    let expected = expected_failures();
    let ens = ZkEnsemble::start(1);
    let brokers = start_cluster(&ens.connect_string(), SETTINGS).await;
    let bootstrap: Vec<String> = brokers.iter().map(|b| b.bootstrap()).collect();
    kcat_lists_the_cluster(&dir, &bootstrap[0]);
    let runs: Vec<_> = (0..repeat())
        .map(|run| run_test_runner(&dir, &bootstrap.join(","), &ens.connect_string(), run))
        .collect();
    keep_broker_logs(&dir, &brokers);
    judge(&worst_of(&runs), &expected);
}

/// `LIBRDKAFKA_REPEAT`: how many times test-runner runs (at least once).
fn repeat() -> usize {
    std::env::var("LIBRDKAFKA_REPEAT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Over repeated runs, a test's state is its first other than PASSED, or PASSED if it passed
/// every time: one failure in N runs is judged as a failure.
fn worst_of(runs: &[BTreeMap<String, String>]) -> BTreeMap<String, String> {
    let mut worst = BTreeMap::new();
    for states in runs {
        for (name, state) in states {
            let slot = worst.entry(name.clone()).or_insert_with(|| state.clone());
            if slot == "PASSED" {
                *slot = state.clone();
            }
        }
    }
    worst
}

/// The brokers' logs go beside test-runner's (`zkafka-broker-<id>.log`): a failing test is
/// diagnosed from both, and the brokers' temporary directories are removed with them.
fn keep_broker_logs(dir: &Path, brokers: &[Broker]) {
    for b in brokers {
        let to = dir.join(format!("zkafka-broker-{}.log", b.id()));
        if let Err(e) = std::fs::copy(b.log_path(), &to) {
            eprintln!(
                "cannot copy {} to {}: {e}",
                b.log_path().display(),
                to.display()
            );
        }
    }
}

/// Runs test-runner in quick mode against the cluster (the `run`th time); returns its report.
fn run_test_runner(
    dir: &Path,
    bootstrap: &str,
    zk_connect: &str,
    run: usize,
) -> BTreeMap<String, String> {
    let work = tempfile::tempdir().unwrap();
    let conf = work.path().join("test.conf");
    // Timeouts doubled (librdkafka's knob for slow systems): ZooKeeper, three debug-build
    // brokers and the test-runner share the machine (2 cores on CI). A repeated run gets its
    // own topic prefix: test-runner's random topic names recur between its processes, and a
    // name an earlier run denied by ACL would hide the new topic.
    let prefix = match run {
        0 => String::new(),
        n => format!("test.topic.prefix=rdkafkatest_run{n}\n"),
    };
    std::fs::write(
        &conf,
        format!("bootstrap.servers={bootstrap}\ntest.timeout.multiplier=2\n{prefix}"),
    )
    .unwrap();
    let report = work.path().join("report.json");
    // KAFKA_PATH/bin is where tests run Kafka's tools (kafka-topics.sh --zookeeper
    // $ZK_ADDRESS ...): ours, with Kafka's names, on this build's broker binary.
    let kafka_path = work.path().join("kafka");
    std::fs::create_dir(&kafka_path).unwrap();
    std::os::unix::fs::symlink(
        concat!(env!("CARGO_MANIFEST_DIR"), "/scripts"),
        kafka_path.join("bin"),
    )
    .unwrap();
    let mut cmd = Command::new(dir.join("test-runner"));
    cmd.args(["-Q", "-E"])
        .current_dir(dir)
        // Its own librdkafka, not a system one (Debian's kcat package brings one).
        .env("LD_LIBRARY_PATH", "../src:../src-cpp")
        .env("RDKAFKA_TEST_CONF", &conf)
        .env("TEST_KAFKA_VERSION", "2.8.0")
        .env("TEST_REPORT", &report)
        .env("KAFKA_PATH", &kafka_path)
        .env("ZK_ADDRESS", zk_connect)
        .env("ZKAFKA_HOME", env!("CARGO_MANIFEST_DIR"))
        .env("ZKAFKA_BIN", env!("CARGO_BIN_EXE_zkafka"))
        .env("ZKAFKA_DATA_DIR", work.path().join("data"))
        .env("RDKAFKA_GITVER", "rdkafka-sys")
        .stdin(Stdio::null());
    if let Some(tests) = std::env::var_os("LIBRDKAFKA_TESTS").filter(|t| !t.is_empty()) {
        cmd.env("TESTS", tests);
    }
    // Thousands of lines: they go to a file; the summary table is printed.
    let log = match run {
        0 => dir.join("zkafka-suite.log"),
        n => dir.join(format!("zkafka-suite-{n}.log")),
    };
    let out = std::fs::File::create(&log).unwrap();
    cmd.stdout(out.try_clone().unwrap()).stderr(out);
    let status = cmd.status().expect("run test-runner");
    let text = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    let summary = text
        .find("SUMMARY\n")
        .map_or("", |i| &text[text[..i].rfind('\n').map_or(0, |j| j + 1)..]);
    eprintln!(
        "{summary}test-runner exited with {status}; its output: {}",
        log.display()
    );
    read_report(&report)
}

/// Fails on a failure that is not expected and on an expected failure that passed.
fn judge(states: &BTreeMap<String, String>, expected: &BTreeMap<String, String>) {
    let count = |s: &str| states.values().filter(|v| v.as_str() == s).count();
    eprintln!(
        "librdkafka suite: {} passed, {} failed, {} skipped (expected failures: {})",
        count("PASSED"),
        states.len() - count("PASSED") - count("SKIPPED"),
        count("SKIPPED"),
        expected.len()
    );
    // test-runner stops everything when one test overruns its timeout: the rest never ran.
    let not_run = count("DNS") + count("NOT_STARTED") + count("RUNNING");
    if not_run > 0 {
        eprintln!("test-runner stopped early (a test timed out): {not_run} tests did not finish");
    }
    // A test listed as "flaky:" may pass or fail; it is reported, not judged.
    let flaky = |n: &str| expected.get(n).is_some_and(|why| why.starts_with("flaky:"));
    let failed: BTreeSet<&String> = states
        .iter()
        .filter(|(_, s)| !matches!(s.as_str(), "PASSED" | "SKIPPED"))
        .map(|(n, _)| n)
        .collect();
    for n in failed.iter().filter(|n| flaky(n)) {
        eprintln!("{n} failed; it is listed as {}", expected[n.as_str()]);
    }
    let new_failures: Vec<String> = failed
        .iter()
        .filter(|n| !expected.contains_key(n.as_str()))
        .map(|n| format!("{n} ({})", states[n.as_str()]))
        .collect();
    let newly_passing: Vec<&String> = expected
        .keys()
        .filter(|n| !flaky(n) && states.get(n.as_str()).map(String::as_str) == Some("PASSED"))
        .collect();
    assert!(
        new_failures.is_empty() && newly_passing.is_empty(),
        "librdkafka suite differs from {EXPECTED}:\n  failing but not listed: {new_failures:?}\n  \
         listed but passing now (remove them): {newly_passing:?}"
    );
}
