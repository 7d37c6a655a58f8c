//! [`Runtime`], [`Builder`] and [`Handle`]: creating and entering a sockeye runtime, with tokio's
//! names so that `tokio::runtime::Builder::new_current_thread().enable_all().build()` ports as is.
//!
//! A runtime is one thread's executor, timers and reactor. It is `!Send`: create one on each
//! thread that should run tasks (thread-per-core).

mod builder;
mod interface;
mod network;

pub use builder::Builder;
pub use interface::Interface;
pub use network::{Network, NetworkFlags};

use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;

use crate::context;
use crate::sched::Core;
use crate::task::JoinHandle;

/// A single-threaded runtime: executor, timing wheel and epoll reactor.
pub struct Runtime {
    core: Rc<Core>,
}

impl Runtime {
    /// A runtime with the default configuration (the same as `Builder::new_current_thread()
    /// .enable_all().build()`): its network is what the `SOCKEYE_*` environment variables say,
    /// by default the in-process loopback with `127.0.0.1/8` (see [`Builder`]).
    ///
    /// # Errors
    /// When the OS refuses an epoll instance or an eventfd (e.g. the process is out of fds), for
    /// a bad `SOCKEYE_*` value (the message names the variable), or when the device they name
    /// cannot be opened.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_current_thread().enable_all().build()
    }

    pub(crate) fn from_core(core: Rc<Core>) -> Runtime {
        Runtime { core }
    }

    /// Runs `future` to completion on the current thread, running spawned tasks, timers and I/O
    /// meanwhile, and returns its output. Tasks still pending when it returns stay in the runtime
    /// and run again on the next `block_on`.
    ///
    /// # Panics
    /// When called from inside a running runtime (as tokio does), or when `future` panics.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.core.block_on(future)
    }

    /// Spawns a task on this runtime; it runs when the runtime runs (inside `block_on`).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future)
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> Handle {
        Handle {
            core: self.core.clone(),
        }
    }

    /// Enters the runtime's context without running it, so that `spawn`, `sleep` and other
    /// functions that need a runtime work until the guard is dropped.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::enter(&self.core),
            _runtime: std::marker::PhantomData,
        }
    }

    /// Number of spawned tasks that have not finished.
    pub fn alive_tasks(&self) -> usize {
        self.core.live_tasks()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Drop every task's future now, with the runtime entered, so that destructors reach their
        // timers and registrations and no reference cycle outlives the runtime.
        self.core.shutdown();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("alive_tasks", &self.alive_tasks())
            .finish()
    }
}

/// Keeps a runtime entered; returned by [`Runtime::enter`].
pub struct EnterGuard<'a> {
    _guard: context::EnterGuard,
    _runtime: std::marker::PhantomData<&'a Runtime>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

/// A reference to a runtime, for spawning onto it from inside its tasks.
///
/// Unlike tokio's, a sockeye `Handle` is `!Send`: a runtime and its tasks belong to one thread.
#[derive(Clone)]
pub struct Handle {
    core: Rc<Core>,
}

impl Handle {
    /// The handle of the runtime running on this thread.
    ///
    /// # Panics
    /// When called outside a sockeye runtime (use [`Handle::try_current`] to avoid it).
    pub fn current() -> Handle {
        Handle {
            core: context::expect_current(),
        }
    }

    /// The handle of the runtime running on this thread, or an error outside of one.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::current()
            .map(|core| Handle { core })
            .ok_or(TryCurrentError(()))
    }

    /// Spawns a task onto the runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future)
    }

    /// Runs `future` on the runtime (see [`Runtime::block_on`]).
    ///
    /// # Panics
    /// When called from inside a running runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.core.block_on(future)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handle")
    }
}

/// The error of [`Handle::try_current`]: no runtime on this thread.
#[derive(Debug)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(context::NO_RUNTIME)
    }
}

impl std::error::Error for TryCurrentError {}
