//! The TCP socket under a TLS session, with a read buffer of its own (Kafka's
//! SslTransportLayer netReadBuffer). rustls asks its transport for at most 4 KiB at a time,
//! so a 16 KiB TLS record straight from the socket costs four or five `recv` calls; here
//! one `recv` of up to `NET_READ_BUFFER_BYTES` serves them all from memory.
//!
//! The buffer exists only while the peer is sending: it is allocated (not zeroed) by the
//! first read after a pause and freed when the socket has nothing more, so an idle TLS
//! connection holds no more memory than before.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bytes taken from the socket per `recv`: four full TLS records, and the size of a
/// default Linux socket receive queue's first chunk under load.
const NET_READ_BUFFER_BYTES: usize = 64 * 1024;

/// A TCP stream whose reads go through a buffer; writes go straight to the socket.
pub struct TlsSocket {
    tcp: TcpStream,
    /// Bytes received and not yet handed to rustls are `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
}

impl TlsSocket {
    pub fn new(tcp: TcpStream) -> TlsSocket {
        TlsSocket {
            tcp,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// One `recv` into the (drained) buffer. Pending means the peer paused: the buffer is
    /// given back until it sends again.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.buf.clear();
        self.pos = 0;
        self.buf.reserve_exact(NET_READ_BUFFER_BYTES);
        // A fresh read_buf future holds no state of its own: dropping it when pending is fine.
        let read = std::pin::pin!(self.tcp.read_buf(&mut self.buf));
        match read.poll(cx) {
            Poll::Ready(r) => Poll::Ready(r.map(drop)),
            Poll::Pending => {
                self.buf = Vec::new();
                Poll::Pending
            }
        }
    }
}

impl AsyncRead for TlsSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos == this.buf.len() {
            if out.remaining() >= NET_READ_BUFFER_BYTES {
                return Pin::new(&mut this.tcp).poll_read(cx, out);
            }
            ready!(this.poll_fill(cx))?;
        }
        let n = out.remaining().min(this.buf.len() - this.pos);
        out.put_slice(&this.buf[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TlsSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    /// rustls hands its queued records over as one vector: one `writev` for all of them.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use tokio::io::AsyncWriteExt;

    /// Reads of rustls' size come in order from the buffer; once the peer pauses, the
    /// buffer is given back (an idle connection holds none), and reads resume after it.
    #[tokio::test]
    async fn reads_come_in_order_and_a_pause_frees_the_buffer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let (resume, resumed) = tokio::sync::oneshot::channel::<()>();
        let writer = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&sent).await.unwrap();
            resumed.await.unwrap();
            s.write_all(b"more").await.unwrap();
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let mut sock = TlsSocket::new(tcp);
        let mut got = Vec::new();
        let mut piece = [0u8; 4096];
        while got.len() < data.len() {
            let n = sock.read(&mut piece).await.unwrap();
            assert!(n > 0, "EOF after {} bytes", got.len());
            got.extend_from_slice(&piece[..n]);
        }
        assert_eq!(got, data);
        assert!(
            sock.read(&mut piece).now_or_never().is_none(),
            "nothing more yet"
        );
        assert_eq!(sock.buf.capacity(), 0, "an idle socket keeps no buffer");
        resume.send(()).unwrap();
        let n = sock.read(&mut piece).await.unwrap();
        assert_eq!(&piece[..n], b"more");
        writer.await.unwrap();
    }
}
