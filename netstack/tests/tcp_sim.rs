//! TCP between two stacks on the deterministic simulator.

mod support;

use std::time::Duration;

use sockeye_netstack::sim::{LinkConfig, Outcome, Sim};
use sockeye_netstack::{Instant, StackConfig, TcpState};
use support::{Transfer, payload};

#[test]
fn clean_link_transfer_both_ways_and_close() {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 1);
    let a = payload(1, 300_000);
    let b = payload(2, 200_000);
    let mut t = Transfer::start(&mut sim, a.clone(), b.clone());
    let outcome = t.run(&mut sim, Instant::from_millis(60_000));
    assert_eq!(
        outcome,
        Outcome::Done,
        "client {:?} server {:?}",
        t.client.error,
        t.server.error
    );
    assert_eq!(t.server.received.len(), a.len());
    assert!(t.server.received == a);
    assert!(t.client.received == b);
    // Everything ends: TIME_WAIT expires, all sockets are freed except the listener.
    sim.advance(Duration::from_secs(120));
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    assert_eq!(sim.stacks[1].tcp_sockets(), 1);
    assert_eq!(
        sim.stacks[1].tcp_state(t.listener).unwrap(),
        TcpState::Listen
    );
}

/// The acceptance run: 100 MB over a link losing 5 % of frames and reordering 3 %, for a few
/// fixed seeds; every byte must arrive in order.
#[test]
fn hundred_megabytes_under_five_percent_loss_with_reordering() {
    for seed in [11, 12, 13] {
        let link = LinkConfig {
            delay: Duration::from_millis(5),
            jitter: Duration::from_micros(300),
            loss: 0.05,
            reorder: 0.03,
            reorder_delay: Duration::from_millis(3),
            rate_bps: Some(1_000_000_000),
            queue_limit: 500,
            ..LinkConfig::default()
        };
        let mut sim = Sim::new(2, &StackConfig::default(), link, seed);
        let data = payload(seed, 100 * 1000 * 1000);
        let mut t = Transfer::start(&mut sim, data, Vec::new());
        t.chunk = 64 * 1024;
        let outcome = t.run(&mut sim, Instant::from_millis(3_600_000));
        assert_eq!(
            outcome,
            Outcome::Done,
            "seed {seed}: {:?} {:?}",
            t.client.error,
            t.server.error
        );
        assert_eq!(
            t.server.received.len(),
            t.client.to_send.len(),
            "seed {seed}"
        );
        assert!(
            t.server.received == t.client.to_send,
            "seed {seed}: bytes differ"
        );
        let retrans = sim.stacks[0]
            .counters()
            .get(sockeye_netstack::Counter::TcpRetransSegs);
        eprintln!(
            "seed {seed}: 100 MB in {:?} virtual, {} frames lost, {} segments retransmitted",
            sim.now, sim.stats.lost, retrans
        );
    }
}
