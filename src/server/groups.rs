//! Group API requests (KafkaApis.scala handle*Group*/Offset* and FindCoordinator): decode
//! into coordinator calls, encode the answers per request version.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::admin::assignment::assign_replicas_to_brokers;
use crate::admin::{zk_admin, AdminError};
use crate::controller::now_ms;
use crate::coordinator::errors;
use crate::coordinator::join::{JoinParams, SyncParams};
use crate::coordinator::records::OffsetAndMetadata;
use crate::coordinator::transaction::TRANSACTION_STATE_TOPIC_NAME;
use crate::coordinator::GROUP_METADATA_TOPIC_NAME;
use crate::network::request::RequestContext;
use crate::security::authorizer::acl::CLUSTER_NAME;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::KafkaApis;

fn s(v: impl Into<String>) -> StrBytes {
    StrBytes::from_string(v.into())
}

pub(super) fn topic_name(t: &str) -> TopicName {
    TopicName(s(t))
}

/// How Kafka prints a client address (InetAddress.toString of an unresolved address).
fn client_host(ctx: &RequestContext) -> String {
    format!("/{}", ctx.conn.peer.ip())
}

/// Groups (topic → partitions) in first-seen topic order, as responses list them.
pub(super) fn by_topic<T>(items: Vec<((String, i32), T)>) -> Vec<(String, Vec<(i32, T)>)> {
    let mut order: Vec<String> = Vec::new();
    let mut map: HashMap<String, Vec<(i32, T)>> = HashMap::new();
    for ((t, p), v) in items {
        if !map.contains_key(&t) {
            order.push(t.clone());
        }
        map.entry(t).or_default().push((p, v));
    }
    order
        .into_iter()
        .map(|t| {
            let v = map.remove(&t).unwrap_or_default();
            (t, v)
        })
        .collect()
}

/// How long the FindCoordinator that creates `__consumer_offsets` waits for its coordinator.
const OFFSETS_TOPIC_CREATION_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

impl KafkaApis {
    pub async fn handle_find_coordinator(
        &self,
        ctx: &RequestContext,
        req: &FindCoordinatorRequest,
    ) -> FindCoordinatorResponse {
        let fail = |code: i16| {
            FindCoordinatorResponse::default()
                .with_error_code(code)
                .with_error_message(Some(s(error_message(code))))
                .with_node_id(BrokerId(-1))
                .with_host(s(""))
                .with_port(-1)
        };
        let key = req.key.to_string();
        let (resource_type, denied_code) = match req.key_type {
            1 => (
                ResourceType::TransactionalId,
                errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            ),
            _ => (ResourceType::Group, errors::GROUP_AUTHORIZATION_FAILED),
        };
        if !self.authorize(ctx, AclOperation::Describe, resource_type, &key) {
            return fail(denied_code);
        }
        let (topic, partition) = match req.key_type {
            0 => (
                GROUP_METADATA_TOPIC_NAME,
                self.group_coordinator.manager.partition_for(&key),
            ),
            1 => (
                TRANSACTION_STATE_TOPIC_NAME,
                self.txn_coordinator.state_manager.partition_for(&key),
            ),
            _ => return fail(errors::INVALID_REQUEST),
        };
        let mut snapshot = self.metadata_cache.snapshot();
        if !snapshot.topics.contains_key(topic) {
            self.create_internal_topic(topic).await;
            // Kafka answers COORDINATOR_NOT_AVAILABLE at once and the client retries (librdkafka
            // a second later); waiting briefly for the new partition saves the first client that.
            if !self
                .await_coordinator_ready(req.key_type, &key, topic, partition)
                .await
            {
                return fail(errors::COORDINATOR_NOT_AVAILABLE);
            }
            snapshot = self.metadata_cache.snapshot();
        }
        let endpoint = snapshot
            .partition(topic, partition)
            .and_then(|p| snapshot.brokers.get(&p.leader))
            .and_then(|b| Some((b.id, b.endpoint(&ctx.conn.listener_name)?.clone())));
        match endpoint {
            Some((id, ep)) => FindCoordinatorResponse::default()
                .with_error_code(errors::NONE)
                .with_error_message(if ctx.api_version() >= 1 {
                    Some(s("NONE"))
                } else {
                    None
                })
                .with_node_id(BrokerId(id))
                .with_host(s(ep.host.clone()))
                .with_port(i32::from(ep.port)),
            None => fail(errors::COORDINATOR_NOT_AVAILABLE),
        }
    }

    /// Waits up to OFFSETS_TOPIC_CREATION_WAIT until `partition` of a just-created internal
    /// `topic` is led and loaded by us; false at once when another broker leads it.
    async fn await_coordinator_ready(
        &self,
        key_type: i8,
        key: &str,
        topic: &str,
        partition: i32,
    ) -> bool {
        const POLL: std::time::Duration = std::time::Duration::from_millis(10);
        let loaded = || match key_type {
            0 => self.group_coordinator.manager.check_owned(key),
            _ => self
                .txn_coordinator
                .state_manager
                .coordinator_epoch(key)
                .map(|_| ()),
        };
        let start = tokio::time::Instant::now();
        let mut leader = None;
        while start.elapsed() < OFFSETS_TOPIC_CREATION_WAIT {
            let snapshot = self.metadata_cache.snapshot();
            leader = snapshot
                .partition(topic, partition)
                .map(|p| p.leader)
                .filter(|l| snapshot.brokers.contains_key(l));
            let ready = match leader {
                Some(l) if l == self.state.broker_id => loaded().is_ok(),
                // Another broker leads: we cannot see whether it has applied its LeaderAndIsr
                // yet, and a client sent there too early gets NOT_COORDINATOR (fatal to
                // kafkajs's TxnOffsetCommit). Answer as Kafka does: COORDINATOR_NOT_AVAILABLE.
                Some(_) => break,
                None => false,
            };
            if ready {
                tracing::info!(target: "kafka.server.KafkaApis", "Coordinator for {key} ready {} ms after creating {topic}: partition {partition}, leader {leader:?}", start.elapsed().as_millis());
                return true;
            }
            tokio::time::sleep(POLL).await;
        }
        tracing::info!(target: "kafka.server.KafkaApis", "No coordinator here for {key} {} ms after creating {topic}: partition {partition} has live leader {leader:?}, local ownership {:?}; answering COORDINATOR_NOT_AVAILABLE", start.elapsed().as_millis(), loaded());
        false
    }

    /// (partitions, replication factor, config key of the factor, forced topic configs) of
    /// an internal topic, as Kafka's AutoTopicCreationManager creates them.
    fn internal_topic_spec(&self, topic: &str) -> (i32, i16, &'static str, Vec<(&str, String)>) {
        if topic == TRANSACTION_STATE_TOPIC_NAME {
            let c = &self.txn_coordinator.config;
            return (
                c.num_partitions,
                c.replication_factor,
                "transaction.state.log.replication.factor",
                vec![
                    ("cleanup.policy", "compact".to_string()),
                    ("compression.type", "uncompressed".to_string()),
                    ("unclean.leader.election.enable", "false".to_string()),
                    ("min.insync.replicas", c.min_isr.to_string()),
                    ("segment.bytes", c.segment_bytes.to_string()),
                ],
            );
        }
        let c = &self.group_coordinator.config;
        (
            c.num_partitions,
            c.replication_factor,
            "offsets.topic.replication.factor",
            vec![
                ("cleanup.policy", "compact".to_string()),
                ("compression.type", "producer".to_string()),
                ("segment.bytes", c.segment_bytes.to_string()),
            ],
        )
    }

    /// Creates `__consumer_offsets` / `__transaction_state` as Kafka does on the first
    /// FindCoordinator: the configured partition count and replication factor, compacted.
    /// With fewer live brokers than the replication factor the creation fails
    /// (INVALID_REPLICATION_FACTOR) and clients retry.
    async fn create_internal_topic(&self, topic: &str) {
        let (partitions, rf, rf_key, configs) = self.internal_topic_spec(topic);
        let brokers: Vec<_> = self
            .metadata_cache
            .snapshot()
            .brokers
            .values()
            .map(|b| crate::admin::assignment::BrokerMetadata {
                id: b.id,
                rack: b.rack.clone(),
            })
            .collect();
        let rf = i32::from(rf);
        let assignment = match assign_replicas_to_brokers(&brokers, partitions, rf, None, None) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(target: "kafka.server.ZkAdminManager",
                    "Cannot create {topic} yet: {e} ({rf_key}={rf}, {} live brokers)", brokers.len());
                return;
            }
        };
        let configs: BTreeMap<String, String> = configs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        match zk_admin::create_topic_with_assignment(
            &self.replica_manager.zk,
            topic,
            &configs,
            &assignment,
            false,
        )
        .await
        {
            Ok(()) => tracing::info!(target: "kafka.server.ZkAdminManager",
                "[Broker {}] Created internal topic {topic} with {partitions} partitions and replication factor {rf}",
                self.state.broker_id),
            Err(AdminError::TopicAlreadyExists(_)) => {}
            Err(e) => tracing::warn!(target: "kafka.server.ZkAdminManager",
                "Creation of {topic} failed: {e}"),
        }
    }

    pub async fn handle_join_group(
        &self,
        ctx: &RequestContext,
        req: &JoinGroupRequest,
    ) -> JoinGroupResponse {
        let version = ctx.api_version();
        if !self.authorize_group(ctx, AclOperation::Read, &req.group_id) {
            return JoinGroupResponse::default()
                .with_error_code(errors::GROUP_AUTHORIZATION_FAILED)
                .with_generation_id(-1)
                .with_protocol_name((version < 7).then(|| s(String::new())));
        }
        let params = JoinParams {
            group_id: req.group_id.to_string(),
            member_id: req.member_id.to_string(),
            group_instance_id: req.group_instance_id.as_ref().map(|i| i.to_string()),
            require_known_member_id: version >= 4,
            client_id: ctx.client_id().to_string(),
            client_host: client_host(ctx),
            rebalance_timeout_ms: if version == 0 {
                req.session_timeout_ms
            } else {
                req.rebalance_timeout_ms
            },
            session_timeout_ms: req.session_timeout_ms,
            protocol_type: req.protocol_type.to_string(),
            protocols: req
                .protocols
                .iter()
                .map(|p| (p.name.to_string(), p.metadata.clone()))
                .collect(),
        };
        let r = self.group_coordinator.join_group(params).await;
        let (protocol_type, protocol_name) = if version >= 7 {
            (r.protocol_type.map(s), r.protocol_name.map(s))
        } else {
            (None, Some(s(r.protocol_name.unwrap_or_default())))
        };
        JoinGroupResponse::default()
            .with_error_code(r.error)
            .with_generation_id(r.generation_id)
            .with_protocol_type(protocol_type)
            .with_protocol_name(protocol_name)
            .with_leader(s(r.leader_id))
            .with_member_id(s(r.member_id))
            .with_members(
                r.members
                    .into_iter()
                    .map(|m| {
                        JoinGroupResponseMember::default()
                            .with_member_id(s(m.member_id))
                            .with_group_instance_id(m.group_instance_id.map(s))
                            .with_metadata(m.metadata)
                    })
                    .collect(),
            )
    }

    pub async fn handle_sync_group(
        &self,
        ctx: &RequestContext,
        req: &SyncGroupRequest,
    ) -> SyncGroupResponse {
        if !self.authorize_group(ctx, AclOperation::Read, &req.group_id) {
            return SyncGroupResponse::default()
                .with_error_code(errors::GROUP_AUTHORIZATION_FAILED);
        }
        let params = SyncParams {
            group_id: req.group_id.to_string(),
            generation_id: req.generation_id,
            member_id: req.member_id.to_string(),
            group_instance_id: req.group_instance_id.as_ref().map(|i| i.to_string()),
            protocol_type: req.protocol_type.as_ref().map(|p| p.to_string()),
            protocol_name: req.protocol_name.as_ref().map(|p| p.to_string()),
            assignments: req
                .assignments
                .iter()
                .map(|a| (a.member_id.to_string(), a.assignment.clone()))
                .collect(),
        };
        let r = self.group_coordinator.sync_group(params).await;
        let mut resp = SyncGroupResponse::default()
            .with_error_code(r.error)
            .with_assignment(r.assignment);
        if ctx.api_version() >= 5 {
            resp = resp
                .with_protocol_type(r.protocol_type.map(s))
                .with_protocol_name(r.protocol_name.map(s));
        }
        resp
    }

    pub fn handle_heartbeat(
        &self,
        ctx: &RequestContext,
        req: &HeartbeatRequest,
    ) -> HeartbeatResponse {
        if !self.authorize_group(ctx, AclOperation::Read, &req.group_id) {
            return HeartbeatResponse::default()
                .with_error_code(errors::GROUP_AUTHORIZATION_FAILED);
        }
        let code = self.group_coordinator.heartbeat(
            &req.group_id,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id,
        );
        HeartbeatResponse::default().with_error_code(code)
    }

    pub fn handle_leave_group(
        &self,
        ctx: &RequestContext,
        req: &LeaveGroupRequest,
    ) -> LeaveGroupResponse {
        if !self.authorize_group(ctx, AclOperation::Read, &req.group_id) {
            return LeaveGroupResponse::default()
                .with_error_code(errors::GROUP_AUTHORIZATION_FAILED);
        }
        let leaving: Vec<(String, Option<String>)> = if ctx.api_version() >= 3 {
            req.members
                .iter()
                .map(|m| {
                    (
                        m.member_id.to_string(),
                        m.group_instance_id.as_ref().map(|i| i.to_string()),
                    )
                })
                .collect()
        } else {
            vec![(req.member_id.to_string(), None)]
        };
        let (top, codes) = self.group_coordinator.leave_group(&req.group_id, &leaving);
        if ctx.api_version() < 3 {
            // v0–2 carry one member: its error is the top-level error.
            let code = if top != errors::NONE {
                top
            } else {
                codes.first().copied().unwrap_or(errors::NONE)
            };
            return LeaveGroupResponse::default().with_error_code(code);
        }
        let members = leaving
            .into_iter()
            .zip(codes)
            .map(|((id, inst), code)| {
                MemberResponse::default()
                    .with_member_id(s(id))
                    .with_group_instance_id(inst.map(s))
                    .with_error_code(code)
            })
            .collect();
        LeaveGroupResponse::default()
            .with_error_code(top)
            .with_members(members)
    }

    pub async fn handle_offset_commit(
        &self,
        ctx: &RequestContext,
        req: &OffsetCommitRequest,
    ) -> OffsetCommitResponse {
        let version = ctx.api_version();
        let now = now_ms();
        let snapshot = self.metadata_cache.snapshot();
        let mut unknown = Vec::new();
        let mut offsets = Vec::new();
        let group_authorized = self.authorize_group(ctx, AclOperation::Read, &req.group_id);
        for t in &req.topics {
            let denied = if !group_authorized {
                Some(errors::GROUP_AUTHORIZATION_FAILED)
            } else if !self.authorize(ctx, AclOperation::Read, ResourceType::Topic, &t.name) {
                Some(errors::TOPIC_AUTHORIZATION_FAILED)
            } else {
                None
            };
            for p in &t.partitions {
                let key = (t.name.to_string(), p.partition_index);
                if let Some(code) = denied {
                    unknown.push((key, code));
                    continue;
                }
                if snapshot.partition(&key.0, key.1).is_none() {
                    unknown.push((key, errors::UNKNOWN_TOPIC_OR_PARTITION));
                    continue;
                }
                let commit_ts = if version == 1 && p.commit_timestamp != -1 {
                    p.commit_timestamp
                } else {
                    now
                };
                let expire = (2..=4)
                    .contains(&version)
                    .then_some(req.retention_time_ms)
                    .filter(|r| *r != -1)
                    .map(|r| commit_ts + r);
                let leader_epoch = (version >= 6 && p.committed_leader_epoch >= 0)
                    .then_some(p.committed_leader_epoch);
                offsets.push((
                    key,
                    OffsetAndMetadata {
                        offset: p.committed_offset,
                        leader_epoch,
                        metadata: p
                            .committed_metadata
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_default(),
                        commit_timestamp: commit_ts,
                        expire_timestamp: expire,
                    },
                ));
            }
        }
        let generation = if version >= 1 {
            req.generation_id_or_member_epoch
        } else {
            -1
        };
        let mut results = if offsets.is_empty() {
            Vec::new()
        } else {
            self.group_coordinator
                .commit_offsets(
                    &req.group_id,
                    &req.member_id,
                    req.group_instance_id.as_deref(),
                    generation,
                    offsets,
                )
                .await
        };
        results.extend(unknown);
        let topics = by_topic(results)
            .into_iter()
            .map(|(t, ps)| {
                OffsetCommitResponseTopic::default()
                    .with_name(topic_name(&t))
                    .with_partitions(
                        ps.into_iter()
                            .map(|(p, code)| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect();
        OffsetCommitResponse::default().with_topics(topics)
    }

    pub fn handle_offset_fetch(
        &self,
        ctx: &RequestContext,
        req: &OffsetFetchRequest,
    ) -> OffsetFetchResponse {
        let version = ctx.api_version();
        if !self.authorize_group(ctx, AclOperation::Describe, &req.group_id) {
            return offset_fetch_group_denied(version, req);
        }
        let topic_denied =
            |t: &str| !self.authorize(ctx, AclOperation::Describe, ResourceType::Topic, t);
        let denied_topics: Vec<String> = req
            .topics
            .iter()
            .flatten()
            .map(|t| t.name.to_string())
            .filter(|t| topic_denied(t))
            .collect();
        let requested: Option<Vec<(String, i32)>> = req.topics.as_ref().map(|ts| {
            ts.iter()
                .filter(|t| !denied_topics.contains(&t.name.to_string()))
                .flat_map(|t| {
                    t.partition_indexes
                        .iter()
                        .map(move |p| (t.name.to_string(), *p))
                })
                .collect()
        });
        let (code, mut list) = self.group_coordinator.fetch_offsets(
            &req.group_id,
            requested.clone(),
            req.require_stable,
        );
        // All topics asked for: those the principal may not describe are left out.
        if req.topics.is_none() {
            list.retain(|o| !self.authorize_filter_topic(ctx, &o.topic));
        }
        let items: Vec<_> = if code != errors::NONE {
            // The group error, per partition for v0/v1 (which have no top-level error).
            requested
                .unwrap_or_default()
                .into_iter()
                .map(|k| {
                    let part = OffsetFetchResponsePartition::default()
                        .with_partition_index(k.1)
                        .with_committed_offset(-1)
                        .with_committed_leader_epoch(-1)
                        .with_metadata(Some(s("")))
                        .with_error_code(if version < 2 { code } else { errors::NONE });
                    (k, part)
                })
                .collect()
        } else {
            list.into_iter()
                .map(|o| {
                    let part = OffsetFetchResponsePartition::default()
                        .with_partition_index(o.partition)
                        .with_committed_offset(o.offset)
                        .with_committed_leader_epoch(o.leader_epoch)
                        .with_metadata(Some(s(o.metadata)))
                        .with_error_code(o.error);
                    ((o.topic, o.partition), part)
                })
                .collect()
        };
        let mut items = items;
        items.extend(denied_partitions(req, &denied_topics));
        let topics = by_topic(items)
            .into_iter()
            .map(|(t, ps)| {
                OffsetFetchResponseTopic::default()
                    .with_name(topic_name(&t))
                    .with_partitions(ps.into_iter().map(|(_, p)| p).collect())
            })
            .collect();
        OffsetFetchResponse::default()
            .with_error_code(code)
            .with_topics(topics)
    }

    pub fn handle_describe_groups(
        &self,
        ctx: &RequestContext,
        req: &DescribeGroupsRequest,
    ) -> DescribeGroupsResponse {
        let groups = req
            .groups
            .iter()
            .map(|id| {
                if !self.authorize_group(ctx, AclOperation::Describe, id) {
                    return DescribedGroup::default()
                        .with_error_code(errors::GROUP_AUTHORIZATION_FAILED)
                        .with_group_id(id.clone())
                        .with_authorized_operations(i32::MIN);
                }
                let (code, g) = self.group_coordinator.describe_group(id);
                let members = g
                    .members
                    .into_iter()
                    .map(|m| {
                        DescribedGroupMember::default()
                            .with_member_id(s(m.member_id))
                            .with_group_instance_id(m.group_instance_id.map(s))
                            .with_client_id(s(m.client_id))
                            .with_client_host(s(m.client_host))
                            .with_member_metadata(m.metadata)
                            .with_member_assignment(m.assignment)
                    })
                    .collect();
                // KIP-430: asked for (v3+) and the group described without error.
                let ops = if ctx.api_version() >= 3
                    && code == errors::NONE
                    && req.include_authorized_operations
                {
                    self.authorized_operations(ctx, ResourceType::Group, id)
                } else {
                    i32::MIN
                };
                DescribedGroup::default()
                    .with_error_code(code)
                    .with_group_id(id.clone())
                    .with_group_state(s(g.state))
                    .with_protocol_type(s(g.protocol_type))
                    .with_protocol_data(s(g.protocol))
                    .with_members(members)
                    .with_authorized_operations(ops)
            })
            .collect();
        DescribeGroupsResponse::default().with_groups(groups)
    }

    pub fn handle_list_groups(
        &self,
        ctx: &RequestContext,
        req: &ListGroupsRequest,
    ) -> ListGroupsResponse {
        let states: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
        let (code, mut groups) = self.group_coordinator.list_groups(&states);
        // DESCRIBE on the cluster lists every group; otherwise only the describable ones.
        if !self.authorize_filter(
            ctx,
            AclOperation::Describe,
            ResourceType::Cluster,
            CLUSTER_NAME,
        ) {
            groups.retain(|(id, _, _)| {
                self.authorize_filter(ctx, AclOperation::Describe, ResourceType::Group, id)
            });
        }
        ListGroupsResponse::default()
            .with_error_code(code)
            .with_groups(
                groups
                    .into_iter()
                    .map(|(id, pt, state)| {
                        ListedGroup::default()
                            .with_group_id(GroupId(s(id)))
                            .with_protocol_type(s(pt))
                            .with_group_state(s(state))
                    })
                    .collect(),
            )
    }

    pub async fn handle_delete_groups(
        &self,
        ctx: &RequestContext,
        req: &DeleteGroupsRequest,
    ) -> DeleteGroupsResponse {
        let (ids, denied): (Vec<String>, Vec<String>) = req
            .groups_names
            .iter()
            .map(|g| g.to_string())
            .partition(|g| self.authorize_group(ctx, AclOperation::Delete, g));
        let mut results = self.group_coordinator.delete_groups(&ids).await;
        results.extend(
            denied
                .into_iter()
                .map(|g| (g, errors::GROUP_AUTHORIZATION_FAILED)),
        );
        DeleteGroupsResponse::default().with_results(
            results
                .into_iter()
                .map(|(id, code)| {
                    DeletableGroupResult::default()
                        .with_group_id(GroupId(s(id)))
                        .with_error_code(code)
                })
                .collect(),
        )
    }
}

/// Errors.message() of the codes FindCoordinator answers with.
fn error_message(code: i16) -> &'static str {
    match code {
        errors::COORDINATOR_NOT_AVAILABLE => "The coordinator is not available.",
        errors::GROUP_AUTHORIZATION_FAILED => "Group authorization failed.",
        errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED => "Transactional Id authorization failed.",
        errors::NOT_COORDINATOR => "This is not the correct coordinator.",
        errors::INVALID_REQUEST => "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.",
        _ => "",
    }
}

impl KafkaApis {
    fn authorize_group(&self, ctx: &RequestContext, op: AclOperation, group: &str) -> bool {
        self.authorize(ctx, op, ResourceType::Group, group)
    }

    /// True when the principal may NOT describe the topic (quietly, for listings).
    fn authorize_filter_topic(&self, ctx: &RequestContext, topic: &str) -> bool {
        !self.authorize_filter(ctx, AclOperation::Describe, ResourceType::Topic, topic)
    }
}

/// OffsetFetch without DESCRIBE on the group: the top-level error (v2+), per partition before.
fn offset_fetch_group_denied(version: i16, req: &OffsetFetchRequest) -> OffsetFetchResponse {
    let code = errors::GROUP_AUTHORIZATION_FAILED;
    if version >= 2 {
        return OffsetFetchResponse::default().with_error_code(code);
    }
    let topics = req
        .topics
        .iter()
        .flatten()
        .map(|t| {
            OffsetFetchResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partition_indexes
                        .iter()
                        .map(|&p| {
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(-1)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics)
}

/// The partitions of requested topics the principal may not describe.
fn denied_partitions(
    req: &OffsetFetchRequest,
    denied: &[String],
) -> Vec<((String, i32), OffsetFetchResponsePartition)> {
    req.topics
        .iter()
        .flatten()
        .filter(|t| denied.contains(&t.name.to_string()))
        .flat_map(|t| {
            t.partition_indexes.iter().map(move |&p| {
                let part = OffsetFetchResponsePartition::default()
                    .with_partition_index(p)
                    .with_committed_offset(-1)
                    .with_committed_leader_epoch(-1)
                    .with_metadata(Some(s("")))
                    .with_error_code(errors::TOPIC_AUTHORIZATION_FAILED);
                ((t.name.to_string(), p), part)
            })
        })
        .collect()
}
