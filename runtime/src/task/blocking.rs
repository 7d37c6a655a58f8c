//! [`spawn_blocking`]: run blocking code on another thread without stalling the runtime.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use super::{JoinError, JoinHandle, spawn};

/// Runs `f` on a separate OS thread and returns a handle that gives its result.
///
/// The runtime's own thread keeps running tasks meanwhile; the result comes back through a
/// cross-thread wake. A panic in `f` becomes a [`JoinError`] for which `is_panic()` is true.
/// Each call uses a new thread (named `sockeye-blocking`); keep such work coarse-grained.
///
/// # Panics
/// When called outside a sockeye runtime, or when the OS cannot create a thread.
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    thread::Builder::new()
        .name("sockeye-blocking".into())
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            let _ = tx.send(result);
        })
        .expect("failed to spawn a thread for spawn_blocking");
    let task = spawn(async move {
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(payload)) => Err(JoinError::panic(payload)),
            Err(_) => Err(JoinError::cancelled()),
        }
    });
    JoinHandle::new(std::rc::Rc::new(Flatten(task)))
}

/// Adapts a task returning `Result<R, JoinError>` to a handle of `R`.
struct Flatten<R>(JoinHandle<Result<R, JoinError>>);

impl<R> super::cell::Joinable<R> for Flatten<R> {
    fn poll_join(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<R, JoinError>> {
        self.0.raw_poll(cx).map(|r| r.and_then(|inner| inner))
    }

    fn abort(&self) {
        self.0.abort();
    }

    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}
