//! The net compatibility suite, in the spirit of tokio's `tests/tcp_*.rs`, written so that the
//! same test bodies run on more than one network set-up.
//!
//! A case ([`Case`]) has two bodies, a server side and a client side, each an async function
//! given a [`Side`]: the address of its own stack, the address of the peer's, and a channel to
//! the other body (to hand over a listener's address, report what was seen, or wait for the
//! other to reach a point). A set-up runs the two bodies:
//! - [`run_loopback`]: both on one runtime whose stack sits on the in-process loopback
//!   (`127.0.0.1`), as two tasks;
//! - `run_tap` (in `tap.rs`, root only): two runtimes on two threads, each with its own stack on
//!   a TAP device, the two TAPs joined by a bridge inside a network namespace the test creates,
//!   so every segment crosses the kernel as an Ethernet frame between two sockeye stacks.
//!
//! The bodies know nothing of the set-up beyond the addresses. [`for_each_case!`] lists every
//! case once; each test binary turns the list into one `#[test]` per case for its set-up.
//!
//! A failing body fails the test at once (the other is dropped or told to stop); every run is
//! bounded by [`net::guard`](crate::net::guard)'s deadline, which is never what a test checks.

#![allow(dead_code)]

pub mod framed;
pub mod hyper;
pub mod tcp_accept;
pub mod tcp_io;
pub mod tcp_ready;
pub mod tcp_split;
pub mod tcp_try;
pub mod ttl;
pub mod udp;

use std::any::{Any, type_name};
use std::future::{Future, poll_fn};
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;

use sockeye::runtime::{Builder, Interface};
use sockeye::sync::mpsc;

/// A body's future: `!Send` (sockets are), created on the thread that runs it.
pub type BodyFuture = Pin<Box<dyn Future<Output = ()>>>;

/// A body: called on the thread that runs it, with its side.
pub type Body = Box<dyn FnOnce(Side) -> BodyFuture + Send>;

/// One test: what the server side does and what the client side does.
pub struct Case {
    pub server: Body,
    pub client: Body,
}

impl Case {
    /// A case from two async functions (or closures) taking a [`Side`].
    pub fn new<S, SF, C, CF>(server: S, client: C) -> Case
    where
        S: FnOnce(Side) -> SF + Send + 'static,
        SF: Future<Output = ()> + 'static,
        C: FnOnce(Side) -> CF + Send + 'static,
        CF: Future<Output = ()> + 'static,
    {
        Case {
            server: Box::new(move |side| Box::pin(server(side))),
            client: Box::new(move |side| Box::pin(client(side))),
        }
    }
}

/// A message between the two bodies: any value that can cross threads.
type Message = Box<dyn Any + Send>;

/// What a body knows of the set-up: the addresses of both stacks, and a channel to the other
/// body.
pub struct Side {
    /// The address of this side's stack.
    pub ip: Ipv4Addr,
    /// The address of the other side's stack.
    pub peer_ip: Ipv4Addr,
    tx: mpsc::UnboundedSender<Message>,
    rx: mpsc::UnboundedReceiver<Message>,
}

impl Side {
    /// Two sides with the given addresses, joined by a channel.
    pub fn pair(server_ip: Ipv4Addr, client_ip: Ipv4Addr) -> (Side, Side) {
        let (to_client, from_server) = mpsc::unbounded_channel();
        let (to_server, from_client) = mpsc::unbounded_channel();
        let server = Side {
            ip: server_ip,
            peer_ip: client_ip,
            tx: to_client,
            rx: from_client,
        };
        let client = Side {
            ip: client_ip,
            peer_ip: server_ip,
            tx: to_server,
            rx: from_server,
        };
        (server, client)
    }

    /// This side's address with port 0 (bind to it for an ephemeral port).
    pub fn any_port(&self) -> SocketAddr {
        SocketAddr::from((self.ip, 0))
    }

    /// Whether both sides share one stack on the in-process loopback.
    pub fn on_loopback(&self) -> bool {
        self.ip.is_loopback()
    }

    /// Hands `value` to the other body.
    ///
    /// # Panics
    /// If the other body has ended.
    pub fn send<T: Any + Send>(&self, value: T) {
        if self.tx.send(Box::new(value)).is_err() {
            panic!("the other side ended before taking a {}", type_name::<T>());
        }
    }

    /// The next value the other body sent, which must be a `T`.
    ///
    /// # Panics
    /// If the other body ended without sending one, or sent something else.
    pub async fn recv<T: Any + Send>(&mut self) -> T {
        let Some(message) = self.rx.recv().await else {
            panic!(
                "the other side ended without sending a {}",
                type_name::<T>()
            );
        };
        match message.downcast::<T>() {
            Ok(value) => *value,
            Err(_) => panic!(
                "the other side sent something else than a {}",
                type_name::<T>()
            ),
        }
    }

    /// Waits until the other body calls `sync` too (with the same `step`, checked).
    pub async fn sync(&mut self, step: &'static str) {
        self.send(Step(step));
        let Step(theirs) = self.recv::<Step>().await;
        assert_eq!(theirs, step, "the two sides are at different steps");
    }
}

/// The marker [`Side::sync`] exchanges.
struct Step(&'static str);

/// Runs `case` with both bodies on one runtime over the in-process loopback (`127.0.0.1/8`).
///
/// # Panics
/// With the first body's panic, as soon as it happens.
pub fn run_loopback(case: Case) {
    let rt = Builder::new_current_thread()
        .interface(Interface::loopback())
        .build()
        .expect("a runtime on the loopback");
    let (server_side, client_side) = Side::pair(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST);
    rt.block_on(crate::net::guard(async move {
        let mut server = Some(sockeye::spawn((case.server)(server_side)));
        let mut client = Some(sockeye::spawn((case.client)(client_side)));
        // Whichever ends first: a panic is reported at once; otherwise wait for the other.
        poll_fn(|cx| {
            for slot in [&mut server, &mut client] {
                if let Some(handle) = slot {
                    if let Poll::Ready(result) = Pin::new(handle).poll(cx) {
                        *slot = None;
                        if let Err(err) = result {
                            if err.is_panic() {
                                std::panic::resume_unwind(err.into_panic());
                            }
                            panic!("a side's task ended: {err}");
                        }
                    }
                }
            }
            if server.is_none() && client.is_none() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }));
}

/// Calls `$m!(module::case, ...)` with every case of the suite, so that each set-up's test
/// binary instantiates the same list.
macro_rules! for_each_case {
    ($m:ident) => {
        $m! {
            tcp_accept::bind_forms,
            tcp_accept::addresses_agree,
            tcp_accept::fifty_tasks_wait_in_accept,
            tcp_accept::connect_without_listener_is_refused,
            tcp_accept::dropped_listener_resets_queued_connections,
            tcp_io::echo_1024_messages_with_split_halves,
            tcp_io::shutdown_ends_the_peers_reads_and_copy,
            tcp_io::shutdown_three_times,
            tcp_io::peek_does_not_consume,
            tcp_io::try_read_would_block_when_empty,
            tcp_io::linger_zero_resets,
            tcp_io::large_transfer_both_ways,
            tcp_ready::read_readiness_is_exact,
            tcp_ready::write_readiness_is_exact,
            tcp_ready::ready_reports_closed_directions,
            tcp_split::into_split_and_reunite,
            tcp_split::mismatched_halves_do_not_reunite,
            tcp_split::dropping_the_write_half_sends_fin,
            tcp_try::vectored_reads_and_writes,
            tcp_try::try_read_buf_appends,
            tcp_try::try_io_calls_only_when_ready,
            tcp_try::an_error_after_a_vectored_read_comes_next,
            tcp_try::a_vectored_write_that_fills_the_buffer_leaves_no_error,
            tcp_try::a_vectored_read_that_drains_the_buffer_leaves_no_error,
            ttl::ttl_reaches_the_wire,
            udp::round_trip,
            udp::connected_round_trip,
            udp::poll_forms_ready_and_try_io,
            hyper::http1_request_response,
            hyper::http2_request_response,
            framed::lines_codec_round_trip,
        }
    };
}
pub(crate) use for_each_case;

/// Waits (polling every millisecond) until `done` holds: for state that changes when the
/// runtime moves frames, with no event to wait on. Bounded by the test's guard.
pub async fn wait_until(mut done: impl FnMut() -> bool) {
    while !done() {
        sockeye::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}
