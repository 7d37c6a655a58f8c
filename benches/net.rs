//! Network benchmarks: sockeye on its in-process loopback against tokio's `current_thread`
//! runtime over the kernel's loopback, and smoltcp over its `Loopback` device where the workload
//! fits. The workloads live in `benches/workloads/` (shared with `examples/compare.rs`, whose
//! module docs say what each does); each criterion group has one function per contender:
//!
//! - `bulk`: one connection, 64 KiB writes, 8 MiB per iteration (`Throughput::Bytes`);
//! - `ping_pong`: 64-byte request/response round trips with `TCP_NODELAY`, one per iteration;
//! - `connection_rate`: connect + one-byte echo + close, one connection per iteration, 16 clients
//!   at once (smoltcp: one at a time);
//! - `http`: hyper HTTP/1 keep-alive GETs on 4 connections, one request per iteration (sockeye
//!   and tokio only);
//! - `many_connections`: 10,000 and 100,000 connections opened, then one byte each round-robin;
//!   an iteration is one such run and the memory per connection is printed (sockeye and tokio;
//!   tokio's kernel sockets need two descriptors per connection, and a size that
//!   `RLIMIT_NOFILE` cannot accommodate is reported as not run).
//!
//! Each sample runs on a fresh runtime (`FreshRuntime`, criterion's `AsyncExecutor` for both
//! runtimes), so sockeye's stack starts empty every time, as a new process would; set-up
//! (binding, connecting) is not timed (`iter_custom`).
//!
//! ```text
//! cargo bench --bench net                      # everything (several minutes)
//! cargo bench --bench net -- ping_pong         # one group
//! cargo bench --bench net -- 'many_connections/.*/10000'
//! ```

mod workloads;

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use criterion::async_executor::AsyncExecutor;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use workloads::{BULK_BYTES, Net, Sockeye, Tokio, many, smoltcp_lo, tcp};

/// criterion's executor for a [`Net`] contender: every `block_on` runs on a new runtime of that
/// contender (sockeye's with the in-process loopback, tokio's `current_thread` with a
/// `LocalSet`).
struct FreshRuntime<N>(PhantomData<N>);

impl<N: Net> AsyncExecutor for FreshRuntime<N> {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        N::block_on(future)
    }
}

/// A workload of `tcp`: `iters` repetitions, returning the time they took.
type Workload = fn(u64) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Duration>>>>;

/// Benchmarks `workload` on contender `N` as function `N::NAME` of `group`.
fn run<N: Net>(group: &mut BenchmarkGroup<'_, WallTime>, workload: Workload) {
    group.bench_function(N::NAME, |b| {
        b.to_async(FreshRuntime::<N>(PhantomData))
            .iter_custom(|iters| async move {
                workload(iters)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", N::NAME))
            })
    });
}

/// Benchmarks a smoltcp workload as function `smoltcp` of `group`.
fn run_smoltcp(
    group: &mut BenchmarkGroup<'_, WallTime>,
    workload: fn(u64) -> std::io::Result<Duration>,
) {
    group.bench_function("smoltcp", |b| {
        b.iter_custom(|iters| workload(iters).unwrap_or_else(|e| panic!("smoltcp: {e}")))
    });
}

/// A group with criterion's settings for these workloads.
fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    throughput: Throughput,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .throughput(throughput)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group
}

fn bulk(c: &mut Criterion) {
    let mut g = group(c, "bulk", Throughput::Bytes(BULK_BYTES));
    run::<Sockeye>(&mut g, |i| Box::pin(tcp::bulk::<Sockeye>(i)));
    run::<Tokio>(&mut g, |i| Box::pin(tcp::bulk::<Tokio>(i)));
    run_smoltcp(&mut g, smoltcp_lo::bulk);
    g.finish();
}

fn ping_pong(c: &mut Criterion) {
    let mut g = group(c, "ping_pong", Throughput::Elements(1));
    run::<Sockeye>(&mut g, |i| Box::pin(tcp::ping_pong::<Sockeye>(i)));
    run::<Tokio>(&mut g, |i| Box::pin(tcp::ping_pong::<Tokio>(i)));
    run_smoltcp(&mut g, smoltcp_lo::ping_pong);
    g.finish();
}

fn connection_rate(c: &mut Criterion) {
    let mut g = group(c, "connection_rate", Throughput::Elements(1));
    run::<Sockeye>(&mut g, |i| Box::pin(tcp::connection_rate::<Sockeye>(i)));
    run::<Tokio>(&mut g, |i| Box::pin(tcp::connection_rate::<Tokio>(i)));
    run_smoltcp(&mut g, smoltcp_lo::connection_rate);
    g.finish();
}

fn http(c: &mut Criterion) {
    let mut g = group(c, "http", Throughput::Elements(1));
    run::<Sockeye>(&mut g, |i| Box::pin(tcp::http::<Sockeye>(i)));
    run::<Tokio>(&mut g, |i| Box::pin(tcp::http::<Tokio>(i)));
    g.finish();
}

thread_local! {
    /// The (contender, size) pairs whose memory figures were printed already.
    static PRINTED: RefCell<HashSet<(&'static str, usize)>> = RefCell::new(HashSet::new());
}

/// One `many_connections` function: an iteration opens `n` connections and sends a byte on
/// each; the first run's report (memory per connection) is printed.
fn many_for<N: Net>(group: &mut BenchmarkGroup<'_, WallTime>, n: usize) {
    if N::KERNEL {
        if let Err(e) = many::kernel_capacity(n) {
            println!("many_connections/{}/{n} not run: {e}", N::NAME);
            return;
        }
    }
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(BenchmarkId::new(N::NAME, n), &n, |b, &n| {
        b.to_async(FreshRuntime::<N>(PhantomData))
            .iter_custom(|iters| async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let report = many::many::<N>(n)
                        .await
                        .unwrap_or_else(|e| panic!("{}: {e}", N::NAME));
                    if PRINTED.with(|p| p.borrow_mut().insert((N::NAME, n))) {
                        println!("\n{}", report.describe(N::NAME));
                    }
                    total += report.open + report.round_robin;
                }
                total
            })
    });
}

fn many_connections(c: &mut Criterion) {
    let mut g = c.benchmark_group("many_connections");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for n in [10_000, 100_000] {
        many_for::<Sockeye>(&mut g, n);
        many_for::<Tokio>(&mut g, n);
    }
    g.finish();
}

criterion_group!(
    benches,
    bulk,
    ping_pong,
    connection_rate,
    http,
    many_connections
);
criterion_main!(benches);
