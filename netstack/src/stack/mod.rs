//! The stack: interfaces, routing, address resolution, and the protocol input and output paths,
//! driven sans-IO.
//!
//! A driver (the runtime, or a simulation) does, every tick:
//! 1. [`Stack::receive`] for each frame a device delivered, or, to bound the tick, a
//!    [`Stack::start_receive`] followed by [`Stack::receive_or_queue`] for each frame (the
//!    receive backlog, `netdev_budget` and `netdev_max_backlog`: see `backlog.rs`);
//! 2. [`Stack::transmit`], which first runs the timers that are due and then hands every frame
//!    the stack wants sent to the driver's `emit` callback, which writes it into a device buffer;
//! 3. sleeps until [`Stack::poll_at`] (or until a device or a socket has work).
//!
//! Bad input never panics and never disappears silently: every dropped frame is counted under
//! a Linux counter name (see [`crate::stats`]).

mod backlog;
mod frag;
mod icmp_err;
mod iface;
mod input;
mod listen;
mod output;
mod reasm;
mod report;
mod tcp;
mod tcp_api;
mod tcp_ready;
mod udp;

pub use iface::InterfaceConfig;
pub use report::{ListenerReport, Nstat};
pub use tcp_api::TcpInfo;
pub use tcp_ready::{SocketEntry, SocketMemory, SocketTimer, TimerKind};

use crate::config::StackConfig;
use crate::neighbor::{NeighborCache, PollAction};
use crate::route::{IfaceId, Ipv4Cidr, Route, RouteTable};
use crate::stats::{Counter, Counters, Snapshot};
use crate::tcp::isn::Secrets;
use crate::time::Instant;
use crate::wire::arp::ArpOperation;
use crate::wire::ethernet::EthernetAddress;
use iface::Interface;

/// The driver's transmit callback: `emit(iface, len, fill)` asks the device of `iface` for a
/// buffer of `len` bytes, lets `fill` write the frame into it, and returns false when the device
/// cannot take the frame now (back-pressure: the stack keeps it and tries again later).
pub type Emit<'a> = &'a mut dyn FnMut(IfaceId, usize, &mut dyn FnMut(&mut [u8])) -> bool;

/// A userspace TCP/IP stack instance.
#[derive(Debug)]
pub struct Stack {
    config: StackConfig,
    counters: Counters,
    ifaces: Vec<Interface>,
    routes: RouteTable,
    neighbors: NeighborCache,
    /// Identification of the last IPv4 datagram sent.
    ip_ident: u16,
    /// Reusable frame buffers for the egress queues.
    pool: Vec<Vec<u8>>,
    /// Scratch list for neighbour-cache timer actions.
    neighbor_actions: Vec<PollAction>,
    /// Incomplete fragmented IPv4 datagrams.
    reasm: reasm::Reassembler,
    /// Keys for initial sequence numbers and ephemeral port selection.
    pub(crate) secrets: Secrets,
    /// UDP sockets.
    udp: crate::udp::UdpTable,
    /// TCP sockets.
    pub(crate) tcp: crate::tcp::table::Table,
    /// Received frames waiting beyond a tick's budget (`netdev_max_backlog`).
    backlog: backlog::Backlog,
}

impl Stack {
    /// A stack with no interfaces and random secrets for ISNs and ephemeral ports.
    pub fn new(config: StackConfig) -> Stack {
        Stack::with_secrets(config, Secrets::random())
    }

    /// A stack with no interfaces and the given secrets: [`Secrets::fixed`] makes every ISN and
    /// port choice reproducible, which deterministic simulations need.
    pub fn with_secrets(config: StackConfig, secrets: Secrets) -> Stack {
        Stack {
            config,
            counters: Counters::default(),
            ifaces: Vec::new(),
            routes: RouteTable::new(),
            neighbors: NeighborCache::new(),
            ip_ident: 0,
            pool: Vec::new(),
            neighbor_actions: Vec::new(),
            reasm: reasm::Reassembler::default(),
            secrets,
            udp: crate::udp::UdpTable::new(),
            tcp: crate::tcp::table::Table::default(),
            backlog: backlog::Backlog::default(),
        }
    }

    /// Adds an interface, with a directly connected route for its prefix and, if it has a
    /// gateway, a default route through it.
    ///
    /// # Panics
    /// Beyond 65,535 interfaces.
    pub fn add_interface(&mut self, config: InterfaceConfig) -> IfaceId {
        let id = IfaceId(u16::try_from(self.ifaces.len()).expect("too many interfaces"));
        let net =
            Ipv4Cidr::new(config.addr.network(), config.addr.prefix_len()).unwrap_or(config.addr);
        self.routes.add(Route {
            prefix: net,
            iface: id,
            gateway: None,
        });
        if let Some(gw) = config.gateway {
            let default = Ipv4Cidr::new(core::net::Ipv4Addr::UNSPECIFIED, 0).unwrap_or(net);
            self.routes.add(Route {
                prefix: default,
                iface: id,
                gateway: Some(gw),
            });
        }
        self.ifaces.push(Interface::new(config));
        id
    }

    /// An interface's configuration.
    ///
    /// # Panics
    /// If `iface` was not returned by [`Stack::add_interface`].
    pub fn interface(&self, iface: IfaceId) -> &InterfaceConfig {
        &self.ifaces[usize::from(iface.0)].config
    }

    /// The configuration.
    pub fn config(&self) -> &StackConfig {
        &self.config
    }

    /// The configuration, to change settings at run time (they apply to what happens next).
    pub fn config_mut(&mut self) -> &mut StackConfig {
        &mut self.config
    }

    /// The routing table.
    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    /// The routing table, to add routes.
    pub fn routes_mut(&mut self) -> &mut RouteTable {
        &mut self.routes
    }

    /// A copy of every counter.
    pub fn counters(&self) -> Snapshot {
        self.counters.snapshot()
    }

    /// The neighbour cache's entry for `ip`, if resolved.
    pub fn neighbor(&self, ip: core::net::Ipv4Addr) -> Option<EthernetAddress> {
        self.neighbors.lookup(ip)
    }

    /// When the stack next needs [`Stack::transmit`] to be called even if nothing arrives:
    /// the earliest timer. `None` when no timer is armed.
    pub fn poll_at(&self) -> Option<Instant> {
        let tcp = self.tcp.next_timer().map(Instant::from_millis);
        let timers = [self.neighbors.poll_at(), self.reasm.poll_at(), tcp];
        timers.into_iter().flatten().min()
    }

    /// Whether frames are waiting to be transmitted (queued frames, or connections with
    /// segments due).
    pub fn has_egress(&self) -> bool {
        self.tcp_has_output() || self.ifaces.iter().any(|i| !i.egress.is_empty())
    }

    /// Runs the timers due at `now`, then hands every frame ready to go to `emit`, interface by
    /// interface, stopping on an interface whose device pushes back. Returns the number of frames
    /// emitted.
    pub fn transmit(&mut self, now: Instant, emit: Emit<'_>) -> usize {
        self.run_timers(now);
        let mut sent = self.drain_egress(emit);
        let (tcp, _blocked) = self.tcp_flush(now, emit);
        sent += tcp;
        // Control frames the flush produced (ARP probes, segments parked for resolution).
        sent += self.drain_egress(emit);
        self.counters.add(Counter::DevTxFrames, sent as u64);
        self.udp_transmitted();
        sent
    }

    /// Hands the interfaces' queued frames to `emit`, stopping on an interface that pushes back.
    fn drain_egress(&mut self, emit: Emit<'_>) -> usize {
        let mut sent = 0;
        for index in 0..self.ifaces.len() {
            let id = IfaceId(index as u16);
            while let Some(frame) = self.ifaces[index].egress.pop_front() {
                let mut fill = |buf: &mut [u8]| buf.copy_from_slice(&frame);
                if emit(id, frame.len(), &mut fill) {
                    sent += 1;
                    self.recycle(frame);
                } else {
                    self.ifaces[index].egress.push_front(frame);
                    break;
                }
            }
        }
        sent
    }

    fn run_timers(&mut self, now: Instant) {
        if self.neighbors.poll_at().is_some_and(|t| t <= now) {
            let mut actions = std::mem::take(&mut self.neighbor_actions);
            self.neighbors.poll(now, &mut actions);
            for action in actions.drain(..) {
                match action {
                    PollAction::Request(ip) | PollAction::Probe(ip, _) => {
                        let dst = match action {
                            PollAction::Probe(_, mac) => mac,
                            _ => EthernetAddress::BROADCAST,
                        };
                        if let Some(hop) = self.routes.lookup(ip) {
                            self.send_arp(hop.iface, ArpOperation::Request, dst, ip);
                        }
                    }
                    PollAction::Failed(_, dropped) => {
                        self.counters.add(Counter::DevArpDrops, dropped as u64);
                    }
                }
            }
            self.neighbor_actions = actions;
        }
        if self.reasm.poll_at().is_some_and(|t| t <= now) {
            self.expire_fragments(now);
        }
        self.tcp_timers(now);
    }
}

#[cfg(test)]
mod tests;
