//! The broker's side of a log dir failure (ReplicaManager.handleLogDirFailure and its
//! LogDirFailureHandler thread): stop serving every replica in the failed dir, forget its
//! logs, tell the controller through `/log_dir_event_notification`, and halt when no log dir
//! is left online.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::manager::ReplicaManager;
use crate::log::manager::join_dirs;
use crate::log::TopicPartition;
use crate::zk::codec::encode_log_dir_event;
use crate::zk::paths;

impl ReplicaManager {
    /// Whether `tp` was hosted in a log dir that failed (HostedPartition.Offline).
    pub fn is_partition_offline(&self, tp: &TopicPartition) -> bool {
        self.offline_partitions
            .read()
            .expect("offline partitions lock")
            .contains(tp)
    }

    /// Starts the LogDirFailureHandler: one task taking failed dirs off the channel in order,
    /// including dirs that failed while the logs were loaded.
    pub fn start_log_dir_failure_handler(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        let mut failed = self.log_manager.dir_failure_channel().take_receiver()?;
        let me = self.clone();
        Some(tokio::spawn(async move {
            while let Some(dir) = failed.recv().await {
                me.handle_log_dir_failure(&dir).await;
            }
        }))
    }

    /// ReplicaManager.handleLogDirFailure: the replicas in `dir` go offline here, then the
    /// controller is told so it moves their leadership and shrinks their ISRs.
    async fn handle_log_dir_failure(&self, dir: &Path) {
        let me = self.broker_id();
        tracing::warn!(target: "kafka.server.ReplicaManager",
            "[ReplicaManager broker={me}] Stopping serving replicas in dir {}", dir.display());
        let offline = self.mark_partitions_offline(dir);
        let names: Vec<String> = offline.iter().map(|tp| tp.to_string()).collect();
        tracing::warn!(target: "kafka.server.ReplicaManager",
            "[ReplicaManager broker={me}] Broker {me} stopped fetcher for partitions {} because they are in the failed log directory {}",
            names.join(","), dir.display());
        if self.log_manager.handle_log_dir_failure(dir) == 0 {
            self.halt_all_log_dirs_failed().await;
        }
        self.propagate_log_dir_event().await;
        tracing::warn!(target: "kafka.server.ReplicaManager",
            "[ReplicaManager broker={me}] Stopped serving replicas in dir {}", dir.display());
    }

    /// Moves every hosted partition whose log lives in `dir` to the offline set: no fetcher,
    /// no leadership, waiting requests completed with KAFKA_STORAGE_ERROR.
    fn mark_partitions_offline(&self, dir: &Path) -> Vec<TopicPartition> {
        let in_dir: Vec<TopicPartition> = self
            .all_partitions()
            .iter()
            .filter(|p| p.log().is_some_and(|l| l.parent_dir() == dir))
            .map(|p| p.tp.clone())
            .collect();
        self.fetcher_manager.remove_partitions(&in_dir);
        {
            let mut offline = self
                .offline_partitions
                .write()
                .expect("offline partitions lock");
            let mut hosted = self.partitions_mut();
            for tp in &in_dir {
                hosted.remove(tp);
                offline.insert(tp.clone());
            }
        }
        let resigned: Vec<(TopicPartition, bool)> =
            in_dir.iter().map(|tp| (tp.clone(), false)).collect();
        self.notify_leadership_listener(&resigned);
        for tp in &in_dir {
            self.complete_delayed_requests(tp);
        }
        in_dir
    }

    /// `/log_dir_event_notification/log_dir_event_<seq>` (KafkaZkClient.propagateLogDirEvent),
    /// retried while ZooKeeper is unreachable: the controller learns of the failure only so.
    async fn propagate_log_dir_event(&self) {
        let data = encode_log_dir_event(self.broker_id());
        loop {
            match self
                .zk
                .create_sequential(&paths::log_dir_event_prefix(), data.as_bytes())
                .await
            {
                Ok(path) => {
                    tracing::info!(target: "kafka.zk.KafkaZkClient", "Wrote log dir failure notification {path}");
                    return;
                }
                Err(e) => {
                    tracing::warn!(target: "kafka.zk.KafkaZkClient", "cannot write the log dir failure notification: {e}; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// No log dir left: the broker cannot serve anything (LogManager.handleLogDirFailure halts).
    /// Unlike Kafka the ZooKeeper session is closed first, so `/brokers/ids/<id>` vanishes at
    /// once and the controller moves leadership now instead of after the session timeout.
    async fn halt_all_log_dirs_failed(&self) -> ! {
        tracing::error!(target: "kafka.log.LogManager",
            "Shutdown broker because all log dirs in {} have failed",
            join_dirs(self.log_manager.log_dirs()));
        let _ = tokio::time::timeout(Duration::from_secs(5), self.zk.clone().close()).await;
        std::process::exit(1);
    }
}
