//! The thread-local "current runtime": which [`Core`] the running thread has entered, so free
//! functions such as [`crate::spawn`] and [`crate::time::sleep`] find their runtime, and so a waker
//! woken on its own runtime's thread can schedule its task without locking.

use std::cell::Cell;
use std::ptr;
use std::rc::Rc;

use crate::sched::Core;

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

/// Restores the previously entered runtime (or none) when dropped.
pub(crate) struct EnterGuard {
    previous: *const Core,
    // The guard only makes sense on the thread that created it.
    _not_send: std::marker::PhantomData<Rc<()>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// Makes `core` the current runtime of this thread until the guard is dropped.
///
/// The caller keeps an `Rc<Core>` alive for at least as long as the guard.
pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard {
    let previous = CURRENT.with(|c| c.replace(Rc::as_ptr(core)));
    EnterGuard {
        previous,
        _not_send: std::marker::PhantomData,
    }
}

/// Runs `f` with the current runtime, if this thread has entered one.
#[inline]
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let ptr = CURRENT.with(|c| c.get());
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was set by `enter` from a live `Rc<Core>` whose owner holds it (and the guard)
    // for the whole time the pointer is installed; it is reset when the guard drops.
    Some(f(unsafe { &*ptr }))
}

/// A new strong reference to the current runtime, if this thread has entered one.
pub(crate) fn current() -> Option<Rc<Core>> {
    let ptr = CURRENT.with(|c| c.get());
    if ptr.is_null() {
        return None;
    }
    // SAFETY: as in `with_core`, the pointer came from `Rc::as_ptr` of an `Rc<Core>` that is alive
    // while it is installed; bumping the strong count first makes `from_raw` hand out a new owner.
    unsafe {
        Rc::increment_strong_count(ptr);
        Some(Rc::from_raw(ptr))
    }
}

/// The message used when a function that needs a runtime is called outside of one.
pub(crate) const NO_RUNTIME: &str = "there is no sockeye runtime on this thread: this must be called from the context of a \
     sockeye runtime (inside `block_on`, `#[sockeye::main]` or `#[sockeye::test]`)";

/// The current runtime, or a panic with a clear message (the behaviour tokio users expect).
pub(crate) fn expect_current() -> Rc<Core> {
    current().unwrap_or_else(|| panic!("{NO_RUNTIME}"))
}
