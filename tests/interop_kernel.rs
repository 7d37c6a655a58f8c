//! The Linux kernel interop suite (see `tests/interop/mod.rs`), every case twice: `tap::`
//! with sockeye reaching the kernel through a TAP device, `raw::` through a veth pair and an
//! AF_PACKET socket (`--nic raw:vs`). `cargo test --test interop_kernel tap::` runs one half.
//!
//! Needs root and the suite's tools; without them each test prints "skipped" and passes,
//! except under `CI=true`, where it fails.

#[path = "../nic/tests/common/mod.rs"]
mod common;
mod interop;

/// The suite's cases as tests for one kind of link; `$net` is the second octet of every
/// subnet its labs use.
macro_rules! cases {
    ($nic:expr, $net:expr) => {
        use crate::interop::{self, Nic};

        const NIC: Nic = $nic;
        const NET: u8 = $net;

        #[test]
        fn curl_get_and_post() {
            if interop::can_run("curl_get_and_post") {
                interop::http::curl_routes(NIC, NET, false);
            }
        }

        #[test]
        fn curl_get_and_post_with_loss() {
            if interop::can_run("curl_get_and_post_with_loss") {
                interop::http::curl_routes(NIC, NET, true);
            }
        }

        #[test]
        fn wrk_and_ab_keepalive_load() {
            if interop::can_run("wrk_and_ab_keepalive_load") {
                interop::http::keepalive_load(NIC, NET);
            }
        }

        #[test]
        fn nc_to_echo() {
            if interop::can_run("nc_to_echo") {
                interop::transfer::nc_echo(NIC, NET);
            }
        }

        #[test]
        fn transfers_each_way() {
            if interop::can_run("transfers_each_way") {
                interop::transfer::each_way(NIC, NET, false);
            }
        }

        #[test]
        fn transfers_each_way_with_loss() {
            if interop::can_run("transfers_each_way_with_loss") {
                interop::transfer::each_way(NIC, NET, true);
            }
        }

        #[test]
        fn tokio_examples_over_the_link() {
            if interop::can_run("tokio_examples_over_the_link") {
                interop::apps::tokio_examples(NIC, NET);
            }
        }

        #[test]
        fn syn_flood_with_cookies() {
            if interop::can_run("syn_flood_with_cookies") {
                interop::flood::syn_flood(NIC, NET);
            }
        }
    };
}

/// Through a TAP device.
mod tap {
    cases!(Nic::Tap, 91);
}

/// Through a veth pair and an AF_PACKET socket.
mod raw {
    cases!(Nic::Raw, 92);
}
