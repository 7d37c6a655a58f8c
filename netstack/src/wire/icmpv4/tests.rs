use super::*;
use crate::wire::ipv4::{IpProtocol, Ipv4Repr};
use core::net::Ipv4Addr;

/// Echo request id 0x1234 seq 1 with data "abcdefgh"; checksum computed independently.
const ECHO_REQUEST: [u8; 16] = [
    0x08, 0x00, // type 8, code 0
    0x54, 0x35, // checksum
    0x12, 0x34, // identifier
    0x00, 0x01, // sequence number
    b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h',
];

/// A quoted datagram: a UDP header inside an IPv4 header (20 + 8 bytes).
fn quote() -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: Ipv4Addr::new(10, 0, 0, 1),
        dst_addr: Ipv4Addr::new(10, 0, 0, 2),
        next_header: IpProtocol::Udp,
        payload_len: 100,
        hop_limit: 64,
        dscp: 0,
        ecn: 0,
        ident: 7,
        dont_frag: true,
    };
    let mut bytes = vec![0u8; 28];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]), true);
    bytes[20..28].copy_from_slice(&[0x30, 0x39, 0x00, 0x35, 0x00, 0x6c, 0x00, 0x00]);
    bytes
}

fn emit(repr: &Icmpv4Repr<'_>) -> Vec<u8> {
    let mut bytes = vec![0xa5; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut bytes[..]), true);
    bytes
}

#[test]
fn parse_known_echo_request() {
    let packet = Icmpv4Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
    assert_eq!(packet.msg_type(), Icmpv4Message::EchoRequest);
    assert_eq!(packet.msg_code(), 0);
    assert_eq!(packet.checksum(), 0x5435);
    assert_eq!(packet.echo_ident(), 0x1234);
    assert_eq!(packet.echo_seq_no(), 1);
    assert_eq!(packet.rest_of_header(), [0x12, 0x34, 0x00, 0x01]);
    assert_eq!(packet.payload(), b"abcdefgh");
    assert!(packet.verify_checksum());
    let repr = Icmpv4Repr::parse(&packet, true).unwrap();
    assert_eq!(
        repr,
        Icmpv4Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 1,
            data: b"abcdefgh"
        }
    );
    assert_eq!(repr.buffer_len(), 16);
    assert_eq!(emit(&repr), ECHO_REQUEST);
    assert_eq!(packet.into_payload(), b"abcdefgh");
}

#[test]
fn echo_reply_round_trip() {
    let repr = Icmpv4Repr::EchoReply {
        ident: 0xffff,
        seq_no: 0xfffe,
        data: b"odd",
    };
    let bytes = emit(&repr);
    assert_eq!(&bytes[..2], &[0, 0]);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert!(packet.verify_checksum());
    assert_eq!(Icmpv4Repr::parse(&packet, true), Ok(repr));
}

#[test]
fn port_unreachable_round_trip() {
    let original = quote();
    let repr = Icmpv4Repr::DstUnreachable {
        code: PORT_UNREACH,
        next_hop_mtu: 0,
        original: &original,
    };
    let bytes = emit(&repr);
    assert_eq!(&bytes[..2], &[3, 3]);
    assert_eq!(&bytes[4..8], &[0; 4]);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    let parsed = Icmpv4Repr::parse(&packet, true).unwrap();
    assert_eq!(parsed, repr);
    let Icmpv4Repr::DstUnreachable { original, .. } = parsed else {
        unreachable!()
    };
    let quoted = Ipv4Packet::new_quoted(original).unwrap();
    assert_eq!(quoted.next_header(), IpProtocol::Udp);
    assert_eq!(quoted.dst_addr(), Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(&quoted.payload()[2..4], &[0x00, 0x35]);
}

#[test]
fn frag_needed_carries_the_mtu() {
    let original = quote();
    let repr = Icmpv4Repr::DstUnreachable {
        code: FRAG_NEEDED,
        next_hop_mtu: 1400,
        original: &original,
    };
    let bytes = emit(&repr);
    assert_eq!(&bytes[4..8], &[0, 0, 0x05, 0x78]);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.next_hop_mtu(), 1400);
    assert_eq!(Icmpv4Repr::parse(&packet, true), Ok(repr));
    assert_eq!(
        repr.to_string(),
        "ICMP destination unreachable code 4 mtu 1400"
    );
}

#[test]
fn time_exceeded_round_trip() {
    let original = quote();
    let repr = Icmpv4Repr::TimeExceeded {
        code: TTL_EXCEEDED,
        original: &original,
    };
    let bytes = emit(&repr);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Icmpv4Repr::parse(&packet, true), Ok(repr));
}

#[test]
fn short_or_bad_quotes_are_malformed() {
    let original = quote();
    for len in 0..original.len() {
        let repr = Icmpv4Repr::TimeExceeded {
            code: TTL_EXCEEDED,
            original: &original[..len],
        };
        let bytes = emit(&repr);
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            Icmpv4Repr::parse(&packet, true),
            Err(WireError::Malformed),
            "quote of {len} bytes"
        );
    }
    let mut ipv6 = quote();
    ipv6[0] = 0x60;
    let repr = Icmpv4Repr::DstUnreachable {
        code: HOST_UNREACH,
        next_hop_mtu: 0,
        original: &ipv6,
    };
    let bytes = emit(&repr);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Icmpv4Repr::parse(&packet, true), Err(WireError::Malformed));
}

#[test]
fn other_messages_are_kept_raw() {
    let original = quote();
    let repr = Icmpv4Repr::Other {
        msg_type: Icmpv4Message::Redirect,
        code: 1,
        rest_of_header: [10, 0, 0, 254],
        data: &original,
    };
    let bytes = emit(&repr);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Icmpv4Repr::parse(&packet, true), Ok(repr));
    assert_eq!(repr.to_string(), "ICMP type 5 code 1");

    let timestamp = Icmpv4Repr::Other {
        msg_type: Icmpv4Message::Unknown(13),
        code: 0,
        rest_of_header: [0, 1, 0, 2],
        data: &[0; 12],
    };
    let bytes = emit(&timestamp);
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Icmpv4Repr::parse(&packet, true), Ok(timestamp));
}

#[test]
fn truncated_at_every_length() {
    for len in 0..HEADER_LEN {
        assert_eq!(
            Icmpv4Packet::new_checked(&ECHO_REQUEST[..len]).unwrap_err(),
            WireError::Truncated
        );
        let packet = Icmpv4Packet::new_unchecked(&ECHO_REQUEST[..len]);
        assert_eq!(Icmpv4Repr::parse(&packet, false), Err(WireError::Truncated));
    }
    // A cut echo request is still an echo request, but its checksum no longer matches.
    let packet = Icmpv4Packet::new_checked(&ECHO_REQUEST[..12]).unwrap();
    assert_eq!(Icmpv4Repr::parse(&packet, true), Err(WireError::Checksum));
}

#[test]
fn checksum_checked_only_when_asked() {
    let mut bytes = ECHO_REQUEST;
    bytes[15] = b'x';
    let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert!(!packet.verify_checksum());
    assert_eq!(Icmpv4Repr::parse(&packet, true), Err(WireError::Checksum));
    assert!(matches!(
        Icmpv4Repr::parse(&packet, false),
        Ok(Icmpv4Repr::EchoRequest {
            data: b"abcdefgx",
            ..
        })
    ));
}

#[test]
fn emit_without_fill_leaves_zero() {
    let repr = Icmpv4Repr::EchoRequest {
        ident: 1,
        seq_no: 2,
        data: &[],
    };
    let mut bytes = [0xffu8; 8];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut bytes[..]), false);
    assert_eq!(bytes, [8, 0, 0, 0, 0, 1, 0, 2]);
}

#[test]
fn setters_and_conversions() {
    let mut bytes = [0u8; 8];
    let mut packet = Icmpv4Packet::new_unchecked(&mut bytes[..]);
    packet.set_msg_type(Icmpv4Message::TimeExceeded);
    packet.set_msg_code(FRAG_TIME_EXCEEDED);
    packet.set_echo_ident(0x0102);
    packet.set_echo_seq_no(0x0304);
    assert_eq!(packet.rest_of_header(), [1, 2, 3, 4]);
    packet.set_next_hop_mtu(576);
    assert_eq!(packet.echo_seq_no(), 576);
    packet.fill_checksum();
    assert!(packet.verify_checksum());
    assert!(packet.payload_mut().is_empty());
    for (value, message) in [
        (0, Icmpv4Message::EchoReply),
        (3, Icmpv4Message::DstUnreachable),
        (5, Icmpv4Message::Redirect),
        (8, Icmpv4Message::EchoRequest),
        (11, Icmpv4Message::TimeExceeded),
        (12, Icmpv4Message::ParamProblem),
        (4, Icmpv4Message::Unknown(4)),
    ] {
        assert_eq!(Icmpv4Message::from(value), message);
        assert_eq!(u8::from(message), value);
    }
    assert_eq!(
        [NET_UNREACH, HOST_UNREACH, PROTO_UNREACH, PORT_UNREACH],
        [0, 1, 2, 3]
    );
}

#[test]
fn display() {
    let echo = Icmpv4Repr::EchoRequest {
        ident: 1,
        seq_no: 2,
        data: b"abc",
    };
    assert_eq!(echo.to_string(), "ICMP echo request id 1 seq 2 len 3");
    let reply = Icmpv4Repr::EchoReply {
        ident: 1,
        seq_no: 2,
        data: b"",
    };
    assert_eq!(reply.to_string(), "ICMP echo reply id 1 seq 2 len 0");
    let original = quote();
    let unreachable = Icmpv4Repr::DstUnreachable {
        code: PORT_UNREACH,
        next_hop_mtu: 0,
        original: &original,
    };
    assert_eq!(
        unreachable.to_string(),
        "ICMP destination unreachable code 3"
    );
    let exceeded = Icmpv4Repr::TimeExceeded {
        code: TTL_EXCEEDED,
        original: &original,
    };
    assert_eq!(exceeded.to_string(), "ICMP time exceeded code 0");
}
