//! `zkafka broker-api-versions`: kafka-broker-api-versions.sh (admin/BrokerApiVersionsCommand.scala).
//! Asks every broker for ApiVersions and prints, per broker, each API as a Kafka 2.8 client
//! sees it (clients/NodeApiVersions.toString(true)): `Name(key): min to max [usable: v]`.

use std::collections::BTreeMap;

use anyhow::bail;
use kafka_protocol::messages::ApiVersionsRequest;

use super::group_client::{connect, Cluster};

#[derive(clap::Args, Debug, Clone)]
pub struct BrokerApiVersionsArgs {
    /// REQUIRED: The server to connect to.
    #[arg(
        long = "bootstrap-server",
        value_name = "server(s) to use for bootstrapping"
    )]
    pub bootstrap_server: Option<String>,
    /// A property file containing configs to be passed to Admin Client (security.protocol,
    /// sasl.*, ssl.*).
    #[arg(long = "command-config", value_name = "command config property file")]
    pub command_config: Option<String>,
}

/// Kafka 2.8's APIs (clients `ApiKeys`, message JSON `validVersions` and `listeners`):
/// key, name, oldest and latest version, whether a ZooKeeper-mode broker serves it.
const KAFKA_2_8_APIS: &[(i16, &str, i16, i16, bool)] = &[
    (0, "Produce", 0, 9, true),
    (1, "Fetch", 0, 12, true),
    (2, "ListOffsets", 0, 6, true),
    (3, "Metadata", 0, 11, true),
    (4, "LeaderAndIsr", 0, 5, true),
    (5, "StopReplica", 0, 3, true),
    (6, "UpdateMetadata", 0, 7, true),
    (7, "ControlledShutdown", 0, 3, true),
    (8, "OffsetCommit", 0, 8, true),
    (9, "OffsetFetch", 0, 7, true),
    (10, "FindCoordinator", 0, 3, true),
    (11, "JoinGroup", 0, 7, true),
    (12, "Heartbeat", 0, 4, true),
    (13, "LeaveGroup", 0, 4, true),
    (14, "SyncGroup", 0, 5, true),
    (15, "DescribeGroups", 0, 5, true),
    (16, "ListGroups", 0, 4, true),
    (17, "SaslHandshake", 0, 1, true),
    (18, "ApiVersions", 0, 3, true),
    (19, "CreateTopics", 0, 7, true),
    (20, "DeleteTopics", 0, 6, true),
    (21, "DeleteRecords", 0, 2, true),
    (22, "InitProducerId", 0, 4, true),
    (23, "OffsetForLeaderEpoch", 0, 4, true),
    (24, "AddPartitionsToTxn", 0, 3, true),
    (25, "AddOffsetsToTxn", 0, 3, true),
    (26, "EndTxn", 0, 3, true),
    (27, "WriteTxnMarkers", 0, 1, true),
    (28, "TxnOffsetCommit", 0, 3, true),
    (29, "DescribeAcls", 0, 2, true),
    (30, "CreateAcls", 0, 2, true),
    (31, "DeleteAcls", 0, 2, true),
    (32, "DescribeConfigs", 0, 4, true),
    (33, "AlterConfigs", 0, 2, true),
    (34, "AlterReplicaLogDirs", 0, 2, true),
    (35, "DescribeLogDirs", 0, 2, true),
    (36, "SaslAuthenticate", 0, 2, true),
    (37, "CreatePartitions", 0, 3, true),
    (38, "CreateDelegationToken", 0, 2, true),
    (39, "RenewDelegationToken", 0, 2, true),
    (40, "ExpireDelegationToken", 0, 2, true),
    (41, "DescribeDelegationToken", 0, 2, true),
    (42, "DeleteGroups", 0, 2, true),
    (43, "ElectLeaders", 0, 2, true),
    (44, "IncrementalAlterConfigs", 0, 1, true),
    (45, "AlterPartitionReassignments", 0, 0, true),
    (46, "ListPartitionReassignments", 0, 0, true),
    (47, "OffsetDelete", 0, 0, true),
    (48, "DescribeClientQuotas", 0, 1, true),
    (49, "AlterClientQuotas", 0, 1, true),
    (50, "DescribeUserScramCredentials", 0, 0, true),
    (51, "AlterUserScramCredentials", 0, 0, true),
    (52, "Vote", 0, 0, false),
    (53, "BeginQuorumEpoch", 0, 0, false),
    (54, "EndQuorumEpoch", 0, 0, false),
    (55, "DescribeQuorum", 0, 0, false),
    (56, "AlterIsr", 0, 0, true),
    (57, "UpdateFeatures", 0, 0, true),
    (58, "Envelope", 0, 0, false),
    (59, "FetchSnapshot", 0, 0, false),
    (60, "DescribeCluster", 0, 0, true),
    (61, "DescribeProducers", 0, 0, true),
    (62, "BrokerRegistration", 0, 0, false),
    (63, "BrokerHeartbeat", 0, 0, false),
    (64, "UnregisterBroker", 0, 0, false),
];

pub async fn run(args: BrokerApiVersionsArgs) -> u8 {
    match run_inner(&args).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e:#}");
            1
        }
    }
}

async fn run_inner(a: &BrokerApiVersionsArgs) -> anyhow::Result<()> {
    let Some(bootstrap) = &a.bootstrap_server else {
        bail!("Missing required argument \"[bootstrap-server]\"");
    };
    super::command_config::configure_admin(a.command_config.as_deref())?;
    let cluster = Cluster::discover(bootstrap).await?;
    for (id, addr) in &cluster.brokers {
        // Node.toString; racks are not in the tool's metadata view, as with no rack set.
        let node = format!("{addr} (id: {id} rack: null)");
        match versions_of(addr).await {
            Ok(v) => println!("{node} -> {}", format_versions(&v)),
            Err(e) => println!("{node} -> ERROR: {e:#}"),
        }
    }
    Ok(())
}

async fn versions_of(addr: &str) -> anyhow::Result<BTreeMap<i16, (i16, i16)>> {
    let resp = connect(addr)
        .await?
        .send(&ApiVersionsRequest::default(), 0)
        .await?;
    if resp.error_code != 0 {
        bail!(
            "ApiVersions error {}",
            crate::server::errors::name(resp.error_code)
        );
    }
    Ok(resp
        .api_keys
        .iter()
        .map(|k| (k.api_key, (k.min_version, k.max_version)))
        .collect())
}

/// NodeApiVersions.toString(true): every API the node lists plus every ZooKeeper-broker API
/// it does not (`UNSUPPORTED`), by key.
pub fn format_versions(node: &BTreeMap<i16, (i16, i16)>) -> String {
    let mut lines: BTreeMap<i16, String> = BTreeMap::new();
    for (&key, &(min, max)) in node {
        lines.insert(key, api_version_text(key, min, max));
    }
    for &(key, name, _, _, zk) in KAFKA_2_8_APIS {
        if zk && !lines.contains_key(&key) {
            lines.insert(key, format!("{name}({key}): UNSUPPORTED"));
        }
    }
    let body: Vec<String> = lines.into_values().collect();
    format!("(\n\t{}\n)", body.join(",\n\t"))
}

/// NodeApiVersions.apiVersionToText.
fn api_version_text(key: i16, min: i16, max: i16) -> String {
    let range = if min == max {
        min.to_string()
    } else {
        format!("{min} to {max}")
    };
    match KAFKA_2_8_APIS.iter().find(|a| a.0 == key) {
        None => format!("UNKNOWN({key}): {range}"),
        Some(&(_, name, oldest, latest, _)) => {
            let usable = if latest < min {
                " [unusable: node too new]".to_string()
            } else if max < oldest {
                " [unusable: node too old]".to_string()
            } else {
                format!(" [usable: {}]", latest.min(max))
            };
            format!("{name}({key}): {range}{usable}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_kafka_2_8_clients_do() {
        let node: BTreeMap<i16, (i16, i16)> =
            [(0, (0, 8)), (18, (0, 3)), (47, (0, 0)), (99, (1, 2))].into();
        let text = format_versions(&node);
        assert!(
            text.starts_with("(\n\tProduce(0): 0 to 8 [usable: 8],\n\tFetch(1): UNSUPPORTED,\n"),
            "{text}"
        );
        assert!(text.contains("\n\tApiVersions(18): 0 to 3 [usable: 3],\n"));
        assert!(text.contains("\n\tOffsetDelete(47): 0 [usable: 0],\n"));
        assert!(!text.contains("Vote(52)"), "not a ZooKeeper-broker API");
        assert!(text.ends_with(",\n\tUNKNOWN(99): 1 to 2\n)"), "{text}");
    }
}
