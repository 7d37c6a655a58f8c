//! Datagrams larger than the MTU: IPv4 output fragmentation (checked against etherparse's
//! reassembly) and the peer's reassembly, up to the largest datagram IPv4 carries.

use etherparse::defrag::IpDefragPool;

use super::*;

#[test]
fn empty_and_largest_datagrams_travel_intact() {
    let (mut a, mut b) = pair();
    let (ha, hb) = (
        a.udp_bind(sa(A_IP, 1000)).unwrap(),
        b.udp_bind(sa(B_IP, 2000)).unwrap(),
    );
    let big: Vec<u8> = (0..1472u32).map(|i| (i * 7) as u8).collect();
    send_to(&mut a, ha, b"", sa(B_IP, 2000)).unwrap();
    send_to(&mut a, ha, &big, sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(recv_from(&mut b, hb, 2000).unwrap().0, b"");
    assert_eq!(recv_from(&mut b, hb, 2000).unwrap().0, big);
    assert_eq!(a.counters().get(Counter::IpFragOKs), 0, "1472 bytes fit");
    // The largest datagram IPv4 carries: 45 fragments, reassembled by B.
    let largest: Vec<u8> = (0..MAX_PAYLOAD).map(|i| (i % 253) as u8).collect();
    send_to(&mut a, ha, &largest, sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(recv_from(&mut b, hb, 70_000).unwrap().0, largest);
    assert_eq!(a.counters().get(Counter::IpFragCreates), 45);
    let err = send_to(&mut a, ha, &vec![0; MAX_PAYLOAD + 1], sa(B_IP, 2000)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn datagrams_over_the_mtu_leave_in_fragments_etherparse_reassembles() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(A_IP, 1000)).unwrap();
    let hb = b.udp_bind(sa(B_IP, 2000)).unwrap();
    send_to(&mut a, ha, b"warm up ARP", sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    recv_from(&mut b, hb, 64).unwrap();
    let big: Vec<u8> = (0..4000u32).map(|i| (i * 31 % 251) as u8).collect();
    send_to(&mut a, ha, &big, sa(B_IP, 2000)).unwrap();
    let frames = drain(&mut a, NOW);
    // 4008 bytes of UDP: 1480 + 1480 + 1048.
    assert_eq!(frames.len(), 3);
    let mut pool = IpDefragPool::<(), ()>::new();
    let mut whole = None;
    let mut idents = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        assert!(f.len() <= 14 + 1500, "fits the MTU");
        let sliced = SlicedPacket::from_ethernet(f).unwrap();
        let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
            panic!("not IPv4");
        };
        let header = ip.header();
        assert_eq!(header.more_fragments(), i < 2);
        assert!(!header.dont_fragment());
        assert_eq!(usize::from(header.fragments_offset().value()) * 8, i * 1480);
        idents.push(header.identification());
        if let Some(done) = pool.process_sliced_packet(&sliced, (), ()).unwrap() {
            whole = Some(done.payload);
        }
        b.receive(NOW, IF0, f);
    }
    assert!(
        idents.iter().all(|&id| id == idents[0]),
        "one identification"
    );
    let whole = whole.expect("etherparse reassembled the fragments");
    let (udp, data) = etherparse::UdpHeader::from_slice(&whole).unwrap();
    assert_eq!(data, &big[..]);
    assert_eq!((udp.source_port, udp.destination_port), (1000, 2000));
    let expected = udp
        .calc_checksum_ipv4_raw(A_IP.octets(), B_IP.octets(), data)
        .unwrap();
    assert_eq!(
        udp.checksum, expected,
        "the checksum covers the whole datagram"
    );
    assert_eq!(recv_from(&mut b, hb, 5000).unwrap().0, big);
    let c = a.counters();
    assert_eq!(c.get(Counter::IpFragOKs), 1);
    assert_eq!(c.get(Counter::IpFragCreates), 3);
    assert_eq!(c.get(Counter::IpOutRequests), 2, "once per datagram");
    assert_eq!(b.counters().get(Counter::IpReasmOKs), 1);
}

#[test]
fn dont_fragment_datagrams_over_the_mtu_are_dropped() {
    let (mut a, _) = pair();
    // TCP sets DF: a segment over the MTU is refused, never fragmented.
    let sent = a.send_ipv4(NOW, B_IP, IpProtocol::Tcp, 1481, &mut |_, _, _, _| {});
    assert!(!sent);
    assert_eq!(a.counters().get(Counter::IpFragFails), 1);
    assert!(drain(&mut a, NOW).is_empty());
}
