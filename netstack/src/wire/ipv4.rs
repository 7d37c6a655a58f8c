//! IPv4 (RFC 791): the [`Ipv4Packet`] view, the [`Ipv4Repr`] header value and [`IpProtocol`].
//!
//! The view covers one datagram, from the version nibble to the end of the payload. Its
//! [`payload`](Ipv4Packet::payload) ends where the *total length* field says, not at the end of
//! the buffer: an Ethernet frame may carry padding after a short datagram.
//!
//! Options (RFC 791 section 3.1) are counted in the header length and skipped, never parsed;
//! [`Ipv4Repr::emit`] always writes a 20-byte header without options.
//!
//! Fragments are accepted. [`Ipv4Repr`] describes an unfragmented datagram, so it keeps only the
//! *don't fragment* bit; the reassembler reads the fragment fields ([`more_frags`],
//! [`frag_offset`], [`ident`]) from the view, and every caller must check
//! [`is_fragment`](Ipv4Packet::is_fragment) before treating the payload as a whole transport
//! segment.
//!
//! Checksums: [`Ipv4Repr::parse`] takes `verify` and [`Ipv4Repr::emit`] takes `fill`. Pass `false`
//! when the device offloads (or, like the in-process loopback, skips) checksums.
//!
//! [`more_frags`]: Ipv4Packet::more_frags
//! [`frag_offset`]: Ipv4Packet::frag_offset
//! [`ident`]: Ipv4Packet::ident

use core::fmt;
use core::net::Ipv4Addr;

use super::checksum;
use super::{Result, WireError};

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

/// Byte ranges and offsets of the header fields.
mod field {
    use core::ops::Range;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// The *don't fragment* bit of the flags-and-offset word.
const DONT_FRAG: u16 = 0x4000;
/// The *more fragments* bit of the flags-and-offset word.
const MORE_FRAGS: u16 = 0x2000;
/// The fragment offset, in units of 8 bytes, in the flags-and-offset word.
const FRAG_OFFSET: u16 = 0x1fff;

/// The protocol carried in an IPv4 payload (the *protocol* field; IPv6 calls it *next header*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// Internet Control Message Protocol (1).
    Icmp,
    /// Transmission Control Protocol (6).
    Tcp,
    /// User Datagram Protocol (17).
    Udp,
    /// Any other value. [`From<u8>`](IpProtocol::from) never produces `Unknown` for the values
    /// named above.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> Self {
        match value {
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(value: IpProtocol) -> Self {
        match value {
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Unknown(other) => other,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::Icmp => f.write_str("ICMP"),
            IpProtocol::Tcp => f.write_str("TCP"),
            IpProtocol::Udp => f.write_str("UDP"),
            IpProtocol::Unknown(value) => write!(f, "protocol {value}"),
        }
    }
}

/// A zero-copy view of an IPv4 datagram in a byte buffer.
///
/// Built with [`new_checked`](Ipv4Packet::new_checked), every accessor is infallible. Built with
/// [`new_unchecked`](Ipv4Packet::new_unchecked), accessors panic if the buffer is shorter than
/// the fields they read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wraps `buffer`, validating it with [`check_len`](Ipv4Packet::check_len).
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Wraps the header of a datagram quoted inside an ICMP error message (RFC 792), validated
    /// with [`check_header`](Ipv4Packet::check_header): the header must be whole, but the
    /// payload is usually cut short, and [`payload`](Ipv4Packet::payload) returns what is there.
    pub fn new_quoted(buffer: T) -> Result<Ipv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_header()?;
        Ok(packet)
    }

    /// Validates the header alone: at least 20 bytes ([`WireError::Truncated`]), version 4 and
    /// IHL at least 5 ([`WireError::Malformed`]), total length at least the header length
    /// ([`WireError::Malformed`]), and the whole header, options included, in the buffer
    /// ([`WireError::Truncated`]). The payload may be shorter than the total length says.
    pub fn check_header(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if self.version() != 4 || self.header_len() < HEADER_LEN as u8 {
            return Err(WireError::Malformed);
        }
        if usize::from(self.total_len()) < usize::from(self.header_len()) {
            return Err(WireError::Malformed);
        }
        if len < usize::from(self.header_len()) {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// Validates the whole datagram: [`check_header`](Ipv4Packet::check_header), then that the
    /// buffer holds all of the total length ([`WireError::Truncated`] otherwise). Bytes past the
    /// total length (link-layer padding) are allowed and ignored.
    pub fn check_len(&self) -> Result<()> {
        self.check_header()?;
        if self.buffer.as_ref().len() < usize::from(self.total_len()) {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (4 for every packet that passed [`check_len`](Ipv4Packet::check_len)).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (the IHL field times four), options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The Differentiated Services Code Point (RFC 2474): the upper six bits of the old TOS.
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// The Explicit Congestion Notification codepoint (RFC 3168): the lower two bits of the TOS.
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// The total length of the datagram in bytes, header included.
    pub fn total_len(&self) -> u16 {
        self.read_u16(field::TOTAL_LEN)
    }

    /// The identification field, which groups the fragments of one datagram.
    pub fn ident(&self) -> u16 {
        self.read_u16(field::IDENT)
    }

    /// The *don't fragment* flag.
    pub fn dont_frag(&self) -> bool {
        self.read_u16(field::FLAGS_FRAG) & DONT_FRAG != 0
    }

    /// The *more fragments* flag.
    pub fn more_frags(&self) -> bool {
        self.read_u16(field::FLAGS_FRAG) & MORE_FRAGS != 0
    }

    /// The fragment offset in bytes (the field counts units of 8 bytes).
    pub fn frag_offset(&self) -> u16 {
        (self.read_u16(field::FLAGS_FRAG) & FRAG_OFFSET) * 8
    }

    /// Whether this datagram is a fragment: *more fragments* is set or the offset is not zero.
    pub fn is_fragment(&self) -> bool {
        self.read_u16(field::FLAGS_FRAG) & (MORE_FRAGS | FRAG_OFFSET) != 0
    }

    /// The time-to-live field (the hop limit).
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        self.read_addr(field::SRC_ADDR)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        self.read_addr(field::DST_ADDR)
    }

    /// Whether the header checksum is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(&self.buffer.as_ref()[..usize::from(self.header_len())])
    }

    /// The options: the header bytes after the first 20 (empty for most datagrams).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.header_len())]
    }

    /// The payload: the bytes from the end of the header to the total length, without any
    /// padding that follows. For a view built with [`new_quoted`](Ipv4Packet::new_quoted) it
    /// stops at the end of the buffer if that comes first.
    pub fn payload(&self) -> &[u8] {
        let range = self.payload_range();
        &self.buffer.as_ref()[range]
    }

    fn payload_range(&self) -> core::ops::Range<usize> {
        let end = usize::from(self.total_len()).min(self.buffer.as_ref().len());
        usize::from(self.header_len())..end
    }

    fn read_u16(&self, range: core::ops::Range<usize>) -> u16 {
        let bytes = &self.buffer.as_ref()[range];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }

    fn read_addr(&self, range: core::ops::Range<usize>) -> Ipv4Addr {
        let bytes = &self.buffer.as_ref()[range];
        Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The payload, borrowed for as long as the underlying buffer rather than the view.
    pub fn into_payload(self) -> &'a [u8] {
        let range = self.payload_range();
        &self.buffer.as_ref()[range]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets the version field (the upper nibble of the first byte).
    pub fn set_version(&mut self, version: u8) {
        let byte = &mut self.buffer.as_mut()[field::VER_IHL];
        *byte = (*byte & 0x0f) | (version << 4);
    }

    /// Sets the header length in bytes; it must be a multiple of 4 from 20 to 60.
    pub fn set_header_len(&mut self, len: u8) {
        let byte = &mut self.buffer.as_mut()[field::VER_IHL];
        *byte = (*byte & 0xf0) | ((len / 4) & 0x0f);
    }

    /// Sets the DSCP (six bits; higher bits are ignored).
    pub fn set_dscp(&mut self, dscp: u8) {
        let byte = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *byte = (*byte & 0x03) | (dscp << 2);
    }

    /// Sets the ECN codepoint (two bits; higher bits are ignored).
    pub fn set_ecn(&mut self, ecn: u8) {
        let byte = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *byte = (*byte & 0xfc) | (ecn & 0x03);
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, len: u16) {
        self.write_u16(field::TOTAL_LEN, len);
    }

    /// Sets the identification field.
    pub fn set_ident(&mut self, ident: u16) {
        self.write_u16(field::IDENT, ident);
    }

    /// Sets or clears the *don't fragment* flag.
    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flag(DONT_FRAG, value);
    }

    /// Sets or clears the *more fragments* flag.
    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flag(MORE_FRAGS, value);
    }

    /// Sets the fragment offset in bytes (a multiple of 8; the remainder is dropped).
    pub fn set_frag_offset(&mut self, offset: u16) {
        let word = self.read_u16(field::FLAGS_FRAG);
        self.write_u16(field::FLAGS_FRAG, (word & !FRAG_OFFSET) | (offset / 8));
    }

    /// Sets the time-to-live field.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol field.
    pub fn set_next_header(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol.into();
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM, value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum and writes it; call it after every other header field is
    /// set.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let value = checksum::checksum(&self.buffer.as_ref()[..usize::from(self.header_len())]);
        self.set_checksum(value);
    }

    /// The payload, writable: from the end of the header to the total length.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.payload_range();
        &mut self.buffer.as_mut()[range]
    }

    fn set_flag(&mut self, bit: u16, value: bool) {
        let word = self.read_u16(field::FLAGS_FRAG);
        let word = if value { word | bit } else { word & !bit };
        self.write_u16(field::FLAGS_FRAG, word);
    }

    fn write_u16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }
}

/// The meaning of an IPv4 header, as the stack uses it.
///
/// Fragmentation fields other than *don't fragment* are not represented: see the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// The source address.
    pub src_addr: Ipv4Addr,
    /// The destination address.
    pub dst_addr: Ipv4Addr,
    /// The protocol of the payload.
    pub next_header: IpProtocol,
    /// The payload length in bytes (total length minus header length).
    pub payload_len: usize,
    /// The time to live.
    pub hop_limit: u8,
    /// The DSCP (six bits).
    pub dscp: u8,
    /// The ECN codepoint (two bits).
    pub ecn: u8,
    /// The identification field.
    pub ident: u16,
    /// The *don't fragment* flag (set by Linux on TCP, for path MTU discovery).
    pub dont_frag: bool,
}

impl Ipv4Repr {
    /// Reads the header of `packet`, validating it as [`Ipv4Packet::check_len`] does.
    ///
    /// With `verify` the header checksum is checked too ([`WireError::Checksum`]); pass `false`
    /// when the device has verified it already (checksum offload, the in-process loopback).
    ///
    /// Fragments are accepted: the caller must check [`Ipv4Packet::is_fragment`] and hand
    /// fragments to the reassembler. Options are skipped.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv4Packet<&T>, verify: bool) -> Result<Self> {
        packet.check_len()?;
        if verify && !packet.verify_checksum() {
            return Err(WireError::Checksum);
        }
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.total_len() - u16::from(packet.header_len())),
            hop_limit: packet.ttl(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        })
    }

    /// The length of the header this value emits (20: no options).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// The total length of the datagram: header plus payload.
    pub const fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes a 20-byte header without options into `packet`, leaving the payload untouched.
    /// The fragment offset and *more fragments* are zero; DSCP and ECN are masked to their
    /// widths. With `fill` the header checksum is computed, otherwise it is left zero for the
    /// device to fill.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than 20 bytes, or if `payload_len` exceeds 65,515 (the total
    /// length would not fit in 16 bits).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>, fill: bool) {
        let total_len =
            u16::try_from(self.total_len()).expect("IPv4 payload longer than 65,515 bytes");
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN as u8);
        packet.buffer.as_mut()[field::DSCP_ECN] = (self.dscp << 2) | (self.ecn & 0x03);
        packet.set_total_len(total_len);
        packet.set_ident(self.ident);
        let flags = if self.dont_frag { DONT_FRAG } else { 0 };
        packet.write_u16(field::FLAGS_FRAG, flags);
        packet.set_ttl(self.hop_limit);
        packet.set_next_header(self.next_header);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        if fill {
            packet.fill_checksum();
        } else {
            packet.set_checksum(0);
        }
    }
}

impl fmt::Display for Ipv4Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv4 {} > {} {} len {} ttl {}",
            self.src_addr, self.dst_addr, self.next_header, self.payload_len, self.hop_limit
        )
    }
}

#[cfg(test)]
mod tests;
