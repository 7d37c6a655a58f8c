//! Helpers shared by the `net_*` tests.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// Runs `f` with a generous deadline, so a bug that hangs fails the test instead of the run.
/// The deadline is never what a test checks.
pub async fn guard<F: Future>(f: F) -> F::Output {
    sockeye::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the test hung for 60 s")
}

/// A deterministic byte pattern, different at every offset within a long period.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8 ^ seed)
        .collect()
}
