//! Executor and timer micro-benchmarks: sockeye against tokio's current-thread runtime.
//!
//! Every benchmark is a criterion group with two functions, `sockeye` and `tokio`, that run the
//! very same async workload (written once, generic over the [`Contender`] trait below) inside one
//! `block_on` of a runtime built once, outside the measured loop:
//!
//! - `spawn_10k`: spawn 10,000 tasks that each return a small value, then await every
//!   `JoinHandle`. Measures task creation, the first poll, completion and join.
//! - `yield_200x1000`: 200 tasks that each call `yield_now().await` 1,000 times (200,000
//!   yields in all). Measures the wake / requeue / poll cycle of the run queue.
//! - `ping_pong`: two tasks bounce a message 10,000 times over a pair of bounded (capacity 1)
//!   `tokio::sync::mpsc` channels (`sockeye::sync` *is* `tokio::sync`, so both contenders use
//!   the same channel code). Measures cross-task wake-ups with one task runnable at a time.
//! - `timer_insert_cancel_100k`: create 100,000 boxed sleeps with deadlines spread
//!   deterministically over 1 ms..10 s, poll each once (registering it with the timer and
//!   checking that it is pending), then drop them all (cancelling every timer). Measures timer
//!   insertion and removal; no timer fires.
//!
//! The tokio runtime is `tokio::runtime::Builder::new_current_thread().enable_all().build()`;
//! its tasks are spawned with plain `tokio::spawn` (the futures are `Send`).
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench runtime                # everything (a minute or two)
//! cargo bench --bench runtime -- ping_pong   # one group
//! ```

use std::future::{Future, poll_fn};
use std::hint::black_box;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SPAWN_TASKS: u64 = 10_000;
const YIELD_TASKS: u64 = 200;
const YIELDS_PER_TASK: u64 = 1_000;
const ROUND_TRIPS: u64 = 10_000;
const TIMERS: u64 = 100_000;

/// The runtime-specific operations the workloads need, so each workload is written once.
trait Contender {
    /// The future returned by [`Contender::sleep`].
    type Sleep: Future<Output = ()> + 'static;

    /// Spawns `future` on the current runtime; the returned future resolves to its output.
    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Gives the other ready tasks a turn.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// A timer that completes after `duration`.
    fn sleep(duration: Duration) -> Self::Sleep;
}

struct Sockeye;

impl Contender for Sockeye {
    type Sleep = sockeye::time::Sleep;

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = sockeye::spawn(future);
        async move { handle.await.expect("sockeye task failed") }
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        sockeye::task::yield_now()
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        sockeye::time::sleep(duration)
    }
}

struct Tokio;

impl Contender for Tokio {
    type Sleep = tokio::time::Sleep;

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = tokio::spawn(future);
        async move { handle.await.expect("tokio task failed") }
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        tokio::time::sleep(duration)
    }
}

/// Spawns [`SPAWN_TASKS`] tiny tasks, then awaits them all; returns the sum of their outputs.
async fn spawn_many<C: Contender>() -> u64 {
    let handles: Vec<_> = (0..SPAWN_TASKS)
        .map(|i| C::spawn(async move { i * 3 }))
        .collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle.await;
    }
    sum
}

/// [`YIELD_TASKS`] tasks, each yielding [`YIELDS_PER_TASK`] times.
async fn yield_many<C: Contender>() -> u64 {
    let handles: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            C::spawn(async {
                for _ in 0..YIELDS_PER_TASK {
                    C::yield_now().await;
                }
                YIELDS_PER_TASK
            })
        })
        .collect();
    let mut total = 0;
    for handle in handles {
        total += handle.await;
    }
    total
}

/// Two tasks bouncing a counter [`ROUND_TRIPS`] times over two capacity-1 channels.
async fn ping_pong<C: Contender>() -> u64 {
    use sockeye::sync::mpsc;

    let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
    let ponger = C::spawn(async move {
        while let Some(n) = ping_rx.recv().await {
            pong_tx.send(n + 1).await.expect("pinger hung up");
        }
    });
    let pinger = C::spawn(async move {
        let mut n = 0;
        for _ in 0..ROUND_TRIPS {
            ping_tx.send(n).await.expect("ponger hung up");
            n = pong_rx.recv().await.expect("ponger hung up");
        }
        n
    });
    let n = pinger.await;
    ponger.await;
    assert_eq!(n, ROUND_TRIPS);
    n
}

/// Registers [`TIMERS`] sleeps (one poll each) with deadlines spread over 1 ms..10 s, then drops
/// (cancels) them all.
async fn timers_insert_cancel<C: Contender>() -> usize {
    let mut sleeps: Vec<Pin<Box<C::Sleep>>> = Vec::with_capacity(TIMERS as usize);
    poll_fn(|cx| {
        for i in 0..TIMERS {
            // 7919 is prime, so this visits every millisecond of 1..=10_000 in a scattered order.
            let millis = 1 + (i * 7919) % 10_000;
            // Each sleep is polled as soon as it is created, so even the 1 ms ones are pending.
            let mut sleep = Box::pin(C::sleep(Duration::from_millis(millis)));
            assert!(sleep.as_mut().poll(cx).is_pending(), "a timer fired early");
            sleeps.push(sleep);
        }
        Poll::Ready(())
    })
    .await;
    let registered = sleeps.len();
    drop(sleeps);
    registered
}

fn sockeye_runtime() -> sockeye::runtime::Runtime {
    sockeye::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build the sockeye runtime")
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime")
}

/// Runs one workload as a group with a `sockeye` and a `tokio` function, measuring each for
/// `$measure_secs` seconds (after a one-second warm-up).
macro_rules! bench_pair {
    ($c:expr, $name:literal, $elements:expr, $workload:ident, $measure_secs:literal) => {{
        let mut group = $c.benchmark_group($name);
        group
            .throughput(Throughput::Elements($elements))
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs($measure_secs));
        let sockeye = sockeye_runtime();
        group.bench_function("sockeye", |b| {
            b.iter(|| black_box(sockeye.block_on($workload::<Sockeye>())))
        });
        drop(sockeye);
        let tokio = tokio_runtime();
        group.bench_function("tokio", |b| {
            b.iter(|| black_box(tokio.block_on($workload::<Tokio>())))
        });
        drop(tokio);
        group.finish();
    }};
}

fn spawn_10k(c: &mut Criterion) {
    bench_pair!(c, "spawn_10k", SPAWN_TASKS, spawn_many, 3);
}

fn yield_200x1000(c: &mut Criterion) {
    bench_pair!(
        c,
        "yield_200x1000",
        YIELD_TASKS * YIELDS_PER_TASK,
        yield_many,
        3
    );
}

fn ping_pong_10k(c: &mut Criterion) {
    bench_pair!(c, "ping_pong", ROUND_TRIPS, ping_pong, 3);
}

fn timer_insert_cancel_100k(c: &mut Criterion) {
    // ~16 ms an iteration: give it enough time for 20 samples.
    bench_pair!(
        c,
        "timer_insert_cancel_100k",
        TIMERS,
        timers_insert_cancel,
        5
    );
}

criterion_group!(
    benches,
    spawn_10k,
    yield_200x1000,
    ping_pong_10k,
    timer_insert_cancel_100k
);
criterion_main!(benches);
