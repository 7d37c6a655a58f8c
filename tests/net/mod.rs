//! Helpers shared by the `net_*` tests.

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
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

/// A path for a test's file, in a directory of this process's own under the system's temporary
/// directory.
pub fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sockeye-net-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The frames of a classic pcap file (little-endian, as the runtime's capture writes it).
pub fn pcap_records(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() >= 24, "a pcap header");
    let magic = u32::from_le_bytes(bytes[..4].try_into().unwrap());
    assert!(
        magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d,
        "pcap magic {magic:#x}"
    );
    let mut frames = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        frames.push(bytes[off + 16..off + 16 + incl].to_vec());
        off += 16 + incl;
    }
    assert_eq!(off, bytes.len(), "whole records");
    frames
}
