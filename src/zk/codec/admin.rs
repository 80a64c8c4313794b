//! Admin request znodes written by the tools and consumed by the controller:
//! `/admin/preferred_replica_election` and `/admin/reassign_partitions` (ZkData.scala
//! `PreferredReplicaElectionZNode`, `ReassignPartitionsZNode`).

use serde_json::{json, Value};

use super::{field_err, ordered_json, parse_json, DecodeError};

/// `{"version":1,"partitions":[{"topic":"foo","partition":0},...]}`.
pub fn encode_preferred_replica_election(partitions: &[(String, i32)]) -> String {
    let list: Vec<String> = partitions
        .iter()
        .map(|(t, p)| ordered_json(&[("topic", json!(t)), ("partition", json!(p))]))
        .collect();
    versioned_list(&list)
}

pub fn decode_preferred_replica_election(
    path: &str,
    data: &[u8],
) -> Result<Vec<(String, i32)>, DecodeError> {
    let v = parse_json(path, data)?;
    entries(path, &v)?
        .iter()
        .map(|e| Ok((topic_of(path, e)?, partition_of(path, e)?)))
        .collect()
}

/// `{"version":1,"partitions":[{"topic":"foo","partition":0,"replicas":[1,2]},...]}`.
pub fn encode_reassign_partitions(partitions: &[(String, i32, Vec<i32>)]) -> String {
    let list: Vec<String> = partitions
        .iter()
        .map(|(t, p, r)| {
            ordered_json(&[
                ("topic", json!(t)),
                ("partition", json!(p)),
                ("replicas", json!(r)),
            ])
        })
        .collect();
    versioned_list(&list)
}

pub fn decode_reassign_partitions(
    path: &str,
    data: &[u8],
) -> Result<Vec<(String, i32, Vec<i32>)>, DecodeError> {
    let v = parse_json(path, data)?;
    entries(path, &v)?
        .iter()
        .map(|e| {
            let replicas = e["replicas"]
                .as_array()
                .ok_or_else(|| field_err(path, "replicas"))?
                .iter()
                .map(|r| as_i32(r).ok_or_else(|| field_err(path, "replica id")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((topic_of(path, e)?, partition_of(path, e)?, replicas))
        })
        .collect()
}

/// `{"version":1,"partitions":[...]}` around already-encoded entries (their key order kept).
fn versioned_list(entries: &[String]) -> String {
    format!("{{\"version\":1,\"partitions\":[{}]}}", entries.join(","))
}

fn entries<'a>(path: &str, v: &'a Value) -> Result<&'a Vec<Value>, DecodeError> {
    v["partitions"]
        .as_array()
        .ok_or_else(|| field_err(path, "partitions"))
}

fn topic_of(path: &str, e: &Value) -> Result<String, DecodeError> {
    e["topic"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| field_err(path, "topic"))
}

fn partition_of(path: &str, e: &Value) -> Result<i32, DecodeError> {
    as_i32(&e["partition"]).ok_or_else(|| field_err(path, "partition"))
}

fn as_i32(v: &Value) -> Option<i32> {
    v.as_i64().and_then(|x| i32::try_from(x).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_znodes_round_trip_in_kafkas_layout() {
        let pre = encode_preferred_replica_election(&[("foo".into(), 0)]);
        assert_eq!(
            pre,
            r#"{"version":1,"partitions":[{"topic":"foo","partition":0}]}"#
        );
        assert_eq!(
            decode_preferred_replica_election("/p", pre.as_bytes()).unwrap(),
            vec![("foo".to_string(), 0)]
        );
        let re = encode_reassign_partitions(&[("foo".into(), 1, vec![2, 3])]);
        assert_eq!(
            re,
            r#"{"version":1,"partitions":[{"topic":"foo","partition":1,"replicas":[2,3]}]}"#
        );
        assert_eq!(
            decode_reassign_partitions("/r", re.as_bytes()).unwrap(),
            vec![("foo".to_string(), 1, vec![2, 3])]
        );
        assert!(decode_reassign_partitions("/r", b"{\"partitions\":[{\"topic\":1}]}").is_err());
    }
}
