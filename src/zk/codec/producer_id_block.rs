//! `/latest_producer_id_block`: the last block of producer ids claimed by any broker
//! (ZkData.scala `ProducerIdBlockZNode`), e.g.
//! `{"version":1,"broker":2,"block_start":"1000","block_end":"1999"}`. Start and end are
//! decimal strings and both inclusive.

use serde_json::json;

use super::{field_err, ordered_json, parse_json, DecodeError};

/// The only payload version Kafka 2.8 writes and reads.
pub const PRODUCER_ID_BLOCK_VERSION: i64 = 1;

/// A block of producer ids owned by one broker (ProducerIdManager.scala `ProducerIdBlock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdBlock {
    pub broker_id: i32,
    pub block_start: i64,
    pub block_end: i64,
}

impl ProducerIdBlock {
    pub fn encode(&self) -> String {
        ordered_json(&[
            ("version", json!(PRODUCER_ID_BLOCK_VERSION)),
            ("broker", json!(self.broker_id)),
            ("block_start", json!(self.block_start.to_string())),
            ("block_end", json!(self.block_end.to_string())),
        ])
    }

    pub fn decode(path: &str, data: &[u8]) -> Result<ProducerIdBlock, DecodeError> {
        let v = parse_json(path, data)?;
        if v["version"].as_i64() != Some(PRODUCER_ID_BLOCK_VERSION) {
            return Err(field_err(path, "version (expected 1)"));
        }
        // Kafka writes the bounds as strings; numbers are accepted too.
        let long = |key: &str| {
            let f = &v[key];
            f.as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .or_else(|| f.as_i64())
                .ok_or_else(|| field_err(path, key))
        };
        Ok(ProducerIdBlock {
            broker_id: v["broker"]
                .as_i64()
                .and_then(|b| i32::try_from(b).ok())
                .ok_or_else(|| field_err(path, "broker"))?,
            block_start: long("block_start")?,
            block_end: long("block_end")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_kafka_writes_it() {
        let b = ProducerIdBlock {
            broker_id: 2,
            block_start: 1000,
            block_end: 1999,
        };
        assert_eq!(
            b.encode(),
            r#"{"version":1,"broker":2,"block_start":"1000","block_end":"1999"}"#
        );
        assert_eq!(ProducerIdBlock::decode("/p", b.encode().as_bytes()), Ok(b));
    }

    #[test]
    fn refuses_empty_and_unknown_versions() {
        assert!(ProducerIdBlock::decode("/p", b"").is_err());
        let v2 = br#"{"version":2,"broker":1,"block_start":"0","block_end":"999"}"#;
        assert!(ProducerIdBlock::decode("/p", v2).is_err());
    }
}
