//! [`TcpListener`]: a listening socket of the runtime's stack, with tokio's methods.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::{Context, Poll};

use sockeye_netstack::{ListenerStats, SocketHandle};

use super::TcpStream;
use crate::driver::NetDriver;
use crate::net::addr::{ToSocketAddrs, first_ok, resolve_v4};
use crate::net::current_driver;
use crate::net::waiters::{Dir, Waiters};

/// The accept-queue length [`TcpListener::bind`] asks for, as tokio does (the stack clamps it to
/// the `somaxconn` sysctl, 4096 by default). Use `TcpSocket::listen` for another backlog.
pub const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP socket listening for connections, like tokio's `TcpListener`.
///
/// Any number of tasks may wait in [`TcpListener::accept`] on one listener (share it with an
/// `Rc`); each connection goes to one of them. Dropping the listener stops listening and resets
/// the connections still waiting in its accept queue, as Linux does.
pub struct TcpListener {
    driver: Rc<NetDriver>,
    handle: SocketHandle,
    /// Tasks waiting in `accept` (the `Read` direction).
    waiters: Waiters,
}

impl TcpListener {
    /// Binds to `addr` and listens with a backlog of [`DEFAULT_BACKLOG`] (1024, tokio's
    /// figure), with `SO_REUSEADDR` set as tokio does. Port 0 picks a free ephemeral port
    /// ([`TcpListener::local_addr`] tells which). When `addr` names several addresses, the first
    /// that can be bound is.
    ///
    /// # Errors
    /// `AddrInUse` when another socket listens there, `AddrNotAvailable` for an address that
    /// is not the stack's, `InvalidInput` for an IPv6-only address.
    ///
    /// # Panics
    /// Outside a sockeye runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let driver = current_driver();
        let addrs = resolve_v4(addr).await?;
        first_ok(addrs, |local| {
            let driver = driver.clone();
            async move {
                let handle = driver.with_stack(|s, _| s.tcp_listener(local, DEFAULT_BACKLOG))?;
                Ok(TcpListener::from_handle(driver, handle))
            }
        })
        .await
    }

    pub(crate) fn from_handle(driver: Rc<NetDriver>, handle: SocketHandle) -> TcpListener {
        TcpListener {
            driver,
            handle,
            waiters: Waiters::new(),
        }
    }

    /// Waits for the next connection and returns it with the peer's address.
    ///
    /// # Errors
    /// `NotConnected` if the listener is gone (it cannot be, while this value lives).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next connection (see [`TcpListener::accept`]).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let waker = self.waiters.waker(Dir::Read);
        let mut own = Context::from_waker(&waker);
        let polled = self
            .driver
            .with_stack(|s, _| s.tcp_poll_accept(self.handle, &mut own));
        match polled {
            Poll::Ready(Ok((handle, peer))) => {
                let stream = TcpStream::from_handle(self.driver.clone(), handle);
                Poll::Ready(Ok((stream, SocketAddr::V4(peer))))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                self.waiters.register(Dir::Read, cx.waker());
                Poll::Pending
            }
        }
    }

    /// The address the listener is bound to (with the port picked for port 0).
    ///
    /// # Errors
    /// `NotConnected` if the listener is gone.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.driver
            .with_stack(|s, _| s.tcp_local_addr(self.handle))
            .map(SocketAddr::V4)
    }

    /// Sets `IP_TTL` (1 to 255), as on Linux: the TTL of the listener's SYN-ACKs, and of the
    /// connections it accepts from now on (handshakes already under way keep theirs).
    ///
    /// # Errors
    /// `InvalidInput` for 0 or above 255; `NotConnected` if the listener is gone.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = super::stream::checked_ttl(ttl)?;
        self.driver
            .with_stack(|s, _| s.tcp_set_ttl(self.handle, Some(ttl)))
    }

    /// `IP_TTL`: as set, or the `ip_default_ttl` sysctl (64).
    ///
    /// # Errors
    /// `NotConnected` if the listener is gone.
    pub fn ttl(&self) -> io::Result<u32> {
        self.driver
            .with_stack(|s, _| s.tcp_ttl(self.handle))
            .map(u32::from)
    }

    /// The listener's counters (connections established, accepted, dropped on a full queue,
    /// ...). Linux keeps these only system-wide; see `sockeye::netstack::ListenerStats`.
    ///
    /// # Errors
    /// `NotConnected` if the listener is gone.
    pub fn stats(&self) -> io::Result<ListenerStats> {
        self.driver
            .with_stack(|s, _| s.tcp_listener_stats(self.handle))
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        if let Ok(mut stack) = self.driver.stack.try_borrow_mut() {
            let now = self.driver.now();
            stack.tcp_close(now, self.handle);
        }
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
