//! `zkafka ui`: the live cluster view, a web page that shows what the classic architecture
//! is doing — ZooKeeper, the controller, brokers, partitions with each replica's log end
//! offset against the high watermark, groups — and one narrated timeline merged from every
//! broker's `/events`. It reads ZooKeeper and the brokers' HTTP endpoints
//! (`zkafka.http.listener`); the page, its script and styles are compiled into the binary.
//!
//! Routes: `/` (the page), `/api/live` (server-sent events: `model`, `history`, `event`),
//! `/api/cluster` (the model as JSON), `/api/timeline?topic=NAME&internal=true` (the
//! timeline as JSON, newest last), `/api/znode?path=/x` (one znode with data and stat).

mod discovery;
mod http_client;
mod live;
mod model;
mod reachability;
mod timeline;
mod zookeeper;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::stream::{self, Stream};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use live::{Live, Viewer};
use timeline::Filter;

/// `zkafka ui [--listen host:port] [--zookeeper host:port,...] [--http host:port,...]`
#[derive(clap::Args, Debug, Clone)]
pub struct UiArgs {
    /// Where to serve the page
    #[arg(long, default_value = "127.0.0.1:9180")]
    pub listen: String,
    /// The ZooKeeper connect string (with the cluster's chroot, if any)
    #[arg(long, default_value = "localhost:2181")]
    pub zookeeper: String,
    /// The brokers' HTTP endpoints, in place of asking each broker for its
    /// zkafka.http.listener
    #[arg(long, value_delimiter = ',')]
    pub http: Vec<String>,
}

/// Serves the view until the process is stopped; returns the exit code.
pub async fn run(args: UiArgs) -> u8 {
    match serve(args).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("zkafka ui: {e:#}");
            1
        }
    }
}

async fn serve(args: UiArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {} (--listen)", args.listen))?;
    let addr = listener.local_addr()?;
    let live = Live::new(args.zookeeper.clone(), args.http);
    tracing::info!(target: "zkafka.ui",
        "Serving the live cluster view of ZooKeeper {} on http://{addr}/", args.zookeeper);
    axum::serve(listener, router(live))
        .await
        .with_context(|| format!("serving on {addr}"))
}

fn router(live: Arc<Live>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| asset("text/html", include_str!("assets/index.html"))),
        )
        .route(
            "/app.js",
            get(|| asset("text/javascript", include_str!("assets/app.js"))),
        )
        .route(
            "/i18n.js",
            get(|| asset("text/javascript", include_str!("assets/i18n.js"))),
        )
        .route(
            "/style.css",
            get(|| asset("text/css", include_str!("assets/style.css"))),
        )
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/live", get(live_events))
        .route("/api/cluster", get(cluster))
        .route("/api/timeline", get(timeline_json))
        .route("/api/znode", get(znode))
        .with_state(live)
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn json_text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn cluster(State(live): State<Arc<Live>>) -> Response {
    live.fresh().await;
    let model = live.model().borrow().clone();
    if model.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the cluster could not be read yet\n",
        )
            .into_response();
    }
    json_text(model.to_string())
}

async fn timeline_json(
    State(live): State<Arc<Live>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    live.fresh().await;
    let (entries, _) = live.timeline.subscribe(&Filter::from_query(&q));
    let list: Vec<&Value> = entries.iter().map(|e| e.as_ref()).collect();
    json_text(serde_json::to_string(&list).unwrap_or_default())
}

async fn znode(
    State(live): State<Arc<Live>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = q.get("path").map_or("/", String::as_str);
    let result = match live.zk().await {
        Ok(zk) => zookeeper::znode(&zk, path).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => json_text(v.to_string()),
        Err(e) => (StatusCode::NOT_FOUND, format!("{e:#}\n")).into_response(),
    }
}

/// What one open page's event stream holds: its `Viewer` keeps the feed running.
struct PageStream {
    _viewer: Viewer,
    model: tokio::sync::watch::Receiver<Arc<String>>,
    events: tokio::sync::broadcast::Receiver<Arc<Value>>,
}

impl PageStream {
    /// The next model or event for the page; None when the ui is shutting down.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            tokio::select! {
                changed = self.model.changed() => {
                    changed.ok()?;
                    let text = self.model.borrow_and_update().clone();
                    if !text.is_empty() {
                        return Some(SseEvent::default().event("model").data(text.as_str()));
                    }
                }
                event = self.events.recv() => return match event {
                    Ok(e) => Some(SseEvent::default().event("event").data(e.to_string())),
                    // Too far behind: the page reconnects and gets the history again.
                    Err(RecvError::Lagged(_)) => Some(SseEvent::default().event("reload").data("{}")),
                    Err(RecvError::Closed) => None,
                },
            }
        }
    }
}

/// The page's one connection: the timeline so far (all of it: the page filters), the
/// model, then every new event and every new model.
async fn live_events(
    State(live): State<Arc<Live>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let viewer = live.viewer();
    let all = Filter {
        topic: None,
        internal: true,
    };
    let (history, events) = live.timeline.subscribe(&all);
    let history: Vec<&Value> = history.iter().map(|e| e.as_ref()).collect();
    let first = SseEvent::default()
        .event("history")
        .data(serde_json::to_string(&history).unwrap_or_default());
    let mut model = live.model();
    model.mark_changed();
    let page = PageStream {
        _viewer: viewer,
        model,
        events,
    };
    let rest = stream::unfold(page, |mut page| async move {
        let item = page.next().await?;
        Some((Ok(item), page))
    });
    let stream = futures::StreamExt::chain(stream::iter([Ok(first)]), rest);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
