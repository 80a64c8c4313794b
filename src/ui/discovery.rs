//! Which brokers exist and where their HTTP endpoints are. Brokers come from their
//! `/brokers/ids/<id>` registrations; a broker's `zkafka.http.listener` is asked from the
//! broker itself with DescribeConfigs (the Kafka API `kafka-configs.sh --describe` uses),
//! once per registration, so no znode carries anything Kafka's would not. `--http` names
//! the endpoints instead, for brokers whose listener is on port 0 or behind another address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::DescribeConfigsRequest;
use kafka_protocol::protocol::StrBytes;

use crate::cluster::SecurityProtocol;
use crate::network::client::BrokerClient;
use crate::zk::codec::BrokerRegistration;

const HTTP_LISTENER: &str = "zkafka.http.listener";
/// ConfigResource.Type.BROKER.
const RESOURCE_BROKER: i8 = 4;
const TIMEOUT: Duration = Duration::from_secs(2);

/// One registered broker.
#[derive(Clone, Debug)]
pub struct BrokerInfo {
    pub registration: BrokerRegistration,
    /// The czxid of its registration (the broker epoch).
    pub epoch: i64,
}

impl BrokerInfo {
    pub fn id(&self) -> i32 {
        self.registration.broker.id
    }

    /// `host:port` of its PLAINTEXT listener, the one the ui speaks Kafka to.
    pub fn plaintext(&self) -> Option<String> {
        self.registration
            .broker
            .endpoints
            .iter()
            .find(|e| e.security_protocol == SecurityProtocol::Plaintext)
            .map(|e| format!("{}:{}", e.host, e.port))
    }
}

/// Where each broker serves `/state` and `/events`.
pub struct HttpDirectory {
    /// `--http`: used as given, in place of discovery.
    fixed: Vec<String>,
    /// (broker id, broker epoch) → its endpoint, None when it has none (asked once).
    asked: Mutex<HashMap<(i32, i64), Option<String>>>,
}

impl HttpDirectory {
    pub fn new(fixed: Vec<String>) -> HttpDirectory {
        HttpDirectory {
            fixed,
            asked: Mutex::new(HashMap::new()),
        }
    }

    /// The HTTP endpoints to read: the `--http` list, or one per registered broker that has one.
    pub async fn endpoints(&self, brokers: &[BrokerInfo]) -> Vec<String> {
        if !self.fixed.is_empty() {
            return self.fixed.clone();
        }
        let mut out = Vec::new();
        for b in brokers {
            let key = (b.id(), b.epoch);
            let known = self
                .asked
                .lock()
                .expect("http directory")
                .get(&key)
                .cloned();
            let addr = match known {
                Some(addr) => addr,
                None => {
                    let Ok(addr) = ask_http_listener(b).await else {
                        continue; // not answering yet: ask again next time
                    };
                    let mut asked = self.asked.lock().expect("http directory");
                    asked.retain(|(id, _), _| *id != b.id());
                    asked.insert(key, addr.clone());
                    addr
                }
            };
            out.extend(addr);
        }
        out
    }
}

/// Asks the broker for its `zkafka.http.listener`; `Ok(None)` when it has no usable one.
async fn ask_http_listener(b: &BrokerInfo) -> anyhow::Result<Option<String>> {
    let Some(addr) = b.plaintext() else {
        return Ok(None);
    };
    let mut client = BrokerClient::connect(&addr, "zkafka-ui", TIMEOUT, TIMEOUT).await?;
    let resource = DescribeConfigsResource::default()
        .with_resource_type(RESOURCE_BROKER)
        .with_resource_name(StrBytes::from_string(b.id().to_string()))
        .with_configuration_keys(Some(vec![StrBytes::from_static_str(HTTP_LISTENER)]));
    let response = client
        .send(
            &DescribeConfigsRequest::default().with_resources(vec![resource]),
            1,
        )
        .await?;
    let value = response
        .results
        .iter()
        .flat_map(|r| r.configs.iter())
        .find(|c| c.name.as_str() == HTTP_LISTENER)
        .and_then(|c| c.value.as_ref().map(|v| v.to_string()))
        .unwrap_or_default();
    let host = addr.rsplit_once(':').map_or("", |(h, _)| h);
    let endpoint = usable_endpoint(&value, host);
    if endpoint.is_none() && !value.is_empty() {
        tracing::warn!(target: "zkafka.ui",
            "Broker {}'s {HTTP_LISTENER}={value} cannot be reached from here (port 0?); name it with --http", b.id());
    }
    Ok(endpoint)
}

/// `host:port` to connect to for a listener value: a wildcard host becomes the broker's own
/// host; port 0 (an ephemeral port) cannot be known from the config.
fn usable_endpoint(value: &str, broker_host: &str) -> Option<String> {
    let (host, port) = value.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let host = host.trim_matches(['[', ']']);
    let host = if host.is_empty() || host == "0.0.0.0" || host == "::" {
        broker_host
    } else {
        host
    };
    Some(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::usable_endpoint;

    #[test]
    fn wildcard_hosts_become_the_brokers_host() {
        assert_eq!(
            usable_endpoint("0.0.0.0:9192", "10.0.0.5").as_deref(),
            Some("10.0.0.5:9192")
        );
        assert_eq!(
            usable_endpoint("127.0.0.1:9193", "x").as_deref(),
            Some("127.0.0.1:9193")
        );
        assert_eq!(usable_endpoint("127.0.0.1:0", "x"), None);
        assert_eq!(usable_endpoint("", "x"), None);
    }
}
