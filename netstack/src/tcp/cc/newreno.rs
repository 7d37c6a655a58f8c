//! NewReno's window rules (RFC 5681 with RFC 3465's byte counting; Linux's `reno`).
//!
//! - Slow start below `ssthresh`: the shared [`slow_start`] (byte counting, L = 2).
//! - Congestion avoidance (RFC 5681 section 3.1, RFC 3465 section 2.1): one segment more per
//!   window of acknowledged bytes, so +1 MSS per round trip.
//! - A congestion event (RFC 5681 equation 4): `ssthresh = max(FlightSize / 2, 2 * MSS)`.
//!
//! Fast recovery's inflation and deflation (RFC 6582) are applied by
//! [`super::Congestion`], for every algorithm.

use super::{Ack, CongestionOps, Window, slow_start};
use crate::time::Instant;

/// NewReno's own state: the byte counter of congestion avoidance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NewReno {
    /// Bytes acknowledged in congestion avoidance since cwnd last grew.
    acked_in_ca: usize,
}

impl CongestionOps for NewReno {
    fn name(&self) -> &'static str {
        "reno"
    }

    fn ssthresh(&mut self, _w: &Window, flight: usize, mss: usize, _now: Instant) -> usize {
        self.acked_in_ca = 0;
        (flight / 2).max(2 * mss)
    }

    fn cong_avoid(&mut self, w: &mut Window, ack: &Ack) {
        let acked = slow_start(w, ack);
        if acked == 0 {
            return;
        }
        self.acked_in_ca += acked;
        if self.acked_in_ca >= w.cwnd {
            self.acked_in_ca -= w.cwnd;
            w.cwnd = w.cwnd.saturating_add(ack.mss);
        }
    }

    fn on_rto(&mut self, _now: Instant) {
        self.acked_in_ca = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Congestion, CongestionControl};
    use crate::time::Instant;

    const MSS: usize = 1000;

    fn reno() -> Congestion {
        Congestion::new(CongestionControl::Reno, 10, MSS)
    }

    /// A window of `segments` segments (congestion events reduce from at most the window).
    fn reno_at(segments: u32) -> Congestion {
        Congestion::new(CongestionControl::Reno, segments, MSS)
    }

    /// One round trip: the whole window is acknowledged, `per_ack` bytes per ACK (delayed ACKs
    /// cover two segments).
    fn round(cc: &mut Congestion, now: Instant, per_ack: usize) {
        let mut left = cc.cwnd();
        while left > 0 {
            let acked = per_ack.min(left);
            cc.on_ack(now, acked, MSS, true);
            left -= acked;
        }
    }

    #[test]
    fn slow_start_doubles_per_round_trip_with_delayed_acks() {
        let mut cc = reno();
        assert_eq!(cc.cwnd(), 10 * MSS, "RFC 6928 initial window");
        for expected in [20, 40, 80, 160] {
            round(&mut cc, Instant::ZERO, 2 * MSS);
            assert_eq!(cc.cwnd(), expected * MSS);
        }
    }

    #[test]
    fn byte_counting_limits_slow_start_to_two_segments_per_ack() {
        let mut cc = reno();
        cc.on_ack(Instant::ZERO, 5 * MSS, MSS, true);
        assert_eq!(cc.cwnd(), 12 * MSS);
    }

    #[test]
    fn avoidance_adds_one_segment_per_round_trip_and_loss_halves() {
        let mut cc = reno_at(40);
        // A loss with 40 segments in flight: ssthresh 20, recovery ends with 20 in flight.
        cc.enter_fast_recovery(Instant::ZERO, 40 * MSS, MSS);
        assert_eq!((cc.ssthresh(), cc.cwnd()), (20 * MSS, 23 * MSS));
        cc.exit_fast_recovery(20 * MSS, MSS);
        assert_eq!(cc.cwnd(), 20 * MSS);
        for n in 1..=10 {
            round(&mut cc, Instant::ZERO, MSS);
            assert_eq!(cc.cwnd(), (20 + n) * MSS, "round {n}");
        }
        // The next loss at 30 segments halves again.
        cc.enter_fast_recovery(Instant::ZERO, 30 * MSS, MSS);
        cc.exit_fast_recovery(15 * MSS, MSS);
        assert_eq!((cc.ssthresh(), cc.cwnd()), (15 * MSS, 15 * MSS));
    }

    #[test]
    fn slow_start_stops_at_ssthresh_and_carries_the_rest_into_avoidance() {
        let mut cc = reno_at(25);
        cc.on_rto(Instant::ZERO, 25 * MSS, MSS, true);
        assert_eq!((cc.ssthresh(), cc.cwnd()), (12 * MSS + MSS / 2, MSS));
        for _ in 0..5 {
            cc.on_ack(Instant::ZERO, 2 * MSS, MSS, true);
        }
        assert_eq!(cc.cwnd(), 11 * MSS);
        // Reaching 12.5 segments takes 1500 bytes of this ACK; 500 count toward avoidance.
        cc.on_ack(Instant::ZERO, 2 * MSS, MSS, true);
        assert_eq!(cc.cwnd(), 12 * MSS + MSS / 2);
        cc.on_ack(Instant::ZERO, 12 * MSS, MSS, true);
        assert_eq!(cc.cwnd(), 13 * MSS + MSS / 2, "500 + 12000 >= one window");
    }

    #[test]
    fn recovery_inflates_deflates_and_a_timeout_collapses() {
        let mut cc = reno_at(20);
        cc.enter_fast_recovery(Instant::ZERO, 20 * MSS, MSS);
        assert_eq!((cc.ssthresh(), cc.cwnd()), (10 * MSS, 13 * MSS));
        cc.recovery_dupack(MSS);
        assert_eq!(cc.cwnd(), 14 * MSS);
        cc.recovery_partial_ack(3 * MSS, MSS);
        assert_eq!(cc.cwnd(), 12 * MSS);
        cc.exit_fast_recovery(4 * MSS, MSS);
        assert_eq!(cc.cwnd(), 5 * MSS);
        cc.on_rto(Instant::ZERO, 3 * MSS, MSS, true);
        assert_eq!((cc.ssthresh(), cc.cwnd()), (2 * MSS, MSS));
        // Later timeouts of the same data keep the threshold.
        cc.on_rto(Instant::ZERO, 3 * MSS, MSS, false);
        assert_eq!((cc.ssthresh(), cc.cwnd()), (2 * MSS, MSS));
    }

    #[test]
    fn the_reduction_is_from_the_flight_but_never_more_than_the_window() {
        // Less in flight than the window (RFC 5681 equation 4 uses FlightSize).
        let mut cc = reno_at(20);
        cc.enter_fast_recovery(Instant::ZERO, 8 * MSS, MSS);
        assert_eq!(cc.ssthresh(), 4 * MSS);
        // More in flight than the window, as after a long recovery: from the window.
        let mut cc = reno_at(20);
        cc.enter_fast_recovery(Instant::ZERO, 300 * MSS, MSS);
        assert_eq!(cc.ssthresh(), 10 * MSS);
    }

    #[test]
    fn no_growth_when_the_window_did_not_limit_the_sender() {
        let mut cc = reno();
        cc.on_ack(Instant::ZERO, 2 * MSS, MSS, false);
        assert_eq!(cc.cwnd(), 10 * MSS);
    }
}
