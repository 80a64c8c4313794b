//! Controlled shutdown: the broker side (KafkaServer.controlledShutdown — ask the controller
//! to move our leaderships away before we stop) and the ControlledShutdown request handler
//! on the controller's broker (controller-behaviour.md §11).

use std::time::Duration;

use kafka_protocol::messages::controlled_shutdown_response::RemainingPartition;
use kafka_protocol::messages::{
    BrokerId, ControlledShutdownRequest, ControlledShutdownResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::config::KafkaConfig;
use crate::network::client::BrokerClient;
use crate::security::sasl::SaslClientConfig;
use crate::server::apis::KafkaApis;
use crate::server::errors;
use crate::zk::KafkaZkClient;

/// ControlledShutdown version sent at inter.broker.protocol.version ≥ 2.4-IV1.
const CONTROLLED_SHUTDOWN_VERSION: i16 = 3;

/// The handler: the controller event answers with what the broker still leads.
pub async fn handle(
    apis: &KafkaApis,
    req: &ControlledShutdownRequest,
) -> ControlledShutdownResponse {
    let Some(controller) = apis.controller.get() else {
        return ControlledShutdownResponse::default()
            .with_error_code(errors::STALE_CONTROLLER_EPOCH);
    };
    match controller
        .controlled_shutdown(req.broker_id.0, req.broker_epoch)
        .await
    {
        Ok(remaining) => ControlledShutdownResponse::default()
            .with_error_code(errors::NONE)
            .with_remaining_partitions(
                remaining
                    .into_iter()
                    .map(|tp| {
                        RemainingPartition::default()
                            .with_topic_name(TopicName(StrBytes::from_string(tp.topic)))
                            .with_partition_index(tp.partition)
                    })
                    .collect(),
            ),
        Err(code) => ControlledShutdownResponse::default().with_error_code(code),
    }
}

/// Asks the controller to move leadership away, up to `controlled.shutdown.max.retries`
/// times. Returns whether it succeeded (error NONE and nothing left to move).
pub async fn controlled_shutdown(
    config: &KafkaConfig,
    zk: &KafkaZkClient,
    broker_epoch: i64,
) -> bool {
    let id = config.broker_id;
    let retries = config.int("controlled.shutdown.max.retries").max(0);
    let backoff =
        Duration::from_millis(config.long("controlled.shutdown.retry.backoff.ms").max(0) as u64);
    let timeout = Duration::from_millis(config.long("controller.socket.timeout.ms").max(1) as u64);
    tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] Starting controlled shutdown");
    for attempt in 1..=retries {
        match bounded_attempt(config, zk, broker_epoch, timeout).await {
            Ok(remaining) if remaining.is_empty() => {
                tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] Controlled shutdown request returned successfully");
                return true;
            }
            Ok(remaining) => tracing::info!(target: "kafka.server.KafkaServer",
                "[KafkaServer id={id}] Remaining partitions to move: {}", remaining.join(",")),
            Err(e) => tracing::warn!(target: "kafka.server.KafkaServer",
                "[KafkaServer id={id}] Error during controlled shutdown, possibly because leader movement took longer than the configured controller.socket.timeout.ms and/or request.timeout.ms: {e}"),
        }
        if attempt < retries {
            tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] Retrying controlled shutdown after the previous attempt failed ({attempt}/{retries})...");
            tokio::time::sleep(backoff).await;
        }
    }
    tracing::warn!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] Proceeding to do an unclean shutdown as all the controlled shutdown attempts failed");
    false
}

/// `attempt_once` within `controller.socket.timeout.ms`: ZooKeeper requests wait while the
/// session reconnects (e.g. no quorum), and a shutdown must not wait for the ensemble.
async fn bounded_attempt(
    config: &KafkaConfig,
    zk: &KafkaZkClient,
    broker_epoch: i64,
    timeout: Duration,
) -> anyhow::Result<Vec<String>> {
    tokio::time::timeout(timeout, attempt_once(config, zk, broker_epoch, timeout))
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "no answer from ZooKeeper and the controller within controller.socket.timeout.ms"
            ))
        })
}

/// One attempt: find the controller (`/controller`, then its registration), send the request.
async fn attempt_once(
    config: &KafkaConfig,
    zk: &KafkaZkClient,
    broker_epoch: i64,
    timeout: Duration,
) -> anyhow::Result<Vec<String>> {
    let controller = zk
        .get_controller_id()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no controller in /controller"))?;
    let (reg, _) = zk
        .get_broker(controller)
        .await?
        .ok_or_else(|| anyhow::anyhow!("controller {controller} is not registered"))?;
    let ep = reg
        .broker
        .endpoints
        .iter()
        .find(|e| e.listener_name == config.inter_broker_listener_name)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "controller {controller} has no {} listener",
                config.inter_broker_listener_name
            )
        })?;
    let addr = format!("{}:{}", ep.host, ep.port);
    let client_id = format!("broker-{}-controlled-shutdown", config.broker_id);
    let mut client = BrokerClient::connect_inter_broker(&addr, &client_id, timeout, timeout)
        .await?
        .authenticated(SaslClientConfig::inter_broker(config)?.as_ref())
        .await?;
    let req = ControlledShutdownRequest::default()
        .with_broker_id(BrokerId(config.broker_id))
        .with_broker_epoch(broker_epoch);
    let resp = client.send(&req, CONTROLLED_SHUTDOWN_VERSION).await?;
    anyhow::ensure!(
        resp.error_code == errors::NONE,
        "controller {controller} answered {}",
        errors::name(resp.error_code)
    );
    Ok(resp
        .remaining_partitions
        .iter()
        .map(|p| format!("{}-{}", p.topic_name.0, p.partition_index))
        .collect())
}
