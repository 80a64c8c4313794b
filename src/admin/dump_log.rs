//! `kafka-dump-log.sh` equivalent for `.log`, `.index`, `.timeindex`, `.txnindex` and
//! `.snapshot` files.
//! The default output follows the observed Kafka 2.1.1 transcript line formats;
//! `DumpFormat::Kafka28` prints the 2.8 layout (batch line + `| offset:` record lines).
//! `RecordDecoder::TransactionLog` is `--transaction-log-decoder`: `__transaction_state`
//! keys and values printed as TransactionLog.formatRecordKeyAndValue does.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::log::batch::{be_i32, be_i64, compression_name, parse_records, BatchHeader, HeaderIter};
use crate::log::util::offset_from_file_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpFormat {
    /// Line formats of the observed 2.1.1 tool (tools-transcript.txt).
    Kafka21,
    /// Line formats of the 2.8 tool.
    Kafka28,
}

/// How record keys and payloads are printed (kafka-dump-log.sh's decoder options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordDecoder {
    /// StringDecoder for key and value.
    String,
    /// `--transaction-log-decoder`: `__transaction_state` records.
    TransactionLog,
}

/// Dumps each file as kafka-dump-log.sh does (2.1.1 line formats).
pub fn dump_files(
    files: &[PathBuf],
    print_data_log: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    dump_files_with_format(files, print_data_log, DumpFormat::Kafka21, out)
}

pub fn dump_files_with_format(
    files: &[PathBuf],
    print_data_log: bool,
    format: DumpFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    dump_files_decoded(files, print_data_log, format, RecordDecoder::String, out)
}

/// A decoder other than String implies `print_data_log`, as in the tool.
pub fn dump_files_decoded(
    files: &[PathBuf],
    print_data_log: bool,
    format: DumpFormat,
    decoder: RecordDecoder,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let print_data_log = print_data_log || decoder != RecordDecoder::String;
    let mut not_found: Vec<(i64, i64)> = Vec::new();
    for f in files {
        writeln!(out, "Dumping {}", f.display())?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if name.ends_with(".log") {
            dump_log(f, print_data_log, format, decoder, out)?;
        } else if name.ends_with(".index") {
            dump_index(f, out)?;
        } else if name.ends_with(".timeindex") {
            dump_time_index(f, &mut not_found, out)?;
        } else if name.ends_with(crate::log::txn_index::TXN_INDEX_FILE_SUFFIX) {
            dump_txn_index(f, out)?;
        } else if name.ends_with(crate::log::producer_snapshot::PRODUCER_SNAPSHOT_FILE_SUFFIX) {
            dump_producer_snapshot(f, out)?;
        } else {
            eprintln!("Ignoring unknown file {}", f.display());
        }
    }
    if !not_found.is_empty() {
        writeln!(
            out,
            "The following indexed offsets are not found in the log."
        )?;
        for (indexed, found) in not_found {
            writeln!(out, "Indexed offset: {indexed}, found log offset: {found}")?;
        }
    }
    Ok(())
}

/// DumpLogSegments.dumpTxnIndex: one line per aborted transaction.
fn dump_txn_index(path: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    let data = fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let entries = crate::log::txn_index::decode_entries(&data)
        .map_err(|e| anyhow::anyhow!("transaction index {}: {e}", path.display()))?;
    for t in entries {
        writeln!(
            out,
            "version: {} producerId: {} firstOffset: {} lastOffset: {} lastStableOffset: {}",
            crate::log::txn_index::ABORTED_TXN_VERSION,
            t.producer_id,
            t.first_offset,
            t.last_offset,
            t.last_stable_offset
        )?;
    }
    Ok(())
}

fn base_offset_of(path: &Path) -> anyhow::Result<i64> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    offset_from_file_name(&name)
        .with_context(|| format!("cannot parse base offset from {}", path.display()))
}

fn sibling(path: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    let base = base_offset_of(path)?;
    Ok(path.with_file_name(crate::log::util::file_name(base, suffix)))
}

fn dump_log(
    path: &Path,
    print_data_log: bool,
    format: DumpFormat,
    decoder: RecordDecoder,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let data = fs::read(path).with_context(|| format!("read {}", path.display()))?;
    writeln!(out, "Starting offset: {}", base_offset_of(path)?)?;
    let mut valid = 0usize;
    for (pos, h) in HeaderIter::new(&data) {
        if h.magic != 2 {
            break;
        }
        let batch = &data[pos..pos + h.size()];
        let crc_ok = crate::log::batch::compute_crc(batch) == h.crc;
        let ts_type = if h.is_log_append_time() {
            "LogAppendTime"
        } else {
            "CreateTime"
        };
        let codec = compression_name(h.compression());
        let print_batch = !print_data_log || format == DumpFormat::Kafka28;
        if print_batch {
            let common = format!(
                "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} position: {pos} {ts_type}: {}",
                h.base_offset, h.last_offset(), h.record_count, h.base_sequence, h.last_sequence(), h.producer_id,
                h.producer_epoch, h.partition_leader_epoch, h.is_transactional(), h.is_control(), h.max_timestamp
            );
            match format {
                DumpFormat::Kafka21 => writeln!(
                    out,
                    "{common} isvalid: {crc_ok} size: {} magic: 2 compresscodec: {codec} crc: {}",
                    h.size(),
                    h.crc
                )?,
                DumpFormat::Kafka28 => writeln!(
                    out,
                    "{common} size: {} magic: 2 compresscodec: {codec} crc: {} isvalid: {crc_ok}",
                    h.size(),
                    h.crc
                )?,
            }
        }
        if print_data_log {
            print_records(batch, &h, pos, crc_ok, format, decoder, out)?;
        }
        valid = pos + h.size();
    }
    let trailing = data.len() - valid;
    if trailing > 0 {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        writeln!(out, "Found {trailing} invalid bytes at the end of {name}")?;
    }
    Ok(())
}

fn print_records(
    batch: &[u8],
    h: &BatchHeader,
    pos: usize,
    crc_ok: bool,
    format: DumpFormat,
    decoder: RecordDecoder,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let Ok(records) = parse_records(batch) else {
        return Ok(());
    }; // compressed: batch line only
    let ts_type = if h.is_log_append_time() {
        "LogAppendTime"
    } else {
        "CreateTime"
    };
    let codec = compression_name(h.compression());
    for r in records {
        let offset = h.base_offset + r.offset_delta as i64;
        let ts = if h.is_log_append_time() {
            h.max_timestamp
        } else {
            h.base_timestamp + r.timestamp_delta
        };
        let seq = if h.base_sequence < 0 {
            -1
        } else {
            crate::log::batch::increment_sequence(h.base_sequence, r.offset_delta)
        };
        let ksize = r.key.map(|k| k.len() as i64).unwrap_or(-1);
        let vsize = r.value.map(|v| v.len() as i64).unwrap_or(-1);
        let header_keys: Vec<String> = r
            .headers
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).to_string())
            .collect();
        let mut line = match format {
            DumpFormat::Kafka21 => format!(
                "offset: {offset} position: {pos} {ts_type}: {ts} isvalid: {crc_ok} keysize: {ksize} valuesize: {vsize} magic: 2 compresscodec: {codec} producerId: {} producerEpoch: {} sequence: {seq} isTransactional: {} headerKeys: [{}]",
                h.producer_id, h.producer_epoch, h.is_transactional(), header_keys.join(",")
            ),
            DumpFormat::Kafka28 => format!(
                "| offset: {offset} {ts_type}: {ts} keysize: {ksize} valuesize: {vsize} sequence: {seq} headerKeys: [{}]",
                header_keys.join(",")
            ),
        };
        if h.is_control() {
            if let Some(k) = r.key.filter(|k| k.len() >= 4) {
                let kind = match i16::from_be_bytes([k[2], k[3]]) {
                    0 => "ABORT".to_string(),
                    1 => "COMMIT".to_string(),
                    t => format!("UNKNOWN({t})"),
                };
                let epoch = r
                    .value
                    .filter(|v| v.len() >= 6)
                    .map(|v| be_i32(v, 2))
                    .unwrap_or(-1);
                line.push_str(&format!(" endTxnMarker: {kind} coordinatorEpoch: {epoch}"));
            }
        } else {
            let (key, payload) = decode_record(decoder, r.key, r.value);
            if let Some(k) = key {
                line.push_str(&format!(" key: {k}"));
            }
            if let Some(v) = payload {
                line.push_str(&format!(" payload: {v}"));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The key and payload text of a data record. A record the transaction-log decoder cannot
/// read is printed as strings with the reason (Kafka's tool would stop there).
fn decode_record(
    decoder: RecordDecoder,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> (Option<String>, Option<String>) {
    let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).to_string());
    match (decoder, key) {
        (RecordDecoder::TransactionLog, Some(k)) => {
            match crate::coordinator::transaction::log::format_record(k, value) {
                Ok((k, v)) => (Some(k), Some(v)),
                Err(why) => (
                    text(Some(k)).map(|k| format!("{k} (not a transaction log record: {why})")),
                    text(value),
                ),
            }
        }
        _ => (text(key), text(value)),
    }
}

/// Index entries until the first zero (unused preallocated) slot after entry 0.
/// DumpLogSegments.dumpProducerIdSnapshot: one line per producer; a corrupt snapshot is
/// reported on stderr, as Kafka does.
fn dump_producer_snapshot(path: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    let data = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let entries = match crate::log::producer_snapshot::decode_snapshot(&data) {
        Ok(e) => e,
        Err(why) => {
            eprintln!("Corrupt producer state snapshot {}: {why}", path.display());
            return Ok(());
        }
    };
    for e in entries {
        // Scala prints the Option[Long] as `Some(n)` / `None`.
        let txn = e
            .current_txn_first_offset
            .map_or("None".to_string(), |o| format!("Some({o})"));
        write!(
            out,
            "producerId: {} producerEpoch: {} coordinatorEpoch: {} currentTxnFirstOffset: {txn} ",
            e.producer_id, e.producer_epoch, e.coordinator_epoch
        )?;
        if let Some(b) = e.batch_metadata.front() {
            write!(
                out,
                "firstSequence: {} lastSequence: {} lastOffset: {} offsetDelta: {} timestamp: {}",
                b.first_seq(),
                b.last_seq,
                b.last_offset,
                b.offset_delta,
                b.timestamp
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn dump_index(path: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    let base = base_offset_of(path)?;
    let data = fs::read(path).with_context(|| format!("read {}", path.display()))?;
    for (i, e) in data.chunks_exact(8).enumerate() {
        let rel = be_i32(e, 0) as i64;
        if rel == 0 && i > 0 {
            break;
        }
        writeln!(out, "offset: {} position: {}", base + rel, be_i32(e, 4))?;
    }
    Ok(())
}

/// Every time-index slot (2.1.1 prints preallocated zero slots too), checked against the log.
fn dump_time_index(
    path: &Path,
    not_found: &mut Vec<(i64, i64)>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let base = base_offset_of(path)?;
    let data = fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let log = fs::read(sibling(path, ".log")?).unwrap_or_default();
    let index = fs::read(sibling(path, ".index")?).unwrap_or_default();
    for e in data.chunks_exact(12) {
        let ts = be_i64(e, 0);
        let offset = base + be_i32(e, 8) as i64;
        // Start scanning at the offset index's floor entry, as the tool does.
        let mut start = 0usize;
        for ie in index.chunks_exact(8) {
            let (o, p) = (base + be_i32(ie, 0) as i64, be_i32(ie, 4) as usize);
            if o <= offset && (p > 0 || o == base) && p < log.len() {
                start = p;
            }
        }
        let found = HeaderIter::new(&log[start.min(log.len())..])
            .map(|(_, h)| h.last_offset())
            .find(|l| *l >= offset);
        match found {
            Some(l) if l == offset => {}
            Some(l) => not_found.push((offset, l)),
            None => not_found.push((offset, -1)),
        }
        writeln!(out, "timestamp: {ts} offset: {offset}")?;
    }
    Ok(())
}
