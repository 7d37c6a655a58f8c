//! Spawning and managing tasks: [`spawn`], [`JoinHandle`], [`yield_now`], [`spawn_blocking`].
//!
//! Tasks are `!Send`-friendly: [`spawn`] takes any `'static` future, because a task stays on the
//! thread (and runtime) that spawned it for its whole life.

mod blocking;
mod cell;
mod join;
mod yield_now;

pub use blocking::spawn_blocking;
pub use join::{JoinError, JoinHandle};
pub use yield_now::yield_now;

pub(crate) use cell::{RawTask, TaskCell};

use std::future::Future;

use crate::context;

/// Spawns a new task on the current thread's runtime and returns a handle to await its output.
///
/// Unlike tokio's `spawn`, the future does not need to be `Send`: sockeye runs one executor per
/// thread and tasks never migrate. The task starts running the next time the runtime runs tasks,
/// even if the handle is dropped.
///
/// # Panics
/// When called outside a sockeye runtime.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::with_core(|core| core.spawn(future))
        .unwrap_or_else(|| panic!("{}", context::NO_RUNTIME))
}

/// The same as [`spawn`]: every sockeye task is local to its thread. Provided so programs written
/// for tokio's `LocalSet` port unchanged.
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn(future)
}
