//! [`Tap`]: a Linux TAP device (`/dev/net/tun` in `IFF_TAP` mode), which joins the stack to the
//! kernel's own network stack through a virtual Ethernet link.
//!
//! A TAP interface has two ends. The kernel's end is an ordinary interface (`tap0` in `ip link`)
//! with its own MAC address and usually an IP address; the other end is a file descriptor: every
//! frame the kernel transmits on the interface can be `read(2)` from the descriptor, and every
//! frame `write(2)`n to the descriptor arrives at the kernel as if received on the interface. The
//! stack sits at the descriptor's end, as if it were another host on a two-host Ethernet.
//!
//! # Setting one up
//!
//! ```text
//! ip tuntap add dev tap0 mode tap          # a persistent device (optional, see below)
//! ip addr add 10.7.0.1/24 dev tap0         # the kernel's address on the link
//! ip link set tap0 up
//! # the stack: Tap::open("tap0"), with an address in the same subnet, e.g. 10.7.0.2/24
//! ```
//!
//! [`Tap::open`] attaches to the device with the `TUNSETIFF` ioctl, which needs `CAP_NET_ADMIN`
//! (run as root). If no interface of that name exists, `TUNSETIFF` creates a non-persistent one,
//! which disappears when the [`Tap`] is dropped; the addresses can then be assigned once it is
//! open. A name with `%d` (`tap%d`) lets the kernel choose a free name: see [`Tap::name`]. The
//! device lives in the network namespace of the thread that opens it.
//!
//! # Kernel facts this relies on
//!
//! - `IFF_NO_PI`: frames carry no 4-byte packet-information prefix; one `read` returns exactly one
//!   Ethernet frame (destination MAC to end of payload, no FCS) and one `write` sends one.
//! - Until a process attaches, the interface shows `NO-CARRIER` and frames sent to it are lost.
//! - TAP offloads are off unless enabled with `TUNSETOFFLOAD` (which this device never does), so
//!   frames are at most MTU + 14 bytes (+ 4 for a VLAN tag) and carry complete checksums: the
//!   [`Capabilities`] claim no offload in either direction.
//! - The descriptor is non-blocking (`O_NONBLOCK`): `read` returns `EAGAIN` when no frame is
//!   queued, which ends a [`Device::receive`] batch, and the reactor waits on [`Tap::raw_fd`] for
//!   readability ([`Device::rx_pending`] is always `false`).
//! - A `read` with a buffer shorter than the frame silently truncates it. The receive buffer is
//!   therefore one byte longer than the largest frame the MTU allows (MTU + 14 + 4 for a VLAN
//!   tag); a frame that fills it was truncated (the MTU grew after opening) and is dropped and
//!   counted in [`TapStats::rx_oversize`]. The MTU is read once, when the device opens
//!   (`SIOCGIFMTU`): reopen the device after changing it.
//!
//! # MAC addresses
//!
//! [`Device::mac`] returns the *stack's* MAC address, the source of the frames the stack sends.
//! It is not the kernel interface's MAC (the one `ip link show tap0` prints, available from
//! [`Tap::interface_mac`]): the two ends of the link are two different hosts. By default it is
//! derived deterministically from the interface name (so a restarted program keeps its neighbour
//! entries valid), with the locally-administered bit set and the multicast bit clear; choose
//! another with [`Tap::with_mac`].
//!
//! # Transmit back-pressure
//!
//! A frame the kernel refuses with `EAGAIN` or `ENOBUFS` after it was written into the transmit
//! buffer is kept there (a one-frame queue) and [`Device::transmit`] reports it queued; the next
//! `transmit` (or [`Device::flush`]) sends it first, and while it still cannot be sent `transmit`
//! returns `Ok(false)` without calling `fill`. While a frame is held, [`Device::next_poll_in`]
//! asks the runtime to call [`Device::flush`] again after 1 ms (the kernel signals nothing when
//! there is room again). A TAP descriptor practically never refuses a
//! write (its send buffer is unlimited), so this is a safety net rather than a common path.
//!
//! Receive and transmit reuse one buffer each, allocated when the device opens: no heap
//! allocation per frame.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::device::{Capabilities, Device, ETHERNET_HEADER_LEN, MacAddr};
use crate::fdio::{FrameIo, Received, VLAN_TAG_LEN, cvt};
use crate::ifreq;

/// The TUN/TAP clone device.
const TUN_PATH: &str = "/dev/net/tun";

/// The message of the error for a missing `CAP_NET_ADMIN`.
const NEEDS_CAP: &str = "TAP needs CAP_NET_ADMIN: run as root or use the loopback NIC";

/// A TAP device's counters, a snapshot taken by [`Tap::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TapStats {
    /// Frames handed to `receive`'s sink.
    pub rx_frames: u64,
    /// Frames dropped on receive because they were longer than the receive buffer (the MTU grew
    /// after the device opened).
    pub rx_oversize: u64,
    /// Frames written to the kernel.
    pub tx_frames: u64,
    /// Frames the kernel refused with `EAGAIN`/`ENOBUFS`, kept for a later retry.
    pub tx_deferred: u64,
    /// `transmit` calls answered `Ok(false)` because a deferred frame still could not be sent.
    pub tx_full: u64,
}

/// A TAP device: Ethernet frames to and from the kernel through `/dev/net/tun`.
///
/// See the [module documentation](self) for setup, the kernel behaviour it relies on, and which
/// MAC address [`Device::mac`] returns.
pub struct Tap {
    fd: OwnedFd,
    name: String,
    mac: MacAddr,
    /// The buffers and counters. Receive buffer: the largest frame (MTU + header + VLAN tag)
    /// plus one byte to detect truncation; transmit buffer: MTU + header, also holding a frame
    /// the kernel refused.
    io: FrameIo,
}

impl Tap {
    /// Attaches to the TAP interface `name`, creating a non-persistent one if none exists, in
    /// the calling thread's network namespace. A name containing `%d` (e.g. `tap%d`) makes the
    /// kernel pick a free one; [`Tap::name`] tells which.
    ///
    /// The MTU is read from the interface now; the stack's MAC address defaults to one derived
    /// from the name (see the [module documentation](self)).
    ///
    /// # Errors
    /// - [`io::ErrorKind::InvalidInput`]: `name` is not a valid interface name (empty, longer than
    ///   15 bytes — `IFNAMSIZ - 1` —, or containing `/`, `:`, whitespace or NUL), or an interface
    ///   of that name exists and is not a TAP device (or is a multi-queue one).
    /// - [`io::ErrorKind::PermissionDenied`]: no `CAP_NET_ADMIN` (the message says so).
    /// - [`io::ErrorKind::NotFound`]: `/dev/net/tun` does not exist (no `tun` driver).
    /// - [`io::ErrorKind::ResourceBusy`]: another descriptor is already attached to the device.
    pub fn open(name: &str) -> io::Result<Tap> {
        let mut ifr = ifreq::ifreq_for(name)?;
        let fd = open_clone_device()?;

        ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes the `ifreq` we pass, which is valid and writable for
        // the whole call; `fd` is an open `/dev/net/tun` descriptor.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF as _, &mut ifr) };
        if rc < 0 {
            return Err(tunsetiff_error(name, io::Error::last_os_error()));
        }
        // The kernel writes back the name it used (a `%d` template is filled in).
        let name = ifreq::name_of(&ifr);
        let mtu = ifreq::mtu(&name)?;
        let mut mac = default_mac(&name);
        if ifreq::hw_addr(&name).ok() == Some(mac) {
            // Astronomically unlikely, but two hosts on one link must not share a MAC.
            mac.0[5] ^= 1;
        }

        Ok(Tap {
            fd,
            name,
            mac,
            io: FrameIo::new(mtu, mtu + ETHERNET_HEADER_LEN + VLAN_TAG_LEN + 1),
        })
    }

    /// Sets the stack's MAC address: the source address of the frames the stack sends, which the
    /// kernel learns through ARP. It should be a unicast address other than the kernel
    /// interface's own ([`Tap::interface_mac`]).
    pub fn with_mac(mut self, mac: MacAddr) -> Tap {
        self.mac = mac;
        self
    }

    /// The interface's name (the kernel's choice when opened with a `%d` template).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kernel end's MAC address, as `ip link show` prints it (read now with `SIOCGIFHWADDR`).
    /// Frames the kernel sends carry it as their source; it is not [`Device::mac`].
    ///
    /// # Errors
    /// When the interface cannot be queried (e.g. it was deleted).
    pub fn interface_mac(&self) -> io::Result<MacAddr> {
        ifreq::hw_addr(&self.name)
    }

    /// Whether the interface is up and running (`IFF_UP` and `IFF_RUNNING`, read now): `false`
    /// while `ip link set NAME up` has not been run, in which case the kernel neither sends nor
    /// accepts frames.
    ///
    /// # Errors
    /// When the interface cannot be queried (e.g. it was deleted).
    pub fn link_up(&self) -> io::Result<bool> {
        let flags = ifreq::flags(&self.name)?;
        let up = libc::IFF_UP | libc::IFF_RUNNING;
        Ok(flags & up == up)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> TapStats {
        let c = self.io.stats();
        TapStats {
            rx_frames: c.rx_frames,
            rx_oversize: c.rx_oversize,
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

/// Opens `/dev/net/tun` non-blocking and close-on-exec, with clear errors.
fn open_clone_device() -> io::Result<OwnedFd> {
    // SAFETY: the path is a NUL-terminated constant; the result is checked.
    let fd = unsafe {
        libc::open(
            c"/dev/net/tun".as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => {
                io::Error::new(io::ErrorKind::PermissionDenied, NEEDS_CAP)
            }
            Some(libc::ENOENT | libc::ENODEV | libc::ENXIO) => io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{TUN_PATH} is missing ({err}): load the tun driver (`modprobe tun`) or \
                     create the node (`mknod {TUN_PATH} c 10 200`), or use the loopback NIC"
                ),
            ),
            _ => io::Error::new(err.kind(), format!("opening {TUN_PATH}: {err}")),
        });
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Turns a `TUNSETIFF` failure into an error that says what to do.
fn tunsetiff_error(name: &str, err: io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => {
            io::Error::new(io::ErrorKind::PermissionDenied, NEEDS_CAP)
        }
        Some(libc::EBUSY) => io::Error::new(
            io::ErrorKind::ResourceBusy,
            format!("TAP device `{name}` is already attached to another file descriptor"),
        ),
        Some(libc::EINVAL) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "interface `{name}` exists but is not a single-queue TAP device \
                 (see `ip -d link show {name}`)"
            ),
        ),
        _ => io::Error::new(
            err.kind(),
            format!("attaching to TAP device `{name}`: {err}"),
        ),
    }
}

/// The default stack MAC for the interface `name`: a 64-bit FNV-1a hash of the name, with the
/// locally-administered bit set and the multicast bit clear.
pub(crate) fn default_mac(name: &str) -> MacAddr {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let bytes = hash.to_be_bytes();
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&bytes[..6]);
    mac[0] = (mac[0] & !0x01) | 0x02;
    MacAddr(mac)
}

/// Reads one frame into `buf` (one `read`, no retry). A read that fills `buf` was truncated: the
/// frame was longer.
fn read_frame(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
    let n = cvt(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })?;
    Ok(match n {
        0 => Received::Drained,
        n if n == buf.len() => Received::Oversize,
        n => Received::Frame(n),
    })
}

/// Writes one frame (one `write`, no retry).
fn write_frame(fd: RawFd, frame: &[u8]) -> io::Result<()> {
    // SAFETY: `frame` is valid for reads of `frame.len()` bytes for the whole call.
    cvt(unsafe { libc::write(fd, frame.as_ptr().cast(), frame.len()) }).map(drop)
}

impl Device for Tap {
    /// Reads up to `budget` frames, stopping early only when the kernel has no more (`EAGAIN`):
    /// `Ok(0)` therefore means the descriptor is drained and readiness may be cleared.
    fn receive(&mut self, budget: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let fd = self.fd.as_raw_fd();
        self.io.receive(budget, sink, |buf| read_frame(fd, buf))
    }

    /// Writes one frame; see the [module documentation](self#transmit-back-pressure) for when
    /// it returns `Ok(false)`.
    fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> io::Result<bool> {
        let fd = self.fd.as_raw_fd();
        self.io.transmit(len, fill, |frame| write_frame(fd, frame))
    }

    fn mtu(&self) -> usize {
        self.io.mtu()
    }

    /// The stack's MAC address (not the kernel interface's: see [`Tap::interface_mac`]).
    fn mac(&self) -> MacAddr {
        self.mac
    }

    /// No checksum offload (frames carry real checksums both ways), bursts of 64.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
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
        let fd = self.fd.as_raw_fd();
        self.io.flush(|frame| write_frame(fd, frame))
    }

    /// 1 ms while a refused frame is held, `None` otherwise: the kernel signals
    /// nothing when a full queue has room again, so the runtime retries after a short pause
    /// rather than spinning.
    fn next_poll_in(&self) -> Option<Duration> {
        self.io.next_poll_in()
    }
}

impl AsFd for Tap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Tap {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tap")
            .field("name", &self.name)
            .field("fd", &self.fd.as_raw_fd())
            .field("mtu", &self.io.mtu())
            .field("mac", &self.mac)
            .field("transmit_pending", &self.transmit_pending())
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mac_is_local_unicast_and_stable() {
        let a = default_mac("tap0");
        assert_eq!(a, default_mac("tap0"));
        assert_ne!(a, default_mac("tap1"));
        assert_eq!(a.0[0] & 0x03, 0x02, "{a}");
        for name in ["", "x", "sktap0", "abcdefghijklmno"] {
            assert_eq!(default_mac(name).0[0] & 0x03, 0x02);
        }
    }

    #[test]
    fn bad_names_fail_before_touching_the_kernel() {
        let err = Tap::open("abcdefghijklmnop").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            Tap::open("").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn tunsetiff_errors() {
        let err = tunsetiff_error("t0", io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(err.to_string(), NEEDS_CAP);
        let err = tunsetiff_error("t0", io::Error::from_raw_os_error(libc::EBUSY));
        assert_eq!(err.kind(), io::ErrorKind::ResourceBusy);
        let err = tunsetiff_error("t0", io::Error::from_raw_os_error(libc::EINVAL));
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
