//! The controller component (KafkaController.scala). Every broker runs one; the broker that
//! holds `/controller` is the active controller. All state changes happen on one task that
//! drains the event queue, so the controller's state needs no locks.

pub mod active;
pub mod batch;
pub mod channel;
pub mod context;
pub mod election;
pub mod event;
pub mod leader_balance;
mod log_dir;
pub mod reassignment;
pub mod replica_state_machine;
pub mod requests;
pub mod shutdown;
pub mod state_machine;
mod topics;

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use zookeeper_client::EventType;

use crate::config::KafkaConfig;
use crate::metrics::events::{EventKind, Subject};
use crate::metrics::{controller_state_code, METRICS};
use crate::server::apis::BrokerState;
use crate::server::errors;
use crate::zk::codec::BrokerRegistration;
use crate::zk::{paths, KafkaZkClient, SessionEvent, ZkError, ZkResult};
use active::ActiveController;
use context::PartitionStateKind;
use event::ControllerEvent;

/// A handle to the controller component, held by the broker.
#[derive(Clone)]
pub struct ControllerHandle {
    events: mpsc::UnboundedSender<ControllerEvent>,
    /// The broker id currently named in `/controller` as last seen (-1 = none).
    pub active_controller_id: Arc<AtomicI32>,
}

impl ControllerHandle {
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.events.send(ControllerEvent::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

pub struct KafkaController {
    config: Arc<KafkaConfig>,
    zk: KafkaZkClient,
    broker: Arc<BrokerState>,
    registration: BrokerRegistration,
    events: mpsc::UnboundedSender<ControllerEvent>,
    active_controller_id: Arc<AtomicI32>,
    controller_watch: Option<JoinHandle<()>>,
    active: Option<ActiveController>,
}

impl KafkaController {
    /// Starts the component: its event task, and the forwarding of ZooKeeper session events.
    pub fn start(
        config: Arc<KafkaConfig>,
        zk: KafkaZkClient,
        broker: Arc<BrokerState>,
        registration: BrokerRegistration,
    ) -> ControllerHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let active_controller_id = Arc::new(AtomicI32::new(-1));
        let controller = KafkaController {
            config,
            zk: zk.clone(),
            broker,
            registration,
            events: tx.clone(),
            active_controller_id: active_controller_id.clone(),
            controller_watch: None,
            active: None,
        };
        tokio::spawn(forward_session_events(zk, tx.clone()));
        let _ = tx.send(ControllerEvent::Startup);
        tokio::spawn(controller.run(rx));
        ControllerHandle {
            events: tx,
            active_controller_id,
        }
    }

    fn id(&self) -> i32 {
        self.broker.broker_id
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<ControllerEvent>) {
        while let Some(event) = rx.recv().await {
            tracing::debug!(target: "kafka.controller.ControllerEventManager", "[Controller id={}] Processing {event:?} (state {})", self.id(), event.state());
            if let ControllerEvent::Shutdown(done) = event {
                self.on_controller_resignation();
                if let Some(w) = self.controller_watch.take() {
                    w.abort();
                }
                let _ = done.send(());
                return;
            }
            let (state, started) = (event.state(), std::time::Instant::now());
            METRICS
                .controller_state
                .set(controller_state_code(state).unwrap_or(0));
            let result = self.process(event).await;
            self.handle_error(result).await;
            METRICS.record_controller_event(state, started.elapsed());
            self.update_gauges();
        }
    }

    /// The KafkaController gauges after each event; Idle between events.
    fn update_gauges(&self) {
        METRICS.controller_state.set(0);
        if let Some(active) = &self.active {
            let ctx = &active.ctx;
            let offline = ctx
                .partition_states
                .values()
                .filter(|s| **s == PartitionStateKind::Offline)
                .count();
            METRICS.offline_partitions.set(offline as i64);
            METRICS
                .global_partition_count
                .set(ctx.assignments.len() as i64);
            METRICS
                .global_topic_count
                .set(ctx.all_topics().len() as i64);
        }
    }

    async fn process(&mut self, event: ControllerEvent) -> ZkResult<()> {
        match event {
            ControllerEvent::Startup => {
                self.watch_controller().await?;
                self.elect().await
            }
            ControllerEvent::ControllerChange => {
                self.watch_controller().await?;
                self.maybe_resign().await
            }
            ControllerEvent::Reelect => {
                self.watch_controller().await?;
                self.maybe_resign().await?;
                self.elect().await
            }
            ControllerEvent::Expire(session) => {
                // Already re-elected in the new session (a resync ran first): nothing to drop.
                if self
                    .active
                    .as_ref()
                    .is_some_and(|a| a.session_id != session)
                {
                    return Ok(());
                }
                self.active_controller_id.store(-1, Ordering::SeqCst);
                self.on_controller_resignation();
                Ok(())
            }
            ControllerEvent::Resync => self.resync().await,
            ControllerEvent::RegisterBrokerAndReelect => self.register_broker_and_reelect().await,
            ControllerEvent::UpdateMetadataResponseReceived {
                broker_id,
                error_code,
            } => {
                if error_code != errors::NONE {
                    tracing::error!(target: "kafka.controller.KafkaController", "[Controller id={}] Received {} in UpdateMetadata response from broker {broker_id}", self.id(), errors::name(error_code));
                }
                Ok(())
            }
            ControllerEvent::Shutdown(_) => unreachable!("handled in run"),
            other => match self.active.as_mut() {
                Some(active) => process_active(active, other).await,
                None => Ok(()), // only the active controller acts on these
            },
        }
    }

    /// A fenced write failed or ZooKeeper misbehaved: resign as Kafka does, and retry the
    /// election later if it was a transient error while electing.
    async fn handle_error(&mut self, result: ZkResult<()>) {
        match result {
            Ok(()) => {}
            Err(ZkError::ControllerMoved) => {
                tracing::warn!(target: "kafka.controller.KafkaController", "[Controller id={}] Controller moved to another broker; resigning", self.id());
                let _ = self.maybe_resign().await;
            }
            Err(e) if e.is(zookeeper_client::Error::SessionExpired) => {
                tracing::warn!(target: "kafka.controller.KafkaController", "[Controller id={}] ZooKeeper session ended during processing: {e}", self.id());
            }
            // Kafka's controller would have waited for the connection and retried; the
            // request's outcome is unknown, so rebuild from ZooKeeper rather than resign.
            Err(e) if e.is_connection_loss() => {
                tracing::warn!(target: "kafka.controller.KafkaController", "[Controller id={}] {e} during processing; re-reading state from ZooKeeper once reconnected", self.id());
                let _ = self.events.send(ControllerEvent::Resync);
            }
            Err(e) => {
                tracing::error!(target: "kafka.controller.KafkaController", "[Controller id={}] Error processing event: {e}; will retry election in 1 s", self.id());
                self.trigger_controller_move().await;
                let events = self.events.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let _ = events.send(ControllerEvent::Reelect);
                });
            }
        }
    }

    /// Exists-watch on `/controller`: deletion → Reelect, creation/change → ControllerChange.
    async fn watch_controller(&mut self) -> ZkResult<()> {
        if let Some(old) = self.controller_watch.take() {
            old.abort();
        }
        let client = self.zk.client().await?;
        let (stat, watcher) = client
            .check_and_watch_stat(paths::CONTROLLER)
            .await
            .map_err(|e| ZkError::op(paths::CONTROLLER, e))?;
        if stat.is_none() {
            self.active_controller_id.store(-1, Ordering::SeqCst);
        }
        let events = self.events.clone();
        self.controller_watch = Some(tokio::spawn(async move {
            let fired = watcher.changed().await;
            let event = match fired.event_type {
                EventType::NodeDeleted => ControllerEvent::Reelect,
                EventType::Session => return,
                _ => ControllerEvent::ControllerChange,
            };
            let _ = events.send(event);
        }));
        Ok(())
    }

    /// Kafka's `elect`: take `/controller` and bump `/controller_epoch` in one multi.
    async fn elect(&mut self) -> ZkResult<()> {
        if let Some(id) = self.zk.get_controller_id().await? {
            self.active_controller_id.store(id, Ordering::SeqCst);
            if id != -1 {
                tracing::debug!(target: "kafka.controller.KafkaController", "[Controller id={}] Broker {id} has been elected as the controller, so stopping the election process.", self.id());
                return Ok(());
            }
        }
        match self
            .zk
            .register_controller_and_increment_epoch(self.id(), now_ms())
            .await
        {
            Ok((epoch, epoch_zk_version)) => {
                self.active_controller_id.store(self.id(), Ordering::SeqCst);
                crate::narrate!(info, "kafka.controller.KafkaController", EventKind::ControllerElected, Subject::NONE,
                    "[Controller id={}] {} successfully elected as the controller. Epoch incremented to {epoch} and epoch zk version is now {epoch_zk_version}",
                    self.id(), self.id());
                self.on_controller_failover(epoch, epoch_zk_version).await
            }
            Err(ZkError::ControllerMoved) => {
                let winner = self.zk.get_controller_id().await?.unwrap_or(-1);
                self.active_controller_id.store(winner, Ordering::SeqCst);
                tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Broker {winner} was elected as controller instead of broker {}", self.id(), self.id());
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn maybe_resign(&mut self) -> ZkResult<()> {
        let was_active = self.active.is_some();
        let now = self.zk.get_controller_id().await?.unwrap_or(-1);
        self.active_controller_id.store(now, Ordering::SeqCst);
        if was_active && now != self.id() {
            self.on_controller_resignation();
        }
        Ok(())
    }

    async fn register_broker_and_reelect(&mut self) -> ZkResult<()> {
        let epoch = self.zk.register_broker(&self.registration).await?;
        self.broker.set_broker_epoch(epoch);
        tracing::info!(target: "kafka.zk.KafkaZkClient", "Re-registered broker {} at path {} with broker epoch {epoch}", self.id(), paths::broker_id(self.id()));
        self.watch_controller().await?;
        self.maybe_resign().await?;
        self.elect().await
    }

    /// `Resync`: re-arm the `/controller` watch and check who holds it; as the active
    /// controller, redo the failover work in place (same epoch: every watch re-armed, all
    /// state re-read, brokers told again), otherwise take part in an election if needed.
    async fn resync(&mut self) -> ZkResult<()> {
        self.watch_controller().await?;
        self.maybe_resign().await?;
        let Some((epoch, epoch_zk_version)) = self
            .active
            .as_ref()
            .map(|a| (a.ctx.epoch, a.ctx.epoch_zk_version))
        else {
            return self.elect().await;
        };
        tracing::info!(target: "kafka.controller.KafkaController", "[Controller id={}] Re-reading controller state from ZooKeeper (epoch {epoch} kept)", self.id());
        // The old state stays until the new one is built: a failure then resigns properly.
        self.on_controller_failover(epoch, epoch_zk_version).await
    }

    /// Deletes `/controller` (fenced) when this broker is active, so that someone re-elects.
    async fn trigger_controller_move(&mut self) {
        if let Some(active) = self.active.as_ref() {
            let version = active.ctx.epoch_zk_version;
            self.on_controller_resignation();
            if let Err(e) = self.zk.delete_controller(version).await {
                tracing::warn!(target: "kafka.controller.KafkaController", "[Controller id={}] could not delete /controller while resigning: {e}", self.id());
            }
        }
    }

    /// Becoming the active controller (`onControllerFailover`).
    async fn on_controller_failover(&mut self, epoch: i32, epoch_zk_version: i32) -> ZkResult<()> {
        let active = ActiveController::failover(
            self.id(),
            epoch,
            epoch_zk_version,
            self.zk.clone(),
            self.config.clone(),
            self.events.clone(),
        )
        .await?;
        self.active = Some(active);
        Ok(())
    }

    fn on_controller_resignation(&mut self) {
        if self.active.take().is_some() {
            crate::narrate!(
                info,
                "kafka.controller.KafkaController",
                EventKind::ControllerResigned,
                Subject::NONE,
                "[Controller id={}] Resigned",
                self.id()
            );
        }
    }
}

/// Events only the active controller handles.
async fn process_active(active: &mut ActiveController, event: ControllerEvent) -> ZkResult<()> {
    match event {
        ControllerEvent::BrokerChange => active.on_broker_change().await,
        ControllerEvent::TopicChange => active.on_topic_change().await,
        ControllerEvent::PartitionModifications(topic) => {
            active.on_partition_modifications(&topic).await
        }
        ControllerEvent::TopicDeletion => active.on_topic_deletion().await,
        ControllerEvent::IsrChangeNotification => active.on_isr_change_notification().await,
        ControllerEvent::LogDirEventNotification => active.on_log_dir_event_notification().await,
        ControllerEvent::ControlledShutdown {
            broker_id,
            broker_epoch,
            reply,
        } => {
            active
                .on_controlled_shutdown(broker_id, broker_epoch, reply)
                .await
        }
        ControllerEvent::LeaderAndIsrResponseReceived {
            broker_id,
            error_code,
            partition_errors,
        } => {
            active
                .on_leader_and_isr_response(broker_id, error_code, &partition_errors)
                .await
        }
        ControllerEvent::StopReplicaResponseReceived {
            broker_id,
            error_code,
            partition_errors,
        } => {
            active
                .on_stop_replica_response(broker_id, error_code, &partition_errors)
                .await
        }
        ControllerEvent::ReplicaLeaderElection {
            partitions,
            election_type,
            trigger,
            reply,
        } => {
            active
                .on_replica_leader_election(partitions, election_type, trigger, reply)
                .await
        }
        ControllerEvent::ApiPartitionReassignment {
            reassignments,
            reply,
        } => {
            active
                .on_api_partition_reassignment(reassignments, reply)
                .await
        }
        ControllerEvent::ListPartitionReassignments { partitions, reply } => {
            active.on_list_partition_reassignments(partitions, reply);
            Ok(())
        }
        ControllerEvent::ZkPartitionReassignment => active.on_zk_partition_reassignment().await,
        ControllerEvent::AutoPreferredReplicaLeaderElection => {
            active.on_auto_leader_rebalance().await
        }
        other => {
            tracing::error!(target: "kafka.controller.KafkaController", "unexpected event {other:?} for the active controller");
            Ok(())
        }
    }
}

/// Turns ZooKeeper session events into controller events (Expire / RegisterBrokerAndReelect
/// / Resync).
async fn forward_session_events(zk: KafkaZkClient, events: mpsc::UnboundedSender<ControllerEvent>) {
    let mut rx = zk.subscribe();
    while let Ok(e) = rx.recv().await {
        let event = match e {
            SessionEvent::Expired(session) => ControllerEvent::Expire(session),
            SessionEvent::Initialized => ControllerEvent::RegisterBrokerAndReelect,
            SessionEvent::Reconnected => ControllerEvent::Resync,
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
