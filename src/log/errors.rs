//! Typed storage errors. Each maps to the Kafka protocol error code the broker returns.

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use super::validator::RecordError;

/// Errors raised by the log layer. `error_code()` gives the Kafka wire code.
#[derive(Debug)]
pub enum LogError {
    /// Bad size, CRC mismatch or truncated batch (CORRUPT_MESSAGE, 2).
    CorruptMessage(String),
    /// A batch is larger than `max.message.bytes` (MESSAGE_TOO_LARGE, 10).
    MessageTooLarge { size: usize, max: usize },
    /// The whole append is larger than `segment.bytes` (RECORD_LIST_TOO_LARGE, 18).
    RecordListTooLarge { size: usize, max: usize },
    /// Record-level validation failure, e.g. keyless record on a compacted topic (INVALID_RECORD, 87).
    InvalidRecord(String),
    /// LogValidator refused records of a batch: keyless records on a compacted topic
    /// (INVALID_RECORD, 87) or timestamps (INVALID_TIMESTAMP, 32), with Produce v8's
    /// per-record `record_errors`.
    RecordsRejected {
        invalid_timestamp: bool,
        record_errors: Vec<RecordError>,
    },
    /// Magic 0/1 message sets are not supported by this storage layer
    /// (UNSUPPORTED_FOR_MESSAGE_FORMAT, 43).
    UnsupportedMagic(i8),
    /// Fetch/truncate/delete-records offset outside the valid range (OFFSET_OUT_OF_RANGE, 1).
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    /// Follower append whose offsets do not increase or start below the log end offset
    /// (UNKNOWN_SERVER_ERROR in Kafka: OffsetsOutOfOrder / UnexpectedAppendOffset).
    OffsetsOutOfOrder(String),
    /// Malformed checkpoint / properties file; names the file and the 1-based line.
    MalformedFile {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// Underlying I/O failure (KAFKA_STORAGE_ERROR, 56).
    Io { context: String, source: io::Error },
    /// A producer's sequence does not follow its last one (OUT_OF_ORDER_SEQUENCE_NUMBER, 45).
    OutOfOrderSequence(String),
    /// A producer epoch older than the partition has seen (INVALID_PRODUCER_EPOCH, 47).
    InvalidProducerEpoch(String),
    /// A non-transactional batch while the producer's transaction is open (INVALID_TXN_STATE, 48).
    InvalidTxnState(String),
    /// A transaction marker from a coordinator older than the one that last wrote one for
    /// the producer (TRANSACTION_COORDINATOR_FENCED, 52).
    TransactionCoordinatorFenced(String),
    /// Anything else (UNKNOWN_SERVER_ERROR, -1).
    Other(String),
}

impl LogError {
    /// Kafka protocol error code for this error (clients Errors.java).
    pub fn error_code(&self) -> i16 {
        match self {
            LogError::CorruptMessage(_) => 2,
            LogError::MessageTooLarge { .. } => 10,
            LogError::RecordListTooLarge { .. } => 18,
            LogError::InvalidRecord(_) => 87,
            LogError::RecordsRejected {
                invalid_timestamp, ..
            } => {
                if *invalid_timestamp {
                    32
                } else {
                    87
                }
            }
            LogError::UnsupportedMagic(_) => 43,
            LogError::OffsetOutOfRange { .. } => 1,
            LogError::OffsetsOutOfOrder(_) => -1,
            LogError::MalformedFile { .. } => 56,
            LogError::Io { .. } => 56,
            LogError::OutOfOrderSequence(_) => 45,
            LogError::InvalidProducerEpoch(_) => 47,
            LogError::InvalidTxnState(_) => 48,
            LogError::TransactionCoordinatorFenced(_) => 52,
            LogError::Other(_) => -1,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> LogError {
        LogError::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::CorruptMessage(m) => write!(f, "corrupt message: {m}"),
            LogError::MessageTooLarge { size, max } => {
                write!(
                    f,
                    "record batch of {size} bytes exceeds max.message.bytes {max}"
                )
            }
            LogError::RecordListTooLarge { size, max } => {
                write!(f, "append of {size} bytes exceeds segment.bytes {max}")
            }
            LogError::InvalidRecord(m) => write!(f, "invalid record: {m}"),
            // Kafka's RecordValidationException messages, sent as Produce's error_message.
            LogError::RecordsRejected {
                invalid_timestamp: true,
                ..
            } => write!(
                f,
                "One or more records have been rejected due to invalid timestamp"
            ),
            LogError::RecordsRejected { .. } => write!(f, "One or more records have been rejected"),
            LogError::UnsupportedMagic(m) => write!(f, "unsupported record batch magic {m}"),
            LogError::OffsetOutOfRange {
                offset,
                log_start_offset,
                log_end_offset,
            } => write!(
                f,
                "offset {offset} is out of range [{log_start_offset}, {log_end_offset}]"
            ),
            LogError::OffsetsOutOfOrder(m) => write!(f, "offsets out of order: {m}"),
            LogError::MalformedFile { path, line, reason } => {
                write!(
                    f,
                    "malformed file {} at line {line}: {reason}",
                    path.display()
                )
            }
            LogError::Io { context, source } => write!(f, "{context}: {source}"),
            LogError::OutOfOrderSequence(m)
            | LogError::InvalidProducerEpoch(m)
            | LogError::InvalidTxnState(m)
            | LogError::TransactionCoordinatorFenced(m)
            | LogError::Other(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for LogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LogError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Adds context to io errors: `file.read(..).ctx(|| format!(...))?`.
pub(crate) trait IoContext<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, LogError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, LogError> {
        self.map_err(|e| LogError::io(f(), e))
    }
}
