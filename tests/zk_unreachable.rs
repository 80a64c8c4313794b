//! A wrong ZooKeeper address, as a newcomer types it: the broker and `zkafka topics` fail at
//! once with the address and the cause (not after the connection timeout with "timeout"), and
//! the tool prints its own message only, with log lines on stderr only when `ZKAFKA_LOG` asks.
//! Uses the real binary against ports where nothing listens; no ZooKeeper is started.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::*;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn topics(connect: &str, log: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkafka"));
    cmd.args(["topics", "--zookeeper", connect, "--list"]);
    cmd.env_remove("ZKAFKA_LOG");
    if let Some(filter) = log {
        cmd.env("ZKAFKA_LOG", filter);
    }
    cmd.output().expect("run zkafka topics")
}

#[test]
fn topics_tool_names_the_refusing_address() {
    let connect = format!("127.0.0.1:{}", free_port());
    let out = topics(&connect, None);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert_eq!(
        stderr.trim_end(),
        format!(
            "Error while executing topic command : cannot connect to ZooKeeper at {connect}: \
             no ZooKeeper server accepts connections: {connect}: connection refused"
        )
    );
    assert_eq!(stdout, "");
}

#[test]
fn every_server_of_an_ensemble_is_named_with_its_cause() {
    let (a, b) = (free_port(), free_port());
    let connect = format!("127.0.0.1:{a},127.0.0.1:{b},no-such-host.invalid:2181/chroot");
    let out = topics(&connect, None);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "127.0.0.1:{a}: connection refused, 127.0.0.1:{b}: connection refused, \
             no-such-host.invalid:2181: unknown host"
        )),
        "{stderr}"
    );
}

#[test]
fn tool_log_lines_only_when_asked_and_in_kafka_layout() {
    let connect = format!("127.0.0.1:{}", free_port());
    let (_, quiet) = text(&topics(&connect, None));
    assert_eq!(
        quiet.lines().count(),
        1,
        "one message, no log lines: {quiet}"
    );
    let (stdout, verbose) = text(&topics(&connect, Some("debug")));
    assert_eq!(stdout, "");
    let log_lines: Vec<&str> = verbose
        .lines()
        .filter(|l| l.contains("(zookeeper_client::"))
        .collect();
    assert!(
        !log_lines.is_empty(),
        "ZKAFKA_LOG=debug shows the client's lines: {verbose}"
    );
    for l in log_lines {
        assert!(
            l.starts_with('[') && l.contains("] DEBUG "),
            "log4j layout: {l}"
        );
    }
}

#[test]
fn broker_exits_naming_the_refusing_address() {
    let port = free_port();
    let connect = format!("127.0.0.1:{port}");
    let mut broker = Broker::start(1, &connect, &[]);
    let status = broker
        .wait_exit(Duration::from_secs(60))
        .expect("the broker exits when no ZooKeeper server accepts connections");
    let log = broker.log_contents();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains(&format!(
            "cannot connect to ZooKeeper at {connect} (zookeeper.connect): no ZooKeeper server \
             accepts connections: {connect}: connection refused"
        )),
        "{log}"
    );
}
