//! Topic znodes: the replica assignment (`/brokers/topics/<t>`), partition state
//! (`.../partitions/<p>/state`), topic configs (`/config/topics/<t>`) and the notifications
//! that announce changes (`/config/changes/*`, `/isr_change_notification/*`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{field_err, ordered_json, parse_json, DecodeError};

/// `/brokers/topics/<t>`: partition → replicas (first = preferred leader).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicAssignment {
    pub partitions: BTreeMap<i32, Vec<i32>>,
    pub adding_replicas: BTreeMap<i32, Vec<i32>>,
    pub removing_replicas: BTreeMap<i32, Vec<i32>>,
    pub topic_id: Option<String>,
}

impl TopicAssignment {
    pub fn new(partitions: BTreeMap<i32, Vec<i32>>) -> TopicAssignment {
        TopicAssignment {
            partitions,
            ..Default::default()
        }
    }

    /// What Kafka 2.8 writes: always version 3; `topic_id` only when the topic has one.
    pub fn encode(&self) -> String {
        let map = |m: &BTreeMap<i32, Vec<i32>>| -> Value {
            Value::Object(m.iter().map(|(p, r)| (p.to_string(), json!(r))).collect())
        };
        let mut fields = vec![
            ("version", json!(3)),
            ("partitions", map(&self.partitions)),
            ("adding_replicas", map(&self.adding_replicas)),
            ("removing_replicas", map(&self.removing_replicas)),
        ];
        if let Some(id) = &self.topic_id {
            fields.push(("topic_id", json!(id)));
        }
        ordered_json(&fields)
    }

    /// Accepts versions 1 (tools 2.0–2.3), 2 (2.4–2.7) and 3 (2.8); `version` is not checked,
    /// as in Kafka.
    pub fn decode(path: &str, data: &[u8]) -> Result<TopicAssignment, DecodeError> {
        let v = parse_json(path, data)?;
        let partitions = replica_map(path, &v["partitions"], true)?;
        Ok(TopicAssignment {
            partitions,
            adding_replicas: replica_map(path, &v["adding_replicas"], false)?,
            removing_replicas: replica_map(path, &v["removing_replicas"], false)?,
            topic_id: v["topic_id"].as_str().map(str::to_string),
        })
    }
}

fn replica_map(
    path: &str,
    v: &Value,
    required: bool,
) -> Result<BTreeMap<i32, Vec<i32>>, DecodeError> {
    let Some(obj) = v.as_object() else {
        return if required || !v.is_null() {
            Err(field_err(path, "partitions"))
        } else {
            Ok(BTreeMap::new())
        };
    };
    let mut out = BTreeMap::new();
    for (p, replicas) in obj {
        let p: i32 = p.parse().map_err(|_| field_err(path, "partition id"))?;
        let list = replicas
            .as_array()
            .ok_or_else(|| field_err(path, "replica list"))?;
        let ids = list
            .iter()
            .map(|r| {
                r.as_i64()
                    .map(|x| x as i32)
                    .ok_or_else(|| field_err(path, "replica id"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.insert(p, ids);
    }
    Ok(out)
}

/// `/brokers/topics/<t>/partitions/<p>/state` (LeaderIsrAndControllerEpoch), plus the znode's
/// zkVersion, which every conditional update must quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub controller_epoch: i32,
    pub zk_version: i32,
}

impl PartitionState {
    /// Kafka's JSON, key order as observed: `{"controller_epoch":1,"leader":1,"version":1,...}`.
    pub fn encode(&self) -> String {
        ordered_json(&[
            ("controller_epoch", json!(self.controller_epoch)),
            ("leader", json!(self.leader)),
            ("version", json!(1)),
            ("leader_epoch", json!(self.leader_epoch)),
            ("isr", json!(self.isr)),
        ])
    }

    pub fn decode(path: &str, data: &[u8], zk_version: i32) -> Result<PartitionState, DecodeError> {
        let v = parse_json(path, data)?;
        let int = |k: &'static str| {
            v[k].as_i64()
                .map(|x| x as i32)
                .ok_or_else(|| field_err(path, k))
        };
        let isr = v["isr"]
            .as_array()
            .ok_or_else(|| field_err(path, "isr"))?
            .iter()
            .map(|r| {
                r.as_i64()
                    .map(|x| x as i32)
                    .ok_or_else(|| field_err(path, "isr"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PartitionState {
            leader: int("leader")?,
            leader_epoch: int("leader_epoch")?,
            isr,
            controller_epoch: int("controller_epoch")?,
            zk_version,
        })
    }
}

/// `/config/<type>/<entity>`: `{"version":1,"config":{...}}`, every value a string.
pub fn encode_entity_config(config: &BTreeMap<String, String>) -> String {
    ordered_json(&[("version", json!(1)), ("config", json!(config))])
}

pub fn decode_entity_config(
    path: &str,
    data: &[u8],
) -> Result<BTreeMap<String, String>, DecodeError> {
    if data.is_empty() {
        return Ok(BTreeMap::new());
    }
    let v = parse_json(path, data)?;
    let Some(obj) = v["config"].as_object() else {
        return Ok(BTreeMap::new());
    };
    Ok(obj
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            )
        })
        .collect())
}

/// `/config/changes/config_change_<seq>` payload, version 2: `{"version":2,"entity_path":"topics/t"}`.
pub fn encode_config_change(entity_path: &str) -> String {
    ordered_json(&[("version", json!(2)), ("entity_path", json!(entity_path))])
}

/// The (entity type, entity name) a notification names; accepts versions 1 and 2. Non-JSON
/// payloads yield `None` (ignored, as Kafka does).
pub fn decode_config_change(data: &[u8]) -> Option<(String, String)> {
    let v: Value = serde_json::from_slice(data).ok()?;
    match v["version"].as_i64()? {
        1 => Some((
            v["entity_type"].as_str()?.into(),
            v["entity_name"].as_str()?.into(),
        )),
        _ => {
            let (ty, name) = v["entity_path"].as_str()?.split_once('/')?;
            Some((ty.into(), name.into()))
        }
    }
}

/// `/isr_change_notification/isr_change_<seq>`: the partitions whose ISR a leader changed.
pub fn encode_isr_change(partitions: &[(String, i32)]) -> String {
    let list: Vec<Value> = partitions
        .iter()
        .map(|(t, p)| json!({"topic": t, "partition": p}))
        .collect();
    ordered_json(&[("version", json!(1)), ("partitions", Value::Array(list))])
}

pub fn decode_isr_change(path: &str, data: &[u8]) -> Result<Vec<(String, i32)>, DecodeError> {
    let v = parse_json(path, data)?;
    let list = v["partitions"]
        .as_array()
        .ok_or_else(|| field_err(path, "partitions"))?;
    list.iter()
        .map(|e| {
            let t = e["topic"]
                .as_str()
                .ok_or_else(|| field_err(path, "topic"))?;
            let p = e["partition"]
                .as_i64()
                .ok_or_else(|| field_err(path, "partition"))?;
            Ok((t.to_string(), p as i32))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_accepts_every_tool_version() {
        let v1 = br#"{"version":1,"partitions":{"2":[1,3,2],"1":[3,2,1],"0":[2,1,3]}}"#;
        let a = TopicAssignment::decode("t", v1).unwrap();
        assert_eq!(a.partitions[&0], vec![2, 1, 3]);
        assert!(a.adding_replicas.is_empty() && a.topic_id.is_none());
        let v2 = br#"{"version":2,"partitions":{"0":[4,1,2,3]},"adding_replicas":{"0":[4]},"removing_replicas":{"0":[3]}}"#;
        let a = TopicAssignment::decode("t", v2).unwrap();
        assert_eq!(a.adding_replicas[&0], vec![4]);
        let v3 = br#"{"version":3,"partitions":{"0":[1,2]},"adding_replicas":{},"removing_replicas":{},"topic_id":"hhGwnQ0gRxOqd8tRBXW5Jw"}"#;
        let a = TopicAssignment::decode("t", v3).unwrap();
        assert_eq!(a.topic_id.as_deref(), Some("hhGwnQ0gRxOqd8tRBXW5Jw"));
        assert!(TopicAssignment::decode("t", br#"{"version":1}"#).is_err());
        assert!(TopicAssignment::decode("t", br#"{"partitions":{"x":[1]}}"#).is_err());
    }

    #[test]
    fn assignment_encodes_as_kafka_2_8() {
        let a = TopicAssignment::new([(0, vec![1, 2]), (1, vec![2, 1])].into_iter().collect());
        assert_eq!(
            a.encode(),
            r#"{"version":3,"partitions":{"0":[1,2],"1":[2,1]},"adding_replicas":{},"removing_replicas":{}}"#
        );
    }

    #[test]
    fn partition_state_matches_observed_bytes() {
        let s = PartitionState {
            leader: 1,
            leader_epoch: 0,
            isr: vec![1, 3, 2],
            controller_epoch: 1,
            zk_version: 0,
        };
        let text =
            r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,3,2]}"#;
        assert_eq!(s.encode(), text);
        assert_eq!(PartitionState::decode("p", text.as_bytes(), 0).unwrap(), s);
    }

    #[test]
    fn configs_and_notifications() {
        let cfg: BTreeMap<String, String> = [("retention.ms".to_string(), "86400000".to_string())]
            .into_iter()
            .collect();
        assert_eq!(
            encode_entity_config(&cfg),
            r#"{"version":1,"config":{"retention.ms":"86400000"}}"#
        );
        assert_eq!(
            decode_entity_config("c", encode_entity_config(&cfg).as_bytes()).unwrap(),
            cfg
        );
        assert_eq!(
            encode_config_change("topics/t1"),
            r#"{"version":2,"entity_path":"topics/t1"}"#
        );
        assert_eq!(
            decode_config_change(br#"{"version":2,"entity_path":"topics/t1"}"#),
            Some(("topics".into(), "t1".into()))
        );
        assert_eq!(
            decode_config_change(br#"{"version":1,"entity_type":"topics","entity_name":"t"}"#),
            Some(("topics".into(), "t".into()))
        );
        assert_eq!(decode_config_change(b"garbage"), None);
        let isr = encode_isr_change(&[("foo".into(), 0)]);
        assert_eq!(
            isr,
            r#"{"version":1,"partitions":[{"partition":0,"topic":"foo"}]}"#
        );
        assert_eq!(
            decode_isr_change("i", isr.as_bytes()).unwrap(),
            vec![("foo".to_string(), 0)]
        );
    }
}
