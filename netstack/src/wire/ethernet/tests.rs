use super::*;

const DST: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
const SRC: EthernetAddress = EthernetAddress([0x00, 0x1b, 0x21, 0x3a, 0x4c, 0x5d]);

/// An ARP-carrying frame from SRC to DST with a 4-byte payload.
const FRAME: [u8; 18] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // destination
    0x00, 0x1b, 0x21, 0x3a, 0x4c, 0x5d, // source
    0x08, 0x06, // EtherType: ARP
    0xde, 0xad, 0xbe, 0xef, // payload
];

#[test]
fn parse_fields() {
    let frame = EthernetFrame::new_checked(&FRAME[..]).unwrap();
    assert_eq!(frame.dst_addr(), DST);
    assert_eq!(frame.src_addr(), SRC);
    assert_eq!(frame.ethertype(), EtherType::Arp);
    assert_eq!(frame.payload(), &[0xde, 0xad, 0xbe, 0xef]);
    let repr = EthernetRepr::parse(&frame).unwrap();
    assert_eq!(
        repr,
        EthernetRepr {
            src_addr: SRC,
            dst_addr: DST,
            ethertype: EtherType::Arp
        }
    );
    assert_eq!(frame.into_payload(), &FRAME[HEADER_LEN..]);
}

#[test]
fn emit_round_trip() {
    let repr = EthernetRepr {
        src_addr: SRC,
        dst_addr: DST,
        ethertype: EtherType::Arp,
    };
    let mut buf = vec![0u8; EthernetFrame::<&[u8]>::buffer_len(4)];
    assert_eq!(buf.len(), repr.buffer_len() + 4);
    let mut frame = EthernetFrame::new_checked(&mut buf[..]).unwrap();
    repr.emit(&mut frame);
    frame
        .payload_mut()
        .copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(buf, FRAME);

    let frame = EthernetFrame::new_checked(&buf).unwrap();
    assert_eq!(EthernetRepr::parse(&frame).unwrap(), repr);
}

#[test]
fn unknown_ethertype_round_trips() {
    let repr = EthernetRepr {
        src_addr: SRC,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EtherType::Unknown(0x88cc),
    };
    let mut buf = [0u8; HEADER_LEN];
    repr.emit(&mut EthernetFrame::new_unchecked(&mut buf));
    assert_eq!(&buf[12..14], &[0x88, 0xcc]);
    let frame = EthernetFrame::new_checked(&buf).unwrap();
    assert_eq!(EthernetRepr::parse(&frame).unwrap(), repr);
    assert!(frame.payload().is_empty());
}

#[test]
fn truncated_rejected() {
    for len in 0..HEADER_LEN {
        assert_eq!(
            EthernetFrame::new_checked(&FRAME[..len]).unwrap_err(),
            WireError::Truncated
        );
        let frame = EthernetFrame::new_unchecked(&FRAME[..len]);
        assert_eq!(EthernetRepr::parse(&frame), Err(WireError::Truncated));
    }
    assert!(EthernetFrame::new_checked(&FRAME[..HEADER_LEN]).is_ok());
}

#[test]
fn ethertype_conversions() {
    for (value, ty) in [
        (0x0800, EtherType::Ipv4),
        (0x0806, EtherType::Arp),
        (0x86DD, EtherType::Ipv6),
        (0x8100, EtherType::Unknown(0x8100)),
    ] {
        assert_eq!(EtherType::from(value), ty);
        assert_eq!(u16::from(ty), value);
    }
    assert_eq!(EtherType::Ipv4.to_string(), "IPv4");
    assert_eq!(EtherType::Unknown(0x8100).to_string(), "0x8100");
}

#[test]
fn address_classification() {
    let broadcast = EthernetAddress::BROADCAST;
    assert!(broadcast.is_broadcast());
    assert!(broadcast.is_multicast());
    assert!(!broadcast.is_unicast());

    let ipv4_multicast = EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
    assert!(ipv4_multicast.is_multicast());
    assert!(!ipv4_multicast.is_broadcast());
    assert!(!ipv4_multicast.is_unicast());
    assert!(!ipv4_multicast.is_local());

    assert!(SRC.is_unicast());
    assert!(!SRC.is_multicast());
    assert!(!SRC.is_local());
    assert!(DST.is_unicast());
    assert!(DST.is_local());
    assert!(EthernetAddress::default().is_unicast());
}

#[test]
fn address_from_bytes() {
    assert_eq!(EthernetAddress::from_bytes(&FRAME), Some(DST));
    assert_eq!(EthernetAddress::from_bytes(&FRAME[..5]), None);
    assert_eq!(DST.as_bytes(), &FRAME[..6]);
    assert_eq!(<[u8; 6]>::from(SRC), SRC.0);
    assert_eq!(EthernetAddress::from(SRC.0), SRC);
}

#[test]
fn address_display_and_parse() {
    assert_eq!(SRC.to_string(), "00:1b:21:3a:4c:5d");
    assert_eq!(format!("{SRC:?}"), "EthernetAddress(00:1b:21:3a:4c:5d)");
    assert_eq!(EthernetAddress::BROADCAST.to_string(), "ff:ff:ff:ff:ff:ff");
    for addr in [
        SRC,
        DST,
        EthernetAddress::BROADCAST,
        EthernetAddress::default(),
    ] {
        assert_eq!(addr.to_string().parse::<EthernetAddress>(), Ok(addr));
    }
    assert_eq!("00-1B-21-3A-4C-5D".parse::<EthernetAddress>(), Ok(SRC));
    assert_eq!("2:0:0:0:0:2".parse::<EthernetAddress>(), Ok(DST));
}

#[test]
fn address_parse_rejects_bad_strings() {
    for bad in [
        "",
        "00:1b:21:3a:4c",
        "00:1b:21:3a:4c:5d:6e",
        "00:1b:21:3a:4c:5d:",
        "00:1b:21:3a:4c:5g",
        "00:1b:21:3a:4c:+5",
        "00:1b:21:3a:4c:5d5",
        "00::21:3a:4c:5d",
        "00:1b-21:3a:4c:5d",
        "00 1b 21 3a 4c 5d",
        " 00:1b:21:3a:4c:5d",
        "00:1b:21:3a:4c:é",
    ] {
        let err = bad.parse::<EthernetAddress>().unwrap_err();
        assert!(
            err.to_string().starts_with("invalid Ethernet address: "),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(
        "00:1b:21"
            .parse::<EthernetAddress>()
            .unwrap_err()
            .to_string(),
        "invalid Ethernet address: expected six octets separated by ':' or '-', as in aa:bb:cc:dd:ee:ff"
    );
    assert_eq!(
        "00:1b:21:3a:4c:xx"
            .parse::<EthernetAddress>()
            .unwrap_err()
            .to_string(),
        "invalid Ethernet address: each octet must be one or two hexadecimal digits"
    );
}

#[test]
fn repr_display() {
    let repr = EthernetRepr {
        src_addr: SRC,
        dst_addr: DST,
        ethertype: EtherType::Ipv4,
    };
    assert_eq!(
        repr.to_string(),
        "Ethernet 00:1b:21:3a:4c:5d > 02:00:00:00:00:02 type IPv4"
    );
}
