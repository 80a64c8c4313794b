//! InitProducerId (KafkaApis.handleInitProducerIdRequest): a producer id and epoch for a
//! producer. Idempotent producers (`transactional_id = null`) get a fresh id from this
//! broker's ProducerIdManager with epoch 0, from any broker, with nothing persisted.
//! Transactional ids belong to the transaction coordinator (src/server/transactions.rs).

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::network::request::RequestContext;
use crate::security::authorizer::acl::CLUSTER_NAME;
use crate::security::authorizer::{AclOperation, ResourceType};
use crate::server::apis::KafkaApis;
use crate::server::errors;

pub async fn handle(
    apis: &KafkaApis,
    ctx: &RequestContext,
    req: &InitProducerIdRequest,
) -> InitProducerIdResponse {
    // Both or neither of (ProducerId, ProducerEpoch) must be set (KIP-360 resume fields).
    if (req.producer_id.0 == -1) != (req.producer_epoch == -1) {
        return error(errors::INVALID_REQUEST);
    }
    // A transactional id needs WRITE on it; an idempotent producer IDEMPOTENT_WRITE on the
    // cluster or WRITE on some topic (KIP-679).
    let authorized = match &req.transactional_id {
        Some(id) => apis.authorize(ctx, AclOperation::Write, ResourceType::TransactionalId, id),
        None => {
            apis.authorize_filter(
                ctx,
                AclOperation::IdempotentWrite,
                ResourceType::Cluster,
                CLUSTER_NAME,
            ) || apis.authorize_any(ctx, AclOperation::Write, ResourceType::Topic)
        }
    };
    if !authorized {
        return error(match req.transactional_id {
            Some(_) => errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            None => errors::CLUSTER_AUTHORIZATION_FAILED,
        });
    }
    match &req.transactional_id {
        None => init_idempotent(apis).await,
        Some(_) => apis.handle_init_producer_id_transactional(ctx, req).await,
    }
}

/// TransactionCoordinator.handleInitProducerId with a null transactional id.
async fn init_idempotent(apis: &KafkaApis) -> InitProducerIdResponse {
    match apis.producer_id_manager.generate_producer_id().await {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(e) => {
            tracing::error!(target: "kafka.coordinator.transaction.TransactionCoordinator",
                "[TransactionCoordinator id={}] Failed to allocate a producer id: {e}", apis.state.broker_id);
            error(errors::COORDINATOR_NOT_AVAILABLE)
        }
    }
}

/// Error answers carry no producer id (-1, -1).
fn error(code: i16) -> InitProducerIdResponse {
    InitProducerIdResponse::default()
        .with_error_code(code)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1)
}
