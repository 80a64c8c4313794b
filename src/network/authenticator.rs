//! SaslServerAuthenticator: on a SASL_PLAINTEXT or SASL_SSL listener a connection must
//! authenticate before it carries any other request. Until then only ApiVersions,
//! SaslHandshake (v0: raw tokens follow; v1: tokens come in SaslAuthenticate requests) and
//! SaslAuthenticate are accepted; anything else closes the connection, as in Kafka. A failed
//! authentication is answered after `connection.failed.authentication.delay.ms`, then closed.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    RequestKind, ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::request::{self, parse_request, RequestBody, RequestContext};
use super::{frame, ConnectionContext};
use crate::logging::{RateLimit, Suppressed};
use crate::security::sasl::scram::{ScramMechanism, ScramServer};
use crate::security::sasl::{plain, ListenerSasl, SaslFailure, SaslServerConfig, PLAIN};
use crate::security::KafkaPrincipal;
use crate::server::{api_versions, errors};

/// Largest packet accepted before authentication (Kafka 2.8.2's sasl.server.max.receive.size
/// default): an unauthenticated peer cannot make the broker allocate more.
const MAX_RECEIVE_SIZE: usize = 524_288;

/// Failed authentications: one WARN line per 10 s, every one at DEBUG.
static FAILED: RateLimit = RateLimit::new(10_000);
static BAD_STATE: RateLimit = RateLimit::new(10_000);

/// A connection's identity once authenticated, and how long its session lasts.
pub struct Authenticated {
    pub principal: KafkaPrincipal,
    pub mechanism: String,
    /// KIP-368: when the session ends unless the client re-authenticates (None = never).
    pub expires: Option<Instant>,
}

/// The session lifetime of a completed exchange and when it ends (SaslServerAuthenticator's
/// calcCompletionTimesAndReturnSessionLifetimeMs: `connections.max.reauth.ms` of the
/// mechanism, as no SCRAM or PLAIN credential expires by itself).
pub(super) fn session_lifetime(listener: &ListenerSasl, mechanism: &str) -> (i64, Option<Instant>) {
    let ms = listener.session_lifetime_ms(mechanism);
    let expires = (ms > 0).then(|| Instant::now() + Duration::from_millis(ms as u64));
    (ms, expires)
}

/// The mechanism chosen by the handshake, with its exchange state.
pub(super) enum Session {
    Plain,
    Scram(ScramServer),
}

impl Session {
    pub(super) fn start(mechanism: &str) -> Option<Session> {
        match mechanism {
            PLAIN => Some(Session::Plain),
            m => ScramMechanism::from_name(m).map(|m| Session::Scram(ScramServer::new(m))),
        }
    }

    /// Feeds one client token: the server's answer, and the username once complete.
    pub(super) fn evaluate(
        &mut self,
        token: &[u8],
        listener: &ListenerSasl,
        config: &SaslServerConfig,
        mechanism: &str,
    ) -> Result<(Vec<u8>, Option<String>), SaslFailure> {
        match self {
            Session::Plain => plain::authenticate(token, &listener.plain_users)
                .map(|user| (Vec::new(), Some(user))),
            Session::Scram(server) => {
                let mech = ScramMechanism::from_name(mechanism).expect("session matches");
                let reply = server.evaluate(token, |u| config.credentials.get(u, mech))?;
                Ok((reply, server.authorization_id().map(str::to_string)))
            }
        }
    }
}

/// Where the exchange is (SaslServerAuthenticator.SaslState).
enum State {
    HandshakeOrVersions,
    Handshake,
    Authenticate {
        mechanism: String,
        session: Box<Session>,
        /// Handshake v0: tokens are raw size-prefixed packets, not SaslAuthenticate requests.
        raw: bool,
    },
}

/// Runs the exchange on `stream`. `None` means the connection is to be closed (already
/// logged); on success the caller serves requests as the returned principal.
pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    conn: &ConnectionContext,
    listener: &ListenerSasl,
    config: &SaslServerConfig,
) -> Option<Authenticated> {
    let mut state = State::HandshakeOrVersions;
    loop {
        let packet = match frame::read_frame(stream, MAX_RECEIVE_SIZE).await {
            Ok(p) => p,
            Err(frame::FrameError::Closed) => return None,
            Err(e) => return bad_state(conn, &e.to_string()),
        };
        let step = match &mut state {
            State::Authenticate {
                mechanism,
                session,
                raw: true,
            } => raw_token(stream, conn, &packet, session, mechanism, listener, config).await,
            _ => request(stream, conn, packet, &mut state, listener, config).await,
        };
        match step {
            Step::Continue => {}
            Step::Done(a) => return Some(a),
            Step::Close => {
                close_gracefully(stream).await;
                return None;
            }
        }
    }
}

/// Ends a refused login without losing its answer: FIN after the response, then up to 1 s for
/// the client to close. Closing with the client's bytes unread makes the kernel reset the
/// connection, and a reset can drop the SASL_AUTHENTICATION_FAILED answer before the client
/// reads it (kafka-python then saw only "socket disconnected").
async fn close_gracefully<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 512];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

enum Step {
    Continue,
    Done(Authenticated),
    Close,
}

/// A raw token after a v0 handshake: the answer goes back as a bare size-prefixed packet.
async fn raw_token<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    conn: &ConnectionContext,
    token: &[u8],
    session: &mut Session,
    mechanism: &str,
    listener: &ListenerSasl,
    config: &SaslServerConfig,
) -> Step {
    match session.evaluate(token, listener, config, mechanism) {
        Ok((reply, user)) => {
            let mut buf = BytesMut::from(&[0u8; 4][..]);
            buf.extend_from_slice(&reply);
            if frame::write_frame(stream, buf).await.is_err() || stream.flush().await.is_err() {
                return Step::Close;
            }
            done_or_continue(conn, user, mechanism, listener)
        }
        Err(failure) => {
            failed(conn, &failure, mechanism);
            tokio::time::sleep(Duration::from_millis(config.failed_authentication_delay_ms)).await;
            Step::Close
        }
    }
}

fn done_or_continue(
    conn: &ConnectionContext,
    user: Option<String>,
    mechanism: &str,
    listener: &ListenerSasl,
) -> Step {
    match user {
        Some(user) => {
            let (lifetime_ms, expires) = session_lifetime(listener, mechanism);
            tracing::debug!(target: "org.apache.kafka.common.security.authenticator.SaslServerAuthenticator", "Successfully authenticated client from {} on {}: authenticationID={user}, mechanism={mechanism}, session lifetime {lifetime_ms} ms", conn.peer, conn.listener_name);
            Step::Done(Authenticated {
                principal: KafkaPrincipal::user(&user),
                mechanism: mechanism.to_string(),
                expires,
            })
        }
        None => Step::Continue,
    }
}

/// A Kafka request during authentication.
async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    conn: &ConnectionContext,
    packet: Bytes,
    state: &mut State,
    listener: &ListenerSasl,
    config: &SaslServerConfig,
) -> Step {
    let (ctx, body) = match parse_request(packet, conn) {
        Ok(parsed) => parsed,
        Err(e) => return close_step(conn, &format!("{e} (expected a SASL handshake)")),
    };
    let kind = match body {
        RequestBody::UnsupportedApiVersions => {
            let body = ResponseKind::ApiVersions(api_versions::unsupported_version_response());
            return respond(stream, &ctx, body, Some(0)).await;
        }
        RequestBody::Decoded(kind) => *kind,
    };
    match (kind, &mut *state) {
        (RequestKind::ApiVersions(_), State::HandshakeOrVersions) => {
            *state = State::Handshake;
            let body = ResponseKind::ApiVersions(api_versions::response());
            respond(stream, &ctx, body, None).await
        }
        (RequestKind::SaslHandshake(req), State::HandshakeOrVersions | State::Handshake) => {
            handshake(stream, &ctx, &req.mechanism, state, listener).await
        }
        (
            RequestKind::SaslAuthenticate(req),
            State::Authenticate {
                mechanism,
                session,
                raw: false,
            },
        ) => {
            let mechanism = mechanism.clone();
            authenticate_token(
                stream,
                &ctx,
                &req.auth_bytes,
                session,
                &mechanism,
                listener,
                config,
            )
            .await
        }
        _ => close_step(
            conn,
            &format!(
                "Unexpected Kafka request of type {:?} during SASL handshake",
                ctx.api_key
            ),
        ),
    }
}

async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    ctx: &RequestContext,
    mechanism: &str,
    state: &mut State,
    listener: &ListenerSasl,
) -> Step {
    let (session, body) = handshake_session(listener, mechanism);
    let Some(session) = session else {
        tracing::debug!(target: "org.apache.kafka.common.security.authenticator.SaslServerAuthenticator", "Unsupported SASL mechanism {mechanism} from {} on {}", ctx.conn.peer, ctx.conn.listener_name);
        let _ = respond(stream, ctx, ResponseKind::SaslHandshake(body), None).await;
        return Step::Close;
    };
    *state = State::Authenticate {
        mechanism: mechanism.to_string(),
        session: Box::new(session),
        raw: ctx.api_version() == 0,
    };
    respond(stream, ctx, ResponseKind::SaslHandshake(body), None).await
}

/// SaslHandshake's answer (the listener's enabled mechanisms) and, when `mechanism` is one
/// of them, its server session; otherwise the answer carries UNSUPPORTED_SASL_MECHANISM.
pub(super) fn handshake_session(
    listener: &ListenerSasl,
    mechanism: &str,
) -> (Option<Session>, SaslHandshakeResponse) {
    let enabled: Vec<StrBytes> = listener
        .enabled_mechanisms
        .iter()
        .map(|m| StrBytes::from_string(m.clone()))
        .collect();
    let session = listener
        .enabled_mechanisms
        .iter()
        .any(|m| m == mechanism)
        .then(|| Session::start(mechanism))
        .flatten();
    let body = SaslHandshakeResponse::default().with_mechanisms(enabled);
    match session {
        Some(s) => (Some(s), body),
        None => (
            None,
            body.with_error_code(errors::UNSUPPORTED_SASL_MECHANISM),
        ),
    }
}

#[allow(clippy::too_many_arguments)]
async fn authenticate_token<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    ctx: &RequestContext,
    token: &[u8],
    session: &mut Session,
    mechanism: &str,
    listener: &ListenerSasl,
    config: &SaslServerConfig,
) -> Step {
    match session.evaluate(token, listener, config, mechanism) {
        Ok((reply, user)) => {
            let body = authenticate_response(reply, user.is_some(), ctx, listener, mechanism);
            match respond(stream, ctx, ResponseKind::SaslAuthenticate(body), None).await {
                Step::Continue => done_or_continue(&ctx.conn, user, mechanism, listener),
                other => other,
            }
        }
        Err(failure) => {
            failed(&ctx.conn, &failure, mechanism);
            tokio::time::sleep(Duration::from_millis(config.failed_authentication_delay_ms)).await;
            let body = SaslAuthenticateResponse::default()
                .with_error_code(errors::SASL_AUTHENTICATION_FAILED)
                .with_error_message(Some(StrBytes::from_string(
                    failure.client_message(mechanism),
                )));
            let _ = respond(stream, ctx, ResponseKind::SaslAuthenticate(body), None).await;
            Step::Close
        }
    }
}

/// A successful SaslAuthenticate answer: v1+ tells the client its session lifetime (KIP-368)
/// once the exchange is complete, so it re-authenticates before the broker closes it.
pub(super) fn authenticate_response(
    reply: Vec<u8>,
    complete: bool,
    ctx: &RequestContext,
    listener: &ListenerSasl,
    mechanism: &str,
) -> SaslAuthenticateResponse {
    let body = SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(reply));
    if complete && ctx.api_version() >= 1 {
        body.with_session_lifetime_ms(listener.session_lifetime_ms(mechanism))
    } else {
        body
    }
}

async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    ctx: &RequestContext,
    body: ResponseKind,
    version_override: Option<i16>,
) -> Step {
    let response = request::Response {
        body,
        version_override,
    };
    let sent = match super::encode_response(ctx, &response).and_then(|f| Ok(f.to_vec()?)) {
        Ok(bytes) => stream.write_all(&bytes).await.is_ok() && stream.flush().await.is_ok(),
        Err(e) => {
            tracing::error!(target: "kafka.network.Processor", "cannot encode {:?} response v{}: {e}", ctx.api_key, ctx.api_version());
            false
        }
    };
    if sent {
        Step::Continue
    } else {
        Step::Close
    }
}

pub(super) fn failed(conn: &ConnectionContext, failure: &SaslFailure, mechanism: &str) {
    let line = format!(
        "Failed authentication with {} on {} ({}; mechanism {mechanism})",
        conn.peer,
        conn.listener_name,
        failure.detail()
    );
    tracing::debug!(target: "org.apache.kafka.common.network.Selector", "{line}");
    if let Some(n) = FAILED.allow() {
        tracing::info!(target: "org.apache.kafka.common.network.Selector", "{line}{}", Suppressed(n));
    }
}

fn close_step(conn: &ConnectionContext, why: &str) -> Step {
    bad_state::<()>(conn, why);
    Step::Close
}

fn bad_state<T>(conn: &ConnectionContext, why: &str) -> Option<T> {
    tracing::debug!(target: "kafka.network.Processor", "Closing unauthenticated connection from {} on {}: {why}", conn.peer, conn.listener_name);
    if let Some(n) = BAD_STATE.allow() {
        tracing::warn!(target: "kafka.network.Processor", "Closing unauthenticated connection from {} on {}: {why}{}", conn.peer, conn.listener_name, Suppressed(n));
    }
    None
}
