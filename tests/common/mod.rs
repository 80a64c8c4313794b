//! Integration-test harness: real ZooKeeper ensembles (Debian's zookeeper
//! jars, one JVM per node) and real `zkafka server` processes, on free
//! 127.0.0.1 ports with temporary directories.  Everything started here is
//! killed (SIGKILL + wait) when its handle is dropped, also when a test panics;
//! a panicking test additionally gets the tail of the broker/ZooKeeper logs on
//! stderr.
//!
//! Use from a test file with `mod common;` and prefer
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`: the process
//! helpers (`ZkEnsemble::start`, `Broker::wait_exit`, ...) block, and on a
//! multi-thread runtime that does not stall the ZooKeeper client's session.
//!
//! Prerequisites (`scripts/test.sh` installs them): `apt-get install zookeeper kcat`.
#![allow(dead_code)]

use std::fmt::Display;
use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

/// Debian's ZooKeeper server/client jar (its manifest pulls in the rest).
pub const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";
/// slf4j -> log4j 1.2 binding so ZooKeeper logs to a file (from Debian too).
const ZK_LOG_JARS: [&str; 2] = [
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
];
const ZK_LOG4J: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/zk/log4j.properties");
/// How long `ZkEnsemble::start` waits for the ensemble to serve.
pub const ZK_START_TIMEOUT: Duration = Duration::from_secs(90);

// ------------------------------------------------------------------ ports

static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// A TCP port on 127.0.0.1 that is free now and that this test process has
/// not handed out before.  Ports come from 20000..32000, below Linux's
/// ephemeral range, so outgoing connections never grab them first.
pub fn free_port() -> u16 {
    let mut used = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ (u64::from(std::process::id()) << 32)
        ^ (used.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for _ in 0..10_000 {
        // xorshift64*
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        let r = seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let port = 20_000 + (r >> 33) as u16 % 12_000;
        if used.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            used.push(port);
            return port;
        }
    }
    panic!("free_port: no free port found in 127.0.0.1:20000-32000");
}

fn port_accepts(port: u16) -> bool {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

// ------------------------------------------------------------------ processes

fn send_signal(pid: u32, sig: &str) {
    // The shell builtin: works without procps installed.
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -s {sig} {pid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn kill_and_reap(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        let _ = child.kill();
    }
    let _ = child.wait();
}

fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("waiting for pid {}: {e}", child.id()),
        }
    }
}

fn pid_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// `ZKAFKA_TEST_KEEP_LOGS=<dir>`: a panicking test's whole logs are copied there as
/// `<test>-<unix secs>-<name>.log` (the tails on stderr rarely reach back to an
/// intermittent failure's cause; the temporary directories go with the test).
fn keep_log_of_failed_test(path: &Path, name: &str) {
    let Some(dir) = std::env::var_os("ZKAFKA_TEST_KEEP_LOGS") else {
        return;
    };
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // libtest names each test's thread after the test.
    let test = std::thread::current()
        .name()
        .unwrap_or("test")
        .replace("::", "-");
    let to = Path::new(&dir).join(format!("{test}-{secs}-{name}.log"));
    let copied = fs::create_dir_all(&dir).and_then(|()| fs::copy(path, &to));
    match copied {
        Ok(_) => eprintln!("kept {} as {}", path.display(), to.display()),
        Err(e) => eprintln!("cannot keep {} in {dir:?}: {e}", path.display()),
    }
}

/// The last `max_lines` lines of a file ("" if it cannot be read).
pub fn tail_file(path: &Path, max_lines: usize) -> String {
    let text = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(max_lines)..].join("\n")
}

fn java_bin() -> String {
    std::env::var("JAVA").unwrap_or_else(|_| "java".to_string())
}

fn require_zookeeper() {
    if !Path::new(ZK_JAR).exists() {
        panic!(
            "ZooKeeper is not installed: {ZK_JAR} is missing.\n\
             Run the tests with scripts/test.sh (it installs the prerequisites), \
             or install it yourself: sudo apt-get install -y zookeeper"
        );
    }
}

// ------------------------------------------------------------------ ZooKeeper

/// Settings for [`ZkEnsemble::start_with`].
#[derive(Clone, Debug)]
pub struct ZkOptions {
    /// ZooKeeper's tickTime.  Session timeouts are clamped by the server to
    /// [2, 20] ticks: the default 1000 ms allows 2 s..20 s.
    pub tick_time_ms: u32,
    pub init_limit: u32,
    pub sync_limit: u32,
    /// Extra zoo.cfg lines, e.g. `("maxSessionTimeout", "60000")`.
    pub extra: Vec<(String, String)>,
}

impl Default for ZkOptions {
    fn default() -> Self {
        ZkOptions {
            tick_time_ms: 1000,
            // Generous: 2 cores shared by several JVMs and the broker.
            init_limit: 20,
            sync_limit: 10,
            extra: Vec::new(),
        }
    }
}

struct ZkNode {
    myid: usize,
    client_port: u16,
    quorum_port: u16,
    election_port: u16,
    dir: PathBuf,
    cfg: PathBuf,
    child: Option<Child>,
}

impl ZkNode {
    fn log_path(&self) -> PathBuf {
        self.dir.join("zookeeper.log")
    }
    fn out_path(&self) -> PathBuf {
        self.dir.join("zookeeper.out")
    }
}

/// A ZooKeeper ensemble of 1 or 3 (any n >= 1) nodes on free 127.0.0.1 ports.
/// Node ids (`myid`) are 1..=n.  Dropping it kills every node.
pub struct ZkEnsemble {
    nodes: Vec<ZkNode>,
    opts: ZkOptions,
    // Last: deleted after the processes are gone.
    dir: TempDir,
}

impl ZkEnsemble {
    /// Start `nodes` ZooKeeper servers and wait until they serve (one leader).
    /// Panics with the nodes' logs if that takes longer than [`ZK_START_TIMEOUT`].
    pub fn start(nodes: usize) -> ZkEnsemble {
        Self::start_with(nodes, ZkOptions::default())
    }

    pub fn start_with(nodes: usize, opts: ZkOptions) -> ZkEnsemble {
        assert!(nodes >= 1, "ZkEnsemble::start: need at least one node");
        require_zookeeper();
        let dir = tempfile::Builder::new()
            .prefix("zkafka-zk-")
            .tempdir()
            .expect("create temp dir for ZooKeeper");
        let mut list: Vec<ZkNode> = (1..=nodes)
            .map(|myid| {
                let node_dir = dir.path().join(format!("zk-{myid}"));
                fs::create_dir_all(&node_dir).expect("create ZooKeeper data dir");
                ZkNode {
                    myid,
                    client_port: free_port(),
                    quorum_port: free_port(),
                    election_port: free_port(),
                    cfg: node_dir.join("zoo.cfg"),
                    dir: node_dir,
                    child: None,
                }
            })
            .collect();
        let servers: String = if nodes > 1 {
            list.iter()
                .map(|n| {
                    format!(
                        "server.{}=127.0.0.1:{}:{};127.0.0.1:{}\n",
                        n.myid, n.quorum_port, n.election_port, n.client_port
                    )
                })
                .collect()
        } else {
            String::new()
        };
        for n in &list {
            let mut cfg = format!(
                "tickTime={}\ninitLimit={}\nsyncLimit={}\ndataDir={}\nclientPort={}\n\
                 clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n\
                 4lw.commands.whitelist=*\nquorumListenOnAllIPs=false\n{servers}",
                opts.tick_time_ms,
                opts.init_limit,
                opts.sync_limit,
                n.dir.display(),
                n.client_port
            );
            for (k, v) in &opts.extra {
                cfg.push_str(&format!("{k}={v}\n"));
            }
            fs::write(&n.cfg, cfg).expect("write zoo.cfg");
            if nodes > 1 {
                fs::write(n.dir.join("myid"), format!("{}\n", n.myid)).expect("write myid");
            }
        }
        for n in &mut list {
            n.child = Some(spawn_zk(n));
        }
        let ensemble = ZkEnsemble {
            nodes: list,
            opts,
            dir,
        };
        ensemble.wait_serving(ZK_START_TIMEOUT);
        ensemble
    }

    /// `127.0.0.1:p1,127.0.0.1:p2,...` for `zookeeper.connect`.
    pub fn connect_string(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The connect string with a chroot suffix, e.g. `/kafka`.
    pub fn connect_string_with_chroot(&self, chroot: &str) -> String {
        format!("{}{}", self.connect_string(), chroot)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn client_ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.client_port).collect()
    }

    /// Pids of the running nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .filter_map(|n| n.child.as_ref().map(|c| c.id()))
            .collect()
    }

    /// The temp directory holding all nodes' data, configs and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn node(&self, myid: usize) -> &ZkNode {
        self.nodes.get(myid.wrapping_sub(1)).unwrap_or_else(|| {
            panic!(
                "no ZooKeeper node {myid} (ids are 1..={})",
                self.nodes.len()
            )
        })
    }

    fn node_mut(&mut self, myid: usize) -> &mut ZkNode {
        let len = self.nodes.len();
        self.nodes
            .get_mut(myid.wrapping_sub(1))
            .unwrap_or_else(|| panic!("no ZooKeeper node {myid} (ids are 1..={len})"))
    }

    /// SIGSTOP every node: the ensemble stops answering (sessions then expire
    /// on the clients' side once resumed and the timeout has passed).
    pub fn pause(&self) {
        for n in &self.nodes {
            if let Some(c) = &n.child {
                send_signal(c.id(), "STOP");
            }
        }
    }

    /// SIGCONT every node.
    pub fn resume(&self) {
        for n in &self.nodes {
            if let Some(c) = &n.child {
                send_signal(c.id(), "CONT");
            }
        }
    }

    pub fn pause_node(&self, myid: usize) {
        if let Some(c) = &self.node(myid).child {
            send_signal(c.id(), "STOP");
        }
    }

    pub fn resume_node(&self, myid: usize) {
        if let Some(c) = &self.node(myid).child {
            send_signal(c.id(), "CONT");
        }
    }

    /// Kill one node (SIGKILL), keeping its data for [`Self::start_node`].
    pub fn kill_node(&mut self, myid: usize) {
        if let Some(mut c) = self.node_mut(myid).child.take() {
            kill_and_reap(&mut c);
        }
    }

    /// Stop one node cleanly (SIGTERM, then SIGKILL after 10 s).
    pub fn stop_node(&mut self, myid: usize) {
        if let Some(mut c) = self.node_mut(myid).child.take() {
            send_signal(c.id(), "CONT");
            send_signal(c.id(), "TERM");
            if wait_child(&mut c, Duration::from_secs(10)).is_none() {
                kill_and_reap(&mut c);
            }
        }
    }

    /// (Re)start a stopped/killed node with its old data and ports.  Does not
    /// wait; use [`Self::wait_serving`].
    pub fn start_node(&mut self, myid: usize) {
        let node = self.node_mut(myid);
        if node.child.is_none() {
            node.child = Some(spawn_zk(node));
        }
    }

    /// Stop every node (SIGTERM, then SIGKILL after 10 s).
    pub fn stop(&mut self) {
        for n in &mut self.nodes {
            if let Some(c) = &n.child {
                send_signal(c.id(), "CONT");
                send_signal(c.id(), "TERM");
            }
        }
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                if wait_child(&mut c, Duration::from_secs(10)).is_none() {
                    kill_and_reap(&mut c);
                }
            }
        }
    }

    /// The node's answer to a four-letter word (`srvr`, `stat`, `ruok`, `mntr`, `dump`...).
    pub fn four_letter(&self, myid: usize, cmd: &str) -> Option<String> {
        four_letter_word(self.node(myid).client_port, cmd)
    }

    /// `leader`, `follower`, `standalone`, or None if the node does not serve.
    pub fn mode(&self, myid: usize) -> Option<String> {
        zk_mode(self.node(myid).client_port)
    }

    /// The myid of the current leader (or the standalone node).
    pub fn leader(&self) -> Option<usize> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .find(|n| {
                matches!(
                    zk_mode(n.client_port).as_deref(),
                    Some("leader") | Some("standalone")
                )
            })
            .map(|n| n.myid)
    }

    /// Wait until every running node serves and exactly one leads.
    pub fn wait_serving(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let mut modes = Vec::new();
            let mut exited = None;
            for n in &self.nodes {
                if let Some(c) = &n.child {
                    if !pid_exists(c.id()) {
                        exited = Some(n.myid);
                    }
                    modes.push((n.myid, zk_mode(n.client_port)));
                }
            }
            let leaders = modes
                .iter()
                .filter(|(_, m)| matches!(m.as_deref(), Some("leader") | Some("standalone")))
                .count();
            let all_serving = modes.iter().all(|(_, m)| m.is_some());
            if all_serving && leaders == 1 {
                return;
            }
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "ZooKeeper ensemble not serving after {:?} (node modes: {:?}{})\n{}",
                    timeout,
                    modes,
                    exited
                        .map(|id| format!(", node {id} exited"))
                        .unwrap_or_default(),
                    self.log_contents()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The tail of every node's log, for panic messages.
    pub fn log_contents(&self) -> String {
        let mut s = String::new();
        for n in &self.nodes {
            for p in [n.out_path(), n.log_path()] {
                let t = tail_file(&p, 40);
                if !t.is_empty() {
                    s.push_str(&format!("---- {} ----\n{t}\n", p.display()));
                }
            }
        }
        s
    }
}

impl Drop for ZkEnsemble {
    fn drop(&mut self) {
        if std::thread::panicking() && std::env::var_os("ZKAFKA_TEST_QUIET").is_none() {
            eprintln!(
                "==== ZooKeeper logs (test panicked) ====\n{}",
                self.log_contents()
            );
        }
        if std::thread::panicking() {
            for n in &self.nodes {
                keep_log_of_failed_test(&n.log_path(), &format!("zookeeper-{}", n.myid));
            }
        }
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                kill_and_reap(&mut c);
            }
        }
    }
}

fn spawn_zk(n: &ZkNode) -> Child {
    let mut cp = String::from(ZK_JAR);
    for j in ZK_LOG_JARS {
        if Path::new(j).exists() {
            cp.push(':');
            cp.push_str(j);
        }
    }
    let out = File::create(n.out_path()).expect("create zookeeper.out");
    let err = out.try_clone().expect("dup zookeeper.out");
    Command::new(java_bin())
        .args([
            "-Xms32m",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.net.preferIPv4Stack=true",
            "-Djava.awt.headless=true",
            "-Dzookeeper.admin.enableServer=false",
            "-Dzookeeper.root.logger=INFO,ROLLINGFILE",
            "-Dzookeeper.log.file=zookeeper.log",
        ])
        .arg(format!("-Dlog4j.configuration=file:{ZK_LOG4J}"))
        .arg(format!("-Dzookeeper.log.dir={}", n.dir.display()))
        .arg(format!("-Dzkafka.harness={}", std::process::id()))
        .arg("-cp")
        .arg(cp)
        .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
        .arg(&n.cfg)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{}` for ZooKeeper: {e} (install a JRE: apt-get install -y zookeeper)",
                java_bin()
            )
        })
}

/// Send a ZooKeeper four-letter word to 127.0.0.1:`port`; None if unreachable.
pub fn four_letter_word(port: u16, cmd: &str) -> Option<String> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(cmd.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn zk_mode(port: u16) -> Option<String> {
    four_letter_word(port, "srvr")?
        .lines()
        .find_map(|l| l.strip_prefix("Mode: ").map(|m| m.trim().to_string()))
}

// ------------------------------------------------------------------ brokers

/// A `zkafka server` process (the crate's own binary) with a listener on a
/// free 127.0.0.1 port and a temp log dir.  Dropping it kills it.
pub struct Broker {
    id: i32,
    port: u16,
    props_path: PathBuf,
    log_path: PathBuf,
    log_dir: PathBuf,
    child: Option<Child>,
    last_pid: u32,
    dir: TempDir,
    /// RLIMIT_NOFILE (soft = hard) the broker process is spawned with, if any.
    nofile_limit: Option<u64>,
    /// Whether the test left it SIGSTOPped (see `warn_if_continued_behind_our_back`).
    sigstopped: std::sync::atomic::AtomicBool,
}

impl Broker {
    /// Write a properties file (broker.id, listeners/advertised.listeners =
    /// PLAINTEXT://127.0.0.1:<free port>, log.dirs=<temp>, zookeeper.connect,
    /// zookeeper.session.timeout.ms=6000, then `extra`, which replaces keys
    /// already present; see `spawn_new` for `{port}`/`{free_port}`) and spawn `zkafka server <file>`.  Does not wait; see
    /// [`Self::wait_listening`].
    pub fn start(id: i32, zk_connect: &str, extra: &[(&str, &str)]) -> Broker {
        Broker::spawn_new(id, zk_connect, extra, None)
    }

    fn spawn_new(
        id: i32,
        zk_connect: &str,
        extra: &[(&str, &str)],
        nofile_limit: Option<u64>,
    ) -> Broker {
        let dir = tempfile::Builder::new()
            .prefix(&format!("zkafka-broker-{id}-"))
            .tempdir()
            .expect("create temp dir for broker");
        let port = free_port();
        let log_dir = dir.path().join("kafka-logs");
        fs::create_dir_all(&log_dir).expect("create broker log dir");
        let listener = format!("PLAINTEXT://127.0.0.1:{port}");
        let mut props: Vec<(String, String)> = vec![
            ("broker.id".into(), id.to_string()),
            ("listeners".into(), listener.clone()),
            ("advertised.listeners".into(), listener),
            ("log.dirs".into(), log_dir.display().to_string()),
            ("zookeeper.connect".into(), zk_connect.to_string()),
            ("zookeeper.session.timeout.ms".into(), "6000".into()),
        ];
        // `{port}` in a value is this listener's port, `{free_port}` one more free port of
        // this broker (a second listener, e.g. `SASL_PLAINTEXT://127.0.0.1:{free_port}`).
        let second_port = free_port().to_string();
        // ZKAFKA_TEST_INTER_BROKER=SASL_SSL: a SASL_SSL listener between brokers (the test's
        // own `extra` still wins).
        for (k, v) in security::harness_inter_broker_props(dir.path(), zk_connect, extra) {
            let v = v
                .replace("{port}", &port.to_string())
                .replace("{free_port}", &second_port);
            match props.iter_mut().find(|(pk, _)| *pk == k) {
                Some(entry) => entry.1 = v,
                None => props.push((k, v)),
            }
        }
        for (k, v) in extra {
            let v = v
                .replace("{port}", &port.to_string())
                .replace("{free_port}", &second_port);
            match props.iter_mut().find(|(pk, _)| pk == k) {
                Some(entry) => entry.1 = v.to_string(),
                None => props.push((k.to_string(), v.to_string())),
            }
        }
        let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let props_path = dir.path().join("server.properties");
        fs::write(&props_path, text).expect("write server.properties");
        let log_path = dir.path().join("broker.log");
        let mut broker = Broker {
            id,
            port,
            props_path,
            log_path,
            log_dir,
            child: None,
            last_pid: 0,
            dir,
            nofile_limit,
            sigstopped: Default::default(),
        };
        broker.spawn();
        broker
    }

    /// `start` with the process's open-files limit (soft and hard, so the broker cannot
    /// raise it) set to `limit`, as a shell's `ulimit -n` would.
    pub fn start_with_open_files_limit(
        id: i32,
        zk_connect: &str,
        extra: &[(&str, &str)],
        limit: u64,
    ) -> Broker {
        Broker::spawn_new(id, zk_connect, extra, Some(limit))
    }

    fn spawn(&mut self) {
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open broker log file");
        if self.last_pid != 0 {
            let _ = writeln!(out, "==== harness: restarting broker {} ====", self.id);
        }
        let err = out.try_clone().expect("dup broker log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkafka"));
        if let Some(limit) = self.nofile_limit {
            use std::os::unix::process::CommandExt;
            let lim = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            // SAFETY: setrlimit is async-signal-safe; `lim` is plain data copied into the closure.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let child = cmd
            .arg("server")
            .arg(&self.props_path)
            .current_dir(self.dir.path())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("RUST_BACKTRACE", "1")
            .envs(security::harness_log_filter().map(|f| ("ZKAFKA_LOG", f)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", env!("CARGO_BIN_EXE_zkafka")));
        self.last_pid = child.id();
        self.child = Some(child);
    }

    pub fn id(&self) -> i32 {
        self.id
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pid of the current (or last) process.
    pub fn pid(&self) -> u32 {
        self.last_pid
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    pub fn props_path(&self) -> &Path {
        &self.props_path
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the broker wrote to stdout/stderr (all runs).
    pub fn log_contents(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        if let Some(c) = self.child.as_mut() {
            kill_and_reap(c);
        }
    }

    pub fn sigterm(&self) {
        self.signal("TERM");
    }

    /// SIGSTOP, returning once every thread of the broker has stopped. kill(2) returns before
    /// the target's threads stop: a thread mid-request could still answer a fetch, so a
    /// "stopped" follower caught up with the next record (replication's ISR test failed so).
    pub fn sigstop(&self) {
        self.signal("STOP");
        self.sigstopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.all_threads_stopped() {
            assert!(
                Instant::now() < deadline,
                "broker {} did not stop within 10 s of SIGSTOP",
                self.id
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Whether every thread is in state `T` (stopped) in /proc/<pid>/task/*/stat.
    fn all_threads_stopped(&self) -> bool {
        let Some(c) = &self.child else {
            return true;
        };
        let Ok(tasks) = fs::read_dir(format!("/proc/{}/task", c.id())) else {
            return true; // exited
        };
        tasks
            .flatten()
            .all(|t| proc_stopped(&t.path().join("stat")).unwrap_or(true))
    }

    pub fn sigcont(&self) {
        self.sigstopped
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.signal("CONT");
    }

    /// Whether the process is stopped now (state `T` in /proc/<pid>/stat).
    pub fn is_stopped(&self) -> bool {
        let Some(c) = &self.child else {
            return false;
        };
        proc_stopped(Path::new(&format!("/proc/{}/stat", c.id()))).unwrap_or(false)
    }

    /// A broker the test stopped that runs again was continued by someone else: the kernel
    /// sends SIGCONT (and SIGHUP) to a stopped process whose process group becomes orphaned,
    /// e.g. when the shell that started the tests in the background exits. A failure that
    /// follows is the run's, not the test's.
    fn warn_if_continued_behind_our_back(&mut self) {
        if self.sigstopped.load(std::sync::atomic::Ordering::SeqCst)
            && self.is_running()
            && !self.is_stopped()
        {
            eprintln!(
                "==== broker {} was SIGSTOPped by the test but is running: something else sent \
                 it SIGCONT (the kernel does when the process group of the tests is orphaned, \
                 e.g. the shell that started them in the background exited; run them in the \
                 foreground or under setsid) ====",
                self.id
            );
        }
    }

    fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            send_signal(c.id(), sig);
        }
    }

    /// Wait for the process to exit; None on timeout (it keeps running).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let c = self.child.as_mut()?;
        wait_child(c, timeout)
    }

    /// Wait until the listener accepts TCP connections.  Panics with the
    /// broker's log if it exits or the timeout passes.
    pub fn wait_listening(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if port_accepts(self.port) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "broker {} exited ({status}) before listening on {}\n---- {} ----\n{}",
                    self.id,
                    self.bootstrap(),
                    self.log_path.display(),
                    self.log_contents()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "broker {} not listening on {} after {timeout:?}\n---- {} ----\n{}",
                    self.id,
                    self.bootstrap(),
                    self.log_path.display(),
                    self.log_contents()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Start it again with the same id, port, properties and log dir.  A still
    /// running process is first stopped with SIGTERM (SIGKILL after 30 s);
    /// call [`Self::kill9`] first for an unclean restart.
    pub fn restart(&mut self) {
        if self.is_running() {
            self.sigcont();
            self.sigterm();
            if self.wait_exit(Duration::from_secs(30)).is_none() {
                self.kill9();
            }
        }
        self.child = None;
        self.spawn();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if std::thread::panicking() && std::env::var_os("ZKAFKA_TEST_QUIET").is_none() {
            eprintln!(
                "==== broker {} log {} (test panicked) ====\n{}",
                self.id,
                self.log_path.display(),
                tail_file(&self.log_path, 200)
            );
        }
        if std::thread::panicking() {
            keep_log_of_failed_test(&self.log_path, &format!("broker-{}", self.id));
            self.warn_if_continued_behind_our_back();
        }
        if let Some(c) = self.child.as_mut() {
            kill_and_reap(c);
        }
    }
}

// ------------------------------------------------------------------ clients

/// A ZooKeeper client session (retries for up to 30 s while the ensemble
/// comes up).  `connect` may carry a chroot (`host:port,.../chroot`).
pub async fn zk_client(connect: &str) -> zookeeper_client::Client {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let result = zookeeper_client::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .with_connection_timeout(Duration::from_secs(5))
            .connect(connect)
            .await;
        match result {
            Ok(client) => return client,
            Err(e) if Instant::now() >= deadline => {
                panic!("cannot connect a ZooKeeper client to {connect}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Poll `condition` every 100 ms until it returns true; panic (naming the
/// caller's location) after `timeout`.
#[track_caller]
pub fn wait_until<F, Fut>(timeout: Duration, condition: F) -> impl Future<Output = ()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let location = Location::caller();
    wait_until_msg(timeout, format!("condition at {location}"), condition)
}

/// [`wait_until`] with a description for the panic message.
pub async fn wait_until_msg<F, Fut>(timeout: Duration, what: impl Display, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        if Instant::now() >= deadline {
            panic!("wait_until: {what} still false after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Poll `f` every 100 ms until it returns Some(value); panic after `timeout`.
#[track_caller]
pub fn wait_for<T, F, Fut>(timeout: Duration, mut f: F) -> impl Future<Output = T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let location = Location::caller();
    async move {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = f().await {
                return v;
            }
            if Instant::now() >= deadline {
                panic!("wait_for: no value from the closure at {location} after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Run kcat with `args` (15 s limit); Ok(stdout) or Err(stderr + status).
pub async fn kcat(args: &[&str]) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new("kcat");
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot run kcat: {e}; run scripts/test.sh or: sudo apt-get install -y kcat")
    });
    match tokio::time::timeout(Duration::from_secs(15), child.wait_with_output()).await {
        Err(_) => Err(format!("kcat {args:?} timed out after 15s")),
        Ok(Err(e)) => Err(format!("kcat {args:?}: {e}")),
        Ok(Ok(out)) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Ok(Ok(out)) => Err(format!(
            "kcat {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// `kcat -b <bootstrap> -L -m 5`: metadata as a real librdkafka client sees it.
pub async fn try_kcat_metadata(bootstrap: &str) -> Result<String, String> {
    kcat(&["-b", bootstrap, "-L", "-m", "5"]).await
}

/// Like [`try_kcat_metadata`], panicking on failure.
pub async fn kcat_metadata(bootstrap: &str) -> String {
    try_kcat_metadata(bootstrap)
        .await
        .unwrap_or_else(|e| panic!("kcat metadata from {bootstrap}: {e}"))
}

/// `kcat -b <bootstrap> -L -J -m 5` parsed: keys include `originating_broker`,
/// `controllerid`, `brokers` (`[{"id":1,"name":"127.0.0.1:9092"}]`), `topics`.
pub async fn kcat_metadata_json(bootstrap: &str) -> serde_json::Value {
    let text = kcat(&["-b", bootstrap, "-L", "-J", "-m", "5"])
        .await
        .unwrap_or_else(|e| panic!("kcat metadata from {bootstrap}: {e}"));
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("kcat -J printed invalid JSON ({e}): {text}"))
}

/// A broker line of `kcat -L` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KcatBroker {
    pub id: i32,
    pub address: String,
    pub controller: bool,
}

/// Parse the `broker <id> at <host:port>[ (controller)]` lines of `kcat -L`.
pub fn parse_kcat_brokers(metadata: &str) -> Vec<KcatBroker> {
    metadata
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("broker ")?;
            let (id, rest) = rest.split_once(" at ")?;
            let mut words = rest.split_whitespace();
            let address = words.next()?.to_string();
            Some(KcatBroker {
                id: id.trim().parse().ok()?,
                address,
                controller: rest.contains("(controller)"),
            })
        })
        .collect()
}

pub mod acl_util;
pub mod data_util;
pub mod groups;
pub mod java;
pub mod log_util;
pub mod poison;
pub mod repl;
pub mod security;

/// How long [`start_cluster`] waits for registration, election and metadata.
pub const CLUSTER_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts brokers 1..=3 and waits until the controller has told them all about each other.
pub async fn start_cluster(connect: &str, extra: &[(&str, &str)]) -> Vec<Broker> {
    let brokers: Vec<Broker> = (1..=3)
        .map(|id| Broker::start(id, connect, extra))
        .collect();
    let zk = zk_client(connect).await;
    wait_until_msg(
        CLUSTER_START_TIMEOUT,
        "3 brokers and a controller",
        || async {
            zk.list_children("/brokers/ids")
                .await
                .map(|c| c.len() == 3)
                .unwrap_or(false)
                && zk.check_stat("/controller").await.unwrap().is_some()
        },
    )
    .await;
    for b in &brokers {
        let bootstrap = b.bootstrap();
        wait_until_msg(CLUSTER_START_TIMEOUT, "metadata lists 3 brokers", || {
            let b = bootstrap.clone();
            async move { parse_kcat_brokers(&kcat_metadata(&b).await).len() == 3 }
        })
        .await;
    }
    brokers
}

/// Whether a /proc `stat` file shows state `T` (stopped); None if it cannot be read.
fn proc_stopped(stat_path: &Path) -> Option<bool> {
    let stat = fs::read_to_string(stat_path).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().next().map(|st| st == "T")
}
