//! The broker side of authorization (KafkaApis.authorize / authorizeClusterOperation): one
//! call per check in the handlers, free when no authorizer is configured, and the APIs whose
//! whole request is refused with CLUSTER_AUTHORIZATION_FAILED when the principal lacks the
//! cluster operation they need.

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::network::request::RequestContext;
use crate::security::authorizer::acl::CLUSTER_NAME;
use crate::security::authorizer::{AclOperation, RequestIdentity, ResourceType};
use crate::server::apis::KafkaApis;

const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
/// ConfigResource.Type ids.
const CONFIG_RESOURCE_TOPIC: i8 = 2;
const CONFIG_RESOURCE_BROKER: i8 = 4;
const CONFIG_RESOURCE_BROKER_LOGGER: i8 = 8;

impl KafkaApis {
    /// May this request's principal do `op` on the resource? Always yes without an
    /// authorizer. A denial is logged at INFO by the authorizer logger.
    pub fn authorize(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        self.authorize_logged(ctx, op, resource_type, name, true)
    }

    /// As `authorize`, for filtering what a listing shows (denials logged at TRACE only).
    pub fn authorize_filter(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        self.authorize_logged(ctx, op, resource_type, name, false)
    }

    pub fn authorize_cluster(&self, ctx: &RequestContext, op: AclOperation) -> bool {
        self.authorize(ctx, op, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// authorizeByResourceType: `op` on *some* resource of the type (KIP-679).
    pub fn authorize_any(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        let Some(authorizer) = &self.authorizer else {
            return true;
        };
        let api = format!("{:?}", ctx.api_key);
        authorizer.authorize_any(&identity(ctx, &api), op, resource_type)
    }

    fn authorize_logged(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
        log_if_denied: bool,
    ) -> bool {
        let Some(authorizer) = &self.authorizer else {
            return true;
        };
        let api = format!("{:?}", ctx.api_key);
        authorizer.authorize(&identity(ctx, &api), op, resource_type, name, log_if_denied)
    }

    /// KIP-430 authorized operations (AuthHelper.authorizedOperations): the bit field of the
    /// operations the principal may do on this literal resource, of those the type supports;
    /// all of them without an authorizer. Denials are not logged at INFO (merely asked).
    pub fn authorized_operations(
        &self,
        ctx: &RequestContext,
        resource_type: ResourceType,
        name: &str,
    ) -> i32 {
        resource_type
            .supported_operations()
            .iter()
            .filter(|op| self.authorize_filter(ctx, **op, resource_type, name))
            .fold(0i32, |bits, op| bits | (1 << op.code()))
    }

    /// `cluster_authorized_operations` of Metadata v8–10 and DescribeCluster when asked
    /// for: 0 without DESCRIBE on the cluster, else the cluster's authorized operations.
    pub fn cluster_authorized_operations(&self, ctx: &RequestContext) -> i32 {
        if self.authorize_cluster(ctx, AclOperation::Describe) {
            self.authorized_operations(ctx, ResourceType::Cluster, CLUSTER_NAME)
        } else {
            0
        }
    }

    /// Describe/Alter(Incremental)Configs: `op` (DESCRIBE_CONFIGS or ALTER_CONFIGS) on the
    /// cluster for a broker or broker-logger resource, on the topic for a topic. The error
    /// code when denied; None when allowed or for a type the handler itself refuses.
    pub fn config_resource_denial(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        config_resource_type: i8,
        name: &str,
    ) -> Option<i16> {
        let (resource_type, name) = match config_resource_type {
            CONFIG_RESOURCE_TOPIC => (ResourceType::Topic, name),
            CONFIG_RESOURCE_BROKER | CONFIG_RESOURCE_BROKER_LOGGER => {
                (ResourceType::Cluster, CLUSTER_NAME)
            }
            _ => return None,
        };
        (!self.authorize(ctx, op, resource_type, name)).then(|| resource_type.authorization_error())
    }

    /// For APIs checked only against the Cluster resource: the error response when the
    /// principal lacks the operation, None when the request may proceed.
    pub fn cluster_denial(
        &self,
        ctx: &RequestContext,
        request: &RequestKind,
    ) -> Option<ResponseKind> {
        self.authorizer.as_ref()?;
        let op = cluster_operation(request)?;
        if self.authorize_cluster(ctx, op) {
            return None;
        }
        Some(denied_response(request))
    }
}

fn identity<'a>(ctx: &'a RequestContext, api: &'a str) -> RequestIdentity<'a> {
    RequestIdentity {
        principal: &ctx.conn.principal,
        host: ctx.conn.peer.ip(),
        api,
    }
}

/// The cluster operation an API needs before anything else (KafkaApis.scala, 2.8).
fn cluster_operation(request: &RequestKind) -> Option<AclOperation> {
    use AclOperation::*;
    Some(match request {
        RequestKind::LeaderAndIsr(_)
        | RequestKind::StopReplica(_)
        | RequestKind::UpdateMetadata(_)
        | RequestKind::ControlledShutdown(_)
        | RequestKind::WriteTxnMarkers(_) => ClusterAction,
        RequestKind::ElectLeaders(_) | RequestKind::AlterPartitionReassignments(_) => Alter,
        RequestKind::ListPartitionReassignments(_) => Describe,
        _ => return None,
    })
}

/// Each API's shape of "the whole request failed with CLUSTER_AUTHORIZATION_FAILED".
fn denied_response(request: &RequestKind) -> ResponseKind {
    let code = CLUSTER_AUTHORIZATION_FAILED;
    let message = || Some(StrBytes::from_static_str("Cluster authorization failed."));
    match request {
        RequestKind::LeaderAndIsr(_) => {
            ResponseKind::LeaderAndIsr(LeaderAndIsrResponse::default().with_error_code(code))
        }
        RequestKind::StopReplica(_) => {
            ResponseKind::StopReplica(StopReplicaResponse::default().with_error_code(code))
        }
        RequestKind::UpdateMetadata(_) => {
            ResponseKind::UpdateMetadata(UpdateMetadataResponse::default().with_error_code(code))
        }
        RequestKind::ControlledShutdown(_) => ResponseKind::ControlledShutdown(
            ControlledShutdownResponse::default().with_error_code(code),
        ),
        RequestKind::WriteTxnMarkers(req) => {
            ResponseKind::WriteTxnMarkers(denied_txn_markers(req, code))
        }
        RequestKind::ElectLeaders(req) => ResponseKind::ElectLeaders(denied_elect(req, code)),
        RequestKind::AlterPartitionReassignments(_) => ResponseKind::AlterPartitionReassignments(
            AlterPartitionReassignmentsResponse::default()
                .with_error_code(code)
                .with_error_message(message()),
        ),
        RequestKind::ListPartitionReassignments(_) => ResponseKind::ListPartitionReassignments(
            ListPartitionReassignmentsResponse::default()
                .with_error_code(code)
                .with_error_message(message()),
        ),
        _ => unreachable!("cluster_operation() lists only the APIs above"),
    }
}

fn denied_txn_markers(req: &WriteTxnMarkersRequest, code: i16) -> WriteTxnMarkersResponse {
    let markers = req
        .markers
        .iter()
        .map(|m| {
            let topics = m
                .topics
                .iter()
                .map(|t| {
                    let partitions = t
                        .partition_indexes
                        .iter()
                        .map(|&p| {
                            WritableTxnMarkerPartitionResult::default()
                                .with_partition_index(p)
                                .with_error_code(code)
                        })
                        .collect();
                    WritableTxnMarkerTopicResult::default()
                        .with_name(t.name.clone())
                        .with_partitions(partitions)
                })
                .collect();
            WritableTxnMarkerResult::default()
                .with_producer_id(m.producer_id)
                .with_topics(topics)
        })
        .collect();
    WriteTxnMarkersResponse::default().with_markers(markers)
}

fn denied_elect(req: &ElectLeadersRequest, code: i16) -> ElectLeadersResponse {
    let results = req
        .topic_partitions
        .iter()
        .flatten()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|&p| {
                    PartitionResult::default()
                        .with_partition_id(p)
                        .with_error_code(code)
                })
                .collect();
            ReplicaElectionResult::default()
                .with_topic(t.topic.clone())
                .with_partition_result(partitions)
        })
        .collect();
    ElectLeadersResponse::default()
        .with_error_code(code)
        .with_replica_election_results(results)
}
