//! Building the frames the harness writes: Ethernet, ARP, IPv4 (any header fields, options,
//! fragments) and TCP segments, with checksums filled.

use core::net::{Ipv4Addr, SocketAddrV4};

use sockeye_netstack::sim;
use sockeye_netstack::wire::{
    ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Icmpv4Packet,
    IpProtocol, Ipv4Packet, TcpPacket, TcpRepr, UdpPacket,
};

use super::{DUT, PEER, PHANTOM};

/// The MAC address the harness uses for a frame from `ip`.
fn mac_of(ip: Ipv4Addr) -> EthernetAddress {
    if ip == sim::addr(PEER) {
        sim::mac(PEER)
    } else {
        sim::mac(PHANTOM)
    }
}

/// An Ethernet frame to the DUT from `src` carrying `ethertype` and `payload`.
pub(super) fn ethernet_frame(
    src: EthernetAddress,
    dst: EthernetAddress,
    ethertype: EtherType,
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + payload.len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype,
    }
    .emit(&mut eth);
    eth.payload_mut().copy_from_slice(payload);
    frame
}

/// An ARP packet in an Ethernet frame.
pub(super) fn arp_frame(repr: &ArpRepr, dst: EthernetAddress) -> Vec<u8> {
    let mut packet = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut packet[..]));
    ethernet_frame(repr.source_hardware_addr, dst, EtherType::Arp, &packet)
}

/// How an IPv4 datagram is put on the wire.
#[derive(Debug, Clone, Copy)]
pub(super) struct IpHeader {
    pub(super) src: Ipv4Addr,
    pub(super) dst: Ipv4Addr,
    pub(super) protocol: u8,
    pub(super) ident: u16,
    pub(super) ttl: u8,
    pub(super) tos: u8,
    pub(super) dont_frag: bool,
    pub(super) more_frags: bool,
    /// In bytes (a multiple of 8).
    pub(super) frag_offset: u16,
    /// Option bytes (padded to a multiple of 4, at most 40).
    pub(super) options_len: usize,
}

/// An IPv4 datagram (header checksum filled) around `payload`, in an Ethernet frame.
pub(super) fn ipv4_frame(h: &IpHeader, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let header_len = 20 + h.options_len;
    let total = header_len + payload.len();
    let mut datagram = vec![0u8; total];
    datagram[20..20 + options.len().min(h.options_len)]
        .copy_from_slice(&options[..options.len().min(h.options_len)]);
    datagram[header_len..].copy_from_slice(payload);
    let mut packet = Ipv4Packet::new_unchecked(&mut datagram[..]);
    packet.set_version(4);
    packet.set_header_len(header_len as u8);
    packet.set_dscp(h.tos >> 2);
    packet.set_ecn(h.tos);
    packet.set_total_len(u16::try_from(total).unwrap_or(u16::MAX));
    packet.set_ident(h.ident);
    packet.set_dont_frag(h.dont_frag);
    packet.set_more_frags(h.more_frags);
    packet.set_frag_offset(h.frag_offset);
    packet.set_ttl(h.ttl);
    packet.set_next_header(IpProtocol::from(h.protocol));
    packet.set_src_addr(h.src);
    packet.set_dst_addr(h.dst);
    packet.fill_checksum();
    let dst_mac = if h.dst == sim::addr(DUT) {
        sim::mac(DUT)
    } else {
        EthernetAddress::BROADCAST
    };
    ethernet_frame(mac_of(h.src), dst_mac, EtherType::Ipv4, &datagram)
}

/// A TCP segment in an IPv4 datagram in an Ethernet frame, checksums filled, split into two
/// fragments at `split` bytes of the segment when given.
pub(super) fn tcp_frames(
    from: SocketAddrV4,
    to: SocketAddrV4,
    repr: &TcpRepr,
    payload: &[u8],
    ident: u16,
    split: Option<usize>,
) -> Vec<Vec<u8>> {
    let mut segment = vec![0u8; repr.header_len() + payload.len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut segment[..]),
        *from.ip(),
        *to.ip(),
        payload,
        true,
    );
    let header = IpHeader {
        src: *from.ip(),
        dst: *to.ip(),
        protocol: IpProtocol::Tcp.into(),
        ident,
        ttl: 64,
        tos: 0,
        dont_frag: split.is_none(),
        more_frags: false,
        frag_offset: 0,
        options_len: 0,
    };
    match split {
        Some(at) if at >= 8 && at < segment.len() => {
            let at = at & !7;
            let first = IpHeader {
                more_frags: true,
                ..header
            };
            let second = IpHeader {
                frag_offset: at as u16,
                ..header
            };
            vec![
                ipv4_frame(&first, &[], &segment[..at]),
                ipv4_frame(&second, &[], &segment[at..]),
            ]
        }
        _ => vec![ipv4_frame(&header, &[], &segment)],
    }
}

/// Fills the transport checksum of `payload` (a UDP, TCP or ICMP message) if it is long
/// enough to have one.
pub(super) fn fill_transport_checksum(
    protocol: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: &mut [u8],
) {
    if payload.len() > usize::from(u16::MAX) {
        return;
    }
    match IpProtocol::from(protocol) {
        IpProtocol::Tcp if payload.len() >= 20 => {
            TcpPacket::new_unchecked(payload).fill_checksum(src, dst);
        }
        IpProtocol::Udp if payload.len() >= 8 => {
            let len = payload.len() as u16;
            let mut packet = UdpPacket::new_unchecked(payload);
            packet.set_len(len);
            packet.fill_checksum(src, dst);
        }
        IpProtocol::Icmp if payload.len() >= 8 => {
            Icmpv4Packet::new_unchecked(payload).fill_checksum();
        }
        _ => {}
    }
}
