//! Kafka's segmented log, byte-compatible with Kafka's on-disk format
//! (see shared/reference/replication-and-storage.md §1–8).

mod append;
pub mod batch;
pub mod bench;
pub mod checkpoint;
pub mod clean_batch;
pub mod cleaned_txn;
pub mod cleaner;
pub mod cleaner_manager;
pub mod config;
pub mod config_def;
pub mod deleter;
pub mod dir_failure;
pub mod epoch_cache;
pub mod errors;
mod file_batches;
pub mod file_cache;
pub mod index;
mod load;
pub mod manager;
pub mod meta_properties;
pub mod offset_map;
pub mod partition_log;
pub mod producer_snapshot;
pub mod producer_state;
mod read;
mod retention;
pub mod segment;
mod stable_offset;
pub mod swap;
pub mod txn_index;
pub mod util;
pub mod validator;

use std::fmt;

pub use checkpoint::{CheckpointFile, OffsetCheckpointFile};
pub use cleaner::{CleanResult, Cleaner, CleanerSettings};
pub use cleaner_manager::{LogCleaner, LogCleanerConfig};
pub use config::{CleanupPolicy, ConfigError, LogConfig, TimestampType};
pub use deleter::FileDeleter;
pub use dir_failure::{is_storage_failure, LogDirFailureChannel};
pub use epoch_cache::{EpochEntry, LeaderEpochFileCache};
pub use errors::LogError;
pub use load::LoadParams;
pub use manager::{LogManager, LogManagerConfig};
pub use meta_properties::{read_meta_properties, write_meta_properties, MetaProperties};
pub use partition_log::{
    AppendOrigin, Log, LogAppendInfo, LogOffsetMetadata, TimestampAndOffset, EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
};
pub use read::{FetchDataInfo, FileSlice};

/// How many times any log's start offset moved up (retention, DeleteRecords). An incremental
/// fetch reports a moved log start offset, and appends and high-watermark moves are counted by
/// the fetch purgatory: the two counts unchanged mean no fetched partition changed.
static LOG_START_MOVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn log_start_moves() -> u64 {
    LOG_START_MOVES.load(std::sync::atomic::Ordering::SeqCst)
}

pub(crate) fn count_log_start_move() {
    LOG_START_MOVES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// A topic partition; its log directory is `<topic>-<partition>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// Directory name `<topic>-<partition>` (Log.logDirName).
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// Parses `<topic>-<partition>` by splitting at the last `-`.
    pub fn parse_dir_name(name: &str) -> Option<TopicPartition> {
        let (topic, part) = name.rsplit_once('-')?;
        if topic.is_empty() || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(TopicPartition::new(topic, part.parse().ok()?))
    }

    /// `<topic>-<partition>.<32 hex>-future` (Log.logFutureDirName): a replica being moved
    /// to another log dir of this broker.
    pub fn future_dir_name(&self) -> String {
        format!(
            "{}.{}{}",
            self.dir_name(),
            util::random_uuid_hex(),
            util::FUTURE_DIR_SUFFIX
        )
    }

    /// Parses a `future_dir_name`; None for any other name.
    pub fn parse_future_dir_name(name: &str) -> Option<TopicPartition> {
        let stem = name.strip_suffix(util::FUTURE_DIR_SUFFIX)?;
        let (tp, uuid) = stem.rsplit_once('.')?;
        if uuid.is_empty() || !uuid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        TopicPartition::parse_dir_name(tp)
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}
