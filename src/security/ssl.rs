//! TLS for SSL listeners (and the TLS half of SASL_SSL), as Kafka's SslFactory configures it
//! from the `ssl.*` keys (each overridable per listener as `listener.name.<l>.ssl.*`):
//! PEM keystores and truststores, `ssl.client.auth`, `ssl.enabled.protocols`,
//! `ssl.cipher.suites`, `ssl.endpoint.identification.algorithm`. rustls with the ring
//! provider does the TLS; JKS and PKCS12 stores are refused with an error naming the key.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::config::{ConfigError, KafkaConfig};

pub use super::ssl_principal::{principal_from_certificate, SslPrincipalMapper};

/// `ssl.client.auth`: whether an SSL listener asks clients for a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Requested,
    Required,
}

/// Where `ssl.*` settings come from: a broker listener (with its `listener.name.<l>.`
/// overrides) or a client's properties file (a tool's `--command-config`).
enum SslSource<'a> {
    Listener {
        config: &'a KafkaConfig,
        listener: String,
    },
    Client {
        props: &'a BTreeMap<String, String>,
        file: &'a str,
    },
}

/// The `ssl.*` settings of one listener or client.
struct ListenerSsl<'a> {
    source: SslSource<'a>,
}

impl ListenerSsl<'_> {
    fn get(&self, key: &str) -> Option<String> {
        match &self.source {
            SslSource::Listener { config, listener } => config.listener_string(listener, key),
            SslSource::Client { props, .. } => props.get(key).cloned(),
        }
        .filter(|v| !v.is_empty())
    }

    /// The key's name as the user would have set it, for error messages.
    fn key_name(&self, key: &str) -> String {
        match &self.source {
            SslSource::Listener { config, listener } => {
                if config.listener_string(listener, key) != config.string(key) {
                    format!("listener.name.{}.{key}", listener.to_ascii_lowercase())
                } else {
                    key.to_string()
                }
            }
            SslSource::Client { file, .. } => format!("{key} (in {file})"),
        }
    }

    /// What these settings configure, for error messages.
    fn origin(&self) -> String {
        match &self.source {
            SslSource::Listener { listener, .. } => format!("listener {listener}"),
            SslSource::Client { file, .. } => file.to_string(),
        }
    }

    fn invalid(&self, key: &str, value: &str, why: impl std::fmt::Display) -> ConfigError {
        ConfigError::invalid(&self.key_name(key), value, why)
    }

    fn store_type(&self, key: &str) -> Result<(), ConfigError> {
        let ty = self.get(key).unwrap_or_else(|| "JKS".into());
        if ty.eq_ignore_ascii_case("PEM") {
            return Ok(());
        }
        Err(self.invalid(
            key,
            &ty,
            format!(
                "zkafka reads PEM key and trust stores only: set {}=PEM",
                self.key_name(key)
            ),
        ))
    }

    /// The listener's key and certificate chain, None when no keystore is configured.
    fn keystore(
        &self,
    ) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, ConfigError> {
        let location = self.get("ssl.keystore.location");
        let inline = (
            self.get("ssl.keystore.key"),
            self.get("ssl.keystore.certificate.chain"),
        );
        if location.is_none() && inline == (None, None) {
            return Ok(None);
        }
        self.store_type("ssl.keystore.type")?;
        let (key_pem, chain_pem, key_at, chain_at) = match (location, inline) {
            (Some(path), _) => {
                let pem = read_store(self, "ssl.keystore.location", &path)?;
                let at = format!("{} ({path})", self.key_name("ssl.keystore.location"));
                (pem.clone(), pem, at.clone(), at)
            }
            (None, (Some(key), Some(chain))) => (
                key.into_bytes(),
                chain.into_bytes(),
                self.key_name("ssl.keystore.key"),
                self.key_name("ssl.keystore.certificate.chain"),
            ),
            (None, (key, _)) => {
                let missing = if key.is_none() {
                    "ssl.keystore.key"
                } else {
                    "ssl.keystore.certificate.chain"
                };
                return Err(ConfigError::missing(&self.key_name(missing)));
            }
        };
        let chain = certificates(&chain_pem)
            .map_err(|e| ConfigError(format!("Invalid certificate chain in {chain_at}: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            ConfigError(format!(
                "Invalid private key in {key_at}: {e} (zkafka reads unencrypted PKCS#8, PKCS#1 or SEC1 PEM keys)"
            ))
        })?;
        Ok(Some((chain, key)))
    }

    /// The listener's trusted certificates, None when no truststore is configured.
    fn truststore(&self) -> Result<Option<RootCertStore>, ConfigError> {
        let (pem, at) = match (
            self.get("ssl.truststore.location"),
            self.get("ssl.truststore.certificates"),
        ) {
            (Some(path), _) => {
                let at = format!("{} ({path})", self.key_name("ssl.truststore.location"));
                (read_store(self, "ssl.truststore.location", &path)?, at)
            }
            (None, Some(text)) => (
                text.into_bytes(),
                self.key_name("ssl.truststore.certificates"),
            ),
            (None, None) => return Ok(None),
        };
        self.store_type("ssl.truststore.type")?;
        let mut roots = RootCertStore::empty();
        for cert in certificates(&pem)
            .map_err(|e| ConfigError(format!("Invalid certificates in {at}: {e}")))?
        {
            roots
                .add(cert)
                .map_err(|e| ConfigError(format!("Invalid trusted certificate in {at}: {e}")))?;
        }
        Ok(Some(roots))
    }

    fn client_auth(&self) -> Result<ClientAuth, ConfigError> {
        let v = self.get("ssl.client.auth").unwrap_or_else(|| "none".into());
        match v.to_ascii_lowercase().as_str() {
            "none" => Ok(ClientAuth::None),
            "requested" => Ok(ClientAuth::Requested),
            "required" => Ok(ClientAuth::Required),
            _ => Err(self.invalid(
                "ssl.client.auth",
                &v,
                "expected one of none, requested, required",
            )),
        }
    }

    /// `ssl.enabled.protocols` as rustls versions; TLSv1 and TLSv1.1 have no rustls support.
    fn protocol_versions(
        &self,
    ) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, ConfigError> {
        let text = self
            .get("ssl.enabled.protocols")
            .unwrap_or_else(|| "TLSv1.2,TLSv1.3".into());
        let mut out = Vec::new();
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "TLSv1.2" => out.push(&rustls::version::TLS12),
                "TLSv1.3" => out.push(&rustls::version::TLS13),
                other => {
                    tracing::warn!(target: "kafka.network.SslFactory", "Ignoring {other} in {}: zkafka supports TLSv1.2 and TLSv1.3", self.key_name("ssl.enabled.protocols"))
                }
            }
        }
        if out.is_empty() {
            return Err(self.invalid(
                "ssl.enabled.protocols",
                &text,
                "no supported protocol (TLSv1.2, TLSv1.3)",
            ));
        }
        Ok(out)
    }

    /// The ring provider, its suites narrowed to `ssl.cipher.suites` when set (IANA names, as
    /// Java names them; unknown names are ignored with a warning).
    fn provider(&self) -> Result<Arc<CryptoProvider>, ConfigError> {
        let mut provider = rustls::crypto::ring::default_provider();
        let Some(text) = self.get("ssl.cipher.suites") else {
            return Ok(Arc::new(provider));
        };
        let wanted: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let name_of =
            |s: &rustls::SupportedCipherSuite| format!("{:?}", s.suite()).replace("TLS13_", "TLS_");
        for w in &wanted {
            if !provider.cipher_suites.iter().any(|s| name_of(s) == *w) {
                tracing::warn!(target: "kafka.network.SslFactory", "Ignoring unsupported cipher suite {w} in {}", self.key_name("ssl.cipher.suites"));
            }
        }
        provider
            .cipher_suites
            .retain(|s| wanted.contains(&name_of(s).as_str()));
        if provider.cipher_suites.is_empty() {
            return Err(self.invalid(
                "ssl.cipher.suites",
                &text,
                "no cipher suite zkafka supports",
            ));
        }
        Ok(Arc::new(provider))
    }
}

fn read_store(ssl: &ListenerSsl<'_>, key: &str, path: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| {
        ConfigError(format!(
            "Cannot read {} file {path}: {e}",
            ssl.key_name(key)
        ))
    })
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM CERTIFICATE found".into());
    }
    Ok(certs)
}

/// The server side of an SSL listener, with the rules that turn a client certificate into
/// a principal.
#[derive(Clone)]
pub struct SslServer {
    pub config: Arc<rustls::ServerConfig>,
    pub client_auth: ClientAuth,
    pub mapper: Arc<SslPrincipalMapper>,
}

impl std::fmt::Debug for SslServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SslServer(client auth {:?})", self.client_auth)
    }
}

/// Builds the TLS server of `listener`; a missing or bad keystore is an error naming the key
/// and file, so the broker refuses to start.
pub fn server_config(config: &KafkaConfig, listener: &str) -> Result<SslServer, ConfigError> {
    let ssl = ListenerSsl {
        source: SslSource::Listener {
            config,
            listener: listener.to_string(),
        },
    };
    let (chain, key) = ssl.keystore()?.ok_or_else(|| {
        ConfigError(format!(
            "SSL listener {listener} needs a keystore: set {} (ssl.keystore.type=PEM), or ssl.keystore.key and ssl.keystore.certificate.chain",
            ssl.key_name("ssl.keystore.location")
        ))
    })?;
    let client_auth = ssl.client_auth()?;
    let provider = ssl.provider()?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&ssl.protocol_versions()?)
        .map_err(|e| ssl.invalid("ssl.enabled.protocols", "", e))?;
    let builder = match client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Requested | ClientAuth::Required => {
            let roots = ssl.truststore()?.ok_or_else(|| {
                ConfigError(format!(
                    "ssl.client.auth={client_auth:?} on listener {listener} needs a truststore: set {}",
                    ssl.key_name("ssl.truststore.location")
                ))
            })?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match client_auth {
                ClientAuth::Requested => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| {
                ConfigError(format!("Invalid truststore for listener {listener}: {e}"))
            })?)
        }
    };
    let key_at = ssl.key_name("ssl.keystore.location");
    let server = builder.with_single_cert(chain, key).map_err(|e| {
        ConfigError(format!(
            "Invalid keystore for listener {listener} ({key_at}): {e}"
        ))
    })?;
    let rules = ssl
        .get("ssl.principal.mapping.rules")
        .unwrap_or_else(|| "DEFAULT".into());
    let mapper = SslPrincipalMapper::parse(&rules)
        .map_err(|e| ssl.invalid("ssl.principal.mapping.rules", &rules, e))?;
    Ok(SslServer {
        config: Arc::new(server),
        client_auth,
        mapper: Arc::new(mapper),
    })
}

/// Builds the TLS client brokers use towards `listener` (the inter-broker listener): trusts
/// the truststore, presents the keystore when one is configured, and checks the broker's
/// host name only when `ssl.endpoint.identification.algorithm=https`.
pub fn client_config(
    config: &KafkaConfig,
    listener: &str,
) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let ssl = ListenerSsl {
        source: SslSource::Listener {
            config,
            listener: listener.to_string(),
        },
    };
    let check_host = ssl
        .get("ssl.endpoint.identification.algorithm")
        .is_some_and(|a| a.eq_ignore_ascii_case("https"));
    tls_client(&ssl, check_host)
}

/// Builds the TLS client of a command-line tool from its client properties (read from
/// `file`): as Kafka's clients, the broker's host name is checked unless
/// `ssl.endpoint.identification.algorithm` is set empty.
pub fn client_config_from_properties(
    props: &BTreeMap<String, String>,
    file: &str,
) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let check_host = props
        .get("ssl.endpoint.identification.algorithm")
        .is_none_or(|a| a.eq_ignore_ascii_case("https"));
    let ssl = ListenerSsl {
        source: SslSource::Client { props, file },
    };
    tls_client(&ssl, check_host)
}

fn tls_client(
    ssl: &ListenerSsl<'_>,
    check_host: bool,
) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let listener = ssl.origin();
    let roots = ssl.truststore()?.ok_or_else(|| {
        ConfigError(format!(
            "{listener} uses SSL: set {} (with ssl.truststore.type=PEM) to verify the brokers' certificates",
            ssl.key_name("ssl.truststore.location")
        ))
    })?;
    let provider = ssl.provider()?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| ConfigError(format!("Invalid truststore for {listener}: {e}")))?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&ssl.protocol_versions()?)
        .map_err(|e| ssl.invalid("ssl.enabled.protocols", "", e))?;
    let builder = if check_host {
        builder.with_webpki_verifier(verifier)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoHostnameCheck(verifier)))
    };
    let client = match ssl.keystore()? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| ConfigError(format!("Invalid keystore for {listener}: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(client))
}

/// The server name a TLS client checks the certificate against: an IP address or a DNS name.
pub fn server_name(host: &str) -> std::io::Result<ServerName<'static>> {
    ServerName::try_from(host.to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{host}: {e}")))
}

/// `ssl.endpoint.identification.algorithm=` (empty): the chain is verified, the name is not.
#[derive(Debug)]
struct NoHostnameCheck(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for NoHostnameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
