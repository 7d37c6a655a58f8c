//! A deterministic fuzz run: random and mutated bytes fed to every parser. Nothing may panic,
//! and whatever parses must survive emit-then-parse unchanged.

use sockeye_netstack::wire::{
    ArpOperation, SackBlocks, SeqNumber, TcpFlags, TcpOptions, WireError,
};

use super::*;

/// How many inputs each parser accepted.
#[derive(Default)]
struct Counts {
    arp: usize,
    ipv4: usize,
    tcp: usize,
    udp: usize,
    icmp: usize,
}

/// Valid packets at each layer, as seeds for mutation.
fn seeds() -> Vec<Vec<u8>> {
    let mut sack = SackBlocks::new();
    sack.push(SeqNumber(1), SeqNumber(2));
    sack.push(SeqNumber(3), SeqNumber(4));
    let tcp = TcpRepr {
        src_port: 1,
        dst_port: 2,
        seq_number: SeqNumber(3),
        ack_number: Some(SeqNumber(4)),
        flags: TcpFlags::PSH | TcpFlags::URG,
        window_len: 5,
        urgent: 6,
        options: TcpOptions {
            timestamps: Some((7, 8)),
            sack_blocks: sack,
            ..TcpOptions::default()
        },
        payload_len: 5,
    };
    let syn = TcpRepr {
        flags: TcpFlags::SYN,
        ack_number: None,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((9, 0)),
            ..TcpOptions::default()
        },
        payload_len: 0,
        ..tcp
    };
    let udp = UdpRepr {
        src_port: 10,
        dst_port: 11,
    };
    let echo = Icmpv4Repr::EchoRequest {
        ident: 12,
        seq_no: 13,
        data: b"ping",
    };
    let udp_frame = udp_frame(&udp, b"datagram");
    let quote = udp_frame[14..14 + 28].to_vec();
    let unreachable = Icmpv4Repr::DstUnreachable {
        code: 3,
        next_hop_mtu: 0,
        original: &quote,
    };
    let arp = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: MAC_A,
        source_protocol_addr: IP_A,
        target_hardware_addr: EthernetAddress::default(),
        target_protocol_addr: IP_B,
    };
    let frames = [
        tcp_frame(&tcp, b"hello"),
        tcp_frame(&syn, &[]),
        udp_frame,
        icmp_frame(&echo),
        icmp_frame(&unreachable),
        arp_frame(&arp),
    ];
    // Each frame, and each of its inner layers on its own (IPv4 datagram, transport segment).
    let mut seeds = Vec::new();
    for frame in frames {
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        match eth.ethertype() {
            EtherType::Ipv4 => {
                let packet = Ipv4Packet::new_checked(eth.payload()).unwrap();
                Ipv4Repr::parse(&packet, true).unwrap();
            }
            _ => {
                ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
            }
        }
        seeds.push(frame[14..].to_vec());
        if frame[12..14] == [0x08, 0x00] {
            seeds.push(frame[14 + 20..].to_vec());
        }
        seeds.push(frame);
    }
    seeds
}

/// One random or mutated buffer.
fn input(rng: &mut Lcg, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.below(2) == 0 {
        let len = rng.below(120);
        return (0..len).map(|_| rng.next() as u8).collect();
    }
    let mut bytes = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 | 1 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            2 if !bytes.is_empty() => bytes.truncate(rng.below(bytes.len())),
            _ => bytes.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
        }
    }
    bytes
}

/// `new_checked` and `Repr::parse` agree: when the view rejects the bytes, parsing fails with
/// the same error (so whatever parses also passed `new_checked`).
fn consistent<V, R: core::fmt::Debug>(
    checked: Result<V, WireError>,
    parsed: &Result<R, WireError>,
) {
    if let Err(err) = checked {
        assert_eq!(parsed.as_ref().err(), Some(&err), "{parsed:?}");
    }
}

fn check_ethernet(bytes: &[u8], counts: &mut Counts) {
    if let Ok(frame) = EthernetFrame::new_checked(bytes) {
        let repr = EthernetRepr::parse(&frame).unwrap();
        let payload = frame.into_payload();
        match repr.ethertype {
            EtherType::Ipv4 => check_ipv4(payload, counts),
            EtherType::Arp => check_arp(payload, counts),
            _ => {}
        }
    }
}

fn check_arp(bytes: &[u8], counts: &mut Counts) {
    let packet = ArpPacket::new_unchecked(bytes);
    let parsed = ArpRepr::parse(&packet);
    consistent(ArpPacket::new_checked(bytes), &parsed);
    let Ok(repr) = parsed else {
        return;
    };
    counts.arp += 1;
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
    assert_eq!(
        ArpRepr::parse(&ArpPacket::new_unchecked(&out[..])),
        Ok(repr)
    );
}

fn check_ipv4(bytes: &[u8], counts: &mut Counts) {
    let _ = Ipv4Packet::new_quoted(bytes).map(|packet| packet.payload().len());
    let packet = Ipv4Packet::new_unchecked(bytes);
    let parsed = Ipv4Repr::parse(&packet, false);
    consistent(Ipv4Packet::new_checked(bytes), &parsed);
    let Ok(repr) = parsed else {
        return;
    };
    counts.ipv4 += 1;
    let verified = Ipv4Repr::parse(&packet, true);
    assert!(verified == Ok(repr) || verified == Err(WireError::Checksum));
    let _ = (packet.options(), packet.frag_offset(), packet.is_fragment());
    assert_eq!(packet.payload().len(), repr.payload_len);

    let mut out = vec![0u8; repr.total_len()];
    let mut emitted = Ipv4Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut emitted, true);
    emitted.payload_mut().copy_from_slice(packet.payload());
    assert_eq!(
        Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&out[..]), true),
        Ok(repr)
    );

    let (src, dst) = (repr.src_addr, repr.dst_addr);
    let payload = packet.into_payload();
    check_tcp(payload, src, dst, counts);
    check_udp(payload, src, dst, counts);
    check_icmp(payload, counts);
}

fn check_tcp(bytes: &[u8], src: Ipv4Addr, dst: Ipv4Addr, counts: &mut Counts) {
    let packet = TcpPacket::new_unchecked(bytes);
    let _ = TcpOptions::parse(bytes);
    let parsed = TcpRepr::parse(&packet, src, dst, false);
    consistent(TcpPacket::new_checked(bytes), &parsed);
    let Ok(repr) = parsed else {
        return;
    };
    counts.tcp += 1;
    let verified = TcpRepr::parse(&packet, src, dst, true);
    assert!(verified == Ok(repr) || verified == Err(WireError::Checksum));

    let payload = packet.payload();
    let mut out = vec![0u8; repr.header_len() + payload.len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut out[..]),
        src,
        dst,
        payload,
        true,
    );
    let reparsed = TcpRepr::parse(&TcpPacket::new_unchecked(&out[..]), src, dst, true).unwrap();
    // Emitting may drop SACK blocks that Linux's layout has no room for; nothing else changes.
    let mut expected = repr;
    let kept = &repr.options.sack_blocks.as_slice()[..repr.options.emitted_sack_blocks()];
    expected.options.sack_blocks = SackBlocks::from_slice(kept).unwrap();
    assert_eq!(reparsed, expected);
}

fn check_udp(bytes: &[u8], src: Ipv4Addr, dst: Ipv4Addr, counts: &mut Counts) {
    let packet = UdpPacket::new_unchecked(bytes);
    let parsed = UdpRepr::parse(&packet, src, dst, false);
    consistent(UdpPacket::new_checked(bytes), &parsed);
    let Ok(repr) = parsed else {
        return;
    };
    counts.udp += 1;
    let verified = UdpRepr::parse(&packet, src, dst, true);
    assert!(verified == Ok(repr) || verified == Err(WireError::Checksum));
    let payload = packet.payload();
    let mut out = vec![0u8; repr.buffer_len(payload.len())];
    let mut emitted = UdpPacket::new_unchecked(&mut out[..]);
    repr.emit(&mut emitted, src, dst, payload, true);
    assert_ne!(emitted.checksum(), 0);
    assert_eq!(
        UdpRepr::parse(&UdpPacket::new_unchecked(&out[..]), src, dst, true),
        Ok(repr)
    );
}

fn check_icmp(bytes: &[u8], counts: &mut Counts) {
    let packet = Icmpv4Packet::new_unchecked(bytes);
    let parsed = Icmpv4Repr::parse(&packet, false);
    consistent(Icmpv4Packet::new_checked(bytes), &parsed);
    let Ok(repr) = parsed else {
        return;
    };
    counts.icmp += 1;
    let verified = Icmpv4Repr::parse(&packet, true);
    assert!(verified == Ok(repr) || verified == Err(WireError::Checksum));
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]), true);
    // Echo codes and the unused bytes of most error messages are not represented: emitting
    // writes them as zero, and the reading is unchanged.
    let reparsed = Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&out[..]), true).unwrap();
    assert_eq!(reparsed, repr);
}

#[test]
fn random_and_mutated_input_never_panics() {
    let seeds = seeds();
    let mut rng = Lcg(0x5eed);
    let mut counts = Counts::default();
    for _ in 0..100_000 {
        let bytes = input(&mut rng, &seeds);
        check_ethernet(&bytes, &mut counts);
        check_arp(&bytes, &mut counts);
        check_ipv4(&bytes, &mut counts);
        // The transport parsers see the bytes directly too, between two fixed hosts.
        check_tcp(&bytes, IP_A, IP_B, &mut counts);
        check_udp(&bytes, IP_A, IP_B, &mut counts);
        check_icmp(&bytes, &mut counts);
    }
    // The run must reach past the length checks of every parser, or it proves little.
    for (name, count) in [
        ("ARP", counts.arp),
        ("IPv4", counts.ipv4),
        ("TCP", counts.tcp),
        ("UDP", counts.udp),
        ("ICMP", counts.icmp),
    ] {
        assert!(count >= 1_000, "only {count} {name} inputs parsed");
    }
}
