//! `meta.properties` (BrokerMetadataCheckpoint.scala): Java Properties text with a `#`
//! comment line and a `#<date>` line, written atomically into each log dir.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use super::errors::LogError;
use super::util::{atomic_write, java_date_string, now_ms};

pub const META_PROPERTIES_FILE: &str = "meta.properties";

/// Contents of a ZooKeeper-mode `meta.properties`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaProperties {
    pub version: i32,
    pub broker_id: i32,
    pub cluster_id: Option<String>,
    /// Every key=value pair as read (unknown keys preserved).
    pub raw: BTreeMap<String, String>,
}

/// Java `Properties.store` escaping for keys/values we write.
fn escape(s: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' | ':' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out
}

/// Renders the file content at `epoch_ms` (key order as Kafka 2.8 writes it).
pub fn render_meta_properties(broker_id: i32, cluster_id: Option<&str>, epoch_ms: i64) -> String {
    let mut s = format!("#\n#{}\n", java_date_string(epoch_ms));
    if let Some(c) = cluster_id {
        s.push_str(&format!(
            "{}={}\n",
            escape("cluster.id", true),
            escape(c, false)
        ));
    }
    s.push_str("version=0\n");
    s.push_str(&format!("broker.id={broker_id}\n"));
    s
}

/// Writes `<dir>/meta.properties` atomically (temp file, fsync, rename, fsync dir).
pub fn write_meta_properties(dir: &Path, broker_id: i32, cluster_id: &str) -> Result<(), LogError> {
    let text = render_meta_properties(broker_id, Some(cluster_id), now_ms());
    atomic_write(&dir.join(META_PROPERTIES_FILE), text.as_bytes())
}

/// Reads `<dir>/meta.properties`; `Ok(None)` when the file does not exist (first start).
pub fn read_meta_properties(dir: &Path) -> Result<Option<MetaProperties>, LogError> {
    let path = dir.join(META_PROPERTIES_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io(format!("read {}", path.display()), e)),
    };
    let raw = crate::config::properties::parse(&text);
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(key))
            .map(|n| n + 1)
            .unwrap_or(0)
    };
    let bad = |key: &str, reason: String| LogError::MalformedFile {
        path: path.clone(),
        line: line_of(key),
        reason,
    };
    let version = match raw.get("version") {
        Some(v) => v
            .trim()
            .parse::<i32>()
            .map_err(|_| bad("version", format!("version {v:?} is not an integer")))?,
        None => 0,
    };
    if version != 0 {
        return Err(bad(
            "version",
            format!("unsupported meta.properties version {version} (ZooKeeper mode needs 0)"),
        ));
    }
    let broker_id = match raw.get("broker.id") {
        Some(v) => v
            .trim()
            .parse::<i32>()
            .map_err(|_| bad("broker.id", format!("broker.id {v:?} is not an integer")))?,
        None => return Err(bad("broker.id", "missing broker.id".into())),
    };
    let cluster_id = raw.get("cluster.id").cloned();
    Ok(Some(MetaProperties {
        version,
        broker_id,
        cluster_id,
        raw,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_2_1_1_file_parses_and_rendering_matches_kafka_shape() {
        let dir = tempfile::tempdir().unwrap();
        // Exact bytes of the observed broker-1 meta.properties (54 bytes).
        let observed = "#\n#Sun Nov 22 02:20:12 UTC 2026\nbroker.id=1\nversion=0\n";
        assert_eq!(observed.len(), 54);
        fs::write(dir.path().join(META_PROPERTIES_FILE), observed).unwrap();
        let m = read_meta_properties(dir.path()).unwrap().unwrap();
        assert_eq!((m.version, m.broker_id, m.cluster_id.clone()), (0, 1, None));

        let text = render_meta_properties(1, Some("Vc8CTvvJQVKUWKZwWmN0Ug"), 1_795_314_012_000);
        assert_eq!(
            text,
            "#\n#Sun Nov 22 02:20:12 UTC 2026\ncluster.id=Vc8CTvvJQVKUWKZwWmN0Ug\nversion=0\nbroker.id=1\n"
        );
        write_meta_properties(dir.path(), 7, "abc-DEF_1").unwrap();
        let m = read_meta_properties(dir.path()).unwrap().unwrap();
        assert_eq!(
            (m.broker_id, m.cluster_id.as_deref()),
            (7, Some("abc-DEF_1"))
        );
        let text = fs::read_to_string(dir.path().join(META_PROPERTIES_FILE)).unwrap();
        assert!(text.starts_with("#\n#"));
        assert!(read_meta_properties(&dir.path().join("nope"))
            .unwrap()
            .is_none());

        fs::write(
            dir.path().join(META_PROPERTIES_FILE),
            "#\nversion=1\nnode.id=3\n",
        )
        .unwrap();
        assert!(matches!(
            read_meta_properties(dir.path()),
            Err(LogError::MalformedFile { line: 2, .. })
        ));
    }
}
