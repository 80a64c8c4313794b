//! Error codes of the transaction APIs (clients' Errors.java), kept beside the coordinator
//! so the shared `server::errors` list stays untouched by this module.

pub use crate::coordinator::errors::*;

pub const INVALID_PRODUCER_EPOCH: i16 = 47;
pub const INVALID_TXN_STATE: i16 = 48;
pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
pub const CONCURRENT_TRANSACTIONS: i16 = 51;
pub const TRANSACTION_COORDINATOR_FENCED: i16 = 52;
pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
pub const PRODUCER_FENCED: i16 = 90;

/// What a failed `__transaction_state` append means to the client
/// (TransactionStateManager.appendTransactionToLog).
pub fn map_txn_append_error(code: i16) -> i16 {
    match code {
        UNKNOWN_TOPIC_OR_PARTITION
        | NOT_ENOUGH_REPLICAS
        | NOT_ENOUGH_REPLICAS_AFTER_APPEND
        | REQUEST_TIMED_OUT => COORDINATOR_NOT_AVAILABLE,
        NOT_LEADER_OR_FOLLOWER | KAFKA_STORAGE_ERROR => NOT_COORDINATOR,
        MESSAGE_TOO_LARGE | RECORD_LIST_TOO_LARGE => UNKNOWN_SERVER_ERROR,
        other => other,
    }
}

/// Requests older than the version that introduced PRODUCER_FENCED get INVALID_PRODUCER_EPOCH.
pub fn fenced_for_version(code: i16, version: i16, fenced_since: i16) -> i16 {
    if code == PRODUCER_FENCED && version < fenced_since {
        INVALID_PRODUCER_EPOCH
    } else {
        code
    }
}
