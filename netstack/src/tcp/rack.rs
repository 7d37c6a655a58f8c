//! RACK loss detection (RFC 8985 section 6, Linux's `tcp_recovery.c`): a segment is lost when
//! a segment sent sufficiently later has been delivered. "Sufficiently" is the RTT of that
//! later segment plus a reordering window, so detection works on time rather than on counting
//! duplicate ACKs, and retransmissions that are lost again are detected the same way.
//!
//! - `RACK.xmit_ts` / `RACK.end_seq`: the most recently sent segment known delivered (ACKed or
//!   SACKed); `RACK.rtt` its round trip. A delivered segment that was retransmitted and came
//!   back faster than the minimum RTT is ignored: the ACK is probably for the original.
//! - The reordering window is zero until reordering has been seen, while in recovery or once
//!   three segments' worth is SACKed (so a burst loss is repaired at once); otherwise a quarter
//!   of the minimum RTT, times a multiplier that each D-SACK round raises (the peer saw a
//!   spurious retransmission: we were too quick) and that returns to one after 16 recoveries,
//!   never more than the smoothed RTT.
//! - Detection walks the scoreboard from `snd_una`: a segment not SACKed, sent before the
//!   RACK segment (in the same instant, a lower sequence number counts as sent before, except
//!   for a retransmission), whose `xmit + RACK.rtt + reo_wnd` has passed, is lost; one not yet due sets
//!   the reordering timer. The walk stops at the first never-retransmitted segment sent after
//!   the RACK segment, since everything beyond it was sent later still.

use std::time::Duration;

use super::scoreboard::Scoreboard;
use crate::time::{Instant, OptDuration};
use crate::wire::SeqNumber;

/// D-SACK rounds a widened reordering window persists for (`RACK.reo_wnd_persist`).
const REO_WND_PERSIST: u8 = 16;

/// A connection's RACK state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rack {
    /// `RACK.xmit_ts` and `RACK.end_seq`.
    newest: Option<(Instant, SeqNumber)>,
    /// `RACK.rtt` (none until a segment is delivered: zero).
    rtt: OptDuration,
    /// `RACK.min_RTT`.
    min_rtt: OptDuration,
    /// `RACK.reord`: the network has reordered segments on this connection.
    pub reord: bool,
    /// `RACK.reo_wnd_mult` (0 until the first D-SACK widens it: the multiplier is then 1 + n).
    reo_wnd_extra: u32,
    /// `RACK.reo_wnd_persist`.
    reo_wnd_persist: u8,
    /// `RACK.dsack_round`: the sequence number the round that last widened the window ends at.
    dsack_round: Option<SeqNumber>,
}

/// What a detection pass found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Detection {
    /// Bytes newly marked lost.
    pub lost: usize,
    /// When the next not-yet-lost segment would be: arm the reordering timer for it.
    pub timer: Option<Instant>,
}

impl Rack {
    /// Fresh state.
    pub fn new() -> Rack {
        Rack::default()
    }

    /// The RTT of the newest delivered segment (zero before any).
    pub fn rtt(&self) -> Duration {
        self.rtt.get().unwrap_or_default()
    }

    /// RFC 8985 section 6.2 step 2 (`RACK_update`): a segment sent at `xmit` and ending at
    /// `end` was delivered by an ACK that arrived at `now`.
    pub fn on_delivered(
        &mut self,
        now: Instant,
        xmit: Instant,
        end: SeqNumber,
        retransmitted: bool,
    ) {
        let rtt = now.saturating_duration_since(xmit);
        let min_rtt = self.min_rtt.get();
        if retransmitted && min_rtt.is_some_and(|m| rtt < m) {
            return;
        }
        self.min_rtt = OptDuration::some(min_rtt.map_or(rtt, |m| m.min(rtt)));
        let newer = match self.newest {
            None => true,
            Some((t, e)) => xmit > t || (xmit == t && end.gt(e)),
        };
        if newer {
            self.newest = Some((xmit, end));
            self.rtt = OptDuration::some(rtt);
        }
    }

    /// RFC 8985 section 6.2 step 4: a D-SACK arrived; `snd_una` and `snd_nxt` now.
    pub fn on_dsack(&mut self, snd_una: SeqNumber, snd_nxt: SeqNumber) {
        if self.dsack_round.is_none_or(|r| snd_una.ge(r)) {
            self.dsack_round = Some(snd_nxt);
            self.reo_wnd_extra += 1;
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// A loss recovery ended: a widened window persists only so many of them.
    pub fn on_recovery_end(&mut self) {
        if self.reo_wnd_persist > 0 {
            self.reo_wnd_persist -= 1;
            if self.reo_wnd_persist == 0 {
                self.reo_wnd_extra = 0;
            }
        }
    }

    /// RFC 8985 section 6.2 step 4 (`RACK_update_reo_wnd`): the reordering window now.
    /// `in_recovery`: fast recovery or after a timeout; `dupthresh_sacked`: at least three
    /// segments' worth is SACKed.
    pub fn reo_wnd(&self, srtt: Duration, in_recovery: bool, dupthresh_sacked: bool) -> Duration {
        if !self.reord && (in_recovery || dupthresh_sacked) {
            return Duration::ZERO;
        }
        let min_rtt = self.min_rtt.get().unwrap_or(srtt);
        (min_rtt / 4 * (1 + self.reo_wnd_extra)).min(srtt)
    }

    /// RFC 8985 section 6.2 step 5 (`RACK_detect_loss`): marks lost what is, at `now`.
    pub fn detect_loss(&self, sb: &mut Scoreboard, now: Instant, reo_wnd: Duration) -> Detection {
        let mut found = Detection::default();
        let Some((rack_xmit, rack_end)) = self.newest else {
            return found;
        };
        if sb.is_empty() {
            // Nothing outstanding (the common case after an ACK of everything): no walk.
            return found;
        }
        let mut k = 0;
        while let Some(s) = sb.get(k).copied() {
            k += 1;
            // Sent in the same instant, sequence order is send order, except for a
            // retransmission, which went out after whatever it sits below.
            let sent_before = s.xmit < rack_xmit
                || (s.xmit == rack_xmit && !s.ever_retrans && s.end().lt(rack_end));
            if !sent_before {
                if s.ever_retrans {
                    continue;
                }
                break;
            }
            if s.sacked || (s.lost && !s.retrans) {
                continue;
            }
            let deadline = s.xmit + self.rtt() + reo_wnd;
            if deadline <= now {
                sb.mark_lost(k - 1);
                found.lost += s.len as usize;
            } else {
                found.timer = Some(found.timer.map_or(deadline, |t: Instant| t.min(deadline)));
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::scoreboard::Delivery;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn seq(k: usize) -> SeqNumber {
        SeqNumber(1_000) + k
    }

    /// Ten 1000-byte segments sent 1 ms apart from time 0.
    fn ten() -> Scoreboard {
        let mut sb = Scoreboard::new();
        for i in 0..10 {
            sb.on_sent(seq(i * 1000), 1000, t(i as u64));
        }
        sb
    }

    /// Applies an ACK at `now` and feeds RACK what it delivered.
    fn ack(
        sb: &mut Scoreboard,
        rack: &mut Rack,
        now: Instant,
        una: usize,
        blocks: &[(usize, usize)],
    ) -> Delivery {
        let mut d = Delivery::default();
        sb.on_ack(seq(una), &mut d);
        let blocks: Vec<_> = blocks.iter().map(|&(a, b)| (seq(a), seq(b))).collect();
        sb.on_sack(seq(una), &blocks, &mut d);
        if let Some((xmit, end, rtx)) = d.newest {
            rack.on_delivered(now, xmit, end, rtx);
        }
        d
    }

    #[test]
    fn a_hole_behind_a_delivered_segment_is_lost_once_its_time_is_up() {
        let mut sb = ten();
        let mut rack = Rack::new();
        // Segment 0 lost; segments 1..=3 SACKed at 101..103 ms (RTT 100 ms).
        ack(&mut sb, &mut rack, t(101), 0, &[(1000, 2000)]);
        assert_eq!(rack.rtt(), Duration::from_millis(100));
        let reo = rack.reo_wnd(Duration::from_millis(100), false, false);
        assert_eq!(reo, Duration::from_millis(25), "min RTT / 4");
        let d = rack.detect_loss(&mut sb, t(101), reo);
        assert_eq!(d.lost, 0);
        assert_eq!(d.timer, Some(t(125)), "sent at 0 + RTT 100 + 25");
        let d = rack.detect_loss(&mut sb, t(125), reo);
        assert_eq!(d.lost, 1000);
        assert_eq!(sb.next_lost().unwrap().start, seq(0));
        // Segments sent after the RACK segment are not judged.
        assert_eq!(sb.lost_bytes(), 1000);
    }

    #[test]
    fn with_three_segments_sacked_and_no_reordering_seen_the_window_is_zero() {
        let mut sb = ten();
        let mut rack = Rack::new();
        ack(&mut sb, &mut rack, t(103), 0, &[(1000, 4000)]);
        let reo = rack.reo_wnd(Duration::from_millis(100), false, sb.sacked_bytes() >= 3000);
        assert_eq!(reo, Duration::ZERO);
        let d = rack.detect_loss(&mut sb, t(103), reo);
        assert_eq!(
            d.lost, 1000,
            "segment 0: sent at 0, RACK RTT 100 ms, now 103"
        );
    }

    #[test]
    fn a_lost_retransmission_is_detected_by_its_own_send_time() {
        let mut sb = ten();
        let mut rack = Rack::new();
        ack(&mut sb, &mut rack, t(104), 0, &[(1000, 5000)]);
        rack.detect_loss(&mut sb, t(104), Duration::ZERO);
        assert_eq!(sb.next_lost().unwrap().start, seq(0));
        sb.on_sent(seq(0), 1000, t(110));
        // Later segments delivered at 206..: the retransmission (sent at 110) is not judged
        // until a segment sent after 110 is delivered.
        ack(&mut sb, &mut rack, t(209), 0, &[(1000, 10_000)]);
        let d = rack.detect_loss(&mut sb, t(209), Duration::ZERO);
        assert_eq!(d.lost, 0);
        // New data sent at 120 is SACKed at 220: the retransmission sent at 110 is overdue.
        sb.on_sent(seq(10_000), 1000, t(120));
        ack(&mut sb, &mut rack, t(220), 0, &[(1000, 11_000)]);
        let d = rack.detect_loss(&mut sb, t(220), Duration::ZERO);
        assert_eq!(d.lost, 1000);
        assert_eq!(sb.next_lost().unwrap().start, seq(0), "due again");
    }

    #[test]
    fn a_retransmission_in_the_same_instant_is_not_sent_before() {
        let mut sb = ten();
        let mut rack = Rack::new();
        ack(&mut sb, &mut rack, t(100), 0, &[(1000, 2000)]);
        rack.detect_loss(&mut sb, t(100), Duration::ZERO);
        // Segment 0 lost and resent at 120; segment 9 (sent at 9) SACKed; new data sent at
        // 120 too, SACKed at once: the resend, though lower in sequence, was not sent before it.
        sb.on_sent(seq(0), 1000, t(120));
        sb.on_sent(seq(10_000), 1000, t(120));
        ack(
            &mut sb,
            &mut rack,
            t(120),
            0,
            &[(10_000, 11_000), (1000, 2000)],
        );
        rack.detect_loss(&mut sb, t(120), Duration::ZERO);
        let first = *sb.iter().next().expect("segment 0");
        assert_eq!(first.start, seq(0));
        assert!(
            first.retrans,
            "its retransmission is not called lost: {first:?}"
        );
        // Segments 2 to 9, sent at 2 to 9 ms, are overdue.
        assert_eq!(sb.next_lost().map(|s| s.start), Some(seq(2000)));
    }

    #[test]
    fn a_fast_ack_of_a_retransmission_is_ignored() {
        let mut rack = Rack::new();
        rack.on_delivered(t(100), t(0), seq(1000), false);
        // Retransmitted at 150, "delivered" at 160: faster than the 100 ms minimum RTT, so the
        // ACK was for the original.
        rack.on_delivered(t(160), t(150), seq(2000), true);
        assert_eq!(rack.rtt(), Duration::from_millis(100));
        assert_eq!(rack.newest, Some((t(0), seq(1000))));
    }

    #[test]
    fn dsacks_widen_the_window_once_per_round_and_recoveries_shrink_it_back() {
        let mut rack = Rack::new();
        rack.reord = true;
        rack.on_delivered(t(40), t(0), seq(1000), false);
        let srtt = Duration::from_millis(100);
        assert_eq!(rack.reo_wnd(srtt, false, false), Duration::from_millis(10));
        rack.on_dsack(seq(0), seq(5000));
        rack.on_dsack(seq(1000), seq(6000));
        assert_eq!(
            rack.reo_wnd(srtt, false, false),
            Duration::from_millis(20),
            "one per round"
        );
        rack.on_dsack(seq(5000), seq(9000));
        assert_eq!(rack.reo_wnd(srtt, true, true), Duration::from_millis(30));
        for _ in 0..15 {
            rack.on_recovery_end();
        }
        assert_eq!(rack.reo_wnd(srtt, false, false), Duration::from_millis(30));
        rack.on_recovery_end();
        assert_eq!(rack.reo_wnd(srtt, false, false), Duration::from_millis(10));
        // Never more than the smoothed RTT.
        for i in 0..10 {
            rack.on_dsack(seq(10_000 * (i + 1)), seq(10_000 * (i + 2)));
        }
        assert_eq!(
            rack.reo_wnd(Duration::from_millis(35), false, false),
            Duration::from_millis(35)
        );
    }
}
