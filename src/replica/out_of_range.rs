//! A follower whose fetch offset the leader calls out of range
//! (AbstractFetcherThread.fetchOffsetAndTruncate; replication-and-storage.md §9.10): ask the
//! leader for its log end offset (ListOffsets latest, as a replica); if it is below ours,
//! truncate to it (an unclean election left the leader shorter); otherwise ask for its log
//! start offset and, if that is past our end (retention deleted what we still need), drop the
//! whole local log and restart there.

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::fetcher::{update, FetchSettings, States};
use super::partition::Partition;
use crate::log::{TopicPartition, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use crate::network::client::BrokerClient;
use crate::server::errors;

/// ListOffsets version a replica sends at inter.broker.protocol.version ≥ 2.2-IV1.
const LIST_OFFSETS_VERSION: i16 = 5;

async fn leader_offset(
    s: &FetchSettings,
    client: &mut BrokerClient,
    tp: &TopicPartition,
    leader_epoch: i32,
    timestamp: i64,
) -> anyhow::Result<i64> {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(s.broker_id))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(tp.partition)
                .with_current_leader_epoch(leader_epoch)
                .with_timestamp(timestamp)])]);
    let resp = client.send(&req, LIST_OFFSETS_VERSION).await?;
    let p = resp
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or_else(|| anyhow::anyhow!("empty ListOffsets response for {tp}"))?;
    anyhow::ensure!(
        p.error_code == errors::NONE,
        "ListOffsets for {tp} failed with {}",
        errors::name(p.error_code)
    );
    Ok(p.offset)
}

/// Resolves an OFFSET_OUT_OF_RANGE and sets the partition's next fetch offset.
pub(super) async fn handle_out_of_range(
    s: &FetchSettings,
    states: &States,
    client: &mut BrokerClient,
    tp: &TopicPartition,
    p: &Partition,
    epoch: i32,
) -> anyhow::Result<()> {
    let Some(pos) = p.follower_position(epoch) else {
        return Ok(());
    };
    let leader_end = leader_offset(s, client, tp, epoch, LATEST_TIMESTAMP).await?;
    let next = if leader_end < pos.log_end_offset {
        let why = format!(
            "the leader's log end offset {leader_end} is below ours after an out-of-range fetch"
        );
        p.truncate_as_follower(epoch, leader_end, &why)?;
        leader_end
    } else {
        let leader_start = leader_offset(s, client, tp, epoch, EARLIEST_TIMESTAMP).await?;
        if leader_start > pos.log_end_offset {
            p.truncate_fully_as_follower(epoch, leader_start)?;
        }
        leader_start.max(pos.log_end_offset)
    };
    update(states, tp, epoch, |st| st.fetch_offset = next);
    Ok(())
}
