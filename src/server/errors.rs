//! Kafka error codes used on the wire (clients' Errors.java).

pub const NONE: i16 = 0;
pub const OFFSET_OUT_OF_RANGE: i16 = 1;
pub const CORRUPT_MESSAGE: i16 = 2;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const LEADER_NOT_AVAILABLE: i16 = 5;
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
pub const REQUEST_TIMED_OUT: i16 = 7;
pub const BROKER_NOT_AVAILABLE: i16 = 8;
pub const REPLICA_NOT_AVAILABLE: i16 = 9;
pub const MESSAGE_TOO_LARGE: i16 = 10;
pub const STALE_CONTROLLER_EPOCH: i16 = 11;
pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
pub const NOT_ENOUGH_REPLICAS: i16 = 19;
pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = 20;
pub const INVALID_REQUIRED_ACKS: i16 = 21;
pub const UNSUPPORTED_VERSION: i16 = 35;
pub const TOPIC_ALREADY_EXISTS: i16 = 36;
pub const INVALID_PARTITIONS: i16 = 37;
pub const INVALID_REPLICATION_FACTOR: i16 = 38;
pub const INVALID_REQUEST: i16 = 42;
pub const NOT_CONTROLLER: i16 = 41;
pub const KAFKA_STORAGE_ERROR: i16 = 56;
pub const UNKNOWN_SERVER_ERROR: i16 = -1;
pub const FENCED_LEADER_EPOCH: i16 = 74;
pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
pub const STALE_BROKER_EPOCH: i16 = 77;
pub const RECORD_LIST_TOO_LARGE: i16 = 18;
pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
pub const ILLEGAL_SASL_STATE: i16 = 34;
pub const SASL_AUTHENTICATION_FAILED: i16 = 58;
pub const INVALID_TIMESTAMP: i16 = 32;
pub const UNSUPPORTED_FOR_MESSAGE_FORMAT: i16 = 43;
pub const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
pub const INVALID_FETCH_SESSION_EPOCH: i16 = 71;
pub const UNSUPPORTED_COMPRESSION_TYPE: i16 = 76;
pub const INVALID_RECORD: i16 = 87;
// Log operations (DeleteRecords, AlterReplicaLogDirs).
pub const POLICY_VIOLATION: i16 = 44;
pub const LOG_DIR_NOT_FOUND: i16 = 57;
// Leader elections and reassignments (ElectLeaders, AlterPartitionReassignments).
pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
pub const PREFERRED_LEADER_NOT_AVAILABLE: i16 = 80;
pub const ELIGIBLE_LEADERS_NOT_AVAILABLE: i16 = 83;
pub const ELECTION_NOT_NEEDED: i16 = 84;
pub const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;
// Idempotent producer (InitProducerId, producer state on produce).
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
pub const INVALID_PRODUCER_EPOCH: i16 = 47;
// Authorization (AclAuthorizer).
pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
pub const SECURITY_DISABLED: i16 = 54;
// SCRAM credential administration (AlterUserScramCredentials, KIP-554).
pub const RESOURCE_NOT_FOUND: i16 = 91;
pub const DUPLICATE_RESOURCE: i16 = 92;
pub const UNACCEPTABLE_CREDENTIAL: i16 = 93;

/// An error code with Kafka's name for log lines: `NOT_LEADER_OR_FOLLOWER (6)`, `NONE (0)`.
pub fn name(code: i16) -> ErrorName {
    ErrorName(code)
}

pub struct ErrorName(pub i16);

impl std::fmt::Display for ErrorName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use kafka_protocol::ResponseError;
        let code = self.0;
        match ResponseError::try_from_code(code) {
            None => write!(f, "NONE ({code})"),
            Some(ResponseError::Unknown(_)) => write!(f, "UNKNOWN ({code})"),
            Some(e) => {
                // kafka-protocol names variants in CamelCase; Kafka's Errors are SCREAMING_SNAKE.
                for (i, c) in e.to_string().chars().enumerate() {
                    if i > 0 && c.is_ascii_uppercase() {
                        f.write_str("_")?;
                    }
                    write!(f, "{}", c.to_ascii_uppercase())?;
                }
                write!(f, " ({code})")
            }
        }
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn error_codes_carry_kafkas_names() {
        assert_eq!(
            name(NOT_LEADER_OR_FOLLOWER).to_string(),
            "NOT_LEADER_OR_FOLLOWER (6)"
        );
        assert_eq!(
            name(UNKNOWN_SERVER_ERROR).to_string(),
            "UNKNOWN_SERVER_ERROR (-1)"
        );
        assert_eq!(
            name(KAFKA_STORAGE_ERROR).to_string(),
            "KAFKA_STORAGE_ERROR (56)"
        );
        assert_eq!(name(NONE).to_string(), "NONE (0)");
        assert_eq!(name(9999).to_string(), "UNKNOWN (9999)");
    }
}
