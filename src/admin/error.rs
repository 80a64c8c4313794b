//! Typed admin errors, each carrying the Kafka error code a broker API handler returns for it
//! (clients' Errors.java), so CreateTopics/CreatePartitions/DeleteTopics can reuse the admin
//! code and the tool can print Kafka's messages.

use crate::zk::ZkError;

pub const UNKNOWN_SERVER_ERROR: i16 = -1;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const BROKER_NOT_AVAILABLE: i16 = 8;
pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
pub const TOPIC_ALREADY_EXISTS: i16 = 36;
pub const INVALID_PARTITIONS: i16 = 37;
pub const INVALID_REPLICATION_FACTOR: i16 = 38;
pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
pub const INVALID_CONFIG: i16 = 40;
pub const INVALID_REQUEST: i16 = 42;

/// An admin operation's failure; `Display` is Kafka's exception message.
#[derive(Debug, Clone)]
pub enum AdminError {
    /// InvalidPartitionsException.
    InvalidPartitions(String),
    /// InvalidReplicationFactorException.
    InvalidReplicationFactor(String),
    /// InvalidReplicaAssignmentException.
    InvalidReplicaAssignment(String),
    /// TopicExistsException.
    TopicAlreadyExists(String),
    /// InvalidTopicException (bad name, `.`/`_` collision).
    InvalidTopic(String),
    /// InvalidConfigurationException / ConfigException (topic configs).
    InvalidConfig(String),
    /// UnknownTopicOrPartitionException.
    UnknownTopicOrPartition(String),
    /// BrokerNotAvailableException (manual assignment names an unregistered broker).
    BrokerNotAvailable(String),
    /// TopicAlreadyMarkedForDeletionException: the DeleteTopics handler swallows it.
    TopicAlreadyMarkedForDeletion(String),
    /// AdminOperationException / IllegalArgumentException: no dedicated wire code.
    Operation(String),
    /// A ZooKeeper failure (names the znode).
    Zk(ZkError),
}

impl AdminError {
    /// The Kafka error code an API response carries for this error.
    pub fn code(&self) -> i16 {
        match self {
            AdminError::InvalidPartitions(_) => INVALID_PARTITIONS,
            AdminError::InvalidReplicationFactor(_) => INVALID_REPLICATION_FACTOR,
            AdminError::InvalidReplicaAssignment(_) => INVALID_REPLICA_ASSIGNMENT,
            AdminError::TopicAlreadyExists(_) => TOPIC_ALREADY_EXISTS,
            AdminError::InvalidTopic(_) => INVALID_TOPIC_EXCEPTION,
            AdminError::InvalidConfig(_) => INVALID_CONFIG,
            AdminError::UnknownTopicOrPartition(_) => UNKNOWN_TOPIC_OR_PARTITION,
            AdminError::BrokerNotAvailable(_) => BROKER_NOT_AVAILABLE,
            AdminError::TopicAlreadyMarkedForDeletion(_)
            | AdminError::Operation(_)
            | AdminError::Zk(_) => UNKNOWN_SERVER_ERROR,
        }
    }

    /// The message alone (what Kafka puts in an API response's error message).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::InvalidPartitions(m)
            | AdminError::InvalidReplicationFactor(m)
            | AdminError::InvalidReplicaAssignment(m)
            | AdminError::TopicAlreadyExists(m)
            | AdminError::InvalidTopic(m)
            | AdminError::InvalidConfig(m)
            | AdminError::UnknownTopicOrPartition(m)
            | AdminError::BrokerNotAvailable(m)
            | AdminError::TopicAlreadyMarkedForDeletion(m)
            | AdminError::Operation(m) => f.write_str(m),
            AdminError::Zk(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<ZkError> for AdminError {
    fn from(e: ZkError) -> Self {
        AdminError::Zk(e)
    }
}

pub type AdminResult<T> = Result<T, AdminError>;
