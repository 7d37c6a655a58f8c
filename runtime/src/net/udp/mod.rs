//! [`UdpSocket`]: a UDP socket of the runtime's stack, with tokio's methods: the async ones,
//! their `poll_` and `try_` forms, readiness, and options (peeks, `BufMut` receives,
//! `take_error` and `async_io` are in `recv.rs`).

mod recv;

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::{Context, Poll};

use sockeye_netstack::{Instant, Stack, UdpHandle};
use tokio::io::ReadBuf;

use crate::driver::NetDriver;
use crate::net::addr::{ToSocketAddrs, first_ok, resolve_v4, v4};
use crate::net::waiters::{Dir, Waiters};
use crate::net::{Ready, current_driver};
use crate::reactor::Interest;

/// A UDP socket, like tokio's `UdpSocket`: bound at creation, optionally connected to one peer.
///
/// Any number of tasks may send and receive on one socket at once (share it with an `Rc`).
/// Dropping it closes it; datagrams still queued for it are discarded.
pub struct UdpSocket {
    driver: Rc<NetDriver>,
    handle: UdpHandle,
    waiters: Waiters,
}

impl UdpSocket {
    /// A socket bound to `addr` (port 0 picks a free ephemeral port); when `addr` names several
    /// addresses, the first that can be bound is.
    ///
    /// # Errors
    /// `AddrInUse`, `AddrNotAvailable` (not the stack's address), `InvalidInput` (IPv6).
    ///
    /// # Panics
    /// Outside a sockeye runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let driver = current_driver();
        let addrs = resolve_v4(addr).await?;
        first_ok(addrs, |local| {
            let driver = driver.clone();
            async move {
                let handle = driver.with_stack(|s, _| s.udp_bind(local))?;
                Ok(UdpSocket {
                    driver,
                    handle,
                    waiters: Waiters::new(),
                })
            }
        })
        .await
    }

    /// Runs `f` on the stack with this socket's own waker; a pending result registers `cx`'s
    /// task (or, without `cx`, becomes `WouldBlock`).
    fn poll_with<T>(
        &self,
        write: bool,
        cx: Option<&mut Context<'_>>,
        f: impl FnOnce(&mut Stack, Instant, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let dir = if write { Dir::Write } else { Dir::Read };
        let waker = self.waiters.waker(dir);
        let mut own = Context::from_waker(&waker);
        match (self.driver.with_stack(|s, now| f(s, now, &mut own)), cx) {
            (Poll::Pending, Some(cx)) => {
                self.waiters.register(dir, cx.waker());
                Poll::Pending
            }
            (Poll::Pending, None) => Poll::Ready(Err(io::ErrorKind::WouldBlock.into())),
            (ready, _) => ready,
        }
    }

    /// Sets the peer: `send` and `recv` then talk to it only (datagrams from others are
    /// dropped). When `addr` names several addresses, the first that works is used.
    ///
    /// # Errors
    /// `NetworkUnreachable` without a route, `PermissionDenied` for a broadcast address
    /// without [`UdpSocket::set_broadcast`], `InvalidInput` (IPv6).
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addrs = resolve_v4(addr).await?;
        first_ok(addrs, |remote| async move {
            self.driver
                .with_stack(|s, _| s.udp_connect(self.handle, remote))
        })
        .await
    }

    /// Sends `buf` as one datagram to the connected peer; returns its length.
    ///
    /// # Errors
    /// `NotConnected` without [`UdpSocket::connect`]; `InvalidInput` over 65,507 bytes.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls to send `buf` to the connected peer (see [`UdpSocket::send`]).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_with(true, Some(cx), |s, now, own| {
            s.udp_poll_send(now, self.handle, own, buf)
        })
    }

    /// Sends to the connected peer without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when the send buffer is full; otherwise as [`UdpSocket::send`].
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        ready_now(self.poll_with(true, None, |s, now, own| {
            s.udp_poll_send(now, self.handle, own, buf)
        }))
    }

    /// Receives one datagram from the connected peer (or anyone, unconnected) into `buf`; a
    /// longer datagram is truncated. Returns the bytes copied.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv_slice(Some(cx), buf)).await
    }

    fn poll_recv_slice(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_with(false, cx, |s, _, own| {
            s.udp_poll_recv(self.handle, own, buf)
        })
    }

    /// Polls to receive one datagram from the connected peer (or anyone, unconnected) into
    /// `buf`'s unfilled part, truncated to fit; the bytes are marked filled.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let n = std::task::ready!(self.poll_recv_slice(Some(cx), buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// Receives without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when no datagram is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        ready_now(self.poll_recv_slice(None, buf))
    }

    /// Sends `buf` as one datagram to `target`; returns its length.
    ///
    /// # Errors
    /// `InvalidInput` over 65,507 bytes, to port 0 or to IPv6; `NetworkUnreachable` without
    /// a route; `PermissionDenied` for a broadcast without [`UdpSocket::set_broadcast`].
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let targets = resolve_v4(target).await?;
        first_ok(targets, |target| {
            poll_fn(move |cx| {
                self.poll_with(true, Some(cx), |s, now, own| {
                    s.udp_poll_send_to(now, self.handle, own, buf, target)
                })
            })
        })
        .await
    }

    /// Sends to `target` without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when the send buffer is full; otherwise as [`UdpSocket::send_to`]
    /// (`InvalidInput` for an IPv6 target).
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        ready_now(self.poll_send_to_with(None, buf, target))
    }

    /// Polls to send `buf` as one datagram to `target` (see [`UdpSocket::send_to`]).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.poll_send_to_with(Some(cx), buf, target)
    }

    fn poll_send_to_with(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let target = match v4(target) {
            Ok(target) => target,
            Err(e) => return Poll::Ready(Err(e)),
        };
        self.poll_with(true, cx, |s, now, own| {
            s.udp_poll_send_to(now, self.handle, own, buf, target)
        })
    }

    /// Receives one datagram into `buf` (truncated if longer) with its sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from_slice(Some(cx), buf)).await
    }

    fn poll_recv_from_slice(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.poll_with(false, cx, |s, _, own| {
            s.udp_poll_recv_from(self.handle, own, buf)
                .map_ok(|(n, from)| (n, SocketAddr::V4(from)))
        })
    }

    /// Polls to receive one datagram into `buf`'s unfilled part (truncated to fit; the bytes
    /// are marked filled); returns its sender.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let dst = buf.initialize_unfilled();
        let (n, from) = std::task::ready!(self.poll_recv_from_slice(Some(cx), dst))?;
        buf.advance(n);
        Poll::Ready(Ok(from))
    }

    /// Receives with its sender without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when no datagram is queued.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        ready_now(self.poll_recv_from_slice(None, buf))
    }

    /// Like [`UdpSocket::recv_from`], but the datagram stays queued (`MSG_PEEK`).
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_peek_from_slice(Some(cx), buf)).await
    }

    fn poll_peek_from_slice(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.poll_with(false, cx, |s, _, own| {
            s.udp_poll_peek_from(self.handle, own, buf)
                .map_ok(|(n, from)| (n, SocketAddr::V4(from)))
        })
    }

    /// Polls to peek at the next datagram (see [`UdpSocket::peek_from`]): copied into `buf`'s
    /// unfilled part (truncated to fit; marked filled), left queued; returns its sender.
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let dst = buf.initialize_unfilled();
        let (n, from) = std::task::ready!(self.poll_peek_from_slice(Some(cx), dst))?;
        buf.advance(n);
        Poll::Ready(Ok(from))
    }

    /// Waits until a datagram is queued.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_recv_ready(cx)).await
    }

    /// Waits until the send buffer has room.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_send_ready(cx)).await
    }

    /// Polls for a datagram to be queued (see [`UdpSocket::readable`]).
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_recv_ready_with(Some(cx))
    }

    /// Polls for room in the send buffer (see [`UdpSocket::writable`]).
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_send_ready_with(Some(cx))
    }

    fn poll_recv_ready_with(&self, cx: Option<&mut Context<'_>>) -> Poll<io::Result<()>> {
        self.poll_with(false, cx, |s, _, own| {
            s.udp_poll_recv_ready(self.handle, own)
        })
    }

    fn poll_send_ready_with(&self, cx: Option<&mut Context<'_>>) -> Poll<io::Result<()>> {
        self.poll_with(true, cx, |s, _, own| {
            s.udp_poll_send_ready(self.handle, own)
        })
    }

    /// Waits until the socket is ready for any of `interest` (`READABLE`: a datagram is
    /// queued; `WRITABLE`: the send buffer has room) and says for which.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        poll_fn(|cx| {
            let mut ready = Ready::EMPTY;
            if interest.is_readable() {
                if let Poll::Ready(r) = self.poll_recv_ready(cx) {
                    r?;
                    ready = ready | Ready::READABLE;
                }
            }
            if interest.is_writable() {
                if let Poll::Ready(r) = self.poll_send_ready(cx) {
                    r?;
                    ready = ready | Ready::WRITABLE;
                }
            }
            if ready.is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(Ok(ready))
            }
        })
        .await
    }

    /// Calls `f` if the socket is ready for `interest` now (see [`UdpSocket::ready`]) and
    /// returns what it returns; otherwise `WouldBlock` without calling it. tokio's `try_io`:
    /// `f` is expected to move datagrams (here through this socket's `try_` methods, as there
    /// is no file descriptor). Readiness is asked of the stack at each call, so `f` returning
    /// `WouldBlock` needs no readiness to be cleared.
    ///
    /// # Errors
    /// `WouldBlock` when not ready; `f`'s error.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let ready_now = |poll: Poll<io::Result<()>>| match poll {
            Poll::Ready(Ok(())) => Ok(true),
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => unreachable!("a poll without a task never waits"),
        };
        let ready = (interest.is_readable() && ready_now(self.poll_recv_ready_with(None))?)
            || (interest.is_writable() && ready_now(self.poll_send_ready_with(None))?);
        if ready {
            f()
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }

    /// The bound address (after `connect` on a wildcard socket, the source address used).
    ///
    /// # Errors
    /// `InvalidInput` if the socket is gone.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.driver
            .with_stack(|s, _| s.udp_local_addr(self.handle))
            .map(SocketAddr::V4)
    }

    /// The connected peer.
    ///
    /// # Errors
    /// `NotConnected` without [`UdpSocket::connect`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.driver
            .with_stack(|s, _| s.udp_peer_addr(self.handle))
            .map(SocketAddr::V4)
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    /// `InvalidInput` if the socket is gone.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.driver
            .with_stack(|s, _| s.udp_set_broadcast(self.handle, on))
    }

    /// `SO_BROADCAST`.
    ///
    /// # Errors
    /// `InvalidInput` if the socket is gone.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.driver.with_stack(|s, _| s.udp_broadcast(self.handle))
    }

    /// Sets `IP_TTL`: the time-to-live of the datagrams sent from now on (1 to 255).
    ///
    /// # Errors
    /// `InvalidInput` for 0 or above 255, or if the socket is gone.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = crate::net::tcp::checked_ttl(ttl)?;
        self.driver
            .with_stack(|s, _| s.udp_set_ttl(self.handle, Some(ttl)))
    }

    /// `IP_TTL`: as set, or the `ip_default_ttl` sysctl (64).
    ///
    /// # Errors
    /// `InvalidInput` if the socket is gone.
    pub fn ttl(&self) -> io::Result<u32> {
        self.driver
            .with_stack(|s, _| s.udp_ttl(self.handle))
            .map(u32::from)
    }
}

fn ready_now<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(r) => r,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        if let Ok(mut stack) = self.driver.stack.try_borrow_mut() {
            let _ = stack.udp_close(self.handle);
        }
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
