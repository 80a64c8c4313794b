//! KafkaApis: routes each decoded request to the handler of its API family.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

use kafka_protocol::messages::{RequestKind, ResponseKind};

use crate::config::KafkaConfig;
use crate::controller::ControllerHandle;
use crate::coordinator::transaction::{ProducerIdManager, TransactionCoordinator};
use crate::coordinator::GroupCoordinator;
use crate::metadata::MetadataCache;
use crate::network::request::{RequestBody, RequestContext, Response};
use crate::replica::ReplicaManager;
use crate::security::authorizer::AclAuthorizer;
use crate::security::sasl::SaslServerConfig;
use crate::server::{
    acls, alter_replica_log_dirs, api_versions, controlled_shutdown, delete_records,
    describe_log_dirs, elect_leaders, fetch, init_producer_id, inter_broker, list_offsets,
    metadata, offset_for_leader_epoch, produce, reassignments, request_quota,
};

/// What a request waits for on a just-started broker. Kafka 2.8 processes no request
/// before it has registered (KafkaServer.startup); this broker listens earlier, so:
enum Wait {
    /// Controller requests: until registered, so those meant for the previous process
    /// (killed, same id) meet a known broker epoch and are fenced as stale.
    Registration,
    /// Requests answered from the metadata cache: until its first UpdateMetadata.
    MetadataCache,
    Nothing,
}

fn waits_for(body: &RequestBody) -> Wait {
    let RequestBody::Decoded(r) = body else {
        return Wait::Nothing;
    };
    match **r {
        RequestKind::LeaderAndIsr(_)
        | RequestKind::UpdateMetadata(_)
        | RequestKind::StopReplica(_) => Wait::Registration,
        RequestKind::Metadata(_)
        | RequestKind::FindCoordinator(_)
        | RequestKind::DescribeCluster(_) => Wait::MetadataCache,
        _ => Wait::Nothing,
    }
}

/// What the network layer does after a request was handled.
pub enum Handled {
    Respond(Box<Response>),
    /// A response already encoded by its handler (Fetch, whose record bytes go from the log
    /// files to the socket).
    Encoded(crate::network::response::ResponseFrame),
    /// acks=all produce after its appends: the rest (waiting for the high watermark) runs
    /// while the connection reads its next requests; responses still leave in order.
    Deferred(std::pin::Pin<Box<dyn std::future::Future<Output = Handled> + Send>>),
    /// acks=0 produce: Kafka sends nothing back.
    NoResponse,
    /// The request is invalid in a way that ends the connection.
    Close(String),
    /// A response after a client quota violation (KIP-219): it goes out at once, carrying
    /// `throttle_time_ms`, and the connection then reads no request for `throttle_ms`.
    Throttled {
        throttle_ms: u64,
        response: Box<Handled>,
    },
}

impl Handled {
    /// The response and how long to mute the connection after it (0 = not throttled).
    pub fn split_throttle(self) -> (Handled, u64) {
        match self {
            Handled::Throttled {
                throttle_ms,
                response,
            } => (*response, throttle_ms),
            h => (h, 0),
        }
    }
}

/// This broker's identity and the fencing state it checks controller requests against.
pub struct BrokerState {
    pub broker_id: i32,
    pub cluster_id: String,
    /// czxid of our `/brokers/ids/<id>` registration; changes when we re-register.
    pub broker_epoch: AtomicI64,
    /// Highest controller epoch accepted so far; older controllers are fenced off.
    pub controller_epoch: AtomicI32,
    /// Set once our controlled shutdown starts: partitions we are told to follow from then on
    /// get no fetcher, so a leaving broker never rejoins an ISR it was just taken out of.
    pub shutting_down: AtomicBool,
    /// Woken when the first registration sets `broker_epoch`.
    registered: Notify,
}

impl BrokerState {
    pub fn new(broker_id: i32, cluster_id: String) -> BrokerState {
        BrokerState {
            broker_id,
            cluster_id,
            broker_epoch: AtomicI64::new(-1),
            controller_epoch: AtomicI32::new(0),
            shutting_down: AtomicBool::new(false),
            registered: Notify::new(),
        }
    }

    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::SeqCst)
    }

    /// Adopts the czxid of a (re-)registration and wakes requests waiting for the first.
    pub fn set_broker_epoch(&self, epoch: i64) {
        self.broker_epoch.store(epoch, Ordering::SeqCst);
        self.registered.notify_waiters();
    }

    /// Waits (at most `limit`) until this process has registered; true once it has.
    pub async fn await_registration(&self, limit: Duration) -> bool {
        crate::wait::until(&self.registered, limit, || self.broker_epoch() != -1).await
    }
}

pub struct KafkaApis {
    pub config: Arc<KafkaConfig>,
    pub state: Arc<BrokerState>,
    pub metadata_cache: Arc<MetadataCache>,
    pub replica_manager: Arc<ReplicaManager>,
    /// This broker's controller component (set once it started); ControlledShutdown goes
    /// to its event queue.
    pub controller: Arc<OnceLock<ControllerHandle>>,
    pub group_coordinator: GroupCoordinator,
    pub txn_coordinator: TransactionCoordinator,
    /// Producer ids for InitProducerId (idempotent and transactional producers).
    pub producer_id_manager: Arc<ProducerIdManager>,
    /// Client quotas (Produce, Fetch, Request), fed by the dynamic config manager.
    pub quotas: Arc<crate::quota::ClientQuotaManagers>,
    /// AclAuthorizer when `authorizer.class.name` names it; None = every request allowed.
    pub authorizer: Option<Arc<AclAuthorizer>>,
    /// SASL listeners' settings and the SCRAM credential cache (network::authenticator).
    pub sasl: Arc<SaslServerConfig>,
    /// Incremental fetch sessions (KIP-227) of followers and consumers.
    pub fetch_sessions: Arc<crate::server::fetch_session::FetchSessionCache>,
}

impl KafkaApis {
    /// Handles one request; the time it took counts against the client's request quota
    /// (src/server/request_quota.rs) unless none is set or the request is exempt.
    pub async fn handle(&self, ctx: &RequestContext, body: RequestBody) -> Handled {
        match waits_for(&body) {
            Wait::Registration => {
                self.state.await_registration(self.startup_wait()).await;
            }
            Wait::MetadataCache => self.await_metadata_cache().await,
            Wait::Nothing => {}
        }
        if !self.quotas.request.enabled()
            || request_quota::is_exempt(&body)
            || request_quota::recorded_by_handler(&body)
        {
            return self.dispatch(ctx, body).await;
        }
        let started = std::time::Instant::now();
        let handled = self.dispatch(ctx, body).await;
        self.apply_request_quota(ctx, started.elapsed(), handled)
    }

    /// How long a just-started broker holds requests (see [`waits_for`]): its registration
    /// may wait out a stale session of its own (`zookeeper.session.timeout.ms`), then the
    /// controller needs a moment to send it the cluster.
    fn startup_wait(&self) -> Duration {
        Duration::from_millis(self.config.zookeeper_session_timeout_ms) + Duration::from_secs(5)
    }

    /// A just-started broker answers cluster questions only once the controller has told it
    /// the cluster (its first UpdateMetadata), or after [`Self::startup_wait`]. An empty
    /// answer (no brokers, no topics) makes librdkafka 2.10+ drop every broker handle, its
    /// group coordinator's too, and stall for minutes.
    async fn await_metadata_cache(&self) {
        if self.metadata_cache.is_initialized() {
            return;
        }
        let limit = self.startup_wait();
        if !self.metadata_cache.await_first_update(limit).await
            && self.metadata_cache.first_wait_timeout()
        {
            tracing::warn!(target: "kafka.server.KafkaApis",
                "[KafkaApis id={}] No UpdateMetadata from the controller within {limit:?}; answering Metadata and FindCoordinator from an empty metadata cache",
                self.state.broker_id);
        }
    }

    async fn dispatch(&self, ctx: &RequestContext, body: RequestBody) -> Handled {
        let request = match body {
            RequestBody::Decoded(r) => r,
            RequestBody::UnsupportedApiVersions => {
                let body = ResponseKind::ApiVersions(api_versions::unsupported_version_response());
                let version_override = Some(0);
                return Handled::Respond(Box::new(Response {
                    body,
                    version_override,
                }));
            }
        };
        if let Some(denied) = self.cluster_denial(ctx, &request) {
            return Handled::Respond(Box::new(denied.into()));
        }
        let response = match *request {
            RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api_versions::response()),
            RequestKind::Metadata(req) => {
                ResponseKind::Metadata(metadata::handle(self, ctx, &req).await)
            }
            RequestKind::UpdateMetadata(req) => {
                ResponseKind::UpdateMetadata(inter_broker::handle_update_metadata(self, &req))
            }
            RequestKind::CreateTopics(req) => {
                ResponseKind::CreateTopics(self.handle_create_topics(ctx, &req).await)
            }
            RequestKind::DescribeConfigs(req) => {
                ResponseKind::DescribeConfigs(self.handle_describe_configs(ctx, &req).await)
            }
            RequestKind::AlterConfigs(req) => {
                ResponseKind::AlterConfigs(self.handle_alter_configs(ctx, &req).await)
            }
            RequestKind::IncrementalAlterConfigs(req) => ResponseKind::IncrementalAlterConfigs(
                self.handle_incremental_alter_configs(ctx, &req).await,
            ),
            RequestKind::DeleteTopics(req) => {
                ResponseKind::DeleteTopics(self.handle_delete_topics(ctx, &req).await)
            }
            RequestKind::CreatePartitions(req) => {
                ResponseKind::CreatePartitions(self.handle_create_partitions(ctx, &req).await)
            }
            RequestKind::LeaderAndIsr(req) => {
                ResponseKind::LeaderAndIsr(inter_broker::handle_leader_and_isr(self, &req).await)
            }
            RequestKind::StopReplica(req) => {
                ResponseKind::StopReplica(inter_broker::handle_stop_replica(self, &req).await)
            }
            RequestKind::OffsetForLeaderEpoch(req) => {
                ResponseKind::OffsetForLeaderEpoch(offset_for_leader_epoch::handle(self, ctx, &req))
            }
            RequestKind::ControlledShutdown(req) => {
                ResponseKind::ControlledShutdown(controlled_shutdown::handle(self, &req).await)
            }
            RequestKind::ElectLeaders(req) => {
                ResponseKind::ElectLeaders(elect_leaders::handle(self, &req).await)
            }
            RequestKind::AlterPartitionReassignments(req) => {
                ResponseKind::AlterPartitionReassignments(
                    reassignments::handle_alter(self, &req).await,
                )
            }
            RequestKind::ListPartitionReassignments(req) => {
                ResponseKind::ListPartitionReassignments(
                    reassignments::handle_list(self, &req).await,
                )
            }
            RequestKind::Produce(req) => return produce::handle(self, ctx, req).await,
            RequestKind::Fetch(req) => return fetch::handle(self, ctx, req).await,
            RequestKind::ListOffsets(req) => {
                ResponseKind::ListOffsets(list_offsets::handle(self, ctx, &req))
            }
            RequestKind::DeleteRecords(req) => {
                ResponseKind::DeleteRecords(delete_records::handle(self, ctx, &req).await)
            }
            RequestKind::AlterReplicaLogDirs(req) => ResponseKind::AlterReplicaLogDirs(
                alter_replica_log_dirs::handle(self, ctx, &req).await,
            ),
            RequestKind::DescribeLogDirs(req) => {
                ResponseKind::DescribeLogDirs(describe_log_dirs::describe_log_dirs(self, ctx, &req))
            }
            RequestKind::DescribeCluster(req) => {
                ResponseKind::DescribeCluster(describe_log_dirs::describe_cluster(self, ctx, &req))
            }
            // Group coordinator APIs (src/server/groups.rs).
            RequestKind::FindCoordinator(req) => {
                ResponseKind::FindCoordinator(self.handle_find_coordinator(ctx, &req).await)
            }
            RequestKind::JoinGroup(req) => {
                ResponseKind::JoinGroup(self.handle_join_group(ctx, &req).await)
            }
            RequestKind::SyncGroup(req) => {
                ResponseKind::SyncGroup(self.handle_sync_group(ctx, &req).await)
            }
            RequestKind::Heartbeat(req) => {
                ResponseKind::Heartbeat(self.handle_heartbeat(ctx, &req))
            }
            RequestKind::LeaveGroup(req) => {
                ResponseKind::LeaveGroup(self.handle_leave_group(ctx, &req))
            }
            RequestKind::OffsetCommit(req) => {
                ResponseKind::OffsetCommit(self.handle_offset_commit(ctx, &req).await)
            }
            RequestKind::OffsetFetch(req) => {
                ResponseKind::OffsetFetch(self.handle_offset_fetch(ctx, &req))
            }
            RequestKind::DescribeGroups(req) => {
                ResponseKind::DescribeGroups(self.handle_describe_groups(ctx, &req))
            }
            RequestKind::ListGroups(req) => {
                ResponseKind::ListGroups(self.handle_list_groups(ctx, &req))
            }
            RequestKind::DeleteGroups(req) => {
                ResponseKind::DeleteGroups(self.handle_delete_groups(ctx, &req).await)
            }
            RequestKind::OffsetDelete(req) => {
                ResponseKind::OffsetDelete(self.handle_offset_delete(ctx, &req))
            }
            // Transaction coordinator and markers (src/server/transactions.rs,
            // src/server/write_txn_markers.rs).
            RequestKind::InitProducerId(req) => {
                ResponseKind::InitProducerId(init_producer_id::handle(self, ctx, &req).await)
            }
            RequestKind::AddPartitionsToTxn(req) => {
                ResponseKind::AddPartitionsToTxn(self.handle_add_partitions_to_txn(ctx, &req).await)
            }
            RequestKind::AddOffsetsToTxn(req) => {
                ResponseKind::AddOffsetsToTxn(self.handle_add_offsets_to_txn(ctx, &req).await)
            }
            RequestKind::EndTxn(req) => ResponseKind::EndTxn(self.handle_end_txn(ctx, &req).await),
            RequestKind::WriteTxnMarkers(req) => {
                ResponseKind::WriteTxnMarkers(self.handle_write_txn_markers(&req).await)
            }
            RequestKind::TxnOffsetCommit(req) => {
                ResponseKind::TxnOffsetCommit(self.handle_txn_offset_commit(ctx, &req).await)
            }
            // Client quotas (src/server/client_quota_requests.rs).
            RequestKind::DescribeClientQuotas(req) => ResponseKind::DescribeClientQuotas(
                self.handle_describe_client_quotas(ctx, &req).await,
            ),
            RequestKind::AlterClientQuotas(req) => {
                ResponseKind::AlterClientQuotas(self.handle_alter_client_quotas(ctx, &req).await)
            }
            // SCRAM credentials (src/server/scram_credentials.rs).
            RequestKind::DescribeUserScramCredentials(req) => {
                ResponseKind::DescribeUserScramCredentials(
                    self.handle_describe_user_scram_credentials(ctx, &req).await,
                )
            }
            RequestKind::AlterUserScramCredentials(req) => ResponseKind::AlterUserScramCredentials(
                self.handle_alter_user_scram_credentials(ctx, &req).await,
            ),
            // ACL administration (src/server/acls.rs).
            RequestKind::CreateAcls(req) => {
                ResponseKind::CreateAcls(acls::handle_create(self, ctx, &req).await)
            }
            RequestKind::DescribeAcls(req) => {
                ResponseKind::DescribeAcls(acls::handle_describe(self, ctx, &req))
            }
            RequestKind::DeleteAcls(req) => {
                ResponseKind::DeleteAcls(acls::handle_delete(self, ctx, &req).await)
            }
            // After authentication, or on a listener without SASL (KafkaApis.handleSasl*).
            RequestKind::SaslHandshake(_) => ResponseKind::SaslHandshake(
                kafka_protocol::messages::SaslHandshakeResponse::default()
                    .with_error_code(crate::server::errors::ILLEGAL_SASL_STATE),
            ),
            RequestKind::SaslAuthenticate(_) => ResponseKind::SaslAuthenticate(
                kafka_protocol::messages::SaslAuthenticateResponse::default()
                    .with_error_code(crate::server::errors::ILLEGAL_SASL_STATE)
                    .with_error_message(Some(
                        "SaslAuthenticate request received after successful authentication".into(),
                    )),
            ),
            other => return Handled::Close(format!("no handler for {:?}", api_name(&other))),
        };
        Handled::Respond(Box::new(response.into()))
    }
}

fn api_name(r: &RequestKind) -> String {
    let debug = format!("{r:?}");
    debug.split('(').next().unwrap_or("?").to_string()
}
