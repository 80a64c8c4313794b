//! CreateAcls, DescribeAcls and DeleteAcls (KafkaApis.handle*AclsRequest): ALTER on the
//! Cluster to change ACLs, DESCRIBE to read them; SECURITY_DISABLED without an authorizer.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::network::request::RequestContext;
use crate::security::authorizer::{
    AccessControlEntry, AccessControlEntryFilter, AclBinding, AclBindingFilter, AclOperation,
    AclPermissionType, PatternType, ResourcePattern, ResourcePatternFilter, ResourceType,
};
use crate::server::apis::KafkaApis;
use crate::server::errors;

const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const SECURITY_DISABLED: i16 = 54;
const SECURITY_DISABLED_MESSAGE: &str = "No Authorizer is configured on the broker";

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Refusal that applies to the whole request: no authorizer, or not allowed `op` on Cluster.
fn refusal(apis: &KafkaApis, ctx: &RequestContext, op: AclOperation) -> Option<(i16, String)> {
    if apis.authorizer.is_none() {
        return Some((SECURITY_DISABLED, SECURITY_DISABLED_MESSAGE.into()));
    }
    if !apis.authorize_cluster(ctx, op) {
        return Some((CLUSTER_AUTHORIZATION_FAILED, String::new()));
    }
    None
}

pub async fn handle_create(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &CreateAclsRequest,
) -> CreateAclsResponse {
    let result = |code: i16, message: Option<String>| {
        AclCreationResult::default()
            .with_error_code(code)
            .with_error_message(message.map(|m| sb(&m)))
    };
    if let Some((code, message)) = refusal(apis, ctx, AclOperation::Alter) {
        let message = (!message.is_empty()).then_some(message);
        let results = req
            .creations
            .iter()
            .map(|_| result(code, message.clone()))
            .collect();
        return CreateAclsResponse::default().with_results(results);
    }
    let bindings: Vec<Option<AclBinding>> = req
        .creations
        .iter()
        .map(|c| {
            Some(AclBinding {
                pattern: ResourcePattern::new(
                    ResourceType::from_code(c.resource_type)?,
                    &c.resource_name,
                    PatternType::from_code(c.resource_pattern_type)?,
                ),
                entry: AccessControlEntry {
                    principal: c.principal.to_string(),
                    host: c.host.to_string(),
                    operation: AclOperation::from_code(c.operation)?,
                    permission_type: AclPermissionType::from_code(c.permission_type)?,
                },
            })
        })
        .collect();
    let valid: Vec<AclBinding> = bindings.iter().flatten().cloned().collect();
    let authorizer = apis.authorizer.as_ref().expect("checked by refusal()");
    let mut outcomes = authorizer.create_acls(&valid).await.into_iter();
    let results = bindings
        .iter()
        .map(|b| match b {
            None => result(
                errors::INVALID_REQUEST,
                Some("Failed to create ACL: unknown enum value".into()),
            ),
            Some(_) => match outcomes.next() {
                Some(Ok(())) => result(errors::NONE, None),
                Some(Err(e)) => result(
                    errors::INVALID_REQUEST,
                    Some(format!("Failed to create ACL: {e}")),
                ),
                None => result(errors::UNKNOWN_SERVER_ERROR, None),
            },
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}

/// A wire filter as the model's filter; None when it names an unknown enum value.
fn binding_filter(
    resource_type: i8,
    name: &Option<StrBytes>,
    pattern_type: i8,
    principal: &Option<StrBytes>,
    host: &Option<StrBytes>,
    operation: i8,
    permission_type: i8,
) -> Option<AclBindingFilter> {
    let known = |v: bool| v.then_some(());
    let resource_type = ResourceType::from_code(resource_type)?;
    let pattern_type = PatternType::from_code(pattern_type)?;
    let operation = AclOperation::from_code(operation)?;
    let permission_type = AclPermissionType::from_code(permission_type)?;
    known(resource_type != ResourceType::Unknown)?;
    known(pattern_type != PatternType::Unknown)?;
    known(operation != AclOperation::Unknown)?;
    known(permission_type != AclPermissionType::Unknown)?;
    Some(AclBindingFilter {
        pattern: ResourcePatternFilter {
            resource_type,
            name: name.as_ref().map(|n| n.to_string()),
            pattern_type,
        },
        entry: AccessControlEntryFilter {
            principal: principal.as_ref().map(|p| p.to_string()),
            host: host.as_ref().map(|h| h.to_string()),
            operation,
            permission_type,
        },
    })
}

pub fn handle_describe(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &DescribeAclsRequest,
) -> DescribeAclsResponse {
    let failed = |code: i16, message: &str| {
        DescribeAclsResponse::default()
            .with_error_code(code)
            .with_error_message((!message.is_empty()).then(|| sb(message)))
    };
    if let Some((code, message)) = refusal(apis, ctx, AclOperation::Describe) {
        return failed(code, &message);
    }
    let Some(filter) = binding_filter(
        req.resource_type_filter,
        &req.resource_name_filter,
        req.pattern_type_filter,
        &req.principal_filter,
        &req.host_filter,
        req.operation,
        req.permission_type,
    ) else {
        return failed(errors::INVALID_REQUEST, "Invalid ACL filter");
    };
    let authorizer = apis.authorizer.as_ref().expect("checked by refusal()");
    let mut by_pattern: BTreeMap<ResourcePattern, Vec<AclDescription>> = BTreeMap::new();
    for b in authorizer.acls(&filter) {
        let e = &b.entry;
        by_pattern.entry(b.pattern).or_default().push(
            AclDescription::default()
                .with_principal(sb(&e.principal))
                .with_host(sb(&e.host))
                .with_operation(e.operation.code())
                .with_permission_type(e.permission_type.code()),
        );
    }
    let resources = by_pattern
        .into_iter()
        .map(|(p, acls)| {
            DescribeAclsResource::default()
                .with_resource_type(p.resource_type.code())
                .with_resource_name(sb(&p.name))
                .with_pattern_type(p.pattern_type.code())
                .with_acls(acls)
        })
        .collect();
    DescribeAclsResponse::default().with_resources(resources)
}

pub async fn handle_delete(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &DeleteAclsRequest,
) -> DeleteAclsResponse {
    let failed = |code: i16, message: Option<String>| {
        DeleteAclsFilterResult::default()
            .with_error_code(code)
            .with_error_message(message.map(|m| sb(&m)))
    };
    if let Some((code, message)) = refusal(apis, ctx, AclOperation::Alter) {
        let message = (!message.is_empty()).then_some(message);
        let results = req
            .filters
            .iter()
            .map(|_| failed(code, message.clone()))
            .collect();
        return DeleteAclsResponse::default().with_filter_results(results);
    }
    let filters: Vec<Option<AclBindingFilter>> = req.filters.iter().map(wire_filter).collect();
    let valid: Vec<AclBindingFilter> = filters.iter().flatten().cloned().collect();
    let authorizer = apis.authorizer.as_ref().expect("checked by refusal()");
    let mut outcomes = authorizer.delete_acls(&valid).await.into_iter();
    let results = filters
        .iter()
        .map(|f| match f.as_ref().map(|_| outcomes.next()) {
            None => failed(errors::INVALID_REQUEST, Some("Invalid ACL filter".into())),
            Some(Some(Ok(deleted))) => DeleteAclsFilterResult::default()
                .with_matching_acls(deleted.iter().map(matching_acl).collect()),
            Some(Some(Err(e))) => failed(errors::UNKNOWN_SERVER_ERROR, Some(e)),
            Some(None) => failed(errors::UNKNOWN_SERVER_ERROR, None),
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}

fn wire_filter(f: &DeleteAclsFilter) -> Option<AclBindingFilter> {
    binding_filter(
        f.resource_type_filter,
        &f.resource_name_filter,
        f.pattern_type_filter,
        &f.principal_filter,
        &f.host_filter,
        f.operation,
        f.permission_type,
    )
}

fn matching_acl(b: &AclBinding) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl::default()
        .with_resource_type(b.pattern.resource_type.code())
        .with_resource_name(sb(&b.pattern.name))
        .with_pattern_type(b.pattern.pattern_type.code())
        .with_principal(sb(&b.entry.principal))
        .with_host(sb(&b.entry.host))
        .with_operation(b.entry.operation.code())
        .with_permission_type(b.entry.permission_type.code())
}
