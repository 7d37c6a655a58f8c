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

use std::cell::Cell;
use std::io;
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BufMut;
use sockeye_netstack::{Instant, SocketHandle, Stack, TcpState};
use tokio::io::ReadBuf;

use crate::driver::NetDriver;
use crate::net::Ready;
pub(crate) use crate::net::waiters::Dir;
use crate::net::waiters::Waiters;
use crate::reactor::Interest;

/// The most of a `BufMut`'s spare capacity one `try_read_buf` fills (it is zeroed first: the
/// stack copies into initialised memory).
const MAX_READ_BUF: usize = 64 * 1024;

/// A connection handle with its waiters; see the module docs.
///
/// Kept small (40 bytes, 64 with the `Rc` and the allocator's header; the waiters are one more
/// allocation of 80): with the stack's control block it is what an idle connection costs.
pub(crate) struct Conn {
    pub(crate) driver: Rc<NetDriver>,
    pub(crate) handle: SocketHandle,
    waiters: Waiters,
    /// An error met after a call had moved bytes, for the next read or write (module docs).
    deferred: Cell<Option<io::Error>>,
    /// `SO_LINGER` and whether the user shut writing down, packed (see [`Flags`]).
    flags: Cell<Flags>,
}

/// `SO_LINGER` (`Some(ZERO)` makes dropping reset the connection) and whether the user shut
/// writing down (later `shutdown` calls succeed without a stack call), in one word: bit 63 is
/// the shutdown, bit 62 says a linger is set, and the low 62 bits are the linger in
/// nanoseconds, exact up to 146 years (Linux itself keeps whole seconds in an `int`, about 68
/// years); longer ones are kept as that most.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Flags(u64);

impl Flags {
    const WRITE_SHUT: u64 = 1 << 63;
    const LINGER_SET: u64 = 1 << 62;
    const LINGER_NANOS: u64 = Flags::LINGER_SET - 1;

    fn write_shut(self) -> bool {
        self.0 & Flags::WRITE_SHUT != 0
    }

    fn with_write_shut(self) -> Flags {
        Flags(self.0 | Flags::WRITE_SHUT)
    }

    fn linger(self) -> Option<Duration> {
        (self.0 & Flags::LINGER_SET != 0)
            .then(|| Duration::from_nanos(self.0 & Flags::LINGER_NANOS))
    }

    fn with_linger(self, linger: Option<Duration>) -> Flags {
        let kept = self.0 & Flags::WRITE_SHUT;
        Flags(match linger {
            None => kept,
            Some(d) => {
                let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                kept | Flags::LINGER_SET | nanos.min(Flags::LINGER_NANOS)
            }
        })
    }
}

impl Conn {
    pub(crate) fn new(driver: Rc<NetDriver>, handle: SocketHandle) -> Conn {
        Conn {
            driver,
            handle,
            waiters: Waiters::new(),
            deferred: Cell::new(None),
            flags: Cell::new(Flags::default()),
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
        let waker = self.waiters.waker(dir);
        let mut own = Context::from_waker(&waker);
        let result = self
            .driver
            .with_stack(|stack, now| f(stack, now, self.handle, &mut own));
        match (result, cx) {
            (Poll::Pending, Some(cx)) => {
                self.waiters.register(dir, cx.waker());
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

    /// Whether an error is kept for the next call.
    fn has_deferred(&self) -> bool {
        let kept = self.deferred.take();
        let has = kept.is_some();
        self.deferred.set(kept);
        has
    }

    /// Keeps `e` for the next read or write (see the module docs); the first one kept stays.
    fn defer(&self, e: io::Error) {
        let kept = self.deferred.take().unwrap_or(e);
        self.deferred.set(Some(kept));
    }

    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.has_deferred() {
            return Poll::Ready(Ok(()));
        }
        self.poll_with(Dir::Read, Some(cx), |s, _, h, own| {
            s.tcp_poll_read_ready(h, own)
        })
    }

    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.has_deferred() {
            return Poll::Ready(Ok(()));
        }
        self.poll_with(Dir::Write, Some(cx), |s, _, h, own| {
            s.tcp_poll_write_ready(h, own)
        })
    }

    /// Whether a read (`Dir::Read`) or write would not block now; registers no task.
    fn ready_now(&self, dir: Dir) -> io::Result<bool> {
        if self.has_deferred() {
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
        if self.flags.get().write_shut() {
            return Ok(());
        }
        self.driver
            .with_stack(|s, _| s.tcp_shutdown(self.handle, Shutdown::Write))?;
        self.flags.set(self.flags.get().with_write_shut());
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
        self.flags.set(self.flags.get().with_linger(linger));
    }

    pub(crate) fn linger(&self) -> Option<Duration> {
        self.flags.get().linger()
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
        if self.flags.get().linger() == Some(Duration::ZERO) {
            stack.tcp_abort(now, self.handle);
        } else {
            stack.tcp_close(now, self.handle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_keep_linger_and_shutdown_apart() {
        let none = Flags::default();
        assert_eq!(none.linger(), None);
        assert!(!none.write_shut());
        for linger in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(1500),
            Duration::from_secs(3),
            Duration::from_secs(i32::MAX as u64),
        ] {
            let set = none.with_linger(Some(linger));
            assert_eq!(set.linger(), Some(linger));
            assert!(!set.write_shut());
            let shut = set.with_write_shut();
            assert!(shut.write_shut());
            assert_eq!(shut.linger(), Some(linger));
            assert_eq!(shut.with_linger(None).linger(), None);
            assert!(shut.with_linger(None).write_shut());
        }
        // Past 2^62 ns (146 years) a linger is kept as that most, never as another flag.
        let most = Duration::from_nanos(Flags::LINGER_NANOS);
        for huge in [Duration::from_nanos(1 << 62), Duration::MAX] {
            let set = none.with_linger(Some(huge));
            assert_eq!(set.linger(), Some(most));
            assert!(!set.write_shut());
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_connection_handle_is_five_words() {
        assert_eq!(size_of::<Conn>(), 40);
    }
}
