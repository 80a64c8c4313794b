//! The AclAuthorizer against real SASL users (issue 17): one broker whose inter-broker
//! listener is SASL_PLAINTEXT with SCRAM-SHA-512 as `User:broker` (a super user, so the
//! controller's requests to it pass), `User:admin` (super user) granting ACLs with
//! kafka-acls.sh --bootstrap-server --command-config, `alice` who may create, write and
//! describe topics prefixed `a-`, and `bob` who may only consume `a-orders` in group `g-bob`.
//!
//! Asserted: real clients (confluent-kafka, kafka-python) get TOPIC/GROUP/CLUSTER
//! _AUTHORIZATION_FAILED where Kafka refuses and succeed where the ACLs allow; the authorizer
//! log line names the SASL principal; KIP-430 authorized operations in Metadata and
//! DescribeGroups; and the checks of the admin, offset and inter-broker-adjacent APIs.

mod common;

use std::time::Duration;

use common::acl_util::*;
use common::security::{add_scram_user, run_client_script_env};
use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use zkafka::network::client::BrokerClient;

const T: Duration = Duration::from_secs(60);
const BROKER_PW: &str = "broker-test-only-pw";
const ADMIN_PW: &str = "admin-test-only-pw";
const ALICE_PW: &str = "alice-test-only-pw";
const BOB_PW: &str = "bob-test-only-pw";

const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;

/// AclOperation codes as KIP-430 bit positions.
const READ: i32 = 1 << 3;
const WRITE: i32 = 1 << 4;
const CREATE: i32 = 1 << 5;
const DESCRIBE: i32 = 1 << 8;
/// Every operation the Cluster resource supports (what a super user holds).
const ALL_CLUSTER_OPS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn start_broker(connect: &str) -> Broker {
    let scram_jaas = format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" password=\"{BROKER_PW}\";"
    );
    let listeners = "PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{free_port}";
    let extra = [
        ("listeners", listeners),
        ("advertised.listeners", listeners),
        ("inter.broker.listener.name", "SASL_PLAINTEXT"),
        ("sasl.enabled.mechanisms", "SCRAM-SHA-512"),
        ("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512"),
        (
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config",
            scram_jaas.as_str(),
        ),
        (
            "authorizer.class.name",
            "kafka.security.authorizer.AclAuthorizer",
        ),
        ("super.users", "User:broker;User:admin"),
        ("offsets.topic.replication.factor", "1"),
        ("offsets.topic.num.partitions", "3"),
        ("transaction.state.log.replication.factor", "1"),
        ("group.initial.rebalance.delay.ms", "0"),
    ];
    let mut b = Broker::start(1, connect, &extra);
    b.wait_listening(T);
    b
}

/// kafka-acls.sh --bootstrap-server SASL --command-config FILE ARGS: (exit code, stdout).
fn acls_as(bootstrap: &str, config: &std::path::Path, args: &[&str]) -> (i32, String) {
    let config = config.to_str().unwrap();
    let mut all = vec!["--bootstrap-server", bootstrap, "--command-config", config];
    all.extend_from_slice(args);
    acls_tool(&all)
}

fn command_config(dir: &std::path::Path, user: &str, pw: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{user}.properties"));
    let text = format!(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n\
         sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{pw}\";\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// tests/python/acl_clients.py logged in as `user`.
fn clients_as(user: &str, pw: &str, args: &[&str]) -> Value {
    let env = [("ACL_SASL_USER", user), ("ACL_SASL_PASSWORD", pw)];
    run_client_script_env("python3", "tests/python/acl_clients.py", args, &env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_for_scram_users_in_real_clients_and_every_api() {
    let zk = ZkEnsemble::start(1);
    let connect = zk.connect_string();
    for (user, pw) in [
        ("broker", BROKER_PW),
        ("admin", ADMIN_PW),
        ("alice", ALICE_PW),
        ("bob", BOB_PW),
    ] {
        add_scram_user(&connect, user, &format!("SCRAM-SHA-512=[password={pw}]"));
    }
    let broker = start_broker(&connect);
    let sasl = sasl_bootstrap(&broker);
    // The controller reached this broker as User:broker (a super user): metadata is served.
    wait_until_msg(T, "the broker knows itself from UpdateMetadata", || async {
        let mut c = scram_client(&sasl, "admin", ADMIN_PW).await;
        let r: MetadataResponse = c.send(&MetadataRequest::default(), 9).await.unwrap();
        r.brokers.len() == 1 && r.controller_id.0 == 1
    })
    .await;

    grant_with_admin_tool(&sasl).await;
    real_client_refusals(&broker, &sasl).await;
    authorized_operations(&sasl).await;
    admin_api_refusals(&sasl).await;
}

/// admin grants with kafka-acls.sh over SASL; alice's own --list is refused.
async fn grant_with_admin_tool(sasl: &str) {
    let dir = tempfile::tempdir().unwrap();
    let admin = command_config(dir.path(), "admin", ADMIN_PW);
    let (code, out) = acls_as(
        sasl,
        &admin,
        &[
            "--add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Create",
            "--operation",
            "Write",
            "--operation",
            "Describe",
            "--topic",
            "a-",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=a-, patternType=PREFIXED)`: \n"),
        "{out}"
    );
    let (code, out) = acls_as(
        sasl,
        &admin,
        &[
            "--add",
            "--allow-principal",
            "User:bob",
            "--consumer",
            "--topic",
            "a-orders",
            "--group",
            "g-bob",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)"));
    // DescribeAcls needs DESCRIBE on the cluster, which alice lacks.
    let alice = command_config(dir.path(), "alice", ALICE_PW);
    let (code, out) = acls_as(sasl, &alice, &["--list"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.ends_with("Error while executing ACL command: org.apache.kafka.common.errors.ClusterAuthorizationException: Cluster authorization failed.\n"),
        "{out}"
    );
}

/// confluent-kafka and kafka-python as alice and bob.
async fn real_client_refusals(broker: &Broker, sasl: &str) {
    let alice = |args: &[&str]| clients_as("alice", ALICE_PW, args)["code"].clone();
    let bob = |args: &[&str]| clients_as("bob", BOB_PW, args)["code"].clone();
    // The ACLs reach the authorizer's cache through their change notifications.
    // (A retry after a create whose answer was lost sees TOPIC_ALREADY_EXISTS.)
    wait_until_msg(T, "alice may create a-orders", || async {
        let code = alice(&["create", "confluent", sasl, "a-orders"]);
        code == 0 || code == 36
    })
    .await;
    for c in ["confluent", "kafka-python"] {
        assert_eq!(alice(&["create", c, sasl, "b-orders"]), 29, "{c} create");
        assert_eq!(
            alice(&["produce", c, sasl, "a-orders", "3"]),
            0,
            "{c} alice"
        );
        assert_eq!(bob(&["produce", c, sasl, "a-orders", "2"]), 29, "{c} bob");
        assert_eq!(alice(&["describe-broker", c, sasl, "1"]), 31, "{c} config");
    }
    let r = clients_as(
        "bob",
        BOB_PW,
        &["consume", "confluent", sasl, "a-orders", "g-bob", "6"],
    );
    assert_eq!(
        (r["code"].as_i64(), r["count"].as_i64()),
        (Some(0), Some(6)),
        "{r}"
    );
    for c in ["confluent", "kafka-python"] {
        let r = bob(&["consume", c, sasl, "a-orders", "g-other", "1"]);
        assert_eq!(r, 30, "{c} g-other");
    }
    let denied = "Principal = User:bob is Denied Operation = Write from host = 127.0.0.1 \
                  on resource = Topic:LITERAL:a-orders for request = Produce with resourceRefCount = 1";
    assert!(
        broker.log_contents().contains(denied),
        "no log line: {denied}"
    );
}

fn metadata_request(topics: &[&str], include_ops: bool) -> MetadataRequest {
    let topics = topics
        .iter()
        .map(|t| {
            metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(sb(t))))
        })
        .collect();
    MetadataRequest::default()
        .with_topics(Some(topics))
        .with_allow_auto_topic_creation(false)
        .with_include_cluster_authorized_operations(include_ops)
        .with_include_topic_authorized_operations(include_ops)
}

/// KIP-430: the operation bit sets Metadata v8+ and DescribeGroups v3+ answer when asked.
async fn authorized_operations(sasl: &str) {
    let mut alice = scram_client(sasl, "alice", ALICE_PW).await;
    let req = metadata_request(&["a-orders", "b-orders"], true);
    let r: MetadataResponse = alice.send(&req, 9).await.unwrap();
    assert_eq!(
        r.cluster_authorized_operations, 0,
        "no DESCRIBE on the cluster"
    );
    let ops: Vec<(i16, i32)> = r
        .topics
        .iter()
        .map(|t| (t.error_code, t.topic_authorized_operations))
        .collect();
    assert_eq!(
        ops,
        vec![
            (0, CREATE | WRITE | DESCRIBE),
            (TOPIC_AUTHORIZATION_FAILED, i32::MIN)
        ]
    );
    let r: MetadataResponse = alice
        .send(&metadata_request(&["a-orders"], false), 9)
        .await
        .unwrap();
    assert_eq!(r.cluster_authorized_operations, i32::MIN, "not asked for");
    assert_eq!(r.topics[0].topic_authorized_operations, i32::MIN);
    let mut admin = scram_client(sasl, "admin", ADMIN_PW).await;
    let r: MetadataResponse = admin.send(&metadata_request(&[], true), 10).await.unwrap();
    assert_eq!(r.cluster_authorized_operations, ALL_CLUSTER_OPS);

    let describe = |group: &str| {
        DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(sb(group))])
            .with_include_authorized_operations(true)
    };
    let mut bob = scram_client(sasl, "bob", BOB_PW).await;
    let r: DescribeGroupsResponse = bob.send(&describe("g-bob"), 3).await.unwrap();
    let g = &r.groups[0];
    assert_eq!(
        (g.error_code, g.authorized_operations),
        (0, READ | DESCRIBE),
        "{g:?}"
    );
    let r: DescribeGroupsResponse = bob.send(&describe("g-other"), 3).await.unwrap();
    let g = &r.groups[0];
    assert_eq!(
        (g.error_code, g.authorized_operations),
        (GROUP_AUTHORIZATION_FAILED, i32::MIN)
    );
}

/// alice (DESCRIBE/WRITE/CREATE on `a-*` only) against the admin and offset APIs.
async fn admin_api_refusals(sasl: &str) {
    let mut alice = scram_client(sasl, "alice", ALICE_PW).await;
    create_topics_v5(&mut alice).await;
    created_topic_configs_v5(sasl).await;
    configs_refused(&mut alice).await;
    offsets_refused(&mut alice).await;
    cluster_apis_refused(&mut alice).await;
}

async fn create_topics_v5(alice: &mut BrokerClient) {
    let req = CreateTopicsRequest::default()
        .with_topics(
            ["a-new", "c-new", "a-new2", "a-new2"]
                .iter()
                .map(|t| {
                    create_topics_request::CreatableTopic::default()
                        .with_name(TopicName(sb(t)))
                        .with_num_partitions(2)
                        .with_replication_factor(1)
                })
                .collect(),
        )
        .with_timeout_ms(10_000)
        .with_validate_only(true);
    let r: CreateTopicsResponse = alice.send(&req, 5).await.unwrap();
    let got: Vec<(i16, i16, i32)> = r
        .topics
        .iter()
        .map(|t| (t.error_code, t.topic_config_error_code, t.num_partitions))
        .collect();
    // a-new: created (validate only) but no DESCRIBE_CONFIGS, so no metadata in the answer;
    // c-new: no CREATE; a-new2 twice: INVALID_REQUEST.
    assert_eq!(
        got,
        vec![
            (0, TOPIC_AUTHORIZATION_FAILED, -1),
            (TOPIC_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED, -1),
            (42, TOPIC_AUTHORIZATION_FAILED, -1),
            (42, TOPIC_AUTHORIZATION_FAILED, -1),
        ]
    );
}

/// With DESCRIBE_CONFIGS (admin is a super user) CreateTopics v5 returns the new topic's
/// metadata and configs: its overrides and the broker defaults, with their sources.
async fn created_topic_configs_v5(sasl: &str) {
    let mut admin = scram_client(sasl, "admin", ADMIN_PW).await;
    let retention = create_topics_request::CreatableTopicConfig::default()
        .with_name(sb("retention.ms"))
        .with_value(Some(sb("1000")));
    let req = CreateTopicsRequest::default()
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(TopicName(sb("a-cfg")))
            .with_num_partitions(2)
            .with_replication_factor(1)
            .with_configs(vec![retention])])
        .with_timeout_ms(10_000)
        .with_validate_only(true);
    let r: CreateTopicsResponse = admin.send(&req, 5).await.unwrap();
    let t = &r.topics[0];
    assert_eq!(
        (t.error_code, t.topic_config_error_code, t.num_partitions),
        (0, 0, 2)
    );
    let configs = t.configs.as_ref().expect("configs returned");
    let find = |name: &str| {
        let c = configs.iter().find(|c| c.name.as_str() == name).unwrap();
        (c.value.as_ref().map(|v| v.to_string()), c.config_source)
    };
    // DYNAMIC_TOPIC_CONFIG = 1, DEFAULT_CONFIG = 5.
    assert_eq!(find("retention.ms"), (Some("1000".into()), 1));
    assert_eq!(find("cleanup.policy"), (Some("delete".into()), 5));
}

async fn configs_refused(alice: &mut BrokerClient) {
    let resource = |ty: i8, name: &str| {
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(ty)
            .with_resource_name(sb(name))
    };
    let req = DescribeConfigsRequest::default()
        .with_resources(vec![resource(2, "a-orders"), resource(4, "1")]);
    let r: DescribeConfigsResponse = alice.send(&req, 1).await.unwrap();
    let codes: Vec<i16> = r.results.iter().map(|x| x.error_code).collect();
    assert_eq!(
        codes,
        vec![TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED]
    );
    let alter = |ty: i8, name: &str| {
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(ty)
            .with_resource_name(sb(name))
            .with_configs(vec![
                incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(sb("retention.ms"))
                    .with_value(Some(sb("1000"))),
            ])
    };
    let req = IncrementalAlterConfigsRequest::default()
        .with_resources(vec![alter(2, "a-orders"), alter(4, "1")]);
    let r: IncrementalAlterConfigsResponse = alice.send(&req, 0).await.unwrap();
    let codes: Vec<i16> = r.responses.iter().map(|x| x.error_code).collect();
    assert_eq!(
        codes,
        vec![TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED]
    );
    let req = AlterConfigsRequest::default().with_resources(vec![
        alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(sb("1")),
    ]);
    let r: AlterConfigsResponse = alice.send(&req, 0).await.unwrap();
    assert_eq!(r.responses[0].error_code, CLUSTER_AUTHORIZATION_FAILED);
}

async fn offsets_refused(alice: &mut BrokerClient) {
    let req = DeleteRecordsRequest::default()
        .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
            .with_name(TopicName(sb("a-orders")))
            .with_partitions(vec![
                delete_records_request::DeleteRecordsPartition::default().with_offset(1),
            ])])
        .with_timeout_ms(5000);
    let r: DeleteRecordsResponse = alice.send(&req, 1).await.unwrap();
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
    // OffsetForLeaderEpoch from a consumer: DESCRIBE on the topic is enough.
    let epoch_req = |t: &str| {
        OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![
                offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                    .with_topic(TopicName(sb(t)))
                    .with_partitions(vec![
                        offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                            .with_current_leader_epoch(-1)
                            .with_leader_epoch(0),
                    ]),
            ])
    };
    let r: OffsetForLeaderEpochResponse = alice.send(&epoch_req("a-orders"), 3).await.unwrap();
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let r: OffsetForLeaderEpochResponse = alice.send(&epoch_req("b-orders"), 3).await.unwrap();
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
    let req = OffsetDeleteRequest::default()
        .with_group_id(GroupId(sb("g-bob")))
        .with_topics(vec![
            offset_delete_request::OffsetDeleteRequestTopic::default()
                .with_name(TopicName(sb("a-orders")))
                .with_partitions(vec![
                    offset_delete_request::OffsetDeleteRequestPartition::default(),
                ]),
        ]);
    let r: OffsetDeleteResponse = alice.send(&req, 0).await.unwrap();
    assert_eq!(r.error_code, GROUP_AUTHORIZATION_FAILED);
    let req = TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(sb("txn-a")))
        .with_group_id(GroupId(sb("g-bob")))
        .with_topics(vec![
            txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                .with_name(TopicName(sb("a-orders")))
                .with_partitions(vec![
                    txn_offset_commit_request::TxnOffsetCommitRequestPartition::default(),
                ]),
        ]);
    let r: TxnOffsetCommitResponse = alice.send(&req, 2).await.unwrap();
    let code = r.topics[0].partitions[0].error_code;
    assert_eq!(code, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
}

async fn cluster_apis_refused(alice: &mut BrokerClient) {
    let r: DescribeClientQuotasResponse = alice
        .send(&DescribeClientQuotasRequest::default(), 0)
        .await
        .unwrap();
    assert_eq!(r.error_code, CLUSTER_AUTHORIZATION_FAILED);
    let entity = alter_client_quotas_request::EntityData::default()
        .with_entity_type(sb("user"))
        .with_entity_name(Some(sb("alice")));
    let op = alter_client_quotas_request::OpData::default()
        .with_key(sb("producer_byte_rate"))
        .with_value(1e9);
    let req = AlterClientQuotasRequest::default().with_entries(vec![
        alter_client_quotas_request::EntryData::default()
            .with_entity(vec![entity])
            .with_ops(vec![op]),
    ]);
    let r: AlterClientQuotasResponse = alice.send(&req, 0).await.unwrap();
    assert_eq!(r.entries[0].error_code, CLUSTER_AUTHORIZATION_FAILED);
    let req = AlterReplicaLogDirsRequest::default().with_dirs(vec![
        alter_replica_log_dirs_request::AlterReplicaLogDir::default()
            .with_path(sb("/nonexistent"))
            .with_topics(vec![
                alter_replica_log_dirs_request::AlterReplicaLogDirTopic::default()
                    .with_name(TopicName(sb("a-orders")))
                    .with_partitions(vec![0]),
            ]),
    ]);
    let r: AlterReplicaLogDirsResponse = alice.send(&req, 1).await.unwrap();
    assert_eq!(
        r.results[0].partitions[0].error_code,
        CLUSTER_AUTHORIZATION_FAILED
    );
    let req = ListPartitionReassignmentsRequest::default().with_timeout_ms(5000);
    let r: ListPartitionReassignmentsResponse = alice.send(&req, 0).await.unwrap();
    assert_eq!(r.error_code, CLUSTER_AUTHORIZATION_FAILED);
}

/// Without an authorizer every supported operation is authorized (AuthHelper with no
/// authorizer), whoever asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_authorizer_every_operation_is_authorized() {
    let (zk, b) = common::data_util::single_broker(&[("offsets.topic.replication.factor", "1")]);
    let bootstrap = b.bootstrap();
    common::data_util::create_topic(&zk.connect_string(), &bootstrap, "open", 1, &[1], &[]).await;
    let mut c = common::data_util::client(&b).await;
    let r: MetadataResponse = c.send(&metadata_request(&["open"], true), 9).await.unwrap();
    let all_topic_ops =
        READ | WRITE | CREATE | (1 << 6) | (1 << 7) | DESCRIBE | (1 << 10) | (1 << 11);
    assert_eq!(r.cluster_authorized_operations, ALL_CLUSTER_OPS);
    assert_eq!(r.topics[0].topic_authorized_operations, all_topic_ops);
    let req = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(sb("nobody"))])
        .with_include_authorized_operations(true);
    // FindCoordinator creates __consumer_offsets; until this broker leads its partitions
    // DescribeGroups answers an error, and then Kafka leaves the field unset.
    let find = FindCoordinatorRequest::default().with_key(sb("nobody"));
    let _: FindCoordinatorResponse = c.send(&find, 2).await.unwrap();
    let deadline = std::time::Instant::now() + T;
    let g = loop {
        let r: DescribeGroupsResponse = c.send(&req, 3).await.unwrap();
        if r.groups[0].error_code == 0 || std::time::Instant::now() > deadline {
            break r.groups[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(g.error_code, 0, "{g:?}");
    assert_eq!(g.authorized_operations, READ | DESCRIBE | (1 << 6));
}
