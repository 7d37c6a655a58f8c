//! The per-runtime time driver: maps `Instant`s to wheel ticks (milliseconds since the driver's
//! origin) and tells the reactor how long it may sleep.
//!
//! Deadlines round *up* to the next tick and the clock rounds *down*, so a timer never fires
//! before its deadline; it fires at most about a millisecond after it (plus scheduling delay).

use std::cell::RefCell;
use std::task::Waker;
use std::time::Duration;

use super::Instant;
use sockeye_netstack::timer::{TimerKey, Wheel};

/// The timers of one runtime.
pub(crate) struct TimeDriver {
    origin: std::time::Instant,
    wheel: RefCell<Wheel<Waker>>,
}

impl TimeDriver {
    pub(crate) fn new() -> TimeDriver {
        TimeDriver {
            origin: std::time::Instant::now(),
            wheel: RefCell::new(Wheel::new()),
        }
    }

    /// The first tick at or after `deadline`.
    fn deadline_tick(&self, deadline: Instant) -> u64 {
        let since = deadline.into_std().saturating_duration_since(self.origin);
        let ms = since.as_millis();
        let round_up = u128::from(since.subsec_nanos() % 1_000_000 != 0);
        u64::try_from(ms + round_up).unwrap_or(u64::MAX)
    }

    fn tick_at(&self, now: std::time::Instant) -> u64 {
        let ms = now.saturating_duration_since(self.origin).as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// Registers a timer for `deadline`; `None` if the deadline is not after the wheel's time.
    ///
    /// This compares with the wheel's last processed tick rather than reading the clock (a clock
    /// read per timer was the largest cost of registering one): a deadline that passed since the
    /// runtime last looked at the clock is registered and fires at the next tick.
    pub(crate) fn register(&self, deadline: Instant, waker: &Waker) -> Option<TimerKey> {
        let tick = self.deadline_tick(deadline);
        let mut wheel = self.wheel.borrow_mut();
        if tick <= wheel.elapsed() {
            return None;
        }
        Some(wheel.insert(tick, waker.clone()))
    }

    /// Whether the timer fired; if not, makes `waker` the one it will wake.
    pub(crate) fn poll_fired(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut wheel = self.wheel.borrow_mut();
        if wheel.is_fired(key) {
            return true;
        }
        if let Some(slot) = wheel.value_mut(key) {
            match slot {
                Some(w) if w.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
        false
    }

    /// Moves a timer to a new deadline (no allocation).
    pub(crate) fn reset(&self, key: TimerKey, deadline: Instant) {
        let tick = self.deadline_tick(deadline);
        self.wheel.borrow_mut().reset(key, tick);
    }

    /// Cancels a timer.
    pub(crate) fn cancel(&self, key: TimerKey) {
        // `try_borrow_mut`: a timer dropped while the wheel is borrowed (a waker's destructor run
        // from inside `advance`) is harmlessly left to fire into a stale key.
        if let Ok(mut wheel) = self.wheel.try_borrow_mut() {
            wheel.remove(key);
        }
    }

    /// Fires every timer due at `now`, pushing their wakers to `fired`.
    pub(crate) fn fire_due(&self, fired: &mut Vec<Waker>, now: std::time::Instant) {
        let mut wheel = self.wheel.borrow_mut();
        let Some(next) = wheel.next_expiration() else {
            return;
        };
        let now = self.tick_at(now);
        if next <= now {
            wheel.advance(now, fired);
        }
    }

    /// How long the reactor may block after `now` before the next timer needs attention
    /// (`None`: no timers).
    pub(crate) fn next_timeout(&self, now: std::time::Instant) -> Option<Duration> {
        let next = self.wheel.borrow().next_expiration()?;
        let at = self.origin + Duration::from_millis(next);
        Some(at.saturating_duration_since(now))
    }
}
