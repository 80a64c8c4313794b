//! The command-line tools and the topic administration they share with the broker:
//! `dump-log` (kafka-dump-log.sh), and topic administration through ZooKeeper as Kafka 2.8's
//! `kafka.admin` / `AdminZkClient` do — replica assignment, topic-name and topic-config
//! validation, the znode writes of topic create / partition increase / delete / config change,
//! the `zkafka topics` tool (`kafka-topics.sh --zookeeper`) and `zkafka configs`
//! (`kafka-configs.sh`).

pub mod acls_cmd;
pub mod assignment;
pub mod broker_api_versions;
pub mod command_config;
pub mod configs;
pub mod console_consumer;
pub mod console_group;
pub mod console_producer;
pub mod console_records;
pub mod consumer_groups;
pub mod controller_client;
pub mod delete_records_cmd;
pub mod describe;
pub mod dump_log;
pub mod error;
pub mod group_client;
pub mod java_errors;
pub mod leader_election;
pub mod log_dirs_cmd;
pub mod quota_configs;
pub mod reassign_log_dirs;
pub mod reassign_partitions;
pub mod reassign_throttle;
pub mod scram_configs;
pub mod topic_name;
pub mod topics;
pub mod topics_args;
pub mod topics_broker;
pub mod zk_admin;

pub use error::{AdminError, AdminResult};
