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

#![allow(dead_code)]

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::task::{Context, Poll, Waker};

use etherparse::{
    ArpEthIpv4Packet, ArpOperation, ArpPacket, EtherType, Ethernet2Header, IpNumber, Ipv4Header,
    PacketBuilder, TcpHeader, TcpOptionElement,
};
use sockeye_netstack::tcp::isn::Secrets;
use sockeye_netstack::wire::EthernetAddress;
use sockeye_netstack::{
    Counter, IfaceId, Instant, InterfaceConfig, Ipv4Cidr, SocketHandle, Stack, StackConfig,
    TcpInfo, TcpState,
};

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

/// TCP control flags of a segment (URG, ECE and CWR are never used here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub ack: bool,
}

impl Flags {
    /// Parses packetdrill's notation: `S`, `F`, `R`, `P` and `.` for ACK (`"S."`, `"P."`, `"R"`).
    ///
    /// # Panics
    /// On any other character.
    pub fn parse(text: &str) -> Flags {
        let mut f = Flags::default();
        for c in text.chars() {
            match c {
                'S' => f.syn = true,
                'F' => f.fin = true,
                'R' => f.rst = true,
                'P' => f.psh = true,
                '.' => f.ack = true,
                _ => panic!("unknown flag {c:?} in {text:?}"),
            }
        }
        f
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, c) in [
            (self.syn, 'S'),
            (self.fin, 'F'),
            (self.rst, 'R'),
            (self.psh, 'P'),
            (self.ack, '.'),
        ] {
            if on {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// What a spec says about one option.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Opt<T> {
    /// Not mentioned: for an expectation, the harness's invariants decide; for an injected
    /// segment, absent (timestamps: added automatically once negotiated).
    #[default]
    Default,
    /// Must be absent (expect) / is not sent (inject).
    Absent,
    /// Must be present with any value (expect) / is filled in by the harness (inject).
    Any,
    /// Must be (expect) / is (inject) exactly this.
    Is(T),
}

/// A timestamps option where either field may be left open (`None`) in an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ts {
    pub val: Option<u32>,
    pub ecr: Option<u32>,
}

/// The options a peer puts in its SYN or SYN-ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerOpts {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
    pub ts: bool,
}

impl PeerOpts {
    /// What Linux offers on Ethernet: MSS 1460, SACK-permitted, timestamps, window scale 7.
    pub const FULL: PeerOpts = PeerOpts {
        mss: Some(1460),
        wscale: Some(7),
        sack_ok: true,
        ts: true,
    };
    /// No options at all.
    pub const NONE: PeerOpts = PeerOpts {
        mss: None,
        wscale: None,
        sack_ok: false,
        ts: false,
    };
}

/// A segment specification: what to inject, or what an emitted segment must look like.
///
/// Unset fields are "don't care" in an expectation, except the flags (always compared; PSH only
/// when the spec names it) and SACK blocks (absent unless the spec names them).
#[derive(Debug, Clone, Default)]
pub struct Seg {
    flags: Flags,
    seq: Option<u32>,
    ack: Option<u32>,
    win: Option<u16>,
    win_bytes: Option<usize>,
    len: Option<usize>,
    payload: Option<Vec<u8>>,
    mss: Opt<u16>,
    wscale: Opt<u8>,
    sack_ok: Opt<()>,
    ts: Opt<Ts>,
    sack: Opt<Vec<(u32, u32)>>,
    sack_unchecked: bool,
    ports: Option<(u16, u16)>,
}

/// A segment spec with these flags (packetdrill notation, see [`Flags::parse`]).
pub fn seg(flags: &str) -> Seg {
    Seg {
        flags: Flags::parse(flags),
        ..Seg::default()
    }
}

impl Seg {
    /// Relative sequence number.
    pub fn seq(mut self, seq: u32) -> Seg {
        self.seq = Some(seq);
        self
    }
    /// Relative acknowledgment number.
    pub fn ack(mut self, ack: u32) -> Seg {
        self.ack = Some(ack);
        self
    }
    /// The raw window field.
    pub fn win(mut self, win: u16) -> Seg {
        self.win = Some(win);
        self
    }
    /// The window in bytes (injected segments: divided by the peer's negotiated scale).
    pub fn win_bytes(mut self, bytes: usize) -> Seg {
        self.win_bytes = Some(bytes);
        self
    }
    /// Payload length (injected: the peer's stream bytes at this sequence number).
    pub fn len(mut self, len: usize) -> Seg {
        self.len = Some(len);
        self
    }
    /// Exact payload bytes.
    pub fn payload(mut self, bytes: &[u8]) -> Seg {
        self.len = Some(bytes.len());
        self.payload = Some(bytes.to_vec());
        self
    }
    /// MSS option with this value.
    pub fn mss(mut self, mss: u16) -> Seg {
        self.mss = Opt::Is(mss);
        self
    }
    /// No MSS option.
    pub fn no_mss(mut self) -> Seg {
        self.mss = Opt::Absent;
        self
    }
    /// Window scale option with this shift.
    pub fn wscale(mut self, shift: u8) -> Seg {
        self.wscale = Opt::Is(shift);
        self
    }
    /// No window scale option.
    pub fn no_wscale(mut self) -> Seg {
        self.wscale = Opt::Absent;
        self
    }
    /// SACK-permitted option.
    pub fn sack_ok(mut self) -> Seg {
        self.sack_ok = Opt::Is(());
        self
    }
    /// No SACK-permitted option.
    pub fn no_sack_ok(mut self) -> Seg {
        self.sack_ok = Opt::Absent;
        self
    }
    /// Timestamps with both values.
    pub fn ts(mut self, val: u32, ecr: u32) -> Seg {
        self.ts = Opt::Is(Ts {
            val: Some(val),
            ecr: Some(ecr),
        });
        self
    }
    /// Timestamps echoing `ecr`, any TSval (expect only).
    pub fn ts_ecr(mut self, ecr: u32) -> Seg {
        self.ts = Opt::Is(Ts {
            val: None,
            ecr: Some(ecr),
        });
        self
    }
    /// Timestamps present (expect) / filled in by the harness (inject).
    pub fn ts_any(mut self) -> Seg {
        self.ts = Opt::Any;
        self
    }
    /// No timestamps option.
    pub fn no_ts(mut self) -> Seg {
        self.ts = Opt::Absent;
        self
    }
    /// SACK blocks, relative to the peer's ISN in an expectation, to the stack's when injected.
    pub fn sack(mut self, blocks: &[(u32, u32)]) -> Seg {
        self.sack = Opt::Is(blocks.to_vec());
        self
    }
    /// Any SACK blocks, at least one (expect only).
    pub fn sack_any(mut self) -> Seg {
        self.sack = Opt::Any;
        self
    }
    /// SACK blocks are not checked (e.g. where a D-SACK would be as right as none).
    pub fn any_sack(mut self) -> Seg {
        self.sack_unchecked = true;
        self
    }
    /// Source and destination ports, from the sender's point of view (default: the flow's).
    pub fn ports(mut self, src: u16, dst: u16) -> Seg {
        self.ports = Some((src, dst));
        self
    }
    /// The SYN options a peer offers.
    pub fn with_opts(mut self, o: PeerOpts) -> Seg {
        self.mss = o.mss.map_or(Opt::Absent, Opt::Is);
        self.wscale = o.wscale.map_or(Opt::Absent, Opt::Is);
        self.sack_ok = if o.sack_ok { Opt::Is(()) } else { Opt::Absent };
        self.ts = if o.ts { Opt::Any } else { Opt::Absent };
        self
    }
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
        write!(f, "{} {}", self.flags, q(self.seq))?;
        if let Some(len) = self.len {
            write!(f, "({len})")?;
        }
        if self.flags.ack {
            write!(f, " ack {}", q(self.ack))?;
        }
        if let Some(w) = self.win {
            write!(f, " win {w}")?;
        }
        if let Some(w) = self.win_bytes {
            write!(f, " win {w}B")?;
        }
        let mut opts = Vec::new();
        match self.mss {
            Opt::Is(m) => opts.push(format!("mss {m}")),
            Opt::Absent => opts.push("!mss".into()),
            Opt::Any => opts.push("mss ?".into()),
            Opt::Default => {}
        }
        match self.sack_ok {
            Opt::Is(()) | Opt::Any => opts.push("sackOK".into()),
            Opt::Absent => opts.push("!sackOK".into()),
            Opt::Default => {}
        }
        match self.ts {
            Opt::Is(t) => opts.push(format!("TS val {} ecr {}", q(t.val), q(t.ecr))),
            Opt::Any => opts.push("TS".into()),
            Opt::Absent => opts.push("!TS".into()),
            Opt::Default => {}
        }
        match self.wscale {
            Opt::Is(w) => opts.push(format!("wscale {w}")),
            Opt::Any => opts.push("wscale ?".into()),
            Opt::Absent => opts.push("!wscale".into()),
            Opt::Default => {}
        }
        match &self.sack {
            Opt::Is(b) => opts.push(format!("sack {b:?}")),
            Opt::Any => opts.push("sack ?".into()),
            Opt::Absent | Opt::Default => {}
        }
        if !opts.is_empty() {
            write!(f, " <{}>", opts.join(","))?;
        }
        Ok(())
    }
}

/// A segment the stack emitted, as etherparse parsed it.
#[derive(Debug, Clone)]
pub struct Sent {
    /// When it left, in milliseconds since the script began.
    pub at_ms: u64,
    pub src_port: u16,
    pub dst_port: u16,
    pub flags: Flags,
    /// Sequence number relative to the stack's ISN (absolute while that is unknown).
    pub seq: u32,
    /// Acknowledgment number relative to the peer's ISN.
    pub ack: u32,
    /// The absolute sequence and acknowledgment numbers.
    pub abs_seq: u32,
    pub abs_ack: u32,
    /// The raw window field.
    pub win: u16,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
    pub ts: Option<(u32, u32)>,
    /// SACK blocks relative to the peer's ISN.
    pub sack: Vec<(u32, u32)>,
    pub options_len: usize,
    pub payload: Vec<u8>,
}

impl fmt::Display for Sent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={}ms {}>{} {} {}:{}({})",
            self.at_ms,
            self.src_port,
            self.dst_port,
            self.flags,
            self.seq,
            self.seq.wrapping_add(self.payload.len() as u32),
            self.payload.len()
        )?;
        if self.flags.ack {
            write!(f, " ack {}", self.ack)?;
        }
        write!(f, " win {}", self.win)?;
        let mut opts = Vec::new();
        if let Some(m) = self.mss {
            opts.push(format!("mss {m}"));
        }
        if self.sack_ok {
            opts.push("sackOK".into());
        }
        if let Some((v, e)) = self.ts {
            opts.push(format!("TS val {v} ecr {e}"));
        }
        if let Some(w) = self.wscale {
            opts.push(format!("wscale {w}"));
        }
        if !self.sack.is_empty() {
            opts.push(format!("sack {:?}", self.sack));
        }
        if !opts.is_empty() {
            write!(f, " <{}>", opts.join(","))?;
        }
        Ok(())
    }
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

/// The wrapping comparison `a < b` on the sequence circle.
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
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

    /// Parses and checks one emitted frame.
    fn process(&mut self, frame: &[u8]) {
        let (eth, rest) = Ethernet2Header::from_slice(frame).expect("an Ethernet frame");
        assert_eq!(eth.source, STACK_MAC, "frames leave from the stack's MAC");
        match eth.ether_type {
            EtherType::ARP => self.process_arp(&eth, rest),
            EtherType::IPV4 => {
                assert_eq!(eth.destination, PEER_MAC, "IPv4 goes to the peer's MAC");
                let sent = self.parse_tcp(frame, rest);
                self.check_invariants(&sent);
                self.log.push(sent.clone());
                self.out.push_back(sent);
            }
            other => panic!("unexpected ethertype {other:?} in {frame:02x?}"),
        }
    }

    fn process_arp(&mut self, eth: &Ethernet2Header, body: &[u8]) {
        let arp = ArpPacket::from_slice(body)
            .expect("a complete ARP packet")
            .try_eth_ipv4()
            .expect("Ethernet/IPv4 ARP");
        assert_eq!(arp.sender_mac, STACK_MAC);
        assert_eq!(arp.sender_ipv4, STACK_IP.octets());
        if arp.operation == ArpOperation::REPLY {
            assert_eq!(eth.destination, PEER_MAC, "replies are unicast");
            assert_eq!(arp.target_ipv4, PEER_IP.octets());
            assert_eq!(arp.target_mac, PEER_MAC);
            return;
        }
        assert_eq!(arp.operation, ArpOperation::REQUEST, "ARP request or reply");
        assert!(
            eth.destination == [0xff; 6] || eth.destination == PEER_MAC,
            "requests are broadcast or a unicast probe to the peer"
        );
        assert_eq!(
            arp.target_ipv4,
            PEER_IP.octets(),
            "the stack only asks for the peer"
        );
        self.arp_requests += 1;
        let reply = arp_frame(ArpOperation::REPLY, STACK_MAC, STACK_MAC, STACK_IP.octets());
        self.stack.receive(self.now, self.iface, &reply);
    }

    /// Checks the IPv4 and TCP headers with etherparse and turns the segment into a [`Sent`].
    fn parse_tcp(&mut self, frame: &[u8], body: &[u8]) -> Sent {
        let (ip, rest) = Ipv4Header::from_slice(body).expect("a valid IPv4 header");
        assert_eq!(ip.header_len(), 20, "no IP options");
        assert_eq!(
            ip.header_checksum,
            ip.calc_header_checksum(),
            "IPv4 header checksum"
        );
        let total = usize::from(ip.total_len);
        assert_eq!(
            frame.len(),
            Ethernet2Header::LEN + total,
            "the frame is exactly the IP datagram (total length {total})"
        );
        assert!(
            total <= 1500,
            "a {total}-byte datagram exceeds the 1500-byte MTU (DF is set): {:02x?}",
            &frame[..Ethernet2Header::LEN + 40.min(total)]
        );
        assert!(
            ip.dont_fragment,
            "TCP segments are sent with DF (PMTU discovery)"
        );
        assert!(!ip.is_fragmenting_payload(), "not a fragment");
        assert_eq!(ip.time_to_live, 64, "ip_default_ttl");
        assert_eq!(
            ip.protocol,
            IpNumber::TCP,
            "only TCP is expected, got {frame:02x?}"
        );
        assert_eq!(ip.source, STACK_IP.octets());
        assert_eq!(ip.destination, PEER_IP.octets());
        let (tcp, payload) = TcpHeader::from_slice(rest).expect("a valid TCP header");
        assert_eq!(
            tcp.header_len() + payload.len(),
            total - 20,
            "TCP header and payload fill the datagram"
        );
        assert_eq!(
            tcp.checksum,
            tcp.calc_checksum_ipv4(&ip, payload).expect("length fits"),
            "TCP checksum of {tcp:?}"
        );
        assert!(
            !tcp.urg && !tcp.ece && !tcp.cwr && !tcp.ns,
            "no URG/ECN flags"
        );
        assert_eq!(tcp.urgent_pointer, 0);
        let mut sent = Sent {
            at_ms: self.now_ms(),
            src_port: tcp.source_port,
            dst_port: tcp.destination_port,
            flags: Flags {
                syn: tcp.syn,
                fin: tcp.fin,
                rst: tcp.rst,
                psh: tcp.psh,
                ack: tcp.ack,
            },
            seq: 0,
            ack: 0,
            abs_seq: tcp.sequence_number,
            abs_ack: tcp.acknowledgment_number,
            win: tcp.window_size,
            mss: None,
            wscale: None,
            sack_ok: false,
            ts: None,
            sack: Vec::new(),
            options_len: tcp.options.len(),
            payload: payload.to_vec(),
        };
        if !tcp.ack {
            assert_eq!(
                tcp.acknowledgment_number, 0,
                "the ACK field is zero when the ACK flag is off"
            );
        }
        for option in tcp.options_iterator() {
            match option.expect("well-formed TCP options") {
                TcpOptionElement::Noop => {}
                TcpOptionElement::MaximumSegmentSize(m) => {
                    assert!(sent.mss.replace(m).is_none(), "one MSS option")
                }
                TcpOptionElement::WindowScale(w) => {
                    assert!(w <= 14, "window scale {w} > 14 (RFC 7323)");
                    assert!(sent.wscale.replace(w).is_none(), "one window scale option");
                }
                TcpOptionElement::SelectiveAcknowledgementPermitted => {
                    assert!(!sent.sack_ok, "one SACK-permitted option");
                    sent.sack_ok = true;
                }
                TcpOptionElement::Timestamp(v, e) => {
                    assert!(sent.ts.replace((v, e)).is_none(), "one timestamps option")
                }
                TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                    assert!(sent.sack.is_empty(), "one SACK option");
                    for (l, r) in std::iter::once(first).chain(rest.into_iter().flatten()) {
                        sent.sack
                            .push((l.wrapping_sub(self.peer_isn), r.wrapping_sub(self.peer_isn)));
                    }
                }
            }
        }
        // Learn the flow's port and the stack's ISN.
        if self.stack_port.is_none() && sent.dst_port == self.peer_port {
            self.stack_port = Some(sent.src_port);
        }
        let ours = self.is_flow(&sent);
        if ours && sent.flags.syn {
            if self.stack_isn.is_none() {
                self.stack_isn = Some(sent.abs_seq);
            }
            self.stack_syn = Some(SynSeen {
                mss: sent.mss,
                wscale: sent.wscale,
                sack_ok: sent.sack_ok,
                ts: sent.ts.is_some(),
            });
        }
        sent.seq = sent.abs_seq.wrapping_sub(self.stack_isn.unwrap_or(0));
        sent.ack = sent.abs_ack.wrapping_sub(self.peer_isn);
        sent
    }

    fn is_flow(&self, s: &Sent) -> bool {
        Some(s.src_port) == self.stack_port && s.dst_port == self.peer_port
    }

    /// The protocol invariants every emitted segment must satisfy.
    fn check_invariants(&mut self, s: &Sent) {
        let f = s.flags;
        if !f.syn {
            assert!(
                s.mss.is_none() && s.wscale.is_none() && !s.sack_ok,
                "MSS, window scale and SACK-permitted belong in SYNs only: {s}"
            );
        }
        if f.rst {
            assert!(s.payload.is_empty(), "a RST carries no data: {s}");
            assert!(!f.syn && !f.fin, "a RST is only a RST: {s}");
        } else if !f.syn {
            assert!(f.ack, "every segment after the SYN carries an ACK: {s}");
        }
        if !self.is_flow(s) {
            return;
        }
        if f.syn && f.ack {
            if let Some(p) = self.peer_syn {
                assert!(
                    (s.wscale.is_none() || p.wscale.is_some())
                        && (!s.sack_ok || p.sack_ok)
                        && (s.ts.is_none() || p.ts),
                    "a SYN-ACK carries only options the peer offered ({p:?}): {s}"
                );
            }
        }
        let negotiated = self.peer_syn.is_some() && self.stack_syn.is_some();
        if negotiated && !f.rst && (!f.syn || f.ack) {
            if self.ts_on() {
                assert!(
                    s.ts.is_some(),
                    "timestamps negotiated: every segment has them: {s}"
                );
            } else {
                assert!(s.ts.is_none(), "timestamps not negotiated, but sent: {s}");
            }
        }
        if let Some((val, _)) = s.ts {
            if let Some(last) = self.last_stack_tsval {
                assert!(
                    !seq_lt(val, last),
                    "TSval went backwards ({last} -> {val}): {s}"
                );
            }
            self.last_stack_tsval = Some(val);
        }
        if !s.sack.is_empty() {
            assert!(self.sack_on(), "SACK blocks without SACK negotiated: {s}");
            assert!(s.sack.len() <= 4, "at most 4 SACK blocks: {s}");
        }
        if let Some(mss) = self.peer_mss() {
            assert!(
                s.payload.len() + s.options_len <= mss,
                "payload {} + options {} exceed the peer's MSS {mss}: {s}",
                s.payload.len(),
                s.options_len
            );
        }
        if !s.payload.is_empty() {
            assert!(self.stack_isn.is_some(), "data before the SYN: {s}");
            let start = s.seq.wrapping_sub(1) as usize;
            let end = start + s.payload.len();
            assert!(
                end <= self.app_stream.len(),
                "the stack sent bytes {start}..{end} of a stream of {} written: {s}",
                self.app_stream.len()
            );
            assert!(
                s.payload == self.app_stream[start..end],
                "payload differs from what the application wrote at {start}: {s}"
            );
        }
        if f.ack && !f.rst {
            if let Some(last) = self.last_ack {
                assert!(
                    !seq_lt(s.abs_ack, last),
                    "the ACK number went backwards: {s}"
                );
            }
            self.last_ack = Some(s.abs_ack);
            if !f.syn && self.check_window_edge {
                let shift = self.shifts().map_or(0, |(ours, _)| ours);
                let edge = s.abs_ack.wrapping_add(u32::from(s.win) << shift);
                // RFC 7323 2.4: with scaling, the edge may appear to retract by less than one
                // scale unit (the window field is rounded), never by more.
                let unit = 1u32 << shift;
                if let Some(max) = self.max_edge {
                    assert!(
                        !seq_lt(edge.wrapping_add(unit - 1), max),
                        "the window's right edge moved left by {} (RFC 9293 3.8.6.2.2, \
                         RFC 7323 2.4): {s}",
                        max.wrapping_sub(edge)
                    );
                }
                if self.max_edge.is_none_or(|max| seq_lt(max, edge)) {
                    self.max_edge = Some(edge);
                }
            }
        }
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

    /// Builds the peer's frame for `spec`.
    #[track_caller]
    pub fn build(&mut self, spec: &Seg) -> Vec<u8> {
        let f = spec.flags;
        let (src, dst) = spec.ports.unwrap_or_else(|| {
            (
                self.peer_port,
                self.stack_port
                    .expect("the stack's port is unknown: listen, or let it send first"),
            )
        });
        let flow = spec.ports.is_none();
        let rel_seq = spec
            .seq
            .expect("an injected segment needs a sequence number");
        let seq = self.peer_isn.wrapping_add(rel_seq);
        let stack_base = self.stack_isn.unwrap_or(0);
        // Options.
        let mut options = Vec::new();
        if let Opt::Is(m) = spec.mss {
            options.push(TcpOptionElement::MaximumSegmentSize(m));
        }
        if let Opt::Is(()) = spec.sack_ok {
            options.push(TcpOptionElement::SelectiveAcknowledgementPermitted);
        }
        let auto_ts = || {
            (
                PEER_TS_BASE.wrapping_add(self.now_ms() as u32),
                self.last_stack_tsval.unwrap_or(0),
            )
        };
        let ts = match spec.ts {
            Opt::Is(t) => Some((
                t.val.expect("an injected TSval"),
                t.ecr.expect("an injected TSecr"),
            )),
            Opt::Any => Some(auto_ts()),
            Opt::Absent => None,
            Opt::Default => (flow && !f.syn && !f.rst && self.ts_on()).then(auto_ts),
        };
        if let Some((v, e)) = ts {
            options.push(TcpOptionElement::Timestamp(v, e));
        }
        if let Opt::Is(w) = spec.wscale {
            options.push(TcpOptionElement::Noop);
            options.push(TcpOptionElement::WindowScale(w));
        }
        if let Opt::Is(blocks) = &spec.sack {
            assert!(
                !blocks.is_empty() && blocks.len() <= 4,
                "1 to 4 SACK blocks"
            );
            let abs = |(l, r): (u32, u32)| (stack_base.wrapping_add(l), stack_base.wrapping_add(r));
            let mut more = [None; 3];
            for (i, b) in blocks.iter().skip(1).enumerate() {
                more[i] = Some(abs(*b));
            }
            options.push(TcpOptionElement::Noop);
            options.push(TcpOptionElement::Noop);
            options.push(TcpOptionElement::SelectiveAcknowledgement(
                abs(blocks[0]),
                more,
            ));
        }
        // Window.
        let win = match (spec.win, spec.win_bytes) {
            (Some(w), _) => w,
            (None, Some(bytes)) => {
                let shift = if f.syn {
                    0
                } else {
                    self.shifts().map_or(0, |(_, peer)| peer)
                };
                assert_eq!(
                    bytes % (1 << shift),
                    0,
                    "{bytes} B is not a multiple of the scale"
                );
                u16::try_from(bytes >> shift).expect("window fits the field")
            }
            (None, None) => 65535,
        };
        // Payload.
        let payload = match (&spec.payload, spec.len) {
            (Some(p), _) => p.clone(),
            (None, Some(len)) => {
                let first = if f.syn {
                    rel_seq.wrapping_add(1)
                } else {
                    rel_seq
                };
                peer_data(first, len)
            }
            (None, None) => Vec::new(),
        };
        if flow && f.syn {
            self.peer_syn = Some(SynSeen {
                mss: match spec.mss {
                    Opt::Is(m) => Some(m),
                    _ => None,
                },
                wscale: match spec.wscale {
                    Opt::Is(w) => Some(w),
                    _ => None,
                },
                sack_ok: spec.sack_ok == Opt::Is(()),
                ts: ts.is_some(),
            });
        }
        let mut builder = PacketBuilder::ethernet2(PEER_MAC, STACK_MAC)
            .ipv4(PEER_IP.octets(), STACK_IP.octets(), 64)
            .tcp(src, dst, seq, win);
        if f.syn {
            builder = builder.syn();
        }
        if f.fin {
            builder = builder.fin();
        }
        if f.rst {
            builder = builder.rst();
        }
        if f.psh {
            builder = builder.psh();
        }
        if f.ack {
            let rel = spec
                .ack
                .expect("an injected ACK needs an acknowledgment number");
            builder = builder.ack(stack_base.wrapping_add(rel));
        }
        let builder = builder.options(&options).expect("options fit");
        let mut frame = Vec::with_capacity(builder.size(payload.len()));
        builder.write(&mut frame, &payload).expect("frame builds");
        frame
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

    fn matches(&self, spec: &Seg, got: &Sent) -> Result<(), String> {
        let (src, dst) = spec
            .ports
            .unwrap_or((self.stack_port.unwrap_or(got.src_port), self.peer_port));
        if (got.src_port, got.dst_port) != (src, dst) {
            return Err(format!("ports: want {src}>{dst}"));
        }
        let (w, g) = (spec.flags, got.flags);
        if (w.syn, w.fin, w.rst, w.ack) != (g.syn, g.fin, g.rst, g.ack) || (w.psh && !g.psh) {
            return Err(format!("flags: want {w}, got {g}"));
        }
        if let Some(seq) = spec.seq
            && seq != got.seq
        {
            return Err(format!("seq: want {seq}, got {}", got.seq));
        }
        if let Some(ack) = spec.ack
            && ack != got.ack
        {
            return Err(format!("ack: want {ack}, got {}", got.ack));
        }
        if let Some(win) = spec.win
            && win != got.win
        {
            return Err(format!("window field: want {win}, got {}", got.win));
        }
        if let Some(bytes) = spec.win_bytes {
            let shift = if got.flags.syn {
                0
            } else {
                self.shifts().map_or(0, |(ours, _)| ours)
            };
            let have = usize::from(got.win) << shift;
            if have != bytes {
                return Err(format!("window: want {bytes} B, got {have} B"));
            }
        }
        if let Some(len) = spec.len
            && len != got.payload.len()
        {
            return Err(format!("length: want {len}, got {}", got.payload.len()));
        }
        if let Some(p) = &spec.payload
            && *p != got.payload
        {
            return Err("payload bytes differ".into());
        }
        check_opt("mss", &spec.mss, got.mss)?;
        check_opt("wscale", &spec.wscale, got.wscale)?;
        check_opt("sackOK", &spec.sack_ok, got.sack_ok.then_some(()))?;
        match spec.ts {
            Opt::Default => {}
            Opt::Absent if got.ts.is_some() => return Err("timestamps: want none".into()),
            Opt::Any | Opt::Is(_) if got.ts.is_none() => {
                return Err("timestamps: want some".into());
            }
            Opt::Is(t) => {
                let (v, e) = got.ts.expect("checked");
                if t.val.is_some_and(|x| x != v) || t.ecr.is_some_and(|x| x != e) {
                    return Err(format!("timestamps: want {t:?}"));
                }
            }
            _ => {}
        }
        match &spec.sack {
            _ if spec.sack_unchecked => {}
            Opt::Default | Opt::Absent if !got.sack.is_empty() => {
                return Err("SACK blocks: want none".into());
            }
            Opt::Any if got.sack.is_empty() => return Err("SACK blocks: want some".into()),
            Opt::Is(b) if *b != got.sack => return Err(format!("SACK blocks: want {b:?}")),
            _ => {}
        }
        Ok(())
    }

    // ---------------------------------------------------------------- the application side

    /// A listener on `port` (backlog 128); the flow's stack port becomes `port`.
    pub fn listen(&mut self, port: u16) -> SocketHandle {
        self.stack_port = Some(port);
        self.stack
            .tcp_listener(SocketAddrV4::new(STACK_IP, port), 128)
            .expect("listen")
    }

    /// The next connection from `listener`'s accept queue.
    pub fn accept(&mut self, listener: SocketHandle) -> Option<SocketHandle> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.stack.tcp_poll_accept(listener, &mut cx) {
            Poll::Ready(Ok((h, peer))) => {
                assert_eq!(peer, SocketAddrV4::new(PEER_IP, self.peer_port));
                Some(h)
            }
            Poll::Ready(Err(e)) => panic!("accept failed: {e}"),
            Poll::Pending => None,
        }
    }

    /// Connects to the peer at `at_ms` (the SYN leaves at once).
    pub fn connect(&mut self, at_ms: u64) -> SocketHandle {
        self.run_until(at_ms);
        self.stack_port = None;
        let h = self
            .stack
            .tcp_connect_to(self.now, SocketAddrV4::new(PEER_IP, self.peer_port))
            .expect("connect");
        self.flush();
        h
    }

    /// Where the connect stands.
    pub fn connect_status(&mut self, h: SocketHandle) -> Poll<io::Result<()>> {
        let mut cx = Context::from_waker(Waker::noop());
        self.stack.tcp_poll_connect(h, &mut cx)
    }

    /// Writes `n` bytes of the application's stream; returns how many the stack took.
    pub fn write(&mut self, h: SocketHandle, n: usize) -> usize {
        let start = self.app_stream.len() as u64;
        let data: Vec<u8> = (0..n as u64).map(|i| app_byte(start + i)).collect();
        let mut cx = Context::from_waker(Waker::noop());
        let taken = match self.stack.tcp_poll_write(h, &mut cx, &data) {
            Poll::Ready(Ok(taken)) => taken,
            Poll::Ready(Err(e)) => panic!("write failed: {e}"),
            Poll::Pending => 0,
        };
        self.app_stream.extend_from_slice(&data[..taken]);
        self.flush();
        taken
    }

    /// A write that is expected to fail; returns the error.
    pub fn write_err(&mut self, h: SocketHandle) -> io::ErrorKind {
        let mut cx = Context::from_waker(Waker::noop());
        match self.stack.tcp_poll_write(h, &mut cx, b"x") {
            Poll::Ready(Err(e)) => e.kind(),
            other => panic!("expected the write to fail, got {other:?}"),
        }
    }

    /// The application's bytes at relative sequence numbers `rel_seq..rel_seq + len`.
    pub fn app_data(&self, rel_seq: u32, len: usize) -> Vec<u8> {
        let start = rel_seq as usize - 1;
        self.app_stream[start..start + len].to_vec()
    }

    /// Reads everything readable.
    pub fn read(&mut self, h: SocketHandle) -> Read {
        let mut cx = Context::from_waker(Waker::noop());
        let mut data = Vec::new();
        let mut buf = vec![0u8; 65536];
        let result = loop {
            match self.stack.tcp_poll_read(h, &mut cx, &mut buf) {
                Poll::Ready(Ok(0)) => break Read::Eof,
                Poll::Ready(Ok(n)) => data.extend_from_slice(&buf[..n]),
                Poll::Ready(Err(e)) => break Read::Error(e.kind()),
                Poll::Pending => break Read::Pending,
            }
        };
        self.flush();
        if data.is_empty() {
            result
        } else {
            Read::Data(data)
        }
    }

    /// Shuts down writing (queues the FIN).
    pub fn shutdown(&mut self, h: SocketHandle) {
        self.stack
            .tcp_shutdown(h, Shutdown::Write)
            .expect("shutdown");
        self.flush();
    }

    /// Closes the handle.
    pub fn close(&mut self, h: SocketHandle) {
        self.stack.tcp_close(self.now, h);
        self.flush();
    }

    /// Aborts the connection (SO_LINGER 0).
    pub fn abort(&mut self, h: SocketHandle) {
        self.stack.tcp_abort(self.now, h);
        self.flush();
    }

    /// Sets TCP_NODELAY.
    pub fn set_nodelay(&mut self, h: SocketHandle, on: bool) {
        self.stack.tcp_set_nodelay(h, on).expect("nodelay");
        self.flush();
    }

    /// The connection's state.
    pub fn state(&mut self, h: SocketHandle) -> TcpState {
        self.stack.tcp_state(h).expect("a live handle")
    }

    /// The connection's internals.
    pub fn info(&mut self, h: SocketHandle) -> TcpInfo {
        self.stack.tcp_info(h).expect("a live handle")
    }

    // ---------------------------------------------------------------- whole handshakes

    /// Passive open at the current time: a listener on [`LISTEN_PORT`], the peer's SYN with
    /// `opts`, the SYN-ACK, the final ACK, and accept. Returns (listener, connection).
    #[track_caller]
    pub fn passive_open(&mut self, opts: PeerOpts) -> (SocketHandle, SocketHandle) {
        let listener = self.listen(LISTEN_PORT);
        self.inject_now(seg("S").seq(0).win(65535).with_opts(opts));
        self.expect(seg("S.").seq(0).ack(1));
        self.inject_now(seg(".").seq(1).ack(1));
        let conn = self.accept(listener).expect("the connection is accepted");
        assert_eq!(self.state(conn), TcpState::Established);
        self.expect_nothing();
        (listener, conn)
    }

    /// Active open at the current time: connect, the SYN, the peer's SYN-ACK with `opts`, the
    /// ACK. Returns the connection.
    #[track_caller]
    pub fn active_open(&mut self, opts: PeerOpts) -> SocketHandle {
        let now = self.now_ms();
        let conn = self.connect(now);
        self.expect(seg("S").seq(0));
        self.inject_now(seg("S.").seq(0).ack(1).win(65535).with_opts(opts));
        self.expect(seg(".").seq(1).ack(1));
        assert!(matches!(self.connect_status(conn), Poll::Ready(Ok(()))));
        self.expect_nothing();
        conn
    }
}

fn check_opt<T: PartialEq + fmt::Debug + Copy>(
    name: &str,
    want: &Opt<T>,
    got: Option<T>,
) -> Result<(), String> {
    let ok = match want {
        Opt::Default => true,
        Opt::Absent => got.is_none(),
        Opt::Any => got.is_some(),
        Opt::Is(v) => got == Some(*v),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{name}: want {want:?}, got {got:?}"))
    }
}

/// An ARP frame from the peer to the stack (`dst` the Ethernet destination).
fn arp_frame(op: ArpOperation, dst: [u8; 6], target_mac: [u8; 6], target_ip: [u8; 4]) -> Vec<u8> {
    let arp = ArpEthIpv4Packet {
        operation: op,
        sender_mac: PEER_MAC,
        sender_ipv4: PEER_IP.octets(),
        target_mac,
        target_ipv4: target_ip,
    };
    let builder = PacketBuilder::ethernet2(PEER_MAC, dst).arp(ArpPacket::from(arp));
    let mut frame = Vec::with_capacity(builder.size());
    builder.write(&mut frame).expect("ARP frame builds");
    frame
}
