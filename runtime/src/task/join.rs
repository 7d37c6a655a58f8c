//! [`JoinHandle`] and [`JoinError`]: awaiting, aborting and detaching spawned tasks.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::cell::{Joinable, panic_message};

/// An owned permission to await a spawned task's output, like tokio's `JoinHandle`.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or was aborted.
/// Dropping the handle detaches the task: it keeps running and its output is dropped.
/// The handle is `!Send`: tasks never leave the thread that spawned them.
pub struct JoinHandle<T> {
    raw: Rc<dyn Joinable<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: Rc<dyn Joinable<T>>) -> JoinHandle<T> {
        JoinHandle { raw }
    }

    /// Cancels the task. The next time the runtime would run it, its future is dropped instead and
    /// awaiting this handle gives a [`JoinError`] for which `is_cancelled()` is true. Aborting a
    /// task that already finished has no effect.
    pub fn abort(&self) {
        self.raw.abort();
    }

    /// Whether the task has finished: completed, panicked, or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }

    pub(crate) fn raw_poll(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        self.raw.poll_join(cx)
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.raw.poll_join(cx)
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

/// Why a task did not produce its output: it was cancelled or it panicked.
pub struct JoinError {
    repr: Repr,
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(payload),
        }
    }

    /// Whether the task was cancelled (aborted, or dropped at runtime shutdown).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload.
    ///
    /// # Panics
    /// If the task was cancelled rather than panicking.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task's error")
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(payload) => match panic_message(payload.as_ref()) {
                Some(msg) => write!(f, "task panicked with message {msg:?}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(payload) => match panic_message(payload.as_ref()) {
                Some(msg) => write!(f, "JoinError::Panic({msg:?})"),
                None => f.write_str("JoinError::Panic(..)"),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> io::Error {
        io::Error::other(err.to_string())
    }
}
