//! Bounded waits for a condition that a `Notify` announces (e.g. "registered", "first
//! UpdateMetadata applied"): one loop shared by the states that start-up requests wait for.

use std::time::Duration;

use tokio::sync::Notify;

/// Waits at most `limit` until `done()` holds, re-checking whenever `notify` fires (its
/// setter calls `notify_waiters` after making `done()` true). True once it holds.
pub async fn until(notify: &Notify, limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        // Created before the check: notify_waiters wakes it even if not yet polled.
        let notified = notify.notified();
        if done() {
            return true;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return done();
        }
    }
}
