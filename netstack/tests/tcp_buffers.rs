//! Buffer autotuning on the deterministic simulator (virtual time):
//!
//! - with Linux's default sizes (`tcp_rmem` 128 KB growing to 6 MB, `tcp_wmem` 16 KB growing
//!   to 4 MB), a transfer over a 1 Gbit/s path with a 20 ms RTT (a 2.5 MB bandwidth-delay
//!   product) grows the receive buffer and the send buffer until the transfer runs at 80 % of
//!   the link or more;
//! - with `SO_RCVBUF` fixed at 64 KB on the receiver, the buffer and the window stay at 64 KB
//!   and the transfer runs at what that window allows (64 KB per RTT);
//! - with `tcp_moderate_rcvbuf` off, the receive buffer keeps its default size.

#[path = "support/apps.rs"]
mod apps;
mod support;

use std::time::Duration;

use apps::ms;
use sockeye_netstack::sim::{LinkConfig, Outcome, Sim};
use sockeye_netstack::{Instant, StackConfig, TcpInfo};
use support::{Transfer, payload};

/// The path: 1 Gbit/s, 10 ms each way.
const RATE: u64 = 1_000_000_000;
const SIZE: usize = 48 << 20;

/// What a transfer showed.
struct Run {
    /// Throughput over the second half of the bytes, bits per second.
    second_half_bps: f64,
    /// The receiver's connection at the end.
    receiver: TcpInfo,
    /// The sender's connection at the end.
    sender: TcpInfo,
}

fn transfer(config: &StackConfig, rcvbuf: Option<usize>) -> Run {
    let link = LinkConfig {
        delay: ms(10),
        rate_bps: Some(RATE),
        queue_limit: 4000,
        ..LinkConfig::default()
    };
    let mut sim = Sim::new(2, config, link, 11);
    let data = payload(11, SIZE);
    let mut t = Transfer::start(&mut sim, data.clone(), Vec::new());
    if let Some(size) = rcvbuf {
        sim.stacks[1]
            .tcp_set_recv_buffer_size(t.listener, size)
            .expect("listener");
    }
    t.chunk = 1 << 20;
    t.close_at_end = false;
    let mut half_at: Option<Instant> = None;
    let mut last: Option<(TcpInfo, TcpInfo)> = None;
    let outcome = sim.run(Instant::from_millis(120_000), |s| {
        if half_at.is_none() && t.server.received.len() >= SIZE / 2 {
            half_at = Some(s.now);
        }
        if let (Some(c), Some(sv)) = (t.client.socket, t.server.socket)
            && let (Ok(a), Ok(b)) = (s.stacks[0].tcp_info(c), s.stacks[1].tcp_info(sv))
        {
            last = Some((a, b));
        }
        t.step(s)
    });
    assert_eq!(outcome, Outcome::Done);
    assert!(t.server.received == data, "bytes differ");
    let half = half_at.expect("half way");
    let secs = sim.now.saturating_duration_since(half).as_secs_f64();
    let (sender, receiver) = last.expect("connected");
    Run {
        second_half_bps: (SIZE / 2) as f64 * 8.0 / secs,
        receiver,
        sender,
    }
}

fn show(what: &str, r: &Run) {
    eprintln!(
        "{what}: {:.0} Mbit/s over the second half; receive buffer {} B, send buffer {} B, \
         receiver RTT {:?}",
        r.second_half_bps / 1e6,
        r.receiver.buffer_limits.1,
        r.sender.buffer_limits.0,
        r.receiver.rcv_rtt
    );
}

#[test]
fn autotuning_grows_the_buffers_to_fill_a_long_fat_path() {
    let r = transfer(&StackConfig::default(), None);
    show("autotuned", &r);
    let bdp = (RATE / 8) as usize * 20 / 1000;
    assert!(
        r.receiver.buffer_limits.1 >= bdp,
        "the receive buffer grew past the bandwidth-delay product"
    );
    assert!(r.receiver.buffer_limits.1 <= StackConfig::default().tcp_rmem[2]);
    assert!(r.sender.buffer_limits.0 > StackConfig::default().tcp_wmem[1]);
    assert!(r.sender.buffer_limits.0 <= StackConfig::default().tcp_wmem[2]);
    assert!(
        r.receiver
            .rcv_rtt
            .is_some_and(|rtt| rtt >= ms(20) && rtt < ms(100))
    );
    assert!(
        r.second_half_bps >= 0.8 * RATE as f64,
        "{:.0} Mbit/s",
        r.second_half_bps / 1e6
    );
}

#[test]
fn a_fixed_so_rcvbuf_keeps_the_window_small() {
    let r = transfer(&StackConfig::default(), Some(64 * 1024));
    show("SO_RCVBUF 64 KB", &r);
    assert_eq!(r.receiver.buffer_limits.1, 64 * 1024);
    assert!(r.receiver.rcv_wnd <= 64 * 1024);
    // One 64 KB window per 20 ms round trip: about 26 Mbit/s.
    let window_bps = 64.0 * 1024.0 * 8.0 / 0.020;
    assert!(
        r.second_half_bps <= 1.1 * window_bps,
        "{:.1} Mbit/s",
        r.second_half_bps / 1e6
    );
}

#[test]
fn without_tcp_moderate_rcvbuf_the_receive_buffer_keeps_its_default() {
    let config = StackConfig {
        tcp_moderate_rcvbuf: false,
        ..StackConfig::default()
    };
    let r = transfer(&config, None);
    show("tcp_moderate_rcvbuf 0", &r);
    assert_eq!(r.receiver.buffer_limits.1, config.tcp_rmem[1]);
    let _ = Duration::ZERO;
}
