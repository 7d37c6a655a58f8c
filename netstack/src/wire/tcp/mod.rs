//! TCP segments (RFC 9293): the [`TcpPacket`] view and the [`TcpRepr`] header value, with
//! [`flags`] ([`TcpFlags`]), [`options`] (RFC 7323, RFC 2018) and [`seq`] (sequence arithmetic,
//! RFC 1982) in their own files.
//!
//! The view covers one whole segment: the IPv4 payload, already trimmed to the datagram's total
//! length. The checksum covers an IPv4 pseudo-header and the whole segment.
//!
//! # The header value
//!
//! [`TcpRepr`] holds the header only: the payload goes straight from the connection's send
//! buffer into the frame, so the repr carries just its length. ACK is not among its
//! [`flags`](TcpRepr::flags): it is set exactly when [`ack_number`](TcpRepr::ack_number) is
//! `Some`, so the two can never disagree.
//!
//! Parsing is permissive about flag combinations (SYN+FIN, SYN+RST, no flags at all): what to do
//! with them is the engine's decision. Linux, for instance, discards a SYN+RST or SYN+FIN aimed
//! at a listener, and answers any SYN on a synchronized connection with a challenge ACK
//! (RFC 5961). A zero source or destination port is [`WireError::Malformed`]: no connection can
//! use it.
//!
//! # Checksums and emitting
//!
//! Parsing takes `verify` and emitting takes `fill`: pass `false` when the device offloads (or,
//! like the in-process loopback, skips) checksums. Emitting a segment takes three steps:
//!
//! 1. [`TcpRepr::emit_header`] writes the header and options, with a zero checksum;
//! 2. the caller writes the payload into [`TcpPacket::payload_mut`];
//! 3. the caller calls [`TcpPacket::fill_checksum`] unless checksums are offloaded.
//!
//! [`TcpRepr::emit`] does all three for a payload already in a slice.
//!
//! The reserved bits and the historic NS bit (RFC 3540, obsoleted by RFC 8311) are ignored on
//! receipt and sent as zero.

pub mod flags;
pub mod options;
pub mod seq;

use core::fmt;
use core::net::Ipv4Addr;

pub use self::flags::TcpFlags;
pub use self::options::{SackBlocks, TcpOptions};
pub use self::seq::SeqNumber;
use super::checksum;
use super::ipv4::IpProtocol;
use super::{Result, WireError};

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = 20;

/// Length of a TCP header with the largest options area.
pub const MAX_HEADER_LEN: usize = HEADER_LEN + options::MAX_LEN;

/// Byte ranges and offsets of the header fields.
mod field {
    use core::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// A zero-copy view of a TCP segment in a byte buffer (the whole IPv4 payload).
///
/// Built with [`new_checked`](TcpPacket::new_checked), every accessor is infallible. Built with
/// [`new_unchecked`](TcpPacket::new_unchecked), accessors panic if the buffer is shorter than
/// the fields they read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Wraps `buffer`, validating it with [`check_len`](TcpPacket::check_len).
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the lengths: a buffer of at least 20 bytes ([`WireError::Truncated`]), a data
    /// offset of at least 5 words ([`WireError::Malformed`]), and the whole header, options
    /// included, in the buffer ([`WireError::Truncated`]).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if header_len > len {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        self.read_u16(field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        self.read_u16(field::DST_PORT)
    }

    /// The sequence number.
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(self.read_u32(field::SEQ_NUM))
    }

    /// The acknowledgment number (meaningful only with ACK).
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(self.read_u32(field::ACK_NUM))
    }

    /// The header length in bytes (the data offset times four), options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::DATA_OFFSET] >> 4) * 4
    }

    /// The control bits (reserved and NS bits excluded).
    pub fn flags(&self) -> TcpFlags {
        TcpFlags::from_bits_truncate(u16::from(self.buffer.as_ref()[field::FLAGS]))
    }

    /// The window field, raw: not yet shifted by the window scale.
    pub fn window_len(&self) -> u16 {
        self.read_u16(field::WINDOW)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    /// The urgent pointer (meaningful only with URG).
    pub fn urgent_at(&self) -> u16 {
        self.read_u16(field::URGENT)
    }

    /// The options area, raw: the header bytes after the first 20. Parse it with
    /// [`TcpOptions::parse`].
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.header_len())]
    }

    /// The payload: every byte after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[usize::from(self.header_len())..]
    }

    /// Whether the checksum is correct for a segment from `src` to `dst`. A segment longer
    /// than 65,535 bytes (which no IPv4 datagram can carry) never verifies.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let Ok(len) = u16::try_from(self.buffer.as_ref().len()) else {
            return false;
        };
        checksum::fold(self.checksum_sum(src, dst, len)) == 0
    }

    /// The ones' complement sum of the pseudo-header and the whole segment.
    fn checksum_sum(&self, src: Ipv4Addr, dst: Ipv4Addr, len: u16) -> u32 {
        let pseudo = checksum::pseudo_header_v4(src, dst, IpProtocol::Tcp.into(), len);
        checksum::combine(pseudo, checksum::sum(self.buffer.as_ref()))
    }

    fn read_u16(&self, range: core::ops::Range<usize>) -> u16 {
        let bytes = &self.buffer.as_ref()[range];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }

    fn read_u32(&self, range: core::ops::Range<usize>) -> u32 {
        let bytes = &self.buffer.as_ref()[range];
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// The payload, borrowed for as long as the underlying buffer rather than the view.
    pub fn into_payload(self) -> &'a [u8] {
        let start = usize::from(self.header_len());
        &self.buffer.as_ref()[start..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        self.write(field::SRC_PORT, &value.to_be_bytes());
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        self.write(field::DST_PORT, &value.to_be_bytes());
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, value: SeqNumber) {
        self.write(field::SEQ_NUM, &value.0.to_be_bytes());
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, value: SeqNumber) {
        self.write(field::ACK_NUM, &value.0.to_be_bytes());
    }

    /// Sets the header length in bytes (a multiple of 4 from 20 to 60); clears the reserved
    /// bits and NS.
    pub fn set_header_len(&mut self, len: u8) {
        self.buffer.as_mut()[field::DATA_OFFSET] = (len / 4) << 4;
    }

    /// Sets the control bits.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        // Only the eight named flags exist, so the bits fit in the flags byte.
        self.buffer.as_mut()[field::FLAGS] = flags.bits() as u8;
    }

    /// Sets the window field (already shifted right by the window scale).
    pub fn set_window_len(&mut self, value: u16) {
        self.write(field::WINDOW, &value.to_be_bytes());
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.write(field::CHECKSUM, &value.to_be_bytes());
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        self.write(field::URGENT, &value.to_be_bytes());
    }

    /// The options area, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.header_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// The payload, writable: every byte after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = usize::from(self.header_len());
        &mut self.buffer.as_mut()[start..]
    }

    /// Computes the checksum for a segment from `src` to `dst` over the whole buffer and writes
    /// it. Call it after the header and the payload are in place.
    ///
    /// # Panics
    ///
    /// If the buffer is longer than 65,535 bytes (no IPv4 datagram can carry it).
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        let len = u16::try_from(self.buffer.as_ref().len())
            .expect("TCP segment longer than 65,535 bytes");
        self.set_checksum(0);
        let value = checksum::fold(self.checksum_sum(src, dst, len));
        self.set_checksum(value);
    }

    fn write(&mut self, range: core::ops::Range<usize>, bytes: &[u8]) {
        self.buffer.as_mut()[range].copy_from_slice(bytes);
    }
}

/// The meaning of a TCP header. The payload is not here, only its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpRepr {
    /// The source port (never 0).
    pub src_port: u16,
    /// The destination port (never 0).
    pub dst_port: u16,
    /// The sequence number.
    pub seq_number: SeqNumber,
    /// The acknowledgment number: `Some` exactly when the ACK flag is set.
    pub ack_number: Option<SeqNumber>,
    /// The control bits other than ACK (see the [module documentation](self)). An ACK bit here
    /// is ignored by [`emit_header`](TcpRepr::emit_header) and never set by
    /// [`parse`](TcpRepr::parse).
    pub flags: TcpFlags,
    /// The window field, raw: not shifted by the window scale.
    pub window_len: u16,
    /// The urgent pointer; meaningful, read and written only with URG (0 otherwise).
    pub urgent: u16,
    /// The options.
    pub options: TcpOptions,
    /// The length of the payload that follows the header.
    pub payload_len: usize,
}

impl TcpRepr {
    /// Reads the header of `packet`, validating it as [`TcpPacket::check_len`] does. A zero
    /// port is [`WireError::Malformed`], and so are malformed options (see [`options`]). With
    /// `verify`, a wrong checksum for a segment from `src` to `dst` is [`WireError::Checksum`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &TcpPacket<&T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        verify: bool,
    ) -> Result<TcpRepr> {
        packet.check_len()?;
        if packet.src_port() == 0 || packet.dst_port() == 0 {
            return Err(WireError::Malformed);
        }
        if verify && !packet.verify_checksum(src, dst) {
            return Err(WireError::Checksum);
        }
        let flags = packet.flags();
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: flags.contains(TcpFlags::ACK).then(|| packet.ack_number()),
            flags: flags.without(TcpFlags::ACK),
            window_len: packet.window_len(),
            urgent: if flags.contains(TcpFlags::URG) {
                packet.urgent_at()
            } else {
                0
            },
            options: TcpOptions::parse(packet.options())?,
            payload_len: packet.payload().len(),
        })
    }

    /// The length of the header this value emits: 20 plus the options, a multiple of 4.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.buffer_len()
    }

    /// The length of the whole segment: header plus payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// The sequence space the segment occupies: the payload, plus one for SYN and one for FIN.
    pub fn segment_len(&self) -> usize {
        self.payload_len
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }

    /// The flags as sent: [`flags`](TcpRepr::flags) with ACK added when there is an
    /// acknowledgment number.
    pub fn wire_flags(&self) -> TcpFlags {
        let flags = self.flags.without(TcpFlags::ACK);
        if self.ack_number.is_some() {
            flags | TcpFlags::ACK
        } else {
            flags
        }
    }

    /// Writes the header and options into `packet`, with a zero checksum; the payload is left
    /// for the caller to write into [`TcpPacket::payload_mut`] before
    /// [`TcpPacket::fill_checksum`]. The buffer should be exactly
    /// [`buffer_len`](TcpRepr::buffer_len) bytes long, since the checksum covers all of it.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`header_len`](TcpRepr::header_len).
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut TcpPacket<T>) {
        let flags = self.wire_flags();
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number.unwrap_or_default());
        // At most 60: the options area never exceeds 40 bytes.
        packet.set_header_len(self.header_len() as u8);
        packet.set_flags(flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        let urgent = if flags.contains(TcpFlags::URG) {
            self.urgent
        } else {
            0
        };
        packet.set_urgent_at(urgent);
        self.options.emit(packet.options_mut());
    }

    /// Writes a whole segment from `src` to `dst` carrying `payload` (whose length should be
    /// [`payload_len`](TcpRepr::payload_len)): header, options, payload, and with `fill` the
    /// checksum (otherwise left zero).
    ///
    /// # Panics
    ///
    /// If the buffer is not exactly `header_len() + payload.len()` bytes long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: &[u8],
        fill: bool,
    ) {
        self.emit_header(packet);
        packet.payload_mut().copy_from_slice(payload);
        if fill {
            packet.fill_checksum(src, dst);
        }
    }
}

impl fmt::Display for TcpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TCP {} > {} {} seq {}",
            self.src_port,
            self.dst_port,
            self.wire_flags(),
            self.seq_number
        )?;
        if let Some(ack) = self.ack_number {
            write!(f, " ack {ack}")?;
        }
        write!(f, " win {} len {}", self.window_len, self.payload_len)
    }
}

#[cfg(test)]
mod tests;
