//! The fuzz harnesses for `sockeye-netstack`, shared by the cargo-fuzz targets (`fuzz_targets/`)
//! and by the stable test `netstack/tests/fuzz_smoke.rs`, which includes this file with
//! `#[path]` so CI runs the same interpreters on seeded inputs without nightly.
//!
//! - [`frames`]: a stack holding live TCP connections in several states, a listener and a UDP
//!   socket, next to a real peer stack on the simulator; the input is read as a sequence of
//!   operations (raw and structured frames, time, socket calls), with invariants checked after
//!   each one.
//! - [`wire`]: every wire parser on arbitrary bytes, with emit-then-parse round trips.
//! - [`input`]: the byte reader both use to decode their input.
//!
//! Every module refers to its siblings through `super::`, never `crate::`, so the tree works
//! both as this crate's root and as a module of another crate.

pub mod frames;
pub mod input;
pub mod wire;
