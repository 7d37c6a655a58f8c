//! A task's single allocation: its future, then its output, plus the waker of whoever awaits the
//! `JoinHandle`. The executor sees it as a [`RawTask`], the handle as a [`Joinable`].

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::JoinError;

/// What the executor needs from a task, independent of its future's type.
pub(crate) trait RawTask {
    /// Polls the future once; returns true when the task is finished (completed, panicked or
    /// aborted) and its slot can be freed.
    fn run(&self) -> bool;
    /// Drops the future without running it further (runtime shutdown).
    fn cancel(&self);
}

/// What a [`super::JoinHandle`] needs, independent of the future's type.
pub(crate) trait Joinable<T> {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    fn abort(&self);
    fn is_finished(&self) -> bool;
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// A spawned task: the future, pinned in place inside its `Rc`, and its join state.
pub(crate) struct TaskCell<F: Future> {
    stage: RefCell<Stage<F>>,
    /// The task's own waker (an `Arc` clone of its slot header), used to poll it and to schedule
    /// it when aborted.
    waker: Waker,
    join_waker: Cell<Option<Waker>>,
    aborted: Cell<bool>,
}

impl<F: Future> TaskCell<F> {
    pub(crate) fn new(future: F, waker: Waker) -> TaskCell<F> {
        TaskCell {
            stage: RefCell::new(Stage::Running(future)),
            waker,
            join_waker: Cell::new(None),
            aborted: Cell::new(false),
        }
    }

    fn finish(&self, stage: &mut Stage<F>, result: Result<F::Output, JoinError>) {
        // Dropping the old stage drops the future in place, which pinning allows.
        *stage = Stage::Finished(result);
        if let Some(waker) = self.join_waker.take() {
            waker.wake();
        }
    }
}

impl<F: Future> RawTask for TaskCell<F> {
    fn run(&self) -> bool {
        let Ok(mut stage) = self.stage.try_borrow_mut() else {
            // Polled re-entrantly (a waker fired from inside its own drop); try again later.
            return false;
        };
        if !matches!(&*stage, Stage::Running(_)) {
            return true;
        }
        if self.aborted.get() {
            self.finish(&mut stage, Err(JoinError::cancelled()));
            return true;
        }
        let Stage::Running(future) = &mut *stage else {
            unreachable!()
        };
        // SAFETY: the future lives inside this `TaskCell`, which lives in an `Rc` and is never
        // moved out of it; the future is only ever dropped in place (by `finish` or `cancel`).
        let future = unsafe { Pin::new_unchecked(future) };
        let mut cx = Context::from_waker(&self.waker);
        match catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
            Ok(Poll::Pending) => false,
            Ok(Poll::Ready(output)) => {
                self.finish(&mut stage, Ok(output));
                true
            }
            Err(payload) => {
                self.finish(&mut stage, Err(JoinError::panic(payload)));
                true
            }
        }
    }

    fn cancel(&self) {
        let Ok(mut stage) = self.stage.try_borrow_mut() else {
            return;
        };
        if matches!(&*stage, Stage::Running(_)) {
            // A panicking destructor must not take the runtime down during shutdown.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                self.finish(&mut stage, Err(JoinError::cancelled()))
            }));
        }
    }
}

impl<F: Future> Joinable<F::Output> for TaskCell<F> {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        let Ok(mut stage) = self.stage.try_borrow_mut() else {
            // The task itself is running (it awaits its own handle): not finished.
            self.set_join_waker(cx.waker());
            return Poll::Pending;
        };
        match &*stage {
            Stage::Running(_) => {
                drop(stage);
                self.set_join_waker(cx.waker());
                Poll::Pending
            }
            Stage::Consumed => panic!("JoinHandle polled after it returned its output"),
            Stage::Finished(_) => {
                // Only a finished stage is moved out: a running future must stay pinned in place.
                let Stage::Finished(result) = std::mem::replace(&mut *stage, Stage::Consumed)
                else {
                    unreachable!()
                };
                Poll::Ready(result)
            }
        }
    }

    fn abort(&self) {
        if !self.aborted.replace(true) {
            self.waker.wake_by_ref();
        }
    }

    fn is_finished(&self) -> bool {
        self.stage
            .try_borrow()
            .map(|s| !matches!(&*s, Stage::Running(_)))
            .unwrap_or(false)
    }
}

impl<F: Future> TaskCell<F> {
    fn set_join_waker(&self, waker: &Waker) {
        let old = self.join_waker.take();
        match old {
            Some(old) if old.will_wake(waker) => self.join_waker.set(Some(old)),
            _ => self.join_waker.set(Some(waker.clone())),
        }
    }
}

/// Turns a panic payload into the message it carries, if it is a string.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}
