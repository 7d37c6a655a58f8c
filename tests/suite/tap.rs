//! The suite's two-stack set-up over TAP devices: [`run_tap`].
//!
//! Inside a network namespace the test creates (see `nic/tests/common/mod.rs` for the safety
//! rules: the namespace holds only what the test makes, nothing is routed out of it, and it is
//! destroyed with the test's thread), two TAP devices are enslaved to one Linux bridge. Each side
//! of the case runs on a thread of its own, with its own runtime whose stack has one interface:
//! its TAP, with [`SERVER_IP`] or [`CLIENT_IP`]. Every frame between the stacks goes through the
//! kernel (TAP, bridge, TAP) with real checksums, ARP and MTU-sized segments; the kernel itself
//! has no address on the link and takes no part.
//!
//! A side whose body ends keeps its runtime running (retransmitting, answering, closing) until
//! the other side's body has ended too. A side that fails makes the other fail at once.
//!
//! Needs root: without it a test prints "skipped" and passes, except under `CI=true`, where it
//! fails (`common::can_run`).

use std::any::Any;
use std::net::Ipv4Addr;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::thread;

use sockeye::nic::Tap;
use sockeye::runtime::{Builder, Interface};
use sockeye::sync::{Barrier, Notify};

use crate::common;
use crate::suite::{Body, Case, Side};

/// The server side's address (on its TAP).
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 80, 0, 1);
/// The client side's address (on its TAP).
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 80, 0, 2);

const BRIDGE: &str = "skbr0";
const SERVER_TAP: &str = "sktaps";
const CLIENT_TAP: &str = "sktapc";

/// The panic of a side stopped because the other failed (the other's panic is the one
/// reported).
const OTHER_FAILED: &str = "stopped: the other side failed";

/// What the two side threads share.
struct Shared {
    /// Signalled by a side that failed.
    failed: Notify,
    /// Both bodies have ended.
    done: Barrier,
}

/// Runs `case` between two stacks over TAP devices in a new network namespace (see the module
/// docs). `test` names the test in the "skipped" line.
///
/// # Panics
/// With the first failing side's panic; under `CI=true`, without root.
pub fn run_tap(test: &str, case: Case) {
    if !common::can_run(test, &["ip"]) {
        return;
    }
    common::in_netns(move || {
        common::ip(&format!("link add {BRIDGE} type bridge"));
        let _bridge = common::LinkGuard(BRIDGE);
        common::ip(&format!("link set {BRIDGE} up"));
        // The TAPs are in the bridge and up (carrier on: a descriptor is attached) before either
        // side starts; they go away when their runtimes drop them.
        let server_tap = tap_in_bridge(SERVER_TAP);
        let client_tap = tap_in_bridge(CLIENT_TAP);
        let shared = Arc::new(Shared {
            failed: Notify::new(),
            done: Barrier::new(2),
        });
        let (server_side, client_side) = Side::pair(SERVER_IP, CLIENT_IP);
        let netns = common::current_netns();
        let server = spawn_side(
            server_tap,
            SERVER_IP,
            case.server,
            server_side,
            shared.clone(),
            netns.clone(),
        );
        let client = spawn_side(
            client_tap,
            CLIENT_IP,
            case.client,
            client_side,
            shared,
            netns,
        );
        match (server.join(), client.join()) {
            (Ok(()), Ok(())) => {}
            (Err(panic), Ok(())) | (Ok(()), Err(panic)) => resume_unwind(panic),
            (Err(a), Err(b)) => resume_unwind(if stopped_by_other(&*a) { b } else { a }),
        }
    });
}

/// A new TAP named `name`, enslaved to the bridge and up.
fn tap_in_bridge(name: &str) -> Tap {
    let tap = Tap::open(name).unwrap_or_else(|e| panic!("creating the TAP {name}: {e}"));
    common::disable_ipv6(name);
    common::ip(&format!("link set {name} master {BRIDGE}"));
    common::ip(&format!("link set {name} up"));
    tap
}

/// Runs one side on a thread of its own (in the test's namespace, which it checks): a runtime
/// whose only interface is `tap` with `ip/24`, running `body`, then waiting for the other
/// side's body to end.
fn spawn_side(
    tap: Tap,
    ip: Ipv4Addr,
    body: Body,
    side: Side,
    shared: Arc<Shared>,
    netns: String,
) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name(format!("side-{ip}"))
        .spawn(move || {
            assert_eq!(
                common::current_netns(),
                netns,
                "a side outside the namespace"
            );
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let rt = Builder::new_current_thread()
                    .interface(Interface::new(tap, format!("{ip}/24").parse().unwrap()))
                    .build()
                    .expect("a runtime on the TAP");
                rt.block_on(crate::net::guard(async {
                    let other_failed = async {
                        shared.failed.notified().await;
                        panic!("{OTHER_FAILED}");
                    };
                    sockeye::select! {
                        () = async {
                            body(side).await;
                            shared.done.wait().await;
                        } => {}
                        () = other_failed => {}
                    }
                    // The stacks did talk through the TAPs, and nothing went wrong on the way.
                    let counters = sockeye::stack::counters();
                    assert!(counters.by_name("IpInReceives").unwrap() > 0, "{counters}");
                    assert_eq!(counters.by_name("TcpInCsumErrors"), Some(0), "{counters}");
                    let errors = sockeye::stack::device_errors();
                    assert!(errors.iter().all(|e| e.count == 0), "{errors:?}");
                }));
            }));
            if let Err(panic) = outcome {
                shared.failed.notify_one();
                resume_unwind(panic);
            }
        })
        .expect("spawning a side's thread")
}

/// Whether a panic is [`OTHER_FAILED`].
fn stopped_by_other(panic: &(dyn Any + Send)) -> bool {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied());
    message == Some(OTHER_FAILED)
}
