//! The ACL model (clients `acl/*`, `resource/*`; core `AclEntry.scala`): resource types,
//! pattern types, operations and permissions with their wire codes and ZooKeeper names, the
//! stored binding (pattern + entry) and the filters Describe/DeleteAcls and `kafka-acls.sh`
//! match bindings with.

use std::fmt;

/// Defines a Kafka ACL enum: its wire code, the upper-case enum name (`toString`, notification
/// data, tool output) and the PascalCase name (ZooKeeper paths and JSON, authorizer log).
macro_rules! acl_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:expr, $upper:expr, $pascal:expr;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL_VALUES: &'static [$name] = &[$($name::$variant),*];

            pub fn code(self) -> i8 {
                match self { $($name::$variant => $code),* }
            }

            pub fn from_code(code: i8) -> Option<$name> {
                match code { $($code => Some($name::$variant),)* _ => None }
            }

            /// Upper-case enum name, as Java's `toString` prints it.
            pub fn upper(self) -> &'static str {
                match self { $($name::$variant => $upper),* }
            }

            /// PascalCase name, as ZooKeeper stores it.
            pub fn pascal(self) -> &'static str {
                match self { $($name::$variant => $pascal),* }
            }

            /// Either spelling, any case, `_` optional (SecurityUtils accepts both forms).
            pub fn parse(text: &str) -> Option<$name> {
                let wanted: String = text.chars().filter(|c| *c != '_').collect();
                Self::ALL_VALUES
                    .iter()
                    .copied()
                    .find(|v| v.pascal().eq_ignore_ascii_case(&wanted))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.upper())
            }
        }
    };
}

acl_enum!(
    /// What an ACL protects.
    ResourceType {
        Unknown = 0, "UNKNOWN", "Unknown";
        Any = 1, "ANY", "Any";
        Topic = 2, "TOPIC", "Topic";
        Group = 3, "GROUP", "Group";
        Cluster = 4, "CLUSTER", "Cluster";
        TransactionalId = 5, "TRANSACTIONAL_ID", "TransactionalId";
        DelegationToken = 6, "DELEGATION_TOKEN", "DelegationToken";
    }
);

acl_enum!(
    /// How a pattern's name matches resource names; ANY and MATCH are filter-only.
    PatternType {
        Unknown = 0, "UNKNOWN", "Unknown";
        Any = 1, "ANY", "Any";
        Match = 2, "MATCH", "Match";
        Literal = 3, "LITERAL", "Literal";
        Prefixed = 4, "PREFIXED", "Prefixed";
    }
);

acl_enum!(
    /// The operation an ACL allows or denies.
    AclOperation {
        Unknown = 0, "UNKNOWN", "Unknown";
        Any = 1, "ANY", "Any";
        All = 2, "ALL", "All";
        Read = 3, "READ", "Read";
        Write = 4, "WRITE", "Write";
        Create = 5, "CREATE", "Create";
        Delete = 6, "DELETE", "Delete";
        Alter = 7, "ALTER", "Alter";
        Describe = 8, "DESCRIBE", "Describe";
        ClusterAction = 9, "CLUSTER_ACTION", "ClusterAction";
        DescribeConfigs = 10, "DESCRIBE_CONFIGS", "DescribeConfigs";
        AlterConfigs = 11, "ALTER_CONFIGS", "AlterConfigs";
        IdempotentWrite = 12, "IDEMPOTENT_WRITE", "IdempotentWrite";
    }
);

acl_enum!(
    /// Allow or deny; ANY is filter-only.
    AclPermissionType {
        Unknown = 0, "UNKNOWN", "Unknown";
        Any = 1, "ANY", "Any";
        Deny = 2, "DENY", "Deny";
        Allow = 3, "ALLOW", "Allow";
    }
);

/// The one name of the Cluster resource.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// Literal resource name matching every resource of its type.
pub const WILDCARD_RESOURCE: &str = "*";
/// Host matching every client address.
pub const WILDCARD_HOST: &str = "*";
/// Principal matching every principal.
pub const WILDCARD_PRINCIPAL: &str = "User:*";

impl ResourceType {
    /// Operations an ACL on this type may name (AclEntry.supportedOperations), besides ALL.
    pub fn supported_operations(self) -> &'static [AclOperation] {
        use AclOperation::*;
        match self {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Describe, Delete],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            _ => &[],
        }
    }

    /// The error a denied access to this type answers (AuthorizationException subclasses).
    pub fn authorization_error(self) -> i16 {
        match self {
            ResourceType::Topic => 29,
            ResourceType::Group => 30,
            ResourceType::Cluster => 31,
            ResourceType::TransactionalId => 53,
            ResourceType::DelegationToken => 65,
            _ => 31,
        }
    }

    /// A concrete type a binding can be stored under.
    pub fn is_concrete(self) -> bool {
        !matches!(self, ResourceType::Unknown | ResourceType::Any)
    }
}

impl AclOperation {
    /// Whether an ALLOW on `self` allows `wanted` (AclAuthorizer): the same operation, ALL,
    /// or an implied one (DESCRIBE by READ/WRITE/DELETE/ALTER, DESCRIBE_CONFIGS by
    /// ALTER_CONFIGS). Nothing else is implied.
    pub fn allows(self, wanted: AclOperation) -> bool {
        use AclOperation::*;
        self == wanted
            || self == All
            || (wanted == Describe && matches!(self, Read | Write | Delete | Alter))
            || (wanted == DescribeConfigs && self == AlterConfigs)
    }
}

/// A resource pattern: type, name and how the name matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourcePattern {
    pub resource_type: ResourceType,
    pub name: String,
    pub pattern_type: PatternType,
}

impl ResourcePattern {
    pub fn new(resource_type: ResourceType, name: &str, pattern_type: PatternType) -> Self {
        ResourcePattern {
            resource_type,
            name: name.to_string(),
            pattern_type,
        }
    }

    /// Why this pattern cannot hold ACLs, if it cannot (CreateAcls' validation).
    pub fn invalid_reason(&self) -> Option<String> {
        if !self.resource_type.is_concrete() {
            return Some(format!("Invalid resource type {}", self.resource_type));
        }
        if !matches!(
            self.pattern_type,
            PatternType::Literal | PatternType::Prefixed
        ) {
            return Some(format!("Invalid pattern type {}", self.pattern_type));
        }
        if self.name.is_empty() {
            return Some("Resource name must not be empty".into());
        }
        if self.resource_type == ResourceType::Cluster && self.name != CLUSTER_NAME {
            return Some("The only valid name for the CLUSTER resource is kafka-cluster".into());
        }
        None
    }
}

impl fmt::Display for ResourcePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ResourcePattern(resourceType={}, name={}, patternType={})",
            self.resource_type, self.name, self.pattern_type
        )
    }
}

/// One access control entry: who, from where, what, allow or deny.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessControlEntry {
    pub principal: String,
    pub host: String,
    pub operation: AclOperation,
    pub permission_type: AclPermissionType,
}

impl AccessControlEntry {
    /// Why this entry cannot be stored, if it cannot.
    pub fn invalid_reason(&self) -> Option<String> {
        if crate::security::KafkaPrincipal::parse(&self.principal).is_none() {
            return Some(format!("Invalid principal {}", self.principal));
        }
        if matches!(self.operation, AclOperation::Unknown | AclOperation::Any) {
            return Some(format!("Invalid operation {}", self.operation));
        }
        if !matches!(
            self.permission_type,
            AclPermissionType::Allow | AclPermissionType::Deny
        ) {
            return Some(format!("Invalid permission type {}", self.permission_type));
        }
        None
    }
}

impl fmt::Display for AccessControlEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(principal={}, host={}, operation={}, permissionType={})",
            self.principal, self.host, self.operation, self.permission_type
        )
    }
}

/// A stored ACL: a pattern and one entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    pub pattern: ResourcePattern,
    pub entry: AccessControlEntry,
}

/// Matches patterns: `None` name = any name; pattern type ANY = any type with that exact name,
/// MATCH = every pattern that applies to the named resource (literal, wildcard, prefixes).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourcePatternFilter {
    pub resource_type: ResourceType,
    pub name: Option<String>,
    pub pattern_type: PatternType,
}

impl ResourcePatternFilter {
    pub fn matches(&self, p: &ResourcePattern) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != p.resource_type {
            return false;
        }
        let same_type = |t| self.pattern_type == t;
        if !matches!(self.pattern_type, PatternType::Any | PatternType::Match)
            && !same_type(p.pattern_type)
        {
            return false;
        }
        let Some(name) = &self.name else { return true };
        if self.pattern_type != PatternType::Match {
            return *name == p.name;
        }
        match p.pattern_type {
            PatternType::Literal => *name == p.name || p.name == WILDCARD_RESOURCE,
            PatternType::Prefixed => name.starts_with(&p.name),
            _ => false,
        }
    }
}

impl fmt::Display for ResourcePatternFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ResourcePattern(resourceType={}, name={}, patternType={})",
            self.resource_type,
            self.name.as_deref().unwrap_or("<any>"),
            self.pattern_type
        )
    }
}

/// Matches entries: `None` = any; operation/permission ANY = any.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessControlEntryFilter {
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission_type: AclPermissionType,
}

impl AccessControlEntryFilter {
    pub const ANY: AccessControlEntryFilter = AccessControlEntryFilter {
        principal: None,
        host: None,
        operation: AclOperation::Any,
        permission_type: AclPermissionType::Any,
    };

    pub fn matches(&self, e: &AccessControlEntry) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == e.principal)
            && self.host.as_ref().is_none_or(|h| *h == e.host)
            && (self.operation == AclOperation::Any || self.operation == e.operation)
            && (self.permission_type == AclPermissionType::Any
                || self.permission_type == e.permission_type)
    }

    /// The filter matching exactly this entry.
    pub fn exact(e: &AccessControlEntry) -> AccessControlEntryFilter {
        AccessControlEntryFilter {
            principal: Some(e.principal.clone()),
            host: Some(e.host.clone()),
            operation: e.operation,
            permission_type: e.permission_type,
        }
    }
}

/// A pattern filter and an entry filter (DescribeAcls, DeleteAcls).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBindingFilter {
    pub pattern: ResourcePatternFilter,
    pub entry: AccessControlEntryFilter,
}

impl AclBindingFilter {
    pub fn matches(&self, b: &AclBinding) -> bool {
        self.pattern.matches(&b.pattern) && self.entry.matches(&b.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_both_spellings() {
        assert_eq!(
            AclOperation::parse("DescribeConfigs"),
            Some(AclOperation::DescribeConfigs)
        );
        assert_eq!(
            AclOperation::parse("DESCRIBE_CONFIGS"),
            Some(AclOperation::DescribeConfigs)
        );
        assert_eq!(
            ResourceType::parse("TransactionalId"),
            Some(ResourceType::TransactionalId)
        );
        assert_eq!(
            AclPermissionType::parse("deny"),
            Some(AclPermissionType::Deny)
        );
        assert_eq!(AclOperation::parse("Fly"), None);
        assert_eq!(
            AclOperation::from_code(12),
            Some(AclOperation::IdempotentWrite)
        );
    }

    #[test]
    fn match_filter_finds_literal_wildcard_and_prefixes() {
        let f = ResourcePatternFilter {
            resource_type: ResourceType::Topic,
            name: Some("orders-eu".into()),
            pattern_type: PatternType::Match,
        };
        let lit = |n| ResourcePattern::new(ResourceType::Topic, n, PatternType::Literal);
        let pre = |n| ResourcePattern::new(ResourceType::Topic, n, PatternType::Prefixed);
        assert!(f.matches(&lit("orders-eu")));
        assert!(f.matches(&lit("*")));
        assert!(f.matches(&pre("orders-")));
        assert!(!f.matches(&pre("ordersx")));
        assert!(!f.matches(&lit("orders")));
        let any = ResourcePatternFilter {
            pattern_type: PatternType::Any,
            ..f.clone()
        };
        assert!(any.matches(&lit("orders-eu")));
        assert!(!any.matches(&lit("*")));
        assert_eq!(
            lit("a").to_string(),
            "ResourcePattern(resourceType=TOPIC, name=a, patternType=LITERAL)"
        );
    }
}
