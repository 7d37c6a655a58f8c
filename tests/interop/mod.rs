//! The Linux kernel interop suite: the example programs (`http`, `echo`, `client`) on
//! sockeye's stack, against the kernel's own TCP and its everyday tools (curl, wrk, nc,
//! `python3 -m http.server`, hping3), through a TAP device and through a veth pair with an
//! AF_PACKET socket. `tests/interop_kernel.rs` runs every case over both (`tap::`, `raw::`):
//!
//! - [`http`]: curl `GET /`, `GET /bytes/50000000` (SHA-256 checked) and `POST /echo` of 10 MB
//!   (checked), also with 5 % random loss on the kernel's side; wrk (HTTP/1.1) and ab
//!   (HTTP/1.0) with 100 keep-alive connections: no error, no non-2xx answer, one connection
//!   each;
//! - [`transfer`]: nc to `echo`; sockeye's `client` fetching 100 MB from
//!   `python3 -m http.server` and sending 100 MB to `nc -l`, both checked by SHA-256, also with
//!   5 % random loss;
//! - [`flood`]: a SYN flood from the kernel's side (hping3) while curl keeps succeeding; the
//!   listener's stats show the SYN cookies sent and the ones that came back.
//!
//! Every example writes a capture, and every capture goes through tshark: no malformed frame,
//! no bad checksum ([`tools::check_capture`]). At the end of each case the kernel's counters
//! must show no bad header or checksum from sockeye, and sockeye's (from `GET /stats`) none from
//! the kernel.
//!
//! Each case runs in a network namespace of its own ([`lab`], which states the safety rules);
//! cases run in parallel. Every program has a deadline ([`process`]), so a stuck case fails
//! instead of hanging. The cases need root and the tools in [`TOOLS`]: without them a case
//! prints "skipped" and passes, except under `CI=true`, where it fails.
//!
//! The example binaries are the ones `cargo test` builds next to the test binaries
//! (`target/<profile>/examples/`); `cargo test --test interop_kernel` alone does not build
//! them, so run `cargo build --examples` first in that case.
//!
//! Sizes are the ones the issue names. A debug build moves them quickly enough over both
//! links (about 30 to 75 MB/s without loss), so the stack needs no optimisation for tests.

pub mod apps;
pub mod flood;
pub mod http;
pub mod lab;
pub mod process;
pub mod tools;
pub mod transfer;

pub use lab::Nic;

/// The commands the suite runs.
pub const TOOLS: &[&str] = &[
    "ip", "ss", "sh", "timeout", "ethtool", "iptables", "curl", "wrk", "ab", "nc", "python3",
    "hping3", "tshark",
];

/// The random loss of the lossy cases, per frame and direction.
pub const LOSS: f64 = 0.05;

/// Whether case `test` can run (root and [`TOOLS`]); see `common::can_run`.
pub fn can_run(test: &str) -> bool {
    crate::common::can_run(test, TOOLS)
}
