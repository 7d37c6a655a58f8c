//! [`TcpStream`]: a TCP connection of the runtime's stack, with tokio's methods and its
//! `AsyncRead`/`AsyncWrite` (futures-io's and hyper's are in `net::compat`).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BufMut;
use sockeye_netstack::{SocketHandle, TcpInfo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::inner::Conn;
use super::split::{ReadHalf, WriteHalf};
use super::split_owned::{OwnedReadHalf, OwnedWriteHalf};
use crate::driver::NetDriver;
use crate::net::addr::{ToSocketAddrs, first_ok, resolve_v4};
use crate::net::{Ready, current_driver};
use crate::reactor::Interest;

/// A TCP connection between a local and a remote socket, like tokio's `TcpStream`.
///
/// Reading and writing go through tokio's `AsyncRead`/`AsyncWrite` (use
/// `sockeye::io::{AsyncReadExt, AsyncWriteExt}`), futures-io's, and, with the `hyper` feature,
/// hyper's `rt::Read`/`rt::Write`. `shutdown()` (from `AsyncWriteExt`) sends a FIN after the
/// buffered data; calling it again is fine. Dropping the stream closes the connection in the
/// background: a FIN after the buffered data, or a RST if received data was left unread (as
/// Linux does) or `set_linger(Some(Duration::ZERO))` was called.
///
/// A `TcpStream` belongs to the runtime (and thread) it was created on: it is `!Send`.
pub struct TcpStream {
    pub(crate) conn: Rc<Conn>,
}

impl TcpStream {
    /// Connects to `addr`, trying each address it names in turn (tokio's behaviour), and
    /// completes once the handshake has.
    ///
    /// # Errors
    /// `ConnectionRefused` when the peer answers with a RST (nothing listens there), `TimedOut`
    /// after `tcp_syn_retries` unanswered SYNs, `NetworkUnreachable` without a route,
    /// `InvalidInput` for an unusable address (an IPv6 one: the stack speaks IPv4).
    ///
    /// # Panics
    /// Outside a sockeye runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let driver = current_driver();
        let addrs = resolve_v4(addr).await?;
        first_ok(addrs, |remote| {
            let driver = driver.clone();
            async move {
                let handle = driver.with_stack(|s, now| s.tcp_connect_to(now, remote))?;
                TcpStream::finish_connect(driver, handle).await
            }
        })
        .await
    }

    /// Waits for the handshake of a socket `connect` started (closing it if the wait is
    /// dropped).
    pub(crate) async fn finish_connect(
        driver: Rc<NetDriver>,
        handle: SocketHandle,
    ) -> io::Result<TcpStream> {
        let stream = TcpStream::from_handle(driver, handle);
        poll_fn(|cx| stream.conn.poll_connect(cx)).await?;
        Ok(stream)
    }

    pub(crate) fn from_handle(driver: Rc<NetDriver>, handle: SocketHandle) -> TcpStream {
        TcpStream {
            conn: Rc::new(Conn::new(driver, handle)),
        }
    }

    /// The local address of the connection.
    ///
    /// # Errors
    /// `NotConnected` once the socket is gone (never for a live stream).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.conn.local_addr()
    }

    /// The remote address of the connection.
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.conn.peer_addr()
    }

    /// Reads into `buf` without removing the bytes from the receive queue (`MSG_PEEK`):
    /// waits until at least one byte is there; `Ok(0)` once the peer has closed and nothing is
    /// left.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.conn.poll_peek(Some(cx), buf)).await
    }

    /// Polls for a peek into `buf`'s unfilled part (see [`TcpStream::peek`]); returns the bytes
    /// peeked, which are also marked filled.
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        let dst = buf.initialize_unfilled();
        let n = std::task::ready!(self.conn.poll_peek(Some(cx), dst))?;
        buf.advance(n);
        Poll::Ready(Ok(n))
    }

    /// Reads what is buffered without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when nothing is buffered yet; otherwise as a read (`Ok(0)` at end of stream).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        ready_now(self.conn.poll_read(None, buf))
    }

    /// Writes what fits in the send buffer without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when the send buffer is full (or the connection is still being set up);
    /// `BrokenPipe` after `shutdown`; the connection's error (e.g. `ConnectionReset`).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        ready_now(self.conn.poll_write(None, buf))
    }

    /// Waits until a read would not block (data, end of stream, or an error).
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.conn.poll_read_ready(cx)).await
    }

    /// Waits until a write would not block.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.conn.poll_write_ready(cx)).await
    }

    /// Polls for read readiness (see [`TcpStream::readable`]).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.conn.poll_read_ready(cx)
    }

    /// Polls for write readiness (see [`TcpStream::writable`]).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.conn.poll_write_ready(cx)
    }

    /// Waits until the stream is ready for any of `interest` and says for which, with
    /// `READ_CLOSED` once the peer's FIN arrived and `WRITE_CLOSED` once writing is shut down.
    /// Readiness can be stale by the time it is acted on, so follow it with
    /// `try_read`/`try_write` and expect `WouldBlock`.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        poll_fn(|cx| self.conn.poll_ready(cx, interest)).await
    }

    /// Reads into the buffers in order without waiting (`readv`), stopping at the first one
    /// not filled; returns the bytes read.
    ///
    /// # Errors
    /// `WouldBlock` when nothing is buffered; otherwise as a read (`Ok(0)` at end of stream).
    /// An error met after some bytes were read is returned by the next read or write.
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.conn.try_read_vectored(bufs)
    }

    /// Reads into `buf`'s spare capacity without waiting and advances it past the bytes read
    /// (at most 64 KiB per call: the spare capacity is zeroed before the stack copies into it).
    ///
    /// # Errors
    /// `WouldBlock` when nothing is buffered; otherwise as a read (`Ok(0)` at end of stream).
    pub fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.conn.try_read_buf(buf)
    }

    /// Writes the buffers in order without waiting (`writev`), as much as fits in the send
    /// buffer; returns the bytes written.
    ///
    /// # Errors
    /// `WouldBlock` when nothing fits; otherwise as [`TcpStream::try_write`]. An error met
    /// after some bytes were written is returned by the next read or write.
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self.conn.poll_write_vectored(None, bufs) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Calls `f` if the stream is ready for `interest` now (readable: a read would not block;
    /// writable: a write would not block), and returns what it returns; otherwise `WouldBlock`
    /// without calling it. tokio's `try_io`: `f` is expected to move data (here through this
    /// stream's `try_` methods, as there is no file descriptor). Readiness is asked of the
    /// stack at each call, so `f` returning `WouldBlock` needs no readiness to be cleared.
    ///
    /// # Errors
    /// `WouldBlock` when not ready; `f`'s error.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.conn.try_io(interest, f)
    }

    /// Waits for `interest` and calls `f` until it does not return `WouldBlock` (tokio's
    /// `async_io`): `f` is meant to move bytes through this stream's `try_` methods. After a
    /// `WouldBlock` from `f` the task yields to the others before asking again, so an `f` that
    /// blocks for reasons of its own does not starve them.
    ///
    /// # Errors
    /// A readiness error, or `f`'s error other than `WouldBlock`.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            self.ready(interest).await?;
            match self.try_io(interest, &mut f) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    crate::task::yield_now().await;
                }
                result => return result,
            }
        }
    }

    /// Takes the pending error (`SO_ERROR`, tokio's `take_error`): the reset, timeout or
    /// refusal the next read or write would have returned; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone from the stack.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.conn.take_error()
    }

    /// Sets `TCP_NODELAY`: with it, small writes leave at once instead of waiting for
    /// outstanding data to be acknowledged (Nagle's algorithm).
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.conn
            .driver
            .with_stack(|s, _| s.tcp_set_nodelay(self.conn.handle, nodelay))
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.conn
            .driver
            .with_stack(|s, _| s.tcp_nodelay(self.conn.handle))
    }

    /// Sets `TCP_NOTSENT_LOWAT`: how many written but unsent bytes the connection holds before
    /// a write stops taking more (it then copies only up to the mark, and returns `Pending`
    /// at it; the writer is woken when the unsent bytes are under half the mark). The bytes in
    /// flight are still bounded by the send buffer alone. 0 goes back to the stack's
    /// `net.ipv4.tcp_notsent_lowat` (128 KiB unless changed). Not in tokio: a sockeye extension,
    /// as the Linux socket option it mirrors.
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone.
    pub fn set_notsent_lowat(&self, bytes: u32) -> io::Result<()> {
        self.conn
            .driver
            .with_stack(|s, _| s.tcp_set_notsent_lowat(self.conn.handle, bytes))
    }

    /// The `TCP_NOTSENT_LOWAT` mark in force, in bytes (the connection's own, or the stack's).
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone.
    pub fn notsent_lowat(&self) -> io::Result<u32> {
        self.conn
            .driver
            .with_stack(|s, _| s.tcp_notsent_lowat(self.conn.handle))
    }

    /// Sets `IP_TTL`: the time-to-live of the connection's packets (1 to 255).
    ///
    /// # Errors
    /// `InvalidInput` for 0 or above 255; `NotConnected` once the connection is gone.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = checked_ttl(ttl)?;
        self.conn
            .driver
            .with_stack(|s, _| s.tcp_set_ttl(self.conn.handle, Some(ttl)))
    }

    /// `IP_TTL` (the `ip_default_ttl` sysctl, 64, unless set).
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone.
    pub fn ttl(&self) -> io::Result<u32> {
        self.conn
            .driver
            .with_stack(|s, _| s.tcp_ttl(self.conn.handle))
            .map(u32::from)
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream reset the connection
    /// (a RST, buffered data discarded); any other value, like `None`, closes it gracefully in
    /// the background (dropping never blocks, so a non-zero timeout has no further effect).
    ///
    /// # Errors
    /// None today; the `Result` is tokio's signature.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.conn.set_linger(dur);
        Ok(())
    }

    /// `SO_LINGER` as last set.
    ///
    /// # Errors
    /// None today; the `Result` is tokio's signature.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        Ok(self.conn.linger())
    }

    /// A snapshot of the connection's internals (state, RTT, windows, buffers), like Linux's
    /// `TCP_INFO`.
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone.
    pub fn info(&self) -> io::Result<TcpInfo> {
        self.conn
            .driver
            .with_stack(|s, _| s.tcp_info(self.conn.handle))
    }

    /// Borrowed read and write halves, usable at the same time (say, in `select!` or
    /// `join!`). `shutdown` on the write half shuts the stream's writing down.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf { stream: self }, WriteHalf { stream: self })
    }

    /// Owned read and write halves, which can move into different tasks. Dropping the write
    /// half shuts writing down (a FIN) while the read half goes on reading; the connection
    /// closes once both are dropped. [`OwnedReadHalf::reunite`] puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let conn = self.conn;
        (
            OwnedReadHalf { conn: conn.clone() },
            OwnedWriteHalf::new(conn),
        )
    }
}

/// A TTL as `setsockopt(IP_TTL)` accepts it: 1 to 255.
pub(crate) fn checked_ttl(ttl: u32) -> io::Result<u8> {
    u8::try_from(ttl)
        .ok()
        .filter(|&t| t > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a TTL is between 1 and 255"))
}

/// A poll made without a task: it is ready, or `WouldBlock` came out of it.
fn ready_now<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(r) => r,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

/// Reads into the unfilled part of `buf` (zeroing no more of it than the bytes ready).
pub(crate) fn poll_read_buf(
    conn: &Conn,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let n = std::task::ready!(conn.poll_read_buf(Some(cx), buf))?;
    buf.advance(n);
    Poll::Ready(Ok(()))
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_buf(&self.conn, cx, buf)
    }
}

impl AsyncWrite for TcpStream {
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

    /// Ready at once: written bytes are in the stack's send buffer, and the runtime sends them
    /// without being asked (as with a kernel socket).
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown_write())
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
