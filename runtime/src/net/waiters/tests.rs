//! Unit tests of [`Waiters`]: who is woken, the bound, and the reference counting of the
//! hand-written wakers (run them under Miri too: `cargo +nightly miri test -p sockeye-runtime
//! waiters`).

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;

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

fn woken(c: &Count) -> usize {
    c.0.load(Ordering::SeqCst)
}

/// References to the lists besides the `Waiters`' own.
fn extra_refs(waiters: &Waiters) -> usize {
    Arc::strong_count(&waiters.lists) - 1
}

#[test]
fn wakes_every_distinct_waiter_once() {
    let waiters = Waiters::new();
    let (a, wa) = counter();
    let (b, wb) = counter();
    let (c, wc) = counter();
    waiters.register(Dir::Read, &wa);
    waiters.register(Dir::Read, &wb);
    waiters.register(Dir::Read, &wa.clone());
    waiters.register(Dir::Read, &wc);
    waiters.register(Dir::Read, &wb.clone());
    waiters.waker(Dir::Read).wake_by_ref();
    assert_eq!((woken(&a), woken(&b), woken(&c)), (1, 1, 1));
    // The list is empty now: a second wake reaches nobody.
    waiters.waker(Dir::Read).wake_by_ref();
    assert_eq!((woken(&a), woken(&b), woken(&c)), (1, 1, 1));
    waiters.register(Dir::Read, &wb);
    // Woken by value, as the stack does with the clone it keeps.
    let kept = waiters.waker(Dir::Read).clone();
    kept.wake();
    assert_eq!((woken(&a), woken(&b), woken(&c)), (1, 2, 1));
}

#[test]
fn directions_are_woken_apart() {
    let waiters = Waiters::new();
    let (r, wr) = counter();
    let (w, ww) = counter();
    waiters.register(Dir::Read, &wr);
    waiters.register(Dir::Write, &ww);
    waiters.waker(Dir::Write).wake_by_ref();
    assert_eq!((woken(&r), woken(&w)), (0, 1));
    let kept = waiters.waker(Dir::Read).clone();
    kept.wake();
    assert_eq!((woken(&r), woken(&w)), (1, 1));
    // The same task in both directions is woken by each.
    waiters.register(Dir::Read, &wr);
    waiters.register(Dir::Write, &wr);
    waiters.waker(Dir::Read).wake_by_ref();
    waiters.waker(Dir::Write).wake_by_ref();
    assert_eq!(woken(&r), 3);
}

#[test]
fn one_waiter_needs_no_overflow_list_and_more_keep_it() {
    let waiters = Waiters::new();
    let (_, wa) = counter();
    let (_, wb) = counter();
    waiters.register(Dir::Write, &wa);
    assert!(waiters.lists.lock()[Dir::Write as usize].more.is_none());
    waiters.register(Dir::Write, &wb);
    let capacity = |w: &Waiters| {
        w.lists.lock()[Dir::Write as usize]
            .more
            .as_ref()
            .map_or(0, |m| m.capacity())
    };
    let grown = capacity(&waiters);
    assert!(grown >= 1);
    waiters.waker(Dir::Write).wake_by_ref();
    assert_eq!(waiters.lists.lock()[Dir::Write as usize].len(), 0);
    assert_eq!(capacity(&waiters), grown, "the overflow allocation is kept");
}

#[test]
fn too_many_waiters_are_shed_by_waking_them() {
    let waiters = Waiters::new();
    let all: Vec<_> = (0..=MAX_WAITERS).map(|_| counter()).collect();
    for (_, w) in &all {
        waiters.register(Dir::Read, w);
    }
    let shed = all.iter().filter(|(c, _)| woken(c) == 1).count();
    assert_eq!(shed, MAX_WAITERS, "the first ones were shed");
    assert!(woken(&all[MAX_WAITERS].0) == 0);
    assert_eq!(waiters.lists.lock()[Dir::Read as usize].len(), 1);
    // The last one is still there.
    waiters.waker(Dir::Read).wake_by_ref();
    assert_eq!(woken(&all[MAX_WAITERS].0), 1);
}

#[test]
fn lent_wakers_take_no_reference_and_clones_one_each() {
    let waiters = Waiters::new();
    {
        let lent = waiters.waker(Dir::Read);
        assert_eq!(extra_refs(&waiters), 0);
        let a = lent.clone();
        let b = a.clone();
        let c = waiters.waker(Dir::Write).clone();
        assert_eq!(extra_refs(&waiters), 3);
        drop(a);
        assert_eq!(extra_refs(&waiters), 2);
        b.wake_by_ref();
        assert_eq!(extra_refs(&waiters), 2);
        b.wake();
        c.wake();
        assert_eq!(extra_refs(&waiters), 0);
        let mut slot = lent.clone();
        slot.clone_from(&waiters.waker(Dir::Read));
        assert_eq!(extra_refs(&waiters), 1);
    }
    assert_eq!(extra_refs(&waiters), 0);
}

#[test]
fn will_wake_tells_sockets_and_directions_apart() {
    let one = Waiters::new();
    let other = Waiters::new();
    let stored = one.waker(Dir::Read).clone();
    assert!(stored.will_wake(&one.waker(Dir::Read)));
    assert!(!stored.will_wake(&one.waker(Dir::Write)));
    assert!(!stored.will_wake(&other.waker(Dir::Read)));
}

#[test]
fn a_clone_outlives_the_waiters() {
    let (a, wa) = counter();
    let kept = {
        let waiters = Waiters::new();
        waiters.register(Dir::Write, &wa);
        waiters.waker(Dir::Write).clone()
    };
    // The socket is gone; the stack still holds its waker: waking reaches the waiting task,
    // and dropping the last reference frees the lists (and the wakers they hold).
    kept.wake_by_ref();
    assert_eq!(woken(&a), 1);
    let again = kept.clone();
    drop(kept);
    again.wake();
    assert_eq!(woken(&a), 1);
    assert_eq!(Arc::strong_count(&a), 2, "only `a` and `wa` are left");
}

#[test]
fn wakers_cross_threads() {
    let waiters = Waiters::new();
    let (a, wa) = counter();
    waiters.register(Dir::Read, &wa);
    let clone = waiters.waker(Dir::Read).clone();
    let by_ref = waiters.waker(Dir::Read).clone();
    std::thread::spawn(move || {
        by_ref.wake_by_ref();
        clone.wake();
    })
    .join()
    .unwrap();
    assert_eq!(woken(&a), 1);
    assert_eq!(extra_refs(&waiters), 0, "the thread dropped both clones");
}

/// A task whose waker registers it again while it is being woken (as a task polled at once
/// would): no deadlock, and it waits again.
#[test]
fn a_waker_may_register_again_while_woken() {
    struct Again {
        waiters: Arc<Waiters>,
        me: Mutex<Option<Waker>>,
        count: AtomicUsize,
    }
    impl Wake for Again {
        fn wake(self: Arc<Self>) {
            self.count.fetch_add(1, Ordering::SeqCst);
            let me = self.me.lock().unwrap().clone();
            if let Some(me) = me {
                self.waiters.register(Dir::Read, &me);
            }
        }
    }
    let waiters = Arc::new(Waiters::new());
    let again = Arc::new(Again {
        waiters: waiters.clone(),
        me: Mutex::new(None),
        count: AtomicUsize::new(0),
    });
    let me = Waker::from(again.clone());
    *again.me.lock().unwrap() = Some(me.clone());
    let (other, wo) = counter();
    waiters.register(Dir::Read, &me);
    waiters.register(Dir::Read, &wo);
    waiters.waker(Dir::Read).wake_by_ref();
    assert_eq!(again.count.load(Ordering::SeqCst), 1);
    assert_eq!(woken(&other), 1);
    assert_eq!(waiters.lists.lock()[Dir::Read as usize].len(), 1);
    waiters.waker(Dir::Read).wake_by_ref();
    assert_eq!(again.count.load(Ordering::SeqCst), 2);
    // Break the cycle (the task's waker is in the list it registers in).
    *again.me.lock().unwrap() = None;
    waiters.waker(Dir::Read).wake_by_ref();
}

#[test]
#[cfg(target_pointer_width = "64")]
fn sizes() {
    // What each socket pays for its waiters: one `Arc` of this (plus its two counts).
    assert_eq!(size_of::<Lists>(), 56);
    assert_eq!(size_of::<Waiters>(), size_of::<usize>());
}
