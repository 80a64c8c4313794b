//! Kafka's error codes as its Java tools print them (`ExecutionException.getMessage`):
//! `<exception class>: <Errors message>` (clients `common/protocol/Errors.java`).

/// The exception class and default message of the codes the log tools can meet.
fn exception(code: i16) -> (&'static str, &'static str) {
    match code {
        1 => ("OffsetOutOfRangeException", "The requested offset is not within the range of offsets maintained by the server."),
        3 => ("UnknownTopicOrPartitionException", "This server does not host this topic-partition."),
        5 => ("LeaderNotAvailableException", "There is no leader for this topic-partition as we are in the middle of a leadership election."),
        6 => ("NotLeaderOrFollowerException", "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition."),
        7 => ("TimeoutException", "The request timed out."),
        9 => ("ReplicaNotAvailableException", "The replica is not available for the requested topic-partition. Produce/Fetch requests and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER if the broker is not a replica of the topic-partition."),
        44 => ("PolicyViolationException", "Request parameters do not satisfy the configured policy."),
        56 => ("KafkaStorageException", "Disk error when trying to access log file on the disk."),
        29 => ("TopicAuthorizationException", "Topic authorization failed."),
        30 => ("GroupAuthorizationException", "Group authorization failed."),
        31 => ("ClusterAuthorizationException", "Cluster authorization failed."),
        53 => ("TransactionalIdAuthorizationException", "Transactional Id authorization failed."),
        54 => ("SecurityDisabledException", "Security features are disabled."),
        33 => ("UnsupportedSaslMechanismException", "The broker does not support the requested SASL mechanism."),
        41 => ("NotControllerException", "This is not the correct controller for this cluster."),
        91 => ("ResourceNotFoundException", "A request illegally referred to a resource that does not exist."),
        92 => ("DuplicateResourceException", "A request illegally referred to the same resource twice."),
        93 => ("UnacceptableCredentialException", "Requested credential would not meet criteria for acceptability."),
        57 => ("LogDirNotFoundException", "The user-specified log directory is not found in the broker config."),
        _ => ("UnknownServerException", "The server experienced an unexpected error when processing the request."),
    }
}

/// `org.apache.kafka.common.errors.<Class>: <message>`.
pub fn message(code: i16) -> String {
    format!("{}: {}", class_name(code), exception(code).1)
}

/// The fully qualified exception class name.
pub fn class_name(code: i16) -> String {
    format!("org.apache.kafka.common.errors.{}", exception(code).0)
}
