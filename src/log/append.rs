//! Append paths (Log.append, analyzeAndValidateRecords, then LogValidator for v2 in place).
//! A leader append reads every record (validator.rs) and writes the client's bytes
//! unchanged apart from the offset/epoch prefix; a follower append checks batch headers
//! and CRCs only, as Kafka's replication path does.

use super::batch::{
    be_i32, check_batch, patch_for_leader, set_max_timestamp, BatchHeader, LENGTH_OFFSET,
    LOG_OVERHEAD,
};
use super::config::{LogConfig, TimestampType};
use super::errors::LogError;
use super::partition_log::{AppendOrigin, Log, LogAppendInfo, LogInner};
use super::producer_state::{AppendedBatch, BatchMetadata, EndTxnMarker, PendingUpdate};
use super::util::now_ms;
use super::validator::{validate_batch, MaxTimestamp, ValidationContext};

/// Leading batch bytes a leader rewrites: base offset, length, partition leader epoch.
const PATCHED_PREFIX: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Leader(AppendOrigin),
    Follower,
}

/// Validated view of an append: batch positions/headers and the byte length of complete batches.
struct Analysis {
    batches: Vec<(usize, BatchHeader)>,
    /// Leader appends: each batch's max timestamp as its records say (LogValidator).
    max_timestamps: Vec<MaxTimestamp>,
    valid_bytes: usize,
}

/// Walks the batches, validating each; a trailing incomplete batch is ignored (as Kafka
/// trims it). Any invalid batch rejects the whole append.
fn analyze(records: &[u8], config: &LogConfig, mode: Mode, now: i64) -> Result<Analysis, LogError> {
    let (mut batches, mut max_timestamps) = (Vec::new(), Vec::new());
    let mut pos = 0usize;
    while records.len() - pos >= LOG_OVERHEAD {
        let len = be_i32(records, pos + LENGTH_OFFSET);
        if len < 14 {
            return Err(LogError::CorruptMessage(format!(
                "record size {len} is less than the minimum record overhead (14)"
            )));
        }
        let size = len as usize + LOG_OVERHEAD;
        if size > records.len() - pos {
            break;
        }
        let batch = &records[pos..pos + size];
        if let Mode::Leader(_) = mode {
            if size > config.max_message_bytes.max(0) as usize {
                return Err(LogError::MessageTooLarge {
                    size,
                    max: config.max_message_bytes as usize,
                });
            }
        }
        let h = check_batch(batch)?;
        if let Mode::Leader(origin) = mode {
            max_timestamps.push(validate_leader_batch(batch, &h, config, origin, now)?);
        }
        batches.push((pos, h));
        pos += size;
    }
    Ok(Analysis {
        batches,
        max_timestamps,
        valid_bytes: pos,
    })
}

/// LogValidator: every record of a leader append is read before anything is written.
fn validate_leader_batch(
    batch: &[u8],
    h: &BatchHeader,
    config: &LogConfig,
    origin: AppendOrigin,
    now: i64,
) -> Result<MaxTimestamp, LogError> {
    let ctx = ValidationContext {
        now,
        compacted: config.cleanup_policy.compact,
        timestamp_type: config.message_timestamp_type,
        timestamp_difference_max_ms: config.message_timestamp_difference_max_ms,
        from_client: origin == AppendOrigin::Client,
    };
    validate_batch(batch, h, &ctx)
}

/// A CreateTime batch as the leader writes it. Normally only the 16-byte offset/epoch
/// prefix changes and goes out in front of the client's bytes (no copy). A batch whose
/// header max timestamp is not its records' is copied and corrected, with a new CRC, as
/// Kafka's LogValidator does (`batch.setMaxTimestamp`): the time index and retention then
/// see the records' real timestamps.
enum Patched {
    Prefix([u8; PATCHED_PREFIX]),
    Whole(Vec<u8>),
}

impl Patched {
    fn new(batch: &[u8], h: &BatchHeader, max: &MaxTimestamp, base: i64, epoch: i32) -> Patched {
        if max.timestamp != h.max_timestamp {
            let mut whole = batch.to_vec();
            set_max_timestamp(&mut whole, max.timestamp);
            patch_for_leader(&mut whole, base, epoch, None);
            return Patched::Whole(whole);
        }
        let mut prefix = [0u8; PATCHED_PREFIX];
        prefix.copy_from_slice(&batch[..PATCHED_PREFIX]);
        patch_for_leader(&mut prefix, base, epoch, None);
        Patched::Prefix(prefix)
    }
}

impl Log {
    /// Producer append on the leader: validates, assigns offsets from the log end offset,
    /// stamps `leader_epoch` (and LogAppendTime if configured), then writes.
    pub fn append_as_leader(
        &self,
        records: &[u8],
        leader_epoch: i32,
    ) -> Result<LogAppendInfo, LogError> {
        self.append_as_leader_with_origin(records, leader_epoch, AppendOrigin::Client)
    }

    pub fn append_as_leader_with_origin(
        &self,
        records: &[u8],
        leader_epoch: i32,
        origin: AppendOrigin,
    ) -> Result<LogAppendInfo, LogError> {
        let config = self.config();
        let now = now_ms();
        let analysis = analyze(records, &config, Mode::Leader(origin), now)?;
        let valid = &records[..analysis.valid_bytes];
        if valid.len() > config.segment_bytes as usize {
            return Err(LogError::RecordListTooLarge {
                size: valid.len(),
                max: config.segment_bytes as usize,
            });
        }
        let log_append_time =
            (config.message_timestamp_type == TimestampType::LogAppendTime).then_some(now);
        let mut g = self.lock();
        let first_offset = g.log_end_offset;
        let producers = match check_producer_state(
            &g,
            valid,
            &analysis.batches,
            first_offset,
            origin,
            log_append_time,
            &self.topic_partition,
        )? {
            ProducerCheck::Append(p) => p,
            ProducerCheck::Duplicate(dup) => return Ok(duplicate_info(&g, dup)),
        };
        let mut next = first_offset;
        let mut info = empty_info(&g);
        // CreateTime batches change only in fields the CRC does not cover (base offset,
        // leader epoch): those go out as patched 16-byte prefixes in front of the client's
        // bytes, written with one pwritev and no copy. LogAppendTime rewrites covered fields.
        let mut patched: Vec<Patched> = Vec::new();
        let mut scratch = Vec::new();
        if log_append_time.is_some() {
            scratch = std::mem::take(&mut g.scratch);
            scratch.clear();
            scratch.extend_from_slice(valid);
        }
        for ((pos, h), max) in analysis.batches.iter().zip(&analysis.max_timestamps) {
            let size = h.size();
            if log_append_time.is_some() {
                patch_for_leader(
                    &mut scratch[*pos..*pos + size],
                    next,
                    leader_epoch,
                    log_append_time,
                );
            } else {
                patched.push(Patched::new(
                    &valid[*pos..*pos + size],
                    h,
                    max,
                    next,
                    leader_epoch,
                ));
            }
            let last = next + h.last_offset_delta as i64;
            if log_append_time.is_none() && max.timestamp > info.max_timestamp {
                info.max_timestamp = max.timestamp;
                info.offset_of_max_timestamp = next + max.offset_delta as i64;
            }
            info.num_messages += h.record_count as i64;
            next = last + 1;
        }
        if let Some(t) = log_append_time {
            info.max_timestamp = t;
            info.offset_of_max_timestamp = next - 1;
            info.log_append_time = t;
        }
        info.first_offset = if analysis.batches.is_empty() {
            -1
        } else {
            first_offset
        };
        info.last_offset = if analysis.batches.is_empty() {
            -1
        } else {
            next - 1
        };
        info.num_batches = analysis.batches.len();
        info.valid_bytes = analysis.valid_bytes;
        info.last_leader_epoch = leader_epoch;
        let epochs = [(leader_epoch, first_offset)];
        let parts: Vec<&[u8]> = if log_append_time.is_some() {
            vec![&scratch[..]]
        } else {
            let mut parts = Vec::with_capacity(2 * patched.len());
            for ((pos, h), p) in analysis.batches.iter().zip(&patched) {
                match p {
                    Patched::Prefix(prefix) => {
                        parts.push(&prefix[..]);
                        parts.push(&valid[pos + PATCHED_PREFIX..pos + h.size()]);
                    }
                    Patched::Whole(batch) => parts.push(&batch[..]),
                }
            }
            parts
        };
        let r = self.write_locked(&mut g, &config, &parts, &info, &epochs, now);
        if log_append_time.is_some() {
            g.scratch = scratch;
        }
        r?;
        g.apply_producer_update(producers)?;
        Ok(info)
    }

    /// Replica append on a follower: the leader's offsets are kept; they must start at or
    /// above the log end offset and increase.
    pub fn append_as_follower(&self, records: &[u8]) -> Result<LogAppendInfo, LogError> {
        let config = self.config();
        let now = now_ms();
        let analysis = analyze(records, &config, Mode::Follower, now)?;
        let valid = &records[..analysis.valid_bytes];
        if valid.len() > config.segment_bytes as usize {
            return Err(LogError::RecordListTooLarge {
                size: valid.len(),
                max: config.segment_bytes as usize,
            });
        }
        let mut g = self.lock();
        let producers = check_producer_state(
            &g,
            valid,
            &analysis.batches,
            -1,
            AppendOrigin::Replication,
            None,
            &self.topic_partition,
        )?;
        let mut info = empty_info(&g);
        let mut prev_last = g.log_end_offset - 1;
        let mut epochs = Vec::new();
        for (_, h) in &analysis.batches {
            if h.base_offset <= prev_last {
                return Err(LogError::OffsetsOutOfOrder(format!(
                    "batch base offset {} is not above the previous offset {prev_last} (log end offset {})",
                    h.base_offset, g.log_end_offset
                )));
            }
            if h.max_timestamp > info.max_timestamp {
                info.max_timestamp = h.max_timestamp;
                info.offset_of_max_timestamp = h.last_offset();
            }
            if info.first_offset < 0 {
                info.first_offset = h.base_offset;
            }
            info.num_messages += h.record_count as i64;
            info.last_leader_epoch = h.partition_leader_epoch;
            epochs.push((h.partition_leader_epoch, h.base_offset));
            prev_last = h.last_offset();
        }
        info.last_offset = if analysis.batches.is_empty() {
            -1
        } else {
            prev_last
        };
        info.num_batches = analysis.batches.len();
        info.valid_bytes = analysis.valid_bytes;
        self.write_locked(&mut g, &config, &[valid], &info, &epochs, now)?;
        if let ProducerCheck::Append(p) = producers {
            g.apply_producer_update(p)?;
        }
        Ok(info)
    }

    /// Rolls if needed, appends, advances the log end offset, epoch cache and flush state.
    fn write_locked(
        &self,
        g: &mut LogInner,
        config: &LogConfig,
        parts: &[&[u8]],
        info: &LogAppendInfo,
        epochs: &[(i32, i64)],
        now: i64,
    ) -> Result<(), LogError> {
        if info.num_batches == 0 {
            return Ok(());
        }
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if g.active()
            .should_roll(config, len, info.max_timestamp, info.last_offset, now)
        {
            g.roll(config, Some(info.first_offset), &self.deleter)?;
        }
        assert!(
            info.first_offset >= g.log_end_offset,
            "offsets must strictly increase"
        );
        // The log end offset is about to pass what the load-time truncation dropped.
        g.epoch_cache.write_if_stale()?;
        g.active_mut().append(
            info.last_offset,
            info.max_timestamp,
            info.offset_of_max_timestamp,
            parts,
        )?;
        for &(epoch, start) in epochs {
            if epoch >= 0 && g.epoch_cache.latest_epoch().is_none_or(|l| epoch > l) {
                g.epoch_cache.assign(epoch, start)?;
            }
        }
        g.log_end_offset = info.last_offset + 1;
        g.producer_state.set_map_end_offset(g.log_end_offset);
        g.unflushed_messages += info.num_messages;
        if g.unflushed_messages >= config.flush_messages {
            let leo = g.log_end_offset;
            g.flush_up_to(leo)?;
        }
        g.check_invariants();
        Ok(())
    }
}

impl LogInner {
    /// Applies a written append to the producer state; each transaction it aborted goes
    /// into the `.txnindex` of the segment holding its marker (Log.append → updateTxnIndex).
    fn apply_producer_update(&mut self, pending: PendingUpdate) -> Result<(), LogError> {
        for txn in self.producer_state.commit(pending) {
            self.segment_for_mut(txn.last_offset)
                .txn_index
                .append(&txn)?;
        }
        Ok(())
    }
}

/// What the producer state says of an append.
enum ProducerCheck {
    Append(PendingUpdate),
    /// A client retried a batch already written: answer with its original offsets.
    Duplicate(BatchMetadata),
}

/// Log.analyzeAndValidateProducerState: the duplicate check (clients only), then the epoch,
/// sequence and transaction rules for every batch carrying a producer id. `first_offset` is
/// where a leader append starts (-1: the batches carry their offsets, as on followers).
fn check_producer_state(
    g: &LogInner,
    records: &[u8],
    batches: &[(usize, BatchHeader)],
    first_offset: i64,
    origin: AppendOrigin,
    log_append_time: Option<i64>,
    tp: &super::TopicPartition,
) -> Result<ProducerCheck, LogError> {
    if batches.iter().all(|(_, h)| h.producer_id < 0) {
        return Ok(ProducerCheck::Append(PendingUpdate::default()));
    }
    let mut appended = Vec::with_capacity(batches.len());
    let mut next = first_offset;
    for (pos, h) in batches {
        if origin == AppendOrigin::Client {
            if let Some(dup) = g.producer_state.find_duplicate(h) {
                return Ok(ProducerCheck::Duplicate(dup));
            }
        }
        let base_offset = if first_offset < 0 {
            h.base_offset
        } else {
            next
        };
        next = base_offset + h.last_offset_delta as i64 + 1;
        let marker = match h.is_control() {
            true => EndTxnMarker::from_batch(&records[*pos..*pos + h.size()]),
            false => None,
        };
        appended.push(AppendedBatch {
            header: h,
            base_offset,
            timestamp: log_append_time.unwrap_or(h.max_timestamp),
            marker,
        });
    }
    let pending = g.producer_state.prepare(origin, &appended, tp)?;
    Ok(ProducerCheck::Append(pending))
}

/// Log.append's answer to a duplicate: nothing is written; the original batch's offsets and
/// timestamp are returned (so acks=all waits for the original to be replicated).
fn duplicate_info(g: &LogInner, dup: BatchMetadata) -> LogAppendInfo {
    let mut info = empty_info(g);
    info.first_offset = dup.first_offset();
    info.last_offset = dup.last_offset;
    info.max_timestamp = dup.timestamp;
    info.offset_of_max_timestamp = dup.last_offset;
    info.log_append_time = dup.timestamp;
    info
}

fn empty_info(g: &LogInner) -> LogAppendInfo {
    LogAppendInfo {
        first_offset: -1,
        last_offset: -1,
        max_timestamp: -1,
        offset_of_max_timestamp: -1,
        log_append_time: -1,
        log_start_offset: g.log_start_offset,
        num_messages: 0,
        num_batches: 0,
        valid_bytes: 0,
        last_leader_epoch: -1,
    }
}
