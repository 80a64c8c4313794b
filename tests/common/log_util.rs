//! Shared helpers for the log integration tests (batches, logs in temp dirs).

use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use zkafka::log::{FileDeleter, LoadParams, Log, LogConfig, TopicPartition};

/// A v2 batch encoded by kafka-protocol (independent of our own encoder).
pub fn encode_batch(n: usize, value_len: usize, ts: i64, key_prefix: &str) -> Vec<u8> {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32, // kafka-protocol splits batches unless offset - sequence is constant
            timestamp: ts + i as i64,
            key: Some(Bytes::from(format!("{key_prefix}{i}"))),
            value: Some(Bytes::from(vec![b'v'; value_len])),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode");
    buf.to_vec()
}

pub fn small_config() -> LogConfig {
    LogConfig {
        segment_index_bytes: 4096,
        ..LogConfig::default()
    }
}

pub fn open_log(dir: &Path, config: LogConfig) -> Log {
    Log::open(
        dir,
        TopicPartition::new("t", 0),
        config,
        LoadParams::default(),
        Arc::new(FileDeleter::new()),
    )
    .expect("open")
}

pub fn open_with(dir: &Path, config: LogConfig, params: LoadParams) -> Log {
    Log::open(
        dir,
        TopicPartition::new("t", 0),
        config,
        params,
        Arc::new(FileDeleter::new()),
    )
    .expect("open")
}

/// Every (position, base, last, max_ts, size) of the batches in a `.log` file.
pub fn scan(bytes: &[u8]) -> Vec<(usize, i64, i64, i64, usize)> {
    zkafka::log::batch::HeaderIter::new(bytes)
        .map(|(p, h)| (p, h.base_offset, h.last_offset(), h.max_timestamp, h.size()))
        .collect()
}
