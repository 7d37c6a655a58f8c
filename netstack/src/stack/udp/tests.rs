//! UDP through whole stacks: two stacks wired frame by frame exchange datagrams; every frame
//! they emit is checked by `etherparse` (including the UDP checksum).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};

use super::*;
use crate::config::StackConfig;
use crate::route::{IfaceId, Ipv4Cidr};
use crate::stack::InterfaceConfig;
use crate::tcp::isn::Secrets;
use crate::wire::ethernet::EthernetAddress;

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const A_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const B_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const IF0: IfaceId = IfaceId(0);
const NOW: Instant = Instant::ZERO;

fn stack(mac: EthernetAddress, ip: Ipv4Addr, offload: bool) -> Stack {
    let mut s = Stack::with_secrets(StackConfig::default(), Secrets::fixed(u64::from(mac.0[5])));
    s.add_interface(InterfaceConfig {
        mac,
        addr: Ipv4Cidr::new(ip, 24).unwrap(),
        mtu: 1500,
        checksum_offload: offload,
        gateway: None,
        loopback: false,
    });
    s
}

fn pair() -> (Stack, Stack) {
    (stack(A_MAC, A_IP, false), stack(B_MAC, B_IP, false))
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// What etherparse reads in a UDP frame: source, destination, payload, checksum field.
type Parsed = (SocketAddrV4, SocketAddrV4, Vec<u8>, u16);

/// Parses a frame with etherparse, checking the checksums (unless offloaded: zero) and, for
/// UDP, the length field.
fn oracle(frame: &[u8]) -> Option<Parsed> {
    let sliced = SlicedPacket::from_ethernet(frame).expect("etherparse parses every frame");
    let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
        return None;
    };
    let header = ip.header().to_header();
    if header.header_checksum != 0 {
        assert_eq!(header.header_checksum, header.calc_header_checksum());
    }
    let Some(TransportSlice::Udp(udp)) = &sliced.transport else {
        return None;
    };
    let h = udp.to_header();
    assert_eq!(usize::from(h.length), 8 + udp.payload().len());
    if h.checksum != 0 {
        let expected = h.calc_checksum_ipv4(&header, udp.payload()).unwrap();
        assert_eq!(h.checksum, expected, "UDP checksum");
    }
    let src = sa(Ipv4Addr::from(header.source), h.source_port);
    let dst = sa(Ipv4Addr::from(header.destination), h.destination_port);
    Some((src, dst, udp.payload().to_vec(), h.checksum))
}

fn drain(s: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    s.transmit(now, &mut |_, len, fill| {
        let mut buf = vec![0u8; len];
        fill(&mut buf);
        oracle(&buf);
        out.push(buf);
        true
    });
    out
}

/// Moves frames both ways until both stacks are quiet; returns every frame A and B sent.
fn exchange(a: &mut Stack, b: &mut Stack) -> Vec<Vec<u8>> {
    let mut log = Vec::new();
    for _ in 0..100 {
        let (from_a, from_b) = (drain(a, NOW), drain(b, NOW));
        if from_a.is_empty() && from_b.is_empty() {
            return log;
        }
        for f in from_a {
            b.receive(NOW, IF0, &f);
            log.push(f);
        }
        for f in from_b {
            a.receive(NOW, IF0, &f);
            log.push(f);
        }
    }
    panic!("the stacks never went quiet");
}

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

fn send_to(s: &mut Stack, h: UdpHandle, data: &[u8], to: SocketAddrV4) -> io::Result<usize> {
    match s.udp_poll_send_to(NOW, h, &mut cx(), data, to) {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("send_to is pending"),
    }
}

fn recv_from(s: &mut Stack, h: UdpHandle, cap: usize) -> Option<(Vec<u8>, SocketAddrV4)> {
    let mut buf = vec![0u8; cap];
    match s.udp_poll_recv_from(h, &mut cx(), &mut buf) {
        Poll::Ready(r) => {
            let (n, from) = r.unwrap();
            Some((buf[..n].to_vec(), from))
        }
        Poll::Pending => None,
    }
}

#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn kind<T: std::fmt::Debug>(r: io::Result<T>) -> io::ErrorKind {
    r.expect_err("expected an error").kind()
}

mod frag;

#[test]
fn datagrams_flow_both_ways_between_two_stacks() {
    let (mut a, mut b) = pair();
    let client = a.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let port = a.udp_local_addr(client).unwrap().port();
    assert!((32768..=60999).contains(&port), "ephemeral port {port}");
    let server = b.udp_bind(sa(B_IP, 5353)).unwrap();
    assert_eq!(
        send_to(&mut a, client, b"query", sa(B_IP, 5353)).unwrap(),
        5
    );
    let log = exchange(&mut a, &mut b);
    let udp: Vec<Parsed> = log.iter().filter_map(|f| oracle(f)).collect();
    assert_eq!(udp.len(), 1, "ARP, then the datagram");
    assert_eq!(udp[0].0, sa(A_IP, port));
    assert_eq!(udp[0].1, sa(B_IP, 5353));
    assert_eq!(udp[0].2, b"query");
    assert_ne!(udp[0].3, 0, "the checksum is filled");

    let (data, from) = recv_from(&mut b, server, 64).expect("B received the query");
    assert_eq!((data.as_slice(), from), (&b"query"[..], sa(A_IP, port)));
    assert_eq!(recv_from(&mut b, server, 64), None);
    send_to(&mut b, server, b"answer", from).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(
        recv_from(&mut a, client, 64),
        Some((b"answer".to_vec(), sa(B_IP, 5353)))
    );
    let (ca, cb) = (a.counters(), b.counters());
    assert_eq!(ca.get(Counter::UdpOutDatagrams), 1);
    assert_eq!(ca.get(Counter::UdpInDatagrams), 1);
    assert_eq!(cb.get(Counter::UdpInDatagrams), 1);
    assert_eq!(cb.get(Counter::IpInDelivers), 1);
    assert_eq!(cb.get(Counter::UdpNoPorts) + ca.get(Counter::UdpNoPorts), 0);
}

#[test]
fn receive_buffer_overflow_drops_and_counts() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(A_IP, 1000)).unwrap();
    let hb = b.udp_bind(sa(B_IP, 2000)).unwrap();
    b.udp_set_recv_buffer_size(hb, 1).unwrap();
    assert_eq!(b.udp_recv_buffer_size(hb).unwrap(), crate::udp::MIN_RCVBUF);
    // Resolve ARP first so no datagram waits in the neighbour queue.
    send_to(&mut a, ha, &[0; 500], sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    for i in 1..10u8 {
        send_to(&mut a, ha, &[i; 500], sa(B_IP, 2000)).unwrap();
    }
    exchange(&mut a, &mut b);
    // 2304 bytes hold four datagrams of 500 bytes plus their 8-byte records.
    assert_eq!(b.udp_recv_queue_len(hb).unwrap(), 4);
    assert_eq!(b.udp_recv_queue_bytes(hb).unwrap(), 4 * 508);
    let c = b.counters();
    assert_eq!(c.get(Counter::UdpInDatagrams), 4);
    assert_eq!(c.get(Counter::UdpRcvbufErrors), 6);
    assert_eq!(c.get(Counter::UdpInErrors), 6);
    assert_eq!(c.get(Counter::UdpNoPorts), 0);
    // The oldest datagrams were kept, in order; then there is room again.
    for i in 0..4u8 {
        assert_eq!(recv_from(&mut b, hb, 600).unwrap().0, vec![i; 500]);
    }
    send_to(&mut a, ha, b"more", sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(recv_from(&mut b, hb, 600).unwrap().0, b"more");
}

#[test]
fn long_datagrams_are_truncated_and_peek_leaves_them_queued() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(A_IP, 1000)).unwrap();
    let hb = b.udp_bind(sa(B_IP, 2000)).unwrap();
    send_to(&mut a, ha, b"0123456789", sa(B_IP, 2000)).unwrap();
    send_to(&mut a, ha, b"next", sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    let mut buf = [0u8; 4];
    let peeked = b.udp_poll_peek_from(hb, &mut cx(), &mut buf);
    assert!(matches!(peeked, Poll::Ready(Ok((4, from))) if from == sa(A_IP, 1000)));
    assert_eq!(&buf, b"0123");
    assert_eq!(b.udp_recv_queue_len(hb).unwrap(), 2);
    let got = b.udp_poll_recv(hb, &mut cx(), &mut buf);
    assert!(matches!(got, Poll::Ready(Ok(4))));
    assert_eq!(&buf, b"0123");
    // The tail "456789" is gone: the next receive returns the next datagram.
    assert_eq!(recv_from(&mut b, hb, 64).unwrap().0, b"next");
}

#[test]
fn the_reader_is_woken_when_a_datagram_arrives() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(A_IP, 1000)).unwrap();
    let hb = b.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 2000)).unwrap();
    let counter = Arc::new(Counting::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 16];
    assert!(b.udp_poll_recv_from(hb, &mut cx, &mut buf).is_pending());
    assert!(b.udp_poll_recv_ready(hb, &mut cx).is_pending());
    send_to(&mut a, ha, b"ping", sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1, "woken once");
    assert!(b.udp_poll_recv_ready(hb, &mut cx).is_ready());
    assert!(matches!(
        b.udp_poll_recv_from(hb, &mut cx, &mut buf),
        Poll::Ready(Ok((4, _)))
    ));
    // No registered waker: a second datagram wakes nobody.
    send_to(&mut a, ha, b"pong", sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
}

#[test]
fn closed_ports_answer_port_unreachable_and_bound_ports_do_not() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(A_IP, 1000)).unwrap();
    let hb = b.udp_bind(sa(B_IP, 2000)).unwrap();
    send_to(&mut a, ha, b"x", sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(b.counters().get(Counter::IcmpOutDestUnreachs), 0);
    b.udp_close(hb).unwrap();
    assert_eq!(kind(b.udp_local_addr(hb)), io::ErrorKind::InvalidInput);
    assert_eq!(kind(b.udp_close(hb)), io::ErrorKind::InvalidInput);
    send_to(&mut a, ha, b"x", sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(b.counters().get(Counter::UdpNoPorts), 1);
    assert_eq!(b.counters().get(Counter::IcmpOutDestUnreachs), 1);
    assert_eq!(a.counters().get(Counter::IcmpInDestUnreachs), 1);
    // An unconnected socket ignores ICMP errors (Linux without IP_RECVERR).
    assert!(a.udp_take_error(ha).unwrap().is_none());
    // The port can be bound again; the stale handle stays stale.
    let again = b.udp_bind(sa(B_IP, 2000)).unwrap();
    assert_ne!(again, hb);
    assert_eq!(kind(b.udp_recv_queue_len(hb)), io::ErrorKind::InvalidInput);
}

#[test]
fn broadcasts_need_so_broadcast_and_reach_wildcard_sockets() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(A_IP, 68)).unwrap();
    let wildcard = b.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 67)).unwrap();
    let specific = b.udp_bind(sa(B_IP, 69)).unwrap();
    let subnet = Ipv4Addr::new(10, 0, 0, 255);
    assert_eq!(
        kind(send_to(&mut a, ha, b"hi", sa(subnet, 67))),
        io::ErrorKind::PermissionDenied
    );
    a.udp_set_broadcast(ha, true).unwrap();
    assert!(a.udp_broadcast(ha).unwrap());
    send_to(&mut a, ha, b"hi", sa(subnet, 67)).unwrap();
    send_to(&mut a, ha, b"no one", sa(subnet, 69)).unwrap();
    let log = exchange(&mut a, &mut b);
    assert_eq!(
        log.len(),
        2,
        "broadcasts need no ARP, and get no ICMP: {log:?}"
    );
    assert_eq!(recv_from(&mut b, wildcard, 16).unwrap().0, b"hi");
    assert_eq!(
        recv_from(&mut b, specific, 16),
        None,
        "bound to B's address only"
    );
    assert_eq!(b.counters().get(Counter::UdpNoPorts), 1);
    assert_eq!(b.counters().get(Counter::IcmpOutMsgs), 0);
}

#[test]
fn connected_sockets_send_to_and_hear_only_their_peer() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 1000)).unwrap();
    let other = a.udp_bind(sa(A_IP, 1001)).unwrap();
    let hb = b.udp_bind(sa(B_IP, 2000)).unwrap();
    assert_eq!(kind(a.udp_peer_addr(ha)), io::ErrorKind::NotConnected);
    let poll = a.udp_poll_send(NOW, ha, &mut cx(), b"x");
    assert!(matches!(poll, Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::NotConnected));
    a.udp_connect(ha, sa(B_IP, 2000)).unwrap();
    assert_eq!(a.udp_peer_addr(ha).unwrap(), sa(B_IP, 2000));
    assert_eq!(
        a.udp_local_addr(ha).unwrap(),
        sa(A_IP, 1000),
        "connect picks the source"
    );
    assert!(a.udp_poll_send(NOW, ha, &mut cx(), b"hello").is_ready());
    exchange(&mut a, &mut b);
    assert_eq!(
        recv_from(&mut b, hb, 16),
        Some((b"hello".to_vec(), sa(A_IP, 1000)))
    );
    send_to(&mut b, hb, b"from the peer", sa(A_IP, 1000)).unwrap();
    let hc = b.udp_bind(sa(B_IP, 3000)).unwrap();
    send_to(&mut b, hc, b"from a stranger", sa(A_IP, 1000)).unwrap();
    exchange(&mut a, &mut b);
    let mut buf = [0u8; 32];
    assert!(matches!(
        a.udp_poll_recv(ha, &mut cx(), &mut buf),
        Poll::Ready(Ok(13))
    ));
    assert!(a.udp_poll_recv(ha, &mut cx(), &mut buf).is_pending());
    assert_eq!(
        a.counters().get(Counter::UdpNoPorts),
        1,
        "the stranger hit a closed port"
    );
    assert_eq!(b.counters().get(Counter::IcmpInDestUnreachs), 1);
    assert_eq!(recv_from(&mut a, other, 16), None);
}

#[test]
fn bind_and_send_errors() {
    let (mut a, _) = pair();
    let elsewhere = sa(Ipv4Addr::new(10, 0, 0, 3), 1);
    assert_eq!(kind(a.udp_bind(elsewhere)), io::ErrorKind::AddrNotAvailable);
    let h = a.udp_bind(sa(A_IP, 1000)).unwrap();
    assert_eq!(kind(a.udp_bind(sa(A_IP, 1000))), io::ErrorKind::AddrInUse);
    assert_eq!(
        kind(a.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 1000))),
        io::ErrorKind::AddrInUse
    );
    let off_link = sa(Ipv4Addr::new(192, 0, 2, 1), 53);
    assert_eq!(
        kind(send_to(&mut a, h, b"x", off_link)),
        io::ErrorKind::NetworkUnreachable
    );
    assert_eq!(
        kind(a.udp_connect(h, off_link)),
        io::ErrorKind::NetworkUnreachable
    );
    assert_eq!(a.counters().get(Counter::IpOutNoRoutes), 2);
    assert_eq!(
        kind(send_to(&mut a, h, b"x", sa(B_IP, 0))),
        io::ErrorKind::InvalidInput
    );
    assert_eq!(a.counters().get(Counter::UdpOutDatagrams), 0);
}

#[test]
fn ephemeral_binds_use_the_whole_range_then_fail() {
    let (mut a, _) = pair();
    a.config_mut().ip_local_port_range = (50_000, 50_099);
    let mut ports: Vec<u16> = (0..100)
        .map(|_| {
            let h = a.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
            a.udp_local_addr(h).unwrap().port()
        })
        .collect();
    let successors = ports.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(
        successors < 10,
        "ports are not handed out in sequence: {ports:?}"
    );
    ports.sort_unstable();
    assert_eq!(ports, (50_000..50_100).collect::<Vec<_>>());
    assert_eq!(
        kind(a.udp_bind(sa(A_IP, 0))),
        io::ErrorKind::AddrInUse,
        "range exhausted"
    );
}

#[test]
fn a_full_send_buffer_is_pending_until_frames_leave() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(A_IP, 1000)).unwrap();
    b.udp_bind(sa(B_IP, 2000)).unwrap();
    send_to(&mut a, ha, b"warm up ARP", sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    a.udp_set_send_buffer_size(ha, 0).unwrap();
    assert_eq!(a.udp_send_buffer_size(ha).unwrap(), crate::udp::MIN_SNDBUF);
    let counter = Arc::new(Counting::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    // Frames of 1042 bytes: four fit under 4608, the fifth overshoots (as Linux allows).
    let mut sent = 0;
    while a
        .udp_poll_send_to(NOW, ha, &mut cx, &[7; 1000], sa(B_IP, 2000))
        .is_ready()
    {
        sent += 1;
        assert!(sent < 100, "never blocked");
    }
    assert_eq!(sent, 5);
    assert!(a.udp_poll_send_ready(ha, &mut cx).is_pending());
    // A device that pushes back keeps the socket blocked.
    a.transmit(NOW, &mut |_, _, _| false);
    assert_eq!(counter.0.load(Ordering::SeqCst), 0);
    assert_eq!(drain(&mut a, NOW).len(), 5);
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "woken when the frames left"
    );
    assert!(a.udp_poll_send_ready(ha, &mut cx).is_ready());
}

#[test]
fn checksum_offload_sends_zero_checksums() {
    // Both ends offload (like the in-process loopback): nothing is computed or verified.
    let mut a = stack(A_MAC, A_IP, true);
    let mut b = stack(B_MAC, B_IP, true);
    let ha = a.udp_bind(sa(A_IP, 1000)).unwrap();
    let hb = b.udp_bind(sa(B_IP, 2000)).unwrap();
    send_to(&mut a, ha, b"offloaded", sa(B_IP, 2000)).unwrap();
    let log = exchange(&mut a, &mut b);
    let udp: Vec<Parsed> = log.iter().filter_map(|f| oracle(f)).collect();
    assert_eq!(udp[0].3, 0, "no checksum computed");
    assert_eq!(recv_from(&mut b, hb, 16).unwrap().0, b"offloaded");
}

#[test]
fn corrupt_datagrams_never_reach_a_socket() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(A_IP, 1000)).unwrap();
    let hb = b.udp_bind(sa(B_IP, 2000)).unwrap();
    send_to(&mut a, ha, b"warm up", sa(B_IP, 2000)).unwrap();
    exchange(&mut a, &mut b);
    recv_from(&mut b, hb, 16).unwrap();
    send_to(&mut a, ha, b"payload", sa(B_IP, 2000)).unwrap();
    let mut frames = drain(&mut a, NOW);
    let last = frames[0].len() - 1;
    frames[0][last] ^= 0x20;
    b.receive(NOW, IF0, &frames[0]);
    assert_eq!(recv_from(&mut b, hb, 16), None);
    assert_eq!(b.counters().get(Counter::UdpInCsumErrors), 1);
}

#[test]
fn a_connected_socket_gets_port_unreachable_as_its_pending_error_once() {
    let (mut a, mut b) = pair();
    let ha = a.udp_bind(sa(A_IP, 1000)).unwrap();
    a.udp_connect(ha, sa(B_IP, 2001)).unwrap();
    let woken = Arc::new(Counting::default());
    let waker = Waker::from(woken.clone());
    let mut buf = [0u8; 16];
    assert!(
        a.udp_poll_recv(ha, &mut Context::from_waker(&waker), &mut buf)
            .is_pending()
    );
    send_to(&mut a, ha, b"x", sa(B_IP, 2001)).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(b.counters().get(Counter::UdpNoPorts), 1);
    assert_eq!(woken.0.load(Ordering::SeqCst), 1, "the reader is woken");
    assert!(a.udp_poll_recv_ready(ha, &mut cx()).is_ready());
    match a.udp_poll_recv(ha, &mut cx(), &mut buf) {
        Poll::Ready(r) => assert_eq!(kind(r), io::ErrorKind::ConnectionRefused),
        Poll::Pending => panic!("the error is pending"),
    }
    assert!(
        a.udp_poll_recv(ha, &mut cx(), &mut buf).is_pending(),
        "reported once"
    );
    // The next one is returned by a send, or taken with SO_ERROR.
    send_to(&mut a, ha, b"x", sa(B_IP, 2001)).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(
        kind(send_to(&mut a, ha, b"y", sa(B_IP, 2001))),
        io::ErrorKind::ConnectionRefused
    );
    send_to(&mut a, ha, b"w", sa(B_IP, 2001)).unwrap();
    exchange(&mut a, &mut b);
    let e = a.udp_take_error(ha).unwrap().expect("the third refusal");
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    assert!(a.udp_take_error(ha).unwrap().is_none());
    // Errors about another peer's datagrams do not concern it.
    let hc = a.udp_bind(sa(A_IP, 1001)).unwrap();
    a.udp_connect(hc, sa(B_IP, 2002)).unwrap();
    send_to(&mut a, ha, b"z", sa(B_IP, 2001)).unwrap();
    exchange(&mut a, &mut b);
    assert!(a.udp_take_error(hc).unwrap().is_none());
}
