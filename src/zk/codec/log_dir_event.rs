//! `/log_dir_event_notification/log_dir_event_<seq>` (ZkData.scala
//! `LogDirEventNotificationSequenceZNode`): a broker tells the controller one of its log dirs
//! failed, `{"version":1,"broker":<id>,"event":1}`.

use serde_json::json;

use super::{field_err, ordered_json, parse_json, DecodeError};

/// The only event Kafka defines: a log dir failed.
pub const LOG_DIR_FAILURE_EVENT: i64 = 1;

pub fn encode_log_dir_event(broker_id: i32) -> String {
    ordered_json(&[
        ("version", json!(1)),
        ("broker", json!(broker_id)),
        ("event", json!(LOG_DIR_FAILURE_EVENT)),
    ])
}

/// The broker id of a notification (Kafka reads only `broker`).
pub fn decode_log_dir_event(path: &str, data: &[u8]) -> Result<i32, DecodeError> {
    let v = parse_json(path, data)?;
    v["broker"]
        .as_i64()
        .and_then(|b| i32::try_from(b).ok())
        .ok_or_else(|| field_err(path, "broker"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_kafka_bytes() {
        assert_eq!(
            encode_log_dir_event(3),
            r#"{"version":1,"broker":3,"event":1}"#
        );
        let p = "/log_dir_event_notification/log_dir_event_0000000000";
        assert_eq!(
            decode_log_dir_event(p, br#"{"version":1,"broker":3,"event":1}"#),
            Ok(3)
        );
        assert!(decode_log_dir_event(p, br#"{"version":1}"#).is_err());
        assert!(decode_log_dir_event(p, b"\xff").is_err());
    }
}
