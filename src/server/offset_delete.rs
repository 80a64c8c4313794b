//! OffsetDelete (KafkaApis.handleOffsetDeleteRequest): removes a group's committed offsets
//! for partitions it no longer consumes. Needs DELETE on the group (else the whole request
//! fails with GROUP_AUTHORIZATION_FAILED) and READ on each topic (else that topic's
//! partitions get TOPIC_AUTHORIZATION_FAILED).

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use crate::network::request::RequestContext;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::KafkaApis;
use crate::server::errors;
use crate::server::groups::{by_topic, topic_name};

impl KafkaApis {
    pub fn handle_offset_delete(
        &self,
        ctx: &RequestContext,
        req: &OffsetDeleteRequest,
    ) -> OffsetDeleteResponse {
        if !self.authorize(
            ctx,
            AclOperation::Delete,
            ResourceType::Group,
            &req.group_id,
        ) {
            return OffsetDeleteResponse::default()
                .with_error_code(errors::GROUP_AUTHORIZATION_FAILED);
        }
        let snapshot = self.metadata_cache.snapshot();
        let mut refused = Vec::new();
        let mut known = Vec::new();
        for t in &req.topics {
            let readable = self.authorize(ctx, AclOperation::Read, ResourceType::Topic, &t.name);
            for p in &t.partitions {
                let key = (t.name.to_string(), p.partition_index);
                if !readable {
                    refused.push((key, errors::TOPIC_AUTHORIZATION_FAILED));
                } else if snapshot.partition(&key.0, key.1).is_some() {
                    known.push(key);
                } else {
                    refused.push((key, errors::UNKNOWN_TOPIC_OR_PARTITION));
                }
            }
        }
        let (code, mut results) = self.group_coordinator.delete_offsets(&req.group_id, &known);
        if code != errors::NONE {
            return OffsetDeleteResponse::default().with_error_code(code);
        }
        results.extend(refused);
        OffsetDeleteResponse::default()
            .with_error_code(errors::NONE)
            .with_topics(response_topics(results))
    }
}

fn response_topics(results: Vec<((String, i32), i16)>) -> Vec<OffsetDeleteResponseTopic> {
    by_topic(results)
        .into_iter()
        .map(|(t, ps)| {
            let partitions = ps
                .into_iter()
                .map(|(p, c)| {
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p)
                        .with_error_code(c)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(topic_name(&t))
                .with_partitions(partitions)
        })
        .collect()
}
