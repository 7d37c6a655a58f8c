//! Ethernet II frames (IEEE 802.3 with an EtherType): addresses, the EtherType, the
//! [`EthernetFrame`] view and the [`EthernetRepr`] header value.
//!
//! The frame as seen here starts at the destination address and ends with the payload: the
//! preamble and the frame check sequence belong to the hardware and never reach software. Frames
//! are not padded to the 60-byte minimum here; the device does that if its medium needs it, and
//! the IP layer ignores trailing padding using its own length field. 802.1Q VLAN tags and 802.3
//! length fields (values below 0x0600) are reported as [`EtherType::Unknown`].

use core::fmt;
use core::str::FromStr;

use super::{Result, WireError};

/// Length of the Ethernet header: destination address, source address, EtherType.
pub const HEADER_LEN: usize = 14;

/// Byte ranges of the header fields.
mod field {
    use core::ops::Range;

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
}

/// A 48-bit Ethernet (MAC) address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Reads an address from the first six bytes of `bytes`, or `None` if there are fewer.
    pub fn from_bytes(bytes: &[u8]) -> Option<EthernetAddress> {
        let octets: [u8; 6] = bytes.get(..6)?.try_into().ok()?;
        Some(EthernetAddress(octets))
    }

    /// The six octets, in transmission order.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Whether this is the broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Whether this is a group address (the I/G bit, the lowest bit of the first octet, is set).
    /// The broadcast address is a multicast address too.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether this is an individual (unicast) address: the opposite of [`is_multicast`].
    ///
    /// [`is_multicast`]: EthernetAddress::is_multicast
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Whether this address is locally administered (the U/L bit, the second-lowest bit of the
    /// first octet, is set) rather than assigned by the manufacturer.
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl From<[u8; 6]> for EthernetAddress {
    fn from(octets: [u8; 6]) -> Self {
        EthernetAddress(octets)
    }
}

impl From<EthernetAddress> for [u8; 6] {
    fn from(addr: EthernetAddress) -> Self {
        addr.0
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EthernetAddress({self})")
    }
}

/// Why a string is not an Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseEthernetAddressError {
    kind: ParseErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParseErrorKind {
    OctetCount,
    BadOctet,
}

impl fmt::Display for ParseEthernetAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            ParseErrorKind::OctetCount => {
                "invalid Ethernet address: expected six octets separated by ':' or '-', \
                 as in aa:bb:cc:dd:ee:ff"
            }
            ParseErrorKind::BadOctet => {
                "invalid Ethernet address: each octet must be one or two hexadecimal digits"
            }
        })
    }
}

impl std::error::Error for ParseEthernetAddressError {}

impl FromStr for EthernetAddress {
    type Err = ParseEthernetAddressError;

    /// Parses six hexadecimal octets of one or two digits, separated by `:` or by `-` (the same
    /// separator throughout): `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF`, `2:0:0:0:0:1`.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let error = |kind| ParseEthernetAddressError { kind };
        if s.is_empty() {
            return Err(error(ParseErrorKind::OctetCount));
        }
        let separator = if s.contains('-') { '-' } else { ':' };
        let mut parts = s.split(separator);
        let mut octets = [0u8; 6];
        for octet in &mut octets {
            let part = parts.next().ok_or(error(ParseErrorKind::OctetCount))?;
            // Checked by hand: `from_str_radix` would also accept a leading '+'.
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(error(ParseErrorKind::BadOctet));
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| error(ParseErrorKind::BadOctet))?;
        }
        if parts.next().is_some() {
            return Err(error(ParseErrorKind::OctetCount));
        }
        Ok(EthernetAddress(octets))
    }
}

/// The EtherType: which protocol an Ethernet frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// Internet Protocol version 4 (0x0800).
    Ipv4,
    /// Address Resolution Protocol (0x0806).
    Arp,
    /// Internet Protocol version 6 (0x86DD).
    Ipv6,
    /// Any other value. [`From<u16>`](EtherType::from) never produces `Unknown` for the values
    /// named above, so compare against those variants rather than `Unknown(0x0800)`.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86DD => EtherType::Ipv6,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86DD,
            EtherType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => f.write_str("IPv4"),
            EtherType::Arp => f.write_str("ARP"),
            EtherType::Ipv6 => f.write_str("IPv6"),
            EtherType::Unknown(value) => write!(f, "0x{value:04x}"),
        }
    }
}

/// A zero-copy view of an Ethernet frame in a byte buffer.
///
/// Built with [`new_checked`](EthernetFrame::new_checked), the buffer holds at least a header and
/// every accessor is infallible. Built with [`new_unchecked`](EthernetFrame::new_unchecked), the
/// accessors panic if the buffer is shorter than [`HEADER_LEN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> EthernetFrame<T> {
        EthernetFrame { buffer }
    }

    /// Wraps `buffer`, failing with [`WireError::Truncated`] if it cannot hold a header.
    pub fn new_checked(buffer: T) -> Result<EthernetFrame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds at least a header ([`WireError::Truncated`] otherwise).
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(WireError::Truncated)
        } else {
            Ok(())
        }
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The length of a frame carrying `payload_len` bytes of payload.
    pub const fn buffer_len(payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    /// The destination address.
    pub fn dst_addr(&self) -> EthernetAddress {
        self.address(field::DESTINATION)
    }

    /// The source address.
    pub fn src_addr(&self) -> EthernetAddress {
        self.address(field::SOURCE)
    }

    /// The EtherType of the payload.
    pub fn ethertype(&self) -> EtherType {
        let bytes = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType::from(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    /// The payload: every byte after the header (including any padding the sender added).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    fn address(&self, range: core::ops::Range<usize>) -> EthernetAddress {
        let mut octets = [0u8; 6];
        octets.copy_from_slice(&self.buffer.as_ref()[range]);
        EthernetAddress(octets)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> EthernetFrame<&'a T> {
    /// The payload, borrowed for as long as the underlying buffer rather than the view, so it can
    /// be handed on to the next layer after the view is gone.
    pub fn into_payload(self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        let value = u16::from(ethertype).to_be_bytes();
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&value);
    }

    /// The payload, writable: every byte after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// The meaning of an Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// The sender's address.
    pub src_addr: EthernetAddress,
    /// The receiver's address (possibly broadcast or multicast).
    pub dst_addr: EthernetAddress,
    /// The protocol of the payload.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Reads the header of `frame`, failing with [`WireError::Truncated`] if it is too short.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &EthernetFrame<&T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// The length of the header this value emits.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into `frame`, leaving the payload untouched.
    ///
    /// A frame built with [`EthernetFrame::new_checked`] is always large enough; one built with
    /// `new_unchecked` must be at least [`buffer_len`](EthernetRepr::buffer_len) bytes long, or
    /// this panics.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for EthernetRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ethernet {} > {} type {}",
            self.src_addr, self.dst_addr, self.ethertype
        )
    }
}

#[cfg(test)]
mod tests;
