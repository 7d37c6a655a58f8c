//! UDP sockets (RFC 768): the socket table behind the [`Stack`](crate::Stack)'s `udp_*` methods.
//!
//! - **Handles**: a socket is named by a [`UdpHandle`], a slab index plus the slot's generation.
//!   Closing a socket bumps the generation, so a stale handle is refused
//!   ([`io::ErrorKind::InvalidInput`]) and never reaches a socket that reused the slot.
//! - **Demultiplexing**: a hash map from the bound local address to the slot: a datagram for
//!   `addr:port` goes to the socket bound to exactly that address, else to the one bound to
//!   `0.0.0.0:port`. O(1), never a scan. Binding follows Linux without `SO_REUSEADDR`: a port is
//!   either held by one wildcard socket or by sockets bound to distinct specific addresses.
//! - **Receive queues**: each socket's datagrams live in one bounded byte ring (the lazily
//!   allocated [`Ring`] the TCP buffers use), each as an 8-byte record (length, sender port,
//!   sender address) followed by the payload. Queueing a datagram allocates nothing (the ring
//!   grows by doubling up to the buffer size, then is reused), and the record header counts
//!   against the buffer, so even empty datagrams cannot queue without bound. Linux charges each
//!   datagram's `skb->truesize` (payload plus several hundred bytes) instead, so the same
//!   `SO_RCVBUF` holds somewhat more datagrams here. As on Linux, an empty queue takes one datagram
//!   even if it is larger than the buffer; after that, datagrams that do not fit are dropped.
//! - **Send accounting**: bytes a socket sent that still sit in an interface's egress queue are
//!   charged to its send buffer (`SO_SNDBUF`, default `wmem_default`). A socket whose charge
//!   reaches its buffer is not writable until the stack hands those frames to the devices, the
//!   analogue of Linux's `sk_wmem_alloc` limit that makes a fast sender block rather than
//!   overflow the device queue.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::io;
use std::task::Waker;

use crate::tcp::ring::Ring;

/// The largest UDP payload over IPv4: 65,535 bytes less the IPv4 (20) and UDP (8) headers.
pub const MAX_PAYLOAD: usize = 65_507;

/// Smallest receive buffer a socket can be given: Linux's `SOCK_MIN_RCVBUF` on x86-64.
pub const MIN_RCVBUF: usize = 2304;

/// Smallest send buffer a socket can be given: Linux's `SOCK_MIN_SNDBUF` on x86-64.
pub const MIN_SNDBUF: usize = 4608;

/// Bytes of the per-datagram record in a receive queue: length, sender port, sender address.
const RECORD_LEN: usize = 8;

/// Names one UDP socket of a stack. Copy it freely; after the socket is closed the handle is
/// stale and every operation on it fails with [`io::ErrorKind::InvalidInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpHandle {
    index: u32,
    generation: u32,
}

impl UdpHandle {
    /// The slot in the socket table (slots are reused after a close).
    pub fn index(self) -> u32 {
        self.index
    }

    /// The generation of the slot this handle was issued for.
    pub fn generation(self) -> u32 {
        self.generation
    }
}

/// The error for a handle whose socket was closed.
fn stale() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "stale UDP socket handle")
}

/// Stores `waker` in `slot` unless it would wake the same task already.
pub(crate) fn register(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// A bounded queue of received datagrams stored back to back in one byte ring.
#[derive(Debug)]
pub(crate) struct RecvQueue {
    ring: Ring,
    datagrams: usize,
}

impl RecvQueue {
    /// An empty queue holding at most `limit` bytes (records included). Allocates nothing.
    pub(crate) fn new(limit: usize) -> RecvQueue {
        RecvQueue {
            ring: Ring::new(limit),
            datagrams: 0,
        }
    }

    /// Queues a datagram from `from`; false (and nothing queued) when it does not fit.
    pub(crate) fn push(&mut self, from: SocketAddrV4, payload: &[u8]) -> bool {
        let Ok(len) = u16::try_from(payload.len()) else {
            return false;
        };
        let need = RECORD_LEN + payload.len();
        if !self.ring.is_empty() && need > self.ring.free() {
            return false;
        }
        let limit = self.ring.limit();
        // An empty queue takes one datagram whatever its size, as Linux's does.
        self.ring.set_limit(limit.max(need));
        let mut record = [0u8; RECORD_LEN];
        record[0..2].copy_from_slice(&len.to_be_bytes());
        record[2..4].copy_from_slice(&from.port().to_be_bytes());
        record[4..8].copy_from_slice(&from.ip().octets());
        self.ring.write_at(0, &record);
        self.ring.write_at(RECORD_LEN, payload);
        self.ring.commit(need);
        self.ring.set_limit(limit);
        self.datagrams += 1;
        true
    }

    /// The length and sender of the oldest datagram.
    pub(crate) fn front(&self) -> Option<(usize, SocketAddrV4)> {
        if self.datagrams == 0 {
            return None;
        }
        let mut record = [0u8; RECORD_LEN];
        self.ring.read_at(0, &mut record);
        let len = usize::from(u16::from_be_bytes([record[0], record[1]]));
        let port = u16::from_be_bytes([record[2], record[3]]);
        let ip = Ipv4Addr::new(record[4], record[5], record[6], record[7]);
        Some((len, SocketAddrV4::new(ip, port)))
    }

    /// Copies as much of the oldest datagram as fits into `out`, leaving it queued. Returns the
    /// bytes copied, the datagram's full length, and its sender.
    pub(crate) fn peek(&self, out: &mut [u8]) -> Option<(usize, usize, SocketAddrV4)> {
        let (len, from) = self.front()?;
        let n = out.len().min(len);
        self.ring.read_at(RECORD_LEN, &mut out[..n]);
        Some((n, len, from))
    }

    /// Like [`RecvQueue::peek`], then drops the datagram (its uncopied tail is lost).
    pub(crate) fn pop(&mut self, out: &mut [u8]) -> Option<(usize, usize, SocketAddrV4)> {
        let got = self.peek(out)?;
        self.ring.consume(RECORD_LEN + got.1);
        self.datagrams -= 1;
        Some(got)
    }

    /// Datagrams queued.
    pub(crate) fn len(&self) -> usize {
        self.datagrams
    }

    /// Bytes charged to the buffer (payloads and records).
    pub(crate) fn bytes(&self) -> usize {
        self.ring.len()
    }

    /// The buffer size.
    pub(crate) fn limit(&self) -> usize {
        self.ring.limit()
    }

    /// Changes the buffer size; datagrams already queued are kept.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.ring.set_limit(limit);
    }
}

/// One UDP socket's state.
#[derive(Debug)]
pub(crate) struct UdpSocket {
    /// The bound address (`0.0.0.0` for every local address).
    pub(crate) local: SocketAddrV4,
    /// The peer set by `connect`: only its datagrams are received, and `send` goes to it.
    pub(crate) remote: Option<SocketAddrV4>,
    /// `SO_BROADCAST`: whether sending to a broadcast address is allowed.
    pub(crate) broadcast: bool,
    /// `IP_TTL`; `None`: `ip_default_ttl`.
    pub(crate) ttl: Option<u8>,
    pub(crate) rx: RecvQueue,
    /// `SO_SNDBUF`.
    pub(crate) sndbuf: usize,
    /// Bytes sent that are still queued for a device (charged to `sndbuf`).
    pub(crate) queued: usize,
    /// Interfaces (bit `index % 64`) whose egress queues hold the charged bytes.
    pub(crate) queued_on: u64,
    pub(crate) reader: Option<Waker>,
    pub(crate) writer: Option<Waker>,
    /// An ICMP error for the connected peer (`SO_ERROR`), for the next call.
    pub(crate) error: Option<std::io::ErrorKind>,
}

impl UdpSocket {
    /// A socket bound to `local` with the given buffer sizes.
    pub(crate) fn new(local: SocketAddrV4, rcvbuf: usize, sndbuf: usize) -> UdpSocket {
        UdpSocket {
            local,
            remote: None,
            broadcast: false,
            ttl: None,
            rx: RecvQueue::new(rcvbuf),
            sndbuf,
            queued: 0,
            queued_on: 0,
            reader: None,
            writer: None,
            error: None,
        }
    }

    /// Whether a datagram may be sent now (the send buffer is not full).
    pub(crate) fn writable(&self) -> bool {
        self.queued < self.sndbuf
    }
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    socket: Option<UdpSocket>,
}

/// The UDP sockets of one stack.
#[derive(Debug, Default)]
pub(crate) struct UdpTable {
    slots: Vec<Slot>,
    /// Indices of empty slots, reused last-freed first.
    free: Vec<u32>,
    /// Bound local address → slot index.
    by_local: crate::hash::Map<SocketAddrV4, u32>,
    /// Sockets bound per port, for the wildcard bind conflict check.
    ports: crate::hash::Map<u16, u32>,
    /// Sockets with a send-buffer charge, released when their frames leave.
    charged: Vec<UdpHandle>,
    /// Ephemeral binds so far: the nonce that makes each one's port choice independent.
    ephemeral_binds: u64,
}

impl UdpTable {
    /// An empty table.
    pub(crate) fn new() -> UdpTable {
        UdpTable::default()
    }

    /// Whether binding `local` conflicts with a bound socket: same address and port, or either
    /// of the two is the wildcard on that port.
    pub(crate) fn conflicts(&self, local: SocketAddrV4) -> bool {
        if local.ip().is_unspecified() {
            return self.ports.contains_key(&local.port());
        }
        let wildcard = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, local.port());
        self.by_local.contains_key(&local) || self.by_local.contains_key(&wildcard)
    }

    /// A fresh stand-in for the remote endpoint in the port-selection hash. A UDP bind has no
    /// remote, and hashing the same one every time would make consecutive ephemeral ports
    /// consecutive numbers; a per-bind counter makes each choice independent and, keyed by the
    /// stack's secret, unpredictable (in effect RFC 6056 algorithm 1, "simple port
    /// randomization", which Linux also uses for UDP).
    pub(crate) fn ephemeral_nonce(&mut self) -> (Ipv4Addr, u16) {
        self.ephemeral_binds += 1;
        let n = self.ephemeral_binds;
        (Ipv4Addr::from((n >> 16) as u32), n as u16)
    }

    /// The first of `candidates` (non-zero) that `ip` can bind.
    pub(crate) fn pick_port(
        &self,
        ip: Ipv4Addr,
        candidates: impl IntoIterator<Item = u16>,
    ) -> Option<u16> {
        candidates
            .into_iter()
            .find(|&p| p != 0 && !self.conflicts(SocketAddrV4::new(ip, p)))
    }

    /// Adds a socket under its local address.
    ///
    /// # Errors
    /// [`io::ErrorKind::AddrInUse`] if the address [conflicts](UdpTable::conflicts).
    pub(crate) fn insert(&mut self, socket: UdpSocket) -> io::Result<UdpHandle> {
        let local = socket.local;
        if self.conflicts(local) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "UDP address already in use",
            ));
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.slots.len()).expect("more than 2^32 UDP sockets");
                self.slots.push(Slot {
                    generation: 0,
                    socket: None,
                });
                i
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.socket = Some(socket);
        self.by_local.insert(local, index);
        *self.ports.entry(local.port()).or_insert(0) += 1;
        Ok(UdpHandle {
            index,
            generation: slot.generation,
        })
    }

    /// The socket `h` names.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for a stale handle.
    pub(crate) fn get(&self, h: UdpHandle) -> io::Result<&UdpSocket> {
        match self.slots.get(h.index as usize) {
            Some(slot) if slot.generation == h.generation => slot.socket.as_ref().ok_or_else(stale),
            _ => Err(stale()),
        }
    }

    /// The socket `h` names, mutably.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for a stale handle.
    pub(crate) fn get_mut(&mut self, h: UdpHandle) -> io::Result<&mut UdpSocket> {
        match self.slots.get_mut(h.index as usize) {
            Some(slot) if slot.generation == h.generation => slot.socket.as_mut().ok_or_else(stale),
            _ => Err(stale()),
        }
    }

    /// Closes `h`: frees its address and its slot, making every copy of `h` stale.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for a stale handle.
    pub(crate) fn remove(&mut self, h: UdpHandle) -> io::Result<UdpSocket> {
        self.get(h)?;
        let slot = &mut self.slots[h.index as usize];
        let socket = slot.socket.take().ok_or_else(stale)?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(h.index);
        self.by_local.remove(&socket.local);
        if let Some(n) = self.ports.get_mut(&socket.local.port()) {
            *n -= 1;
            if *n == 0 {
                self.ports.remove(&socket.local.port());
            }
        }
        Ok(socket)
    }

    /// Moves `h` from the wildcard to `ip` on the same port (what `connect` does on Linux).
    /// Cannot conflict: the wildcard socket was the port's only one.
    pub(crate) fn narrow(&mut self, h: UdpHandle, ip: Ipv4Addr) -> io::Result<()> {
        let socket = self.get_mut(h)?;
        let old = socket.local;
        if !old.ip().is_unspecified() {
            return Ok(());
        }
        socket.local = SocketAddrV4::new(ip, old.port());
        self.by_local.remove(&old);
        self.by_local
            .insert(SocketAddrV4::new(ip, old.port()), h.index);
        Ok(())
    }

    /// The socket that receives a datagram from `from` to `local`: bound to exactly `local`,
    /// else to the wildcard on its port; `None` if that socket is connected to another peer.
    pub(crate) fn lookup_mut(
        &mut self,
        local: SocketAddrV4,
        from: SocketAddrV4,
    ) -> Option<&mut UdpSocket> {
        let wildcard = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, local.port());
        let index = *self
            .by_local
            .get(&local)
            .or_else(|| self.by_local.get(&wildcard))?;
        let socket = self.slots[index as usize].socket.as_mut()?;
        match socket.remote {
            Some(remote) if remote != from => None,
            _ => Some(socket),
        }
    }

    /// Charges `bytes` queued on interface `iface` to `h`'s send buffer.
    pub(crate) fn charge(&mut self, h: UdpHandle, iface: u16, bytes: usize) {
        let Ok(socket) = self.get_mut(h) else {
            return;
        };
        let first = socket.queued == 0;
        socket.queued += bytes;
        socket.queued_on |= 1 << (iface % 64);
        if first {
            self.charged.push(h);
        }
    }

    /// Whether any socket has a send-buffer charge.
    pub(crate) fn has_charges(&self) -> bool {
        !self.charged.is_empty()
    }

    /// Releases the charges of sockets whose frames have all left (`busy` has bit `i % 64` set
    /// for each interface `i` whose egress queue is not empty), waking their blocked writers.
    pub(crate) fn release_charges(&mut self, busy: u64) {
        let mut charged = std::mem::take(&mut self.charged);
        charged.retain(|&h| {
            let Ok(socket) = self.get_mut(h) else {
                return false;
            };
            if socket.queued_on & busy != 0 {
                return true;
            }
            socket.queued = 0;
            socket.queued_on = 0;
            if let Some(w) = socket.writer.take() {
                w.wake();
            }
            false
        });
        self.charged = charged;
    }
}

#[cfg(test)]
mod tests;
