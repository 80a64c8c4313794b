//! `/brokers/ids/<id>`: the broker registration (BrokerIdZNode in ZkData.scala).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{field_err, ordered_json, parse_json, DecodeError};
use crate::cluster::{Broker, EndPoint, SecurityProtocol};

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
}
