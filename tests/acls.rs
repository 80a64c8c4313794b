//! The AclAuthorizer on a 3-broker cluster over PLAINTEXT (issue 17, ACL part). Every
//! connection is `User:ANONYMOUS` until SASL/TLS land, so the test grants and withholds ACLs
//! on `User:ANONYMOUS`: the brokers talk to each other as ANONYMOUS too, so ANONYMOUS holds
//! CLUSTER_ACTION on the cluster (written with kafka-acls.sh --authorizer-properties before
//! the brokers start), which Kafka requires of the inter-broker principal.
//!
//! Asserted: kafka-acls.sh's output and znodes; a producer with DESCRIBE but no WRITE gets
//! TOPIC_AUTHORIZATION_FAILED (confluent-kafka and kafka-python); a consumer without READ on
//! its group gets GROUP_AUTHORIZATION_FAILED, and consumes once kafka-acls.sh --consumer
//! grants it; a prefixed ACL grants a family of topics on every broker soon after it is
//! written; CreateAcls without ALTER on the cluster is refused; replication keeps working.

mod common;

use std::time::{Duration, Instant};

use common::acl_util::*;
use common::data_util::*;
use common::*;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use serde_json::Value;

const T: Duration = Duration::from_secs(60);
const AUTHORIZER: (&str, &str) = (
    "authorizer.class.name",
    "kafka.security.authorizer.AclAuthorizer",
);

fn acl_clients(args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/acl_clients.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (scripts/test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "acl_clients.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The error code a broker's Metadata v9 gives for one topic.
async fn metadata_code(broker: &Broker, topic: &str) -> i16 {
    let mut c = client(broker).await;
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(topic_name(topic)))
        ]))
        .with_allow_auto_topic_creation(false);
    let r = c.send(&req, 9).await.expect("Metadata");
    r.topics[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_guard_topics_groups_and_the_cluster() {
    let ens = ZkEnsemble::start(1);
    let connect = ens.connect_string();
    // Before any broker: the inter-broker principal's CLUSTER_ACTION, written in ZooKeeper.
    let out = acls_zk(
        &connect,
        &[
            "--add",
            "--allow-principal",
            "User:ANONYMOUS",
            "--operation",
            "ClusterAction",
            "--cluster",
        ],
    );
    let cluster = "ResourcePattern(resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL)";
    let entry =
        "(principal=User:ANONYMOUS, host=*, operation=CLUSTER_ACTION, permissionType=ALLOW)";
    assert_eq!(
        out,
        format!(
            "Adding ACLs for resource `{cluster}`: \n \t{entry} \n\n\
             Current ACLs for resource `{cluster}`: \n \t{entry} \n\n"
        )
    );
    let zk = zk_client(&connect).await;
    let (data, _) = zk
        .get_data("/kafka-acl/Cluster/kafka-cluster")
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"version": 1, "acls": [{"principal": "User:ANONYMOUS",
            "permissionType": "Allow", "operation": "ClusterAction", "host": "*"}]})
    );
    let changes = zk.list_children("/kafka-acl-changes").await.unwrap();
    assert_eq!(changes, vec!["acl_changes_0000000000".to_string()]);
    let (data, _) = zk
        .get_data("/kafka-acl-changes/acl_changes_0000000000")
        .await
        .unwrap();
    assert_eq!(data, b"CLUSTER:kafka-cluster");
    // DESCRIBE (not WRITE) on `orders`, before it exists so the harness can see it.
    acls_zk(
        &connect,
        &[
            "--add",
            "--allow-principal",
            "User:ANONYMOUS",
            "--operation",
            "Describe",
            "--topic",
            "orders",
        ],
    );

    let brokers = start_cluster(
        &connect,
        &[AUTHORIZER, ("super.users", "User:admin;User:ops")],
    )
    .await;
    let b = brokers[0].bootstrap();
    create_topic(&connect, &b, "orders", 3, &[1, 2, 3], &[]).await;

    // 1. Producing without WRITE: TOPIC_AUTHORIZATION_FAILED from both clients.
    for c in ["confluent", "kafka-python"] {
        let r = acl_clients(&["produce", c, &b, "orders", "3"]);
        assert_eq!(r["code"], 29, "{c}: {r}");
    }
    // The authorizer logger's INFO line, as Kafka's kafka.authorizer.logger writes it.
    let denied = "Principal = User:ANONYMOUS is Denied Operation = Write from host = 127.0.0.1 \
                  on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1";
    assert!(
        brokers.iter().any(|b| b.log_contents().contains(denied)),
        "no broker logged: {denied}"
    );
    // CreateAcls needs ALTER on the cluster, which ANONYMOUS lacks.
    let (code, out) = acls_tool(&[
        "--bootstrap-server",
        &b,
        "--add",
        "--allow-principal",
        "User:ANONYMOUS",
        "--operation",
        "Write",
        "--topic",
        "orders",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.ends_with("Error while executing ACL command: org.apache.kafka.common.errors.ClusterAuthorizationException: Cluster authorization failed.\n"), "{out}");
    acls_zk(
        &connect,
        &[
            "--add",
            "--allow-principal",
            "User:ANONYMOUS",
            "--operation",
            "Write",
            "--topic",
            "orders",
        ],
    );
    wait_until_msg(T, "WRITE on orders applies", || {
        let b = b.clone();
        async move { acl_clients(&["produce", "confluent", &b, "orders", "5"])["code"] == 0 }
    })
    .await;
    let r = acl_clients(&["produce", "kafka-python", &b, "orders", "5"]);
    assert_eq!(r["code"], 0, "{r}");

    // 2. Consuming without READ on the group: GROUP_AUTHORIZATION_FAILED; then granted.
    for c in ["confluent", "kafka-python"] {
        let r = acl_clients(&["consume", c, &b, "orders", "app", "5"]);
        assert_eq!(r["code"], 30, "{c}: {r}");
    }
    let out = acls_zk(
        &connect,
        &[
            "--add",
            "--allow-principal",
            "User:ANONYMOUS",
            "--consumer",
            "--topic",
            "orders",
            "--group",
            "app",
        ],
    );
    assert!(out.contains("Adding ACLs for resource `ResourcePattern(resourceType=GROUP, name=app, patternType=LITERAL)`: \n \t(principal=User:ANONYMOUS, host=*, operation=READ, permissionType=ALLOW) \n"), "{out}");
    assert!(out.contains("Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`: \n \
        \t(principal=User:ANONYMOUS, host=*, operation=READ, permissionType=ALLOW)\n\
        \t(principal=User:ANONYMOUS, host=*, operation=WRITE, permissionType=ALLOW)\n\
        \t(principal=User:ANONYMOUS, host=*, operation=DESCRIBE, permissionType=ALLOW) \n"), "{out}");
    wait_until_msg(T, "the consumer reads with READ on its group", || {
        let b = b.clone();
        async move {
            let r = acl_clients(&["consume", "confluent", &b, "orders", "app", "5"]);
            r["code"] == 0 && r["count"].as_i64().unwrap_or(0) >= 5
        }
    })
    .await;

    // 3. A prefixed ACL grants a family of topics, on every broker soon after it is written.
    // (Topics are created as kafka-topics.sh --zookeeper would; the harness needs DESCRIBE.)
    for broker in &brokers {
        assert_eq!(metadata_code(broker, "fleet-a").await, 29);
    }
    let written = Instant::now();
    acls_zk(
        &connect,
        &[
            "--add",
            "--allow-principal",
            "User:ANONYMOUS",
            "--operation",
            "Write",
            "--operation",
            "Describe",
            "--topic",
            "fleet-",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    for broker in &brokers {
        wait_until_msg(
            Duration::from_secs(10),
            "the prefixed ACL reaches every broker",
            || async { metadata_code(broker, "fleet-a").await != 29 },
        )
        .await;
    }
    println!(
        "prefixed ACL visible on all 3 brokers after {:?}",
        written.elapsed()
    );
    let data = zk
        .get_data("/kafka-acl-extended/prefixed/Topic/fleet-")
        .await
        .unwrap()
        .0;
    assert!(String::from_utf8(data)
        .unwrap()
        .contains("\"operation\":\"Write\""));
    let ext = zk
        .list_children("/kafka-acl-extended-changes")
        .await
        .unwrap();
    let (data, _) = zk
        .get_data(&format!("/kafka-acl-extended-changes/{}", ext[0]))
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"version": 1, "resourceType": "TOPIC", "name": "fleet-", "patternType": "PREFIXED"})
    );
    create_topic(&connect, &b, "fleet-a", 1, &[2, 3], &[]).await;
    create_topic(&connect, &b, "fleet-b", 1, &[3, 1], &[]).await;
    for t in ["fleet-a", "fleet-b"] {
        let r = acl_clients(&["produce", "confluent", &b, t, "3"]);
        assert_eq!(r["code"], 0, "{t}: {r}");
    }
    assert_eq!(
        metadata_code(&brokers[1], "fleets").await,
        29,
        "not a prefix match"
    );

    // 4. --list with a MATCH filter shows literal and prefixed ACLs applying to a topic;
    //    --remove takes them away again.
    let out = acls_zk(
        &connect,
        &[
            "--list",
            "--topic",
            "fleet-a",
            "--resource-pattern-type",
            "match",
        ],
    );
    assert_eq!(
        out,
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=fleet-, patternType=PREFIXED)`: \n \
         \t(principal=User:ANONYMOUS, host=*, operation=WRITE, permissionType=ALLOW)\n\
         \t(principal=User:ANONYMOUS, host=*, operation=DESCRIBE, permissionType=ALLOW) \n\n"
    );
    acls_zk(
        &connect,
        &[
            "--remove",
            "--force",
            "--topic",
            "fleet-",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    assert!(zk
        .get_data("/kafka-acl-extended/prefixed/Topic/fleet-")
        .await
        .is_err());
    for broker in &brokers {
        wait_until_msg(
            Duration::from_secs(10),
            "the removal reaches every broker",
            || async { metadata_code(broker, "fleet-a").await == 29 },
        )
        .await;
    }

    // 5. Replication (follower fetches, LeaderAndIsr) kept working under CLUSTER_ACTION:
    //    every partition of `orders` still has its full ISR.
    let meta = kcat_metadata_json(&brokers[2].bootstrap()).await;
    let orders = meta["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "orders")
        .cloned()
        .unwrap();
    for p in orders["partitions"].as_array().unwrap() {
        assert_eq!(p["isrs"].as_array().map(Vec::len), Some(3), "{p}");
    }
}
