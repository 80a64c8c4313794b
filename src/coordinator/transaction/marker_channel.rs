//! TransactionMarkerChannelManager.scala: sends WriteTxnMarkers to the leaders of a
//! transaction's partitions (over the inter-broker listener) until every partition has its
//! COMMIT/ABORT marker, retrying leaders that moved or were unavailable.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{ProducerId, TopicName, WriteTxnMarkersRequest};
use kafka_protocol::protocol::StrBytes;

use super::errors;
use crate::log::TopicPartition;
use crate::metadata::MetadataCache;
use crate::network::client::BrokerClient;
use crate::security::sasl::SaslClientConfig;

/// WriteTxnMarkers version sent at inter-broker protocol 2.8 (v1, flexible).
const WRITE_TXN_MARKERS_VERSION: i16 = 1;
/// Pause between rounds for partitions that could not be written yet.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// One transaction's markers: who, which outcome, where.
#[derive(Debug, Clone)]
pub struct TxnMarkerEntry {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub coordinator_epoch: i32,
    pub partitions: BTreeSet<TopicPartition>,
}

/// What became of one round for one partition.
enum MarkerOutcome {
    Done,
    Retry,
    /// The leader refused the marker for good (a newer epoch or coordinator wrote already).
    Abandon(i16),
}

pub struct TransactionMarkerChannelManager {
    broker_id: i32,
    listener_name: String,
    request_timeout: Duration,
    /// The inter-broker SASL credentials, when the inter-broker listener is SASL.
    sasl: Option<SaslClientConfig>,
    metadata_cache: Arc<MetadataCache>,
    /// One connection per destination broker, used one request at a time.
    clients: Mutex<HashMap<i32, Arc<tokio::sync::Mutex<Option<BrokerClient>>>>>,
}

impl TransactionMarkerChannelManager {
    pub fn new(
        broker_id: i32,
        listener_name: String,
        request_timeout: Duration,
        sasl: Option<SaslClientConfig>,
        metadata_cache: Arc<MetadataCache>,
    ) -> Self {
        TransactionMarkerChannelManager {
            broker_id,
            listener_name,
            request_timeout,
            sasl,
            metadata_cache,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Writes the entry's markers; returns Ok once all partitions have them, Err(code) when
    /// a leader refused for good, or Err(NOT_COORDINATOR) once `still_coordinator` says
    /// we lost the transaction (the new coordinator finishes it).
    pub async fn write_markers(
        &self,
        entry: &TxnMarkerEntry,
        still_coordinator: impl Fn() -> bool,
    ) -> Result<(), i16> {
        let mut remaining = entry.partitions.clone();
        let mut round = 0u64;
        while !remaining.is_empty() {
            if !still_coordinator() {
                return Err(errors::NOT_COORDINATOR);
            }
            if round > 0 {
                tokio::time::sleep(RETRY_BACKOFF).await;
            }
            round += 1;
            let by_leader = self.partitions_by_leader(&mut remaining);
            let sends = by_leader
                .into_iter()
                .map(|(leader, parts)| self.send_to(leader, entry, parts));
            for outcomes in futures::future::join_all(sends).await {
                for (tp, outcome) in outcomes {
                    match outcome {
                        MarkerOutcome::Done => {
                            remaining.remove(&tp);
                        }
                        MarkerOutcome::Retry => {}
                        MarkerOutcome::Abandon(code) => return Err(code),
                    }
                }
            }
            if round.is_multiple_of(100) {
                tracing::warn!(target: "kafka.coordinator.transaction.TransactionMarkerChannelManager",
                    "[Transaction Marker Channel Manager {}]: still writing {} markers of TransactionalId {} to {} partitions after {round} rounds: {:?}",
                    self.broker_id, if entry.commit { "COMMIT" } else { "ABORT" },
                    entry.transactional_id, remaining.len(), remaining);
            }
        }
        Ok(())
    }

    /// Groups partitions by their live leader; partitions of topics no longer in the
    /// metadata are taken as deleted and dropped from `remaining` (Kafka does the same).
    fn partitions_by_leader(
        &self,
        remaining: &mut BTreeSet<TopicPartition>,
    ) -> BTreeMap<i32, Vec<TopicPartition>> {
        let snapshot = self.metadata_cache.snapshot();
        let mut out: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
        remaining.retain(|tp| {
            let Some(p) = snapshot.partition(&tp.topic, tp.partition) else {
                tracing::info!(target: "kafka.coordinator.transaction.TransactionMarkerChannelManager",
                    "Partition {tp} is gone from the metadata; its transaction marker is no longer needed");
                return false;
            };
            if snapshot.brokers.contains_key(&p.leader) {
                out.entry(p.leader).or_default().push(tp.clone());
            }
            true
        });
        out
    }

    async fn send_to(
        &self,
        leader: i32,
        entry: &TxnMarkerEntry,
        parts: Vec<TopicPartition>,
    ) -> Vec<(TopicPartition, MarkerOutcome)> {
        let request = marker_request(entry, &parts);
        match self.send(leader, &request).await {
            Ok(codes) => parts
                .into_iter()
                .map(|tp| {
                    let code = codes
                        .get(&tp)
                        .copied()
                        .unwrap_or(errors::UNKNOWN_SERVER_ERROR);
                    (tp.clone(), self.outcome(&tp, entry, code))
                })
                .collect(),
            Err(e) => {
                tracing::warn!(target: "kafka.coordinator.transaction.TransactionMarkerChannelManager",
                    "[Transaction Marker Channel Manager {}]: WriteTxnMarkers to broker {leader} failed: {e}; retrying",
                    self.broker_id);
                parts
                    .into_iter()
                    .map(|tp| (tp, MarkerOutcome::Retry))
                    .collect()
            }
        }
    }

    /// TransactionMarkerRequestCompletionHandler's reading of one partition's error.
    fn outcome(&self, tp: &TopicPartition, entry: &TxnMarkerEntry, code: i16) -> MarkerOutcome {
        match code {
            errors::NONE | errors::UNSUPPORTED_FOR_MESSAGE_FORMAT | errors::UNSUPPORTED_VERSION => {
                MarkerOutcome::Done
            }
            errors::INVALID_PRODUCER_EPOCH | errors::TRANSACTION_COORDINATOR_FENCED => {
                tracing::warn!(target: "kafka.coordinator.transaction.TransactionMarkerChannelManager",
                    "Leader of {tp} refused the marker of TransactionalId {} (producer id {}, epoch {}, coordinator epoch {}) with error code {code}; giving up on it",
                    entry.transactional_id, entry.producer_id, entry.producer_epoch, entry.coordinator_epoch);
                MarkerOutcome::Abandon(code)
            }
            _ => {
                tracing::debug!(target: "kafka.coordinator.transaction.TransactionMarkerChannelManager",
                    "Marker for {tp} of TransactionalId {} got error code {code}; retrying",
                    entry.transactional_id);
                MarkerOutcome::Retry
            }
        }
    }

    /// One WriteTxnMarkers round trip on the cached connection to `leader`; per-partition
    /// error codes.
    async fn send(
        &self,
        leader: i32,
        request: &WriteTxnMarkersRequest,
    ) -> anyhow::Result<HashMap<TopicPartition, i16>> {
        let slot = self
            .clients
            .lock()
            .expect("clients lock")
            .entry(leader)
            .or_default()
            .clone();
        let mut client = slot.lock().await;
        if client.is_none() {
            let snapshot = self.metadata_cache.snapshot();
            let ep = snapshot
                .brokers
                .get(&leader)
                .and_then(|b| b.endpoint(&self.listener_name))
                .ok_or_else(|| {
                    anyhow::anyhow!("broker {leader} has no {} endpoint", self.listener_name)
                })?;
            let addr = format!("{}:{}", ep.host, ep.port);
            let name = format!("TxnMarkerSenderThread-{}", self.broker_id);
            *client = Some(
                BrokerClient::connect_inter_broker(
                    &addr,
                    &name,
                    self.request_timeout,
                    self.request_timeout,
                )
                .await
                .map_err(|e| anyhow::anyhow!("connecting to broker {leader} at {addr}: {e}"))?
                .authenticated(self.sasl.as_ref())
                .await
                .map_err(|e| anyhow::anyhow!("connecting to broker {leader} at {addr}: {e}"))?,
            );
        }
        let c = client.as_mut().expect("connected");
        let response = match c.send(request, WRITE_TXN_MARKERS_VERSION).await {
            Ok(r) => r,
            Err(e) => {
                *client = None;
                return Err(e);
            }
        };
        let mut codes = HashMap::new();
        for m in response.markers {
            for t in m.topics {
                for p in t.partitions {
                    codes.insert(
                        TopicPartition::new(t.name.0.as_str(), p.partition_index),
                        p.error_code,
                    );
                }
            }
        }
        Ok(codes)
    }
}

fn marker_request(entry: &TxnMarkerEntry, parts: &[TopicPartition]) -> WriteTxnMarkersRequest {
    let mut topics: Vec<WritableTxnMarkerTopic> = Vec::new();
    for tp in parts {
        match topics.last_mut() {
            Some(t) if t.name.0.as_str() == tp.topic => t.partition_indexes.push(tp.partition),
            _ => topics.push(
                WritableTxnMarkerTopic::default()
                    .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partition_indexes(vec![tp.partition]),
            ),
        }
    }
    let marker = WritableTxnMarker::default()
        .with_producer_id(ProducerId(entry.producer_id))
        .with_producer_epoch(entry.producer_epoch)
        .with_transaction_result(entry.commit)
        .with_topics(topics)
        .with_coordinator_epoch(entry.coordinator_epoch);
    WriteTxnMarkersRequest::default().with_markers(vec![marker])
}
