//! LogDirFailureChannel (server/LogDirFailureChannel.scala): where an I/O error on a log dir
//! is reported. The first report of a dir marks it offline and queues it once for the
//! ReplicaManager's LogDirFailureHandler, which stops serving the dir's replicas, tells the
//! controller through `/log_dir_event_notification`, and halts the broker when no dir is left.
//!
//! Every `io::Error` counts, ENOSPC, EIO and EMFILE alike: Kafka cannot tell a failing disk
//! from a transient error, and a replica that may have half-written its log must not keep
//! answering as if it were whole.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use super::errors::LogError;
use super::partition_log::Log;

/// Offline log dirs and the queue of newly failed ones.
pub struct LogDirFailureChannel {
    offline: Mutex<BTreeSet<PathBuf>>,
    /// Fast path for the per-request check: no dir has failed yet.
    any_offline: AtomicBool,
    tx: UnboundedSender<PathBuf>,
    rx: Mutex<Option<UnboundedReceiver<PathBuf>>>,
}

impl Default for LogDirFailureChannel {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        LogDirFailureChannel {
            offline: Mutex::new(BTreeSet::new()),
            any_offline: AtomicBool::new(false),
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl LogDirFailureChannel {
    pub fn new() -> Arc<LogDirFailureChannel> {
        Arc::new(LogDirFailureChannel::default())
    }

    pub fn has_offline_log_dir(&self, dir: &Path) -> bool {
        self.any_offline.load(Ordering::Acquire)
            && self.offline.lock().expect("offline dirs").contains(dir)
    }

    pub fn offline_log_dirs(&self) -> Vec<PathBuf> {
        self.offline
            .lock()
            .expect("offline dirs")
            .iter()
            .cloned()
            .collect()
    }

    /// Marks `dir` offline after `error`; only the first report of a dir is queued.
    pub fn maybe_add_offline_log_dir(&self, dir: &Path, msg: &str, error: &dyn std::fmt::Display) {
        tracing::error!(target: "kafka.server.LogDirFailureChannel", "{msg}: {error}");
        if self
            .offline
            .lock()
            .expect("offline dirs")
            .insert(dir.to_path_buf())
        {
            self.any_offline.store(true, Ordering::Release);
            let _ = self.tx.send(dir.to_path_buf());
        }
    }

    /// The queue of newly offline dirs, for the one LogDirFailureHandler.
    pub fn take_receiver(&self) -> Option<UnboundedReceiver<PathBuf>> {
        self.rx.lock().expect("failure receiver").take()
    }
}

/// Whether an error means the log dir itself failed (Kafka's IOException).
pub fn is_storage_failure(e: &LogError) -> bool {
    matches!(e, LogError::Io { .. })
}

impl Log {
    /// Connects the log to its manager's failure channel (done once, after opening).
    pub(crate) fn set_dir_failure_channel(&self, channel: Arc<LogDirFailureChannel>) {
        let _ = self.dir_failure.set(channel);
    }

    /// The log dir holding this partition's dir.
    pub fn parent_dir(&self) -> PathBuf {
        let dir = self.dir();
        dir.parent().map_or(dir.clone(), Path::to_path_buf)
    }

    /// Reports an I/O error of an operation on this log: its log dir goes offline
    /// (Log.maybeHandleIOException). Other errors are left to the caller.
    pub fn maybe_report_storage_error(&self, what: &str, e: &LogError) {
        if !is_storage_failure(e) {
            return;
        }
        if let Some(channel) = self.dir_failure.get() {
            let dir = self.parent_dir();
            let msg = format!(
                "Error while {what} for {} in dir {}",
                self.topic_partition,
                dir.display()
            );
            channel.maybe_add_offline_log_dir(&dir, &msg, e);
        }
    }

    /// Whether this log's dir has been taken offline (checked before serving a request, as
    /// Log.maybeHandleIOException does, until the failure handler removes the partition).
    pub fn is_offline(&self) -> bool {
        self.dir_failure.get().is_some_and(|c| {
            c.any_offline.load(Ordering::Acquire) && c.has_offline_log_dir(&self.parent_dir())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn first_report_queues_the_dir_once() {
        let c = LogDirFailureChannel::new();
        let mut rx = c.take_receiver().unwrap();
        let e = LogError::io("append", io::Error::from_raw_os_error(28));
        c.maybe_add_offline_log_dir(Path::new("/d1"), "append failed", &e);
        c.maybe_add_offline_log_dir(Path::new("/d1"), "flush failed", &e);
        assert!(c.has_offline_log_dir(Path::new("/d1")));
        assert!(!c.has_offline_log_dir(Path::new("/d2")));
        assert_eq!(rx.try_recv().unwrap(), PathBuf::from("/d1"));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn io_errors_including_emfile_are_storage_failures() {
        for errno in [28 /* ENOSPC */, 5 /* EIO */, 24 /* EMFILE */] {
            let e = LogError::io("open segment", io::Error::from_raw_os_error(errno));
            assert!(is_storage_failure(&e), "errno {errno}");
        }
        assert!(!is_storage_failure(&LogError::CorruptMessage("x".into())));
    }
}
