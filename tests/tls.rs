//! SSL listeners (issue 17) with real ZooKeeper, three real brokers and real clients. Keys and
//! certificates are generated at test time (common::security: a CA, one broker certificate for
//! 127.0.0.1 and localhost, and a client certificate for `CN=alice,OU=eng,O=acme`). The brokers talk to each
//! other over SSL (security.inter.broker.protocol=SSL, mutual TLS) and keep a PLAINTEXT
//! listener on the harness port for the harness's own checks.

mod common;

use std::time::Duration;

use common::data_util::create_topic;
use common::security::{pki, run_client_script, s, Pki};
use common::*;

const T: Duration = Duration::from_secs(40);

/// kcat over SSL with the CA (and optionally the client certificate).
async fn kcat_ssl(pki: &Pki, bootstrap: &str, mtls: bool, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["-b", bootstrap, "-X", "security.protocol=ssl", "-X"];
    let ca = format!("ssl.ca.location={}", s(&pki.ca));
    all.push(&ca);
    let (cert, key) = (
        format!("ssl.certificate.location={}", s(&pki.client_cert)),
        format!("ssl.key.location={}", s(&pki.client_key)),
    );
    if mtls {
        all.extend(["-X", &cert, "-X", &key]);
    }
    all.extend_from_slice(args);
    kcat(&all).await
}

/// Produced and consumed values of one client run, checked against `prefix-<i>`.
fn assert_round_trip(who: &str, out: &serde_json::Value, prefix: &str, n: usize) {
    assert_eq!(
        out["acked"].as_u64(),
        Some(n as u64),
        "{who} acknowledged: {out}"
    );
    let values: Vec<&str> = out["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    assert_eq!(values, expected, "{who} read back what it wrote");
}

#[tokio::test(flavor = "multi_thread")]
async fn ssl_listeners_serve_clients_and_replicate_between_brokers() {
    let pki = pki();
    let zk = ZkEnsemble::start(1);
    let connect = zk.connect_string();
    let ssl_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    // Debug for the network processor: its "authenticated as" line shows the principal.
    std::env::set_var("ZKAFKA_LOG", "info,kafka.network.Processor=debug");
    let mut brokers: Vec<Broker> = (1..=3)
        .map(|id| {
            let listeners = format!(
                "PLAINTEXT://127.0.0.1:{{port}},SSL://127.0.0.1:{}",
                ssl_ports[id as usize - 1]
            );
            Broker::start(
                id,
                &connect,
                &[
                    ("listeners", &listeners),
                    ("advertised.listeners", &listeners),
                    ("security.inter.broker.protocol", "SSL"),
                    ("ssl.keystore.type", "PEM"),
                    ("ssl.keystore.location", s(&pki.broker)),
                    ("ssl.truststore.type", "PEM"),
                    ("ssl.truststore.location", s(&pki.ca)),
                    ("ssl.client.auth", "requested"),
                ],
            )
        })
        .collect();
    for b in &mut brokers {
        b.wait_listening(T);
    }
    let ssl_bootstrap = |i: usize| format!("127.0.0.1:{}", ssl_ports[i]);

    // acks=all with RF=3: the followers fetch from the leader over SSL (the inter-broker
    // listener), or the produce would time out waiting for the ISR.
    create_topic(
        &connect,
        &brokers[0].bootstrap(),
        "repl",
        1,
        &[1, 2, 3],
        &[("min.insync.replicas", "3")],
    )
    .await;
    let input: String = (0..200).map(|i| format!("r{i}\n")).collect();
    let path = std::env::temp_dir().join(format!("zkafka-tls-{}.txt", std::process::id()));
    std::fs::write(&path, &input).unwrap();
    kcat_ssl(
        &pki,
        &ssl_bootstrap(1),
        false,
        &["-P", "-t", "repl", "-X", "acks=all", "-l", s(&path)],
    )
    .await
    .expect("produce acks=all over SSL");
    std::fs::remove_file(&path).unwrap();
    let read = kcat_ssl(
        &pki,
        &ssl_bootstrap(2),
        false,
        &["-C", "-t", "repl", "-o", "beginning", "-c", "200", "-e"],
    )
    .await
    .expect("consume over SSL");
    assert_eq!(read, input, "all 200 records read back over SSL");
    for b in &brokers {
        // Every replica holds the records: replication ran over the SSL listener.
        wait_until_msg(
            T,
            format!("broker {} has the 200 records", b.id()),
            || async {
                kcat(&[
                    "-b",
                    &b.bootstrap(),
                    "-C",
                    "-t",
                    "repl",
                    "-o",
                    "beginning",
                    "-c",
                    "200",
                    "-e",
                    "-X",
                    "fetch.wait.max.ms=10",
                ])
                .await
                .is_ok_and(|out| out.lines().count() == 200)
            },
        )
        .await;
    }

    // Real clients with default settings apart from the CA.
    for (client, topic) in [("kafka-python", "py"), ("confluent", "ck")] {
        create_topic(&connect, &brokers[0].bootstrap(), topic, 1, &[1, 2, 3], &[]).await;
        let out = run_client_script(
            "python3",
            "tests/python/tls_clients.py",
            &[client, &ssl_bootstrap(0), s(&pki.ca), topic, "50"],
        );
        assert_round_trip(client, &out, client, 50);
    }
    create_topic(&connect, &brokers[0].bootstrap(), "js", 1, &[1, 2, 3], &[]).await;
    let out = run_client_script(
        "node",
        "tests/js/tls_clients.js",
        &[&ssl_bootstrap(0), s(&pki.ca), "js", "50"],
    );
    assert_round_trip("kafkajs", &out, "kafkajs", 50);

    // Mutual TLS: the client certificate's subject is the principal, as Java prints the DN.
    kcat_ssl(&pki, &ssl_bootstrap(0), true, &["-L", "-t", "repl"])
        .await
        .expect("metadata over mutual TLS");
    wait_until_msg(T, "broker 1 logs the certificate's principal", || async {
        brokers[0]
            .log_contents()
            .contains("authenticated as User:CN=alice,OU=eng,O=acme")
    })
    .await;
    assert!(
        brokers[0]
            .log_contents()
            .contains("authenticated as User:ANONYMOUS"),
        "a client without a certificate is User:ANONYMOUS"
    );

    // A client speaking PLAINTEXT to the SSL listener is closed; the broker keeps serving.
    let err = kcat(&["-b", &ssl_bootstrap(0), "-L", "-m", "3"]).await;
    assert!(
        err.is_err(),
        "a PLAINTEXT client cannot use the SSL listener: {err:?}"
    );
    wait_until_msg(T, "broker 1 logs the failed handshake", || async {
        brokers[0].log_contents().contains("(SSL handshake failed)")
    })
    .await;
    assert!(
        brokers[0].is_running(),
        "the broker survived a non-TLS client"
    );
    kcat_ssl(&pki, &ssl_bootstrap(0), false, &["-L"])
        .await
        .expect("SSL still served");
}

#[test]
fn broker_refuses_to_start_with_a_bad_keystore() {
    let pki = pki();
    let missing = pki.ca.with_file_name("no-such-keystore.pem");
    let garbage = pki.ca.with_file_name("garbage.pem");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.location", s(&missing)),
            ],
            "ssl.keystore.location file",
        ),
        (
            &[
                ("ssl.keystore.type", "PEM"),
                ("listener.name.ssl.ssl.keystore.location", s(&garbage)),
            ],
            "listener.name.ssl.ssl.keystore.location",
        ),
        (
            &[
                ("ssl.keystore.type", "JKS"),
                ("ssl.keystore.location", s(&pki.broker)),
            ],
            "ssl.keystore.type=PEM",
        ),
    ];
    for (extra, want) in cases {
        let mut props = vec![(
            "listeners",
            "PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:0",
        )];
        props.extend_from_slice(extra);
        // No ZooKeeper: the keystore is checked before the broker connects to it.
        let mut b = Broker::start(1, "127.0.0.1:1", &props);
        assert!(b.wait_exit(T).is_some(), "broker with {extra:?} exited");
        let log = b.log_contents();
        assert!(
            log.contains(want),
            "{extra:?}: the error names {want}:\n{log}"
        );
    }
}
