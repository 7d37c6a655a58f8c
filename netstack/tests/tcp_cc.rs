//! Congestion control end to end on the deterministic simulator:
//!
//! - the same transfer with CUBIC and with NewReno over a lossy, rate-limited path (1 % loss,
//!   100 Mbit/s, 20 ms RTT): both deliver every byte; each loss cuts CUBIC's window to about
//!   0.7 of what it was (RFC 9438 4.6) and NewReno's to about a half (RFC 5681), as `tcp_info`
//!   shows; their completion times and retransmitted bytes are printed (not asserted: they
//!   depend on the loss pattern);
//! - fairness: two flows from two hosts into one receiver's 20 Mbit/s port (a bounded FIFO,
//!   [`Bottleneck::PerReceiver`]), the second starting 2 s after the first, converge to equal
//!   shares: Jain's index over the second half of the run is at least 0.9, for each algorithm;
//! - the restart window after idle (RFC 5681 4.1): data sent after more than an RTO of silence
//!   leaves in a burst of at most the initial window, unless `tcp_slow_start_after_idle` is off
//!   or the pause was shorter than the RTO.
//!
//! The senders' buffers are raised to 4 MB (there is no buffer autotuning yet), so the
//! congestion window, not the socket buffers, limits them.

#[path = "support/apps.rs"]
mod apps;
mod support;

use std::time::Duration;

use apps::{Capture, accept, cx, establish, listen, ms, write_now};
use sockeye_netstack::sim::{self, Bottleneck, Control, LinkConfig, Outcome, Sim};
use sockeye_netstack::{Counter, Instant, SocketHandle, StackConfig, TcpInfo};
use std::task::Poll;
use support::{Transfer, payload};

/// Linux's defaults with `cc` as the congestion control and 4 MB socket buffers.
fn config(cc: &str) -> StackConfig {
    let mut c = StackConfig::default();
    c.set("tcp_congestion_control", cc).unwrap();
    c.set("tcp_wmem", "4096 4194304 4194304").unwrap();
    c.set("tcp_rmem", "4096 4194304 6291456").unwrap();
    c
}

/// What one lossy transfer did.
#[derive(Debug)]
struct LossyRun {
    /// Virtual time from the connect to the end of the exchange.
    time: Duration,
    /// Segments retransmitted (the `TcpRetransSegs` counter of the sender).
    retrans_segs: u64,
    /// Payload bytes the sender put on the link below the highest sequence number it had
    /// already sent (from the tap).
    retrans_bytes: u64,
    /// For each fast recovery entered: the new ssthresh over the window just before.
    cuts: Vec<f64>,
    /// Frames the link lost.
    lost: u64,
}

/// 16 MB from stack 0 to stack 1 over 1 % loss at 100 Mbit/s with a 20 ms RTT.
fn lossy_transfer(cc: &str) -> LossyRun {
    let link = LinkConfig {
        delay: ms(10),
        loss: 0.01,
        rate_bps: Some(100_000_000),
        queue_limit: 1000,
        ..LinkConfig::default()
    };
    let mut sim = Sim::new(2, &config(cc), link, 7);
    let cap = Capture::install(&mut sim);
    let data = payload(7, 16 << 20);
    let mut t = Transfer::start(&mut sim, data.clone(), Vec::new());
    t.chunk = 256 * 1024;
    let client = t.client.socket.unwrap();
    let mut prev: Option<(TcpInfo, u64)> = None;
    let mut cuts = Vec::new();
    let recoveries = |s: &Sim| {
        let n = s.stacks[0].counters();
        n.get(Counter::TcpExtTCPSackRecovery) + n.get(Counter::TcpExtTCPRenoRecovery)
    };
    let outcome = sim.run(Instant::from_millis(600_000), |s| {
        if let Ok(info) = s.stacks[0].tcp_info(client) {
            assert_eq!(info.congestion_control, cc);
            // Entering fast recovery: the recovery counter moves and ssthresh changes.
            let n = recoveries(s);
            if let Some((p, m)) = prev
                && n == m + 1
                && info.ssthresh != p.ssthresh
            {
                cuts.push(info.ssthresh as f64 / p.cwnd as f64);
            }
            prev = Some((info, n));
        }
        t.step(s)
    });
    assert_eq!(
        outcome,
        Outcome::Done,
        "{cc}: {:?} {:?}",
        t.client.error,
        t.server.error
    );
    assert!(t.server.received == data, "{cc}: bytes differ");
    let retrans_bytes = cap.retransmitted_bytes(0);
    LossyRun {
        time: sim.now - Instant::ZERO,
        retrans_segs: sim.stacks[0].counters().get(Counter::TcpRetransSegs),
        retrans_bytes,
        cuts,
        lost: sim.stats.lost,
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn cubic_and_reno_complete_a_lossy_transfer_and_cut_by_their_own_factor() {
    let cubic = lossy_transfer("cubic");
    let reno = lossy_transfer("reno");
    for (name, run) in [("cubic", &cubic), ("reno", &reno)] {
        eprintln!(
            "{name}: 16 MiB in {:.2} s virtual ({:.1} Mbit/s), {} segments / {} bytes \
             retransmitted, {} frames lost, {} fast recoveries, median cut {:.3}",
            run.time.as_secs_f64(),
            (16 << 20) as f64 * 8.0 / run.time.as_secs_f64() / 1e6,
            run.retrans_segs,
            run.retrans_bytes,
            run.lost,
            run.cuts.len(),
            median(&run.cuts)
        );
        assert!(
            run.cuts.len() >= 10,
            "{name}: {} recoveries",
            run.cuts.len()
        );
        assert!(run.retrans_segs > 0 && run.retrans_bytes > 0);
    }
    // The cut is from min(FlightSize, cwnd), and whole segments rarely fill cwnd exactly, so
    // it sits a little below beta: around 0.7 for CUBIC, 0.5 for NewReno.
    let (c, r) = (median(&cubic.cuts), median(&reno.cuts));
    assert!((0.62..=0.72).contains(&c), "cubic keeps beta = 0.7: {c}");
    assert!((0.42..=0.52).contains(&r), "reno halves: {r}");
}

/// Jain's fairness index of the shares `x`: 1 when equal, 1/n when one takes everything.
fn jain(x: &[f64]) -> f64 {
    let sum: f64 = x.iter().sum();
    let squares: f64 = x.iter().map(|v| v * v).sum();
    sum * sum / (x.len() as f64 * squares)
}

/// Two bulk flows, from stacks 0 and 1 to stack 2, sharing stack 2's 20 Mbit/s port with a
/// 60-frame FIFO (about 1.8 times the 34-frame bandwidth-delay product); 20 ms RTT; the second
/// flow connects 2 s after the first. Returns the bytes each flow delivered in the second half
/// of `run`, and in all.
fn two_flows(cc: &str, run: Duration) -> ([f64; 2], [u64; 2]) {
    let link = LinkConfig {
        delay: ms(10),
        jitter: Duration::from_micros(200),
        rate_bps: Some(20_000_000),
        queue_limit: 60,
        ..LinkConfig::default()
    };
    let mut sim = Sim::new(3, &config(cc), link, 3);
    sim.bottleneck = Bottleneck::PerReceiver;
    let listener = listen(&mut sim, 2, 80, 8);
    let end = sim.now + run;
    let half = sim.now + run / 2;
    let starts = [sim.now, sim.now + Duration::from_secs(2)];
    let mut senders: [Option<SocketHandle>; 2] = [None, None];
    let mut receivers: Vec<(usize, SocketHandle)> = Vec::new();
    let mut late = [0u64; 2];
    let mut total = [0u64; 2];
    let chunk = vec![0x5a; 64 * 1024];
    let mut buf = vec![0u8; 64 * 1024];
    let outcome = sim.run(end, |s| {
        let now = s.now;
        for (i, start) in starts.iter().enumerate() {
            if senders[i].is_none() && now >= *start {
                let h = s.stacks[i].tcp_connect_to(now, apps::sa(2, 80)).unwrap();
                senders[i] = Some(h);
            }
            if let Some(h) = senders[i] {
                write_now(&mut s.stacks[i], h, &chunk).unwrap();
            }
        }
        while let Some((h, peer)) = accept(&mut s.stacks[2], listener) {
            let flow = (0..2).find(|&i| *peer.ip() == sim::addr(i)).unwrap();
            receivers.push((flow, h));
        }
        for &(flow, h) in &receivers {
            while let Poll::Ready(r) = s.stacks[2].tcp_poll_read(h, &mut cx(), &mut buf) {
                let n = r.unwrap() as u64;
                assert!(n > 0, "unexpected EOF");
                total[flow] += n;
                if now >= half {
                    late[flow] += n;
                }
            }
        }
        Control::Continue
    });
    assert_eq!(outcome, Outcome::Deadline);
    for (i, h) in senders.iter().enumerate() {
        let info = sim.stacks[i].tcp_info(h.unwrap()).unwrap();
        assert_eq!(info.congestion_control, cc);
    }
    eprintln!(
        "{cc}: {} frames dropped by the full queue, {} sent",
        sim.stats.queue_drops, sim.stats.sent
    );
    (late.map(|b| b as f64), total)
}

#[test]
fn two_flows_through_one_bottleneck_share_it_fairly() {
    let run = Duration::from_secs(30);
    for cc in ["cubic", "reno"] {
        let (late, total) = two_flows(cc, run);
        let index = jain(&late);
        let mbps = |b: f64| b * 8.0 / (run.as_secs_f64() / 2.0) / 1e6;
        eprintln!(
            "{cc}: second half {:.2} + {:.2} Mbit/s, Jain's index {index:.4}; totals {total:?}",
            mbps(late[0]),
            mbps(late[1])
        );
        assert!(index >= 0.9, "{cc}: Jain's index {index}");
        // Together they keep the 20 Mbit/s link busy.
        assert!(mbps(late[0] + late[1]) > 17.0, "{cc}: link underused");
    }
}

/// Sends 1 MB on a fresh connection (the window grows well past the initial 10 segments),
/// waits until it is all acknowledged, pauses for `idle`, then writes 500 kB more: returns the
/// window before the pause and the number of data segments that leave in the first 15 ms after
/// the pause (less than one RTT, so before any ACK can come back).
fn burst_after_idle(slow_start_after_idle: bool, idle: Duration) -> (TcpInfo, usize) {
    let link = LinkConfig {
        delay: ms(10),
        rate_bps: Some(100_000_000),
        ..LinkConfig::default()
    };
    let mut config = config("cubic");
    config.tcp_slow_start_after_idle = slow_start_after_idle;
    // The 500 kB after the pause go into the send buffer in one write, unsent bytes and all.
    config.tcp_notsent_lowat = u32::MAX;
    let mut sim = Sim::new(2, &config, link, 5);
    let cap = Capture::install(&mut sim);
    let listener = listen(&mut sim, 1, 80, 8);
    let (c, s) = establish(&mut sim, 0, 1, listener, 80);
    let data = payload(5, 1 << 20);
    let mut sent = 0;
    let mut got = Vec::new();
    let done = apps::run_until(&mut sim, Duration::from_secs(30), |sim| {
        sent += write_now(&mut sim.stacks[0], c, &data[sent..]).unwrap();
        let _ = apps::drain(&mut sim.stacks[1], s, &mut got);
        sent == data.len() && sim.stacks[0].tcp_info(c).unwrap().send_queued == 0
    });
    assert!(done && got == data);
    let before = sim.stacks[0].tcp_info(c).unwrap();
    sim.advance(idle);
    let resume = sim.now;
    let more = payload(6, 500_000);
    assert_eq!(write_now(&mut sim.stacks[0], c, &more).unwrap(), more.len());
    let window_end = resume + ms(15);
    apps::run_until(&mut sim, ms(15), |sim| sim.now >= window_end);
    let burst = cap.sent_since(0, resume, |seg| seg.len > 0 && seg.at < window_end);
    (before, burst.len())
}

#[test]
fn after_idle_longer_than_the_rto_the_window_restarts_from_the_initial_window() {
    let (before, burst) = burst_after_idle(true, Duration::from_secs(2));
    assert!(
        before.cwnd >= 30 * before.mss,
        "the window grew: {}",
        before.cwnd
    );
    assert!(before.rto < Duration::from_secs(2));
    assert_eq!(
        burst, 10,
        "RFC 5681 4.1: at most the restart window (IW = 10)"
    );

    // With tcp_slow_start_after_idle off the window is kept.
    let (before, burst) = burst_after_idle(false, Duration::from_secs(2));
    assert!(
        burst * before.mss >= before.cwnd.min(500_000) - before.mss,
        "{burst} segments, cwnd {}",
        before.cwnd
    );
    assert!(burst > 20);

    // A pause shorter than the RTO is not idleness.
    let (before, burst) = burst_after_idle(true, ms(100));
    assert!(before.rto > ms(100));
    assert!(burst > 20, "{burst} segments after 100 ms");
}

#[test]
fn the_algorithm_is_chosen_per_socket_and_inherited_from_the_listener() {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 1);
    let listener = listen(&mut sim, 1, 80, 8);
    assert_eq!(
        sim.stacks[1].tcp_congestion_control(listener).unwrap(),
        "cubic"
    );
    sim.stacks[1]
        .tcp_set_congestion_control(listener, "reno")
        .unwrap();
    let err = sim.stacks[1]
        .tcp_set_congestion_control(listener, "bbr")
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    let (c, s) = establish(&mut sim, 0, 1, listener, 80);
    assert_eq!(sim.stacks[0].tcp_congestion_control(c).unwrap(), "cubic");
    assert_eq!(
        sim.stacks[1].tcp_info(s).unwrap().congestion_control,
        "reno"
    );
    sim.stacks[0]
        .tcp_set_congestion_control(c, "newreno")
        .unwrap();
    assert_eq!(
        sim.stacks[0].tcp_info(c).unwrap().congestion_control,
        "reno"
    );
    // The sysctl picks the default for new sockets, and rejects unknown names.
    let config = sim.stacks[0].config_mut();
    config
        .set("net.ipv4.tcp_congestion_control", "reno")
        .unwrap();
    assert!(config.set("tcp_congestion_control", "vegas").is_err());
    let h = sim.stacks[0].tcp_socket();
    assert_eq!(sim.stacks[0].tcp_congestion_control(h).unwrap(), "reno");
    // A choice made before connecting survives the handshake (which resets the window for
    // the negotiated MSS).
    sim.stacks[0]
        .tcp_set_congestion_control(h, "cubic")
        .unwrap();
    let now = sim.now;
    sim.stacks[0].tcp_connect(now, h, apps::sa(1, 80)).unwrap();
    assert!(apps::run_until(&mut sim, Duration::from_secs(5), |s| {
        apps::poll_connect(&mut s.stacks[0], h).is_ready()
    }));
    let info = sim.stacks[0].tcp_info(h).unwrap();
    assert_eq!(
        (info.congestion_control, info.cwnd),
        ("cubic", 10 * info.mss)
    );
}
