//! Buffer autotuning on the deterministic simulator (virtual time):
//!
//! - with Linux's default sizes (`tcp_rmem` 128 KB growing to 6 MB, `tcp_wmem` 16 KB growing
//!   to 4 MB), a transfer over a 1 Gbit/s path with a 20 ms RTT (a 2.5 MB bandwidth-delay
//!   product) grows the receive buffer and the send buffer until the transfer runs at 80 % of
//!   the link or more;
//! - with `SO_RCVBUF` fixed at 64 KB on the receiver, the buffer and the window stay at 64 KB
//!   and the transfer runs at what that window allows (64 KB per RTT);
//! - with `tcp_moderate_rcvbuf` off, the receive buffer keeps its default size;
//! - a 32 MiB transfer to a reader taking 1 KiB per millisecond keeps both sides within their
//!   buffers all along, and loses nothing;
//! - a writer blocked on a full send buffer is woken once per third of the buffer drained, not
//!   once per ACK (counted with a counting waker).

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

/// The source documents' read and write semantics under a slow reader: a writer pushes 32 MiB
/// as fast as it may at a reader that takes 1 KiB per virtual millisecond. Flow control holds
/// the data back (zero windows, probes), every byte arrives once and in order, and both sides'
/// buffers stay within their limits the whole time (the receiver's cannot grow: it reads only
/// 1 KiB per millisecond, so autotuning sees no speed-up).
#[test]
fn a_slow_reader_keeps_both_sides_within_their_buffers() {
    use std::task::Poll;
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 3);
    let l = apps::listen(&mut sim, 1, 80, 16);
    let (c, s) = apps::establish(&mut sim, 0, 1, l, 80);
    let data = payload(3, 32 << 20);
    let (mut sent, mut got) = (0, Vec::with_capacity(data.len()));
    let mut peak = (0usize, 0usize);
    let mut buf = [0u8; 1024];
    while got.len() < data.len() {
        sent += apps::write_now(&mut sim.stacks[0], c, &data[sent..]).unwrap();
        let mut cx = apps::cx();
        if let Poll::Ready(Ok(n)) = sim.stacks[1].tcp_poll_read(s, &mut cx, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        let (ci, si) = (
            sim.stacks[0].tcp_info(c).unwrap(),
            sim.stacks[1].tcp_info(s).unwrap(),
        );
        assert!(ci.send_queued <= ci.buffer_limits.0 && ci.allocated.0 <= ci.buffer_limits.0);
        assert!(si.recv_queued + si.out_of_order <= si.buffer_limits.1);
        assert!(si.allocated.1 <= si.buffer_limits.1);
        peak = (peak.0.max(ci.allocated.0), peak.1.max(si.allocated.1));
        sim.advance(ms(1));
    }
    assert!(got == data, "bytes differ");
    let (ci, si) = (
        sim.stacks[0].tcp_info(c).unwrap(),
        sim.stacks[1].tcp_info(s).unwrap(),
    );
    eprintln!(
        "slow reader: {:?} virtual; peak send buffer {} B (limit {}), receive {} B (limit {})",
        sim.now - Instant::ZERO,
        peak.0,
        ci.buffer_limits.0,
        peak.1,
        si.buffer_limits.1
    );
    assert_eq!(si.buffer_limits.1, StackConfig::default().tcp_rmem[1]);
    assert!(
        sim.stacks[1]
            .counters()
            .get(sockeye_netstack::Counter::TcpExtTCPToZeroWindowAdv)
            > 0
    );
    assert_eq!(
        sim.stacks[0]
            .counters()
            .get(sockeye_netstack::Counter::TcpRetransSegs),
        0
    );
}

/// Linux's write wake-up rule: a writer blocked on a full send buffer is woken when a third
/// of the buffer is free, not at every ACK. Over a 4 MB transfer through a 64 KB send buffer
/// (fixed with `SO_SNDBUF`), the writer's waker fires a bounded number of times per buffer
/// drained, and far fewer times than ACKs arrived.
#[test]
fn a_blocked_writer_is_woken_per_third_of_the_buffer_not_per_ack() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let link = LinkConfig {
        delay: ms(5),
        rate_bps: Some(100_000_000),
        ..LinkConfig::default()
    };
    let mut sim = Sim::new(2, &StackConfig::default(), link, 5);
    let l = apps::listen(&mut sim, 1, 80, 16);
    let (c, s) = apps::establish(&mut sim, 0, 1, l, 80);
    sim.stacks[0]
        .tcp_set_send_buffer_size(c, 64 * 1024)
        .unwrap();
    let wakes = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&wakes));
    let data = payload(5, 4 << 20);
    let (mut sent, mut got, mut blocked) = (0, Vec::new(), 0);
    let acks_before = sim.stacks[0]
        .counters()
        .get(sockeye_netstack::Counter::TcpInSegs);
    while got.len() < data.len() {
        // The writer writes until it blocks, then waits for its waker.
        let mut cx = Context::from_waker(&waker);
        while sent < data.len() {
            match sim.stacks[0].tcp_poll_write(c, &mut cx, &data[sent..]) {
                Poll::Ready(Ok(n)) => sent += n,
                Poll::Ready(Err(e)) => panic!("{e}"),
                Poll::Pending => {
                    blocked += 1;
                    break;
                }
            }
        }
        let _ = apps::drain(&mut sim.stacks[1], s, &mut got);
        // Time moves until the writer's waker fires (or, once everything is written, a bit).
        let before = wakes.0.load(Ordering::Relaxed);
        apps::run_until(&mut sim, ms(1_000), |sim| {
            let _ = apps::drain(&mut sim.stacks[1], s, &mut got);
            wakes.0.load(Ordering::Relaxed) > before || got.len() == data.len()
        });
    }
    assert!(got == data, "bytes differ");
    let wakes = wakes.0.load(Ordering::Relaxed);
    let acks = sim.stacks[0]
        .counters()
        .get(sockeye_netstack::Counter::TcpInSegs)
        - acks_before;
    let drains = data.len() / (64 * 1024);
    eprintln!(
        "writer blocked {blocked} times, woken {wakes} times, {acks} ACKs, {drains} buffers drained"
    );
    // At most one wake per third of the buffer drained (plus slack for the end), and well
    // below one per ACK.
    assert!(
        wakes <= 3 * drains + 4,
        "{wakes} wakes for {drains} buffers"
    );
    assert!((wakes as u64) * 4 < acks, "{wakes} wakes, {acks} ACKs");
    assert!(blocked >= drains / 2);
}

/// Buffers are allocated when first needed and given back when empty: after an exchange both
/// ways, the send buffers are released within a second of being acknowledged and the receive
/// buffers a second after data last arrived (or at the read that empties them, when that comes
/// later), so an idle connection holds only its control block, whose size is reported.
#[test]
fn an_idle_connection_holds_only_its_control_block() {
    use sockeye_netstack::{Counter, Stack};
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 9);
    let l = apps::listen(&mut sim, 1, 80, 16);
    let (c, s) = apps::establish(&mut sim, 0, 1, l, 80);
    assert_eq!(
        sim.stacks[0].tcp_info(c).unwrap().allocated,
        (0, 0),
        "nothing yet"
    );
    let request = payload(1, 20_000);
    let reply = payload(2, 25_000);
    assert_eq!(
        apps::write_now(&mut sim.stacks[0], c, &request).unwrap(),
        20_000
    );
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().scoreboard_allocated, 0);
    sim.advance(ms(1));
    let sending = sim.stacks[0].tcp_info(c).unwrap();
    assert!(sending.sack, "SACK is negotiated by default");
    assert!(
        sending.scoreboard_allocated > 0,
        "the scoreboard records what is in flight"
    );
    let mut got = Vec::new();
    apps::run_until(&mut sim, ms(500), |sim| {
        let _ = apps::drain(&mut sim.stacks[1], s, &mut got);
        got.len() == request.len()
    });
    assert_eq!(
        apps::write_now(&mut sim.stacks[1], s, &reply).unwrap(),
        25_000
    );
    // The client does not read yet: its receive buffer holds the reply.
    sim.advance(ms(2_000));
    let client = sim.stacks[0].tcp_info(c).unwrap();
    let server = sim.stacks[1].tcp_info(s).unwrap();
    assert_eq!(
        server.allocated,
        (0, 0),
        "server: sent and acknowledged, read and idle"
    );
    assert_eq!(
        (client.scoreboard_allocated, server.scoreboard_allocated),
        (0, 0),
        "everything acknowledged a second ago: the scoreboards' records are given back"
    );
    assert_eq!(client.allocated.0, 0, "client's send buffer acknowledged");
    assert!(client.allocated.1 >= 25_000, "the unread reply");
    // The read that empties it, long after the data came, gives the memory back.
    let mut answer = Vec::new();
    let _ = apps::drain(&mut sim.stacks[0], c, &mut answer);
    assert!(answer == reply);
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().allocated, (0, 0));
    let size = Stack::tcp_idle_connection_size();
    eprintln!("an idle connection holds {size} bytes");
    // The control block (704 bytes on 64-bit targets), a slab slot and a table entry: with
    // the runtime's share, under the 1 KiB per socket that a million connections may take.
    assert!(size > 0 && size <= 736, "{size}");
    assert_eq!(sim.stacks[0].counters().get(Counter::TcpRetransSegs), 0);
}

/// Back-pressure from the device (a transmit queue that takes three frames per millisecond)
/// stops the sender's flush instead of losing segments: they stay in the send buffer and go
/// when the device has room, so 2 MB arrive with no retransmission and nothing dropped.
#[test]
fn a_full_transmit_queue_pushes_back_into_tcp_and_loses_nothing() {
    use core::net::SocketAddrV4;
    use sockeye_netstack::sim::addr;
    use sockeye_netstack::{Counter, IfaceId};
    use std::task::Poll;
    let mut a = apps::fresh_stack(0, 1500, 1);
    let mut b = apps::fresh_stack(1, 1500, 2);
    let l = b.tcp_listener(SocketAddrV4::new(addr(1), 80), 16).unwrap();
    let mut now = Instant::ZERO;
    let c = a
        .tcp_connect_to(now, SocketAddrV4::new(addr(1), 80))
        .unwrap();
    let data = payload(4, 2 << 20);
    let (mut sent, mut got, mut server) = (0, Vec::new(), None);
    let mut pushed_back = 0;
    for _ in 0..60_000 {
        let mut to_b = Vec::new();
        a.transmit(now, &mut |_, len, fill| {
            if to_b.len() == 3 {
                pushed_back += 1;
                return false;
            }
            let mut frame = vec![0u8; len];
            fill(&mut frame);
            to_b.push(frame);
            true
        });
        let mut to_a = Vec::new();
        b.transmit(now, &mut |_, len, fill| {
            let mut frame = vec![0u8; len];
            fill(&mut frame);
            to_a.push(frame);
            true
        });
        for f in &to_b {
            b.receive(now, IfaceId(0), f);
        }
        for f in &to_a {
            a.receive(now, IfaceId(0), f);
        }
        let mut cx = apps::cx();
        if server.is_none()
            && let Poll::Ready(Ok((h, _))) = b.tcp_poll_accept(l, &mut cx)
        {
            server = Some(h);
        }
        if sent < data.len()
            && let Poll::Ready(Ok(n)) = a.tcp_poll_write(c, &mut cx, &data[sent..])
        {
            sent += n;
        }
        if let Some(s) = server {
            let _ = apps::drain(&mut b, s, &mut got);
        }
        if got.len() == data.len() {
            break;
        }
        now += ms(1);
    }
    assert!(got == data, "{} of {} bytes", got.len(), data.len());
    assert!(
        pushed_back > 100,
        "the device pushed back {pushed_back} times"
    );
    let n = a.counters();
    assert_eq!(
        n.get(Counter::TcpRetransSegs),
        0,
        "nothing was lost to resend"
    );
    assert_eq!(n.get(Counter::DevTxQueueDrops), 0);
}
