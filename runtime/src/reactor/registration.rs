//! [`Registration`]: a file descriptor watched by the current runtime's reactor.

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{READABLE, Reactor, WRITABLE};
use crate::context;

/// Which readiness a [`Registration`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Readable.
    pub const READABLE: Interest = Interest(READABLE);
    /// Writable.
    pub const WRITABLE: Interest = Interest(WRITABLE);

    /// Both interests.
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// Includes readable.
    pub const fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// Includes writable.
    pub const fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, rhs: Interest) -> Interest {
        self.add(rhs)
    }
}

/// A non-blocking file descriptor registered with the current runtime's reactor.
///
/// The readiness model is edge-triggered: [`Registration::poll_read_ready`] returns `Ready` once
/// the reactor has seen the fd readable, and stays ready until [`Registration::clear_read_ready`]
/// is called after a read returned `WouldBlock`. The registration does not own the fd; drop it
/// before closing the fd.
pub struct Registration {
    reactor: Rc<Reactor>,
    fd: RawFd,
    index: u32,
}

impl Registration {
    /// Registers `fd` (which must be in non-blocking mode) with the current runtime.
    ///
    /// # Errors
    /// `epoll_ctl`'s error, e.g. for an fd that does not support polling. Outside a runtime the
    /// error kind is `Other` with a message saying so.
    pub fn new(fd: &impl AsRawFd, interest: Interest) -> io::Result<Registration> {
        let reactor = context::with_core(|core| core.reactor.clone())
            .ok_or_else(|| io::Error::other(context::NO_RUNTIME))?;
        let fd = fd.as_raw_fd();
        let (index, _generation) = reactor.register(fd, interest)?;
        Ok(Registration { reactor, fd, index })
    }

    /// Registers `fd` with `reactor` (the runtime's own devices, before any runtime is entered).
    pub(crate) fn with_reactor(
        reactor: &Rc<Reactor>,
        fd: RawFd,
        interest: Interest,
    ) -> io::Result<Registration> {
        let (index, _generation) = reactor.register(fd, interest)?;
        Ok(Registration {
            reactor: reactor.clone(),
            fd,
            index,
        })
    }

    /// Whether the reactor has seen the fd readable since read readiness was last cleared
    /// (no waker is stored).
    pub(crate) fn is_read_ready(&self) -> bool {
        self.reactor.is_ready(self.index, READABLE)
    }

    /// `Ready` when the fd is (or may be) readable; otherwise stores the waker.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reactor.poll_ready(self.index, READABLE, cx.waker()) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// `Ready` when the fd is (or may be) writable; otherwise stores the waker.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reactor.poll_ready(self.index, WRITABLE, cx.waker()) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// Forgets read readiness; call after a read returned `WouldBlock`.
    pub fn clear_read_ready(&self) {
        self.reactor.clear_ready(self.index, READABLE);
    }

    /// Forgets write readiness; call after a write returned `WouldBlock`.
    pub fn clear_write_ready(&self) {
        self.reactor.clear_ready(self.index, WRITABLE);
    }

    /// Waits until the fd is readable.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the fd is writable.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Runs `op` once the fd is readable, clearing readiness and waiting again each time `op`
    /// returns `WouldBlock`.
    pub async fn async_read<R>(&self, mut op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
        loop {
            self.readable().await?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_read_ready(),
                other => return other,
            }
        }
    }

    /// Runs `op` once the fd is writable, clearing readiness and waiting again each time `op`
    /// returns `WouldBlock`.
    pub async fn async_write<R>(&self, mut op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
        loop {
            self.writable().await?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_write_ready(),
                other => return other,
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.reactor.deregister(self.fd, self.index);
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .finish()
    }
}
