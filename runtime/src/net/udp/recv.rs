//! The rest of tokio's `UdpSocket` receive side: peeks at the next datagram (its bytes or only
//! its sender), receives into a `BufMut`, `take_error` and `async_io`.

use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::ReadBuf;

use super::{UdpSocket, ready_now};
use crate::reactor::Interest;

/// Datagrams are at most this long (the IPv4 maximum less the headers).
const MAX_DATAGRAM: usize = 65_507;

impl UdpSocket {
    /// Copies the next datagram from the connected peer (or anyone, unconnected) into `buf`
    /// (truncated to fit) and leaves it queued; returns the bytes copied.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.peek_from(buf).await?.0)
    }

    /// Polls to peek at the next datagram (see [`UdpSocket::peek`]), into `buf`'s unfilled
    /// part, marked filled.
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.poll_peek_from(cx, buf).map_ok(|_| ())
    }

    /// Peeks without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when no datagram is queued.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.try_peek_from(buf)?.0)
    }

    /// Peeks with the sender without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when no datagram is queued.
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        ready_now(self.poll_peek_from_slice(None, buf))
    }

    /// The sender of the next datagram, which stays queued.
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        poll_fn(|cx| self.poll_peek_sender(cx)).await
    }

    /// Polls for the sender of the next datagram (see [`UdpSocket::peek_sender`]).
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        self.poll_peek_from_slice(Some(cx), &mut [])
            .map_ok(|(_, from)| from)
    }

    /// The sender of the next datagram, without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when no datagram is queued.
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        Ok(self.try_peek_from(&mut [])?.1)
    }

    /// Receives one datagram into `buf`'s spare capacity (truncated to fit, at most 65,507
    /// bytes), advancing it; returns the length copied.
    pub async fn recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        Ok(self.recv_buf_from(buf).await?.0)
    }

    /// Like [`UdpSocket::recv_buf`], with the sender.
    pub async fn recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| into_buf_mut(buf, |dst| self.poll_recv_from_slice(Some(cx), dst))).await
    }

    /// [`UdpSocket::recv_buf`] without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when no datagram is queued.
    pub fn try_recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        Ok(self.try_recv_buf_from(buf)?.0)
    }

    /// [`UdpSocket::recv_buf_from`] without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when no datagram is queued.
    pub fn try_recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        ready_now(into_buf_mut(buf, |dst| {
            self.poll_recv_from_slice(None, dst)
        }))
    }

    /// Takes the pending error (`SO_ERROR`, tokio's `take_error`): on a connected socket, an
    /// ICMP error about a datagram to its peer (`ConnectionRefused` for a closed port), which
    /// the next receive or send would otherwise return; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// `InvalidInput` if the socket is gone from the stack.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.driver.with_stack(|s, _| s.udp_take_error(self.handle))
    }

    /// Waits for `interest` and calls `f` until it does not return `WouldBlock` (tokio's
    /// `async_io`): `f` is meant to move datagrams through this socket's `try_` methods. After
    /// a `WouldBlock` from `f` the task yields to the others before asking again.
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
}

/// Runs `recv` on `buf`'s spare capacity (zeroed first, at most a datagram's length) and
/// advances `buf` by what it received.
fn into_buf_mut<B: BufMut, T>(
    buf: &mut B,
    recv: impl FnOnce(&mut [u8]) -> Poll<io::Result<(usize, T)>>,
) -> Poll<io::Result<(usize, T)>> {
    let chunk = buf.chunk_mut();
    let len = chunk.len().min(MAX_DATAGRAM);
    // SAFETY: the slice is only written through `ReadBuf`, which zeroes it before handing it
    // out as initialised bytes and never de-initialises anything.
    let spare: &mut [MaybeUninit<u8>] = unsafe { &mut chunk.as_uninit_slice_mut()[..len] };
    let mut read_buf = ReadBuf::uninit(spare);
    let result = std::task::ready!(recv(read_buf.initialize_unfilled()));
    if let Ok((n, _)) = &result {
        // SAFETY: the first `n` bytes of the chunk are initialised: zeroed, then received into.
        unsafe { buf.advance_mut(*n) };
    }
    Poll::Ready(result)
}
