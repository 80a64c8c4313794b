//! The network layer (Kafka's SocketServer): one tokio listener per configured listener, one
//! task per connection. Like Kafka, a connection processes one request at a time, so responses
//! leave in request order; a request that cannot be parsed closes only its own connection.

pub mod authenticator;
pub mod client;
pub mod fetch_metadata;
pub mod frame;
pub mod reauth;
pub mod request;
pub mod response;
pub mod stream;
pub mod tls;
pub mod tls_socket;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::cluster::EndPoint;
use crate::logging::{RateLimit, Suppressed};
use crate::metrics::{BrokerMetrics, METRICS};
use crate::security::ssl::SslServer;
use crate::security::KafkaPrincipal;
use crate::server::apis::{Handled, KafkaApis};
use request::{parse_request, RequestContext};
use response::{send_frame, ResponseFrame};
use stream::{ConnReadHalf, ConnWriteHalf};

/// Limits the network layer enforces (socket.request.max.bytes and friends).
#[derive(Clone, Debug)]
pub struct NetworkLimits {
    pub socket_request_max_bytes: usize,
    /// queued.max.request.bytes (KIP-72): bytes of requests all connections may hold at once,
    /// reserved before a request body is read and returned once it was handled.
    pub memory_pool: Option<Arc<tokio::sync::Semaphore>>,
}

impl NetworkLimits {
    pub fn new(socket_request_max_bytes: usize, queued_max_request_bytes: i64) -> NetworkLimits {
        let memory_pool = (queued_max_request_bytes > 0).then(|| {
            let permits = (queued_max_request_bytes as u64)
                .min(tokio::sync::Semaphore::MAX_PERMITS as u64) as usize;
            Arc::new(tokio::sync::Semaphore::new(permits))
        });
        NetworkLimits {
            socket_request_max_bytes,
            memory_pool,
        }
    }
}

/// The bound listeners; stops accepting when the shutdown signal flips.
pub struct SocketServer {
    tasks: JoinSet<()>,
    shutdown: watch::Sender<bool>,
    pub bound: Vec<(EndPoint, SocketAddr)>,
}

impl SocketServer {
    /// Binds every listener (port 0 picks a free port; `bound` reports the real one).
    pub async fn bind(
        listeners: &[EndPoint],
    ) -> std::io::Result<(Vec<TcpListener>, Vec<(EndPoint, SocketAddr)>)> {
        let mut out = Vec::new();
        let mut bound = Vec::new();
        for ep in listeners {
            let host = if ep.host.is_empty() {
                "0.0.0.0"
            } else {
                ep.host.as_str()
            };
            let l = TcpListener::bind((host, ep.port)).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot bind listener {ep}: {e}"))
            })?;
            bound.push((ep.clone(), l.local_addr()?));
            out.push(l);
        }
        Ok((out, bound))
    }

    /// Starts accepting on already-bound listeners.
    pub fn start(
        listeners: Vec<TcpListener>,
        bound: Vec<(EndPoint, SocketAddr)>,
        apis: Arc<KafkaApis>,
        limits: NetworkLimits,
        ssl: &BTreeMap<String, SslServer>,
    ) -> SocketServer {
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for (listener, (ep, addr)) in listeners.into_iter().zip(bound.iter().cloned()) {
            tracing::info!(target: "kafka.network.SocketServer", "Awaiting socket connections on {addr} ({})", ep.listener_name);
            tasks.spawn(accept_loop(
                listener,
                ep.listener_name.clone(),
                ssl.get(&ep.listener_name).cloned(),
                apis.clone(),
                limits.clone(),
                rx.clone(),
            ));
        }
        SocketServer {
            tasks,
            shutdown,
            bound,
        }
    }

    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        self.tasks.shutdown().await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    listener_name: String,
    ssl: Option<SslServer>,
    apis: Arc<KafkaApis>,
    limits: NetworkLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut trim = TrimAfterCloses::default();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let mut ctx = ConnectionContext { peer, listener_name: listener_name.clone(), principal: KafkaPrincipal::anonymous() };
                    let (apis, limits, ssl) = (apis.clone(), limits.clone(), ssl.clone());
                    connections.spawn(async move {
                        let (halves, sasl) = match ssl {
                            None => {
                                let mut stream = stream;
                                let Some(sasl) = sasl_authenticate(&mut stream, &mut ctx, &apis).await else {
                                    return;
                                };
                                (stream::split_plain(stream), sasl)
                            }
                            Some(ssl) => match tls::handshake(stream, &ssl, &mut ctx).await {
                                Some(mut tls) => {
                                    let Some(sasl) = sasl_authenticate(&mut tls, &mut ctx, &apis).await else {
                                        return;
                                    };
                                    (stream::split_tls(tls), sasl)
                                }
                                None => return,
                            },
                        };
                        serve_connection(halves, ctx, sasl, apis, limits).await
                    });
                    trim.opened(connections.len());
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!(target: "kafka.network.SocketServer", "accept failed on {listener_name}: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => trim.closed(connections.len()),
        }
    }
    connections.shutdown().await;
}

/// SASL listeners (SASL_PLAINTEXT, and SASL_SSL after its TLS handshake) authenticate the
/// connection before its first request is served: None when it failed and must close, else
/// the SASL session (none on other listeners).
async fn sasl_authenticate<S>(
    stream: &mut S,
    ctx: &mut ConnectionContext,
    apis: &KafkaApis,
) -> Option<Option<reauth::SaslSession>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some(listener) = apis.sasl.listeners.get(&ctx.listener_name) else {
        return Some(None);
    };
    let a = authenticator::authenticate(stream, ctx, listener, &apis.sasl).await?;
    ctx.principal = a.principal.clone();
    Some(Some(reauth::SaslSession::new(
        a.principal,
        a.mechanism,
        a.expires,
    )))
}

/// Returns the memory of closed connections to the OS once half of a recent peak (of at
/// least 64 connections) has closed: a trim per wave of closes, never one per connection.
#[derive(Default)]
struct TrimAfterCloses {
    peak: usize,
}

impl TrimAfterCloses {
    fn opened(&mut self, open: usize) {
        self.peak = self.peak.max(open);
    }

    fn closed(&mut self, open: usize) {
        if self.peak >= 64 && open <= self.peak / 2 {
            self.peak = open;
            tokio::task::spawn_blocking(crate::alloc::release_free_memory);
        }
    }
}

/// Who is on the other end of a connection.
#[derive(Clone, Debug)]
pub struct ConnectionContext {
    pub peer: SocketAddr,
    pub listener_name: String,
    /// Who the connection authenticated as (`User:ANONYMOUS` until SASL or TLS says more).
    pub principal: KafkaPrincipal,
}

/// Responses a connection may owe before it stops reading requests (deferred acks=all
/// produces waiting on replication): bounds the memory and work one client can queue.
const MAX_PENDING_RESPONSES: usize = 16;

/// Connections closed for a bad frame size, a malformed request, and by a request handler
/// (e.g. a failed acks=0 produce): one WARN line per kind per 10 s, every one at DEBUG.
static BAD_FRAME: RateLimit = RateLimit::new(10_000);
static BAD_REQUEST: RateLimit = RateLimit::new(10_000);
static CLOSED_BY_HANDLER: RateLimit = RateLimit::new(10_000);

/// Per-connection read buffer; larger request bodies are read straight into their frame.
/// Held only while the connection has bytes to read (see `next_request_size`).
const READ_BUFFER_BYTES: usize = 16 * 1024;

type ConnReader = tokio::io::BufReader<ConnReadHalf>;

/// A read buffer for a connection half: a token one over TLS, where rustls buffers the
/// decrypted records itself (reads larger than the buffer bypass it).
fn conn_reader(half: ConnReadHalf) -> ConnReader {
    let capacity = if half.is_tls() { 8 } else { READ_BUFFER_BYTES };
    tokio::io::BufReader::with_capacity(capacity, half)
}

/// Waits for the next request's size prefix. A connection with nothing buffered gives its
/// read buffer back and waits for the socket to become readable first, so an idle
/// connection (most of a client's pool) costs its socket and two small tasks, not 16 KiB.
async fn next_request_size(
    reader: &mut Option<ConnReader>,
    max: usize,
) -> Result<usize, frame::FrameError> {
    let mut r = reader.take().ok_or(frame::FrameError::Closed)?;
    if r.buffer().is_empty() {
        let half = r.into_inner();
        half.readable().await.map_err(frame::FrameError::Io)?;
        r = conn_reader(half);
    }
    let size = frame::read_size(&mut r, max).await;
    *reader = Some(r);
    size
}

/// Reads requests and handles them one after another; a writer task sends the responses in
/// request order. Only acks=all produces overlap (their wait for replication), which lets a
/// client's in-flight requests share one replication round trip where Kafka waits for each.
async fn serve_connection(
    (reader, writer): (ConnReadHalf, ConnWriteHalf),
    conn: ConnectionContext,
    mut sasl: Option<reauth::SaslSession>,
    apis: Arc<KafkaApis>,
    limits: NetworkLimits,
) {
    // Small requests (follower fetches, heartbeats) arrive with one read each; the buffer is
    // given back whenever nothing is buffered (next_request_size).
    let mut reader = Some(conn_reader(reader));
    // Boxed entries: the channel allocates its slots up front, 32 at a time.
    let (tx, rx) = tokio::sync::mpsc::channel::<Box<Owed>>(MAX_PENDING_RESPONSES);
    let writer = tokio::spawn(write_responses(writer, rx, conn.clone()));
    let closing = |kind: &RateLimit, why: &dyn std::fmt::Display| {
        tracing::debug!(target: "kafka.network.Processor", "Closing connection from {} on {}: {why}", conn.peer, conn.listener_name);
        if let Some(n) = kind.allow() {
            tracing::warn!(target: "kafka.network.Processor", "Closing connection from {} on {}: {why}{}", conn.peer, conn.listener_name, Suppressed(n));
        }
    };
    loop {
        let size = match next_request_size(&mut reader, limits.socket_request_max_bytes).await {
            Ok(size) => size,
            Err(frame::FrameError::Closed) => break,
            Err(e) => {
                closing(&BAD_FRAME, &e);
                break;
            }
        };
        // Held until the request was handled; dropping it returns the bytes to the pool.
        let _reservation = match &limits.memory_pool {
            Some(pool) => Some(reserve(pool, size, &conn).await),
            None => None,
        };
        let Some(r) = reader.as_mut() else { break };
        let parsed = frame::read_body(r, size)
            .await
            .map_err(|e| e.to_string())
            .and_then(|frame| parse_request(frame, &conn).map_err(|e| e.to_string()));
        let (ctx, body) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                closing(&BAD_REQUEST, &e);
                break;
            }
        };
        let timing = RequestTiming::start(&ctx, &body);
        let intercept = match (sasl.as_mut(), apis.sasl.listeners.get(&conn.listener_name)) {
            (Some(session), Some(listener)) => session.intercept(&ctx, &body, listener, &apis.sasl),
            _ => reauth::Intercept::Pass,
        };
        let (response, close) = match intercept {
            reauth::Intercept::Pass => (None, false),
            reauth::Intercept::Respond(r) => (Some(r), false),
            reauth::Intercept::RespondAndClose(r) => {
                let delay = apis.sasl.failed_authentication_delay_ms;
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                (Some(r), true)
            }
            reauth::Intercept::Close(why) => {
                // Kafka's Processor: "Disconnecting expired channel" (DEBUG).
                tracing::debug!(target: "kafka.network.Processor", "Closing connection from {} on {}: {why}", conn.peer, conn.listener_name);
                break;
            }
        };
        if let Some(r) = response {
            let owed = Box::new((ctx, Handled::Respond(Box::new(r.into())), timing));
            if tx.send(owed).await.is_err() || close {
                break;
            }
            continue;
        }
        // Boxed: the largest handler's state would otherwise be part of every connection's
        // future, idle or not.
        let (handled, mute_ms) = Box::pin(apis.handle(&ctx, body)).await.split_throttle();
        match handled {
            Handled::NoResponse => timing.done(&ctx),
            Handled::Close(why) => {
                tracing::debug!(target: "kafka.server.KafkaApis", "Closing connection from {}: {why}", conn.peer);
                if let Some(n) = CLOSED_BY_HANDLER.allow() {
                    tracing::warn!(target: "kafka.server.KafkaApis", "Closing connection from {}: {why}{}", conn.peer, Suppressed(n));
                }
                writer.abort();
                return;
            }
            handled => {
                if tx.send(Box::new((ctx, handled, timing))).await.is_err() {
                    break; // the writer failed: the connection is gone
                }
            }
        }
        if mute_ms > 0 {
            // Muted, as Kafka's ThrottledChannel mutes the channel: nothing more is read
            // from this client until its throttle time is over.
            tokio::time::sleep(std::time::Duration::from_millis(mute_ms)).await;
        }
    }
    // Responses already owed still go out (the client may have only half-closed).
    drop(tx);
    let _ = writer.await;
}

/// Waits until `size` bytes of the queued.max.request.bytes pool are free and takes them.
async fn reserve(
    pool: &Arc<tokio::sync::Semaphore>,
    size: usize,
    conn: &ConnectionContext,
) -> tokio::sync::OwnedSemaphorePermit {
    let size = size.max(1) as u32; // bounded by socket.request.max.bytes (an i32)
    if pool.available_permits() < size as usize {
        tracing::debug!(target: "kafka.network.Processor", "Request of {size} bytes from {} waits: queued.max.request.bytes has {} bytes free", conn.peer, pool.available_permits());
    }
    pool.clone()
        .acquire_many_owned(size)
        .await
        .expect("the request memory pool is never closed")
}

/// A response the connection owes, in request order.
type Owed = (RequestContext, Handled, RequestTiming);

/// Sends responses in request order, completing deferred ones first.
async fn write_responses(
    mut writer: ConnWriteHalf,
    mut rx: tokio::sync::mpsc::Receiver<Box<Owed>>,
    conn: ConnectionContext,
) {
    while let Some(owed) = rx.recv().await {
        let (ctx, handled, timing) = *owed;
        let handled = match handled {
            Handled::Deferred(rest) => rest.await,
            h => h,
        };
        let frame = match handled {
            Handled::Respond(response) => match encode_response(&ctx, &response) {
                Ok(frame) => frame,
                Err(e) => {
                    tracing::error!(target: "kafka.network.Processor", "cannot encode {:?} response v{}: {e}", ctx.api_key, ctx.api_version());
                    return;
                }
            },
            Handled::Encoded(frame) => frame,
            Handled::NoResponse => continue,
            Handled::Deferred(_) | Handled::Close(_) | Handled::Throttled { .. } => {
                tracing::warn!(target: "kafka.server.KafkaApis", "Closing connection from {}: a deferred {:?} request did not complete", conn.peer, ctx.api_key);
                return;
            }
        };
        if send_frame(&mut writer, frame).await.is_err() {
            return;
        }
        timing.done(&ctx);
    }
}

/// A request from the moment it was read until its response was sent: RequestsPerSec,
/// TotalTimeMs and RequestQueueSize (requests read and not yet answered).
struct RequestTiming {
    started: std::time::Instant,
    slot: usize,
}

impl RequestTiming {
    fn start(ctx: &RequestContext, body: &request::RequestBody) -> RequestTiming {
        use kafka_protocol::messages::RequestKind;
        let follower = matches!(body, request::RequestBody::Decoded(k)
            if matches!(&**k, RequestKind::Fetch(f) if f.replica_id.0 >= 0));
        METRICS.request_queue_size.add(1);
        RequestTiming {
            started: std::time::Instant::now(),
            slot: BrokerMetrics::request_slot(ctx.api_key as i16, follower),
        }
    }

    fn done(self, ctx: &RequestContext) {
        METRICS.record_request(self.slot, ctx.api_version(), self.started.elapsed());
    }
}

impl Drop for RequestTiming {
    fn drop(&mut self) {
        METRICS.request_queue_size.add(-1);
    }
}

fn encode_response(
    ctx: &RequestContext,
    response: &request::Response,
) -> anyhow::Result<ResponseFrame> {
    let mut buf = BytesMut::with_capacity(256);
    buf.extend_from_slice(&[0; 4]);
    request::encode_response_into(ctx, response, &mut buf)?;
    Ok(ResponseFrame::from_buf(buf))
}
