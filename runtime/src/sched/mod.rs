//! The executor core: the run queue, the task slab, and the loop that alternates between running
//! tasks, firing timers and waiting in the reactor (see the crate docs for one tick).
//!
//! Tasks run in FIFO order. At most `event_interval` tasks run between two looks at timers and I/O,
//! so a task that is always ready (say, one that loops on `yield_now`) cannot starve them. When
//! nothing is ready, the core blocks in `epoll_wait` until the earliest timer, a registered file
//! descriptor, or a wake from another thread: an idle runtime uses no CPU.

mod slab;
pub(crate) mod waker;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::context;
use crate::driver::{NetDriver, NetSetup};
use crate::reactor::Reactor;
use crate::task::{JoinHandle, TaskCell};
use crate::time::driver::TimeDriver;
use slab::TaskSlab;
use waker::{Header, MAIN, Shared};

/// Default number of tasks run between two polls of timers and I/O (tokio uses the same figure).
pub(crate) const DEFAULT_EVENT_INTERVAL: u32 = 61;

/// One thread's executor, timers and reactor.
pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    run_queue: RefCell<VecDeque<u32>>,
    tasks: RefCell<TaskSlab>,
    pub(crate) time: Rc<TimeDriver>,
    pub(crate) reactor: Rc<Reactor>,
    /// The thread's TCP/IP stack and devices.
    pub(crate) net: Rc<NetDriver>,
    /// Unique among the process's runtimes (for values that outlive or move between them, such
    /// as hyper's sleeps).
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    pub(crate) id: u64,
    main_header: Arc<Header>,
    event_interval: u32,
    /// Set while `block_on` runs, to refuse a nested `block_on` on the same runtime.
    running: Cell<bool>,
    /// Timer wakers collected under the wheel's borrow and woken after it.
    fired: RefCell<Vec<Waker>>,
}

impl Core {
    pub(crate) fn new(event_interval: u32, net: NetSetup) -> io::Result<Rc<Core>> {
        let shared = Arc::new(Shared::new()?);
        let reactor = Rc::new(Reactor::new(shared.eventfd())?);
        let net = Rc::new(NetDriver::new(net, &reactor)?);
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(Rc::new(Core {
            net,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            main_header: Arc::new(Header::new(MAIN, shared.clone())),
            shared,
            run_queue: RefCell::new(VecDeque::with_capacity(256)),
            tasks: RefCell::new(TaskSlab::new()),
            time: Rc::new(TimeDriver::new()),
            reactor,
            event_interval: event_interval.max(1),
            running: Cell::new(false),
            fired: RefCell::new(Vec::new()),
        }))
    }

    /// Appends a runnable slot to the local run queue (the caller has set its `queued` flag).
    #[inline]
    pub(crate) fn push_ready(&self, index: u32) {
        self.run_queue.borrow_mut().push_back(index);
    }

    /// Spawns `future` as a new task of this runtime.
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let (index, header) = self.tasks.borrow_mut().reserve(&self.shared);
        let cell = Rc::new(TaskCell::new(future, Waker::from(header.clone())));
        self.tasks.borrow_mut().fill(index, cell.clone());
        // A stale entry may already sit in the queue for this slot; then it will run the new task.
        if !header
            .queued
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            self.push_ready(index);
        }
        JoinHandle::new(cell)
    }

    /// Number of spawned tasks that have not finished yet.
    pub(crate) fn live_tasks(&self) -> usize {
        self.tasks.borrow().live()
    }

    /// Runs `future` to completion on this thread, running spawned tasks meanwhile.
    pub(crate) fn block_on<F: Future>(self: &Rc<Self>, future: F) -> F::Output {
        if context::with_core(|c| c.running.get()).unwrap_or(false) {
            panic!(
                "cannot start a sockeye runtime from within a runtime: `block_on` was called \
                 while a runtime is already running on this thread"
            );
        }
        assert!(!self.running.get(), "this runtime is already running");
        let _enter = context::enter(self);
        self.running.set(true);
        let _running = ResetOnDrop(&self.running);

        let mut future = pin!(future);
        let main_waker = Waker::from(self.main_header.clone());
        let mut cx = Context::from_waker(&main_waker);
        self.main_header
            .queued
            .store(true, std::sync::atomic::Ordering::Release);
        self.push_ready(MAIN);

        loop {
            let mut ran = 0;
            while ran < self.event_interval {
                let next = self.run_queue.borrow_mut().pop_front();
                let Some(index) = next else { break };
                ran += 1;
                if index == MAIN {
                    self.main_header
                        .queued
                        .store(false, std::sync::atomic::Ordering::Release);
                    if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                        return out;
                    }
                } else {
                    self.run_task(index);
                }
            }
            self.park();
        }
    }

    /// Polls the task in slot `index` once, releasing the slot if it finished.
    #[inline]
    fn run_task(&self, index: u32) {
        let task = self.tasks.borrow().take_for_run(index);
        let Some(task) = task else { return };
        if task.run() {
            self.tasks.borrow_mut().release(index);
        }
    }

    /// Collects remote wakes, fires due timers, moves frames between the devices and the stack,
    /// and polls the reactor; blocks in the reactor when no task is ready and the network has
    /// nothing to do now.
    fn park(&self) {
        // One reading of the clock serves the timers and the network for this turn.
        let now = std::time::Instant::now();
        self.shared.drain_remote(&mut *self.run_queue.borrow_mut());
        self.fire_timers(now);
        self.net.poll(now);
        let idle = self.run_queue.borrow().is_empty();
        if !idle {
            // Work is waiting: look at I/O without blocking, and only if anything is registered.
            if self.reactor.has_registrations() {
                self.reactor.turn(Some(Duration::ZERO));
            }
            return;
        }
        let timeout = match (self.time.next_timeout(now), self.net.next_timeout(now)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if timeout == Some(Duration::ZERO) && !self.reactor.has_registrations() {
            // Nothing to wait for and no descriptor to look at (an in-process device has frames
            // waiting): skip the epoll_wait system call. Wakes from other threads arrive through
            // `drain_remote` on the next park all the same.
            return;
        }
        let remote = self.reactor.turn(timeout);
        if remote || self.shared.has_remote() {
            self.shared.drain_remote(&mut *self.run_queue.borrow_mut());
        }
        self.fire_timers(std::time::Instant::now());
    }

    fn fire_timers(&self, now: std::time::Instant) {
        let mut fired = self.fired.borrow_mut();
        self.time.fire_due(&mut fired, now);
        for waker in fired.drain(..) {
            waker.wake();
        }
    }

    /// Drops every task's future (runtime shutdown), with this runtime entered so that the
    /// futures' destructors can reach their timers and registrations.
    pub(crate) fn shutdown(self: &Rc<Self>) {
        let _enter = context::enter(self);
        // Dropping a future may spawn or wake; loop until nothing is left.
        loop {
            let tasks = self.tasks.borrow_mut().drain();
            if tasks.is_empty() {
                break;
            }
            for (_, task) in tasks {
                task.cancel();
            }
        }
        self.run_queue.borrow_mut().clear();
    }
}

struct ResetOnDrop<'a>(&'a Cell<bool>);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}
