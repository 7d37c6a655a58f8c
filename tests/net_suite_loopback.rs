//! The net compatibility suite (`suite/`) on the in-process loopback: both sides of every case
//! run as tasks of one runtime whose stack has `127.0.0.1/8` on a `Loopback` device. The same
//! cases run between two stacks over TAP devices in `net_suite_tap.rs`.

mod net;
mod suite;

/// One `#[test]` per case, run by `suite::run_loopback`.
macro_rules! loopback_tests {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                suite::run_loopback(suite::$module::$case());
            }
        )*
    };
}

suite::for_each_case!(loopback_tests);
