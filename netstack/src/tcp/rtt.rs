//! The retransmission timer's estimator (RFC 6298), with Linux's bounds.
//!
//! SRTT and RTTVAR follow RFC 6298 section 2 (alpha = 1/8, beta = 1/4, K = 4). The RTO is
//! `SRTT + max(G, 4 * RTTVAR)`, clamped to `[rto_min, rto_max]`: Linux uses 200 ms and 120 s
//! (`tcp_rto_min_us`, `tcp_rto_max_ms`), not RFC 6298's 1 s minimum and 60 s maximum. Before the
//! first sample the RTO is 1 s (RFC 6298 section 2.1). Each expiry doubles it (section 5.5,
//! "back off the timer"), up to `rto_max`; a new sample resets the backoff. Samples are taken
//! only from segments that were not retransmitted (Karn's algorithm), unless they come from
//! timestamps, which identify the transmission they echo; the caller decides which samples to
//! feed.

use std::time::Duration;

use crate::time::{OptDuration, nanos_of};

/// Clock granularity G (Linux's jiffy-free timers are effectively 1 ms).
const GRANULARITY: Duration = Duration::from_millis(1);
/// The RTO before any sample (RFC 6298 section 2.1).
pub const INITIAL_RTO: Duration = Duration::from_secs(1);

/// RTT statistics and the retransmission timeout of one connection.
///
/// Kept in nanoseconds as `u64`s (the optional ones as [`OptDuration`]), half the size of
/// `Duration`s, and the bounds in microseconds as `u32`s: every connection carries one.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    srtt: OptDuration,
    rttvar: u64,
    /// The smallest RTT seen (used by congestion control and RACK).
    min_rtt: OptDuration,
    /// `tcp_rto_min_us`.
    rto_min_us: u32,
    /// `tcp_rto_max_ms` in microseconds, at least `rto_min_us`.
    rto_max_us: u32,
    backoff: u8,
}

impl RttEstimator {
    /// An estimator with the given RTO bounds, counted in whole microseconds up to
    /// `u32::MAX` of them (71 minutes: Linux allows `tcp_rto_max_ms` up to 2 minutes). A
    /// maximum below the minimum is the minimum.
    pub fn new(rto_min: Duration, rto_max: Duration) -> RttEstimator {
        let micros = |d: Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
        RttEstimator {
            srtt: OptDuration::NONE,
            rttvar: 0,
            min_rtt: OptDuration::NONE,
            rto_min_us: micros(rto_min),
            rto_max_us: micros(rto_max.max(rto_min)),
            backoff: 0,
        }
    }

    /// The lower bound of the RTO, in nanoseconds.
    fn rto_min_nanos(&self) -> u64 {
        u64::from(self.rto_min_us) * 1_000
    }

    /// The upper bound of the RTO, in nanoseconds.
    fn rto_max_nanos(&self) -> u64 {
        u64::from(self.rto_max_us) * 1_000
    }

    /// Feeds one RTT measurement and clears the backoff.
    pub fn sample(&mut self, rtt: Duration) {
        let rtt = nanos_of(rtt);
        match self.srtt.nanos() {
            None => {
                self.srtt = OptDuration::from_nanos(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(rtt);
                self.rttvar = ((u128::from(self.rttvar) * 3 + u128::from(diff)) / 4) as u64;
                let srtt = (u128::from(srtt) * 7 + u128::from(rtt)) / 8;
                self.srtt = OptDuration::from_nanos(srtt as u64);
            }
        }
        let min = self.min_rtt.nanos().map_or(rtt, |m| m.min(rtt));
        self.min_rtt = OptDuration::from_nanos(min);
        self.backoff = 0;
    }

    /// The smoothed RTT, once a sample exists.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt.get()
    }

    /// The RTT variation.
    pub fn rttvar(&self) -> Duration {
        Duration::from_nanos(self.rttvar)
    }

    /// The smallest RTT sampled so far.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt.get()
    }

    /// The RTO without backoff, in nanoseconds (integer arithmetic: it is computed for
    /// every ACK).
    fn base_rto_nanos(&self) -> u64 {
        let rto = match self.srtt.nanos() {
            None => nanos_of(INITIAL_RTO),
            Some(srtt) => {
                let var = self.rttvar.saturating_mul(4).max(nanos_of(GRANULARITY));
                srtt.saturating_add(var)
            }
        };
        rto.clamp(self.rto_min_nanos(), self.rto_max_nanos())
    }

    /// The RTO without backoff.
    pub fn base_rto(&self) -> Duration {
        Duration::from_nanos(self.base_rto_nanos())
    }

    /// The current RTO: the base RTO doubled once per unanswered expiry, at most `rto_max`.
    pub fn rto(&self) -> Duration {
        let base = self.base_rto_nanos();
        let shift = u32::from(self.backoff);
        let backed_off = match base.checked_shl(shift) {
            Some(v) if v >> shift == base => v,
            _ => self.rto_max_nanos(),
        };
        Duration::from_nanos(backed_off.min(self.rto_max_nanos()))
    }

    /// Records a timer expiry: the next RTO is doubled.
    pub fn back_off(&mut self) {
        self.backoff = self.backoff.saturating_add(1).min(31);
    }

    /// The upper bound of the RTO.
    pub fn rto_max(&self) -> Duration {
        Duration::from_nanos(self.rto_max_nanos())
    }

    /// How many times the timer has backed off since the last sample.
    pub fn backoff(&self) -> u32 {
        u32::from(self.backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn linux() -> RttEstimator {
        RttEstimator::new(ms(200), ms(120_000))
    }

    #[test]
    fn initial_rto_is_one_second() {
        assert_eq!(linux().rto(), ms(1000));
    }

    #[test]
    fn first_and_later_samples_follow_rfc6298() {
        let mut e = linux();
        e.sample(ms(100));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rttvar(), ms(50));
        // 100 + 4*50 = 300 ms.
        assert_eq!(e.rto(), ms(300));
        e.sample(ms(200));
        // RTTVAR = 3/4*50 + 1/4*100 = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5.
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(112_500 + 250_000));
        assert_eq!(e.min_rtt(), Some(ms(100)));
    }

    #[test]
    fn rto_is_clamped_to_linux_bounds() {
        let mut e = linux();
        for _ in 0..50 {
            e.sample(Duration::from_micros(50));
        }
        assert_eq!(e.rto(), ms(200), "never below tcp_rto_min");
        let mut slow = linux();
        slow.sample(ms(100_000));
        assert_eq!(slow.rto(), ms(120_000), "never above tcp_rto_max");
    }

    #[test]
    fn a_maximum_below_the_minimum_is_the_minimum() {
        let mut e = RttEstimator::new(Duration::from_micros(2_500_500), ms(1_000));
        assert_eq!(e.rto_max(), Duration::from_micros(2_500_500));
        e.sample(ms(10));
        assert_eq!(e.rto(), Duration::from_micros(2_500_500));
        e.back_off();
        assert_eq!(e.rto(), Duration::from_micros(2_500_500));
        let huge = RttEstimator::new(ms(200), Duration::from_secs(u64::MAX));
        assert_eq!(huge.rto_max(), Duration::from_micros(u64::from(u32::MAX)));
    }

    #[test]
    fn backoff_doubles_until_the_maximum_and_a_sample_resets_it() {
        let mut e = linux();
        e.sample(ms(100));
        let base = e.rto();
        e.back_off();
        assert_eq!(e.rto(), base * 2);
        e.back_off();
        assert_eq!(e.rto(), base * 4);
        for _ in 0..40 {
            e.back_off();
        }
        assert_eq!(e.rto(), ms(120_000));
        e.sample(ms(100));
        assert_eq!(e.backoff(), 0);
        assert!(e.rto() < ms(1000));
    }
}
