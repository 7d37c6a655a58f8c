//! Network devices for sockeye: things that move Ethernet frames in and out.
//!
//! This crate knows nothing of IP or TCP; the runtime joins its devices to the sans-IO stack in
//! `sockeye-netstack` (and converts between [`MacAddr`] and the stack's own address type, since
//! the two crates do not depend on each other).
//!
//! Every device implements one trait, [`Device`]: batched receive (frames are lent to a callback,
//! borrowed from the device's own buffers) and transmit (the device lends a buffer for the frame to
//! be written into), plus its MTU, MAC address, [`Capabilities`] and, for devices backed by the
//! kernel, a file descriptor the reactor can wait on. Buffers are reused: the hot path makes no
//! heap allocation per frame.
//!
//! Devices available now:
//! - [`Loopback`]: in-process, transmitted frames come back as received frames, like Linux `lo`.
//! - [`Tap`]: a Linux TAP device (`/dev/net/tun`), the kernel's stack as the peer on a virtual link.
//! - [`RawSocket`]: an `AF_PACKET` raw socket on an existing interface (a veth end, or a real NIC).
//! - [`Hub`]: several in-process hosts on one simulated Ethernet segment, one [`HubPort`] each.
//! - [`PcapDevice`]: replays a pcap file as received frames, records transmitted frames to another.
//!
//! Wrappers, themselves devices, around any device:
//! - [`Capture`]: records every frame in both directions into a pcap file, like tcpdump.
//! - [`Impair`]: seeded loss (independent and bursty), duplication, reordering, corruption, delay
//!   with jitter, and a token-bucket rate limit, per direction, on a real or virtual [`clock`].
//!
//! Devices that hold frames for later (the impairment wrapper, a timed pcap replay) tell the
//! runtime when to come back with [`Device::next_poll_in`], and move frames on in
//! [`Device::flush`].

#![warn(missing_docs)]

pub mod capture;
pub mod clock;
pub mod device;
mod fdio;
pub mod hub;
mod ifreq;
pub mod impair;
pub mod loopback;
pub mod pcap;
mod pool;
pub mod raw;
pub mod tap;

pub use capture::Capture;
pub use device::{Capabilities, Device, ETHERNET_HEADER_LEN, MacAddr};
pub use hub::{Hub, HubPort, HubPortStats};
pub use impair::{Impair, ImpairConfig};
pub use loopback::{Loopback, LoopbackStats};
pub use pcap::PcapDevice;
pub use raw::{RawSocket, RawStats};
pub use tap::{Tap, TapStats};
