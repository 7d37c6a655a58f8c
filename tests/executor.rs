//! Executor behaviour: spawning, joining, aborting, panics, fairness, wake coalescing, cross-thread
//! wakes and shutdown.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use sockeye::runtime::{Builder, Handle, Runtime};
use sockeye::task::{self, JoinError};
use sockeye::time::{Instant, sleep};

#[sockeye::test]
async fn spawn_and_join_non_send_futures() {
    let shared = Rc::new(Cell::new(0));
    let mut handles = Vec::new();
    for i in 0..100 {
        let shared = shared.clone();
        handles.push(sockeye::spawn(async move {
            task::yield_now().await;
            shared.set(shared.get() + 1);
            i * 2
        }));
    }
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    assert_eq!(sum, 2 * (0..100).sum::<i32>());
    assert_eq!(shared.get(), 100);
}

#[sockeye::test]
async fn abort_cancels_and_drops_the_future() {
    struct SetOnDrop(Rc<Cell<bool>>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let guard = SetOnDrop(dropped.clone());
    let handle = sockeye::spawn(async move {
        let _guard = guard;
        sleep(Duration::from_secs(3600)).await;
        1
    });
    task::yield_now().await;
    assert!(!handle.is_finished());
    handle.abort();
    let err = handle.await.unwrap_err();
    assert!(err.is_cancelled() && !err.is_panic());
    assert!(dropped.get(), "the aborted task's future must be dropped");

    // Aborting a task that already finished changes nothing.
    let done = sockeye::spawn(async { 5 });
    task::yield_now().await;
    assert!(done.is_finished());
    done.abort();
    assert_eq!(done.await.unwrap(), 5);
}

#[sockeye::test]
async fn abort_before_first_poll() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let handle = sockeye::spawn(async move { r.set(true) });
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
    assert!(!ran.get());
}

#[sockeye::test]
async fn dropping_the_handle_detaches() {
    let (tx, rx) = sockeye::sync::oneshot::channel();
    drop(sockeye::spawn(async move {
        sleep(Duration::from_millis(5)).await;
        tx.send(7).unwrap();
    }));
    assert_eq!(rx.await.unwrap(), 7);
}

#[sockeye::test]
async fn a_panicking_task_gives_join_error_and_others_continue() {
    let other = sockeye::spawn(async {
        for _ in 0..10 {
            task::yield_now().await;
        }
        "still running"
    });
    let n = std::hint::black_box(42);
    let bad = sockeye::spawn(async move {
        task::yield_now().await;
        panic!("boom {n}");
    });
    let err: JoinError = bad.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "task panicked with message \"boom 42\"");
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 42");
    assert_eq!(other.await.unwrap(), "still running");
}

/// Counts polls; wakes itself `n` times during the first poll.
struct MultiWake {
    polls: Rc<Cell<u32>>,
    wakes: u32,
}

impl Future for MultiWake {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.set(self.polls.get() + 1);
        if self.polls.get() == 1 {
            for _ in 0..self.wakes {
                cx.waker().wake_by_ref();
                // Also through an owned clone, the path channels take.
                #[allow(clippy::waker_clone_wake)]
                cx.waker().clone().wake();
            }
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

#[sockeye::test]
async fn many_wakes_before_running_queue_the_task_once() {
    let polls = Rc::new(Cell::new(0));
    let handle = sockeye::spawn(MultiWake {
        polls: polls.clone(),
        wakes: 100,
    });
    handle.await.unwrap();
    assert_eq!(
        polls.get(),
        2,
        "200 wakes must cause one extra poll, not 200"
    );
}

#[test]
fn an_always_ready_task_cannot_starve_timers() {
    let rt = Builder::new_current_thread().enable_all().build().unwrap();
    let spins = Rc::new(Cell::new(0u64));
    let s = spins.clone();
    rt.spawn(async move {
        loop {
            s.set(s.get() + 1);
            task::yield_now().await;
        }
    });
    // The main future waits for a timer while the spinner is always runnable: the timer still
    // fires and the main future completes.
    rt.block_on(async {
        let start = Instant::now();
        sleep(Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
    assert!(spins.get() > 0, "the spinning task ran too");
    assert_eq!(rt.alive_tasks(), 1);
}

#[test]
fn an_always_ready_task_cannot_starve_io() {
    let rt = Runtime::new().unwrap();
    let (reader, mut writer) = std::os::unix::net::UnixStream::pair().unwrap();
    reader.set_nonblocking(true).unwrap();
    rt.spawn(async {
        loop {
            task::yield_now().await;
        }
    });
    rt.block_on(async {
        let reg =
            sockeye::reactor::Registration::new(&reader, sockeye::reactor::Interest::READABLE)
                .unwrap();
        std::io::Write::write_all(&mut writer, b"x").unwrap();
        let mut buf = [0u8; 8];
        let n = reg
            .async_read(|| std::io::Read::read(&mut &reader, &mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"x");
    });
}

#[test]
fn wakes_from_other_threads_reach_the_task() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        for i in 0..50u32 {
            let flag = Arc::new(AtomicBool::new(false));
            let f2 = flag.clone();
            let mut waker_sent = false;
            let value = poll_fn(move |cx| {
                if flag.load(Ordering::Acquire) {
                    return Poll::Ready(i);
                }
                if !waker_sent {
                    waker_sent = true;
                    let waker = cx.waker().clone();
                    let f3 = f2.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(1));
                        f3.store(true, Ordering::Release);
                        waker.wake();
                    });
                }
                Poll::Pending
            })
            .await;
            assert_eq!(value, i);
        }
    });
}

#[sockeye::test]
async fn spawn_blocking_runs_elsewhere_and_returns() {
    let main_thread = std::thread::current().id();
    let (id, value) = task::spawn_blocking(|| {
        std::thread::sleep(Duration::from_millis(10));
        (std::thread::current().id(), 99)
    })
    .await
    .unwrap();
    assert_ne!(id, main_thread);
    assert_eq!(value, 99);
    let err = task::spawn_blocking(|| panic!("blocking boom"))
        .await
        .unwrap_err();
    assert!(err.is_panic());
}

#[test]
fn tasks_persist_across_block_on_and_runtime_spawn() {
    let rt = Runtime::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let handle = rt.spawn(async move {
        l.borrow_mut().push("started");
        sleep(Duration::from_millis(2)).await;
        l.borrow_mut().push("woke");
        3
    });
    rt.block_on(task::yield_now());
    assert_eq!(*log.borrow(), ["started"]);
    assert_eq!(rt.block_on(handle).unwrap(), 3);
    assert_eq!(*log.borrow(), ["started", "woke"]);
}

#[test]
fn dropping_the_runtime_drops_pending_tasks() {
    let dropped = Rc::new(Cell::new(0));
    struct Count(Rc<Cell<i32>>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let rt = Runtime::new().unwrap();
    let mut handles = Vec::new();
    for _ in 0..10 {
        let c = Count(dropped.clone());
        handles.push(rt.spawn(async move {
            let _c = c;
            sleep(Duration::from_secs(60)).await;
        }));
    }
    rt.block_on(task::yield_now());
    drop(rt);
    assert_eq!(dropped.get(), 10);
    for h in handles {
        assert!(h.is_finished());
    }
}

#[test]
fn handle_current_spawns_onto_the_running_runtime() {
    let rt = Runtime::new().unwrap();
    assert!(Handle::try_current().is_err());
    let out = rt.block_on(async {
        let handle = Handle::current();
        handle.spawn(async { 11 }).await.unwrap()
    });
    assert_eq!(out, 11);
    let _guard = rt.enter();
    // Entered but not running: spawning works, the task runs at the next block_on.
    let h = sockeye::spawn(async { 12 });
    assert_eq!(rt.block_on(h).unwrap(), 12);
}

#[test]
#[should_panic(expected = "cannot start a sockeye runtime from within a runtime")]
fn nested_block_on_panics() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let inner = Runtime::new().unwrap();
        inner.block_on(async {});
    });
}

#[test]
#[should_panic(expected = "there is no sockeye runtime on this thread")]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    drop(sockeye::spawn(async {}));
}

#[test]
fn one_runtime_per_thread() {
    let threads: Vec<_> = (0..2)
        .map(|t| {
            std::thread::spawn(move || {
                let rt = Runtime::new().unwrap();
                rt.block_on(async move {
                    let hs: Vec<_> = (0..100)
                        .map(|i| sockeye::spawn(async move { i + t }))
                        .collect();
                    let mut sum = 0;
                    for h in hs {
                        sum += h.await.unwrap();
                    }
                    sum
                })
            })
        })
        .collect();
    let sums: Vec<i32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(sums, [4950, 5050]);
}

#[sockeye::test]
async fn test_macro_supports_result_return() -> Result<(), std::io::Error> {
    let v: Result<u8, std::io::Error> = Ok(1);
    assert_eq!(v?, 1);
    Ok(())
}

#[sockeye::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_macro_accepts_tokio_flavor_arguments() {
    assert_eq!(sockeye::spawn(async { 1 }).await.unwrap(), 1);
}

#[sockeye::test]
#[should_panic(expected = "inside a test")]
async fn test_macro_keeps_should_panic() {
    panic!("inside a test");
}
