//! [`Conn`]: one TCP connection's handle in the runtime's stack, shared by a `TcpStream` and its
//! owned halves, with the wait lists of its two directions. Every operation is one short borrow
//! of the thread's stack. Dropping the last owner closes the connection (a FIN after the
//! buffered data, or a RST with `SO_LINGER` 0 or unread data, as on Linux).
//!
//! **Errors met part-way.** The stack reports a connection's error (say, a reset) to one call
//! only. A vectored or `try_read_buf` call that moved bytes from its first buffers and then
//! meets the error returns the bytes, and keeps the error for the next read or write, as
//! Linux's `readv`/`writev` leave `sk_err` for the next call. Running out of data or of send
//! buffer part-way is not an error: the call just returns the bytes it moved.

use std::cell::{Cell, RefCell};
use std::io;
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BufMut;
use sockeye_netstack::{Instant, SocketHandle, Stack, TcpState};
use tokio::io::ReadBuf;

use crate::driver::NetDriver;
use crate::net::Ready;
use crate::net::waiters::Waiters;
use crate::reactor::Interest;

/// The most of a `BufMut`'s spare capacity one `try_read_buf` fills (it is zeroed first: the
/// stack copies into initialised memory).
const MAX_READ_BUF: usize = 64 * 1024;

/// Which wait list an operation uses.
#[derive(Clone, Copy)]
pub(crate) enum Dir {
    Read,
    Write,
}

/// A connection handle with its waiters; see the module docs.
pub(crate) struct Conn {
    pub(crate) driver: Rc<NetDriver>,
    pub(crate) handle: SocketHandle,
    readers: Arc<Waiters>,
    read_waker: Waker,
    writers: Arc<Waiters>,
    write_waker: Waker,
    /// `SO_LINGER`: `Some(ZERO)` makes dropping reset the connection.
    linger: Cell<Option<Duration>>,
    /// The user shut writing down (later `shutdown` calls succeed without a stack call).
    write_shut: Cell<bool>,
    /// An error met after a call had moved bytes, for the next read or write (module docs).
    deferred: RefCell<Option<io::Error>>,
}

impl Conn {
    pub(crate) fn new(driver: Rc<NetDriver>, handle: SocketHandle) -> Conn {
        let (readers, read_waker) = Waiters::new();
        let (writers, write_waker) = Waiters::new();
        Conn {
            driver,
            handle,
            readers,
            read_waker,
            writers,
            write_waker,
            linger: Cell::new(None),
            write_shut: Cell::new(false),
            deferred: RefCell::new(None),
        }
    }

    /// Runs `f` on the stack (with the current time and a context holding this connection's own
    /// waker for `dir`); when it is pending, `cx`'s task joins the waiters of `dir`. Without a
    /// `cx` the call is a `try_`: pending becomes `WouldBlock`.
    pub(crate) fn poll_with<T>(
        &self,
        dir: Dir,
        cx: Option<&mut Context<'_>>,
        f: impl FnOnce(&mut Stack, Instant, SocketHandle, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let (waiters, waker) = match dir {
            Dir::Read => (&self.readers, &self.read_waker),
            Dir::Write => (&self.writers, &self.write_waker),
        };
        let mut own = Context::from_waker(waker);
        let result = self
            .driver
            .with_stack(|stack, now| f(stack, now, self.handle, &mut own));
        match (result, cx) {
            (Poll::Pending, Some(cx)) => {
                waiters.register(cx.waker());
                Poll::Pending
            }
            (Poll::Pending, None) => Poll::Ready(Err(io::ErrorKind::WouldBlock.into())),
            (ready, _) => ready,
        }
    }

    pub(crate) fn poll_read(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.deferred.take() {
            return Poll::Ready(Err(e));
        }
        self.poll_with(Dir::Read, cx, |s, _, h, own| s.tcp_poll_read(h, own, buf))
    }

    /// Reads into the unfilled part of `buf`, initialising (zeroing) only as many of its bytes
    /// as the stack has ready to read (one when none, to learn of the end of the stream or an
    /// error): a reader lending a large uninitialised buffer (hyper lends up to ~400 KiB) does not
    /// pay for zeroing it at every read. Returns the number of bytes read.
    pub(crate) fn poll_read_buf(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.deferred.take() {
            return Poll::Ready(Err(e));
        }
        self.poll_with(Dir::Read, cx, |s, _, h, own| {
            let ready = s.tcp_recv_queued(h)?;
            let dst = buf.initialize_unfilled_to(buf.remaining().min(ready.max(1)));
            s.tcp_poll_read(h, own, dst)
        })
    }

    pub(crate) fn poll_peek(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.deferred.take() {
            return Poll::Ready(Err(e));
        }
        self.poll_with(Dir::Read, cx, |s, _, h, own| s.tcp_poll_peek(h, own, buf))
    }

    pub(crate) fn poll_write(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.deferred.take() {
            return Poll::Ready(Err(e));
        }
        self.poll_with(Dir::Write, cx, |s, _, h, own| s.tcp_poll_write(h, own, buf))
    }

    /// Writes the buffers in order, as much as fits: pending (or, without `cx`, `WouldBlock`)
    /// only if nothing could be written. A buffer that finds the send buffer full after
    /// earlier ones went in ends the call (a partial write); only a real error met then is kept
    /// for the next call.
    pub(crate) fn poll_write_vectored(
        &self,
        mut cx: Option<&mut Context<'_>>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut total = 0;
        for buf in bufs.iter().filter(|b| !b.is_empty()) {
            // Only the first write waits: once some bytes are in, the call returns.
            let cx = if total == 0 { cx.as_deref_mut() } else { None };
            match self.poll_write(cx, buf) {
                Poll::Ready(Ok(n)) => {
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Poll::Ready(Err(e)) if total == 0 => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
                // Full: not an error, the next call waits for room.
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Poll::Ready(Err(e)) => {
                    self.defer(e);
                    break;
                }
            }
        }
        Poll::Ready(Ok(total))
    }

    /// Reads into the buffers in order without waiting: `WouldBlock` only if nothing was
    /// buffered; stops at the first buffer not filled (or found with nothing left to read).
    pub(crate) fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        let mut total = 0;
        for buf in bufs.iter_mut().filter(|b| !b.is_empty()) {
            match self.poll_read(None, buf) {
                Poll::Ready(Ok(n)) => {
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Poll::Ready(Err(e)) if total == 0 => return Err(e),
                // Drained: not an error, the next read waits for data.
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Poll::Ready(Err(e)) => {
                    self.defer(e);
                    break;
                }
                Poll::Pending => unreachable!("a poll without a task never waits"),
            }
        }
        Ok(total)
    }

    /// Reads into `buf`'s spare capacity (up to [`MAX_READ_BUF`] bytes of it) without waiting,
    /// and advances `buf` past what was read.
    pub(crate) fn try_read_buf<B: BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        let chunk = buf.chunk_mut();
        let len = chunk.len().min(MAX_READ_BUF);
        // SAFETY: the slice is only written through `ReadBuf`, which never de-initialises
        // bytes: it zeroes them (`initialize_unfilled`) before the stack copies into them.
        let spare: &mut [MaybeUninit<u8>] = unsafe { &mut chunk.as_uninit_slice_mut()[..len] };
        let mut read_buf = ReadBuf::uninit(spare);
        let n = match self.poll_read(None, read_buf.initialize_unfilled()) {
            Poll::Ready(result) => result?,
            Poll::Pending => unreachable!("a poll without a task never waits"),
        };
        // SAFETY: the first `n` bytes of the chunk are initialised: zeroed, then read into.
        unsafe { buf.advance_mut(n) };
        Ok(n)
    }

    /// Takes the pending error (`SO_ERROR`): one kept for the next call, else the stack's.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        if let Some(e) = self.deferred.take() {
            return Ok(Some(e));
        }
        self.driver.with_stack(|s, _| s.tcp_take_error(self.handle))
    }

    /// Keeps `e` for the next read or write (see the module docs).
    fn defer(&self, e: io::Error) {
        self.deferred.borrow_mut().get_or_insert(e);
    }

    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.deferred.borrow().is_some() {
            return Poll::Ready(Ok(()));
        }
        self.poll_with(Dir::Read, Some(cx), |s, _, h, own| {
            s.tcp_poll_read_ready(h, own)
        })
    }

    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.deferred.borrow().is_some() {
            return Poll::Ready(Ok(()));
        }
        self.poll_with(Dir::Write, Some(cx), |s, _, h, own| {
            s.tcp_poll_write_ready(h, own)
        })
    }

    /// Whether a read (`Dir::Read`) or write would not block now; registers no task.
    fn ready_now(&self, dir: Dir) -> io::Result<bool> {
        if self.deferred.borrow().is_some() {
            return Ok(true);
        }
        let polled = self.poll_with(dir, None, |s, _, h, own| match dir {
            Dir::Read => s.tcp_poll_read_ready(h, own),
            Dir::Write => s.tcp_poll_write_ready(h, own),
        });
        match polled {
            Poll::Ready(Ok(())) => Ok(true),
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => unreachable!("a poll without a task never waits"),
        }
    }

    /// tokio's `try_io`: calls `f` if the connection is ready for `interest` now, else
    /// `WouldBlock` without calling it. Readiness is read from the stack on every call, so there
    /// is no cached readiness for `f`'s `WouldBlock` to clear.
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let ready = (interest.is_readable() && self.ready_now(Dir::Read)?)
            || (interest.is_writable() && self.ready_now(Dir::Write)?);
        if ready {
            f()
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }

    /// Ready for any of `interest`: which, with `READ_CLOSED`/`WRITE_CLOSED` from the state.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<Ready>> {
        let mut ready = Ready::EMPTY;
        if interest.is_readable() {
            if let Poll::Ready(r) = self.poll_read_ready(cx) {
                r?;
                ready = ready | Ready::READABLE;
            }
        }
        if interest.is_writable() {
            if let Poll::Ready(r) = self.poll_write_ready(cx) {
                r?;
                ready = ready | Ready::WRITABLE;
            }
        }
        if ready.is_empty() {
            return Poll::Pending;
        }
        Poll::Ready(Ok(ready | self.closed()))
    }

    /// `READ_CLOSED` / `WRITE_CLOSED` from the connection's state.
    fn closed(&self) -> Ready {
        let state = self
            .driver
            .with_stack(|s, _| s.tcp_state(self.handle))
            .unwrap_or(TcpState::Closed);
        let mut ready = Ready::EMPTY;
        if matches!(
            state,
            TcpState::CloseWait
                | TcpState::LastAck
                | TcpState::Closing
                | TcpState::TimeWait
                | TcpState::Closed
        ) {
            ready = ready | Ready::READ_CLOSED;
        }
        if matches!(
            state,
            TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::Closing
                | TcpState::LastAck
                | TcpState::TimeWait
                | TcpState::Closed
        ) {
            ready = ready | Ready::WRITE_CLOSED;
        }
        ready
    }

    /// Ready once the connection is established (or failed).
    pub(crate) fn poll_connect(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_with(Dir::Write, Some(cx), |s, _, h, own| {
            s.tcp_poll_connect(h, own)
        })
    }

    /// Shuts writing down (a FIN after the buffered data); later calls succeed at once.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        if self.write_shut.get() {
            return Ok(());
        }
        self.driver
            .with_stack(|s, _| s.tcp_shutdown(self.handle, Shutdown::Write))?;
        self.write_shut.set(true);
        Ok(())
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.driver
            .with_stack(|s, _| s.tcp_local_addr(self.handle))
            .map(SocketAddr::V4)
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.driver
            .with_stack(|s, _| s.tcp_peer_addr(self.handle))
            .map(SocketAddr::V4)
    }

    pub(crate) fn set_linger(&self, linger: Option<Duration>) {
        self.linger.set(linger);
    }

    pub(crate) fn linger(&self) -> Option<Duration> {
        self.linger.get()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Never inside another stack borrow (see `NetDriver::with_stack`); `try_` keeps a
        // destructor from panicking if that ever changed.
        let Ok(mut stack) = self.driver.stack.try_borrow_mut() else {
            return;
        };
        let now = self.driver.now();
        if self.linger.get() == Some(Duration::ZERO) {
            stack.tcp_abort(now, self.handle);
        } else {
            stack.tcp_close(now, self.handle);
        }
    }
}
