//! Controller events (KafkaController.scala / ControllerState.scala). Watches, timers and
//! session callbacks only enqueue these; the event task processes them one at a time.

use tokio::sync::oneshot;

#[derive(Debug)]
pub enum ControllerEvent {
    /// The component started: watch `/controller`, then try to win it.
    Startup,
    /// `/controller` was created or changed.
    ControllerChange,
    /// `/controller` was deleted: every broker tries to take it.
    Reelect,
    /// Our ZooKeeper session expired: resign at once.
    Expire,
    /// A new session exists: re-register `/brokers/ids/<id>`, then re-elect.
    RegisterBrokerAndReelect,
    /// Children of `/brokers/ids` changed.
    BrokerChange,
    /// A broker answered an UpdateMetadata.
    UpdateMetadataResponseReceived { broker_id: i32, error_code: i16 },
    /// Stop the component (broker shutdown); resigns if active.
    Shutdown(oneshot::Sender<()>),
}

impl ControllerEvent {
    /// The ControllerState name Kafka reports while processing this event.
    pub fn state(&self) -> &'static str {
        match self {
            Self::Startup | Self::ControllerChange | Self::Reelect => "ControllerChange",
            Self::Expire | Self::RegisterBrokerAndReelect => "ControllerChange",
            Self::BrokerChange => "BrokerChange",
            Self::UpdateMetadataResponseReceived { .. } => "UpdateMetadataResponseReceived",
            Self::Shutdown(_) => "ControllerShutdown",
        }
    }
}
