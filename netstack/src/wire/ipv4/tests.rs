use super::*;

const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 199);

/// A textbook UDP-carrying header: total length 115, DF, TTL 64, checksum 0xb861.
const HEADER: [u8; 20] = [
    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01,
    0xc0, 0xa8, 0x00, 0xc7,
];

/// The textbook datagram: HEADER and a 95-byte payload of 0, 1, 2, ...
fn datagram() -> Vec<u8> {
    let mut bytes = HEADER.to_vec();
    bytes.extend((0..95).map(|i| i as u8));
    bytes
}

fn repr() -> Ipv4Repr {
    Ipv4Repr {
        src_addr: SRC,
        dst_addr: DST,
        next_header: IpProtocol::Udp,
        payload_len: 95,
        hop_limit: 64,
        dscp: 0,
        ecn: 0,
        ident: 0,
        dont_frag: true,
    }
}

#[test]
fn parse_known_header() {
    let bytes = datagram();
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.version(), 4);
    assert_eq!(packet.header_len(), 20);
    assert_eq!(packet.dscp(), 0);
    assert_eq!(packet.ecn(), 0);
    assert_eq!(packet.total_len(), 115);
    assert_eq!(packet.ident(), 0);
    assert!(packet.dont_frag());
    assert!(!packet.more_frags());
    assert_eq!(packet.frag_offset(), 0);
    assert!(!packet.is_fragment());
    assert_eq!(packet.ttl(), 64);
    assert_eq!(packet.next_header(), IpProtocol::Udp);
    assert_eq!(packet.checksum(), 0xb861);
    assert_eq!(packet.src_addr(), SRC);
    assert_eq!(packet.dst_addr(), DST);
    assert!(packet.verify_checksum());
    assert!(packet.options().is_empty());
    assert_eq!(packet.payload(), &bytes[20..]);
    assert_eq!(Ipv4Repr::parse(&packet, true), Ok(repr()));
    assert_eq!(packet.into_payload().len(), 95);
}

#[test]
fn emit_matches_known_header() {
    let mut bytes = vec![0xa5; 115];
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    repr().emit(&mut packet, true);
    packet
        .payload_mut()
        .copy_from_slice(&datagram()[HEADER_LEN..]);
    assert_eq!(bytes, datagram());
    assert_eq!(repr().buffer_len(), 20);
    assert_eq!(repr().total_len(), 115);
}

#[test]
fn emit_without_fill_leaves_checksum_zero() {
    let mut bytes = vec![0xff; 20];
    repr().emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]), false);
    assert_eq!(&bytes[10..12], &[0, 0]);
    let mut expected = HEADER;
    expected[10..12].copy_from_slice(&[0, 0]);
    assert_eq!(bytes, expected);
}

#[test]
fn round_trip_with_every_field() {
    let repr = Ipv4Repr {
        src_addr: Ipv4Addr::new(10, 0, 0, 1),
        dst_addr: Ipv4Addr::new(255, 255, 255, 255),
        next_header: IpProtocol::Unknown(132),
        payload_len: 3,
        hop_limit: 1,
        dscp: 46,
        ecn: 2,
        ident: 0xbeef,
        dont_frag: false,
    };
    let mut bytes = vec![0u8; repr.total_len()];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]), true);
    assert_eq!(bytes[1], (46 << 2) | 2);
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Ipv4Repr::parse(&packet, true), Ok(repr));
}

#[test]
fn padding_is_not_payload() {
    let mut bytes = datagram();
    bytes.extend_from_slice(&[0xee; 7]);
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.payload().len(), 95);
    assert_eq!(Ipv4Repr::parse(&packet, true).unwrap().payload_len, 95);
}

#[test]
fn truncated_at_every_length() {
    let bytes = datagram();
    for len in 0..bytes.len() {
        let err = Ipv4Packet::new_checked(&bytes[..len]).unwrap_err();
        assert_eq!(err, WireError::Truncated, "len {len}");
        let packet = Ipv4Packet::new_unchecked(&bytes[..len]);
        assert_eq!(Ipv4Repr::parse(&packet, true), Err(WireError::Truncated));
    }
}

#[test]
fn malformed_headers() {
    type Mutation = fn(&mut Vec<u8>);
    let cases: [(&str, Mutation); 4] = [
        ("version 6", |b| b[0] = 0x65),
        ("version 0", |b| b[0] = 0x05),
        ("IHL 4", |b| b[0] = 0x44),
        ("total length below header length", |b| b[3] = 19),
    ];
    for (name, mutate) in cases {
        let mut bytes = datagram();
        mutate(&mut bytes);
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
            WireError::Malformed,
            "{name}"
        );
    }
    // IHL 15 (60 bytes) with a total length of 40: the header exceeds the datagram.
    let mut bytes = datagram();
    bytes[0] = 0x4f;
    bytes[2..4].copy_from_slice(&40u16.to_be_bytes());
    assert_eq!(
        Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
        WireError::Malformed
    );
}

#[test]
fn options_are_skipped() {
    // IHL 6: a 4-byte option (NOP NOP NOP EOL) before the payload.
    let mut bytes = vec![
        0x46, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 0, 0, 1, 10, 0,
        0, 2, 0x01, 0x01, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef,
    ];
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    packet.fill_checksum();
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.header_len(), 24);
    assert_eq!(packet.options(), &[1, 1, 1, 0]);
    assert_eq!(packet.payload(), &[0xde, 0xad, 0xbe, 0xef]);
    assert!(packet.verify_checksum());
    let repr = Ipv4Repr::parse(&packet, true).unwrap();
    assert_eq!(repr.payload_len, 4);
    assert_eq!(repr.next_header, IpProtocol::Tcp);
    assert_eq!(repr.ident, 0x1234);
    assert!(!repr.dont_frag);
}

#[test]
fn checksum_checked_only_when_asked() {
    let mut bytes = datagram();
    bytes[8] = 63; // TTL changed without updating the checksum.
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert!(!packet.verify_checksum());
    assert_eq!(Ipv4Repr::parse(&packet, true), Err(WireError::Checksum));
    assert_eq!(Ipv4Repr::parse(&packet, false).unwrap().hop_limit, 63);
}

#[test]
fn fragments_are_parsed_and_flagged() {
    let mut bytes = datagram();
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    packet.set_dont_frag(false);
    packet.set_more_frags(true);
    packet.set_frag_offset(1480);
    packet.set_ident(0x4242);
    packet.fill_checksum();
    assert_eq!(&bytes[6..8], &[0x20, 185]);
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert!(packet.more_frags());
    assert!(!packet.dont_frag());
    assert_eq!(packet.frag_offset(), 1480);
    assert!(packet.is_fragment());
    assert_eq!(Ipv4Repr::parse(&packet, true).unwrap().ident, 0x4242);

    // The last fragment: MF clear, offset non-zero.
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    packet.set_more_frags(false);
    assert!(packet.is_fragment());
    packet.set_frag_offset(0);
    assert!(!packet.is_fragment());
    assert_eq!(&bytes[6..8], &[0, 0]);
}

#[test]
fn setters_keep_neighbouring_bits() {
    let mut bytes = HEADER;
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    packet.set_dscp(0x3f);
    packet.set_ecn(1);
    assert_eq!((packet.dscp(), packet.ecn()), (0x3f, 1));
    packet.set_ecn(3);
    packet.set_dscp(0);
    assert_eq!((packet.dscp(), packet.ecn()), (0, 3));
    packet.set_header_len(24);
    assert_eq!((packet.version(), packet.header_len()), (4, 24));
    packet.set_version(6);
    assert_eq!((packet.version(), packet.header_len()), (6, 24));
    packet.set_frag_offset(8 * 0x1fff);
    assert!(packet.dont_frag());
    assert_eq!(packet.frag_offset(), 8 * 0x1fff);
}

#[test]
fn quoted_headers_may_lack_their_payload() {
    let bytes = datagram();
    let quoted = &bytes[..28];
    assert_eq!(
        Ipv4Packet::new_checked(quoted).unwrap_err(),
        WireError::Truncated
    );
    let packet = Ipv4Packet::new_quoted(quoted).unwrap();
    assert_eq!(packet.payload(), &bytes[20..28]);
    assert_eq!(packet.next_header(), IpProtocol::Udp);
    assert_eq!(
        Ipv4Packet::new_quoted(&bytes[..19]).unwrap_err(),
        WireError::Truncated
    );
    let mut bad = bytes[..28].to_vec();
    bad[0] = 0x46 + 0x10; // version 5
    assert_eq!(Ipv4Packet::new_quoted(&bad[..]), Err(WireError::Malformed));
    bad[0] = 0x4f; // 60-byte header, 28 bytes present
    bad[2..4].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(Ipv4Packet::new_quoted(&bad[..]), Err(WireError::Truncated));
}

#[test]
fn protocol_conversions_and_display() {
    for (value, protocol) in [
        (1, IpProtocol::Icmp),
        (6, IpProtocol::Tcp),
        (17, IpProtocol::Udp),
        (89, IpProtocol::Unknown(89)),
    ] {
        assert_eq!(IpProtocol::from(value), protocol);
        assert_eq!(u8::from(protocol), value);
    }
    assert_eq!(IpProtocol::Tcp.to_string(), "TCP");
    assert_eq!(IpProtocol::Unknown(89).to_string(), "protocol 89");
    assert_eq!(
        repr().to_string(),
        "IPv4 192.168.0.1 > 192.168.0.199 UDP len 95 ttl 64"
    );
}

#[test]
#[should_panic(expected = "65,515")]
fn emit_rejects_oversized_payload() {
    let repr = Ipv4Repr {
        payload_len: 65_516,
        ..repr()
    };
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut [0u8; 20][..]), true);
}
