//! Opening a partition log: file clean-up, segment loading, index sanity checks and
//! crash recovery after an unclean shutdown (Log.scala `loadSegments`, `recoverLog`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use super::checkpoint::LEADER_EPOCH_CHECKPOINT_FILE;
use super::config::LogConfig;
use super::deleter::FileDeleter;
use super::epoch_cache::LeaderEpochFileCache;
use super::errors::{IoContext, LogError};
use super::partition_log::{Log, LogInner};
use super::producer_state::ProducerStateManager;
use super::segment::LogSegment;
use super::txn_index::TXN_INDEX_FILE_SUFFIX;
use super::util::{
    now_ms, offset_from_file_name, segment_path, CLEANED_FILE_SUFFIX, DELETED_FILE_SUFFIX,
    INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, SWAP_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX,
};
use super::TopicPartition;

/// What the LogManager knows about a log before opening it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadParams {
    pub recovery_point: i64,
    /// From `log-start-offset-checkpoint`, if listed there.
    pub log_start_offset: Option<i64>,
    pub had_clean_shutdown: bool,
}

impl Log {
    /// Opens (creating if needed) the log in `dir`, recovering it if the shutdown was unclean.
    pub fn open(
        dir: &Path,
        topic_partition: TopicPartition,
        config: LogConfig,
        params: LoadParams,
        deleter: Arc<FileDeleter>,
    ) -> Result<Log, LogError> {
        fs::create_dir_all(dir).ctx(|| format!("create log dir {}", dir.display()))?;
        let (bases, swapped) = clean_dir(dir)?;
        // Segments whose `.txnindex` must be rebuilt by replaying the log: the swapped-in
        // ones, those whose indexes were rebuilt, and (below) the recovered ones.
        let mut rebuild_txn_from = swapped.iter().copied().min();
        let mut epoch_cache = LeaderEpochFileCache::load(&dir.join(LEADER_EPOCH_CHECKPOINT_FILE))?;
        let max_index = config.segment_index_bytes.max(0) as usize;

        // Unclean shutdown: every segment from the one holding the recovery point onwards is
        // re-validated below anyway, so only the older ones get the sanity check. (Checking
        // the newer ones too would flag the never-written, zero-filled tail of a crashed
        // active segment's preallocated index as corrupt and rebuild it for nothing.)
        let recover_from = match params.had_clean_shutdown {
            true => i64::MAX,
            false => bases
                .iter()
                .copied()
                .take_while(|b| *b <= params.recovery_point)
                .last()
                .unwrap_or(i64::MIN),
        };
        let mut segments = BTreeMap::new();
        for base in bases {
            let index_missing = !segment_path(dir, base, INDEX_FILE_SUFFIX).exists()
                || !segment_path(dir, base, TIME_INDEX_FILE_SUFFIX).exists();
            let mut seg = LogSegment::open(dir, base, &config, true)?;
            if base < recover_from
                && check_or_rebuild_indexes(dir, &mut seg, index_missing, max_index)?
            {
                rebuild_txn_from = Some(rebuild_txn_from.map_or(base, |r| r.min(base)));
            }
            segments.insert(base, seg);
        }

        let mut recovery_point = params.recovery_point;
        if !params.had_clean_shutdown && !segments.is_empty() {
            let to_recover: Vec<i64> = segments.range(recover_from..).map(|(b, _)| *b).collect();
            if let Some(first) = to_recover.first() {
                rebuild_txn_from = Some(rebuild_txn_from.map_or(*first, |r| r.min(*first)));
            }
            recover_segments(
                dir,
                &mut segments,
                &to_recover,
                &mut epoch_cache,
                &config,
                &deleter,
            )?;
        }

        let mut log_end_offset = match segments.values_mut().next_back() {
            Some(s) => s.read_next_offset()?,
            None => 0,
        };
        if let Some(lso) = params.log_start_offset {
            if !segments.is_empty() && log_end_offset < lso {
                tracing::warn!(dir = %dir.display(), log_end_offset, log_start_offset = lso, "deleting all segments: log end offset below log start offset");
                for (_, mut s) in std::mem::take(&mut segments) {
                    deleter.schedule(s.rename_to_deleted()?, config.file_delete_delay_ms);
                }
            }
        }
        if segments.is_empty() {
            let base = params.log_start_offset.unwrap_or(0).max(0);
            segments.insert(base, LogSegment::open(dir, base, &config, false)?);
            log_end_offset = base;
        }
        let first_base = *segments.keys().next().expect("non-empty");
        let log_start_offset = params
            .log_start_offset
            .unwrap_or(first_base)
            .max(first_base)
            .min(log_end_offset);
        recovery_point = if params.had_clean_shutdown {
            log_end_offset
        } else {
            recovery_point.min(log_end_offset)
        };
        recovery_point = recovery_point.max(log_start_offset.min(log_end_offset));
        epoch_cache.truncate_on_load(log_start_offset, log_end_offset)?;
        for seg in segments.values_mut().rev().skip(1) {
            seg.trim_indexes()?;
        }
        let active = segments.values_mut().next_back().expect("active");
        active.resize_indexes(max_index)?;

        let inner = LogInner {
            dir: dir.to_path_buf(),
            segments,
            log_start_offset,
            log_end_offset,
            high_watermark: log_start_offset,
            recovery_point,
            epoch_cache,
            unflushed_messages: 0,
            last_flush_ms: now_ms(),
            pending_flushes: Vec::new(),
            scratch: Vec::new(),
            truncated_to: None,
            producer_state: ProducerStateManager::new(log_start_offset),
        };
        inner.check_invariants();
        let mut inner = inner;
        inner.remove_stray_producer_snapshots();
        inner.load_producer_state_rebuilding(rebuild_txn_from)?;
        Ok(Log {
            topic_partition,
            inner: Mutex::new(inner),
            config: RwLock::new(Arc::new(config)),
            deleter,
            dir_failure: std::sync::OnceLock::new(),
        })
    }
}

/// Kafka's LogSegment.sanityCheck on load: a missing or inconsistent index is rebuilt
/// from the `.log`, nothing else is touched here. Returns whether it was rebuilt (its
/// `.txnindex` is then rebuilt too, by the producer-state replay).
fn check_or_rebuild_indexes(
    dir: &Path,
    seg: &mut LogSegment,
    index_missing: bool,
    max_index: usize,
) -> Result<bool, LogError> {
    let base = seg.base_offset();
    let verdict = if index_missing {
        Err("index file missing".to_string())
    } else {
        seg.sanity_check()
    };
    let Err(reason) = verdict else {
        return Ok(false);
    };
    tracing::warn!(dir = %dir.display(), base_offset = base, %reason, "rebuilding index of segment");
    seg.resize_indexes(max_index)?;
    seg.recover(None)?;
    Ok(true)
}

/// Unclean shutdown: re-validates `to_recover` (the segments from the recovery point on) in
/// order; a corrupt tail is truncated and every later segment deleted (Log.recoverLog).
fn recover_segments(
    dir: &Path,
    segments: &mut BTreeMap<i64, LogSegment>,
    to_recover: &[i64],
    epoch_cache: &mut LeaderEpochFileCache,
    config: &LogConfig,
    deleter: &FileDeleter,
) -> Result<(), LogError> {
    let max_index = config.segment_index_bytes.max(0) as usize;
    let total: u64 = to_recover.iter().map(|b| segments[b].size()).sum();
    if total > 0 {
        tracing::info!(dir = %dir.display(), segments = to_recover.len(), bytes = total, "recovering unflushed segments");
    }
    for (i, base) in to_recover.iter().enumerate() {
        let seg = segments.get_mut(base).expect("listed");
        if seg.size() == 0 {
            // Nothing to validate: the index is empty by definition, its file left as is.
            seg.reset_indexes();
            continue;
        }
        seg.resize_indexes(max_index)?;
        let truncated = seg.recover(Some(epoch_cache))?;
        if truncated > 0 {
            tracing::warn!(dir = %dir.display(), base_offset = base, truncated, "truncated corrupt tail; deleting later segments");
            for later in &to_recover[i + 1..] {
                let mut s = segments.remove(later).expect("listed");
                let paths = s.rename_to_deleted()?;
                deleter.schedule(paths, config.file_delete_delay_ms);
            }
            break;
        }
    }
    Ok(())
}

/// Removes leftovers of interrupted operations; returns the base offsets of `.log` files
/// and those of completed cleaner swaps among them.
fn clean_dir(dir: &Path) -> Result<(Vec<i64>, Vec<i64>), LogError> {
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    let mut swapped = Vec::new();
    for entry in fs::read_dir(dir).ctx(|| format!("list {}", dir.display()))? {
        let entry = entry.ctx(|| format!("list {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        if name.ends_with(DELETED_FILE_SUFFIX)
            || name.ends_with(CLEANED_FILE_SUFFIX)
            || name.ends_with(".tmp")
        {
            fs::remove_file(&path).ctx(|| format!("delete {}", path.display()))?;
        } else if let Some(stripped) = name.strip_suffix(SWAP_FILE_SUFFIX) {
            if stripped.ends_with(LOG_FILE_SUFFIX) {
                // A completed cleaner swap: move it into place; recovery re-validates it.
                fs::rename(&path, dir.join(stripped))
                    .ctx(|| format!("complete swap {}", path.display()))?;
                if let Some(b) = offset_from_file_name(stripped) {
                    for suffix in [
                        INDEX_FILE_SUFFIX,
                        TIME_INDEX_FILE_SUFFIX,
                        TXN_INDEX_FILE_SUFFIX,
                    ] {
                        let _ = fs::remove_file(segment_path(dir, b, suffix));
                    }
                    logs.push(b);
                    swapped.push(b);
                }
            } else {
                fs::remove_file(&path).ctx(|| format!("delete {}", path.display()))?;
            }
        } else if name.ends_with(LOG_FILE_SUFFIX) {
            if let Some(b) = offset_from_file_name(&name) {
                logs.push(b);
            }
        } else if name.ends_with(INDEX_FILE_SUFFIX)
            || name.ends_with(TIME_INDEX_FILE_SUFFIX)
            || name.ends_with(TXN_INDEX_FILE_SUFFIX)
        {
            if let Some(b) = offset_from_file_name(&name) {
                indexes.push((b, path));
            }
        }
    }
    logs.sort_unstable();
    logs.dedup();
    for b in &swapped {
        drop_segments_replaced_by_swap(dir, *b, &mut logs)?;
    }
    for (b, path) in indexes {
        if logs.binary_search(&b).is_err() && path.exists() {
            tracing::warn!(path = %path.display(), "deleting index without a log file");
            fs::remove_file(&path).ctx(|| format!("delete {}", path.display()))?;
        }
    }
    Ok((logs, swapped))
}

/// A promoted cleaner swap file replaces every segment whose base offset falls inside its
/// offset range; any still present (the crash came before they were renamed `.deleted`)
/// would duplicate offsets, so they go (Log.completeSwapOperations).
fn drop_segments_replaced_by_swap(
    dir: &Path,
    base: i64,
    logs: &mut Vec<i64>,
) -> Result<(), LogError> {
    let path = segment_path(dir, base, LOG_FILE_SUFFIX);
    let bytes = fs::read(&path).ctx(|| format!("read {}", path.display()))?;
    let next = super::batch::HeaderIter::new(&bytes)
        .last()
        .map(|(_, h)| h.last_offset() + 1)
        .unwrap_or(base);
    let doomed: Vec<i64> = logs
        .iter()
        .copied()
        .filter(|o| *o > base && *o < next)
        .collect();
    for o in &doomed {
        tracing::info!(dir = %dir.display(), base_offset = o, swap_base_offset = base, "deleting segment replaced by a completed cleaner swap");
        for suffix in [
            LOG_FILE_SUFFIX,
            INDEX_FILE_SUFFIX,
            TIME_INDEX_FILE_SUFFIX,
            TXN_INDEX_FILE_SUFFIX,
        ] {
            let p = segment_path(dir, *o, suffix);
            if p.exists() {
                fs::remove_file(&p).ctx(|| format!("delete {}", p.display()))?;
            }
        }
    }
    logs.retain(|o| !doomed.contains(o));
    Ok(())
}
