//! TransactionLog.scala: the key/value schemas of `__transaction_state` records, byte for
//! byte (version-prefixed, classic encoding), so Kafka's `kafka-dump-log.sh
//! --transaction-log-decoder` reads what we write and we read what Kafka wrote.

use std::collections::BTreeSet;

use super::metadata::{TransactionState, TxnTransitMetadata};
use crate::log::TopicPartition;

pub const TRANSACTION_STATE_TOPIC_NAME: &str = "__transaction_state";
/// The only key and value version 2.8 knows.
const KEY_VERSION: i16 = 0;
const VALUE_VERSION: i16 = 0;

/// One `__transaction_state` value as stored (lastProducerId/Epoch are not persisted in 2.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnLogValue {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub txn_timeout_ms: i32,
    pub state: TransactionState,
    pub partitions: BTreeSet<TopicPartition>,
    pub txn_last_update_timestamp: i64,
    pub txn_start_timestamp: i64,
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

pub fn key_bytes(transactional_id: &str) -> Vec<u8> {
    let mut out = KEY_VERSION.to_be_bytes().to_vec();
    put_string(&mut out, transactional_id);
    out
}

/// The value for a transition; partitions are null when the new state is Empty.
pub fn value_bytes(t: &TxnTransitMetadata) -> Vec<u8> {
    let mut out = VALUE_VERSION.to_be_bytes().to_vec();
    out.extend_from_slice(&t.producer_id.to_be_bytes());
    out.extend_from_slice(&t.producer_epoch.to_be_bytes());
    out.extend_from_slice(&t.txn_timeout_ms.to_be_bytes());
    out.push(t.state.byte());
    if t.state == TransactionState::Empty {
        out.extend_from_slice(&(-1i32).to_be_bytes());
    } else {
        let mut by_topic: Vec<(&str, Vec<i32>)> = Vec::new();
        for tp in &t.partitions {
            match by_topic.last_mut() {
                Some((topic, parts)) if *topic == tp.topic => parts.push(tp.partition),
                _ => by_topic.push((&tp.topic, vec![tp.partition])),
            }
        }
        out.extend_from_slice(&(by_topic.len() as i32).to_be_bytes());
        for (topic, parts) in by_topic {
            put_string(&mut out, topic);
            out.extend_from_slice(&(parts.len() as i32).to_be_bytes());
            for p in parts {
                out.extend_from_slice(&p.to_be_bytes());
            }
        }
    }
    out.extend_from_slice(&t.txn_last_update_timestamp.to_be_bytes());
    out.extend_from_slice(&t.txn_start_timestamp.to_be_bytes());
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.0.len() < n {
            return Err(format!("record truncated: needs {n} more bytes"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i8(&mut self) -> Result<i8, String> {
        Ok(self.take(1)?[0] as i8)
    }
    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
    fn string(&mut self) -> Result<String, String> {
        let len = self.i16()?;
        if len < 0 {
            return Err("null string where a string is required".into());
        }
        let b = self.take(len as usize)?;
        String::from_utf8(b.to_vec()).map_err(|e| format!("string is not UTF-8: {e}"))
    }
}

pub fn read_key(b: &[u8]) -> Result<String, String> {
    let mut r = Reader(b);
    match r.i16()? {
        KEY_VERSION => r.string(),
        v => Err(format!(
            "unknown version {v} of a {TRANSACTION_STATE_TOPIC_NAME} key"
        )),
    }
}

pub fn read_value(b: &[u8]) -> Result<TxnLogValue, String> {
    let mut r = Reader(b);
    let version = r.i16()?;
    if version != VALUE_VERSION {
        return Err(format!(
            "unknown version {version} of a {TRANSACTION_STATE_TOPIC_NAME} value"
        ));
    }
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let txn_timeout_ms = r.i32()?;
    let status = r.i8()?;
    let state = TransactionState::from_byte(status)
        .ok_or_else(|| format!("unknown transaction status {status}"))?;
    let mut partitions = BTreeSet::new();
    let topics = r.i32()?;
    for _ in 0..topics.max(0) {
        let topic = r.string()?;
        let n = r.i32()?;
        for _ in 0..n.max(0) {
            partitions.insert(TopicPartition::new(&topic, r.i32()?));
        }
    }
    Ok(TxnLogValue {
        producer_id,
        producer_epoch,
        txn_timeout_ms,
        state,
        partitions,
        txn_last_update_timestamp: r.i64()?,
        txn_start_timestamp: r.i64()?,
    })
}

/// `kafka-dump-log.sh --transaction-log-decoder` text of one record (formatRecordKeyAndValue).
pub fn format_record(key: &[u8], value: Option<&[u8]>) -> Result<(String, String), String> {
    let id = read_key(key)?;
    let value = match value {
        None => "<DELETE>".to_string(),
        Some(v) => {
            let v = read_value(v)?;
            let parts: Vec<String> = v.partitions.iter().map(|tp| tp.to_string()).collect();
            format!(
                "producerId:{},producerEpoch:{},state={},partitions=[{}],txnLastUpdateTimestamp={},txnTimeoutMs={}",
                v.producer_id,
                v.producer_epoch,
                v.state.name(),
                parts.join(","),
                v.txn_last_update_timestamp,
                v.txn_timeout_ms
            )
        }
    };
    Ok((format!("transaction_metadata::transactionalId={id}"), value))
}
