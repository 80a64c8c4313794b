//! INTERIM Produce and Fetch handlers, written by the replication work only so that
//! replication can be tested end to end before the data-path handlers (`produce.rs`,
//! `fetch.rs`) land. At merge, delete this file and its three lines in `apis.rs` /
//! `api_versions.rs`; the real handlers should call `ReplicaManager::read_for_fetch`
//! (src/replica/leader_fetch.rs) for the leader side of follower fetches.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    BrokerId, FetchRequest, FetchResponse, ProduceRequest, ProduceResponse, TopicName,
};

use crate::log::TopicPartition;
use crate::replica::leader_fetch::{PartitionFetch, PartitionRead};
use crate::replica::purgatory::wait_until_complete;
use crate::server::apis::KafkaApis;
use crate::server::errors;

/// Produce: leader append, then for acks=all wait until the HW covers the append.
/// Returns None for acks=0 (no response).
pub async fn handle_produce(apis: &KafkaApis, req: &ProduceRequest) -> Option<ProduceResponse> {
    let rm = &apis.replica_manager;
    let mut out = Vec::new();
    for t in &req.topic_data {
        let mut parts = Vec::new();
        for p in &t.partition_data {
            let tp = TopicPartition::new(t.name.0.as_str(), p.index);
            let records = p.records.clone().unwrap_or_default();
            let (code, base) = if !(-1..=1).contains(&req.acks) {
                (errors::INVALID_REQUIRED_ACKS, -1)
            } else {
                match rm.leader_partition(&tp) {
                    Err(code) => (code, -1),
                    Ok(partition) => match partition.append_records_to_leader(&records, req.acks) {
                        Err(code) => (code, -1),
                        Ok(info) => {
                            rm.complete_delayed_requests(&tp);
                            let code = if req.acks == -1 && info.num_batches > 0 {
                                let waker = rm.produce_purgatory.watch([&tp]);
                                let required = info.last_offset + 1;
                                wait_until_complete(
                                    &waker,
                                    Duration::from_millis(req.timeout_ms.max(0) as u64),
                                    || {
                                        partition
                                            .check_enough_replicas_reached(required)
                                            .map(|r| r.err().unwrap_or(errors::NONE))
                                    },
                                    || errors::REQUEST_TIMED_OUT,
                                )
                                .await
                            } else {
                                errors::NONE
                            };
                            (code, info.first_offset)
                        }
                    },
                }
            };
            parts.push(
                PartitionProduceResponse::default()
                    .with_index(p.index)
                    .with_error_code(code)
                    .with_base_offset(base)
                    .with_log_append_time_ms(-1)
                    .with_log_start_offset(-1),
            );
        }
        out.push(
            TopicProduceResponse::default()
                .with_name(t.name.clone())
                .with_partition_responses(parts),
        );
    }
    (req.acks != 0).then(|| ProduceResponse::default().with_responses(out))
}

/// Fetch (sessionless): read every partition; wait up to MaxWaitMs for MinBytes.
pub async fn handle_fetch(apis: &KafkaApis, req: &FetchRequest) -> FetchResponse {
    let rm = &apis.replica_manager;
    let replica_id = req.replica_id.0;
    let wanted: Vec<PartitionFetch> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| PartitionFetch {
                tp: TopicPartition::new(t.topic.0.as_str(), p.partition),
                current_leader_epoch: p.current_leader_epoch,
                fetch_offset: p.fetch_offset,
                log_start_offset: p.log_start_offset,
                max_bytes: p.partition_max_bytes.max(0) as usize,
            })
        })
        .collect();
    let read_all = |first: bool| -> Vec<PartitionRead> {
        let mut budget = req.max_bytes.max(0) as usize;
        wanted
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let f = PartitionFetch {
                    max_bytes: f.max_bytes.min(budget),
                    ..f.clone()
                };
                let r = rm.read_for_fetch(replica_id, &f, i == 0, first);
                budget = budget.saturating_sub(r.records.len());
                r
            })
            .collect()
    };
    let first = read_all(true);
    let enough = |rs: &Vec<PartitionRead>| {
        rs.iter().any(|r| r.error_code != errors::NONE)
            || rs.iter().map(|r| r.records.len()).sum::<usize>() >= req.min_bytes.max(1) as usize
    };
    let results = if enough(&first) || req.max_wait_ms <= 0 {
        first
    } else {
        let waker = rm.fetch_purgatory.watch(wanted.iter().map(|f| &f.tp));
        wait_until_complete(
            &waker,
            Duration::from_millis(req.max_wait_ms as u64),
            || {
                let rs = read_all(false);
                enough(&rs).then_some(rs)
            },
            || read_all(false),
        )
        .await
    };
    let mut by_topic: BTreeMap<String, Vec<PartitionData>> = BTreeMap::new();
    for (f, r) in wanted.iter().zip(results) {
        by_topic.entry(f.tp.topic.clone()).or_default().push(
            PartitionData::default()
                .with_partition_index(f.tp.partition)
                .with_error_code(r.error_code)
                .with_high_watermark(r.high_watermark)
                .with_last_stable_offset(r.last_stable_offset)
                .with_log_start_offset(r.log_start_offset)
                .with_aborted_transactions(Some(vec![]))
                .with_preferred_read_replica(BrokerId(-1))
                .with_records(Some(r.records)),
        );
    }
    let responses = by_topic
        .into_iter()
        .map(|(t, ps)| {
            FetchableTopicResponse::default()
                .with_topic(TopicName(t.into()))
                .with_partitions(ps)
        })
        .collect();
    FetchResponse::default()
        .with_error_code(errors::NONE)
        .with_session_id(0)
        .with_responses(responses)
}
