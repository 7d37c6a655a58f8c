//! The stack's TCP paths: segment input (connection, listener, or closed port), the output
//! flush that writes segments straight into device buffers, and the connection timers.
//!
//! Output copies each payload byte once, from the send buffer into the device's frame buffer;
//! headers are written in place around it. Only when the next hop's MAC address is unknown is
//! a segment built into an owned buffer and parked in the neighbour cache.

use core::net::SocketAddrV4;

use super::Emit;
use super::Stack;
use crate::neighbor::REACHABLE_TIME;
use crate::stats::Counter;
use crate::tcp::State;
use crate::tcp::input::Verdict;
use crate::tcp::output::{Kind, Segment};
use crate::tcp::table::{Socket, Table};
use crate::tcp::tcb::{Env, Tcb};
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
        if let Some(index) = self.tcp.lookup(local, remote) {
            if self.accept_overflow(now, index, ip, seg) {
                return;
            }
            let (mut env, table) = self.tcp_env(now);
            let Some(tcb) = table.conn_at(index) else {
                return;
            };
            let verdict = tcb.on_segment(&mut env, seg, payload);
            if verdict == Verdict::Reopen {
                tcb.close_with(&mut env, None);
            }
            table.settle(index, &mut env);
            match verdict {
                Verdict::Done => return,
                Verdict::Reset => {
                    self.send_reset(now, ip, seg);
                    return;
                }
                Verdict::Established => {
                    self.child_established(index);
                    return;
                }
                Verdict::Reopen => {}
            }
        }
        if let Some(listener) = self.tcp.find_listener(local) {
            self.listen_input(now, listener, ip, seg, local, remote);
            return;
        }
        if !seg.flags.contains(TcpFlags::RST) {
            self.send_reset(now, ip, seg);
        }
    }

    /// The handshake's final ACK for a listener's child whose accept queue is full: dropped
    /// (the SYN-ACK will be retransmitted), or with `tcp_abort_on_overflow` answered with a RST.
    /// Returns true if the segment was consumed.
    fn accept_overflow(&mut self, now: Instant, index: u32, ip: &Ipv4Repr, seg: &TcpRepr) -> bool {
        let Some(tcb) = self.tcp.conn_at(index) else {
            return false;
        };
        if tcb.state != State::SynReceived
            || seg.ack_number.is_none()
            || seg.flags.intersects(TcpFlags::RST | TcpFlags::SYN)
        {
            return false;
        }
        let Some((p, g)) = tcb.parent else {
            return false;
        };
        let Some(listener) = self.tcp.listener_at(p, g) else {
            return false;
        };
        if !listener.accept_queue_full() {
            return false;
        }
        listener.stats.overflows += 1;
        listener.stats.drops += 1;
        self.counters.inc(Counter::TcpExtListenOverflows);
        self.counters.inc(Counter::TcpExtListenDrops);
        if self.config.tcp_abort_on_overflow {
            let (mut env, table) = self.tcp_env(now);
            if let Some(tcb) = table.conn_at(index) {
                tcb.close_with(&mut env, None);
            }
            table.settle(index, &mut env);
            self.send_reset(now, ip, seg);
        }
        true
    }

    /// A child finished its handshake: into the accept queue, and wake the acceptor.
    fn child_established(&mut self, index: u32) {
        let Some(tcb) = self.tcp.conn_at(index) else {
            return;
        };
        let Some((p, g)) = tcb.parent else {
            return;
        };
        tcb.in_accept_queue = true;
        if let Some(listener) = self.tcp.listener_at(p, g) {
            listener.syn_queue = listener.syn_queue.saturating_sub(1);
            listener.accept_queue.push_back(index);
            listener.stats.established += 1;
            listener.wake();
        }
    }

    /// A segment for a listener (RFC 9293 section 3.10.7.2).
    fn listen_input(
        &mut self,
        now: Instant,
        index: u32,
        ip: &Ipv4Repr,
        seg: &TcpRepr,
        local: SocketAddrV4,
        remote: SocketAddrV4,
    ) {
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        if seg.ack_number.is_some() {
            self.send_reset(now, ip, seg);
            return;
        }
        if !seg.flags.contains(TcpFlags::SYN) || seg.flags.contains(TcpFlags::FIN) {
            return;
        }
        let generation = self.tcp.handle(index).generation;
        let Some(listener) = self.tcp.listener_at(index, generation) else {
            return;
        };
        if listener.accept_queue_full() {
            listener.stats.overflows += 1;
            listener.stats.drops += 1;
            self.counters.inc(Counter::TcpExtListenOverflows);
            self.counters.inc(Counter::TcpExtListenDrops);
            return;
        }
        if listener.syn_queue >= listener.backlog.max(1) {
            listener.stats.drops += 1;
            self.counters.inc(Counter::TcpExtTCPReqQFullDrop);
            self.counters.inc(Counter::TcpExtListenDrops);
            return;
        }
        let inherited = listener.inherited;
        let Some(hop) = self.routes.lookup(remote.ip().to_owned()) else {
            self.counters.inc(Counter::IpOutNoRoutes);
            return;
        };
        let mtu = self.ifaces[usize::from(hop.iface.0)].config.mtu;
        let mut tcb = Box::new(Tcb::new(&self.config, now));
        tcb.local = local;
        tcb.remote = remote;
        tcb.set_path(hop.iface, hop.next_hop, mtu);
        tcb.nodelay = inherited.nodelay;
        tcb.keepalive = inherited.keepalive;
        tcb.send.set_limit(inherited.send_buffer);
        tcb.recv.set_limit(inherited.recv_buffer);
        let (iss, ts_offset) = self.tcp_isn(now, local, remote);
        tcb.start(iss, ts_offset);
        tcb.irs = seg.seq_number;
        tcb.rcv_nxt = seg.seq_number + 1;
        tcb.rcv_wup = tcb.rcv_nxt;
        tcb.rcv_adv = tcb.rcv_nxt;
        tcb.negotiate(&self.config, &seg.options);
        tcb.snd_wnd = usize::from(seg.window_len);
        tcb.max_snd_wnd = tcb.snd_wnd;
        tcb.snd_wl1 = seg.seq_number;
        tcb.snd_wl2 = iss;
        tcb.state = State::SynReceived;
        tcb.parent = Some((index, generation));
        let child = self.tcp.insert(Socket::Conn(tcb));
        self.tcp.hold_port(child, local.port(), false);
        self.tcp.hash(child);
        if let Some(listener) = self.tcp.listener_at(index, generation) {
            listener.syn_queue += 1;
        }
        let (mut env, table) = self.tcp_env(now);
        table.settle(child, &mut env);
    }

    /// Runs the connection timers due at `now`.
    pub(crate) fn tcp_timers(&mut self, now: Instant) {
        if self.tcp.advance_timers(now) == 0 {
            return;
        }
        let (mut env, table) = self.tcp_env(now);
        let fired = table.take_fired();
        for &index in &fired {
            if let Some(tcb) = table.conn_at(index) {
                tcb.on_timers(&mut env);
                table.settle(index, &mut env);
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
            while let Some(seg) = self
                .tcp
                .conn_at(index)
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
        let copied = tcb.send.read_at(seg.offset, tcp.payload_mut());
        debug_assert_eq!(copied, seg.repr.payload_len);
    }
    if fill {
        tcp.fill_checksum(ip.src_addr, ip.dst_addr);
    }
}
