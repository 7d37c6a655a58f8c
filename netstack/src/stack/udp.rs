//! UDP socket operations on the [`Stack`], poll-shaped like tokio's `UdpSocket`.
//!
//! A socket is created bound ([`Stack::udp_bind`], tokio's `UdpSocket::bind`), sends with
//! [`Stack::udp_poll_send_to`] and receives with [`Stack::udp_poll_recv_from`]; after
//! [`Stack::udp_connect`] it talks to one peer with [`Stack::udp_poll_send`] and
//! [`Stack::udp_poll_recv`]. The table itself (handles, demultiplexing, receive queues) is in
//! [`crate::udp`].
//!
//! Errors use the kinds std maps Linux's errno values to, where one exists:
//!
//! | condition | Linux | here |
//! |---|---|---|
//! | stale handle (socket closed) | `EBADF` | [`InvalidInput`](io::ErrorKind::InvalidInput) |
//! | address not local | `EADDRNOTAVAIL` | [`AddrNotAvailable`](io::ErrorKind::AddrNotAvailable) |
//! | address or port taken, no free ephemeral port | `EADDRINUSE` | [`AddrInUse`](io::ErrorKind::AddrInUse) |
//! | payload over 65,507 bytes | `EMSGSIZE` | [`InvalidInput`](io::ErrorKind::InvalidInput) |
//! | destination port 0 | `EINVAL` | [`InvalidInput`](io::ErrorKind::InvalidInput) |
//! | no route | `ENETUNREACH` | [`NetworkUnreachable`](io::ErrorKind::NetworkUnreachable) |
//! | broadcast without `SO_BROADCAST` | `EACCES` | [`PermissionDenied`](io::ErrorKind::PermissionDenied) |
//! | `send` on an unconnected socket | `EDESTADDRREQ` | [`NotConnected`](io::ErrorKind::NotConnected) |
//!
//! A datagram larger than the outgoing interface's MTU leaves in IPv4 fragments, as on Linux
//! (see `frag.rs`). One known difference: a datagram always leaves with the outgoing
//! interface's address as its source, so a socket bound to one interface's address cannot send
//! through another interface (`AddrNotAvailable`), where Linux would send it with the bound
//! source anyway.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::io;
use std::task::{Context, Poll};

use super::Stack;
use crate::stats::Counter;
use crate::time::Instant;
use crate::udp::{self, MAX_PAYLOAD, UdpHandle, UdpSocket};
use crate::wire::ethernet;
use crate::wire::ipv4::{self, IpProtocol, Ipv4Repr};
use crate::wire::udp::{UdpPacket, UdpRepr};

fn error(kind: io::ErrorKind, message: &'static str) -> io::Error {
    io::Error::new(kind, message)
}

/// Unwraps a result inside a `poll_*` function, returning `Poll::Ready(Err(..))` on error.
macro_rules! ready_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Poll::Ready(Err(e)),
        }
    };
}

impl Stack {
    /// Opens a UDP socket bound to `local`, like tokio's `UdpSocket::bind`. Port 0 picks a free
    /// ephemeral port from `ip_local_port_range`: the search starts at a keyed hash of a
    /// per-bind counter (RFC 6056), so each bind's port is independent of the last and
    /// unpredictable without the stack's secret (reproducible with `Secrets::fixed`).
    ///
    /// # Errors
    /// `AddrNotAvailable` if the address is neither `0.0.0.0` nor an interface's; `AddrInUse`
    /// if the address conflicts with a bound socket, or no ephemeral port is free.
    pub fn udp_bind(&mut self, local: SocketAddrV4) -> io::Result<UdpHandle> {
        let ip = *local.ip();
        if !ip.is_unspecified() && !self.ifaces.iter().any(|i| i.ip() == ip) {
            return Err(error(
                io::ErrorKind::AddrNotAvailable,
                "not a local address",
            ));
        }
        let port = match local.port() {
            0 => {
                let (a, b) = self.config.ip_local_port_range;
                let range = (a.min(b), a.max(b));
                let nonce = self.udp.ephemeral_nonce();
                let candidates = self.secrets.port_candidates(ip, nonce, range);
                self.udp
                    .pick_port(ip, candidates)
                    .ok_or_else(|| error(io::ErrorKind::AddrInUse, "no free ephemeral UDP port"))?
            }
            port => port,
        };
        let socket = UdpSocket::new(
            SocketAddrV4::new(ip, port),
            self.config.rmem_default,
            self.config.wmem_default,
        );
        self.udp.insert(socket)
    }

    /// Closes a UDP socket: its address is free again and every copy of `h` becomes stale.
    /// Queued datagrams are discarded.
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_close(&mut self, h: UdpHandle) -> io::Result<()> {
        self.udp.remove(h).map(drop)
    }

    /// The address the socket is bound to (after `connect`, the source address it uses).
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_local_addr(&self, h: UdpHandle) -> io::Result<SocketAddrV4> {
        Ok(self.udp.get(h)?.local)
    }

    /// The peer set by [`Stack::udp_connect`].
    ///
    /// # Errors
    /// `NotConnected` if there is none; `InvalidInput` for a stale handle.
    pub fn udp_peer_addr(&self, h: UdpHandle) -> io::Result<SocketAddrV4> {
        self.udp.get(h)?.remote.ok_or_else(not_connected)
    }

    /// Connects the socket to `remote`, like tokio's `UdpSocket::connect`: from then on only
    /// datagrams from `remote` are received, and [`Stack::udp_poll_send`] sends to it. A socket
    /// bound to `0.0.0.0` becomes bound to the address of the interface that reaches `remote`.
    /// Connecting again changes the peer.
    ///
    /// # Errors
    /// `NetworkUnreachable` without a route, `PermissionDenied` for a broadcast address
    /// without [`Stack::udp_set_broadcast`], `InvalidInput` for a stale handle.
    pub fn udp_connect(&mut self, h: UdpHandle, remote: SocketAddrV4) -> io::Result<()> {
        let src = self.udp_source(h, *remote.ip())?.1;
        self.udp.narrow(h, src)?;
        self.udp.get_mut(h)?.remote = Some(remote);
        Ok(())
    }

    /// Sets `SO_BROADCAST`: whether the socket may send to a broadcast address.
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_set_broadcast(&mut self, h: UdpHandle, on: bool) -> io::Result<()> {
        self.udp.get_mut(h)?.broadcast = on;
        Ok(())
    }

    /// `SO_BROADCAST`.
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_broadcast(&self, h: UdpHandle) -> io::Result<bool> {
        Ok(self.udp.get(h)?.broadcast)
    }

    /// Sets `IP_TTL` for the socket's datagrams (`None` or 0 goes back to `ip_default_ttl`).
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_set_ttl(&mut self, h: UdpHandle, ttl: Option<u8>) -> io::Result<()> {
        self.udp.get_mut(h)?.ttl = ttl.filter(|&t| t > 0);
        Ok(())
    }

    /// The TTL the socket's datagrams carry.
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_ttl(&self, h: UdpHandle) -> io::Result<u8> {
        Ok(self.udp.get(h)?.ttl.unwrap_or(self.config.ip_default_ttl))
    }

    /// Sets `SO_RCVBUF` as Linux does: the request is capped at `rmem_max`, doubled (the
    /// doubled value is what [`Stack::udp_recv_buffer_size`] reports), and at least
    /// [`udp::MIN_RCVBUF`]. Queued datagrams are kept even if they exceed the new size.
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_set_recv_buffer_size(&mut self, h: UdpHandle, size: usize) -> io::Result<()> {
        let size = size.min(self.config.rmem_max).saturating_mul(2);
        self.udp.get_mut(h)?.rx.set_limit(size.max(udp::MIN_RCVBUF));
        Ok(())
    }

    /// `SO_RCVBUF`: the bytes of datagrams (plus 8 bytes of bookkeeping each) the socket queues.
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_recv_buffer_size(&self, h: UdpHandle) -> io::Result<usize> {
        Ok(self.udp.get(h)?.rx.limit())
    }

    /// Sets `SO_SNDBUF` as Linux does: capped at `wmem_max`, doubled, at least
    /// [`udp::MIN_SNDBUF`].
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_set_send_buffer_size(&mut self, h: UdpHandle, size: usize) -> io::Result<()> {
        let size = size.min(self.config.wmem_max).saturating_mul(2);
        self.udp.get_mut(h)?.sndbuf = size.max(udp::MIN_SNDBUF);
        Ok(())
    }

    /// `SO_SNDBUF`: the bytes of frames the socket may have waiting for a device.
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_send_buffer_size(&self, h: UdpHandle) -> io::Result<usize> {
        Ok(self.udp.get(h)?.sndbuf)
    }

    /// Datagrams waiting in the socket's receive queue.
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_recv_queue_len(&self, h: UdpHandle) -> io::Result<usize> {
        Ok(self.udp.get(h)?.rx.len())
    }

    /// Bytes charged to the receive buffer (like `ss -u`'s Recv-Q, which counts payloads).
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_recv_queue_bytes(&self, h: UdpHandle) -> io::Result<usize> {
        Ok(self.udp.get(h)?.rx.bytes())
    }

    /// Takes the socket's pending error (`SO_ERROR`): an ICMP error about a datagram to the
    /// connected peer (see `icmp_err.rs`), which the next receive or send would return.
    ///
    /// # Errors
    /// `InvalidInput` for a stale handle.
    pub fn udp_take_error(&mut self, h: UdpHandle) -> io::Result<Option<io::Error>> {
        Ok(self.udp.get_mut(h)?.error.take().map(io::Error::from))
    }

    /// Ready when a datagram is queued (tokio's `poll_recv_ready`); otherwise the task is
    /// woken when one arrives.
    pub fn udp_poll_recv_ready(
        &mut self,
        h: UdpHandle,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let socket = ready_try!(self.udp.get_mut(h));
        if socket.rx.len() > 0 || socket.error.is_some() {
            return Poll::Ready(Ok(()));
        }
        udp::register(&mut socket.reader, cx.waker());
        Poll::Pending
    }

    /// Ready when the send buffer has room (tokio's `poll_send_ready`); otherwise the task is
    /// woken when the socket's queued frames have been handed to the devices.
    pub fn udp_poll_send_ready(
        &mut self,
        h: UdpHandle,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let socket = ready_try!(self.udp.get_mut(h));
        if socket.writable() {
            return Poll::Ready(Ok(()));
        }
        udp::register(&mut socket.writer, cx.waker());
        Poll::Pending
    }

    /// Receives one datagram into `buf`, returning the bytes copied and the sender. A datagram
    /// longer than `buf` is truncated and its tail discarded, as Linux's `recvfrom` without
    /// `MSG_TRUNC` does. Pending (the waker is kept, one per socket) while the queue is empty.
    pub fn udp_poll_recv_from(
        &mut self,
        h: UdpHandle,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddrV4)>> {
        let socket = ready_try!(self.udp.get_mut(h));
        if let Some(e) = socket.error.take() {
            return Poll::Ready(Err(e.into()));
        }
        match socket.rx.pop(buf) {
            Some((n, _, from)) => Poll::Ready(Ok((n, from))),
            None => {
                udp::register(&mut socket.reader, cx.waker());
                Poll::Pending
            }
        }
    }

    /// Like [`Stack::udp_poll_recv_from`] but leaves the datagram queued (`MSG_PEEK`).
    pub fn udp_poll_peek_from(
        &mut self,
        h: UdpHandle,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddrV4)>> {
        let socket = ready_try!(self.udp.get_mut(h));
        if let Some(e) = socket.error.take() {
            return Poll::Ready(Err(e.into()));
        }
        match socket.rx.peek(buf) {
            Some((n, _, from)) => Poll::Ready(Ok((n, from))),
            None => {
                udp::register(&mut socket.reader, cx.waker());
                Poll::Pending
            }
        }
    }

    /// Receives one datagram into `buf`, returning the bytes copied (tokio's `poll_recv`). On an
    /// unconnected socket it receives from anyone, as Linux's `recv` does.
    pub fn udp_poll_recv(
        &mut self,
        h: UdpHandle,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.udp_poll_recv_from(h, cx, buf)
            .map(|r| r.map(|(n, _)| n))
    }

    /// Sends `buf` as one datagram to `target`. Pending while the socket's send buffer is full
    /// of frames not yet handed to a device; the task is woken when they leave.
    ///
    /// The datagram is routed and queued on the interface at once (its neighbour may still need
    /// resolving: the frame then waits for ARP, as on Linux). Returns `buf.len()`.
    ///
    /// # Errors
    /// See the module documentation: oversized datagrams and port 0 are `InvalidInput`, no route
    /// is `NetworkUnreachable`, an unauthorised broadcast is `PermissionDenied`.
    pub fn udp_poll_send_to(
        &mut self,
        now: Instant,
        h: UdpHandle,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddrV4,
    ) -> Poll<io::Result<usize>> {
        if buf.len() > MAX_PAYLOAD {
            return Poll::Ready(Err(error(
                io::ErrorKind::InvalidInput,
                "UDP datagram longer than 65,507 bytes",
            )));
        }
        if target.port() == 0 {
            return Poll::Ready(Err(error(
                io::ErrorKind::InvalidInput,
                "cannot send to UDP port 0",
            )));
        }
        let (iface, _) = ready_try!(self.udp_source(h, *target.ip()));
        let socket = ready_try!(self.udp.get_mut(h));
        if let Some(e) = socket.error.take() {
            return Poll::Ready(Err(e.into()));
        }
        if !socket.writable() {
            udp::register(&mut socket.writer, cx.waker());
            return Poll::Pending;
        }
        let repr = UdpRepr {
            src_port: socket.local.port(),
            dst_port: target.port(),
        };
        let len = repr.buffer_len(buf.len());
        let ttl = socket.ttl.unwrap_or(self.config.ip_default_ttl);
        self.send_ipv4_ttl(
            now,
            *target.ip(),
            IpProtocol::Udp,
            ttl,
            len,
            &mut |area, src, dst, fill| {
                repr.emit(&mut UdpPacket::new_unchecked(area), src, dst, buf, fill);
            },
        );
        // A neighbour that failed to resolve drops the frame later, as Linux's does: the send
        // itself succeeded.
        self.counters.inc(Counter::UdpOutDatagrams);
        let charge = self.frames_len(iface, len);
        self.udp.charge(h, iface, charge);
        Poll::Ready(Ok(buf.len()))
    }

    /// Sends `buf` to the connected peer (tokio's `poll_send`).
    ///
    /// # Errors
    /// `NotConnected` without [`Stack::udp_connect`]; otherwise as
    /// [`Stack::udp_poll_send_to`].
    pub fn udp_poll_send(
        &mut self,
        now: Instant,
        h: UdpHandle,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let remote = ready_try!(self.udp_peer_addr(h));
        self.udp_poll_send_to(now, h, cx, buf, remote)
    }

    /// The bytes of the frames that carry an IPv4 payload of `len` bytes out of `iface`
    /// (one frame, or fragments of at most the MTU less the header, rounded down to 8).
    fn frames_len(&self, iface: u16, len: usize) -> usize {
        let mtu = self.ifaces[usize::from(iface)].config.mtu;
        let per_frame = if ipv4::HEADER_LEN + len <= mtu {
            len.max(1)
        } else {
            (mtu.saturating_sub(ipv4::HEADER_LEN) & !7).max(8)
        };
        len + len.div_ceil(per_frame) * (ethernet::HEADER_LEN + ipv4::HEADER_LEN)
    }

    /// The interface index and source address `h` uses to reach `dst`, checking the route,
    /// the broadcast permission and the bound address.
    fn udp_source(&mut self, h: UdpHandle, dst: Ipv4Addr) -> io::Result<(u16, Ipv4Addr)> {
        let socket = self.udp.get(h)?;
        let Some(hop) = self.routes.lookup(dst) else {
            self.counters.inc(Counter::IpOutNoRoutes);
            return Err(error(io::ErrorKind::NetworkUnreachable, "no route to host"));
        };
        let iface = &self.ifaces[usize::from(hop.iface.0)];
        let broadcast = dst == Ipv4Addr::BROADCAST || dst == iface.config.addr.broadcast();
        if broadcast && !socket.broadcast {
            return Err(error(
                io::ErrorKind::PermissionDenied,
                "broadcast needs SO_BROADCAST (udp_set_broadcast)",
            ));
        }
        let local = *socket.local.ip();
        if !local.is_unspecified() && local != iface.ip() {
            return Err(error(
                io::ErrorKind::AddrNotAvailable,
                "the route leaves through another interface than the bound address's",
            ));
        }
        Ok((hop.iface.0, iface.ip()))
    }

    /// Delivers a received datagram to its socket, if one is bound (and, if connected, to the
    /// sender). Returns false when no socket takes it: the caller answers as for a closed port.
    pub(crate) fn udp_deliver(&mut self, ip: &Ipv4Repr, repr: &UdpRepr, payload: &[u8]) -> bool {
        let local = SocketAddrV4::new(ip.dst_addr, repr.dst_port);
        let from = SocketAddrV4::new(ip.src_addr, repr.src_port);
        let Some(socket) = self.udp.lookup_mut(local, from) else {
            return false;
        };
        let queued = socket.rx.push(from, payload);
        if queued {
            if let Some(w) = socket.reader.take() {
                w.wake();
            }
            self.counters.inc(Counter::UdpInDatagrams);
        } else {
            self.counters.inc(Counter::UdpRcvbufErrors);
            self.counters.inc(Counter::UdpInErrors);
        }
        // Linux counts every datagram handed to UDP as delivered, even one a full socket drops.
        self.counters.inc(Counter::IpInDelivers);
        true
    }

    /// After frames were handed to the devices: releases the send-buffer charges of sockets
    /// whose frames have all left, waking blocked writers.
    pub(crate) fn udp_transmitted(&mut self) {
        if !self.udp.has_charges() {
            return;
        }
        let mut busy = 0u64;
        for (i, iface) in self.ifaces.iter().enumerate() {
            if !iface.egress.is_empty() {
                busy |= 1 << (i % 64);
            }
        }
        self.udp.release_charges(busy);
    }
}

fn not_connected() -> io::Error {
    error(io::ErrorKind::NotConnected, "UDP socket is not connected")
}

#[cfg(test)]
mod tests;
