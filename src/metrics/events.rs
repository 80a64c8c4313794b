//! State changes as structured events for `/events`: each one is the info line the broker
//! logs anyway, with its kind, topic and partition. [`narrate!`](crate::narrate) writes the
//! log line and emits the event in one call, so the two never diverge. Until the HTTP
//! endpoint enables the bus, emitting is a single atomic load; lines about internal topics
//! (`__consumer_offsets`) are logged at debug, so routine group traffic does not drown
//! the story at info.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::broadcast;

/// What changed (the `kind` field of an event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    ControllerElected,
    ControllerResigned,
    BrokerChange,
    TopicChange,
    TopicDeleted,
    LeaderElection,
    PartitionOffline,
    BecameLeader,
    BecameFollower,
    IsrShrink,
    IsrExpand,
    Truncation,
    GroupStateChange,
    LogRoll,
    LogDeletion,
    BrokerLifecycle,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::ControllerElected => "controller_elected",
            Self::ControllerResigned => "controller_resigned",
            Self::BrokerChange => "broker_change",
            Self::TopicChange => "topic_change",
            Self::TopicDeleted => "topic_deleted",
            Self::LeaderElection => "leader_election",
            Self::PartitionOffline => "partition_offline",
            Self::BecameLeader => "became_leader",
            Self::BecameFollower => "became_follower",
            Self::IsrShrink => "isr_shrink",
            Self::IsrExpand => "isr_expand",
            Self::Truncation => "truncation",
            Self::GroupStateChange => "group_state_change",
            Self::LogRoll => "log_roll",
            Self::LogDeletion => "log_deletion",
            Self::BrokerLifecycle => "broker_lifecycle",
        }
    }
}

/// One narrated state change.
#[derive(Clone, Debug)]
pub struct Event {
    pub time_ms: i64,
    pub broker: i32,
    pub kind: EventKind,
    pub topic: Option<String>,
    pub partition: Option<i32>,
    /// The group, for group events.
    pub group: Option<String>,
    pub level: &'static str,
    pub text: String,
}

impl Event {
    /// Internal topics (`__consumer_offsets`) are hidden by default in views.
    pub fn is_internal(&self) -> bool {
        self.topic.as_deref().is_some_and(is_internal_topic)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "time_ms": self.time_ms,
            "broker": self.broker,
            "kind": self.kind.name(),
            "topic": self.topic,
            "partition": self.partition,
            "group": self.group,
            "internal": self.is_internal(),
            "level": self.level,
            "text": self.text,
        })
    }
}

/// Topics whose routine changes are logged at debug rather than info.
pub fn is_internal_topic(topic: &str) -> bool {
    topic.starts_with("__")
}

/// How many recent events a new `/events` subscriber is sent first.
pub const HISTORY: usize = 256;
/// Events a slow subscriber may fall behind by before it skips ahead.
const CHANNEL_CAPACITY: usize = 1024;

/// The live stream and the recent history.
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
    history: Mutex<VecDeque<Arc<Event>>>,
}

impl EventBus {
    pub fn subscribe(&self) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>) {
        // Under the history lock, so no event falls between the two.
        let history = self.history.lock().expect("event history");
        let rx = self.tx.subscribe();
        (history.iter().cloned().collect(), rx)
    }

    fn publish(&self, event: Event) {
        let event = Arc::new(event);
        let mut history = self.history.lock().expect("event history");
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(event.clone());
        let _ = self.tx.send(event);
    }
}

static BUS: OnceLock<EventBus> = OnceLock::new();
static BROKER_ID: AtomicI32 = AtomicI32::new(-1);

/// Turns the bus on (the HTTP endpoint does, at startup); returns it.
pub fn enable(broker_id: i32) -> &'static EventBus {
    BROKER_ID.store(broker_id, Ordering::Relaxed);
    BUS.get_or_init(|| EventBus {
        tx: broadcast::channel(CHANNEL_CAPACITY).0,
        history: Mutex::new(VecDeque::with_capacity(HISTORY)),
    })
}

/// Whether events are being collected (the endpoint is on).
pub fn enabled() -> bool {
    BUS.get().is_some()
}

/// Where an event happened.
#[derive(Clone, Copy, Debug, Default)]
pub struct Subject<'a> {
    pub topic: Option<&'a str>,
    pub partition: Option<i32>,
    pub group: Option<&'a str>,
}

impl<'a> Subject<'a> {
    pub const NONE: Subject<'static> = Subject {
        topic: None,
        partition: None,
        group: None,
    };

    pub fn partition(topic: &'a str, partition: i32) -> Subject<'a> {
        Subject {
            topic: Some(topic),
            partition: Some(partition),
            group: None,
        }
    }

    pub fn topic(topic: &'a str) -> Subject<'a> {
        Subject {
            topic: Some(topic),
            ..Subject::NONE
        }
    }

    pub fn group(group: &'a str) -> Subject<'a> {
        Subject {
            group: Some(group),
            ..Subject::NONE
        }
    }

    /// The partition a log directory (`<topic>-<partition>`) belongs to.
    pub fn log_dir(dir: &'a std::path::Path) -> Subject<'a> {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match name
            .rsplit_once('-')
            .and_then(|(t, p)| Some((t, p.parse().ok()?)))
        {
            Some((topic, partition)) => Subject::partition(topic, partition),
            None => Subject::NONE,
        }
    }

    /// Lines about internal topics go to debug.
    pub fn is_internal(&self) -> bool {
        self.topic.is_some_and(is_internal_topic)
    }
}

/// Emits an event if the bus is on. Prefer [`narrate!`](crate::narrate), which also logs.
pub fn emit(kind: EventKind, subject: Subject<'_>, level: &'static str, text: String) {
    let Some(bus) = BUS.get() else {
        return;
    };
    bus.publish(Event {
        time_ms: now_ms(),
        broker: BROKER_ID.load(Ordering::Relaxed),
        kind,
        topic: subject.topic.map(str::to_string),
        partition: subject.partition,
        group: subject.group.map(str::to_string),
        level,
        text,
    });
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Logs a state change and emits it as an event: `narrate!(info|warn, target, kind, subject,
/// "format", args...)`. Info lines about internal topics are logged at debug.
#[macro_export]
macro_rules! narrate {
    (info, $target:expr, $kind:expr, $subject:expr, $($fmt:tt)+) => {{
        let subject: $crate::metrics::events::Subject<'_> = $subject;
        let internal = subject.is_internal();
        let wanted = $crate::metrics::events::enabled()
            || (internal && tracing::enabled!(target: $target, tracing::Level::DEBUG))
            || (!internal && tracing::enabled!(target: $target, tracing::Level::INFO));
        if wanted {
            let text = format!($($fmt)+);
            if internal {
                tracing::debug!(target: $target, "{text}");
            } else {
                tracing::info!(target: $target, "{text}");
            }
            $crate::metrics::events::emit($kind, subject, "INFO", text);
        }
    }};
    (warn, $target:expr, $kind:expr, $subject:expr, $($fmt:tt)+) => {{
        let text = format!($($fmt)+);
        tracing::warn!(target: $target, "{text}");
        $crate::metrics::events::emit($kind, $subject, "WARN", text);
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_reach_subscribers_and_history() {
        let bus = enable(7);
        let (_, mut rx) = bus.subscribe();
        crate::narrate!(
            info,
            "test",
            EventKind::IsrShrink,
            Subject::partition("demo", 0),
            "removed replica {} from the ISR of demo-0",
            3
        );
        let e = rx.try_recv().expect("an event");
        assert_eq!(e.kind, EventKind::IsrShrink);
        assert_eq!(e.broker, 7);
        assert_eq!(e.text, "removed replica 3 from the ISR of demo-0");
        assert_eq!(e.to_json()["partition"], 0);
        let (history, _) = bus.subscribe();
        assert!(history.iter().any(|h| h.text == e.text));
    }

    #[test]
    fn internal_topics_are_flagged() {
        assert!(Subject::partition("__consumer_offsets", 3).is_internal());
        assert!(!Subject::topic("demo").is_internal());
    }
}
