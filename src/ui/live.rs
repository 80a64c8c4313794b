//! The live feed, running only while someone looks. An open page (or a script's call of the
//! JSON API, for 30 s) starts one shared loop that follows every broker's `/events` stream
//! and re-reads the model once a second, or at once after an event; with no one looking the
//! loop stops and the brokers hear nothing from the ui. Any number of pages share the one
//! loop, so a broker sees one `/events` connection and one `/state` read a second at most.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::discovery::{BrokerInfo, HttpDirectory};
use super::model::{self, BrokerStates};
use super::reachability::Reachability;
use super::timeline::Timeline;
use crate::zk::KafkaZkClient;

/// How often the model is re-read while someone looks (events trigger a read sooner).
const REFRESH: Duration = Duration::from_secs(1);
/// How long a JSON API call keeps the feed running.
const API_GRACE: Duration = Duration::from_secs(30);
/// Events come in bursts (a failover is a dozen lines): one re-read after the burst.
const DEBOUNCE: Duration = Duration::from_millis(100);

pub struct Live {
    pub connect: String,
    zk: tokio::sync::Mutex<Option<KafkaZkClient>>,
    directory: HttpDirectory,
    pub timeline: Timeline,
    /// The latest model as JSON text ("" before the first read).
    model: watch::Sender<Arc<String>>,
    subscribers: AtomicUsize,
    api_until: Mutex<Option<Instant>>,
    running: AtomicBool,
    wake: Notify,
    /// The last failed read and when it was logged (failures repeat every second).
    last_error: Mutex<Option<(String, Instant)>>,
    /// Registered brokers that stopped answering (before ZooKeeper notices).
    reachability: Reachability,
}

/// Held by each open page; dropping it (the page went away) may stop the feed.
pub struct Viewer(Arc<Live>);

impl Drop for Viewer {
    fn drop(&mut self) {
        self.0.subscribers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Live {
    pub fn new(connect: String, http: Vec<String>) -> Arc<Live> {
        Arc::new(Live {
            connect,
            zk: tokio::sync::Mutex::new(None),
            directory: HttpDirectory::new(http),
            timeline: Timeline::default(),
            model: watch::Sender::new(Arc::new(String::new())),
            subscribers: AtomicUsize::new(0),
            api_until: Mutex::new(None),
            running: AtomicBool::new(false),
            wake: Notify::new(),
            last_error: Mutex::new(None),
            reachability: Reachability::default(),
        })
    }

    /// A page opened: the feed runs until its `Viewer` is dropped.
    pub fn viewer(self: &Arc<Self>) -> Viewer {
        self.subscribers.fetch_add(1, Ordering::SeqCst);
        self.start();
        Viewer(self.clone())
    }

    pub fn model(&self) -> watch::Receiver<Arc<String>> {
        self.model.subscribe()
    }

    /// For the JSON API: keeps the feed running a while and, when it was idle, waits for a
    /// first model and the brokers' recent events.
    pub async fn fresh(self: &Arc<Self>) {
        *self.api_until.lock().expect("api_until") = Some(Instant::now() + API_GRACE);
        let mut model = self.model.subscribe();
        if self.start() {
            model.mark_unchanged();
            let _ = tokio::time::timeout(Duration::from_secs(5), model.changed()).await;
            // The first read started the event streams; their histories follow quickly.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    fn wanted(&self) -> bool {
        self.subscribers.load(Ordering::SeqCst) > 0
            || self
                .api_until
                .lock()
                .expect("api_until")
                .is_some_and(|t| Instant::now() < t)
    }

    /// Starts the loop unless it runs; true when this call started it.
    fn start(self: &Arc<Self>) -> bool {
        if self.running.swap(true, Ordering::SeqCst) {
            return false;
        }
        tracing::info!(target: "zkafka.ui", "Someone is looking: following the brokers");
        tokio::spawn(self.clone().run());
        true
    }

    async fn run(self: Arc<Self>) {
        let mut followers: HashMap<String, JoinHandle<()>> = HashMap::new();
        while self.wanted() {
            match self.refresh().await {
                Ok(endpoints) => self.follow(&mut followers, &endpoints),
                Err(e) => self.complain(format!("{e:#}")),
            }
            tokio::select! {
                _ = tokio::time::sleep(REFRESH) => {}
                _ = self.wake.notified() => tokio::time::sleep(DEBOUNCE).await,
            }
        }
        followers.values().for_each(JoinHandle::abort);
        self.running.store(false, Ordering::SeqCst);
        tracing::info!(target: "zkafka.ui", "No one is looking: stopped following the brokers");
        // A page that opened while we were stopping must not find the feed dead.
        if self.wanted() {
            self.start();
        }
    }

    /// Logs a failed read once, then again only when the cause changes or a minute passed.
    fn complain(&self, cause: String) {
        let mut last = self.last_error.lock().expect("last_error");
        let repeated = last
            .as_ref()
            .is_some_and(|(c, at)| *c == cause && at.elapsed() < Duration::from_secs(60));
        if !repeated {
            tracing::warn!(target: "zkafka.ui", "Cannot read the cluster: {cause}");
            *last = Some((cause, Instant::now()));
        }
    }

    /// Keeps one `/events` follower per broker endpoint (a finished one is restarted).
    fn follow(
        self: &Arc<Self>,
        followers: &mut HashMap<String, JoinHandle<()>>,
        endpoints: &[String],
    ) {
        followers.retain(|addr, task| {
            let keep = endpoints.contains(addr) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for addr in endpoints {
            if followers.contains_key(addr) {
                continue;
            }
            let live = self.clone();
            let a = addr.clone();
            let task = tokio::spawn(async move {
                let result = super::http_client::follow_events(&a, "/events", |event, data| {
                    if event != "state_change" {
                        return;
                    }
                    if let Ok(entry) = serde_json::from_str::<Value>(data) {
                        if live.timeline.insert(entry) {
                            live.wake.notify_one();
                        }
                    }
                })
                .await;
                if let Err(e) = result {
                    tracing::debug!(target: "zkafka.ui", "Events of {a}: {e:#}");
                }
                // A broken stream is the first sign of a dead broker: re-read at once.
                live.wake.notify_one();
            });
            followers.insert(addr.clone(), task);
        }
    }

    /// Reads ZooKeeper and every broker's `/state`, publishes the model; returns the
    /// endpoints to follow.
    async fn refresh(&self) -> anyhow::Result<Vec<String>> {
        let zk = self.zk().await?;
        let brokers: Vec<BrokerInfo> = zk
            .get_all_brokers()
            .await?
            .into_iter()
            .map(|(registration, epoch)| BrokerInfo {
                registration,
                epoch,
            })
            .collect();
        let endpoints = self.directory.endpoints(&brokers).await;
        let reads = futures::future::join_all(
            endpoints
                .iter()
                .map(|a| super::http_client::get_json(a, "/state")),
        )
        .await;
        let states: BrokerStates = reads
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s["broker"].as_i64()? as i32, s)))
            .collect();
        let mut model = model::build(&zk, &self.connect, &brokers, &states).await;
        let registered: Vec<(i32, i64)> = brokers.iter().map(|b| (b.id(), b.epoch)).collect();
        let now = crate::controller::now_ms();
        for change in self.reachability.update(&registered, &states, now) {
            self.timeline.insert(change);
        }
        self.reachability.annotate(&mut model);
        self.model.send_replace(Arc::new(model.to_string()));
        Ok(endpoints)
    }

    /// The ZooKeeper session, opened on first use (the ui starts before or without ZooKeeper).
    pub async fn zk(&self) -> anyhow::Result<KafkaZkClient> {
        let mut slot = self.zk.lock().await;
        if let Some(zk) = slot.as_ref() {
            return Ok(zk.clone());
        }
        let zk = KafkaZkClient::connect(
            &self.connect,
            Duration::from_secs(18),
            Duration::from_secs(5),
        )
        .await
        .map_err(|e| anyhow::anyhow!("ZooKeeper {}: {e}", self.connect))?;
        *slot = Some(zk.clone());
        Ok(zk)
    }
}
