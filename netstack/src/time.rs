//! The stack's notion of time: an [`Instant`] in microseconds since an origin the caller chooses.
//!
//! The stack never reads a clock. Every entry point takes `now`; the runtime passes the real
//! monotonic time (microseconds since it started), a simulation passes virtual time. Durations
//! are `std::time::Duration`.

use std::fmt;
use std::num::NonZeroU64;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point in time, in microseconds since the caller's origin.
///
/// Stored as microseconds + 1 in a `NonZeroU64`, so that `Option<Instant>` is as small as an
/// `Instant` (8 bytes): a connection keeps a dozen optional deadlines. The latest representable
/// instant is `u64::MAX - 1` microseconds (about 584,000 years); arithmetic saturates there.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// `micros + 1`.
    stamp: NonZeroU64,
}

impl Default for Instant {
    /// The origin.
    fn default() -> Instant {
        Instant::ZERO
    }
}

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant::from_micros(0);

    /// An instant `micros` microseconds after the origin (saturating at the latest instant).
    pub const fn from_micros(micros: u64) -> Instant {
        let stamp = if micros == u64::MAX {
            u64::MAX
        } else {
            micros + 1
        };
        match NonZeroU64::new(stamp) {
            Some(stamp) => Instant { stamp },
            None => unreachable!(),
        }
    }

    /// An instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant::from_micros(millis.saturating_mul(1000))
    }

    /// Microseconds since the origin.
    pub const fn total_micros(self) -> u64 {
        self.stamp.get() - 1
    }

    /// Milliseconds since the origin (rounded down).
    pub const fn total_millis(self) -> u64 {
        self.total_micros() / 1000
    }

    /// Microseconds since the origin of an optional instant, `u64::MAX` for none (no instant
    /// has that many): orders deadlines with `None` last, without a branch (the niche makes
    /// it one subtraction).
    pub(crate) fn micros_or_max(t: Option<Instant>) -> u64 {
        t.map_or(0, |t| t.stamp.get()).wrapping_sub(1)
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.stamp.get().saturating_sub(earlier.stamp.get()))
    }
}

/// An optional `Duration` in 8 bytes (nanoseconds, `u64::MAX` for none) instead of 16: RTT
/// fields that every connection carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct OptDuration(u64);

impl OptDuration {
    /// No value.
    pub(crate) const NONE: OptDuration = OptDuration(u64::MAX);

    /// `d`, saturating just below 584 years.
    pub(crate) fn some(d: Duration) -> OptDuration {
        OptDuration(nanos_of(d))
    }

    /// `nanos` nanoseconds (saturating just below 584 years).
    pub(crate) fn from_nanos(nanos: u64) -> OptDuration {
        OptDuration(nanos.min(u64::MAX - 1))
    }

    /// The value, if any.
    pub(crate) fn get(self) -> Option<Duration> {
        self.nanos().map(Duration::from_nanos)
    }

    /// The value in nanoseconds, if any.
    pub(crate) fn nanos(self) -> Option<u64> {
        (self.0 != u64::MAX).then_some(self.0)
    }
}

/// `d` in nanoseconds, saturating just below `u64::MAX` (584 years), the value
/// [`OptDuration`] keeps for "none".
pub(crate) fn nanos_of(d: Duration) -> u64 {
    u64::try_from(d.as_nanos())
        .unwrap_or(u64::MAX)
        .min(u64::MAX - 1)
}

impl Default for OptDuration {
    /// No value.
    fn default() -> OptDuration {
        OptDuration::NONE
    }
}

fn micros_of(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, rhs: Duration) -> Instant {
        Instant::from_micros(self.total_micros().saturating_add(micros_of(rhs)))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, rhs: Duration) -> Instant {
        Instant::from_micros(self.total_micros().saturating_sub(micros_of(rhs)))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.total_micros() / 1_000_000,
            self.total_micros() % 1_000_000
        )
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t.total_micros(), 5000);
        assert_eq!((t + Duration::from_micros(7)).total_micros(), 5007);
        assert_eq!(t - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_millis(5));
        assert_eq!(
            Instant::from_micros(u64::MAX) + Duration::from_secs(1),
            Instant::from_micros(u64::MAX)
        );
        assert_eq!(size_of::<Option<Instant>>(), 8);
        assert_eq!(Instant::micros_or_max(None), u64::MAX);
        assert_eq!(Instant::micros_or_max(Some(t)), 5000);
        assert_eq!(
            Instant::micros_or_max(Some(Instant::from_micros(u64::MAX))),
            u64::MAX - 1
        );
        assert!(Instant::from_micros(3) < Instant::from_micros(4));
        assert_eq!(Instant::default(), Instant::ZERO);
        assert_eq!(
            format!("{:?}", Instant::from_micros(1_500_000)),
            "1.500000s"
        );
    }
}
