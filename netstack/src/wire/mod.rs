//! Wire formats: parsing and emitting protocol headers in place.
//!
//! One file per protocol. Each provides:
//!
//! - a zero-copy view `XxxPacket<T: AsRef<[u8]>>` (or `XxxFrame`) over a byte buffer, with a
//!   `new_checked` constructor that validates lengths once, so that its accessors can then read
//!   fields directly; for `T: AsMut<[u8]>` it also has setters, used to emit headers in place;
//! - a small `XxxRepr` value holding the header's meaning, with `parse` (from a view) and `emit`
//!   (into a view), and `buffer_len` to size the buffer beforehand.
//!
//! Parsing never allocates and never panics on bad input: malformed bytes yield a [`WireError`].
//! Views built with `new_unchecked` skip the length check; they are for buffers the caller sized
//! itself (for example to emit into), and their accessors panic if that promise is broken.
//!
//! [`checksum`] holds the Internet checksum shared by IPv4, ICMP, UDP and TCP.
//!
//! Functions that check a checksum take `verify: bool` and functions that compute one take
//! `fill: bool`: pass `false` when the device offloads checksums (the in-process loopback, like
//! Linux's `lo`, skips them altogether).
//!
//! | module       | protocol                             | view              | value            |
//! |--------------|--------------------------------------|-------------------|------------------|
//! | [`ethernet`] | Ethernet II                          | [`EthernetFrame`] | [`EthernetRepr`] |
//! | [`arp`]      | ARP for IPv4 over Ethernet (RFC 826) | [`ArpPacket`]     | [`ArpRepr`]      |
//! | [`ipv4`]     | IPv4 (RFC 791)                       | [`Ipv4Packet`]    | [`Ipv4Repr`]     |
//! | [`icmpv4`]   | ICMP for IPv4 (RFC 792)              | [`Icmpv4Packet`]  | [`Icmpv4Repr`]   |
//! | [`udp`]      | UDP (RFC 768)                        | [`UdpPacket`]     | [`UdpRepr`]      |
//! | [`tcp`]      | TCP (RFC 9293, 7323, 2018, 1982)     | [`TcpPacket`]     | [`TcpRepr`]      |

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmpv4;
pub mod ipv4;
pub mod tcp;
pub mod udp;

pub use self::arp::{ArpOperation, ArpPacket, ArpRepr};
pub use self::ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
pub use self::icmpv4::{Icmpv4Message, Icmpv4Packet, Icmpv4Repr};
pub use self::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
pub use self::tcp::{SackBlocks, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr};
pub use self::udp::{UdpPacket, UdpRepr};

use core::fmt;

/// Why bytes could not be parsed as a protocol header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireError {
    /// The buffer is shorter than the header or than the length the header declares.
    Truncated,
    /// A field holds a value the protocol forbids (a bad version, an impossible length, ...).
    Malformed,
    /// The checksum does not match the contents.
    Checksum,
    /// The bytes are valid but use a feature this stack does not implement.
    Unsupported,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireError::Truncated => "truncated packet",
            WireError::Malformed => "malformed packet",
            WireError::Checksum => "checksum mismatch",
            WireError::Unsupported => "unsupported packet feature",
        })
    }
}

impl std::error::Error for WireError {}

/// The result of parsing wire data.
pub type Result<T> = core::result::Result<T, WireError>;

#[cfg(test)]
mod tests {
    use super::WireError;

    #[test]
    fn errors_display() {
        assert_eq!(WireError::Truncated.to_string(), "truncated packet");
        assert_eq!(WireError::Checksum.to_string(), "checksum mismatch");
        let boxed: Box<dyn std::error::Error> = Box::new(WireError::Malformed);
        assert_eq!(boxed.to_string(), "malformed packet");
    }
}
