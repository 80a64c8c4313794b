//! kafka-dump-log output against the observed transcript, and LogManager lifecycle.

mod common;

use std::collections::HashMap;
use std::fs;

use common::log_util::*;
use zkafka::admin::dump_log::{dump_files, dump_files_with_format, DumpFormat};
use zkafka::log::batch::build_batch;
use zkafka::log::{LogConfig, LogManager, LogManagerConfig, TopicPartition};

#[test]
fn dump_matches_transcript_line_formats() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("t1-0");
    let log = open_log(
        &dir,
        LogConfig {
            segment_index_bytes: 36,
            ..LogConfig::default()
        },
    );
    let batch = build_batch(
        0,
        -1,
        &[
            (1795314061719, Some(b"k5"), Some(b"value-5"), &[]),
            (1795314061720, Some(b"k11"), Some(b"value-11"), &[]),
        ],
    );
    log.append_as_leader(&batch, 0).unwrap();
    let seg = dir.join("00000000000000000000.log");
    let mut out = Vec::new();
    dump_files(std::slice::from_ref(&seg), true, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("Dumping {}", seg.display()));
    assert_eq!(lines[1], "Starting offset: 0");
    // Byte-identical to the transcript's first two record lines.
    assert_eq!(lines[2], "offset: 0 position: 0 CreateTime: 1795314061719 isvalid: true keysize: 2 valuesize: 7 magic: 2 compresscodec: NONE producerId: -1 producerEpoch: -1 sequence: -1 isTransactional: false headerKeys: [] key: k5 payload: value-5");
    assert_eq!(lines[3], "offset: 1 position: 0 CreateTime: 1795314061720 isvalid: true keysize: 3 valuesize: 8 magic: 2 compresscodec: NONE producerId: -1 producerEpoch: -1 sequence: -1 isTransactional: false headerKeys: [] key: k11 payload: value-11");

    let mut out = Vec::new();
    dump_files(std::slice::from_ref(&seg), false, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let h = zkafka::log::batch::BatchHeader::parse(&fs::read(&seg).unwrap());
    assert_eq!(
        text.lines().nth(2).unwrap(),
        format!("baseOffset: 0 lastOffset: 1 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false position: 0 CreateTime: 1795314061720 isvalid: true size: {} magic: 2 compresscodec: NONE crc: {}", h.size(), h.crc)
    );
    let mut out = Vec::new();
    dump_files_with_format(
        std::slice::from_ref(&seg),
        true,
        DumpFormat::Kafka28,
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text
        .lines()
        .nth(2)
        .unwrap()
        .ends_with(&format!("crc: {} isvalid: true", h.crc)));
    assert_eq!(text.lines().nth(3).unwrap(), "| offset: 0 CreateTime: 1795314061719 keysize: 2 valuesize: 7 sequence: -1 headerKeys: [] key: k5 payload: value-5");

    // Active (preallocated) index files, as in the transcript's index dump.
    let mut out = Vec::new();
    dump_files(
        &[
            dir.join("00000000000000000000.index"),
            dir.join("00000000000000000000.timeindex"),
        ],
        false,
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "offset: 0 position: 0");
    assert_eq!(
        lines[2],
        format!(
            "Dumping {}",
            dir.join("00000000000000000000.timeindex").display()
        )
    );
    assert_eq!(&lines[3..6], &["timestamp: 0 offset: 0"; 3]);
    assert_eq!(
        lines[6],
        "The following indexed offsets are not found in the log."
    );
    assert_eq!(
        &lines[7..10],
        &["Indexed offset: 0, found log offset: 1"; 3]
    );
}

#[test]
fn manager_lifecycle_checkpoints_and_clean_shutdown() {
    let d = tempfile::tempdir().unwrap();
    let dirs = vec![d.path().join("a"), d.path().join("b")];
    let mut mc = LogManagerConfig::new(dirs.clone());
    mc.file_delete_delay_ms = 0;
    let tp = |p| TopicPartition::new("t1", p);
    {
        let m = LogManager::startup(mc.clone(), small_config(), HashMap::new()).unwrap();
        assert!(
            LogManager::startup(mc.clone(), small_config(), HashMap::new()).is_err(),
            ".lock must be exclusive"
        );
        m.start_background_tasks();
        for p in 0..4 {
            let log = m.get_or_create_log(&tp(p), None, true).unwrap();
            log.append_as_leader(&encode_batch(2, 10, 1000, "k"), 0)
                .unwrap();
        }
        // Fewest-partitions placement alternates between the two dirs.
        assert!(dirs[0].join("t1-0").is_dir() && dirs[1].join("t1-1").is_dir());
        let hws: HashMap<_, _> = (0..4).map(|p| (tp(p), 2)).collect();
        m.checkpoint_high_watermarks(&hws).unwrap();
        assert_eq!(
            fs::read_to_string(dirs[0].join("replication-offset-checkpoint")).unwrap(),
            "0\n2\nt1 0 2\nt1 2 2\n"
        );
        assert_eq!(m.read_high_watermarks().unwrap(), hws);
        let gone = m.async_delete(&tp(3)).unwrap().unwrap();
        let name = gone.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with("t1-3.")
                && name.ends_with("-delete")
                && name.len() == "t1-3.".len() + 32 + 7,
            "{name}"
        );
        m.deleter().run_all();
        assert!(!gone.exists());
        m.shutdown().unwrap();
        assert!(dirs[0].join(".kafka_cleanshutdown").exists());
        assert_eq!(
            fs::read_to_string(dirs[0].join("recovery-point-offset-checkpoint")).unwrap(),
            "0\n2\nt1 0 2\nt1 2 2\n"
        );
        assert_eq!(
            fs::read_to_string(dirs[0].join("log-start-offset-checkpoint")).unwrap(),
            "0\n0\n"
        );
        // Closed segments have trimmed indexes (final time-index entry only).
        assert_eq!(
            fs::metadata(dirs[0].join("t1-0/00000000000000000000.index"))
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            fs::metadata(dirs[0].join("t1-0/00000000000000000000.timeindex"))
                .unwrap()
                .len(),
            12
        );
    }
    let m = LogManager::startup(mc, small_config(), HashMap::new()).unwrap();
    assert!(
        !dirs[0].join(".kafka_cleanshutdown").exists(),
        "marker is removed at startup"
    );
    assert_eq!(m.all_logs().len(), 3);
    let log = m.get_log(&tp(1)).unwrap();
    assert_eq!(
        (
            log.log_end_offset(),
            log.high_watermark(),
            log.recovery_point()
        ),
        (2, 2, 2)
    );
    assert_eq!(
        fs::read_to_string(dirs[1].join("t1-1/leader-epoch-checkpoint")).unwrap(),
        "0\n1\n0 0\n"
    );
}

#[test]
fn checkpoints_are_rewritten_only_when_their_content_changes() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("a");
    let m = LogManager::startup(
        LogManagerConfig::new(vec![dir.clone()]),
        small_config(),
        HashMap::new(),
    )
    .unwrap();
    let tp = TopicPartition::new("t1", 0);
    m.get_or_create_log(&tp, None, true).unwrap();
    let file = dir.join("replication-offset-checkpoint");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let backdate = || {
        fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap()
    };
    let mtime = || fs::metadata(&file).unwrap().modified().unwrap();
    let hws = |hw: i64| HashMap::from([(tp.clone(), hw)]);
    m.checkpoint_high_watermarks(&hws(0)).unwrap();
    backdate();
    m.checkpoint_high_watermarks(&hws(0)).unwrap();
    assert_eq!(mtime(), old, "an unchanged checkpoint is not rewritten");
    m.checkpoint_high_watermarks(&hws(5)).unwrap();
    assert_ne!(mtime(), old, "a changed checkpoint is written");
    assert_eq!(fs::read_to_string(&file).unwrap(), "0\n1\nt1 0 5\n");

    let rp = dir.join("recovery-point-offset-checkpoint");
    m.checkpoint_recovery_points();
    fs::OpenOptions::new()
        .write(true)
        .open(&rp)
        .unwrap()
        .set_modified(old)
        .unwrap();
    m.checkpoint_recovery_points();
    assert_eq!(fs::metadata(&rp).unwrap().modified().unwrap(), old);
}

/// Copies what the future log lacks from the current log (what the alter-log-dirs task does).
fn copy_into_future(m: &LogManager, tp: &TopicPartition) {
    let (current, future) = (m.get_log(tp).unwrap(), m.get_future_log(tp).unwrap());
    let data = current
        .read(future.log_end_offset(), 1 << 20, None, true)
        .unwrap();
    future
        .append_as_follower(&data.records.to_vec().unwrap())
        .unwrap();
    assert_eq!(future.log_end_offset(), current.log_end_offset());
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("t1-0"))
        .collect();
    v.sort();
    v
}

#[test]
fn future_logs_resume_after_a_restart_and_an_interrupted_swap_completes() {
    let d = tempfile::tempdir().unwrap();
    let dirs = vec![d.path().join("a"), d.path().join("b")];
    let mc = LogManagerConfig::new(dirs.clone());
    let tp = TopicPartition::new("t1", 0);
    {
        let m = LogManager::startup(mc.clone(), small_config(), HashMap::new()).unwrap();
        let log = m.get_or_create_log(&tp, None, true).unwrap();
        for _ in 0..2 {
            log.append_as_leader(&encode_batch(2, 10, 1000, "k"), 0)
                .unwrap();
        }
        assert!(m.get_or_create_future_log(&tp, 0).is_err(), "same dir");
        m.get_or_create_future_log(&tp, 1).unwrap();
        copy_into_future(&m, &tp);
        let future = names_in(&dirs[1]);
        assert!(
            future.len() == 1 && future[0].ends_with("-future") && future[0].len() == 5 + 32 + 7,
            "{future:?}"
        );
    } // a crash: no clean shutdown
    {
        let m = LogManager::startup(mc.clone(), small_config(), HashMap::new()).unwrap();
        assert_eq!(m.get_future_log(&tp).unwrap().log_end_offset(), 4);
        assert_eq!(m.log_dir_of(&tp).unwrap(), dirs[0]);
        let swapped = m.replace_current_with_future_log(&tp).unwrap();
        assert!(m.get_future_log(&tp).is_none());
        assert_eq!(m.log_dir_of(&tp).unwrap(), dirs[1]);
        assert_eq!(names_in(&dirs[1]), ["t1-0"]);
        assert!(names_in(&dirs[0])[0].ends_with("-delete"));
        // The swapped log keeps working under its new name: append, roll, read from 0.
        swapped
            .append_as_leader(&encode_batch(2, 10, 1000, "k"), 0)
            .unwrap();
        swapped.roll().unwrap();
        let all = swapped.read(0, 1 << 20, None, true).unwrap();
        assert!(all.records.path.starts_with(dirs[1].join("t1-0")));
        assert_eq!(swapped.log_end_offset(), 6);
        // Back to dir a, crashing between the two renames of the swap: the current log is
        // already `-delete`, the future one not renamed yet.
        m.get_or_create_future_log(&tp, 0).unwrap();
        copy_into_future(&m, &tp);
        m.shutdown().unwrap();
    }
    fs::rename(
        dirs[1].join("t1-0"),
        dirs[1].join("t1-0.0123456789abcdef0123456789abcdef-delete"),
    )
    .unwrap();
    let m = LogManager::startup(mc, small_config(), HashMap::new()).unwrap();
    assert_eq!(m.log_dir_of(&tp).unwrap(), dirs[0]);
    assert!(m.get_future_log(&tp).is_none());
    assert_eq!(m.get_log(&tp).unwrap().log_end_offset(), 6);
    assert!(names_in(&dirs[0]).contains(&"t1-0".to_string()));
    assert!(names_in(&dirs[0]).iter().all(|n| !n.ends_with("-future")));
}
