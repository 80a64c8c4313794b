//! Kafka's `AdminZkClient`: topic creation, partition increase, deletion marking and topic
//! config changes as znode writes (zookeeper-layout.md §6.5, §6.8, §6.12, §9). Shared by
//! `zkafka topics` and the broker's CreateTopics / auto-create / CreatePartitions /
//! DeleteTopics handlers, so both write exactly what Kafka 2.8 writes.

use std::collections::{BTreeMap, BTreeSet};

use zookeeper_client as zkc;

use super::assignment::{
    assign_replicas_to_brokers, broker_metadatas, Assignment, BrokerMetadata, RackAwareMode,
};
use super::error::{AdminError, AdminResult};
use super::topic_name::{check_new_topic_name, is_internal};
use crate::zk::codec::{
    decode_entity_config, encode_config_change, encode_entity_config, TopicAssignment,
};
use crate::zk::{paths, KafkaZkClient, ZkError, ZkResult};

pub use crate::log::config_def::topic_config_names;

/// `LogConfig.validate` with the admin error (INVALID_CONFIG) a handler or the tool reports.
pub fn validate_topic_configs(configs: &BTreeMap<String, String>) -> AdminResult<()> {
    crate::log::config_def::validate_topic_configs(configs)
        .map_err(|e| AdminError::InvalidConfig(e.message))
}

/// `LogConfig.validateNames` with the admin error.
pub fn validate_topic_config_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> AdminResult<()> {
    crate::log::config_def::validate_topic_config_names(names)
        .map_err(|e| AdminError::InvalidConfig(e.message))
}
pub use super::topic_name::validate_topic_name;

/// Prefix of the sequential config change notifications.
const CONFIG_CHANGE_PREFIX: &str = "/config/changes/config_change_";

pub fn config_topic_path(topic: &str) -> String {
    format!("{}/{topic}", paths::CONFIG_TOPICS)
}

pub fn delete_topic_path(topic: &str) -> String {
    format!("{}/{topic}", paths::DELETE_TOPICS)
}

/// All topics (children of `/brokers/topics`), sorted by name.
pub async fn get_all_topics(zk: &KafkaZkClient) -> ZkResult<Vec<String>> {
    let mut topics = zk.get_children(paths::BROKER_TOPICS).await?;
    topics.sort();
    Ok(topics)
}

pub async fn topic_exists(zk: &KafkaZkClient, topic: &str) -> ZkResult<bool> {
    Ok(zk.get_data(&paths::topic(topic)).await?.is_some())
}

/// `/admin/delete_topics/<t>` exists.
pub async fn is_topic_marked_for_deletion(zk: &KafkaZkClient, topic: &str) -> ZkResult<bool> {
    Ok(zk.get_data(&delete_topic_path(topic)).await?.is_some())
}

/// The topic's assignment znode, decoded (any payload version), or `None` if there is none.
pub async fn get_topic_assignment(
    zk: &KafkaZkClient,
    topic: &str,
) -> ZkResult<Option<TopicAssignment>> {
    let path = paths::topic(topic);
    match zk.get_data(&path).await? {
        Some((data, _)) => Ok(Some(TopicAssignment::decode(&path, &data)?)),
        None => Ok(None),
    }
}

/// The topic's config overrides (`/config/topics/<t>`); empty when the znode is missing.
pub async fn fetch_topic_config(
    zk: &KafkaZkClient,
    topic: &str,
) -> ZkResult<BTreeMap<String, String>> {
    let path = config_topic_path(topic);
    match zk.get_data(&path).await? {
        Some((data, _)) => Ok(decode_entity_config(&path, &data)?),
        None => Ok(BTreeMap::new()),
    }
}

/// The registered brokers (`/brokers/ids/*`) for assignment, sorted by id, racks per `mode`.
pub async fn get_broker_metadatas(
    zk: &KafkaZkClient,
    mode: RackAwareMode,
) -> AdminResult<Vec<BrokerMetadata>> {
    let brokers: Vec<BrokerMetadata> = zk
        .get_all_brokers()
        .await?
        .into_iter()
        .map(|(reg, _)| BrokerMetadata {
            id: reg.broker.id,
            rack: reg.broker.rack,
        })
        .collect();
    broker_metadatas(&brokers, mode)
}

/// The replica-assignment checks of `validateTopicCreate`: same replication factor everywhere,
/// no duplicate replicas, partitions `0..n-1`.
pub fn validate_create_assignment(assignment: &Assignment) -> AdminResult<()> {
    let factors: BTreeSet<usize> = assignment.values().map(Vec::len).collect();
    if factors.len() != 1 {
        return Err(AdminError::InvalidReplicaAssignment(
            "All partitions should have the same number of replicas".into(),
        ));
    }
    for replicas in assignment.values() {
        if replicas.iter().collect::<BTreeSet<_>>().len() != replicas.len() {
            return Err(AdminError::InvalidReplicaAssignment(format!(
                "Duplicate replica assignment found: {}",
                scala_map(assignment)
            )));
        }
    }
    let n = assignment.len() as i32;
    if !assignment.keys().copied().eq(0..n) {
        return Err(AdminError::InvalidReplicaAssignment(
            "partitions should be a consecutive 0-based integer sequence".into(),
        ));
    }
    Ok(())
}

/// Kafka's `Map(0 -> List(1, 2), ...)` rendering, used in its messages.
fn scala_map(assignment: &Assignment) -> String {
    let entries: Vec<String> = assignment
        .iter()
        .map(|(p, r)| format!("{p} -> {}", scala_list(r)))
        .collect();
    format!("Map({})", entries.join(", "))
}

fn scala_list(ids: &[i32]) -> String {
    let ids: Vec<String> = ids.iter().map(i32::to_string).collect();
    format!("List({})", ids.join(", "))
}

/// `validateTopicCreate`: name, existence and `.`/`_` collision, assignment, configs.
pub async fn validate_topic_create(
    zk: &KafkaZkClient,
    topic: &str,
    assignment: &Assignment,
    configs: &BTreeMap<String, String>,
) -> AdminResult<()> {
    validate_topic_name(topic)?;
    let existing = get_all_topics(zk).await?;
    check_new_topic_name(topic, &existing)?;
    validate_create_assignment(assignment)?;
    validate_topic_configs(configs)
}

/// Creates a topic with an automatic assignment over the registered brokers; returns it.
#[allow(clippy::too_many_arguments)]
pub async fn create_topic(
    zk: &KafkaZkClient,
    topic: &str,
    partitions: i32,
    replication_factor: i32,
    configs: &BTreeMap<String, String>,
    rack_aware_mode: RackAwareMode,
    validate_only: bool,
) -> AdminResult<Assignment> {
    let brokers = get_broker_metadatas(zk, rack_aware_mode).await?;
    let assignment =
        assign_replicas_to_brokers(&brokers, partitions, replication_factor, None, None)?;
    create_topic_with_assignment(zk, topic, configs, &assignment, validate_only).await?;
    Ok(assignment)
}

/// Creates a topic as `kafka-topics.sh --zookeeper` does: validate, write `/config/topics/<t>`
/// (set-or-create, no change notification), then create `/brokers/topics/<t>` (v3, no topic id).
pub async fn create_topic_with_assignment(
    zk: &KafkaZkClient,
    topic: &str,
    configs: &BTreeMap<String, String>,
    assignment: &Assignment,
    validate_only: bool,
) -> AdminResult<()> {
    create_topic_with_assignment_and_id(zk, topic, configs, assignment, None, validate_only).await
}

/// As [`create_topic_with_assignment`], with the topic id a CreateTopics handler at IBP ≥
/// 2.8-IV0 writes into the assignment znode.
pub async fn create_topic_with_assignment_and_id(
    zk: &KafkaZkClient,
    topic: &str,
    configs: &BTreeMap<String, String>,
    assignment: &Assignment,
    topic_id: Option<&str>,
    validate_only: bool,
) -> AdminResult<()> {
    validate_topic_create(zk, topic, assignment, configs).await?;
    if validate_only {
        return Ok(());
    }
    tracing::info!(target: "kafka.zk.AdminZkClient",
        "Creating topic {topic} with configuration {configs:?} and initial partition assignment {}",
        scala_map(assignment));
    // Not transactional with the assignment, as in Kafka: the config goes first so that the
    // controller finds it when it sees the topic.
    set_or_create(
        zk,
        &config_topic_path(topic),
        &encode_entity_config(configs),
    )
    .await?;
    let mut znode = TopicAssignment::new(assignment.clone());
    znode.topic_id = topic_id.map(str::to_string);
    let path = paths::topic(topic);
    zk.make_sure_persistent_path_exists(paths::BROKER_TOPICS)
        .await?;
    match zk
        .client()
        .await?
        .create(&path, znode.encode().as_bytes(), &persistent())
        .await
    {
        Ok(_) => Ok(()),
        Err(zkc::Error::NodeExists) => Err(AdminError::TopicAlreadyExists(format!(
            "Topic '{topic}' already exists."
        ))),
        Err(e) => Err(ZkError::op(&path, e).into()),
    }
}

/// Raises the partition count to `new_count` (Kafka's `addPartitions`).
///
/// `manual` assigns the new partitions by hand (keys = the new partition ids); otherwise they
/// are assigned with Kafka's fixed start index so existing and new partitions line up. Existing
/// entries, reassignment sets and the topic id are preserved. Returns the combined assignment.
pub async fn add_partitions(
    zk: &KafkaZkClient,
    topic: &str,
    new_count: i32,
    manual: Option<&Assignment>,
    validate_only: bool,
) -> AdminResult<Assignment> {
    if is_internal(topic) {
        return Err(AdminError::Operation(format!(
            "The number of partitions for the internal topic {topic} cannot be changed."
        )));
    }
    let path = paths::topic(topic);
    let Some(mut znode) = get_topic_assignment(zk, topic).await? else {
        return Err(AdminError::UnknownTopicOrPartition(format!(
            "The topic '{topic}' does not exist."
        )));
    };
    let brokers = get_broker_metadatas(zk, RackAwareMode::Enforced).await?;
    let new = new_partitions_assignment(topic, &znode.partitions, &brokers, new_count, manual)?;
    if !validate_only {
        tracing::info!(target: "kafka.zk.AdminZkClient",
            "Creating {} partitions for '{topic}' with the following replica assignment: {}.",
            new.len(), scala_map(&new));
    }
    znode.partitions.extend(new);
    if !validate_only {
        zk.client()
            .await?
            .set_data(&path, znode.encode().as_bytes(), None)
            .await
            .map_err(|e| ZkError::op(&path, e))?;
    }
    Ok(znode.partitions)
}

/// Kafka's `createNewPartitionsAssignment` on already-read data (pure, for handlers that hold
/// the assignment in their metadata cache).
pub fn new_partitions_assignment(
    topic: &str,
    existing: &Assignment,
    brokers: &[BrokerMetadata],
    new_count: i32,
    manual: Option<&Assignment>,
) -> AdminResult<Assignment> {
    let Some(partition0) = existing.get(&0) else {
        return Err(AdminError::Operation(format!(
            "Unexpected existing replica assignment for topic '{topic}', partition id 0 is missing. Assignment: {}",
            scala_map(existing)
        )));
    };
    let current = existing.len() as i32;
    let to_add = new_count - current;
    if to_add <= 0 {
        return Err(AdminError::InvalidPartitions(format!(
            "The number of partitions for a topic can only be increased. Topic {topic} currently has {current} partitions, {new_count} would not be an increase."
        )));
    }
    if let Some(manual) = manual {
        if manual.len() as i32 != to_add || !manual.keys().copied().eq(current..new_count) {
            return Err(AdminError::InvalidReplicaAssignment(format!(
                "Increasing the number of partitions by {to_add} but {} assignments provided.",
                manual.len()
            )));
        }
        validate_manual_assignment(manual, partition0.len(), brokers)?;
        return Ok(manual.clone());
    }
    // Kafka starts at the broker of partition 0's leader so new partitions continue its pattern.
    let start = brokers
        .iter()
        .position(|b| b.id >= partition0[0])
        .unwrap_or(0);
    assign_replicas_to_brokers(
        brokers,
        to_add,
        partition0.len() as i32,
        Some(start),
        Some(current),
    )
}

/// `validateReplicaAssignment` for manually assigned new partitions.
fn validate_manual_assignment(
    manual: &Assignment,
    expected_rf: usize,
    brokers: &[BrokerMetadata],
) -> AdminResult<()> {
    let available: BTreeSet<i32> = brokers.iter().map(|b| b.id).collect();
    for (p, replicas) in manual {
        if replicas.is_empty() {
            return Err(AdminError::InvalidReplicaAssignment(format!(
                "Cannot have replication factor of 0 for partition id {p}."
            )));
        }
        let list = || {
            replicas
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if replicas.iter().collect::<BTreeSet<_>>().len() != replicas.len() {
            return Err(AdminError::InvalidReplicaAssignment(format!(
                "Duplicate brokers not allowed in replica assignment: {} for partition id {p}.",
                list()
            )));
        }
        if !replicas.iter().all(|r| available.contains(r)) {
            let avail: Vec<String> = available.iter().map(i32::to_string).collect();
            return Err(AdminError::BrokerNotAvailable(format!(
                "Some brokers specified for partition id {p} are not available. Specified brokers: {}, available brokers: {}.",
                list(),
                avail.join(", ")
            )));
        }
    }
    let bad: Vec<(i32, usize)> = manual
        .iter()
        .filter(|(_, r)| r.len() != expected_rf)
        .map(|(p, r)| (*p, r.len()))
        .collect();
    if !bad.is_empty() {
        let ps: Vec<String> = bad.iter().map(|b| b.0.to_string()).collect();
        let rfs: Vec<String> = bad.iter().map(|b| b.1.to_string()).collect();
        return Err(AdminError::InvalidReplicaAssignment(format!(
            "Inconsistent replication factor between partitions, partition 0 has {expected_rf} while partitions [{}] have replication factors [{}], respectively.",
            ps.join(", "),
            rfs.join(", ")
        )));
    }
    Ok(())
}

/// Marks a topic for deletion: creates `/admin/delete_topics/<t>` (null data).
pub async fn delete_topic(zk: &KafkaZkClient, topic: &str) -> AdminResult<()> {
    if is_internal(topic) {
        return Err(AdminError::Operation(format!(
            "Topic {topic} is a kafka internal topic and is not allowed to be marked for deletion."
        )));
    }
    if !topic_exists(zk, topic).await? {
        return Err(AdminError::UnknownTopicOrPartition(format!(
            "Topic `{topic}` to delete does not exist"
        )));
    }
    let path = delete_topic_path(topic);
    zk.make_sure_persistent_path_exists(paths::DELETE_TOPICS)
        .await?;
    match zk.client().await?.create(&path, b"", &persistent()).await {
        Ok(_) => Ok(()),
        Err(zkc::Error::NodeExists) => Err(AdminError::TopicAlreadyMarkedForDeletion(format!(
            "topic {topic} is already marked for deletion"
        ))),
        Err(e) => Err(ZkError::op(&path, e).into()),
    }
}

/// Replaces the topic's override set with `configs` (the complete new set) and announces it
/// with a `/config/changes/config_change_<seq>` notification (Kafka's `changeTopicConfig`).
pub async fn change_topic_config(
    zk: &KafkaZkClient,
    topic: &str,
    configs: &BTreeMap<String, String>,
) -> AdminResult<()> {
    validate_topic_name(topic)?;
    if !topic_exists(zk, topic).await? {
        return Err(AdminError::UnknownTopicOrPartition(format!(
            "Topic '{topic}' does not exist."
        )));
    }
    validate_topic_configs(configs)?;
    change_entity_config(zk, &format!("topics/{topic}"), configs).await
}

/// Kafka's `changeEntityConfig`: replaces `/config/<entity path>` with `configs` (set or
/// create) and announces it with a version 2 `/config/changes/config_change_<seq>`
/// notification. Validation is the caller's (it differs per entity type).
pub async fn change_entity_config(
    zk: &KafkaZkClient,
    entity_path: &str,
    configs: &BTreeMap<String, String>,
) -> AdminResult<()> {
    set_or_create(
        zk,
        &paths::entity_config(entity_path),
        &encode_entity_config(configs),
    )
    .await?;
    zk.make_sure_persistent_path_exists(paths::CONFIG_CHANGES)
        .await?;
    zk.create_sequential(
        CONFIG_CHANGE_PREFIX,
        encode_config_change(entity_path).as_bytes(),
    )
    .await?;
    Ok(())
}

/// Kafka's `Sanitizer.sanitize` for user and client-id entity names: URL-encoding (UTF-8)
/// with `*` as `%2A`, so any principal is a valid znode name.
pub fn sanitize_entity_name(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The inverse of [`sanitize_entity_name`] (`%XX` decoded; invalid escapes kept as text).
pub fn desanitize_entity_name(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn persistent() -> zkc::CreateOptions<'static> {
    zkc::CreateMode::Persistent.with_acls(zkc::Acls::anyone_all())
}

/// setData (any version); on NONODE create it (parents too); on a racing create, setData again.
async fn set_or_create(zk: &KafkaZkClient, path: &str, data: &str) -> ZkResult<()> {
    let client = zk.client().await?;
    match client.set_data(path, data.as_bytes(), None).await {
        Ok(_) => return Ok(()),
        Err(zkc::Error::NoNode) => {}
        Err(e) => return Err(ZkError::op(path, e)),
    }
    if let Some((parent, _)) = path.rsplit_once('/') {
        if !parent.is_empty() {
            zk.make_sure_persistent_path_exists(parent).await?;
        }
    }
    match client.create(path, data.as_bytes(), &persistent()).await {
        Ok(_) => Ok(()),
        Err(zkc::Error::NodeExists) => client
            .set_data(path, data.as_bytes(), None)
            .await
            .map(|_| ())
            .map_err(|e| ZkError::op(path, e)),
        Err(e) => Err(ZkError::op(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(entries: &[(i32, &[i32])]) -> Assignment {
        entries.iter().map(|(p, r)| (*p, r.to_vec())).collect()
    }

    fn brokers(ids: &[i32]) -> Vec<BrokerMetadata> {
        ids.iter()
            .map(|&id| BrokerMetadata::new(id, None))
            .collect()
    }

    #[test]
    fn entity_names_are_sanitized_as_kafka_does() {
        assert_eq!(sanitize_entity_name("app-1.x_y"), "app-1.x_y");
        assert_eq!(sanitize_entity_name("CN=a b*"), "CN%3Da%20b%2A");
        assert_eq!(desanitize_entity_name("CN%3Da%20b%2A"), "CN=a b*");
    }

    #[test]
    fn create_assignment_checks() {
        assert!(validate_create_assignment(&a(&[(0, &[1, 2]), (1, &[2, 1])])).is_ok());
        let e = validate_create_assignment(&a(&[(0, &[1, 2]), (1, &[2])])).unwrap_err();
        assert_eq!(e.code(), 39);
        assert_eq!(
            e.to_string(),
            "All partitions should have the same number of replicas"
        );
        let e = validate_create_assignment(&a(&[(0, &[1, 1])])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Duplicate replica assignment found: Map(0 -> List(1, 1))"
        );
        let e = validate_create_assignment(&a(&[(0, &[1]), (2, &[2])])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "partitions should be a consecutive 0-based integer sequence"
        );
        assert_eq!(
            validate_create_assignment(&Assignment::new())
                .unwrap_err()
                .code(),
            39
        );
    }

    #[test]
    fn new_partitions_follow_partition_zero() {
        let existing = a(&[(0, &[2, 1, 3]), (1, &[3, 2, 1]), (2, &[1, 3, 2])]);
        let new =
            new_partitions_assignment("t1", &existing, &brokers(&[1, 2, 3]), 6, None).unwrap();
        // What Kafka 2.1.1 wrote for `--alter --partitions 6` (zk-txnlog-writes-only.txt).
        assert_eq!(new, a(&[(3, &[2, 3, 1]), (4, &[3, 1, 2]), (5, &[1, 2, 3])]));
        let e =
            new_partitions_assignment("t1", &existing, &brokers(&[1, 2, 3]), 3, None).unwrap_err();
        assert_eq!(e.code(), 37);
        assert_eq!(
            e.to_string(),
            "The number of partitions for a topic can only be increased. Topic t1 currently has 3 partitions, 3 would not be an increase."
        );
    }

    #[test]
    fn manual_new_partitions_are_validated() {
        let existing = a(&[(0, &[1, 2])]);
        let b = brokers(&[1, 2, 3]);
        let ok = a(&[(1, &[3, 1])]);
        assert_eq!(
            new_partitions_assignment("t", &existing, &b, 2, Some(&ok)).unwrap(),
            ok
        );
        let e = new_partitions_assignment("t", &existing, &b, 2, Some(&a(&[(1, &[3, 3])])))
            .unwrap_err();
        assert_eq!(e.code(), 39);
        let e = new_partitions_assignment("t", &existing, &b, 2, Some(&a(&[(1, &[4, 1])])))
            .unwrap_err();
        assert_eq!(e.code(), 8);
        assert_eq!(e.to_string(), "Some brokers specified for partition id 1 are not available. Specified brokers: 4, 1, available brokers: 1, 2, 3.");
        let e =
            new_partitions_assignment("t", &existing, &b, 2, Some(&a(&[(1, &[3])]))).unwrap_err();
        assert!(e.to_string().starts_with("Inconsistent replication factor"));
        let e = new_partitions_assignment("t", &existing, &b, 3, Some(&ok)).unwrap_err();
        assert_eq!(e.code(), 39);
    }
}
