//! A response frame as it goes to the socket: in-memory bytes interleaved with byte ranges of
//! segment files. Large ranges go out with sendfile(2), as Kafka's FileRecords.writeTo does, so
//! fetched record bytes never enter user space; small ones are copied into the frame, where
//! one write is cheaper than a write plus a sendfile.

use std::io;
use std::os::fd::AsRawFd;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use super::stream::ConnWriteHalf;
use crate::log::FileSlice;

/// File ranges at least this long are sent with sendfile; shorter ones are read into the frame.
pub const SENDFILE_MIN_BYTES: u64 = 16 * 1024;

/// One piece of a frame, in wire order.
#[derive(Debug)]
pub enum Chunk {
    Bytes(Bytes),
    File(FileSlice),
}

/// A whole response frame, size prefix included.
#[derive(Debug)]
pub struct ResponseFrame {
    chunks: Vec<Chunk>,
}

impl ResponseFrame {
    /// A frame whose bytes are all in memory: 4 reserved size bytes, then header and body.
    pub fn from_buf(buf: BytesMut) -> ResponseFrame {
        FrameBuilder::from_buf(buf).finish()
    }

    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// The frame's length in bytes, size prefix included.
    pub fn len(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| match c {
                Chunk::Bytes(b) => b.len(),
                Chunk::File(f) => f.length as usize,
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The frame as contiguous bytes (file ranges read in); for tests and small tools.
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        for c in &self.chunks {
            match c {
                Chunk::Bytes(b) => out.extend_from_slice(b),
                Chunk::File(f) => f.read_into(&mut out)?,
            }
        }
        Ok(out)
    }
}

/// Builds a frame: callers put header fields into `buf()` and record ranges with `put_file`.
pub struct FrameBuilder {
    head: BytesMut,
    chunks: Vec<Chunk>,
    /// Bytes already moved into `chunks` (the size prefix included).
    chunked: usize,
    first: Option<BytesMut>,
}

impl FrameBuilder {
    pub fn with_capacity(capacity: usize) -> FrameBuilder {
        let mut head = BytesMut::with_capacity(capacity.max(64));
        head.put_slice(&[0; 4]);
        FrameBuilder::from_buf(head)
    }

    fn from_buf(head: BytesMut) -> FrameBuilder {
        assert!(head.len() >= 4, "a frame starts with 4 reserved size bytes");
        FrameBuilder {
            head,
            chunks: Vec::new(),
            chunked: 0,
            first: None,
        }
    }

    pub fn buf(&mut self) -> &mut BytesMut {
        &mut self.head
    }

    /// Appends a file range: copied in when short, else sent with sendfile later.
    pub fn put_file(&mut self, slice: &FileSlice) -> io::Result<()> {
        if slice.length < SENDFILE_MIN_BYTES || slice.file.is_none() {
            return slice.read_into_buf(&mut self.head);
        }
        let head = self.head.split();
        self.chunked += head.len();
        if self.first.is_none() {
            self.first = Some(head);
        } else {
            self.chunks.push(Chunk::Bytes(head.freeze()));
        }
        self.chunked += slice.length as usize;
        self.chunks.push(Chunk::File(slice.clone()));
        Ok(())
    }

    /// Patches the size prefix and returns the frame.
    pub fn finish(mut self) -> ResponseFrame {
        let total = self.chunked + self.head.len();
        let size = (total - 4) as i32;
        let tail = self.head.split();
        let mut first = self.first.take().unwrap_or_default();
        let tail = if first.is_empty() {
            first = tail;
            None
        } else {
            Some(tail)
        };
        first[..4].copy_from_slice(&size.to_be_bytes());
        let mut chunks = Vec::with_capacity(self.chunks.len() + 2);
        chunks.push(Chunk::Bytes(first.freeze()));
        chunks.append(&mut self.chunks);
        if let Some(t) = tail.filter(|t| !t.is_empty()) {
            chunks.push(Chunk::Bytes(t.freeze()));
        }
        ResponseFrame { chunks }
    }
}

/// Writes a frame to the connection: memory chunks with write, file ranges with sendfile.
/// Over TLS, file ranges are read and encrypted (no sendfile), and the frame is flushed out
/// of the TLS session's buffer.
pub async fn send_frame(stream: &mut ConnWriteHalf, frame: ResponseFrame) -> io::Result<()> {
    for chunk in frame.chunks {
        match (chunk, &mut *stream) {
            (Chunk::Bytes(b), s) => s.write_all(&b).await?,
            (Chunk::File(f), ConnWriteHalf::Plain(s)) => sendfile_all(s.as_ref(), &f).await?,
            (Chunk::File(f), s) => {
                let mut bytes = Vec::with_capacity(f.length as usize);
                f.read_into(&mut bytes)?;
                s.write_all(&bytes).await?
            }
        }
    }
    stream.flush().await
}

/// sendfile(2) of a whole range on a non-blocking socket, waiting for writability as needed.
/// A file that shrank meanwhile (truncated by a leader change) ends the connection, since the
/// size prefix already promised the bytes (Kafka throws in FileRecords.writeTo likewise).
async fn sendfile_all(stream: &TcpStream, slice: &FileSlice) -> io::Result<()> {
    let file = slice
        .file
        .as_ref()
        .expect("sendfile of a range without a file");
    let (sock, fd) = (stream.as_raw_fd(), file.as_raw_fd());
    let mut offset = slice.position as libc::off_t;
    let end = offset + slice.length as libc::off_t;
    while offset < end {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            let count = (end - offset) as usize;
            // SAFETY: both descriptors are open for the call (the Arc<File> and the stream are
            // borrowed), and `offset` is a valid out-parameter.
            let n = unsafe { libc::sendfile(sock, fd, &mut offset, count) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match sent {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{} shrank below {end} while being sent (truncated by a leader change)",
                        slice.path.display()
                    ),
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    fn slice(file: &Arc<std::fs::File>, position: u64, length: u64) -> FileSlice {
        FileSlice {
            file: Some(file.clone()),
            path: Default::default(),
            position,
            length,
        }
    }

    #[test]
    fn size_prefix_counts_every_chunk_and_small_ranges_are_copied() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        f.write_all(&data).unwrap();
        let file = Arc::new(f);
        let mut b = FrameBuilder::with_capacity(16);
        b.buf().put_slice(b"head");
        b.put_file(&slice(&file, 10, 20)).unwrap();
        b.buf().put_slice(b"mid");
        b.put_file(&slice(&file, 1000, 50_000)).unwrap();
        b.buf().put_slice(b"tail");
        let frame = b.finish();
        let files = frame
            .chunks()
            .iter()
            .filter(|c| matches!(c, Chunk::File(_)))
            .count();
        assert_eq!(files, 1, "only the long range is sent with sendfile");
        let bytes = frame.to_vec().unwrap();
        let size = i32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(size, bytes.len() - 4);
        let mut want = b"head".to_vec();
        want.extend_from_slice(&data[10..30]);
        want.extend_from_slice(b"mid");
        want.extend_from_slice(&data[1000..51_000]);
        want.extend_from_slice(b"tail");
        assert_eq!(&bytes[4..], &want[..]);
    }

    #[tokio::test]
    async fn sendfile_delivers_the_range_over_a_socket() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let file = Arc::new(f);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let (mut s, _) = listener.accept().await.unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.unwrap();
            out
        });
        let (_, mut w) = super::super::stream::split_plain(TcpStream::connect(addr).await.unwrap());
        let mut b = FrameBuilder::with_capacity(16);
        b.buf().put_slice(b"h");
        b.put_file(&slice(&file, 7, 2_999_000)).unwrap();
        send_frame(&mut w, b.finish()).await.unwrap();
        drop(w);
        let got = reader.await.unwrap();
        assert_eq!(got.len(), 4 + 1 + 2_999_000);
        assert_eq!(&got[5..], &data[7..7 + 2_999_000]);
    }

    #[tokio::test]
    async fn a_range_past_the_end_of_its_file_fails() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[1u8; 20_000]).unwrap();
        let file = Arc::new(f);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _keep = tokio::spawn(async move { listener.accept().await });
        let (_, mut w) = super::super::stream::split_plain(TcpStream::connect(addr).await.unwrap());
        let mut b = FrameBuilder::with_capacity(16);
        b.put_file(&slice(&file, 0, 40_000)).unwrap();
        let e = send_frame(&mut w, b.finish()).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
