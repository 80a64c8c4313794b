//! Znode paths of a classic Kafka cluster (ZkData.scala), relative to the chroot.

pub const CLUSTER_ID: &str = "/cluster/id";
pub const CONTROLLER: &str = "/controller";
pub const CONTROLLER_EPOCH: &str = "/controller_epoch";
pub const BROKER_IDS: &str = "/brokers/ids";
pub const BROKER_TOPICS: &str = "/brokers/topics";
pub const DELETE_TOPICS: &str = "/admin/delete_topics";
pub const ISR_CHANGE_NOTIFICATION: &str = "/isr_change_notification";
pub const LOG_DIR_EVENT_NOTIFICATION: &str = "/log_dir_event_notification";
pub const CONFIG_CHANGES: &str = "/config/changes";
pub const CONFIG_TOPICS: &str = "/config/topics";
pub const CONFIG_BROKERS: &str = "/config/brokers";
pub const CONFIG_USERS: &str = "/config/users";

/// `/config/<entity type>/<entity path>`, e.g. `/config/brokers/<default>` or
/// `/config/users/alice/clients/app` (names already sanitized).
pub fn entity_config(entity_path: &str) -> String {
    format!("/config/{entity_path}")
}
pub const PREFERRED_REPLICA_ELECTION: &str = "/admin/preferred_replica_election";
pub const REASSIGN_PARTITIONS: &str = "/admin/reassign_partitions";
pub const PRODUCER_ID_BLOCK: &str = "/latest_producer_id_block";

/// Persistent paths every broker creates at startup, in Kafka 2.8's order (ZkData.scala
/// `PersistentZkPaths`).
pub const PERSISTENT_PATHS: &[&str] = &[
    "/consumers",
    BROKER_IDS,
    BROKER_TOPICS,
    CONFIG_CHANGES,
    DELETE_TOPICS,
    "/brokers/seqid",
    ISR_CHANGE_NOTIFICATION,
    PRODUCER_ID_BLOCK,
    LOG_DIR_EVENT_NOTIFICATION,
    CONFIG_TOPICS,
    "/config/clients",
    "/config/users",
    "/config/brokers",
    "/config/ips",
];

/// Prefix of the persistent-sequential log dir failure notifications.
pub fn log_dir_event_prefix() -> String {
    format!("{LOG_DIR_EVENT_NOTIFICATION}/log_dir_event_")
}

pub fn broker_id(id: i32) -> String {
    format!("{BROKER_IDS}/{id}")
}

pub fn topic(topic: &str) -> String {
    format!("{BROKER_TOPICS}/{topic}")
}

pub fn partition_state(topic: &str, partition: i32) -> String {
    format!("{BROKER_TOPICS}/{topic}/partitions/{partition}/state")
}

/// Splits `host:port,.../chroot` into the ensemble part and the chroot (`None` for root).
pub fn split_chroot(connect: &str) -> (&str, Option<&str>) {
    match connect.find('/') {
        Some(i) if connect[i..].len() > 1 => {
            (&connect[..i], Some(connect[i..].trim_end_matches('/')))
        }
        Some(i) => (&connect[..i], None),
        None => (connect, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chroot_split() {
        assert_eq!(
            split_chroot("a:1,b:2/kafka/x"),
            ("a:1,b:2", Some("/kafka/x"))
        );
        assert_eq!(split_chroot("a:1/"), ("a:1", None));
        assert_eq!(split_chroot("a:1"), ("a:1", None));
    }
}
