//! [`ReadHalf`] and [`WriteHalf`]: the borrowed halves of [`TcpStream::split`], usable at once
//! from one task (in `select!` or `join!`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::Ready;
use crate::reactor::Interest;

use super::TcpStream;
use super::stream::poll_read_buf;

/// The reading half of a borrowed [`TcpStream`]; see [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a> {
    pub(crate) stream: &'a TcpStream,
}

/// The writing half of a borrowed [`TcpStream`]; see [`TcpStream::split`]. Its `shutdown`
/// shuts the stream's writing down.
#[derive(Debug)]
pub struct WriteHalf<'a> {
    pub(crate) stream: &'a TcpStream,
}

impl ReadHalf<'_> {
    /// Peeks like [`TcpStream::peek`].
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.peek(buf).await
    }

    /// Polls for a peek, like [`TcpStream::poll_peek`].
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_peek(cx, buf)
    }

    /// Reads without waiting, like [`TcpStream::try_read`].
    ///
    /// # Errors
    /// As [`TcpStream::try_read`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.try_read(buf)
    }

    /// Reads into several buffers without waiting, like [`TcpStream::try_read_vectored`].
    ///
    /// # Errors
    /// As [`TcpStream::try_read_vectored`].
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.stream.try_read_vectored(bufs)
    }

    /// Reads into a `BufMut` without waiting, like [`TcpStream::try_read_buf`].
    ///
    /// # Errors
    /// As [`TcpStream::try_read_buf`].
    pub fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.stream.try_read_buf(buf)
    }

    /// Waits for readiness, like [`TcpStream::ready`].
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.stream.ready(interest).await
    }

    /// Waits until a read would not block.
    pub async fn readable(&self) -> io::Result<()> {
        self.stream.readable().await
    }

    /// The remote address.
    ///
    /// # Errors
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl WriteHalf<'_> {
    /// Writes without waiting, like [`TcpStream::try_write`].
    ///
    /// # Errors
    /// As [`TcpStream::try_write`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.try_write(buf)
    }

    /// Writes several buffers without waiting, like [`TcpStream::try_write_vectored`].
    ///
    /// # Errors
    /// As [`TcpStream::try_write_vectored`].
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.stream.try_write_vectored(bufs)
    }

    /// Waits for readiness, like [`TcpStream::ready`].
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.stream.ready(interest).await
    }

    /// Waits until a write would not block.
    pub async fn writable(&self) -> io::Result<()> {
        self.stream.writable().await
    }

    /// The remote address.
    ///
    /// # Errors
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl AsyncRead for ReadHalf<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_buf(&self.stream.conn, cx, buf)
    }
}

impl AsyncWrite for WriteHalf<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.conn.poll_write(Some(cx), buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream.conn.poll_write_vectored(Some(cx), bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.conn.shutdown_write())
    }
}
