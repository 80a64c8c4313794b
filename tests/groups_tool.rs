//! `zkafka consumer-groups` (kafka-consumer-groups.sh): list, describe with lag = log end
//! offset − committed offset, state, offset resets, delete.

mod common;

use std::process::Command;

use common::groups::*;
use common::*;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;

fn tool(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .arg("consumer-groups")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The data rows (after the header) as whitespace-split columns.
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip_while(|l| !l.starts_with("TOPIC"))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_lag_and_resets_and_deletes() {
    let ens = ZkEnsemble::start(1);
    let brokers = start_cluster(
        &ens.connect_string(),
        &[
            ("offsets.topic.num.partitions", "3"),
            ("offsets.topic.replication.factor", "1"),
        ],
    )
    .await;
    create_topic(&brokers, "lt", 2, 1).await;
    let bootstrap: String = brokers
        .iter()
        .map(|b| b.bootstrap())
        .collect::<Vec<_>>()
        .join(",");
    for p in ["0", "1"] {
        let input: String = (0..10).map(|i| format!("v{i}\n")).collect();
        common::data_util::kcat_with_input(
            &["-P", "-b", &bootstrap, "-t", "lt", "-p", p],
            input.as_bytes(),
        )
        .await
        .unwrap();
    }
    let (_, coord) = find_coordinator(&brokers[0].bootstrap(), "lg").await;
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(sb("lg")))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(sb(""))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(sb("lt")))
            .with_partitions(
                [(0, 4), (1, 10)]
                    .iter()
                    .map(|(p, o)| {
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(*p)
                            .with_committed_offset(*o)
                    })
                    .collect(),
            )]);
    let r = client(&coord).await.send(&commit, 8).await.unwrap();
    assert!(r.topics[0].partitions.iter().all(|p| p.error_code == 0));

    let (ok, out) = tool(&["--bootstrap-server", &bootstrap, "--list"]);
    assert!(ok && out.lines().any(|l| l == "lg"), "{out}");

    let (ok, out) = tool(&[
        "--bootstrap-server",
        &bootstrap,
        "--describe",
        "--group",
        "lg",
    ]);
    assert!(ok, "{out}");
    assert!(out.starts_with("Consumer group 'lg' has no active members.\n\nTOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n"), "{out}");
    let mut r = rows(&out);
    r.sort();
    assert_eq!(
        r,
        vec![
            vec!["lt", "0", "4", "10", "6", "-", "-", "-"],
            vec!["lt", "1", "10", "10", "0", "-", "-", "-"],
        ]
    );

    let (ok, out) = tool(&[
        "--bootstrap-server",
        &bootstrap,
        "--describe",
        "--group",
        "lg",
        "--state",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.starts_with(
            "\nCOORDINATOR (ID)          ASSIGNMENT-STRATEGY       STATE                #MEMBERS\n"
        ),
        "{out}"
    );
    assert!(
        out.lines()
            .nth(2)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .ends_with(&["Empty", "0"]),
        "{out}"
    );

    // Dry run changes nothing; --execute does.
    let (ok, out) = tool(&[
        "--bootstrap-server",
        &bootstrap,
        "--reset-offsets",
        "--group",
        "lg",
        "--topic",
        "lt",
        "--shift-by",
        "-2",
        "--dry-run",
    ]);
    assert!(ok, "{out}");
    assert_eq!(rows(&out), vec![vec!["lt", "0", "2"], vec!["lt", "1", "8"]]);
    let (ok, out) = tool(&[
        "--bootstrap-server",
        &bootstrap,
        "--reset-offsets",
        "--group",
        "lg",
        "--all-topics",
        "--to-earliest",
        "--execute",
    ]);
    assert!(ok, "{out}");
    assert_eq!(rows(&out), vec![vec!["lt", "0", "0"], vec!["lt", "1", "0"]]);
    let (_, out) = tool(&[
        "--bootstrap-server",
        &bootstrap,
        "--describe",
        "--group",
        "lg",
    ]);
    let lags: Vec<String> = rows(&out).iter().map(|r| r[4].clone()).collect();
    assert_eq!(lags, vec!["10", "10"], "{out}");
    let (ok, out) = tool(&[
        "--bootstrap-server",
        &bootstrap,
        "--reset-offsets",
        "--group",
        "lg",
        "--topic",
        "lt:1",
        "--to-offset",
        "7",
        "--execute",
    ]);
    assert!(ok, "{out}");
    assert_eq!(rows(&out), vec![vec!["lt", "1", "7"]]);

    let (ok, out) = tool(&[
        "--bootstrap-server",
        &bootstrap,
        "--delete",
        "--group",
        "lg",
    ]);
    assert!(ok, "{out}");
    assert_eq!(
        out,
        "Deletion of requested consumer groups ('lg') was successful.\n"
    );
    let (_, out) = tool(&[
        "--bootstrap-server",
        &bootstrap,
        "--describe",
        "--group",
        "lg",
    ]);
    assert_eq!(out, "Consumer group 'lg' does not exist.\n");
}
