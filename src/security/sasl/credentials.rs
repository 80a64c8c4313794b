//! Kafka's CredentialCache: every user's SCRAM credentials, per mechanism, as read from
//! `/config/users/<user>` at startup and re-read on each `users/<user>` config change
//! (UserConfigHandler), so a user added or removed with kafka-configs.sh takes effect live.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use super::scram::{ScramCredential, ScramMechanism};

#[derive(Debug, Default)]
pub struct CredentialCache {
    users: RwLock<HashMap<(String, ScramMechanism), ScramCredential>>,
}

impl CredentialCache {
    pub fn get(&self, user: &str, mech: ScramMechanism) -> Option<ScramCredential> {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        users.get(&(user.to_string(), mech)).cloned()
    }

    /// Replaces `user`'s credentials by the SCRAM keys of its config (other keys, such as
    /// quotas, are ignored). A missing or unparsable key removes that mechanism's credential;
    /// returns the keys that could not be parsed so the caller can name them.
    pub fn update_user(&self, user: &str, config: &BTreeMap<String, String>) -> Vec<String> {
        let mut bad = Vec::new();
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        for mech in ScramMechanism::ALL {
            let key = (user.to_string(), mech);
            match config.get(mech.name()).map(|v| ScramCredential::parse(v)) {
                Some(Some(c)) => {
                    users.insert(key, c);
                }
                Some(None) => {
                    bad.push(mech.name().to_string());
                    users.remove(&key);
                }
                None => {
                    users.remove(&key);
                }
            }
        }
        bad
    }

    /// Every (user, mechanism, iterations) held, sorted: for DescribeUserScramCredentials.
    pub fn describe(&self) -> Vec<(String, ScramMechanism, u32)> {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = users
            .iter()
            .map(|((u, m), c)| (u.clone(), *m, c.iterations))
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_adds_replaces_and_removes() {
        let cache = CredentialCache::default();
        let c = ScramCredential::generate(ScramMechanism::Sha512, "pw", 4096);
        let mut config = BTreeMap::from([
            ("SCRAM-SHA-512".to_string(), c.to_config_value()),
            ("producer_byte_rate".to_string(), "1024".to_string()),
        ]);
        assert!(cache.update_user("alice", &config).is_empty());
        assert_eq!(cache.get("alice", ScramMechanism::Sha512), Some(c));
        assert_eq!(cache.get("alice", ScramMechanism::Sha256), None);
        config.insert("SCRAM-SHA-256".into(), "garbage".into());
        assert_eq!(cache.update_user("alice", &config), vec!["SCRAM-SHA-256"]);
        cache.update_user("alice", &BTreeMap::new());
        assert_eq!(cache.get("alice", ScramMechanism::Sha512), None);
    }
}
