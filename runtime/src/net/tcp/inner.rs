//! [`Conn`]: one TCP connection's handle in the runtime's stack, shared by a `TcpStream` and its
//! owned halves, with the wait lists of its two directions. Every operation is one short borrow
//! of the thread's stack. Dropping the last owner closes the connection (a FIN after the
//! buffered data, or a RST with `SO_LINGER` 0 or unread data, as on Linux).

use std::cell::Cell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sockeye_netstack::{Instant, SocketHandle, Stack};

use crate::driver::NetDriver;
use crate::net::waiters::Waiters;

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
        self.poll_with(Dir::Read, cx, |s, _, h, own| s.tcp_poll_read(h, own, buf))
    }

    pub(crate) fn poll_peek(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_with(Dir::Read, cx, |s, _, h, own| s.tcp_poll_peek(h, own, buf))
    }

    pub(crate) fn poll_write(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_with(Dir::Write, cx, |s, _, h, own| s.tcp_poll_write(h, own, buf))
    }

    /// Writes the buffers in order, as much as fits: pending only if nothing could be written.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut total = 0;
        for buf in bufs.iter().filter(|b| !b.is_empty()) {
            let polled = if total == 0 {
                self.poll_write(Some(cx), buf)
            } else {
                self.poll_write(None, buf)
            };
            match polled {
                Poll::Ready(Ok(n)) => {
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Poll::Ready(Err(e)) if total == 0 => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
                // Later buffers: report what was written; the error comes back on the next call.
                Poll::Ready(Err(_)) => break,
            }
        }
        Poll::Ready(Ok(total))
    }

    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_with(Dir::Read, Some(cx), |s, _, h, own| {
            s.tcp_poll_read_ready(h, own)
        })
    }

    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_with(Dir::Write, Some(cx), |s, _, h, own| {
            s.tcp_poll_write_ready(h, own)
        })
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
