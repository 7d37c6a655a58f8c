//! [`OwnedReadHalf`] and [`OwnedWriteHalf`]: the halves of [`TcpStream::into_split`], which can
//! live in different tasks, and [`ReuniteError`].

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::TcpStream;
use super::inner::Conn;
use super::stream::poll_read_buf;
use crate::net::Ready;
use crate::reactor::Interest;

/// The reading half of a [`TcpStream`] split with [`TcpStream::into_split`].
pub struct OwnedReadHalf {
    pub(crate) conn: Rc<Conn>,
}

/// The writing half of a [`TcpStream`] split with [`TcpStream::into_split`]. Dropping it shuts
/// writing down (the peer reads end of stream) while the read half goes on reading.
pub struct OwnedWriteHalf {
    conn: Rc<Conn>,
    shutdown_on_drop: bool,
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams; they are given
/// back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl Error for ReuniteError {}

impl OwnedReadHalf {
    /// Joins the halves back into the stream they came from.
    ///
    /// # Errors
    /// [`ReuniteError`], holding both halves, when they came from different streams.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Rc::ptr_eq(&self.conn, &other.conn) {
            return Err(ReuniteError(self, other));
        }
        let mut write = other;
        write.shutdown_on_drop = false;
        drop(write);
        Ok(TcpStream { conn: self.conn })
    }

    /// Peeks like [`TcpStream::peek`].
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.conn.poll_peek(Some(cx), buf)).await
    }

    /// Polls for a peek, like [`TcpStream::poll_peek`].
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        let dst = buf.initialize_unfilled();
        let n = std::task::ready!(self.conn.poll_peek(Some(cx), dst))?;
        buf.advance(n);
        Poll::Ready(Ok(n))
    }

    /// Reads without waiting, like [`TcpStream::try_read`].
    ///
    /// # Errors
    /// As [`TcpStream::try_read`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self.conn.poll_read(None, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Reads into several buffers without waiting, like [`TcpStream::try_read_vectored`].
    ///
    /// # Errors
    /// As [`TcpStream::try_read_vectored`].
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.conn.try_read_vectored(bufs)
    }

    /// Reads into a `BufMut` without waiting, like [`TcpStream::try_read_buf`].
    ///
    /// # Errors
    /// As [`TcpStream::try_read_buf`].
    pub fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.conn.try_read_buf(buf)
    }

    /// Waits for readiness, like [`TcpStream::ready`].
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        std::future::poll_fn(|cx| self.conn.poll_ready(cx, interest)).await
    }

    /// Waits until a read would not block.
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.conn.poll_read_ready(cx)).await
    }

    /// The remote address.
    ///
    /// # Errors
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.conn.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.conn.local_addr()
    }
}

impl OwnedWriteHalf {
    pub(crate) fn new(conn: Rc<Conn>) -> OwnedWriteHalf {
        OwnedWriteHalf {
            conn,
            shutdown_on_drop: true,
        }
    }

    pub(crate) fn conn(&self) -> &Conn {
        &self.conn
    }

    /// Drops the half without shutting writing down (the connection stays open for writing
    /// until the read half is dropped too).
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Writes without waiting, like [`TcpStream::try_write`].
    ///
    /// # Errors
    /// As [`TcpStream::try_write`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self.conn.poll_write(None, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Writes several buffers without waiting, like [`TcpStream::try_write_vectored`].
    ///
    /// # Errors
    /// As [`TcpStream::try_write_vectored`].
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self.conn.poll_write_vectored(None, bufs) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Waits for readiness, like [`TcpStream::ready`].
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        std::future::poll_fn(|cx| self.conn.poll_ready(cx, interest)).await
    }

    /// Waits until a write would not block.
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.conn.poll_write_ready(cx)).await
    }

    /// The remote address.
    ///
    /// # Errors
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.conn.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.conn.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop && self.conn.driver.stack.try_borrow_mut().is_ok() {
            // A connection already gone has nothing to shut down.
            let _ = self.conn.shutdown_write();
        }
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_buf(&self.conn, cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write(Some(cx), buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write_vectored(Some(cx), bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown_write())
    }
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedReadHalf")
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedWriteHalf")
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
