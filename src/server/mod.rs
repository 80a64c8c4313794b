//! The broker: startup in KafkaServer's order, the request handlers, and shutdown.

pub mod acls;
pub mod admin;
pub mod alter_configs;
pub mod alter_replica_log_dirs;
pub mod api_versions;
pub mod apis;
mod authz;
pub mod client_quota_requests;
pub mod client_quotas;
pub mod config_changes;
pub mod controlled_shutdown;
pub mod delete_records;
pub mod describe_configs;
pub mod describe_log_dirs;
pub mod elect_leaders;
pub mod errors;
mod fd_limit;
pub mod fetch;
mod fetch_response;
pub mod fetch_session;
pub mod groups;
pub mod init_producer_id;
pub mod inter_broker;
pub mod list_offsets;
pub mod metadata;
pub mod offset_delete;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod reassignments;
pub mod request_quota;
pub mod scram_credentials;
pub mod transactions;
pub mod write_txn_markers;

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;

use crate::cluster::Broker;
use crate::config::dynamic::DynamicBrokerConfig;
use crate::config::KafkaConfig;
use crate::controller::{now_ms, ControllerHandle, KafkaController};
use crate::coordinator::transaction::{
    TransactionConfig, TransactionCoordinator, TRANSACTION_STATE_TOPIC_NAME,
};
use std::collections::HashMap;

use crate::coordinator::transaction::ProducerIdManager;
use crate::log::{
    read_meta_properties, write_meta_properties, LogConfig, LogManager, LogManagerConfig,
};
use crate::metadata::MetadataCache;
use crate::network::{NetworkLimits, SocketServer};
use crate::replica::ReplicaManager;
use crate::security::authorizer::{AclAuthorizer, AuthorizerConfig};
use crate::security::sasl::{CredentialCache, SaslClientConfig, SaslServerConfig};
use crate::zk::codec::BrokerRegistration;
use crate::zk::{paths, KafkaZkClient};
use apis::{BrokerState, KafkaApis};

/// A running broker.
pub struct KafkaServer {
    config: Arc<KafkaConfig>,
    zk: KafkaZkClient,
    socket_server: SocketServer,
    controller: ControllerHandle,
    replica_manager: Arc<ReplicaManager>,
    log_manager: Arc<LogManager>,
    background: Vec<tokio::task::JoinHandle<()>>,
    state: Arc<BrokerState>,
}

impl KafkaServer {
    /// Starts the broker (KafkaServer.startup): ZooKeeper, cluster id, log dirs, listeners,
    /// registration, controller. Any failure is returned with the resource at fault named.
    pub async fn startup(config: KafkaConfig) -> anyhow::Result<KafkaServer> {
        let id = config.broker_id;
        tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] starting");
        log_config(&config);
        let ssl_listeners = crate::network::tls::configure(&config)?;
        // SASL settings are checked before anything starts: a listener nobody can log in to
        // (GSSAPI only, no JAAS users) is a configuration error, not a runtime surprise.
        let credentials = Arc::new(CredentialCache::default());
        let sasl = Arc::new(SaslServerConfig::from_config(&config, credentials.clone())?);
        SaslClientConfig::inter_broker(&config)?;
        let open_files_limit = fd_limit::raise_open_files_limit();
        crate::log::file_cache::FileCache::global().set_capacity(fd_limit::segment_files_cap(
            config.int(crate::log::file_cache::OPEN_FILES_MAX_CONFIG),
            open_files_limit,
        ));
        tracing::info!(target: "kafka.server.KafkaServer", "Connecting to zookeeper on {}", config.zookeeper_connect);
        let zk = KafkaZkClient::connect_with_max_in_flight(
            &config.zookeeper_connect,
            Duration::from_millis(config.zookeeper_session_timeout_ms),
            Duration::from_millis(config.zookeeper_connection_timeout_ms),
            config.int("zookeeper.max.in.flight.requests").max(1) as usize,
        )
        .await
        .with_context(|| {
            format!(
                "cannot connect to ZooKeeper at {} (zookeeper.connect)",
                config.zookeeper_connect
            )
        })?;
        zk.create_top_level_paths().await?;
        let cluster_id = zk.get_or_create_cluster_id().await?;
        tracing::info!(target: "kafka.server.KafkaServer", "Cluster ID = {cluster_id}");
        let offline_dirs = check_meta_properties(&config, &cluster_id)?;
        // Dynamic broker configs are read before the logs load (DynamicBrokerConfig.initialize),
        // so the log defaults already include them.
        let layers = config_changes::read_broker_layers(&zk, id).await?;
        let dynamic = DynamicBrokerConfig::new(Arc::new(config.clone()));
        dynamic.update(layers.clone());
        let log_manager = start_log_manager(&dynamic.current(), &zk, offline_dirs).await?;

        let (listeners, bound) = SocketServer::bind(&config.listeners).await?;
        let mut config = config;
        adopt_bound_ports(&mut config, &bound);
        let config = Arc::new(config);
        let state = Arc::new(BrokerState::new(id, cluster_id));
        let dynamic = Arc::new(DynamicBrokerConfig::new(config.clone()));
        dynamic.update(layers);
        let replica_manager = ReplicaManager::new(
            config.clone(),
            state.clone(),
            log_manager.clone(),
            zk.clone(),
            dynamic,
        );
        // DynamicConfigManager.startup: every topic config's throttled replicas.
        for (topic, topic_config) in log_manager.topic_configs() {
            replica_manager.apply_replication_throttled_replicas(&topic, &topic_config);
        }
        let metadata_cache = Arc::new(MetadataCache::default());
        let group_coordinator = start_group_coordinator(&config, &zk, &replica_manager).await?;
        let producer_id_manager = Arc::new(ProducerIdManager::start(id, zk.clone()).await?);
        let txn_coordinator = start_txn_coordinator(
            &config,
            &zk,
            &replica_manager,
            &metadata_cache,
            &producer_id_manager,
        )
        .await?;
        listen_to_coordinator_leadership(&replica_manager, &group_coordinator, &txn_coordinator);
        let mut background = replica_manager.start_background_tasks();
        background.extend(replica_manager.start_log_dir_failure_handler());
        let quotas = Arc::new(client_quotas::managers_from_config(&config));
        client_quotas::load_all(&zk, &quotas).await?;
        config_changes::load_credentials(&zk, &credentials).await?;
        background.push(config_changes::start(
            zk.clone(),
            replica_manager.clone(),
            quotas.clone(),
            credentials,
        ));
        background.push(group_coordinator.start());
        background.push(txn_coordinator.start());
        let authorizer = start_authorizer(&config, &zk, &mut background).await?;
        let controller_slot = Arc::new(OnceLock::new());
        let apis = Arc::new(KafkaApis {
            authorizer,
            controller: controller_slot.clone(),
            config: config.clone(),
            state: state.clone(),
            metadata_cache,
            replica_manager: replica_manager.clone(),
            group_coordinator,
            txn_coordinator,
            producer_id_manager,
            quotas: quotas.clone(),
            sasl,
            fetch_sessions: Arc::new(fetch_session::FetchSessionCache::new(
                config
                    .int("max.incremental.fetch.session.cache.slots")
                    .max(0) as usize,
                fetch_session::EVICTION_MS,
            )),
        });
        let limits = NetworkLimits::new(
            config.long("socket.request.max.bytes") as usize,
            config.long("queued.max.request.bytes"),
        );
        let socket_server =
            SocketServer::start(listeners, bound, apis.clone(), limits, &ssl_listeners);

        let registration = broker_registration(&config);
        let epoch = zk.register_broker(&registration).await?;
        state.set_broker_epoch(epoch);
        tracing::info!(target: "kafka.zk.KafkaZkClient",
            "Registered broker {id} at path {} with addresses: {}, czxid (broker epoch): {epoch}",
            paths::broker_id(id),
            registration.broker.endpoints.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(","));
        let controller =
            KafkaController::start(config.clone(), zk.clone(), state.clone(), registration);
        let _ = controller_slot.set(controller.clone());
        if let Some((host, port)) = config.http_listener()? {
            let sources = crate::observability::Sources {
                state: state.clone(),
                replica_manager: replica_manager.clone(),
                group_coordinator: apis.group_coordinator.clone(),
                active_controller_id: controller.active_controller_id.clone(),
                quotas,
            };
            background.push(crate::observability::start(&host, port, sources).await?);
        }
        tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] started");
        Ok(KafkaServer {
            config,
            zk,
            socket_server,
            controller,
            replica_manager,
            log_manager,
            background,
            state,
        })
    }

    /// The controller id this broker last saw in `/controller` (-1 when none).
    pub fn active_controller_id(&self) -> i32 {
        self.controller.active_controller_id.load(Ordering::SeqCst)
    }

    /// Orderly shutdown: controlled shutdown (leaderships moved away while we still serve),
    /// controller, listeners, fetchers, logs, then the ZooKeeper session (so our ephemeral
    /// znodes vanish at once rather than after the session timeout).
    pub async fn shutdown(self) {
        let id = self.config.broker_id;
        tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] shutting down");
        self.state.shutting_down.store(true, Ordering::SeqCst);
        if self.config.boolean("controlled.shutdown.enable") {
            controlled_shutdown::controlled_shutdown(
                &self.config,
                &self.zk,
                self.state.broker_epoch(),
            )
            .await;
        }
        // The controller may be waiting for ZooKeeper (requests wait while the session
        // reconnects); a shutdown must not wait for the ensemble to come back.
        let timeout =
            Duration::from_millis(self.config.long("controller.socket.timeout.ms").max(1) as u64);
        if tokio::time::timeout(timeout, self.controller.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] The controller did not stop within controller.socket.timeout.ms (waiting for ZooKeeper?); shutting down without it");
        }
        self.replica_manager.shutdown();
        self.socket_server.shutdown().await;
        for task in &self.background {
            task.abort();
        }
        let (replicas, logs) = (self.replica_manager.clone(), self.log_manager.clone());
        let closed = tokio::task::spawn_blocking(move || {
            replicas.checkpoint_high_watermarks();
            logs.shutdown()
        })
        .await;
        if let Ok(Err(e)) = closed {
            tracing::error!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] log manager shutdown failed: {e}");
        }
        self.zk.close().await;
        tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] shut down completed");
    }
}

fn log_config(config: &KafkaConfig) {
    for key in &config.unknown_keys {
        tracing::warn!(target: "kafka.server.KafkaConfig", "The configuration '{key}' was supplied but isn't a known config.");
    }
    let mut lines = String::from("KafkaConfig values: \n");
    for d in crate::config::def::BROKER_CONFIGS {
        let v = config.string(d.name).unwrap_or_else(|| "null".into());
        let v = if d.ty == crate::config::def::Type::Password && v != "null" {
            "[hidden]".into()
        } else {
            v
        };
        lines.push_str(&format!("\t{} = {}\n", d.name, v));
    }
    tracing::info!(target: "kafka.server.KafkaConfig", "{lines}");
}

/// Every log dir's meta.properties must name this broker and cluster; missing ones are
/// written. A dir that cannot be created, read or written is returned as offline
/// (KafkaServer.getBrokerIdAndOfflineDirs); the broker starts while one dir is left.
fn check_meta_properties(
    config: &KafkaConfig,
    cluster_id: &str,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut offline = Vec::new();
    for dir in &config.log_dirs {
        let meta = std::fs::create_dir_all(dir)
            .map_err(|e| crate::log::LogError::io(format!("create log dir {}", dir.display()), e))
            .and_then(|_| read_meta_properties(dir));
        let meta = match meta {
            Ok(m) => m,
            Err(e) if crate::log::is_storage_failure(&e) => {
                tracing::error!(target: "kafka.server.KafkaServer", "Fail to read meta.properties under log directory {}: {e}; the dir is offline", dir.display());
                offline.push(dir.clone());
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(meta) = meta {
            if meta.broker_id != config.broker_id {
                anyhow::bail!(
                    "Configured broker.id {} doesn't match stored broker.id {} in meta.properties in {}. \
                     If you moved your data, make sure your configured broker.id matches.",
                    config.broker_id, meta.broker_id, dir.display()
                );
            }
            if let Some(stored) = meta.cluster_id.as_deref().filter(|c| *c != cluster_id) {
                anyhow::bail!(
                    "The Cluster ID {cluster_id} doesn't match stored clusterId Some({stored}) in meta.properties in {}. \
                     The broker is trying to join the wrong cluster. Configured zookeeper.connect may be wrong.",
                    dir.display()
                );
            }
        }
        if let Err(e) = write_meta_properties(dir, config.broker_id, cluster_id) {
            tracing::error!(target: "kafka.server.KafkaServer", "Error while writing meta.properties to {}: {e}; the dir is offline", dir.display());
            offline.push(dir.clone());
        }
    }
    if offline.len() == config.log_dirs.len() {
        anyhow::bail!(
            "all log dirs in {} have failed (log.dirs)",
            crate::log::manager::join_dirs(&offline)
        );
    }
    Ok(offline)
}

/// Loads every log (recovering after an unclean shutdown) with each topic's config.
async fn start_log_manager(
    config: &KafkaConfig,
    zk: &KafkaZkClient,
    offline_dirs: Vec<std::path::PathBuf>,
) -> anyhow::Result<Arc<LogManager>> {
    let defaults = LogConfig::from_props(&config.log_config_props())
        .map_err(|e| anyhow::anyhow!("invalid log default in the broker config: {e}"))?;
    let mut topic_configs = HashMap::new();
    for topic in zk.get_children(paths::CONFIG_TOPICS).await? {
        let overrides = zk.get_topic_config(&topic).await?;
        match defaults.with_overrides(&overrides) {
            Ok(c) => {
                topic_configs.insert(topic, c);
            }
            Err(e) => {
                tracing::error!(target: "kafka.server.KafkaServer", "invalid config in /config/topics/{topic}: {e}; using broker defaults")
            }
        }
    }
    let mut lm = LogManagerConfig::new(config.log_dirs.clone());
    lm.initial_offline_dirs = offline_dirs;
    lm.recovery_threads_per_data_dir =
        config.int("num.recovery.threads.per.data.dir").max(1) as usize;
    lm.retention_check_interval_ms = config.long("log.retention.check.interval.ms");
    lm.flush_check_interval_ms = config.long("log.flush.scheduler.interval.ms");
    lm.flush_recovery_offset_checkpoint_interval_ms =
        config.long("log.flush.offset.checkpoint.interval.ms");
    lm.flush_start_offset_checkpoint_interval_ms =
        config.long("log.flush.start.offset.checkpoint.interval.ms");
    lm.file_delete_delay_ms = config.long("log.segment.delete.delay.ms");
    lm.cleaner = log_cleaner_config(config);
    lm.max_producer_id_expiration_ms = config.long("transactional.id.expiration.ms");
    let manager =
        tokio::task::spawn_blocking(move || LogManager::startup(lm, defaults, topic_configs))
            .await??;
    manager.start_background_tasks();
    Ok(manager)
}

/// `log.cleaner.*` for the LogManager's cleaner threads.
fn log_cleaner_config(config: &KafkaConfig) -> crate::log::LogCleanerConfig {
    let double = |k: &str, d: f64| {
        config
            .string(k)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(d)
    };
    crate::log::LogCleanerConfig {
        enable: config.boolean("log.cleaner.enable"),
        threads: config.int("log.cleaner.threads").max(0) as usize,
        dedupe_buffer_size: config.long("log.cleaner.dedupe.buffer.size"),
        io_buffer_size: config.int("log.cleaner.io.buffer.size").max(0) as usize,
        io_buffer_load_factor: double("log.cleaner.io.buffer.load.factor", 0.9),
        backoff_ms: config.long("log.cleaner.backoff.ms"),
        max_message_bytes: config.int("message.max.bytes").max(0) as usize,
    }
}

/// The group coordinator, hooked to leadership changes of `__consumer_offsets` partitions.
/// Its partition count is the topic's in ZooKeeper if it exists, else the configured one
/// (Kafka's KafkaServer does the same, so all brokers agree once the topic exists).
async fn start_group_coordinator(
    config: &Arc<KafkaConfig>,
    zk: &KafkaZkClient,
    replica_manager: &Arc<ReplicaManager>,
) -> anyhow::Result<crate::coordinator::GroupCoordinator> {
    use crate::coordinator::{CoordinatorConfig, GroupCoordinator, GROUP_METADATA_TOPIC_NAME};
    let coordinator_config = CoordinatorConfig::from_broker(config);
    let partitions = match zk.get_topic_assignment(GROUP_METADATA_TOPIC_NAME).await? {
        Some(a) if !a.partitions.is_empty() => a.partitions.len() as i32,
        _ => coordinator_config.num_partitions,
    };
    Ok(GroupCoordinator::new(
        coordinator_config,
        replica_manager.clone(),
        partitions,
    ))
}

/// The transaction coordinator; its partition count comes from ZooKeeper as the group
/// coordinator's does.
/// The authorizer `authorizer.class.name` selects, loaded and listening for ACL changes.
async fn start_authorizer(
    config: &KafkaConfig,
    zk: &KafkaZkClient,
    background: &mut Vec<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<Option<Arc<AclAuthorizer>>> {
    let Some(settings) = AuthorizerConfig::from_broker_config(config)? else {
        return Ok(None);
    };
    let (authorizer, tasks) = AclAuthorizer::start(zk.clone(), settings)
        .await
        .context("cannot load ACLs from ZooKeeper (/kafka-acl, /kafka-acl-extended)")?;
    background.extend(tasks);
    Ok(Some(authorizer))
}

async fn start_txn_coordinator(
    config: &Arc<KafkaConfig>,
    zk: &KafkaZkClient,
    replica_manager: &Arc<ReplicaManager>,
    metadata_cache: &Arc<MetadataCache>,
    producer_id_manager: &Arc<ProducerIdManager>,
) -> anyhow::Result<TransactionCoordinator> {
    let txn_config = TransactionConfig::from_broker(config);
    let partitions = match zk
        .get_topic_assignment(TRANSACTION_STATE_TOPIC_NAME)
        .await?
    {
        Some(a) if !a.partitions.is_empty() => a.partitions.len() as i32,
        _ => txn_config.num_partitions,
    };
    Ok(TransactionCoordinator::new(
        txn_config,
        replica_manager.clone(),
        metadata_cache.clone(),
        producer_id_manager.clone(),
        partitions,
    ))
}

/// Both coordinators follow leadership of their internal topics' partitions (Kafka's
/// onLeadershipChange); the transaction coordinator's epoch is the partition's leader epoch.
fn listen_to_coordinator_leadership(
    replica_manager: &Arc<ReplicaManager>,
    groups: &crate::coordinator::GroupCoordinator,
    txns: &TransactionCoordinator,
) {
    use crate::coordinator::GROUP_METADATA_TOPIC_NAME;
    let (groups, txns) = (groups.clone(), txns.clone());
    let rm = Arc::downgrade(replica_manager);
    replica_manager.set_leadership_listener(Box::new(move |changes| {
        let split = |topic: &str| {
            let ours = changes.iter().filter(|(tp, _)| tp.topic == topic);
            let led: Vec<i32> = ours
                .clone()
                .filter(|(_, l)| *l)
                .map(|(tp, _)| tp.partition)
                .collect();
            let resigned: Vec<i32> = ours
                .filter(|(_, l)| !*l)
                .map(|(tp, _)| tp.partition)
                .collect();
            (led, resigned)
        };
        let (led, resigned) = split(GROUP_METADATA_TOPIC_NAME);
        groups.on_leadership_change(&led, &resigned);
        let (led, resigned) = split(TRANSACTION_STATE_TOPIC_NAME);
        let Some(rm) = rm.upgrade() else { return };
        let led: Vec<(i32, i32)> = led
            .into_iter()
            .filter_map(|p| {
                let tp = crate::log::TopicPartition::new(TRANSACTION_STATE_TOPIC_NAME, p);
                Some((p, rm.get_partition(&tp)?.leader_epoch()))
            })
            .collect();
        txns.on_leadership_change(&led, &resigned);
    }));
}

/// A listener configured with port 0 advertises the port it actually bound.
fn adopt_bound_ports(
    config: &mut KafkaConfig,
    bound: &[(crate::cluster::EndPoint, std::net::SocketAddr)],
) {
    for ep in config
        .advertised_listeners
        .iter_mut()
        .filter(|e| e.port == 0)
    {
        if let Some((_, addr)) = bound
            .iter()
            .find(|(b, _)| b.listener_name == ep.listener_name)
        {
            ep.port = addr.port();
        }
    }
}

fn broker_registration(config: &KafkaConfig) -> BrokerRegistration {
    BrokerRegistration {
        broker: Broker {
            id: config.broker_id,
            endpoints: config.advertised_listeners.clone(),
            rack: config.rack.clone(),
        },
        version: config.registration_version(),
        jmx_port: -1,
        timestamp_ms: now_ms(),
    }
}
