//! The `frames` harness: arbitrary input against a stack that holds live state.
//!
//! # The world
//!
//! Two stacks on the deterministic simulator ([`Sim`], seed 0, so stack 0 has
//! `Secrets::fixed(0)`): stack 0 is the one under test (the *DUT*, 10.0.0.1), stack 1 a real
//! *peer* (10.0.0.2) with a listener on port 8080. A third host, the *phantom* (10.0.0.3), exists
//! only as frames the harness writes: it answers ARP and nothing else, so connections to it are
//! driven entirely by the input. Snapshots are not available, so every run first builds the same
//! state, in a few milliseconds of virtual time:
//!
//! | socket on the DUT | state |
//! |---|---|
//! | listener on :80 (backlog 8) | one established child waits in its accept queue |
//! | A: to peer:8080 | ESTABLISHED; 6000 bytes sent, none acknowledged (the peer got 2 segments); 3000 bytes held out of order (the peer's first 1000 were lost) |
//! | B: from peer, accepted | FIN_WAIT_2 |
//! | C: from peer, accepted | TIME_WAIT (handle still open) |
//! | D: to peer:8080 | CLOSE_WAIT |
//! | F: from the phantom :40000, accepted | ESTABLISHED with window scaling, SACK and timestamps; 500 bytes held out of order, 3000 bytes sent and unacknowledged |
//! | G: a bound, unconnected socket | CLOSED |
//! | UDP socket on :5353 | bound |
//!
//! # The input
//!
//! A sequence of operations (at most [`MAX_OPS`]), each chosen by one byte and decoded with
//! [`Input`] (missing bytes read as zeros):
//!
//! - **raw**: arbitrary bytes as a frame; **ethernet**: an Ethernet header to the DUT (or
//!   broadcast) around arbitrary bytes; **ip**: a well-formed IPv4 header (checksum filled, any
//!   protocol, fragment fields, options) around arbitrary bytes, optionally with the transport
//!   checksum filled; **arp**: a well-formed ARP packet with chosen fields;
//! - **tcp** (structured): a valid Ethernet+IPv4+TCP frame on a 4-tuple the wire has shown
//!   (or a new one to the listener), with sequence and acknowledgment numbers chosen *relative
//!   to what the DUT last sent* (so they land in or near its windows), and chosen flags, window,
//!   urgent pointer, options (MSS, window scale, SACK-permitted, timestamps relative to the
//!   last ones seen, SACK blocks) and payload length; optionally split into IPv4 fragments;
//! - **replay**: one of the last frames the peer sent the DUT, again (an old duplicate);
//! - **time**: virtual time passes (from milliseconds to tens of minutes, or to the DUT's
//!   next timer), the simulator delivering frames between the two stacks;
//! - **socket calls** on the DUT (read, write, shutdown, close, abort, poll_close, accept,
//!   connect, socket options, buffer sizes, closing and reopening the listener), on the peer
//!   (so it sends, reads, closes, resets), and on the UDP socket.
//!
//! After every operation both stacks transmit and their frames are delivered to each other at
//! the same instant until neither has anything to send (frames for the phantom are only
//! observed).
//!
//! # Invariants
//!
//! Nothing panics, in either stack. After every operation:
//!
//! - the exchange ends: two stacks still sending each other frames at one instant after
//!   [`MAX_ROUNDS`] rounds are a storm;
//! - every open handle answers `tcp_info` and `tcp_state` consistently, and a closed one is
//!   stale;
//! - buffers hold no more than the largest limit ever set, and the window offered exceeds the
//!   buffer by less than one window-scale unit (the field is rounded); the MSS and congestion
//!   window are positive, the RTO within `[tcp_rto_min, tcp_rto_max]`, shifts at most 14;
//! - the DUT's socket count is bounded by the sockets the API made plus what its listeners may
//!   queue, and the UDP receive queue by its limit;
//! - **bytes**: on every connection between the DUT and the peer, each read returns exactly the
//!   next bytes the other end wrote, unless the harness injected a segment on that 4-tuple
//!   (then it is *tainted*; replayed frames are genuine duplicates and taint nothing).
//!
//! At the end, **delivery**: both ends of every connection read while time passes, and on
//! connections that are untainted, open at both ends and not shut down for reading, every
//! byte written must arrive within ten minutes (unless the harness resized a receive buffer of
//! the connection, or told the DUT, by ARP, that the peer is at another MAC address). Then
//! every DUT socket is closed or aborted and, after 30 minutes of virtual time, the DUT must
//! hold no TCP socket at all.
//!
//! Set `SOCKEYE_FUZZ_TRACE=1` to print every operation (to read a crash's reproduction).

use core::net::{Ipv4Addr, SocketAddrV4};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Shutdown;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sockeye_netstack::sim::{self, LinkConfig, Sim};
use sockeye_netstack::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    Icmpv4Packet, IpProtocol, Ipv4Packet, SackBlocks, SeqNumber, TcpFlags, TcpOptions, TcpPacket,
    TcpRepr, UdpPacket,
};
use sockeye_netstack::{
    IfaceId, Instant, SocketHandle, Stack, StackConfig, TcpInfo, TcpState, UdpHandle,
};

use super::input::Input;

/// The stack under test.
const DUT: usize = 0;
/// The real peer stack.
const PEER: usize = 1;
/// The host the harness plays (address and MAC index in [`sim::addr`] and [`sim::mac`]).
const PHANTOM: usize = 2;
/// The DUT's listening port.
const HTTP: u16 = 80;
/// The peer's listening port.
const PEER_PORT: u16 = 8080;
/// The DUT's UDP port.
const UDP_PORT: u16 = 5353;
/// The backlog of every listener the harness makes.
const BACKLOG: u32 = 8;
/// The phantom's port for connection F, and its initial sequence number.
const PHANTOM_PORT: u16 = 40_000;
const PHANTOM_ISS: u32 = 0x1000_0000;

/// Operations per input at most.
pub const MAX_OPS: usize = 256;
/// Rounds of same-instant exchange between the stacks before it counts as a storm.
pub const MAX_ROUNDS: usize = 1000;
/// 4-tuples tracked from the wire at most.
const MAX_TUPLES: usize = 64;
/// Handles per stack at most (further accepts and connects are skipped).
const MAX_HANDLES: usize = 24;
/// Frames from the peer kept for replay.
const HISTORY: usize = 32;
/// The largest buffer size the harness sets.
const MAX_BUFFER: usize = 1 << 18;
/// How long the final drain waits for every DUT socket to go.
const DRAIN: Duration = Duration::from_secs(30 * 60);

/// Runs one input: builds the world, interprets the operations, checks the invariants, drains.
pub fn run(data: &[u8]) {
    let mut h = Harness::new();
    h.check("setup");
    let mut input = Input::new(data);
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        let what = h.op(&mut input);
        h.exchange();
        h.check(&what);
        ops += 1;
    }
    h.deliver();
    h.drain();
}

/// What the wire has shown of one 4-tuple of the DUT (local, remote).
#[derive(Debug, Clone, Copy)]
struct Seen {
    /// The sequence number after the furthest segment the DUT sent (its `snd_max`, as seen).
    snd_end: SeqNumber,
    /// The last acknowledgment number the DUT sent (its `rcv_nxt`).
    ack: Option<SeqNumber>,
    /// The DUT's last timestamp value.
    tsval: u32,
    /// The sequence number after the last segment sent to the DUT on this tuple.
    peer_end: SeqNumber,
    /// The last timestamp value sent to the DUT on this tuple.
    peer_tsval: u32,
}

impl Default for Seen {
    fn default() -> Seen {
        Seen {
            snd_end: SeqNumber(0),
            ack: None,
            tsval: 0,
            peer_end: SeqNumber(PHANTOM_ISS),
            peer_tsval: 1,
        }
    }
}

/// Everything observed on the wire: per-tuple sequence state, recent peer frames, and whether
/// the DUT is asking for the phantom's MAC address.
#[derive(Debug, Default)]
struct Wire {
    conns: BTreeMap<(SocketAddrV4, SocketAddrV4), Seen>,
    history: VecDeque<Vec<u8>>,
    arp_for_phantom: bool,
}

impl Wire {
    fn entry(&mut self, local: SocketAddrV4, remote: SocketAddrV4) -> Option<&mut Seen> {
        if !self.conns.contains_key(&(local, remote)) && self.conns.len() >= MAX_TUPLES {
            return None;
        }
        Some(self.conns.entry((local, remote)).or_default())
    }

    /// Notes what `frame` says (a frame any stack or the harness sent).
    fn observe(&mut self, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        if eth.ethertype() == EtherType::Arp {
            if let Ok(arp) = ArpPacket::new_checked(eth.payload())
                && let Ok(arp) = ArpRepr::parse(&arp)
                && arp.operation == ArpOperation::Request
                && arp.source_protocol_addr == sim::addr(DUT)
                && arp.target_protocol_addr == sim::addr(PHANTOM)
            {
                self.arp_for_phantom = true;
            }
            return;
        }
        if eth.ethertype() != EtherType::Ipv4 {
            return;
        }
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return;
        };
        if ip.is_fragment() || ip.next_header() != IpProtocol::Tcp {
            return;
        }
        let (src_ip, dst_ip) = (ip.src_addr(), ip.dst_addr());
        let Ok(seg) = TcpPacket::new_checked(ip.payload()) else {
            return;
        };
        let Ok(repr) = TcpRepr::parse(&seg, src_ip, dst_ip, false) else {
            return;
        };
        let src = SocketAddrV4::new(src_ip, repr.src_port);
        let dst = SocketAddrV4::new(dst_ip, repr.dst_port);
        let end = repr.seq_number + repr.segment_len();
        if src_ip == sim::addr(DUT) {
            let Some(seen) = self.entry(src, dst) else {
                return;
            };
            if repr.flags.contains(TcpFlags::SYN) || end.gt(seen.snd_end) || seen.ack.is_none() {
                seen.snd_end = end;
            }
            if let Some(ack) = repr.ack_number {
                seen.ack = Some(ack);
            }
            if let Some((tsval, _)) = repr.options.timestamps {
                seen.tsval = tsval;
            }
        } else if dst_ip == sim::addr(DUT) {
            let Some(seen) = self.entry(dst, src) else {
                return;
            };
            seen.peer_end = end;
            if let Some((tsval, _)) = repr.options.timestamps {
                seen.peer_tsval = tsval;
            }
            if src_ip == sim::addr(PEER) {
                if self.history.len() == HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(frame.to_vec());
            }
        }
    }
}

/// One connection between the DUT and the peer, with the bytes each side wrote that the other
/// has not read yet: reads must return exactly those, in order. Once the harness injects a frame
/// on the connection's 4-tuple (a forged segment may carry any bytes) the stream is *tainted*
/// and reads are only counted; replayed frames are real duplicates and taint nothing.
#[derive(Debug)]
struct Stream {
    /// The two ends, once each exists (the connecting end first, the accepted one later).
    dut: Option<SocketHandle>,
    peer: Option<SocketHandle>,
    /// The DUT's end and the peer's.
    dut_addr: SocketAddrV4,
    peer_addr: SocketAddrV4,
    to_peer: VecDeque<u8>,
    to_dut: VecDeque<u8>,
    tainted: bool,
    /// The harness shut down reading at the DUT's end or the peer's.
    dut_read_shut: bool,
    peer_read_shut: bool,
    /// The harness resized a receive buffer of an end: one shrunk below the window already
    /// offered drops what the window let in (as Linux does), so delivery is not owed.
    resized: bool,
}

impl Stream {
    /// Checks `got`, just read by the DUT (`at_dut`) or the peer, against what the other side
    /// wrote.
    fn read(&mut self, at_dut: bool, got: &[u8], after: &str) {
        let queue = if at_dut {
            &mut self.to_dut
        } else {
            &mut self.to_peer
        };
        if self.tainted {
            queue.drain(..got.len().min(queue.len()));
            return;
        }
        let reader = if at_dut { "DUT" } else { "peer" };
        assert!(
            got.len() <= queue.len(),
            "{reader} {:?} read {} bytes but only {} were written and unread, on {} <> {}, after {after}",
            if at_dut { self.dut } else { self.peer },
            got.len(),
            queue.len(),
            self.dut_addr,
            self.peer_addr,
        );
        let expected: Vec<u8> = queue.drain(..got.len()).collect();
        if let Some(at) = expected.iter().zip(got).position(|(a, b)| a != b) {
            panic!(
                "{reader} read corrupted bytes on {} <> {} (first difference at byte {at} of a {}-byte read), after {after}",
                self.dut_addr,
                self.peer_addr,
                got.len()
            );
        }
    }
}

/// A handle the harness holds, and whether it closed it.
#[derive(Debug, Clone, Copy)]
struct Held {
    h: SocketHandle,
    closed: bool,
}

/// The world of one run.
struct Harness {
    sim: Sim,
    wire: Rc<RefCell<Wire>>,
    /// The DUT's connections and sockets (not the listener).
    dut: Vec<Held>,
    /// The peer's.
    peer: Vec<Held>,
    listener: Option<SocketHandle>,
    peer_listener: SocketHandle,
    udp: Option<UdpHandle>,
    /// Listeners the DUT has had (each may hold up to its backlog in both queues).
    listeners_made: usize,
    /// DUT sockets made by the API (created or accepted).
    sockets_made: usize,
    /// The largest TCP send and receive buffer limits ever in force, and UDP receive limit.
    send_limit: usize,
    recv_limit: usize,
    udp_limit: usize,
    /// IPv4 identification for frames the harness writes.
    ident: u16,
    /// Connections between the DUT and the peer whose bytes are checked.
    streams: Vec<Stream>,
    /// 4-tuples (DUT's end, remote end) the harness has injected a TCP segment on.
    tainted: BTreeSet<(SocketAddrV4, SocketAddrV4)>,
    /// The harness told the DUT the peer's address is at another MAC: frames may go astray,
    /// so delivery is not checked.
    poisoned: bool,
    trace: bool,
}

/// A waker that does nothing: the harness polls.
fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// Everything `stack` wants to send at `now`.
fn transmit(stack: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    stack.transmit(now, &mut |_iface, len, fill| {
        let mut buf = vec![0u8; len];
        fill(&mut buf);
        frames.push(buf);
        true
    });
    frames
}

/// A deterministic payload of `len` bytes starting at stream position `at`.
fn pattern(at: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (at.wrapping_add(i as u32) % 251) as u8)
        .collect()
}

/// `base` moved by an offset chosen by a mode byte: none, small, medium or any (backwards
/// too: the offset wraps around 2^32).
fn near(base: u32, input: &mut Input<'_>) -> u32 {
    let delta = match input.u8() % 4 {
        0 => 0,
        1 => i32::from(input.u8() as i8) as u32,
        2 => i32::from(input.u16() as i16) as u32,
        _ => input.u32(),
    };
    base.wrapping_add(delta)
}

/// The MAC address the harness uses for a frame from `ip`.
fn mac_of(ip: Ipv4Addr) -> EthernetAddress {
    if ip == sim::addr(PEER) {
        sim::mac(PEER)
    } else {
        sim::mac(PHANTOM)
    }
}

/// An Ethernet frame to the DUT from `src` carrying `ethertype` and `payload`.
fn ethernet_frame(
    src: EthernetAddress,
    dst: EthernetAddress,
    ethertype: EtherType,
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + payload.len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype,
    }
    .emit(&mut eth);
    eth.payload_mut().copy_from_slice(payload);
    frame
}

/// An ARP packet in an Ethernet frame.
fn arp_frame(repr: &ArpRepr, dst: EthernetAddress) -> Vec<u8> {
    let mut packet = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut packet[..]));
    ethernet_frame(repr.source_hardware_addr, dst, EtherType::Arp, &packet)
}

/// How an IPv4 datagram is put on the wire.
#[derive(Debug, Clone, Copy)]
struct IpHeader {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ident: u16,
    ttl: u8,
    tos: u8,
    dont_frag: bool,
    more_frags: bool,
    /// In bytes (a multiple of 8).
    frag_offset: u16,
    /// Option bytes (padded to a multiple of 4, at most 40).
    options_len: usize,
}

/// An IPv4 datagram (header checksum filled) around `payload`, in an Ethernet frame.
fn ipv4_frame(h: &IpHeader, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let header_len = 20 + h.options_len;
    let total = header_len + payload.len();
    let mut datagram = vec![0u8; total];
    datagram[20..20 + options.len().min(h.options_len)]
        .copy_from_slice(&options[..options.len().min(h.options_len)]);
    datagram[header_len..].copy_from_slice(payload);
    let mut packet = Ipv4Packet::new_unchecked(&mut datagram[..]);
    packet.set_version(4);
    packet.set_header_len(header_len as u8);
    packet.set_dscp(h.tos >> 2);
    packet.set_ecn(h.tos);
    packet.set_total_len(u16::try_from(total).unwrap_or(u16::MAX));
    packet.set_ident(h.ident);
    packet.set_dont_frag(h.dont_frag);
    packet.set_more_frags(h.more_frags);
    packet.set_frag_offset(h.frag_offset);
    packet.set_ttl(h.ttl);
    packet.set_next_header(IpProtocol::from(h.protocol));
    packet.set_src_addr(h.src);
    packet.set_dst_addr(h.dst);
    packet.fill_checksum();
    let dst_mac = if h.dst == sim::addr(DUT) {
        sim::mac(DUT)
    } else {
        EthernetAddress::BROADCAST
    };
    ethernet_frame(mac_of(h.src), dst_mac, EtherType::Ipv4, &datagram)
}

/// A TCP segment in an IPv4 datagram in an Ethernet frame, checksums filled, split into two
/// fragments at `split` bytes of the segment when given.
fn tcp_frames(
    from: SocketAddrV4,
    to: SocketAddrV4,
    repr: &TcpRepr,
    payload: &[u8],
    ident: u16,
    split: Option<usize>,
) -> Vec<Vec<u8>> {
    let mut segment = vec![0u8; repr.header_len() + payload.len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut segment[..]),
        *from.ip(),
        *to.ip(),
        payload,
        true,
    );
    let header = IpHeader {
        src: *from.ip(),
        dst: *to.ip(),
        protocol: IpProtocol::Tcp.into(),
        ident,
        ttl: 64,
        tos: 0,
        dont_frag: split.is_none(),
        more_frags: false,
        frag_offset: 0,
        options_len: 0,
    };
    match split {
        Some(at) if at >= 8 && at < segment.len() => {
            let at = at & !7;
            let first = IpHeader {
                more_frags: true,
                ..header
            };
            let second = IpHeader {
                frag_offset: at as u16,
                ..header
            };
            vec![
                ipv4_frame(&first, &[], &segment[..at]),
                ipv4_frame(&second, &[], &segment[at..]),
            ]
        }
        _ => vec![ipv4_frame(&header, &[], &segment)],
    }
}

/// Fills the transport checksum of `payload` (a UDP, TCP or ICMP message) if it is long
/// enough to have one.
fn fill_transport_checksum(protocol: u8, src: Ipv4Addr, dst: Ipv4Addr, payload: &mut [u8]) {
    if payload.len() > usize::from(u16::MAX) {
        return;
    }
    match IpProtocol::from(protocol) {
        IpProtocol::Tcp if payload.len() >= 20 => {
            TcpPacket::new_unchecked(payload).fill_checksum(src, dst);
        }
        IpProtocol::Udp if payload.len() >= 8 => {
            let len = payload.len() as u16;
            let mut packet = UdpPacket::new_unchecked(payload);
            packet.set_len(len);
            packet.fill_checksum(src, dst);
        }
        IpProtocol::Icmp if payload.len() >= 8 => {
            Icmpv4Packet::new_unchecked(payload).fill_checksum();
        }
        _ => {}
    }
}

impl Harness {
    /// Builds the world described in the module documentation.
    fn new() -> Harness {
        let config = StackConfig::default();
        let mut sim = Sim::new(2, &config, LinkConfig::default(), 0);
        let wire = Rc::new(RefCell::new(Wire::default()));
        let tap = Rc::clone(&wire);
        sim.set_tap(move |_, _, frame| tap.borrow_mut().observe(frame));
        let dut_ip = sim::addr(DUT);
        let peer_ip = sim::addr(PEER);
        let listener = sim.stacks[DUT]
            .tcp_listener(SocketAddrV4::new(dut_ip, HTTP), BACKLOG)
            .expect("setup: DUT listener");
        let udp = sim.stacks[DUT]
            .udp_bind(SocketAddrV4::new(dut_ip, UDP_PORT))
            .expect("setup: UDP bind");
        let udp_limit = sim.stacks[DUT].udp_recv_buffer_size(udp).unwrap_or(0);
        let peer_listener = sim.stacks[PEER]
            .tcp_listener(SocketAddrV4::new(peer_ip, PEER_PORT), BACKLOG)
            .expect("setup: peer listener");
        let mut h = Harness {
            sim,
            wire,
            dut: Vec::new(),
            peer: Vec::new(),
            listener: Some(listener),
            peer_listener,
            udp: Some(udp),
            listeners_made: 1,
            sockets_made: 0,
            send_limit: config.tcp_wmem[1],
            recv_limit: config.tcp_rmem[1],
            udp_limit,
            ident: 0,
            streams: Vec::new(),
            tainted: BTreeSet::new(),
            poisoned: false,
            trace: std::env::var_os("SOCKEYE_FUZZ_TRACE").is_some(),
        };
        h.setup();
        h
    }

    fn settle(&mut self) {
        self.sim.advance(Duration::from_millis(50));
        self.exchange();
    }

    fn dut_accept(&mut self) -> SocketHandle {
        let listener = self.listener.expect("setup: listener");
        match self.sim.stacks[DUT].tcp_poll_accept(listener, &mut cx()) {
            Poll::Ready(Ok((h, _))) => {
                self.sockets_made += 1;
                h
            }
            other => panic!("setup: DUT accept: {other:?}"),
        }
    }

    fn peer_accept(&mut self) -> SocketHandle {
        match self.sim.stacks[PEER].tcp_poll_accept(self.peer_listener, &mut cx()) {
            Poll::Ready(Ok((h, _))) => h,
            other => panic!("setup: peer accept: {other:?}"),
        }
    }

    fn expect_state(&mut self, h: SocketHandle, state: TcpState, what: &str) {
        let got = self.sim.stacks[DUT].tcp_state(h);
        assert_eq!(got.ok(), Some(state), "setup: {what}");
    }

    fn setup(&mut self) {
        let dut_http = SocketAddrV4::new(sim::addr(DUT), HTTP);
        let peer_http = SocketAddrV4::new(sim::addr(PEER), PEER_PORT);
        let now = self.sim.now;
        // A: the DUT connects to the peer.
        let a = self.sim.stacks[DUT]
            .tcp_connect_to(now, peer_http)
            .expect("setup: connect A");
        self.sockets_made += 1;
        self.settle();
        let a_peer = self.peer_accept();
        // D: likewise, to be half-closed by the peer.
        let d = self.sim.stacks[DUT]
            .tcp_connect_to(self.sim.now, peer_http)
            .expect("setup: connect D");
        self.sockets_made += 1;
        self.settle();
        let d_peer = self.peer_accept();
        // B and C: the peer connects to the DUT's listener.
        let b_peer = self.sim.stacks[PEER]
            .tcp_connect_to(self.sim.now, dut_http)
            .expect("setup: connect B");
        self.settle();
        let b = self.dut_accept();
        let c_peer = self.sim.stacks[PEER]
            .tcp_connect_to(self.sim.now, dut_http)
            .expect("setup: connect C");
        self.settle();
        let c = self.dut_accept();
        // B to FIN_WAIT_2, C to TIME_WAIT, D to CLOSE_WAIT.
        self.sim.stacks[DUT]
            .tcp_shutdown(b, Shutdown::Write)
            .expect("setup: shutdown B");
        self.sim.stacks[DUT]
            .tcp_shutdown(c, Shutdown::Write)
            .expect("setup: shutdown C");
        self.sim.stacks[PEER]
            .tcp_shutdown(c_peer, Shutdown::Write)
            .expect("setup: peer shutdown C");
        self.sim.stacks[PEER]
            .tcp_shutdown(d_peer, Shutdown::Write)
            .expect("setup: peer shutdown D");
        self.settle();
        self.expect_state(b, TcpState::FinWait2, "B in FIN_WAIT_2");
        self.expect_state(c, TcpState::TimeWait, "C in TIME_WAIT");
        self.expect_state(d, TcpState::CloseWait, "D in CLOSE_WAIT");
        // F: the phantom introduces itself and connects to the listener.
        let f = self.phantom_connect();
        // E: the peer connects and is never accepted.
        let e_peer = self.sim.stacks[PEER]
            .tcp_connect_to(self.sim.now, dut_http)
            .expect("setup: connect E");
        self.settle();
        let queues = self.sim.stacks[DUT].tcp_listener_queues(self.listener.expect("listener"));
        assert_eq!(
            queues.ok(),
            Some((1, 0)),
            "setup: E waits in the accept queue"
        );
        // G: bound, never connected.
        let g = self.sim.stacks[DUT].tcp_socket();
        self.sockets_made += 1;
        self.sim.stacks[DUT]
            .tcp_bind(g, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
            .expect("setup: bind G");
        for (dut, peer) in [(a, a_peer), (b, b_peer), (c, c_peer), (d, d_peer)] {
            self.open_stream(DUT, dut);
            let dut_addr = self.sim.stacks[DUT].tcp_local_addr(dut).expect("setup");
            self.attach(PEER, peer, dut_addr);
        }
        self.open_stream(PEER, e_peer);
        self.in_flight_on_a(a, a_peer);
        for h in [a, b, c, d, f, g] {
            self.dut.push(Held { h, closed: false });
        }
        for h in [a_peer, b_peer, c_peer, d_peer, e_peer] {
            self.peer.push(Held { h, closed: false });
        }
    }

    /// Connection F: ARP, then a handshake from the phantom, accepted; then 500 bytes out of
    /// order from the phantom and 3000 bytes from the DUT that nobody acknowledges.
    fn phantom_connect(&mut self) -> SocketHandle {
        let now = self.sim.now;
        let hello = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: sim::mac(PHANTOM),
            source_protocol_addr: sim::addr(PHANTOM),
            target_hardware_addr: EthernetAddress::default(),
            target_protocol_addr: sim::addr(DUT),
        };
        self.inject(&arp_frame(&hello, EthernetAddress::BROADCAST));
        self.exchange();
        let local = SocketAddrV4::new(sim::addr(DUT), HTTP);
        let remote = SocketAddrV4::new(sim::addr(PHANTOM), PHANTOM_PORT);
        let syn = TcpRepr {
            src_port: PHANTOM_PORT,
            dst_port: HTTP,
            seq_number: SeqNumber(PHANTOM_ISS),
            ack_number: None,
            flags: TcpFlags::SYN,
            window_len: 65_535,
            urgent: 0,
            options: TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some((1000, 0)),
                ..TcpOptions::default()
            },
            payload_len: 0,
        };
        self.send_tcp(remote, local, &syn, &[], None);
        self.exchange();
        let seen = self.seen(local, remote).expect("setup: SYN-ACK seen");
        let ack = TcpRepr {
            seq_number: SeqNumber(PHANTOM_ISS + 1),
            ack_number: Some(seen.snd_end),
            flags: TcpFlags::empty(),
            window_len: 1024,
            options: TcpOptions {
                timestamps: Some((1001, seen.tsval)),
                ..TcpOptions::default()
            },
            ..syn
        };
        self.send_tcp(remote, local, &ack, &[], None);
        self.exchange();
        let f = self.dut_accept();
        let ooo = TcpRepr {
            seq_number: SeqNumber(PHANTOM_ISS + 1 + 1000),
            options: TcpOptions {
                timestamps: Some((1002, seen.tsval)),
                ..TcpOptions::default()
            },
            payload_len: 500,
            ..ack
        };
        self.send_tcp(remote, local, &ooo, &pattern(1000, 500), None);
        let wrote = self.sim.stacks[DUT].tcp_poll_write(f, &mut cx(), &pattern(0, 3000));
        assert!(
            matches!(wrote, Poll::Ready(Ok(3000))),
            "setup: write F: {wrote:?}"
        );
        self.exchange();
        assert_eq!(now, self.sim.now, "setup: F at one instant");
        f
    }

    /// Connection A: the peer's first 1000 bytes are lost, the next 3000 arrive (held out of
    /// order); the DUT's 6000 bytes reach the peer only in part, and no ACK comes back.
    fn in_flight_on_a(&mut self, a: SocketHandle, a_peer: SocketHandle) {
        let now = self.sim.now;
        let peer = &mut self.sim.stacks[PEER];
        peer.tcp_set_nodelay(a_peer, true).expect("setup: nodelay");
        let wrote = peer.tcp_poll_write(a_peer, &mut cx(), &pattern(0, 1000));
        assert!(matches!(wrote, Poll::Ready(Ok(1000))), "setup: {wrote:?}");
        for frame in transmit(peer, now) {
            self.wire.borrow_mut().observe(&frame); // lost
        }
        let peer = &mut self.sim.stacks[PEER];
        let wrote = peer.tcp_poll_write(a_peer, &mut cx(), &pattern(1000, 3000));
        assert!(matches!(wrote, Poll::Ready(Ok(3000))), "setup: {wrote:?}");
        for frame in transmit(peer, now) {
            self.wire.borrow_mut().observe(&frame);
            self.sim.stacks[DUT].receive(now, IfaceId(0), &frame);
        }
        for frame in transmit(&mut self.sim.stacks[DUT], now) {
            self.wire.borrow_mut().observe(&frame); // duplicate ACKs, lost
        }
        let dut = &mut self.sim.stacks[DUT];
        let wrote = dut.tcp_poll_write(a, &mut cx(), &pattern(0, 6000));
        assert!(matches!(wrote, Poll::Ready(Ok(6000))), "setup: {wrote:?}");
        for (i, frame) in transmit(dut, now).into_iter().enumerate() {
            self.wire.borrow_mut().observe(&frame);
            if i < 2 {
                self.sim.stacks[PEER].receive(now, IfaceId(0), &frame);
            }
        }
        for frame in transmit(&mut self.sim.stacks[PEER], now) {
            self.wire.borrow_mut().observe(&frame); // ACKs, lost
        }
        let stream = self.stream(DUT, a).expect("setup: stream A");
        stream.to_dut.extend(pattern(0, 4000));
        stream.to_peer.extend(pattern(0, 6000));
        let info = self.sim.stacks[DUT].tcp_info(a).expect("setup: A");
        assert!(
            info.out_of_order == 3000 && info.send_queued == 6000,
            "setup: A in flight: {info:?}"
        );
    }

    /// Starts checking the bytes of the connection `h` of `stack` just opened (`connect`): its
    /// other end joins when it is accepted.
    fn open_stream(&mut self, stack: usize, h: SocketHandle) {
        let st = &mut self.sim.stacks[stack];
        let (Ok(local), Ok(remote)) = (st.tcp_local_addr(h), st.tcp_peer_addr(h)) else {
            return;
        };
        let (dut_addr, peer_addr) = if stack == DUT {
            (local, remote)
        } else {
            (remote, local)
        };
        // An older stream on the same 4-tuple that never got its other end is over.
        self.streams.retain(|s| {
            !(s.dut_addr == dut_addr && s.peer_addr == peer_addr)
                || (s.dut.is_some() && s.peer.is_some())
        });
        self.streams.push(Stream {
            dut: (stack == DUT).then_some(h),
            peer: (stack == PEER).then_some(h),
            dut_addr,
            peer_addr,
            to_peer: VecDeque::new(),
            to_dut: VecDeque::new(),
            tainted: self.tainted.contains(&(dut_addr, peer_addr)),
            dut_read_shut: false,
            peer_read_shut: false,
            resized: false,
        });
    }

    /// A child just accepted on `stack` from `remote`: it is the missing end of the stream the
    /// other side opened on the same 4-tuple, if any.
    fn attach(&mut self, stack: usize, child: SocketHandle, remote: SocketAddrV4) {
        let Ok(local) = self.sim.stacks[stack].tcp_local_addr(child) else {
            return;
        };
        let (dut_addr, peer_addr) = if stack == DUT {
            (local, remote)
        } else {
            (remote, local)
        };
        let stream = self.streams.iter_mut().rev().find(|s| {
            s.dut_addr == dut_addr
                && s.peer_addr == peer_addr
                && if stack == DUT {
                    s.dut.is_none()
                } else {
                    s.peer.is_none()
                }
        });
        if let Some(s) = stream {
            if stack == DUT {
                s.dut = Some(child);
            } else {
                s.peer = Some(child);
            }
        }
    }

    /// The stream that handle `h` of `stack` is an end of.
    fn stream(&mut self, stack: usize, h: SocketHandle) -> Option<&mut Stream> {
        self.streams.iter_mut().find(|s| {
            if stack == DUT {
                s.dut == Some(h)
            } else {
                s.peer == Some(h)
            }
        })
    }

    /// Taints the streams whose 4-tuple `frame` (injected by the harness) is a TCP segment on,
    /// whatever its checksums (a first fragment counts), and notes ARP that misplaces the peer.
    fn taint(&mut self, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        if eth.ethertype() == EtherType::Arp {
            if let Ok(arp) = ArpPacket::new_checked(eth.payload())
                && let Ok(arp) = ArpRepr::parse(&arp)
                && arp.source_protocol_addr == sim::addr(PEER)
                && arp.source_hardware_addr != sim::mac(PEER)
            {
                self.poisoned = true;
            }
            return;
        }
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()).or_else(|_| {
            // A datagram whose total length lies is still read as far as it goes.
            Ipv4Packet::new_quoted(eth.payload())
        }) else {
            return;
        };
        if ip.next_header() != IpProtocol::Tcp || ip.frag_offset() != 0 {
            return;
        }
        let Some(ports) = ip.payload().get(..4) else {
            return;
        };
        let src = SocketAddrV4::new(ip.src_addr(), u16::from_be_bytes([ports[0], ports[1]]));
        let dst = SocketAddrV4::new(ip.dst_addr(), u16::from_be_bytes([ports[2], ports[3]]));
        if self.tainted.len() < 4 * MAX_TUPLES {
            self.tainted.insert((dst, src));
        }
        for s in &mut self.streams {
            if s.peer_addr == src && s.dut_addr == dst {
                s.tainted = true;
            }
        }
    }

    fn seen(&self, local: SocketAddrV4, remote: SocketAddrV4) -> Option<Seen> {
        self.wire.borrow().conns.get(&(local, remote)).copied()
    }

    /// Hands `frame`, written by the harness, to the DUT now (and notes what it says).
    fn inject(&mut self, frame: &[u8]) {
        self.taint(frame);
        self.wire.borrow_mut().observe(frame);
        self.sim.stacks[DUT].receive(self.sim.now, IfaceId(0), frame);
    }

    fn send_tcp(
        &mut self,
        from: SocketAddrV4,
        to: SocketAddrV4,
        repr: &TcpRepr,
        payload: &[u8],
        split: Option<usize>,
    ) {
        self.ident = self.ident.wrapping_add(1);
        for frame in tcp_frames(from, to, repr, payload, self.ident, split) {
            self.inject(&frame);
        }
    }

    /// Both stacks transmit and receive each other's frames at the current instant until
    /// neither sends anything; the phantom answers the DUT's ARP requests.
    fn exchange(&mut self) {
        let now = self.sim.now;
        for _ in 0..MAX_ROUNDS {
            let asked = std::mem::take(&mut self.wire.borrow_mut().arp_for_phantom);
            if asked {
                let reply = ArpRepr {
                    operation: ArpOperation::Reply,
                    source_hardware_addr: sim::mac(PHANTOM),
                    source_protocol_addr: sim::addr(PHANTOM),
                    target_hardware_addr: sim::mac(DUT),
                    target_protocol_addr: sim::addr(DUT),
                };
                self.inject(&arp_frame(&reply, sim::mac(DUT)));
            }
            let from_dut = transmit(&mut self.sim.stacks[DUT], now);
            let from_peer = transmit(&mut self.sim.stacks[PEER], now);
            if !asked && from_dut.is_empty() && from_peer.is_empty() {
                return;
            }
            for frame in &from_dut {
                self.wire.borrow_mut().observe(frame);
                self.sim.stacks[PEER].receive(now, IfaceId(0), frame);
            }
            for frame in &from_peer {
                self.wire.borrow_mut().observe(frame);
                self.sim.stacks[DUT].receive(now, IfaceId(0), frame);
            }
        }
        panic!(
            "frame storm: the stacks were still exchanging frames after {MAX_ROUNDS} rounds at {:?}",
            self.sim.now
        );
    }

    /// Interprets one operation; returns its description (for messages and traces).
    fn op(&mut self, input: &mut Input<'_>) -> String {
        let what = match input.u8() % 16 {
            0 => self.op_raw(input),
            1 => self.op_ethernet(input),
            2 | 3 => self.op_ip(input),
            4 => self.op_arp(input),
            5..=8 => self.op_tcp(input),
            9 => self.op_replay(input),
            10 | 11 => self.op_time(input),
            12 | 13 => self.op_dut_socket(input),
            14 => self.op_peer_socket(input),
            _ => self.op_udp(input),
        };
        if self.trace {
            eprintln!("[{:?}] {what}", self.sim.now);
        }
        what
    }

    fn op_raw(&mut self, input: &mut Input<'_>) -> String {
        let len = usize::from(input.u16()) % 1600;
        let frame = input.bytes(len).to_vec();
        self.inject(&frame);
        format!("raw frame, {} bytes", frame.len())
    }

    fn op_ethernet(&mut self, input: &mut Input<'_>) -> String {
        let dst = if input.bool() {
            EthernetAddress::BROADCAST
        } else {
            sim::mac(DUT)
        };
        let ethertype = match input.u8() % 4 {
            0 => EtherType::Arp,
            1 => EtherType::Ipv6,
            2 => EtherType::from(input.u16()),
            _ => EtherType::Ipv4,
        };
        let len = usize::from(input.u16()) % 1600;
        let payload = input.bytes(len).to_vec();
        self.inject(&ethernet_frame(sim::mac(PEER), dst, ethertype, &payload));
        format!(
            "ethernet to {dst} type {ethertype}, {} bytes",
            payload.len()
        )
    }

    fn any_ip(input: &mut Input<'_>) -> Ipv4Addr {
        match input.u8() % 6 {
            0 => sim::addr(DUT),
            1 => sim::addr(PEER),
            2 => sim::addr(PHANTOM),
            3 => Ipv4Addr::BROADCAST,
            4 => Ipv4Addr::new(10, 0, 0, 255),
            _ => Ipv4Addr::from(input.u32().to_be_bytes()),
        }
    }

    fn op_ip(&mut self, input: &mut Input<'_>) -> String {
        let protocol = match input.u8() % 4 {
            0 => IpProtocol::Tcp.into(),
            1 => IpProtocol::Udp.into(),
            2 => IpProtocol::Icmp.into(),
            _ => input.u8(),
        };
        let src = match input.u8() % 3 {
            0 => sim::addr(PEER),
            1 => sim::addr(PHANTOM),
            _ => Harness::any_ip(input),
        };
        let dst = if input.u8() % 4 == 0 {
            Harness::any_ip(input)
        } else {
            sim::addr(DUT)
        };
        let flags = input.u8();
        let fragment = flags & 0x30 != 0;
        let header = IpHeader {
            src,
            dst,
            protocol,
            ident: if flags & 0x40 != 0 {
                input.u16()
            } else {
                self.ident
            },
            ttl: input.u8(),
            tos: if flags & 0x80 != 0 { input.u8() } else { 0 },
            dont_frag: flags & 1 != 0,
            more_frags: flags & 0x10 != 0,
            frag_offset: if flags & 0x20 != 0 {
                input.u16() & !7
            } else {
                0
            },
            options_len: if flags & 2 != 0 {
                usize::from(input.u8() % 11) * 4
            } else {
                0
            },
        };
        let options = input.bytes(header.options_len).to_vec();
        let len = usize::from(input.u16()) % 1600;
        let mut payload = input.bytes(len).to_vec();
        if flags & 4 != 0 && !fragment {
            fill_transport_checksum(protocol, src, dst, &mut payload);
        }
        self.inject(&ipv4_frame(&header, &options, &payload));
        format!(
            "ip {src} > {dst} proto {protocol} flags {flags:#x} ident {} offset {}, {} bytes",
            header.ident,
            header.frag_offset,
            payload.len()
        )
    }

    fn op_arp(&mut self, input: &mut Input<'_>) -> String {
        let operation = match input.u8() % 3 {
            0 => ArpOperation::Request,
            1 => ArpOperation::Reply,
            _ => ArpOperation::from(input.u16()),
        };
        let source_hardware_addr = match input.u8() % 3 {
            0 => sim::mac(PEER),
            1 => sim::mac(PHANTOM),
            _ => EthernetAddress::from_bytes(input.bytes(6)).unwrap_or_default(),
        };
        let source_protocol_addr = Harness::any_ip(input);
        let target_protocol_addr = if input.bool() {
            sim::addr(DUT)
        } else {
            Harness::any_ip(input)
        };
        let repr = ArpRepr {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_hardware_addr: sim::mac(DUT),
            target_protocol_addr,
        };
        let dst = if input.bool() {
            EthernetAddress::BROADCAST
        } else {
            sim::mac(DUT)
        };
        self.inject(&arp_frame(&repr, dst));
        format!("{repr}")
    }

    /// The structured segment: see the module documentation.
    fn op_tcp(&mut self, input: &mut Input<'_>) -> String {
        let tuples: Vec<(SocketAddrV4, SocketAddrV4)> =
            self.wire.borrow().conns.keys().copied().collect();
        let choice = input.below(tuples.len() + 3);
        let (local, remote) = match choice {
            i if i < tuples.len() => tuples[i],
            i if i == tuples.len() => (
                SocketAddrV4::new(sim::addr(DUT), HTTP),
                SocketAddrV4::new(sim::addr(PHANTOM), input.u16()),
            ),
            i if i == tuples.len() + 1 => (
                SocketAddrV4::new(sim::addr(DUT), HTTP),
                SocketAddrV4::new(sim::addr(PEER), input.u16()),
            ),
            _ => (
                SocketAddrV4::new(sim::addr(DUT), input.u16()),
                SocketAddrV4::new(sim::addr(PHANTOM), input.u16()),
            ),
        };
        let seen = self.seen(local, remote).unwrap_or_default();
        let flags = TcpFlags::from_bits_truncate(u16::from(input.u8()));
        let seq_base = seen.ack.unwrap_or(seen.peer_end);
        let seq_number = SeqNumber(near(seq_base.0, input));
        let ack = SeqNumber(near(seen.snd_end.0, input));
        let window_len = input.u16();
        let urgent = if flags.contains(TcpFlags::URG) {
            input.u16()
        } else {
            0
        };
        let which = input.u8();
        let mut options = TcpOptions::default();
        if which & 1 != 0 {
            options.mss = Some(input.u16());
        }
        if which & 2 != 0 {
            options.window_scale = Some(input.u8());
        }
        options.sack_permitted = which & 4 != 0;
        if which & 8 != 0 {
            let tsval = near(seen.peer_tsval, input);
            let tsecr = near(seen.tsval, input);
            options.timestamps = Some((tsval, tsecr));
        }
        let blocks = usize::from((which >> 4) & 7).min(4);
        let mut sack = SackBlocks::new();
        for _ in 0..blocks {
            let left = SeqNumber(near(seen.snd_end.0, input));
            let right = SeqNumber(left.0.wrapping_add(u32::from(input.u16())));
            sack.push(left, right);
        }
        options.sack_blocks = sack;
        let len = usize::from(input.u16()) % 2000;
        let split = (which & 0x80 != 0).then(|| usize::from(input.u8()) * 8);
        let repr = TcpRepr {
            src_port: remote.port(),
            dst_port: local.port(),
            seq_number,
            ack_number: flags.contains(TcpFlags::ACK).then_some(ack),
            flags: flags.without(TcpFlags::ACK),
            window_len,
            urgent,
            options,
            payload_len: len,
        };
        let payload = pattern(seq_number.0, len);
        self.send_tcp(remote, local, &repr, &payload, split);
        format!("tcp {remote} > {local}: {repr} (flags {flags:?}, {options:?}, split {split:?})")
    }

    fn op_replay(&mut self, input: &mut Input<'_>) -> String {
        let frame = {
            let wire = self.wire.borrow();
            if wire.history.is_empty() {
                return "replay: nothing yet".to_string();
            }
            let i = input.below(wire.history.len());
            wire.history[i].clone()
        };
        self.sim.stacks[DUT].receive(self.sim.now, IfaceId(0), &frame);
        format!("replay of a {}-byte frame from the peer", frame.len())
    }

    fn op_time(&mut self, input: &mut Input<'_>) -> String {
        let d = match input.u8() % 4 {
            0 => Duration::from_millis(u64::from(input.u8())),
            1 => Duration::from_millis(u64::from(input.u16())),
            2 => Duration::from_secs(u64::from(input.u8()) * 10),
            _ => match self.sim.stacks[DUT].poll_at() {
                Some(at) => at.saturating_duration_since(self.sim.now),
                None => Duration::ZERO,
            },
        };
        self.sim.advance(d);
        format!("time passes: {d:?}")
    }

    /// Picks one of `held` (or none when empty).
    fn pick(held: &[Held], input: &mut Input<'_>) -> Option<usize> {
        (!held.is_empty()).then(|| input.below(held.len()))
    }

    fn op_dut_socket(&mut self, input: &mut Input<'_>) -> String {
        let now = self.sim.now;
        let op = input.u8() % 16;
        let Some(i) = Harness::pick(&self.dut, input) else {
            return "no DUT socket".to_string();
        };
        let held = self.dut[i];
        let h = held.h;
        let stack = &mut self.sim.stacks[DUT];
        match op {
            0 => {
                let len = usize::from(input.u16());
                let mut buf = vec![0u8; len];
                let r = stack.tcp_poll_read(h, &mut cx(), &mut buf);
                let what = format!("DUT read {h} {len}: {r:?}");
                if let Poll::Ready(Ok(n)) = r {
                    assert!(n <= len, "read {n} bytes into {len}");
                    if let Some(s) = self.stream(DUT, h) {
                        s.read(true, &buf[..n], &what);
                    }
                }
                what
            }
            1 => {
                let len = usize::from(input.u16());
                let data = pattern(0, len);
                let r = stack.tcp_poll_write(h, &mut cx(), &data);
                if let Poll::Ready(Ok(n)) = r {
                    assert!(n <= len, "wrote {n} bytes of {len}");
                    if let Some(s) = self.stream(DUT, h) {
                        s.to_peer.extend(&data[..n]);
                    }
                }
                format!("DUT write {h} {len}: {r:?}")
            }
            2 => {
                let how = [Shutdown::Read, Shutdown::Write, Shutdown::Both][input.below(3)];
                let r = stack.tcp_shutdown(h, how);
                if how != Shutdown::Write
                    && let Some(s) = self.stream(DUT, h)
                {
                    s.dut_read_shut = true;
                }
                format!("DUT shutdown {h} {how:?}: {r:?}")
            }
            3 => {
                stack.tcp_close(now, h);
                self.dut[i].closed = true;
                format!("DUT close {h}")
            }
            4 => {
                stack.tcp_abort(now, h);
                self.dut[i].closed = true;
                format!("DUT abort {h}")
            }
            5 => {
                let r = stack.tcp_poll_close(now, h, &mut cx());
                if r.is_ready() {
                    self.dut[i].closed = true;
                }
                format!("DUT poll_close {h}: {r:?}")
            }
            6 => {
                let Some(l) = self.listener else {
                    return "DUT accept: no listener".to_string();
                };
                let r = stack.tcp_poll_accept(l, &mut cx());
                if let Poll::Ready(Ok((child, remote))) = r {
                    self.sockets_made += 1;
                    if self.dut.len() < MAX_HANDLES {
                        self.dut.push(Held {
                            h: child,
                            closed: false,
                        });
                        self.attach(DUT, child, remote);
                    } else {
                        stack.tcp_abort(now, child);
                    }
                }
                format!("DUT accept: {r:?}")
            }
            7 => {
                let remote = match input.u8() % 3 {
                    0 => SocketAddrV4::new(sim::addr(PEER), PEER_PORT),
                    1 => SocketAddrV4::new(sim::addr(PEER), input.u16()),
                    _ => SocketAddrV4::new(sim::addr(PHANTOM), input.u16()),
                };
                // Connect the held socket if it never was, or a new one.
                let r = if input.bool() {
                    stack.tcp_connect(now, h, remote).map(|()| h)
                } else if self.dut.len() < MAX_HANDLES {
                    let r = stack.tcp_connect_to(now, remote);
                    if let Ok(new) = r {
                        self.sockets_made += 1;
                        self.dut.push(Held {
                            h: new,
                            closed: false,
                        });
                    }
                    r
                } else {
                    return "DUT connect: too many sockets".to_string();
                };
                if let Ok(h) = r {
                    self.open_stream(DUT, h);
                }
                format!("DUT connect to {remote}: {r:?}")
            }
            8 => {
                let on = input.bool();
                format!("DUT nodelay {h} {on}: {:?}", stack.tcp_set_nodelay(h, on))
            }
            9 => {
                let on = input.bool();
                format!(
                    "DUT keepalive {h} {on}: {:?}",
                    stack.tcp_set_keepalive(h, on)
                )
            }
            10 | 11 => {
                let size = (usize::from(input.u16()) * 4).min(MAX_BUFFER);
                let on_listener = input.u8() % 4 == 0;
                let target = match (on_listener, self.listener) {
                    (true, Some(l)) => l,
                    _ => h,
                };
                let r = if op == 10 {
                    self.send_limit = self.send_limit.max(size);
                    stack.tcp_set_send_buffer_size(target, size)
                } else {
                    self.recv_limit = self.recv_limit.max(size);
                    let r = stack.tcp_set_recv_buffer_size(target, size);
                    if let Some(s) = self.stream(DUT, target) {
                        s.resized = true;
                    }
                    r
                };
                let which = if op == 10 { "send" } else { "receive" };
                format!("DUT {which} buffer {target} {size}: {r:?}")
            }
            12 => match self.listener.take() {
                Some(l) => {
                    stack.tcp_close(now, l);
                    format!("DUT close listener {l}")
                }
                None => {
                    let backlog = u32::from(input.u8() % 16);
                    let r = stack.tcp_listener(SocketAddrV4::new(sim::addr(DUT), HTTP), backlog);
                    if let Ok(l) = r {
                        self.listener = Some(l);
                        self.listeners_made += 1;
                        self.sockets_made += 1;
                    }
                    format!("DUT listen backlog {backlog}: {r:?}")
                }
            },
            13 => {
                // A fresh socket bound to a chosen port, kept for later calls.
                if self.dut.len() >= MAX_HANDLES {
                    return "DUT socket: too many sockets".to_string();
                }
                let new = stack.tcp_socket();
                self.sockets_made += 1;
                let port = match input.u8() % 3 {
                    0 => HTTP,
                    1 => 0,
                    _ => input.u16(),
                };
                let _ = stack.tcp_set_reuseaddr(new, input.bool());
                let r = stack.tcp_bind(new, SocketAddrV4::new(sim::addr(DUT), port));
                self.dut.push(Held {
                    h: new,
                    closed: false,
                });
                format!("DUT socket {new} bind :{port}: {r:?}")
            }
            14 => {
                let r = stack.tcp_poll_connect(h, &mut cx());
                format!("DUT poll_connect {h}: {r:?}")
            }
            _ => {
                let r = stack.tcp_listen(h, u32::from(input.u8() % 16));
                if r.is_ok() {
                    // It is a listener now: the harness keeps using it as a connection handle
                    // (the calls fail), and counts its queues.
                    self.listeners_made += 1;
                }
                format!("DUT listen on {h}: {r:?}")
            }
        }
    }

    fn op_peer_socket(&mut self, input: &mut Input<'_>) -> String {
        let now = self.sim.now;
        let op = input.u8() % 8;
        let Some(i) = Harness::pick(&self.peer, input) else {
            return "no peer socket".to_string();
        };
        let h = self.peer[i].h;
        let stack = &mut self.sim.stacks[PEER];
        match op {
            0 => {
                let len = usize::from(input.u16()) * 4;
                let mut buf = vec![0u8; len];
                let r = stack.tcp_poll_read(h, &mut cx(), &mut buf);
                let what = format!("peer read {h} {len}: {r:?}");
                if let Poll::Ready(Ok(n)) = r
                    && let Some(s) = self.stream(PEER, h)
                {
                    s.read(false, &buf[..n], &what);
                }
                what
            }
            1 => {
                let len = usize::from(input.u16());
                let data = pattern(0, len);
                let r = stack.tcp_poll_write(h, &mut cx(), &data);
                if let Poll::Ready(Ok(n)) = r
                    && let Some(s) = self.stream(PEER, h)
                {
                    s.to_dut.extend(&data[..n]);
                }
                format!("peer write {h} {len}: {r:?}")
            }
            2 => {
                let how = [Shutdown::Read, Shutdown::Write, Shutdown::Both][input.below(3)];
                let r = stack.tcp_shutdown(h, how);
                if how != Shutdown::Write
                    && let Some(s) = self.stream(PEER, h)
                {
                    s.peer_read_shut = true;
                }
                format!("peer shutdown {h} {how:?}: {r:?}")
            }
            3 => {
                stack.tcp_close(now, h);
                self.peer[i].closed = true;
                format!("peer close {h}")
            }
            4 => {
                stack.tcp_abort(now, h);
                self.peer[i].closed = true;
                format!("peer abort {h}")
            }
            5 => {
                let r = stack.tcp_poll_accept(self.peer_listener, &mut cx());
                if let Poll::Ready(Ok((child, remote))) = r {
                    if self.peer.len() < MAX_HANDLES {
                        self.peer.push(Held {
                            h: child,
                            closed: false,
                        });
                        self.attach(PEER, child, remote);
                    } else {
                        stack.tcp_abort(now, child);
                    }
                }
                format!("peer accept: {r:?}")
            }
            6 => {
                if self.peer.len() >= MAX_HANDLES {
                    return "peer connect: too many sockets".to_string();
                }
                let port = if input.bool() { HTTP } else { input.u16() };
                let r = stack.tcp_connect_to(now, SocketAddrV4::new(sim::addr(DUT), port));
                if let Ok(new) = r {
                    self.peer.push(Held {
                        h: new,
                        closed: false,
                    });
                    self.open_stream(PEER, new);
                }
                format!("peer connect to :{port}: {r:?}")
            }
            _ => {
                let size = (usize::from(input.u16()) * 4).min(MAX_BUFFER);
                self.recv_limit = self.recv_limit.max(size);
                let r = stack.tcp_set_recv_buffer_size(h, size);
                if let Some(s) = self.stream(PEER, h) {
                    s.resized = true;
                }
                format!("peer receive buffer {h} {size}: {r:?}")
            }
        }
    }

    fn op_udp(&mut self, input: &mut Input<'_>) -> String {
        let now = self.sim.now;
        let op = input.u8() % 6;
        let stack = &mut self.sim.stacks[DUT];
        let Some(u) = self.udp else {
            let r = stack.udp_bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, UDP_PORT));
            if let Ok(u) = r {
                self.udp = Some(u);
                self.udp_limit = self
                    .udp_limit
                    .max(stack.udp_recv_buffer_size(u).unwrap_or(0));
            }
            return format!("UDP bind: {r:?}");
        };
        let target = |input: &mut Input<'_>| match input.u8() % 4 {
            0 => SocketAddrV4::new(sim::addr(PEER), input.u16()),
            1 => SocketAddrV4::new(sim::addr(PHANTOM), input.u16()),
            2 => SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 255), input.u16()),
            _ => SocketAddrV4::new(Ipv4Addr::from(input.u32().to_be_bytes()), input.u16()),
        };
        match op {
            0 => {
                let to = target(input);
                let len = if input.u8() % 8 == 0 {
                    usize::from(input.u16())
                } else {
                    usize::from(input.u16()) % 1600
                };
                let _ = stack.udp_set_broadcast(u, input.bool());
                let r = stack.udp_poll_send_to(now, u, &mut cx(), &pattern(0, len), to);
                format!("UDP send_to {to} {len}: {r:?}")
            }
            1 => {
                let len = usize::from(input.u16());
                let mut buf = vec![0u8; len];
                let r = stack.udp_poll_recv_from(u, &mut cx(), &mut buf);
                if let Poll::Ready(Ok((n, _))) = r {
                    assert!(n <= len, "UDP received {n} bytes into {len}");
                }
                format!("UDP recv_from {len}: {r:?}")
            }
            2 => {
                let to = target(input);
                format!("UDP connect {to}: {:?}", stack.udp_connect(u, to))
            }
            3 => {
                let size = usize::from(input.u16()) * 4;
                let r = stack.udp_set_recv_buffer_size(u, size);
                self.udp_limit = self
                    .udp_limit
                    .max(stack.udp_recv_buffer_size(u).unwrap_or(0));
                format!("UDP receive buffer {size}: {r:?}")
            }
            4 => {
                let len = usize::from(input.u16()) % 1600;
                let r = stack.udp_poll_send(now, u, &mut cx(), &pattern(0, len));
                format!("UDP send {len}: {r:?}")
            }
            _ => {
                self.udp = None;
                format!("UDP close: {:?}", stack.udp_close(u))
            }
        }
    }

    /// The per-connection invariants, on one stack's handles.
    fn check_handles(&mut self, stack: usize, after: &str) {
        let held = if stack == DUT {
            self.dut.clone()
        } else {
            self.peer.clone()
        };
        let config = self.sim.stacks[stack].config().clone();
        let rto_min = Duration::from_micros(u64::from(config.tcp_rto_min_us));
        let rto_max = Duration::from_millis(u64::from(config.tcp_rto_max_ms)).max(rto_min);
        for Held { h, closed } in held {
            let s = &mut self.sim.stacks[stack];
            if closed {
                assert!(
                    s.tcp_state(h).is_err() && s.tcp_info(h).is_err(),
                    "stack {stack}: closed handle {h} is not stale, after {after}"
                );
                continue;
            }
            let Ok(info) = s.tcp_info(h) else {
                // A handle the harness turned into a listener.
                assert!(
                    s.tcp_listener_queues(h).is_ok(),
                    "stack {stack}: open handle {h} went stale, after {after}"
                );
                continue;
            };
            let state = s.tcp_state(h);
            assert_eq!(
                state.ok(),
                Some(info.state),
                "stack {stack}: tcp_state and tcp_info disagree on {h}, after {after}"
            );
            self.check_info(stack, h, &info, rto_min, rto_max, after);
        }
    }

    fn check_info(
        &self,
        stack: usize,
        h: SocketHandle,
        info: &TcpInfo,
        rto_min: Duration,
        rto_max: Duration,
        after: &str,
    ) {
        let what = || format!("stack {stack} {h} after {after}: {info:?}");
        assert!(
            info.send_queued <= self.send_limit,
            "send buffer over its limit: {}",
            what()
        );
        assert!(
            info.recv_queued + info.out_of_order <= self.recv_limit,
            "receive buffer over its limit: {}",
            what()
        );
        assert!(
            info.allocated.0 <= self.send_limit && info.allocated.1 <= self.recv_limit,
            "buffers allocated beyond their limits: {}",
            what()
        );
        // The window field rounds up to the scale's granularity (as Linux's does), so the
        // window may overshoot the buffer by less than one unit of it.
        let unit = info
            .window_scale
            .map_or(1, |(ours, _)| 1usize << ours.min(14));
        assert!(
            info.rcv_wnd < self.recv_limit + unit && info.rcv_wnd <= usize::from(u16::MAX) << 14,
            "window offered beyond the buffer: {}",
            what()
        );
        assert!(
            (1..=usize::from(u16::MAX)).contains(&info.mss),
            "MSS out of range: {}",
            what()
        );
        assert!(info.cwnd > 0, "zero congestion window: {}", what());
        assert!(
            info.rto >= rto_min && info.rto <= rto_max,
            "RTO outside [{rto_min:?}, {rto_max:?}]: {}",
            what()
        );
        if let Some((ours, theirs)) = info.window_scale {
            assert!(ours <= 14 && theirs <= 14, "window scale: {}", what());
        }
    }

    /// Every invariant, after the operation `after`.
    fn check(&mut self, after: &str) {
        self.check_handles(DUT, after);
        self.check_handles(PEER, after);
        let dut = &mut self.sim.stacks[DUT];
        // Each listener queues at most its backlog + 1 established children and its backlog of
        // half-open ones (the harness's backlogs are at most 15).
        let bound = self.sockets_made + self.listeners_made * (2 * 16 + 2);
        assert!(
            dut.tcp_sockets() <= bound,
            "DUT holds {} TCP sockets, more than the {bound} the API and listeners account for, after {after}",
            dut.tcp_sockets()
        );
        if let Some(u) = self.udp {
            let bytes = dut.udp_recv_queue_bytes(u).expect("UDP socket open");
            assert!(
                bytes <= self.udp_limit.max(65_536 + 8),
                "UDP receive queue holds {bytes} bytes, limit {}, after {after}",
                self.udp_limit
            );
        }
    }

    /// Whether the harness closed handle `h` of `stack` (or never held it, or there is none).
    fn closed(&self, stack: usize, h: Option<SocketHandle>) -> bool {
        let held = if stack == DUT { &self.dut } else { &self.peer };
        h.is_none_or(|h| held.iter().find(|x| x.h == h).is_none_or(|x| x.closed))
    }

    /// Reads everything readable at both ends of every stream, checking the bytes. Returns the
    /// bytes still owed on streams that must deliver them.
    fn read_streams(&mut self, after: &str) -> usize {
        let mut owed = 0;
        for i in 0..self.streams.len() {
            let (dut, peer) = (self.streams[i].dut, self.streams[i].peer);
            for (stack, h) in [(DUT, dut), (PEER, peer)] {
                let Some(h) = h.filter(|_| !self.closed(stack, h)) else {
                    continue;
                };
                let mut buf = vec![0u8; 1 << 16];
                while let Poll::Ready(Ok(n)) =
                    self.sim.stacks[stack].tcp_poll_read(h, &mut cx(), &mut buf)
                {
                    if n == 0 {
                        break;
                    }
                    self.streams[i].read(stack == DUT, &buf[..n], after);
                }
            }
            let s = &self.streams[i];
            let live = !s.tainted
                && !s.resized
                && !self.poisoned
                && !self.closed(DUT, s.dut)
                && !self.closed(PEER, s.peer);
            if live && !s.dut_read_shut {
                owed += s.to_dut.len();
            }
            if live && !s.peer_read_shut {
                owed += s.to_peer.len();
            }
        }
        owed
    }

    /// The end of the operations: both sides of every connection between the DUT and the peer
    /// read, and time passes, until every byte written has arrived. Unless the harness forged
    /// segments on a connection, misplaced the peer's MAC address, or closed or shut down an
    /// end, nothing may be missing after ten minutes.
    fn deliver(&mut self) {
        let mut wait = Duration::from_millis(10);
        let mut waited = Duration::ZERO;
        while self.read_streams("deliver") > 0 {
            if waited > Duration::from_secs(600) {
                let mut report = Vec::new();
                for s in &self.streams {
                    let dut = s.dut.and_then(|h| self.sim.stacks[DUT].tcp_info(h).ok());
                    let peer = s.peer.and_then(|h| self.sim.stacks[PEER].tcp_info(h).ok());
                    report.push(format!(
                        "{} <> {}: {} bytes to the peer, {} to the DUT, tainted {}; DUT {dut:?}; peer {peer:?}",
                        s.dut_addr,
                        s.peer_addr,
                        s.to_peer.len(),
                        s.to_dut.len(),
                        s.tainted,
                    ));
                }
                panic!(
                    "bytes written were never delivered ({waited:?} of reading):\n{}",
                    report.join("\n")
                );
            }
            self.sim.advance(wait);
            self.exchange();
            waited += wait;
            wait = (wait * 2).min(Duration::from_secs(60));
        }
    }

    /// Closes everything on the DUT and lets time pass: every TCP socket must go.
    fn drain(&mut self) {
        let now = self.sim.now;
        let dut = &mut self.sim.stacks[DUT];
        for held in &mut self.dut {
            if !held.closed {
                dut.tcp_abort(now, held.h);
                held.closed = true;
            }
        }
        if let Some(l) = self.listener.take() {
            dut.tcp_close(now, l);
        }
        if let Some(u) = self.udp.take() {
            let _ = dut.udp_close(u);
        }
        self.exchange();
        self.check("drain: everything closed");
        self.sim.advance(DRAIN);
        self.exchange();
        let left = self.sim.stacks[DUT].tcp_sockets();
        assert_eq!(
            left, 0,
            "DUT still holds {left} TCP sockets {DRAIN:?} after every socket was closed"
        );
    }
}
