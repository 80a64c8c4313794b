//! The Kafka Java client in tests: our own small programs under `tests/java/`, compiled with
//! javac against a Kafka clients classpath the caller supplies (`KAFKA_CLIENTS_CLASSPATH`),
//! since no registry this project's CI reaches ships a kafka-clients jar.

use std::path::PathBuf;

/// `KAFKA_CLIENTS_CLASSPATH`, or a panic that says what to set (the Java tests are ignored
/// by default, so reaching this without it is a mistake, not a skip).
pub fn clients_classpath() -> String {
    std::env::var("KAFKA_CLIENTS_CLASSPATH").unwrap_or_else(|_| {
        panic!("KAFKA_CLIENTS_CLASSPATH: a kafka-clients jar and its dependencies, ':'-separated")
    })
}

/// javac of `tests/java/<name>.java` into a temporary directory; returns the `-cp` that runs
/// it (that directory, then `classpath`).
pub fn compile(name: &str, classpath: &str) -> String {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/java/{name}.java"));
    let dir = std::env::temp_dir().join(format!("zkafka-java-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = std::process::Command::new("javac")
        .arg("-d")
        .arg(&dir)
        .args(["-cp", classpath])
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run javac: {e}"));
    assert!(
        out.status.success(),
        "javac {} against KAFKA_CLIENTS_CLASSPATH failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    format!("{}:{classpath}", dir.display())
}
