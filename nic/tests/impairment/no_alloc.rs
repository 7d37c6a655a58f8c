//! No heap allocation in steady state, checked with a counting global allocator: for `Impair`
//! with every kind of impairment at once, and for two stacks' worth of traffic on an impaired
//! `Hub` segment.

use std::time::Duration;

use sockeye_nic::clock::{Clock, ManualClock};
use sockeye_nic::impair::{Impair, ImpairConfig, RateLimit};
use sockeye_nic::{Device, Hub, Loopback, MacAddr};

use crate::counting_alloc::allocations;

const MS: Duration = Duration::from_millis(1);

/// Sends `burst` 1514-byte frames at one instant, advances time by 1 ms and moves everything due.
fn impaired_round(dev: &mut Impair<Loopback>, clock: &ManualClock, burst: u32, tag: u32) -> usize {
    for n in 0..burst {
        assert!(
            dev.transmit(1514, &mut |buf| buf[..4]
                .copy_from_slice(&(tag + n).to_be_bytes()))
                .unwrap()
        );
    }
    clock.advance(MS);
    dev.flush().unwrap();
    dev.receive(usize::MAX, &mut |f| assert_eq!(f.len(), 1514))
        .unwrap()
}

#[test]
fn impair_steady_state_makes_no_heap_allocation() {
    let clock = ManualClock::new();
    let config = ImpairConfig::new()
        .with_loss(0.05)
        .with_duplicate(0.05)
        .with_corrupt(0.05)
        .with_reorder(0.05, 1)
        .with_delay(3 * MS, Duration::ZERO)
        .with_rate(RateLimit::new(10_000_000_000));
    let mut dev = Impair::new(Loopback::with_mtu(1500), clock.clone(), 77)
        .with_tx(config.clone())
        .with_rx(config);
    // Warm-up with bursts four times larger than the measured ones.
    for round in 0..50 {
        impaired_round(&mut dev, &clock, 64, round * 64);
    }
    let before = allocations();
    let mut received = 0;
    for round in 0..1000 {
        received += impaired_round(&mut dev, &clock, 16, round * 16);
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations while moving 16,000 frames"
    );
    assert!(received > 14_000, "{received}");
}

#[test]
fn impaired_hub_steady_state_makes_no_heap_allocation() {
    let clock = ManualClock::new();
    let hub = Hub::new().with_checksum_offload(false);
    let (a_mac, b_mac) = (MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]));
    let wan = ImpairConfig::new()
        .with_loss(0.02)
        .with_delay(2 * MS, Duration::ZERO);
    let mut a = Impair::new(hub.port(a_mac), clock.clone(), 1).with_tx(wan.clone());
    let mut b = Impair::new(hub.port(b_mac), clock.clone(), 2).with_tx(wan);
    let mut round = |burst: usize| {
        for _ in 0..burst {
            a.transmit(600, &mut |buf| {
                buf[..6].copy_from_slice(&b_mac.0);
                buf[6..12].copy_from_slice(&a_mac.0);
            })
            .unwrap();
            b.transmit(600, &mut |buf| {
                buf[..6].copy_from_slice(&a_mac.0);
                buf[6..12].copy_from_slice(&b_mac.0);
            })
            .unwrap();
        }
        clock.advance(MS);
        a.flush().unwrap();
        b.flush().unwrap();
        let mut got = 0;
        got += a
            .receive(usize::MAX, &mut |f| assert_eq!(f[..6], a_mac.0))
            .unwrap();
        got += b
            .receive(usize::MAX, &mut |f| assert_eq!(f[..6], b_mac.0))
            .unwrap();
        got
    };
    for _ in 0..50 {
        round(64);
    }
    let before = allocations();
    let mut got = 0;
    for _ in 0..1000 {
        got += round(16);
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations while moving 32,000 frames"
    );
    assert!(got > 30_000, "{got}");
    assert_eq!(hub.port_count(), 2);
    assert!(clock.now() > Duration::from_secs(1));
}
