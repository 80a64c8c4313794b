//! The one merged, narrated timeline of the whole cluster: every broker's `/events`
//! (its `narrate!` lines) in time order, each event once even though a broker replays its
//! recent history whenever the ui reconnects to it.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::broadcast;

/// How many events the ui keeps (the brokers keep 256 each).
const CAPACITY: usize = 2000;

/// Which entries a reader wants: `?topic=NAME` and `?internal=true`.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub topic: Option<String>,
    pub internal: bool,
}

impl Filter {
    /// From the URL query: `topic=NAME`, `internal=true|1`.
    pub fn from_query(q: &std::collections::HashMap<String, String>) -> Filter {
        Filter {
            topic: q.get("topic").filter(|t| !t.is_empty()).cloned(),
            internal: q.get("internal").is_some_and(|v| v == "1" || v == "true"),
        }
    }

    /// Internal topics (`__consumer_offsets`) only when asked for, or when named. Whole-broker
    /// news (`"broker_level": true`, e.g. a broker stopped answering) passes every filter.
    pub fn matches(&self, entry: &Value) -> bool {
        if entry["broker_level"] == true {
            return true;
        }
        let topic = entry["topic"].as_str();
        match &self.topic {
            Some(wanted) => topic == Some(wanted.as_str()),
            None => self.internal || entry["internal"] != true,
        }
    }
}

pub struct Timeline {
    entries: Mutex<Entries>,
    tx: broadcast::Sender<Arc<Value>>,
}

#[derive(Default)]
struct Entries {
    list: VecDeque<Arc<Value>>,
    keys: HashSet<String>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            entries: Mutex::default(),
            tx: broadcast::channel(256).0,
        }
    }
}

fn key(entry: &Value) -> String {
    format!("{}/{}/{}", entry["broker"], entry["time_ms"], entry["text"])
}

impl Timeline {
    /// Adds one broker event in time order; false when it is already known.
    pub fn insert(&self, entry: Value) -> bool {
        let k = key(&entry);
        let time = entry["time_ms"].as_i64().unwrap_or(0);
        let entry = Arc::new(entry);
        {
            let mut e = self.entries.lock().expect("timeline");
            if !e.keys.insert(k) {
                return false;
            }
            let at = e
                .list
                .iter()
                .rposition(|x| x["time_ms"].as_i64().unwrap_or(0) <= time)
                .map_or(0, |i| i + 1);
            e.list.insert(at, entry.clone());
            if e.list.len() > CAPACITY {
                if let Some(old) = e.list.pop_front() {
                    e.keys.remove(&key(&old));
                }
            }
        }
        let _ = self.tx.send(entry);
        true
    }

    /// The entries a filter lets through, oldest first, and a receiver for what comes next.
    pub fn subscribe(&self, filter: &Filter) -> (Vec<Arc<Value>>, broadcast::Receiver<Arc<Value>>) {
        let e = self.entries.lock().expect("timeline");
        let rx = self.tx.subscribe();
        let list = e
            .list
            .iter()
            .filter(|x| filter.matches(x))
            .cloned()
            .collect();
        (list, rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(broker: i32, time_ms: i64, topic: &str, text: &str) -> Value {
        json!({"broker": broker, "time_ms": time_ms, "topic": topic,
               "internal": topic.starts_with("__"), "text": text})
    }

    #[test]
    fn merges_in_time_order_once() {
        let t = Timeline::default();
        assert!(t.insert(event(1, 20, "demo", "b")));
        assert!(t.insert(event(2, 10, "demo", "a")));
        assert!(
            !t.insert(event(2, 10, "demo", "a")),
            "a replayed event is dropped"
        );
        assert!(t.insert(event(3, 30, "__consumer_offsets", "c")));
        let (all, _) = t.subscribe(&Filter::default());
        let texts: Vec<_> = all.iter().map(|e| e["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["a", "b"], "internal topics hidden by default");
        let with_internal = Filter {
            internal: true,
            ..Filter::default()
        };
        assert_eq!(t.subscribe(&with_internal).0.len(), 3);
        let other = Filter {
            topic: Some("other".into()),
            ..Filter::default()
        };
        assert!(t.subscribe(&other).0.is_empty());
        let silent = json!({"broker": 2, "time_ms": 40, "text": "Broker 2 stopped answering",
                            "internal": false, "broker_level": true});
        assert!(t.insert(silent));
        assert_eq!(
            t.subscribe(&other).0.len(),
            1,
            "broker-level news passes any filter"
        );
    }
}
