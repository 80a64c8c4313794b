//! The TLS handshake of an SSL listener's connection (Kafka's SslTransportLayer), and the
//! principal its client certificate names. A peer that does not speak TLS, or presents a
//! certificate the truststore rejects, is closed with one rate-limited WARN line.

use std::collections::BTreeMap;

use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::tls_socket::TlsSocket;
use super::ConnectionContext;
use crate::cluster::SecurityProtocol;
use crate::config::KafkaConfig;
use crate::logging::{RateLimit, Suppressed};
use crate::security::ssl::{principal_from_certificate, SslServer};

static HANDSHAKE_FAILED: RateLimit = RateLimit::new(10_000);

/// Completes the TLS handshake and sets the connection's principal from the client
/// certificate (`User:ANONYMOUS` without one). None: the connection is closed.
pub(super) async fn handshake(
    stream: TcpStream,
    ssl: &SslServer,
    conn: &mut ConnectionContext,
) -> Option<TlsStream<TlsSocket>> {
    let failed = |why: &dyn std::fmt::Display| {
        tracing::debug!(target: "kafka.network.Processor", "Failed authentication with {} on {} (SSL handshake failed): {why}", conn.peer, conn.listener_name);
        if let Some(n) = HANDSHAKE_FAILED.allow() {
            tracing::warn!(target: "kafka.network.Processor", "Failed authentication with {} on {} (SSL handshake failed): {why}{}", conn.peer, conn.listener_name, Suppressed(n));
        }
    };
    let tls = match TlsAcceptor::from(ssl.config.clone())
        .accept(TlsSocket::new(stream))
        .await
    {
        Ok(tls) => tls,
        Err(e) => {
            failed(&e);
            return None;
        }
    };
    let peer_cert = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
    if let Some(cert) = peer_cert {
        match principal_from_certificate(cert, &ssl.mapper) {
            Ok(p) => conn.principal = p,
            Err(e) => {
                failed(&e);
                return None;
            }
        }
    }
    tracing::debug!(target: "kafka.network.Processor", "Connection from {} on {} authenticated as {}", conn.peer, conn.listener_name, conn.principal);
    Some(tls)
}

/// Builds the TLS server of every SSL listener and, when the inter-broker listener is SSL,
/// the TLS client of `BrokerClient::connect_inter_broker`. Run before anything else starts,
/// so a bad keystore stops the broker with an error naming the key and file.
pub fn configure(
    config: &KafkaConfig,
) -> Result<BTreeMap<String, SslServer>, crate::config::ConfigError> {
    let mut servers = BTreeMap::new();
    for ep in &config.listeners {
        if uses_tls(ep.security_protocol) {
            let server = crate::security::ssl::server_config(config, &ep.listener_name)?;
            servers.insert(ep.listener_name.clone(), server);
        }
    }
    if uses_tls(config.inter_broker_endpoint().security_protocol) {
        let client =
            crate::security::ssl::client_config(config, &config.inter_broker_listener_name)?;
        super::client::use_tls_between_brokers(client);
    }
    Ok(servers)
}

/// SSL and SASL_SSL listeners run TLS (SASL then authenticates inside it).
fn uses_tls(protocol: SecurityProtocol) -> bool {
    matches!(protocol, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
}
