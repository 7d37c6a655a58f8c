//! Segment arrival for a connection (RFC 9293 section 3.10.7.3 and 3.10.7.4), with RFC 5961's
//! protections against blind resets, SYNs and data.
//!
//! Decisions worth knowing:
//! - Acceptability follows Linux (`tcp_sequence`): a segment is in window if it ends at or after
//!   `rcv_wup` (the `rcv_nxt` we last advertised from) and starts at or before the advertised
//!   right edge. That accepts a pure ACK overtaken by data sent after it, which RFC 9293's test
//!   would drop and Linux does not.
//! - A RST resets only if its sequence number is exactly `rcv_nxt`; in window but not exact, it
//!   gets a challenge ACK (RFC 5961 section 3.2). A SYN in a synchronized state always gets a
//!   challenge ACK (section 4.2). An ACK for data never sent is answered with an ACK and dropped;
//!   one older than the largest window the peer offered gets a challenge ACK (section 5.2).
//!   Challenge ACKs and ACKs for out-of-window pure ACKs are rate-limited per connection to one
//!   per 500 ms (Linux's `tcp_invalid_ratelimit`).
//! - Data arriving at a connection the user closed is answered with a RST (Linux:
//!   `TCPAbortOnData`).
//! - TIME_WAIT has its own rules (`timewait.rs`), shared with the compact record that replaces
//!   an orphaned connection's control block there.
//! - PAWS (RFC 7323 section 5) comes first, as in Linux's `tcp_validate_incoming`: with
//!   timestamps on, a segment whose TSval is older than `TS.Recent` is dropped and answered
//!   with a (rate-limited) duplicate ACK, counted in `PAWSEstab`; a RST is exempt, and so is a
//!   reordered duplicate ACK (`tcp_disordered_ack`: a pure ACK at `rcv_nxt` acknowledging
//!   `snd_una` with an unchanged window, at most one RTO older). A `TS.Recent` not refreshed
//!   for 24 days no longer counts, and neither does a zero one (some hosts send 0 in SYNs).

use std::io;
use std::time::Duration;

use super::State;
use super::assembler::Added;
use super::seq_dist;
use super::tcb::{Env, QUICKACKS, Tcb, reset_error};
use super::timewait::{INVALID_RATELIMIT, PAWS_IDLE};
use crate::config::StackConfig;
use crate::stats::Counter;
use crate::time::Instant;
use crate::wire::SeqNumber;
use crate::wire::tcp::{TcpFlags, TcpOptions, TcpRepr};

/// How long after data last arrived an emptied receive buffer gives its memory back (while
/// data keeps coming, reads keep the memory, so a stream does not reallocate per read); an
/// emptied send buffer is kept at least this long after it emptied, for the same reason.
pub(crate) const RECV_RELEASE_IDLE: Duration = Duration::from_secs(1);

/// A segment shorter than `rcv_mss` awaits its ACK (Linux's `ICSK_ACK_PUSHED`).
pub(crate) const ACK_PUSHED: u8 = 1;
/// Two or more did (`ICSK_ACK_PUSHED2`).
pub(crate) const ACK_PUSHED2: u8 = 2;

/// What the caller (the socket table) must do after a segment was processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing beyond what the connection did itself.
    Done,
    /// Answer the segment with a RST (RFC 9293's "send a reset"); the connection may also have
    /// been closed.
    Reset,
    /// The handshake completed (`SynReceived` to `Established`): a listener's child is ready to
    /// be accepted.
    Established,
    /// An acceptable new SYN reached a connection in TIME_WAIT: end it and let a listener take
    /// the SYN, starting the new connection at this ISN (RFC 9293 section 3.10.7.4, Linux's
    /// TIME_WAIT reuse; see `timewait.rs`).
    Reopen(SeqNumber),
}

impl Tcb {
    /// Applies the options of the peer's SYN: what both sides offer is used.
    pub(crate) fn negotiate(&mut self, config: &StackConfig, peer: &TcpOptions, now: Instant) {
        let scaling = config.tcp_window_scaling && peer.window_scale.is_some();
        self.opts.scaling = scaling;
        self.opts.snd_shift = if scaling {
            peer.window_scale.unwrap_or(0).min(14)
        } else {
            0
        };
        self.opts.rcv_shift = if scaling {
            Tcb::wanted_shift(config.tcp_rmem[2])
        } else {
            0
        };
        self.opts.sack = config.tcp_sack && peer.sack_permitted;
        self.opts.timestamps = config.tcp_timestamps && peer.timestamps.is_some();
        if let Some((tsval, _)) = peer.timestamps {
            self.ts_recent = tsval;
            self.ts_recent_stamp = now;
        }
        self.set_peer_mss(peer.mss, config.tcp_init_cwnd);
    }

    /// A segment for this connection arrived at `env.now`.
    pub(crate) fn on_segment(
        &mut self,
        env: &mut Env<'_>,
        seg: &TcpRepr,
        payload: &[u8],
    ) -> Verdict {
        match self.state {
            State::Closed | State::Listen => Verdict::Reset,
            State::SynSent => self.on_syn_sent(env, seg, payload),
            State::TimeWait => self.on_time_wait(env, seg, payload),
            _ => self.on_synchronized(env, seg, payload),
        }
    }

    fn on_syn_sent(&mut self, env: &mut Env<'_>, seg: &TcpRepr, payload: &[u8]) -> Verdict {
        let rst = seg.flags.contains(TcpFlags::RST);
        if let Some(ack) = seg.ack_number
            && (ack.le(self.iss) || ack.gt(self.snd_max))
        {
            return if rst { Verdict::Done } else { Verdict::Reset };
        }
        if rst {
            if seg.ack_number.is_some() {
                self.close_with(env, Some(io::ErrorKind::ConnectionRefused));
            }
            return Verdict::Done;
        }
        if !seg.flags.contains(TcpFlags::SYN) {
            return Verdict::Done;
        }
        self.irs = seg.seq_number;
        self.rcv_nxt = seg.seq_number + 1;
        self.rcv_wup = self.rcv_nxt;
        // The window our SYN offered (unscaled, as every SYN's).
        self.rcv_adv = self.rcv_nxt + self.recv.free().min(usize::from(u16::MAX));
        self.negotiate(env.config, &seg.options, env.now);
        // The window of a SYN is never scaled (RFC 7323 section 2.2).
        self.snd_wnd = u32::from(seg.window_len);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq_number;
        self.last_recv = env.now;
        match seg.ack_number {
            Some(ack) => {
                self.snd_wl2 = ack;
                self.snd_una = ack;
                self.sample_rtt(env.now, ack, &seg.options);
                self.retries = 0;
                self.timers.rto = None;
                self.set_state(env, State::Established);
                self.init_rcv_tuning(env.config, env.now);
                self.expand_sndbuf(env.config);
                if self.fin_queued() {
                    self.set_state(env, State::FinWait1);
                }
                self.set_ack_now(true);
                let fin = seg.flags.contains(TcpFlags::FIN);
                if !payload.is_empty() || fin {
                    self.process_text(env, seg.seq_number + 1, payload, fin);
                }
            }
            None => {
                // Simultaneous open: answer with SYN-ACK, resending our SYN.
                self.snd_wl2 = self.iss;
                self.snd_nxt = self.iss;
                self.timers.rto = None;
                self.set_state(env, State::SynReceived);
            }
        }
        Verdict::Done
    }

    /// PAWS (RFC 7323 section 5.3 R1, Linux's `tcp_paws_check`): whether `tsval` is older
    /// than a `TS.Recent` that still counts.
    fn paws_rejects(&self, now: Instant, tsval: u32) -> bool {
        (self.ts_recent.wrapping_sub(tsval) as i32) > 0
            && self.ts_recent != 0
            && now.saturating_duration_since(self.ts_recent_stamp) < PAWS_IDLE
    }

    /// A duplicate ACK overtaken by a later one (Linux's `tcp_disordered_ack`): PAWS lets it
    /// through, since dropping it could only lose a window update that is not there.
    fn disordered_ack(&self, seg: &TcpRepr, payload: &[u8], tsval: u32) -> bool {
        let pure = payload.is_empty() && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN);
        let window = u32::from(seg.window_len) << self.opts.snd_shift;
        let age_ms = u64::from(self.ts_recent.wrapping_sub(tsval));
        pure && seg.seq_number == self.rcv_nxt
            && seg.ack_number == Some(self.snd_una)
            && window == self.snd_wnd
            && age_ms <= self.rtt.rto().as_millis() as u64
    }

    /// Whether a segment occupying `len` sequence numbers from `seq` is in the receive window.
    fn acceptable(&self, seq: SeqNumber, len: usize) -> bool {
        let right = self.rcv_nxt + self.rcv_wnd();
        (seq + len).ge(self.rcv_wup) && seq.le(right)
    }

    /// Rate-limits ACKs sent in answer to invalid segments.
    fn invalid_ack_allowed(&mut self, now: Instant) -> bool {
        if self
            .last_invalid_ack
            .is_some_and(|t| now < t + INVALID_RATELIMIT)
        {
            return false;
        }
        self.last_invalid_ack = Some(now);
        true
    }

    fn challenge_ack(&mut self, env: &mut Env<'_>) {
        if self.invalid_ack_allowed(env.now) {
            env.count(Counter::TcpExtTCPChallengeACK);
            self.set_ack_now(true);
        }
    }

    fn on_synchronized(&mut self, env: &mut Env<'_>, seg: &TcpRepr, payload: &[u8]) -> Verdict {
        let rst = seg.flags.contains(TcpFlags::RST);
        let syn = seg.flags.contains(TcpFlags::SYN);
        let fin = seg.flags.contains(TcpFlags::FIN);
        let seq = seg.seq_number;

        if syn
            && !rst
            && self.state == State::SynReceived
            && seq == self.irs
            && seg.ack_number.is_none()
        {
            // The peer's SYN again: our SYN-ACK was lost. Answer it again.
            self.set_ack_now(true);
            return Verdict::Done;
        }

        if let Some((tsval, _)) = seg.options.timestamps
            && self.opts.timestamps
            && !rst
            && self.paws_rejects(env.now, tsval)
            && !self.disordered_ack(seg, payload, tsval)
        {
            env.count(Counter::TcpExtPAWSEstab);
            if self.invalid_ack_allowed(env.now) {
                self.set_ack_now(true);
            }
            return Verdict::Done;
        }

        if !self.acceptable(seq, seg.segment_len()) {
            if rst {
                return Verdict::Done;
            }
            if syn {
                env.count(Counter::TcpExtTCPSYNChallenge);
                self.challenge_ack(env);
            } else if !payload.is_empty() || fin || self.invalid_ack_allowed(env.now) {
                // A duplicate (or beyond the window): tell the peer where we are.
                self.set_ack_now(true);
            }
            return Verdict::Done;
        }
        self.last_recv = env.now;
        self.probes = 0;
        if self.opts.timestamps
            && let Some((tsval, _)) = seg.options.timestamps
            && seq.le(self.rcv_wup)
            && (tsval.wrapping_sub(self.ts_recent) as i32) >= 0
        {
            self.ts_recent = tsval;
            self.ts_recent_stamp = env.now;
        }

        if rst {
            if seq == self.rcv_nxt {
                let error = match self.state {
                    State::SynReceived if !self.active() => None,
                    State::Closing | State::LastAck => None,
                    state => Some(reset_error(state, self.active())),
                };
                self.close_with(env, error);
            } else {
                self.challenge_ack(env);
            }
            return Verdict::Done;
        }
        // Simultaneous open: the peer's SYN-ACK answering our SYN while we are in SYN-RECEIVED
        // is not an attack (Linux lets exactly this one through too).
        let simultaneous_synack = syn
            && self.state == State::SynReceived
            && self.active()
            && seq + 1 == self.rcv_nxt
            && seg.ack_number == Some(self.iss + 1);
        if syn && !simultaneous_synack {
            env.count(Counter::TcpExtTCPSYNChallenge);
            self.challenge_ack(env);
            return Verdict::Done;
        }
        let Some(ack) = seg.ack_number else {
            return Verdict::Done;
        };

        let mut verdict = Verdict::Done;
        if self.state == State::SynReceived {
            if ack.le(self.snd_una) || ack.gt(self.snd_max) {
                return Verdict::Reset;
            }
            self.snd_una = ack;
            self.snd_wnd = u32::from(seg.window_len) << self.opts.snd_shift;
            self.max_snd_wnd = self.snd_wnd;
            self.snd_wl1 = seq;
            self.snd_wl2 = ack;
            self.sample_rtt(env.now, ack, &seg.options);
            self.retries = 0;
            self.timers.rto = None;
            if !self.active() {
                env.count(Counter::TcpPassiveOpens);
            }
            let next = if self.fin_queued() {
                State::FinWait1
            } else {
                State::Established
            };
            self.set_state(env, State::Established);
            self.init_rcv_tuning(env.config, env.now);
            self.expand_sndbuf(env.config);
            if next != State::Established {
                self.set_state(env, next);
            }
            verdict = Verdict::Established;
        }

        if ack.gt(self.snd_max) {
            // Acknowledges something never sent (RFC 9293: send an ACK and drop).
            if self.invalid_ack_allowed(env.now) {
                self.set_ack_now(true);
            }
            return verdict;
        }
        let oldest = self.snd_una - self.max_snd_wnd().min(1 << 30);
        if ack.lt(oldest) {
            self.challenge_ack(env);
            return verdict;
        }
        let fin_acked = self.process_ack(env, seg, ack, payload.len());
        if fin_acked {
            match self.state {
                State::FinWait1 => {
                    self.set_state(env, State::FinWait2);
                    if self.orphan() {
                        self.arm_fin_wait2(env);
                    }
                }
                State::Closing => self.enter_time_wait(env),
                State::LastAck => {
                    self.close_with(env, None);
                    return verdict;
                }
                _ => {}
            }
        }

        if !payload.is_empty() || fin {
            match self.state {
                State::Established | State::FinWait1 | State::FinWait2 => {
                    let end = seq + usize::from(syn) + payload.len();
                    if self.orphan() && !payload.is_empty() && end.gt(self.rcv_nxt) {
                        // Nobody will ever read this: abort (Linux's TCPAbortOnData).
                        env.count(Counter::TcpExtTCPAbortOnData);
                        self.close_with(env, None);
                        return Verdict::Reset;
                    }
                    let start = if syn { seq + 1 } else { seq };
                    let before = self.rcv_nxt;
                    self.process_text(env, start, payload, fin);
                    if self.rcv_nxt.gt(before) && !payload.is_empty() {
                        let tsecr = seg
                            .options
                            .timestamps
                            .filter(|_| self.opts.timestamps)
                            .map(|(_, ecr)| ecr);
                        self.rcv_autotune(env, payload.len(), tsecr);
                    }
                }
                _ => {
                    // Data or FIN after the peer's FIN: a retransmission; re-acknowledge.
                    self.set_ack_now(true);
                }
            }
        }
        verdict
    }

    /// Takes an RTT sample for an ACK of `ack`: from the echoed timestamp if there is one,
    /// otherwise from the timed segment (Karn's algorithm).
    fn sample_rtt(&mut self, now: Instant, ack: SeqNumber, options: &TcpOptions) {
        if self.opts.timestamps
            && let Some((_, ecr)) = options.timestamps
            && ecr != 0
        {
            let ms = self.ts_now(now).wrapping_sub(ecr);
            if ms < 1 << 24 {
                self.take_rtt_sample(Duration::from_millis(u64::from(ms)));
                self.rtt_probe_sent = None;
                return;
            }
        }
        if let Some(sent) = self.rtt_probe_sent
            && ack.ge(self.rtt_probe_end)
        {
            self.take_rtt_sample(now.saturating_duration_since(sent));
            self.rtt_probe_sent = None;
        }
    }

    /// Feeds an RTT sample to the estimator and to congestion control.
    fn take_rtt_sample(&mut self, rtt: Duration) {
        self.rtt.sample(rtt);
        self.cc.on_rtt(rtt, self.rtt.srtt().unwrap_or(rtt));
    }

    /// Whether the window limited the sender when this ACK arrived, with `flight` bytes
    /// outstanding (RFC 7661's "cwnd-limited", measured as Linux does): in slow start, at least
    /// half the window was in use; in congestion avoidance, not even one more full segment
    /// fitted.
    pub(super) fn cwnd_limited(&self, flight: usize) -> bool {
        let cwnd = self.cc.cwnd();
        if cwnd < self.cc.ssthresh() {
            flight.saturating_mul(2) >= cwnd
        } else {
            flight + self.mss() > cwnd
        }
    }

    /// Eifel detection (RFC 3522) for an ACK that advanced `snd_una` during fast recovery: it
    /// keeps the recovery undoable only if its echoed timestamp is older than the first
    /// retransmission, i.e. an original transmission filled the hole.
    pub(super) fn track_undo(&mut self, options: &TcpOptions) {
        let original = match (self.undo_stamp, options.timestamps) {
            (Some(stamp), Some((_, ecr))) if ecr != 0 => (ecr.wrapping_sub(stamp) as i32) < 0,
            _ => false,
        };
        self.set_undo_ok(self.undo_ok() & original);
    }

    /// A timeout proved spurious (Eifel, RFC 3522): the data had arrived, only its ACKs were
    /// late. The window and threshold come back, and nothing is resent that arrived.
    fn undo_rto(&mut self, env: &mut Env<'_>) {
        if self.cc.undo() {
            env.count(Counter::TcpExtTCPSpuriousRTOs);
            env.count(Counter::TcpExtTCPLossUndo);
            if self.sack_in_use() {
                self.sb.unmark_lost();
                self.set_in_loss(false);
            } else {
                self.snd_nxt = self.snd_max;
            }
        }
        self.set_undo_ok(false);
        self.undo_stamp = None;
    }

    /// The ACK part of an acceptable segment: acknowledged bytes leave the send buffer, the RTT
    /// and congestion window are updated (the window grows only if it limited the sender),
    /// duplicate ACKs drive fast retransmit and NewReno recovery (undone when timestamps show
    /// it was spurious), and the send window is updated. Returns whether our FIN was acknowledged now.
    fn process_ack(
        &mut self,
        env: &mut Env<'_>,
        seg: &TcpRepr,
        ack: SeqNumber,
        len: usize,
    ) -> bool {
        let now = env.now;
        let window = u32::from(seg.window_len) << self.opts.snd_shift;
        let mut fin_acked = false;
        let prior_una = self.snd_una;
        let prior_pipe = self.pipe();
        let sack = self.sack_in_use();
        let mut acked_data = 0;
        if ack.gt(self.snd_una) {
            let prior_flight = self.in_flight();
            let acked = seq_dist(ack, self.snd_una);
            let data = acked.min(self.send.len());
            acked_data = data;
            fin_acked = self.fin_queued() && !self.fin_acked() && acked > data;
            self.send.consume(data);
            self.send.rewind();
            self.snd_una = ack;
            if self.snd_nxt.lt(ack) {
                self.snd_nxt = ack;
            }
            if fin_acked {
                self.set_fin_acked(true);
            }
            self.retries = 0;
            self.last_progress = now;
            self.soft_error = None;
            let css = self.cc.in_css();
            self.cc.on_snd_una(ack, self.snd_nxt);
            self.sample_rtt(now, ack, &seg.options);
            if !css && self.cc.in_css() {
                env.count(Counter::TcpExtTCPHystartDelayDetect);
                let cwnd = self.cc.cwnd() / self.mss().max(1);
                env.counters
                    .add(Counter::TcpExtTCPHystartDelayCwnd, cwnd as u64);
            }
            if self.rto_undo_pending() {
                // The first ACK after a timeout: Eifel decides whether it was spurious.
                self.set_rto_undo_pending(false);
                self.track_undo(&seg.options);
                if self.undo_ok() {
                    self.undo_rto(env);
                }
            }
            if sack {
                // SACK recovery and window growth run below, with the SACK blocks.
            } else if self.in_recovery() {
                self.track_undo(&seg.options);
                if ack.ge(self.recover) {
                    self.set_in_recovery(false);
                    self.cc.exit_fast_recovery(self.in_flight(), self.mss());
                    // Every hole was filled by an original transmission: the reduction was
                    // spurious (reordering, not loss); restore the window (RFC 9438 4.9).
                    if self.undo_ok() && self.cc.undo() {
                        env.count(Counter::TcpExtTCPFullUndo);
                    }
                    self.undo_stamp = None;
                    self.set_undo_ok(false);
                } else {
                    self.cc.recovery_partial_ack(data, self.mss());
                    self.set_rtx_head(true);
                }
            } else {
                let limited = self.cwnd_limited(prior_flight);
                self.cc.on_ack(now, data, self.mss(), limited);
            }
            self.dup_acks = 0;
            self.expand_sndbuf(env.config);
            self.restart_rto(now);
            // Segments, as Linux counts them (here: the bytes acknowledged in MSS-sized units).
            let segments = data.div_ceil(self.mss().max(1));
            env.counters
                .add(Counter::TcpExtTCPDelivered, segments as u64);
            if self.send.is_empty() && self.timers.release.is_none() {
                // Everything acknowledged: the memory goes back when the release timer fires,
                // not now, or request/response traffic would allocate (and zero) the buffer
                // again at every write.
                self.timers.release = Some(now + RECV_RELEASE_IDLE);
            }
            self.wake_writer_if_room(env.config);
        } else if !sack
            && ack == self.snd_una
            && len == 0
            && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN)
            && window == self.snd_wnd
            && self.snd_max.gt(self.snd_una)
        {
            self.dup_acks += 1;
            if self.in_recovery() {
                self.cc.recovery_dupack(self.mss());
            } else if self.dup_acks == 3 && ack.gt(self.recover) {
                // RFC 6582 section 3.2 step 2: enter fast recovery.
                self.set_in_recovery(true);
                self.recover = self.snd_max;
                let flight = seq_dist(self.snd_max, self.snd_una);
                self.cc.enter_fast_recovery(now, flight, self.mss());
                self.undo_stamp = None;
                self.set_undo_ok(self.opts.timestamps);
                self.set_rtx_head(true);
                env.count(Counter::TcpExtTCPRenoRecovery);
            }
        }
        if sack {
            self.sack_on_ack(env, seg, prior_una, acked_data, prior_pipe);
        }
        if self.snd_wl1.lt(seg.seq_number)
            || (self.snd_wl1 == seg.seq_number && self.snd_wl2.le(ack))
        {
            self.snd_wnd = window;
            self.snd_wl1 = seg.seq_number;
            self.snd_wl2 = ack;
            self.max_snd_wnd = self.max_snd_wnd.max(window);
            if window > 0 {
                self.timers.persist = None;
            }
        }
        fin_acked
    }

    /// The application read `copied` bytes (Linux's `tcp_cleanup_rbuf`): if that emptied the
    /// receive buffer while a delayed ACK waits for short segments, acknowledge now (twice
    /// short, or once outside request/response traffic, where the reply would carry it).
    /// Returns whether a segment is due (an ACK or a window update).
    pub(crate) fn on_read(&mut self, copied: usize) -> bool {
        self.rcv_tuning.on_read(copied);
        // Idle for a second already (the release timer fired, or no data ever came): the
        // emptied buffer's memory goes back now.
        if self.recv.is_empty() && self.assembler.is_empty() {
            if self.timers.release.is_none() {
                self.recv.release_if_empty();
            } else {
                self.recv.rewind();
            }
        }
        if copied > 0
            && self.recv.is_empty()
            && self.unacked_segs > 0
            && (self.ack_pushed & ACK_PUSHED2 != 0
                || (self.ack_pushed & ACK_PUSHED != 0 && !self.pingpong()))
        {
            self.set_ack_now(true);
        }
        self.ack_now() || self.window_update_due()
    }

    /// What a read (or peek) returns when nothing is buffered: `Ok(0)` after the peer's FIN or
    /// our `shutdown(Read)`, the connection's error once, `NotConnected` on a socket that never
    /// connected, `Ok(0)` on a closed one, and otherwise `Pending` with the waker kept.
    pub(crate) fn poll_nothing_to_read(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<usize>> {
        use std::task::Poll;
        if self.fin_received() || self.read_shutdown() {
            return Poll::Ready(Ok(0));
        }
        if let Some(e) = self.error.take() {
            return Poll::Ready(Err(e.into()));
        }
        match self.state {
            State::Closed if self.remote.port() == 0 => {
                Poll::Ready(Err(io::ErrorKind::NotConnected.into()))
            }
            State::Closed => Poll::Ready(Ok(0)),
            _ => {
                self.read_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The data and FIN of an acceptable segment in a state that receives.
    pub(crate) fn process_text(
        &mut self,
        env: &mut Env<'_>,
        seq: SeqNumber,
        payload: &[u8],
        fin: bool,
    ) {
        let (mut seq, mut data, mut fin) = (seq, payload, fin);
        if self.fin_received() {
            self.set_ack_now(true);
            return;
        }
        if seq.lt(self.rcv_nxt) {
            let dup = seq_dist(self.rcv_nxt, seq);
            if !data.is_empty() && self.opts.sack && env.config.tcp_dsack {
                // Report the duplicate in a D-SACK block (RFC 2883): the peer learns that
                // its retransmission was spurious.
                self.set_dsack(seq, dup.min(data.len()));
                env.count(Counter::TcpExtTCPDSACKOldSent);
                self.set_ack_now(true);
            }
            if dup > data.len() || (dup == data.len() && !fin) {
                // Entirely old: ACK at once so the peer stops retransmitting.
                self.set_ack_now(true);
                self.quickacks = self.quickacks.max(2);
                return;
            }
            data = &data[dup..];
            seq = self.rcv_nxt;
        }
        let offset = seq_dist(seq, self.rcv_nxt);
        // Nothing beyond the furthest edge ever advertised is kept (RFC 9293 section 3.10.7.4:
        // trim to the window), however much room the buffer has.
        let window = self.rcv_wnd();
        if offset + data.len() > window {
            let keep = window.saturating_sub(offset);
            env.count(if window == 0 {
                Counter::TcpExtTCPZeroWindowDrop
            } else {
                Counter::TcpExtTCPRcvQDrop
            });
            data = &data[..keep];
            fin = false;
            self.set_ack_now(true);
        }
        if !data.is_empty() {
            let stored = self.recv.write_at(offset, data);
            if stored < data.len() {
                fin = false;
                self.set_ack_now(true);
                if stored == 0 {
                    env.count(Counter::TcpExtTCPRcvQDrop);
                }
            }
            if stored > 0 {
                self.receive_stored(env, offset, stored);
            }
            data = &data[..stored];
        }
        if fin {
            let at = seq + data.len();
            if at != self.rcv_nxt {
                // A FIN ahead of missing data: say at once where the hole is.
                self.set_ack_now(true);
            }
            self.fin_at = Some(at);
        }
        self.take_fin(env);
    }

    /// Bookkeeping for `len` bytes stored `offset` bytes past `rcv_nxt`.
    fn receive_stored(&mut self, env: &mut Env<'_>, offset: usize, len: usize) {
        match self.assembler.add(offset, len) {
            Added::Refused => {
                env.count(Counter::TcpExtTCPOFODrop);
                self.set_ack_now(true);
            }
            Added::Stored {
                in_order,
                duplicate,
            } => {
                if duplicate && offset > 0 && self.opts.sack && env.config.tcp_dsack {
                    // Out-of-order data we already held: a D-SACK for it (RFC 2883).
                    self.set_dsack(self.rcv_nxt + offset, len);
                    env.count(Counter::TcpExtTCPDSACKOfoSent);
                }
                if offset > 0 {
                    // Out of order: a duplicate ACK (with SACK blocks) at once, and quick
                    // ACKs until the hole is filled.
                    env.count(Counter::TcpExtTCPOFOQueue);
                    self.set_ack_now(true);
                    self.quickacks = QUICKACKS;
                }
                if in_order == 0 {
                    return;
                }
                self.recv.commit(in_order);
                self.rcv_nxt += in_order;
                if len < self.rcv_mss() {
                    // A short ("pushed") segment (Linux's `tcp_measure_rcv_mss`).
                    self.ack_pushed |= if self.ack_pushed & ACK_PUSHED != 0 {
                        ACK_PUSHED | ACK_PUSHED2
                    } else {
                        ACK_PUSHED
                    };
                }
                let seen = u16::try_from(len).map_or(self.adv_mss, |len| len.min(self.adv_mss));
                self.rcv_mss = self.rcv_mss.max(seen);
                self.unacked_segs += 1;
                self.last_data_recv = env.now;
                self.timers.release = Some(env.now + RECV_RELEASE_IDLE);
                if in_order > len || !self.assembler.is_empty() {
                    // Filled (part of) a hole: ACK at once (RFC 5681 section 4.2).
                    self.set_ack_now(true);
                } else if self.quickacks > 0 {
                    self.quickacks -= 1;
                    self.set_ack_now(true);
                } else if seq_dist(self.rcv_nxt, self.rcv_wup) >= 2 * self.rcv_mss() {
                    self.set_ack_now(true);
                } else if self.timers.delack.is_none() {
                    self.timers.delack = Some(env.now + super::tcb::DELACK_MIN);
                }
                self.wake_reader();
            }
        }
    }

    /// Takes the peer's FIN into the stream once everything before it has arrived.
    fn take_fin(&mut self, env: &mut Env<'_>) {
        if self.fin_at != Some(self.rcv_nxt) {
            return;
        }
        self.fin_at = None;
        self.rcv_nxt += 1;
        self.set_fin_received(true);
        self.assembler.clear();
        self.set_ack_now(true);
        self.timers.delack = None;
        self.wake_reader();
        match self.state {
            State::Established => self.set_state(env, State::CloseWait),
            State::FinWait1 if self.fin_acked() => self.enter_time_wait(env),
            State::FinWait1 => self.set_state(env, State::Closing),
            State::FinWait2 => self.enter_time_wait(env),
            _ => {}
        }
    }

    /// Enters TIME_WAIT: only the linger timer stays, and nothing is owed but ACKs (the socket
    /// table then makes the connection a compact record once it is orphaned and its last ACK
    /// has left, or closes it at once when `tcp_max_tw_buckets` is reached).
    pub(crate) fn enter_time_wait(&mut self, env: &mut Env<'_>) {
        self.set_state(env, State::TimeWait);
        let len = Duration::from_secs(u64::from(env.config.tcp_timewait_len));
        self.timers = super::tcb::Timers {
            linger: Some(env.now + len),
            ..Default::default()
        };
        self.set_rtx_head(false);
        self.set_tlp_due(false);
        self.set_probe_now(false);
    }

    /// Arms the orphaned FIN_WAIT_2 timeout (`tcp_fin_timeout`).
    pub(crate) fn arm_fin_wait2(&mut self, env: &mut Env<'_>) {
        let len = Duration::from_secs(u64::from(env.config.tcp_fin_timeout));
        self.timers.linger = Some(env.now + len);
    }
}
