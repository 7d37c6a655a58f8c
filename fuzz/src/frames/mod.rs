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
//!   (so it sends, reads, closes, resets), and on the UDP socket;
//! - **sysctl**: the DUT's listen settings change (`tcp_syncookies` 0 to 2, so ACKs on tuples
//!   the wire showed return real cookies; `tcp_abort_on_overflow`; `tcp_max_syn_backlog`;
//!   `tcp_synack_retries`).
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
//!
//! # Layout
//!
//! - `setup`: the deterministic initial state above;
//! - `ops`: the frame, time and replay operations, decoded from the input;
//! - `sockets`: the socket-call operations on the DUT, the peer and the UDP socket;
//! - `segments`: building Ethernet, ARP, IPv4 and TCP frames;
//! - `link`: what the wire has shown, injecting frames, and the same-instant exchange;
//! - `streams`: the byte streams checked end to end, and tainting;
//! - `checks`: the invariants, the final delivery and the drain.

mod checks;
mod link;
mod ops;
mod segments;
mod setup;
mod sockets;
mod streams;

use core::net::SocketAddrV4;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::task::{Context, Waker};
use std::time::Duration;

use sockeye_netstack::sim::Sim;
use sockeye_netstack::{Instant, SocketHandle, Stack, UdpHandle};

use super::input::Input;

use self::link::Wire;
use self::streams::Stream;

/// The stack under test.
const DUT: usize = 0;
/// The real peer stack.
const PEER: usize = 1;
/// The host the harness plays (address and MAC index in
/// [`sim::addr`](sockeye_netstack::sim::addr) and [`sim::mac`](sockeye_netstack::sim::mac)).
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
