//! Which registered brokers stopped answering. A kill -9 leaves a broker's `/brokers/ids`
//! znode in place until ZooKeeper expires its session (zookeeper.session.timeout.ms): the
//! controller cannot know sooner, but the ui sees the broker's `/state` fail at once. It says
//! so on the broker's card, with the time left before the session expires, and narrates it
//! in the timeline, so a student sees the gap between "dead" and "known dead".

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::model::BrokerStates;

/// Kafka's default, used until a broker told us its own.
const DEFAULT_SESSION_TIMEOUT_MS: i64 = 18_000;

#[derive(Clone, Copy, Debug)]
struct Seen {
    /// The registration (broker epoch) this applies to; a new one starts afresh.
    epoch: i64,
    session_timeout_ms: i64,
    /// When `/state` first failed after answering; None while it answers.
    silent_since_ms: Option<i64>,
}

#[derive(Default)]
pub struct Reachability {
    seen: Mutex<HashMap<i32, Seen>>,
}

impl Reachability {
    /// Updates from one round of reads: `registered` are (id, epoch) pairs from ZooKeeper,
    /// `states` the brokers that answered. Returns the transitions to narrate, as timeline
    /// entries the ui writes itself (brokers narrate everything else).
    pub fn update(
        &self,
        registered: &[(i32, i64)],
        states: &BrokerStates,
        now_ms: i64,
    ) -> Vec<Value> {
        let mut seen = self.seen.lock().expect("reachability");
        seen.retain(|id, s| registered.contains(&(*id, s.epoch)) || states.contains_key(id));
        let mut changes = Vec::new();
        for &(id, epoch) in registered {
            match (states.get(&id), seen.get_mut(&id)) {
                (Some(state), entry) => {
                    let timeout = state["zookeeper_session_timeout_ms"]
                        .as_i64()
                        .unwrap_or(DEFAULT_SESSION_TIMEOUT_MS);
                    if entry.as_ref().is_some_and(|s| s.silent_since_ms.is_some()) {
                        changes.push(answering_again(id, now_ms));
                    }
                    seen.insert(
                        id,
                        Seen {
                            epoch,
                            session_timeout_ms: timeout,
                            silent_since_ms: None,
                        },
                    );
                }
                // Only a broker that answered before can stop answering (one without an HTTP
                // endpoint never answers).
                (None, Some(s)) if s.epoch == epoch && s.silent_since_ms.is_none() => {
                    s.silent_since_ms = Some(now_ms);
                    changes.push(stopped_answering(id, s.session_timeout_ms, now_ms));
                }
                (None, _) => {}
            }
        }
        changes
    }

    /// Adds `answering`, `silent_since_ms` and `session_expires_ms` to each broker of the
    /// model's `brokers` array.
    pub fn annotate(&self, model: &mut Value) {
        let seen = self.seen.lock().expect("reachability");
        let Some(brokers) = model["brokers"].as_array_mut() else {
            return;
        };
        for b in brokers {
            let Some(s) = b["id"].as_i64().and_then(|id| seen.get(&(id as i32))) else {
                continue;
            };
            b["answering"] = json!(s.silent_since_ms.is_none());
            b["session_timeout_ms"] = json!(s.session_timeout_ms);
            if let Some(since) = s.silent_since_ms {
                b["silent_since_ms"] = json!(since);
                b["session_expires_ms"] = json!(since + s.session_timeout_ms);
            }
        }
    }
}

fn stopped_answering(id: i32, session_timeout_ms: i64, now_ms: i64) -> Value {
    json!({
        "broker": id,
        "time_ms": now_ms,
        "kind": "broker_unreachable",
        "level": "WARN",
        "internal": false,
        "broker_level": true,
        "session_timeout_ms": session_timeout_ms,
        "text": format!(
            "Broker {id} stopped answering. ZooKeeper keeps /brokers/ids/{id} until its session \
             times out (zookeeper.session.timeout.ms={session_timeout_ms}); only then does the \
             controller learn it is gone and move its leaders"
        ),
    })
}

fn answering_again(id: i32, now_ms: i64) -> Value {
    json!({
        "broker": id,
        "time_ms": now_ms,
        "kind": "broker_answering",
        "level": "INFO",
        "internal": false,
        "broker_level": true,
        "text": format!("Broker {id} answers again"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(timeout: i64) -> Value {
        json!({"zookeeper_session_timeout_ms": timeout})
    }

    #[test]
    fn a_broker_that_answered_then_fell_silent_is_narrated_once() {
        let r = Reachability::default();
        let registered = [(1, 10), (2, 20)];
        let both: BrokerStates = [(1, state(6000)), (2, state(6000))].into_iter().collect();
        assert!(r.update(&registered, &both, 1_000).is_empty());
        let only_2: BrokerStates = [(2, state(6000))].into_iter().collect();
        let changes = r.update(&registered, &only_2, 2_000);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0]["kind"], "broker_unreachable");
        assert!(
            r.update(&registered, &only_2, 3_000).is_empty(),
            "said once"
        );

        let mut model = json!({"brokers": [{"id": 1}, {"id": 2}, {"id": 3}]});
        r.annotate(&mut model);
        assert_eq!(model["brokers"][0]["answering"], false);
        assert_eq!(model["brokers"][0]["session_expires_ms"], 8_000);
        assert_eq!(model["brokers"][1]["answering"], true);
        assert!(
            model["brokers"][2].get("answering").is_none(),
            "never answered"
        );

        let changes = r.update(&registered, &both, 4_000);
        assert_eq!(changes[0]["kind"], "broker_answering");
    }

    #[test]
    fn a_new_registration_starts_afresh() {
        let r = Reachability::default();
        let one: BrokerStates = [(1, state(6000))].into_iter().collect();
        r.update(&[(1, 10)], &one, 0);
        // Re-registered (new epoch) and not answering yet: nothing to say.
        assert!(r.update(&[(1, 11)], &BrokerStates::new(), 1_000).is_empty());
    }
}
