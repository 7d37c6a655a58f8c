//! A deterministic network simulator for testing the stack: several [`Stack`]s on one simulated
//! Ethernet segment, a virtual clock, and seeded faults (loss, duplication, reordering,
//! corruption, delay, a rate-limited bottleneck with a bounded queue per sender or, for flows
//! from several stacks competing for one receiver's link, per receiver: [`Bottleneck`]).
//!
//! A run is a pure function of its seed: the faults come from [`Rng`], the stacks use fixed
//! secrets, and time only moves when nothing is left to do at the current instant (then it jumps
//! to the next frame delivery or stack timer). So a transfer that takes minutes of virtual time
//! runs in milliseconds, and a failing seed reproduces exactly.
//!
//! The driver loop ([`Sim::run`]) alternates: call the test's application closure (which drives
//! sockets through the stack's poll API), let every stack transmit, put the frames on the link,
//! advance time to the next event, deliver what is due.

mod rng;

pub use rng::Rng;

use core::net::Ipv4Addr;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use crate::config::StackConfig;
use crate::route::{IfaceId, Ipv4Cidr};
use crate::stack::{InterfaceConfig, Stack};
use crate::tcp::isn::Secrets;
use crate::time::Instant;
use crate::wire::ethernet::EthernetAddress;

/// The link's behaviour. The default is a perfect link with 1 ms one-way delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub delay: Duration,
    /// Extra random delay, uniform in `[0, jitter]`, per frame (reorders when it exceeds the
    /// gap between frames).
    pub jitter: Duration,
    /// Probability a frame is lost.
    pub loss: f64,
    /// Frames lost in a row once a loss happens (1: independent losses; more: bursts, as a
    /// full router queue or a radio fade loses them).
    pub loss_burst: usize,
    /// Probability a frame is delivered twice.
    pub duplicate: f64,
    /// Probability a frame is held back by `reorder_delay` (so later frames overtake it).
    pub reorder: f64,
    /// How long a reordered frame is held back.
    pub reorder_delay: Duration,
    /// Probability one bit of an IPv4 packet is flipped (past the Ethernet header).
    pub corrupt: f64,
    /// The bottleneck rate in bits per second (each sender's frames are serialised); `None` for
    /// infinite bandwidth.
    pub rate_bps: Option<u64>,
    /// Frames a bottleneck queue holds before dropping (tail drop), counted in frames whatever
    /// their sizes (the one being serialised included).
    pub queue_limit: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            delay: Duration::from_millis(1),
            jitter: Duration::ZERO,
            loss: 0.0,
            loss_burst: 1,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(5),
            corrupt: 0.0,
            rate_bps: None,
            queue_limit: 1000,
        }
    }
}

/// Where the rate-limited bottleneck ([`LinkConfig::rate_bps`]) queues frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Bottleneck {
    /// One queue per sending stack (its uplink): the flows one stack sends share it, whoever
    /// they go to. The default.
    #[default]
    PerSender,
    /// One queue per receiving stack, like a switch's egress port: the flows several stacks
    /// send to one stack share its queue (a dumbbell), while each direction of a connection has
    /// its own. Broadcast frames (ARP requests), which a switch copies to every port, skip the
    /// queues (they are rare and small).
    PerReceiver,
}

/// What happened on the link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames the stacks sent.
    pub sent: u64,
    /// Frames delivered (duplicates included).
    pub delivered: u64,
    /// Frames lost to the loss probability.
    pub lost: u64,
    /// Frames dropped by a full bottleneck queue.
    pub queue_drops: u64,
    /// Frames duplicated.
    pub duplicated: u64,
    /// Frames held back to reorder them.
    pub reordered: u64,
    /// Frames corrupted.
    pub corrupted: u64,
    /// Bytes sent.
    pub bytes: u64,
}

/// A callback that sees every frame sent.
type Tap = Box<dyn FnMut(Instant, usize, &[u8])>;

/// A frame on its way.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Instant,
    /// Tie-break, so equal times deliver in send order.
    order: u64,
    from: usize,
    frame: Vec<u8>,
}

/// The simulation.
pub struct Sim {
    /// Virtual now.
    pub now: Instant,
    /// The stacks, each with one interface on the segment.
    pub stacks: Vec<Stack>,
    /// The link's behaviour (may be changed between steps).
    pub link: LinkConfig,
    /// What happened on the link.
    pub stats: LinkStats,
    /// The fault generator.
    pub rng: Rng,
    /// Where the bottleneck queues are (may be changed between steps).
    pub bottleneck: Bottleneck,
    queue: BinaryHeap<Reverse<InFlight>>,
    order: u64,
    /// Per bottleneck queue (per sender or per receiver, see [`Bottleneck`]): when each frame
    /// in it finishes serialisation, oldest first (the last is when the queue is free again).
    backlog: Vec<VecDeque<Instant>>,
    /// Optional tap on every frame sent (sender index, bytes).
    tap: Option<Tap>,
    /// Frames still to lose in the current loss burst.
    burst_left: usize,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.now)
            .field("stacks", &self.stacks.len())
            .field("link", &self.link)
            .field("stats", &self.stats)
            .field("in_flight", &self.queue.len())
            .finish()
    }
}

/// The address of stack `i` in a simulation: `10.0.0.(i + 1)/24`.
pub fn addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, u8::try_from(i + 1).expect("at most 254 stacks"))
}

/// The MAC address of stack `i`.
pub fn mac(i: usize) -> EthernetAddress {
    EthernetAddress([
        2,
        0,
        0,
        0,
        0,
        u8::try_from(i + 1).expect("at most 254 stacks"),
    ])
}

/// What the application closure tells the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep going.
    Continue,
    /// Stop the run: the test's goal is reached.
    Done,
}

/// Why [`Sim::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The application said [`Control::Done`].
    Done,
    /// Virtual time reached the deadline.
    Deadline,
    /// Nothing left to happen: no frames, no timers, and the application did not finish.
    Idle,
}

impl Sim {
    /// `n` stacks with `config`, on a segment with `link`, faults seeded with `seed`.
    pub fn new(n: usize, config: &StackConfig, link: LinkConfig, seed: u64) -> Sim {
        Sim::with_secrets(n, config, link, seed, |i| {
            Secrets::fixed(seed.wrapping_mul(31).wrapping_add(i as u64))
        })
    }

    /// Like [`Sim::new`], with stack `i`'s secrets from `secrets(i)` (e.g. to put ISNs next to
    /// the sequence-number wrap with [`Secrets::with_isn_base`]).
    pub fn with_secrets(
        n: usize,
        config: &StackConfig,
        link: LinkConfig,
        seed: u64,
        secrets: impl Fn(usize) -> Secrets,
    ) -> Sim {
        let stacks = (0..n)
            .map(|i| {
                let secrets = secrets(i);
                let mut s = Stack::with_secrets(config.clone(), secrets);
                s.add_interface(InterfaceConfig {
                    mac: mac(i),
                    addr: Ipv4Cidr::new(addr(i), 24).expect("valid prefix"),
                    mtu: 1500,
                    checksum_offload: false,
                    gateway: None,
                    loopback: false,
                });
                s
            })
            .collect();
        Sim {
            now: Instant::ZERO,
            stacks,
            link,
            stats: LinkStats::default(),
            rng: Rng::new(seed),
            bottleneck: Bottleneck::default(),
            queue: BinaryHeap::new(),
            order: 0,
            backlog: vec![VecDeque::new(); n],
            tap: None,
            burst_left: 0,
        }
    }

    /// Calls `tap(now, sender, frame)` for every frame a stack sends (before faults apply).
    pub fn set_tap(&mut self, tap: impl FnMut(Instant, usize, &[u8]) + 'static) {
        self.tap = Some(Box::new(tap));
    }

    /// Puts `frame` on the link now as if stack `from` had sent it (a crafted or spoofed
    /// frame, e.g. an attacker's SYN flood); the link's rate, queue and faults apply to it
    /// like to any frame `from` sends.
    pub fn inject(&mut self, from: usize, frame: Vec<u8>) {
        self.send(from, frame);
    }

    /// Frames on the link now.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Lets every stack transmit at `now` and puts the frames on the link. Returns how many
    /// frames the stacks took from their receive backlogs (traffic each sent to itself).
    fn transmit_all(&mut self) -> usize {
        let mut frames: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut looped = 0;
        for (i, stack) in self.stacks.iter_mut().enumerate() {
            if stack.rx_backlog_len() > 0 {
                looped += stack.start_receive(self.now);
            }
            stack.transmit(self.now, &mut |_iface, len, fill| {
                let mut buf = vec![0u8; len];
                fill(&mut buf);
                frames.push((i, buf));
                true
            });
        }
        for (from, frame) in frames {
            self.send(from, frame);
        }
        looped
    }

    fn send(&mut self, from: usize, mut frame: Vec<u8>) {
        self.stats.sent += 1;
        self.stats.bytes += frame.len() as u64;
        if let Some(tap) = self.tap.as_mut() {
            tap(self.now, from, &frame);
        }
        let link = self.link;
        let mut at = self.now;
        if let Some(rate) = link.rate_bps
            && let Some(port) = self.bottleneck_port(from, &frame)
        {
            let now = self.now;
            let queue = &mut self.backlog[port];
            // Frames whose serialisation has finished have left; the rest are queued (the one
            // on the wire included), counted in frames whatever their sizes.
            while queue.front().is_some_and(|&done| done <= now) {
                queue.pop_front();
            }
            if queue.len() >= link.queue_limit {
                self.stats.queue_drops += 1;
                return;
            }
            let start = queue.back().map_or(now, |&busy| busy.max(now));
            let serialization = Duration::from_nanos(
                (frame.len() as u64 * 8).saturating_mul(1_000_000_000) / rate.max(1),
            );
            queue.push_back(start + serialization);
            at = start + serialization;
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
            self.stats.lost += 1;
            return;
        }
        if self.rng.chance(link.loss) {
            self.stats.lost += 1;
            self.burst_left = link.loss_burst.saturating_sub(1);
            return;
        }
        at += link.delay;
        if !link.jitter.is_zero() {
            let j = self.rng.below(link.jitter.as_micros() as u64 + 1);
            at += Duration::from_micros(j);
        }
        if self.rng.chance(link.reorder) {
            self.stats.reordered += 1;
            at += link.reorder_delay;
        }
        // Corruption models damage Ethernet's frame check sequence does not catch (a router's
        // memory, a buggy NIC): it hits IPv4 packets, whose checksums must catch it. ARP has
        // no checksum of its own, so corrupting it would model a broken link, not this.
        let ipv4 = frame.len() > 14 && frame[12..14] == [0x08, 0x00];
        if ipv4 && self.rng.chance(link.corrupt) {
            self.stats.corrupted += 1;
            let i = 14 + self.rng.below(frame.len() as u64 - 14) as usize;
            let bit = 1u8 << self.rng.below(8);
            frame[i] ^= bit;
        }
        if self.rng.chance(link.duplicate) {
            self.stats.duplicated += 1;
            let extra = Duration::from_micros(self.rng.below(1000));
            self.push(at + extra, from, frame.clone());
        }
        self.push(at, from, frame);
    }

    /// The bottleneck queue a frame from stack `from` waits in (none for a broadcast when the
    /// queues are per receiver).
    fn bottleneck_port(&self, from: usize, frame: &[u8]) -> Option<usize> {
        match self.bottleneck {
            Bottleneck::PerSender => Some(from),
            Bottleneck::PerReceiver => {
                (0..self.stacks.len()).find(|&i| frame.get(..6) == Some(&mac(i).0[..]))
            }
        }
    }

    fn push(&mut self, at: Instant, from: usize, frame: Vec<u8>) {
        self.order += 1;
        self.queue.push(Reverse(InFlight {
            at,
            order: self.order,
            from,
            frame,
        }));
    }

    /// Delivers every frame due at `now` to every other stack (each filters by MAC address).
    fn deliver_due(&mut self) {
        while self.queue.peek().is_some_and(|f| f.0.at <= self.now) {
            let Reverse(f) = self.queue.pop().expect("peeked");
            self.stats.delivered += 1;
            for (i, stack) in self.stacks.iter_mut().enumerate() {
                if i != f.from {
                    stack.receive(self.now, IfaceId(0), &f.frame);
                }
            }
        }
    }

    /// The next instant something happens: a delivery or a stack timer.
    fn next_event(&self) -> Option<Instant> {
        let delivery = self.queue.peek().map(|f| f.0.at);
        let timers = self.stacks.iter().filter_map(Stack::poll_at);
        delivery.into_iter().chain(timers).min()
    }

    /// Runs until `app` returns [`Control::Done`], virtual time passes `deadline`, or nothing is
    /// left to happen. `app` is called at every step, after deliveries, to drive sockets.
    pub fn run(&mut self, deadline: Instant, mut app: impl FnMut(&mut Sim) -> Control) -> Outcome {
        loop {
            // Settle the current instant: the application and the stacks act until quiet.
            let mut rounds = 0;
            loop {
                if app(self) == Control::Done {
                    return Outcome::Done;
                }
                // Frames a stack delivered to itself changed state the application has not seen.
                let looped = self.transmit_all();
                rounds += 1;
                let busy = |s: &Stack| s.has_egress() || s.rx_backlog_len() > 0;
                if (looped == 0 && !self.stacks.iter().any(busy)) || rounds > 1000 {
                    break;
                }
            }
            let Some(next) = self.next_event() else {
                return Outcome::Idle;
            };
            let next = next.max(self.now);
            if next > deadline {
                self.now = deadline;
                return Outcome::Deadline;
            }
            // Timers report millisecond ticks; never spin at one instant.
            self.now = if next == self.now && self.queue.peek().is_none_or(|f| f.0.at > next) {
                next + Duration::from_micros(1)
            } else {
                next
            };
            self.deliver_due();
        }
    }

    /// Advances virtual time by `d`, running the stacks (no application).
    pub fn advance(&mut self, d: Duration) {
        let deadline = self.now + d;
        self.run(deadline, |_| Control::Continue);
        self.now = deadline;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The queue bound counts frames: small frames (ACKs, SYNs, ARP) behind full-sized ones
    /// are queued while there is room, not judged by how many of their own size the backlog
    /// would hold.
    #[test]
    fn the_bottleneck_queue_counts_frames_of_any_size() {
        let link = LinkConfig {
            rate_bps: Some(1_000_000),
            queue_limit: 4,
            ..LinkConfig::default()
        };
        let mut sim = Sim::new(2, &StackConfig::default(), link, 1);
        for _ in 0..3 {
            sim.send(0, vec![0; 1514]);
        }
        sim.send(0, vec![0; 60]);
        assert_eq!(sim.stats.queue_drops, 0);
        sim.send(0, vec![0; 60]);
        assert_eq!(
            sim.stats.queue_drops, 1,
            "the fifth frame finds the queue full"
        );
        // Once the first frame is serialised (1514 bytes at 1 Mbit/s: 12.1 ms) there is room.
        sim.now = Instant::from_micros(12_200);
        sim.send(0, vec![0; 60]);
        assert_eq!(sim.stats.queue_drops, 1);
        // Stack 0's queue is full again; per receiver, a frame to stack 1 waits in stack 1's
        // port instead.
        sim.send(0, vec![0; 60]);
        assert_eq!(sim.stats.queue_drops, 2);
        sim.bottleneck = Bottleneck::PerReceiver;
        let mut to_1 = vec![0; 60];
        to_1[..6].copy_from_slice(&mac(1).0);
        sim.send(0, to_1);
        assert_eq!(sim.stats.queue_drops, 2);
    }
}
