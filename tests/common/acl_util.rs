//! Helpers for the security tests (tests/sasl.rs, tests/acls.rs, tests/acls_sasl.rs):
//! `zkafka configs` / `zkafka acls` as the scripts run them, SCRAM users written to
//! ZooKeeper, a broker's SASL listener, raw requests logged in with SCRAM, and the Python and
//! Node client scripts.

use std::time::Duration;

use serde_json::Value;
use zkafka::network::client::BrokerClient;
use zkafka::security::sasl::SaslClientConfig;

use super::Broker;

/// `zkafka configs ARGS` (what scripts/kafka-configs.sh runs): (exit code, stdout, stderr).
pub fn configs_tool(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkafka"))
        .arg("configs")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `user`'s SCRAM credentials with kafka-configs.sh --zookeeper; must succeed.
pub fn add_scram_user(connect: &str, user: &str, credentials: &str) {
    let r = configs_tool(&[
        "--zookeeper",
        connect,
        "--alter",
        "--entity-type",
        "users",
        "--entity-name",
        user,
        "--add-config",
        credentials,
    ]);
    assert_eq!(r.0, 0, "{r:?}");
    assert!(
        r.1.contains(&format!(
            "Completed updating config for entity: user-principal '{user}'."
        )),
        "{r:?}"
    );
}

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

/// Runs a client script of tests/python or tests/js; its one JSON line.
pub fn run_script(program: &str, script: &str, args: &[&str], env: &[(&str, &str)]) -> Value {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new(program)
        .arg(format!("{dir}/{script}"))
        .args(args)
        .env("NODE_PATH", format!("{dir}/tests/js/node_modules"))
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (scripts/test.sh installs it): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{program} {script} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{stdout}: {e}"))
}

/// The SASL_PLAINTEXT listener's `host:port` from the broker's server.properties.
pub fn sasl_bootstrap(b: &Broker) -> String {
    let props = std::fs::read_to_string(b.props_path()).unwrap();
    let listeners = props
        .lines()
        .find_map(|l| l.strip_prefix("listeners="))
        .unwrap();
    let ep = listeners
        .split(',')
        .find_map(|e| e.strip_prefix("SASL_PLAINTEXT://"))
        .unwrap();
    ep.to_string()
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
