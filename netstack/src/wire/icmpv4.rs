//! ICMP for IPv4 (RFC 792): the [`Icmpv4Packet`] view, [`Icmpv4Message`] types and the
//! [`Icmpv4Repr`] value.
//!
//! The view spans one whole ICMP message: the IPv4 payload, already trimmed to the datagram's
//! total length. The checksum covers the entire message and no pseudo-header.
//!
//! Error messages ([`Icmpv4Repr::DstUnreachable`], [`Icmpv4Repr::TimeExceeded`]) quote the
//! offending datagram's IPv4 header and at least the first 8 bytes of its payload (Linux quotes as
//! much as fits in 576 bytes). [`Icmpv4Repr::parse`] checks that the quote holds a valid IPv4
//! header followed by 8 bytes and hands it over raw as `original`; open it with
//! [`Ipv4Packet::new_quoted`] to find the transport ports.
//!
//! Checksums: [`Icmpv4Repr::parse`] takes `verify` and [`Icmpv4Repr::emit`] takes `fill`. Pass
//! `false` when the device offloads (or, like the in-process loopback, skips) checksums.

use core::fmt;

use super::checksum;
use super::ipv4::Ipv4Packet;
use super::{Result, WireError};

/// Length of the ICMP header: type, code, checksum and the 4-byte rest of the header.
pub const HEADER_LEN: usize = 8;

/// Destination unreachable code: network unreachable.
pub const NET_UNREACH: u8 = 0;
/// Destination unreachable code: host unreachable.
pub const HOST_UNREACH: u8 = 1;
/// Destination unreachable code: protocol unreachable.
pub const PROTO_UNREACH: u8 = 2;
/// Destination unreachable code: port unreachable.
pub const PORT_UNREACH: u8 = 3;
/// Destination unreachable code: fragmentation needed and DF set; the message carries the
/// next-hop MTU (RFC 1191).
pub const FRAG_NEEDED: u8 = 4;
/// Time exceeded code: the time to live reached zero in transit.
pub const TTL_EXCEEDED: u8 = 0;
/// Time exceeded code: fragment reassembly time exceeded.
pub const FRAG_TIME_EXCEEDED: u8 = 1;

/// Byte ranges and offsets of the header fields.
mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const REST: Range<usize> = 4..8;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQ_NO: Range<usize> = 6..8;
    pub const NEXT_HOP_MTU: Range<usize> = 6..8;
}

/// The ICMP message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Message {
    /// Echo reply (0).
    EchoReply,
    /// Destination unreachable (3).
    DstUnreachable,
    /// Redirect (5).
    Redirect,
    /// Echo request (8).
    EchoRequest,
    /// Time exceeded (11).
    TimeExceeded,
    /// Parameter problem (12).
    ParamProblem,
    /// Any other type (the deprecated source quench, timestamps, ...).
    Unknown(u8),
}

impl From<u8> for Icmpv4Message {
    fn from(value: u8) -> Self {
        match value {
            0 => Icmpv4Message::EchoReply,
            3 => Icmpv4Message::DstUnreachable,
            5 => Icmpv4Message::Redirect,
            8 => Icmpv4Message::EchoRequest,
            11 => Icmpv4Message::TimeExceeded,
            12 => Icmpv4Message::ParamProblem,
            other => Icmpv4Message::Unknown(other),
        }
    }
}

impl From<Icmpv4Message> for u8 {
    fn from(value: Icmpv4Message) -> Self {
        match value {
            Icmpv4Message::EchoReply => 0,
            Icmpv4Message::DstUnreachable => 3,
            Icmpv4Message::Redirect => 5,
            Icmpv4Message::EchoRequest => 8,
            Icmpv4Message::TimeExceeded => 11,
            Icmpv4Message::ParamProblem => 12,
            Icmpv4Message::Unknown(other) => other,
        }
    }
}

/// A zero-copy view of an ICMP message in a byte buffer (the whole IPv4 payload).
///
/// Built with [`new_checked`](Icmpv4Packet::new_checked), every accessor is infallible. Built
/// with [`new_unchecked`](Icmpv4Packet::new_unchecked), accessors panic if the buffer is
/// shorter than the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> Icmpv4Packet<T> {
        Icmpv4Packet { buffer }
    }

    /// Wraps `buffer`, failing with [`WireError::Truncated`] if it cannot hold a header.
    pub fn new_checked(buffer: T) -> Result<Icmpv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds at least the 8-byte header ([`WireError::Truncated`]).
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

    /// The message type.
    pub fn msg_type(&self) -> Icmpv4Message {
        Icmpv4Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The message code.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    /// The four bytes after the checksum, whose meaning depends on the type.
    pub fn rest_of_header(&self) -> [u8; 4] {
        let bytes = &self.buffer.as_ref()[field::REST];
        [bytes[0], bytes[1], bytes[2], bytes[3]]
    }

    /// The identifier of an echo request or reply.
    pub fn echo_ident(&self) -> u16 {
        self.read_u16(field::ECHO_IDENT)
    }

    /// The sequence number of an echo request or reply.
    pub fn echo_seq_no(&self) -> u16 {
        self.read_u16(field::ECHO_SEQ_NO)
    }

    /// The next-hop MTU of a "fragmentation needed" message (RFC 1191); zero from old routers.
    pub fn next_hop_mtu(&self) -> u16 {
        self.read_u16(field::NEXT_HOP_MTU)
    }

    /// The bytes after the header: echo data, or the quoted datagram of an error message.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// Whether the checksum over the whole message is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(self.buffer.as_ref())
    }

    fn read_u16(&self, range: core::ops::Range<usize>) -> u16 {
        let bytes = &self.buffer.as_ref()[range];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv4Packet<&'a T> {
    /// The payload, borrowed for as long as the underlying buffer rather than the view.
    pub fn into_payload(self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: Icmpv4Message) {
        self.buffer.as_mut()[field::TYPE] = value.into();
    }

    /// Sets the message code.
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM, value);
    }

    /// Sets the four bytes after the checksum.
    pub fn set_rest_of_header(&mut self, value: [u8; 4]) {
        self.buffer.as_mut()[field::REST].copy_from_slice(&value);
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        self.write_u16(field::ECHO_IDENT, value);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        self.write_u16(field::ECHO_SEQ_NO, value);
    }

    /// Sets the next-hop MTU of a "fragmentation needed" message.
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        self.write_u16(field::NEXT_HOP_MTU, value);
    }

    /// Computes the checksum over the whole buffer and writes it; call it last.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let value = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(value);
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    fn write_u16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }
}

/// The meaning of an ICMP message, borrowing its data from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Repr<'a> {
    /// An echo request ("ping").
    EchoRequest {
        /// The identifier, chosen by the sender to match replies.
        ident: u16,
        /// The sequence number.
        seq_no: u16,
        /// The data, returned unchanged in the reply.
        data: &'a [u8],
    },
    /// An echo reply.
    EchoReply {
        /// The identifier of the request.
        ident: u16,
        /// The sequence number of the request.
        seq_no: u16,
        /// The data of the request.
        data: &'a [u8],
    },
    /// Destination unreachable.
    DstUnreachable {
        /// Why: [`NET_UNREACH`], [`HOST_UNREACH`], [`PROTO_UNREACH`], [`PORT_UNREACH`],
        /// [`FRAG_NEEDED`], or another RFC 1122/1812 code.
        code: u8,
        /// The next-hop MTU for [`FRAG_NEEDED`] (RFC 1191); zero otherwise.
        next_hop_mtu: u16,
        /// The quoted datagram: its IPv4 header and at least 8 bytes of its payload.
        original: &'a [u8],
    },
    /// Time exceeded.
    TimeExceeded {
        /// Why: [`TTL_EXCEEDED`] or [`FRAG_TIME_EXCEEDED`].
        code: u8,
        /// The quoted datagram: its IPv4 header and at least 8 bytes of its payload.
        original: &'a [u8],
    },
    /// Any other message, kept raw. [`parse`](Icmpv4Repr::parse) never returns it for the types
    /// that have their own variant.
    Other {
        /// The type.
        msg_type: Icmpv4Message,
        /// The code.
        code: u8,
        /// The four bytes after the checksum.
        rest_of_header: [u8; 4],
        /// The bytes after the header.
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Reads an ICMP message: [`WireError::Truncated`] if shorter than the header, and with
    /// `verify`, [`WireError::Checksum`] if the checksum is wrong. An error message whose quote
    /// is not a valid IPv4 header followed by 8 bytes is [`WireError::Malformed`].
    ///
    /// Echo messages are accepted whatever their code (Linux ignores it too).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Icmpv4Packet<&'a T>,
        verify: bool,
    ) -> Result<Icmpv4Repr<'a>> {
        packet.check_len()?;
        if verify && !packet.verify_checksum() {
            return Err(WireError::Checksum);
        }
        let payload = packet.buffer.as_ref().get(HEADER_LEN..).unwrap_or_default();
        Ok(match packet.msg_type() {
            Icmpv4Message::EchoRequest => Icmpv4Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data: payload,
            },
            Icmpv4Message::EchoReply => Icmpv4Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data: payload,
            },
            Icmpv4Message::DstUnreachable => Icmpv4Repr::DstUnreachable {
                code: packet.msg_code(),
                next_hop_mtu: if packet.msg_code() == FRAG_NEEDED {
                    packet.next_hop_mtu()
                } else {
                    0
                },
                original: check_quote(payload)?,
            },
            Icmpv4Message::TimeExceeded => Icmpv4Repr::TimeExceeded {
                code: packet.msg_code(),
                original: check_quote(payload)?,
            },
            msg_type => Icmpv4Repr::Other {
                msg_type,
                code: packet.msg_code(),
                rest_of_header: packet.rest_of_header(),
                data: payload,
            },
        })
    }

    /// The length of the message this value emits: the header and the data or quote.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match self {
                Icmpv4Repr::EchoRequest { data, .. }
                | Icmpv4Repr::EchoReply { data, .. }
                | Icmpv4Repr::Other { data, .. } => data.len(),
                Icmpv4Repr::DstUnreachable { original, .. }
                | Icmpv4Repr::TimeExceeded { original, .. } => original.len(),
            }
    }

    /// Writes the message into `packet`, whose buffer must be exactly
    /// [`buffer_len`](Icmpv4Repr::buffer_len) bytes long (the checksum covers all of it). With
    /// `fill` the checksum is computed, otherwise it is left zero.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`buffer_len`](Icmpv4Repr::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv4Packet<T>, fill: bool) {
        let (msg_type, code, rest, data): (_, _, [u8; 4], &[u8]) = match *self {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => (
                Icmpv4Message::EchoRequest,
                0,
                echo_rest(ident, seq_no),
                data,
            ),
            Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => (Icmpv4Message::EchoReply, 0, echo_rest(ident, seq_no), data),
            Icmpv4Repr::DstUnreachable {
                code,
                next_hop_mtu,
                original,
            } => {
                let [hi, lo] = next_hop_mtu.to_be_bytes();
                (
                    Icmpv4Message::DstUnreachable,
                    code,
                    [0, 0, hi, lo],
                    original,
                )
            }
            Icmpv4Repr::TimeExceeded { code, original } => {
                (Icmpv4Message::TimeExceeded, code, [0; 4], original)
            }
            Icmpv4Repr::Other {
                msg_type,
                code,
                rest_of_header,
                data,
            } => (msg_type, code, rest_of_header, data),
        };
        packet.set_msg_type(msg_type);
        packet.set_msg_code(code);
        packet.set_checksum(0);
        packet.set_rest_of_header(rest);
        packet.payload_mut()[..data.len()].copy_from_slice(data);
        if fill {
            packet.fill_checksum();
        }
    }
}

/// The rest of an echo header: identifier then sequence number.
fn echo_rest(ident: u16, seq_no: u16) -> [u8; 4] {
    let [a, b] = ident.to_be_bytes();
    let [c, d] = seq_no.to_be_bytes();
    [a, b, c, d]
}

/// Checks that the quote of an error message holds an IPv4 header and 8 more bytes.
fn check_quote(original: &[u8]) -> Result<&[u8]> {
    let quoted = Ipv4Packet::new_quoted(original).map_err(|_| WireError::Malformed)?;
    if original.len() < usize::from(quoted.header_len()) + 8 {
        return Err(WireError::Malformed);
    }
    Ok(original)
}

impl fmt::Display for Icmpv4Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                write!(
                    f,
                    "ICMP echo request id {ident} seq {seq_no} len {}",
                    data.len()
                )
            }
            Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                write!(
                    f,
                    "ICMP echo reply id {ident} seq {seq_no} len {}",
                    data.len()
                )
            }
            Icmpv4Repr::DstUnreachable {
                code, next_hop_mtu, ..
            } => {
                write!(f, "ICMP destination unreachable code {code}")?;
                if *code == FRAG_NEEDED {
                    write!(f, " mtu {next_hop_mtu}")?;
                }
                Ok(())
            }
            Icmpv4Repr::TimeExceeded { code, .. } => write!(f, "ICMP time exceeded code {code}"),
            Icmpv4Repr::Other { msg_type, code, .. } => {
                write!(f, "ICMP type {} code {code}", u8::from(*msg_type))
            }
        }
    }
}

#[cfg(test)]
mod tests;
