//! Walks a segment's batch headers with positioned reads, as Kafka's FileLogInputStream does.
//! Reads never map the `.log`: fetched bytes reach the socket by sendfile, and log pages stay
//! in the page cache instead of in the broker's resident memory.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::batch::{BatchHeader, RECORD_BATCH_OVERHEAD};
use super::errors::{IoContext, LogError};

/// Bytes read at a time while batches are small, so one read covers many headers.
const WINDOW: usize = 8 * 1024;

/// Iterates `(position, header)` of the whole batches in `[from, end)` of a `.log` file.
pub struct FileBatches<'a> {
    file: Arc<File>,
    path: &'a Path,
    pos: u64,
    end: u64,
    window: Vec<u8>,
    window_start: u64,
    /// Size of the last batch: once batches outgrow the window, only headers are read.
    last_size: usize,
}

impl<'a> FileBatches<'a> {
    pub fn new(file: Arc<File>, path: &'a Path, from: u64, end: u64) -> FileBatches<'a> {
        FileBatches {
            file,
            path,
            pos: from.min(end),
            end,
            window: Vec::new(),
            window_start: 0,
            last_size: 0,
        }
    }

    /// The next whole batch, or None at the end (a trailing partial batch ends the walk).
    pub fn next_batch(&mut self) -> Result<Option<(u64, BatchHeader)>, LogError> {
        if self.end - self.pos < RECORD_BATCH_OVERHEAD as u64 {
            return Ok(None);
        }
        let h = BatchHeader::parse(self.header_bytes()?);
        if h.batch_length < 0 || h.size() as u64 > self.end - self.pos {
            return Ok(None);
        }
        let at = self.pos;
        self.pos += h.size() as u64;
        self.last_size = h.size();
        Ok(Some((at, h)))
    }

    /// The RECORD_BATCH_OVERHEAD bytes at `pos`, from the window or a fresh read.
    fn header_bytes(&mut self) -> Result<&[u8], LogError> {
        let need = RECORD_BATCH_OVERHEAD as u64;
        let in_window = self.pos >= self.window_start
            && self.pos + need <= self.window_start + self.window.len() as u64;
        if !in_window {
            let want = if self.last_size >= WINDOW {
                RECORD_BATCH_OVERHEAD
            } else {
                WINDOW
            };
            let len = (want as u64).min(self.end - self.pos) as usize;
            self.window.resize(len, 0);
            self.file
                .read_exact_at(&mut self.window, self.pos)
                .ctx(|| {
                    format!(
                        "read batch header at {} of {}",
                        self.pos,
                        self.path.display()
                    )
                })?;
            self.window_start = self.pos;
        }
        let at = (self.pos - self.window_start) as usize;
        Ok(&self.window[at..at + RECORD_BATCH_OVERHEAD])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::HeaderIter;
    use std::io::Write;

    /// A v2 batch of `size` bytes (header fields only; the walk never checks CRCs).
    fn batch(base_offset: i64, size: usize) -> Vec<u8> {
        let mut b = vec![0u8; size];
        b[0..8].copy_from_slice(&base_offset.to_be_bytes());
        b[8..12].copy_from_slice(&((size - 12) as i32).to_be_bytes());
        b[16] = 2;
        b
    }

    #[test]
    fn walks_the_same_batches_as_the_in_memory_iterator() {
        let mut data = Vec::new();
        let sizes = [61, 100, 9000, 70, 20_000, 61, 5000, 16_384, 300];
        for (i, s) in sizes.iter().enumerate() {
            data.extend(batch(i as i64, *s));
        }
        data.extend_from_slice(&batch(99, 500)[..200]); // a trailing partial batch
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        let want: Vec<(u64, i64)> = HeaderIter::new(&data)
            .map(|(p, h)| (p as u64, h.base_offset))
            .collect();
        assert_eq!(want.len(), sizes.len());
        let file = std::sync::Arc::new(f.as_file().try_clone().unwrap());
        let mut walk = FileBatches::new(file.clone(), f.path(), 0, data.len() as u64);
        let mut got = Vec::new();
        while let Some((p, h)) = walk.next_batch().unwrap() {
            got.push((p, h.base_offset));
        }
        assert_eq!(got, want);
        // Starting mid-file at a batch boundary, with an end that cuts the last batch.
        let (p3, _) = want[3];
        let mut walk = FileBatches::new(file.clone(), f.path(), p3, want[6].0 + 10);
        let mut got = Vec::new();
        while let Some((p, h)) = walk.next_batch().unwrap() {
            got.push((p, h.base_offset));
        }
        assert_eq!(got, want[3..6].to_vec());
    }
}
