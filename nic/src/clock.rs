//! Clocks for the devices that hold frames for a while or stamp them: [`Clock`], the real
//! [`SystemClock`] and the virtual [`ManualClock`].
//!
//! A clock reports time as a [`Duration`] since an origin of its own choosing, never as an
//! [`Instant`], so that the same device code runs on the real clock and, in deterministic
//! simulations, on a virtual clock that only moves when the test moves it. The impairment wrapper
//! uses a clock for delays and rate limits; the pcap devices use one for frame timestamps and for
//! replaying a file at its own pace.
//!
//! Clocks are single-threaded like the runtime: [`ManualClock`] is a cheap `Rc` handle, and every
//! clone of it shows (and moves) the same time.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time: how much has passed since an origin fixed by the clock.
///
/// Time never goes backwards (for [`ManualClock`], as long as the test does not set it back).
pub trait Clock {
    /// Time since the clock's origin.
    fn now(&self) -> Duration;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Rc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// The real, monotonic clock ([`Instant`]), counting from an origin fixed at creation.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: Instant,
    /// Added to the time elapsed since `start`.
    offset: Duration,
}

impl SystemClock {
    /// A clock that reads zero now and advances with [`Instant`].
    pub fn new() -> SystemClock {
        SystemClock {
            start: Instant::now(),
            offset: Duration::ZERO,
        }
    }

    /// A clock whose origin is the Unix epoch, for timestamps in capture files: it reads the wall
    /// clock ([`SystemTime`]) once, now, and from then on advances with the monotonic [`Instant`],
    /// so its readings never go backwards even if the wall clock is stepped. (A wall clock set
    /// before 1970 counts as the epoch itself.)
    pub fn since_unix_epoch() -> SystemClock {
        let offset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        SystemClock {
            start: Instant::now(),
            offset,
        }
    }
}

impl Default for SystemClock {
    /// The same as [`SystemClock::new`].
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.offset.saturating_add(self.start.elapsed())
    }
}

/// A virtual clock that moves only when told to, for deterministic simulation: a cloneable handle,
/// and every clone shows the same time.
///
/// ```
/// use std::time::Duration;
/// use sockeye_nic::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let handle = clock.clone();
/// handle.advance(Duration::from_millis(5));
/// assert_eq!(clock.now(), Duration::from_millis(5));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Rc<Cell<Duration>>,
}

impl ManualClock {
    /// A clock reading zero.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// A clock reading `now`.
    pub fn starting_at(now: Duration) -> ManualClock {
        ManualClock {
            now: Rc::new(Cell::new(now)),
        }
    }

    /// Moves time forward by `by` (saturating at [`Duration::MAX`]).
    pub fn advance(&self, by: Duration) {
        self.now.set(self.now.get().saturating_add(by));
    }

    /// Sets the time to `now`. Setting it back is allowed but breaks the monotonicity that devices
    /// expect: they treat time that went backwards as time that stood still.
    pub fn set(&self, now: Duration) {
        self.now.set(now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        self.now.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new();
        assert_eq!(clock.now(), Duration::ZERO);
        let other = clock.clone();
        other.advance(Duration::from_micros(1500));
        assert_eq!(clock.now(), Duration::from_micros(1500));
        clock.set(Duration::from_secs(7));
        assert_eq!(other.now(), Duration::from_secs(7));
        clock.set(Duration::MAX);
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), Duration::MAX, "saturates");
        let start = ManualClock::starting_at(Duration::from_secs(3));
        assert_eq!(start.now(), Duration::from_secs(3));
    }

    #[test]
    fn system_clocks() {
        let clock = SystemClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
        assert!(a < Duration::from_secs(60), "starts near zero");
        let unix = SystemClock::since_unix_epoch();
        // Later than 2020-01-01.
        assert!(unix.now() > Duration::from_secs(1_577_836_800));
        assert!(SystemClock::default().now() < Duration::from_secs(60));
    }

    #[test]
    fn clock_pointers() {
        let clock = ManualClock::starting_at(Duration::from_secs(2));
        let boxed: Box<dyn Clock> = Box::new(clock.clone());
        let rc: Rc<dyn Clock> = Rc::new(clock.clone());
        assert_eq!(boxed.now(), Duration::from_secs(2));
        assert_eq!(rc.now(), Duration::from_secs(2));
        let by_ref: &ManualClock = &clock;
        assert_eq!(Clock::now(&by_ref), Duration::from_secs(2));
    }
}
