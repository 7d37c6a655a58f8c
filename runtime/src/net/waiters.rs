//! [`Waiters`]: lets several tasks wait on one socket direction although the stack keeps one
//! waker per direction.
//!
//! The stack stores a single waker per socket and direction (read, write, accept) and replaces it
//! on each pending poll. tokio lets many tasks wait on one socket at once (say, 50 tasks in
//! `accept` on one listener, or one task in `readable()` while another reads), so the net API
//! gives the stack a waker of its own for each direction, built once per socket, and keeps the
//! tasks' wakers in a list behind it. When the stack wakes it, every waiting task is woken; those
//! that find nothing to do wait again. No task can miss a wake, at the price of a spurious poll
//! for the others.
//!
//! Waking and registering allocate nothing once the list has grown to the number of waiters.
//! The list is bounded: past [`MAX_WAITERS`] distinct waiters, the ones waiting are woken (and
//! re-register if they still wait), so wakers of tasks that gave up waiting cannot pile up.

use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

/// Waiters kept before the list wakes them all to shed the stale ones.
const MAX_WAITERS: usize = 256;

/// The tasks waiting on one socket direction; see the module docs.
#[derive(Default)]
pub(crate) struct Waiters {
    // A mutex only because `Wake` needs `Sync`: the stack wakes on its own thread, never
    // concurrently with a registration, so it is never contended.
    list: Mutex<Vec<Waker>>,
}

impl Waiters {
    /// A list and the waker to give the stack for it.
    pub(crate) fn new() -> (Arc<Waiters>, Waker) {
        let waiters = Arc::new(Waiters::default());
        let waker = Waker::from(waiters.clone());
        (waiters, waker)
    }

    /// Adds `waker` unless a waker of the same task is already there.
    pub(crate) fn register(&self, waker: &Waker) {
        let shed = {
            let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
            if list.iter().any(|w| w.will_wake(waker)) {
                return;
            }
            if list.len() >= MAX_WAITERS {
                Some(std::mem::take(&mut *list))
            } else {
                list.push(waker.clone());
                None
            }
        };
        if let Some(stale) = shed {
            for w in stale {
                w.wake();
            }
            self.list
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(waker.clone());
        }
    }

    /// Wakes every waiting task and empties the list, keeping its capacity.
    fn wake_all(&self) {
        let mut taken = std::mem::take(&mut *self.list.lock().unwrap_or_else(|p| p.into_inner()));
        // Wake outside the lock: a waker may run arbitrary code.
        for w in taken.drain(..) {
            w.wake();
        }
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        if list.is_empty() {
            // Give the (now empty) allocation back, so the next waits do not allocate.
            *list = taken;
        }
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_all();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn wakes_every_distinct_waiter_once() {
        let (waiters, waker) = Waiters::new();
        let (a, wa) = counter();
        let (b, wb) = counter();
        waiters.register(&wa);
        waiters.register(&wb);
        waiters.register(&wa.clone());
        waker.wake_by_ref();
        assert_eq!(a.0.load(Ordering::SeqCst), 1);
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
        // The list is empty now: a second wake reaches nobody.
        waker.wake_by_ref();
        assert_eq!(a.0.load(Ordering::SeqCst), 1);
        waiters.register(&wb);
        waker.wake();
        assert_eq!(b.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn too_many_waiters_are_shed_by_waking_them() {
        let (waiters, _waker) = Waiters::new();
        let all: Vec<_> = (0..=MAX_WAITERS).map(|_| counter()).collect();
        for (_, w) in &all {
            waiters.register(w);
        }
        let woken = all
            .iter()
            .filter(|(c, _)| c.0.load(Ordering::SeqCst) == 1)
            .count();
        assert_eq!(woken, MAX_WAITERS, "the first ones were shed");
        assert_eq!(waiters.list.lock().unwrap().len(), 1);
    }
}
