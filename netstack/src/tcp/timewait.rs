//! TIME_WAIT in a few dozen bytes: what a connection keeps once both sides have closed.
//!
//! When an orphaned connection (closed by its user) reaches TIME_WAIT and owes the peer nothing
//! more, the socket table replaces its control block (with its buffers, scoreboard, congestion
//! state: about a kilobyte) by a [`TimeWait`] record of 80 bytes, as Linux replaces the socket
//! by an `inet_timewait_sock`. The record stays in the 4-tuple demultiplexing table and keeps
//! the slab slot, so segments, port bookkeeping, `tcp_sockets` and the socket listing see it as
//! before. A connection whose user still holds the handle stays a control block in TIME_WAIT
//! (its unread data and its state remain observable) until the handle is closed; its segments
//! go through the same rules here, on a record built from it for the occasion.
//!
//! The rules ([`TimeWait::on_segment`]), in the order Linux's `tcp_timewait_state_process`
//! applies them, with RFC 5961's protections that TIME_WAIT had before it became compact:
//! - **A new SYN** (no ACK, not PAWS-rejected) whose sequence number is above `rcv_nxt`, or
//!   whose timestamp is newer than `TS.Recent`, ends TIME_WAIT and goes to a listener (RFC 1122
//!   section 4.2.2.13, RFC 6191). The new connection's ISN is `snd_nxt + 65537`, beyond
//!   everything the old one sent (Linux's `tcp_tw_isn`).
//! - **PAWS** (RFC 7323 section 5): a segment with a TSval older than a `TS.Recent` that still
//!   counts is dropped, counted in `PAWSEstab` and answered with a rate-limited ACK. Unlike an
//!   established connection, no reordered duplicate ACK is exempt (nor is it in Linux's
//!   TIME_WAIT).
//! - **Out of window** (nothing of it at or after `rcv_nxt`, or beyond the window last
//!   offered): a RST is dropped, a SYN gets a challenge ACK, data or a FIN (a retransmission)
//!   an ACK, anything else a rate-limited ACK.
//! - **In window**: `TS.Recent` is refreshed from a segment starting at `rcv_nxt`. A RST at
//!   exactly `rcv_nxt` ends TIME_WAIT (Linux without `tcp_rfc1337`; with it, the RST is
//!   ignored), elsewhere in the window it gets a challenge ACK. A SYN gets a challenge ACK. An
//!   ACK of something never sent, or older than the largest window the peer offered, gets an
//!   ACK (rate-limited) or a challenge ACK. The peer's FIN again means our ACK was lost: it is
//!   ACKed and the 2 MSL timer (`tcp_timewait_len`) restarts (RFC 9293 section 3.10.7.4).
//!   Data is ACKed.
//!
//! ACKs in answer to invalid segments are limited to one per 500 ms (Linux's
//! `tcp_invalid_ratelimit`). What a record answers is a [`TwVerdict`]: the stack sends a
//! record's ACK at once, built by [`TimeWait::ack`] (a control block sends its own).

use core::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use super::input::Verdict;
use super::tcb::{Env, Tcb};
use crate::route::IfaceId;
use crate::stats::Counter;
use crate::time::Instant;
use crate::timer::TimerKey;
use crate::wire::SeqNumber;
use crate::wire::tcp::{TcpFlags, TcpOptions, TcpRepr};

/// How long a `TS.Recent` counts for PAWS without being refreshed (RFC 7323 section 5.5,
/// Linux's `TCP_PAWS_24DAYS`).
pub(crate) const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 3600);

/// Linux's `tcp_invalid_ratelimit`: at most one ACK per this interval in answer to invalid
/// segments.
pub(crate) const INVALID_RATELIMIT: Duration = Duration::from_millis(500);

/// How far beyond the old connection's `snd_nxt` a reopened one starts (Linux's
/// `tcp_tw_isn`: a full unscaled window and then some).
const REOPEN_ISN_GAP: usize = 65_535 + 2;

/// What a segment did to a connection in TIME_WAIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TwVerdict {
    /// Nothing to answer.
    Ignore,
    /// Answer with an ACK.
    Ack,
    /// TIME_WAIT ends now (a RST).
    Kill,
    /// TIME_WAIT ends and the SYN goes to a listener, whose connection starts at this ISN.
    Reopen(SeqNumber),
}

/// A connection in TIME_WAIT: its 4-tuple and path, where both sequence spaces ended, the
/// window and timestamps its ACKs carry, and when it ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeWait {
    /// When TIME_WAIT ends.
    pub expires: Instant,
    /// When `ts_recent` was last set.
    pub ts_recent_stamp: Instant,
    /// When an ACK last answered an invalid segment (rate limit).
    pub last_invalid_ack: Option<Instant>,
    /// Its entry in the socket table's timer wheel (`None` while it is still a control
    /// block, whose own key is filed).
    pub timer: Option<TimerKey>,
    /// Our address and port.
    pub local: SocketAddrV4,
    /// The peer's address and port.
    pub remote: SocketAddrV4,
    /// The neighbour its segments go to.
    pub next_hop: Ipv4Addr,
    /// One past the last sequence number we sent (our FIN).
    pub snd_nxt: SeqNumber,
    /// One past the peer's FIN.
    pub rcv_nxt: SeqNumber,
    /// The peer's last timestamp worth echoing (RFC 7323 `TS.Recent`).
    pub ts_recent: u32,
    /// Added to our millisecond clock in TSval.
    pub ts_offset: u32,
    /// The window last offered, bytes (from `rcv_nxt`).
    pub rcv_wnd: u32,
    /// The largest window the peer offered (an ACK older than `snd_nxt` minus this gets a
    /// challenge ACK, RFC 5961 section 5.2).
    pub max_snd_wnd: u32,
    /// The interface its segments leave by.
    pub iface: IfaceId,
    /// `IP_TTL`, 0 for `ip_default_ttl`.
    pub ttl: u8,
    /// Our window scale shift.
    pub rcv_shift: u8,
    /// Timestamps are in use.
    pub timestamps: bool,
    /// SO_REUSEADDR was set (a `bind` to its port may share it).
    pub reuseaddr: bool,
}

impl TimeWait {
    /// The record of `tcb`, a connection in TIME_WAIT whose last ACK has left.
    pub fn from_tcb(tcb: &Tcb) -> TimeWait {
        TimeWait {
            expires: tcb.timers.linger.unwrap_or(Instant::ZERO),
            ts_recent_stamp: tcb.ts_recent_stamp,
            last_invalid_ack: tcb.last_invalid_ack,
            timer: None,
            local: tcb.local,
            remote: tcb.remote,
            next_hop: tcb.next_hop,
            snd_nxt: tcb.snd_max,
            rcv_nxt: tcb.rcv_nxt,
            ts_recent: tcb.ts_recent,
            ts_offset: tcb.ts_offset,
            rcv_wnd: u32::try_from(tcb.rcv_wnd()).unwrap_or(u32::MAX),
            max_snd_wnd: tcb.max_snd_wnd,
            iface: tcb.iface,
            ttl: tcb.ttl.unwrap_or(0),
            rcv_shift: tcb.opts.rcv_shift,
            timestamps: tcb.opts.timestamps,
            reuseaddr: tcb.reuseaddr(),
        }
    }

    /// A segment for this connection arrived at `env.now` (see the module docs for the rules).
    pub fn on_segment(
        &mut self,
        env: &mut Env<'_>,
        seg: &TcpRepr,
        payload_len: usize,
    ) -> TwVerdict {
        let now = env.now;
        let rst = seg.flags.contains(TcpFlags::RST);
        let syn = seg.flags.contains(TcpFlags::SYN);
        let fin = seg.flags.contains(TcpFlags::FIN);
        let seq = seg.seq_number;
        let tsval = seg
            .options
            .timestamps
            .filter(|_| self.timestamps)
            .map(|(val, _)| val);
        let paws_reject = !rst && tsval.is_some_and(|val| self.paws_rejects(now, val));

        if syn && !rst && seg.ack_number.is_none() && !paws_reject {
            let newer_ts = tsval.is_some_and(|val| (val.wrapping_sub(self.ts_recent) as i32) > 0);
            if seq.gt(self.rcv_nxt) || newer_ts {
                return TwVerdict::Reopen(self.reopen_isn());
            }
        }
        if paws_reject {
            env.count(Counter::TcpExtPAWSEstab);
            return self.invalid_ack(now);
        }
        let end = seq + seg.segment_len();
        let right = self.rcv_nxt + self.rcv_wnd as usize;
        if !(end.ge(self.rcv_nxt) && seq.le(right)) {
            return if rst {
                TwVerdict::Ignore
            } else if syn {
                env.count(Counter::TcpExtTCPSYNChallenge);
                self.challenge_ack(env)
            } else if payload_len > 0 || fin {
                TwVerdict::Ack
            } else {
                self.invalid_ack(now)
            };
        }
        if let Some(val) = tsval
            && seq.le(self.rcv_nxt)
            && (val.wrapping_sub(self.ts_recent) as i32) >= 0
        {
            self.ts_recent = val;
            self.ts_recent_stamp = now;
        }
        if rst {
            return if seq != self.rcv_nxt {
                self.challenge_ack(env)
            } else if env.config.tcp_rfc1337 {
                TwVerdict::Ignore
            } else {
                TwVerdict::Kill
            };
        }
        if syn {
            env.count(Counter::TcpExtTCPSYNChallenge);
            return self.challenge_ack(env);
        }
        let Some(ack) = seg.ack_number else {
            return TwVerdict::Ignore;
        };
        if ack.gt(self.snd_nxt) {
            return self.invalid_ack(now);
        }
        if ack.lt(self.snd_nxt - (self.max_snd_wnd as usize).min(1 << 30)) {
            return self.challenge_ack(env);
        }
        if fin {
            // The peer's FIN again: our ACK was lost. ACK it and restart 2 MSL.
            self.expires = now + Duration::from_secs(u64::from(env.config.tcp_timewait_len));
            return TwVerdict::Ack;
        }
        if payload_len > 0 {
            TwVerdict::Ack
        } else {
            TwVerdict::Ignore
        }
    }

    /// PAWS (RFC 7323 section 5.3 R1): whether `tsval` is older than a `TS.Recent` that still
    /// counts (set, and refreshed within 24 days).
    fn paws_rejects(&self, now: Instant, tsval: u32) -> bool {
        (self.ts_recent.wrapping_sub(tsval) as i32) > 0
            && self.ts_recent != 0
            && now.saturating_duration_since(self.ts_recent_stamp) < PAWS_IDLE
    }

    /// An ACK in answer to an invalid segment, unless one left less than 500 ms ago.
    fn invalid_ack(&mut self, now: Instant) -> TwVerdict {
        if self
            .last_invalid_ack
            .is_some_and(|t| now < t + INVALID_RATELIMIT)
        {
            return TwVerdict::Ignore;
        }
        self.last_invalid_ack = Some(now);
        TwVerdict::Ack
    }

    /// A challenge ACK (RFC 5961), rate-limited like every answer to an invalid segment.
    fn challenge_ack(&mut self, env: &mut Env<'_>) -> TwVerdict {
        let verdict = self.invalid_ack(env.now);
        if verdict == TwVerdict::Ack {
            env.count(Counter::TcpExtTCPChallengeACK);
        }
        verdict
    }

    /// The ISN of a connection that reopens this 4-tuple (never 0, as in Linux).
    fn reopen_isn(&self) -> SeqNumber {
        let isn = self.snd_nxt + REOPEN_ISN_GAP;
        if isn.0 == 0 { isn + 1 } else { isn }
    }

    /// The ACK this connection sends at `now`: `snd_nxt`, `rcv_nxt`, the window last offered
    /// and, with timestamps, our clock and `TS.Recent`.
    pub fn ack(&self, now: Instant) -> TcpRepr {
        let window = (self.rcv_wnd >> self.rcv_shift).min(u32::from(u16::MAX));
        let mut options = TcpOptions::default();
        if self.timestamps {
            let tsval = (now.total_millis() as u32).wrapping_add(self.ts_offset);
            options.timestamps = Some((tsval, self.ts_recent));
        }
        TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: self.snd_nxt,
            ack_number: Some(self.rcv_nxt),
            flags: TcpFlags::empty(),
            window_len: window as u16,
            urgent: 0,
            options,
            payload_len: 0,
        }
    }
}

impl Tcb {
    /// A segment for a connection in TIME_WAIT that is still a control block (its user holds
    /// the handle, or its last ACK has not left yet): the record's rules decide, on a record
    /// made from the control block for the occasion; an ACK leaves through the connection's
    /// own output.
    pub(crate) fn on_time_wait(
        &mut self,
        env: &mut Env<'_>,
        seg: &TcpRepr,
        payload: &[u8],
    ) -> Verdict {
        let mut tw = TimeWait::from_tcb(self);
        let verdict = tw.on_segment(env, seg, payload.len());
        self.ts_recent = tw.ts_recent;
        self.ts_recent_stamp = tw.ts_recent_stamp;
        self.last_invalid_ack = tw.last_invalid_ack;
        self.timers.linger = Some(tw.expires);
        match verdict {
            TwVerdict::Ignore => {}
            TwVerdict::Ack => self.set_ack_now(true),
            TwVerdict::Kill => self.close_with(env, None),
            TwVerdict::Reopen(isn) => return Verdict::Reopen(isn),
        }
        Verdict::Done
    }
}

#[cfg(test)]
mod tests;
