//! Fetch-side reads: whole batches as file byte ranges, timestamp lookups.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::errors::LogError;
use super::partition_log::{
    Log, LogOffsetMetadata, TimestampAndOffset, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP,
};
use super::txn_index::AbortedTxn;

/// A byte range of a segment file. The `Arc<File>` keeps the data readable even if the
/// segment is deleted meanwhile, so the network layer can sendfile it later.
#[derive(Debug, Clone)]
pub struct FileSlice {
    pub file: Option<Arc<File>>,
    pub path: PathBuf,
    pub position: u64,
    pub length: u64,
}

impl FileSlice {
    pub fn empty() -> FileSlice {
        FileSlice {
            file: None,
            path: PathBuf::new(),
            position: 0,
            length: 0,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Appends the range's bytes to `buf`.
    pub fn read_into(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let start = buf.len();
        buf.resize(start + self.length as usize, 0);
        file.read_exact_at(&mut buf[start..], self.position)
    }

    /// Appends the range's bytes to a frame under construction.
    pub fn read_into_buf(&self, buf: &mut bytes::BytesMut) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let start = buf.len();
        buf.resize(start + self.length as usize, 0);
        file.read_exact_at(&mut buf[start..], self.position)
    }

    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        let mut v = Vec::with_capacity(self.length as usize);
        self.read_into(&mut v)?;
        Ok(v)
    }

    pub fn to_bytes(&self) -> io::Result<Bytes> {
        self.to_vec().map(Bytes::from)
    }
}

/// Result of `Log::read` (Kafka's FetchDataInfo).
#[derive(Debug, Clone)]
pub struct FetchDataInfo {
    pub fetch_offset_metadata: LogOffsetMetadata,
    pub records: FileSlice,
    /// Always false: only whole batches are returned.
    pub first_entry_incomplete: bool,
    /// Offset after the last returned batch (the fetch offset when nothing is returned):
    /// the upper bound of the aborted transactions a read_committed fetch reports.
    pub next_offset: i64,
}

impl Log {
    /// Reads whole batches starting with the one containing `start_offset`, at most
    /// `max_bytes` (at least one batch if `min_one_message`), ending below `max_offset`
    /// (the high watermark for consumers; `None` reads up to the log end offset).
    pub fn read(
        &self,
        start_offset: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
        min_one_message: bool,
    ) -> Result<FetchDataInfo, LogError> {
        let mut g = self.lock();
        let (lso, leo) = (g.log_start_offset, g.log_end_offset);
        let empty_at = |g: &super::partition_log::LogInner, offset: i64| {
            let a = g.active();
            FetchDataInfo {
                fetch_offset_metadata: LogOffsetMetadata {
                    message_offset: offset,
                    segment_base_offset: a.base_offset(),
                    relative_position_in_segment: a.size(),
                },
                records: FileSlice::empty(),
                first_entry_incomplete: false,
                next_offset: offset,
            }
        };
        if start_offset == leo {
            return Ok(empty_at(&g, leo));
        }
        if start_offset > leo || start_offset < lso {
            return Err(LogError::OffsetOutOfRange {
                offset: start_offset,
                log_start_offset: lso,
                log_end_offset: leo,
            });
        }
        if max_offset.is_some_and(|m| start_offset >= m) {
            return Ok(empty_at(&g, start_offset));
        }
        let from = g
            .segments
            .range(..=start_offset)
            .next_back()
            .map(|(b, _)| *b)
            .unwrap_or(i64::MIN);
        let bases: Vec<i64> = g.segments.range(from..).map(|(b, _)| *b).collect();
        for base in bases {
            let seg = g.segments.get_mut(&base).expect("listed");
            if let Some(r) = seg.read(start_offset, max_bytes, max_offset, min_one_message)? {
                return Ok(FetchDataInfo {
                    fetch_offset_metadata: LogOffsetMetadata {
                        message_offset: start_offset,
                        segment_base_offset: base,
                        relative_position_in_segment: r.position,
                    },
                    records: FileSlice {
                        file: Some(seg.file()?),
                        path: seg.log_path().to_path_buf(),
                        position: r.position,
                        length: r.length,
                    },
                    first_entry_incomplete: false,
                    next_offset: r.next_offset.max(start_offset),
                });
            }
        }
        Ok(empty_at(&g, leo))
    }

    /// Log.collectAbortedTransactions: the aborted transactions overlapping `[start_offset,
    /// upper_bound)`, from the segment holding `start_offset` onwards until an entry's last
    /// stable offset reaches `upper_bound`. Only segments with aborts newer than the fetch
    /// offset are read, so a consumer at the tail of a log without recent aborts pays nothing.
    pub fn collect_aborted_transactions(
        &self,
        start_offset: i64,
        upper_bound: i64,
    ) -> Result<Vec<AbortedTxn>, LogError> {
        let g = self.lock();
        let from = g
            .segments
            .range(..=start_offset)
            .next_back()
            .map(|(b, _)| *b)
            .unwrap_or(i64::MIN);
        let mut out = Vec::new();
        for seg in g.segments.range(from..).map(|(_, s)| s) {
            let found = seg
                .txn_index
                .collect_aborted_txns(start_offset, upper_bound)?;
            out.extend(found.aborted);
            if found.is_complete {
                break;
            }
        }
        Ok(out)
    }

    /// ListOffsets: -2 = earliest, -1 = latest, else the first offset whose timestamp >= ts.
    pub fn fetch_offset_by_timestamp(
        &self,
        ts: i64,
    ) -> Result<Option<TimestampAndOffset>, LogError> {
        let mut g = self.lock();
        if ts == EARLIEST_TIMESTAMP {
            let o = g.log_start_offset;
            return Ok(Some(TimestampAndOffset {
                timestamp: -1,
                offset: o,
                leader_epoch: g.epoch_cache.epoch_for_offset(o),
            }));
        }
        if ts == LATEST_TIMESTAMP {
            let o = g.log_end_offset;
            return Ok(Some(TimestampAndOffset {
                timestamp: -1,
                offset: o,
                leader_epoch: g.epoch_cache.latest_epoch(),
            }));
        }
        let lso = g.log_start_offset;
        let Some(base) = g
            .segments
            .iter()
            .find(|(_, s)| s.largest_timestamp() >= ts)
            .map(|(b, _)| *b)
        else {
            return Ok(None);
        };
        let bases: Vec<i64> = g.segments.range(base..).map(|(b, _)| *b).collect();
        for b in bases {
            let seg = g.segments.get_mut(&b).expect("listed");
            if let Some((t, o, e)) = seg.find_offset_by_timestamp(ts, lso)? {
                return Ok(Some(TimestampAndOffset {
                    timestamp: t,
                    offset: o,
                    leader_epoch: (e >= 0).then_some(e),
                }));
            }
        }
        Ok(None)
    }
}
