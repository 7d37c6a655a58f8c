//! Frames built by etherparse's `PacketBuilder` are parsed by `wire`, with checksums verified.

use etherparse as ep;
use etherparse::TcpOptionElement as Opt;

use sockeye_netstack::wire::icmpv4::PORT_UNREACH;
use sockeye_netstack::wire::{
    ArpOperation, Icmpv4Message, SackBlocks, SeqNumber, TcpFlags, TcpOptions,
};

use super::*;

/// Parses a frame with `wire` down to the IPv4 layer, verifying the header checksum.
fn wire_ipv4(frame: &[u8]) -> (Ipv4Repr, Ipv4Packet<&[u8]>) {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    let eth_repr = EthernetRepr::parse(&eth).unwrap();
    assert_eq!(eth_repr.src_addr, MAC_A);
    assert_eq!(eth_repr.dst_addr, MAC_B);
    assert_eq!(eth_repr.ethertype, EtherType::Ipv4);
    let packet = Ipv4Packet::new_checked(eth.into_payload()).unwrap();
    let repr = Ipv4Repr::parse(&packet, true).unwrap();
    assert!(!packet.is_fragment());
    (repr, packet)
}

fn builder() -> ep::PacketBuilderStep<ep::IpHeaders> {
    ep::PacketBuilder::ethernet2(MAC_A.0, MAC_B.0).ipv4(IP_A.octets(), IP_B.octets(), 63)
}

#[test]
fn etherparse_tcp_parses() {
    let payload: Vec<u8> = (0..77).collect();
    let builder = builder()
        .tcp(1234, 80, 0xffff_ff00, 29_200)
        .syn()
        .ack(0x0bad_cafe)
        .psh()
        .options(&[
            Opt::MaximumSegmentSize(1400),
            Opt::SelectiveAcknowledgementPermitted,
            Opt::Timestamp(99, 98),
            Opt::Noop,
            Opt::WindowScale(9),
            Opt::Noop,
            Opt::Noop,
            Opt::SelectiveAcknowledgement((1, 2), [Some((3, 4)), None, None]),
        ])
        .unwrap();
    let mut frame = Vec::new();
    builder.write(&mut frame, &payload).unwrap();

    let (ip, packet) = wire_ipv4(&frame);
    assert_eq!(ip.next_header, IpProtocol::Tcp);
    assert_eq!(ip.hop_limit, 63);
    assert_eq!((ip.src_addr, ip.dst_addr), (IP_A, IP_B));
    let segment = TcpPacket::new_checked(packet.payload()).unwrap();
    let tcp = TcpRepr::parse(&segment, IP_A, IP_B, true).unwrap();
    assert_eq!(tcp.src_port, 1234);
    assert_eq!(tcp.dst_port, 80);
    assert_eq!(tcp.seq_number, SeqNumber(0xffff_ff00));
    assert_eq!(tcp.ack_number, Some(SeqNumber(0x0bad_cafe)));
    assert_eq!(tcp.flags, TcpFlags::SYN | TcpFlags::PSH);
    assert_eq!(tcp.window_len, 29_200);
    assert_eq!(tcp.payload_len, 77);
    assert_eq!(segment.payload(), &payload[..]);
    let mut blocks = SackBlocks::new();
    blocks.push(SeqNumber(1), SeqNumber(2));
    blocks.push(SeqNumber(3), SeqNumber(4));
    assert_eq!(
        tcp.options,
        TcpOptions {
            mss: Some(1400),
            window_scale: Some(9),
            sack_permitted: true,
            sack_blocks: blocks,
            timestamps: Some((99, 98)),
        }
    );
}

#[test]
fn etherparse_udp_parses() {
    for len in [0, 1, 33, 1000] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let mut frame = Vec::new();
        builder().udp(68, 67).write(&mut frame, &payload).unwrap();
        let (ip, packet) = wire_ipv4(&frame);
        assert_eq!(ip.next_header, IpProtocol::Udp);
        assert_eq!(ip.payload_len, 8 + len);
        let datagram = UdpPacket::new_checked(packet.payload()).unwrap();
        assert_ne!(datagram.checksum(), 0);
        let udp = UdpRepr::parse(&datagram, IP_A, IP_B, true).unwrap();
        assert_eq!((udp.src_port, udp.dst_port), (68, 67));
        assert_eq!(datagram.payload(), &payload[..]);
    }
}

#[test]
fn etherparse_icmp_parses() {
    let mut frame = Vec::new();
    builder()
        .icmpv4_echo_request(77, 3)
        .write(&mut frame, b"0123456789")
        .unwrap();
    let (ip, packet) = wire_ipv4(&frame);
    assert_eq!(ip.next_header, IpProtocol::Icmp);
    let icmp = Icmpv4Packet::new_checked(packet.payload()).unwrap();
    assert_eq!(
        Icmpv4Repr::parse(&icmp, true),
        Ok(Icmpv4Repr::EchoRequest {
            ident: 77,
            seq_no: 3,
            data: b"0123456789"
        })
    );

    let mut frame = Vec::new();
    builder()
        .icmpv4_echo_reply(78, 4)
        .write(&mut frame, b"")
        .unwrap();
    let (_, packet) = wire_ipv4(&frame);
    let icmp = Icmpv4Packet::new_checked(packet.payload()).unwrap();
    assert_eq!(
        Icmpv4Repr::parse(&icmp, true),
        Ok(Icmpv4Repr::EchoReply {
            ident: 78,
            seq_no: 4,
            data: b""
        })
    );

    // Port unreachable quoting a UDP datagram that etherparse built too.
    let mut quoted = Vec::new();
    ep::PacketBuilder::ipv4(IP_B.octets(), IP_A.octets(), 64)
        .udp(5000, 9)
        .write(&mut quoted, &[1; 40])
        .unwrap();
    let mut frame = Vec::new();
    builder()
        .icmpv4(ep::Icmpv4Type::DestinationUnreachable(
            ep::icmpv4::DestUnreachableHeader::Port,
        ))
        .write(&mut frame, &quoted[..28])
        .unwrap();
    let (_, packet) = wire_ipv4(&frame);
    let icmp = Icmpv4Packet::new_checked(packet.payload()).unwrap();
    let repr = Icmpv4Repr::parse(&icmp, true).unwrap();
    let Icmpv4Repr::DstUnreachable {
        code: PORT_UNREACH,
        original,
        ..
    } = repr
    else {
        panic!("{repr:?}")
    };
    let inner = Ipv4Packet::new_quoted(original).unwrap();
    assert_eq!(inner.next_header(), IpProtocol::Udp);
    assert_eq!(inner.src_addr(), IP_B);
    assert_eq!(&inner.payload()[..4], &[0x13, 0x88, 0x00, 0x09]);
    assert_eq!(icmp.msg_type(), Icmpv4Message::DstUnreachable);
}

#[test]
fn etherparse_arp_parses() {
    let packet = ep::ArpPacket::new(
        ep::ArpHardwareId::ETHERNET,
        ep::EtherType::IPV4,
        ep::ArpOperation::REPLY,
        &MAC_A.0,
        &IP_A.octets(),
        &MAC_B.0,
        &IP_B.octets(),
    )
    .unwrap();
    let mut frame = Vec::new();
    ep::PacketBuilder::ethernet2(MAC_A.0, MAC_B.0)
        .arp(packet)
        .write(&mut frame)
        .unwrap();
    let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
    assert_eq!(eth.ethertype(), EtherType::Arp);
    let arp = ArpPacket::new_checked(eth.into_payload()).unwrap();
    assert_eq!(
        ArpRepr::parse(&arp),
        Ok(ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: MAC_A,
            source_protocol_addr: IP_A,
            target_hardware_addr: MAC_B,
            target_protocol_addr: IP_B,
        })
    );
}

#[test]
fn etherparse_ipv4_header_fields_parse() {
    let mut header =
        ep::Ipv4Header::new(0, 1, ep::IpNumber::UDP, IP_A.octets(), IP_B.octets()).unwrap();
    header.dscp = ep::IpDscp::try_new(46).unwrap();
    header.ecn = ep::IpEcn::try_new(3).unwrap();
    header.identification = 0xabcd;
    header.dont_fragment = false;
    header.options = [1u8, 1, 1, 0][..].try_into().unwrap();
    let mut frame = Vec::new();
    ep::PacketBuilder::ethernet2(MAC_A.0, MAC_B.0)
        .ip(ep::IpHeaders::Ipv4(header, Default::default()))
        .udp(1, 2)
        .write(&mut frame, b"xyz")
        .unwrap();
    let (ip, packet) = wire_ipv4(&frame);
    assert_eq!(packet.header_len(), 24);
    assert_eq!(packet.options(), &[1, 1, 1, 0]);
    assert_eq!(ip.dscp, 46);
    assert_eq!(ip.ecn, 3);
    assert_eq!(ip.ident, 0xabcd);
    assert!(!ip.dont_frag);
    assert_eq!(ip.hop_limit, 1);
    assert_eq!(ip.payload_len, 11);
    let datagram = UdpPacket::new_checked(packet.payload()).unwrap();
    UdpRepr::parse(&datagram, IP_A, IP_B, true).unwrap();
}
