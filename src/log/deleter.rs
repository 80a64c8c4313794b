//! Delayed removal of `*.deleted` segment files and `-delete` partition dirs
//! (`file.delete.delay.ms`), driven by the LogManager's scheduler or by tests.

use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;

use super::util::now_ms;

#[derive(Default)]
pub struct FileDeleter {
    queue: Mutex<Vec<(i64, PathBuf)>>,
}

impl FileDeleter {
    pub fn new() -> FileDeleter {
        FileDeleter::default()
    }

    /// Removes `paths` once `delay_ms` has passed.
    pub fn schedule(&self, paths: Vec<PathBuf>, delay_ms: i64) {
        let due = now_ms().saturating_add(delay_ms.max(0));
        let mut q = self.queue.lock().expect("deleter lock");
        q.extend(paths.into_iter().map(|p| (due, p)));
    }

    /// Deletes everything due at `now`; returns how many paths were removed.
    pub fn run_due(&self, now: i64) -> usize {
        let due: Vec<PathBuf> = {
            let mut q = self.queue.lock().expect("deleter lock");
            let (due, keep): (Vec<_>, Vec<_>) = q.drain(..).partition(|(t, _)| *t <= now);
            *q = keep;
            due.into_iter().map(|(_, p)| p).collect()
        };
        let n = due.len();
        for p in due {
            let r = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            if let Err(e) = r {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %p.display(), error = %e, "failed to delete file");
                }
            }
        }
        n
    }

    /// Deletes everything regardless of the delay (shutdown, tests).
    pub fn run_all(&self) -> usize {
        self.run_due(i64::MAX)
    }

    pub fn pending(&self) -> usize {
        self.queue.lock().expect("deleter lock").len()
    }
}
