//! Cluster membership types, as Kafka's `kafka.cluster` package names them: a broker and
//! the endpoints it advertises.

use std::collections::BTreeMap;
use std::fmt;

/// Security protocol of a listener, with Kafka's wire ids (UpdateMetadata `SecurityProtocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Some(Self::Plaintext),
            "SSL" => Some(Self::Ssl),
            "SASL_PLAINTEXT" => Some(Self::SaslPlaintext),
            "SASL_SSL" => Some(Self::SaslSsl),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    pub fn id(self) -> i16 {
        match self {
            Self::Plaintext => 0,
            Self::Ssl => 1,
            Self::SaslPlaintext => 2,
            Self::SaslSsl => 3,
        }
    }

    pub fn from_id(id: i16) -> Option<Self> {
        [
            Self::Plaintext,
            Self::Ssl,
            Self::SaslPlaintext,
            Self::SaslSsl,
        ]
        .into_iter()
        .find(|p| p.id() == id)
    }
}

/// One listener: `LISTENER_NAME://host:port`. An empty host means "all interfaces".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndPoint {
    pub listener_name: String,
    pub host: String,
    pub port: u16,
    pub security_protocol: SecurityProtocol,
}

impl EndPoint {
    /// Parses `NAME://host:port` (IPv6 hosts in brackets), Kafka's EndPoint.scala rules.
    pub fn parse(
        text: &str,
        protocol_map: &BTreeMap<String, SecurityProtocol>,
    ) -> Result<EndPoint, String> {
        let (name, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("Unable to parse {text} to a broker endpoint"))?;
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("Unable to parse {text} to a broker endpoint"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port
            .parse()
            .map_err(|_| format!("Unable to parse {text} to a broker endpoint"))?;
        let listener_name = name.trim().to_ascii_uppercase();
        let security_protocol = protocol_map
            .get(&listener_name)
            .copied()
            .or_else(|| SecurityProtocol::parse(&listener_name))
            .ok_or_else(|| format!("No security protocol defined for listener {listener_name}"))?;
        Ok(EndPoint {
            listener_name,
            host: host.to_string(),
            port,
            security_protocol,
        })
    }

    /// The string written in `/brokers/ids/<id>` `endpoints`.
    pub fn connection_string(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.listener_name, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.listener_name, self.host, self.port)
        }
    }
}

impl fmt::Display for EndPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.connection_string())
    }
}

/// A registered broker as the controller and metadata cache see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broker {
    pub id: i32,
    pub endpoints: Vec<EndPoint>,
    pub rack: Option<String>,
}

impl Broker {
    pub fn endpoint(&self, listener_name: &str) -> Option<&EndPoint> {
        self.endpoints
            .iter()
            .find(|e| e.listener_name == listener_name)
    }
}

/// Parses `listener.security.protocol.map` (`NAME:PROTOCOL,...`).
pub fn parse_protocol_map(text: &str) -> Result<BTreeMap<String, SecurityProtocol>, String> {
    let mut map = BTreeMap::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, proto) = entry
            .split_once(':')
            .ok_or_else(|| format!("Map entry should be of form <key>:<value>: {entry}"))?;
        let proto = SecurityProtocol::parse(proto.trim())
            .ok_or_else(|| format!("Unknown security protocol {proto}"))?;
        map.insert(name.trim().to_ascii_uppercase(), proto);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        let map = parse_protocol_map("PLAINTEXT:PLAINTEXT,REPLICATION:SSL").unwrap();
        let e = EndPoint::parse("PLAINTEXT://127.0.0.1:9092", &map).unwrap();
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 9092));
        let e = EndPoint::parse("REPLICATION://[::1]:9093", &map).unwrap();
        assert_eq!(e.security_protocol, SecurityProtocol::Ssl);
        assert_eq!(e.connection_string(), "REPLICATION://[::1]:9093");
        let e = EndPoint::parse("PLAINTEXT://:9092", &map).unwrap();
        assert_eq!(e.host, "");
        assert!(EndPoint::parse("FOO://h:1", &map).is_err());
        assert!(EndPoint::parse("PLAINTEXT://h:notaport", &map).is_err());
    }
}
