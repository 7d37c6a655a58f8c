//! Cross-layer tests of `sockeye_netstack::wire` through its public API:
//!
//! - `to_etherparse`: whole Ethernet frames built by `wire` are parsed by the independent
//!   `etherparse` crate, which must agree on every field, length and checksum;
//! - `from_etherparse`: frames built by etherparse's `PacketBuilder` are parsed by `wire` with
//!   checksums verified;
//! - `robustness`: a deterministic fuzz run feeding random and mutated bytes to every parser.

mod from_etherparse;
mod robustness;
mod to_etherparse;

use core::net::Ipv4Addr;

use sockeye_netstack::wire::{
    ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Icmpv4Packet,
    Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
};

const MAC_A: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x0a]);
const MAC_B: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const IP_A: Ipv4Addr = Ipv4Addr::new(192, 168, 7, 1);
const IP_B: Ipv4Addr = Ipv4Addr::new(192, 168, 7, 2);

/// An IPv4 header from A to B carrying `payload_len` bytes of `protocol`.
fn ip_repr(protocol: IpProtocol, payload_len: usize) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: IP_A,
        dst_addr: IP_B,
        next_header: protocol,
        payload_len,
        hop_limit: 64,
        dscp: 10,
        ecn: 1,
        ident: 0x1c46,
        dont_frag: true,
    }
}

/// An Ethernet frame from A to B whose payload `fill` writes (`len` bytes).
fn ethernet_frame(ethertype: EtherType, len: usize, fill: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut frame = vec![0xa5; EthernetFrame::<&[u8]>::buffer_len(len)];
    let mut eth = EthernetFrame::new_checked(&mut frame[..]).unwrap();
    EthernetRepr {
        src_addr: MAC_A,
        dst_addr: MAC_B,
        ethertype,
    }
    .emit(&mut eth);
    fill(eth.payload_mut());
    frame
}

/// An IPv4 frame whose transport payload `fill` writes.
fn ipv4_frame(ip: &Ipv4Repr, fill: impl FnOnce(&mut [u8])) -> Vec<u8> {
    ethernet_frame(EtherType::Ipv4, ip.total_len(), |bytes| {
        let mut packet = Ipv4Packet::new_unchecked(bytes);
        ip.emit(&mut packet, true);
        fill(packet.payload_mut());
    })
}

/// A TCP segment in a frame, checksums filled.
fn tcp_frame(tcp: &TcpRepr, payload: &[u8]) -> Vec<u8> {
    let ip = ip_repr(IpProtocol::Tcp, tcp.buffer_len());
    ipv4_frame(&ip, |bytes| {
        tcp.emit(
            &mut TcpPacket::new_unchecked(bytes),
            IP_A,
            IP_B,
            payload,
            true,
        );
    })
}

/// A UDP datagram in a frame, checksums filled.
fn udp_frame(udp: &UdpRepr, payload: &[u8]) -> Vec<u8> {
    let ip = ip_repr(IpProtocol::Udp, udp.buffer_len(payload.len()));
    ipv4_frame(&ip, |bytes| {
        udp.emit(
            &mut UdpPacket::new_unchecked(bytes),
            IP_A,
            IP_B,
            payload,
            true,
        );
    })
}

/// An ICMP message in a frame, checksums filled.
fn icmp_frame(icmp: &Icmpv4Repr<'_>) -> Vec<u8> {
    let ip = ip_repr(IpProtocol::Icmp, icmp.buffer_len());
    ipv4_frame(&ip, |bytes| {
        icmp.emit(&mut Icmpv4Packet::new_unchecked(bytes), true)
    })
}

/// An ARP packet in a frame, padded to Ethernet's 60-byte minimum as a NIC would.
fn arp_frame(arp: &ArpRepr) -> Vec<u8> {
    let mut frame = ethernet_frame(EtherType::Arp, arp.buffer_len(), |bytes| {
        arp.emit(&mut ArpPacket::new_unchecked(bytes))
    });
    frame.resize(60, 0);
    frame
}

/// Knuth's MMIX linear congruential generator: deterministic, so a failure reproduces.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    /// A number below `n`.
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
