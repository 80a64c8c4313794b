//! One codec per znode payload, byte-compatible with what Kafka 2.8 writes and lenient about
//! what 2.0+ wrote (ZkData.scala), one file per znode family. Key order follows the observed Kafka output so that dumps
//! of a zkafka cluster read like a Kafka one (readers must not rely on it).

use serde_json::{json, Value};

mod broker;
mod log_dir_event;
mod producer_id_block;
mod topic;

pub use broker::BrokerRegistration;
pub use log_dir_event::*;
pub use producer_id_block::{ProducerIdBlock, PRODUCER_ID_BLOCK_VERSION};
pub use topic::*;

/// A JSON object with keys in the given order (serde_json's map would sort them).
pub fn ordered_json(fields: &[(&str, Value)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::from(*k), v))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// A payload that could not be decoded; names the znode at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot decode znode {}: {}", self.path, self.reason)
    }
}

impl std::error::Error for DecodeError {}

pub(crate) fn parse_json(path: &str, data: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(data).map_err(|e| DecodeError {
        path: path.into(),
        reason: e.to_string(),
    })
}

pub(crate) fn field_err(path: &str, what: &str) -> DecodeError {
    DecodeError {
        path: path.into(),
        reason: format!("missing or invalid field {what}"),
    }
}

/// `/cluster/id`: `{"version":"1","id":"<22-char base64>"}` (version is a string).
pub fn encode_cluster_id(id: &str) -> String {
    ordered_json(&[("version", json!("1")), ("id", json!(id))])
}

pub fn decode_cluster_id(path: &str, data: &[u8]) -> Result<String, DecodeError> {
    let v = parse_json(path, data)?;
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| field_err(path, "id"))
}

/// `/controller`: `{"version":1,"brokerid":N,"timestamp":"<ms>"}`.
pub fn encode_controller(broker_id: i32, timestamp_ms: i64) -> String {
    ordered_json(&[
        ("version", json!(1)),
        ("brokerid", json!(broker_id)),
        ("timestamp", json!(timestamp_ms.to_string())),
    ])
}

pub fn decode_controller(path: &str, data: &[u8]) -> Result<i32, DecodeError> {
    let v = parse_json(path, data)?;
    v["brokerid"]
        .as_i64()
        .map(|b| b as i32)
        .ok_or_else(|| field_err(path, "brokerid"))
}

/// `/controller_epoch`: the epoch as a plain decimal string.
pub fn decode_controller_epoch(path: &str, data: &[u8]) -> Result<i32, DecodeError> {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| DecodeError {
            path: path.into(),
            reason: "not a decimal epoch".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_and_cluster_id() {
        assert_eq!(
            encode_controller(2, 1795314011444),
            r#"{"version":1,"brokerid":2,"timestamp":"1795314011444"}"#
        );
        assert_eq!(
            decode_controller("c", encode_controller(7, 1).as_bytes()).unwrap(),
            7
        );
        assert_eq!(
            encode_cluster_id("ZLAztt7ESROCH8W_G1yTnw"),
            r#"{"version":"1","id":"ZLAztt7ESROCH8W_G1yTnw"}"#
        );
        assert_eq!(decode_controller_epoch("e", b"12").unwrap(), 12);
    }
}
