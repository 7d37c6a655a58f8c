//! ARP (RFC 826) for IPv4 over Ethernet: the [`ArpPacket`] view, [`ArpOperation`] and the
//! [`ArpRepr`] value.
//!
//! The view reads any ARP packet: the address fields are located from the hardware and protocol
//! address lengths it carries. [`ArpRepr`] covers the only combination this stack speaks:
//! hardware type 1 (Ethernet), protocol type 0x0800 (IPv4), address lengths 6 and 4, which makes
//! a 28-byte packet. Anything else parses as [`WireError::Unsupported`].
//!
//! Bytes after the packet (Ethernet pads ARP to 46 bytes of payload) are ignored. ARP carries no
//! checksum.

use core::fmt;
use core::net::Ipv4Addr;

use super::ethernet::{EtherType, EthernetAddress};
use super::{Result, WireError};

/// Length of the fixed part of any ARP packet, before the addresses.
pub const FIXED_LEN: usize = 8;

/// Length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = FIXED_LEN + 2 * (6 + 4);

/// The ARP hardware type of Ethernet.
const HTYPE_ETHERNET: u16 = 1;

/// Byte ranges and offsets of the fixed fields.
mod field {
    use core::ops::Range;

    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
}

/// What an ARP packet asks or answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// "Who has the target protocol address?" (1).
    Request,
    /// "The sender protocol address is at the sender hardware address" (2).
    Reply,
    /// Any other operation (RARP and InARP among them).
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(value: u16) -> Self {
        match value {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(value: ArpOperation) -> Self {
        match value {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

/// A zero-copy view of an ARP packet in a byte buffer.
///
/// Built with [`new_checked`](ArpPacket::new_checked), every accessor is infallible. Built with
/// [`new_unchecked`](ArpPacket::new_unchecked), accessors panic if the buffer is too short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wraps `buffer`, validating it with [`check_len`](ArpPacket::check_len).
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed fields and the four addresses their lengths
    /// declare ([`WireError::Truncated`] otherwise).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < FIXED_LEN || len < self.packet_len() {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The length of the packet its address lengths declare.
    pub fn packet_len(&self) -> usize {
        FIXED_LEN + 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()))
    }

    /// The hardware type (1 for Ethernet).
    pub fn hardware_type(&self) -> u16 {
        self.read_u16(field::HTYPE)
    }

    /// The protocol type, an EtherType (IPv4 for the ARP this stack speaks).
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(self.read_u16(field::PTYPE))
    }

    /// The hardware address length in bytes.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// The protocol address length in bytes.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The operation.
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(self.read_u16(field::OPER))
    }

    /// The sender hardware address, as raw bytes.
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.address_ranges()[0].clone()]
    }

    /// The sender protocol address, as raw bytes.
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.address_ranges()[1].clone()]
    }

    /// The target hardware address, as raw bytes.
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.address_ranges()[2].clone()]
    }

    /// The target protocol address, as raw bytes.
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.address_ranges()[3].clone()]
    }

    /// Whether this is Ethernet/IPv4 ARP, the kind [`ArpRepr`] represents.
    pub fn is_ethernet_ipv4(&self) -> bool {
        self.hardware_type() == HTYPE_ETHERNET
            && self.protocol_type() == EtherType::Ipv4
            && self.hardware_len() == 6
            && self.protocol_len() == 4
    }

    /// The byte ranges of the sender hardware, sender protocol, target hardware and target
    /// protocol addresses.
    fn address_ranges(&self) -> [core::ops::Range<usize>; 4] {
        let hlen = usize::from(self.hardware_len());
        let plen = usize::from(self.protocol_len());
        let sha = FIXED_LEN;
        let spa = sha + hlen;
        let tha = spa + plen;
        let tpa = tha + hlen;
        [sha..spa, spa..tha, tha..tpa, tpa..tpa + plen]
    }

    fn read_u16(&self, range: core::ops::Range<usize>) -> u16 {
        let bytes = &self.buffer.as_ref()[range];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    pub fn set_hardware_type(&mut self, value: u16) {
        self.write_u16(field::HTYPE, value);
    }

    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        self.write_u16(field::PTYPE, value.into());
    }

    /// Sets the hardware address length. Set both lengths before any address.
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the protocol address length. Set both lengths before any address.
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, value: ArpOperation) {
        self.write_u16(field::OPER, value.into());
    }

    /// Sets the sender hardware address; `addr` must be as long as the hardware length.
    pub fn set_source_hardware_addr(&mut self, addr: &[u8]) {
        let range = self.address_ranges()[0].clone();
        self.buffer.as_mut()[range].copy_from_slice(addr);
    }

    /// Sets the sender protocol address; `addr` must be as long as the protocol length.
    pub fn set_source_protocol_addr(&mut self, addr: &[u8]) {
        let range = self.address_ranges()[1].clone();
        self.buffer.as_mut()[range].copy_from_slice(addr);
    }

    /// Sets the target hardware address; `addr` must be as long as the hardware length.
    pub fn set_target_hardware_addr(&mut self, addr: &[u8]) {
        let range = self.address_ranges()[2].clone();
        self.buffer.as_mut()[range].copy_from_slice(addr);
    }

    /// Sets the target protocol address; `addr` must be as long as the protocol length.
    pub fn set_target_protocol_addr(&mut self, addr: &[u8]) {
        let range = self.address_ranges()[3].clone();
        self.buffer.as_mut()[range].copy_from_slice(addr);
    }

    fn write_u16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }
}

/// The meaning of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request, reply, or another operation the stack ignores.
    pub operation: ArpOperation,
    /// The sender's hardware address.
    pub source_hardware_addr: EthernetAddress,
    /// The sender's IPv4 address.
    pub source_protocol_addr: Ipv4Addr,
    /// The target's hardware address (zero in a request).
    pub target_hardware_addr: EthernetAddress,
    /// The target's IPv4 address.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Reads an Ethernet/IPv4 ARP packet: [`WireError::Truncated`] if the buffer is short,
    /// [`WireError::Unsupported`] for any other hardware or protocol type or address length.
    /// Unknown operations are returned as [`ArpOperation::Unknown`] for the caller to ignore.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &ArpPacket<&T>) -> Result<ArpRepr> {
        packet.check_len()?;
        if !packet.is_ethernet_ipv4() {
            return Err(WireError::Unsupported);
        }
        let ipv4 = |bytes: &[u8]| Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]);
        let mac = |bytes: &[u8]| EthernetAddress::from_bytes(bytes).unwrap_or_default();
        Ok(ArpRepr {
            operation: packet.operation(),
            source_hardware_addr: mac(packet.source_hardware_addr()),
            source_protocol_addr: ipv4(packet.source_protocol_addr()),
            target_hardware_addr: mac(packet.target_hardware_addr()),
            target_protocol_addr: ipv4(packet.target_protocol_addr()),
        })
    }

    /// The length of the packet this value emits: 28.
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet into `packet`.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`buffer_len`](ArpRepr::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(HTYPE_ETHERNET);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(self.source_hardware_addr.as_bytes());
        packet.set_source_protocol_addr(&self.source_protocol_addr.octets());
        packet.set_target_hardware_addr(self.target_hardware_addr.as_bytes());
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

impl fmt::Display for ArpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            ArpOperation::Request => write!(
                f,
                "ARP who-has {} tell {} ({})",
                self.target_protocol_addr, self.source_protocol_addr, self.source_hardware_addr
            ),
            ArpOperation::Reply => write!(
                f,
                "ARP reply {} is-at {}",
                self.source_protocol_addr, self.source_hardware_addr
            ),
            ArpOperation::Unknown(op) => write!(
                f,
                "ARP operation {op} from {} ({})",
                self.source_protocol_addr, self.source_hardware_addr
            ),
        }
    }
}

#[cfg(test)]
mod tests;
