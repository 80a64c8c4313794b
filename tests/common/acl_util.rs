//! Helpers for the ACL tests (tests/acls.rs, tests/acls_sasl.rs): `zkafka acls` as
//! kafka-acls.sh runs it, a broker's SASL listener, raw requests logged in with SCRAM.
//! SCRAM users, certificates and client scripts are in `common::security`.

use std::time::Duration;

use zkafka::network::client::BrokerClient;
use zkafka::security::sasl::SaslClientConfig;

use super::security::listener_address;
use super::Broker;

/// `zkafka acls ARGS` (what scripts/kafka-acls.sh runs): (exit code, stdout).
pub fn acls_tool(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .arg("acls")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || !stdout.is_empty(),
        "zkafka acls {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, stdout)
}

/// kafka-acls.sh against ZooKeeper; must succeed.
pub fn acls_zk(connect: &str, args: &[&str]) -> String {
    let props = format!("zookeeper.connect={connect}");
    let mut all = vec!["--authorizer-properties", &props];
    all.extend_from_slice(args);
    let (code, out) = acls_tool(&all);
    assert_eq!(code, 0, "{out}");
    out
}

/// The SASL_PLAINTEXT listener's `host:port` from the broker's server.properties.
pub fn sasl_bootstrap(b: &Broker) -> String {
    listener_address(b, "SASL_PLAINTEXT").expect("a SASL_PLAINTEXT listener")
}

/// A raw connection to `addr` logged in as `user` with SCRAM-SHA-512.
pub async fn scram_client(addr: &str, user: &str, password: &str) -> BrokerClient {
    let t = Duration::from_secs(30);
    let login = SaslClientConfig {
        mechanism: "SCRAM-SHA-512".into(),
        username: user.into(),
        password: password.into(),
    };
    BrokerClient::connect(addr, "acl-test", t, t)
        .await
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"))
        .authenticated(Some(&login))
        .await
        .unwrap_or_else(|e| panic!("SCRAM login of {user} at {addr}: {e}"))
}
