//! The LogManager's background work: the log cleaner threads and the scheduler thread that
//! runs retention, flushes, checkpoints and the deletion of `-delete` dirs.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::super::checkpoint::{OffsetCheckpointFile, CLEANER_OFFSET_CHECKPOINT_FILE};
use super::super::cleaner_manager::LogCleaner;
use super::super::util::now_ms;
use super::{LogManager, Scheduler, PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS};

impl LogManager {
    /// The log cleaner, when `log.cleaner.enable` started it.
    pub fn cleaner(&self) -> Option<Arc<LogCleaner>> {
        self.cleaner.lock().expect("cleaner lock").clone()
    }

    /// Starts the log cleaner threads (LogManager.startup does so when enabled).
    pub(super) fn start_cleaner(self: &Arc<Self>) {
        let mut slot = self.cleaner.lock().expect("cleaner lock");
        if slot.is_some() || !self.config.cleaner.enable {
            return;
        }
        for d in &self.live_log_dirs() {
            // Kafka's checkpoint files create themselves empty when the cleaner starts.
            if let Err(e) =
                OffsetCheckpointFile::new(d.join(CLEANER_OFFSET_CHECKPOINT_FILE)).ensure_exists()
            {
                tracing::error!(error = %e, "cannot create the cleaner checkpoint");
            }
        }
        let me = Arc::downgrade(self);
        let lister = Box::new(move || {
            me.upgrade()
                .map(|m| m.all_logs_with_dirs())
                .unwrap_or_default()
        });
        let cleaner = Arc::new(LogCleaner::new(self.config.cleaner.clone(), lister));
        cleaner.startup();
        *slot = Some(cleaner);
    }

    pub(super) fn stop_cleaner(&self) {
        if let Some(c) = self.cleaner.lock().expect("cleaner lock").take() {
            c.shutdown();
        }
    }

    /// Starts the background thread running retention, flush, checkpoint and delete tasks,
    /// and the log cleaner.
    pub fn start_background_tasks(self: &Arc<Self>) {
        self.start_cleaner();
        let mut slot = self.scheduler.lock().expect("scheduler lock");
        if slot.is_some() {
            return;
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (me, stop2) = (Arc::downgrade(self), stop.clone());
        let c = self.config.clone();
        let handle = std::thread::Builder::new()
            .name("kafka-scheduler".into())
            .spawn(move || {
                let start = now_ms();
                let interval = |ms: i64| ms.max(1);
                // (next due, period) per task: retention, flush, recovery ckpt, start-offset ckpt, deletes.
                let mut due = [
                    (
                        start.saturating_add(c.initial_task_delay_ms),
                        interval(c.retention_check_interval_ms),
                    ),
                    (
                        start.saturating_add(c.initial_task_delay_ms),
                        interval(c.flush_check_interval_ms),
                    ),
                    (
                        start.saturating_add(c.initial_task_delay_ms),
                        interval(c.flush_recovery_offset_checkpoint_interval_ms),
                    ),
                    (
                        start.saturating_add(c.initial_task_delay_ms),
                        interval(c.flush_start_offset_checkpoint_interval_ms),
                    ),
                    (start, 1000),
                    (
                        start.saturating_add(PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS),
                        PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS,
                    ),
                ];
                loop {
                    let now = now_ms();
                    let Some(m) = me.upgrade() else { return };
                    for (i, (next, period)) in due.iter_mut().enumerate() {
                        if now < *next {
                            continue;
                        }
                        *next = now.saturating_add(*period);
                        match i {
                            0 => {
                                m.cleanup_logs(now);
                            }
                            1 => m.flush_dirty_logs(now),
                            2 => m.checkpoint_recovery_points(),
                            3 => m.checkpoint_log_start_offsets(),
                            5 => m.remove_expired_producers(now),
                            _ => {
                                m.deleter.run_due(now);
                            }
                        }
                    }
                    drop(m);
                    let wait = due
                        .iter()
                        .map(|(n, _)| *n)
                        .min()
                        .unwrap_or(now + 1000)
                        .saturating_sub(now_ms())
                        .clamp(1, 1000);
                    let (lock, cv) = &*stop2;
                    let stopped = lock.lock().expect("stop lock");
                    if *stopped {
                        return;
                    }
                    let (stopped, _) = cv
                        .wait_timeout(stopped, Duration::from_millis(wait as u64))
                        .expect("stop lock");
                    if *stopped {
                        return;
                    }
                }
            })
            .expect("spawn scheduler");
        *slot = Some(Scheduler { stop, handle });
    }

    pub(super) fn stop_background_tasks(&self) {
        if let Some(s) = self.scheduler.lock().expect("scheduler lock").take() {
            *s.stop.0.lock().expect("stop lock") = true;
            s.stop.1.notify_all();
            let _ = s.handle.join();
        }
    }
}
