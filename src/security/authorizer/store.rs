//! How AclAuthorizer keeps ACLs in ZooKeeper (ZkData.scala `ZkAclStore`, AclEntry.scala): the
//! znode path of a pattern, the `{"version":1,"acls":[...]}` payload, and the two change
//! notification formats (literal `TOPIC:orders`, extended JSON).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::acl::{AccessControlEntry, AclOperation, AclPermissionType, PatternType};
use super::acl::{ResourcePattern, ResourceType};
use crate::zk::acls::{EXTENDED_CHANGES, LITERAL_ACLS, LITERAL_CHANGES, PREFIXED_ACLS};

/// The store root holding patterns of this type (`/kafka-acl` or `.../prefixed`).
pub fn store_root(pattern_type: PatternType) -> &'static str {
    match pattern_type {
        PatternType::Prefixed => PREFIXED_ACLS,
        _ => LITERAL_ACLS,
    }
}

/// `/kafka-acl/Topic/orders`, `/kafka-acl-extended/prefixed/Group/app-`.
pub fn pattern_path(p: &ResourcePattern) -> String {
    format!(
        "{}/{}/{}",
        store_root(p.pattern_type),
        p.resource_type.pascal(),
        p.name
    )
}

/// Where a change to this pattern is announced, and the notification's data.
pub fn change_notification(p: &ResourcePattern) -> (&'static str, Vec<u8>) {
    match p.pattern_type {
        PatternType::Prefixed => {
            let data = json!({
                "version": 1,
                "resourceType": p.resource_type.upper(),
                "name": p.name,
                "patternType": p.pattern_type.upper(),
            });
            (EXTENDED_CHANGES, data.to_string().into_bytes())
        }
        _ => {
            let data = format!("{}:{}", p.resource_type.upper(), p.name);
            (LITERAL_CHANGES, data.into_bytes())
        }
    }
}

/// The pattern a literal notification (`TOPIC:orders`, also 2.1's `Topic:orders`) names.
pub fn decode_literal_change(data: &[u8]) -> Option<ResourcePattern> {
    let text = std::str::from_utf8(data).ok()?;
    let (ty, name) = text.split_once(':')?;
    let resource_type = ResourceType::parse(ty).filter(|t| t.is_concrete())?;
    Some(ResourcePattern::new(
        resource_type,
        name,
        PatternType::Literal,
    ))
}

/// The pattern an extended notification names.
pub fn decode_extended_change(data: &[u8]) -> Option<ResourcePattern> {
    let v: Value = serde_json::from_slice(data).ok()?;
    let resource_type =
        ResourceType::parse(v.get("resourceType")?.as_str()?).filter(|t| t.is_concrete())?;
    let pattern_type = PatternType::parse(v.get("patternType")?.as_str()?)?;
    let name = v.get("name")?.as_str()?;
    Some(ResourcePattern::new(resource_type, name, pattern_type))
}

/// The ACL znode payload, entries in a stable order.
pub fn encode_acls(acls: &BTreeSet<AccessControlEntry>) -> Vec<u8> {
    let entries: Vec<Value> = acls
        .iter()
        .map(|a| {
            json!({
                "principal": a.principal,
                "permissionType": a.permission_type.pascal(),
                "operation": a.operation.pascal(),
                "host": a.host,
            })
        })
        .collect();
    json!({"version": 1, "acls": entries})
        .to_string()
        .into_bytes()
}

/// Parses an ACL znode payload; empty data means no ACLs. Errors name what is wrong.
pub fn decode_acls(data: &[u8]) -> Result<BTreeSet<AccessControlEntry>, String> {
    if data.is_empty() {
        return Ok(BTreeSet::new());
    }
    let v: Value = serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))?;
    if v.get("version").and_then(Value::as_i64) != Some(1) {
        return Err("unsupported version (expected 1)".into());
    }
    let Some(entries) = v.get("acls").and_then(Value::as_array) else {
        return Err("no \"acls\" array".into());
    };
    entries.iter().map(decode_entry).collect()
}

fn decode_entry(e: &Value) -> Result<AccessControlEntry, String> {
    let field = |k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("ACL entry without string \"{k}\": {e}"))
    };
    let operation = AclOperation::parse(field("operation")?)
        .ok_or_else(|| format!("unknown operation in {e}"))?;
    let permission_type = AclPermissionType::parse(field("permissionType")?)
        .ok_or_else(|| format!("unknown permissionType in {e}"))?;
    Ok(AccessControlEntry {
        principal: field("principal")?.to_string(),
        host: field("host")?.to_string(),
        operation,
        permission_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_and_notifications_round_trip_in_kafkas_format() {
        let mut acls = BTreeSet::new();
        acls.insert(AccessControlEntry {
            principal: "User:alice".into(),
            host: "*".into(),
            operation: AclOperation::DescribeConfigs,
            permission_type: AclPermissionType::Deny,
        });
        let data = encode_acls(&acls);
        assert_eq!(
            String::from_utf8(data.clone()).unwrap(),
            r#"{"acls":[{"host":"*","operation":"DescribeConfigs","permissionType":"Deny","principal":"User:alice"}],"version":1}"#
        );
        assert_eq!(decode_acls(&data).unwrap(), acls);
        assert!(decode_acls(br#"{"version":2,"acls":[]}"#).is_err());
        assert!(decode_acls(b"").unwrap().is_empty());

        let p = ResourcePattern::new(ResourceType::TransactionalId, "tx", PatternType::Literal);
        assert_eq!(pattern_path(&p), "/kafka-acl/TransactionalId/tx");
        let (path, data) = change_notification(&p);
        assert_eq!(
            (path, data.as_slice()),
            (LITERAL_CHANGES, &b"TRANSACTIONAL_ID:tx"[..])
        );
        assert_eq!(decode_literal_change(&data), Some(p));
        assert_eq!(
            decode_literal_change(b"Topic:a:b"),
            Some(ResourcePattern::new(
                ResourceType::Topic,
                "a:b",
                PatternType::Literal
            ))
        );
        let p = ResourcePattern::new(ResourceType::Topic, "ord", PatternType::Prefixed);
        assert_eq!(pattern_path(&p), "/kafka-acl-extended/prefixed/Topic/ord");
        let (path, data) = change_notification(&p);
        assert_eq!(path, EXTENDED_CHANGES);
        assert_eq!(decode_extended_change(&data), Some(p));
    }
}
