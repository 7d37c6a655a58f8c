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

#[test]
#[ignore]
fn debug_small() {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 1);
    let count = std::rc::Rc::new(std::cell::Cell::new(0));
    let c2 = count.clone();
    sim.set_tap(move |from, frame| {
        c2.set(c2.get() + 1);
        if c2.get() > 400 && c2.get() % 1000 != 0 {
            return;
        }
        if let Ok(p) = etherparse::SlicedPacket::from_ethernet(frame) {
            if let Some(etherparse::TransportSlice::Tcp(t)) = p.transport {
                eprintln!(
                    "{from}: {}>{} seq {} ack {} syn {} ack {} fin {} rst {} win {} len {}",
                    t.source_port(),
                    t.destination_port(),
                    t.sequence_number(),
                    t.acknowledgment_number(),
                    t.syn(),
                    t.ack(),
                    t.fin(),
                    t.rst(),
                    t.window_size(),
                    t.payload().len()
                );
            } else {
                eprintln!("{from}: other {}", frame.len());
            }
        }
    });
    let mut t = Transfer::start(&mut sim, payload(1, 300_000), payload(2, 200_000));
    let outcome = t.run(&mut sim, Instant::from_millis(10_000));
    eprintln!(
        "{outcome:?} {:?} {} {} now {:?}",
        sim.stats,
        t.server.received.len(),
        t.client.received.len(),
        sim.now
    );
}
