//! ControllerChannelManager: one FIFO queue and one sender task per live broker. A request
//! is retried on the same broker every 100 ms until it gets a response or the broker is
//! removed, exactly as Kafka's RequestSendThread does.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::{LeaderAndIsrRequest, StopReplicaRequest, UpdateMetadataRequest};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::event::ControllerEvent;
use super::requests;
use crate::cluster::Broker;
use crate::log::TopicPartition;
use crate::network::client::BrokerClient;
use crate::security::sasl::SaslClientConfig;

/// A request from the controller to one broker (sent at the versions in `requests`).
#[derive(Debug)]
pub enum ControllerRequest {
    LeaderAndIsr(LeaderAndIsrRequest),
    UpdateMetadata(UpdateMetadataRequest),
    StopReplica(StopReplicaRequest),
}

struct BrokerChannel {
    queue: mpsc::UnboundedSender<ControllerRequest>,
    task: JoinHandle<()>,
}

pub struct ControllerChannelManager {
    controller_id: i32,
    listener_name: String,
    timeouts: (Duration, Duration),
    /// The inter-broker SASL credentials, when the inter-broker listener is SASL.
    sasl: Option<SaslClientConfig>,
    events: mpsc::UnboundedSender<ControllerEvent>,
    channels: BTreeMap<i32, BrokerChannel>,
}

impl ControllerChannelManager {
    pub fn new(
        controller_id: i32,
        listener_name: String,
        connect_timeout: Duration,
        request_timeout: Duration,
        sasl: Option<SaslClientConfig>,
        events: mpsc::UnboundedSender<ControllerEvent>,
    ) -> Self {
        ControllerChannelManager {
            controller_id,
            listener_name,
            timeouts: (connect_timeout, request_timeout),
            sasl,
            events,
            channels: BTreeMap::new(),
        }
    }

    pub fn add_broker(&mut self, broker: &Broker) {
        self.remove_broker(broker.id);
        let Some(ep) = broker.endpoint(&self.listener_name) else {
            tracing::error!(target: "kafka.controller.ControllerChannelManager",
                "[Channel manager on controller {}] broker {} has no {} endpoint; cannot send it requests",
                self.controller_id, broker.id, self.listener_name);
            return;
        };
        let (queue, rx) = mpsc::unbounded_channel();
        let sender = RequestSendThread {
            controller_id: self.controller_id,
            broker_id: broker.id,
            addr: format!("{}:{}", ep.host, ep.port),
            timeouts: self.timeouts,
            sasl: self.sasl.clone(),
            events: self.events.clone(),
        };
        let task = tokio::spawn(sender.run(rx));
        self.channels
            .insert(broker.id, BrokerChannel { queue, task });
    }

    pub fn remove_broker(&mut self, id: i32) {
        if let Some(ch) = self.channels.remove(&id) {
            ch.task.abort();
        }
    }

    /// Queues a request; requests to brokers without a channel are dropped, as in Kafka.
    pub fn send(&self, broker_id: i32, request: ControllerRequest) {
        if let Some(ch) = self.channels.get(&broker_id) {
            let _ = ch.queue.send(request);
        }
    }

    pub fn shutdown(&mut self) {
        for (_, ch) in std::mem::take(&mut self.channels) {
            ch.task.abort();
        }
    }
}

impl Drop for ControllerChannelManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct RequestSendThread {
    controller_id: i32,
    broker_id: i32,
    addr: String,
    timeouts: (Duration, Duration),
    sasl: Option<SaslClientConfig>,
    events: mpsc::UnboundedSender<ControllerEvent>,
}

impl RequestSendThread {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<ControllerRequest>) {
        let mut conn: Option<BrokerClient> = None;
        while let Some(request) = rx.recv().await {
            let mut failures = 0u32;
            loop {
                match self.try_send(&mut conn, &request).await {
                    Ok(event) => {
                        let _ = self.events.send(event);
                        break;
                    }
                    Err(e) => {
                        conn = None;
                        if failures == 0 {
                            tracing::warn!(target: "kafka.controller.RequestSendThread",
                                "[RequestSendThread controllerId={}] Controller {} epoch request to broker {} at {} failed: {e}; retrying every 100 ms",
                                self.controller_id, self.controller_id, self.broker_id, self.addr);
                        }
                        failures += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
    }

    async fn try_send(
        &self,
        conn: &mut Option<BrokerClient>,
        request: &ControllerRequest,
    ) -> anyhow::Result<ControllerEvent> {
        if conn.is_none() {
            let client_id = format!("controller-{}", self.controller_id);
            *conn = Some(
                BrokerClient::connect_inter_broker(
                    &self.addr,
                    &client_id,
                    self.timeouts.0,
                    self.timeouts.1,
                )
                .await?
                .authenticated(self.sasl.as_ref())
                .await?,
            );
        }
        let client = conn.as_mut().expect("connected above");
        let broker_id = self.broker_id;
        Ok(match request {
            ControllerRequest::LeaderAndIsr(req) => {
                let resp = client.send(req, requests::LEADER_AND_ISR_VERSION).await?;
                let partition_errors = resp
                    .topics
                    .iter()
                    .flat_map(|t| t.partition_errors.iter())
                    .chain(resp.partition_errors.iter())
                    .map(|e| {
                        (
                            TopicPartition::new(e.topic_name.0.as_str(), e.partition_index),
                            e.error_code,
                        )
                    })
                    .collect();
                ControllerEvent::LeaderAndIsrResponseReceived {
                    broker_id,
                    error_code: resp.error_code,
                    partition_errors,
                }
            }
            ControllerRequest::UpdateMetadata(req) => {
                let resp = client.send(req, requests::UPDATE_METADATA_VERSION).await?;
                ControllerEvent::UpdateMetadataResponseReceived {
                    broker_id,
                    error_code: resp.error_code,
                }
            }
            ControllerRequest::StopReplica(req) => {
                let resp = client.send(req, requests::STOP_REPLICA_VERSION).await?;
                let partition_errors = resp
                    .partition_errors
                    .iter()
                    .map(|e| {
                        (
                            TopicPartition::new(e.topic_name.0.as_str(), e.partition_index),
                            e.error_code,
                        )
                    })
                    .collect();
                ControllerEvent::StopReplicaResponseReceived {
                    broker_id,
                    error_code: resp.error_code,
                    partition_errors,
                }
            }
        })
    }
}
