//! The token bucket behind [`RateLimit`]: computes, when a frame arrives, the time it leaves.
//!
//! The queue in front of the bucket is first-in first-out and tokens accrue at a fixed rate, so a
//! frame's departure time is known the moment it arrives: it leaves when both the frames ahead of
//! it have left and the bucket holds its length in tokens. The bucket therefore keeps no frames,
//! only the departure times of those still waiting (to bound the queue), and the frames themselves
//! wait in the direction's held queue like delayed ones.
//!
//! Tokens are counted in integer units of one bit times one nanosecond per second (a bit is
//! 10^9 units, a nanosecond at `r` bits per second brings `r` units), so that accrual is exact
//! and the result never depends on floating-point rounding.

use std::collections::VecDeque;
use std::time::Duration;

use super::config::RateLimit;

/// Token units per bit.
const UNITS_PER_BIT: u128 = 1_000_000_000;

#[derive(Debug)]
pub(super) struct TokenBucket {
    limit: RateLimit,
    /// `limit.burst_bytes` in token units.
    capacity: u128,
    tokens: u128,
    /// The time `tokens` was computed for.
    updated: Duration,
    /// Departure times of the frames still waiting for tokens, oldest first.
    waiting: VecDeque<Duration>,
}

impl TokenBucket {
    /// A full bucket at time `now`.
    pub(super) fn new(limit: RateLimit, now: Duration) -> TokenBucket {
        let capacity = (limit.burst_bytes as u128)
            .saturating_mul(8)
            .saturating_mul(UNITS_PER_BIT);
        TokenBucket {
            limit,
            capacity,
            tokens: capacity,
            updated: now,
            waiting: VecDeque::new(),
        }
    }

    pub(super) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes a frame of `len` bytes arriving at `now` (times never decrease between calls):
    /// returns when it leaves, or `None` if the queue is full (or the rate is zero) and the frame
    /// must be dropped.
    pub(super) fn admit(&mut self, now: Duration, len: usize) -> Option<Duration> {
        while self.waiting.front().is_some_and(|&t| t <= now) {
            self.waiting.pop_front();
        }
        let rate = u128::from(self.limit.bits_per_second);
        if rate == 0 || self.waiting.len() >= self.limit.queue_len {
            return None;
        }
        // The frame starts waiting for tokens once the frames ahead of it have left.
        let start = now.max(self.updated);
        let need = (len as u128)
            .saturating_mul(8)
            .saturating_mul(UNITS_PER_BIT);
        // A frame longer than the bucket waits until the bucket has filled up to its length.
        let cap = self.capacity.max(need);
        let elapsed = (start - self.updated).as_nanos();
        self.tokens = self
            .tokens
            .saturating_add(rate.saturating_mul(elapsed))
            .min(cap);
        self.updated = start;
        let departure = if self.tokens >= need {
            self.tokens -= need;
            start
        } else {
            let wait_ns = (need - self.tokens).div_ceil(rate);
            self.tokens = self.tokens + wait_ns * rate - need;
            let wait = Duration::from_nanos(u64::try_from(wait_ns).unwrap_or(u64::MAX));
            self.updated = start.saturating_add(wait);
            self.updated
        };
        if departure > now {
            self.waiting.push_back(departure);
        }
        Some(departure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn burst_then_rate() {
        // 1 Mbit/s: a 1250-byte frame is 10 ms of tokens; the bucket holds two frames.
        let limit = RateLimit::new(1_000_000)
            .with_burst(2500)
            .with_queue_len(10);
        let mut bucket = TokenBucket::new(limit, Duration::ZERO);
        let t0 = Duration::ZERO;
        assert_eq!(bucket.admit(t0, 1250), Some(t0));
        assert_eq!(bucket.admit(t0, 1250), Some(t0));
        assert_eq!(bucket.admit(t0, 1250), Some(10 * MS));
        assert_eq!(bucket.admit(t0, 1250), Some(20 * MS));
        // After a long idle period the bucket is full again, but no fuller.
        let later = Duration::from_secs(5);
        assert_eq!(bucket.admit(later, 1250), Some(later));
        assert_eq!(bucket.admit(later, 1250), Some(later));
        assert_eq!(bucket.admit(later, 1250), Some(later + 10 * MS));
    }

    #[test]
    fn queue_bound_and_zero_rate() {
        let limit = RateLimit::new(8_000).with_burst(0).with_queue_len(2);
        let mut bucket = TokenBucket::new(limit, Duration::ZERO);
        // 8 kbit/s: one byte per millisecond; an empty bucket.
        assert_eq!(bucket.admit(Duration::ZERO, 10), Some(10 * MS));
        assert_eq!(bucket.admit(Duration::ZERO, 10), Some(20 * MS));
        assert_eq!(bucket.admit(Duration::ZERO, 10), None, "two waiting: full");
        // Once the first has left there is room again.
        assert_eq!(bucket.admit(10 * MS, 5), Some(25 * MS));
        let mut dead = TokenBucket::new(RateLimit::new(0), Duration::ZERO);
        assert_eq!(dead.admit(Duration::ZERO, 1), None);
    }

    #[test]
    fn long_frames_and_huge_values_do_not_overflow() {
        let limit = RateLimit::new(1).with_burst(usize::MAX);
        let mut bucket = TokenBucket::new(limit, Duration::ZERO);
        assert_eq!(
            bucket.admit(Duration::ZERO, 1_000_000),
            Some(Duration::ZERO)
        );
        let limit = RateLimit::new(u64::MAX).with_burst(0);
        let mut bucket = TokenBucket::new(limit, Duration::ZERO);
        assert!(bucket.admit(Duration::MAX, usize::MAX).is_some());
        let mut slow = TokenBucket::new(RateLimit::new(1).with_burst(0), Duration::ZERO);
        // One byte, eight bits, at one bit per second.
        let t = slow.admit(Duration::ZERO, 1).unwrap();
        assert_eq!(t, Duration::from_secs(8));
        assert_eq!(slow.limit().bits_per_second, 1);
    }
}
