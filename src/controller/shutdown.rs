//! Controlled shutdown, controller side (KafkaController.doControlledShutdown;
//! controller-behaviour.md §11.2): move every leadership away from the shutting-down broker,
//! take it out of the ISRs of the partitions it follows, and tell it what it still leads.

use tokio::sync::oneshot;

use super::active::ActiveController;
use super::batch::RequestBatch;
use super::context::ReplicaState;
use super::event::ControllerEvent;
use super::state_machine::Strategy;
use super::ControllerHandle;
use crate::log::TopicPartition;
use crate::server::errors;
use crate::zk::ZkResult;

/// The controller's answer: partitions the broker still leads, or an error code.
pub type ShutdownReply = Result<Vec<TopicPartition>, i16>;

impl ControllerHandle {
    /// Queues a ControlledShutdown for the event task and waits for its answer. A controller
    /// that is not (or no longer) active drops the request: that is ControllerMovedException,
    /// which Kafka answers as STALE_CONTROLLER_EPOCH.
    pub async fn controlled_shutdown(&self, broker_id: i32, broker_epoch: i64) -> ShutdownReply {
        let (reply, rx) = oneshot::channel();
        let event = ControllerEvent::ControlledShutdown {
            broker_id,
            broker_epoch,
            reply,
        };
        if self.events.send(event).is_err() {
            return Err(errors::STALE_CONTROLLER_EPOCH);
        }
        rx.await.unwrap_or(Err(errors::STALE_CONTROLLER_EPOCH))
    }
}

impl ActiveController {
    pub async fn on_controlled_shutdown(
        &mut self,
        broker_id: i32,
        broker_epoch: i64,
        reply: oneshot::Sender<ShutdownReply>,
    ) -> ZkResult<()> {
        let result = self.do_controlled_shutdown(broker_id, broker_epoch).await;
        let answer = match &result {
            Ok(r) => r.clone(),
            Err(_) => Err(errors::STALE_CONTROLLER_EPOCH),
        };
        let _ = reply.send(answer);
        result.map(|_| ())
    }

    async fn do_controlled_shutdown(
        &mut self,
        id: i32,
        broker_epoch: i64,
    ) -> ZkResult<ShutdownReply> {
        tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Shutting down broker {id}", self.id);
        if !self.ctx.live_brokers.contains_key(&id) {
            return Ok(Err(errors::BROKER_NOT_AVAILABLE));
        }
        let cached = self.ctx.broker_epoch(id);
        if broker_epoch != -1 && broker_epoch < cached {
            tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Ignoring controlled shutdown of broker {id}: broker epoch {broker_epoch} is older than the current {cached}", self.id);
            return Ok(Err(errors::STALE_BROKER_EPOCH));
        }
        self.ctx.shutting_down.insert(id);
        tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Shutting down brokers: {:?}; live brokers: {:?}", self.id, self.ctx.shutting_down, self.ctx.live_broker_ids());
        // Replicated partitions with known leadership whose topic is not being deleted.
        let to_act: Vec<TopicPartition> = self
            .ctx
            .partitions_on_broker(id)
            .into_iter()
            .filter(|tp| {
                self.ctx.replicas(tp).len() > 1
                    && self.ctx.leadership.contains_key(tp)
                    && !self.ctx.is_being_deleted(&tp.topic)
            })
            .collect();
        let (led, followed): (Vec<_>, Vec<_>) = to_act
            .into_iter()
            .partition(|tp| self.ctx.leadership[tp].leader == id);
        let mut batch = RequestBatch::default();
        let strategy = Strategy::ControlledShutdown([id].into_iter().collect());
        let mut sm = self.machines(&mut batch);
        sm.partitions_online(&led, &strategy).await?;
        let followers: Vec<(TopicPartition, i32)> =
            followed.into_iter().map(|tp| (tp, id)).collect();
        // replica → Offline queues StopReplica (delete=false) and drops it from the ISR.
        sm.replicas_to(&followers, ReplicaState::Offline).await?;
        self.send(batch);
        let remaining: Vec<TopicPartition> = self
            .ctx
            .leadership
            .iter()
            .filter(|(_, s)| s.leader == id)
            .map(|(tp, _)| tp.clone())
            .collect();
        tracing::info!(target: "kafka.controller.KafkaController",
            "[Controller id={}] Controlled shutdown of broker {id}: {} partitions still led by it{}",
            self.id, remaining.len(),
            if remaining.is_empty() { String::new() } else { format!(" ({})", remaining.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(",")) });
        Ok(Ok(remaining))
    }
}
