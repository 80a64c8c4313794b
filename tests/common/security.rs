//! Security fixtures of the integration tests: a test PKI generated with rcgen at run time (a
//! CA, one broker certificate for 127.0.0.1/localhost, one client certificate for
//! `CN=alice,OU=eng,O=acme`; nothing is committed), SCRAM users written to ZooKeeper with
//! `zkafka configs`, kcat/client-script invocations over SASL, "secured cluster" broker
//! properties, and the harness switch `ZKAFKA_TEST_INTER_BROKER=SASL_SSL`.
//!
//! Under that switch every broker the harness starts (unless the test sets its own listeners)
//! gets a second listener, `SASL_SSL://127.0.0.1:{free_port}`, as `inter.broker.listener.name`
//! with SCRAM-SHA-512 as the user `broker`; the harness's PLAINTEXT listener keeps serving the
//! tests' clients. [`assert_inter_broker_traffic_secured`] checks from the znodes and the
//! brokers' logs that replication and the controller really used it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::Value;

use super::{start_cluster, wait_until_msg, zk_client, Broker};

/// The inter-broker SCRAM user's password (test only).
pub const BROKER_PW: &str = "broker-test-only-pw";
/// The environment switch read by [`harness_inter_broker_props`].
pub const INTER_BROKER_ENV: &str = "ZKAFKA_TEST_INTER_BROKER";
/// The `ZKAFKA_LOG` directive that makes the server log each successful SASL login.
pub const SASL_LOGIN_LOG: &str =
    "org.apache.kafka.common.security.authenticator.SaslServerAuthenticator=debug";

// ------------------------------------------------------------------ PKI

/// The PEM text of the process's test PKI (generated once: key generation is slow in debug).
struct PkiPem {
    ca: String,
    /// The broker's key and certificate chain (ssl.keystore.location with type PEM).
    broker: String,
    client_cert: String,
    client_key: String,
}

/// PEM files of the test PKI in a directory.
pub struct Pki {
    _dir: Option<tempfile::TempDir>,
    pub ca: PathBuf,
    pub broker: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn dn(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (t, v) in parts {
        dn.push(t.clone(), *v);
    }
    dn
}

fn generate_pki() -> PkiPem {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = dn(&[(DnType::CommonName, "zkafka test CA")]);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();

    let broker_key = KeyPair::generate().unwrap();
    let mut broker =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    broker.distinguished_name = dn(&[
        (DnType::OrganizationName, "acme"),
        (DnType::CommonName, "broker"),
    ]);
    broker.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let broker_cert = broker.signed_by(&broker_key, &ca_cert, &ca_key).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client.distinguished_name = dn(&[
        (DnType::OrganizationName, "acme"),
        (DnType::OrganizationalUnitName, "eng"),
        (DnType::CommonName, "alice"),
    ]);
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client.signed_by(&client_key, &ca_cert, &ca_key).unwrap();
    PkiPem {
        ca: ca_cert.pem(),
        broker: format!(
            "{}{}{}",
            broker_key.serialize_pem(),
            broker_cert.pem(),
            ca_cert.pem()
        ),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
    }
}

/// Writes the process's test PKI into `dir` (it must exist).
pub fn pki_in(dir: &Path) -> Pki {
    static PEM: OnceLock<PkiPem> = OnceLock::new();
    let pem = PEM.get_or_init(generate_pki);
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    Pki {
        _dir: None,
        ca: write("ca.pem", &pem.ca),
        broker: write("broker.pem", &pem.broker),
        client_cert: write("client.pem", &pem.client_cert),
        client_key: write("client.key", &pem.client_key),
    }
}

/// The test PKI in a temp dir that lives as long as the returned value.
pub fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let files = pki_in(dir.path());
    Pki {
        _dir: Some(dir),
        ..files
    }
}

/// A path as &str (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ------------------------------------------------------------------ SCRAM users

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

/// Writes `credentials` (e.g. `SCRAM-SHA-512=[password=x]`) for `user` with the configs tool.
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

/// The inter-broker user `broker` (SCRAM-SHA-512), written once per ZooKeeper connect string.
pub fn add_broker_user(connect: &str) {
    static DONE: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done
        .get_or_insert_with(HashSet::new)
        .insert(connect.to_string())
    {
        add_scram_user(
            connect,
            "broker",
            &format!("SCRAM-SHA-512=[password={BROKER_PW}]"),
        );
    }
}

// ------------------------------------------------------------------ brokers

/// Properties of a broker with a second listener `PROTOCOL://127.0.0.1:{free_port}` (SASL_SSL
/// or SASL_PLAINTEXT) used between brokers with SCRAM-SHA-512 as `broker`. `plain_users`
/// (name, password) may also log in with PLAIN. With SASL_SSL, `pki` is required.
pub fn secured_props(
    protocol: &str,
    pki: Option<&Pki>,
    plain_users: &[(&str, &str)],
) -> Vec<(String, String)> {
    let lower = protocol.to_lowercase();
    let listeners = format!("PLAINTEXT://127.0.0.1:{{port}},{protocol}://127.0.0.1:{{free_port}}");
    let mut mechanisms = "SCRAM-SHA-512".to_string();
    let mut props: Vec<(String, String)> = vec![
        ("listeners".into(), listeners.clone()),
        ("advertised.listeners".into(), listeners),
        ("inter.broker.listener.name".into(), protocol.into()),
        ("sasl.mechanism.inter.broker.protocol".into(), "SCRAM-SHA-512".into()),
        (
            format!("listener.name.{lower}.scram-sha-512.sasl.jaas.config"),
            format!("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" password=\"{BROKER_PW}\";"),
        ),
    ];
    if !plain_users.is_empty() {
        mechanisms.push_str(",PLAIN");
        let users: String = plain_users
            .iter()
            .map(|(u, p)| format!(" user_{u}=\"{p}\""))
            .collect();
        props.push((
            format!("listener.name.{lower}.plain.sasl.jaas.config"),
            format!("org.apache.kafka.common.security.plain.PlainLoginModule required{users};"),
        ));
    }
    props.push(("sasl.enabled.mechanisms".into(), mechanisms));
    if let Some(pki) = pki {
        props.extend([
            ("ssl.keystore.type".into(), "PEM".into()),
            ("ssl.keystore.location".into(), s(&pki.broker).into()),
            ("ssl.truststore.type".into(), "PEM".into()),
            ("ssl.truststore.location".into(), s(&pki.ca).into()),
        ]);
    }
    props
}

/// Brokers 1..=3 with [`secured_props`] (then `extra`), the `broker` user written first.
pub async fn start_secured_cluster(
    connect: &str,
    protocol: &str,
    pki: Option<&Pki>,
    plain_users: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Vec<Broker> {
    add_broker_user(connect);
    let props = secured_props(protocol, pki, plain_users);
    let mut all: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend_from_slice(extra);
    start_cluster(connect, &all).await
}

/// The `host:port` of the broker's `protocol` listener, from its server.properties.
pub fn listener_address(b: &Broker, protocol: &str) -> Option<String> {
    let props = std::fs::read_to_string(b.props_path()).ok()?;
    let listeners = props.lines().find_map(|l| l.strip_prefix("listeners="))?;
    let prefix = format!("{protocol}://");
    listeners
        .split(',')
        .find_map(|e| e.strip_prefix(prefix.as_str()))
        .map(str::to_string)
}

/// True when the harness runs brokers with inter-broker traffic on SASL_SSL.
pub fn inter_broker_sasl_ssl() -> bool {
    std::env::var(INTER_BROKER_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("SASL_SSL"))
}

/// The harness switch, for a broker about to be started in `dir`: the SASL_SSL properties
/// (PKI written into `dir`, the `broker` user into ZooKeeper), or nothing when the switch is
/// off or the test chose its own listeners or inter-broker security.
pub fn harness_inter_broker_props(
    dir: &Path,
    zk_connect: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let own = |k: &str| extra.iter().any(|(ek, _)| *ek == k);
    if !inter_broker_sasl_ssl()
        || own("listeners")
        || own("inter.broker.listener.name")
        || own("security.inter.broker.protocol")
    {
        return Vec::new();
    }
    add_broker_user(zk_connect);
    secured_props("SASL_SSL", Some(&pki_in(dir)), &[])
}

/// `ZKAFKA_LOG` for a broker under the switch: the caller's filter plus successful SASL logins.
pub fn harness_log_filter() -> Option<String> {
    if !inter_broker_sasl_ssl() {
        return None;
    }
    let base = std::env::var("ZKAFKA_LOG").unwrap_or_else(|_| "info".into());
    Some(format!("{base},{SASL_LOGIN_LOG}"))
}

/// Under the switch, [`assert_inter_broker_listener`] for SASL_SSL; otherwise nothing.
pub async fn assert_inter_broker_traffic_secured(connect: &str, brokers: &[Broker]) {
    if inter_broker_sasl_ssl() {
        assert_inter_broker_listener(connect, brokers, "SASL_SSL").await;
    }
}

/// Asserts that inter-broker traffic used the `protocol` listener (SCRAM-SHA-512 as `broker`):
/// every registered broker advertises it in /brokers/ids/N, every replica fetcher any broker
/// started connected to such a port, and every registered broker accepted the `broker` user's
/// login on it (at least the controller's connection). Needs [`SASL_LOGIN_LOG`] in the brokers' `ZKAFKA_LOG`.
pub async fn assert_inter_broker_listener(connect: &str, brokers: &[Broker], protocol: &str) {
    let secure_ports: Vec<String> = brokers
        .iter()
        .map(|b| {
            let addr = listener_address(b, protocol)
                .unwrap_or_else(|| panic!("broker {} has no {protocol} listener", b.id()));
            addr.rsplit(':').next().unwrap().to_string()
        })
        .collect();
    let zk = zk_client(connect).await;
    let mut registered = Vec::new();
    for (b, port) in brokers.iter().zip(&secure_ports) {
        let path = format!("/brokers/ids/{}", b.id());
        if let Ok((data, _)) = zk.get_data(&path).await {
            registered.push(b);
            let v: Value = serde_json::from_slice(&data).unwrap();
            let want = format!("{protocol}://127.0.0.1:{port}");
            assert!(
                v["endpoints"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|x| x == &Value::String(want.clone()))),
                "{path} advertises {want}: {v}"
            );
        }
    }
    for b in brokers {
        let log = b.log_contents();
        for line in log
            .lines()
            .filter(|l| l.contains("Starting ReplicaFetcherThread"))
        {
            // "... Starting ReplicaFetcherThread-0-2 for leader 127.0.0.1:25346 (logger)"
            let leader = line.split(" for leader ").nth(1).unwrap_or_default();
            let addr = leader.split_whitespace().next().unwrap_or_default();
            let port = addr.rsplit(':').next().unwrap_or_default();
            assert!(
                secure_ports.iter().any(|p| p == port),
                "broker {}: a replica fetcher connected to a port that is not a {protocol} \
                 listener ({secure_ports:?}): {line}",
                b.id()
            );
        }
    }
    assert!(!registered.is_empty(), "no broker is registered");
    // A killed broker may have died before the controller reached it: only live ones count.
    for b in registered {
        let id = b.id();
        wait_until_msg(
            Duration::from_secs(30),
            format!("broker {id} logs the inter-broker SCRAM login on {protocol}"),
            || async {
                let want =
                    format!(" on {protocol}: authenticationID=broker, mechanism=SCRAM-SHA-512");
                b.log_contents()
                    .lines()
                    .any(|l| l.contains("Successfully authenticated client") && l.contains(&want))
            },
        )
        .await;
    }
}

// ------------------------------------------------------------------ clients

/// kcat's `-b`/`-X` arguments for a SASL login over SASL_PLAINTEXT, or SASL_SSL with `ca`.
pub fn kcat_sasl(
    bootstrap: &str,
    ca: Option<&Path>,
    mech: &str,
    user: &str,
    pw: &str,
) -> Vec<String> {
    let protocol = if ca.is_some() {
        "SASL_SSL"
    } else {
        "SASL_PLAINTEXT"
    };
    let mut args = vec![
        "-b".to_string(),
        bootstrap.to_string(),
        "-X".into(),
        format!("security.protocol={protocol}"),
        "-X".into(),
        format!("sasl.mechanisms={mech}"),
        "-X".into(),
        format!("sasl.username={user}"),
        "-X".into(),
        format!("sasl.password={pw}"),
    ];
    if let Some(ca) = ca {
        args.extend(["-X".into(), format!("ssl.ca.location={}", s(ca))]);
    }
    args
}

/// kcat with `base` then `more` arguments and `input` on stdin (30 s limit): Ok(stdout), or
/// Err(stdout + stderr).
pub async fn kcat_with(
    base: &[String],
    more: &[&str],
    input: Option<&str>,
) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new("kcat");
    cmd.args(base)
        .args(more)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("kcat is installed by scripts/test.sh");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(text) = input {
        use tokio::io::AsyncWriteExt;
        stdin.write_all(text.as_bytes()).await.unwrap();
    }
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| "kcat timed out".to_string())?
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// kcat produces `records` with acks=all and reads the topic back; returns what it read.
pub async fn kcat_round_trip(base: &[String], topic: &str, records: &[&str]) -> Vec<String> {
    let input = records.join("\n") + "\n";
    kcat_with(base, &["-P", "-t", topic, "-X", "acks=all"], Some(&input))
        .await
        .unwrap_or_else(|e| panic!("kcat produce: {e}"));
    let out = kcat_with(
        base,
        &["-C", "-t", topic, "-o", "beginning", "-e", "-q"],
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("kcat consume: {e}"));
    out.lines().map(str::to_string).collect()
}

/// A kcat metadata request that must be refused with SASL_AUTHENTICATION_FAILED.
pub async fn assert_kcat_refused(base: &[String], why: &str) {
    let err = kcat_with(base, &["-L", "-m", "5"], None).await.unwrap_err();
    assert!(
        err.contains("SASL authentication error") && err.contains(why),
        "kcat should be refused ({why}): {err}"
    );
}

/// Runs a client script of tests/python or tests/js (kafkajs from tests/js/node_modules) and
/// parses the one JSON line it prints.
pub fn run_client_script(program: &str, script: &str, args: &[&str]) -> Value {
    run_client_script_env(program, script, args, &[])
}

/// `run_client_script` with extra environment variables.
pub fn run_client_script_env(
    program: &str,
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Value {
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

/// A sasl_clients.py / sasl_clients.js result read back the `n` records it wrote.
pub fn assert_sasl_round_trip(v: &Value, n: usize, who: &str) {
    assert!(v["error"].is_null(), "{who}: {v}");
    let consumed: Vec<&str> = v["consumed"]
        .as_array()
        .unwrap_or_else(|| panic!("{who}: {v}"))
        .iter()
        .filter_map(|x| x.as_str())
        .collect();
    for i in 0..n {
        assert!(
            consumed.contains(&format!("v{i}").as_str()),
            "{who}: v{i} missing in {v}"
        );
    }
}

/// confluent-kafka and kafka-python (PLAIN, SCRAM-SHA-512) and kafkajs (plain,
/// scram-sha-512) log in as `user` at `bootstrap` (over TLS when `ca` is given), produce 5
/// records with acks=all to a topic of their own and read them back.
pub fn every_sasl_client_round_trips(bootstrap: &str, user: &str, pw: &str, ca: Option<&str>) {
    for (client, mech) in [
        ("confluent", "PLAIN"),
        ("confluent", "SCRAM-SHA-512"),
        ("kafka-python", "PLAIN"),
        ("kafka-python", "SCRAM-SHA-512"),
    ] {
        let topic = format!("t-{client}-{mech}");
        let mut args = vec!["roundtrip", client, bootstrap, mech, user, pw, &topic, "5"];
        args.extend(ca);
        let r = run_client_script("python3", "tests/python/sasl_clients.py", &args);
        assert_sasl_round_trip(&r, 5, &format!("{client} {mech}"));
    }
    for mech in ["plain", "scram-sha-512"] {
        let topic = format!("t-kafkajs-{mech}");
        let mut args = vec![bootstrap, mech, user, pw, &topic, "5"];
        args.extend(ca);
        let r = run_client_script("node", "tests/js/sasl_clients.js", &args);
        assert_sasl_round_trip(&r, 5, &format!("kafkajs {mech}"));
    }
}
