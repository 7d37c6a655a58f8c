//! The conversation the `sockeye-nic` kernel tests hold with the Linux kernel through a device
//! (TAP or raw socket), checked with `etherparse` as an independent parser, and (with the counting
//! allocator of `counting_alloc.rs`, which the test binary includes) a check that the devices' hot
//! path does not allocate.
//!
//! Kept apart from `common/mod.rs` because it needs `etherparse`, a dev-dependency of
//! `sockeye-nic` only, while `mod.rs` is shared with the root package's tests.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use etherparse::{Icmpv4Type, LinkSlice, NetSlice, SlicedPacket, TransportSlice};
use sockeye_nic::Device;

use crate::common::{
    BROADCAST, arp_frame, icmp_echo_request, internet_checksum, ip, send, wait_for_frame,
    wait_readable,
};
use crate::counting_alloc::allocations as allocations_so_far;

/// How long to wait for any one frame from the kernel.
const FRAME_TIMEOUT: Duration = Duration::from_secs(3);

/// The UDP port the kernel's datagram goes to.
const UDP_PORT: u16 = 7777;

/// One end of the test link: the kernel's address and MAC, the stack's address and MAC, and the
/// interface the kernel uses.
#[derive(Clone, Copy)]
pub struct Link {
    pub iface: &'static str,
    pub kernel_ip: Ipv4Addr,
    pub kernel_mac: [u8; 6],
    pub stack_ip: Ipv4Addr,
    pub stack_mac: [u8; 6],
}

/// The Ethernet, ARP / IPv4 view of a frame, or `None` if `etherparse` rejects it.
fn slice(frame: &[u8]) -> Option<SlicedPacket<'_>> {
    SlicedPacket::from_ethernet(frame).ok()
}

/// Whether `frame` is an ARP request from the kernel asking for `link.stack_ip`.
pub fn is_arp_request_for_stack(frame: &[u8], link: &Link) -> bool {
    let Some(p) = slice(frame) else { return false };
    let Some(NetSlice::Arp(arp)) = &p.net else {
        return false;
    };
    arp.operation() == etherparse::ArpOperation::REQUEST
        && arp.target_protocol_addr() == link.stack_ip.octets()
}

/// Checks an ARP request "who-has STACK_IP tell KERNEL_IP" in every field.
fn check_arp_request(frame: &[u8], link: &Link) {
    let p = slice(frame).expect("etherparse parses the ARP request");
    let Some(LinkSlice::Ethernet2(eth)) = &p.link else {
        panic!("not Ethernet II")
    };
    assert_eq!(eth.destination(), BROADCAST, "an ARP request is broadcast");
    assert_eq!(eth.source(), link.kernel_mac);
    let Some(NetSlice::Arp(arp)) = &p.net else {
        panic!("not ARP")
    };
    assert_eq!(arp.hw_addr_type(), etherparse::ArpHardwareId::ETHERNET);
    assert_eq!(arp.proto_addr_type(), etherparse::EtherType::IPV4);
    assert_eq!(arp.sender_hw_addr(), link.kernel_mac);
    assert_eq!(arp.sender_protocol_addr(), link.kernel_ip.octets());
    assert_eq!(arp.target_protocol_addr(), link.stack_ip.octets());
}

/// The IPv4 header and transport views of an IPv4 frame sent by the kernel to the stack, after
/// checking addresses and the IPv4 header checksum. `None` for frames that are not that.
fn ipv4_to_stack<'a>(
    p: &'a SlicedPacket<'a>,
    link: &Link,
) -> Option<(etherparse::Ipv4Header, &'a TransportSlice<'a>)> {
    let Some(LinkSlice::Ethernet2(eth)) = &p.link else {
        return None;
    };
    let Some(NetSlice::Ipv4(ipv4)) = &p.net else {
        return None;
    };
    let header = ipv4.header();
    if header.destination_addr() != link.stack_ip {
        return None;
    }
    assert_eq!(eth.destination(), link.stack_mac, "sent to the stack's MAC");
    assert_eq!(eth.source(), link.kernel_mac, "sent from the kernel's MAC");
    assert_eq!(header.source_addr(), link.kernel_ip);
    assert_eq!(
        header.to_header().calc_header_checksum(),
        header.header_checksum(),
        "the kernel's IPv4 header checksum is complete"
    );
    Some((header.to_header(), p.transport.as_ref()?))
}

/// Holds the conversation every device must support with the kernel:
///
/// 1. a UDP datagram the kernel sends to `stack_ip` makes it broadcast an ARP request "who-has
///    STACK_IP tell KERNEL_IP", which arrives through `dev`;
/// 2. our ARP reply (sent through `dev`) makes the kernel's neighbour entry for `stack_ip`
///    hold our MAC (`ip neigh`), and the datagram it held back arrives, with real IPv4 and UDP
///    checksums (no offload);
/// 3. an ICMP echo request we build gets the kernel's echo reply, with the same identifier,
///    sequence number and payload, and correct checksums.
///
/// Returns every frame received on the way.
pub fn arp_udp_icmp(dev: &mut dyn Device, link: &Link) -> Vec<Vec<u8>> {
    let mut received = Vec::new();
    let mut seen = |f: &[u8]| received.push(f.to_vec());

    // 1. The kernel resolves the stack's address.
    let udp = UdpSocket::bind((link.kernel_ip, 0)).expect("binding a UDP socket in the namespace");
    udp.send_to(b"hello, stack", (link.stack_ip, UDP_PORT))
        .expect("sending the UDP datagram");
    let request = wait_for_frame(dev, FRAME_TIMEOUT, &mut seen, &mut |f| {
        is_arp_request_for_stack(f, link)
    })
    .expect("the kernel's ARP request for the stack's address");
    check_arp_request(&request, link);

    // 2. We answer; the kernel learns our MAC and sends the datagram it held back.
    let reply = arp_frame(
        2,
        link.kernel_mac,
        link.stack_mac,
        link.stack_ip,
        link.kernel_mac,
        link.kernel_ip,
    );
    send(dev, &reply);
    let datagram = wait_for_frame(dev, FRAME_TIMEOUT, &mut seen, &mut |f| {
        let Some(p) = slice(f) else { return false };
        matches!(ipv4_to_stack(&p, link), Some((_, TransportSlice::Udp(u))) if u.destination_port() == UDP_PORT)
    })
    .expect("the UDP datagram, once the kernel knows our MAC");
    let p = slice(&datagram).unwrap();
    let (header, TransportSlice::Udp(udp_slice)) = ipv4_to_stack(&p, link).unwrap() else {
        unreachable!()
    };
    assert_eq!(udp_slice.payload(), b"hello, stack");
    assert_eq!(
        udp_slice
            .to_header()
            .calc_checksum_ipv4(&header, udp_slice.payload())
            .unwrap(),
        udp_slice.checksum(),
        "the kernel's UDP checksum is complete (no offload)"
    );

    let neigh = ip(&format!("neigh show {} dev {}", link.stack_ip, link.iface));
    let our_mac = sockeye_nic::MacAddr(link.stack_mac).to_string();
    assert!(
        neigh.contains(&our_mac)
            && ["REACHABLE", "STALE", "DELAY"]
                .iter()
                .any(|s| neigh.contains(s)),
        "neighbour entry: {neigh:?}, expected {our_mac} REACHABLE/STALE/DELAY"
    );

    // 3. Ping the kernel.
    let payload: Vec<u8> = (0..56u8).collect();
    let id = 0x5eed;
    let request = icmp_echo_request(
        link.kernel_mac,
        link.stack_mac,
        link.stack_ip,
        link.kernel_ip,
        id,
        1,
        &payload,
    );
    send(dev, &request);
    let echo = wait_for_frame(dev, FRAME_TIMEOUT, &mut seen, &mut |f| {
        let Some(p) = slice(f) else { return false };
        matches!(ipv4_to_stack(&p, link), Some((_, TransportSlice::Icmpv4(icmp)))
            if matches!(icmp.icmp_type(), Icmpv4Type::EchoReply(h) if h.id == id && h.seq == 1))
    })
    .expect("the kernel's ICMP echo reply");
    let p = slice(&echo).unwrap();
    let (_, TransportSlice::Icmpv4(icmp)) = ipv4_to_stack(&p, link).unwrap() else {
        unreachable!()
    };
    assert_eq!(icmp.payload(), &payload[..]);
    assert_eq!(
        icmp.icmp_type().calc_checksum(icmp.payload()),
        icmp.checksum()
    );
    assert_eq!(internet_checksum(icmp.slice()), 0);
    received
}

/// Pings the kernel 50 times through `dev` (whose address the kernel has resolved already) and
/// checks that `transmit` and `receive` made no heap allocation at all.
pub fn hot_path_allocates_nothing(dev: &mut dyn Device, link: &Link) {
    let fd = dev.raw_fd().unwrap();
    let mut frame = icmp_echo_request(
        link.kernel_mac,
        link.stack_mac,
        link.stack_ip,
        link.kernel_ip,
        0xa110,
        0,
        &[0x5a; 64],
    );
    let mut allocations = 0;
    let mut replies = 0;
    for seq in 1..=50u16 {
        // Rewrite the sequence number and the ICMP checksum in place.
        frame[40..42].copy_from_slice(&seq.to_be_bytes());
        frame[36..38].fill(0);
        let sum = internet_checksum(&frame[34..]);
        frame[36..38].copy_from_slice(&sum.to_be_bytes());

        let before = allocations_so_far();
        let queued = dev.transmit(frame.len(), &mut |buf| buf.copy_from_slice(&frame));
        allocations += allocations_so_far() - before;
        assert!(queued.expect("transmit"));

        let deadline = Instant::now() + FRAME_TIMEOUT;
        let mut got = false;
        while !got {
            assert!(
                wait_readable(fd, deadline),
                "no echo reply for seq {seq} within {FRAME_TIMEOUT:?}"
            );
            let before = allocations_so_far();
            dev.receive(64, &mut |f| {
                // By hand, without allocating: IPv4 from the kernel, ICMP echo reply, our seq.
                if f.len() >= 42
                    && f[12..14] == [0x08, 0x00]
                    && f[23] == 1
                    && f[34] == 0
                    && f[38..40] == [0xa1, 0x10]
                    && f[40..42] == seq.to_be_bytes()
                {
                    got = true;
                }
            })
            .expect("receive");
            allocations += allocations_so_far() - before;
        }
        replies += 1;
    }
    assert_eq!(replies, 50);
    assert_eq!(allocations, 0, "transmit/receive allocated on the hot path");
}
