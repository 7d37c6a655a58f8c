//! The seed sweep: two stacks transfer data both ways over a faulty simulated link (loss,
//! duplication, reordering, corruption, jitter), and for every seed every byte arrives exactly
//! once and in order, both sides see a clean close, and every socket is eventually freed.
//!
//! `SOCKEYE_SIM_SEEDS=N` sweeps N seeds (default 1000); `SOCKEYE_SIM_SEED=S` reruns seed S alone.
//! A failing seed prints itself.

mod support;

use std::time::Duration;

use sockeye_netstack::sim::{LinkConfig, Outcome, Sim};
use sockeye_netstack::{Counter, Instant, StackConfig};
use support::{Transfer, payload};

/// The link for seed `seed`: fault rates vary with the seed so the sweep covers clean links,
/// light faults and heavy ones.
fn link_for(seed: u64) -> LinkConfig {
    let mut rng = sockeye_netstack::sim::Rng::new(seed.wrapping_mul(0x9e37));
    LinkConfig {
        delay: Duration::from_micros(200 + rng.below(20_000)),
        jitter: Duration::from_micros(rng.below(2_000)),
        loss: rng.unit() * 0.08,
        duplicate: rng.unit() * 0.03,
        reorder: rng.unit() * 0.05,
        reorder_delay: Duration::from_micros(500 + rng.below(10_000)),
        corrupt: rng.unit() * 0.02,
        rate_bps: if rng.chance(0.5) {
            Some(10_000_000 + rng.below(90_000_000))
        } else {
            None
        },
        queue_limit: 20 + rng.below(200) as usize,
    }
}

fn run_seed(seed: u64) -> Result<(u64, u64, u64), String> {
    // TIME_WAIT short enough that a run's cleanup fits in little virtual time.
    let config = StackConfig {
        tcp_timewait_len: 10,
        ..StackConfig::default()
    };
    let link = link_for(seed);
    let mut sim = Sim::new(2, &config, link, seed);
    support::trace_if_asked(&mut sim);
    let mut rng = sockeye_netstack::sim::Rng::new(seed);
    let a = payload(seed, 1 + rng.below(60_000) as usize);
    let b = payload(seed + 1, rng.below(30_000) as usize);
    let mut t = Transfer::start(&mut sim, a.clone(), b.clone());
    t.chunk = 1 + rng.below(20_000) as usize;
    let outcome = t.run(&mut sim, Instant::from_millis(600_000));
    let describe = |t: &Transfer, sim: &Sim| {
        format!(
            "seed {seed}: link {link:?}\n  outcome at {:?}; client sent {}/{} received {}/{} err {:?}; server sent {}/{} received {}/{} err {:?}\n  stats {:?}",
            sim.now,
            t.client.sent,
            a.len(),
            t.client.received.len(),
            b.len(),
            t.client.error,
            t.server.sent,
            b.len(),
            t.server.received.len(),
            a.len(),
            t.server.error,
            sim.stats
        )
    };
    if outcome != Outcome::Done || !t.finished() {
        return Err(format!(
            "did not finish ({outcome:?})\n{}",
            describe(&t, &sim)
        ));
    }
    if t.server.received != a || t.client.received != b {
        let first = |x: &[u8], y: &[u8]| x.iter().zip(y).position(|(p, q)| p != q);
        return Err(format!(
            "bytes differ (server first at {:?}, client first at {:?})\n{}",
            first(&t.server.received, &a),
            first(&t.client.received, &b),
            describe(&t, &sim)
        ));
    }
    // Both ends wind down: FIN_WAIT/LAST_ACK finish, TIME_WAIT expires, memory is freed.
    sim.advance(Duration::from_secs(200));
    let left = (sim.stacks[0].tcp_sockets(), sim.stacks[1].tcp_sockets());
    if left != (0, 1) {
        return Err(format!("sockets left {left:?}\n{}", describe(&t, &sim)));
    }
    let retransmitted = sim
        .stacks
        .iter()
        .map(|s| s.counters().get(Counter::TcpRetransSegs))
        .sum();
    Ok(((a.len() + b.len()) as u64, sim.stats.lost, retransmitted))
}

#[test]
fn seed_sweep() {
    if let Ok(seed) = std::env::var("SOCKEYE_SIM_SEED") {
        let seed: u64 = seed.parse().expect("SOCKEYE_SIM_SEED is a number");
        if let Err(e) = run_seed(seed) {
            panic!("{e}");
        }
        return;
    }
    let seeds: u64 = std::env::var("SOCKEYE_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut failures = Vec::new();
    let mut totals = (0u64, 0u64, 0u64);
    for seed in 0..seeds {
        let result = run_seed(seed);
        if let Ok((bytes, lost, retrans)) = result {
            totals = (totals.0 + bytes, totals.1 + lost, totals.2 + retrans);
        }
        if let Err(e) = result {
            eprintln!(
                "FAILED {e}\n  rerun: SOCKEYE_SIM_SEED={seed} cargo test -p sockeye-netstack --test tcp_sim_seeds"
            );
            failures.push(seed);
        }
    }
    eprintln!(
        "{seeds} seeds: {} payload bytes delivered, {} frames lost on the link, {} segments retransmitted",
        totals.0, totals.1, totals.2
    );
    assert!(
        failures.is_empty(),
        "{} of {seeds} seeds failed: {failures:?}",
        failures.len()
    );
}
