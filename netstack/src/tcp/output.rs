//! What a connection sends next, and what sending it changes.
//!
//! [`Tcb::next_segment`] decides (without changing anything) which segment is due, in this
//! order: a RST for an aborted connection; the SYN or SYN-ACK; a retransmission of the first
//! unacknowledged segment (fast retransmit, NewReno partial ACK); new data (or data again after
//! a timeout rewound `snd_nxt`) with the FIN when it is last; a window or keepalive probe; a
//! pure ACK. The stack writes the segment straight into a device buffer, payload copied from
//! the send buffer, and then calls [`Tcb::on_sent`].
//!
//! Sending rules:
//! - At most `min(snd_wnd, cwnd)` bytes past `snd_una`, in segments of at most `mss`.
//! - Nagle (RFC 896, RFC 9293 section 3.7.4): a short segment waits while data is in flight,
//!   unless `nodelay` is set or it carries the FIN.
//! - Sender silly-window avoidance (RFC 9293 section 3.8.6.2.1): a short segment cut by the
//!   window waits, while data is in flight, unless it is at least half the largest window seen.
//! - Every segment but the first SYN carries an ACK, the current window (receiver silly-window
//!   avoidance in [`Tcb::window_to_advertise`]), SACK blocks when out-of-order data is held, and
//!   timestamps when negotiated.
//! - A pure ACK or RST carries `snd_max`, not `snd_nxt`: after a timeout rewound `snd_nxt`,
//!   the peer may already hold everything up to `snd_max` and would drop a segment starting
//!   below what it has (BSD does the same).
//! - A window or keepalive probe is Linux's: an ACK with sequence number `snd_una - 1` and no
//!   data, which the peer must answer with its current ACK and window.

use super::State;
use super::seq_dist;
use super::tcb::{Env, Tcb};
use crate::config::StackConfig;
use crate::stats::Counter;
use crate::time::Instant;
use crate::wire::SeqNumber;
use crate::wire::tcp::options::SackBlocks;
use crate::wire::tcp::{TcpFlags, TcpOptions, TcpRepr};

/// Why a segment is sent (for the sequence bookkeeping and counters of [`Tcb::on_sent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// SYN or SYN-ACK.
    Syn,
    /// Data and/or FIN from `snd_nxt`.
    Data,
    /// The first unacknowledged segment again.
    RetransmitHead,
    /// A segment the scoreboard marked lost, again (SACK recovery).
    RetransmitLost,
    /// A tail loss probe: new data, or the last segment again.
    TailProbe,
    /// A window or keepalive probe.
    Probe,
    /// A pure ACK (or window update).
    Ack,
    /// A reset.
    Rst,
}

/// A segment to send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    /// Its header (ports, sequence numbers, flags, window, options, payload length).
    pub repr: TcpRepr,
    /// Where its payload starts in the send buffer.
    pub offset: usize,
    /// Why it is sent.
    pub kind: Kind,
}

impl Tcb {
    /// The segment due now, if any.
    pub(crate) fn next_segment(&self, config: &StackConfig, now: Instant) -> Option<Segment> {
        if self.rst_now() {
            return Some(self.control(TcpFlags::RST, self.snd_max, Kind::Rst, now));
        }
        match self.state {
            // The ACK of the peer's FIN of a connection closed at once instead of entering
            // TIME_WAIT (`tcp_max_tw_buckets`).
            State::Closed => self
                .final_ack()
                .then(|| self.control(TcpFlags::empty(), self.snd_max, Kind::Ack, now)),
            State::Listen => None,
            State::SynSent => (self.snd_nxt == self.iss).then(|| self.syn(config, now)),
            State::SynReceived => {
                (self.snd_nxt == self.iss || self.ack_now()).then(|| self.syn(config, now))
            }
            State::TimeWait => self.ack_segment(now),
            // Nothing left to send but ACKs and keepalive probes (a half-closed connection
            // with SO_KEEPALIVE still checks on its peer, as Linux does).
            State::FinWait2 => self.probe_segment(now).or_else(|| self.ack_segment(now)),
            _ => self
                .retransmit_head(now)
                .or_else(|| self.retransmit_lost(now))
                .or_else(|| self.tail_probe(now))
                .or_else(|| self.data_segment(now))
                .or_else(|| self.probe_segment(now))
                .or_else(|| self.ack_segment(now)),
        }
    }

    /// The window field and the window it stands for.
    fn window_field(&self, syn: bool) -> (u16, usize) {
        let wnd = self.window_to_advertise();
        if syn {
            let field = wnd.min(usize::from(u16::MAX));
            return (field as u16, field);
        }
        // Round down: never promise space the buffer does not have. The edge may then appear
        // to retract by less than one scale unit (RFC 7323 appendix F); data up to the
        // furthest edge ever advertised is still accepted (`rcv_adv` only grows).
        let shift = self.opts.rcv_shift;
        let field = (wnd >> shift).min(usize::from(u16::MAX));
        (field as u16, field << shift)
    }

    fn options(&self, now: Instant) -> TcpOptions {
        let mut options = TcpOptions::default();
        if self.opts.timestamps {
            options.timestamps = Some((self.ts_now(now), self.ts_recent));
        }
        if self.opts.sack && (!self.assembler.is_empty() || self.dsack.is_some()) {
            let room = if self.opts.timestamps { 3 } else { 4 };
            let mut blocks = SackBlocks::new();
            // A D-SACK block goes first (RFC 2883 section 4).
            if let Some((start, len)) = self.dsack {
                blocks.push(start, start + len.get() as usize);
            }
            for (start, end) in self.assembler.recent_first().take(room - blocks.len()) {
                blocks.push(self.rcv_nxt + start, self.rcv_nxt + end);
            }
            options.sack_blocks = blocks;
        }
        options
    }

    /// Bytes the SACK option adds to a segment now (the MSS already accounts for timestamps).
    fn sack_option_len(&self) -> usize {
        if !self.opts.sack || (self.assembler.is_empty() && self.dsack.is_none()) {
            return 0;
        }
        let room = if self.opts.timestamps { 3 } else { 4 };
        let blocks = (self.assembler.ranges().len() + usize::from(self.dsack.is_some())).min(room);
        // Kind, length and 8 bytes per block, padded with NOPs to a multiple of 4.
        (2 + 8 * blocks).div_ceil(4) * 4
    }

    /// A segment with no payload.
    fn control(&self, flags: TcpFlags, seq: SeqNumber, kind: Kind, now: Instant) -> Segment {
        let (window_len, _) = self.window_field(false);
        let options = if kind == Kind::Rst {
            TcpOptions::default()
        } else {
            self.options(now)
        };
        Segment {
            repr: TcpRepr {
                src_port: self.local.port(),
                dst_port: self.remote.port(),
                seq_number: seq,
                ack_number: Some(self.rcv_nxt),
                flags,
                window_len,
                urgent: 0,
                options,
                payload_len: 0,
            },
            offset: 0,
            kind,
        }
    }

    /// SYN (active open) or SYN-ACK (passive or simultaneous open).
    fn syn(&self, config: &StackConfig, now: Instant) -> Segment {
        let synack = self.state == State::SynReceived;
        let mut options = TcpOptions {
            mss: Some(self.adv_mss),
            ..TcpOptions::default()
        };
        if synack {
            if self.opts.scaling {
                options.window_scale = Some(self.opts.rcv_shift);
            }
            options.sack_permitted = self.opts.sack;
            if self.opts.timestamps {
                options.timestamps = Some((self.ts_now(now), self.ts_recent));
            }
        } else {
            if config.tcp_window_scaling {
                options.window_scale = Some(Tcb::wanted_shift(config.tcp_rmem[2]));
            }
            options.sack_permitted = config.tcp_sack;
            if config.tcp_timestamps {
                options.timestamps = Some((self.ts_now(now), 0));
            }
        }
        let (window_len, _) = self.window_field(true);
        Segment {
            repr: TcpRepr {
                src_port: self.local.port(),
                dst_port: self.remote.port(),
                seq_number: self.iss,
                ack_number: synack.then_some(self.rcv_nxt),
                flags: TcpFlags::SYN,
                window_len,
                urgent: 0,
                options,
                payload_len: 0,
            },
            offset: 0,
            kind: Kind::Syn,
        }
    }

    fn retransmit_head(&self, now: Instant) -> Option<Segment> {
        if !self.rtx_head() || self.snd_max == self.snd_una {
            return None;
        }
        // Only bytes sent before: never new data under the guise of a retransmission.
        let sent = seq_dist(self.snd_max, self.snd_una);
        let mss = self.mss().saturating_sub(self.sack_option_len()).max(1);
        let len = self.send.len().min(mss).min(sent);
        let fin =
            self.fin_queued() && !self.fin_acked() && len == self.send.len() && self.fin_sent();
        if len == 0 && !fin {
            return None;
        }
        let flags = if fin {
            TcpFlags::FIN
        } else {
            TcpFlags::empty()
        };
        let mut seg = self.control(flags, self.snd_una, Kind::RetransmitHead, now);
        seg.repr.payload_len = len;
        if len > 0 {
            seg.repr.flags.insert(TcpFlags::PSH);
        }
        Some(seg)
    }

    /// The first segment the scoreboard marked lost, while the window has room for it.
    /// RFC 6675 section 5 (C): only while the window has room for it (a whole segment, or
    /// what is left of the run if shorter).
    fn retransmit_lost(&self, now: Instant) -> Option<Segment> {
        if !self.sack_in_use() || !self.sb.has_lost_unsent() {
            return None;
        }
        // One MSS of payload, and the FIN's sequence number if it follows.
        let (start, len) = self.sb.next_lost_run(self.mss() + 1)?;
        let room = self.cc.cwnd().saturating_sub(self.sb.pipe());
        if room < len.min(self.mss()) {
            return None;
        }
        self.range_segment(start, len, Kind::RetransmitLost, now)
    }

    /// The tail loss probe: one new segment if the peer's window allows (the congestion
    /// window and Nagle do not hold a probe back), else the last segment sent, again.
    fn tail_probe(&self, now: Instant) -> Option<Segment> {
        if !self.tlp_due() {
            return None;
        }
        let offset = seq_dist(self.snd_nxt, self.snd_una);
        let mss = self.mss().saturating_sub(self.sack_option_len()).max(1);
        let room = self.snd_wnd().saturating_sub(offset);
        let len = self.send.len().saturating_sub(offset).min(mss).min(room);
        if len > 0 {
            let fin = self.fin_due_after(self.snd_nxt + len);
            return self.range_segment(self.snd_nxt, len + usize::from(fin), Kind::TailProbe, now);
        }
        let last = self.sb.iter().last()?;
        let start = last.start.max(last.end() - mss);
        self.range_segment(start, seq_dist(last.end(), start), Kind::TailProbe, now)
    }

    /// A segment for the `len` sequence numbers from `start` (at or after `snd_una`): payload
    /// from the send buffer, at most one MSS, with the FIN if the range covers it.
    fn range_segment(
        &self,
        start: SeqNumber,
        len: usize,
        kind: Kind,
        now: Instant,
    ) -> Option<Segment> {
        let offset = seq_dist(start, self.snd_una);
        let avail = self.send.len().saturating_sub(offset);
        let mss = self.mss().saturating_sub(self.sack_option_len()).max(1);
        let payload = len.min(mss).min(avail);
        let fin_covered = self.fin_queued()
            && !self.fin_acked()
            && payload == avail
            && len > payload
            && (self.fin_sent() || self.fin_due_after(start + payload));
        if payload == 0 && !fin_covered {
            return None;
        }
        let mut flags = if fin_covered {
            TcpFlags::FIN
        } else {
            TcpFlags::empty()
        };
        if payload > 0 {
            flags.insert(TcpFlags::PSH);
        }
        let mut seg = self.control(flags, start, kind, now);
        seg.repr.payload_len = payload;
        seg.offset = offset;
        Some(seg)
    }

    /// Whether a FIN may follow data ending at `end`: it is queued and `end` is its place.
    fn fin_due_after(&self, end: SeqNumber) -> bool {
        self.fin_queued() && !self.fin_acked() && end == self.fin_seq()
    }

    fn data_segment(&self, now: Instant) -> Option<Segment> {
        let offset = seq_dist(self.snd_nxt, self.snd_una);
        if offset > self.send.len() {
            return None;
        }
        let avail = self.send.len() - offset;
        let usable = if self.sack_in_use() {
            // What the peer's window leaves, and what the congestion window leaves over the
            // bytes actually in flight (SACKed and lost bytes are not).
            let cwnd_room = self.cc.cwnd().saturating_sub(self.sb.pipe());
            self.snd_wnd().saturating_sub(offset).min(cwnd_room)
        } else {
            self.snd_wnd().min(self.cc.cwnd()).saturating_sub(offset)
        };
        // SACK blocks take room from the payload: the segment must stay within the MSS.
        let mss = self.mss().saturating_sub(self.sack_option_len()).max(1);
        let len = avail.min(mss).min(usable);
        let in_flight = offset > 0;
        // Bytes sent before and being resent after a timeout are not held back by Nagle.
        let resending = self.snd_nxt.lt(self.snd_max);
        let fin = self.fin_due()
            || (self.fin_queued()
                && !self.fin_acked()
                && len > 0
                && offset + len == self.send.len());
        if len > 0 {
            if len < mss && !fin && !resending {
                let all = len == avail;
                if all && in_flight && !self.nodelay() {
                    return None; // Nagle
                }
                if !all && in_flight && len < self.max_snd_wnd() / 2 {
                    return None; // sender SWS avoidance
                }
            }
        } else if !(fin && self.fin_due()) {
            return None;
        }
        let mut flags = if fin {
            TcpFlags::FIN
        } else {
            TcpFlags::empty()
        };
        if len > 0 && len == avail {
            flags.insert(TcpFlags::PSH);
        }
        let mut seg = self.control(flags, self.snd_nxt, Kind::Data, now);
        seg.repr.payload_len = len;
        seg.offset = offset;
        Some(seg)
    }

    fn probe_segment(&self, now: Instant) -> Option<Segment> {
        self.probe_now()
            .then(|| self.control(TcpFlags::empty(), self.snd_una - 1, Kind::Probe, now))
    }

    fn ack_segment(&self, now: Instant) -> Option<Segment> {
        (self.ack_now() || self.window_update_due())
            .then(|| self.control(TcpFlags::empty(), self.snd_max, Kind::Ack, now))
    }

    /// Whether [`Tcb::next_segment`] may have a segment: what [`Tcb::wants_output`] says is
    /// owed, or a window update. A cheap pre-check (never false when a segment is due).
    pub(crate) fn may_send(&self) -> bool {
        self.wants_output() || self.window_update_due()
    }

    /// Whether reading made enough room that the peer should hear of it now (Linux's rule in
    /// `__tcp_cleanup_rbuf`: the window we could offer is at least twice the one offered, and
    /// that one is at most half the buffer).
    pub(crate) fn window_update_due(&self) -> bool {
        if !matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) || self.fin_received()
        {
            return false;
        }
        let offered = self.rcv_wnd();
        let could = self.window_to_advertise();
        2 * offered <= self.recv.limit() && could >= 2 * offered && could > offered
    }

    /// New data leaves with nothing in flight: tell congestion control how long the
    /// connection was idle, and restart the window if that exceeded the RTO (RFC 5681 section
    /// 4.1, unless `tcp_slow_start_after_idle` is off).
    fn restart_after_idle(&mut self, env: &Env<'_>) {
        let idle = env.now.saturating_duration_since(self.last_data_sent);
        let restart = env.config.tcp_slow_start_after_idle && idle > self.rtt.rto();
        self.cc
            .restart_after_idle(idle, restart, env.config.tcp_init_cwnd, self.mss());
    }

    /// Records that `seg` left: sequence numbers advance, timers start, owed ACKs are paid.
    pub(crate) fn on_sent(&mut self, env: &mut Env<'_>, seg: &Segment) {
        let now = env.now;
        let repr = &seg.repr;
        if repr.ack_number.is_some() {
            let (field, wnd) = self.window_field(repr.flags.contains(TcpFlags::SYN));
            let edge = self.rcv_nxt + wnd;
            if edge.gt(self.rcv_adv) {
                self.rcv_adv = edge;
            }
            self.rcv_wup = self.rcv_nxt;
            self.set_ack_now(false);
            self.set_final_ack(false);
            self.unacked_segs = 0;
            self.timers.delack = None;
            if field == 0 && !self.zero_window_sent() {
                env.count(Counter::TcpExtTCPToZeroWindowAdv);
            } else if field != 0 && self.zero_window_sent() {
                env.count(Counter::TcpExtTCPFromZeroWindowAdv);
            }
            self.set_zero_window_sent(field == 0);
        }
        let len = repr.segment_len();
        let end = repr.seq_number + len;
        let retransmission = len > 0 && repr.seq_number.lt(self.snd_max);
        if retransmission {
            env.count(Counter::TcpRetransSegs);
            // Karn: an RTT measured across a retransmission is ambiguous.
            self.rtt_probe_sent = None;
            if self.undo_stamp.is_none()
                && (self.in_recovery() || self.in_loss() || self.rto_undo_pending())
            {
                self.undo_stamp = repr.options.timestamps.map(|(tsval, _)| tsval);
            }
            if self.undo_marker.is_some() && (self.in_recovery() || self.in_loss()) {
                self.undo_retrans += 1;
            }
        } else {
            env.count(Counter::TcpOutSegs);
        }
        if repr.ack_number.is_some() {
            // The D-SACK block went out (once is enough: RFC 2883 section 4).
            self.dsack = None;
            self.ack_pushed = 0;
        }
        if repr.payload_len > 0
            && !retransmission
            && now.saturating_duration_since(self.last_data_recv) < super::tcb::DELACK_MIN
        {
            // A reply soon after data arrived: request/response traffic (Linux's
            // `tcp_event_data_sent` entering pingpong mode).
            self.set_pingpong(true);
        }
        let carries = matches!(
            seg.kind,
            Kind::Data | Kind::RetransmitHead | Kind::RetransmitLost | Kind::TailProbe
        );
        if carries && len > 0 && self.sack_in_use() {
            self.sb.on_sent(repr.seq_number, len, now);
            if self.in_recovery() {
                // Counted for PRR, which only a SACK recovery uses.
                self.sb.prr_mut().out += len;
            }
        }
        match seg.kind {
            Kind::Rst => {
                self.set_rst_now(false);
                env.count(Counter::TcpOutRsts);
            }
            Kind::Probe => self.set_probe_now(false),
            Kind::Ack => {}
            Kind::RetransmitHead | Kind::RetransmitLost => {
                self.set_rtx_head(false);
                if self.in_recovery() {
                    env.count(Counter::TcpExtTCPFastRetrans);
                } else if self.in_loss() {
                    env.count(Counter::TcpExtTCPSlowStartRetrans);
                }
                if repr.payload_len > 0 {
                    self.last_data_sent = now;
                }
                self.arm_rto_if_idle(now);
            }
            Kind::TailProbe => {
                self.set_tlp_due(false);
                self.set_tlp_retrans(retransmission);
                self.last_data_sent = now;
                if end.gt(self.snd_max) {
                    self.snd_max = end;
                    self.snd_nxt = end;
                }
                self.tlp_high_seq = Some(self.snd_max);
                // Linux's `tcp_rearm_rto`: the probe starts a fresh timeout.
                self.timers.rto = Some(now + self.rtt.rto());
            }
            Kind::Syn | Kind::Data => {
                if seg.kind == Kind::Data && repr.payload_len > 0 {
                    if !retransmission && self.snd_una == self.snd_max {
                        self.restart_after_idle(env);
                    }
                    self.last_data_sent = now;
                }
                if retransmission && seg.kind == Kind::Syn {
                    env.count(Counter::TcpExtTCPSynRetrans);
                } else if retransmission {
                    // Only a timeout rewinds `snd_nxt` ("go back N" without SACK).
                    env.count(Counter::TcpExtTCPSlowStartRetrans);
                }
                if !retransmission && repr.payload_len > 0 {
                    env.count(Counter::TcpExtTCPOrigDataSent);
                }
                if len > 0 {
                    self.snd_nxt = end;
                    if end.gt(self.snd_max) {
                        self.snd_max = end;
                        if self.rtt_probe_sent.is_none() && self.retries == 0 {
                            self.rtt_probe_sent = Some(now);
                            self.rtt_probe_end = end;
                        }
                    }
                    self.arm_rto_if_idle(now);
                    if seg.kind == Kind::Data && !retransmission {
                        self.arm_tlp(now, env.config);
                    }
                }
            }
        }
    }
}
