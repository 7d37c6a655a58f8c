//! `TCP_NOTSENT_LOWAT` and the `tcp_notsent_lowat` sysctl, on the deterministic simulator:
//!
//! - a write takes bytes only up to the mark of unsent bytes, however much room the send buffer
//!   has, and then says `Pending`; sending them (before any ACK could come back) wakes the writer,
//!   and the next write takes up to the mark again;
//! - write readiness follows the same rule (ready again under half the mark), and a task waiting
//!   on readiness after a write that filled the mark exactly is woken by the send too;
//! - the socket's own mark overrides the sysctl, 0 goes back to it, and accepted connections
//!   inherit a listener's;
//! - a transfer through a lossy link with a tiny mark arrives whole, and the unsent bytes never
//!   exceed the mark on the way.

#[path = "support/apps.rs"]
mod apps;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use apps::ms;
use sockeye_netstack::StackConfig;
use sockeye_netstack::sim::{LinkConfig, Sim};
use support::payload;

/// A waker counting its wakes.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn link() -> LinkConfig {
    LinkConfig {
        delay: ms(5),
        rate_bps: Some(100_000_000),
        ..LinkConfig::default()
    }
}

#[test]
fn a_write_stops_at_the_mark_and_the_writer_is_woken_once_the_bytes_are_sent() {
    let mut sim = Sim::new(2, &StackConfig::default(), link(), 3);
    let l = apps::listen(&mut sim, 1, 80, 8);
    let (c, _s) = apps::establish(&mut sim, 0, 1, l, 80);
    sim.stacks[0].tcp_set_notsent_lowat(c, 10_000).unwrap();
    // Nagle would hold the last, short segment back until an ACK.
    sim.stacks[0].tcp_set_nodelay(c, true).unwrap();
    assert_eq!(sim.stacks[0].tcp_notsent_lowat(c).unwrap(), 10_000);
    let info = sim.stacks[0].tcp_info(c).unwrap();
    assert!(
        info.buffer_limits.1 > 10_000,
        "the send buffer is not what limits"
    );

    let wakes = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&wakes));
    let mut cx = Context::from_waker(&waker);
    let data = payload(1, 50_000);
    let first = match sim.stacks[0].tcp_poll_write(c, &mut cx, &data) {
        Poll::Ready(Ok(n)) => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(first, 10_000, "the write copies up to the mark");
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().notsent_bytes, 10_000);
    assert!(
        sim.stacks[0]
            .tcp_poll_write(c, &mut cx, &data[first..])
            .is_pending()
    );
    assert!(
        sim.stacks[0].tcp_poll_write_ready(c, &mut cx).is_pending(),
        "not writable at the mark"
    );
    assert_eq!(wakes.0.load(Ordering::Relaxed), 0);

    // The initial window (10 segments) sends all 10,000 bytes at once: the writer is woken by
    // that, 1 ms later, well before an ACK can come back (10 ms round trip).
    let sent_at = sim.now;
    apps::run_until(&mut sim, ms(1), |sim| sim.now >= sent_at + ms(1));
    let info = sim.stacks[0].tcp_info(c).unwrap();
    assert_eq!(info.notsent_bytes, 0);
    assert_eq!(info.send_queued, 10_000, "nothing is acknowledged yet");
    assert!(
        wakes.0.load(Ordering::Relaxed) >= 1,
        "the send woke the writer"
    );
    assert!(sim.stacks[0].tcp_poll_write_ready(c, &mut cx).is_ready());
    assert_eq!(
        apps::write_now(&mut sim.stacks[0], c, &data[first..]).unwrap(),
        10_000,
        "the next write takes up to the mark again"
    );
}

/// The tokio pattern: a write fills the unsent bytes exactly to the mark (and succeeds), then
/// the task waits on write readiness; the flush that sends the bytes wakes it, before any ACK.
#[test]
fn a_task_waiting_on_readiness_is_woken_by_the_send() {
    let mut sim = Sim::new(2, &StackConfig::default(), link(), 7);
    let l = apps::listen(&mut sim, 1, 80, 8);
    let (c, _s) = apps::establish(&mut sim, 0, 1, l, 80);
    sim.stacks[0].tcp_set_notsent_lowat(c, 10_000).unwrap();
    sim.stacks[0].tcp_set_nodelay(c, true).unwrap();
    let wakes = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&wakes));
    let mut cx = Context::from_waker(&waker);
    let data = payload(8, 10_000);
    assert!(matches!(
        sim.stacks[0].tcp_poll_write(c, &mut cx, &data),
        Poll::Ready(Ok(10_000))
    ));
    assert!(sim.stacks[0].tcp_poll_write_ready(c, &mut cx).is_pending());
    let sent_at = sim.now;
    apps::run_until(&mut sim, ms(1), |sim| sim.now >= sent_at + ms(1));
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().notsent_bytes, 0);
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().send_queued, 10_000);
    assert!(
        wakes.0.load(Ordering::Relaxed) >= 1,
        "the waiter was woken by the send, not left for the ACK"
    );
    assert!(sim.stacks[0].tcp_poll_write_ready(c, &mut cx).is_ready());
}

#[test]
fn readiness_comes_back_under_half_the_mark() {
    // A tiny window on the receiver keeps unsent bytes in the sender's queue.
    let mut sim = Sim::new(2, &StackConfig::default(), link(), 4);
    let l = apps::listen(&mut sim, 1, 80, 8);
    sim.stacks[1].tcp_set_recv_buffer_size(l, 4096).unwrap();
    let (c, s) = apps::establish(&mut sim, 0, 1, l, 80);
    sim.stacks[0].tcp_set_notsent_lowat(c, 8_000).unwrap();
    let data = payload(2, 64_000);
    let mut cx = apps::cx();
    let mut sent = apps::write_now(&mut sim.stacks[0], c, &data).unwrap();
    assert_eq!(sent, 8_000);
    let mut got = Vec::new();
    let mut saw_blocked_under_mark = false;
    let ok = apps::run_until(&mut sim, ms(20_000), |sim| {
        let _ = apps::drain(&mut sim.stacks[1], s, &mut got);
        let info = sim.stacks[0].tcp_info(c).unwrap();
        assert!(info.notsent_bytes <= 8_000, "{} unsent", info.notsent_bytes);
        let ready = sim.stacks[0].tcp_poll_write_ready(c, &mut cx).is_ready();
        // Blocked writers wait for half the mark: between 4,000 and 8,000 unsent, not ready.
        if info.notsent_bytes >= 4_000 {
            assert!(!ready, "ready with {} unsent", info.notsent_bytes);
            saw_blocked_under_mark |= info.notsent_bytes < 8_000;
        } else {
            assert!(ready, "not ready with {} unsent", info.notsent_bytes);
            sent += apps::write_now(&mut sim.stacks[0], c, &data[sent..]).unwrap();
        }
        got.len() == data.len()
    });
    assert!(ok && got == data);
    assert!(
        saw_blocked_under_mark,
        "the half-mark rule was never exercised"
    );
}

#[test]
fn the_socket_mark_overrides_the_sysctl_and_listeners_pass_theirs_on() {
    let config = StackConfig {
        tcp_notsent_lowat: 20_000,
        ..StackConfig::default()
    };
    let mut sim = Sim::new(2, &config, link(), 5);
    let l = apps::listen(&mut sim, 1, 80, 8);
    assert_eq!(sim.stacks[1].tcp_notsent_lowat(l).unwrap(), 20_000);
    sim.stacks[1].tcp_set_notsent_lowat(l, 7_000).unwrap();
    let (c, s) = apps::establish(&mut sim, 0, 1, l, 80);
    assert_eq!(sim.stacks[1].tcp_notsent_lowat(s).unwrap(), 7_000);
    assert_eq!(sim.stacks[0].tcp_notsent_lowat(c).unwrap(), 20_000);
    sim.stacks[0].tcp_set_notsent_lowat(c, 5_000).unwrap();
    assert_eq!(sim.stacks[0].tcp_notsent_lowat(c).unwrap(), 5_000);
    sim.stacks[0].tcp_set_notsent_lowat(c, 0).unwrap();
    assert_eq!(sim.stacks[0].tcp_notsent_lowat(c).unwrap(), 20_000);
    let data = payload(3, 30_000);
    assert_eq!(
        apps::write_now(&mut sim.stacks[1], s, &data).unwrap(),
        7_000
    );
    assert_eq!(
        apps::write_now(&mut sim.stacks[0], c, &data).unwrap(),
        20_000
    );
    // The sysctl parses and checks like the others.
    let mut config = StackConfig::default();
    assert_eq!(config.tcp_notsent_lowat, 131_072);
    config
        .set("net.ipv4.tcp_notsent_lowat", "4294967295")
        .unwrap();
    assert_eq!(config.tcp_notsent_lowat, u32::MAX);
    assert!(config.set("net.ipv4.tcp_notsent_lowat", "0").is_err());
}

#[test]
fn a_lossy_transfer_with_a_tiny_mark_arrives_whole() {
    let config = StackConfig {
        tcp_notsent_lowat: 3_000,
        ..StackConfig::default()
    };
    let link = LinkConfig {
        loss: 0.02,
        ..link()
    };
    let mut sim = Sim::new(2, &config, link, 6);
    let l = apps::listen(&mut sim, 1, 80, 8);
    let (c, s) = apps::establish(&mut sim, 0, 1, l, 80);
    let data = payload(4, 1 << 20);
    let (mut sent, mut got, mut most_unsent) = (0, Vec::new(), 0);
    let ok = apps::run_until(&mut sim, ms(120_000), |sim| {
        sent += apps::write_now(&mut sim.stacks[0], c, &data[sent..]).unwrap();
        let unsent = sim.stacks[0].tcp_info(c).unwrap().notsent_bytes;
        assert!(unsent <= 3_000, "{unsent} unsent bytes");
        most_unsent = most_unsent.max(unsent);
        let _ = apps::drain(&mut sim.stacks[1], s, &mut got);
        got.len() == data.len()
    });
    assert!(ok, "{} of {} bytes arrived", got.len(), data.len());
    assert!(got == data, "bytes differ");
    assert!(most_unsent > 0, "the writer never got ahead of the sender");
    let retrans = sim.stacks[0]
        .counters()
        .get(sockeye_netstack::Counter::TcpRetransSegs);
    assert!(retrans > 0, "the link lost nothing");
}
