//! A connection's byte stream: plain TCP (PLAINTEXT) or TLS over TCP (SSL), split into the
//! halves the request reader and the response writer own.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::tls_socket::TlsSocket;

/// The reading half of a connection.
pub enum ConnReadHalf {
    Plain(OwnedReadHalf),
    Tls(ReadHalf<TlsStream<TlsSocket>>),
}

/// The writing half of a connection.
pub enum ConnWriteHalf {
    Plain(OwnedWriteHalf),
    Tls(WriteHalf<TlsStream<TlsSocket>>),
}

/// Splits a plain connection (true halves) or a TLS one (halves sharing the TLS session).
pub fn split_plain(stream: TcpStream) -> (ConnReadHalf, ConnWriteHalf) {
    let (r, w) = stream.into_split();
    (ConnReadHalf::Plain(r), ConnWriteHalf::Plain(w))
}

pub fn split_tls(stream: TlsStream<TlsSocket>) -> (ConnReadHalf, ConnWriteHalf) {
    let (r, w) = tokio::io::split(stream);
    (ConnReadHalf::Tls(r), ConnWriteHalf::Tls(w))
}

impl ConnReadHalf {
    /// Waits until a read would make progress. TLS may hold decrypted bytes the socket no
    /// longer shows, so a TLS half is always ready (its read waits inside rustls instead).
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            ConnReadHalf::Plain(r) => r.readable().await,
            ConnReadHalf::Tls(_) => Ok(()),
        }
    }

    /// Whether reads decrypt: rustls buffers records itself, so a second buffer is waste.
    pub fn is_tls(&self) -> bool {
        matches!(self, ConnReadHalf::Tls(_))
    }
}

impl AsyncRead for ConnReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ConnReadHalf::Plain(r) => Pin::new(r).poll_read(cx, buf),
            ConnReadHalf::Tls(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ConnWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ConnWriteHalf::Plain(w) => Pin::new(w).poll_write(cx, buf),
            ConnWriteHalf::Tls(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ConnWriteHalf::Plain(w) => Pin::new(w).poll_flush(cx),
            ConnWriteHalf::Tls(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ConnWriteHalf::Plain(w) => Pin::new(w).poll_shutdown(cx),
            ConnWriteHalf::Tls(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}
