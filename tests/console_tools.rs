//! `zkafka console-producer` / `console-consumer` (kafka-console-producer.sh and
//! kafka-console-consumer.sh) against a real broker, cross-checked with kcat: keyed lines land
//! on murmur2(key) mod partitions, Kafka's `>` prompts, the DefaultMessageFormatter columns,
//! `--partition/--offset`, `--max-messages`, `--timeout-ms`, and `--group` resuming from the
//! offsets its previous run committed.

mod common;

use common::data_util::{
    create_topic, kcat_with_input, partition_for_key, single_broker, zkafka_tool as tool,
};

fn consume(args: &[&str]) -> (String, String) {
    let (ok, out, err) = tool("console-consumer", args, "");
    assert!(ok, "console-consumer {args:?} failed: {err}");
    (out, err)
}

fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_producer_and_consumer() {
    let (zk, broker) = single_broker(&[
        ("offsets.topic.replication.factor", "1"),
        ("offsets.topic.num.partitions", "3"),
    ]);
    let b = broker.bootstrap();
    let b = b.as_str();
    create_topic(&zk.connect_string(), b, "ct", 3, &[1], &[]).await;
    create_topic(&zk.connect_string(), b, "c2", 3, &[1], &[]).await;

    // 100 keyed lines, exactly as in the reference transcript: 101 prompts, nothing else.
    let input: String = (1..=100).map(|i| format!("k{i}:value-{i}\n")).collect();
    let (ok, out, err) = tool(
        "console-producer",
        &[
            "--broker-list",
            b,
            "--topic",
            "ct",
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
            "--request-required-acks",
            "all",
        ],
        &input,
    );
    assert!(ok, "producer failed: {err}");
    assert_eq!(out, ">".repeat(101));
    assert_eq!(err, "");

    // kcat sees each record on the default partitioner's partition, in input order there.
    let seen = kcat_with_input(
        &[
            "-C",
            "-b",
            b,
            "-t",
            "ct",
            "-o",
            "beginning",
            "-e",
            "-f",
            "%p|%k|%s\n",
        ],
        b"",
    )
    .await
    .unwrap();
    let mut last_per_partition = [0u32; 3];
    let mut count = 0;
    for line in seen.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let n: u32 = f[1].strip_prefix('k').unwrap().parse().unwrap();
        let p: i32 = f[0].parse().unwrap();
        assert_eq!(f[2], format!("value-{n}"));
        assert_eq!(
            p,
            partition_for_key(f[1].as_bytes(), 3),
            "partition of {}",
            f[1]
        );
        assert!(
            n > last_per_partition[p as usize],
            "order within partition {p}"
        );
        last_per_partition[p as usize] = n;
        count += 1;
    }
    assert_eq!(count, 100, "kcat saw:\n{seen}");

    // 10 records by kcat on partition 1 of c2, read back with each formatter column.
    let input: String = (0..10).map(|i| format!("a{i}:b{i}\n")).collect();
    kcat_with_input(
        &["-P", "-b", b, "-t", "c2", "-p", "1", "-K", ":"],
        input.as_bytes(),
    )
    .await
    .unwrap();
    let (out, err) = consume(&[
        "--bootstrap-server",
        b,
        "--topic",
        "c2",
        "--from-beginning",
        "--max-messages",
        "10",
        "--property",
        "print.key=true",
        "--property",
        "print.partition=true",
    ]);
    let want: String = (0..10)
        .map(|i| format!("Partition:1\ta{i}\tb{i}\n"))
        .collect();
    assert_eq!(out, want);
    assert_eq!(err, "Processed a total of 10 messages\n");
    let (out, _) = consume(&[
        "--bootstrap-server",
        b,
        "--topic",
        "c2",
        "--partition",
        "1",
        "--offset",
        "7",
        "--max-messages",
        "2",
        "--property",
        "print.offset=true",
        "--property",
        "key.separator=|",
    ]);
    assert_eq!(out, "Offset:7|b7\nOffset:8|b8\n");
    let (out, err) = consume(&[
        "--bootstrap-server",
        b,
        "--topic",
        "c2",
        "--from-beginning",
        "--timeout-ms",
        "1500",
        "--property",
        "print.timestamp=true",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 10, "{out}");
    assert!(lines
        .iter()
        .enumerate()
        .all(|(i, l)| l.starts_with("CreateTime:") && l.ends_with(&format!("\tb{i}"))));
    assert_eq!(err, "Processed a total of 10 messages\n");
    // Without --from-beginning it starts at the end: nothing within the timeout.
    let (out, err) = consume(&[
        "--bootstrap-server",
        b,
        "--topic",
        "c2",
        "--timeout-ms",
        "1000",
    ]);
    assert_eq!(
        (out.as_str(), err.as_str()),
        ("", "Processed a total of 0 messages\n")
    );

    // A group reads everything, commits, and its next run sees only what came after.
    let group_run = || {
        consume(&[
            "--bootstrap-server",
            b,
            "--topic",
            "ct",
            "--group",
            "g1",
            "--from-beginning",
            "--timeout-ms",
            "3000",
            "--property",
            "print.key=true",
        ])
    };
    let (out, err) = group_run();
    let want: Vec<String> = sorted(
        &(1..=100)
            .map(|i| format!("k{i}\tvalue-{i}\n"))
            .collect::<String>(),
    );
    assert_eq!(sorted(&out), want);
    assert_eq!(err, "Processed a total of 100 messages\n");
    let (out, err) = group_run();
    assert_eq!(
        (out.as_str(), err.as_str()),
        ("", "Processed a total of 0 messages\n")
    );
    // Unkeyed lines sent together stick to one partition; acks=0 gets no response.
    let (ok, _, err) = tool(
        "console-producer",
        &[
            "--bootstrap-server",
            b,
            "--topic",
            "ct",
            "--request-required-acks",
            "0",
        ],
        "u1\nu2\nu3\n",
    );
    assert!(ok, "{err}");
    let (out, err) = group_run();
    assert_eq!(out, "null\tu1\nnull\tu2\nnull\tu3\n");
    assert_eq!(err, "Processed a total of 3 messages\n");

    // Two members of one group split the partitions (the second join rebalances the first,
    // which commits before rejoining): together they print every record exactly once.
    let member = |delay_ms: u64| {
        let b = b.to_string();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(delay_ms));
            consume(&[
                "--bootstrap-server",
                &b,
                "--topic",
                "ct",
                "--group",
                "g2",
                "--from-beginning",
                "--timeout-ms",
                "6000",
            ])
        })
    };
    let (first, second) = (member(0), member(300));
    let (out1, err1) = first.join().unwrap();
    let (out2, err2) = second.join().unwrap();
    let mut all = sorted(&(out1 + &out2));
    let mut want: Vec<String> = (1..=100).map(|i| format!("value-{i}")).collect();
    want.extend(["u1", "u2", "u3"].map(String::from));
    want.sort();
    all.dedup();
    assert_eq!(all, want, "{err1}{err2}");
    let total = |e: &str| -> usize {
        e.trim()
            .strip_prefix("Processed a total of ")
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(total(&err1) + total(&err2), 103, "{err1}{err2}");

    // A line without the separator stops the producer with Kafka's message.
    let (ok, _, err) = tool(
        "console-producer",
        &[
            "--bootstrap-server",
            b,
            "--topic",
            "ct",
            "--property",
            "parse.key=true",
        ],
        "nokey\n",
    );
    assert!(!ok);
    assert!(err.contains("No key found on line 1: nokey"), "{err}");
}
