use super::*;
use crate::Loopback;
use crate::clock::ManualClock;

const MS: Duration = Duration::from_millis(1);

/// A 64-byte frame carrying `n` in its first bytes.
fn frame(n: u32) -> [u8; 64] {
    let mut f = [0u8; 64];
    f[..4].copy_from_slice(&n.to_be_bytes());
    f[63] = n as u8;
    f
}

fn id(f: &[u8]) -> u32 {
    u32::from_be_bytes([f[0], f[1], f[2], f[3]])
}

fn send(dev: &mut dyn Device, bytes: &[u8]) -> bool {
    dev.transmit(bytes.len(), &mut |buf| buf.copy_from_slice(bytes))
        .unwrap()
}

fn receive_ids(dev: &mut dyn Device) -> Vec<u32> {
    let mut ids = Vec::new();
    dev.receive(usize::MAX, &mut |f| ids.push(id(f))).unwrap();
    ids
}

fn impaired(tx: ImpairConfig) -> (Impair<Loopback>, ManualClock) {
    let clock = ManualClock::new();
    let dev = Impair::new(Loopback::with_mtu(1500), clock.clone(), 1).with_tx(tx);
    (dev, clock)
}

#[test]
fn transparent_by_default_and_forwards() {
    let (mut dev, _clock) = impaired(ImpairConfig::new());
    assert!(dev.tx_config().is_transparent() && dev.rx_config().is_transparent());
    assert_eq!(dev.mtu(), 1500);
    assert_eq!(dev.mac(), MacAddr::ZERO);
    assert_eq!(dev.raw_fd(), None);
    assert_eq!(dev.capabilities(), Loopback::new().capabilities());
    assert_eq!(dev.next_poll_in(), None);
    assert_eq!(dev.seed(), 1);
    for n in 0..10 {
        assert!(send(&mut dev, &frame(n)));
    }
    assert_eq!(
        dev.held_tx(),
        0,
        "no impairment: frames leave within transmit"
    );
    assert!(dev.rx_pending());
    assert_eq!(receive_ids(&mut dev), (0..10).collect::<Vec<_>>());
    assert_eq!(dev.tx_stats().passed, 10);
    assert_eq!(dev.rx_stats().passed, 10);
    assert_eq!(dev.rx_stats().frames_in, 10);
    assert!(format!("{dev:?}").contains("seed: 1"));
    assert_eq!(dev.into_inner().stats().tx_frames, 10);
}

#[test]
fn oversize_is_rejected_before_fill() {
    let (mut dev, _clock) = impaired(ImpairConfig::new());
    let mut filled = false;
    let err = dev.transmit(1515, &mut |_| filled = true).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(!filled);
    assert_eq!(dev.tx_stats().frames_in, 0);
}

#[test]
fn corruption_turns_checksum_offload_off() {
    let (dev, _clock) = impaired(ImpairConfig::new().with_corrupt(0.5));
    let caps = dev.capabilities();
    assert!(!caps.rx_checksum_offload && !caps.tx_checksum_offload);
    let clock = ManualClock::new();
    let dev = Impair::new(Loopback::new(), clock, 0)
        .with_rx(ImpairConfig::new().with_corrupt(1.0).with_loss(0.5));
    assert!(!dev.capabilities().rx_checksum_offload);
    let dev = Impair::new(Loopback::new(), ManualClock::new(), 0)
        .with_rx(ImpairConfig::new().with_loss(0.5));
    assert!(
        dev.capabilities().rx_checksum_offload,
        "loss alone keeps offloads"
    );
}

#[test]
fn latency_holds_frames_and_next_poll_in_counts_down() {
    let (mut dev, clock) = impaired(ImpairConfig::new().with_delay(10 * MS, Duration::ZERO));
    send(&mut dev, &frame(1));
    clock.advance(4 * MS);
    send(&mut dev, &frame(2));
    assert_eq!(dev.held_tx(), 2);
    assert_eq!(dev.next_poll_in(), Some(6 * MS));
    dev.flush().unwrap();
    assert!(!dev.inner().rx_pending());
    clock.advance(6 * MS);
    assert_eq!(dev.next_poll_in(), Some(Duration::ZERO));
    dev.flush().unwrap();
    assert_eq!(receive_ids(&mut dev), [1]);
    assert_eq!(dev.next_poll_in(), Some(4 * MS));
    clock.advance(4 * MS);
    dev.flush().unwrap();
    assert_eq!(receive_ids(&mut dev), [2]);
    assert_eq!(dev.next_poll_in(), None);
    assert_eq!(dev.tx_stats().delayed, 2);
}

#[test]
fn reorder_lets_the_next_frame_pass() {
    let (mut dev, clock) = impaired(ImpairConfig::new().with_reorder(1.0, 1));
    // Every frame is held back, so a held frame leaves only after its deadline (nothing is
    // scheduled normally to count down).
    send(&mut dev, &frame(1));
    assert_eq!(dev.held_tx(), 1);
    assert_eq!(dev.next_poll_in(), Some(10 * MS));
    clock.advance(10 * MS);
    assert!(dev.flush().is_ok());
    assert_eq!(receive_ids(&mut dev), [1]);
    assert_eq!(dev.tx_stats().delayed, 1, "a timed-out reorder is a delay");
    assert_eq!(dev.tx_stats().reordered, 0);

    // Distance 2: a held-back frame A lets exactly two frames pass, then leaves.
    dev.set_tx(ImpairConfig::new());
    let held = dev.tx.held.take(64);
    dev.tx.held.frame_mut(held).copy_from_slice(&frame(0xa));
    let now = clock.now();
    dev.tx.held.hold_back(held, now, 2, now + MS, false);
    send(&mut dev, &frame(0xb));
    assert_eq!(
        receive_ids(&mut dev),
        [0xb],
        "A still waits for one more frame"
    );
    send(&mut dev, &frame(0xc));
    assert_eq!(receive_ids(&mut dev), [0xc, 0xa]);
    assert_eq!(dev.tx_stats().reordered, 1);
}

#[test]
fn held_limit_pushes_back_without_loss() {
    let (dev, clock) = impaired(ImpairConfig::new().with_delay(MS, Duration::ZERO));
    let mut dev = dev.with_held_limit(3);
    for n in 0..3 {
        assert!(send(&mut dev, &frame(n)));
    }
    let mut filled = false;
    assert!(!dev.transmit(64, &mut |_| filled = true).unwrap());
    assert!(!filled, "fill is not called when pushing back");
    clock.advance(MS);
    assert!(send(&mut dev, &frame(3)), "due frames made room");
    clock.advance(MS);
    dev.flush().unwrap();
    assert_eq!(receive_ids(dev.inner_mut()), [0, 1, 2, 3]);
    assert_eq!(dev.tx_stats().passed, 4);
    assert_eq!(dev.with_held_limit(0).held_limit, 1);
}

#[test]
fn receive_side_impairments() {
    let clock = ManualClock::new();
    let mut dev = Impair::new(Loopback::new(), clock.clone(), 9)
        .with_rx(ImpairConfig::new().with_delay(5 * MS, Duration::ZERO));
    for n in 0..4 {
        assert!(send(dev.inner_mut(), &frame(n)));
    }
    assert!(dev.rx_pending(), "the inner device has frames");
    assert_eq!(receive_ids(&mut dev), Vec::<u32>::new());
    assert_eq!(dev.held_rx(), 4);
    assert!(!dev.rx_pending());
    assert_eq!(dev.next_poll_in(), Some(5 * MS));
    clock.advance(5 * MS);
    assert!(dev.rx_pending());
    let mut first = Vec::new();
    assert_eq!(dev.receive(3, &mut |f| first.push(id(f))).unwrap(), 3);
    assert_eq!(first, [0, 1, 2]);
    assert_eq!(receive_ids(&mut dev), [3]);
    assert_eq!(dev.rx_stats().delayed, 4);
    assert_eq!(dev.tx_stats().frames_in, 0);
}

#[test]
fn changing_the_rate_mid_run() {
    let (mut dev, clock) = impaired(
        ImpairConfig::new().with_rate(RateLimit::new(8_000).with_burst(0).with_queue_len(100)),
    );
    // 8 kbit/s: 64 bytes take 64 ms.
    send(&mut dev, &frame(0));
    assert_eq!(dev.next_poll_in(), Some(64 * MS));
    // A new, faster rate applies to new frames; the held one keeps its time.
    dev.set_tx(ImpairConfig::new().with_rate(RateLimit::new(8_000_000).with_burst(0)));
    send(&mut dev, &frame(1));
    clock.advance(MS);
    dev.flush().unwrap();
    assert_eq!(receive_ids(&mut dev), [1]);
    clock.advance(63 * MS);
    dev.flush().unwrap();
    assert_eq!(receive_ids(&mut dev), [0]);
}

#[test]
fn receive_stops_pulling_at_the_held_limit() {
    let clock = ManualClock::new();
    let mut dev = Impair::new(Loopback::new(), clock.clone(), 2)
        .with_rx(ImpairConfig::new().with_delay(MS, Duration::ZERO))
        .with_held_limit(3);
    for n in 0..5 {
        send(dev.inner_mut(), &frame(n));
    }
    assert_eq!(receive_ids(&mut dev), Vec::<u32>::new());
    assert_eq!(dev.held_rx(), 3, "pulled up to the limit");
    assert_eq!(
        dev.inner().queued(),
        2,
        "the rest waits in the inner device"
    );
    clock.advance(MS);
    assert_eq!(receive_ids(&mut dev), [0, 1, 2]);
    // The call at 1 ms found no room before handing those out, so the other two are taken from the
    // inner device by the next call, at 2 ms, and are due a millisecond after that.
    assert_eq!(dev.held_rx(), 0);
    clock.advance(MS);
    assert_eq!(receive_ids(&mut dev), Vec::<u32>::new());
    assert_eq!(dev.held_rx(), 2);
    clock.advance(MS);
    assert_eq!(receive_ids(&mut dev), [3, 4]);
}
