//! Topic administration requests (ZkAdminManager.scala): CreateTopics, DeleteTopics,
//! CreatePartitions and auto-creation. They write the same znodes `kafka-topics.sh` writes;
//! the controller does the rest. Like Kafka, the explicit APIs must reach the controller.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::admin::assignment::{assign_replicas_to_brokers, Assignment, BrokerMetadata};
use crate::admin::{zk_admin, AdminError};
use crate::network::request::RequestContext;
use crate::security::authorizer::acl::CLUSTER_NAME;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::KafkaApis;
use crate::server::errors;

/// Longest a handler waits for the controller to make its change visible in metadata.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The outcome of CreateTopics' authorization and duplicate checks for one topic.
struct TopicCheck {
    refusal: Option<(i16, &'static str)>,
    /// DESCRIBE_CONFIGS on the topic: else the v5+ configs and metadata are withheld.
    describe_configs: bool,
}

/// ZkAdminManager.createTopics: a config entry without a value refuses the topic.
fn null_configs_refusal(t: &CreatableTopic) -> Option<(i16, Option<StrBytes>)> {
    let nulls: Vec<&str> = t
        .configs
        .iter()
        .filter(|c| c.value.is_none())
        .map(|c| c.name.as_str())
        .collect();
    let msg = format!(
        "Null value not supported for topic configs : {}",
        nulls.join(",")
    );
    (!nulls.is_empty()).then(|| (errors::INVALID_REQUEST, Some(StrBytes::from_string(msg))))
}

/// The topic configs a CreateTopics entry sets (after `null_configs_refusal`, all of them).
fn requested_configs(t: &CreatableTopic) -> BTreeMap<String, String> {
    t.configs
        .iter()
        .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
        .collect()
}

fn name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}

fn message(e: &AdminError) -> Option<StrBytes> {
    Some(StrBytes::from_string(e.to_string()))
}

impl KafkaApis {
    fn is_controller(&self) -> bool {
        self.metadata_cache.snapshot().controller_id == Some(self.state.broker_id)
    }

    /// Live brokers (with racks) as the metadata cache knows them, for assignment.
    fn live_broker_metadata(&self) -> Vec<BrokerMetadata> {
        let snapshot = self.metadata_cache.snapshot();
        snapshot
            .brokers
            .values()
            .map(|b| BrokerMetadata {
                id: b.id,
                rack: b.rack.clone(),
            })
            .collect()
    }

    /// Waits until `done` holds for the metadata cache or the deadline passes.
    async fn await_metadata(
        &self,
        timeout_ms: i32,
        done: impl Fn(&crate::metadata::MetadataSnapshot) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now()
            + MAX_WAIT.min(Duration::from_millis(timeout_ms.max(0) as u64));
        loop {
            if done(&self.metadata_cache.snapshot()) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn handle_create_topics(
        &self,
        ctx: &RequestContext,
        req: &CreateTopicsRequest,
    ) -> CreateTopicsResponse {
        let result = |t: &CreatableTopic| CreatableTopicResult::default().with_name(t.name.clone());
        if !self.is_controller() {
            let not_controller = |t| result(t).with_error_code(errors::NOT_CONTROLLER);
            return CreateTopicsResponse::default()
                .with_topics(req.topics.iter().map(not_controller).collect());
        }
        let checks = self.create_topics_checks(ctx, req);
        let mut results = Vec::new();
        for (t, check) in req.topics.iter().zip(checks) {
            let mut r = result(t);
            if !check.describe_configs {
                r.topic_config_error_code = errors::TOPIC_AUTHORIZATION_FAILED;
            }
            if let Some((code, msg)) = check.refusal {
                let msg = Some(StrBytes::from_static_str(msg));
                results.push(r.with_error_code(code).with_error_message(msg));
                continue;
            }
            results.push(
                self.create_topic_result(r, t, req, &check, ctx.api_version())
                    .await,
            );
        }
        CreateTopicsResponse::default().with_topics(results)
    }

    /// KafkaApis.handleCreateTopicsRequest's checks, per requested topic: a name listed
    /// twice is INVALID_REQUEST; creating needs CREATE on the cluster or the topic; the v5+
    /// configs and metadata are returned only with DESCRIBE_CONFIGS on the topic.
    fn create_topics_checks(
        &self,
        ctx: &RequestContext,
        req: &CreateTopicsRequest,
    ) -> Vec<TopicCheck> {
        let cluster_create = self.authorize_filter(
            ctx,
            AclOperation::Create,
            ResourceType::Cluster,
            CLUSTER_NAME,
        );
        let names: Vec<&str> = req.topics.iter().map(|t| t.name.0.as_str()).collect();
        names
            .iter()
            .map(|&name| {
                let refusal = if names.iter().filter(|n| **n == name).count() > 1 {
                    Some((
                        errors::INVALID_REQUEST,
                        "Found multiple entries for this topic.",
                    ))
                } else if !cluster_create
                    && !self.authorize(ctx, AclOperation::Create, ResourceType::Topic, name)
                {
                    Some((errors::TOPIC_AUTHORIZATION_FAILED, "Authorization failed."))
                } else {
                    None
                };
                let op = AclOperation::DescribeConfigs;
                let describe_configs = self.authorize_filter(ctx, op, ResourceType::Topic, name);
                TopicCheck {
                    refusal,
                    describe_configs,
                }
            })
            .collect()
    }

    /// Creates one authorized topic and waits until the metadata shows its partitions.
    async fn create_topic_result(
        &self,
        mut result: CreatableTopicResult,
        t: &CreatableTopic,
        req: &CreateTopicsRequest,
        check: &TopicCheck,
        version: i16,
    ) -> CreatableTopicResult {
        let topic = t.name.0.to_string();
        let assignment = match self.create_one_topic(t, req.validate_only).await {
            Ok(assignment) => assignment,
            Err((code, msg)) => {
                result.topic_config_error_code = errors::NONE;
                return result.with_error_code(code).with_error_message(msg);
            }
        };
        if version >= 5 && check.describe_configs {
            let rf = assignment.values().next().map_or(0, |r| r.len() as i16);
            result = result
                .with_num_partitions(assignment.len() as i32)
                .with_replication_factor(rf)
                .with_configs(Some(self.created_topic_configs(&requested_configs(t))));
        }
        let expected: Vec<i32> = assignment.keys().copied().collect();
        let visible = req.validate_only
            || self
                .await_metadata(req.timeout_ms, |s| {
                    s.topics
                        .get(&topic)
                        .is_some_and(|p| expected.iter().all(|i| p.contains_key(i)))
                })
                .await;
        if !visible {
            result = result.with_error_code(errors::REQUEST_TIMED_OUT);
        }
        result
    }

    async fn create_one_topic(
        &self,
        t: &CreatableTopic,
        validate_only: bool,
    ) -> Result<Assignment, (i16, Option<StrBytes>)> {
        let fail = |e: AdminError| (e.code(), message(&e));
        let topic = t.name.0.as_str();
        // As in Kafka, an existing topic is reported as such before its configs are looked at.
        let exists = self.metadata_cache.snapshot().topics.contains_key(topic);
        if let Some(refusal) = null_configs_refusal(t).filter(|_| !exists) {
            return Err(refusal);
        }
        let configs = requested_configs(t);
        let assignment: Assignment = if t.assignments.is_empty() {
            let partitions = if t.num_partitions == -1 {
                self.config.int("num.partitions")
            } else {
                t.num_partitions
            };
            let rf = if t.replication_factor == -1 {
                self.config.int("default.replication.factor")
            } else {
                i32::from(t.replication_factor)
            };
            assign_replicas_to_brokers(&self.live_broker_metadata(), partitions, rf, None, None)
                .map_err(fail)?
        } else if t.num_partitions != -1 || t.replication_factor != -1 {
            let msg = "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.";
            return Err((
                errors::INVALID_REQUEST,
                Some(StrBytes::from_static_str(msg)),
            ));
        } else {
            t.assignments
                .iter()
                .map(|a| {
                    (
                        a.partition_index,
                        a.broker_ids.iter().map(|b| b.0).collect(),
                    )
                })
                .collect()
        };
        zk_admin::create_topic_with_assignment(
            &self.replica_manager.zk,
            topic,
            &configs,
            &assignment,
            validate_only,
        )
        .await
        .map_err(fail)?;
        if !validate_only {
            tracing::info!(target: "kafka.server.ZkAdminManager", "[Admin Manager on Broker {}]: Created topic {topic} with assignment {assignment:?}", self.state.broker_id);
        }
        Ok(assignment)
    }

    pub async fn handle_delete_topics(
        &self,
        ctx: &RequestContext,
        req: &DeleteTopicsRequest,
    ) -> DeleteTopicsResponse {
        let names: Vec<String> = req
            .topic_names
            .iter()
            .map(|n| n.0.to_string())
            .chain(
                req.topics
                    .iter()
                    .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string())),
            )
            .collect();
        let mut responses = Vec::new();
        for topic in names {
            let mut result = DeletableTopicResult::default().with_name(Some(name(&topic)));
            let authorized =
                self.authorize(ctx, AclOperation::Describe, ResourceType::Topic, &topic)
                    && self.authorize(ctx, AclOperation::Delete, ResourceType::Topic, &topic);
            let outcome = if !authorized {
                Err((errors::TOPIC_AUTHORIZATION_FAILED, None))
            } else if !self.is_controller() {
                Err((errors::NOT_CONTROLLER, None))
            } else {
                match zk_admin::delete_topic(&self.replica_manager.zk, &topic).await {
                    Ok(()) | Err(AdminError::TopicAlreadyMarkedForDeletion(_)) => Ok(()),
                    Err(e) => Err((e.code(), message(&e))),
                }
            };
            match outcome {
                Ok(()) => {
                    if !self
                        .await_metadata(req.timeout_ms, |s| !s.topics.contains_key(&topic))
                        .await
                    {
                        result = result.with_error_code(errors::REQUEST_TIMED_OUT);
                    }
                }
                Err((code, msg)) => result = result.with_error_code(code).with_error_message(msg),
            }
            responses.push(result);
        }
        DeleteTopicsResponse::default().with_responses(responses)
    }

    pub async fn handle_create_partitions(
        &self,
        ctx: &RequestContext,
        req: &CreatePartitionsRequest,
    ) -> CreatePartitionsResponse {
        let mut results = Vec::new();
        for t in &req.topics {
            let topic = t.name.0.to_string();
            let mut result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            let outcome = if !self.authorize(ctx, AclOperation::Alter, ResourceType::Topic, &topic)
            {
                Err((errors::TOPIC_AUTHORIZATION_FAILED, None))
            } else if !self.is_controller() {
                Err((errors::NOT_CONTROLLER, None))
            } else {
                self.add_partitions(&topic, t, req.validate_only).await
            };
            match outcome {
                Ok(count) => {
                    let visible = req.validate_only
                        || self
                            .await_metadata(req.timeout_ms, |s| {
                                s.topics
                                    .get(&topic)
                                    .is_some_and(|p| p.len() as i32 >= count)
                            })
                            .await;
                    if !visible {
                        result = result.with_error_code(errors::REQUEST_TIMED_OUT);
                    }
                }
                Err((code, msg)) => result = result.with_error_code(code).with_error_message(msg),
            }
            results.push(result);
        }
        CreatePartitionsResponse::default().with_results(results)
    }

    async fn add_partitions(
        &self,
        topic: &str,
        t: &kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic,
        validate_only: bool,
    ) -> Result<i32, (i16, Option<StrBytes>)> {
        let existing = self
            .metadata_cache
            .snapshot()
            .topics
            .get(topic)
            .map_or(0, |p| p.len() as i32);
        let manual: Option<Assignment> = t.assignments.as_ref().map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, a)| {
                    (
                        existing + i as i32,
                        a.broker_ids.iter().map(|b| b.0).collect(),
                    )
                })
                .collect()
        });
        zk_admin::add_partitions(
            &self.replica_manager.zk,
            topic,
            t.count,
            manual.as_ref(),
            validate_only,
        )
        .await
        .map(|a| a.len() as i32)
        .map_err(|e| (e.code(), message(&e)))
    }
}

/// Creates `topic` with the broker defaults (num.partitions, default.replication.factor), as a
/// Metadata request for a missing topic does when auto.create.topics.enable is set. Returns
/// the error code to report for the topic when creation is impossible.
///
/// `requester` names who asked (client id and address), for the log line: a topic that comes
/// back after its deletion is traced to the client whose Metadata request re-created it.
pub async fn auto_create_topic(apis: &KafkaApis, topic: &str, requester: &str) -> Result<(), i16> {
    let partitions = apis.config.int("num.partitions");
    let rf = apis.config.int("default.replication.factor");
    let assignment =
        assign_replicas_to_brokers(&apis.live_broker_metadata(), partitions, rf, None, None)
            .map_err(|e| e.code())?;
    match zk_admin::create_topic_with_assignment(
        &apis.replica_manager.zk,
        topic,
        &BTreeMap::new(),
        &assignment,
        false,
    )
    .await
    {
        Ok(()) => {
            tracing::info!(target: "kafka.server.ZkAdminManager", "[Broker {}] Auto-created topic {topic} ({partitions} partitions, replication factor {rf}) for a Metadata request from {requester}", apis.state.broker_id);
            Ok(())
        }
        Err(AdminError::TopicAlreadyExists(_)) => Ok(()),
        Err(e) => {
            tracing::warn!(target: "kafka.server.ZkAdminManager", "Auto-creation of {topic} failed: {e}");
            Err(e.code())
        }
    }
}
