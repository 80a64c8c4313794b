//! Storage micro-benchmark: Log append/read vs raw sequential file write/read on the
//! same disk in the same run. Both sides end with one fsync. The page cache cannot be
//! dropped here, so reads measure page-cache bandwidth for both.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::batch::{build_batch, HeaderIter};
use super::config::LogConfig;
use super::deleter::FileDeleter;
use super::load::LoadParams;
use super::partition_log::Log;
use super::TopicPartition;

const READ_CHUNK: usize = 1 << 20;

fn mbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / secs.max(1e-9)
}

fn raw_write(path: &Path, batch: &[u8], n: u64) -> std::io::Result<f64> {
    let t = Instant::now();
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    for _ in 0..n {
        f.write_all(batch)?;
    }
    f.sync_all()?;
    Ok(t.elapsed().as_secs_f64())
}

fn raw_read(path: &Path) -> std::io::Result<(u64, f64)> {
    let t = Instant::now();
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; READ_CHUNK];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    Ok((total, t.elapsed().as_secs_f64()))
}

fn log_write(dir: &Path, batch: &[u8], n: u64) -> anyhow::Result<(Log, f64)> {
    let _ = fs::remove_dir_all(dir);
    let config = LogConfig::default();
    let log = Log::open(
        dir,
        TopicPartition::new("bench", 0),
        config,
        LoadParams::default(),
        Arc::new(FileDeleter::new()),
    )?;
    let t = Instant::now();
    for _ in 0..n {
        log.append_as_leader(batch, 0)?;
    }
    log.flush()?;
    Ok((log, t.elapsed().as_secs_f64()))
}

fn log_read(log: &Log) -> anyhow::Result<(u64, f64)> {
    let t = Instant::now();
    let mut buf = Vec::with_capacity(READ_CHUNK + (64 << 10));
    let (mut offset, mut total) = (0i64, 0u64);
    let leo = log.log_end_offset();
    while offset < leo {
        let info = log.read(offset, READ_CHUNK, None, true)?;
        buf.clear();
        info.records.read_into(&mut buf)?;
        total += buf.len() as u64;
        // A consumer finds the next fetch offset from the last batch header.
        match HeaderIter::new(&buf).last() {
            Some((_, h)) => offset = h.last_offset() + 1,
            None => break,
        }
    }
    Ok((total, t.elapsed().as_secs_f64()))
}

/// Appends `total_bytes` of `batch_bytes` batches to one Log and reads them back, and
/// measures raw sequential write/read of the same bytes on the same disk; prints MB/s.
pub fn run_log_bench(
    dir: &Path,
    total_bytes: u64,
    batch_bytes: usize,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    let value = vec![b'x'; batch_bytes.saturating_sub(80).max(1)];
    let batch = build_batch(0, -1, &[(super::util::now_ms(), None, Some(&value), &[])]);
    let n = (total_bytes / batch.len() as u64).max(1);
    let bytes = n * batch.len() as u64;
    let raw_path = dir.join("raw-sequential.bin");
    let log_dir = dir.join("bench-0");
    // Two rounds, alternating order, best of each, to damp page-cache writeback noise.
    let (mut best_raw_w, mut best_log_w) = (f64::MAX, f64::MAX);
    let mut log = None;
    for round in 0..2 {
        if round == 0 {
            best_raw_w = best_raw_w.min(raw_write(&raw_path, &batch, n)?);
            let (l, s) = log_write(&log_dir, &batch, n)?;
            best_log_w = best_log_w.min(s);
            log = Some(l);
        } else {
            drop(log.take());
            let (l, s) = log_write(&log_dir, &batch, n)?;
            best_log_w = best_log_w.min(s);
            log = Some(l);
            best_raw_w = best_raw_w.min(raw_write(&raw_path, &batch, n)?);
        }
    }
    let log = log.expect("written");
    let (mut best_raw_r, mut best_log_r) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        let (rb, rs) = raw_read(&raw_path)?;
        anyhow::ensure!(rb == bytes, "raw read {rb} bytes, expected {bytes}");
        best_raw_r = best_raw_r.min(rs);
        let (lb, ls) = log_read(&log)?;
        anyhow::ensure!(lb == bytes, "log read {lb} bytes, expected {bytes}");
        best_log_r = best_log_r.min(ls);
    }
    let (rw, lw, rr, lr) = (
        mbps(bytes, best_raw_w),
        mbps(bytes, best_log_w),
        mbps(bytes, best_raw_r),
        mbps(bytes, best_log_r),
    );
    writeln!(out, "log bench: {n} batches of {} bytes = {bytes} bytes (one fsync at the end of each write run)", batch.len())?;
    writeln!(out, "raw sequential write: {rw:.1} MB/s")?;
    writeln!(
        out,
        "log append:           {lw:.1} MB/s  ({:.0}% of raw write, target >= 80%)",
        lw / rw * 100.0
    )?;
    writeln!(out, "raw sequential read:  {rr:.1} MB/s")?;
    writeln!(
        out,
        "log read:             {lr:.1} MB/s  ({:.0}% of raw read, target >= 90%)",
        lr / rr * 100.0
    )?;
    writeln!(
        out,
        "note: page cache could not be dropped; reads are served from memory on both sides"
    )?;
    validation_cost(out)?;
    idempotence_cost(dir, out)?;
    drop(log);
    let _ = fs::remove_dir_all(&log_dir);
    let _ = fs::remove_file(&raw_path);
    Ok(())
}

/// LogValidator's cost per leader append, on batches shaped like the saturating produce
/// rows of scripts/bench.sh (16 KiB batches of 100-byte values), uncompressed and lz4.
fn validation_cost(out: &mut dyn Write) -> anyhow::Result<()> {
    use super::batch::{check_batch, encode_record, frame_batch};
    use super::validator::{validate_batch, ValidationContext};
    let value = [b'x'; 100];
    let count = 150;
    let mut body = Vec::new();
    for i in 0..count {
        encode_record(&mut body, i as i64, i, None, Some(&value), &[]);
    }
    let now = super::util::now_ms();
    let ctx = ValidationContext {
        now,
        compacted: false,
        timestamp_type: super::config::TimestampType::CreateTime,
        timestamp_difference_max_ms: i64::MAX,
        from_client: true,
    };
    for codec in [0u8, crate::record::codec::LZ4] {
        let payload = match codec {
            0 => body.clone(),
            c => crate::record::codec::compress(c, &body).map_err(anyhow::Error::msg)?,
        };
        let batch = frame_batch(0, -1, codec as i16, count as usize, now, now, &payload);
        let h = check_batch(&batch)?;
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed().as_secs_f64() < 0.5 {
            for _ in 0..100 {
                validate_batch(&batch, &h, &ctx)?;
            }
            n += 100;
        }
        let secs = t.elapsed().as_secs_f64();
        writeln!(
            out,
            "record validation ({}): {:.0} ns per {}-byte batch, {:.1} ns per record, {:.0} MB/s",
            super::batch::compression_name(codec),
            secs * 1e9 / n as f64,
            batch.len(),
            secs * 1e9 / (n * count as u64) as f64,
            mbps(n * batch.len() as u64, secs)
        )?;
    }
    Ok(())
}

/// Batches like the saturating produce rows' (150 records of 100 bytes); with a producer id,
/// consecutive sequences of one producer, as an idempotent producer sends them.
fn produce_batches(n: usize, producer_id: Option<i64>) -> Vec<Vec<u8>> {
    use super::batch::{encode_record, frame_batch, set_producer_fields};
    const COUNT: i32 = 150;
    let value = [b'x'; 100];
    let mut body = Vec::new();
    for i in 0..COUNT {
        encode_record(&mut body, i as i64, i, None, Some(&value), &[]);
    }
    let now = super::util::now_ms();
    let plain = frame_batch(0, -1, 0, COUNT as usize, now, now, &body);
    (0..n)
        .map(|i| {
            let mut b = plain.clone();
            if let Some(pid) = producer_id {
                set_producer_fields(&mut b, pid, 0, (i as i32).wrapping_mul(COUNT));
            }
            b
        })
        .collect()
}

/// This thread's CPU time in seconds: unlike wall time, not inflated by other processes on a
/// shared machine.
fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Appends `batches` to a fresh Log as the leader (validation, producer state, write), one
/// flush at the end; returns the thread's CPU seconds taken.
fn append_run(dir: &Path, batches: &[Vec<u8>]) -> anyhow::Result<f64> {
    let _ = fs::remove_dir_all(dir);
    let log = Log::open(
        dir,
        TopicPartition::new("bench-idempotence", 0),
        LogConfig::default(),
        LoadParams::default(),
        Arc::new(FileDeleter::new()),
    )?;
    let t = thread_cpu_secs();
    for b in batches {
        log.append_as_leader(b, 0)?;
    }
    log.flush()?;
    let secs = thread_cpu_secs() - t;
    drop(log);
    let _ = fs::remove_dir_all(dir);
    Ok(secs)
}

/// The broker's own cost of idempotence on the append path (ProducerStateManager's sequence
/// check and update per batch): the same batches appended with and without a producer id,
/// alternating, best of three each. Free of client and network effects, unlike the
/// producer rows of scripts/bench.sh.
fn idempotence_cost(dir: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    const BATCHES: usize = 5_000;
    let plain = produce_batches(BATCHES, None);
    let idempotent = produce_batches(BATCHES, Some(1_000));
    let bytes: u64 = plain.iter().map(|b| b.len() as u64).sum();
    let log_dir = dir.join("bench-idempotence-0");
    let (mut best_plain, mut best_idem) = (f64::MAX, f64::MAX);
    for round in 0..3 {
        if round % 2 == 0 {
            best_plain = best_plain.min(append_run(&log_dir, &plain)?);
            best_idem = best_idem.min(append_run(&log_dir, &idempotent)?);
        } else {
            best_idem = best_idem.min(append_run(&log_dir, &idempotent)?);
            best_plain = best_plain.min(append_run(&log_dir, &plain)?);
        }
    }
    let per_batch = |secs: f64| secs * 1e9 / BATCHES as f64;
    writeln!(
        out,
        "log append, plain batches:      {:.1} MB/s of CPU time, {:.0} ns per {}-byte batch",
        mbps(bytes, best_plain),
        per_batch(best_plain),
        plain[0].len()
    )?;
    writeln!(
        out,
        "log append, idempotent batches: {:.1} MB/s of CPU time, {:.0} ns per batch ({:.0}% of plain; producer id, epoch and sequence checked and recorded)",
        mbps(bytes, best_idem),
        per_batch(best_idem),
        best_plain / best_idem * 100.0
    )?;
    Ok(())
}
