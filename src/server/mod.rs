//! The broker: startup in KafkaServer's order, the request handlers, and shutdown.

pub mod api_versions;
pub mod apis;
pub mod errors;
pub mod inter_broker;
pub mod metadata;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cluster::Broker;
use crate::config::KafkaConfig;
use crate::controller::{now_ms, ControllerHandle, KafkaController};
use crate::metadata::MetadataCache;
use crate::network::{NetworkLimits, SocketServer};
use crate::zk::codec::BrokerRegistration;
use crate::zk::{paths, KafkaZkClient};
use apis::{BrokerState, KafkaApis};

/// A running broker.
pub struct KafkaServer {
    config: Arc<KafkaConfig>,
    zk: KafkaZkClient,
    socket_server: SocketServer,
    controller: ControllerHandle,
}

impl KafkaServer {
    /// Starts the broker (KafkaServer.startup): ZooKeeper, cluster id, log dirs, listeners,
    /// registration, controller. Any failure is returned with the resource at fault named.
    pub async fn startup(config: KafkaConfig) -> anyhow::Result<KafkaServer> {
        let id = config.broker_id;
        tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] starting");
        log_config(&config);
        tracing::info!(target: "kafka.server.KafkaServer", "Connecting to zookeeper on {}", config.zookeeper_connect);
        let zk = KafkaZkClient::connect(
            &config.zookeeper_connect,
            Duration::from_millis(config.zookeeper_session_timeout_ms),
            Duration::from_millis(config.zookeeper_connection_timeout_ms),
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
        prepare_log_dirs(&config)?;

        let (listeners, bound) = SocketServer::bind(&config.listeners).await?;
        let mut config = config;
        adopt_bound_ports(&mut config, &bound);
        let config = Arc::new(config);
        let state = Arc::new(BrokerState::new(id, cluster_id));
        let apis = Arc::new(KafkaApis {
            config: config.clone(),
            state: state.clone(),
            metadata_cache: Arc::new(MetadataCache::default()),
        });
        let limits = NetworkLimits {
            socket_request_max_bytes: config.long("socket.request.max.bytes") as usize,
        };
        let socket_server = SocketServer::start(listeners, bound, apis, limits);

        let registration = broker_registration(&config);
        let epoch = zk.register_broker(&registration).await?;
        state.broker_epoch.store(epoch, Ordering::SeqCst);
        tracing::info!(target: "kafka.zk.KafkaZkClient",
            "Registered broker {id} at path {} with addresses: {}, czxid (broker epoch): {epoch}",
            paths::broker_id(id),
            registration.broker.endpoints.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(","));
        let controller = KafkaController::start(config.clone(), zk.clone(), state, registration);
        tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] started");
        Ok(KafkaServer {
            config,
            zk,
            socket_server,
            controller,
        })
    }

    /// The controller id this broker last saw in `/controller` (-1 when none).
    pub fn active_controller_id(&self) -> i32 {
        self.controller.active_controller_id.load(Ordering::SeqCst)
    }

    /// Orderly shutdown: controller, listeners, then the ZooKeeper session (so our ephemeral
    /// znodes vanish at once rather than after the session timeout).
    pub async fn shutdown(self) {
        let id = self.config.broker_id;
        tracing::info!(target: "kafka.server.KafkaServer", "[KafkaServer id={id}] shutting down");
        self.controller.shutdown().await;
        self.socket_server.shutdown().await;
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

/// Creates missing log dirs; a dir that cannot be created is named in the error.
fn prepare_log_dirs(config: &KafkaConfig) -> anyhow::Result<()> {
    for dir in &config.log_dirs {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create log dir {} (log.dirs)", dir.display()))?;
    }
    Ok(())
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
