//! The impairment wrapper under load, on virtual time only (a `ManualClock`; no test sleeps):
//! transparency, the rates of each impairment over many frames, determinism by seed, delay and
//! jitter bounds, rate limiting, back-pressure, burst loss, and (with a counting global allocator)
//! no heap allocation in steady state, for `Impair` and for an impaired `Hub` segment.

use std::time::Duration;

use sockeye_nic::clock::{Clock, ManualClock};
use sockeye_nic::impair::{GilbertElliott, Impair, ImpairConfig, ImpairStats, RateLimit};
use sockeye_nic::{Device, Loopback};

/// This test binary's counting global allocator.
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
/// The steady-state allocation checks, with the counting allocator.
#[path = "impairment/no_alloc.rs"]
mod no_alloc;

const MS: Duration = Duration::from_millis(1);
const US: Duration = Duration::from_micros(1);

/// A frame of `len` bytes (at least 8) carrying `n` in its first four bytes and a pattern after.
fn frame(n: u32, len: usize) -> Vec<u8> {
    let mut f: Vec<u8> = (0..len).map(|i| (i as u32 ^ n) as u8).collect();
    f[..4].copy_from_slice(&n.to_be_bytes());
    f
}

fn id(f: &[u8]) -> u32 {
    u32::from_be_bytes([f[0], f[1], f[2], f[3]])
}

fn send(dev: &mut dyn Device, bytes: &[u8]) -> bool {
    dev.transmit(bytes.len(), &mut |buf| buf.copy_from_slice(bytes))
        .unwrap()
}

/// Everything the device has for receiving now.
fn collect(dev: &mut dyn Device, out: &mut Vec<Vec<u8>>) {
    dev.receive(usize::MAX, &mut |f| out.push(f.to_vec()))
        .unwrap();
}

/// Advances virtual time to each moment the wrapper has something due, flushing it and collecting
/// what reaches the inner loopback (with the time it got there), until nothing is held.
fn drain_tx(dev: &mut Impair<Loopback>, clock: &ManualClock, out: &mut Vec<(Duration, Vec<u8>)>) {
    loop {
        dev.flush().unwrap();
        let now = clock.now();
        dev.inner_mut()
            .receive(usize::MAX, &mut |f| out.push((now, f.to_vec())))
            .unwrap();
        match dev.next_poll_in() {
            Some(wait) => clock.advance(wait),
            None => return,
        }
    }
}

/// Sends `count` frames of 64 bytes through the transmit direction, all at time zero in chunks of
/// 100, and returns what came out of the inner loopback, in order, with the direction's counters.
fn run_tx(config: ImpairConfig, seed: u64, count: u32) -> (Vec<Vec<u8>>, ImpairStats) {
    let clock = ManualClock::new();
    let mut dev = Impair::new(Loopback::new(), clock.clone(), seed).with_tx(config);
    let mut out = Vec::with_capacity(count as usize * 2);
    for n in 0..count {
        assert!(send(&mut dev, &frame(n, 64)));
        if n % 100 == 99 {
            collect(dev.inner_mut(), &mut out);
        }
    }
    let mut timed = Vec::new();
    drain_tx(&mut dev, &clock, &mut timed);
    out.extend(timed.into_iter().map(|(_, f)| f));
    (out, dev.tx_stats())
}

fn assert_rate(what: &str, count: u64, total: u64, low: f64, high: f64) {
    let rate = count as f64 / total as f64;
    assert!(
        (low..=high).contains(&rate),
        "{what}: {count} of {total} = {rate:.4}, expected within [{low}, {high}]"
    );
}

#[test]
fn no_impairment_is_transparent_both_ways() {
    let clock = ManualClock::new();
    let mut dev = Impair::new(Loopback::new(), clock.clone(), 5)
        .with_tx(ImpairConfig::new())
        .with_rx(ImpairConfig::new());
    let sent: Vec<Vec<u8>> = (0..5000)
        .map(|n| frame(n, 14 + (n as usize * 7) % 1500))
        .collect();
    let mut got = Vec::new();
    for (i, f) in sent.iter().enumerate() {
        assert!(send(&mut dev, f));
        if i % 3 == 0 {
            clock.advance(US);
        }
        if i % 50 == 49 {
            collect(&mut dev, &mut got);
        }
    }
    collect(&mut dev, &mut got);
    assert_eq!(got, sent);
    assert_eq!(dev.next_poll_in(), None);
    let (tx, rx) = (dev.tx_stats(), dev.rx_stats());
    assert_eq!(
        (tx.frames_in, tx.passed, rx.frames_in, rx.passed),
        (5000, 5000, 5000, 5000)
    );
    assert_eq!(
        tx.delayed + tx.dropped_loss + tx.duplicated + tx.reordered + tx.corrupted,
        0
    );
}

#[test]
fn loss_rate_is_within_bounds() {
    let (out, stats) = run_tx(ImpairConfig::new().with_loss(0.10), 11, 100_000);
    assert_rate("loss", stats.dropped_loss, 100_000, 0.09, 0.11);
    assert_eq!(out.len() as u64, 100_000 - stats.dropped_loss);
    assert!(
        out.windows(2).all(|w| id(&w[0]) < id(&w[1])),
        "loss keeps order"
    );
}

#[test]
fn duplication_rate_is_within_bounds() {
    let (out, stats) = run_tx(ImpairConfig::new().with_duplicate(0.05), 12, 100_000);
    assert_rate("duplication", stats.duplicated, 100_000, 0.045, 0.055);
    assert_eq!(out.len() as u64, 100_000 + stats.duplicated);
    // With no delay a copy follows its original directly.
    let adjacent = out.windows(2).filter(|w| w[0] == w[1]).count() as u64;
    assert_eq!(adjacent, stats.duplicated);
}

#[test]
fn corruption_flips_exactly_one_bit_at_the_expected_rate() {
    let (out, stats) = run_tx(ImpairConfig::new().with_corrupt(0.05), 13, 100_000);
    assert_eq!(out.len(), 100_000);
    let mut corrupted = 0u64;
    let mut positions = [0u32; 64];
    for (n, got) in out.iter().enumerate() {
        let sent = frame(n as u32, 64);
        let flipped: u32 = sent
            .iter()
            .zip(got)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        assert!(flipped <= 1, "frame {n}: {flipped} bits flipped");
        if flipped == 1 {
            corrupted += 1;
            positions[sent.iter().zip(got).position(|(a, b)| a != b).unwrap()] += 1;
        }
    }
    assert_eq!(corrupted, stats.corrupted);
    assert_rate("corruption", corrupted, 100_000, 0.045, 0.055);
    // Anywhere in the frame, headers included.
    assert!(positions.iter().all(|&hits| hits > 0), "{positions:?}");
}

#[test]
fn reordering_rate_is_within_bounds() {
    let (out, stats) = run_tx(ImpairConfig::new().with_reorder(0.05, 1), 14, 100_000);
    assert_eq!(out.len(), 100_000, "reordering loses nothing");
    let mut ids: Vec<u32> = out.iter().map(|f| id(f)).collect();
    // A frame arriving after one sent later was reordered.
    let mut highest = None;
    let mut late = 0u64;
    for &n in &ids {
        if highest.is_some_and(|h| n < h) {
            late += 1;
        }
        highest = highest.max(Some(n));
    }
    assert_eq!(late, stats.reordered);
    assert_rate("reordering", stats.reordered, 100_000, 0.045, 0.055);
    ids.sort_unstable();
    assert!(ids.iter().enumerate().all(|(i, &n)| i as u32 == n));
}

#[test]
fn same_seed_same_output_different_seed_differs() {
    let config = ImpairConfig::new()
        .with_loss(0.05)
        .with_burst_loss(GilbertElliott::new(0.01, 0.3))
        .with_duplicate(0.03)
        .with_corrupt(0.02)
        .with_reorder(0.04, 2)
        .with_delay(2 * MS, 3 * MS)
        .with_rate(RateLimit::new(500_000_000).with_queue_len(50));
    let run = |seed: u64| {
        let clock = ManualClock::new();
        let mut dev = Impair::new(Loopback::new(), clock.clone(), seed)
            .with_tx(config.clone())
            .with_rx(config.clone());
        let mut out = Vec::new();
        for n in 0..20_000u32 {
            send(&mut dev, &frame(n, 64 + (n as usize % 700)));
            clock.advance(US * (n % 37));
            if n % 20 == 0 {
                dev.flush().unwrap();
                let now = clock.now();
                dev.receive(64, &mut |f| out.push((now, f.to_vec())))
                    .unwrap();
            }
        }
        while let Some(wait) = dev.next_poll_in() {
            clock.advance(wait);
            dev.flush().unwrap();
            let now = clock.now();
            dev.receive(64, &mut |f| out.push((now, f.to_vec())))
                .unwrap();
        }
        (out, dev.tx_stats(), dev.rx_stats())
    };
    let first = run(42);
    let again = run(42);
    assert!(first.0.len() > 15_000, "{}", first.0.len());
    assert!(
        first.0 == again.0,
        "same seed, same frames at the same times"
    );
    assert_eq!((first.1, first.2), (again.1, again.2));
    let other = run(43);
    assert!(first.0 != other.0, "another seed gives other faults");
}

#[test]
fn delay_nothing_before_latency_everything_after() {
    // Transmit direction.
    let clock = ManualClock::new();
    let latency = 20 * MS;
    let mut dev = Impair::new(Loopback::new(), clock.clone(), 1)
        .with_tx(ImpairConfig::new().with_delay(latency, Duration::ZERO));
    for n in 0..100 {
        send(&mut dev, &frame(n, 100));
    }
    clock.advance(latency - Duration::from_nanos(1));
    dev.flush().unwrap();
    assert!(!dev.inner().rx_pending(), "nothing before the latency");
    assert_eq!(dev.next_poll_in(), Some(Duration::from_nanos(1)));
    clock.advance(Duration::from_nanos(1));
    dev.flush().unwrap();
    let mut out = Vec::new();
    collect(dev.inner_mut(), &mut out);
    assert_eq!(out, (0..100).map(|n| frame(n, 100)).collect::<Vec<_>>());
    assert_eq!(dev.tx_stats().delayed, 100);

    // Receive direction.
    let mut dev = Impair::new(Loopback::new(), clock.clone(), 1)
        .with_rx(ImpairConfig::new().with_delay(latency, Duration::ZERO));
    for n in 0..100 {
        send(dev.inner_mut(), &frame(n, 100));
    }
    let mut out = Vec::new();
    collect(&mut dev, &mut out);
    clock.advance(latency - Duration::from_nanos(1));
    assert!(!dev.rx_pending());
    collect(&mut dev, &mut out);
    assert!(out.is_empty(), "nothing receivable before the latency");
    clock.advance(Duration::from_nanos(1));
    assert!(dev.rx_pending());
    collect(&mut dev, &mut out);
    assert_eq!(out.len(), 100);
    assert!(!dev.rx_pending());
}

#[test]
fn jitter_keeps_every_delay_within_bounds() {
    let clock = ManualClock::new();
    let (latency, jitter) = (10 * MS, 5 * MS);
    let mut dev = Impair::new(Loopback::new(), clock.clone(), 3)
        .with_tx(ImpairConfig::new().with_delay(latency, jitter));
    let mut sent_at = Vec::new();
    let mut out = Vec::new();
    for n in 0..2000 {
        sent_at.push(clock.now());
        send(&mut dev, &frame(n, 64));
        clock.advance(10 * US);
        dev.flush().unwrap();
        let now = clock.now();
        dev.inner_mut()
            .receive(usize::MAX, &mut |f| out.push((now, id(f))))
            .unwrap();
    }
    let mut tail = Vec::new();
    drain_tx(&mut dev, &clock, &mut tail);
    out.extend(tail.iter().map(|(at, f)| (*at, id(f))));
    assert_eq!(out.len(), 2000);
    let mut delays: Vec<Duration> = Vec::new();
    // Frames seen while sending were looked for every 10 us, so may be seen up to 10 us late.
    for &(at, n) in &out {
        let delay = at - sent_at[n as usize];
        assert!(delay >= latency, "frame {n}: {delay:?}");
        assert!(delay <= latency + jitter + 10 * US, "frame {n}: {delay:?}");
        delays.push(delay);
    }
    let min = delays.iter().min().unwrap();
    let max = delays.iter().max().unwrap();
    assert!(
        *min < latency + MS && *max > latency + jitter - MS,
        "{min:?} {max:?}"
    );
}

#[test]
fn jitter_release_times_are_exact() {
    // Stepping exactly to `next_poll_in` shows each frame's exact release time.
    let clock = ManualClock::new();
    let (latency, jitter) = (10 * MS, 5 * MS);
    let mut dev = Impair::new(Loopback::new(), clock.clone(), 4)
        .with_tx(ImpairConfig::new().with_delay(latency, jitter));
    for n in 0..1000 {
        send(&mut dev, &frame(n, 64));
    }
    let mut out = Vec::new();
    drain_tx(&mut dev, &clock, &mut out);
    assert_eq!(out.len(), 1000);
    let mut reordered = 0;
    for (i, (at, f)) in out.iter().enumerate() {
        assert!(*at >= latency && *at <= latency + jitter, "{at:?}");
        reordered += usize::from(i as u32 != id(f));
    }
    assert!(
        reordered > 0,
        "jitter reorders frames sent together, like netem"
    );
    assert!(out.first().unwrap().0 < latency + 50 * US);
    assert!(out.last().unwrap().0 > latency + jitter - 50 * US);
}

#[test]
fn rate_limit_paces_frames() {
    // 1 Mbit/s, a one-frame burst: 1000 frames of 1250 bytes (10 Mbit) take about 10 s.
    let clock = ManualClock::new();
    let rate = RateLimit::new(1_000_000).with_burst(1250);
    let mut dev =
        Impair::new(Loopback::new(), clock.clone(), 6).with_tx(ImpairConfig::new().with_rate(rate));
    for n in 0..1000 {
        assert!(send(&mut dev, &frame(n, 1250)));
    }
    let mut out = Vec::new();
    drain_tx(&mut dev, &clock, &mut out);
    assert_eq!(out.len(), 1000);
    let last = out.last().unwrap().0;
    assert!(
        last >= Duration::from_millis(9900) && last <= Duration::from_secs(10),
        "{last:?}"
    );
    for pair in out.windows(2) {
        assert_eq!(pair[1].0 - pair[0].0, 10 * MS, "one frame per 10 ms");
    }
    let stats = dev.tx_stats();
    assert_eq!(
        (stats.passed, stats.dropped_queue_full, stats.delayed),
        (1000, 0, 999)
    );
}

#[test]
fn rate_limit_full_queue_drops_and_counts() {
    let clock = ManualClock::new();
    let rate = RateLimit::new(1_000_000)
        .with_burst(1250)
        .with_queue_len(10);
    let mut dev =
        Impair::new(Loopback::new(), clock.clone(), 6).with_tx(ImpairConfig::new().with_rate(rate));
    for n in 0..100 {
        assert!(
            send(&mut dev, &frame(n, 1250)),
            "a full rate queue drops, never pushes back"
        );
    }
    // One frame leaves at once on the burst, ten wait, the other 89 are dropped.
    assert_eq!(dev.tx_stats().dropped_queue_full, 89);
    let mut out = Vec::new();
    drain_tx(&mut dev, &clock, &mut out);
    let ids: Vec<u32> = out.iter().map(|(_, f)| id(f)).collect();
    assert_eq!(ids, (0..11).collect::<Vec<_>>());
}

#[test]
fn back_pressure_loses_nothing() {
    let clock = ManualClock::new();
    let inner = Loopback::new().with_queue_len(2);
    let mut dev = Impair::new(inner, clock.clone(), 8).with_tx(
        ImpairConfig::new()
            .with_delay(MS, 2 * MS)
            .with_duplicate(0.1),
    );
    for n in 0..300 {
        assert!(send(&mut dev, &frame(n, 64)));
        clock.advance(10 * US);
    }
    let mut out = Vec::new();
    let mut blocked_seen = false;
    for _ in 0..100_000 {
        dev.flush().unwrap();
        // Take one frame at a time: the inner queue of two is full most of the time.
        dev.inner_mut()
            .receive(1, &mut |f| out.push(id(f)))
            .unwrap();
        match dev.next_poll_in() {
            Some(Duration::ZERO) => blocked_seen = true,
            Some(wait) => clock.advance(wait),
            None if !dev.inner().rx_pending() => break,
            None => {}
        }
    }
    let stats = dev.tx_stats();
    assert!(blocked_seen, "the inner device pushed back");
    assert!(dev.inner().stats().tx_dropped_full > 0);
    assert_eq!(
        out.len() as u64,
        300 + stats.duplicated,
        "every frame and copy arrived"
    );
    assert_eq!(stats.passed, out.len() as u64);
    let mut unique = out.clone();
    unique.dedup();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique, (0..300).collect::<Vec<_>>());
}

/// Mean length of the runs of consecutive lost frames in a loss run over `count` frames.
fn mean_loss_run(config: ImpairConfig, count: u32) -> (f64, u64) {
    let (out, stats) = run_tx(config, 21, count);
    let mut runs = 0u64;
    let mut next = 0u32;
    for f in &out {
        if id(f) > next {
            runs += 1;
        }
        next = id(f) + 1;
    }
    if next < count {
        runs += 1;
    }
    (stats.dropped_loss as f64 / runs as f64, stats.dropped_loss)
}

#[test]
fn gilbert_elliott_loses_in_bursts() {
    // Long-run loss 0.02 / (0.02 + 0.25) = 7.4 %, in runs of 1 / 0.25 = 4 frames on average.
    let model = GilbertElliott::new(0.02, 0.25);
    let (mean_run, lost) = mean_loss_run(ImpairConfig::new().with_burst_loss(model), 100_000);
    assert_rate("burst loss", lost, 100_000, 0.06, 0.09);
    assert!((3.0..5.0).contains(&mean_run), "mean burst {mean_run}");
    // Independent loss at the same rate has runs barely longer than one frame.
    let (independent, _) = mean_loss_run(ImpairConfig::new().with_loss(0.074), 100_000);
    assert!(independent < 1.2, "{independent}");
    // A lossy good state adds isolated losses.
    let lossy = GilbertElliott::new(0.0, 1.0).with_loss(1.0, 0.1);
    let (_, lost) = mean_loss_run(ImpairConfig::new().with_burst_loss(lossy), 10_000);
    assert_rate("good-state loss", lost, 10_000, 0.08, 0.12);
}

#[test]
fn receive_direction_impairs_too() {
    let clock = ManualClock::new();
    let mut dev = Impair::new(Loopback::new(), clock.clone(), 31)
        .with_rx(ImpairConfig::new().with_loss(0.1).with_duplicate(0.1));
    let mut out = Vec::new();
    for n in 0..50_000 {
        send(dev.inner_mut(), &frame(n, 64));
        if n % 100 == 99 {
            collect(&mut dev, &mut out);
        }
    }
    let stats = dev.rx_stats();
    assert_eq!(dev.tx_stats(), ImpairStats::default());
    assert_rate("rx loss", stats.dropped_loss, 50_000, 0.09, 0.11);
    assert_rate("rx duplication", stats.duplicated, 45_000, 0.09, 0.11);
    assert_eq!(
        out.len() as u64,
        50_000 - stats.dropped_loss + stats.duplicated
    );
    assert_eq!(stats.passed, out.len() as u64);
}
