//! ApiVersions: the exact API version ranges this broker implements (never more).

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

use crate::server::errors;

/// (API, min version, max version) for every request this broker handles. Ranges are Kafka
/// 2.8's, limited to what is implemented here.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 0, 8),
    (ApiKey::Fetch, 0, 12),
    (ApiKey::ListOffsets, 0, 6),
    (ApiKey::Metadata, 0, 11),
    (ApiKey::OffsetForLeaderEpoch, 0, 3),
    (ApiKey::CreateTopics, 0, 6),
    (ApiKey::DeleteTopics, 0, 5),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DescribeConfigs, 0, 3),
    (ApiKey::AlterConfigs, 0, 1),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::LeaderAndIsr, 0, 4),
    (ApiKey::StopReplica, 0, 3),
    (ApiKey::ControlledShutdown, 0, 3),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::AlterPartitionReassignments, 0, 0),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::UpdateMetadata, 3, 6),
    (ApiKey::ApiVersions, 0, 3),
    // Group coordinator. OffsetCommit/OffsetFetch v0 (offsets in ZooKeeper) are not served.
    (ApiKey::OffsetCommit, 1, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    // Log operations.
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::AlterReplicaLogDirs, 0, 2),
    (ApiKey::DescribeLogDirs, 0, 2),
    (ApiKey::DescribeCluster, 0, 0),
    // Transactions.
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 3),
    (ApiKey::WriteTxnMarkers, 0, 1),
    (ApiKey::TxnOffsetCommit, 0, 3),
    // Client quotas.
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::AlterClientQuotas, 0, 1),
    // SCRAM credential administration (KIP-554).
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    // ACL administration (AclAuthorizer).
    (ApiKey::DescribeAcls, 0, 2),
    (ApiKey::CreateAcls, 0, 2),
    (ApiKey::DeleteAcls, 0, 2),
    // SASL (KIP-152): served by network::authenticator before authentication.
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];

pub fn supported_range(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, lo, hi)| (lo, hi))
}

pub fn response() -> ApiVersionsResponse {
    let api_keys = SUPPORTED
        .iter()
        .map(|&(key, lo, hi)| {
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(lo)
                .with_max_version(hi)
        })
        .collect();
    ApiVersionsResponse::default().with_api_keys(api_keys)
}

/// Kafka's answer to an ApiVersions version it does not know: v0 layout, UNSUPPORTED_VERSION,
/// and the ApiVersions range so the client can retry with a version both sides speak.
pub fn unsupported_version_response() -> ApiVersionsResponse {
    let (lo, hi) = supported_range(ApiKey::ApiVersions).expect("ApiVersions is supported");
    let only = ApiVersion::default()
        .with_api_key(ApiKey::ApiVersions as i16)
        .with_min_version(lo)
        .with_max_version(hi);
    ApiVersionsResponse::default()
        .with_error_code(errors::UNSUPPORTED_VERSION)
        .with_api_keys(vec![only])
}
