//! One codec per znode payload, byte-compatible with what Kafka 2.8 writes and lenient about
//! what 2.0+ wrote (ZkData.scala). Key order follows the observed Kafka output so that dumps
//! of a zkafka cluster read like a Kafka one (readers must not rely on it).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::cluster::{Broker, EndPoint, SecurityProtocol};

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

fn parse_json(path: &str, data: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(data).map_err(|e| DecodeError {
        path: path.into(),
        reason: e.to_string(),
    })
}

fn field_err(path: &str, what: &str) -> DecodeError {
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

/// What a broker registers under `/brokers/ids/<id>` (BrokerInfo in ZkData.scala).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub broker: Broker,
    pub version: i32,
    pub jmx_port: i32,
    pub timestamp_ms: i64,
}

impl BrokerRegistration {
    /// Kafka 2.8's JSON: v4 below IBP 2.7-IV0, v5 (with `features`) from it.
    pub fn encode(&self) -> String {
        let b = &self.broker;
        let protocol_map: serde_json::Map<String, Value> = b
            .endpoints
            .iter()
            .map(|e| (e.listener_name.clone(), json!(e.security_protocol.name())))
            .collect();
        let endpoints: Vec<String> = b
            .endpoints
            .iter()
            .map(EndPoint::connection_string)
            .collect();
        let plaintext = b
            .endpoints
            .iter()
            .find(|e| e.security_protocol == SecurityProtocol::Plaintext);
        let mut fields: Vec<(&str, Value)> = Vec::new();
        if self.version >= 5 {
            fields.push(("features", json!({})));
        }
        fields.push((
            "listener_security_protocol_map",
            Value::Object(protocol_map),
        ));
        fields.push(("endpoints", json!(endpoints)));
        if let Some(rack) = &b.rack {
            fields.push(("rack", json!(rack)));
        }
        fields.push(("jmx_port", json!(self.jmx_port)));
        fields.push(("host", plaintext.map_or(Value::Null, |e| json!(e.host))));
        fields.push(("timestamp", json!(self.timestamp_ms.to_string())));
        fields.push(("port", json!(plaintext.map_or(-1, |e| i32::from(e.port)))));
        fields.push(("version", json!(self.version)));
        ordered_json(&fields)
    }

    /// Accepts versions 1–5 as Kafka 2.8 does (BrokerIdZNode.decode).
    pub fn decode(id: i32, path: &str, data: &[u8]) -> Result<BrokerRegistration, DecodeError> {
        let v = parse_json(path, data)?;
        let version = v["version"]
            .as_i64()
            .ok_or_else(|| field_err(path, "version"))? as i32;
        if version < 1 {
            return Err(DecodeError {
                path: path.into(),
                reason: format!("unsupported version {version}"),
            });
        }
        let endpoints = if version == 1 {
            let host = v["host"].as_str().ok_or_else(|| field_err(path, "host"))?;
            let port = v["port"].as_i64().ok_or_else(|| field_err(path, "port"))?;
            vec![EndPoint {
                listener_name: "PLAINTEXT".into(),
                host: host.into(),
                port: port as u16,
                security_protocol: SecurityProtocol::Plaintext,
            }]
        } else {
            decode_endpoints(path, &v)?
        };
        let rack = v["rack"].as_str().map(str::to_string);
        Ok(BrokerRegistration {
            broker: Broker {
                id,
                endpoints,
                rack,
            },
            version,
            jmx_port: v["jmx_port"].as_i64().unwrap_or(-1) as i32,
            timestamp_ms: v["timestamp"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or(-1),
        })
    }
}

fn decode_endpoints(path: &str, v: &Value) -> Result<Vec<EndPoint>, DecodeError> {
    let map: BTreeMap<String, SecurityProtocol> = v["listener_security_protocol_map"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, p)| Some((k.clone(), SecurityProtocol::parse(p.as_str()?)?)))
                .collect()
        })
        .unwrap_or_default();
    let list = v["endpoints"]
        .as_array()
        .ok_or_else(|| field_err(path, "endpoints"))?;
    list.iter()
        .map(|e| {
            let text = e.as_str().ok_or_else(|| field_err(path, "endpoints"))?;
            EndPoint::parse(text, &map).map_err(|reason| DecodeError {
                path: path.into(),
                reason,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plaintext(host: &str, port: u16) -> EndPoint {
        EndPoint {
            listener_name: "PLAINTEXT".into(),
            host: host.into(),
            port,
            security_protocol: SecurityProtocol::Plaintext,
        }
    }

    #[test]
    fn broker_v4_matches_observed_kafka_bytes() {
        let reg = BrokerRegistration {
            broker: Broker {
                id: 1,
                endpoints: vec![plaintext("127.0.0.1", 9092)],
                rack: None,
            },
            version: 4,
            jmx_port: -1,
            timestamp_ms: 1795314011854,
        };
        // Byte for byte what Kafka 2.1.1 wrote (observed-kafka-2.1.1/zk-00-initial.txt).
        assert_eq!(
            reg.encode(),
            r#"{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://127.0.0.1:9092"],"jmx_port":-1,"host":"127.0.0.1","timestamp":"1795314011854","port":9092,"version":4}"#
        );
        assert_eq!(
            BrokerRegistration::decode(1, "/brokers/ids/1", reg.encode().as_bytes()).unwrap(),
            reg
        );
    }

    #[test]
    fn broker_v5_has_features_and_rack() {
        let reg = BrokerRegistration {
            broker: Broker {
                id: 2,
                endpoints: vec![plaintext("h", 1)],
                rack: Some("r1".into()),
            },
            version: 5,
            jmx_port: -1,
            timestamp_ms: 5,
        };
        let v: Value = serde_json::from_str(&reg.encode()).unwrap();
        assert_eq!(v["features"], json!({}));
        assert_eq!(v["rack"], json!("r1"));
        assert_eq!(v["timestamp"], json!("5"));
        assert_eq!(
            BrokerRegistration::decode(2, "p", reg.encode().as_bytes()).unwrap(),
            reg
        );
    }

    #[test]
    fn broker_v1_and_garbage() {
        let r = BrokerRegistration::decode(
            3,
            "p",
            br#"{"version":1,"host":"a","port":9,"jmx_port":-1,"timestamp":"1"}"#,
        )
        .unwrap();
        assert_eq!(r.broker.endpoints[0].port, 9);
        assert!(BrokerRegistration::decode(3, "p", b"nope").is_err());
        assert!(BrokerRegistration::decode(3, "p", br#"{"version":0}"#).is_err());
    }

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
