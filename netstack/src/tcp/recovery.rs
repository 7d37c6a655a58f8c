//! Loss recovery on a SACK connection, the way Linux does it by default:
//!
//! - the scoreboard ([`super::scoreboard`]) records what the peer SACKed;
//! - RACK ([`super::rack`], RFC 8985 section 6) decides what is lost, by time, with a
//!   reordering timer for segments not yet overdue;
//! - the first loss starts fast recovery (`TCPSackRecovery`): the congestion control algorithm
//!   sets the new threshold, and proportional rate reduction (PRR, RFC 6937, with its
//!   slow-start reduction bound) sets the window on every ACK so that retransmissions and new
//!   data leave in step with what the network delivers, ending at the threshold once `snd_una`
//!   passes the point recovery began at;
//! - only segments marked lost are retransmitted, in sequence order (`TCPFastRetrans`; after a
//!   timeout `TCPSlowStartRetrans`);
//! - a tail loss probe (RFC 8985 section 7, `TCPLossProbes`) two smoothed RTTs after the last
//!   transmission sends new data or the last segment again, so a loss at the tail is repaired
//!   by SACK instead of a timeout; if the probe itself repaired a loss the window is reduced
//!   once (`TCPLossProbeRecovery`);
//! - a retransmission timeout marks every segment not SACKed lost (`tcp_enter_loss`), or every
//!   segment if the peer reneged on its SACKs (`TCPSACKReneging`: the cumulative ACK stopped
//!   right below a SACKed segment; the timer is then shortened to half an RTT);
//! - a recovery proves spurious when D-SACKs report every one of its retransmissions as a
//!   duplicate (`TCPDSACKUndo`), or (with timestamps, Eifel, RFC 3522) when the ACKs echo
//!   TSvals older than its first retransmission (`TCPFullUndo`; after a timeout
//!   `TCPSpuriousRTOs` and `TCPLossUndo`): the window and threshold from before come back.
//!
//! Without SACK the connection uses NewReno on duplicate ACKs instead (`input.rs`), as Linux
//! does.

use std::time::Duration;

use super::scoreboard::{Delivery, Prr};
use super::seq_dist;
use super::tcb::{Env, Tcb};
use crate::config::StackConfig;
use crate::stats::Counter;
use crate::time::Instant;
use crate::wire::SeqNumber;
use crate::wire::tcp::{SackBlocks, TcpRepr};

/// Linux's `TCP_RTO_MIN`, added to a tail loss probe's timeout when one segment is out (the
/// peer may be delaying its ACK).
const TLP_DELAYED_ACK: Duration = Duration::from_millis(200);
/// Added to a tail loss probe's timeout otherwise (`TCP_TIMEOUT_MIN`).
const TLP_SLACK: Duration = Duration::from_millis(2);
/// The shortest delay before a retransmission after suspected reneging.
const RENEGING_MIN: Duration = Duration::from_millis(10);

impl Tcb {
    /// Whether this connection recovers with SACK (both ends permitted it).
    pub(crate) fn sack_in_use(&self) -> bool {
        self.opts.sack
    }

    /// The bytes in flight the congestion window is compared with.
    pub(crate) fn pipe(&self) -> usize {
        if self.sack_in_use() {
            self.sb.pipe()
        } else {
            self.in_flight()
        }
    }

    /// The part of an ACK a SACK connection handles here, after the cumulative acknowledgment
    /// moved `snd_una` from `prior_una` and freed `acked` bytes of data; `prior_pipe` was in
    /// flight before it.
    pub(crate) fn sack_on_ack(
        &mut self,
        env: &mut Env<'_>,
        seg: &TcpRepr,
        prior_una: SeqNumber,
        acked: usize,
        prior_pipe: usize,
    ) {
        let now = env.now;
        let advanced = self.snd_una.gt(prior_una);
        let mut d = Delivery::default();
        self.sb.on_ack(self.snd_una, &mut d);
        let blocks = self.valid_sack_blocks(&seg.options.sack_blocks);
        self.sb.on_sack(self.snd_una, blocks.as_slice(), &mut d);
        if d.dsack {
            self.on_dsack(env, blocks.as_slice()[0]);
        }
        if advanced && self.in_recovery() {
            // Eifel: every ACK of the recovery must echo a TSval older than its first
            // retransmission for the recovery to count as spurious.
            self.track_undo(&seg.options);
        }
        if d.reordered && !self.rack.reord {
            self.rack.reord = true;
            env.count(Counter::TcpExtTCPSACKReorder);
        }
        if let Some((xmit, end, retransmitted)) = d.newest {
            self.rack.on_delivered(now, xmit, end, retransmitted);
        }
        self.tlp_on_ack(env, &d, advanced);
        self.rack_mark_lost(now);
        let delivered = (d.acked + d.sacked).saturating_sub(d.acked_sacked);
        if (self.in_recovery() || self.in_loss()) && self.snd_una.ge(self.recover) {
            self.end_recovery(env);
        }
        if self.in_recovery() {
            self.prr(delivered);
        } else if !self.in_loss() && self.sb.lost_bytes() > 0 {
            self.start_recovery(env);
            self.prr(delivered);
        } else if acked > 0 {
            let limited = self.cwnd_limited(prior_pipe);
            self.cc.on_ack(now, acked, self.mss(), limited);
        }
        if acked > 0 && self.sb.head_sacked() {
            // The peer acknowledged up to a segment it had SACKed, but not that segment: it
            // may have dropped what it SACKed. Retransmit soon rather than wait a full RTO.
            let srtt = self.rtt.srtt().unwrap_or_else(|| self.rtt.rto());
            self.timers.rto = Some(now + (srtt / 2).max(RENEGING_MIN));
        }
        self.arm_tlp(now, env.config);
    }

    /// The blocks of an ACK that can be about data we sent (Linux's
    /// `tcp_is_sackblock_valid`): properly ordered, not beyond `snd_max`, and not older than
    /// the largest window the peer offered (a D-SACK may reach below `snd_una`).
    fn valid_sack_blocks(&self, blocks: &SackBlocks) -> SackBlocks {
        let oldest = self.snd_una - self.max_snd_wnd().min(1 << 30);
        let mut valid = SackBlocks::new();
        for &(s, e) in blocks.as_slice() {
            if s.lt(e) && e.le(self.snd_max) && s.ge(oldest) {
                valid.push(s, e);
            }
        }
        valid
    }

    /// A D-SACK: the peer got something twice. Widens RACK's reordering window; a D-SACK for
    /// every retransmission of a recovery undoes it.
    fn on_dsack(&mut self, env: &mut Env<'_>, (_, end): (SeqNumber, SeqNumber)) {
        env.count(if end.le(self.snd_una) {
            Counter::TcpExtTCPDSACKRecv
        } else {
            Counter::TcpExtTCPDSACKOfoRecv
        });
        self.rack.on_dsack(self.snd_una, self.snd_max);
        // Linux's `tcp_check_dsack`: a D-SACK for data of the last recovery (at or after where
        // it began, already cumulatively acknowledged) accounts for one of its retransmissions.
        if let Some(marker) = self.undo_marker
            && self.undo_retrans > 0
            && end.le(self.snd_una)
            && end.gt(marker)
        {
            self.undo_retrans -= 1;
            if self.undo_retrans == 0 && !self.in_loss() {
                self.undo_marker = None;
                if self.cc.undo() {
                    env.count(Counter::TcpExtTCPDSACKUndo);
                    self.sb.unmark_lost();
                    if self.in_recovery() {
                        self.set_in_recovery(false);
                        self.rack.on_recovery_end();
                    }
                }
            }
        }
    }

    /// RACK detection now; arms the reordering timer for what is not overdue yet.
    pub(crate) fn rack_mark_lost(&mut self, now: Instant) -> usize {
        let srtt = self.rtt.srtt().unwrap_or_else(|| self.rtt.rto());
        let dupthresh = self.sb.sacked_bytes() >= 3 * self.mss();
        let reo = self
            .rack
            .reo_wnd(srtt, self.in_recovery() || self.in_loss(), dupthresh);
        let found = self.rack.detect_loss(&mut self.sb, now, reo);
        self.timers.reorder = found.timer;
        found.lost
    }

    /// The reordering timer fired: what is overdue now is lost, and recovery starts if it has
    /// not (Linux's `tcp_rack_reo_timeout`).
    pub(crate) fn on_reorder_timer(&mut self, env: &mut Env<'_>) {
        if !self.sack_in_use() || self.sb.is_empty() {
            return;
        }
        if self.rack_mark_lost(env.now) > 0 && !self.in_recovery() && !self.in_loss() {
            self.start_recovery(env);
            self.prr(0);
        }
    }

    /// Fast recovery begins (Linux's `tcp_enter_recovery` with `tcp_init_cwnd_reduction`).
    fn start_recovery(&mut self, env: &mut Env<'_>) {
        self.set_in_recovery(true);
        self.recover = self.snd_max;
        // RFC 5681's FlightSize (sent and not cumulatively acknowledged) is also PRR's
        // RecoverFS.
        let flight = seq_dist(self.snd_max, self.snd_una);
        self.cc.on_congestion(env.now, flight, self.mss());
        *self.sb.prr_mut() = Prr {
            delivered: 0,
            out: 0,
            recover_fs: flight.max(1),
        };
        self.undo_marker = Some(self.snd_una);
        self.undo_retrans = 0;
        self.undo_stamp = None;
        self.set_undo_ok(self.opts.timestamps);
        self.tlp_high_seq = None;
        self.timers.tlp = None;
        env.count(Counter::TcpExtTCPSackRecovery);
    }

    /// `snd_una` passed the recovery point: the window settles at the threshold (PRR's end),
    /// unless timestamps show the recovery was spurious.
    fn end_recovery(&mut self, env: &mut Env<'_>) {
        if self.in_recovery() {
            let ssthresh = self.cc.ssthresh();
            self.cc.set_cwnd(ssthresh.max(self.mss()));
            // Linux's `tcp_try_undo_recovery`: spurious if timestamps say so, or if D-SACKs
            // already accounted for every retransmission.
            let spurious = self.undo_ok() || (self.undo_marker.is_some() && self.undo_retrans == 0);
            if spurious && self.cc.undo() {
                env.count(Counter::TcpExtTCPFullUndo);
                self.undo_marker = None;
            }
            self.rack.on_recovery_end();
        }
        self.set_in_recovery(false);
        self.set_in_loss(false);
        self.undo_stamp = None;
        self.set_undo_ok(false);
    }

    /// RFC 6937 section 3.1: the window for this ACK, which delivered `delivered` bytes.
    fn prr(&mut self, delivered: usize) {
        self.sb.prr_mut().delivered += delivered;
        let prr = self.sb.prr();
        let pipe = self.sb.pipe();
        let ssthresh = self.cc.ssthresh();
        let mss = self.mss();
        let sndcnt = if pipe > ssthresh {
            // Proportional: send in the ratio ssthresh / RecoverFS to what was delivered.
            let due =
                (prr.delivered as u128 * ssthresh as u128).div_ceil(prr.recover_fs.max(1) as u128);
            usize::try_from(due)
                .unwrap_or(usize::MAX)
                .saturating_sub(prr.out)
        } else {
            // Slow-start reduction bound: grow back toward ssthresh, at most one segment more
            // than delivered.
            let limit = prr.delivered.saturating_sub(prr.out).max(delivered) + mss;
            (ssthresh - pipe).min(limit)
        };
        // The retransmission that starts recovery always goes (Linux forces one segment).
        let sndcnt = if prr.out == 0 {
            sndcnt.max(mss)
        } else {
            sndcnt
        };
        self.cc.set_cwnd((pipe + sndcnt).max(mss));
    }

    /// A retransmission timeout on a SACK connection (Linux's `tcp_enter_loss`): everything
    /// not SACKed is lost, or everything if the peer reneged; retransmission starts from the
    /// first lost segment, and new data follows once those are resent.
    pub(crate) fn sack_on_rto(&mut self, env: &mut Env<'_>) {
        let reneged = self.sb.head_sacked();
        if reneged {
            env.count(Counter::TcpExtTCPSACKReneging);
        }
        self.sb.mark_all_lost(reneged);
        self.set_in_recovery(false);
        self.set_in_loss(true);
        self.recover = self.snd_max;
        self.tlp_high_seq = None;
        self.timers.tlp = None;
        self.timers.reorder = None;
        self.undo_marker = Some(self.snd_una);
        self.undo_retrans = 0;
    }

    /// Arms the tail loss probe after sending or an ACK (Linux's `tcp_schedule_loss_probe`),
    /// unless `tcp_early_retrans` turns probes off: on a SACK connection not in recovery, with
    /// data outstanding and an RTT measured, two smoothed RTTs out (plus a delayed-ACK
    /// allowance when one segment is out), and never later than the retransmission timeout,
    /// which the probe then replaces.
    pub(crate) fn arm_tlp(&mut self, now: Instant, config: &StackConfig) {
        self.timers.tlp = None;
        if config.tcp_early_retrans < 3
            || !self.sack_in_use()
            || self.in_recovery()
            || self.in_loss()
            || self.snd_max == self.snd_una
            || !self.state.is_synchronized()
        {
            return;
        }
        let Some(srtt) = self.rtt.srtt() else {
            return;
        };
        let slack = if seq_dist(self.snd_max, self.snd_una) <= self.mss() {
            TLP_DELAYED_ACK
        } else {
            TLP_SLACK
        };
        let at = now + 2 * srtt + slack;
        // Never later than the retransmission timeout: then the probe goes in its place.
        self.timers.tlp = self.timers.rto.map(|rto| at.min(rto));
    }

    /// The tail loss probe timer fired (Linux's `tcp_send_loss_probe`): at most one probe is
    /// outstanding; the output sends it.
    pub(crate) fn on_tlp_timer(&mut self, env: &mut Env<'_>) {
        if self.tlp_high_seq.is_some()
            || !self.sack_in_use()
            || self.in_recovery()
            || self.in_loss()
            || self.snd_max == self.snd_una
        {
            return;
        }
        self.set_tlp_due(true);
        env.count(Counter::TcpExtTCPLossProbes);
        // The probe replaces a timeout due now; it re-arms the timer when it leaves.
        self.timers.rto = Some(env.now + self.rtt.rto());
    }

    /// What an ACK says about the outstanding probe (Linux's `tcp_process_tlp_ack`): if it
    /// repaired a loss (the ACK covers it and no D-SACK says the original arrived too), the
    /// window comes down once.
    fn tlp_on_ack(&mut self, env: &mut Env<'_>, d: &Delivery, advanced: bool) {
        let Some(high) = self.tlp_high_seq else {
            return;
        };
        if self.snd_una.lt(high) {
            return;
        }
        if !self.tlp_retrans() || d.dsack {
            // New data probed, or the peer got the probe twice: no loss.
            self.tlp_high_seq = None;
        } else if self.snd_una.gt(high) {
            // An ACK beyond the probe and no D-SACK for it: the original was lost and the
            // probe repaired it. Reduce once, as for any loss.
            self.tlp_high_seq = None;
            let flight = seq_dist(self.snd_max, self.snd_una);
            let ssthresh = self.cc.on_congestion(env.now, flight, self.mss());
            self.cc.set_cwnd(ssthresh.max(self.mss()));
            env.count(Counter::TcpExtTCPLossProbeRecovery);
        } else if !advanced && d.sacked == 0 {
            // A pure duplicate ACK: the original and the probe both arrived.
            self.tlp_high_seq = None;
        }
    }
}
