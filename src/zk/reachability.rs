//! Why a ZooKeeper session cannot be opened. The session setup retries every server until the
//! connection timeout and then reports only "timeout" (as Kafka's ZooKeeperClient does); when
//! the session is slow to come, a TCP probe of each `zookeeper.connect` server tells a wrong
//! address (connection refused, unknown host) apart from a slow ensemble, so the broker and the
//! tools fail at once naming each address and its cause.

use std::fmt;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::net::{lookup_host, TcpStream};

/// ZooKeeper's default client port, used when a `zookeeper.connect` entry has none.
const DEFAULT_PORT: u16 = 2181;

/// No server of the ensemble accepted a TCP connection: each address with its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub servers: Vec<(String, String)>,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no ZooKeeper server accepts connections: ")?;
        for (i, (addr, cause)) in self.servers.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{addr}: {cause}")?;
        }
        Ok(())
    }
}

/// The servers of an ensemble string (`host[:port],...`, chroot already removed).
pub fn servers(ensemble: &str) -> Vec<String> {
    ensemble
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Tries a TCP connection to every server at once. `Ok` as soon as one accepts; otherwise
/// every server's cause, in the order of the connect string.
pub async fn probe(ensemble: &str, timeout: Duration) -> Result<(), Unreachable> {
    let servers = servers(ensemble);
    let mut attempts: FuturesUnordered<_> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| async move { (i, probe_one(s, timeout).await) })
        .collect();
    let mut causes = vec![String::new(); servers.len()];
    while let Some((i, result)) = attempts.next().await {
        match result {
            Ok(()) => return Ok(()),
            Err(cause) => causes[i] = cause,
        }
    }
    drop(attempts);
    Err(Unreachable {
        servers: servers.into_iter().zip(causes).collect(),
    })
}

async fn probe_one(server: &str, timeout: Duration) -> Result<(), String> {
    let (host, port) = split_host_port(server)?;
    let addrs: Vec<_> = match lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        Err(e) => return Err(format!("unknown host ({e})")),
    };
    match tokio::time::timeout(timeout, TcpStream::connect(&addrs[..])).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err("connection refused".into())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

/// `host:port`, `host` (port 2181) or `[v6]:port`.
fn split_host_port(server: &str) -> Result<(&str, u16), String> {
    let (host, port) = match server.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return Err("invalid address (no closing ']')".into()),
        },
        None => match server.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (server, None),
        },
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p
            .parse()
            .map_err(|_| format!("invalid port '{p}' (expected host:port)"))?,
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("zk1:2182"), Ok(("zk1", 2182)));
        assert_eq!(split_host_port("zk1"), Ok(("zk1", 2181)));
        assert_eq!(split_host_port("[::1]:2183"), Ok(("::1", 2183)));
        assert!(split_host_port("zk1:x")
            .unwrap_err()
            .contains("invalid port 'x'"));
    }

    #[tokio::test]
    async fn refused_and_unknown_hosts_are_named() {
        // A port we bound and released: nothing listens there any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ensemble = format!("127.0.0.1:{port},no-such-host.invalid:2181");
        let err = probe(&ensemble, Duration::from_secs(5)).await.unwrap_err();
        assert_eq!(
            err.servers[0],
            (format!("127.0.0.1:{port}"), "connection refused".into())
        );
        assert_eq!(err.servers[1].0, "no-such-host.invalid:2181");
        assert!(err.servers[1].1.starts_with("unknown host"), "{err}");
    }

    #[tokio::test]
    async fn one_listening_server_is_enough() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ensemble = format!("127.0.0.1:1,{}", listener.local_addr().unwrap());
        probe(&ensemble, Duration::from_secs(5)).await.unwrap();
    }
}
