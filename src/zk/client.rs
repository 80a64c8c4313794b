//! `KafkaZkClient`: the broker's ZooKeeper session (re-created on expiry) and the znode
//! operations Kafka's KafkaZkClient.scala performs, including controller-fenced writes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch, Semaphore};
use zookeeper_client as zkc;
use zookeeper_client::{Acls, Client, CreateMode, CreateOptions, SessionInfo, SessionState, Stat};

use super::codec::{self, BrokerRegistration};
pub use super::error::{ZkError, ZkResult};
use super::paths;
use super::reachability;

/// Session lifecycle notifications (ZooKeeperClient.scala's state-change handlers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// The servers expired session `0` (its id); components must drop state bound to it
    /// (e.g. resign the controllership won in it).
    Expired(i64),
    /// A new session is up; components re-register ephemerals and re-arm watches.
    Initialized,
    /// The same session is back on a new connection after the client library had given up
    /// on it (see `supervise_session`): ephemerals and controllership are intact, but every
    /// watch set before is gone and changes may have been missed, so watchers re-arm and
    /// re-read. (The Java client re-sets its watches itself; nothing else happens in Kafka.)
    Reconnected,
}

pub(crate) const OPEN: CreateOptions<'static> =
    CreateMode::Persistent.with_acls(Acls::anyone_all());
const EPHEMERAL: CreateOptions<'static> = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
const SEQUENTIAL: CreateOptions<'static> =
    CreateMode::PersistentSequential.with_acls(Acls::anyone_all());

/// Kafka's tools pass `Int.MaxValue` as their ZooKeeper client's in-flight limit: no bound.
pub const UNBOUNDED_IN_FLIGHT: usize = Semaphore::MAX_PERMITS;

/// How often a session that cannot reach a server logs that it is still trying.
const RECONNECT_PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// The broker's ZooKeeper client. Cheap to clone; all clones share the current session.
#[derive(Clone)]
pub struct KafkaZkClient {
    inner: Arc<Inner>,
}

/// What `KafkaZkClient::client` hands out.
enum Slot {
    Open(Client),
    /// No usable session right now: requests wait, as Kafka's do while its client reconnects.
    Reconnecting,
    /// `close` was called: dropping the last `Client` clone is what ends the session.
    Closed,
}

struct Inner {
    connect: String,
    session_timeout: Duration,
    connection_timeout: Duration,
    slot: watch::Sender<Slot>,
    events: broadcast::Sender<SessionEvent>,
    /// ZooKeeperClient's `inFlightRequests`: a permit per request outstanding.
    in_flight: Semaphore,
    max_in_flight: usize,
}

impl KafkaZkClient {
    /// Connects with no bound on requests in flight, as Kafka's command-line tools do.
    pub async fn connect(
        connect: &str,
        session_timeout: Duration,
        connection_timeout: Duration,
    ) -> ZkResult<KafkaZkClient> {
        Self::connect_with_max_in_flight(
            connect,
            session_timeout,
            connection_timeout,
            UNBOUNDED_IN_FLIGHT,
        )
        .await
    }

    /// Connects (creating the chroot first, as Kafka does) and starts session supervision.
    /// At most `max_in_flight` requests (`zookeeper.max.in.flight.requests` on a broker) are
    /// outstanding at once; pipelined reads and writes past that wait for an answer.
    pub async fn connect_with_max_in_flight(
        connect: &str,
        session_timeout: Duration,
        connection_timeout: Duration,
        max_in_flight: usize,
    ) -> ZkResult<KafkaZkClient> {
        let max_in_flight = max_in_flight.clamp(1, UNBOUNDED_IN_FLIGHT);
        let (ensemble, chroot) = paths::split_chroot(connect);
        if let Some(chroot) = chroot {
            let root = open_session(ensemble, session_timeout, connection_timeout).await?;
            create_recursive(&root, chroot, b"", true).await?;
            close_client(root).await;
        }
        let client = open_session(connect, session_timeout, connection_timeout).await?;
        let (events, _) = broadcast::channel(16);
        let zk = KafkaZkClient {
            inner: Arc::new(Inner {
                connect: connect.to_string(),
                session_timeout,
                connection_timeout,
                slot: watch::Sender::new(Slot::Open(client)),
                events,
                in_flight: Semaphore::new(max_in_flight),
                max_in_flight,
            }),
        };
        tokio::spawn(zk.clone().supervise_session());
        Ok(zk)
    }

    /// The current session's client, waiting while the session is being re-established.
    /// Re-fetch after a `SessionEvent`; fails with `ClientClosed` after `close`.
    pub async fn client(&self) -> ZkResult<Client> {
        let mut slot = self.inner.slot.subscribe();
        let slot = slot
            .wait_for(|s| !matches!(s, Slot::Reconnecting))
            .await
            .map_err(|_| ZkError::op(&self.inner.connect, zkc::Error::ClientClosed))?;
        match &*slot {
            Slot::Open(client) => Ok(client.clone()),
            _ => Err(ZkError::op(&self.inner.connect, zkc::Error::ClientClosed)),
        }
    }

    fn open_client(&self) -> Option<Client> {
        match &*self.inner.slot.borrow() {
            Slot::Open(client) => Some(client.clone()),
            _ => None,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.inner.events.subscribe()
    }

    /// The current session id (0 while there is none).
    pub fn session_id(&self) -> i64 {
        self.open_client().map_or(0, |c| c.session_id().0)
    }

    pub fn session_timeout(&self) -> Duration {
        self.inner.session_timeout
    }

    /// Requests sent and not answered yet (at most the in-flight limit).
    pub fn requests_in_flight(&self) -> usize {
        self.inner.max_in_flight - self.inner.in_flight.available_permits()
    }

    /// Sends one request once fewer than the limit are outstanding (Kafka's ZooKeeperClient
    /// takes a permit of its `inFlightRequests` semaphore per request). Only the request
    /// itself holds the permit, never a wait for the session or a nested request.
    /// `send` is called with the permit held: the client library sends on the call, not on
    /// the first poll.
    pub(crate) async fn in_flight<F, Fut>(&self, send: F) -> Fut::Output
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future,
    {
        // The semaphore is never closed: acquiring only waits.
        let _permit = self.inner.in_flight.acquire().await.ok();
        send().await
    }

    /// Watches the session until it ends. Only the servers decide that a session expired:
    /// the client library also reports `Expired` when it has not heard from any server for
    /// 7/5 of the session timeout (ZOOKEEPER-4508), which is what a quorum loss looks like,
    /// while the servers cannot expire anything without a quorum and give every session a
    /// fresh timeout when a new leader is elected. So, like Kafka's Java client, we reconnect
    /// with the same session id and password until a server accepts it (`Reconnected`) or
    /// says it expired; only then do we re-create it (ZooKeeperClient.reinitialize).
    async fn supervise_session(self) {
        loop {
            let Some(client) = self.open_client() else {
                return;
            };
            let session = client.session().clone();
            let mut watcher = client.state_watcher();
            drop(client);
            let state = loop {
                let s = watcher.changed().await;
                if s.is_terminated() {
                    break s;
                }
            };
            if state != SessionState::Expired {
                tracing::info!(target: "kafka.zookeeper", "[ZooKeeperClient] Session ended ({state}); not reconnecting");
                return;
            }
            if !self.replace_slot(|s| matches!(s, Slot::Open(_)), Slot::Reconnecting) {
                return; // closed
            }
            let (fresh, event) = match self.resume(&session).await {
                Ok(client) => (client, SessionEvent::Reconnected),
                Err(zkc::Error::SessionExpired) => {
                    let old = session.id().0;
                    tracing::warn!(target: "kafka.zookeeper", "[ZooKeeperClient] Session expired (0x{old:x}, said the server); creating a new session to {}", self.inner.connect);
                    let _ = self.inner.events.send(SessionEvent::Expired(old));
                    let fresh = self.reconnect_forever().await;
                    tracing::info!(target: "kafka.zookeeper", "[ZooKeeperClient] New session established: 0x{:x}", fresh.session_id().0);
                    (fresh, SessionEvent::Initialized)
                }
                Err(_) => return, // closed while reconnecting
            };
            if !self.replace_slot(|s| matches!(s, Slot::Reconnecting), Slot::Open(fresh)) {
                return; // closed meanwhile; dropping `fresh` closed that session
            }
            let _ = self.inner.events.send(event);
        }
    }

    /// Sets the slot to `to` if it is in the state `from` accepts; false (and `to` dropped)
    /// otherwise.
    fn replace_slot(&self, from: impl Fn(&Slot) -> bool, to: Slot) -> bool {
        let mut to = Some(to);
        self.inner.slot.send_if_modified(|s| {
            if from(s) {
                *s = to.take().expect("replaced once");
                true
            } else {
                false
            }
        })
    }

    fn is_closed(&self) -> bool {
        matches!(*self.inner.slot.borrow(), Slot::Closed)
    }

    /// Reconnects with `session`'s id and password until a server accepts it, or answers that
    /// it expired (`SessionExpired`), or we are closed (`ClientClosed`).
    async fn resume(&self, session: &SessionInfo) -> Result<Client, zkc::Error> {
        let i = &self.inner;
        let id = session.id().0;
        let since = tokio::time::Instant::now();
        let mut last_report = since;
        tracing::warn!(target: "kafka.zookeeper", "[ZooKeeperClient] No ZooKeeper server answered session 0x{id:x} for {} ms; reconnecting with the same session until a server accepts it or says it expired", i.session_timeout.as_millis() * 7 / 5);
        loop {
            if self.is_closed() {
                return Err(zkc::Error::ClientClosed);
            }
            let attempt = Client::connector()
                .with_session(session.clone())
                .with_session_timeout(i.session_timeout)
                .with_connection_timeout(i.connection_timeout)
                .with_fail_eagerly()
                .connect(&i.connect)
                .await;
            match attempt {
                Ok(client) => {
                    tracing::info!(target: "kafka.zookeeper", "[ZooKeeperClient] Reconnected session 0x{id:x} after {} ms; it did not expire", since.elapsed().as_millis());
                    return Ok(client);
                }
                Err(zkc::Error::SessionExpired) => return Err(zkc::Error::SessionExpired),
                Err(e) => {
                    if last_report.elapsed() >= RECONNECT_PROGRESS_EVERY {
                        last_report = tokio::time::Instant::now();
                        tracing::warn!(target: "kafka.zookeeper", "[ZooKeeperClient] Still reconnecting session 0x{id:x} to {} after {} s: {e}", i.connect, since.elapsed().as_secs());
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn reconnect_forever(&self) -> Client {
        const REPEAT_LOG_AFTER: Duration = Duration::from_secs(30);
        let i = &self.inner;
        // An unreachable ensemble fails each attempt at once: log a cause when it changes,
        // else every 30 s, not once per retry.
        let mut logged: Option<(String, tokio::time::Instant)> = None;
        loop {
            match open_session(&i.connect, i.session_timeout, i.connection_timeout).await {
                Ok(c) => return c,
                Err(e) => {
                    let cause = e.to_string();
                    let repeat = logged.as_ref().is_some_and(|(last, at)| {
                        *last == cause && at.elapsed() < REPEAT_LOG_AFTER
                    });
                    if !repeat {
                        tracing::warn!(target: "kafka.zookeeper", "[ZooKeeperClient] reconnect failed: {cause}; retrying every second");
                        logged = Some((cause, tokio::time::Instant::now()));
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Closes the session so that our ephemeral znodes vanish at once (and a tool leaves no
    /// session behind for the servers to expire).
    pub async fn close(self) {
        if let Slot::Open(client) = self.inner.slot.send_replace(Slot::Closed) {
            close_client(client).await;
        }
    }

    // ---- generic helpers -------------------------------------------------------------------

    /// Runs a request that is safe to repeat until it is not lost with its connection
    /// (Kafka's retryRequestsUntilConnected): requests wait while the session reconnects.
    async fn until_answered<T, Fut>(&self, request: impl Fn(Client) -> Fut) -> ZkResult<T>
    where
        Fut: std::future::Future<Output = ZkResult<T>>,
    {
        loop {
            let client = self.client().await?;
            match self.in_flight(|| request(client)).await {
                Err(e) if e.is_connection_loss() => {
                    tracing::debug!(target: "kafka.zookeeper", "[ZooKeeperClient] {e}; retrying once reconnected");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }

    pub async fn get_data(&self, path: &str) -> ZkResult<Option<(Vec<u8>, Stat)>> {
        self.until_answered(|client| async move {
            match client.get_data(path).await {
                Ok(r) => Ok(Some(r)),
                Err(zkc::Error::NoNode) => Ok(None),
                Err(e) => Err(ZkError::op(path, e)),
            }
        })
        .await
    }

    pub async fn get_children(&self, path: &str) -> ZkResult<Vec<String>> {
        self.until_answered(|client| async move {
            match client.list_children(path).await {
                Ok(c) => Ok(c),
                Err(zkc::Error::NoNode) => Ok(vec![]),
                Err(e) => Err(ZkError::op(path, e)),
            }
        })
        .await
    }

    /// Creates every missing persistent znode on the way to `path` (null data).
    pub async fn make_sure_persistent_path_exists(&self, path: &str) -> ZkResult<()> {
        self.until_answered(
            |client| async move { create_recursive(&client, path, b"", true).await },
        )
        .await
    }

    pub async fn create_top_level_paths(&self) -> ZkResult<()> {
        for p in paths::PERSISTENT_PATHS {
            // Created with its first block by the ProducerIdManager: the client library can
            // only write empty data, not ZooKeeper's null, and Kafka brokers fail to parse "".
            if *p == paths::PRODUCER_ID_BLOCK {
                continue;
            }
            self.make_sure_persistent_path_exists(p).await?;
        }
        Ok(())
    }

    /// Reads `/cluster/id`, creating it with a fresh id when absent (a racing creator wins).
    pub async fn get_or_create_cluster_id(&self) -> ZkResult<String> {
        if let Some((data, _)) = self.get_data(paths::CLUSTER_ID).await? {
            return Ok(codec::decode_cluster_id(paths::CLUSTER_ID, &data)?);
        }
        let id = generate_uuid_base64();
        let payload = codec::encode_cluster_id(&id);
        let client = self.client().await?;
        let create = || create_recursive(&client, paths::CLUSTER_ID, payload.as_bytes(), false);
        match self.in_flight(create).await {
            Ok(()) => Ok(id),
            Err(e) if e.is(zkc::Error::NodeExists) => {
                let (data, _) = self
                    .get_data(paths::CLUSTER_ID)
                    .await?
                    .ok_or_else(|| ZkError::op(paths::CLUSTER_ID, zkc::Error::NoNode))?;
                Ok(codec::decode_cluster_id(paths::CLUSTER_ID, &data)?)
            }
            Err(e) => Err(e),
        }
    }

    // ---- broker registration -----------------------------------------------------------------

    /// Registers `/brokers/ids/<id>` as Kafka 2.8 does (create empty ephemeral + setData in one
    /// multi) and returns the broker epoch (the znode's czxid).
    ///
    /// A node left by this broker's previous, not yet expired session is waited out rather
    /// than treated as a duplicate id; a node owned by a live other session is an error.
    pub async fn register_broker(&self, reg: &BrokerRegistration) -> ZkResult<i64> {
        let path = paths::broker_id(reg.broker.id);
        let deadline = tokio::time::Instant::now() + self.inner.session_timeout * 2;
        loop {
            match self
                .checked_ephemeral_create(&path, reg.encode().as_bytes())
                .await
            {
                Ok(stat) => return Ok(stat.czxid),
                // Safe to repeat: a node our own lost request created is recognised as ours.
                Err(e) if e.is_connection_loss() => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e)
                    if e.is(zkc::Error::NodeExists) && tokio::time::Instant::now() < deadline =>
                {
                    tracing::warn!(target: "kafka.zk.KafkaZkClient",
                        "{path} exists and is owned by another session (a previous run of broker {}?); waiting for that session to expire",
                        reg.broker.id);
                    self.wait_until_gone(&path, deadline).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn checked_ephemeral_create(&self, path: &str, data: &[u8]) -> ZkResult<Stat> {
        let client = self.client().await?;
        let mut multi = client.new_multi_writer();
        multi
            .add_create(path, b"", &EPHEMERAL)
            .map_err(|e| ZkError::op(path, e))?;
        multi
            .add_set_data(path, data, Some(0))
            .map_err(|e| ZkError::op(path, e))?;
        match self.in_flight(|| multi.commit()).await {
            Ok(_) => {}
            Err(e) => {
                let e: zkc::Error = e.into();
                if e != zkc::Error::NodeExists {
                    return Err(ZkError::op(path, e));
                }
                // Ours already (a retried request after connection loss)? Then accept it.
                let (_, stat) = self
                    .in_flight(|| client.get_data(path))
                    .await
                    .map_err(|e| ZkError::op(path, e))?;
                if stat.ephemeral_owner != client.session_id().0 {
                    return Err(ZkError::op(path, zkc::Error::NodeExists));
                }
            }
        }
        let (_, stat) = self
            .in_flight(|| client.get_data(path))
            .await
            .map_err(|e| ZkError::op(path, e))?;
        Ok(stat)
    }

    async fn wait_until_gone(&self, path: &str, deadline: tokio::time::Instant) -> ZkResult<()> {
        let client = self.client().await?;
        match self.in_flight(|| client.check_and_watch_stat(path)).await {
            Ok((None, _)) => Ok(()),
            Ok((Some(_), watcher)) => {
                let _ = tokio::time::timeout_at(deadline, watcher.changed()).await;
                Ok(())
            }
            Err(e) => Err(ZkError::op(path, e)),
        }
    }

    pub async fn get_broker(&self, id: i32) -> ZkResult<Option<(BrokerRegistration, Stat)>> {
        let path = paths::broker_id(id);
        match self.get_data(&path).await? {
            Some((data, stat)) => Ok(Some((BrokerRegistration::decode(id, &path, &data)?, stat))),
            None => Ok(None),
        }
    }

    /// All registered brokers with their epochs (czxid). Undecodable entries are logged and
    /// skipped so one bad znode cannot stop the controller.
    pub async fn get_all_brokers(&self) -> ZkResult<Vec<(BrokerRegistration, i64)>> {
        let mut out = Vec::new();
        for child in self.get_children(paths::BROKER_IDS).await? {
            let Ok(id) = child.parse::<i32>() else {
                continue;
            };
            match self.get_broker(id).await {
                Ok(Some((reg, stat))) => out.push((reg, stat.czxid)),
                Ok(None) => {}
                Err(ZkError::Decode(e)) => {
                    tracing::error!(target: "kafka.zk.KafkaZkClient", "{e}; ignoring broker {id}")
                }
                Err(e) => return Err(e),
            }
        }
        out.sort_by_key(|(r, _)| r.broker.id);
        Ok(out)
    }

    // ---- controller election and fencing ------------------------------------------------------

    /// The current controller id, or `None` when there is none.
    pub async fn get_controller_id(&self) -> ZkResult<Option<i32>> {
        match self.get_data(paths::CONTROLLER).await? {
            Some((data, _)) => Ok(Some(codec::decode_controller(paths::CONTROLLER, &data)?)),
            None => Ok(None),
        }
    }

    /// `/controller_epoch` and its zkVersion, creating it with `0` when missing.
    pub async fn get_or_create_controller_epoch(&self) -> ZkResult<(i32, i32)> {
        if let Some((data, stat)) = self.get_data(paths::CONTROLLER_EPOCH).await? {
            return Ok((
                codec::decode_controller_epoch(paths::CONTROLLER_EPOCH, &data)?,
                stat.version,
            ));
        }
        let client = self.client().await?;
        match self
            .in_flight(|| client.create(paths::CONTROLLER_EPOCH, b"0", &OPEN))
            .await
        {
            Ok(_) | Err(zkc::Error::NodeExists) => {}
            Err(e) => return Err(ZkError::op(paths::CONTROLLER_EPOCH, e)),
        }
        let (data, stat) = self
            .get_data(paths::CONTROLLER_EPOCH)
            .await?
            .ok_or_else(|| ZkError::op(paths::CONTROLLER_EPOCH, zkc::Error::NoNode))?;
        Ok((
            codec::decode_controller_epoch(paths::CONTROLLER_EPOCH, &data)?,
            stat.version,
        ))
    }

    /// The election multi: create ephemeral `/controller` and bump `/controller_epoch` atomically.
    /// Returns the new (epoch, epochZkVersion), or `ControllerMoved` if someone else won.
    pub async fn register_controller_and_increment_epoch(
        &self,
        broker_id: i32,
        timestamp_ms: i64,
    ) -> ZkResult<(i32, i32)> {
        let (epoch, version) = self.get_or_create_controller_epoch().await?;
        let new_epoch = epoch + 1;
        let controller = codec::encode_controller(broker_id, timestamp_ms);
        let client = self.client().await?;
        let mut multi = client.new_multi_writer();
        multi
            .add_create(paths::CONTROLLER, controller.as_bytes(), &EPHEMERAL)
            .map_err(|e| ZkError::op(paths::CONTROLLER, e))?;
        multi
            .add_set_data(
                paths::CONTROLLER_EPOCH,
                new_epoch.to_string().as_bytes(),
                Some(version),
            )
            .map_err(|e| ZkError::op(paths::CONTROLLER_EPOCH, e))?;
        match self.in_flight(|| multi.commit()).await {
            Ok(_) => Ok((new_epoch, version + 1)),
            Err(e) => {
                let e: zkc::Error = e.into();
                if e != zkc::Error::NodeExists && e != zkc::Error::BadVersion {
                    return Err(ZkError::op(paths::CONTROLLER, e));
                }
                // A retried multi after connection loss may have succeeded for us.
                let owner = self.get_controller_id().await?;
                let (cur, cur_version) = self.get_or_create_controller_epoch().await?;
                if owner == Some(broker_id) && cur == new_epoch {
                    Ok((cur, cur_version))
                } else {
                    Err(ZkError::ControllerMoved)
                }
            }
        }
    }

    /// Deletes `/controller` guarded by the epoch check (used when resigning after an error).
    pub async fn delete_controller(&self, epoch_zk_version: i32) -> ZkResult<()> {
        let client = self.client().await?;
        let mut multi = client.new_multi_writer();
        multi
            .add_check_version(paths::CONTROLLER_EPOCH, epoch_zk_version)
            .map_err(|e| ZkError::op(paths::CONTROLLER_EPOCH, e))?;
        multi
            .add_delete(paths::CONTROLLER, None)
            .map_err(|e| ZkError::op(paths::CONTROLLER, e))?;
        fenced_result(self.in_flight(|| multi.commit()).await, paths::CONTROLLER).map(|_| ())
    }

    /// Runs `ops` in one multi preceded by `check(/controller_epoch, epochZkVersion)`.
    pub async fn fenced_multi(&self, epoch_zk_version: i32, ops: &[FencedOp]) -> ZkResult<()> {
        let client = self.client().await?;
        let mut multi = client.new_multi_writer();
        fn err(p: &str) -> impl Fn(zkc::Error) -> ZkError + '_ {
            move |e| ZkError::op(p, e)
        }
        multi
            .add_check_version(paths::CONTROLLER_EPOCH, epoch_zk_version)
            .map_err(err(paths::CONTROLLER_EPOCH))?;
        for op in ops {
            match op {
                FencedOp::Create { path, data } => {
                    multi.add_create(path, data, &OPEN).map_err(err(path))?
                }
                FencedOp::SetData {
                    path,
                    data,
                    version,
                } => multi
                    .add_set_data(path, data, *version)
                    .map_err(err(path))?,
                FencedOp::Delete { path, version } => {
                    multi.add_delete(path, *version).map_err(err(path))?
                }
            }
        }
        let first = ops.first().map_or(paths::CONTROLLER_EPOCH, FencedOp::path);
        fenced_result(self.in_flight(|| multi.commit()).await, first).map(|_| ())
    }

    /// Creates a persistent-sequential znode (notifications); returns its full path.
    pub async fn create_sequential(&self, prefix: &str, data: &[u8]) -> ZkResult<String> {
        let client = self.client().await?;
        let (_, seq) = self
            .in_flight(|| client.create(prefix, data, &SEQUENTIAL))
            .await
            .map_err(|e| ZkError::op(prefix, e))?;
        Ok(format!("{prefix}{seq}"))
    }
}

/// One write inside a controller-fenced multi.
#[derive(Clone, Debug)]
pub enum FencedOp {
    Create {
        path: String,
        data: Vec<u8>,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: Option<i32>,
    },
    Delete {
        path: String,
        version: Option<i32>,
    },
}

impl FencedOp {
    pub fn path(&self) -> &str {
        match self {
            FencedOp::Create { path, .. }
            | FencedOp::SetData { path, .. }
            | FencedOp::Delete { path, .. } => path,
        }
    }
}

fn fenced_result<T>(r: Result<T, zkc::MultiWriteError>, path: &str) -> ZkResult<T> {
    match r {
        Ok(v) => Ok(v),
        Err(zkc::MultiWriteError::OperationFailed {
            index: 0,
            source: zkc::Error::BadVersion,
        }) => Err(ZkError::ControllerMoved),
        Err(e) => Err(ZkError::op(path, zkc::Error::from(e))),
    }
}

/// Opens a session. If it is not up within `PROBE_AFTER`, the servers are probed: when none
/// accepts a TCP connection, that is reported at once instead of retrying until the timeout.
async fn open_session(
    connect: &str,
    session_timeout: Duration,
    connection_timeout: Duration,
) -> ZkResult<Client> {
    const PROBE_AFTER: Duration = Duration::from_millis(300);
    let session = Client::connector()
        .with_session_timeout(session_timeout)
        .with_connection_timeout(connection_timeout)
        .connect(connect);
    let unreachable = async {
        tokio::time::sleep(PROBE_AFTER).await;
        match reachability::probe(paths::split_chroot(connect).0, connection_timeout).await {
            Err(e) => e,
            Ok(()) => std::future::pending().await,
        }
    };
    tokio::select! {
        r = session => r.map_err(|e| match e {
            zkc::Error::Timeout => ZkError::NoSession {
                connect: connect.to_string(),
                after: connection_timeout,
            },
            e => ZkError::op(connect, e),
        }),
        e = unreachable => Err(ZkError::Unreachable(e)),
    }
}

/// Drops `client` (its last clone ends the session with CloseSession) and waits, for at most
/// 3 s, until the session task has sent it.
async fn close_client(client: Client) {
    let mut watcher = client.state_watcher();
    drop(client);
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while !watcher.changed().await.is_terminated() {}
    })
    .await;
}

/// Creates `path` and any missing parents as persistent znodes. With `ignore_exists`, an
/// existing `path` is fine; parents always are.
async fn create_recursive(
    client: &Client,
    path: &str,
    data: &[u8],
    ignore_exists: bool,
) -> ZkResult<()> {
    let mut prefix = String::new();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        prefix.push('/');
        prefix.push_str(part);
        let last = i + 1 == parts.len();
        let payload = if last { data } else { b"" };
        match client.create(&prefix, payload, &OPEN).await {
            Ok(_) => {}
            Err(zkc::Error::NodeExists) if !last || ignore_exists => {}
            Err(e) => return Err(ZkError::op(&prefix, e)),
        }
    }
    Ok(())
}

/// A random UUID as URL-safe base64 without padding: Kafka's cluster and topic id format.
pub fn generate_uuid_base64() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}
