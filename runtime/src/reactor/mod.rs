//! The reactor: one epoll instance per runtime that waits for registered file descriptors (TAP and
//! AF_PACKET devices, pipes, anything pollable), for the runtime's eventfd (wakes from other
//! threads) and, through its timeout, for the earliest timer.
//!
//! Registrations are edge-triggered. Each keeps a readiness bit per direction that an event sets
//! and the owner clears once an operation reports `WouldBlock` (the model of tokio's `AsyncFd`),
//! plus one waker per direction. Epoll events carry the registration's slab index and generation,
//! so an event for a registration that has since been dropped is ignored.

mod registration;

pub use registration::{Interest, Registration};

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::task::Waker;
use std::time::Duration;

/// Token of the runtime's eventfd in epoll.
const WAKE_TOKEN: u64 = u64::MAX;
/// Events fetched per `epoll_wait`.
const EVENTS: usize = 256;

pub(crate) const READABLE: u8 = 0b01;
pub(crate) const WRITABLE: u8 = 0b10;

/// Per-registration state.
#[derive(Default)]
pub(crate) struct IoSlot {
    generation: u32,
    live: bool,
    ready: u8,
    /// Set by `epoll_wait` for hang-up or error: every direction stays ready.
    closed: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

/// The epoll instance and its registrations.
pub(crate) struct Reactor {
    epoll: OwnedFd,
    events: RefCell<Vec<libc::epoll_event>>,
    slots: RefCell<Vec<IoSlot>>,
    free: RefCell<Vec<u32>>,
    live: Cell<usize>,
}

impl Reactor {
    /// A reactor whose epoll also watches `wake_fd` (the runtime's eventfd).
    pub(crate) fn new(wake_fd: RawFd) -> io::Result<Reactor> {
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor owned by nothing else.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        let reactor = Reactor {
            epoll,
            events: RefCell::new(vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS]),
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            live: Cell::new(0),
        };
        reactor.ctl(
            libc::EPOLL_CTL_ADD,
            wake_fd,
            libc::EPOLLIN as u32,
            WAKE_TOKEN,
        )?;
        Ok(reactor)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        let rc = unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Whether any file descriptor besides the eventfd is registered.
    pub(crate) fn has_registrations(&self) -> bool {
        self.live.get() > 0
    }

    /// Adds `fd` for the given interest; returns the slot index and generation.
    pub(crate) fn register(&self, fd: RawFd, interest: Interest) -> io::Result<(u32, u32)> {
        let mut slots = self.slots.borrow_mut();
        let index = match self.free.borrow_mut().pop() {
            Some(i) => i,
            None => {
                slots.push(IoSlot::default());
                u32::try_from(slots.len() - 1).map_err(|_| io::Error::other("too many fds"))?
            }
        };
        let slot = &mut slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.live = true;
        slot.ready = 0;
        slot.closed = false;
        let token = (u64::from(slot.generation) << 32) | u64::from(index);
        let mut events = libc::EPOLLET as u32;
        if interest.is_readable() {
            events |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        }
        if interest.is_writable() {
            events |= libc::EPOLLOUT as u32;
        }
        if let Err(e) = self.ctl(libc::EPOLL_CTL_ADD, fd, events, token) {
            slot.live = false;
            self.free.borrow_mut().push(index);
            return Err(e);
        }
        self.live.set(self.live.get() + 1);
        Ok((index, slot.generation))
    }

    /// Removes a registration.
    pub(crate) fn deregister(&self, fd: RawFd, index: u32) {
        // The fd may already be closed by its owner; a failure here is harmless.
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0);
        let mut slots = self.slots.borrow_mut();
        let slot = &mut slots[index as usize];
        if slot.live {
            slot.live = false;
            slot.read_waker = None;
            slot.write_waker = None;
            self.free.borrow_mut().push(index);
            self.live.set(self.live.get() - 1);
        }
    }

    /// Checks readiness in `direction`; registers `waker` if not ready.
    pub(crate) fn poll_ready(&self, index: u32, direction: u8, waker: &Waker) -> bool {
        let mut slots = self.slots.borrow_mut();
        let slot = &mut slots[index as usize];
        if slot.ready & direction != 0 || slot.closed {
            return true;
        }
        let stored = if direction == READABLE {
            &mut slot.read_waker
        } else {
            &mut slot.write_waker
        };
        match stored {
            Some(w) if w.will_wake(waker) => {}
            _ => *stored = Some(waker.clone()),
        }
        false
    }

    /// Whether `direction` is ready (or the fd hung up), without storing a waker.
    pub(crate) fn is_ready(&self, index: u32, direction: u8) -> bool {
        let slots = self.slots.borrow();
        let slot = &slots[index as usize];
        slot.ready & direction != 0 || slot.closed
    }

    /// Forgets readiness in `direction` (after an operation returned `WouldBlock`).
    pub(crate) fn clear_ready(&self, index: u32, direction: u8) {
        self.slots.borrow_mut()[index as usize].ready &= !direction;
    }

    /// Waits up to `timeout` (`None`: forever) for events and wakes their tasks. Returns true if
    /// the eventfd fired (another thread woke a task).
    pub(crate) fn turn(&self, timeout: Option<Duration>) -> bool {
        let timeout_ms: libc::c_int = match timeout {
            None => -1,
            Some(d) => {
                // Round up so that a wait never ends before a timer is due.
                let ms = d.as_nanos().div_ceil(1_000_000);
                libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
            }
        };
        let mut events = self.events.borrow_mut();
        // SAFETY: `events` has room for `events.len()` entries, which is what we pass.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as libc::c_int,
                timeout_ms,
            )
        };
        if n <= 0 {
            // 0: timeout. -1: EINTR (a signal); anything else cannot happen with valid arguments.
            return false;
        }
        let mut woke_remote = false;
        let mut slots = self.slots.borrow_mut();
        let mut wakers: [Option<Waker>; 2] = [None, None];
        for ev in &events[..n as usize] {
            let (bits, token) = (ev.events, ev.u64);
            if token == WAKE_TOKEN {
                woke_remote = true;
                continue;
            }
            let index = (token & 0xffff_ffff) as usize;
            let generation = (token >> 32) as u32;
            let Some(slot) = slots.get_mut(index) else {
                continue;
            };
            if !slot.live || slot.generation != generation {
                continue;
            }
            if bits & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
                slot.closed = true;
            }
            if bits & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32
                != 0
            {
                slot.ready |= READABLE;
                wakers[0] = slot.read_waker.take();
            }
            if bits & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
                slot.ready |= WRITABLE;
                wakers[1] = slot.write_waker.take();
            }
            for w in wakers.iter_mut() {
                if let Some(w) = w.take() {
                    w.wake();
                }
            }
        }
        woke_remote
    }
}
