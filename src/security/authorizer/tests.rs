//! The decision procedure against a hand-filled cache (no ZooKeeper).

use super::*;

type Cache = BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>>;

fn ace(
    principal: &str,
    host: &str,
    op: AclOperation,
    perm: AclPermissionType,
) -> AccessControlEntry {
    AccessControlEntry {
        principal: principal.into(),
        host: host.into(),
        operation: op,
        permission_type: perm,
    }
}

fn add(cache: &mut Cache, t: ResourceType, name: &str, pt: PatternType, a: AccessControlEntry) {
    cache
        .entry(ResourcePattern::new(t, name, pt))
        .or_default()
        .insert(a);
}

fn topic(name: &str) -> ResourcePattern {
    ResourcePattern::new(ResourceType::Topic, name, PatternType::Literal)
}

#[test]
fn deny_wins_implied_operations_prefixes_and_wildcards() {
    use AclOperation::*;
    use AclPermissionType::*;
    let (lit, pre) = (PatternType::Literal, PatternType::Prefixed);
    let mut c = Cache::new();
    add(
        &mut c,
        ResourceType::Topic,
        "orders",
        lit,
        ace("User:alice", "*", Write, Allow),
    );
    add(
        &mut c,
        ResourceType::Topic,
        "ord",
        pre,
        ace("User:bob", "*", Read, Allow),
    );
    add(
        &mut c,
        ResourceType::Topic,
        "orders-secret",
        lit,
        ace("User:*", "*", All, Deny),
    );
    add(
        &mut c,
        ResourceType::Topic,
        "*",
        lit,
        ace("User:carol", "10.0.0.1", AlterConfigs, Allow),
    );
    let cfg = AuthorizerConfig::default();
    let d = |p: &str, host: &str, op, t: &str| decide(&c, &cfg, p, host, op, &topic(t));

    assert!(d("User:alice", "1.2.3.4", Write, "orders"));
    assert!(
        d("User:alice", "1.2.3.4", Describe, "orders"),
        "WRITE implies DESCRIBE"
    );
    assert!(
        !d("User:alice", "1.2.3.4", Read, "orders"),
        "WRITE does not imply READ"
    );
    assert!(
        d("User:bob", "1.2.3.4", Read, "orders-2021"),
        "prefixed ACL"
    );
    assert!(
        !d("User:bob", "1.2.3.4", Read, "or"),
        "a prefix longer than the name"
    );
    assert!(
        !d("User:bob", "1.2.3.4", Read, "orders-secret"),
        "deny wins"
    );
    assert!(
        d("User:carol", "10.0.0.1", DescribeConfigs, "any"),
        "wildcard + implied"
    );
    assert!(
        !d("User:carol", "10.0.0.2", DescribeConfigs, "any"),
        "other host"
    );
    assert!(
        !d("User:alice", "1.2.3.4", Write, "no-acls"),
        "no ACL found: deny by default"
    );

    let mut everyone = AuthorizerConfig {
        allow_everyone_if_no_acl_found: true,
        ..AuthorizerConfig::default()
    };
    let mut empty = Cache::new();
    add(
        &mut empty,
        ResourceType::Group,
        "g",
        lit,
        ace("User:x", "*", Read, Allow),
    );
    assert!(decide(&empty, &everyone, "User:y", "h", Write, &topic("t")));
    let group = ResourcePattern::new(ResourceType::Group, "g", lit);
    assert!(
        !decide(&empty, &everyone, "User:y", "h", Read, &group),
        "ACLs exist"
    );
    everyone.super_users = parse_super_users("User:admin; User:broker");
    assert!(
        decide(&empty, &everyone, "User:broker", "h", Read, &group),
        "super user"
    );
}
