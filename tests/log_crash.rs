//! Crash recovery: cut the last batch at every byte and flip bytes in it; recovery keeps
//! every complete valid batch before the damage and nothing after; rebuilt indexes equal
//! the indexes of a cleanly closed log holding the same batches.

mod common;

use std::fs;
use std::path::Path;

use common::log_util::*;
use zkafka::log::{LoadParams, LogConfig};

fn cfg() -> LogConfig {
    LogConfig {
        index_interval_bytes: 150,
        segment_index_bytes: 4096,
        ..LogConfig::default()
    }
}

/// Writes `n` single-batch appends, closes cleanly; returns (.log, .index, .timeindex) bytes
/// and the start position of the last batch.
fn build(dir: &Path, n: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>, usize) {
    let log = open_log(dir, cfg());
    for i in 0..n {
        log.append_as_leader(
            &encode_batch(1 + i % 3, 20 + (i * 7) % 50, 1000 + i as i64 * 10, "k"),
            1,
        )
        .unwrap();
    }
    log.close().unwrap();
    let read = |s: &str| fs::read(dir.join(format!("00000000000000000000{s}"))).unwrap();
    let data = read(".log");
    let last = scan(&data).last().unwrap().0;
    (data, read(".index"), read(".timeindex"), last)
}

fn recover_copy(src_log: &[u8], dir: &Path) -> (i64, Vec<u8>, Vec<u8>, Vec<u8>) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("00000000000000000000.log"), src_log).unwrap();
    // Stale, preallocated-looking index garbage must not be trusted.
    fs::write(dir.join("00000000000000000000.index"), vec![0u8; 4096]).unwrap();
    fs::write(dir.join("00000000000000000000.timeindex"), vec![0u8; 4092]).unwrap();
    let log = open_with(
        dir,
        cfg(),
        LoadParams {
            recovery_point: 0,
            log_start_offset: None,
            had_clean_shutdown: false,
        },
    );
    let leo = log.log_end_offset();
    log.close().unwrap();
    let read = |s: &str| fs::read(dir.join(format!("00000000000000000000{s}"))).unwrap();
    (leo, read(".log"), read(".index"), read(".timeindex"))
}

#[test]
fn cut_at_every_byte_of_the_last_batch() {
    let root = tempfile::tempdir().unwrap();
    let (full, index, tindex, last_pos) = build(&root.path().join("full"), 40);
    let (prefix, pindex, ptindex, _) = build(&root.path().join("prefix"), 39);
    assert_eq!(&full[..last_pos], &prefix[..]);
    assert!(index.len() >= 16, "test needs several index entries");
    let last_base = scan(&full).last().unwrap().1;

    // Intact log: recovery rebuilds exactly the indexes of the clean close.
    let (leo, data, i2, t2) = recover_copy(&full, &root.path().join("intact"));
    assert_eq!(
        (leo, data.len()),
        (scan(&full).last().unwrap().2 + 1, full.len())
    );
    assert_eq!((i2, t2), (index.clone(), tindex.clone()));

    for cut in last_pos..full.len() {
        let dir = root.path().join(format!("cut{cut}"));
        let (leo, data, i2, t2) = recover_copy(&full[..cut], &dir);
        assert_eq!(leo, last_base, "cut at {cut}");
        assert_eq!(data, prefix, "cut at {cut}");
        assert_eq!((i2, t2), (pindex.clone(), ptindex.clone()), "cut at {cut}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn flipped_bytes_drop_the_damaged_batch_and_everything_after() {
    let root = tempfile::tempdir().unwrap();
    let (full, _, _, last_pos) = build(&root.path().join("full"), 12);
    let batches = scan(&full);
    // baseOffset (0..8) and partitionLeaderEpoch (12..16) are outside the CRC in Kafka's
    // format, so only the covered bytes, the length and the magic are flipped.
    for pos in last_pos..full.len() {
        let rel = pos - last_pos;
        if rel < 8 || (12..16).contains(&rel) {
            continue;
        }
        let mut damaged = full.clone();
        damaged[pos] ^= 0x5a;
        let dir = root.path().join(format!("flip{pos}"));
        let (leo, data, _, _) = recover_copy(&damaged, &dir);
        assert_eq!(leo, batches.last().unwrap().1, "flip at {pos}");
        assert_eq!(&data[..], &full[..last_pos], "flip at {pos}");
        fs::remove_dir_all(&dir).unwrap();
    }
    // Damage in a middle batch removes it and all later batches.
    let (mid_pos, mid_base, ..) = batches[5];
    let mut damaged = full.clone();
    damaged[mid_pos + 40] ^= 1;
    let (leo, data, _, _) = recover_copy(&damaged, &root.path().join("mid"));
    assert_eq!(leo, mid_base);
    assert_eq!(&data[..], &full[..mid_pos]);
}

#[test]
fn corruption_in_a_middle_segment_deletes_later_segments() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    let c = LogConfig {
        segment_bytes: 600,
        file_delete_delay_ms: 0,
        ..cfg()
    };
    let log = open_log(&dir, c.clone());
    for i in 0..20 {
        log.append_as_leader(&encode_batch(2, 40, 1000 + i, "k"), 0)
            .unwrap();
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() >= 3);
    log.close().unwrap();
    drop(log);
    let seg2 = dir.join(format!("{:020}.log", bases[1]));
    let mut bytes = fs::read(&seg2).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0xff;
    fs::write(&seg2, &bytes).unwrap();
    let log = open_with(
        &dir,
        c,
        LoadParams {
            recovery_point: bases[1],
            log_start_offset: None,
            had_clean_shutdown: false,
        },
    );
    assert_eq!(log.segment_base_offsets(), bases[..2].to_vec());
    let batches = scan(&fs::read(&seg2).unwrap());
    assert_eq!(log.log_end_offset(), batches.last().unwrap().2 + 1);
    assert_eq!(log.recovery_point(), bases[1]);
    log.deleter().run_all();
    assert!(!dir.join(format!("{:020}.log", bases[2])).exists());
    assert!(!dir.join(format!("{:020}.log.deleted", bases[2])).exists());
}

/// Every segment file's (name, length, mtime), after backdating the mtimes an hour so a
/// rewrite within the test's second is still visible.
fn backdate_and_stat(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        if !(name.ends_with(".log") || name.ends_with("index")) {
            continue;
        }
        let f = fs::OpenOptions::new().write(true).open(e.path()).unwrap();
        f.set_modified(old).unwrap();
        out.push((name, f.metadata().unwrap().len(), old));
    }
    out.sort();
    out
}

fn stat_files(
    dir: &Path,
    names: &[(String, u64, std::time::SystemTime)],
) -> Vec<(String, u64, std::time::SystemTime)> {
    names
        .iter()
        .map(|(n, _, _)| {
            let m = fs::metadata(dir.join(n)).unwrap();
            (n.clone(), m.len(), m.modified().unwrap())
        })
        .collect()
}

fn unclean(recovery_point: i64) -> LoadParams {
    LoadParams {
        recovery_point,
        log_start_offset: None,
        had_clean_shutdown: false,
    }
}

#[test]
fn unclean_restart_of_an_empty_log_leaves_its_preallocated_indexes_alone() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    drop(open_log(&dir, cfg())); // a kill -9: never closed, indexes still preallocated
    let before = backdate_and_stat(&dir);
    assert!(before
        .iter()
        .any(|(n, len, _)| n.ends_with(".index") && *len == 4096));
    let log = open_with(&dir, cfg(), unclean(0));
    assert_eq!(
        stat_files(&dir, &before),
        before,
        "no index was rebuilt or resized"
    );
    assert_eq!(log.log_end_offset(), 0);
    // The empty index is really empty: appends index and read back normally.
    for i in 0..20 {
        log.append_as_leader(&encode_batch(2, 40, 1000 + i, "k"), 0)
            .unwrap();
    }
    let info = log.read(7, 1 << 20, None, true).unwrap();
    assert!(info.records.length > 0);
    log.close().unwrap();
    let reopened = open_with(&dir, cfg(), unclean(0));
    assert_eq!(reopened.log_end_offset(), 40);
}

#[test]
fn unclean_restart_revalidates_only_segments_from_the_recovery_point() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    let c = LogConfig {
        segment_bytes: 600,
        ..cfg()
    };
    let log = open_log(&dir, c.clone());
    for i in 0..20 {
        log.append_as_leader(&encode_batch(2, 40, 1000 + i, "k"), 0)
            .unwrap();
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() >= 3);
    let recovery_point = bases[bases.len() - 2];
    drop(log); // crash
    let before = backdate_and_stat(&dir);
    let log = open_with(&dir, c, unclean(recovery_point));
    assert_eq!(log.log_end_offset(), 40);
    let older: Vec<_> = before
        .iter()
        .filter(|(n, _, _)| n[..20].parse::<i64>().unwrap() < recovery_point)
        .cloned()
        .collect();
    assert!(!older.is_empty());
    assert_eq!(
        stat_files(&dir, &older),
        older,
        "segments below the recovery point passed the sanity check untouched"
    );
}

#[test]
fn clean_restart_recovers_nothing_and_keeps_every_segment_file() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    let c = LogConfig {
        segment_bytes: 600,
        ..cfg()
    };
    let log = open_log(&dir, c.clone());
    for i in 0..20 {
        log.append_as_leader(&encode_batch(2, 40, 1000 + i, "k"), 0)
            .unwrap();
    }
    let bases = log.segment_base_offsets();
    log.close().unwrap();
    drop(log);
    let before = backdate_and_stat(&dir);
    let clean = LoadParams {
        recovery_point: 40,
        log_start_offset: None,
        had_clean_shutdown: true,
    };
    let log = open_with(&dir, c, clean);
    assert_eq!(log.log_end_offset(), 40);
    assert_eq!(log.segment_base_offsets(), bases);
    let active = format!("{:020}", bases.last().unwrap());
    // Only the active segment's indexes are re-extended for appends.
    let untouched: Vec<_> = before
        .iter()
        .filter(|(n, _, _)| !n.starts_with(&active) || n.ends_with(".log"))
        .cloned()
        .collect();
    assert_eq!(stat_files(&dir, &untouched), untouched);
    for o in [0, 13, 39] {
        let info = log.read(o, 1 << 20, None, true).unwrap();
        assert!(info.records.length > 0, "offset {o} readable");
    }
}

/// Backdates `path` an hour (so a rewrite within the test's second shows); returns the mtime.
fn backdate(path: &Path) -> std::time::SystemTime {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(old).unwrap();
    old
}

#[test]
fn restarting_an_empty_log_led_once_rewrites_no_epoch_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    let log = open_log(&dir, cfg());
    log.assign_epoch_start_offset(3, 0).unwrap(); // became leader at epoch 3
    drop(log); // kill -9
    let path = dir.join("leader-epoch-checkpoint");
    let old = backdate(&path);
    for _ in 0..2 {
        // Every load drops the entry at the log end offset again, in memory only.
        let log = open_with(&dir, cfg(), unclean(0));
        assert_eq!(log.latest_epoch(), None);
        assert_eq!(fs::read_to_string(&path).unwrap(), "0\n1\n3 0\n");
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), old);
    }
    // A batch without a leader epoch (-1) assigns none, but moves the log end past the
    // dropped entry: the file is written before, or the next load would keep epoch 3.
    let log = open_with(&dir, cfg(), unclean(0));
    log.append_as_follower(&encode_batch(2, 10, 1000, "k"))
        .unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "0\n0\n");
    drop(log);
    let log = open_with(&dir, cfg(), unclean(0));
    assert_eq!((log.log_end_offset(), log.latest_epoch()), (2, None));
}

#[test]
fn unclean_restart_of_an_empty_log_keeps_no_index_mapped() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    drop(open_log(&dir, cfg())); // kill -9: the indexes stay preallocated, all slots
    let log = open_with(&dir, cfg(), unclean(0));
    let mapped = || {
        let maps = fs::read_to_string("/proc/self/maps").unwrap();
        let dir = dir.to_string_lossy().to_string();
        maps.lines().filter(|l| l.contains(&dir)).count()
    };
    // Two mappings per empty log would exhaust vm.max_map_count near 33,000 logs.
    assert_eq!(
        mapped(),
        0,
        "recovery emptied the indexes and unmapped them"
    );
    for i in 0..10 {
        log.append_as_leader(&encode_batch(2, 40, 1000 + i, "k"), 0)
            .unwrap();
    }
    assert_eq!(mapped(), 2, "the first index entries map them again");
    let info = log.read(7, 1 << 20, None, true).unwrap();
    assert!(info.records.length > 0);
}
