//! SASL over TLS (issue 17): three brokers whose inter-broker listener is SASL_SSL
//! (SCRAM-SHA-512 as the user `broker`, credentials in ZooKeeper before they start), and
//! clients kcat, confluent-kafka, kafka-python and kafkajs logging in over SASL_SSL with PLAIN
//! and SCRAM-SHA-512 (only the CA differs from their defaults). Every topic has RF=3 and the
//! clients produce with acks=all, so each round trip also needs the followers' fetchers logged
//! in over SASL_SSL; wrong passwords are refused with SASL_AUTHENTICATION_FAILED.

mod common;

use common::data_util::create_topic;
use common::security::*;
use common::*;

const ALICE_PW: &str = "alice-test-only-pw";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_clients_and_inter_broker_sasl_ssl() {
    // Successful logins are logged: the inter-broker ones are asserted below.
    std::env::set_var("ZKAFKA_LOG", format!("info,{SASL_LOGIN_LOG}"));
    let pki = pki();
    let zk = ZkEnsemble::start(1);
    let connect = zk.connect_string();
    add_scram_user(
        &connect,
        "alice",
        &format!("SCRAM-SHA-512=[password={ALICE_PW}]"),
    );
    let brokers = start_secured_cluster(
        &connect,
        "SASL_SSL",
        Some(&pki),
        &[("alice", ALICE_PW)],
        &[
            ("connection.failed.authentication.delay.ms", "50"),
            // The clients' auto-created topics are replicated too.
            ("default.replication.factor", "3"),
        ],
    )
    .await;
    let secure: Vec<String> = brokers
        .iter()
        .map(|b| listener_address(b, "SASL_SSL").unwrap())
        .collect();
    let all = secure.join(",");
    let ca = Some(pki.ca.as_path());

    // min.insync.replicas=3: acks=all succeeds only once both followers fetched over SASL_SSL.
    create_topic(
        &connect,
        &brokers[0].bootstrap(),
        "secure",
        3,
        &[1, 2, 3],
        &[("min.insync.replicas", "3")],
    )
    .await;
    for (mech, records) in [("PLAIN", ["p1", "p2"]), ("SCRAM-SHA-512", ["s1", "s2"])] {
        let base = kcat_sasl(&all, ca, mech, "alice", ALICE_PW);
        let read = kcat_round_trip(&base, "secure", &records).await;
        for rec in records {
            assert!(
                read.contains(&rec.to_string()),
                "kcat {mech}: {rec} missing in {read:?}"
            );
        }
    }

    let ca_path = s(&pki.ca);
    every_sasl_client_round_trips(&all, "alice", ALICE_PW, Some(ca_path));

    // Wrong passwords: refused inside TLS with Kafka's messages.
    let plain_msg = "Authentication failed: Invalid username or password";
    let scram_msg = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512";
    assert_kcat_refused(
        &kcat_sasl(&secure[0], ca, "PLAIN", "alice", "wrong"),
        plain_msg,
    )
    .await;
    assert_kcat_refused(
        &kcat_sasl(&secure[1], ca, "SCRAM-SHA-512", "alice", "wrong"),
        scram_msg,
    )
    .await;
    let r = run_client_script(
        "python3",
        "tests/python/sasl_clients.py",
        &[
            "roundtrip",
            "confluent",
            &secure[0],
            "PLAIN",
            "alice",
            "wrong",
            "secure",
            "1",
            ca_path,
        ],
    );
    assert_eq!(r["code"], 58, "confluent PLAIN with a wrong password: {r}");
    let r = run_client_script(
        "node",
        "tests/js/sasl_clients.js",
        &[
            &secure[2],
            "scram-sha-512",
            "alice",
            "wrong",
            "secure",
            "1",
            ca_path,
        ],
    );
    let err = r["error"].as_str().unwrap_or_default();
    assert!(
        err.starts_with("KafkaJSSASLAuthenticationError") && err.contains(scram_msg),
        "kafkajs with a wrong password: {r}"
    );

    // The brokers really talked to each other over SASL_SSL (znodes, fetchers, logins).
    assert_inter_broker_listener(&connect, &brokers, "SASL_SSL").await;
    assert!(
        brokers.iter().any(|b| b
            .log_contents()
            .contains("on SASL_SSL: authenticationID=alice, mechanism=PLAIN")),
        "a broker logged alice's PLAIN login over SASL_SSL"
    );
}
