//! Task wakers that never allocate, and the cross-thread wake path.
//!
//! Every task slot owns one [`Header`] for its whole life (it is reused when the slot is reused),
//! and a task's `Waker` is an `Arc` clone of that header: waking or cloning a waker never allocates.
//! The `queued` flag makes a task woken many times before it runs sit in the run queue once.
//!
//! A wake on the runtime's own thread pushes the slot index straight onto the local run queue. A
//! wake from any other thread (or from this thread while the runtime is not running) goes into the
//! [`Shared`] remote queue under a mutex, and the first such wake after the runtime last looked
//! writes the eventfd, which interrupts `epoll_wait`.
//!
//! A stale waker (its task finished and the slot was reused) can wake the slot's new task. That is
//! only a spurious poll, which every future must tolerate.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;

use crate::context;

/// Slot index that stands for the future passed to `block_on`.
pub(crate) const MAIN: u32 = u32::MAX;

/// State shared with other threads: the remote run queue and the eventfd that interrupts the
/// runtime's `epoll_wait`.
pub(crate) struct Shared {
    remote: Mutex<Vec<u32>>,
    /// True from the first remote wake until the runtime drains the remote queue.
    notified: AtomicBool,
    eventfd: OwnedFd,
}

impl Shared {
    pub(crate) fn new() -> io::Result<Shared> {
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Shared {
            remote: Mutex::new(Vec::new()),
            notified: AtomicBool::new(false),
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            eventfd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The eventfd the reactor registers to learn about remote wakes.
    pub(crate) fn eventfd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    /// Queues `index` from a thread that is not running this runtime.
    fn schedule_remote(&self, index: u32) {
        self.remote
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(index);
        if !self.notified.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd. A full counter (EAGAIN)
            // still leaves the fd readable, which is all we need.
            unsafe { libc::write(self.eventfd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Whether wakes from other threads are waiting to be collected.
    pub(crate) fn has_remote(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// Moves remotely woken indices into `out`, and resets the eventfd.
    pub(crate) fn drain_remote(&self, out: &mut impl Extend<u32>) {
        if !self.notified.load(Ordering::Acquire) {
            return;
        }
        let mut counter: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own non-blocking eventfd.
        unsafe {
            libc::read(
                self.eventfd.as_raw_fd(),
                (&mut counter as *mut u64).cast(),
                8,
            )
        };
        // Clear the flag before draining: a wake that lands after the drain sets it again and
        // writes the eventfd again, so it cannot be lost.
        self.notified.store(false, Ordering::Release);
        let mut remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        out.extend(remote.drain(..));
    }
}

/// The per-slot wake target; `Arc<Header>` is the waker's data.
pub(crate) struct Header {
    pub(crate) index: u32,
    pub(crate) queued: AtomicBool,
    pub(crate) shared: Arc<Shared>,
}

impl Header {
    pub(crate) fn new(index: u32, shared: Arc<Shared>) -> Header {
        Header {
            index,
            queued: AtomicBool::new(false),
            shared,
        }
    }

    /// Marks the task runnable; pushes it to a run queue unless it is already queued.
    #[inline]
    pub(crate) fn schedule(&self) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = &self.shared;
        let local = context::with_core(|core| {
            if Arc::ptr_eq(&core.shared, shared) {
                core.push_ready(self.index);
                true
            } else {
                false
            }
        });
        if local != Some(true) {
            shared.schedule_remote(self.index);
        }
    }
}

impl Wake for Header {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}
