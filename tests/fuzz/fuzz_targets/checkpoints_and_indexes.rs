//! The files a broker reads back at startup, as a crash or a bad disk may leave them:
//! checkpoint text (recovery-point, replication-offset, leader-epoch), meta.properties, and
//! offset/time index files. Errors are expected; panics are not.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use zkafka::log::checkpoint::parse_checkpoint;
use zkafka::log::index::{OffsetIndex, TimeIndex};
use zkafka::log::{read_meta_properties, LeaderEpochFileCache, OffsetCheckpointFile};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for fields in 1..=3 {
        let _ = parse_checkpoint(Path::new("fuzz-checkpoint"), &text, 0, fields);
    }
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let _ = OffsetCheckpointFile::new(write("recovery-point-offset-checkpoint")).read();
    let _ = LeaderEpochFileCache::load(&write("leader-epoch-checkpoint"));
    write("meta.properties");
    let _ = read_meta_properties(dir.path());
    // Index files: whole entries as written, then the broker's sanity checks and lookups.
    let size = 1 << 12;
    if let Ok(idx) = OffsetIndex::open(&write("0.index"), 0, size) {
        if idx.sanity_check(u64::MAX).is_ok() {
            for target in [0, 1, i64::MAX] {
                let _ = idx.lookup(target);
            }
        }
    }
    if let Ok(idx) = TimeIndex::open(&write("0.timeindex"), 0, size) {
        if idx.sanity_check().is_ok() {
            for target in [0, 1, i64::MAX] {
                let _ = idx.lookup(target);
            }
        }
    }
});
