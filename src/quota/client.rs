//! Client quotas (Kafka's ClientQuotaManager and its DefaultQuotaCallback): per-broker byte
//! rates for Produce and Fetch (`producer_byte_rate`, `consumer_byte_rate`) and the request
//! time share (`request_percentage`), configured on `/config/users/...` and
//! `/config/clients/...` entities and resolved with Kafka's eight levels of precedence.
//!
//! The level that matched decides the metric tags, and the tags name the sensor: a quota on
//! `/config/users/alice` is one budget shared by every client id alice uses, a quota on
//! `/config/clients/app` one budget shared by every user of client id `app`. Until a quota of
//! a type is configured its manager records nothing and costs one atomic load per request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::rate::{throttle_time_ms, QuotaWindow, Rate};

/// The quota kinds a client entity may carry (QuotaConfigs.java; the controller mutation
/// rate is not enforced by zkafka and only stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientQuotaType {
    Produce,
    Fetch,
    Request,
}

impl ClientQuotaType {
    pub const ALL: [ClientQuotaType; 3] = [Self::Produce, Self::Fetch, Self::Request];

    /// The entity config key (`producer_byte_rate` ...).
    pub fn config_key(self) -> &'static str {
        match self {
            Self::Produce => "producer_byte_rate",
            Self::Fetch => "consumer_byte_rate",
            Self::Request => "request_percentage",
        }
    }

    /// The metric group (`kafka.server:type=Produce,...`).
    pub fn metric_group(self) -> &'static str {
        match self {
            Self::Produce => "Produce",
            Self::Fetch => "Fetch",
            Self::Request => "Request",
        }
    }
}

/// One component of a quota entity: a named user or client id, or `<default>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityName {
    Default,
    Name(String),
}

/// A quota entity as stored under `/config`: `users/U`, `users/U/clients/C`, `clients/C`
/// (either part may be `<default>`). Names are the plain (desanitized) strings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QuotaEntity {
    pub user: Option<EntityName>,
    pub client_id: Option<EntityName>,
}

impl QuotaEntity {
    pub fn new(user: Option<EntityName>, client_id: Option<EntityName>) -> QuotaEntity {
        QuotaEntity { user, client_id }
    }
}

/// The tags a sensor is keyed by (`user`, `client-id`); an empty string is a tag the matched
/// level does not use, left out of the metric name as Kafka's JmxReporter leaves it out.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricTags {
    pub user: String,
    pub client_id: String,
}

/// A quota sensor's current figures, for `/metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorSnapshot {
    pub tags: MetricTags,
    /// `byte-rate` (Produce, Fetch) or `request-time` (Request, percent).
    pub rate: f64,
    /// `throttle-time`: average throttle time in ms over the quota window (0 when none).
    pub throttle_time_avg_ms: f64,
    /// The quota bound in force for these tags, if any.
    pub quota: Option<f64>,
}

/// Per-entity sensors expire after an hour without use (ClientQuotaManager's
/// `InactiveSensorExpirationTimeSeconds`).
const SENSOR_EXPIRY_MS: u64 = 3_600_000;

struct Sensor {
    rate: Rate,
    /// Throttle times are averaged as the sum over the count, both windowed alike.
    throttle_sum: Rate,
    throttle_count: Rate,
    last_record_ms: u64,
}

impl Sensor {
    fn new(window: QuotaWindow, now_ms: u64) -> Sensor {
        Sensor {
            rate: Rate::new(window),
            throttle_sum: Rate::new(window),
            throttle_count: Rate::new(window),
            last_record_ms: now_ms,
        }
    }
}

#[derive(Default)]
struct State {
    quotas: HashMap<QuotaEntity, f64>,
    sensors: HashMap<MetricTags, Sensor>,
    last_expiry_ms: u64,
}

/// One quota type's manager: configured quotas plus the sensors of the clients seen since.
pub struct ClientQuotaManager {
    quota_type: ClientQuotaType,
    window: QuotaWindow,
    /// `quota.producer.default` / `quota.consumer.default`: the deprecated static client-id
    /// default, below all eight levels (None = Long.MAX = unlimited).
    static_default: Option<f64>,
    /// Set once any quota of this type is known (and then kept until restart, as Kafka does).
    enabled: AtomicBool,
    state: Mutex<State>,
}

impl ClientQuotaManager {
    pub fn new(
        quota_type: ClientQuotaType,
        window: QuotaWindow,
        static_default: Option<f64>,
    ) -> ClientQuotaManager {
        ClientQuotaManager {
            quota_type,
            window,
            static_default,
            enabled: AtomicBool::new(static_default.is_some()),
            state: Mutex::new(State::default()),
        }
    }

    pub fn quota_type(&self) -> ClientQuotaType {
        self.quota_type
    }

    pub fn window(&self) -> QuotaWindow {
        self.window
    }

    /// Whether any quota of this type was configured since startup.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain numbers behind: keep using them.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets (Some) or removes (None) the quota of one entity (ClientQuotaManager.updateQuota).
    pub fn update_quota(&self, entity: QuotaEntity, quota: Option<f64>) {
        let mut state = self.lock();
        match quota {
            Some(q) => {
                state.quotas.insert(entity, q);
                self.enabled.store(true, Ordering::Relaxed);
            }
            None => {
                state.quotas.remove(&entity);
            }
        }
    }

    /// Replaces every configured quota at once (startup load).
    pub fn replace_all(&self, quotas: HashMap<QuotaEntity, f64>) {
        let mut state = self.lock();
        if !quotas.is_empty() {
            self.enabled.store(true, Ordering::Relaxed);
        }
        state.quotas = quotas;
    }

    /// Records `value` for (user, client id) at `now_ms` and returns the throttle time in ms
    /// (0 when within quota or when no quota applies): maybeRecordAndGetThrottleTimeMs.
    pub fn record_and_get_throttle_time_ms(
        &self,
        user: &str,
        client_id: &str,
        value: f64,
        now_ms: u64,
    ) -> u64 {
        if !self.enabled() {
            return 0;
        }
        let mut state = self.lock();
        state.expire_sensors(now_ms);
        let (tags, bound) = resolve(&state.quotas, self.static_default, user, client_id);
        let sensor = state
            .sensors
            .entry(tags)
            .or_insert_with(|| Sensor::new(self.window, now_ms));
        sensor.last_record_ms = now_ms;
        sensor.rate.record(value, now_ms);
        let Some(bound) = bound else { return 0 };
        let observed = sensor.rate.measure(now_ms);
        let mut throttle = throttle_time_ms(observed, bound, sensor.rate.window_size_ms(now_ms));
        if self.quota_type == ClientQuotaType::Request {
            // A request-time violation never throttles for more than one window.
            throttle = throttle.min(self.window.window_ms);
        }
        throttle
    }

    /// Takes back a recorded value (a throttled Fetch sends no records, so its bytes do not
    /// count): unrecordQuotaSensor.
    pub fn unrecord(&self, user: &str, client_id: &str, value: f64, now_ms: u64) {
        if !self.enabled() {
            return;
        }
        let mut state = self.lock();
        let (tags, _) = resolve(&state.quotas, self.static_default, user, client_id);
        if let Some(sensor) = state.sensors.get_mut(&tags) {
            sensor.rate.record(-value, now_ms);
        }
    }

    /// Counts a throttle the client was given, for the `throttle-time` metric.
    pub fn record_throttle(&self, user: &str, client_id: &str, throttle_ms: u64, now_ms: u64) {
        if throttle_ms == 0 || !self.enabled() {
            return;
        }
        let mut state = self.lock();
        let (tags, _) = resolve(&state.quotas, self.static_default, user, client_id);
        if let Some(sensor) = state.sensors.get_mut(&tags) {
            sensor.throttle_sum.record(throttle_ms as f64, now_ms);
            sensor.throttle_count.record(1.0, now_ms);
        }
    }

    /// The most a client may fetch in one response: its quota over all but the current
    /// window (getMaxValueInQuotaWindow); None when no quota applies.
    pub fn max_value_in_quota_window(&self, user: &str, client_id: &str) -> Option<f64> {
        if !self.enabled() {
            return None;
        }
        let state = self.lock();
        let (_, bound) = resolve(&state.quotas, self.static_default, user, client_id);
        let windows = (self.window.samples - 1) as f64 * (self.window.window_ms as f64 / 1000.0);
        bound.map(|b| b * windows)
    }

    /// The quota in force for (user, client id), and the tags of its shared sensor.
    pub fn quota_for(&self, user: &str, client_id: &str) -> (MetricTags, Option<f64>) {
        let state = self.lock();
        resolve(&state.quotas, self.static_default, user, client_id)
    }

    /// Every live sensor's figures, sorted by tags.
    pub fn snapshot(&self, now_ms: u64) -> Vec<SensorSnapshot> {
        if !self.enabled() {
            return Vec::new();
        }
        let mut state = self.lock();
        state.expire_sensors(now_ms);
        let quotas = state.quotas.clone();
        let mut out: Vec<SensorSnapshot> = state
            .sensors
            .iter_mut()
            .map(|(tags, s)| {
                let count = s.throttle_count.measure(now_ms);
                let avg = if count > 0.0 {
                    s.throttle_sum.measure(now_ms) / count
                } else {
                    0.0
                };
                SensorSnapshot {
                    tags: tags.clone(),
                    rate: s.rate.measure(now_ms),
                    throttle_time_avg_ms: avg,
                    quota: quota_limit(&quotas, self.static_default, tags),
                }
            })
            .collect();
        out.sort_by(|a, b| a.tags.cmp(&b.tags));
        out
    }
}

impl State {
    /// Drops sensors idle for an hour; looks at most once a minute.
    fn expire_sensors(&mut self, now_ms: u64) {
        if now_ms.saturating_sub(self.last_expiry_ms) < 60_000 {
            return;
        }
        self.last_expiry_ms = now_ms;
        self.sensors
            .retain(|_, s| now_ms.saturating_sub(s.last_record_ms) < SENSOR_EXPIRY_MS);
    }
}

fn named(s: &str) -> Option<EntityName> {
    Some(EntityName::Name(s.to_string()))
}

const DEFAULT: Option<EntityName> = Some(EntityName::Default);

/// DefaultQuotaCallback.quotaMetricTags + quotaLimit: the first of the eight levels that
/// has a quota decides the tags (and so the shared budget) and the bound; with none, the
/// static default applies per client id.
fn resolve(
    quotas: &HashMap<QuotaEntity, f64>,
    static_default: Option<f64>,
    user: &str,
    client_id: &str,
) -> (MetricTags, Option<f64>) {
    let both = MetricTags {
        user: user.to_string(),
        client_id: client_id.to_string(),
    };
    let user_only = MetricTags {
        user: user.to_string(),
        client_id: String::new(),
    };
    let client_only = MetricTags {
        user: String::new(),
        client_id: client_id.to_string(),
    };
    let levels = [
        (QuotaEntity::new(named(user), named(client_id)), &both),
        (QuotaEntity::new(named(user), DEFAULT), &both),
        (QuotaEntity::new(named(user), None), &user_only),
        (QuotaEntity::new(DEFAULT, named(client_id)), &both),
        (QuotaEntity::new(DEFAULT, DEFAULT), &both),
        (QuotaEntity::new(DEFAULT, None), &user_only),
        (QuotaEntity::new(None, named(client_id)), &client_only),
        (QuotaEntity::new(None, DEFAULT), &client_only),
    ];
    for (entity, tags) in levels {
        if let Some(q) = quotas.get(&entity) {
            return (tags.clone(), Some(*q));
        }
    }
    (client_only, static_default)
}

/// The bound for a sensor's tags (quotaLimit(metricTags)): tags with an empty part skip the
/// levels that name that part.
fn quota_limit(
    quotas: &HashMap<QuotaEntity, f64>,
    static_default: Option<f64>,
    tags: &MetricTags,
) -> Option<f64> {
    let (tags2, bound) = resolve(quotas, static_default, &tags.user, &tags.client_id);
    (tags2 == *tags).then_some(bound).flatten()
}

/// Kafka's QuotaManagers: one manager per client quota type.
pub struct ClientQuotaManagers {
    pub produce: ClientQuotaManager,
    pub fetch: ClientQuotaManager,
    pub request: ClientQuotaManager,
}

impl ClientQuotaManagers {
    /// `static_produce` / `static_fetch`: `quota.producer.default` / `quota.consumer.default`
    /// (None when Long.MAX, i.e. unset).
    pub fn new(
        window: QuotaWindow,
        static_produce: Option<f64>,
        static_fetch: Option<f64>,
    ) -> ClientQuotaManagers {
        ClientQuotaManagers {
            produce: ClientQuotaManager::new(ClientQuotaType::Produce, window, static_produce),
            fetch: ClientQuotaManager::new(ClientQuotaType::Fetch, window, static_fetch),
            request: ClientQuotaManager::new(ClientQuotaType::Request, window, None),
        }
    }

    pub fn get(&self, t: ClientQuotaType) -> &ClientQuotaManager {
        match t {
            ClientQuotaType::Produce => &self.produce,
            ClientQuotaType::Fetch => &self.fetch,
            ClientQuotaType::Request => &self.request,
        }
    }

    /// Applies one entity's complete config (the quota keys it has, the rest removed).
    pub fn update_entity(&self, entity: &QuotaEntity, config: &HashMap<String, f64>) {
        for t in ClientQuotaType::ALL {
            self.get(t)
                .update_quota(entity.clone(), config.get(t.config_key()).copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager() -> ClientQuotaManager {
        ClientQuotaManager::new(ClientQuotaType::Produce, QuotaWindow::new(11, 1), None)
    }

    fn user(u: &str) -> Option<EntityName> {
        named(u)
    }

    #[test]
    fn nothing_is_recorded_until_a_quota_exists() {
        let m = manager();
        assert_eq!(m.record_and_get_throttle_time_ms("u", "c", 1e12, 0), 0);
        assert!(m.snapshot(0).is_empty());
        assert_eq!(m.max_value_in_quota_window("u", "c"), None);
    }

    #[test]
    fn precedence_follows_kafkas_eight_levels() {
        let m = manager();
        let levels: Vec<(QuotaEntity, f64)> = vec![
            (QuotaEntity::new(None, DEFAULT), 8.0),
            (QuotaEntity::new(None, named("c")), 7.0),
            (QuotaEntity::new(DEFAULT, None), 6.0),
            (QuotaEntity::new(DEFAULT, DEFAULT), 5.0),
            (QuotaEntity::new(DEFAULT, named("c")), 4.0),
            (QuotaEntity::new(user("u"), None), 3.0),
            (QuotaEntity::new(user("u"), DEFAULT), 2.0),
            (QuotaEntity::new(user("u"), named("c")), 1.0),
        ];
        // Adding levels from the lowest up, each new one wins.
        for (entity, q) in &levels {
            m.update_quota(entity.clone(), Some(*q));
            assert_eq!(m.quota_for("u", "c").1, Some(*q), "{entity:?}");
        }
        // Removing from the highest down falls back level by level, with the tags of the
        // level that matched.
        let expected_tags = ["uc", "uc", "u", "uc", "uc", "u", "c", "c"];
        for ((entity, q), tags) in levels.iter().rev().zip(expected_tags) {
            let (t, bound) = m.quota_for("u", "c");
            assert_eq!(bound, Some(*q));
            let want = MetricTags {
                user: if tags.contains('u') { "u" } else { "" }.into(),
                client_id: if tags.contains('c') { "c" } else { "" }.into(),
            };
            assert_eq!(t, want, "level {q}");
            m.update_quota(entity.clone(), None);
        }
        assert_eq!(m.quota_for("u", "c").1, None);
        // Another user and client fall through to the defaults only.
        m.update_quota(QuotaEntity::new(user("u"), None), Some(3.0));
        m.update_quota(QuotaEntity::new(None, DEFAULT), Some(8.0));
        assert_eq!(m.quota_for("v", "d").1, Some(8.0));
    }

    #[test]
    fn a_user_quota_is_one_budget_for_all_its_client_ids() {
        let m = manager();
        m.update_quota(QuotaEntity::new(user("alice"), None), Some(1000.0));
        // 10 s worth of the quota from one client id, then any more from another one.
        assert_eq!(
            m.record_and_get_throttle_time_ms("alice", "a", 10_000.0, 0),
            0
        );
        let t = m.record_and_get_throttle_time_ms("alice", "b", 10_000.0, 0);
        assert_eq!(t, 10_000, "twice the quota over a 10 s window");
        // Bob is not alice.
        assert_eq!(m.record_and_get_throttle_time_ms("bob", "a", 1e9, 0), 0);
        let snap = m.snapshot(0);
        assert_eq!(snap.len(), 2);
        assert_eq!(snap[1].tags.user, "alice");
        assert_eq!(snap[1].tags.client_id, "");
        assert_eq!(snap[1].quota, Some(1000.0));
    }

    #[test]
    fn static_default_applies_per_client_id_and_unrecord_takes_back() {
        let m =
            ClientQuotaManager::new(ClientQuotaType::Fetch, QuotaWindow::new(11, 1), Some(100.0));
        assert_eq!(m.max_value_in_quota_window("u", "c"), Some(1000.0));
        let t = m.record_and_get_throttle_time_ms("u", "c", 2000.0, 0);
        assert_eq!(t, 10_000);
        m.unrecord("u", "c", 2000.0, 0);
        assert_eq!(m.record_and_get_throttle_time_ms("u", "c", 500.0, 0), 0);
        m.record_throttle("u", "c", 40, 0);
        m.record_throttle("u", "c", 20, 0);
        assert_eq!(m.snapshot(0)[0].throttle_time_avg_ms, 30.0);
    }

    #[test]
    fn request_throttle_is_capped_at_one_window() {
        let m = ClientQuotaManager::new(ClientQuotaType::Request, QuotaWindow::new(11, 1), None);
        m.update_quota(QuotaEntity::new(None, DEFAULT), Some(1.0));
        assert_eq!(m.record_and_get_throttle_time_ms("u", "c", 1e6, 0), 1000);
    }
}
