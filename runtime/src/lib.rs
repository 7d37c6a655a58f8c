//! The sockeye runtime: a single-threaded executor per thread, a reactor built on epoll, a
//! hierarchical timing wheel, and the driver that joins the thread's userspace TCP/IP stack
//! (`sockeye-netstack`) to its network devices (`sockeye-nic`), with tokio's `net` API on top.
//!
//! The model is thread-per-core and shared-nothing (as in Seastar or glommio): every thread that
//! calls [`runtime::Runtime::block_on`] owns its own executor, timers, reactor and stack. Tasks
//! never move between threads, so [`spawn`] does not require `Send`, and sockets are `!Send`.
//! Wakers, on the other hand, are `Send` and may be woken from any thread: a wake from another
//! thread is queued for the owning runtime and interrupts its `epoll_wait` through an eventfd.
//!
//! One turn of the runtime (a "tick"):
//! 1. run up to `event_interval` ready tasks, in FIFO order;
//! 2. collect wakes made from other threads;
//! 3. fire expired timers;
//! 4. move frames: a budget of received frames from each device into the stack, then the stack's
//!    due timers, then its output into the devices' transmit buffers (see `driver`);
//! 5. poll the reactor: without blocking when tasks are still ready (or, NAPI-style, right after
//!    frames arrived), otherwise blocking in `epoll_wait` until the earliest timer (the runtime's
//!    or the stack's), a device's or other registered file descriptor, or a cross-thread wake.
//!    It never blocks while an in-process device has frames waiting or the stack has output.
//!
//! The per-tick budget bounds how long an always-ready task can keep timers and I/O waiting.
//!
//! Modules: [`net`] (sockets), [`stack`] (counters, socket table, capture switch), [`runtime`]
//! (building a runtime with its interfaces), [`time`], [`task`], [`reactor`], and, with the
//! `hyper` feature, [`rt`] (hyper's executor and timer).

#![warn(missing_docs)]

mod context;
mod driver;
pub mod net;
pub mod reactor;
#[cfg(feature = "hyper")]
pub mod rt;
pub mod runtime;
mod sched;
pub mod stack;
pub mod task;
pub mod time;

pub use task::spawn;
