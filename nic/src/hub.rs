//! [`Hub`]: several in-process hosts on one simulated Ethernet segment, each attached through a
//! [`HubPort`] that is a [`Device`] of its own.
//!
//! The segment behaves like a switch that learns nothing: every port has a fixed MAC address, and
//! a transmitted frame goes to
//! - the port(s) whose MAC address equals the frame's destination (bytes 0..6), for unicast;
//! - every other port, for broadcast and multicast (destination's first octet has its low bit set);
//! - every other port, for *unknown* unicast (no port has that address), like a real switch
//!   floods a destination it has not learned; the sender's [`HubPortStats::tx_flooded`] counts it.
//!
//! A frame never comes back to the port that sent it (a frame addressed to the sender's own MAC
//! goes nowhere). Frames shorter than an Ethernet header are discarded and counted as
//! [`HubPortStats::tx_runts`]. Finding the destination is a scan of the ports, which suits the
//! handful of hosts a simulation joins.
//!
//! Each port has a bounded receive queue (1000 frames by default, Linux's `txqueuelen`). When a
//! port's queue is full the frame is dropped for that port alone and counted in its
//! [`HubPortStats::rx_dropped_full`]; the sender's transmit still succeeds, as a switch does not
//! push back on the host that sent the frame. The MTU (1500 by default) and the checksum
//! offloads (on by default, as frames never leave memory, like the in-process loopback) are
//! settings of the whole segment.
//!
//! Single-threaded like the runtime: the segment's state is shared by the [`Hub`] handle and its
//! ports through `Rc<RefCell<..>>`, and no borrow is held while a `transmit` fill or a `receive`
//! sink runs, so callbacks may use other ports of the same hub. Frames live in buffers from a
//! pool shared by the segment: a received frame's buffer is reused by a later transmit, so
//! once traffic has warmed the pool up, moving a frame allocates nothing and zeroes nothing (a
//! broadcast takes one buffer per receiving port).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;

use crate::device::{Capabilities, Device, ETHERNET_HEADER_LEN, MacAddr, oversize_frame};
use crate::pool::{Frame, FramePool};

/// A standard Ethernet MTU.
const DEFAULT_MTU: usize = 1500;

/// Linux's default `txqueuelen`.
const DEFAULT_QUEUE_LEN: usize = 1000;

/// One port's counters, a snapshot taken by [`HubPort::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct HubPortStats {
    /// Frames accepted by this port's `transmit` (including runts and flooded frames).
    pub tx_frames: u64,
    /// Unicast frames this port sent to an address no port has, flooded to every other port.
    pub tx_flooded: u64,
    /// Frames this port sent that were shorter than an Ethernet header, and were discarded.
    pub tx_runts: u64,
    /// Frames handed out by this port's `receive`.
    pub rx_frames: u64,
    /// Frames for this port that were dropped because its receive queue was full.
    pub rx_dropped_full: u64,
}

/// A simulated Ethernet segment joining several in-process hosts; a cheap handle (clones share the
/// segment). See the [module documentation](self) for how frames are forwarded.
#[derive(Clone)]
pub struct Hub {
    segment: Rc<RefCell<Segment>>,
}

/// A host's attachment to a [`Hub`]: a [`Device`] whose transmitted frames go to the other ports.
/// Dropping it detaches it from the segment (its queued frames are discarded).
pub struct HubPort {
    segment: Rc<RefCell<Segment>>,
    /// This port's slot in `Segment::ports`.
    index: usize,
    mac: MacAddr,
}

struct Segment {
    mtu: usize,
    queue_len: usize,
    checksum_offload: bool,
    /// Attached ports by slot; a detached port leaves `None`, reused by the next `port` call.
    ports: Vec<Option<PortState>>,
    /// Buffers of received or discarded frames, ready to be reused.
    pool: FramePool,
}

struct PortState {
    mac: MacAddr,
    /// Frames waiting to be received by this port, oldest first.
    queue: VecDeque<Frame>,
    stats: HubPortStats,
}

impl Hub {
    /// An empty segment: MTU 1500, receive queues of 1000 frames, checksum offloads on.
    pub fn new() -> Hub {
        Hub {
            segment: Rc::new(RefCell::new(Segment {
                mtu: DEFAULT_MTU,
                queue_len: DEFAULT_QUEUE_LEN,
                checksum_offload: true,
                ports: Vec::new(),
                pool: FramePool::default(),
            })),
        }
    }

    /// Sets the segment's MTU (largest Ethernet payload), for every port.
    pub fn with_mtu(self, mtu: usize) -> Hub {
        self.segment.borrow_mut().mtu = mtu;
        self
    }

    /// Sets how many frames may wait in each port's receive queue; beyond that, frames for the
    /// port are dropped. Zero drops every frame.
    pub fn with_queue_len(self, queue_len: usize) -> Hub {
        self.segment.borrow_mut().queue_len = queue_len;
        self
    }

    /// Sets whether the ports report checksum offload in both directions (on by default: frames
    /// never leave memory). Turn it off when frames may be corrupted on the way, for example by an
    /// [`Impair`](crate::impair::Impair) wrapper, so that the stacks compute and verify checksums.
    pub fn with_checksum_offload(self, offload: bool) -> Hub {
        self.segment.borrow_mut().checksum_offload = offload;
        self
    }

    /// Attaches a new host with the given MAC address.
    pub fn port(&self, mac: MacAddr) -> HubPort {
        let mut segment = self.segment.borrow_mut();
        let state = PortState {
            mac,
            queue: VecDeque::new(),
            stats: HubPortStats::default(),
        };
        let index = match segment.ports.iter().position(Option::is_none) {
            Some(index) => {
                segment.ports[index] = Some(state);
                index
            }
            None => {
                segment.ports.push(Some(state));
                segment.ports.len() - 1
            }
        };
        HubPort {
            segment: Rc::clone(&self.segment),
            index,
            mac,
        }
    }

    /// How many ports are attached.
    pub fn port_count(&self) -> usize {
        self.segment.borrow().ports.iter().flatten().count()
    }

    /// The segment's MTU.
    pub fn mtu(&self) -> usize {
        self.segment.borrow().mtu
    }

    /// How many frames may wait in each port's receive queue.
    pub fn queue_len(&self) -> usize {
        self.segment.borrow().queue_len
    }

    /// How many heap allocations the segment's buffer pool has made: new buffers, plus regrowing
    /// a recycled buffer too small for a frame. It stops increasing once traffic has warmed the
    /// pool up.
    pub fn buffers_allocated(&self) -> usize {
        self.segment.borrow().pool.buffers_allocated()
    }
}

impl Default for Hub {
    /// The same as [`Hub::new`].
    fn default() -> Self {
        Hub::new()
    }
}

impl core::fmt::Debug for Hub {
    /// Shows the settings and the number of ports, not the queued frames.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let segment = self.segment.borrow();
        f.debug_struct("Hub")
            .field("mtu", &segment.mtu)
            .field("queue_len", &segment.queue_len)
            .field("checksum_offload", &segment.checksum_offload)
            .field("ports", &segment.ports.iter().flatten().count())
            .field("buffers_allocated", &segment.pool.buffers_allocated())
            .finish()
    }
}

impl Segment {
    fn port(&self, index: usize) -> Option<&PortState> {
        self.ports.get(index).and_then(Option::as_ref)
    }

    fn port_mut(&mut self, index: usize) -> Option<&mut PortState> {
        self.ports.get_mut(index).and_then(Option::as_mut)
    }

    /// Whether the frame `from` sent with destination `dst` goes to port `to`. `known` tells
    /// whether some port (the sender included) has the unicast address `dst`.
    fn is_destination(&self, from: usize, to: usize, dst: MacAddr, known: bool) -> bool {
        let Some(port) = self.port(to) else {
            return false;
        };
        to != from && (!known || port.mac == dst)
    }

    /// Forwards a frame port `from` sent, taking ownership of its buffer.
    fn forward(&mut self, from: usize, frame: Frame) {
        if let Some(port) = self.port_mut(from) {
            port.stats.tx_frames += 1;
        }
        if frame.len() < ETHERNET_HEADER_LEN {
            if let Some(port) = self.port_mut(from) {
                port.stats.tx_runts += 1;
            }
            self.pool.put(frame);
            return;
        }
        let mut dst = [0; 6];
        dst.copy_from_slice(&frame[..6]);
        let dst = MacAddr(dst);
        let group = dst.0[0] & 1 != 0;
        let known = !group && self.ports.iter().flatten().any(|port| port.mac == dst);
        if !group && !known {
            if let Some(port) = self.port_mut(from) {
                port.stats.tx_flooded += 1;
            }
        }
        // Every destination but the last gets a copy; the last gets the frame's own buffer.
        let last = (0..self.ports.len())
            .rev()
            .find(|&to| self.is_destination(from, to, dst, known));
        let Some(last) = last else {
            self.pool.put(frame);
            return;
        };
        for to in 0..last {
            if self.is_destination(from, to, dst, known) && self.has_room(to) {
                let copy = self.pool.copy_of(&frame);
                self.enqueue(to, copy);
            }
        }
        if self.has_room(last) {
            self.enqueue(last, frame);
        } else {
            self.pool.put(frame);
        }
    }

    /// Whether port `to` can queue one more frame; counts the drop when it cannot.
    fn has_room(&mut self, to: usize) -> bool {
        let queue_len = self.queue_len;
        let Some(port) = self.port_mut(to) else {
            return false;
        };
        if port.queue.len() >= queue_len {
            port.stats.rx_dropped_full += 1;
            return false;
        }
        true
    }

    fn enqueue(&mut self, to: usize, frame: Frame) {
        match self.port_mut(to) {
            Some(port) => port.queue.push_back(frame),
            None => self.pool.put(frame),
        }
    }
}

impl HubPort {
    /// A snapshot of this port's counters.
    pub fn stats(&self) -> HubPortStats {
        let segment = self.segment.borrow();
        segment
            .port(self.index)
            .map(|port| port.stats)
            .unwrap_or_default()
    }

    /// How many frames are waiting to be received by this port.
    pub fn queued(&self) -> usize {
        let segment = self.segment.borrow();
        segment.port(self.index).map_or(0, |port| port.queue.len())
    }

    /// The hub this port is attached to.
    pub fn hub(&self) -> Hub {
        Hub {
            segment: Rc::clone(&self.segment),
        }
    }
}

impl core::fmt::Debug for HubPort {
    /// Shows the port's address and counters, not its queued frames.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HubPort")
            .field("mac", &self.mac)
            .field("queued", &self.queued())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Drop for HubPort {
    /// Detaches the port; its queued frames' buffers go back to the pool.
    fn drop(&mut self) {
        // `try_borrow_mut`: never panic in drop, even if a callback of this hub is running.
        if let Ok(mut segment) = self.segment.try_borrow_mut() {
            if let Some(port) = segment.ports.get_mut(self.index).and_then(Option::take) {
                segment.pool.extend(port.queue);
            }
        }
    }
}

impl Device for HubPort {
    fn receive(&mut self, budget: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let mut delivered = 0;
        while delivered < budget {
            // No borrow is held while `sink` runs: it may use other ports of this hub.
            let frame = {
                let mut segment = self.segment.borrow_mut();
                match segment
                    .port_mut(self.index)
                    .and_then(|port| port.queue.pop_front())
                {
                    Some(frame) => frame,
                    None => break,
                }
            };
            sink(&frame);
            let mut segment = self.segment.borrow_mut();
            segment.pool.put(frame);
            if let Some(port) = segment.port_mut(self.index) {
                port.stats.rx_frames += 1;
            }
            delivered += 1;
        }
        Ok(delivered)
    }

    fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> io::Result<bool> {
        let mut frame = {
            let mut segment = self.segment.borrow_mut();
            if len > segment.mtu.saturating_add(ETHERNET_HEADER_LEN) {
                return Err(oversize_frame(len, segment.mtu));
            }
            segment.pool.take(len)
        };
        // No borrow is held while `fill` runs.
        fill(&mut frame);
        self.segment.borrow_mut().forward(self.index, frame);
        Ok(true)
    }

    fn mtu(&self) -> usize {
        self.segment.borrow().mtu
    }

    fn mac(&self) -> MacAddr {
        self.mac
    }

    fn capabilities(&self) -> Capabilities {
        let offload = self.segment.borrow().checksum_offload;
        Capabilities {
            rx_checksum_offload: offload,
            tx_checksum_offload: offload,
            ..Capabilities::default()
        }
    }

    fn rx_pending(&self) -> bool {
        self.queued() > 0
    }
}

#[cfg(test)]
mod tests;
