//! IPv4 fragment reassembly through a whole stack, with the public API only.
//!
//! `etherparse` (an independent implementation) builds the datagrams, which the tests cut into
//! fragments, and parses every frame the stacks emit, checksums included. Stack B receives the
//! fragments; stack A, on the same link, answers B's ARP requests and receives B's replies.

use core::net::Ipv4Addr;

use etherparse::icmpv4::{DestUnreachableHeader, TimeExceededCode};
use etherparse::{
    Icmpv4Slice, Icmpv4Type, IpFragOffset, IpHeaders, Ipv4Header, NetSlice, PacketBuilder,
    PacketBuilderStep, SlicedPacket, TransportSlice,
};
use sockeye_netstack::wire::EthernetAddress;
use sockeye_netstack::{Counter, IfaceId, Instant, InterfaceConfig, Ipv4Cidr, Stack, StackConfig};

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const A_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const B_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const IF0: IfaceId = IfaceId(0);
const SECOND: u64 = 1_000_000;

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

/// Frames a stack emits at `now`, each checked by etherparse.
fn drain(s: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    s.transmit(now, &mut |_, len, fill| {
        let mut frame = vec![0u8; len];
        fill(&mut frame);
        check(&frame);
        out.push(frame);
        true
    });
    out
}

/// Checks a frame with etherparse, IPv4 and ICMP checksums included.
fn check(frame: &[u8]) {
    let sliced = SlicedPacket::from_ethernet(frame).expect("etherparse parses the frame");
    if let Some(NetSlice::Ipv4(ip)) = &sliced.net {
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum(), "IPv4 checksum");
        if let Some(TransportSlice::Icmpv4(icmp)) = &sliced.transport {
            let sum = icmp.header().icmp_type.calc_checksum(icmp.payload());
            assert_eq!(icmp.checksum(), sum, "ICMP checksum");
        }
    }
}

/// Moves frames between the stacks until both are quiet; returns the ICMP messages B sent.
fn exchange(a: &mut Stack, b: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
    let mut from_b_icmp = Vec::new();
    for _ in 0..20 {
        let (fa, fb) = (drain(a, now), drain(b, now));
        if fa.is_empty() && fb.is_empty() {
            return from_b_icmp;
        }
        fa.iter().for_each(|f| b.receive(now, IF0, f));
        for f in fb {
            a.receive(now, IF0, &f);
            if icmp_of(&f).is_some() {
                from_b_icmp.push(f);
            }
        }
    }
    panic!("the stacks never went quiet");
}

fn icmp_of(frame: &[u8]) -> Option<Icmpv4Slice<'_>> {
    match SlicedPacket::from_ethernet(frame).ok()?.transport {
        Some(TransportSlice::Icmpv4(icmp)) => Some(icmp),
        _ => None,
    }
}

/// A whole frame from A to B, built by etherparse.
fn whole(build: impl FnOnce(PacketBuilderStep<IpHeaders>, &mut Vec<u8>)) -> Vec<u8> {
    let builder = PacketBuilder::ethernet2(A_MAC.0, B_MAC.0).ipv4(A_IP.octets(), B_IP.octets(), 64);
    let mut out = Vec::new();
    build(builder, &mut out);
    out
}

fn udp_to_b(payload: &[u8]) -> Vec<u8> {
    whole(|p, out| p.udp(4000, 9).write(out, payload).unwrap())
}

/// `frame` cut into fragments of `size` payload bytes (a multiple of 8), with identification
/// `ident`, in order.
fn fragment(frame: &[u8], ident: u16, size: usize) -> Vec<Vec<u8>> {
    let (eth, ip) = frame.split_at(14);
    let (header, payload) = Ipv4Header::from_slice(ip).unwrap();
    payload
        .chunks(size)
        .enumerate()
        .map(|(i, chunk)| {
            let mut h = header.clone();
            h.identification = ident;
            h.more_fragments = (i + 1) * size < payload.len();
            h.fragment_offset = IpFragOffset::try_new((i * size / 8) as u16).unwrap();
            h.set_payload_len(chunk.len()).unwrap();
            let mut out = eth.to_vec();
            h.write(&mut out).unwrap();
            out.extend_from_slice(chunk);
            out
        })
        .collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn a_fragmented_echo_request_gets_a_reply() {
    let (mut a, mut b) = (stack(A_MAC, A_IP), stack(B_MAC, B_IP));
    let data = pattern(1000);
    let request = whole(|p, out| p.icmpv4_echo_request(7, 1).write(out, &data).unwrap());
    let now = Instant::ZERO;
    for f in fragment(&request, 42, 400).iter().rev() {
        b.receive(now, IF0, f);
    }
    let sent = exchange(&mut a, &mut b, now);
    assert_eq!(sent.len(), 1);
    let reply = icmp_of(&sent[0]).unwrap();
    match reply.icmp_type() {
        Icmpv4Type::EchoReply(echo) => assert_eq!((echo.id, echo.seq), (7, 1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(reply.payload(), &data[..]);
    let (ca, cb) = (a.counters(), b.counters());
    assert_eq!(cb.get(Counter::IpReasmReqds), 3);
    assert_eq!(cb.get(Counter::IpReasmOKs), 1);
    assert_eq!(cb.get(Counter::IpReasmFails), 0);
    assert_eq!(cb.get(Counter::IcmpInEchos), 1);
    assert_eq!(ca.get(Counter::IcmpInEchoReps), 1);
}

#[test]
fn a_fragmented_udp_datagram_to_a_closed_port_gets_port_unreachable() {
    let (mut a, mut b) = (stack(A_MAC, A_IP), stack(B_MAC, B_IP));
    let datagram = udp_to_b(&pattern(2000));
    let frags = fragment(&datagram, 43, 600);
    let now = Instant::ZERO;
    for i in [2, 0, 3, 1] {
        b.receive(now, IF0, &frags[i]);
    }
    let sent = exchange(&mut a, &mut b, now);
    assert_eq!(sent.len(), 1);
    let icmp = icmp_of(&sent[0]).unwrap();
    assert_eq!(
        icmp.icmp_type(),
        Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port)
    );
    // The quote is the reassembled datagram: whole length, no fragment fields.
    let (quoted, rest) = Ipv4Header::from_slice(icmp.payload()).unwrap();
    assert_eq!(usize::from(quoted.total_len), 20 + 8 + 2000);
    assert!(!quoted.more_fragments);
    assert_eq!(quoted.fragment_offset.value(), 0);
    assert_eq!(quoted.identification, 43);
    assert_eq!(quoted.header_checksum, quoted.calc_header_checksum());
    assert_eq!(rest, &datagram[34..34 + rest.len()]);
    let cb = b.counters();
    assert_eq!(cb.get(Counter::IpReasmOKs), 1);
    assert_eq!(cb.get(Counter::UdpNoPorts), 1);
    assert_eq!(a.counters().get(Counter::IcmpInDestUnreachs), 1);
}

#[test]
fn a_corrupted_fragment_fails_the_transport_checksum() {
    let mut b = stack(B_MAC, B_IP);
    let mut frags = fragment(&udp_to_b(&pattern(2000)), 44, 600);
    frags[1][14 + 20 + 100] ^= 0x40; // payload byte: the IPv4 header stays valid
    for f in &frags {
        b.receive(Instant::ZERO, IF0, f);
    }
    let cb = b.counters();
    assert_eq!(cb.get(Counter::IpReasmOKs), 1);
    assert_eq!(cb.get(Counter::UdpInCsumErrors), 1);
    assert_eq!(cb.get(Counter::UdpNoPorts), 0);
    assert!(drain(&mut b, Instant::ZERO).is_empty(), "no reply");
}

#[test]
fn an_incomplete_datagram_times_out_with_icmp_time_exceeded() {
    let (mut a, mut b) = (stack(A_MAC, A_IP), stack(B_MAC, B_IP));
    let frags = fragment(&udp_to_b(&pattern(2000)), 45, 600);
    let start = Instant::from_micros(5 * SECOND);
    for i in [0, 1, 3] {
        b.receive(start, IF0, &frags[i]);
    }
    let deadline = Instant::from_micros(35 * SECOND);
    assert_eq!(b.poll_at(), Some(deadline), "ipfrag_time is 30 s");
    assert!(drain(&mut b, Instant::from_micros(35 * SECOND - 1)).is_empty());
    assert_eq!(b.counters().get(Counter::IpReasmTimeout), 0);

    let sent = exchange(&mut a, &mut b, deadline);
    assert_eq!(sent.len(), 1);
    let icmp = icmp_of(&sent[0]).unwrap();
    assert_eq!(
        icmp.icmp_type(),
        Icmpv4Type::TimeExceeded(TimeExceededCode::FragmentReassemblyTimeExceeded)
    );
    // The quote is the first fragment, as received, cut to 576 bytes in all.
    let quote = icmp.payload();
    assert_eq!(quote.len(), 20 + 520);
    assert_eq!(quote, &frags[0][14..14 + quote.len()]);
    let (quoted, _) = Ipv4Header::from_slice(quote).unwrap();
    assert!(quoted.more_fragments);
    assert_eq!(quoted.identification, 45);

    let cb = b.counters();
    assert_eq!(cb.get(Counter::IpReasmReqds), 3);
    assert_eq!(cb.get(Counter::IpReasmFails), 1);
    assert_eq!(cb.get(Counter::IpReasmTimeout), 1);
    assert_eq!(cb.get(Counter::IpReasmOKs), 0);
    assert_eq!(cb.get(Counter::IcmpOutTimeExcds), 1);
    assert_eq!(a.counters().get(Counter::IcmpInTimeExcds), 1);
    // The missing fragment, late, starts a new queue of its own.
    b.receive(deadline, IF0, &frags[2]);
    assert_eq!(b.counters().get(Counter::IpReasmOKs), 0);
}

#[test]
fn without_the_first_fragment_a_timeout_is_silent() {
    let mut b = stack(B_MAC, B_IP);
    let frags = fragment(&udp_to_b(&pattern(2000)), 46, 600);
    for f in &frags[1..] {
        b.receive(Instant::ZERO, IF0, f);
    }
    let later = Instant::from_micros(30 * SECOND);
    // An ICMP message would need an ARP request first: nothing at all goes out.
    assert!(drain(&mut b, later).is_empty());
    let cb = b.counters();
    assert_eq!(cb.get(Counter::IpReasmTimeout), 1);
    assert_eq!(cb.get(Counter::IpReasmFails), 1);
    assert_eq!(cb.get(Counter::IcmpOutTimeExcds), 0);
    assert_eq!(b.poll_at(), None);
}

#[test]
fn overlapping_fragments_drop_the_datagram() {
    let mut b = stack(B_MAC, B_IP);
    let datagram = udp_to_b(&pattern(2000));
    let frags = fragment(&datagram, 47, 600);
    // A second cut of the same datagram at other boundaries overlaps the first in part.
    let other = fragment(&datagram, 47, 400);
    b.receive(Instant::ZERO, IF0, &frags[0]); // 0..600
    b.receive(Instant::ZERO, IF0, &other[1]); // 400..800
    for f in &frags[1..] {
        b.receive(Instant::ZERO, IF0, f);
    }
    let cb = b.counters();
    assert_eq!(cb.get(Counter::IpExtReasmOverlaps), 1);
    assert_eq!(cb.get(Counter::IpReasmOKs), 0);
    assert_eq!(cb.get(Counter::UdpNoPorts), 0);
}

#[test]
fn a_fragment_flood_stays_within_ipfrag_high_thresh() {
    let (mut a, mut b) = (stack(A_MAC, A_IP), stack(B_MAC, B_IP));
    b.config_mut()
        .set("net.ipv4.ipfrag_high_thresh", "65536")
        .unwrap();
    b.config_mut()
        .set("net.ipv4.ipfrag_low_thresh", "32768")
        .unwrap();
    let datagram = udp_to_b(&pattern(2000));
    // First fragments of 1000 datagrams that never complete.
    for ident in 0..1000u16 {
        b.receive(Instant::ZERO, IF0, &fragment(&datagram, ident, 1480)[0]);
    }
    let evicted = b.counters().get(Counter::IpReasmFails);
    assert!(evicted > 900, "{evicted}");
    // A datagram arriving now still gets through.
    for f in fragment(&datagram, 5000, 1480) {
        b.receive(Instant::ZERO, IF0, &f);
    }
    assert_eq!(b.counters().get(Counter::IpReasmOKs), 1);
    assert_eq!(exchange(&mut a, &mut b, Instant::ZERO).len(), 1);
    // The survivors time out; only those whose first fragment came send ICMP, and all did.
    let timed_out = exchange(&mut a, &mut b, Instant::from_micros(30 * SECOND));
    let cb = b.counters();
    assert_eq!(cb.get(Counter::IpReasmTimeout), timed_out.len() as u64);
    assert_eq!(
        cb.get(Counter::IpReasmFails),
        1000,
        "each flood datagram failed once"
    );
    assert_eq!(cb.get(Counter::IpReasmReqds), 1000 + 2);
}
