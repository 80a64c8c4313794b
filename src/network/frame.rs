//! Kafka's wire framing: a 4-byte big-endian size, then that many bytes.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a connection's frame stream ended.
#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    Closed,
    /// The size prefix is negative or above the limit (Kafka's InvalidReceiveException).
    InvalidSize {
        size: i32,
        max: usize,
    },
    Io(std::io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Closed => f.write_str("connection closed"),
            FrameError::InvalidSize { size, max } => write!(
                f,
                "Invalid receive (size = {size} larger than {max}, socket.request.max.bytes)"
            ),
            FrameError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

/// Reads one frame of at most `max` bytes. The size is checked before any buffer is allocated,
/// so an oversized or garbage prefix costs nothing.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R, max: usize) -> Result<Bytes, FrameError> {
    let size = read_size(r, max).await?;
    read_body(r, size).await
}

/// The next frame's size prefix, checked against `max`.
pub async fn read_size<R: AsyncRead + Unpin>(r: &mut R, max: usize) -> Result<usize, FrameError> {
    let mut size_buf = [0u8; 4];
    match r.read_exact(&mut size_buf).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(FrameError::Io(e)),
    }
    let size = i32::from_be_bytes(size_buf);
    if size < 0 || size as usize > max {
        return Err(FrameError::InvalidSize { size, max });
    }
    Ok(size as usize)
}

/// The `size` bytes of a frame whose prefix `read_size` returned.
pub async fn read_body<R: AsyncRead + Unpin>(r: &mut R, size: usize) -> Result<Bytes, FrameError> {
    // Filled as bytes arrive (no zeroing pass); a peer that stalls mid-frame holds only the
    // capacity, which the size check bounds.
    let mut buf = BytesMut::with_capacity(size);
    while buf.len() < size {
        let want = size - buf.len();
        let mut rest = (&mut buf).limit(want);
        if r.read_buf(&mut rest).await.map_err(FrameError::Io)? == 0 {
            return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
    Ok(buf.freeze())
}

/// Writes `body` (which must start with 4 reserved bytes) after patching in its size.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    mut body: BytesMut,
) -> std::io::Result<()> {
    debug_assert!(body.len() >= 4, "frame body must reserve the size prefix");
    let size = (body.len() - 4) as i32;
    body[..4].copy_from_slice(&size.to_be_bytes());
    w.write_all(&body).await
}
