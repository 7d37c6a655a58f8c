//! Two stacks on an in-test Ethernet link: ARP resolution, ICMP echo, closed-port answers,
//! bounded queues, and robustness against malformed frames. Every frame a stack emits is
//! checked by `etherparse`, an independent parser, including its checksums.

use core::net::Ipv4Addr;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};

use super::*;
use crate::wire::icmpv4::Icmpv4Repr;

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const A_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const B_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

fn stack(mac: EthernetAddress, ip: Ipv4Addr) -> Stack {
    let mut s = Stack::new(StackConfig::default());
    s.add_interface(InterfaceConfig {
        mac,
        addr: Ipv4Cidr::new(ip, 24).unwrap(),
        mtu: 1500,
        checksum_offload: false,
        gateway: None,
        loopback: false,
    });
    s
}

const IF0: IfaceId = IfaceId(0);

/// Frames one stack emits, checked by etherparse (which also verifies the checksums we fill).
fn drain(s: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    s.transmit(now, &mut |_, len, fill| {
        let mut buf = vec![0u8; len];
        fill(&mut buf);
        check_with_etherparse(&buf);
        out.push(buf);
        true
    });
    out
}

fn check_with_etherparse(frame: &[u8]) {
    let sliced = SlicedPacket::from_ethernet(frame).expect("etherparse parses every frame we emit");
    if let Some(NetSlice::Ipv4(ip)) = &sliced.net {
        let header = ip.header().to_header();
        assert_eq!(
            header.header_checksum,
            header.calc_header_checksum(),
            "IPv4 checksum"
        );
        match &sliced.transport {
            Some(TransportSlice::Tcp(tcp)) => {
                let expected = tcp
                    .to_header()
                    .calc_checksum_ipv4(&header, tcp.payload())
                    .unwrap();
                assert_eq!(tcp.checksum(), expected, "TCP checksum");
            }
            Some(TransportSlice::Icmpv4(icmp)) => {
                let expected = icmp.header().icmp_type.calc_checksum(icmp.payload());
                assert_eq!(icmp.checksum(), expected, "ICMP checksum");
            }
            _ => {}
        }
    }
}

/// Moves frames both ways until both stacks are quiet; returns every frame with its sender.
fn exchange(a: &mut Stack, b: &mut Stack, now: Instant) -> Vec<(char, Vec<u8>)> {
    let mut log = Vec::new();
    for _ in 0..100 {
        let from_a = drain(a, now);
        let from_b = drain(b, now);
        if from_a.is_empty() && from_b.is_empty() {
            return log;
        }
        for f in from_a {
            b.receive(now, IF0, &f);
            log.push(('a', f));
        }
        for f in from_b {
            a.receive(now, IF0, &f);
            log.push(('b', f));
        }
    }
    panic!("the stacks never went quiet");
}

fn echo_request(data: &[u8]) -> Icmpv4Repr<'_> {
    Icmpv4Repr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data,
    }
}

#[test]
fn ping_resolves_the_neighbour_and_gets_a_reply() {
    let (mut a, mut b) = (stack(A_MAC, A_IP), stack(B_MAC, B_IP));
    let now = Instant::from_millis(1);
    a.send_icmp(now, B_IP, &echo_request(b"hello"));
    let log = exchange(&mut a, &mut b, now);
    // ARP request (broadcast), ARP reply, echo request, echo reply.
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(a.neighbor(B_IP), Some(B_MAC));
    assert_eq!(b.neighbor(A_IP), Some(A_MAC));
    let (ca, cb) = (a.counters(), b.counters());
    assert_eq!(cb.get(Counter::IcmpInEchos), 1);
    assert_eq!(cb.get(Counter::IcmpOutEchoReps), 1);
    assert_eq!(ca.get(Counter::IcmpInEchoReps), 1);
    assert_eq!(ca.get(Counter::DevArpOut), 1);
    assert_eq!(
        cb.get(Counter::DevArpOut),
        1,
        "B learned A from the request: no ARP of its own"
    );
    // A second ping needs no ARP.
    a.send_icmp(now, B_IP, &echo_request(b"again"));
    assert_eq!(exchange(&mut a, &mut b, now).len(), 2);
}

#[test]
fn unresolvable_neighbour_retries_then_drops_and_counts() {
    let mut a = stack(A_MAC, A_IP);
    let nobody = Ipv4Addr::new(10, 0, 0, 99);
    a.send_icmp(Instant::ZERO, nobody, &echo_request(b"x"));
    let mut arps = drain(&mut a, Instant::ZERO).len();
    for s in 1..=3 {
        let t = Instant::from_millis(s * 1000);
        assert!(a.poll_at().is_some_and(|p| p <= t));
        arps += drain(&mut a, t).len();
    }
    assert_eq!(arps, 3, "one request and two retries");
    assert_eq!(a.counters().get(Counter::DevArpDrops), 1);
    assert_eq!(a.poll_at(), None);
}

/// A frame from A (MAC and IP) to B, built by etherparse.
fn frame_to_b(
    build: impl FnOnce(etherparse::PacketBuilderStep<etherparse::IpHeaders>, &mut Vec<u8>),
) -> Vec<u8> {
    let builder = etherparse::PacketBuilder::ethernet2(A_MAC.0, B_MAC.0).ipv4(
        A_IP.octets(),
        B_IP.octets(),
        64,
    );
    let mut out = Vec::new();
    build(builder, &mut out);
    out
}

#[test]
fn closed_udp_port_gets_port_unreachable() {
    let (mut a, mut b) = (stack(A_MAC, A_IP), stack(B_MAC, B_IP));
    let now = Instant::ZERO;
    let f = frame_to_b(|b, out| {
        let p = b"datagram";
        let b = b.udp(4000, 53);
        b.write(out, p).unwrap();
    });
    b.receive(now, IF0, &f);
    exchange(&mut a, &mut b, now);
    assert_eq!(b.counters().get(Counter::UdpNoPorts), 1);
    assert_eq!(b.counters().get(Counter::IcmpOutDestUnreachs), 1);
    assert_eq!(a.counters().get(Counter::IcmpInDestUnreachs), 1);
}

#[test]
fn closed_tcp_port_gets_a_reset() {
    let (mut a, mut b) = (stack(A_MAC, A_IP), stack(B_MAC, B_IP));
    let now = Instant::ZERO;
    let syn = frame_to_b(|b, out| {
        let b = b.tcp(40000, 80, 1000, 64240).syn();
        b.write(out, &[]).unwrap();
    });
    b.receive(now, IF0, &syn);
    let log = exchange(&mut a, &mut b, now);
    let rst = log
        .iter()
        .filter(|(from, _)| *from == 'b')
        .find_map(|(_, f)| {
            let s = SlicedPacket::from_ethernet(f).ok()?;
            match s.transport {
                Some(TransportSlice::Tcp(t)) => Some(t.to_header()),
                _ => None,
            }
        })
        .expect("B answered with a TCP segment");
    assert!(rst.rst && rst.ack && !rst.syn);
    assert_eq!(rst.sequence_number, 0);
    assert_eq!(rst.acknowledgment_number, 1001, "acknowledges the SYN");
    assert_eq!((rst.source_port, rst.destination_port), (80, 40000));
    assert_eq!(b.counters().get(Counter::TcpOutRsts), 1);
    // A RST is never answered with a RST.
    let rst_in = frame_to_b(|b, out| {
        let b = b.tcp(40000, 80, 1001, 0).rst();
        b.write(out, &[]).unwrap();
    });
    b.receive(now, IF0, &rst_in);
    assert!(drain(&mut b, now).is_empty());
}

#[test]
fn unknown_protocol_other_hosts_and_other_addresses_are_counted() {
    let mut b = stack(B_MAC, B_IP);
    let now = Instant::ZERO;
    let mut other_mac = frame_to_b(|b, out| b.udp(1, 2).write(out, b"x").unwrap());
    other_mac[..6].copy_from_slice(&[2, 9, 9, 9, 9, 9]);
    b.receive(now, IF0, &other_mac);
    assert_eq!(b.counters().get(Counter::DevRxOtherHost), 1);

    let other_ip = {
        let builder = etherparse::PacketBuilder::ethernet2(A_MAC.0, B_MAC.0)
            .ipv4(A_IP.octets(), [10, 0, 0, 77], 64)
            .udp(1, 2);
        let mut out = Vec::new();
        builder.write(&mut out, b"x").unwrap();
        out
    };
    b.receive(now, IF0, &other_ip);
    assert_eq!(b.counters().get(Counter::IpInAddrErrors), 1);

    let mut proto = frame_to_b(|b, out| b.udp(1, 2).write(out, b"x").unwrap());
    // Protocol 253 (experimental): fix up the IPv4 header checksum after changing it.
    proto[14 + 9] = 253;
    proto[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
    let sum = crate::wire::checksum::fold(crate::wire::checksum::sum(&proto[14..34]));
    proto[14 + 10..14 + 12].copy_from_slice(&sum.to_be_bytes());
    b.receive(now, IF0, &proto);
    assert_eq!(b.counters().get(Counter::IpInUnknownProtos), 1);
    assert_eq!(b.counters().get(Counter::IcmpOutDestUnreachs), 1);
}

#[test]
fn bad_checksums_are_dropped_and_counted() {
    let mut b = stack(B_MAC, B_IP);
    let now = Instant::ZERO;
    let mut ip_bad = frame_to_b(|b, out| b.udp(1, 2).write(out, b"x").unwrap());
    ip_bad[14 + 10] ^= 0xff;
    b.receive(now, IF0, &ip_bad);
    assert_eq!(b.counters().get(Counter::IpInHdrErrors), 1);

    let mut tcp_bad = frame_to_b(|b, out| b.tcp(1, 2, 3, 4).syn().write(out, &[]).unwrap());
    let last = tcp_bad.len() - 1;
    tcp_bad[last - 2] ^= 0x55; // inside the TCP header (urgent pointer), not the IP header
    b.receive(now, IF0, &tcp_bad);
    assert_eq!(b.counters().get(Counter::TcpInCsumErrors), 1);
    assert!(
        drain(&mut b, now).is_empty(),
        "no reply to a corrupt segment"
    );
}

#[test]
fn egress_queue_is_bounded_by_txqueuelen() {
    let mut a = stack(A_MAC, A_IP);
    a.config_mut().txqueuelen = 2;
    for i in 0..5u8 {
        a.send_icmp(
            Instant::ZERO,
            Ipv4Addr::new(10, 0, 0, 100 + i),
            &echo_request(b"x"),
        );
    }
    assert_eq!(a.counters().get(Counter::DevTxQueueDrops), 3);
    assert_eq!(drain(&mut a, Instant::ZERO).len(), 2);
}

#[test]
fn transmit_back_pressure_keeps_frames() {
    let mut a = stack(A_MAC, A_IP);
    a.send_icmp(Instant::ZERO, B_IP, &echo_request(b"x"));
    let refused = a.transmit(Instant::ZERO, &mut |_, _, _| false);
    assert_eq!(refused, 0);
    assert!(a.has_egress());
    assert_eq!(drain(&mut a, Instant::ZERO).len(), 1);
}

#[test]
fn random_and_mutated_frames_never_panic() {
    let mut b = stack(B_MAC, B_IP);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let valid = [
        frame_to_b(|b, out| b.tcp(1, 80, 3, 4).syn().write(out, b"abc").unwrap()),
        frame_to_b(|b, out| b.udp(1, 2).write(out, b"abcdef").unwrap()),
        frame_to_b(|b, out| b.icmpv4_echo_request(1, 2).write(out, b"ping").unwrap()),
    ];
    for i in 0..100_000u64 {
        let frame: Vec<u8> = if i % 2 == 0 {
            let len = (next() % 120) as usize;
            (0..len).map(|_| next() as u8).collect()
        } else {
            let mut f = valid[(i as usize / 2) % 3].clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % f.len();
                f[at] ^= 1 << (next() % 8);
            }
            if next() % 4 == 0 {
                let cut = (next() as usize) % f.len();
                f.truncate(cut);
            }
            f
        };
        b.receive(Instant::from_micros(i), IF0, &frame);
        if i % 64 == 0 {
            drain(&mut b, Instant::from_micros(i));
        }
    }
    let c = b.counters();
    assert_eq!(c.get(Counter::DevRxFrames), 100_000);
    assert!(c.get(Counter::DevRxMalformed) + c.get(Counter::DevRxOtherHost) > 0);
    assert!(c.get(Counter::IpInHdrErrors) > 0);
}
