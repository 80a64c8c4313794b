//! Delayed-operation purgatory (DelayedOperationPurgatory.scala), reduced to its essence:
//! operations that wait (acks=all produce, long-poll fetch) watch partition keys, and whoever
//! changes a partition (append, high watermark move) wakes that key's watchers, which then
//! re-check their own completion condition.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use crate::log::TopicPartition;

/// Watcher lists are split over this many locks (Kafka's purgatory uses 512), so appends to
/// different partitions do not serialize on one mutex.
const SHARDS: usize = 16;

type Watchers = HashMap<TopicPartition, Vec<Weak<Notify>>>;

pub struct Purgatory {
    name: &'static str,
    shards: [Mutex<Watchers>; SHARDS],
    /// Keys changed so far, any key: a waiter that saw no change since its last check knows
    /// a new check would find what the last one found.
    changes: AtomicU64,
    /// Woken on every change: what an idle fetch session waits on instead of a watcher per
    /// partition (fetch.rs).
    any_change: Notify,
}

impl Purgatory {
    pub fn new(name: &'static str) -> Purgatory {
        Purgatory {
            name,
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            changes: AtomicU64::new(0),
            any_change: Notify::new(),
        }
    }

    fn shard(&self, key: &TopicPartition) -> std::sync::MutexGuard<'_, Watchers> {
        use std::hash::{BuildHasher, RandomState};
        static HASHER: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
        let h = HASHER.get_or_init(RandomState::new).hash_one(key) as usize;
        self.shards[h % SHARDS].lock().expect("purgatory lock")
    }

    /// Registers one waiter on every key; it stays registered while the returned Arc lives.
    /// Finished waiters of the key are dropped first (Kafka's purge of completed operations):
    /// an idle partition is never completed, and every long-poll fetch watches it again.
    pub fn watch<'a>(&self, keys: impl IntoIterator<Item = &'a TopicPartition>) -> Arc<Notify> {
        let waker = Arc::new(Notify::new());
        for key in keys {
            let mut shard = self.shard(key);
            match shard.get_mut(key) {
                Some(list) => {
                    list.retain(|w| w.strong_count() > 0);
                    list.push(Arc::downgrade(&waker));
                }
                None => {
                    shard.insert(key.clone(), vec![Arc::downgrade(&waker)]);
                }
            }
        }
        waker
    }

    /// How many times a key changed (`check_and_complete`) since start-up. Taken before a
    /// check: unchanged afterwards means nothing any waiter watches has changed since.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// Waits until any key changes after `seen` (a `changes()` value) or `deadline` passes;
    /// returns whether something changed.
    pub async fn any_change_after(&self, seen: u64, deadline: tokio::time::Instant) -> bool {
        loop {
            let notified = self.any_change.notified();
            tokio::pin!(notified);
            // Registered before the check, so a change between the two is not missed.
            notified.as_mut().enable();
            if self.changes() != seen {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.changes() != seen;
            }
        }
    }

    /// Wakes every operation watching `key` (and forgets finished ones).
    pub fn check_and_complete(&self, key: &TopicPartition) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.any_change.notify_waiters();
        let mut w = self.shard(key);
        let Some(list) = w.get_mut(key) else { return };
        list.retain(|weak| match weak.upgrade() {
            Some(n) => {
                n.notify_one();
                true
            }
            None => false,
        });
        if list.is_empty() {
            w.remove(key);
        }
    }

    /// Number of keys with live watchers (for logs and tests).
    pub fn watched_keys(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().expect("purgatory lock").len())
            .sum()
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Runs `try_complete` until it yields a value, waking on `waker`, or gives up at `timeout`
/// and returns what `on_expire` makes of it.
pub async fn wait_until_complete<T>(
    waker: &Notify,
    timeout: Duration,
    mut try_complete: impl FnMut() -> Option<T>,
    on_expire: impl FnOnce() -> T,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(done) = try_complete() {
            return done;
        }
        // notify_one stores a permit, so a wake-up between the check and here is not lost.
        if tokio::time::timeout_at(deadline, waker.notified())
            .await
            .is_err()
        {
            return try_complete().unwrap_or_else(on_expire);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_watchers_of_the_key_only() {
        let p = Arc::new(Purgatory::new("test"));
        let a = TopicPartition::new("t", 0);
        let b = TopicPartition::new("t", 1);
        let waker = p.watch([&a]);
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p2, a2, done2) = (p.clone(), a.clone(), done.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            p2.check_and_complete(&b);
            done2.store(true, std::sync::atomic::Ordering::SeqCst);
            p2.check_and_complete(&a2);
        });
        let flag = done.clone();
        let got = wait_until_complete(
            &waker,
            Duration::from_secs(5),
            || {
                flag.load(std::sync::atomic::Ordering::SeqCst)
                    .then_some("completed")
            },
            || "expired",
        )
        .await;
        assert_eq!(got, "completed");
        drop(waker);
        p.check_and_complete(&a);
        assert_eq!(p.watched_keys(), 0, "finished operations are forgotten");
    }

    #[test]
    fn watching_an_idle_key_again_forgets_finished_watchers() {
        let p = Purgatory::new("test");
        let a = TopicPartition::new("t", 0);
        for _ in 0..100 {
            drop(p.watch([&a]));
        }
        let live = p.watch([&a]);
        let shard = p.shard(&a);
        assert_eq!(
            shard.get(&a).map(Vec::len),
            Some(1),
            "only the live watcher is kept"
        );
        drop(shard);
        drop(live);
    }

    #[tokio::test]
    async fn expires_at_the_timeout() {
        let p = Purgatory::new("test");
        let waker = p.watch([&TopicPartition::new("t", 0)]);
        let start = tokio::time::Instant::now();
        let got = wait_until_complete(&waker, Duration::from_millis(50), || None::<u8>, || 7).await;
        assert_eq!(got, 7);
        assert!(start.elapsed() >= Duration::from_millis(50));
    }
}
