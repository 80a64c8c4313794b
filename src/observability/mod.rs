//! The broker's HTTP endpoint (`zkafka.http.listener`, off by default), on axum and the
//! broker's own tokio runtime:
//! - `/metrics`: Prometheus text, named as the common jmx_exporter rules name Kafka's MBeans;
//! - `/state`: this broker's view as JSON (partitions, replicas, segments, controller, groups);
//! - `/events`: state changes as server-sent events, recent history first.
//!
//! Nothing here runs until something connects: no timers, no sampling. The responses allow
//! any origin, so a page served elsewhere (the live cluster view) can read every broker.

mod events;
mod exposition;
mod metrics;
mod process;
mod state;

use std::sync::atomic::AtomicI32;
use std::sync::Arc;

use anyhow::Context;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::coordinator::GroupCoordinator;
use crate::replica::ReplicaManager;
use crate::server::apis::BrokerState;

/// What the endpoint reads: the broker's own structures, never copies of them.
#[derive(Clone)]
pub struct Sources {
    pub state: Arc<BrokerState>,
    pub replica_manager: Arc<ReplicaManager>,
    pub group_coordinator: GroupCoordinator,
    /// The broker named in `/controller` as last seen (-1 = none).
    pub active_controller_id: Arc<AtomicI32>,
    /// Client quota sensors (per-entity byte rates and throttle times).
    pub quotas: Arc<crate::quota::ClientQuotaManagers>,
}

/// Binds `host:port` and serves the endpoint until the task is aborted.
pub async fn start(
    host: &str,
    port: u16,
    sources: Sources,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| {
            format!("cannot bind the HTTP endpoint {host}:{port} (zkafka.http.listener)")
        })?;
    let addr = listener.local_addr()?;
    crate::metrics::events::enable(sources.state.broker_id);
    let app = router(sources);
    tracing::info!(target: "zkafka.observability", "Serving /metrics, /state and /events on http://{addr}");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(target: "zkafka.observability", "HTTP endpoint on {addr} stopped: {e}");
        }
    }))
}

fn router(sources: Sources) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics::handler))
        .route("/state", get(state::handler))
        .route("/events", get(events::handler))
        .layer(axum::middleware::map_response(allow_any_origin))
        .with_state(sources)
}

async fn index() -> &'static str {
    "zkafka broker endpoint: /metrics (Prometheus), /state (JSON), /events (server-sent events)\n"
}

async fn allow_any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// A JSON body with its content type (axum's `json` feature would pull serde in for this).
fn json(value: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}
