//! The [`Device`] trait every network device implements, and the small types it uses:
//! [`MacAddr`] and [`Capabilities`].

use core::fmt;
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Length of an Ethernet header (destination, source, EtherType): a device's largest frame is
/// `mtu() + ETHERNET_HEADER_LEN` bytes.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// A device's 48-bit MAC address.
///
/// Deliberately tiny: `sockeye-nic` does not depend on `sockeye-netstack`, so the runtime converts
/// between this and the stack's `EthernetAddress` (both wrap the same `[u8; 6]`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The all-zero address `00:00:00:00:00:00`, which Linux's `lo` reports.
    pub const ZERO: MacAddr = MacAddr([0; 6]);
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> Self {
        MacAddr(octets)
    }
}

impl From<MacAddr> for [u8; 6] {
    fn from(mac: MacAddr) -> Self {
        mac.0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

/// What a device does for the stack, and how it prefers to be driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Received frames need no checksum verification: the device either verified them or, like
    /// Linux `lo`, cannot corrupt them. The stack then skips verifying IP, TCP and UDP checksums.
    pub rx_checksum_offload: bool,
    /// Transmitted frames need no checksums computed by the stack: the device fills them in or,
    /// like Linux `lo`, delivers frames that are never checked.
    pub tx_checksum_offload: bool,
    /// Every transmitted frame comes back as a received one, like Linux's `lo`: the stack can
    /// reach its own addresses through the device. Otherwise it delivers such traffic
    /// internally.
    pub loops_back: bool,
    /// How many frames the runtime should move per `receive` call (and per flush) to amortise the
    /// per-call cost; 64 by default, Linux's NAPI weight.
    pub max_burst: usize,
}

impl Default for Capabilities {
    /// No offloads, a burst of 64 frames.
    fn default() -> Self {
        Capabilities {
            rx_checksum_offload: false,
            tx_checksum_offload: false,
            loops_back: false,
            max_burst: 64,
        }
    }
}

/// A network device that moves Ethernet frames (from the destination address to the end of the
/// payload; no preamble, no frame check sequence).
///
/// Object safe: the runtime holds devices as `Box<dyn Device>`. Frames travel through callbacks
/// so that the device can lend its own buffers: no heap allocation per frame.
pub trait Device {
    /// Hands up to `budget` received frames to `sink`, one call per frame, borrowing the device's
    /// own buffer (no allocation per frame). Returns how many frames were delivered; `Ok(0)` means
    /// none was ready.
    fn receive(&mut self, budget: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize>;

    /// Transmits one frame of exactly `len` bytes: the device lends `fill` a buffer of `len` bytes
    /// to write the whole frame into (no allocation per frame).
    ///
    /// Returns `Ok(true)` when the frame was queued, `Ok(false)` when the device's transmit queue is
    /// full (back-pressure: `fill` was not called; the caller keeps its data and retries later),
    /// and `Err` on a device error. A `len` above `mtu() + ETHERNET_HEADER_LEN` is an
    /// [`io::ErrorKind::InvalidInput`] error.
    fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> io::Result<bool>;

    /// The largest IP packet the device carries (its Ethernet payload), like Linux's MTU.
    fn mtu(&self) -> usize;

    /// The device's MAC address.
    fn mac(&self) -> MacAddr;

    /// What the device offloads and how it prefers to be driven.
    fn capabilities(&self) -> Capabilities;

    /// A file descriptor the reactor can wait on for readability (TAP, AF_PACKET); `None` for
    /// in-process devices, which the runtime polls instead (see [`rx_pending`]).
    ///
    /// [`rx_pending`]: Device::rx_pending
    fn raw_fd(&self) -> Option<RawFd> {
        None
    }

    /// Whether frames are waiting to be received, known without blocking or a system call. For
    /// in-process devices this decides whether the runtime may sleep; devices with a
    /// [`raw_fd`](Device::raw_fd) may answer `false` and rely on the descriptor's readiness.
    fn rx_pending(&self) -> bool;

    /// Moves frames the device is holding back onward once they are due: delayed or
    /// rate-limited transmissions go to the wire (or to the wrapped device), buffered output is
    /// written out. Frames not yet due stay held; frames the next hop refuses (back-pressure) stay
    /// held and are retried by a later call, never dropped.
    ///
    /// The runtime calls it once per tick and whenever the time given by
    /// [`next_poll_in`](Device::next_poll_in) has passed. It must be cheap when nothing is held.
    /// An `Err` reports a device error met while moving held frames (wrappers forward their inner
    /// device's errors); the device stays usable. The default does nothing: devices that hold no
    /// frames need not implement it.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// How long from now until the device next needs attention that nothing else will signal: a
    /// held transmission becoming due (the runtime should then call [`flush`](Device::flush)), or a
    /// held received frame becoming receivable ([`rx_pending`](Device::rx_pending) turns true; the
    /// runtime should then call [`receive`](Device::receive)).
    ///
    /// - `Some(Duration::ZERO)`: something held is due already (for example a transmission the
    ///   next hop refused, to be retried).
    /// - `Some(d)`: call back after `d` at the latest; earlier calls are harmless.
    /// - `None`: the device holds nothing, so the runtime needs no timer for it. Frames that are
    ///   receivable already are reported by `rx_pending`, and kernel-backed devices signal through
    ///   [`raw_fd`](Device::raw_fd); neither needs an answer here.
    ///
    /// A duration relative to the device's own clock rather than an instant, so that devices on a
    /// virtual clock (simulation) and on the real clock both work: the runtime adds it to its own
    /// notion of now. Takes `&self` and has no side effects. The default is `None`.
    fn next_poll_in(&self) -> Option<Duration> {
        None
    }
}

/// Implements [`Device`] for a pointer type by forwarding every method to the pointee.
macro_rules! forward_device {
    ($(#[$doc:meta])* $ty:ty) => {
        $(#[$doc])*
        impl<D: Device + ?Sized> Device for $ty {
            fn receive(&mut self, budget: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
                (**self).receive(budget, sink)
            }

            fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> io::Result<bool> {
                (**self).transmit(len, fill)
            }

            fn mtu(&self) -> usize {
                (**self).mtu()
            }

            fn mac(&self) -> MacAddr {
                (**self).mac()
            }

            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }

            fn raw_fd(&self) -> Option<RawFd> {
                (**self).raw_fd()
            }

            fn rx_pending(&self) -> bool {
                (**self).rx_pending()
            }

            fn flush(&mut self) -> io::Result<()> {
                (**self).flush()
            }

            fn next_poll_in(&self) -> Option<Duration> {
                (**self).next_poll_in()
            }
        }
    };
}

forward_device!(
    /// Forwards to the boxed device, so wrappers generic over `D: Device` also accept boxed devices.
    Box<D>
);
forward_device!(
    /// Forwards to the borrowed device, so a wrapper can drive a device it does not own.
    &mut D
);

/// The error every device returns for a frame longer than `mtu() + ETHERNET_HEADER_LEN`.
pub(crate) fn oversize_frame(len: usize, mtu: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "frame of {len} bytes exceeds the device's limit of {} bytes (MTU {mtu} + \
             {ETHERNET_HEADER_LEN}-byte Ethernet header)",
            mtu.saturating_add(ETHERNET_HEADER_LEN)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_display() {
        assert_eq!(MacAddr::ZERO.to_string(), "00:00:00:00:00:00");
        let mac = MacAddr([0x02, 0xab, 0x0c, 0xff, 0x00, 0x01]);
        assert_eq!(mac.to_string(), "02:ab:0c:ff:00:01");
        assert_eq!(format!("{mac:?}"), "MacAddr(02:ab:0c:ff:00:01)");
        assert_eq!(MacAddr::from(mac.0), mac);
        assert_eq!(<[u8; 6]>::from(mac), mac.0);
        assert_eq!(MacAddr::default(), MacAddr::ZERO);
    }

    #[test]
    fn default_capabilities() {
        let caps = Capabilities::default();
        assert!(!caps.rx_checksum_offload);
        assert!(!caps.tx_checksum_offload);
        assert!(!caps.loops_back);
        assert_eq!(caps.max_burst, 64);
    }

    /// A device that overrides the two timing methods, to check their defaults and forwarding.
    struct Holding {
        flushes: usize,
    }

    impl Device for Holding {
        fn receive(&mut self, _: usize, _: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
            Ok(0)
        }
        fn transmit(&mut self, _: usize, _: &mut dyn FnMut(&mut [u8])) -> io::Result<bool> {
            Ok(false)
        }
        fn mtu(&self) -> usize {
            1500
        }
        fn mac(&self) -> MacAddr {
            MacAddr::ZERO
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }
        fn rx_pending(&self) -> bool {
            false
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
        fn next_poll_in(&self) -> Option<Duration> {
            Some(Duration::from_millis(self.flushes as u64))
        }
    }

    #[test]
    fn flush_and_next_poll_in_defaults_and_forwarding() {
        let mut lo = crate::Loopback::new();
        assert!(lo.flush().is_ok());
        assert_eq!(lo.next_poll_in(), None);

        let mut boxed: Box<dyn Device> = Box::new(Holding { flushes: 0 });
        boxed.flush().unwrap();
        assert_eq!(boxed.next_poll_in(), Some(Duration::from_millis(1)));
        let mut dev = Holding { flushes: 0 };
        {
            let mut by_ref: &mut Holding = &mut dev;
            Device::flush(&mut by_ref).unwrap();
            Device::flush(&mut by_ref).unwrap();
            assert_eq!(
                Device::next_poll_in(&by_ref),
                Some(Duration::from_millis(2))
            );
        }
        assert_eq!(dev.flushes, 2);
    }

    #[test]
    fn oversize_message() {
        let err = oversize_frame(1600, 1500);
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "frame of 1600 bytes exceeds the device's limit of 1514 bytes \
             (MTU 1500 + 14-byte Ethernet header)"
        );
    }
}
