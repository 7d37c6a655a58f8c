//! Checks with a counting global allocator that the loopback device makes no heap allocation at
//! all (buffers, queue ring, free list) once traffic has warmed it up.

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::allocations;
use sockeye_nic::{Device, Loopback};

/// Sends `burst` frames of the given sizes, then receives them all, checking their first byte.
fn burst(dev: &mut dyn Device, sizes: &[usize], burst: usize, seed: u8) {
    for i in 0..burst {
        let len = sizes[i % sizes.len()];
        let tag = seed.wrapping_add(i as u8);
        assert!(dev.transmit(len, &mut |buf| buf.fill(tag)).unwrap());
    }
    let mut next = 0;
    let n = dev
        .receive(burst, &mut |frame| {
            assert_eq!(frame.len(), sizes[next % sizes.len()]);
            assert!(frame.iter().all(|&b| b == seed.wrapping_add(next as u8)));
            next += 1;
        })
        .unwrap();
    assert_eq!(n, burst);
}

#[test]
fn steady_state_makes_no_heap_allocation() {
    // Every frame in a burst has the same size, so each pooled buffer reaches its final capacity
    // during warm-up whichever order the free list hands buffers out in.
    let sizes = [1514];
    let mut lo = Loopback::new();
    let start = allocations();
    for round in 0..4 {
        burst(&mut lo, &sizes, 64, round);
    }
    let before = allocations();
    assert!(
        before - start >= 64,
        "the counter sees the warm-up's buffers"
    );
    for round in 0..(10_000 / 50) {
        burst(&mut lo, &sizes, 50, round as u8);
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations while moving 10,000 frames"
    );
    assert_eq!(lo.stats().rx_frames, 4 * 64 + 10_000);
}
