//! KIP-368 re-authentication on an authenticated SASL connection, as Kafka's KafkaChannel and
//! SaslServerAuthenticator do it: a SaslHandshake received once the session has an expiry
//! starts a new exchange (same mechanism and principal required, at most one a second), and
//! the first other request after the session expired closes the connection.

use std::time::{Duration, Instant};

use kafka_protocol::messages::{RequestKind, ResponseKind, SaslAuthenticateResponse};
use kafka_protocol::protocol::StrBytes;

use super::authenticator::{
    authenticate_response, failed, handshake_session, session_lifetime, Session,
};
use super::request::{RequestBody, RequestContext};
use crate::security::sasl::{ListenerSasl, SaslFailure, SaslServerConfig};
use crate::security::KafkaPrincipal;
use crate::server::errors;

/// KafkaChannel.MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS.
const MIN_REAUTH_INTERVAL: Duration = Duration::from_secs(1);

/// An authenticated connection's SASL session.
pub struct SaslSession {
    pub principal: KafkaPrincipal,
    pub mechanism: String,
    /// When the session ends (None: `connections.max.reauth.ms` is 0, it never does).
    pub expires: Option<Instant>,
    last_reauth_start: Option<Instant>,
    reauth: Option<Reauth>,
}

/// A re-authentication under way, after its handshake.
enum Reauth {
    /// The client asked for another (enabled) mechanism: its SaslAuthenticate fails.
    BadMechanism(String),
    Authenticate(Box<Session>),
}

/// What the connection does with a request.
pub enum Intercept {
    /// Not part of re-authentication: served as usual.
    Pass,
    Respond(ResponseKind),
    /// A failed re-authentication: answer, then close.
    RespondAndClose(ResponseKind),
    /// Closed without an answer (expired session, unexpected request during re-auth).
    Close(String),
}

impl SaslSession {
    pub fn new(principal: KafkaPrincipal, mechanism: String, expires: Option<Instant>) -> Self {
        SaslSession {
            principal,
            mechanism,
            expires,
            last_reauth_start: None,
            reauth: None,
        }
    }

    /// Routes one request: re-authentication steps are answered here; any other request
    /// passes unless the session has expired.
    pub fn intercept(
        &mut self,
        ctx: &RequestContext,
        body: &RequestBody,
        listener: &ListenerSasl,
        config: &SaslServerConfig,
    ) -> Intercept {
        let kind = match body {
            RequestBody::Decoded(kind) => Some(&**kind),
            RequestBody::UnsupportedApiVersions => None,
        };
        if let Some(reauth) = self.reauth.take() {
            return match kind {
                Some(RequestKind::SaslAuthenticate(req)) => {
                    self.authenticate(ctx, reauth, &req.auth_bytes, listener, config)
                }
                _ => Intercept::Close(format!(
                    "Unexpected Kafka request of type {:?} during SASL re-authentication",
                    ctx.api_key
                )),
            };
        }
        if let Some(RequestKind::SaslHandshake(req)) = kind {
            if self.may_begin_reauth() {
                return self.handshake(req.mechanism.as_str(), listener);
            }
        }
        match self.expires {
            Some(t) if Instant::now() >= t => Intercept::Close(format!(
                "SASL session of {} expired and was not re-authenticated",
                self.principal
            )),
            _ => Intercept::Pass,
        }
    }

    /// KafkaChannel.maybeBeginServerReauthentication: only sessions with an expiry, and not
    /// twice within a second (such a handshake is then served as usual: ILLEGAL_SASL_STATE).
    fn may_begin_reauth(&mut self) -> bool {
        if self.expires.is_none() {
            return false;
        }
        let now = Instant::now();
        if self
            .last_reauth_start
            .is_some_and(|t| now.duration_since(t) < MIN_REAUTH_INTERVAL)
        {
            return false;
        }
        self.last_reauth_start = Some(now);
        true
    }

    fn handshake(&mut self, mechanism: &str, listener: &ListenerSasl) -> Intercept {
        let (session, body) = handshake_session(listener, mechanism);
        let Some(session) = session else {
            return Intercept::RespondAndClose(ResponseKind::SaslHandshake(body));
        };
        self.reauth = Some(if mechanism == self.mechanism {
            Reauth::Authenticate(Box::new(session))
        } else {
            Reauth::BadMechanism(format!(
                "SASL mechanism '{mechanism}' requested by client is not supported for re-authentication of mechanism '{}'",
                self.mechanism
            ))
        });
        Intercept::Respond(ResponseKind::SaslHandshake(body))
    }

    fn authenticate(
        &mut self,
        ctx: &RequestContext,
        reauth: Reauth,
        token: &[u8],
        listener: &ListenerSasl,
        config: &SaslServerConfig,
    ) -> Intercept {
        let mut session = match reauth {
            Reauth::Authenticate(s) => s,
            Reauth::BadMechanism(why) => {
                return self.refuse(ctx, SaslFailure::Authentication(why));
            }
        };
        let mechanism = self.mechanism.clone();
        let (reply, user) = match session.evaluate(token, listener, config, &mechanism) {
            Ok(r) => r,
            Err(failure) => return self.refuse(ctx, failure),
        };
        let Some(user) = user else {
            // More tokens to come (SCRAM's first round).
            self.reauth = Some(Reauth::Authenticate(session));
            let body = authenticate_response(reply, false, ctx, listener, &mechanism);
            return Intercept::Respond(ResponseKind::SaslAuthenticate(body));
        };
        let principal = KafkaPrincipal::user(&user);
        if principal != self.principal {
            let why = format!(
                "Cannot change principals during re-authentication from {}: {}",
                self.principal.to_string().replacen(':', ".", 1),
                principal.to_string().replacen(':', ".", 1)
            );
            return self.refuse(ctx, SaslFailure::Authentication(why));
        }
        let (lifetime_ms, expires) = session_lifetime(listener, &mechanism);
        self.expires = expires;
        tracing::debug!(target: "org.apache.kafka.common.security.authenticator.SaslServerAuthenticator", "Successfully re-authenticated client from {} on {}: {}, mechanism={mechanism}, session lifetime {lifetime_ms} ms", ctx.conn.peer, ctx.conn.listener_name, self.principal);
        let body = authenticate_response(reply, true, ctx, listener, &mechanism);
        Intercept::Respond(ResponseKind::SaslAuthenticate(body))
    }

    fn refuse(&self, ctx: &RequestContext, failure: SaslFailure) -> Intercept {
        failed(&ctx.conn, &failure, &self.mechanism);
        let body = SaslAuthenticateResponse::default()
            .with_error_code(errors::SASL_AUTHENTICATION_FAILED)
            .with_error_message(Some(StrBytes::from_string(
                failure.client_message(&self.mechanism),
            )));
        Intercept::RespondAndClose(ResponseKind::SaslAuthenticate(body))
    }
}
