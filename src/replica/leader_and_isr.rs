//! LeaderAndIsr on the broker (ReplicaManager.becomeLeaderOrFollower): which partitions this
//! broker now leads or follows, as the controller decided.
//!
//! One request may carry thousands of partitions (a broker coming back, a controller
//! failover), so the work is done per request, not per partition: topic configs are read
//! once per topic and concurrently, new logs are created in one batch (one fsync per log dir),
//! fetchers are removed and added in one call each. A partition state whose leader epoch is
//! not newer than ours (the controller re-sent the request, or it is stale) is answered
//! STALE_CONTROLLER_EPOCH and ignored, as Kafka does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use kafka_protocol::messages::LeaderAndIsrRequest;

use super::fetcher::{FetcherAdd, LeaderEndpoint};
use super::manager::{LeadershipListener, ReplicaManager};
use super::partition::{LeaderAndIsr, Partition};
use crate::log::{Log, TopicPartition};
use crate::metrics::events::{EventKind, Subject};
use crate::server::errors;

/// What one partition of a LeaderAndIsr request asks for.
struct PartitionRequest {
    tp: TopicPartition,
    state: LeaderAndIsr,
    /// The controller created this replica just now: it may be placed in any online dir.
    is_new: bool,
}

/// A partition state that passed the checks, with its Partition object.
struct Accepted {
    tp: TopicPartition,
    state: LeaderAndIsr,
    is_new: bool,
    partition: Arc<Partition>,
}

type Logs = HashMap<TopicPartition, Result<Arc<Log>, i16>>;

impl ReplicaManager {
    /// LeaderAndIsr (becomeLeaderOrFollower). Controller and broker epochs were checked by the
    /// caller; returns per-partition error codes.
    pub async fn become_leader_or_follower(
        &self,
        req: &LeaderAndIsrRequest,
    ) -> Vec<(TopicPartition, i16)> {
        let _serial = self.state_change_lock.lock().await;
        let started = Instant::now();
        let controller_id = req.controller_id.0;
        let requests = partition_requests(req);
        let total = requests.len();
        let (accepted, mut results) = self.check_partition_states(controller_id, requests);
        let logs = self
            .get_or_create_logs(accepted.iter().map(|a| (a.tp.clone(), a.is_new)).collect())
            .await;
        for a in &accepted {
            self.attach_loaded_future_log(&a.partition);
        }
        let (to_lead, to_follow): (Vec<_>, Vec<_>) = accepted
            .into_iter()
            .partition(|a| a.state.leader == self.broker_id());
        let (leaders, followers) = (to_lead.len(), to_follow.len());
        results.extend(self.make_leaders(to_lead, &logs));
        results.extend(self.make_followers(to_follow, &logs, &live_leaders(req)));
        for (tp, _) in &results {
            self.complete_delayed_requests(tp);
        }
        self.notify_leadership_change(&results);
        tracing::info!(target: "state.change.logger",
            "[Broker id={}] Finished LeaderAndIsr request from controller {controller_id} epoch {} in {} ms: {total} partitions, {leaders} to lead, {followers} to follow, {} not applied",
            self.broker_id(), req.controller_epoch, started.elapsed().as_millis(),
            results.iter().filter(|(_, c)| *c != errors::NONE).count());
        results
    }

    /// Per partition: this broker must be a replica, and the leader epoch must be newer than
    /// ours. Returns the accepted states and the answers for the refused ones; the refused
    /// ones are logged in one line per request, not one per partition.
    fn check_partition_states(
        &self,
        controller_id: i32,
        requests: Vec<PartitionRequest>,
    ) -> (Vec<Accepted>, Vec<(TopicPartition, i16)>) {
        let me = self.broker_id();
        let (mut accepted, mut refused) = (Vec::new(), Vec::new());
        let (mut not_replica, mut stale, mut offline) = (Vec::new(), Vec::new(), Vec::new());
        for PartitionRequest { tp, state, is_new } in requests {
            if self.is_partition_offline(&tp) {
                offline.push(tp.to_string());
                refused.push((tp, errors::KAFKA_STORAGE_ERROR));
                continue;
            }
            if !state.replicas.contains(&me) {
                not_replica.push(format!("{tp} (replicas {:?})", state.replicas));
                refused.push((tp, errors::UNKNOWN_TOPIC_OR_PARTITION));
                continue;
            }
            let partition = self.get_or_create_partition(&tp);
            let current = partition.leader_epoch();
            if state.leader_epoch <= current {
                stale.push(format!("{tp} ({} <= {current})", state.leader_epoch));
                refused.push((tp, errors::STALE_CONTROLLER_EPOCH));
                continue;
            }
            accepted.push(Accepted {
                tp,
                state,
                is_new,
                partition,
            });
        }
        if !not_replica.is_empty() {
            tracing::warn!(target: "state.change.logger",
                "[Broker id={me}] Ignoring LeaderAndIsr from controller {controller_id} for {} partitions that do not list this broker as a replica: {}",
                not_replica.len(), abbreviate(&not_replica));
        }
        if !offline.is_empty() {
            tracing::warn!(target: "state.change.logger",
                "[Broker id={me}] Ignoring LeaderAndIsr from controller {controller_id} for {} partitions whose log dir is offline: {}",
                offline.len(), abbreviate(&offline));
        }
        if !stale.is_empty() {
            tracing::warn!(target: "state.change.logger",
                "[Broker id={me}] Ignoring LeaderAndIsr from controller {controller_id} for {} partitions whose leader epoch is not newer than the current one (a re-sent or stale request): {}",
                stale.len(), abbreviate(&stale));
        }
        (accepted, refused)
    }

    /// The partitions' logs, the missing ones created in one batch with their topics'
    /// configs (each topic's `/config/topics/<t>` read once, all topics concurrently).
    async fn get_or_create_logs(&self, tps: Vec<(TopicPartition, bool)>) -> Logs {
        let mut logs: Logs = HashMap::with_capacity(tps.len());
        let mut missing = Vec::new();
        for (tp, is_new) in tps {
            match self.log_manager.get_log(&tp) {
                Some(log) => {
                    logs.insert(tp, Ok(log));
                }
                None => missing.push((tp, is_new)),
            }
        }
        if missing.is_empty() {
            return logs;
        }
        let topics: BTreeSet<&str> = missing.iter().map(|(tp, _)| tp.topic.as_str()).collect();
        let configs: BTreeMap<&str, _> = futures::future::join_all(
            topics
                .iter()
                .map(|t| async move { (*t, self.topic_log_config(t).await) }),
        )
        .await
        .into_iter()
        .collect();
        let wanted: Vec<_> = missing
            .iter()
            .map(|(tp, is_new)| (tp.clone(), configs[tp.topic.as_str()].clone(), *is_new))
            .collect();
        let manager = self.log_manager.clone();
        let created = tokio::task::spawn_blocking(move || manager.get_or_create_logs(wanted)).await;
        let created = match created {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Log creation task failed: {e}", self.broker_id());
                missing
                    .into_iter()
                    .map(|(tp, _)| (tp, Err(crate::log::LogError::Other(e.to_string()))))
                    .collect()
            }
        };
        for (tp, result) in created {
            let result = result.map_err(|e| {
                tracing::error!(target: "kafka.server.ReplicaManager", "[ReplicaManager broker={}] Cannot create log for {tp}: {e}", self.broker_id());
                errors::KAFKA_STORAGE_ERROR
            });
            logs.insert(tp, result);
        }
        logs
    }

    /// makeLeaders: stop fetching all of them first (no fetched data may land once we lead),
    /// then lead each at its new epoch.
    fn make_leaders(&self, to_lead: Vec<Accepted>, logs: &Logs) -> Vec<(TopicPartition, i16)> {
        let tps: Vec<TopicPartition> = to_lead.iter().map(|a| a.tp.clone()).collect();
        self.fetcher_manager.remove_partitions(&tps);
        let now = crate::controller::now_ms();
        let me = self.broker_id();
        to_lead
            .into_iter()
            .map(|a| {
                let code = match logs.get(&a.tp).cloned().unwrap_or(Err(errors::KAFKA_STORAGE_ERROR)) {
                    Err(code) => code,
                    Ok(log) => match a.partition.make_leader(a.state.clone(), log.clone(), now) {
                        Ok(_) => {
                            crate::narrate!(info, "state.change.logger", EventKind::BecameLeader, Subject::partition(&a.tp.topic, a.tp.partition),
                                "[Broker id={me}] {} became leader at leader epoch {} with ISR {:?}, log end offset {}, high watermark {}",
                                a.tp, a.state.leader_epoch, a.state.isr, log.log_end_offset(), log.high_watermark());
                            errors::NONE
                        }
                        Err(code) => code,
                    },
                };
                (a.tp, code)
            })
            .collect()
    }

    /// makeFollowers: adopt each state, then restart the fetchers of those whose leader or
    /// epoch changed in one batch (re-truncating against the new leader, KIP-101).
    fn make_followers(
        &self,
        to_follow: Vec<Accepted>,
        logs: &Logs,
        leaders: &HashMap<i32, LeaderEndpoint>,
    ) -> Vec<(TopicPartition, i16)> {
        let me = self.broker_id();
        let mut results = Vec::with_capacity(to_follow.len());
        let (mut restart, mut adds, mut leaderless) = (Vec::new(), Vec::new(), Vec::new());
        for a in to_follow {
            let log = match logs
                .get(&a.tp)
                .cloned()
                .unwrap_or(Err(errors::KAFKA_STORAGE_ERROR))
            {
                Ok(log) => log,
                Err(code) => {
                    results.push((a.tp, code));
                    continue;
                }
            };
            match a.partition.make_follower(a.state.clone(), log.clone()) {
                Err(code) => {
                    results.push((a.tp, code));
                    continue;
                }
                Ok(false) => {}
                Ok(true) => {
                    restart.push(a.tp.clone());
                    match leaders.get(&a.state.leader) {
                        Some(ep) => adds.push(FetcherAdd {
                            leader: ep.clone(),
                            partition: a.partition.clone(),
                            leader_epoch: a.state.leader_epoch,
                            initial_offset: log.high_watermark(),
                        }),
                        None => leaderless.push(format!("{} (leader {})", a.tp, a.state.leader)),
                    }
                }
            }
            crate::narrate!(info, "state.change.logger", EventKind::BecameFollower, Subject::partition(&a.tp.topic, a.tp.partition),
                "[Broker id={me}] {} became follower of leader {} at leader epoch {} (log end offset {}, high watermark {})",
                a.tp, a.state.leader, a.state.leader_epoch, log.log_end_offset(), log.high_watermark());
            results.push((a.tp, errors::NONE));
        }
        self.fetcher_manager.remove_partitions(&restart);
        if self.state.shutting_down.load(Ordering::SeqCst) && !adds.is_empty() {
            // Kafka 2.8 fetches here and the new leader may put us back in its ISR, where we
            // linger for replica.lag.time.max.ms after we exit, stalling acks=all producers.
            tracing::info!(target: "state.change.logger",
                "[Broker id={me}] Not fetching {} partitions now followed: this broker is shutting down", adds.len());
        } else {
            self.fetcher_manager.add_partitions(adds);
        }
        if !leaderless.is_empty() {
            tracing::info!(target: "state.change.logger",
                "[Broker id={me}] Not fetching {} partitions until a new LeaderAndIsr: their leader is not live: {}",
                leaderless.len(), abbreviate(&leaderless));
        }
        results
    }

    /// Registers the one listener for leadership changes (the group coordinator).
    pub fn set_leadership_listener(&self, listener: LeadershipListener) {
        let _ = self.leadership_listener.set(listener);
    }

    /// Tells the listener the outcome of a LeaderAndIsr: every partition applied without error
    /// is now led by us or followed.
    fn notify_leadership_change(&self, results: &[(TopicPartition, i16)]) {
        let Some(listener) = self.leadership_listener.get() else {
            return;
        };
        let changes: Vec<(TopicPartition, bool)> = results
            .iter()
            .filter(|(_, code)| *code == errors::NONE)
            .filter_map(|(tp, _)| Some((tp.clone(), self.get_partition(tp)?.is_leader())))
            .collect();
        listener(&changes);
    }
}

/// The request's partition states, grouped (v2+) or not (v0–1).
fn partition_requests(req: &LeaderAndIsrRequest) -> Vec<PartitionRequest> {
    req.topic_states
        .iter()
        .flat_map(|t| {
            t.partition_states
                .iter()
                .map(move |p| (t.topic_name.0.to_string(), p))
        })
        .chain(
            req.ungrouped_partition_states
                .iter()
                .map(|p| (p.topic_name.0.to_string(), p)),
        )
        .map(|(topic, p)| PartitionRequest {
            tp: TopicPartition::new(topic, p.partition_index),
            state: LeaderAndIsr {
                leader: p.leader.0,
                leader_epoch: p.leader_epoch,
                isr: p.isr.iter().map(|b| b.0).collect(),
                replicas: p.replicas.iter().map(|b| b.0).collect(),
                zk_version: p.partition_epoch,
                controller_epoch: p.controller_epoch,
            },
            is_new: p.is_new,
        })
        .collect()
}

/// `LiveLeaders`: where the leaders named in the request listen (inter-broker listener).
fn live_leaders(req: &LeaderAndIsrRequest) -> HashMap<i32, LeaderEndpoint> {
    req.live_leaders
        .iter()
        .map(|l| {
            let ep = LeaderEndpoint {
                id: l.broker_id.0,
                host: l.host_name.to_string(),
                port: l.port,
            };
            (ep.id, ep)
        })
        .collect()
}

/// The first few items and how many more: one readable log line for thousands of partitions.
fn abbreviate(items: &[String]) -> String {
    const SHOWN: usize = 10;
    let head = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match items.len().saturating_sub(SHOWN) {
        0 => head,
        more => format!("{head} and {more} more"),
    }
}
