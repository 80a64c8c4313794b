//! Controller events (KafkaController.scala / ControllerState.scala). Watches, timers and
//! session callbacks only enqueue these; the event task processes them one at a time.

use tokio::sync::oneshot;

use crate::log::TopicPartition;

#[derive(Debug)]
pub enum ControllerEvent {
    /// The component started: watch `/controller`, then try to win it.
    Startup,
    /// `/controller` was created or changed.
    ControllerChange,
    /// `/controller` was deleted: every broker tries to take it.
    Reelect,
    /// Our ZooKeeper session (this id) expired: resign at once if we won in that session.
    Expire(i64),
    /// Our session is back on a new connection, or a request was lost with its connection:
    /// watches may be gone and changes missed, so re-arm and re-read everything.
    Resync,
    /// A new session exists: re-register `/brokers/ids/<id>`, then re-elect.
    RegisterBrokerAndReelect,
    /// Children of `/brokers/ids` changed.
    BrokerChange,
    /// Children of `/brokers/topics` changed (topic creation).
    TopicChange,
    /// `/brokers/topics/<t>` changed (partitions added).
    PartitionModifications(String),
    /// Children of `/admin/delete_topics` changed.
    TopicDeletion,
    /// Children of `/isr_change_notification` changed: leaders changed ISRs.
    IsrChangeNotification,
    /// Children of `/log_dir_event_notification` changed: a broker's log dir failed.
    LogDirEventNotification,
    /// A broker answered an UpdateMetadata.
    UpdateMetadataResponseReceived { broker_id: i32, error_code: i16 },
    /// A broker answered a LeaderAndIsr.
    LeaderAndIsrResponseReceived {
        broker_id: i32,
        error_code: i16,
        partition_errors: Vec<(TopicPartition, i16)>,
    },
    /// A broker answered a StopReplica (drives topic deletion).
    StopReplicaResponseReceived {
        broker_id: i32,
        error_code: i16,
        partition_errors: Vec<(TopicPartition, i16)>,
    },
    /// A broker asks to shut down (ControlledShutdown request); answered on `reply`.
    ControlledShutdown {
        broker_id: i32,
        broker_epoch: i64,
        reply: oneshot::Sender<super::shutdown::ShutdownReply>,
    },
    /// A replica leader election: ElectLeaders (partitions named, answered on `reply`) or
    /// `/admin/preferred_replica_election` (partitions read from the znode).
    ReplicaLeaderElection {
        partitions: Option<Vec<TopicPartition>>,
        election_type: super::leader_balance::ElectionType,
        trigger: super::leader_balance::ElectionTrigger,
        reply: Option<super::leader_balance::ElectionReply>,
    },
    /// AlterPartitionReassignments (`None` cancels); answered on `reply`.
    ApiPartitionReassignment {
        reassignments: Vec<(TopicPartition, Option<Vec<i32>>)>,
        reply: oneshot::Sender<super::reassignment::ReassignmentResults>,
    },
    /// ListPartitionReassignments (`None` = all).
    ListPartitionReassignments {
        partitions: Option<Vec<TopicPartition>>,
        reply: oneshot::Sender<Vec<super::reassignment::OngoingReassignment>>,
    },
    /// `/admin/reassign_partitions` was created.
    ZkPartitionReassignment,
    /// The auto-rebalance timer fired (`leader.imbalance.check.interval.seconds`).
    AutoPreferredReplicaLeaderElection,
    /// Stop the component (broker shutdown); resigns if active.
    Shutdown(oneshot::Sender<()>),
}

impl ControllerEvent {
    /// `/admin/preferred_replica_election` was created (or the watch must be re-armed).
    pub fn zk_preferred_election() -> ControllerEvent {
        ControllerEvent::ReplicaLeaderElection {
            partitions: None,
            election_type: super::leader_balance::ElectionType::Preferred,
            trigger: super::leader_balance::ElectionTrigger::ZkTriggered,
            reply: None,
        }
    }

    /// The ControllerState name Kafka reports while processing this event.
    pub fn state(&self) -> &'static str {
        match self {
            Self::Startup | Self::ControllerChange | Self::Reelect => "ControllerChange",
            Self::Expire(_) | Self::RegisterBrokerAndReelect | Self::Resync => "ControllerChange",
            Self::BrokerChange => "BrokerChange",
            Self::TopicChange | Self::PartitionModifications(_) => "TopicChange",
            Self::TopicDeletion | Self::StopReplicaResponseReceived { .. } => "TopicDeletion",
            Self::IsrChangeNotification => "IsrChange",
            Self::LogDirEventNotification => "LogDirChange",
            Self::UpdateMetadataResponseReceived { .. } => "UpdateMetadataResponseReceived",
            Self::LeaderAndIsrResponseReceived { .. } => "LeaderAndIsrResponseReceived",
            Self::ControlledShutdown { .. } => "ControlledShutdown",
            Self::Shutdown(_) => "ControllerShutdown",
            Self::ReplicaLeaderElection { .. } => "ManualLeaderBalance",
            Self::AutoPreferredReplicaLeaderElection => "AutoLeaderBalance",
            Self::ApiPartitionReassignment { .. } | Self::ZkPartitionReassignment => {
                "AlterPartitionReassignment"
            }
            Self::ListPartitionReassignments { .. } => "ListPartitionReassignment",
        }
    }
}
