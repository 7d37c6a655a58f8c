//! Temporary files and reading pcap files back, for the pcap tests: the integration tests in
//! `tests/pcap_files.rs` and the unit tests in `src/pcap/tests.rs` (both through `#[path]`). Uses
//! only `std` and `pcap-file`, a dependency of `sockeye-nic`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapReader};

/// A file in the temporary directory, removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(name: &str) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let file = format!("sockeye-nic-test-{}-{n}-{name}", std::process::id());
        TempFile(std::env::temp_dir().join(file))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The header of the pcap file at `path`, and its frames with their timestamps.
pub fn read_pcap(path: &Path) -> (PcapHeader, Vec<(Duration, Vec<u8>)>) {
    let mut reader = PcapReader::new(File::open(path).unwrap()).unwrap();
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.unwrap();
        frames.push((packet.timestamp, packet.data.into_owned()));
    }
    (reader.header(), frames)
}
