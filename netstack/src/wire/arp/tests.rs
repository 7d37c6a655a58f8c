use super::*;

const MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);

/// "Who has 192.168.1.2? Tell 192.168.1.1", as Linux sends it.
const REQUEST: [u8; 28] = [
    0x00, 0x01, // hardware type: Ethernet
    0x08, 0x00, // protocol type: IPv4
    0x06, 0x04, // address lengths
    0x00, 0x01, // operation: request
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // sender MAC
    0xc0, 0xa8, 0x01, 0x01, // sender IP
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: unknown
    0xc0, 0xa8, 0x01, 0x02, // target IP
];

fn request() -> ArpRepr {
    ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: MAC,
        source_protocol_addr: Ipv4Addr::new(192, 168, 1, 1),
        target_hardware_addr: EthernetAddress::default(),
        target_protocol_addr: Ipv4Addr::new(192, 168, 1, 2),
    }
}

#[test]
fn parse_known_request() {
    let packet = ArpPacket::new_checked(&REQUEST[..]).unwrap();
    assert_eq!(packet.hardware_type(), 1);
    assert_eq!(packet.protocol_type(), EtherType::Ipv4);
    assert_eq!(packet.hardware_len(), 6);
    assert_eq!(packet.protocol_len(), 4);
    assert_eq!(packet.packet_len(), 28);
    assert_eq!(packet.operation(), ArpOperation::Request);
    assert_eq!(packet.source_hardware_addr(), MAC.as_bytes());
    assert_eq!(packet.source_protocol_addr(), &[192, 168, 1, 1]);
    assert_eq!(packet.target_hardware_addr(), &[0; 6]);
    assert_eq!(packet.target_protocol_addr(), &[192, 168, 1, 2]);
    assert!(packet.is_ethernet_ipv4());
    assert_eq!(ArpRepr::parse(&packet), Ok(request()));
}

#[test]
fn emit_matches_known_request() {
    let repr = request();
    let mut bytes = vec![0xff; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut bytes[..]));
    assert_eq!(bytes, REQUEST);
}

#[test]
fn reply_round_trip_with_padding() {
    let reply = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: Ipv4Addr::new(192, 168, 1, 2),
        target_hardware_addr: MAC,
        target_protocol_addr: Ipv4Addr::new(192, 168, 1, 1),
    };
    // Ethernet pads ARP to a 46-byte payload: the padding is ignored.
    let mut bytes = [0u8; 46];
    reply.emit(&mut ArpPacket::new_unchecked(&mut bytes[..]));
    assert_eq!(&bytes[6..8], &[0, 2]);
    assert!(bytes[28..].iter().all(|&b| b == 0));
    let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(ArpRepr::parse(&packet), Ok(reply));
}

#[test]
fn unknown_operation_round_trips() {
    let repr = ArpRepr {
        operation: ArpOperation::Unknown(3),
        ..request()
    };
    let mut bytes = [0u8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut bytes[..]));
    let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(ArpRepr::parse(&packet), Ok(repr));
    assert_eq!(u16::from(ArpOperation::Unknown(3)), 3);
    assert_eq!(ArpOperation::from(2), ArpOperation::Reply);
}

#[test]
fn truncated_at_every_length() {
    for len in 0..REQUEST.len() {
        assert_eq!(
            ArpPacket::new_checked(&REQUEST[..len]).unwrap_err(),
            WireError::Truncated,
            "len {len}"
        );
        let packet = ArpPacket::new_unchecked(&REQUEST[..len]);
        assert_eq!(ArpRepr::parse(&packet), Err(WireError::Truncated));
    }
}

#[test]
fn other_address_kinds_are_unsupported() {
    type Mutation = fn(&mut [u8; 28]);
    let cases: [(&str, Mutation); 4] = [
        ("IEEE 802 hardware", |b| b[1] = 6),
        ("IPv6 protocol", |b| b[2..4].copy_from_slice(&[0x86, 0xdd])),
        ("hardware length 8", |b| b[4] = 8),
        ("protocol length 2", |b| b[5] = 2),
    ];
    for (name, mutate) in cases {
        let mut bytes = [0u8; 40];
        let mut fixed = REQUEST;
        mutate(&mut fixed);
        bytes[..28].copy_from_slice(&fixed);
        let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            ArpRepr::parse(&packet),
            Err(WireError::Unsupported),
            "{name}"
        );
    }
}

#[test]
fn generic_view_uses_declared_lengths() {
    // Hardware length 8 makes a 36-byte packet: 28 bytes are not enough.
    let mut bytes = REQUEST;
    bytes[4] = 8;
    assert_eq!(
        ArpPacket::new_checked(&bytes[..]).unwrap_err(),
        WireError::Truncated
    );
    let mut long = [0u8; 36];
    long[..8].copy_from_slice(&bytes[..8]);
    let mut packet = ArpPacket::new_unchecked(&mut long[..]);
    packet.set_source_hardware_addr(&[1; 8]);
    packet.set_source_protocol_addr(&[2; 4]);
    packet.set_target_hardware_addr(&[3; 8]);
    packet.set_target_protocol_addr(&[4; 4]);
    let packet = ArpPacket::new_checked(&long[..]).unwrap();
    assert_eq!(packet.source_hardware_addr(), &[1; 8]);
    assert_eq!(packet.source_protocol_addr(), &[2; 4]);
    assert_eq!(packet.target_hardware_addr(), &[3; 8]);
    assert_eq!(packet.target_protocol_addr(), &[4; 4]);
    assert!(!packet.is_ethernet_ipv4());
}

#[test]
fn display() {
    assert_eq!(
        request().to_string(),
        "ARP who-has 192.168.1.2 tell 192.168.1.1 (52:54:00:12:34:56)"
    );
    let reply = ArpRepr {
        operation: ArpOperation::Reply,
        ..request()
    };
    assert_eq!(
        reply.to_string(),
        "ARP reply 192.168.1.1 is-at 52:54:00:12:34:56"
    );
    let other = ArpRepr {
        operation: ArpOperation::Unknown(9),
        ..request()
    };
    assert_eq!(
        other.to_string(),
        "ARP operation 9 from 192.168.1.1 (52:54:00:12:34:56)"
    );
}
