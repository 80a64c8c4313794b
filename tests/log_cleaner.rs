//! Log compaction: the cleaner keeps only the newest value per key at its original offset,
//! leaves the active segment alone, keeps tombstones for delete.retention.ms, keeps indexes
//! consistent, rebuilds compressed batches with their codec, survives a crash mid-swap, and
//! runs by itself inside the LogManager (with `cleaner-offset-checkpoint`).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::log_util::open_with;
use zkafka::log::batch::{
    build_batch, check_batch, parse_records, HeaderIter, ATTRIBUTES_OFFSET, CRC_OFFSET,
    LENGTH_OFFSET, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD,
};
use zkafka::log::clean_batch::uncompressed_view;
use zkafka::log::config::CleanupPolicy;
use zkafka::log::{
    Cleaner, CleanerSettings, LoadParams, Log, LogConfig, LogManager, LogManagerConfig,
    TopicPartition,
};

type Rec = (i64, Option<String>, Option<String>);

fn compact_config() -> LogConfig {
    LogConfig {
        segment_bytes: 700,
        segment_index_bytes: 4096,
        index_interval_bytes: 100,
        cleanup_policy: CleanupPolicy {
            delete: false,
            compact: true,
        },
        ..LogConfig::default()
    }
}

fn batch(records: &[(&str, Option<&str>)], ts: i64) -> Vec<u8> {
    let recs: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| {
            (
                ts + i as i64,
                Some(k.as_bytes()),
                v.map(|v| v.as_bytes()),
                &[][..],
            )
        })
        .collect();
    build_batch(0, 0, &recs)
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

fn records_of(bytes: &[u8]) -> Vec<Rec> {
    let s = |b: Option<&[u8]>| b.map(|b| String::from_utf8(b.to_vec()).unwrap());
    let mut out = Vec::new();
    for (p, h) in HeaderIter::new(bytes) {
        let b = &bytes[p..p + h.size()];
        check_batch(b).expect("valid batch with a correct CRC");
        let plain = uncompressed_view(b, &h).unwrap();
        let plain = plain.as_deref().unwrap_or(b);
        for r in parse_records(plain).unwrap() {
            out.push((h.base_offset + r.offset_delta as i64, s(r.key), s(r.value)));
        }
    }
    out
}

/// Every record on disk, in file order, checking offsets strictly increase.
fn all_records(dir: &Path) -> Vec<Rec> {
    let mut out: Vec<Rec> = Vec::new();
    for f in segment_files(dir) {
        out.extend(records_of(&fs::read(&f).unwrap()));
    }
    for w in out.windows(2) {
        assert!(w[0].0 < w[1].0, "offsets must increase: {:?}", w);
    }
    out
}

/// Produces 12 rounds over keys k0..k5 (one or three records per batch), rolling segments.
fn fill(log: &Log) -> Vec<Rec> {
    let mut written = Vec::new();
    let ts = 1_700_000_000_000;
    for round in 0..12 {
        for k in 0..6 {
            let key = format!("k{k}");
            let v1 = format!("v{round}-{k}");
            let recs: Vec<(&str, Option<&str>)> = if k % 2 == 0 {
                vec![(key.as_str(), Some(v1.as_str()))]
            } else {
                vec![(key.as_str(), Some(v1.as_str())); 3]
            };
            let info = log.append_as_leader(&batch(&recs, ts), 0).unwrap();
            for o in info.first_offset..=info.last_offset {
                written.push((o, Some(key.clone()), Some(v1.clone())));
            }
        }
    }
    log.update_high_watermark(log.log_end_offset());
    written
}

fn expected_after_clean(written: &[Rec], end: i64) -> Vec<Rec> {
    let mut latest: HashMap<&Option<String>, i64> = HashMap::new();
    for (o, k, _) in written.iter().filter(|r| r.0 < end) {
        latest.insert(k, *o);
    }
    written
        .iter()
        .filter(|(o, k, _)| *o >= end || latest[k] == *o)
        .cloned()
        .collect()
}

fn new_log(dir: &Path, config: LogConfig) -> Log {
    open_with(dir, config, LoadParams::default())
}

#[test]
fn keeps_newest_value_per_key_at_original_offsets_and_leaves_active_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t-0");
    let log = new_log(&dir, compact_config());
    let written = fill(&log);
    assert!(log.num_segments() > 4, "segments rolled");
    let active_base = *log.segment_base_offsets().last().unwrap();
    let active_path = segment_files(&dir).pop().unwrap();
    let active_before = fs::read(&active_path).unwrap();
    let size_before = log.size();

    let res = Cleaner::new(CleanerSettings::default())
        .clean(&log, 0, i64::MAX)
        .unwrap();
    assert_eq!(
        res.end_offset, active_base,
        "cleans up to the active segment"
    );
    assert!(res.segments_cleaned >= 4 && res.bytes_after < res.bytes_before);
    assert!(log.size() < size_before);
    assert_eq!(
        fs::read(&active_path).unwrap(),
        active_before,
        "active untouched"
    );

    let got = all_records(&dir);
    assert_eq!(got, expected_after_clean(&written, active_base));
    assert_eq!(log.log_end_offset(), written.len() as i64);

    // Fetching any offset, removed or not, returns the batch holding the next survivor.
    for o in 0..log.log_end_offset() {
        let info = log.read(o, 1 << 20, None, true).unwrap();
        let recs = records_of(&info.records.to_vec().unwrap());
        let first = recs.iter().find(|r| r.0 >= o).expect("a later record");
        let next = got.iter().find(|r| r.0 >= o).unwrap();
        assert_eq!(first, next, "fetch from {o}");
    }
    check_indexes(&dir);

    // Reopening after a clean close sees the same log; the second pass has nothing to do.
    log.close().unwrap();
    drop(log);
    let log = open_with(
        &dir,
        compact_config(),
        LoadParams {
            recovery_point: written.len() as i64,
            log_start_offset: None,
            had_clean_shutdown: true,
        },
    );
    assert_eq!(all_records(&dir), got);
    let again = Cleaner::new(CleanerSettings::default())
        .clean(&log, res.end_offset, i64::MAX)
        .unwrap();
    assert_eq!(again.segments_cleaned, 0);
}

/// Every offset index entry points at a batch boundary holding that offset as its last;
/// time index timestamps never decrease.
fn check_indexes(dir: &Path) {
    for log in segment_files(dir) {
        let base: i64 = log.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        let data = fs::read(&log).unwrap();
        let batches: BTreeMap<usize, i64> = HeaderIter::new(&data)
            .map(|(p, h)| (p, h.last_offset()))
            .collect();
        let idx = fs::read(log.with_extension("index")).unwrap_or_default();
        for e in idx.chunks_exact(8) {
            let rel = u32::from_be_bytes(e[..4].try_into().unwrap()) as i64;
            let pos = u32::from_be_bytes(e[4..].try_into().unwrap()) as usize;
            if rel == 0 && pos == 0 {
                continue;
            }
            assert_eq!(batches.get(&pos), Some(&(base + rel)), "{}", log.display());
        }
        let tidx = fs::read(log.with_extension("timeindex")).unwrap_or_default();
        let ts: Vec<i64> = tidx
            .chunks_exact(12)
            .map(|e| i64::from_be_bytes(e[..8].try_into().unwrap()))
            .filter(|t| *t != 0)
            .collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{}", log.display());
    }
}

fn set_mtime(path: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn tombstones_survive_delete_retention_then_go() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t-0");
    // Small segments so the cleaner cannot merge the tombstone's segment with later ones.
    let config = LogConfig {
        delete_retention_ms: 60_000,
        segment_bytes: 200,
        ..compact_config()
    };
    let log = new_log(&dir, config);
    let ts = 1_700_000_000_000;
    log.append_as_leader(&batch(&[("a", Some("1")), ("b", Some("1"))], ts), 0)
        .unwrap();
    log.append_as_leader(&batch(&[("a", None), ("c", Some("1"))], ts), 0)
        .unwrap();
    log.roll().unwrap();
    log.append_as_leader(&batch(&[("d", Some("1"))], ts), 0)
        .unwrap();
    log.roll().unwrap();
    log.update_high_watermark(log.log_end_offset());
    let mut cleaner = Cleaner::new(CleanerSettings::default());
    let r1 = cleaner.clean(&log, 0, i64::MAX).unwrap();
    assert_eq!(
        (r1.stats.tombstones_kept, r1.stats.tombstones_removed),
        (1, 0)
    );
    let tomb = (2, Some("a".to_string()), None);
    assert!(all_records(&dir).contains(&tomb), "first pass keeps it");

    // A young tombstone (its segment modified within delete.retention.ms of the newest
    // clean segment) stays through the next pass.
    log.append_as_leader(&batch(&[("e", Some("1"))], ts), 0)
        .unwrap();
    log.roll().unwrap();
    log.update_high_watermark(log.log_end_offset());
    let r2 = cleaner.clean(&log, r1.end_offset, i64::MAX).unwrap();
    assert!(r2.segments_cleaned > 0);
    assert!(all_records(&dir).contains(&tomb), "still within retention");

    // Age the tombstone's segment past the horizon: the next pass drops it.
    let first = segment_files(&dir).remove(0);
    set_mtime(&first, SystemTime::now() - Duration::from_secs(3600));
    log.append_as_leader(&batch(&[("f", Some("1"))], ts), 0)
        .unwrap();
    log.roll().unwrap();
    log.update_high_watermark(log.log_end_offset());
    let r3 = cleaner.clean(&log, r2.end_offset, i64::MAX).unwrap();
    assert_eq!(r3.stats.tombstones_removed, 1, "{r3:?}");
    let keys: Vec<Option<String>> = all_records(&dir).into_iter().map(|r| r.1).collect();
    assert!(!keys.contains(&Some("a".into())), "{keys:?}");
    for k in ["b", "c", "d", "e", "f"] {
        assert!(keys.contains(&Some(k.into())), "{k} kept");
    }
}

/// Turns an uncompressed batch into a gzip one (same header fields, new CRC).
fn gzip_batch(plain: &[u8]) -> Vec<u8> {
    let body = zkafka::record::codec::compress(1, &plain[RECORD_BATCH_OVERHEAD..]).unwrap();
    let mut b = plain[..RECORD_BATCH_OVERHEAD].to_vec();
    b.extend_from_slice(&body);
    let len = (b.len() - LOG_OVERHEAD) as i32;
    b[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    b[ATTRIBUTES_OFFSET + 1] |= 1;
    let crc = zkafka::log::batch::compute_crc(&b);
    b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    b
}

#[test]
fn compressed_batches_are_rebuilt_with_their_codec() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t-0");
    let log = new_log(&dir, compact_config());
    let ts = 1_700_000_000_000;
    let plain = batch(
        &[("x", Some("old")), ("y", Some("keep")), ("z", Some("old"))],
        ts,
    );
    log.append_as_leader(&gzip_batch(&plain), 0).unwrap();
    log.append_as_leader(
        &batch(&[("x", Some("new")), ("z", Some("new"))], ts + 10),
        0,
    )
    .unwrap();
    log.roll().unwrap();
    log.update_high_watermark(log.log_end_offset());
    Cleaner::new(CleanerSettings::default())
        .clean(&log, 0, i64::MAX)
        .unwrap();
    let data = fs::read(&segment_files(&dir)[0]).unwrap();
    let hs: Vec<_> = HeaderIter::new(&data).map(|(_, h)| h).collect();
    assert_eq!(hs[0].compression(), 1, "still gzip");
    assert_eq!(
        (hs[0].base_offset, hs[0].last_offset_delta),
        (0, 2),
        "range kept"
    );
    assert_eq!(hs[0].record_count, 1);
    assert_eq!(hs[0].base_timestamp, ts + 1, "first survivor's timestamp");
    assert_eq!(
        all_records(&dir),
        vec![
            (1, Some("y".into()), Some("keep".into())),
            (3, Some("x".into()), Some("new".into())),
            (4, Some("z".into()), Some("new".into())),
        ]
    );
}

#[test]
fn crash_between_swap_file_and_rename_recovers() {
    for deleted_old_first in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t-0");
        let log = new_log(&dir, compact_config());
        let written = fill(&log);
        let active_base = *log.segment_base_offsets().last().unwrap();
        // Cleaning with a larger segment.bytes makes one group of all inactive segments, so
        // recovery must also drop the replaced segments that are still there.
        log.update_config(LogConfig {
            segment_bytes: 1 << 20,
            ..compact_config()
        });
        let mut cleaner = Cleaner::new(CleanerSettings {
            halt_after_swap_file: true,
            ..CleanerSettings::default()
        });
        cleaner.clean(&log, 0, i64::MAX).unwrap();
        drop(log);
        let swaps: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".log.swap"))
            .collect();
        assert_eq!(swaps.len(), 1, "the broker 'died' with a swap file");
        if deleted_old_first {
            // Died later: the replaced segments were already renamed to .deleted.
            for f in segment_files(&dir) {
                let name = f.file_name().unwrap().to_string_lossy().to_string();
                let base: i64 = name[..20].parse().unwrap();
                if base < active_base {
                    fs::rename(&f, format!("{}.deleted", f.display())).unwrap();
                }
            }
        }
        let log = open_with(
            &dir,
            compact_config(),
            LoadParams {
                recovery_point: 0,
                log_start_offset: None,
                had_clean_shutdown: false,
            },
        );
        let leftovers: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".swap") || n.ends_with(".cleaned") || n.ends_with(".deleted"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert_eq!(log.segment_base_offsets(), vec![0, active_base]);
        assert_eq!(
            all_records(&dir),
            expected_after_clean(&written, active_base)
        );
        assert_eq!(log.log_end_offset(), written.len() as i64);
        check_indexes(&dir);
    }
}

#[test]
fn log_manager_cleans_in_the_background_and_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lm = LogManagerConfig::new(vec![tmp.path().to_path_buf()]);
    lm.cleaner.backoff_ms = 20;
    lm.cleaner.dedupe_buffer_size = 1 << 20;
    lm.initial_task_delay_ms = 3_600_000;
    let manager = LogManager::startup(lm, compact_config(), HashMap::new()).unwrap();
    manager.start_background_tasks();
    let tp = TopicPartition::new("t", 0);
    let log: Arc<Log> = manager.get_or_create_log(&tp, None, true).unwrap();
    let written = fill(&log);
    let active_base = *log.segment_base_offsets().last().unwrap();
    let ckpt = tmp.path().join("cleaner-offset-checkpoint");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = fs::read_to_string(&ckpt).unwrap_or_default();
        if text == format!("0\n1\nt 0 {active_base}\n") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "checkpoint: {text:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        all_records(&tmp.path().join("t-0")),
        expected_after_clean(&written, active_base)
    );
    manager.shutdown().unwrap();
}

/// kcat's view of the whole topic: (offset, key, value) in order.
async fn kcat_all(bootstrap: &str, topic: &str) -> Vec<(i64, String, String)> {
    let out = common::data_util::kcat_with_input(
        &[
            "-C",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%o\t%k\t%s\n",
        ],
        b"",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut it = l.splitn(3, '\t');
            let o = it.next().unwrap().parse().unwrap();
            (o, it.next().unwrap().into(), it.next().unwrap_or("").into())
        })
        .collect()
}

/// A real broker compacts a `cleanup.policy=compact` topic by itself: kcat produces 10
/// rounds over 20 keys into small, rolling segments; once the cleaner has run, kcat reads
/// exactly the newest value of each key, each at the offset it was produced at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_compacts_a_topic_end_to_end_with_kcat() {
    let (zk, broker) = common::data_util::single_broker(&[
        ("log.cleaner.backoff.ms", "100"),
        ("log.cleaner.dedupe.buffer.size", "2097152"),
        ("offsets.topic.num.partitions", "1"),
    ]);
    let bootstrap = broker.bootstrap();
    let topic = "compacted";
    common::data_util::create_topic(
        &zk.connect_string(),
        &bootstrap,
        topic,
        1,
        &[1],
        &[
            ("cleanup.policy", "compact"),
            ("segment.bytes", "1024"),
            ("segment.ms", "300"),
            ("min.cleanable.dirty.ratio", "0.01"),
        ],
    )
    .await;
    const KEYS: usize = 20;
    const ROUNDS: usize = 10;
    for round in 0..ROUNDS {
        let input: String = (0..KEYS)
            .map(|k| format!("key{k:02}:r{round}-{k}\n"))
            .collect();
        common::data_util::kcat_with_input(
            &["-P", "-b", &bootstrap, "-t", topic, "-K", ":", "-p", "0"],
            input.as_bytes(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    // Let the last round's segment age past segment.ms; one more record then rolls it, so
    // every round except this marker becomes cleanable.
    tokio::time::sleep(Duration::from_millis(500)).await;
    common::data_util::kcat_with_input(
        &["-P", "-b", &bootstrap, "-t", topic, "-K", ":", "-p", "0"],
        b"zz-end:done\n",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let mut expected: Vec<(i64, String, String)> = (0..KEYS)
        .map(|k| {
            (
                ((ROUNDS - 1) * KEYS + k) as i64,
                format!("key{k:02}"),
                format!("r{}-{k}", ROUNDS - 1),
            )
        })
        .collect();
    expected.push(((ROUNDS * KEYS) as i64, "zz-end".into(), "done".into()));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = kcat_all(&bootstrap, topic).await;
        if got == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not compacted in time: {} records, first {:?}\nbroker log tail:\n{}",
            got.len(),
            got.first(),
            common::tail_file(broker.log_path(), 40)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let log = broker.log_contents();
    for l in log.lines().filter(|l| l.contains("LogCleaner")) {
        eprintln!("{l}");
    }
    assert!(
        log.contains("cleaned log compacted-0"),
        "one summary line per pass:\n{}",
        common::tail_file(broker.log_path(), 40)
    );
    let ckpt = fs::read_to_string(broker.log_dir().join("cleaner-offset-checkpoint")).unwrap();
    assert!(ckpt.contains("compacted 0 "), "{ckpt}");
}

#[test]
fn a_full_dedupe_buffer_cleans_part_of_the_dirty_section_per_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t-0");
    let log = new_log(&dir, compact_config());
    let written = fill(&log);
    let active_base = *log.segment_base_offsets().last().unwrap();
    // Room for 4 of the 6 keys: each pass stops where the map filled up.
    let mut cleaner = Cleaner::new(CleanerSettings {
        dedupe_buffer_bytes: 4 * zkafka::log::offset_map::BYTES_PER_ENTRY,
        load_factor: 1.0,
        ..CleanerSettings::default()
    });
    let mut first_dirty = 0;
    let mut passes = 0;
    while first_dirty < active_base {
        let r = cleaner.clean(&log, first_dirty, i64::MAX).unwrap();
        assert!(r.end_offset > first_dirty, "progress: {r:?}");
        assert!(r.end_offset < active_base || passes > 0);
        first_dirty = r.end_offset;
        passes += 1;
        assert!(passes < 100);
    }
    assert!(passes > 1, "the map bound forced several passes");
    // Every pass kept what it could not judge, so nothing newer was ever lost.
    let got = all_records(&dir);
    let mut latest: HashMap<Option<String>, Rec> = HashMap::new();
    for r in &written {
        latest.insert(r.1.clone(), r.clone());
    }
    for r in latest.values() {
        assert!(got.contains(r), "newest {r:?} kept");
    }
    assert!(got.len() < written.len());
}

fn lister(log: Arc<Log>, dir: PathBuf) -> Box<zkafka::log::cleaner_manager::LogLister> {
    Box::new(move || vec![(TopicPartition::new("t", 0), log.clone(), dir.clone())])
}

#[test]
fn compaction_lags_and_dirty_ratio_choose_what_is_cleaned() {
    let now = zkafka::log::util::now_ms();
    // min.compaction.lag.ms: records younger than the lag stay dirty.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t-0");
    let young = LogConfig {
        min_compaction_lag_ms: 3_600_000,
        min_cleanable_dirty_ratio: 0.0,
        ..compact_config()
    };
    let log = Arc::new(new_log(&dir, young));
    for i in 0..20 {
        log.append_as_leader(&batch(&[("k", Some(&format!("{i:040}")))], now), 0)
            .unwrap();
    }
    log.update_high_watermark(log.log_end_offset());
    assert!(log.num_segments() > 2);
    let cleaner = zkafka::log::LogCleaner::new(
        zkafka::log::LogCleanerConfig::default(),
        lister(log.clone(), tmp.path().to_path_buf()),
    );
    assert!(cleaner.clean_once().unwrap().is_none(), "all too young");

    // Ratio 1.0 can never be exceeded, but max.compaction.lag.ms forces the pass.
    log.update_config(LogConfig {
        min_cleanable_dirty_ratio: 1.0,
        ..compact_config()
    });
    assert!(
        cleaner.clean_once().unwrap().is_none(),
        "ratio not exceeded"
    );
    log.update_config(LogConfig {
        min_cleanable_dirty_ratio: 1.0,
        max_compaction_lag_ms: 1,
        ..compact_config()
    });
    std::thread::sleep(Duration::from_millis(5));
    let (tp, r) = cleaner.clean_once().unwrap().expect("forced by max lag");
    assert_eq!(tp, TopicPartition::new("t", 0));
    assert!(r.segments_cleaned > 0 && r.stats.records_kept < r.stats.records_read);
    assert_eq!(
        cleaner.checkpoints()[&tp],
        r.end_offset,
        "cleaner-offset-checkpoint written"
    );
    // A follower truncation below the checkpoint pulls it down on the next look.
    log.truncate_to(r.end_offset - 2).unwrap();
    assert!(cleaner.clean_once().unwrap().is_none());
    // (The log end lands at the last survivor below the truncation offset.)
    assert!(log.log_end_offset() <= r.end_offset - 2);
    assert_eq!(cleaner.checkpoints()[&tp], log.log_end_offset());
}
