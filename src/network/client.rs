//! A minimal Kafka protocol client for broker-to-broker requests (the controller's
//! ControllerChannelManager and, later, replica fetchers): one request in flight at a time.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::{
    RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;

use super::frame;
use crate::security::sasl::scram::{ScramClient, ScramMechanism};
use crate::security::sasl::{plain, SaslClientConfig, PLAIN};

/// Largest response a broker-to-broker client accepts (a fetch response is bounded by
/// replica.fetch.response.max.bytes; this leaves headroom).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// The byte stream under a client: plain TCP or TLS over TCP.
trait ClientIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ClientIo for T {}

/// The TLS client brokers use towards each other's inter-broker listener when it is SSL; set
/// once at broker startup (a process is one broker), unset in the command-line tools.
static INTER_BROKER_TLS: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();

/// Makes `connect_inter_broker` speak TLS with `config` (the first call wins).
pub fn use_tls_between_brokers(config: Arc<rustls::ClientConfig>) {
    let _ = INTER_BROKER_TLS.set(config);
}

pub struct BrokerClient {
    stream: BufWriter<Box<dyn ClientIo>>,
    client_id: StrBytes,
    next_correlation_id: i32,
    request_timeout: Duration,
    /// The credentials this connection authenticated with, kept to re-authenticate.
    sasl: Option<SaslClientConfig>,
    /// KIP-368: when to re-authenticate (85% of the session lifetime the broker gave).
    reauth_at: Option<std::time::Instant>,
}

impl BrokerClient {
    pub async fn connect(
        addr: &str,
        client_id: &str,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> anyhow::Result<BrokerClient> {
        let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| anyhow::anyhow!("connect to {addr} timed out"))??;
        stream.set_nodelay(true)?;
        Ok(Self::over(Box::new(stream), client_id, request_timeout))
    }

    /// Connects to another broker's inter-broker listener: over TLS when that listener is SSL
    /// (verifying the broker's certificate and, by default, its host name), else plain TCP.
    pub async fn connect_inter_broker(
        addr: &str,
        client_id: &str,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> anyhow::Result<BrokerClient> {
        let tls = INTER_BROKER_TLS.get();
        Self::connect_over(addr, client_id, tls, connect_timeout, request_timeout).await
    }

    /// Connects to `addr` over TLS with `tls` (a command-line tool's SSL or SASL_SSL), or
    /// plain TCP when it is None.
    pub async fn connect_over(
        addr: &str,
        client_id: &str,
        tls: Option<&Arc<rustls::ClientConfig>>,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> anyhow::Result<BrokerClient> {
        let Some(tls) = tls else {
            return Self::connect(addr, client_id, connect_timeout, request_timeout).await;
        };
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        let name = crate::security::ssl::server_name(host.trim_matches(['[', ']']))?;
        let connect = async {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let connector = tokio_rustls::TlsConnector::from(tls.clone());
            anyhow::Ok(
                connector
                    .connect(name, super::tls_socket::TlsSocket::new(stream))
                    .await
                    .map_err(|e| anyhow::anyhow!("SSL handshake with {addr} failed: {e}"))?,
            )
        };
        let stream = tokio::time::timeout(connect_timeout, connect)
            .await
            .map_err(|_| anyhow::anyhow!("connect to {addr} timed out"))??;
        Ok(Self::over(Box::new(stream), client_id, request_timeout))
    }

    fn over(stream: Box<dyn ClientIo>, client_id: &str, request_timeout: Duration) -> BrokerClient {
        BrokerClient {
            stream: BufWriter::new(stream),
            client_id: StrBytes::from_string(client_id.to_string()),
            next_correlation_id: 0,
            request_timeout,
            sasl: None,
            reauth_at: None,
        }
    }

    /// A length-prefix placeholder, the request header with the next correlation id, the body.
    fn encode<R>(&mut self, req: &R, version: i16) -> anyhow::Result<(i32, BytesMut)>
    where
        R: Request + Encodable + HeaderVersion,
    {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let mut buf = BytesMut::with_capacity(256);
        buf.extend_from_slice(&[0; 4]);
        RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()))
            .encode(&mut buf, R::header_version(version))?;
        req.encode(&mut buf, version)?;
        Ok((correlation_id, buf))
    }

    /// Sends `req` without reading a response and returns its correlation id: a produce
    /// request with acks=0 gets none, so waiting for one would hang (the console producer's
    /// `--request-required-acks 0`). Pipelined requests read their responses with `recv`.
    pub async fn send_oneway<R>(&mut self, req: &R, version: i16) -> anyhow::Result<i32>
    where
        R: Request + Encodable + HeaderVersion,
    {
        let (correlation_id, buf) = self.encode(req, version)?;
        frame::write_frame(&mut self.stream, buf).await?;
        self.stream.flush().await?;
        Ok(correlation_id)
    }

    /// Reads the next response, whatever request it answers: (correlation id, response).
    pub async fn recv<Resp>(&mut self, version: i16) -> anyhow::Result<(i32, Resp)>
    where
        Resp: Decodable + HeaderVersion,
    {
        let timeout = self.request_timeout;
        tokio::time::timeout(timeout, async {
            let mut body = frame::read_frame(self.stream.get_mut(), MAX_RESPONSE_BYTES)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let header = ResponseHeader::decode(&mut body, Resp::header_version(version))?;
            Ok((header.correlation_id, Resp::decode(&mut body, version)?))
        })
        .await
        .map_err(|_| anyhow::anyhow!("response timed out after {timeout:?}"))?
    }

    /// Sends `req` at `version` and waits for its response; re-authenticates first when the
    /// SASL session is about to expire (the broker would close the connection after it).
    pub async fn send<R>(&mut self, req: &R, version: i16) -> anyhow::Result<R::Response>
    where
        R: Request + Encodable + HeaderVersion,
        R::Response: Decodable + HeaderVersion,
    {
        if self
            .reauth_at
            .is_some_and(|t| std::time::Instant::now() >= t)
        {
            if let Some(sasl) = self.sasl.clone() {
                Box::pin(self.authenticate(&sasl)).await?;
            }
        }
        self.send_now(req, version).await
    }

    async fn send_now<R>(&mut self, req: &R, version: i16) -> anyhow::Result<R::Response>
    where
        R: Request + Encodable + HeaderVersion,
        R::Response: Decodable + HeaderVersion,
    {
        let (correlation_id, buf) = self.encode(req, version)?;
        let timeout = self.request_timeout;
        tokio::time::timeout(timeout, async {
            frame::write_frame(&mut self.stream, buf).await?;
            self.stream.flush().await?;
            let mut body = frame::read_frame(self.stream.get_mut(), MAX_RESPONSE_BYTES)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let header = ResponseHeader::decode(&mut body, R::Response::header_version(version))?;
            anyhow::ensure!(
                header.correlation_id == correlation_id,
                "correlation id mismatch: sent {correlation_id}, got {}",
                header.correlation_id
            );
            R::Response::decode(&mut body, version)
        })
        .await
        .map_err(|_| anyhow::anyhow!("request timed out after {timeout:?}"))?
    }

    /// Authenticates this connection (SaslHandshake v1, then SaslAuthenticate) when `sasl`
    /// is set: how brokers talk to each other over a SASL inter-broker listener.
    pub async fn authenticated(
        mut self,
        sasl: Option<&SaslClientConfig>,
    ) -> anyhow::Result<BrokerClient> {
        let Some(sasl) = sasl else { return Ok(self) };
        self.sasl = Some(sasl.clone());
        self.authenticate(sasl).await?;
        Ok(self)
    }

    /// One SASL exchange (also a KIP-368 re-authentication on an authenticated connection).
    async fn authenticate(&mut self, sasl: &SaslClientConfig) -> anyhow::Result<()> {
        self.reauth_at = None;
        let req = SaslHandshakeRequest::default()
            .with_mechanism(StrBytes::from_string(sasl.mechanism.clone()));
        let resp = self.send_now(&req, 1).await?;
        anyhow::ensure!(
            resp.error_code == 0,
            "SASL mechanism {} refused (error {}), the broker enables {:?}",
            sasl.mechanism,
            resp.error_code,
            resp.mechanisms
        );
        if sasl.mechanism == PLAIN {
            self.sasl_token(plain::client_token(&sasl.username, &sasl.password))
                .await?;
            return Ok(());
        }
        let mech = ScramMechanism::from_name(&sasl.mechanism)
            .ok_or_else(|| anyhow::anyhow!("unsupported SASL mechanism {}", sasl.mechanism))?;
        let scram = ScramClient::new(mech, &sasl.username);
        let server_first = self.sasl_token(scram.client_first()).await?;
        // PBKDF2 over >= 4096 iterations: off the async workers, which serve requests.
        let password = sasl.password.clone();
        let (scram, client_final) = tokio::task::spawn_blocking(move || {
            let mut scram = scram;
            let client_final = scram.client_final(&server_first, &password);
            (scram, client_final)
        })
        .await?;
        let client_final = client_final?;
        let server_final = self.sasl_token(client_final).await?;
        scram.verify_server_final(&server_final)?;
        Ok(())
    }

    /// One SaslAuthenticate round trip: the server's token, or its error.
    async fn sasl_token(&mut self, token: Vec<u8>) -> anyhow::Result<bytes::Bytes> {
        let req = SaslAuthenticateRequest::default().with_auth_bytes(token.into());
        let sent = std::time::Instant::now();
        let resp = self.send_now(&req, 1).await?;
        anyhow::ensure!(
            resp.error_code == 0,
            "SASL authentication failed (error {}): {}",
            resp.error_code,
            resp.error_message.as_deref().unwrap_or("")
        );
        if resp.session_lifetime_ms > 0 {
            let ms = resp.session_lifetime_ms as u64;
            self.reauth_at = Some(sent + Duration::from_millis(ms - ms * 15 / 100));
        }
        Ok(resp.auth_bytes)
    }
}
