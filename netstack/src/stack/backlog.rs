//! The receive backlog between the devices and the protocol input path, the way Linux's
//! per-CPU backlog (`netif_rx`, `process_backlog`) sits between its drivers and `ip_rcv`.
//!
//! A driver that owns a budget calls [`Stack::start_receive`] once per tick and then hands every
//! frame a device gave it to [`Stack::receive_or_queue`]:
//! - the tick may process `netdev_budget` frames (Linux's `net.core.netdev_budget`, 300). Frames
//!   left from earlier ticks go first, oldest first;
//! - while the budget lasts and nothing is queued, a frame is processed at once, straight from
//!   the device's buffer (no copy: the common case, one device taking its burst of 64);
//! - beyond the budget a frame is copied into the backlog, which holds `netdev_max_backlog`
//!   frames (1000); when it is full the frame is dropped and counted in `DevRxBacklogDrops`
//!   (Linux's `softnet_stat` drop column).
//!
//! So a device, or several, delivering faster than one tick processes cannot make a tick
//! unbounded (timers, transmit and the tasks get their turn after `netdev_budget` frames), and
//! what cannot be kept is counted, never lost silently. [`Stack::receive`] remains the
//! unbudgeted path (simulations and tests process every frame at once).
//!
//! The backlog also carries the stack's traffic to its own addresses on devices that do not
//! loop frames back (a TAP, a raw socket): such frames never reach the wire but join the
//! backlog as if received (`loop_back`), the way Linux sends them through `lo`. A driver
//! therefore calls [`Stack::start_receive`] whenever [`Stack::rx_backlog_len`] is non-zero.

use std::collections::VecDeque;

use super::Stack;
use crate::route::IfaceId;
use crate::stats::Counter;
use crate::time::Instant;

/// Frames waiting for the input path, and what the current tick may still process.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    frames: VecDeque<(IfaceId, Vec<u8>)>,
    /// Frames the current tick may still process.
    budget: usize,
}

impl Stack {
    /// Starts a receive tick: processes queued frames, oldest first, within `netdev_budget`, and
    /// leaves the rest of the budget for [`Stack::receive_or_queue`]. Returns the frames
    /// processed.
    pub fn start_receive(&mut self, now: Instant) -> usize {
        let budget = self.config.netdev_budget as usize;
        let mut done = 0;
        while done < budget {
            let Some((iface, frame)) = self.backlog.frames.pop_front() else {
                break;
            };
            self.receive(now, iface, &frame);
            self.recycle(frame);
            done += 1;
        }
        self.backlog.budget = budget - done;
        done
    }

    /// Takes one frame a device delivered on `iface` during the tick [`Stack::start_receive`]
    /// began: processes it now if the budget allows and nothing older waits; otherwise copies it
    /// into the backlog, or drops and counts it (`DevRxBacklogDrops`) when the backlog holds
    /// `netdev_max_backlog` frames.
    ///
    /// # Panics
    /// If `iface` was not returned by [`Stack::add_interface`].
    pub fn receive_or_queue(&mut self, now: Instant, iface: IfaceId, frame: &[u8]) {
        if self.backlog.budget > 0 && self.backlog.frames.is_empty() {
            self.backlog.budget -= 1;
            self.receive(now, iface, frame);
        } else if self.backlog.frames.len() < self.config.netdev_max_backlog as usize {
            let mut copy = self.buffer(0);
            copy.extend_from_slice(frame);
            self.backlog.frames.push_back((iface, copy));
        } else {
            self.counters.inc(Counter::DevRxBacklogDrops);
        }
    }

    /// The interface that owns `addr`, when traffic to it must be delivered internally: it is
    /// one of the stack's addresses and `out`, the interface the route chose, does not loop
    /// frames back itself (see [`crate::InterfaceConfig::loopback`]).
    pub(crate) fn local_delivery(
        &self,
        out: IfaceId,
        addr: core::net::Ipv4Addr,
    ) -> Option<IfaceId> {
        if self.ifaces[usize::from(out.0)].config.loopback {
            return None;
        }
        let owner = self
            .ifaces
            .iter()
            .position(|i| i.config.addr.addr() == addr)?;
        Some(IfaceId(owner as u16))
    }

    /// Delivers a frame the stack sent to one of its own addresses (owned by `iface`) the way
    /// Linux's `lo` does (`netif_rx`): through the receive backlog, with the owner's MAC as
    /// its destination. Dropped and counted (`DevRxBacklogDrops`) when the backlog is full;
    /// TCP then retransmits.
    pub(crate) fn loop_back(&mut self, iface: IfaceId, mut frame: Vec<u8>) {
        let mac = self.ifaces[usize::from(iface.0)].mac();
        frame[..6].copy_from_slice(&mac.0);
        if self.backlog.frames.len() < self.config.netdev_max_backlog as usize {
            self.backlog.frames.push_back((iface, frame));
        } else {
            self.counters.inc(Counter::DevRxBacklogDrops);
            self.recycle(frame);
        }
    }

    /// Frames waiting in the receive backlog (the driver should poll again without blocking
    /// while there are any).
    pub fn rx_backlog_len(&self) -> usize {
        self.backlog.frames.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StackConfig;
    use crate::route::Ipv4Cidr;
    use crate::stack::InterfaceConfig;
    use crate::wire::ethernet::EthernetAddress;

    fn stack(budget: u32, max_backlog: u32) -> (Stack, IfaceId) {
        let mut stack = Stack::new(StackConfig {
            netdev_budget: budget,
            netdev_max_backlog: max_backlog,
            ..StackConfig::default()
        });
        let iface = stack.add_interface(InterfaceConfig {
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            addr: "10.0.0.1/24".parse::<Ipv4Cidr>().unwrap(),
            mtu: 1500,
            checksum_offload: false,
            gateway: None,
            loopback: false,
        });
        (stack, iface)
    }

    /// A frame for another host: processing it only counts `DevRxOtherHost`, so the counters
    /// tell processed frames from queued and dropped ones.
    const FRAME: [u8; 60] = {
        let mut f = [0u8; 60];
        f[0] = 2;
        f[5] = 9;
        f[12] = 8;
        f
    };

    #[test]
    fn beyond_the_budget_frames_wait_and_beyond_the_backlog_they_drop() {
        let (mut stack, iface) = stack(3, 4);
        let now = Instant::ZERO;
        assert_eq!(stack.start_receive(now), 0);
        for _ in 0..10 {
            stack.receive_or_queue(now, iface, &FRAME);
        }
        let c = stack.counters();
        assert_eq!(c.get(Counter::DevRxFrames), 3, "the budget");
        assert_eq!(stack.rx_backlog_len(), 4, "the backlog's bound");
        assert_eq!(c.get(Counter::DevRxBacklogDrops), 3);

        // The next tick takes the queued frames first; a new frame queues behind them.
        assert_eq!(stack.start_receive(now), 3);
        stack.receive_or_queue(now, iface, &FRAME);
        assert_eq!(stack.rx_backlog_len(), 2);
        assert_eq!(stack.start_receive(now), 2);
        assert_eq!(stack.rx_backlog_len(), 0);
        let c = stack.counters();
        assert_eq!(c.get(Counter::DevRxFrames), 8);
        assert_eq!(c.get(Counter::DevRxOtherHost), 8);
        assert_eq!(c.get(Counter::DevRxBacklogDrops), 3);
    }

    #[test]
    fn within_the_budget_nothing_is_queued() {
        let (mut stack, iface) = stack(300, 1000);
        for _ in 0..3 {
            stack.start_receive(Instant::ZERO);
            for _ in 0..64 {
                stack.receive_or_queue(Instant::ZERO, iface, &FRAME);
            }
            assert_eq!(stack.rx_backlog_len(), 0);
        }
        assert_eq!(stack.counters().get(Counter::DevRxFrames), 192);
    }
}
