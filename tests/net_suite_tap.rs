//! The net compatibility suite (`suite/`) between two sockeye stacks over TAP devices: each
//! side of every case runs on its own thread and runtime, with its own stack on a TAP, the two
//! TAPs bridged inside a network namespace the test creates (`suite/tap.rs`). The same cases run
//! on the in-process loopback in `net_suite_loopback.rs`.
//!
//! Needs root; without it the tests print "skipped" and pass, except under `CI=true`, where they
//! fail.

#[path = "../nic/tests/common/mod.rs"]
mod common;
mod net;
mod suite;
#[path = "suite/tap.rs"]
mod tap;

/// One `#[test]` per case, run by `tap::run_tap`.
macro_rules! tap_tests {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                tap::run_tap(stringify!($case), suite::$module::$case());
            }
        )*
    };
}

suite::for_each_case!(tap_tests);
