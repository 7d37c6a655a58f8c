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
//!
//! Devices to come: a hub joining several in-process stacks, TAP (`/dev/net/tun`), AF_PACKET raw
//! sockets, pcap file replay/record, a capture wrapper that tees any device to a pcap file, and an
//! impairment wrapper (seeded loss, duplication, reordering, corruption, delay, rate limit).

#![warn(missing_docs)]

pub mod capture;
pub mod device;
pub mod impair;
pub mod loopback;
pub mod pcap;
pub mod raw;
pub mod tap;
mod ifreq;

pub use device::{Capabilities, Device, ETHERNET_HEADER_LEN, MacAddr};
pub use loopback::{Loopback, LoopbackStats};
