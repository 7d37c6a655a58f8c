//! `cargo run --release --example compare [-- --json]`: the benchmark workloads of
//! `benches/net.rs`, run briefly (well under a minute in all) on sockeye (its in-process
//! loopback), tokio (`current_thread`, the kernel's loopback) and smoltcp (its `Loopback`
//! device), printed as a table with the ratios sockeye/tokio and sockeye/smoltcp, or with `--json`
//! as `{"workload": {"sockeye": x, "tokio": y, "smoltcp": z, "unit": "..."}, ...}` (`null` where a
//! contender does not run a workload or failed).
//!
//! The workloads are the benchmark's own code (`benches/workloads/`, included here by path):
//! - `bulk`: one connection, 64 KiB writes, MB/s (10^6 bytes) read by the receiver;
//! - `ping_pong`: 64-byte request/response round trips per second, `TCP_NODELAY`;
//! - `connection_rate`: connect + one-byte echo + close, connections per second (16 clients at
//!   once; smoltcp one at a time);
//! - `http`: hyper HTTP/1 keep-alive GETs per second over 4 connections;
//! - `many_10k` / `many_100k`: that many connections opened, then one byte sent on each,
//!   connections per second; `..._memory`: bytes per connection (both ends; for tokio the
//!   process RSS plus the kernel's slab and socket memory growth, which is machine-wide).
//!
//! Each figure is the best of five timed runs, each sized (after a calibration run) to take
//! about [`RUN_TIME`]; every run uses a new runtime.
//!
//! For profilers, `--only WORKLOAD --on CONTENDER --iters N` runs one workload once with a fixed
//! count, e.g. `valgrind --tool=cachegrind --cache-sim=no target/release/examples/compare --only
//! ping_pong --on sockeye --iters 20000`.

#[path = "../benches/workloads/mod.rs"]
mod workloads;

use std::fmt::Write as _;
use std::io;
use std::process::ExitCode;
use std::time::Duration;

use workloads::{BULK_BYTES, Net, Sockeye, Tokio, many, smoltcp_lo, tcp};

/// Roughly how long one timed run of a workload lasts.
const RUN_TIME: Duration = Duration::from_millis(200);
/// Timed runs per figure (the best is kept: on a shared machine, interference only slows a run).
const RUNS: usize = 5;

/// One row of the report.
struct Row {
    workload: &'static str,
    unit: &'static str,
    /// Smaller is better (memory), so the ratios read the other way.
    lower_is_better: bool,
    sockeye: Option<f64>,
    tokio: Option<f64>,
    smoltcp: Option<f64>,
}

/// Runs `run(iters)` (which returns the time `iters` repetitions took) long enough to time it,
/// and returns the best rate in repetitions per second.
fn rate(mut run: impl FnMut(u64) -> io::Result<Duration>) -> io::Result<f64> {
    let mut iters = 1;
    // Calibrate: grow the count until a run takes a measurable share of RUN_TIME.
    loop {
        let took = run(iters)?;
        if took >= RUN_TIME / 4 {
            break;
        }
        let scale = RUN_TIME.as_secs_f64() / took.as_secs_f64().max(1e-6);
        iters = ((iters as f64 * scale.min(100.0)) as u64).max(iters + 1);
    }
    let mut best: f64 = 0.0;
    for _ in 0..RUNS {
        let took = run(iters)?;
        best = best.max(iters as f64 / took.as_secs_f64());
    }
    Ok(best)
}

/// A generic workload on contender `N`, as a rate.
fn net_rate<N: Net, F: Future<Output = io::Result<Duration>>>(
    workload: impl Fn(u64) -> F,
) -> io::Result<f64> {
    rate(|iters| N::block_on(workload(iters)))
}

/// Keeps a figure, or reports why there is none.
fn keep(what: &str, who: &str, result: io::Result<f64>, failed: &mut bool) -> Option<f64> {
    match result {
        Ok(x) => Some(x),
        Err(e) => {
            eprintln!("{what} on {who} failed: {e}");
            *failed = true;
            None
        }
    }
}

fn measure(failed: &mut bool, notes: &mut Vec<String>) -> Vec<Row> {
    let mut rows = Vec::new();
    let mb = BULK_BYTES as f64 / 1e6;
    // A row for a workload all three contenders run.
    let mut row = |workload, unit, scale: f64, s: io::Result<f64>, t: io::Result<f64>, m| {
        let scaled = |r: io::Result<f64>| r.map(|x| x * scale);
        rows.push(Row {
            workload,
            unit,
            lower_is_better: false,
            sockeye: keep(workload, "sockeye", scaled(s), failed),
            tokio: keep(workload, "tokio", scaled(t), failed),
            smoltcp: keep(workload, "smoltcp", scaled(m), failed),
        });
    };
    eprintln!("bulk ...");
    row(
        "bulk",
        "MB/s",
        mb,
        net_rate::<Sockeye, _>(tcp::bulk::<Sockeye>),
        net_rate::<Tokio, _>(tcp::bulk::<Tokio>),
        rate(smoltcp_lo::bulk),
    );
    eprintln!("ping_pong ...");
    row(
        "ping_pong",
        "round trips/s",
        1.0,
        net_rate::<Sockeye, _>(tcp::ping_pong::<Sockeye>),
        net_rate::<Tokio, _>(tcp::ping_pong::<Tokio>),
        rate(smoltcp_lo::ping_pong),
    );
    eprintln!("connection_rate ...");
    row(
        "connection_rate",
        "connections/s",
        1.0,
        net_rate::<Sockeye, _>(tcp::connection_rate::<Sockeye>),
        net_rate::<Tokio, _>(tcp::connection_rate::<Tokio>),
        rate(smoltcp_lo::connection_rate),
    );
    eprintln!("http ...");
    let s = net_rate::<Sockeye, _>(tcp::http::<Sockeye>);
    let t = net_rate::<Tokio, _>(tcp::http::<Tokio>);
    rows.push(Row {
        workload: "http",
        unit: "requests/s",
        lower_is_better: false,
        sockeye: keep("http", "sockeye", s, failed),
        tokio: keep("http", "tokio", t, failed),
        smoltcp: None,
    });
    for (n, rate_name, memory_name) in [
        (10_000, "many_10k", "many_10k_memory"),
        (100_000, "many_100k", "many_100k_memory"),
    ] {
        eprintln!("{rate_name} ...");
        let s = Sockeye::block_on(many::many::<Sockeye>(n));
        let t = Tokio::block_on(many::many::<Tokio>(n));
        for (name, report) in [(Sockeye::NAME, &s), (Tokio::NAME, &t)] {
            if let Ok(report) = report {
                notes.push(report.describe(name));
            }
        }
        let figure = |r: &io::Result<many::ManyReport>, f: fn(&many::ManyReport) -> f64| {
            r.as_ref()
                .map(f)
                .map_err(|e| io::Error::new(e.kind(), e.to_string()))
        };
        rows.push(Row {
            workload: rate_name,
            unit: "connections/s",
            lower_is_better: false,
            sockeye: keep(
                rate_name,
                "sockeye",
                figure(&s, many::ManyReport::rate),
                failed,
            ),
            tokio: keep(
                rate_name,
                "tokio",
                figure(&t, many::ManyReport::rate),
                failed,
            ),
            smoltcp: None,
        });
        let memory = many::ManyReport::bytes_per_connection;
        rows.push(Row {
            workload: memory_name,
            unit: "bytes/connection",
            lower_is_better: true,
            // The failures were reported with the rate row.
            sockeye: figure(&s, memory).ok(),
            tokio: figure(&t, memory).ok(),
            smoltcp: None,
        });
    }
    rows
}

fn json(rows: &[Row]) -> String {
    let num = |x: Option<f64>| x.map_or("null".to_string(), |x| format!("{x:.1}"));
    let mut out = String::from("{\n");
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "  \"{}\": {{\"sockeye\": {}, \"tokio\": {}, \"smoltcp\": {}, \"unit\": \"{}\"}}{}",
            r.workload,
            num(r.sockeye),
            num(r.tokio),
            num(r.smoltcp),
            r.unit,
            if i + 1 < rows.len() { "," } else { "" }
        );
    }
    out.push('}');
    out
}

fn table(rows: &[Row]) -> String {
    let num = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.0}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".to_string(),
    };
    let mut out = format!(
        "{:<18} {:>14} {:>14} {:>14} {:>14} {:>15}  {}\n",
        "workload", "sockeye", "tokio", "smoltcp", "sockeye/tokio", "sockeye/smoltcp", "unit"
    );
    for r in rows {
        let unit = if r.lower_is_better {
            format!("{} (lower is better)", r.unit)
        } else {
            r.unit.to_string()
        };
        let _ = writeln!(
            out,
            "{:<18} {:>14} {:>14} {:>14} {:>14} {:>15}  {}",
            r.workload,
            num(r.sockeye),
            num(r.tokio),
            num(r.smoltcp),
            ratio(r.sockeye, r.tokio),
            ratio(r.sockeye, r.smoltcp),
            unit
        );
    }
    out
}

/// The CPU model, core count and kernel, for the table's heading.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cores} CPUs, Linux {}", kernel.trim())
}

const USAGE: &str = "usage: compare [--json]\n       compare --only WORKLOAD --on CONTENDER --iters N\n\
    (WORKLOAD: bulk, ping_pong, connection_rate, http, many; CONTENDER: sockeye, tokio, smoltcp)";

/// `--only`: one workload on one contender with a fixed count (for profilers: `perf record`,
/// `valgrind --tool=cachegrind`); prints the time and the rate. `many` takes the number of
/// connections as its count.
fn only(workload: &str, contender: &str, iters: u64) -> io::Result<String> {
    let took = match (workload, contender) {
        ("many", "sockeye") => {
            return Ok(
                Sockeye::block_on(many::many::<Sockeye>(iters as usize))?.describe("sockeye")
            );
        }
        ("many", "tokio") => {
            return Ok(Tokio::block_on(many::many::<Tokio>(iters as usize))?.describe("tokio"));
        }
        ("bulk", "sockeye") => Sockeye::block_on(tcp::bulk::<Sockeye>(iters)),
        ("bulk", "tokio") => Tokio::block_on(tcp::bulk::<Tokio>(iters)),
        ("bulk", "smoltcp") => smoltcp_lo::bulk(iters),
        ("ping_pong", "sockeye") => Sockeye::block_on(tcp::ping_pong::<Sockeye>(iters)),
        ("ping_pong", "tokio") => Tokio::block_on(tcp::ping_pong::<Tokio>(iters)),
        ("ping_pong", "smoltcp") => smoltcp_lo::ping_pong(iters),
        ("connection_rate", "sockeye") => Sockeye::block_on(tcp::connection_rate::<Sockeye>(iters)),
        ("connection_rate", "tokio") => Tokio::block_on(tcp::connection_rate::<Tokio>(iters)),
        ("connection_rate", "smoltcp") => smoltcp_lo::connection_rate(iters),
        ("http", "sockeye") => Sockeye::block_on(tcp::http::<Sockeye>(iters)),
        ("http", "tokio") => Tokio::block_on(tcp::http::<Tokio>(iters)),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no workload {workload:?} on {contender:?}\n{USAGE}"),
            ));
        }
    }?;
    Ok(format!(
        "{workload} on {contender}: {iters} iterations in {:.3} s ({:.0} per second)",
        took.as_secs_f64(),
        iters as f64 / took.as_secs_f64()
    ))
}

fn main() -> ExitCode {
    let mut as_json = false;
    let (mut workload, mut contender, mut iters) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => as_json = true,
            "--only" => workload = args.next(),
            "--on" => contender = args.next(),
            "--iters" => iters = args.next().and_then(|n| n.parse::<u64>().ok()),
            _ => {
                eprintln!("unknown argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match (workload, contender, iters) {
        (None, None, None) => {}
        (Some(w), Some(c), Some(n)) if n > 0 && !as_json => {
            return match only(&w, &c, n) {
                Ok(line) => {
                    println!("{line}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {
            eprintln!(
                "--only, --on and --iters (a positive count) go together, without --json\n{USAGE}"
            );
            return ExitCode::from(2);
        }
    }
    let mut failed = false;
    let mut notes = Vec::new();
    let rows = measure(&mut failed, &mut notes);
    if as_json {
        println!("{}", json(&rows));
    } else {
        println!(
            "sockeye vs tokio (kernel loopback) vs smoltcp (Loopback device), one thread each"
        );
        println!("machine: {}\n", machine());
        print!("{}", table(&rows));
        println!();
        for note in notes {
            println!("{note}");
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
