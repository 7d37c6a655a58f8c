//! The stack's listener paths: a SYN to a listener (SYN queue, accept-queue overflow, SYN
//! cookies), the handshake's final ACK when the accept queue is full, an ACK that returns a
//! cookie, and the bookkeeping as requests complete. The rules, with their Linux names, are
//! in [`crate::tcp::listen`]'s documentation; this file applies them in that order.

use core::net::SocketAddrV4;

use super::Stack;
use crate::stats::Counter;
use crate::tcp::State;
use crate::tcp::cookie::{self, TsOptions};
use crate::tcp::input::Verdict;
use crate::tcp::listen::Inherited;
use crate::tcp::table::Socket;
use crate::tcp::tcb::Tcb;
use crate::time::Instant;
use crate::wire::SeqNumber;
use crate::wire::ipv4::{IpProtocol, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpOptions, TcpPacket, TcpRepr};

/// The MSS a SYN without the option stands for (RFC 9293 section 3.7.1).
const DEFAULT_PEER_MSS: u16 = 536;

/// Why a listener dropped a connection request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drop {
    /// The accept queue was full (`ListenOverflows`).
    Overflow,
    /// The SYN queue was full and cookies are off (`TCPReqQFullDrop`).
    SynQueueFull,
    /// The last quarter of `tcp_max_syn_backlog` is kept for proven peers.
    Unproven,
}

/// Where a new connection's sequence spaces start.
struct Start {
    /// The peer's initial sequence number.
    irs: SeqNumber,
    /// Ours, or `None` for the keyed-hash ISN.
    iss: Option<SeqNumber>,
}

impl Stack {
    /// A segment for a listener, no connection matching it (RFC 9293 section 3.10.7.2).
    /// `reopen` is the ISN for a SYN that ended a TIME_WAIT on its 4-tuple.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn listen_input(
        &mut self,
        now: Instant,
        index: u32,
        ip: &Ipv4Repr,
        seg: &TcpRepr,
        payload: &[u8],
        (local, remote): (SocketAddrV4, SocketAddrV4),
        reopen: Option<SeqNumber>,
    ) {
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        let generation = self.tcp.handle(index).generation;
        if seg.ack_number.is_some() {
            let cookies = self.config.tcp_syncookies != 0
                && !seg.flags.contains(TcpFlags::SYN)
                && self
                    .tcp
                    .listener_at(index, generation)
                    .is_some_and(|l| l.checks_cookies(now));
            let addrs = (local, remote);
            if !cookies || !self.cookie_ack(now, (index, generation), ip, seg, payload, addrs) {
                self.send_reset(now, ip, seg);
            }
            return;
        }
        if !seg.flags.contains(TcpFlags::SYN) || seg.flags.contains(TcpFlags::FIN) {
            return;
        }
        self.listen_syn(now, (index, generation), seg, (local, remote), reopen);
    }

    /// A SYN for listener `parent` (`tcp_v4_conn_request`); `iss` is set when it reopens a
    /// 4-tuple in TIME_WAIT (a SYN cookie overrides it, as in Linux).
    fn listen_syn(
        &mut self,
        now: Instant,
        parent: (u32, u32),
        seg: &TcpRepr,
        (local, remote): (SocketAddrV4, SocketAddrV4),
        iss: Option<SeqNumber>,
    ) {
        let cookies = self.config.tcp_syncookies;
        let max_syn_backlog = self.config.tcp_max_syn_backlog;
        let Some(listener) = self.tcp.listener_at(parent.0, parent.1) else {
            return;
        };
        let mut want_cookie = false;
        if cookies == 2 || listener.syn_queue_full() {
            if cookies == 0 {
                return self.listen_drop(parent, Drop::SynQueueFull);
            }
            self.counters.inc(Counter::TcpExtTCPReqQFullDoCookies);
            want_cookie = true;
        }
        let listener = self.tcp.listener_at(parent.0, parent.1).expect("checked");
        if listener.accept_queue_full() && listener.young > 1 {
            return self.listen_drop(parent, Drop::Overflow);
        }
        if !want_cookie && cookies == 0 && listener.keeps_room_for_proven_peers(max_syn_backlog) {
            return self.listen_drop(parent, Drop::Unproven);
        }
        let inherited = listener.inherited;
        let start = Start {
            irs: seg.seq_number,
            iss,
        };
        let Some(mut tcb) = self.new_child(now, local, remote, inherited, start, &seg.options)
        else {
            return;
        };
        tcb.snd_wnd = u32::from(seg.window_len);
        tcb.max_snd_wnd = tcb.snd_wnd;
        tcb.snd_wl1 = seg.seq_number;
        tcb.state = State::SynReceived;
        tcb.parent = Some(parent);
        if want_cookie {
            self.send_cookie_synack(now, parent, tcb, seg);
            return;
        }
        tcb.set_young(true);
        let tcb = self.tcp.boxed(tcb);
        let child = self.tcp.insert(Socket::Conn(tcb));
        self.tcp.hold_port(child, local.port(), false);
        self.tcp.hash(child);
        if let Some(listener) = self.tcp.listener_at(parent.0, parent.1) {
            listener.syn_queue += 1;
            listener.young += 1;
        }
        let (mut env, table) = self.tcp_env(now);
        table.settle(child, &mut env);
    }

    /// Counts a dropped request on the listener and globally.
    fn listen_drop(&mut self, parent: (u32, u32), why: Drop) {
        if let Some(l) = self.tcp.listener_at(parent.0, parent.1) {
            l.stats.drops += 1;
            if why == Drop::Overflow {
                l.stats.overflows += 1;
            }
        }
        match why {
            Drop::Overflow => self.counters.inc(Counter::TcpExtListenOverflows),
            Drop::SynQueueFull => self.counters.inc(Counter::TcpExtTCPReqQFullDrop),
            Drop::Unproven => {}
        }
        self.counters.inc(Counter::TcpExtListenDrops);
    }

    /// A connection for a listener's request or cookie, not yet in the table (nor on the
    /// heap: a cookie's is dropped after its SYN-ACK): path, inherited options, sequence
    /// spaces and the options negotiated from `options` (the SYN's, or what a cookie
    /// restored). `None` without a route to the peer.
    fn new_child(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        inherited: Inherited,
        start: Start,
        options: &TcpOptions,
    ) -> Option<Tcb> {
        let Some(hop) = self.routes.lookup(*remote.ip()) else {
            self.counters.inc(Counter::IpOutNoRoutes);
            return None;
        };
        let mtu = self.ifaces[usize::from(hop.iface.0)].config.mtu;
        let mut tcb = Tcb::new(&self.config, now);
        tcb.local = local;
        tcb.remote = remote;
        tcb.set_path(hop.iface, hop.next_hop, mtu);
        tcb.set_nodelay(inherited.nodelay);
        tcb.set_keepalive(inherited.keepalive);
        tcb.notsent_lowat = inherited.notsent_lowat;
        tcb.send.set_limit(inherited.send_buffer);
        tcb.recv.set_limit(inherited.recv_buffer);
        tcb.set_snd_locked(inherited.snd_locked);
        tcb.set_rcv_locked(inherited.rcv_locked);
        tcb.cc.set_algorithm(inherited.congestion);
        tcb.ttl = inherited.ttl;
        let (isn, ts_offset) = self.tcp_isn(now, local, remote);
        let iss = start.iss.unwrap_or(isn);
        tcb.start(iss, ts_offset);
        tcb.snd_wl2 = iss;
        tcb.irs = start.irs;
        tcb.rcv_nxt = start.irs + 1;
        tcb.rcv_wup = tcb.rcv_nxt;
        tcb.rcv_adv = tcb.rcv_nxt;
        tcb.negotiate(&self.config, options, now);
        Some(tcb)
    }

    /// Answers a SYN with a cookie SYN-ACK built from `tcb` (the request it would have been),
    /// then forgets it.
    fn send_cookie_synack(
        &mut self,
        now: Instant,
        parent: (u32, u32),
        mut tcb: Tcb,
        seg: &TcpRepr,
    ) {
        let mss = seg.options.mss.unwrap_or(DEFAULT_PEER_MSS);
        let cookie = cookie::make(
            &self.secrets,
            now,
            tcb.local,
            tcb.remote,
            seg.seq_number,
            cookie::mss_index(mss),
        );
        let ts_offset = tcb.ts_offset;
        tcb.start(cookie, ts_offset);
        if !tcb.opts.timestamps {
            // Nowhere to keep window scaling and SACK: the connection goes without.
            tcb.opts.scaling = false;
            tcb.opts.snd_shift = 0;
            tcb.opts.rcv_shift = 0;
            tcb.opts.sack = false;
        }
        let Some(mut synack) = tcb.next_segment(&self.config, now) else {
            return;
        };
        if tcb.opts.timestamps {
            let opts = TsOptions {
                wscale: tcb.opts.scaling.then_some(tcb.opts.snd_shift),
                sack: tcb.opts.sack,
            };
            let raw = cookie::encode_timestamp(now.total_millis() as u32, opts);
            synack.repr.options.timestamps = Some((raw.wrapping_add(ts_offset), tcb.ts_recent));
        }
        let repr = synack.repr;
        let ttl = tcb.ttl.unwrap_or(self.config.ip_default_ttl);
        let sent = self.send_ipv4_ttl(
            now,
            *tcb.remote.ip(),
            IpProtocol::Tcp,
            ttl,
            repr.buffer_len(),
            &mut |buf, src, dst, fill| {
                repr.emit(&mut TcpPacket::new_unchecked(buf), src, dst, &[], fill);
            },
        );
        if sent {
            self.counters.inc(Counter::TcpOutSegs);
        }
        self.counters.inc(Counter::TcpExtSyncookiesSent);
        if let Some(l) = self.tcp.listener_at(parent.0, parent.1) {
            l.stats.syncookies_sent += 1;
            l.last_cookie = Some(now);
        }
    }

    /// An ACK for listener `parent` matching no connection, while the listener checks cookies
    /// (`cookie_v4_check`). Returns false if the cookie is invalid (the caller answers with a
    /// RST); true if the connection was created or the ACK dropped.
    fn cookie_ack(
        &mut self,
        now: Instant,
        parent: (u32, u32),
        ip: &Ipv4Repr,
        seg: &TcpRepr,
        payload: &[u8],
        (local, remote): (SocketAddrV4, SocketAddrV4),
    ) -> bool {
        let ack = seg.ack_number.expect("an ACK");
        let (iss, irs) = (ack - 1, seg.seq_number - 1);
        let (_, ts_offset) = self.tcp_isn(now, local, remote);
        let mss = cookie::check(&self.secrets, now, local, remote, irs, iss);
        let timestamps = seg
            .options
            .timestamps
            .filter(|_| self.config.tcp_timestamps);
        let ts_opts = match timestamps {
            Some((_, ecr)) => cookie::decode_timestamp(ecr.wrapping_sub(ts_offset)),
            None => Some(TsOptions {
                wscale: None,
                sack: false,
            }),
        };
        let (Some(mss), Some(ts_opts)) = (mss, ts_opts) else {
            self.counters.inc(Counter::TcpExtSyncookiesFailed);
            if let Some(l) = self.tcp.listener_at(parent.0, parent.1) {
                l.stats.syncookies_failed += 1;
            }
            return false;
        };
        self.counters.inc(Counter::TcpExtSyncookiesRecv);
        let Some(listener) = self.tcp.listener_at(parent.0, parent.1) else {
            return true;
        };
        listener.stats.syncookies_recv += 1;
        if listener.accept_queue_full() {
            self.listen_drop(parent, Drop::Overflow);
            return true;
        }
        let inherited = listener.inherited;
        let options = TcpOptions {
            mss: Some(mss),
            window_scale: ts_opts.wscale,
            sack_permitted: ts_opts.sack,
            timestamps,
            ..TcpOptions::default()
        };
        let start = Start {
            irs,
            iss: Some(iss),
        };
        let Some(mut tcb) = self.new_child(now, local, remote, inherited, start, &options) else {
            return true;
        };
        // The SYN-ACK is acknowledged; the window it offered (never scaled) is open.
        tcb.snd_una = iss + 1;
        tcb.snd_nxt = iss + 1;
        tcb.snd_max = iss + 1;
        tcb.recover = iss + 1;
        let offered = tcb.window_to_advertise().min(usize::from(u16::MAX));
        tcb.rcv_adv = tcb.rcv_nxt + offered;
        tcb.snd_wnd = u32::from(seg.window_len) << tcb.opts.snd_shift;
        tcb.max_snd_wnd = tcb.snd_wnd;
        tcb.snd_wl1 = seg.seq_number;
        tcb.snd_wl2 = ack;
        tcb.parent = Some(parent);
        tcb.set_in_accept_queue(true);
        let tcb = self.tcp.boxed(tcb);
        let child = self.tcp.insert(Socket::Conn(tcb));
        self.tcp.hold_port(child, local.port(), false);
        self.tcp.hash(child);
        self.counters.inc(Counter::TcpPassiveOpens);
        let (mut env, table) = self.tcp_env(now);
        if let Some(tcb) = table.conn_at(child) {
            tcb.set_state(&mut env, State::Established);
            tcb.init_rcv_tuning(env.config, now);
            tcb.expand_sndbuf(env.config);
            tcb.last_progress = now;
        }
        if let Some(listener) = self.tcp.listener_at(parent.0, parent.1) {
            listener.accept_queue.push_back(child);
            listener.stats.established += 1;
            listener.wake();
        }
        // Whatever else the ACK carries (data, a FIN) is the new connection's.
        if (!payload.is_empty() || seg.flags.contains(TcpFlags::FIN))
            && self.conn_segment(now, child, seg, payload) == Verdict::Reset
        {
            self.send_reset(now, ip, seg);
        }
        let (mut env, table) = self.tcp_env(now);
        table.settle(child, &mut env);
        true
    }

    /// The handshake's final ACK for a listener's child whose accept queue is full: dropped
    /// (the SYN-ACK will be retransmitted), or with `tcp_abort_on_overflow` answered with a RST.
    /// Returns true if the segment was consumed.
    pub(super) fn accept_overflow(
        &mut self,
        now: Instant,
        index: u32,
        ip: &Ipv4Repr,
        seg: &TcpRepr,
    ) -> bool {
        let Some(tcb) = self.tcp.conn_at(index) else {
            return false;
        };
        if tcb.state != State::SynReceived
            || seg.ack_number.is_none()
            || seg.flags.intersects(TcpFlags::RST | TcpFlags::SYN)
        {
            return false;
        }
        let Some(parent) = tcb.parent else {
            return false;
        };
        if !self
            .tcp
            .listener_at(parent.0, parent.1)
            .is_some_and(|l| l.accept_queue_full())
        {
            return false;
        }
        self.listen_drop(parent, Drop::Overflow);
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
    pub(super) fn child_established(&mut self, index: u32) {
        self.tcp.leave_young(index);
        let Some(tcb) = self.tcp.conn_at(index) else {
            return;
        };
        let Some((p, g)) = tcb.parent else {
            return;
        };
        tcb.set_in_accept_queue(true);
        if let Some(listener) = self.tcp.listener_at(p, g) {
            listener.syn_queue = listener.syn_queue.saturating_sub(1);
            listener.accept_queue.push_back(index);
            listener.stats.established += 1;
            listener.wake();
        }
    }

    /// A RST removed a listener's request (`EmbryonicRsts`).
    pub(super) fn embryonic_reset(&mut self, parent: (u32, u32)) {
        self.counters.inc(Counter::TcpExtEmbryonicRsts);
        if let Some(l) = self.tcp.listener_at(parent.0, parent.1) {
            l.stats.embryonic_rsts += 1;
        }
    }
}
