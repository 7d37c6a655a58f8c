//! The sockeye runtime: a single-threaded executor per thread, a reactor built on epoll, a
//! hierarchical timing wheel, and (in later layers) the driver that joins the userspace TCP/IP stack
//! (`sockeye-netstack`) to network devices (`sockeye-nic`).
//!
//! The model is thread-per-core and shared-nothing (as in Seastar or glommio): every thread that
//! calls [`runtime::Runtime::block_on`] owns its own executor, timers and reactor. Tasks never move
//! between threads, so [`spawn`] does not require `Send`. Wakers, on the other hand, are `Send` and
//! may be woken from any thread: a wake from another thread is queued for the owning runtime and
//! interrupts its `epoll_wait` through an eventfd.
//!
//! One turn of the runtime (a "tick"):
//! 1. run up to `event_interval` ready tasks, in FIFO order;
//! 2. collect wakes made from other threads;
//! 3. fire expired timers;
//! 4. poll the reactor: without blocking when tasks are still ready, otherwise blocking in
//!    `epoll_wait` until the earliest timer, a registered file descriptor, or a cross-thread wake.
//!
//! The per-tick budget bounds how long an always-ready task can keep timers and I/O waiting.

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
