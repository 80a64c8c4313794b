//! Transaction API requests (KafkaApis.scala handleInitProducerId, handleAddPartitionToTxn,
//! handleAddOffsetsToTxn, handleEndTxn): decode into transaction coordinator calls, encode
//! the answers per request version.

use std::collections::BTreeMap;

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::*;

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};

use crate::controller::now_ms;
use crate::coordinator::records::OffsetAndMetadata;
use crate::coordinator::transaction::errors;
use crate::coordinator::txn_offsets::TxnCommitter;
use crate::coordinator::GROUP_METADATA_TOPIC_NAME;
use crate::log::TopicPartition;
use crate::network::request::RequestContext;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::KafkaApis;

/// First versions that may return PRODUCER_FENCED (older ones get INVALID_PRODUCER_EPOCH).
const INIT_PRODUCER_ID_FENCED_SINCE: i16 = 4;
const TXN_APIS_FENCED_SINCE: i16 = 2;

impl KafkaApis {
    /// InitProducerId with a transactional id (the null id is init_producer_id.rs's).
    pub async fn handle_init_producer_id_transactional(
        &self,
        ctx: &RequestContext,
        req: &InitProducerIdRequest,
    ) -> InitProducerIdResponse {
        let expected = match (req.producer_id.0, req.producer_epoch) {
            (-1, -1) => None,
            (pid, epoch) => Some((pid, epoch)),
        };
        let id = req.transactional_id.as_ref().map_or("", |t| t.0.as_str());
        let (code, pid, epoch) = self
            .txn_coordinator
            .handle_init_producer_id(id, req.transaction_timeout_ms, expected)
            .await;
        let code =
            errors::fenced_for_version(code, ctx.api_version(), INIT_PRODUCER_ID_FENCED_SINCE);
        InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
    }

    pub async fn handle_add_partitions_to_txn(
        &self,
        ctx: &RequestContext,
        req: &AddPartitionsToTxnRequest,
    ) -> AddPartitionsToTxnResponse {
        let snapshot = self.metadata_cache.snapshot();
        let txn_id = req.v3_and_below_transactional_id.0.as_str();
        let txn_authorized = self.authorize(
            ctx,
            AclOperation::Write,
            ResourceType::TransactionalId,
            txn_id,
        );
        let mut requested = Vec::new();
        let mut failed: BTreeMap<TopicPartition, i16> = BTreeMap::new();
        for t in &req.v3_and_below_topics {
            let topic_authorized =
                self.authorize(ctx, AclOperation::Write, ResourceType::Topic, &t.name);
            for &p in &t.partitions {
                let tp = TopicPartition::new(t.name.0.as_str(), p);
                if !txn_authorized {
                    failed.insert(tp.clone(), errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
                } else if !topic_authorized {
                    failed.insert(tp.clone(), errors::TOPIC_AUTHORIZATION_FAILED);
                } else if snapshot.partition(&tp.topic, p).is_none() {
                    failed.insert(tp.clone(), errors::UNKNOWN_TOPIC_OR_PARTITION);
                }
                requested.push(tp);
            }
        }
        let results: Vec<(TopicPartition, i16)> = if !failed.is_empty() {
            // One bad partition fails the whole request; nothing is added.
            requested
                .into_iter()
                .map(|tp| {
                    let code = failed
                        .get(&tp)
                        .copied()
                        .unwrap_or(errors::OPERATION_NOT_ATTEMPTED);
                    (tp, code)
                })
                .collect()
        } else {
            let code = self
                .txn_coordinator
                .handle_add_partitions_to_transaction(
                    req.v3_and_below_transactional_id.0.as_str(),
                    req.v3_and_below_producer_id.0,
                    req.v3_and_below_producer_epoch,
                    requested.iter().cloned().collect(),
                )
                .await;
            let code = errors::fenced_for_version(code, ctx.api_version(), TXN_APIS_FENCED_SINCE);
            requested.into_iter().map(|tp| (tp, code)).collect()
        };
        AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(by_topic(results))
    }

    pub async fn handle_add_offsets_to_txn(
        &self,
        ctx: &RequestContext,
        req: &AddOffsetsToTxnRequest,
    ) -> AddOffsetsToTxnResponse {
        let denied = if !self.authorize(
            ctx,
            AclOperation::Write,
            ResourceType::TransactionalId,
            &req.transactional_id,
        ) {
            Some(errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        } else if !self.authorize(ctx, AclOperation::Read, ResourceType::Group, &req.group_id) {
            Some(errors::GROUP_AUTHORIZATION_FAILED)
        } else {
            None
        };
        if let Some(code) = denied {
            return AddOffsetsToTxnResponse::default().with_error_code(code);
        }
        let partition = self
            .group_coordinator
            .manager
            .partition_for(req.group_id.0.as_str());
        let offsets = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, partition);
        let code = self
            .txn_coordinator
            .handle_add_partitions_to_transaction(
                req.transactional_id.0.as_str(),
                req.producer_id.0,
                req.producer_epoch,
                [offsets].into_iter().collect(),
            )
            .await;
        AddOffsetsToTxnResponse::default().with_error_code(errors::fenced_for_version(
            code,
            ctx.api_version(),
            TXN_APIS_FENCED_SINCE,
        ))
    }

    pub async fn handle_end_txn(
        &self,
        ctx: &RequestContext,
        req: &EndTxnRequest,
    ) -> EndTxnResponse {
        if !self.authorize(
            ctx,
            AclOperation::Write,
            ResourceType::TransactionalId,
            &req.transactional_id,
        ) {
            return EndTxnResponse::default()
                .with_error_code(errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        }
        let code = self
            .txn_coordinator
            .handle_end_transaction(
                req.transactional_id.0.as_str(),
                req.producer_id.0,
                req.producer_epoch,
                req.committed,
            )
            .await;
        EndTxnResponse::default().with_error_code(errors::fenced_for_version(
            code,
            ctx.api_version(),
            TXN_APIS_FENCED_SINCE,
        ))
    }
}

impl KafkaApis {
    pub async fn handle_txn_offset_commit(
        &self,
        ctx: &RequestContext,
        req: &TxnOffsetCommitRequest,
    ) -> TxnOffsetCommitResponse {
        let version = ctx.api_version();
        let now = now_ms();
        let snapshot = self.metadata_cache.snapshot();
        let mut results = Vec::new();
        let mut offsets = Vec::new();
        let denied = self.txn_offset_commit_denial(ctx, req);
        for t in &req.topics {
            let readable = denied.is_some()
                || self.authorize(ctx, AclOperation::Read, ResourceType::Topic, &t.name);
            for p in &t.partitions {
                let key = (t.name.to_string(), p.partition_index);
                let refused = if let Some(code) = denied {
                    Some(code)
                } else if !readable {
                    Some(errors::TOPIC_AUTHORIZATION_FAILED)
                } else if snapshot.partition(&key.0, key.1).is_none() {
                    Some(errors::UNKNOWN_TOPIC_OR_PARTITION)
                } else {
                    None
                };
                if let Some(code) = refused {
                    results.push((key, code));
                    continue;
                }
                let offset = OffsetAndMetadata {
                    offset: p.committed_offset,
                    leader_epoch: (p.committed_leader_epoch >= 0)
                        .then_some(p.committed_leader_epoch),
                    metadata: p
                        .committed_metadata
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                    commit_timestamp: now,
                    expire_timestamp: None,
                };
                offsets.push((key, offset));
            }
        }
        let who = TxnCommitter {
            producer_id: req.producer_id.0,
            producer_epoch: req.producer_epoch,
            member_id: req.member_id.as_str(),
            group_instance_id: req.group_instance_id.as_ref().map(|i| i.as_str()),
            generation_id: req.generation_id,
        };
        if !offsets.is_empty() {
            let codes = self
                .group_coordinator
                .commit_txn_offsets(req.group_id.0.as_str(), &who, offsets)
                .await;
            results.extend(codes);
        }
        let mut topics: Vec<TxnOffsetCommitResponseTopic> = Vec::new();
        for ((topic, partition), code) in results {
            let code = if version < 2 && code == errors::COORDINATOR_LOAD_IN_PROGRESS {
                errors::COORDINATOR_NOT_AVAILABLE
            } else {
                code
            };
            let r = TxnOffsetCommitResponsePartition::default()
                .with_partition_index(partition)
                .with_error_code(code);
            match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
                Some(t) => t.partitions.push(r),
                None => topics.push(
                    TxnOffsetCommitResponseTopic::default()
                        .with_name(TopicName(topic.into()))
                        .with_partitions(vec![r]),
                ),
            }
        }
        TxnOffsetCommitResponse::default().with_topics(topics)
    }
}

impl KafkaApis {
    /// WRITE on the transactional id, then READ on the group: the error every partition of
    /// a refused TxnOffsetCommit gets (the request's error response).
    fn txn_offset_commit_denial(
        &self,
        ctx: &RequestContext,
        req: &TxnOffsetCommitRequest,
    ) -> Option<i16> {
        let txn = &req.transactional_id;
        if !self.authorize(ctx, AclOperation::Write, ResourceType::TransactionalId, txn) {
            Some(errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        } else if !self.authorize(ctx, AclOperation::Read, ResourceType::Group, &req.group_id) {
            Some(errors::GROUP_AUTHORIZATION_FAILED)
        } else {
            None
        }
    }
}

/// Per-partition results grouped by topic, in first-seen order.
fn by_topic(results: Vec<(TopicPartition, i16)>) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut out: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for (tp, code) in results {
        let r = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(tp.partition)
            .with_partition_error_code(code);
        match out.iter_mut().find(|t| t.name.0.as_str() == tp.topic) {
            Some(t) => t.results_by_partition.push(r),
            None => out.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(TopicName(tp.topic.into()))
                    .with_results_by_partition(vec![r]),
            ),
        }
    }
    out
}
