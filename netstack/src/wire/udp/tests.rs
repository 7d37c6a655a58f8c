use super::*;

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// 10.0.0.1:12345 > 10.0.0.2:53, payload "hello"; checksum computed independently.
const DATAGRAM: [u8; 13] = [
    0x30, 0x39, // source port 12345
    0x00, 0x35, // destination port 53
    0x00, 0x0d, // length 13
    0x77, 0x91, // checksum
    b'h', b'e', b'l', b'l', b'o',
];

const REPR: UdpRepr = UdpRepr {
    src_port: 12345,
    dst_port: 53,
};

#[test]
fn parse_known_datagram() {
    let packet = UdpPacket::new_checked(&DATAGRAM[..]).unwrap();
    assert_eq!(packet.src_port(), 12345);
    assert_eq!(packet.dst_port(), 53);
    assert_eq!(packet.len(), 13);
    assert!(!packet.is_empty());
    assert_eq!(packet.checksum(), 0x7791);
    assert_eq!(packet.payload(), b"hello");
    assert!(packet.verify_checksum(SRC, DST));
    assert!(!packet.verify_checksum(DST, Ipv4Addr::new(10, 0, 0, 3)));
    assert_eq!(UdpRepr::parse(&packet, SRC, DST, true), Ok(REPR));
    assert_eq!(packet.into_payload(), b"hello");
}

#[test]
fn emit_matches_known_datagram() {
    let mut bytes = [0xa5; 13];
    let mut packet = UdpPacket::new_unchecked(&mut bytes[..]);
    REPR.emit(&mut packet, SRC, DST, b"hello", true);
    assert_eq!(bytes, DATAGRAM);
    assert_eq!(REPR.buffer_len(5), 13);
    assert_eq!(REPR.header_len(), 8);
}

#[test]
fn emit_in_three_steps() {
    let mut bytes = [0u8; 13];
    let mut packet = UdpPacket::new_unchecked(&mut bytes[..]);
    REPR.emit_header(&mut packet, 5);
    assert_eq!(packet.checksum(), 0);
    packet.payload_mut().copy_from_slice(b"hello");
    packet.fill_checksum(SRC, DST);
    assert_eq!(bytes, DATAGRAM);
}

#[test]
fn emit_without_fill_leaves_zero() {
    let mut bytes = [0xffu8; 13];
    REPR.emit(
        &mut UdpPacket::new_unchecked(&mut bytes[..]),
        SRC,
        DST,
        b"hello",
        false,
    );
    assert_eq!(&bytes[6..8], &[0, 0]);
    let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
    // Zero means "no checksum": valid even when verifying.
    assert!(packet.verify_checksum(SRC, DST));
    assert_eq!(UdpRepr::parse(&packet, SRC, DST, true), Ok(REPR));
}

#[test]
fn computed_zero_is_sent_as_ffff() {
    // Choose the payload's last word so that the checksum comes out as zero: with the checksum
    // field at 0xffff the whole sum must fold to 0xffff.
    let mut bytes = [0u8; 10];
    let mut packet = UdpPacket::new_unchecked(&mut bytes[..]);
    REPR.emit_header(&mut packet, 2);
    packet.fill_checksum(SRC, DST);
    let ordinary = packet.checksum();
    // Adding `ordinary` to the payload lowers the checksum by exactly that: to zero.
    packet
        .payload_mut()
        .copy_from_slice(&ordinary.to_be_bytes());
    packet.fill_checksum(SRC, DST);
    assert_eq!(packet.checksum(), 0xffff);
    assert!(packet.verify_checksum(SRC, DST));
}

#[test]
fn trailing_bytes_are_ignored() {
    let mut bytes = DATAGRAM.to_vec();
    bytes.extend_from_slice(&[0xee; 5]);
    let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.payload(), b"hello");
    assert!(packet.verify_checksum(SRC, DST));
}

#[test]
fn truncated_at_every_length() {
    for len in 0..DATAGRAM.len() {
        assert_eq!(
            UdpPacket::new_checked(&DATAGRAM[..len]).unwrap_err(),
            WireError::Truncated,
            "len {len}"
        );
        let packet = UdpPacket::new_unchecked(&DATAGRAM[..len]);
        assert_eq!(
            UdpRepr::parse(&packet, SRC, DST, false),
            Err(WireError::Truncated)
        );
    }
}

#[test]
fn length_below_header_is_malformed() {
    for len in 0..8u16 {
        let mut bytes = DATAGRAM;
        bytes[4..6].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            UdpPacket::new_checked(&bytes[..]).unwrap_err(),
            WireError::Malformed
        );
    }
    let mut empty = [0u8; 8];
    empty[5] = 8;
    let packet = UdpPacket::new_checked(&empty[..]).unwrap();
    assert!(packet.is_empty());
    assert!(packet.payload().is_empty());
}

#[test]
fn checksum_checked_only_when_asked() {
    let mut bytes = DATAGRAM;
    bytes[12] ^= 0x20;
    let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
    assert!(!packet.verify_checksum(SRC, DST));
    assert_eq!(
        UdpRepr::parse(&packet, SRC, DST, true),
        Err(WireError::Checksum)
    );
    assert_eq!(UdpRepr::parse(&packet, SRC, DST, false), Ok(REPR));
}

#[test]
fn zero_ports_are_accepted() {
    let repr = UdpRepr {
        src_port: 0,
        dst_port: 0,
    };
    let mut bytes = [0u8; 8];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut bytes[..]),
        SRC,
        DST,
        &[],
        true,
    );
    let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(UdpRepr::parse(&packet, SRC, DST, true), Ok(repr));
}

#[test]
fn display() {
    assert_eq!(REPR.to_string(), "UDP 12345 > 53");
}
