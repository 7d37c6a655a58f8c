use super::*;

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// A SYN as Linux sends it, 10.0.0.1:54321 > 10.0.0.2:80; checksum computed independently.
const SYN: [u8; 40] = [
    0xd4, 0x31, // source port 54321
    0x00, 0x50, // destination port 80
    0x12, 0x34, 0x56, 0x78, // sequence number
    0x00, 0x00, 0x00, 0x00, // acknowledgment number
    0xa0, // data offset 10 (40 bytes)
    0x02, // SYN
    0xfa, 0xf0, // window 64240
    0x19, 0x9d, // checksum
    0x00, 0x00, // urgent pointer
    0x02, 0x04, 0x05, 0xb4, // MSS 1460
    0x04, 0x02, // SACK permitted
    0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, // TS 123456, 0
    0x01, 0x03, 0x03, 0x07, // NOP, window scale 7
];

/// Linux's SYN-ACK answer to [`SYN`], 10.0.0.2:80 > 10.0.0.1:54321.
const SYN_ACK: [u8; 40] = [
    0x00, 0x50, 0xd4, 0x31, // ports
    0xca, 0xfe, 0xba, 0xbe, // sequence number
    0x12, 0x34, 0x56, 0x79, // acknowledgment number
    0xa0, 0x12, // data offset 10, SYN+ACK
    0xfe, 0x88, // window 65160
    0xe4, 0x68, // checksum
    0x00, 0x00, // urgent pointer
    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00, 0xab, 0xcd, 0x00, 0x01, 0xe2, 0x40,
    0x01, 0x03, 0x03, 0x07,
];

fn syn() -> TcpRepr {
    TcpRepr {
        src_port: 54321,
        dst_port: 80,
        seq_number: SeqNumber(0x1234_5678),
        ack_number: None,
        flags: TcpFlags::SYN,
        window_len: 64240,
        urgent: 0,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((123_456, 0)),
            ..TcpOptions::default()
        },
        payload_len: 0,
    }
}

fn syn_ack() -> TcpRepr {
    TcpRepr {
        src_port: 80,
        dst_port: 54321,
        seq_number: SeqNumber(0xcafe_babe),
        ack_number: Some(SeqNumber(0x1234_5679)),
        flags: TcpFlags::SYN,
        window_len: 65160,
        options: TcpOptions {
            timestamps: Some((0xabcd, 123_456)),
            ..syn().options
        },
        ..syn()
    }
}

/// A data segment with timestamps and SACK blocks, emitted with `emit`.
fn data_segment(payload: &[u8]) -> (TcpRepr, Vec<u8>) {
    let repr = TcpRepr {
        src_port: 80,
        dst_port: 54321,
        seq_number: SeqNumber(0xffff_fffe),
        ack_number: Some(SeqNumber(7)),
        flags: TcpFlags::PSH,
        window_len: 501,
        urgent: 0,
        options: TcpOptions {
            timestamps: Some((1, 2)),
            sack_blocks: SackBlocks::from_slice(&[(SeqNumber(10), SeqNumber(20))]).unwrap(),
            ..TcpOptions::default()
        },
        payload_len: payload.len(),
    };
    let mut bytes = vec![0xa5; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut bytes[..]),
        SERVER,
        CLIENT,
        payload,
        true,
    );
    (repr, bytes)
}

#[test]
fn parse_known_syn() {
    let packet = TcpPacket::new_checked(&SYN[..]).unwrap();
    assert_eq!(packet.src_port(), 54321);
    assert_eq!(packet.dst_port(), 80);
    assert_eq!(packet.seq_number(), SeqNumber(0x1234_5678));
    assert_eq!(packet.ack_number(), SeqNumber(0));
    assert_eq!(packet.header_len(), 40);
    assert_eq!(packet.flags(), TcpFlags::SYN);
    assert_eq!(packet.window_len(), 64240);
    assert_eq!(packet.checksum(), 0x199d);
    assert_eq!(packet.urgent_at(), 0);
    assert_eq!(packet.options(), &SYN[20..]);
    assert!(packet.payload().is_empty());
    assert!(packet.verify_checksum(CLIENT, SERVER));
    assert!(!packet.verify_checksum(SERVER, CLIENT.to_bits().wrapping_add(1).into()));
    let repr = TcpRepr::parse(&packet, CLIENT, SERVER, true).unwrap();
    assert_eq!(repr, syn());
    assert_eq!(repr.segment_len(), 1);
    assert!(packet.into_payload().is_empty());
}

#[test]
fn emit_known_syn_and_syn_ack() {
    for (repr, expected, src, dst) in [
        (syn(), SYN, CLIENT, SERVER),
        (syn_ack(), SYN_ACK, SERVER, CLIENT),
    ] {
        assert_eq!(repr.header_len(), 40);
        assert_eq!(repr.buffer_len(), 40);
        let mut bytes = [0xa5; 40];
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut bytes[..]),
            src,
            dst,
            &[],
            true,
        );
        assert_eq!(bytes, expected);
        let packet = TcpPacket::new_checked(&expected[..]).unwrap();
        assert_eq!(TcpRepr::parse(&packet, src, dst, true), Ok(repr));
    }
}

#[test]
fn data_segment_round_trip() {
    let (repr, bytes) = data_segment(b"hello, world");
    assert_eq!(repr.header_len(), 20 + 12 + 12);
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.payload(), b"hello, world");
    assert_eq!(packet.flags(), TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(TcpRepr::parse(&packet, SERVER, CLIENT, true), Ok(repr));
    assert_eq!(repr.segment_len(), 12);
    // The sequence space wraps: the next segment starts at 10.
    assert_eq!(repr.seq_number + repr.segment_len(), SeqNumber(10));
}

#[test]
fn emit_in_three_steps() {
    let (repr, expected) = data_segment(b"odd");
    let mut bytes = vec![0u8; repr.buffer_len()];
    let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
    repr.emit_header(&mut packet);
    assert_eq!(packet.checksum(), 0);
    packet.payload_mut().copy_from_slice(b"odd");
    packet.fill_checksum(SERVER, CLIENT);
    assert_eq!(bytes, expected);
}

#[test]
fn truncated_at_every_length() {
    for len in 0..SYN.len() {
        assert_eq!(
            TcpPacket::new_checked(&SYN[..len]).unwrap_err(),
            WireError::Truncated,
            "len {len}"
        );
        let packet = TcpPacket::new_unchecked(&SYN[..len]);
        assert_eq!(
            TcpRepr::parse(&packet, CLIENT, SERVER, false),
            Err(WireError::Truncated)
        );
    }
}

#[test]
fn data_offset_below_five_is_malformed() {
    for offset in 0..5u8 {
        let mut bytes = SYN;
        bytes[12] = offset << 4;
        assert_eq!(
            TcpPacket::new_checked(&bytes[..]).unwrap_err(),
            WireError::Malformed
        );
    }
}

#[test]
fn zero_ports_are_malformed() {
    for range in [0..2, 2..4] {
        let mut bytes = SYN;
        bytes[range].fill(0);
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            TcpRepr::parse(&packet, CLIENT, SERVER, false),
            Err(WireError::Malformed)
        );
    }
}

#[test]
fn bad_options_are_malformed() {
    let mut bytes = SYN;
    bytes[21] = 5; // MSS length 5
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(
        TcpRepr::parse(&packet, CLIENT, SERVER, false),
        Err(WireError::Malformed)
    );
}

#[test]
fn checksum_checked_only_when_asked() {
    let (repr, mut bytes) = data_segment(b"payload");
    *bytes.last_mut().unwrap() ^= 1;
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert!(!packet.verify_checksum(SERVER, CLIENT));
    assert_eq!(
        TcpRepr::parse(&packet, SERVER, CLIENT, true),
        Err(WireError::Checksum)
    );
    assert_eq!(TcpRepr::parse(&packet, SERVER, CLIENT, false), Ok(repr));
    // The pseudo-header counts: the right bytes between the wrong hosts fail too.
    let (_, bytes) = data_segment(b"payload");
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert!(packet.verify_checksum(SERVER, CLIENT));
    assert!(!packet.verify_checksum(CLIENT, SERVER.to_bits().wrapping_add(1).into()));
}

#[test]
fn emit_without_fill_leaves_zero() {
    let mut bytes = [0xff; 40];
    syn().emit(
        &mut TcpPacket::new_unchecked(&mut bytes[..]),
        CLIENT,
        SERVER,
        &[],
        false,
    );
    assert_eq!(&bytes[16..18], &[0, 0]);
    assert_eq!(&bytes[..16], &SYN[..16]);
    assert_eq!(&bytes[18..], &SYN[18..]);
}

#[test]
fn oversized_segments_never_verify() {
    let mut bytes = vec![0u8; 70_000];
    bytes[12] = 0x50;
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert!(!packet.verify_checksum(CLIENT, SERVER));
}

#[test]
fn ack_lives_in_ack_number_only() {
    // An ACK bit in `flags` without an acknowledgment number is not sent.
    let repr = TcpRepr {
        flags: TcpFlags::SYN | TcpFlags::ACK,
        ..syn()
    };
    assert_eq!(repr.wire_flags(), TcpFlags::SYN);
    let mut bytes = [0u8; 40];
    repr.emit_header(&mut TcpPacket::new_unchecked(&mut bytes[..]));
    assert_eq!(bytes[13], 0x02);
    assert_eq!(&bytes[8..12], &[0; 4]);
    // A segment without ACK parses with no acknowledgment number, whatever the field holds.
    let mut bytes = SYN;
    bytes[8..12].copy_from_slice(&[1, 2, 3, 4]);
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    let parsed = TcpRepr::parse(&packet, CLIENT, SERVER, false).unwrap();
    assert_eq!(parsed.ack_number, None);
    assert!(!parsed.flags.contains(TcpFlags::ACK));
}

#[test]
fn urgent_pointer_only_with_urg() {
    let mut repr = syn();
    repr.urgent = 9;
    let mut bytes = [0u8; 40];
    repr.emit_header(&mut TcpPacket::new_unchecked(&mut bytes[..]));
    assert_eq!(&bytes[18..20], &[0, 0]);
    repr.flags |= TcpFlags::URG;
    repr.emit_header(&mut TcpPacket::new_unchecked(&mut bytes[..]));
    assert_eq!(&bytes[18..20], &[0, 9]);
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(TcpRepr::parse(&packet, CLIENT, SERVER, false), Ok(repr));
    // Without URG, a non-zero field reads as 0.
    let mut bytes = SYN;
    bytes[19] = 5;
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.urgent_at(), 5);
    let parsed = TcpRepr::parse(&packet, CLIENT, SERVER, false).unwrap();
    assert_eq!(parsed.urgent, 0);
}

#[test]
fn odd_flag_combinations_parse() {
    let mut bytes = SYN;
    bytes[13] = 0x07; // SYN+FIN+RST
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    let parsed = TcpRepr::parse(&packet, CLIENT, SERVER, false).unwrap();
    assert_eq!(parsed.flags, TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST);
    assert_eq!(parsed.segment_len(), 2);
    bytes[13] = 0;
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    let parsed = TcpRepr::parse(&packet, CLIENT, SERVER, false).unwrap();
    assert!(parsed.flags.is_empty());
}

#[test]
fn reserved_and_ns_bits_are_ignored() {
    let mut bytes = SYN;
    bytes[12] |= 0x0f; // three reserved bits and NS
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.header_len(), 40);
    assert_eq!(packet.flags(), TcpFlags::SYN);
    assert_eq!(
        TcpRepr::parse(&packet, CLIENT, SERVER, false)
            .unwrap()
            .flags,
        TcpFlags::SYN
    );
    let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
    packet.set_header_len(40);
    assert_eq!(packet.into_inner()[12], 0xa0);
}

#[test]
fn setters() {
    let mut bytes = [0u8; 24];
    let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
    packet.set_header_len(24);
    packet.set_src_port(1);
    packet.set_dst_port(2);
    packet.set_seq_number(SeqNumber(3));
    packet.set_ack_number(SeqNumber(4));
    packet.set_flags(TcpFlags::RST);
    packet.set_window_len(5);
    packet.set_urgent_at(6);
    packet.options_mut().copy_from_slice(&[1, 1, 1, 0]);
    assert!(packet.payload_mut().is_empty());
    packet.fill_checksum(CLIENT, SERVER);
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!((packet.src_port(), packet.dst_port()), (1, 2));
    assert_eq!(packet.seq_number(), SeqNumber(3));
    assert_eq!(packet.ack_number(), SeqNumber(4));
    assert_eq!(packet.flags(), TcpFlags::RST);
    assert_eq!(packet.window_len(), 5);
    assert_eq!(packet.urgent_at(), 6);
    assert_eq!(packet.options(), &[1, 1, 1, 0]);
    assert!(packet.verify_checksum(CLIENT, SERVER));
}

#[test]
fn display() {
    assert_eq!(
        syn_ack().to_string(),
        "TCP 80 > 54321 [S.] seq 3405691582 ack 305419897 win 65160 len 0"
    );
    assert_eq!(
        syn().to_string(),
        "TCP 54321 > 80 [S] seq 305419896 win 64240 len 0"
    );
}
