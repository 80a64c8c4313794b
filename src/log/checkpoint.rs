//! Kafka's text checkpoint files (server/checkpoints/CheckpointFile.scala):
//! `<version>\n<count>\n<entry>\n...`, written atomically via `<file>.tmp`.

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::errors::{IoContext, LogError};
use super::util::atomic_write;
use super::TopicPartition;

pub const RECOVERY_POINT_CHECKPOINT_FILE: &str = "recovery-point-offset-checkpoint";
pub const LOG_START_OFFSET_CHECKPOINT_FILE: &str = "log-start-offset-checkpoint";
pub const REPLICATION_OFFSET_CHECKPOINT_FILE: &str = "replication-offset-checkpoint";
pub const CLEANER_OFFSET_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
pub const LEADER_EPOCH_CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

/// A versioned checkpoint file whose entries have a fixed number of whitespace-separated fields.
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    path: PathBuf,
    version: i32,
}

impl CheckpointFile {
    pub fn new(path: impl Into<PathBuf>, version: i32) -> CheckpointFile {
        CheckpointFile {
            path: path.into(),
            version,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renders the exact file content for `entries` (each already formatted).
    pub fn render(version: i32, entries: &[String]) -> String {
        let mut s = format!("{version}\n{}\n", entries.len());
        for e in entries {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    pub fn write(&self, entries: &[String]) -> Result<(), LogError> {
        atomic_write(&self.path, Self::render(self.version, entries).as_bytes())
    }

    /// Reads entries with exactly `fields` fields each. Missing or empty file = no entries.
    pub fn read(&self, fields: usize) -> Result<Vec<Vec<String>>, LogError> {
        let text = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(LogError::io(format!("read {}", self.path.display()), e)),
        };
        let text = String::from_utf8(text).map_err(|_| self.malformed(0, "not UTF-8".into()))?;
        parse_checkpoint(&self.path, &text, self.version, fields)
    }

    fn malformed(&self, line: usize, reason: String) -> LogError {
        LogError::MalformedFile {
            path: self.path.clone(),
            line,
            reason,
        }
    }
}

/// Parses checkpoint text; errors name the file and the 1-based line number.
pub fn parse_checkpoint(
    path: &Path,
    text: &str,
    version: i32,
    fields: usize,
) -> Result<Vec<Vec<String>>, LogError> {
    let bad = |line: usize, reason: String| LogError::MalformedFile {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let Some((_, v)) = lines.next() else {
        return Ok(Vec::new());
    };
    let v: i32 = v
        .trim()
        .parse()
        .map_err(|_| bad(1, format!("version line {v:?} is not an integer")))?;
    if v != version {
        return Err(bad(
            1,
            format!("unrecognized version {v} (expected {version})"),
        ));
    }
    let Some((_, n)) = lines.next() else {
        return Ok(Vec::new());
    };
    let expected: usize = n
        .trim()
        .parse()
        .map_err(|_| bad(2, format!("entry count {n:?} is not a number")))?;
    // The count comes from the file: a corrupt one must not size an allocation (fuzzing found
    // an abort on a huge count), so reserve no more than the lines that are there.
    let mut out = Vec::with_capacity(expected.min(text.len() / 2));
    for (no, line) in lines {
        let parts: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if parts.len() != fields {
            return Err(bad(
                no,
                format!("malformed line {line:?}: expected {fields} fields"),
            ));
        }
        out.push(parts);
    }
    if out.len() != expected {
        return Err(bad(
            expected.min(out.len()) + 3,
            format!(
                "expected {expected} entries in checkpoint file, but found {}",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// `<topic> <partition> <offset>` checkpoints (recovery point, log start offset, high watermark).
pub struct OffsetCheckpointFile {
    file: CheckpointFile,
}

impl OffsetCheckpointFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OffsetCheckpointFile {
            file: CheckpointFile::new(path, 0),
        }
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Writes entries in the given order.
    pub fn write(&self, offsets: &[(TopicPartition, i64)]) -> Result<(), LogError> {
        let lines: Vec<String> = offsets
            .iter()
            .map(|(tp, o)| format!("{} {} {}", tp.topic, tp.partition, o))
            .collect();
        self.file.write(&lines)
    }

    pub fn read(&self) -> Result<HashMap<TopicPartition, i64>, LogError> {
        let rows = self.file.read(3)?;
        let mut out = HashMap::with_capacity(rows.len());
        for (i, r) in rows.into_iter().enumerate() {
            let line = i + 3;
            let bad = |reason: String| LogError::MalformedFile {
                path: self.path().to_path_buf(),
                line,
                reason,
            };
            let partition: i32 = r[1]
                .parse()
                .map_err(|_| bad(format!("partition {:?} is not an integer", r[1])))?;
            let offset: i64 = r[2]
                .parse()
                .map_err(|_| bad(format!("offset {:?} is not an integer", r[2])))?;
            out.insert(TopicPartition::new(r[0].clone(), partition), offset);
        }
        Ok(out)
    }

    /// Creates an empty file if missing, as the broker does on startup.
    pub fn ensure_exists(&self) -> Result<(), LogError> {
        if !self.path().exists() {
            fs::write(self.path(), b"").ctx(|| format!("create {}", self.path().display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_entry_count_is_an_error_not_an_allocation() {
        let err = parse_checkpoint(Path::new("cp"), "0\n18446744073709551615\nt 0 1\n", 0, 3)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected 18446744073709551615 entries"),
            "{err}"
        );
    }

    // Verbatim excerpt shape of the observed Kafka files (header + entries).
    const OBSERVED_LOG_START: &str = "0\n0\n";
    const OBSERVED_REPLICATION: &str =
        "0\n3\n__consumer_offsets 22 0\nt1 1 15\n__consumer_offsets 43 64\n";

    #[test]
    fn round_trip_matches_observed_format() {
        let dir = tempfile::tempdir().unwrap();
        let f = OffsetCheckpointFile::new(dir.path().join(REPLICATION_OFFSET_CHECKPOINT_FILE));
        let entries = vec![
            (TopicPartition::new("__consumer_offsets", 22), 0),
            (TopicPartition::new("t1", 1), 15),
            (TopicPartition::new("__consumer_offsets", 43), 64),
        ];
        f.write(&entries).unwrap();
        assert_eq!(fs::read_to_string(f.path()).unwrap(), OBSERVED_REPLICATION);
        let back = f.read().unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[&TopicPartition::new("t1", 1)], 15);
        assert!(!dir
            .path()
            .join("replication-offset-checkpoint.tmp")
            .exists());

        let g = OffsetCheckpointFile::new(dir.path().join(LOG_START_OFFSET_CHECKPOINT_FILE));
        g.write(&[]).unwrap();
        assert_eq!(fs::read_to_string(g.path()).unwrap(), OBSERVED_LOG_START);
        assert!(g.read().unwrap().is_empty());
    }

    #[test]
    fn empty_file_is_valid_and_malformed_files_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        fs::write(&p, "").unwrap();
        assert!(OffsetCheckpointFile::new(&p).read().unwrap().is_empty());

        for (text, line) in [
            ("1\n0\n", 1),
            ("0\n2\nt 0 1\n", 4),
            ("0\n1\nt 0\n", 3),
            ("0\n2\nt 0 1\nt x 1\n", 4),
            ("zero\n", 1),
        ] {
            fs::write(&p, text).unwrap();
            match OffsetCheckpointFile::new(&p).read() {
                Err(LogError::MalformedFile { path, line: l, .. }) => {
                    assert_eq!(path, p);
                    assert_eq!(l, line, "{text:?}");
                }
                other => panic!("{text:?}: expected malformed, got {other:?}"),
            }
        }
        // Multiple whitespace between fields is accepted, as in Kafka.
        fs::write(&p, "0\n1\nt   3\t7\n").unwrap();
        assert_eq!(
            OffsetCheckpointFile::new(&p).read().unwrap()[&TopicPartition::new("t", 3)],
            7
        );
    }
}
