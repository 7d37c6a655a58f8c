//! [`Waiters`]: lets several tasks wait on one socket direction although the stack keeps one
//! waker per direction, in one small allocation per socket for both directions.
//!
//! The stack stores a single waker per socket and direction (read, write, accept) and replaces it
//! on each pending poll. tokio lets many tasks wait on one socket at once (say, 50 tasks in
//! `accept` on one listener, or one task in `readable()` while another reads), so the net API
//! gives the stack a waker of its own for each direction and keeps the tasks' wakers in a list
//! behind it. When the stack wakes it, every waiting task of that direction is woken; those that
//! find nothing to do wait again. No task can miss a wake, at the price of a spurious poll for
//! the others.
//!
//! **Memory.** A socket's two lists share one `Arc` (80 bytes with the allocator's header). The
//! stack's two wakers point at that same `Arc` and tell the directions apart by their vtable
//! (two hand-written [`RawWakerVTable`]s), so no `Arc` per direction and no stored `Waker` is
//! needed: [`Waiters::waker`] lends one built on the spot, and the stack's clone takes a
//! reference count. Each list holds its first waiter inline, so the common case (one task per
//! direction) allocates nothing more; a second waiter allocates the overflow list once, and it
//! is kept for the socket's life.
//!
//! Waking and registering allocate nothing once the lists have grown to the number of waiters.
//! A list is bounded: past [`MAX_WAITERS`] distinct waiters, the ones waiting are woken (and
//! re-register if they still wait), so wakers of tasks that gave up waiting cannot pile up.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// Waiters kept in one direction before the list wakes them all to shed the stale ones.
const MAX_WAITERS: usize = 256;

/// Which wait list an operation uses (a listener's accepts use `Read`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Read = 0,
    Write = 1,
}

/// The tasks waiting on one socket, per direction; see the module docs.
pub(crate) struct Waiters {
    lists: Arc<Lists>,
}

/// What the stack's wakers point at: both directions' lists.
#[derive(Default)]
struct Lists {
    // A mutex only because a `Waker` must be `Sync`: the stack wakes on its own thread, never
    // concurrently with a registration, so it is never contended. One for both directions:
    // nothing is gained by two.
    dirs: Mutex<[List; 2]>,
}

/// One direction's waiting tasks, in registration order: `first`, then `more`. `more` holds
/// wakers only while `first` does.
#[derive(Default)]
struct List {
    first: Option<Waker>,
    /// Allocated when a second task waits, then kept (with its capacity).
    #[expect(
        clippy::box_collection,
        reason = "boxed, the rarely used overflow costs the socket 8 bytes instead of 24"
    )]
    more: Option<Box<Vec<Waker>>>,
}

impl List {
    fn contains(&self, waker: &Waker) -> bool {
        self.first.as_ref().is_some_and(|w| w.will_wake(waker))
            || self
                .more
                .as_ref()
                .is_some_and(|m| m.iter().any(|w| w.will_wake(waker)))
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.as_ref().map_or(0, |m| m.len())
    }

    fn push(&mut self, waker: Waker) {
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.more.get_or_insert_default().push(waker);
        }
    }

    /// Empties the list: returns its first waker and the overflow list's wakers (with their
    /// allocation, which the caller may give back; the list keeps an empty one).
    fn take(&mut self) -> (Option<Waker>, Vec<Waker>) {
        let more = match self.more.as_mut() {
            Some(m) if !m.is_empty() => std::mem::take(&mut **m),
            _ => Vec::new(),
        };
        (self.first.take(), more)
    }
}

impl Lists {
    fn lock(&self) -> MutexGuard<'_, [List; 2]> {
        self.dirs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes every task waiting in `dir` and empties its list, keeping the overflow capacity.
    fn wake(&self, dir: Dir) {
        let (first, mut more) = self.lock()[dir as usize].take();
        // Wake outside the lock: a waker may run arbitrary code (even register again).
        if let Some(w) = first {
            w.wake();
        }
        if more.is_empty() {
            return;
        }
        for w in more.drain(..) {
            w.wake();
        }
        let mut lists = self.lock();
        if let Some(m) = lists[dir as usize].more.as_mut()
            && m.is_empty()
        {
            // Give the (now empty) allocation back, so the next waits do not allocate.
            **m = more;
        }
    }
}

impl Waiters {
    /// Empty lists for a new socket.
    pub(crate) fn new() -> Waiters {
        Waiters {
            lists: Arc::new(Lists::default()),
        }
    }

    /// The waker to give the stack for `dir`: waking it (or a clone) wakes every task waiting
    /// in `dir`. It borrows `self`; a clone holds its own reference.
    pub(crate) fn waker(&self, dir: Dir) -> WakerRef<'_> {
        let data = Arc::as_ptr(&self.lists).cast::<()>();
        // SAFETY: `data` is a live `Arc<Lists>`'s pointer, which is what the vtables expect.
        // The waker does not own a reference: it is never dropped (`ManuallyDrop`) nor woken by
        // value (`WakerRef` lends only `&Waker`), and it cannot outlive `self`, whose `Arc`
        // keeps the pointer valid. Clones take a reference of their own.
        let waker = unsafe { Waker::from_raw(RawWaker::new(data, &VTABLES[dir as usize])) };
        WakerRef {
            waker: ManuallyDrop::new(waker),
            _waiters: PhantomData,
        }
    }

    /// Adds `waker` to `dir`'s list unless a waker of the same task is already there.
    pub(crate) fn register(&self, dir: Dir, waker: &Waker) {
        let shed = {
            let mut lists = self.lists.lock();
            let list = &mut lists[dir as usize];
            if list.contains(waker) {
                return;
            }
            if list.len() >= MAX_WAITERS {
                Some(list.take())
            } else {
                list.push(waker.clone());
                None
            }
        };
        if let Some((first, more)) = shed {
            for w in first.into_iter().chain(more) {
                w.wake();
            }
            self.lists.lock()[dir as usize].push(waker.clone());
        }
    }
}

/// A waker lent by [`Waiters::waker`]; see there.
pub(crate) struct WakerRef<'a> {
    waker: ManuallyDrop<Waker>,
    _waiters: PhantomData<&'a Waiters>,
}

impl Deref for WakerRef<'_> {
    type Target = Waker;

    fn deref(&self) -> &Waker {
        &self.waker
    }
}

/// The stack's wakers' vtables, one per direction (indexed by `Dir`). A `static`, so each
/// has one address and `Waker::will_wake` recognises a waker of the same socket and direction.
static VTABLES: [RawWakerVTable; 2] = [vtable::<0>(), vtable::<1>()];

const fn vtable<const DIR: usize>() -> RawWakerVTable {
    RawWakerVTable::new(clone::<DIR>, wake::<DIR>, wake_by_ref::<DIR>, drop_waker)
}

const fn dir_of(dir: usize) -> Dir {
    if dir == 0 { Dir::Read } else { Dir::Write }
}

// The four functions below get the `data` of a `RawWaker` built by `Waiters::waker` or by
// `clone`: a pointer from `Arc::as_ptr` of an `Arc<Lists>`. A waker made by `clone` owns one
// strong reference (taken there), which `wake` or `drop` gives back; `wake_by_ref` and a
// `WakerRef` own none.

/// SAFETY: `data` is as described above, and its `Arc` is alive (the caller holds a waker).
unsafe fn clone<const DIR: usize>(data: *const ()) -> RawWaker {
    // SAFETY: the `Arc` is alive (see above); the new waker owns the reference taken here.
    unsafe { Arc::increment_strong_count(data.cast::<Lists>()) };
    RawWaker::new(data, &VTABLES[DIR])
}

/// SAFETY: `data` is as described above and owns one strong reference.
unsafe fn wake<const DIR: usize>(data: *const ()) {
    // SAFETY: takes back the reference the waker owned; dropped after waking.
    let lists = unsafe { Arc::from_raw(data.cast::<Lists>()) };
    lists.wake(dir_of(DIR));
}

/// SAFETY: `data` is as described above, and its `Arc` is alive (the caller holds a waker).
unsafe fn wake_by_ref<const DIR: usize>(data: *const ()) {
    // SAFETY: the `Arc` is alive for the duration of the call.
    let lists = unsafe { &*data.cast::<Lists>() };
    lists.wake(dir_of(DIR));
}

/// SAFETY: `data` is as described above and owns one strong reference.
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: gives back the reference the waker owned.
    drop(unsafe { Arc::from_raw(data.cast::<Lists>()) });
}

// The stack's wakers may be sent and shared across threads: what they point at must allow it.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Lists>();
};

#[cfg(test)]
mod tests;
