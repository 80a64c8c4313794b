//! Request headers and bodies on the wire (Kafka's RequestContext / RequestHeader).

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::ConnectionContext;
use crate::server::api_versions;

/// A decoded request header plus where it came from.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub header: RequestHeader,
    pub api_key: ApiKey,
    pub conn: ConnectionContext,
    /// The request's size on the wire (header and body), what produce quotas count.
    pub size: usize,
}

impl RequestContext {
    pub fn api_version(&self) -> i16 {
        self.header.request_api_version
    }

    pub fn client_id(&self) -> &str {
        self.header.client_id.as_deref().unwrap_or("")
    }
}

/// A request body, or the one case Kafka answers without decoding: an ApiVersions request of a
/// version newer than the broker knows (KIP-511: reply so the client can downgrade).
#[derive(Debug)]
pub enum RequestBody {
    Decoded(Box<RequestKind>),
    UnsupportedApiVersions,
}

/// What a handler answers: a body, plus the version to encode it at when that differs from
/// the request's (only for the unsupported-ApiVersions answer, which is always v0).
#[derive(Debug)]
pub struct Response {
    pub body: ResponseKind,
    pub version_override: Option<i16>,
}

impl From<ResponseKind> for Response {
    fn from(body: ResponseKind) -> Self {
        Response {
            body,
            version_override: None,
        }
    }
}

/// Why a frame was rejected; the connection is closed with this in the log.
#[derive(Debug)]
pub enum ParseError {
    UnknownApiKey(i16),
    UnsupportedVersion { api_key: ApiKey, version: i16 },
    Malformed { what: &'static str, reason: String },
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::UnknownApiKey(k) => write!(f, "unknown API key {k}"),
            ParseError::UnsupportedVersion { api_key, version } => {
                write!(f, "unsupported version {version} of API {api_key:?}")
            }
            ParseError::Malformed { what, reason } => write!(f, "malformed {what}: {reason}"),
        }
    }
}

/// Decodes header and body. Unknown APIs, unsupported versions and garbage are errors. Bytes
/// after a complete body are ignored, as Kafka's RequestContext.parseRequest ignores them:
/// librdkafka >= 2.1 sends 3 of them after an all-topics Metadata v9+ request.
pub fn parse_request(
    mut frame: Bytes,
    conn: &ConnectionContext,
) -> Result<(RequestContext, RequestBody), ParseError> {
    if frame.len() < 4 {
        return Err(ParseError::Malformed {
            what: "request header",
            reason: format!("{} bytes", frame.len()),
        });
    }
    let size = frame.len();
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api_key = ApiKey::try_from(raw_key).map_err(|_| ParseError::UnknownApiKey(raw_key))?;
    let supported =
        api_versions::supported_range(api_key).ok_or(ParseError::UnknownApiKey(raw_key))?;
    let header_version = api_key.request_header_version(version.clamp(0, i16::MAX));
    let header = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        RequestHeader::decode(&mut frame, header_version)
    }))
    .map_err(|_| ParseError::Malformed {
        what: "request header",
        reason: "decoder panicked".into(),
    })?
    .map_err(|e| ParseError::Malformed {
        what: "request header",
        reason: e.to_string(),
    })?;
    let ctx = RequestContext {
        header,
        api_key,
        conn: conn.clone(),
        size,
    };
    if !(supported.0..=supported.1).contains(&version) {
        if api_key == ApiKey::ApiVersions {
            return Ok((ctx, RequestBody::UnsupportedApiVersions));
        }
        return Err(ParseError::UnsupportedVersion { api_key, version });
    }
    // The decoder is third-party code fed hostile bytes: a panic in it must cost one
    // connection, never the broker.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        RequestKind::decode(api_key, &mut frame, version)
    }));
    let body = match decoded {
        Ok(r) => r.map_err(|e| ParseError::Malformed {
            what: "request body",
            reason: e.to_string(),
        })?,
        Err(_) => {
            return Err(ParseError::Malformed {
                what: "request body",
                reason: "decoder panicked".into(),
            })
        }
    };
    if !frame.is_empty() {
        tracing::debug!(target: "kafka.network.RequestChannel", "Ignoring {} trailing bytes after {api_key:?} v{version} from {} (client {})", frame.len(), conn.peer, ctx.client_id());
    }
    Ok((ctx, RequestBody::Decoded(Box::new(body))))
}

/// Appends response header and body for `ctx`'s request to `buf`.
pub fn encode_response_into(
    ctx: &RequestContext,
    response: &Response,
    buf: &mut BytesMut,
) -> anyhow::Result<()> {
    let version = response.version_override.unwrap_or(ctx.api_version());
    let header_version = ctx.api_key.response_header_version(version);
    ResponseHeader::default()
        .with_correlation_id(ctx.header.correlation_id)
        .encode(buf, header_version)?;
    response.body.encode(buf, version)
}
