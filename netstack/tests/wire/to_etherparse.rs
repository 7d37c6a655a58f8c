//! Frames emitted by `wire` are parsed by etherparse, which must agree on every field, length
//! and checksum (etherparse computes the checksums itself).

use etherparse as ep;
use etherparse::TcpOptionElement as Opt;

use sockeye_netstack::wire::icmpv4::{FRAG_NEEDED, PORT_UNREACH, TTL_EXCEEDED};
use sockeye_netstack::wire::{ArpOperation, SackBlocks, SeqNumber, TcpFlags, TcpOptions};

use super::*;

/// etherparse's reading of an IPv4 frame: the IPv4 header, the transport header and the
/// transport payload. The Ethernet header must be the one `ethernet_frame` writes.
fn parse_ipv4(frame: &[u8]) -> (ep::Ipv4Header, Option<ep::TransportHeader>, Vec<u8>) {
    let headers = ep::PacketHeaders::from_ethernet_slice(frame).expect("etherparse rejects frame");
    let Some(ep::LinkHeader::Ethernet2(eth)) = headers.link else {
        panic!("no Ethernet header: {:?}", headers.link)
    };
    assert_eq!(eth.source, MAC_A.0);
    assert_eq!(eth.destination, MAC_B.0);
    assert_eq!(eth.ether_type, ep::EtherType::IPV4);
    let Some(ep::NetHeaders::Ipv4(ip, exts)) = headers.net else {
        panic!("no IPv4 header: {:?}", headers.net)
    };
    assert!(exts.auth.is_none());
    let payload = headers.payload.slice().to_vec();
    (ip, headers.transport, payload)
}

/// Checks etherparse's IPv4 header against the repr that emitted it.
fn check_ip(ip: &ep::Ipv4Header, repr: &Ipv4Repr) {
    assert_eq!(ip.source, repr.src_addr.octets());
    assert_eq!(ip.destination, repr.dst_addr.octets());
    assert_eq!(ip.protocol.0, u8::from(repr.next_header));
    assert_eq!(usize::from(ip.total_len), repr.total_len());
    assert_eq!(ip.header_len(), 20);
    assert_eq!(ip.time_to_live, repr.hop_limit);
    assert_eq!(ip.dscp.value(), repr.dscp);
    assert_eq!(ip.ecn.value(), repr.ecn);
    assert_eq!(ip.identification, repr.ident);
    assert_eq!(ip.dont_fragment, repr.dont_frag);
    assert!(!ip.more_fragments);
    assert_eq!(ip.fragment_offset.value(), 0);
    assert_eq!(ip.header_checksum, ip.calc_header_checksum());
}

/// The options etherparse finds, as a list.
fn ep_options(tcp: &ep::TcpHeader) -> Vec<Opt> {
    tcp.options_iterator()
        .map(|option| option.expect("etherparse rejects an option"))
        .collect()
}

/// Checks etherparse's reading of a TCP frame against the repr and payload that emitted it.
fn check_tcp_frame(frame: &[u8], repr: &TcpRepr, payload: &[u8]) {
    let (ip, transport, ep_payload) = parse_ipv4(frame);
    check_ip(&ip, &ip_repr(IpProtocol::Tcp, repr.buffer_len()));
    let Some(ep::TransportHeader::Tcp(tcp)) = transport else {
        panic!("no TCP header")
    };
    assert_eq!(tcp.source_port, repr.src_port);
    assert_eq!(tcp.destination_port, repr.dst_port);
    assert_eq!(tcp.sequence_number, repr.seq_number.0);
    assert_eq!(tcp.ack, repr.ack_number.is_some());
    assert_eq!(
        tcp.acknowledgment_number,
        repr.ack_number.map_or(0, |ack| ack.0)
    );
    let flags = repr.wire_flags();
    assert_eq!(tcp.fin, flags.contains(TcpFlags::FIN));
    assert_eq!(tcp.syn, flags.contains(TcpFlags::SYN));
    assert_eq!(tcp.rst, flags.contains(TcpFlags::RST));
    assert_eq!(tcp.psh, flags.contains(TcpFlags::PSH));
    assert_eq!(tcp.urg, flags.contains(TcpFlags::URG));
    assert_eq!(tcp.ece, flags.contains(TcpFlags::ECE));
    assert_eq!(tcp.cwr, flags.contains(TcpFlags::CWR));
    assert!(!tcp.ns);
    assert_eq!(tcp.window_size, repr.window_len);
    assert_eq!(tcp.urgent_pointer, repr.urgent);
    assert_eq!(tcp.header_len(), repr.header_len());
    assert_eq!(ep_payload, payload);
    assert_eq!(
        tcp.checksum,
        tcp.calc_checksum_ipv4(&ip, payload).unwrap(),
        "TCP checksum"
    );

    // Every option etherparse reports matches the repr, and every option is reported.
    let options = &repr.options;
    let mut seen = TcpOptions::default();
    for option in ep_options(&tcp) {
        match option {
            Opt::Noop => {}
            Opt::MaximumSegmentSize(mss) => seen.mss = Some(mss),
            Opt::WindowScale(shift) => seen.window_scale = Some(shift),
            Opt::SelectiveAcknowledgementPermitted => seen.sack_permitted = true,
            Opt::Timestamp(tsval, tsecr) => seen.timestamps = Some((tsval, tsecr)),
            Opt::SelectiveAcknowledgement(first, rest) => {
                for (left, right) in core::iter::once(first).chain(rest.into_iter().flatten()) {
                    assert!(seen.sack_blocks.push(SeqNumber(left), SeqNumber(right)));
                }
            }
        }
    }
    let mut expected = *options;
    expected.sack_blocks =
        SackBlocks::from_slice(&options.sack_blocks.as_slice()[..options.emitted_sack_blocks()])
            .unwrap();
    assert_eq!(seen, expected);
}

fn syn() -> TcpRepr {
    TcpRepr {
        src_port: 43_210,
        dst_port: 443,
        seq_number: SeqNumber(0xfedc_ba98),
        ack_number: None,
        flags: TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR,
        window_len: 64_240,
        urgent: 0,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((0x0102_0304, 0)),
            ..TcpOptions::default()
        },
        payload_len: 0,
    }
}

#[test]
fn tcp_syn_agrees() {
    let repr = syn();
    let frame = tcp_frame(&repr, &[]);
    check_tcp_frame(&frame, &repr, &[]);
    let (_, transport, _) = parse_ipv4(&frame);
    let Some(ep::TransportHeader::Tcp(tcp)) = transport else {
        panic!()
    };
    // Linux's layout, option for option.
    assert_eq!(
        ep_options(&tcp),
        [
            Opt::MaximumSegmentSize(1460),
            Opt::SelectiveAcknowledgementPermitted,
            Opt::Timestamp(0x0102_0304, 0),
            Opt::Noop,
            Opt::WindowScale(7),
        ]
    );
}

#[test]
fn tcp_data_with_sack_blocks_agrees() {
    let mut sack = SackBlocks::new();
    for (left, right) in [
        (0xffff_fff0, 0x10),
        (5000, 6000),
        (7000, 8000),
        (9000, 9500),
    ] {
        sack.push(SeqNumber(left), SeqNumber(right));
    }
    let payload: Vec<u8> = (0..101).collect();
    let repr = TcpRepr {
        src_port: 443,
        dst_port: 43_210,
        seq_number: SeqNumber(0xffff_ffc0),
        ack_number: Some(SeqNumber(0xfedc_ba99)),
        flags: TcpFlags::PSH | TcpFlags::URG,
        window_len: 501,
        urgent: 17,
        options: TcpOptions {
            timestamps: Some((u32::MAX, 0x0102_0304)),
            sack_blocks: sack,
            ..TcpOptions::default()
        },
        payload_len: payload.len(),
    };
    let frame = tcp_frame(&repr, &payload);
    check_tcp_frame(&frame, &repr, &payload);
    let (_, transport, _) = parse_ipv4(&frame);
    let Some(ep::TransportHeader::Tcp(tcp)) = transport else {
        panic!()
    };
    // Timestamps leave room for three of the four blocks.
    assert_eq!(tcp.header_len(), 60);
    assert_eq!(
        ep_options(&tcp),
        [
            Opt::Noop,
            Opt::Noop,
            Opt::Timestamp(u32::MAX, 0x0102_0304),
            Opt::Noop,
            Opt::Noop,
            Opt::SelectiveAcknowledgement(
                (0xffff_fff0, 0x10),
                [Some((5000, 6000)), Some((7000, 8000)), None]
            ),
        ]
    );
}

#[test]
fn random_tcp_segments_agree() {
    let mut rng = Lcg(7);
    for _ in 0..2_000 {
        let mut options = TcpOptions::default();
        if rng.coin() {
            options.mss = Some(rng.next() as u16);
        }
        if rng.coin() {
            options.window_scale = Some(rng.below(15) as u8);
        }
        options.sack_permitted = rng.coin();
        if rng.coin() {
            options.timestamps = Some((rng.next(), rng.next()));
        }
        for _ in 0..rng.below(5) {
            options
                .sack_blocks
                .push(SeqNumber(rng.next()), SeqNumber(rng.next()));
        }
        let payload_len = rng.below(300);
        let payload = rng.bytes(payload_len);
        let repr = TcpRepr {
            src_port: rng.next() as u16 | 1,
            dst_port: rng.next() as u16 | 0x8000,
            seq_number: SeqNumber(rng.next()),
            ack_number: rng.coin().then(|| SeqNumber(rng.next())),
            flags: TcpFlags::from_bits_truncate(rng.next() as u16).without(TcpFlags::ACK),
            window_len: rng.next() as u16,
            urgent: 0,
            options,
            payload_len: payload.len(),
        };
        let repr = TcpRepr {
            urgent: if repr.flags.contains(TcpFlags::URG) {
                rng.next() as u16
            } else {
                0
            },
            ..repr
        };
        let frame = tcp_frame(&repr, &payload);
        check_tcp_frame(&frame, &repr, &payload);
    }
}

#[test]
fn udp_agrees() {
    let mut rng = Lcg(11);
    for len in [0, 1, 2, 7, 8, 9, 100, 1471, 1472] {
        let payload = rng.bytes(len);
        let repr = UdpRepr {
            src_port: 5353,
            dst_port: 53,
        };
        let frame = udp_frame(&repr, &payload);
        let (ip, transport, ep_payload) = parse_ipv4(&frame);
        check_ip(&ip, &ip_repr(IpProtocol::Udp, 8 + len));
        let Some(ep::TransportHeader::Udp(udp)) = transport else {
            panic!("no UDP header")
        };
        assert_eq!(udp.source_port, 5353);
        assert_eq!(udp.destination_port, 53);
        assert_eq!(usize::from(udp.length), 8 + len);
        assert_eq!(ep_payload, payload);
        assert_eq!(udp.checksum, udp.calc_checksum_ipv4(&ip, &payload).unwrap());
    }
}

#[test]
fn icmp_echo_agrees() {
    let data = b"sockeye ping data, 29 bytes..";
    for (repr, request) in [
        (
            Icmpv4Repr::EchoRequest {
                ident: 0x4d2,
                seq_no: 1,
                data,
            },
            true,
        ),
        (
            Icmpv4Repr::EchoReply {
                ident: 0x4d2,
                seq_no: 0xffff,
                data,
            },
            false,
        ),
    ] {
        let frame = icmp_frame(&repr);
        let (ip, transport, ep_payload) = parse_ipv4(&frame);
        check_ip(&ip, &ip_repr(IpProtocol::Icmp, repr.buffer_len()));
        let Some(ep::TransportHeader::Icmpv4(icmp)) = transport else {
            panic!("no ICMP header")
        };
        let (ident, seq_no) = match repr {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. }
            | Icmpv4Repr::EchoReply { ident, seq_no, .. } => (ident, seq_no),
            _ => unreachable!(),
        };
        let echo = ep::IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        };
        let expected = if request {
            ep::Icmpv4Type::EchoRequest(echo)
        } else {
            ep::Icmpv4Type::EchoReply(echo)
        };
        assert_eq!(icmp.icmp_type, expected);
        assert_eq!(ep_payload, &data[..]);
        let oracle = ep::Icmpv4Header::with_checksum(icmp.icmp_type.clone(), &ep_payload);
        assert_eq!(icmp.checksum, oracle.checksum);
    }
}

#[test]
fn icmp_errors_agree() {
    // The quote: the first 28 bytes of a UDP datagram from B to A.
    let quoted_frame = udp_frame(
        &UdpRepr {
            src_port: 40_000,
            dst_port: 9,
        },
        &[0; 64],
    );
    let quote = &quoted_frame[14..14 + 28];
    let frag_needed = Icmpv4Repr::DstUnreachable {
        code: FRAG_NEEDED,
        next_hop_mtu: 1280,
        original: quote,
    };
    let port_unreachable = Icmpv4Repr::DstUnreachable {
        code: PORT_UNREACH,
        next_hop_mtu: 0,
        original: quote,
    };
    let ttl = Icmpv4Repr::TimeExceeded {
        code: TTL_EXCEEDED,
        original: quote,
    };
    use ep::icmpv4::{DestUnreachableHeader, TimeExceededCode};
    for (repr, expected) in [
        (
            frag_needed,
            ep::Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
                next_hop_mtu: 1280,
            }),
        ),
        (
            port_unreachable,
            ep::Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port),
        ),
        (
            ttl,
            ep::Icmpv4Type::TimeExceeded(TimeExceededCode::TtlExceededInTransit),
        ),
    ] {
        let frame = icmp_frame(&repr);
        let (_, transport, ep_payload) = parse_ipv4(&frame);
        let Some(ep::TransportHeader::Icmpv4(icmp)) = transport else {
            panic!("no ICMP header")
        };
        assert_eq!(icmp.icmp_type, expected);
        assert_eq!(ep_payload, quote);
        let oracle = ep::Icmpv4Header::with_checksum(expected, quote);
        assert_eq!(icmp.checksum, oracle.checksum);
    }
}

#[test]
fn arp_agrees() {
    for operation in [ArpOperation::Request, ArpOperation::Reply] {
        let repr = ArpRepr {
            operation,
            source_hardware_addr: MAC_A,
            source_protocol_addr: IP_A,
            target_hardware_addr: MAC_B,
            target_protocol_addr: IP_B,
        };
        let frame = arp_frame(&repr);
        let headers = ep::PacketHeaders::from_ethernet_slice(&frame).unwrap();
        let Some(ep::LinkHeader::Ethernet2(eth)) = headers.link else {
            panic!()
        };
        assert_eq!(eth.ether_type, ep::EtherType::ARP);
        let Some(ep::NetHeaders::Arp(arp)) = headers.net else {
            panic!("no ARP packet")
        };
        assert_eq!(arp.packet_len(), 28);
        let arp = arp.try_eth_ipv4().unwrap();
        let expected = match operation {
            ArpOperation::Request => ep::ArpOperation::REQUEST,
            _ => ep::ArpOperation::REPLY,
        };
        assert_eq!(arp.operation, expected);
        assert_eq!(arp.sender_mac, MAC_A.0);
        assert_eq!(arp.sender_ipv4, IP_A.octets());
        assert_eq!(arp.target_mac, MAC_B.0);
        assert_eq!(arp.target_ipv4, IP_B.octets());
    }
}
