//! Helpers for the TCP behaviour tests (`tcp_timers`, `tcp_listen`, `tcp_close`):
//!
//! - [`Capture`]: every TCP segment the stacks put on the simulated link, parsed by etherparse
//!   (the independent oracle) into a [`Seg`]; with `SOCKEYE_SIM_TRACE=1` each is also printed.
//! - [`refresh_arp`]: feeds a stack an ARP request from a peer, so the peer stays resolved while
//!   the link loses every frame (a black-holed peer must still be a known neighbour, or the
//!   stack would park its segments behind ARP and the tap would never see them).
//! - Small drivers for the poll-shaped socket API: connect and accept, read and write what is
//!   possible now, run until a condition holds, and a one-way bulk [`Flow`] whose reader can
//!   be paused.
//!
//! Included by the test files with `#[path = "support/apps.rs"] mod apps;`.

#![allow(dead_code)]

use core::fmt;
use core::net::SocketAddrV4;
use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use etherparse::{NetSlice, SlicedPacket, TcpOptionElement, TransportSlice};
use sockeye_netstack::route::IfaceId;
use sockeye_netstack::sim::{self, Control, Outcome, Sim};
use sockeye_netstack::tcp::isn::Secrets;
use sockeye_netstack::{Instant, InterfaceConfig, Ipv4Cidr, SocketHandle, Stack, StackConfig};

/// A context whose waker does nothing (the simulator polls every socket at every step).
pub fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// Milliseconds as a `Duration`.
pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Seconds as a `Duration`.
pub fn secs(v: u64) -> Duration {
    Duration::from_secs(v)
}

/// `len` deterministic bytes that differ with `seed` and do not repeat with a short period.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = sim::Rng::new(seed ^ 0xda7a);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// Whether `a` and `b` are within `tolerance` of each other.
pub fn near(a: Duration, b: Duration, tolerance: Duration) -> bool {
    a.abs_diff(b) <= tolerance
}

/// One TCP segment seen on the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    pub at: Instant,
    /// The sending stack's index.
    pub from: usize,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: u32,
    /// The acknowledgment number, when the ACK flag is set.
    pub ack: Option<u32>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub window: u16,
    /// Payload bytes.
    pub len: usize,
    /// The IPv4 total length.
    pub ip_len: usize,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    pub sack_blocks: usize,
    pub timestamps: Option<(u32, u32)>,
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags: String = [
            (self.syn, 'S'),
            (self.fin, 'F'),
            (self.rst, 'R'),
            (self.psh, 'P'),
            (self.ack.is_some(), '.'),
        ]
        .iter()
        .filter(|f| f.0)
        .map(|f| f.1)
        .collect();
        write!(
            f,
            "{:?} {}: {}>{} [{flags}] seq {} ack {} win {} len {}",
            self.at,
            self.from,
            self.src,
            self.dst,
            self.seq,
            self.ack.unwrap_or(0),
            self.window,
            self.len
        )?;
        if let Some(mss) = self.mss {
            write!(f, " mss {mss}")?;
        }
        if let Some(ws) = self.wscale {
            write!(f, " ws {ws}")?;
        }
        if self.sack_permitted {
            write!(f, " sackOK")?;
        }
        if self.sack_blocks > 0 {
            write!(f, " sack {}", self.sack_blocks)?;
        }
        if self.timestamps.is_some() {
            write!(f, " ts")?;
        }
        Ok(())
    }
}

/// Parses a frame; `None` for frames that are not IPv4/TCP (ARP). Panics on an IPv4 frame
/// etherparse rejects: the stack must only emit well-formed frames.
fn parse(at: Instant, from: usize, frame: &[u8]) -> Option<Seg> {
    if frame.len() < 14 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let p = SlicedPacket::from_ethernet(frame)
        .unwrap_or_else(|e| panic!("{at:?} stack {from} sent a malformed IPv4 frame: {e:?}"));
    let Some(NetSlice::Ipv4(ip)) = p.net else {
        return None;
    };
    let Some(TransportSlice::Tcp(t)) = p.transport else {
        return None;
    };
    let header = ip.header();
    let mut seg = Seg {
        at,
        from,
        src: SocketAddrV4::new(header.source_addr(), t.source_port()),
        dst: SocketAddrV4::new(header.destination_addr(), t.destination_port()),
        seq: t.sequence_number(),
        ack: t.ack().then(|| t.acknowledgment_number()),
        syn: t.syn(),
        fin: t.fin(),
        rst: t.rst(),
        psh: t.psh(),
        window: t.window_size(),
        len: t.payload().len(),
        ip_len: usize::from(header.total_len()),
        mss: None,
        wscale: None,
        sack_permitted: false,
        sack_blocks: 0,
        timestamps: None,
    };
    for option in t.options_iterator() {
        match option.unwrap_or_else(|e| panic!("{at:?} stack {from}: bad TCP option {e:?}")) {
            TcpOptionElement::MaximumSegmentSize(v) => seg.mss = Some(v),
            TcpOptionElement::WindowScale(v) => seg.wscale = Some(v),
            TcpOptionElement::SelectiveAcknowledgementPermitted => seg.sack_permitted = true,
            TcpOptionElement::SelectiveAcknowledgement(_, more) => {
                seg.sack_blocks = 1 + more.iter().flatten().count();
            }
            TcpOptionElement::Timestamp(v, e) => seg.timestamps = Some((v, e)),
            TcpOptionElement::Noop => {}
        }
    }
    Some(seg)
}

/// Every TCP segment sent on a simulation's link (before faults apply).
#[derive(Clone, Default)]
pub struct Capture {
    segs: Rc<RefCell<Vec<Seg>>>,
}

impl Capture {
    /// Installs the tap (replacing any other).
    pub fn install(sim: &mut Sim) -> Capture {
        let capture = Capture::default();
        let segs = capture.segs.clone();
        let trace = std::env::var_os("SOCKEYE_SIM_TRACE").is_some();
        sim.set_tap(move |now, from, frame| {
            if let Some(seg) = parse(now, from, frame) {
                if trace {
                    eprintln!("{seg}");
                }
                segs.borrow_mut().push(seg);
            }
        });
        capture
    }

    /// Every segment so far.
    pub fn all(&self) -> Vec<Seg> {
        self.segs.borrow().clone()
    }

    /// The segments matching `pred`.
    pub fn find(&self, pred: impl Fn(&Seg) -> bool) -> Vec<Seg> {
        self.segs
            .borrow()
            .iter()
            .filter(|s| pred(s))
            .cloned()
            .collect()
    }

    /// The segments sent by stack `from` at or after `t` matching `pred`.
    pub fn sent_since(&self, from: usize, t: Instant, pred: impl Fn(&Seg) -> bool) -> Vec<Seg> {
        self.find(|s| s.from == from && s.at >= t && pred(s))
    }

    /// How many segments were captured so far (a mark for [`Capture::after`]).
    pub fn mark(&self) -> usize {
        self.segs.borrow().len()
    }

    /// The segments captured after `mark` matching `pred`.
    pub fn after(&self, mark: usize, pred: impl Fn(&Seg) -> bool) -> Vec<Seg> {
        self.segs.borrow()[mark..]
            .iter()
            .filter(|s| pred(s))
            .cloned()
            .collect()
    }

    /// Payload bytes stack `from` sent again: below the highest sequence number it had
    /// already sent (the link's view of retransmission, whatever the sender counted).
    pub fn retransmitted_bytes(&self, from: usize) -> u64 {
        let mut highest: Option<u32> = None;
        let mut bytes = 0u64;
        for s in self.find(|s| s.from == from && s.len > 0) {
            let end = s.seq.wrapping_add(s.len as u32);
            let Some(h) = highest else {
                highest = Some(end);
                continue;
            };
            let behind = h.wrapping_sub(s.seq) as i32;
            if behind > 0 {
                bytes += (behind as u64).min(s.len as u64);
            }
            if (end.wrapping_sub(h) as i32) > 0 {
                highest = Some(end);
            }
        }
        bytes
    }

    /// Prints every segment (for failure messages).
    pub fn dump(&self) -> String {
        self.segs
            .borrow()
            .iter()
            .map(|s| format!("{s}\n"))
            .collect()
    }
}

/// Gaps between consecutive instants.
pub fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Makes stack `stack` (re)learn stack `peer`'s MAC address, as if `peer` had asked for
/// `stack`'s: the entry becomes REACHABLE for 30 s.
pub fn refresh_arp(sim: &mut Sim, stack: usize, peer: usize) {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&sim::mac(stack).0);
    frame.extend_from_slice(&sim::mac(peer).0);
    // EtherType ARP; Ethernet/IPv4, 6- and 4-byte addresses, request.
    frame.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&sim::mac(peer).0);
    frame.extend_from_slice(&sim::addr(peer).octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&sim::addr(stack).octets());
    let now = sim.now;
    sim.stacks[stack].receive(now, IfaceId(0), &frame);
}

/// A stack like the simulator's stack `i` (same MAC and address), with `mtu` and fresh state:
/// swapped into `sim.stacks[i]` it models a rebooted peer, or one on a link with another MTU.
pub fn fresh_stack(i: usize, mtu: usize, seed: u64) -> Stack {
    let mut stack = Stack::with_secrets(StackConfig::default(), Secrets::fixed(seed));
    stack.add_interface(InterfaceConfig {
        mac: sim::mac(i),
        addr: Ipv4Cidr::new(sim::addr(i), 24).expect("valid prefix"),
        mtu,
        checksum_offload: false,
        gateway: None,
        loopback: false,
    });
    stack
}

/// Runs until `cond` holds (true) or `limit` of virtual time passes (false).
pub fn run_until(sim: &mut Sim, limit: Duration, mut cond: impl FnMut(&mut Sim) -> bool) -> bool {
    let deadline = sim.now + limit;
    sim.run(deadline, |s| {
        if cond(s) {
            Control::Done
        } else {
            Control::Continue
        }
    }) == Outcome::Done
}

/// Runs for `d` while keeping stack `stack`'s entry for `peer` fresh (for black-holed links).
pub fn advance_dark(sim: &mut Sim, d: Duration, stack: usize, peer: usize) {
    let deadline = sim.now + d;
    sim.run(deadline, |s| {
        refresh_arp(s, stack, peer);
        Control::Continue
    });
    sim.now = deadline;
}

/// Runs until virtual time `t` (no application).
pub fn advance_to(sim: &mut Sim, t: Instant) {
    let d = t - sim.now;
    sim.advance(d);
}

/// [`advance_dark`] until virtual time `t`.
pub fn advance_dark_to(sim: &mut Sim, t: Instant, stack: usize, peer: usize) {
    let d = t - sim.now;
    advance_dark(sim, d, stack, peer);
}

/// The socket address of port `port` on stack `i`.
pub fn sa(i: usize, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(sim::addr(i), port)
}

/// A listener on stack `i`, port `port`.
pub fn listen(sim: &mut Sim, i: usize, port: u16, backlog: u32) -> SocketHandle {
    sim.stacks[i]
        .tcp_listener(sa(i, port), backlog)
        .expect("listen")
}

/// Starts a connection from stack `from` to `port` on stack `to`.
pub fn connect(sim: &mut Sim, from: usize, to: usize, port: u16) -> SocketHandle {
    let now = sim.now;
    sim.stacks[from]
        .tcp_connect_to(now, sa(to, port))
        .expect("connect")
}

/// One poll of a connect.
pub fn poll_connect(stack: &mut Stack, h: SocketHandle) -> Poll<io::Result<()>> {
    stack.tcp_poll_connect(h, &mut cx())
}

/// One poll of accept.
pub fn accept(stack: &mut Stack, listener: SocketHandle) -> Option<(SocketHandle, SocketAddrV4)> {
    match stack.tcp_poll_accept(listener, &mut cx()) {
        Poll::Ready(r) => Some(r.expect("accept")),
        Poll::Pending => None,
    }
}

/// Connects stack `client` to the listener on `port` of stack `server` and accepts: returns
/// (client handle, server handle). Panics if that takes more than 10 s.
pub fn establish(
    sim: &mut Sim,
    client: usize,
    server: usize,
    listener: SocketHandle,
    port: u16,
) -> (SocketHandle, SocketHandle) {
    let c = connect(sim, client, server, port);
    let mut accepted = None;
    let ok = run_until(sim, secs(10), |s| {
        if accepted.is_none() {
            accepted = accept(&mut s.stacks[server], listener).map(|(h, _)| h);
        }
        accepted.is_some() && poll_connect(&mut s.stacks[client], c).is_ready()
    });
    assert!(ok, "connection {client} -> {server}:{port} not established");
    assert!(matches!(
        poll_connect(&mut sim.stacks[client], c),
        Poll::Ready(Ok(()))
    ));
    (c, accepted.expect("accepted"))
}

/// Reads everything readable now into `out`: `Ready(Ok(()))` at EOF, `Ready(Err)` on an
/// error, `Pending` when nothing more is there yet.
pub fn drain(stack: &mut Stack, h: SocketHandle, out: &mut Vec<u8>) -> Poll<io::Result<()>> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stack.tcp_poll_read(h, &mut cx(), &mut buf) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// Writes as much of `data` as the send buffer takes now; returns the count.
pub fn write_now(stack: &mut Stack, h: SocketHandle, data: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < data.len() {
        match stack.tcp_poll_write(h, &mut cx(), &data[done..]) {
            Poll::Ready(Ok(n)) => done += n,
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    Ok(done)
}

/// The error kind of a `Ready(Err)` poll, for assertions.
pub fn err_kind<T: fmt::Debug>(p: Poll<io::Result<T>>) -> Option<io::ErrorKind> {
    match p {
        Poll::Ready(Err(e)) => Some(e.kind()),
        _ => None,
    }
}

/// A one-way bulk transfer: the writer sends `data` then shuts down writing; the reader reads
/// (while `reading`) until EOF.
#[derive(Debug)]
pub struct Flow {
    pub writer: (usize, SocketHandle),
    pub reader: (usize, SocketHandle),
    pub data: Vec<u8>,
    pub sent: usize,
    pub shut: bool,
    pub received: Vec<u8>,
    pub eof: bool,
    pub reading: bool,
    pub error: Option<io::ErrorKind>,
}

impl Flow {
    pub fn new(
        writer: (usize, SocketHandle),
        reader: (usize, SocketHandle),
        data: Vec<u8>,
    ) -> Flow {
        Flow {
            writer,
            reader,
            data,
            sent: 0,
            shut: false,
            received: Vec::new(),
            eof: false,
            reading: true,
            error: None,
        }
    }

    /// One step: write what fits, shut down once all is written, read if reading.
    pub fn step(&mut self, sim: &mut Sim) {
        if self.error.is_some() {
            return;
        }
        let (w, wh) = self.writer;
        match write_now(&mut sim.stacks[w], wh, &self.data[self.sent..]) {
            Ok(n) => self.sent += n,
            Err(e) => self.error = Some(e.kind()),
        }
        if self.sent == self.data.len() && !self.shut && self.error.is_none() {
            sim.stacks[w]
                .tcp_shutdown(wh, std::net::Shutdown::Write)
                .expect("shutdown");
            self.shut = true;
        }
        if self.reading && !self.eof {
            let (r, rh) = self.reader;
            match drain(&mut sim.stacks[r], rh, &mut self.received) {
                Poll::Ready(Ok(())) => self.eof = true,
                Poll::Ready(Err(e)) => self.error = Some(e.kind()),
                Poll::Pending => {}
            }
        }
    }

    /// Whether everything arrived and EOF was seen.
    pub fn done(&self) -> bool {
        self.eof
    }
}
