//! Kafka error codes used on the wire (clients' Errors.java).

pub const NONE: i16 = 0;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const LEADER_NOT_AVAILABLE: i16 = 5;
pub const STALE_CONTROLLER_EPOCH: i16 = 11;
pub const UNSUPPORTED_VERSION: i16 = 35;
pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
pub const NOT_CONTROLLER: i16 = 41;
pub const STALE_BROKER_EPOCH: i16 = 77;
