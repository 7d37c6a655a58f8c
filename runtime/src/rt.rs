//! hyper's runtime hooks, implemented by sockeye (feature `hyper`, on by default):
//! [`SockeyeExecutor`] (`hyper::rt::Executor`, for HTTP/2 connections' background tasks) and
//! [`SockeyeTimer`] (`hyper::rt::Timer`, for timeouts such as `header_read_timeout`). With them
//! and `TcpStream`'s `hyper::rt::Read`/`Write`, hyper 1.x clients and servers, HTTP/1 and
//! HTTP/2, run on sockeye with no adapter crate.
//!
//! hyper wants its sleeps `Send + Sync`, which the runtime's own [`Sleep`](crate::time::Sleep)
//! is not (it holds the thread's timer wheel). [`SockeyeSleep`] holds only a deadline and a key
//! into the wheel of the runtime that registered it, found through the thread's current
//! runtime when polled; moved to another runtime it registers there instead.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant as StdInstant};

use sockeye_netstack::timer::TimerKey;

use crate::context;
use crate::time::Instant;

/// Runs hyper's background futures as tasks of the current runtime (no `Send` needed).
#[derive(Debug, Clone, Copy, Default)]
pub struct SockeyeExecutor;

impl SockeyeExecutor {
    /// The executor (it has no state: tasks go to the runtime of the thread that spawns them).
    pub fn new() -> SockeyeExecutor {
        SockeyeExecutor
    }
}

impl<F> hyper::rt::Executor<F> for SockeyeExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    /// # Panics
    /// Outside a sockeye runtime.
    fn execute(&self, future: F) {
        drop(crate::spawn(future));
    }
}

/// hyper's timer on the current runtime's timing wheel.
#[derive(Debug, Clone, Copy, Default)]
pub struct SockeyeTimer;

impl SockeyeTimer {
    /// The timer (it has no state: sleeps use the runtime of the thread that polls them).
    pub fn new() -> SockeyeTimer {
        SockeyeTimer
    }
}

impl hyper::rt::Timer for SockeyeTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = StdInstant::now()
            .checked_add(duration)
            .unwrap_or_else(|| StdInstant::now() + Duration::from_secs(86_400 * 365 * 30));
        Box::pin(SockeyeSleep::until(deadline))
    }

    fn sleep_until(&self, deadline: StdInstant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SockeyeSleep::until(deadline))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: StdInstant) {
        match sleep.as_mut().downcast_mut_pin::<SockeyeSleep>() {
            Some(ours) => ours.get_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A `Send + Sync` sleep for hyper; see the [module docs](self).
#[derive(Debug)]
pub struct SockeyeSleep {
    deadline: StdInstant,
    /// The runtime whose wheel holds the timer, and its key there.
    timer: Option<(u64, TimerKey)>,
    done: bool,
}

impl SockeyeSleep {
    /// A sleep until `deadline`.
    pub fn until(deadline: StdInstant) -> SockeyeSleep {
        SockeyeSleep {
            deadline,
            timer: None,
            done: false,
        }
    }

    /// Moves the deadline (pending again if it is ahead).
    pub fn reset(&mut self, deadline: StdInstant) {
        self.deadline = deadline;
        self.done = false;
        let timer = self.timer;
        let moved = context::with_core(|core| match timer {
            Some((id, key)) if id == core.id => {
                core.time.reset(key, Instant::from_std(deadline));
                true
            }
            _ => false,
        });
        if moved != Some(true) {
            self.cancel();
        }
    }

    fn cancel(&mut self) {
        if let Some((id, key)) = self.timer.take() {
            // Only the wheel that holds the key can cancel it; elsewhere the timer is left to
            // fire into a key nobody polls (harmless).
            context::with_core(|core| {
                if core.id == id {
                    core.time.cancel(key);
                }
            });
        }
    }
}

impl hyper::rt::Sleep for SockeyeSleep {}

impl Future for SockeyeSleep {
    type Output = ();

    /// # Panics
    /// When polled outside a sockeye runtime.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let timer = this.timer;
        let (fired, new_timer) = context::with_core(|core| match timer {
            Some((id, key)) if id == core.id => (core.time.poll_fired(key, cx.waker()), None),
            _ => match core
                .time
                .register(Instant::from_std(this.deadline), cx.waker())
            {
                Some(key) => (false, Some((core.id, key))),
                None => (true, None),
            },
        })
        .unwrap_or_else(|| panic!("{}", context::NO_RUNTIME));
        if let Some(t) = new_timer {
            this.cancel();
            this.timer = Some(t);
        }
        if fired {
            this.done = true;
            this.timer = None;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for SockeyeSleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
