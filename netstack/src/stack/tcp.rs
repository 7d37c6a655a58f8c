//! The stack's TCP paths: segment input (to a connection, else to a listener in
//! `stack/listen.rs`, else a closed port), the output flush that writes segments straight into
//! device buffers, and the connection timers.
//!
//! Output copies each payload byte once, from the send buffer into the device's frame buffer;
//! headers are written in place around it. Only when the next hop's MAC address is unknown is
//! a segment built into an owned buffer and parked in the neighbour cache.

use core::net::SocketAddrV4;

use super::Emit;
use super::Stack;
use crate::neighbor::REACHABLE_TIME;
use crate::route::NextHop;
use crate::stats::Counter;
use crate::tcp::State;
use crate::tcp::input::Verdict;
use crate::tcp::output::{Kind, Segment};
use crate::tcp::table::Table;
use crate::tcp::tcb::{Env, Tcb};
use crate::tcp::timewait::{TimeWait, TwVerdict};
use crate::time::Instant;
use crate::wire::SeqNumber;
use crate::wire::arp::ArpOperation;
use crate::wire::ethernet::{self, EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

/// Segments one connection may send per flush before others get their turn.
const BURST: usize = 64;

/// What happened to a segment handed to the device.
enum Emitted {
    /// In the device's buffer, or queued behind address resolution.
    Sent,
    /// The device pushed back: try again later.
    Blocked,
}

impl Stack {
    /// The connection context for `now`, and the socket table beside it (split borrows).
    pub(super) fn tcp_env(&mut self, now: Instant) -> (Env<'_>, &mut Table) {
        (
            Env {
                now,
                config: &self.config,
                counters: &mut self.counters,
            },
            &mut self.tcp,
        )
    }

    /// The initial sequence number and timestamp offset of a new connection: keyed hashes of
    /// its 4-tuple (RFC 6528; the timestamp offset hides our clock the same way).
    pub(super) fn tcp_isn(
        &self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
    ) -> (SeqNumber, u32) {
        let (l, r) = ((*local.ip(), local.port()), (*remote.ip(), remote.port()));
        let iss = self.secrets.isn(now, l, r);
        let ts_offset = self.secrets.isn(Instant::ZERO, r, l).0;
        (iss, ts_offset)
    }

    /// A TCP segment for one of our addresses.
    pub(crate) fn tcp_input(&mut self, now: Instant, ip: &Ipv4Repr, seg: &TcpRepr, payload: &[u8]) {
        let local = SocketAddrV4::new(ip.dst_addr, seg.dst_port);
        let remote = SocketAddrV4::new(ip.src_addr, seg.src_port);
        let mut reopen = None;
        if let Some(index) = self.tcp.lookup(local, remote) {
            if self.accept_overflow(now, index, ip, seg) {
                return;
            }
            match self.conn_segment(now, index, seg, payload) {
                Verdict::Done | Verdict::Established => return,
                Verdict::Reset => {
                    self.send_reset(now, ip, seg);
                    return;
                }
                // A new SYN for a connection in TIME_WAIT: the listener may take it.
                Verdict::Reopen(isn) => reopen = Some(isn),
            }
        }
        if let Some(listener) = self.tcp.find_listener(local) {
            self.listen_input(now, listener, ip, seg, payload, (local, remote), reopen);
            return;
        }
        if !seg.flags.contains(TcpFlags::RST) {
            self.send_reset(now, ip, seg);
        }
    }

    /// Runs a segment through connection `index` and settles what it changed: a completed
    /// handshake joins the listener's accept queue, a reset request is counted. The caller
    /// answers a `Reset` verdict.
    pub(super) fn conn_segment(
        &mut self,
        now: Instant,
        index: u32,
        seg: &TcpRepr,
        payload: &[u8],
    ) -> Verdict {
        let (mut env, table) = self.tcp_env(now);
        let Some(tcb) = table.conn_at(index) else {
            return self.time_wait_segment(now, index, seg, payload);
        };
        let request = tcb
            .parent
            .filter(|_| tcb.state == State::SynReceived && !tcb.active());
        let verdict = tcb.on_segment(&mut env, seg, payload);
        if let Verdict::Reopen(_) = verdict {
            tcb.close_with(&mut env, None);
        }
        let reset = seg.flags.contains(TcpFlags::RST) && tcb.state == State::Closed;
        table.settle(index, &mut env);
        if let Some(parent) = request
            && reset
        {
            self.embryonic_reset(parent);
        }
        if verdict == Verdict::Established {
            self.child_established(index);
        }
        verdict
    }

    /// Runs the connection timers due at `now`.
    pub(crate) fn tcp_timers(&mut self, now: Instant) {
        if self.tcp.advance_timers(now) == 0 {
            return;
        }
        let (mut env, table) = self.tcp_env(now);
        let fired = table.take_fired();
        for &index in &fired {
            table.prepare_request_timer(index, env.config.tcp_synack_retries);
            if let Some(tcb) = table.conn_at(index) {
                tcb.on_timers(&mut env);
                table.after_request_timer(index);
                table.settle(index, &mut env);
            } else {
                table.time_wait_timer(index, &mut env);
            }
        }
        table.return_fired(fired);
    }

    /// Writes the segments connections have due into device buffers through `emit`. Returns
    /// the number of frames the device took, and whether it pushed back.
    pub(crate) fn tcp_flush(&mut self, now: Instant, emit: Emit<'_>) -> (usize, bool) {
        let mut sent = 0;
        while let Some(index) = self.tcp.pop_dirty() {
            let mut burst = 0;
            // After a segment, most connections have nothing more (an ACK, a request): the
            // cheap test of what is owed says so without working out the next segment.
            while let Some(seg) = self
                .tcp
                .conn_at(index)
                .filter(|t| burst == 0 || t.may_send())
                .and_then(|t| t.next_segment(&self.config, now))
            {
                if burst == BURST {
                    self.tcp.touch(index);
                    break;
                }
                match self.emit_segment(now, index, &seg, emit) {
                    Emitted::Sent => {}
                    Emitted::Blocked => {
                        self.tcp.requeue_front(index);
                        return (sent, true);
                    }
                }
                sent += 1;
                burst += 1;
                let (mut env, table) = self.tcp_env(now);
                if let Some(tcb) = table.conn_at(index) {
                    tcb.on_sent(&mut env, &seg);
                }
            }
            let (mut env, table) = self.tcp_env(now);
            // Sending drained unsent bytes: a writer held back by `TCP_NOTSENT_LOWAT` may go on
            // (an ACK would wake it too, but not before the peer has answered).
            if let Some(tcb) = table.conn_at(index)
                && tcb.write_blocked()
            {
                tcb.wake_writer_if_room(env.config);
            }
            // It had its turn: only a later event (an ACK, a write, a timer) queues it again.
            table.settle_flushed(index, &mut env);
        }
        (sent, false)
    }

    /// Builds `seg` of connection `index` into a frame: straight into the device's buffer when
    /// the next hop is resolved, otherwise into an owned buffer parked until ARP answers.
    fn emit_segment(&mut self, now: Instant, index: u32, seg: &Segment, emit: Emit<'_>) -> Emitted {
        let Some(tcb) = self.tcp.conn_at(index) else {
            return Emitted::Sent;
        };
        let (iface, next_hop) = (tcb.iface, tcb.next_hop);
        let i = &self.ifaces[usize::from(iface.0)];
        let fill = !i.config.checksum_offload;
        let src_mac = i.mac();
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let ip = Ipv4Repr {
            src_addr: *tcb.local.ip(),
            dst_addr: *tcb.remote.ip(),
            next_header: IpProtocol::Tcp,
            payload_len: seg.repr.buffer_len(),
            hop_limit: tcb.ttl.unwrap_or(self.config.ip_default_ttl),
            dscp: 0,
            ecn: 0,
            ident: self.ip_ident,
            dont_frag: true,
        };
        let len = ethernet::HEADER_LEN + ip.total_len();
        self.counters.inc(Counter::IpOutRequests);
        if let Some(owner) = self.local_delivery(iface, next_hop) {
            let mut frame = self.buffer(len);
            if let Some(tcb) = self.tcp.conn_at(index) {
                write_frame(&mut frame, src_mac, src_mac, &ip, tcb, seg, fill);
            }
            self.loop_back(owner, frame);
            return Emitted::Sent;
        }
        let resolved = self.neighbors.resolve_fast(now, next_hop);
        let mut parked = resolved.is_none().then(|| self.buffer(len));
        let Some(tcb) = self.tcp.conn_at(index) else {
            return Emitted::Sent;
        };
        let tcb: &Tcb = tcb;
        let last_progress = tcb.last_progress;
        let write = |buf: &mut [u8], dst_mac: EthernetAddress| {
            write_frame(buf, src_mac, dst_mac, &ip, tcb, seg, fill);
        };
        match (resolved, parked.as_mut()) {
            (Some((mac, probe)), _) => {
                let mut fill_buf = |buf: &mut [u8]| write(buf, mac);
                if !emit(iface, len, &mut fill_buf) {
                    self.counters.dec(Counter::IpOutRequests);
                    return Emitted::Blocked;
                }
                if probe {
                    // Recent forward progress proves the neighbour reachable (Linux's
                    // `dst_confirm`); otherwise ask it directly.
                    if now.saturating_duration_since(last_progress) < REACHABLE_TIME {
                        self.neighbors.confirm(now, next_hop);
                    } else {
                        self.send_arp(iface, ArpOperation::Request, mac, next_hop);
                    }
                }
            }
            (None, Some(frame)) => {
                write(frame, EthernetAddress::BROADCAST);
                let frame = parked.take().unwrap_or_default();
                self.queue_resolving(now, iface, next_hop, frame);
            }
            (None, None) => {}
        }
        Emitted::Sent
    }

    /// A segment for the compact TIME_WAIT record in slot `index` (see `tcp/timewait.rs`): its
    /// ACK leaves at once; a RST or a reopening SYN frees it. (A restarted TIME_WAIT is
    /// refiled when its old deadline comes.)
    fn time_wait_segment(
        &mut self,
        now: Instant,
        index: u32,
        seg: &TcpRepr,
        payload: &[u8],
    ) -> Verdict {
        let (mut env, table) = self.tcp_env(now);
        let Some(tw) = table.time_wait_at(index) else {
            return Verdict::Done;
        };
        match tw.on_segment(&mut env, seg, payload.len()) {
            TwVerdict::Ignore => Verdict::Done,
            TwVerdict::Ack => {
                let tw = *tw;
                self.send_time_wait_ack(now, &tw);
                Verdict::Done
            }
            TwVerdict::Kill => {
                table.free(index);
                Verdict::Done
            }
            TwVerdict::Reopen(isn) => {
                table.free(index);
                Verdict::Reopen(isn)
            }
        }
    }

    /// Sends a TIME_WAIT record's ACK (a rare control segment: built into a pooled buffer and
    /// queued, like a RST).
    fn send_time_wait_ack(&mut self, now: Instant, tw: &TimeWait) {
        let repr = tw.ack(now);
        let ttl = if tw.ttl == 0 {
            self.config.ip_default_ttl
        } else {
            tw.ttl
        };
        let hop = NextHop {
            iface: tw.iface,
            next_hop: tw.next_hop,
        };
        let sent = self.send_ipv4_via(
            now,
            hop,
            (*tw.local.ip(), *tw.remote.ip()),
            (IpProtocol::Tcp, ttl),
            repr.buffer_len(),
            &mut |buf, src, dst, fill| {
                repr.emit(&mut TcpPacket::new_unchecked(buf), src, dst, &[], fill);
            },
        );
        if sent {
            self.counters.inc(Counter::TcpOutSegs);
        }
    }

    /// Whether TCP has segments waiting for the next flush.
    pub(crate) fn tcp_has_output(&self) -> bool {
        self.tcp.has_output()
    }
}

/// Writes one TCP segment as a complete Ethernet frame into `buf` (exactly its length).
fn write_frame(
    buf: &mut [u8],
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    ip: &Ipv4Repr,
    tcb: &Tcb,
    seg: &Segment,
    fill: bool,
) {
    let mut eth = EthernetFrame::new_unchecked(buf);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut eth);
    let mut packet = Ipv4Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut packet, fill);
    let mut tcp = TcpPacket::new_unchecked(&mut packet.payload_mut()[..ip.payload_len]);
    seg.repr.emit_header(&mut tcp);
    if seg.repr.payload_len > 0 && seg.kind != Kind::Rst {
        let payload = tcp.payload_mut();
        let copied = tcb.send.read_at(seg.offset, payload);
        debug_assert_eq!(copied, seg.repr.payload_len);
        // Never the bytes of an earlier frame in a recycled buffer, whatever happens.
        payload[copied..].fill(0);
    }
    if fill {
        tcp.fill_checksum(ip.src_addr, ip.dst_addr);
    }
}
