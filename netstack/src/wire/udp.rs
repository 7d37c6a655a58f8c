//! UDP (RFC 768): the [`UdpPacket`] view and the [`UdpRepr`] header value.
//!
//! The view covers the IPv4 payload. The datagram ends where UDP's own *length* field says: any
//! bytes after it are ignored (RFC 1122 section 4.1.3.4 lets the IP length exceed it).
//!
//! # Checksums
//!
//! The checksum covers an IPv4 pseudo-header, the UDP header and the payload. Over IPv4 a zero
//! checksum means "none was computed" and is accepted; a computed zero is sent as `0xffff`.
//! Parsing takes `verify` and emitting takes `fill`: pass `false` when the device offloads (or,
//! like the in-process loopback, skips) checksums.
//!
//! # Emitting
//!
//! The payload normally goes straight from a socket buffer into the frame, so emitting is split:
//!
//! 1. [`UdpRepr::emit_header`] writes the ports and the length, and zeroes the checksum;
//! 2. the caller writes the payload into [`UdpPacket::payload_mut`];
//! 3. the caller calls [`UdpPacket::fill_checksum`] if checksums are not offloaded.
//!
//! [`UdpRepr::emit`] does all three for a payload already in a slice.
//!
//! Ports are not checked: RFC 768 allows source port 0, and a datagram to port 0 simply finds no
//! socket (the stack then answers as for any closed port).

use core::fmt;
use core::net::Ipv4Addr;

use super::checksum;
use super::ipv4::IpProtocol;
use super::{Result, WireError};

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

/// Byte ranges of the header fields.
mod field {
    use core::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
}

/// A zero-copy view of a UDP datagram in a byte buffer.
///
/// Built with [`new_checked`](UdpPacket::new_checked), every accessor is infallible. Built with
/// [`new_unchecked`](UdpPacket::new_unchecked), accessors panic if the buffer is shorter than
/// the fields they read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> UdpPacket<T> {
        UdpPacket { buffer }
    }

    /// Wraps `buffer`, validating it with [`check_len`](UdpPacket::check_len).
    pub fn new_checked(buffer: T) -> Result<UdpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the lengths: a buffer of at least 8 bytes ([`WireError::Truncated`]), a length
    /// field of at least 8 ([`WireError::Malformed`]) and no greater than the buffer
    /// ([`WireError::Truncated`]).
    pub fn check_len(&self) -> Result<()> {
        let buffer_len = self.buffer.as_ref().len();
        if buffer_len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if len > buffer_len {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port (0 if the sender expects no reply).
    pub fn src_port(&self) -> u16 {
        self.read_u16(field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        self.read_u16(field::DST_PORT)
    }

    /// The length field: header plus payload, in bytes.
    pub fn len(&self) -> u16 {
        self.read_u16(field::LENGTH)
    }

    /// Whether the datagram carries no payload (its length field is 8 or less).
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// The checksum field (0: none was computed).
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    /// The payload: the bytes after the header, up to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// Whether the checksum is correct for a datagram from `src` to `dst`. A zero checksum
    /// field means none was computed and is always accepted.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.checksum() == 0 || checksum::fold(self.checksum_sum(src, dst)) == 0
    }

    /// The ones' complement sum of the pseudo-header and the datagram up to its length.
    fn checksum_sum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u32 {
        let len = self.len();
        let pseudo = checksum::pseudo_header_v4(src, dst, IpProtocol::Udp.into(), len);
        checksum::combine(
            pseudo,
            checksum::sum(&self.buffer.as_ref()[..usize::from(len)]),
        )
    }

    fn read_u16(&self, range: core::ops::Range<usize>) -> u16 {
        let bytes = &self.buffer.as_ref()[range];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> UdpPacket<&'a T> {
    /// The payload, borrowed for as long as the underlying buffer rather than the view.
    pub fn into_payload(self) -> &'a [u8] {
        let end = usize::from(self.len());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        self.write_u16(field::SRC_PORT, value);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        self.write_u16(field::DST_PORT, value);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, value: u16) {
        self.write_u16(field::LENGTH, value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM, value);
    }

    /// Computes the checksum for a datagram from `src` to `dst` and writes it. Call it after the
    /// header and the payload are in place. A computed zero is written as `0xffff`, since zero
    /// means "no checksum".
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let value = match checksum::fold(self.checksum_sum(src, dst)) {
            0 => 0xffff,
            value => value,
        };
        self.set_checksum(value);
    }

    /// The payload, writable: the bytes after the header, up to the length field.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    fn write_u16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }
}

/// The meaning of a UDP header. The length lives with the payload, not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// The source port.
    pub src_port: u16,
    /// The destination port.
    pub dst_port: u16,
}

impl UdpRepr {
    /// Reads the header of `packet`, validating it as [`UdpPacket::check_len`] does. With
    /// `verify`, a wrong checksum for a datagram from `src` to `dst` is [`WireError::Checksum`]
    /// (a zero checksum, "none", is accepted).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &UdpPacket<&T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        verify: bool,
    ) -> Result<UdpRepr> {
        packet.check_len()?;
        if verify && !packet.verify_checksum(src, dst) {
            return Err(WireError::Checksum);
        }
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
        })
    }

    /// The length of the header this value emits (8).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The length of a datagram carrying `payload_len` bytes.
    pub const fn buffer_len(&self, payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    /// Writes the header of a datagram carrying `payload_len` bytes, with a zero checksum. Then
    /// write the payload into [`UdpPacket::payload_mut`] and, unless checksums are offloaded,
    /// call [`UdpPacket::fill_checksum`].
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than the header, or `payload_len` exceeds 65,527.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut UdpPacket<T>,
        payload_len: usize,
    ) {
        let len = u16::try_from(self.buffer_len(payload_len))
            .expect("UDP payload longer than 65,527 bytes");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len);
        packet.set_checksum(0);
    }

    /// Writes a whole datagram from `src` to `dst` carrying `payload`: the header, the payload,
    /// and with `fill` the checksum (otherwise left zero).
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`buffer_len`](UdpRepr::buffer_len), or the payload is
    /// longer than 65,527 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut UdpPacket<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: &[u8],
        fill: bool,
    ) {
        self.emit_header(packet, payload.len());
        packet.payload_mut().copy_from_slice(payload);
        if fill {
            packet.fill_checksum(src, dst);
        }
    }
}

impl fmt::Display for UdpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UDP {} > {}", self.src_port, self.dst_port)
    }
}

#[cfg(test)]
mod tests;
