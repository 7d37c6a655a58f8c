//! A scripted-segment harness for the TCP engine, in the spirit of packetdrill.
//!
//! One [`Stack`] under test (10.0.0.1, MAC 02:00:00:00:00:01, checksums computed and verified in
//! software) talks to a fake peer at 10.0.0.2 whose frames are built with `etherparse`. A test is
//! a script on a virtual clock:
//!
//! ```text
//! h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));   // +0 < S 0:0(0) ...
//! h.expect(seg("S.").seq(0).ack(1).mss(1460));                        // +0 > S. 0:0(0) ack 1
//! h.expect_at(1000, seg("S.").seq(0).ack(1));                         // 1 s later, again
//! h.expect_nothing();
//! ```
//!
//! **Sequence numbers are relative**, as in packetdrill: the peer's to its ISN (the harness picks
//! it, [`PEER_ISN`]), the stack's to its ISN, learned from the first SYN or SYN-ACK it sends (and
//! absolute until then, which is what a RST to a closed port needs). The SYN takes relative
//! number 0, the first data byte 1.
//!
//! **Time** is virtual and in milliseconds since the script began. [`Script::run_until`] moves
//! the clock the way a driver would: to every deadline [`Stack::poll_at`] reports, calling
//! [`Stack::transmit`] there, and records each emitted segment with the time it left. A
//! segment the script has not yet matched with [`Script::expect`] waits in a queue, so
//! [`Script::expect_nothing`] can say "the stack sent nothing else".
//!
//! **Every frame the stack emits is parsed by etherparse and checked** (the independent oracle):
//! Ethernet addresses, the IPv4 header (version, length, checksum, DF, TTL, addresses), the TCP
//! header (length, checksum, well-formed options), and these protocol invariants on the flow
//! under test:
//! - MSS, window scale and SACK-permitted appear in SYNs only (RFC 9293, 7323, 2018); a SYN-ACK
//!   carries only options the peer offered;
//! - every segment but the first SYN and a RST carries an ACK; a RST carries no data;
//! - timestamps appear in every non-RST segment once both SYNs carried them, in none otherwise
//!   (RFC 7323 section 3.2), and the stack's TSval never goes backwards;
//! - SACK blocks appear only if both sides sent SACK-permitted;
//! - payload plus options never exceed the MSS the peer announced (536 without one);
//! - every payload byte is the byte the application wrote at that stream offset;
//! - the ACK number never moves backwards, and neither does the right edge of the advertised
//!   window (RFC 9293 section 3.8.6.2.2: the window should not shrink) beyond the rounding of
//!   one scale unit that RFC 7323 section 2.4 allows.
//!
//! ARP is handled quietly: the script starts by sending the stack an ARP request (so the stack
//! knows the peer), and any ARP request the stack sends for the peer later is answered at once.
//!
//! Payloads are deterministic: the peer's stream byte at offset `k` is [`peer_byte`]`(k)`, the
//! application's is [`app_byte`]`(k)`, so reads and sent segments can be checked byte for byte.
//!
//! The harness is split by concern: `spec` holds the segment specs ([`seg`], [`Seg`],
//! [`PeerOpts`]); `peer` builds the peer's frames from them; `check` parses and checks what
//! the stack emits ([`Sent`]) and matches it against specs; `sockets` is the application side
//! and whole handshakes. This file keeps [`Script`] itself, the clock, and the inject/expect
//! loop.

#![allow(dead_code)]

mod check;
mod peer;
mod sockets;
mod spec;

use core::net::Ipv4Addr;
use std::collections::VecDeque;
use std::io;

use etherparse::ArpOperation;
use sockeye_netstack::tcp::isn::Secrets;
use sockeye_netstack::wire::EthernetAddress;
use sockeye_netstack::{Counter, IfaceId, Instant, InterfaceConfig, Ipv4Cidr, Stack, StackConfig};

pub use check::Sent;
pub use spec::{PeerOpts, Seg, seg};
// The rest of the former single-file surface, which no test file names at the moment.
#[allow(unused_imports)]
pub use spec::{Flags, Opt, Ts};

use peer::arp_frame;

/// The stack's address.
pub const STACK_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The fake peer's address.
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The stack's MAC address.
pub const STACK_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// The fake peer's MAC address.
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// The port the stack listens on in passive-open scripts.
pub const LISTEN_PORT: u16 = 8080;
/// The peer's port (its source port in passive opens, the port the stack connects to otherwise).
pub const PEER_PORT: u16 = 45000;
/// The peer's initial sequence number.
pub const PEER_ISN: u32 = 0x3b9a_ca00;
/// The peer's timestamp clock reads this at time 0 (and ticks once per millisecond).
pub const PEER_TS_BASE: u32 = 77_000;
/// The MSS assumed when a SYN carries none (RFC 9293 section 3.7.1).
pub const DEFAULT_MSS: usize = 536;
/// The seed of the stack's fixed secrets (ISNs and ports are reproducible).
pub const SEED: u64 = 0x5eed;

/// The peer's stream byte at offset `k` (relative sequence number `k + 1`).
pub fn peer_byte(k: u64) -> u8 {
    (k % 251) as u8
}

/// The application's stream byte at offset `k` (what the script writes into the stack).
pub fn app_byte(k: u64) -> u8 {
    ((k % 241) as u8) ^ 0xa5
}

/// The peer's bytes from relative sequence number `rel_seq` on.
pub fn peer_data(rel_seq: u32, len: usize) -> Vec<u8> {
    let start = u64::from(rel_seq.wrapping_sub(1));
    (0..len as u64).map(|i| peer_byte(start + i)).collect()
}

/// The SYN options one side sent.
#[derive(Debug, Clone, Copy, Default)]
struct SynSeen {
    mss: Option<u16>,
    wscale: Option<u8>,
    sack_ok: bool,
    ts: bool,
}

/// What one read returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// Bytes (everything that was readable).
    Data(Vec<u8>),
    /// End of stream.
    Eof,
    /// Nothing to read yet.
    Pending,
    /// The connection's error.
    Error(io::ErrorKind),
}

/// One script: the stack, the fake peer's view of the flow under test, and the clock.
pub struct Script {
    /// The stack under test.
    pub stack: Stack,
    /// Its interface.
    pub iface: IfaceId,
    now: Instant,
    /// The flow under test: the stack's port (learned from its first segment if unset).
    pub stack_port: Option<u16>,
    /// The flow under test: the peer's port.
    pub peer_port: u16,
    /// The peer's ISN.
    pub peer_isn: u32,
    stack_isn: Option<u32>,
    peer_syn: Option<SynSeen>,
    stack_syn: Option<SynSeen>,
    out: VecDeque<Sent>,
    /// The application's bytes written on the flow's socket, from relative sequence 1 on.
    app_stream: Vec<u8>,
    last_stack_tsval: Option<u32>,
    last_ack: Option<u32>,
    max_edge: Option<u32>,
    /// Check that the advertised window's right edge never moves left.
    pub check_window_edge: bool,
    /// ARP requests the stack sent for the peer (all answered).
    pub arp_requests: usize,
    /// Every segment the stack emitted on any flow, in order (for post-mortems).
    pub log: Vec<Sent>,
}

impl Default for Script {
    fn default() -> Self {
        Script::new()
    }
}

impl Script {
    /// A script with the default (Linux) configuration.
    pub fn new() -> Script {
        Script::with_config(StackConfig::default())
    }

    /// A script whose stack has `config`.
    pub fn with_config(config: StackConfig) -> Script {
        let mut stack = Stack::with_secrets(config, Secrets::fixed(SEED));
        let iface = stack.add_interface(InterfaceConfig {
            mac: EthernetAddress(STACK_MAC),
            addr: Ipv4Cidr::new(STACK_IP, 24).expect("valid prefix"),
            mtu: 1500,
            checksum_offload: false,
            gateway: None,
            loopback: false,
        });
        let mut script = Script {
            stack,
            iface,
            now: Instant::ZERO,
            stack_port: None,
            peer_port: PEER_PORT,
            peer_isn: PEER_ISN,
            stack_isn: None,
            peer_syn: None,
            stack_syn: None,
            out: VecDeque::new(),
            app_stream: Vec::new(),
            last_stack_tsval: None,
            last_ack: None,
            max_edge: None,
            check_window_edge: true,
            arp_requests: 0,
            log: Vec::new(),
        };
        // The peer asks for our address: the stack learns the peer's and answers.
        let request = arp_frame(ArpOperation::REQUEST, [0xff; 6], [0; 6], STACK_IP.octets());
        script.stack.receive(script.now, script.iface, &request);
        script.flush();
        assert_eq!(
            script.stack.neighbor(PEER_IP),
            Some(EthernetAddress(PEER_MAC)),
            "the stack learned the peer's MAC from its ARP request"
        );
        script
    }

    /// The virtual time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now.total_millis()
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The stack's ISN, once learned.
    pub fn stack_isn(&self) -> Option<u32> {
        self.stack_isn
    }

    /// Forgets everything learned about the flow (ISNs, options, streams) for a new connection
    /// on the same ports: the peer starts over from `peer_isn`.
    pub fn new_incarnation(&mut self, peer_isn: u32) {
        self.peer_isn = peer_isn;
        self.stack_isn = None;
        self.peer_syn = None;
        self.stack_syn = None;
        self.app_stream.clear();
        self.last_stack_tsval = None;
        self.last_ack = None;
        self.max_edge = None;
    }

    /// A counter's current value.
    pub fn counter(&self, c: Counter) -> u64 {
        self.stack.counters().get(c)
    }

    /// Whether timestamps were negotiated on the flow (both SYNs carried them).
    pub fn ts_on(&self) -> bool {
        matches!((self.peer_syn, self.stack_syn), (Some(p), Some(s)) if p.ts && s.ts)
    }

    /// Whether SACK was negotiated on the flow.
    pub fn sack_on(&self) -> bool {
        matches!((self.peer_syn, self.stack_syn), (Some(p), Some(s)) if p.sack_ok && s.sack_ok)
    }

    /// The shifts in use on the flow: (the stack's, the peer's), if both sent window scale.
    pub fn shifts(&self) -> Option<(u8, u8)> {
        match (self.peer_syn, self.stack_syn) {
            (Some(p), Some(s)) => Some((s.wscale?, p.wscale?)),
            _ => None,
        }
    }

    /// The MSS the peer announced (536 if its SYN had none).
    pub fn peer_mss(&self) -> Option<usize> {
        self.peer_syn
            .map(|p| p.mss.map_or(DEFAULT_MSS, usize::from))
    }

    /// The stack's last TSval on the flow (what the peer echoes).
    pub fn last_stack_tsval(&self) -> Option<u32> {
        self.last_stack_tsval
    }

    /// The peer's TSval at the current time.
    pub fn peer_tsval(&self) -> u32 {
        PEER_TS_BASE.wrapping_add(self.now_ms() as u32)
    }

    // ---------------------------------------------------------------- the clock and output

    /// Moves the clock to `at_ms`, stopping at every deadline the stack asks for on the way
    /// and collecting what it sends.
    ///
    /// # Panics
    /// If `at_ms` is in the past, or the stack keeps asking to be polled at a passed time.
    #[track_caller]
    pub fn run_until(&mut self, at_ms: u64) {
        let target = Instant::from_millis(at_ms);
        assert!(
            target >= self.now,
            "time only moves forward: at {at_ms} ms, now {} ms",
            self.now_ms()
        );
        let mut stuck = 0;
        while let Some(next) = self.stack.poll_at() {
            if next > target {
                break;
            }
            if next <= self.now {
                stuck += 1;
                assert!(
                    stuck < 100,
                    "poll_at keeps returning {next:?}, which has passed (now {:?})",
                    self.now
                );
            } else {
                stuck = 0;
                self.now = next;
            }
            self.flush();
        }
        self.now = target;
        self.flush();
    }

    /// Lets the stack transmit at the current time; collects and checks every frame.
    pub fn flush(&mut self) {
        for _ in 0..1000 {
            let mut frames: Vec<Vec<u8>> = Vec::new();
            self.stack.transmit(
                self.now,
                &mut |_iface, len, fill: &mut dyn FnMut(&mut [u8])| {
                    let mut buf = vec![0u8; len];
                    fill(&mut buf);
                    frames.push(buf);
                    true
                },
            );
            if frames.is_empty() {
                return;
            }
            for frame in frames {
                self.process(&frame);
            }
        }
        panic!("the stack keeps transmitting at {:?}", self.now);
    }

    // ---------------------------------------------------------------- inject and expect

    /// Moves the clock to `at_ms` and delivers the segment `spec` from the peer.
    #[track_caller]
    pub fn inject(&mut self, at_ms: u64, spec: Seg) {
        self.run_until(at_ms);
        self.inject_now(spec);
    }

    /// Delivers the segment `spec` from the peer now.
    #[track_caller]
    pub fn inject_now(&mut self, spec: Seg) {
        let frame = self.build(&spec);
        self.stack.receive(self.now, self.iface, &frame);
        self.flush();
    }

    /// Delivers a raw frame from the peer now (for malformed input).
    pub fn inject_frame(&mut self, frame: &[u8]) {
        self.stack.receive(self.now, self.iface, frame);
        self.flush();
    }

    /// The next segment the stack sent (already), which must match `spec`.
    ///
    /// # Panics
    /// If nothing was sent or it does not match.
    #[track_caller]
    pub fn expect(&mut self, spec: Seg) -> Sent {
        let Some(got) = self.out.pop_front() else {
            panic!(
                "t={}ms: expected {spec}, but the stack sent nothing",
                self.now_ms()
            );
        };
        if let Err(why) = self.matches(&spec, &got) {
            panic!("expected {spec}\n     got {got}\n  {why}");
        }
        got
    }

    /// Runs the clock to `at_ms`, where the next segment must have been sent (not earlier).
    #[track_caller]
    pub fn expect_at(&mut self, at_ms: u64, spec: Seg) -> Sent {
        self.run_until(at_ms);
        let got = self.expect(spec);
        assert_eq!(got.at_ms, at_ms, "sent at the wrong time: {got}");
        got
    }

    /// Asserts the stack sent nothing not yet expected.
    #[track_caller]
    pub fn expect_nothing(&mut self) {
        if let Some(s) = self.out.front() {
            panic!(
                "t={}ms: expected nothing, but the stack sent {s} (and {} more)",
                self.now_ms(),
                self.out.len() - 1
            );
        }
    }

    /// Runs the clock to `at_ms` and asserts the stack sent nothing meanwhile.
    #[track_caller]
    pub fn expect_nothing_until(&mut self, at_ms: u64) {
        self.run_until(at_ms);
        self.expect_nothing();
    }

    /// The segments sent and not yet expected (taken out of the queue).
    pub fn take_sent(&mut self) -> Vec<Sent> {
        self.out.drain(..).collect()
    }
}
