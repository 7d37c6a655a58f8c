//! [`Sleep`], [`sleep`] and [`sleep_until`]: futures that complete at a deadline.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::Instant;
use super::driver::TimeDriver;
use crate::context;
use sockeye_netstack::timer::TimerKey;

/// Waits until `duration` has elapsed.
///
/// The `Sleep` attaches to the runtime of the thread it is created on, or, if it is created
/// outside one (say, as the argument of `block_on`), to the runtime that first polls it.
///
/// # Panics
/// When polled outside a sockeye runtime.
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(Instant::far_future);
    sleep_until(deadline)
}

/// Waits until `deadline`; a deadline in the past completes at the first poll.
///
/// # Panics
/// When polled outside a sockeye runtime.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        driver: context::with_core(|core| core.time.clone()),
        deadline,
        key: None,
        done: false,
    }
}

/// A future that completes at its deadline; returned by [`sleep`] and [`sleep_until`].
///
/// It takes a timer from the runtime's wheel when first polled and gives it back when dropped;
/// [`Sleep::reset`] moves the timer without allocating.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    /// The runtime's timers; looked up at the first poll if the sleep was created outside one.
    driver: Option<Rc<TimeDriver>>,
    deadline: Instant,
    key: Option<TimerKey>,
    done: bool,
}

impl Sleep {
    /// The instant at which this future completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached (as last observed when polled).
    pub fn is_elapsed(&self) -> bool {
        self.done
    }

    /// Changes the deadline; the future becomes pending again if the new deadline is ahead.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.done = false;
        if let (Some(key), Some(driver)) = (this.key, &this.driver) {
            driver.reset(key, deadline);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let driver = this
            .driver
            .get_or_insert_with(|| context::expect_current().time.clone());
        let fired = match this.key {
            Some(key) => driver.poll_fired(key, cx.waker()),
            None => match driver.register(this.deadline, cx.waker()) {
                Some(key) => {
                    this.key = Some(key);
                    false
                }
                None => true,
            },
        };
        if fired {
            this.done = true;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some(key), Some(driver)) = (self.key.take(), &self.driver) {
            driver.cancel(key);
        }
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.done)
            .finish()
    }
}
