//! The connection timers: what happens when each one fires.
//!
//! A connection keeps its deadlines in [`super::tcb::Timers`]; the socket table keeps one wheel
//! entry per connection at or before the earliest, so no periodic tick walks the connections
//! (an entry may fire before anything is due: every timer checks its own deadline).
//!
//! - **Retransmission** (RFC 6298 section 5): the SYN or SYN-ACK again, up to
//!   `tcp_syn_retries` / `tcp_synack_retries`; for data, back off, collapse the congestion
//!   window to one segment (RFC 5681; the threshold drops on the first timeout of a series, by
//!   the congestion control algorithm's rule) and resend: with SACK every segment not SACKed
//!   is marked lost and resent from the scoreboard (`recovery.rs`), without it from `snd_una`
//!   ("go back N"); up to `tcp_retries2` times before failing with `TimedOut`. The first ACK
//!   after a timeout may show it spurious (Eifel, with timestamps), which undoes it.
//! - **RACK reordering** and **tail loss probe** timers (`recovery.rs`).
//! - **Memory release**: a second after data last arrived, an emptied receive buffer gives its
//!   memory back; so do the send buffer and the SACK scoreboard's records, if empty, when the
//!   same timer fires (armed, if it was not, when everything sent is acknowledged).
//! - **Delayed ACK**: Linux's 40 ms minimum (`TCP_DELACK_MIN`).
//! - **Persist**: a zero window with data waiting and nothing in flight; probes back off like the
//!   RTO and never give up while the peer answers (any ACK resets the count).
//! - **Keepalive**: after `tcp_keepalive_time` of silence, `tcp_keepalive_probes` probes
//!   `tcp_keepalive_intvl` apart, then a RST and `TimedOut`.
//! - **Linger**: the end of TIME_WAIT (`tcp_timewait_len`) or of an orphaned FIN_WAIT_2
//!   (`tcp_fin_timeout`).

use std::time::Duration;

use super::State;
use super::seq_dist;
use super::tcb::{Env, Tcb};
use crate::stats::Counter;
use crate::time::Instant;

fn due(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_some_and(|t| t <= now)
}

impl Tcb {
    /// Runs whichever of the connection's timers are due at `env.now`.
    pub(crate) fn on_timers(&mut self, env: &mut Env<'_>) {
        let now = env.now;
        if due(self.timers.linger, now) {
            self.timers.linger = None;
            match self.state {
                State::TimeWait => {
                    env.count(Counter::TcpExtTW);
                    self.close_with(env, None);
                }
                State::FinWait2 => self.close_with(env, None),
                _ => {}
            }
            return;
        }
        // A tail loss probe due with the retransmission timeout goes first, in its place.
        if due(self.timers.tlp, now) {
            self.timers.tlp = None;
            self.on_tlp_timer(env);
        }
        if due(self.timers.rto, now) {
            self.timers.rto = None;
            self.on_rto(env);
        }
        if due(self.timers.delack, now) {
            self.timers.delack = None;
            if self.unacked_segs > 0 {
                self.set_ack_now(true);
                env.count(Counter::TcpExtDelayedACKs);
                // No reply carried the ACK in time: not request/response after all.
                self.set_pingpong(false);
            }
        }
        if due(self.timers.persist, now) {
            self.timers.persist = None;
            self.on_persist(env);
        }
        if due(self.timers.keepalive, now) {
            self.timers.keepalive = None;
            self.on_keepalive(env);
        }
        if due(self.timers.release, now) {
            self.timers.release = None;
            if self.recv.is_empty() && self.assembler.is_empty() {
                self.recv.release_if_empty();
            }
            self.send.release_if_empty();
            self.release_scoreboard();
        }
        if due(self.timers.reorder, now) {
            self.timers.reorder = None;
            self.on_reorder_timer(env);
        }
    }

    fn on_rto(&mut self, env: &mut Env<'_>) {
        match self.state {
            State::SynSent | State::SynReceived => {
                let limit = if self.state == State::SynSent {
                    env.config.tcp_syn_retries
                } else {
                    self.synack_retries.unwrap_or(env.config.tcp_synack_retries)
                };
                if self.retries >= limit {
                    let error = self.active().then_some(self.timeout_error());
                    self.close_with(env, error);
                    return;
                }
                self.retries += 1;
                self.rtt.back_off();
                self.rtt_probe_sent = None;
                self.snd_nxt = self.iss;
                env.count(Counter::TcpExtTCPTimeouts);
            }
            State::Closed | State::Listen | State::TimeWait => {}
            _ => {
                if self.snd_max == self.snd_una {
                    return;
                }
                if self.retries >= env.config.tcp_retries2 {
                    env.count(Counter::TcpExtTCPAbortOnTimeout);
                    self.close_with(env, Some(self.timeout_error()));
                    return;
                }
                self.retries += 1;
                env.count(Counter::TcpExtTCPTimeouts);
                let flight = seq_dist(self.snd_max, self.snd_una);
                // The threshold drops on the first timeout of a series only (RFC 5681), and
                // not when fast recovery already set it (Linux's `tcp_enter_loss`; the window
                // it would be computed from is inflated).
                let first = self.retries == 1 && !self.in_recovery();
                self.cc.on_rto(env.now, flight, self.mss(), first);
                // The first ACK after the timeout decides whether it was spurious (Eifel).
                self.undo_stamp = None;
                self.set_undo_ok(self.opts.timestamps);
                self.set_rto_undo_pending(self.opts.timestamps);
                self.dup_acks = 0;
                self.rtt.back_off();
                self.rtt_probe_sent = None;
                self.set_rtx_head(false);
                if self.sack_in_use() {
                    // Everything not SACKed is lost and resent from the scoreboard.
                    self.sack_on_rto(env);
                } else {
                    // Go back N.
                    self.set_in_recovery(false);
                    self.recover = self.snd_max;
                    self.snd_nxt = self.snd_una;
                }
            }
        }
    }

    fn on_persist(&mut self, env: &mut Env<'_>) {
        if self.snd_wnd() > 0 || !self.state.is_synchronized() {
            return;
        }
        // `probes` counts unanswered probes (any ACK resets it): a peer that keeps answering
        // with a zero window is probed forever, a silent one is given up on like a
        // retransmission (Linux's `tcp_probe_timer`).
        if self.probes >= env.config.tcp_retries2 {
            env.count(Counter::TcpExtTCPAbortOnTimeout);
            self.close_with(env, Some(self.timeout_error()));
            return;
        }
        self.probes = self.probes.saturating_add(1);
        self.persist_backoff = self.persist_backoff.saturating_add(1);
        self.set_probe_now(true);
        env.count(Counter::TcpExtTCPWinProbe);
    }

    fn on_keepalive(&mut self, env: &mut Env<'_>) {
        if !self.keepalive()
            || !matches!(
                self.state,
                State::Established | State::CloseWait | State::FinWait2
            )
        {
            return;
        }
        let config = env.config;
        let idle_limit = Duration::from_secs(u64::from(config.tcp_keepalive_time));
        let interval = Duration::from_secs(u64::from(config.tcp_keepalive_intvl));
        let now = env.now;
        if self.probes == 0 && now < self.last_recv + idle_limit {
            self.timers.keepalive = Some(self.last_recv + idle_limit);
            return;
        }
        if self.snd_max.gt(self.snd_una) || self.unsent() > 0 {
            // Data is outstanding: the retransmission timer watches the peer.
            self.timers.keepalive = Some(now + idle_limit);
            return;
        }
        if self.probes >= config.tcp_keepalive_probes {
            self.set_rst_now(true);
            self.close_with(env, Some(self.timeout_error()));
            return;
        }
        self.probes += 1;
        self.set_probe_now(true);
        env.count(Counter::TcpExtTCPKeepAlive);
        self.timers.keepalive = Some(now + interval);
    }

    /// Starts or stops the persist timer: it runs while a zero window holds back data (or a
    /// FIN) and nothing is in flight to draw an ACK.
    pub(crate) fn update_persist(&mut self, now: Instant) {
        let sending = matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        );
        // Nothing in flight (after a timeout `snd_nxt` may have been rewound below `snd_max`)
        // and no retransmission timer to draw an ACK: only a probe will learn the window.
        let stalled = sending
            && self.snd_wnd() == 0
            && self.unsent() > 0
            && self.snd_nxt == self.snd_una
            && self.timers.rto.is_none();
        if !stalled {
            self.timers.persist = None;
            if self.snd_wnd() > 0 {
                self.persist_backoff = 0;
            }
        } else if self.timers.persist.is_none() {
            let base = self.rtt.base_rto();
            let factor = 1u32 << u32::from(self.persist_backoff.min(16));
            let max = self.rtt.rto_max();
            self.timers.persist = Some(now + (base * factor).min(max));
        }
    }

    /// Re-arms the keepalive timer from the last arrival when keepalive is on and no probe is
    /// outstanding.
    pub(crate) fn update_keepalive(&mut self, config: &crate::config::StackConfig) {
        if !self.keepalive() || !self.state.is_synchronized() || self.state == State::TimeWait {
            self.timers.keepalive = None;
        } else if self.probes == 0 {
            let idle = Duration::from_secs(u64::from(config.tcp_keepalive_time));
            self.timers.keepalive = Some(self.last_recv + idle);
        } else if self.timers.keepalive.is_none() {
            let interval = Duration::from_secs(u64::from(config.tcp_keepalive_intvl));
            self.timers.keepalive = Some(self.last_recv + interval);
        }
    }
}
