//! [`RawSocket`]: an `AF_PACKET` raw socket bound to one interface, which lets the stack send and
//! receive whole Ethernet frames on an existing interface (a veth end, or a real NIC).
//!
//! # Setting one up
//!
//! The usual test setup is a veth pair: the kernel keeps one end, with an address; the stack
//! takes over the other end, which has no address (so the kernel's own stack stays out of the
//! way on it):
//!
//! ```text
//! ip link add vk type veth peer name vs
//! ip addr add 10.7.1.1/24 dev vk           # the kernel's end
//! ethtool -K vk tx off                     # real checksums, frames <= MTU (see below)
//! ip link set vk up
//! ip link set vs up                        # the stack's end: up, no address
//! sysctl -w net.ipv6.conf.vs.disable_ipv6=1
//! # the stack: RawSocket::open("vs"), with an address in the same subnet, e.g. 10.7.1.2/24
//! ```
//!
//! Opening the socket needs `CAP_NET_RAW` (run as root). The interface is looked up in the network
//! namespace of the calling thread.
//!
//! # Kernel facts this relies on
//!
//! - The socket is `socket(AF_PACKET, SOCK_RAW, 0)`, then `bind`s to the interface's index with
//!   protocol `ETH_P_ALL`. Creating it with protocol 0 first means it receives nothing until it is
//!   bound: a socket created with `ETH_P_ALL` would queue frames from every interface until then.
//!   With `SOCK_RAW`, frames are read and written whole, from the destination MAC on.
//! - An `AF_PACKET` socket also sees the frames other senders transmit on its interface (the
//!   kernel's own stack, other programs' packet sockets), tagged `PACKET_OUTGOING`; it never gets
//!   back the frames it sent itself. The stack must not take those outgoing frames for incoming
//!   ones, so the device sets `PACKET_IGNORE_OUTGOING` (Linux 4.20+) and the kernel does not queue
//!   them at all; on older kernels it falls back to skipping frames whose `sll_pkttype` is
//!   `PACKET_OUTGOING` ([`RawSocket::kernel_ignores_outgoing`] tells which).
//! - On veth, the peer's transmit offloads produce frames with only partial checksums and, with
//!   TSO/GSO, up to ~64 KiB long: turn them off on the kernel's end (`ethtool -K vk tx off`). Then
//!   frames carry real checksums and are at most MTU + 14 bytes, and the [`Capabilities`] claim no
//!   offload.
//! - Each `recvfrom` uses `MSG_TRUNC`, which returns a frame's real length even when it did not fit
//!   the buffer: a frame longer than MTU + 14 + 4 (VLAN tag) is dropped and counted in
//!   [`RawStats::rx_oversize`] instead of being handed on truncated. The MTU is read once, when the
//!   socket opens (`SIOCGIFMTU`).
//! - The socket is non-blocking: `recvfrom` returns `EAGAIN` when no frame is queued, which ends a
//!   [`Device::receive`] batch, and the reactor waits on [`RawSocket::raw_fd`].
//! - When the interface goes down, the kernel reports `ENETDOWN` once on the socket, and delivers
//!   frames again once it comes back up (the binding survives). `receive` treats that report as
//!   "no frame"; `transmit` on a down interface fails with `ENETDOWN`.
//!
//! # MAC addresses and promiscuous mode
//!
//! [`Device::mac`] is the stack's MAC address. By default it is the interface's own MAC: on veth
//! the stack owns that end of the link, and the kernel has no address on it, so nothing else
//! answers for that MAC. Another MAC can be set with [`RawSocket::with_mac`]; frames sent to it
//! still reach a veth end, but a real NIC filters them out in hardware unless it is in promiscuous
//! mode: see [`RawSocket::set_promiscuous`] (`PACKET_ADD_MEMBERSHIP` with `PACKET_MR_PROMISC`,
//! which the kernel undoes when the socket closes).
//!
//! # Transmit back-pressure
//!
//! A frame the kernel refuses with `EAGAIN` (socket send buffer full) or `ENOBUFS` (the interface's
//! queueing discipline dropped it) is kept in the transmit buffer (a one-frame queue) and reported
//! queued; the next `transmit` (or [`Device::flush`]) sends it first, and while it still cannot
//! be sent `transmit` returns `Ok(false)` without calling `fill`. While a frame is held,
//! [`Device::next_poll_in`] asks the runtime to call [`Device::flush`] again after 1 ms (the
//! kernel signals nothing when a queueing discipline has room again).
//!
//! Receive and transmit reuse one buffer each, allocated when the socket opens: no heap
//! allocation per frame.

use std::fmt;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::device::{Capabilities, Device, ETHERNET_HEADER_LEN, MacAddr};
use crate::fdio::{FrameIo, Received, VLAN_TAG_LEN, cvt};
use crate::ifreq;

/// The message of the error for a missing `CAP_NET_RAW`.
const NEEDS_CAP: &str = "raw sockets need CAP_NET_RAW: run as root or use the loopback NIC";

/// `ETH_P_ALL` in network byte order, as `sockaddr_ll.sll_protocol` wants it.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

/// A raw socket's counters, a snapshot taken by [`RawSocket::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawStats {
    /// Frames handed to `receive`'s sink.
    pub rx_frames: u64,
    /// Frames dropped on receive because they were longer than MTU + 14 + 4 bytes.
    pub rx_oversize: u64,
    /// Frames sent out of the interface by others (the kernel, other sockets) that `receive`
    /// skipped because the kernel lacks `PACKET_IGNORE_OUTGOING`; always 0 when it has it.
    pub rx_outgoing_skipped: u64,
    /// Frames sent to the kernel.
    pub tx_frames: u64,
    /// Frames the kernel refused with `EAGAIN`/`ENOBUFS`, kept for a later retry.
    pub tx_deferred: u64,
    /// `transmit` calls answered `Ok(false)` because a deferred frame still could not be sent.
    pub tx_full: u64,
}

/// An `AF_PACKET` raw socket bound to one interface: whole Ethernet frames to and from it.
///
/// See the [module documentation](self) for setup, the kernel behaviour it relies on, and which
/// MAC address [`Device::mac`] returns.
pub struct RawSocket {
    socket: Socket,
    name: String,
    ifindex: u32,
    mac: MacAddr,
    /// `PACKET_IGNORE_OUTGOING` is in effect; otherwise `receive` skips outgoing frames itself.
    ignore_outgoing: bool,
    promiscuous: bool,
    /// The buffers and counters. Receive buffer: MTU + header + VLAN tag (`MSG_TRUNC` reveals
    /// longer frames); transmit buffer: MTU + header, also holding a frame the kernel refused.
    io: FrameIo,
}

impl RawSocket {
    /// Opens a raw socket on the interface `iface` (in the calling thread's network namespace),
    /// not promiscuous, with the interface's own MAC address as the stack's.
    ///
    /// # Errors
    /// - [`io::ErrorKind::InvalidInput`]: `iface` is not a valid interface name.
    /// - [`io::ErrorKind::NotFound`]: no interface of that name.
    /// - [`io::ErrorKind::Unsupported`]: the interface is not an Ethernet device (e.g. `lo`).
    /// - [`io::ErrorKind::PermissionDenied`]: no `CAP_NET_RAW` (the message says so).
    pub fn open(iface: &str) -> io::Result<RawSocket> {
        let ifindex = ifreq::index(iface)?;
        let mtu = ifreq::mtu(iface)?;
        let mac = ifreq::hw_addr(iface)?;

        let socket = Socket::new(
            Domain::PACKET,
            Type::RAW.nonblocking(),
            Some(Protocol::from(0)),
        )
        .map_err(|err| match err.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => {
                io::Error::new(io::ErrorKind::PermissionDenied, NEEDS_CAP)
            }
            _ => io::Error::new(err.kind(), format!("creating an AF_PACKET socket: {err}")),
        })?;

        let ignore_outgoing = match set_int_option(&socket, libc::PACKET_IGNORE_OUTGOING, 1) {
            Ok(()) => true,
            Err(err) if err.raw_os_error() == Some(libc::ENOPROTOOPT) => false,
            Err(err) => {
                return Err(io::Error::new(
                    err.kind(),
                    format!("setting PACKET_IGNORE_OUTGOING: {err}"),
                ));
            }
        };

        let addr = sockaddr_ll(ifindex);
        // SAFETY: `addr` is a valid `sockaddr_ll` and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                socket.as_raw_fd(),
                (&raw const addr).cast(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ENODEV) {
                return Err(ifreq::no_such_interface(iface));
            }
            return Err(io::Error::new(
                err.kind(),
                format!("binding an AF_PACKET socket to `{iface}`: {err}"),
            ));
        }
        // Binding to an interface that is down leaves a pending ENETDOWN on the socket; frames
        // flow once it comes up, so that report is not an error here.
        match socket.take_error() {
            Ok(None) => {}
            Ok(Some(err)) | Err(err) if err.raw_os_error() == Some(libc::ENETDOWN) => {}
            Ok(Some(err)) | Err(err) => return Err(err),
        }

        Ok(RawSocket {
            socket,
            name: iface.to_owned(),
            ifindex,
            mac,
            ignore_outgoing,
            promiscuous: false,
            io: FrameIo::new(mtu, mtu + ETHERNET_HEADER_LEN + VLAN_TAG_LEN),
        })
    }

    /// Sets the stack's MAC address (the source of the frames it sends). On a real NIC, also
    /// enable [promiscuous mode](RawSocket::set_promiscuous) so that frames sent to it get in.
    pub fn with_mac(mut self, mac: MacAddr) -> RawSocket {
        self.mac = mac;
        self
    }

    /// Puts the interface in promiscuous mode for as long as this socket is open and `on`
    /// (`PACKET_ADD_MEMBERSHIP` / `PACKET_DROP_MEMBERSHIP` with `PACKET_MR_PROMISC`; `ip -d link`
    /// shows the interface's `promiscuity` count). Idempotent.
    ///
    /// # Errors
    /// The `setsockopt` error.
    pub fn set_promiscuous(&mut self, on: bool) -> io::Result<()> {
        if on == self.promiscuous {
            return Ok(());
        }
        // SAFETY: `packet_mreq` is plain old data; all-zero bytes are a valid value.
        let mut mreq: libc::packet_mreq = unsafe { mem::zeroed() };
        mreq.mr_ifindex = self.ifindex as libc::c_int;
        mreq.mr_type = libc::PACKET_MR_PROMISC as libc::c_ushort;
        let option = if on {
            libc::PACKET_ADD_MEMBERSHIP
        } else {
            libc::PACKET_DROP_MEMBERSHIP
        };
        set_option(&self.socket, option, &mreq)?;
        self.promiscuous = on;
        Ok(())
    }

    /// Whether this socket holds the interface in promiscuous mode.
    pub fn is_promiscuous(&self) -> bool {
        self.promiscuous
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface's index (as `ip link` numbers it).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The interface's own MAC address, read now (`SIOCGIFHWADDR`); the default stack MAC.
    ///
    /// # Errors
    /// When the interface cannot be queried (e.g. it was deleted).
    pub fn interface_mac(&self) -> io::Result<MacAddr> {
        ifreq::hw_addr(&self.name)
    }

    /// Whether the interface is up and running (`IFF_UP` and `IFF_RUNNING`, read now); a veth end
    /// is not running while its peer is down.
    ///
    /// # Errors
    /// When the interface cannot be queried (e.g. it was deleted).
    pub fn link_up(&self) -> io::Result<bool> {
        let flags = ifreq::flags(&self.name)?;
        let up = libc::IFF_UP | libc::IFF_RUNNING;
        Ok(flags & up == up)
    }

    /// Whether the kernel drops outgoing frames for this socket (`PACKET_IGNORE_OUTGOING`, Linux
    /// 4.20+); when `false`, `receive` skips them itself.
    pub fn kernel_ignores_outgoing(&self) -> bool {
        self.ignore_outgoing
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RawStats {
        let c = self.io.stats();
        RawStats {
            rx_frames: c.rx_frames,
            rx_oversize: c.rx_oversize,
            rx_outgoing_skipped: c.rx_skipped,
            tx_frames: c.tx_frames,
            tx_deferred: c.tx_deferred,
            tx_full: c.tx_full,
        }
    }

    /// Whether a frame the kernel refused is waiting in the transmit buffer (see the
    /// [module documentation](self#transmit-back-pressure)).
    pub fn transmit_pending(&self) -> bool {
        self.io.transmit_pending()
    }
}

/// A `sockaddr_ll` for binding to `ifindex`, all protocols.
fn sockaddr_ll(ifindex: u32) -> libc::sockaddr_ll {
    // SAFETY: `sockaddr_ll` is plain old data; all-zero bytes are a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as libc::c_ushort;
    addr.sll_protocol = ETH_P_ALL_BE;
    addr.sll_ifindex = ifindex as libc::c_int;
    addr
}

/// `setsockopt(SOL_PACKET, option, &value)`.
fn set_option<T>(socket: &Socket, option: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is valid for reads of `size_of::<T>()` bytes for the whole call; the
    // callers pass the type the option expects.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            option,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `setsockopt(SOL_PACKET, option, &(value as c_int))`.
fn set_int_option(socket: &Socket, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    set_option(socket, option, &value)
}

/// Receives one frame into `buf` (one `recvfrom`, no retry). With `MSG_TRUNC` the result is the
/// frame's real length, so a frame longer than `buf` shows as such; unless the kernel ignores
/// them for us (`ignore_outgoing`), frames sent out of the interface by others are skipped. A
/// pending `ENETDOWN` report reads as no frame.
fn recv_frame(fd: RawFd, ignore_outgoing: bool, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: `sockaddr_ll` is plain old data; all-zero bytes are a valid value.
    let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let mut from_len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes, and `from` for `from_len` bytes,
    // for the whole call.
    let n = cvt(unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            (&raw mut from).cast(),
            &mut from_len,
        )
    });
    let n = match n {
        Ok(n) => n,
        Err(err) if err.raw_os_error() == Some(libc::ENETDOWN) => return Ok(Received::Drained),
        Err(err) => return Err(err),
    };
    Ok(
        if !ignore_outgoing && from.sll_pkttype == libc::PACKET_OUTGOING {
            Received::Skipped
        } else if n > buf.len() {
            // `MSG_TRUNC` returned the real length: the frame did not fit.
            Received::Oversize
        } else {
            Received::Frame(n)
        },
    )
}

/// Sends one frame on the bound interface (one `send`, no retry).
fn send_frame(fd: RawFd, frame: &[u8]) -> io::Result<()> {
    // SAFETY: `frame` is valid for reads of `frame.len()` bytes for the whole call. A bound
    // packet socket needs no destination address.
    let n = unsafe { libc::send(fd, frame.as_ptr().cast(), frame.len(), libc::MSG_DONTWAIT) };
    cvt(n).map(drop)
}

impl Device for RawSocket {
    /// Receives up to `budget` frames, stopping early only when the kernel has no more
    /// (`EAGAIN`, or a pending `ENETDOWN` report): `Ok(0)` therefore means the socket is drained
    /// and readiness may be cleared.
    fn receive(&mut self, budget: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let (fd, ignore_outgoing) = (self.socket.as_raw_fd(), self.ignore_outgoing);
        self.io
            .receive(budget, sink, |buf| recv_frame(fd, ignore_outgoing, buf))
    }

    /// Sends one frame; see the [module documentation](self#transmit-back-pressure) for when it
    /// returns `Ok(false)`.
    fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> io::Result<bool> {
        let fd = self.socket.as_raw_fd();
        self.io.transmit(len, fill, |frame| send_frame(fd, frame))
    }

    fn mtu(&self) -> usize {
        self.io.mtu()
    }

    /// The stack's MAC address: the interface's own unless set with [`RawSocket::with_mac`].
    fn mac(&self) -> MacAddr {
        self.mac
    }

    /// No checksum offload (with the peer's offloads off, frames carry real checksums), bursts
    /// of 64.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.socket.as_raw_fd())
    }

    /// Always `false`: wait for [`Device::raw_fd`] to become readable instead.
    fn rx_pending(&self) -> bool {
        false
    }

    /// Retries the frame the kernel refused earlier, if any (see the
    /// [module documentation](self#transmit-back-pressure)); it stays held if refused again.
    ///
    /// # Errors
    /// The kernel's error other than `EAGAIN`/`ENOBUFS`; the held frame is then dropped.
    fn flush(&mut self) -> io::Result<()> {
        let fd = self.socket.as_raw_fd();
        self.io.flush(|frame| send_frame(fd, frame))
    }

    /// 1 ms while a refused frame is held, `None` otherwise: the kernel signals
    /// nothing when a full queue has room again, so the runtime retries after a short pause
    /// rather than spinning.
    fn next_poll_in(&self) -> Option<Duration> {
        self.io.next_poll_in()
    }
}

impl AsFd for RawSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for RawSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl fmt::Debug for RawSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSocket")
            .field("name", &self.name)
            .field("ifindex", &self.ifindex)
            .field("fd", &self.socket.as_raw_fd())
            .field("mtu", &self.io.mtu())
            .field("mac", &self.mac)
            .field("promiscuous", &self.promiscuous)
            .field("kernel_ignores_outgoing", &self.ignore_outgoing)
            .field("transmit_pending", &self.transmit_pending())
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_and_missing_interfaces() {
        let err = RawSocket::open("abcdefghijklmnop").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = RawSocket::open("sknonexist0").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        // `lo` exists everywhere, but it is not an Ethernet device.
        let err = RawSocket::open("lo").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    }

    #[test]
    fn bind_address() {
        let addr = sockaddr_ll(7);
        assert_eq!(addr.sll_family, libc::AF_PACKET as u16);
        assert_eq!(u16::from_be(addr.sll_protocol), 0x0003);
        assert_eq!(addr.sll_ifindex, 7);
    }
}
