//! Throughput under loss on the deterministic simulator: the same 4 MiB transfer over a
//! 100 Mbit/s path with a 20 ms RTT, under 1 % and 5 % random loss and under loss in bursts of
//! four frames, with SACK (scoreboard, RACK-TLP, PRR) and without (NewReno on duplicate ACKs,
//! "go back N" after a timeout), with CUBIC and with NewReno.
//!
//! Virtual time is exact, so the comparison is of completion time and of bytes retransmitted
//! (payload sent again below the highest sequence number already sent, counted from the
//! frames on the link). With SACK a sender retransmits only what was lost; without it, every
//! timeout resends everything outstanding. Each pattern runs with three seeds and the sums are
//! compared: SACK must take less time in every pattern and retransmit no more bytes (under
//! sparse random loss NewReno rarely has two losses in one window, so it wastes nothing
//! either), at most 95 % of them at 5 % loss and at most half of them when losses come in
//! bursts. HyStart++ is off, so every run starts with a plain slow start. The figures print (they are the README's performance table):
//! `cargo test --release -p sockeye-netstack --test tcp_loss -- --nocapture --test-threads 1`.

#[path = "support/apps.rs"]
mod apps;
mod support;

use std::time::Duration;

use apps::{Capture, ms};
use sockeye_netstack::sim::{LinkConfig, Outcome, Sim};
use sockeye_netstack::{Counter, Instant, StackConfig};
use support::{Transfer, payload};

/// What one transfer did.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Virtual time from the connect until the last byte was read and both sides closed.
    time: Duration,
    /// Payload bytes sent again.
    retransmitted: u64,
    /// Frames the link lost, at random or in its full bottleneck queue.
    lost: u64,
    /// Timeouts the sender had.
    timeouts: u64,
}

const SIZE: usize = 4 << 20;

fn run(sack: bool, cc: &str, loss: f64, burst: usize, seed: u64) -> Run {
    let mut config = StackConfig {
        tcp_sack: sack,
        ..StackConfig::default()
    };
    config.set("tcp_congestion_control", cc).unwrap();
    // The comparison is of loss recovery: with HyStart++ the initial slow start ends before
    // the bottleneck queue overflows, which removes most of the losses the patterns are
    // meant to add to (see `tcp_hystart.rs`), and where it ends is a matter of seed luck.
    config.set("tcp_hystart", "0").unwrap();
    // Buffers large enough for the path (there is no buffer autotuning yet).
    config.set("tcp_wmem", "4096 4194304 4194304").unwrap();
    config.set("tcp_rmem", "4096 4194304 6291456").unwrap();
    let link = LinkConfig {
        delay: ms(10),
        loss,
        loss_burst: burst,
        rate_bps: Some(100_000_000),
        queue_limit: 1000,
        ..LinkConfig::default()
    };
    let mut sim = Sim::new(2, &config, link, seed);
    let cap = Capture::install(&mut sim);
    let data = payload(seed, SIZE);
    let mut t = Transfer::start(&mut sim, data.clone(), Vec::new());
    t.chunk = 256 * 1024;
    let outcome = t.run(&mut sim, Instant::from_millis(3_600_000));
    assert_eq!(outcome, Outcome::Done, "sack {sack} {cc} loss {loss}");
    assert!(t.server.received == data, "bytes differ");
    let retransmitted = cap.retransmitted_bytes(0);
    Run {
        time: sim.now - Instant::ZERO,
        retransmitted,
        lost: sim.stats.lost + sim.stats.queue_drops,
        timeouts: sim.stacks[0].counters().get(Counter::TcpExtTCPTimeouts),
    }
}

fn show(what: &str, r: &Run) {
    let mbit = (SEEDS as f64 * SIZE as f64 * 8.0) / r.time.as_secs_f64() / 1e6;
    eprintln!(
        "{what:<36} {:>8.2} s {mbit:>6.1} Mbit/s  retransmitted {:>9} B  lost {:>5} frames  timeouts {}",
        r.time.as_secs_f64(),
        r.retransmitted,
        r.lost,
        r.timeouts
    );
}

/// Seeds per loss pattern: one loss pattern can favour either side by luck, the sum cannot.
const SEEDS: u64 = 3;

/// The sums over [`SEEDS`] runs.
fn runs(sack: bool, cc: &str, loss: f64, burst: usize) -> Run {
    let mut total = Run {
        time: Duration::ZERO,
        retransmitted: 0,
        lost: 0,
        timeouts: 0,
    };
    for seed in 1..=SEEDS {
        let r = run(sack, cc, loss, burst, seed);
        total.time += r.time;
        total.retransmitted += r.retransmitted;
        total.lost += r.lost;
        total.timeouts += r.timeouts;
    }
    total
}

/// SACK against no SACK (CUBIC) in one loss pattern; `max_ratio` bounds SACK's retransmitted
/// bytes as a fraction of the others'.
fn compare(loss: f64, burst: usize, max_ratio: f64) {
    let label = format!("loss {:.1} % in bursts of {burst}", loss * 100.0);
    let with = runs(true, "cubic", loss, burst);
    let without = runs(false, "cubic", loss, burst);
    show(&format!("{label}, SACK"), &with);
    show(&format!("{label}, no SACK"), &without);
    let ratio = with.retransmitted as f64 / without.retransmitted as f64;
    eprintln!("{label}: retransmitted bytes with / without SACK = {ratio:.2}");
    assert!(
        ratio <= max_ratio,
        "{label}: SACK retransmitted {} B, without {} B",
        with.retransmitted,
        without.retransmitted
    );
    assert!(
        with.time < without.time,
        "{label}: SACK took {:?}, without {:?}",
        with.time,
        without.time
    );
}

/// Sparse random loss rarely puts two losses in one window, so NewReno retransmits no more than
/// SACK does; SACK still finishes sooner (no timeouts on a loss near the tail, PRR).
#[test]
fn one_percent_random_loss() {
    compare(0.01, 1, 1.0);
}

#[test]
fn five_percent_random_loss() {
    compare(0.05, 1, 0.95);
}

/// Losses in bursts of four: several holes per window, where SACK repairs them all in one
/// round trip and NewReno one per round trip or, after a timeout, everything outstanding.
#[test]
fn burst_loss() {
    compare(0.005, 4, 0.5);
}

/// CUBIC against NewReno, both with SACK, at 1 % loss: both complete; the figures are printed.
#[test]
fn cubic_and_newreno_with_sack_under_loss() {
    let cubic = runs(true, "cubic", 0.01, 1);
    let reno = runs(true, "reno", 0.01, 1);
    show("loss 1 %, CUBIC + SACK", &cubic);
    show("loss 1 %, NewReno + SACK", &reno);
    assert!(cubic.lost > 0 && reno.lost > 0);
}
