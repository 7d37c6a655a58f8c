//! The invariants checked after every operation, and the end of a run: delivery of every byte
//! owed, then closing everything and draining the DUT.

use std::task::Poll;
use std::time::Duration;

use sockeye_netstack::{SocketHandle, TcpInfo};

use super::{DRAIN, DUT, Harness, Held, PEER, cx};

impl Harness {
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
    pub(super) fn check(&mut self, after: &str) {
        self.check_handles(DUT, after);
        self.check_handles(PEER, after);
        let dut = &mut self.sim.stacks[DUT];
        // Each listener queues at most its backlog + 1 established children and its SYN queue
        // of half-open ones (16 for the harness's backlogs, which are at most 15).
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
    pub(super) fn deliver(&mut self) {
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
    pub(super) fn drain(&mut self) {
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
