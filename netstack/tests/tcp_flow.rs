//! Flow-control timers on the deterministic simulator:
//!
//! - Delayed ACKs: after the quick-ACK phase that follows the handshake, a lone small segment
//!   is acknowledged by the 40 ms delayed-ACK timer (`TcpExtDelayedACKs`); an answer written at
//!   once carries the ACK instead (no pure ACK, no timer); two full-sized segments are
//!   acknowledged at once.
//! - Zero window: a reader that stops reading closes the window; the sender sees window 0 and
//!   sends Linux-style window probes (`snd_una - 1`, no data; `TcpExtTCPWinProbe`); reading
//!   again sends a window update at once, the transfer completes with the right bytes, and
//!   buffer memory (`tcp_info.allocated`) never exceeds the buffer limits. As on Linux, the
//!   probe interval backs off like the RTO (answered probes do not reset it) and the sender
//!   gives up after `tcp_retries2` unanswered probes.

#[path = "support/apps.rs"]
mod apps;

use std::time::Duration;

use apps::*;
use sockeye_netstack::sim::{LinkConfig, Sim};
use sockeye_netstack::{Counter, SocketHandle, StackConfig};

fn sim_with(config: &StackConfig) -> (Sim, Capture) {
    let mut sim = Sim::new(2, config, LinkConfig::default(), 3);
    let cap = Capture::install(&mut sim);
    (sim, cap)
}

/// How long after each of the client's data segments the server's first segment acknowledging
/// all of it left.
fn ack_delays(cap: &Capture) -> Vec<Duration> {
    cap.find(|x| x.from == 0 && x.len > 0)
        .iter()
        .map(|d| {
            let end = d.seq.wrapping_add(d.len as u32);
            let acks = cap.find(|x| {
                x.from == 1
                    && x.at >= d.at
                    && x.ack.is_some_and(|a| a.wrapping_sub(end) as i32 >= 0)
            });
            acks.first().map_or(Duration::MAX, |a| a.at - d.at)
        })
        .collect()
}

/// How the server treats the client's messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    /// Reads nothing until the end (the bytes wait in its receive buffer).
    Idle,
    /// Reads each message as it arrives.
    Reads,
    /// Reads each message and answers it at once.
    Echoes,
}

/// Sends `n` ten-byte messages from the client, 200 ms apart, to a server that behaves as
/// `server`. Returns the bytes the server read.
fn messages(
    sim: &mut Sim,
    (c, s): (SocketHandle, SocketHandle),
    n: usize,
    server: Server,
) -> Vec<u8> {
    let echo = server == Server::Echoes;
    let mut got = Vec::new();
    for _ in 0..n {
        assert_eq!(write_now(&mut sim.stacks[0], c, b"0123456789").unwrap(), 10);
        run_until(sim, ms(200), |sim| {
            let before = got.len();
            if server != Server::Idle {
                let _ = drain(&mut sim.stacks[1], s, &mut got);
            }
            if echo && got.len() > before {
                write_now(&mut sim.stacks[1], s, b"ok").unwrap();
            }
            let _ = drain(&mut sim.stacks[0], c, &mut Vec::new());
            false
        });
    }
    if server == Server::Idle {
        let _ = drain(&mut sim.stacks[1], s, &mut got);
    }
    got
}

#[test]
fn delayed_ack_timer_acknowledges_a_lone_small_segment_after_40_ms() {
    let (mut sim, cap) = sim_with(&StackConfig::default());
    let l = listen(&mut sim, 1, 80, 16);
    let pair = establish(&mut sim, 0, 1, l, 80);
    // The server does not read: a read that empties the buffer would acknowledge at once
    // (next test), as Linux's `tcp_cleanup_rbuf` does.
    let got = messages(&mut sim, pair, 24, Server::Idle);
    assert_eq!(got.len(), 240);

    let delays = ack_delays(&cap);
    assert_eq!(delays.len(), 24, "{}", cap.dump());
    // Quick ACKs first (Linux acknowledges up to 16 segments at once after the start), then
    // each lone segment waits for the timer: the ACK leaves 40 ms after the 1 ms trip.
    let quick = delays.iter().take_while(|d| **d <= ms(1)).count();
    assert!((1..=16).contains(&quick), "{delays:?}");
    assert!(
        delays[quick..].iter().all(|d| near(*d, ms(41), ms(1))),
        "{delays:?}\n{}",
        cap.dump()
    );
    let delayed = (delays.len() - quick) as u64;
    assert!(delayed >= 8);
    assert_eq!(
        sim.stacks[1].counters().get(Counter::TcpExtDelayedACKs),
        delayed
    );
}

/// Linux's `tcp_cleanup_rbuf`: a server that reads each lone segment as it arrives (and does
/// not answer) acknowledges it as soon as it has read it, without waiting for the timer.
#[test]
fn reading_a_lone_small_segment_acknowledges_it_at_once() {
    let (mut sim, cap) = sim_with(&StackConfig::default());
    let l = listen(&mut sim, 1, 80, 16);
    let pair = establish(&mut sim, 0, 1, l, 80);
    let got = messages(&mut sim, pair, 24, Server::Reads);
    assert_eq!(got.len(), 240);
    let delays = ack_delays(&cap);
    assert!(delays.iter().all(|d| *d <= ms(1)), "{delays:?}");
    assert_eq!(sim.stacks[1].counters().get(Counter::TcpExtDelayedACKs), 0);
}

#[test]
fn an_immediate_answer_carries_the_ack_instead_of_the_timer() {
    let (mut sim, cap) = sim_with(&StackConfig::default());
    let l = listen(&mut sim, 1, 80, 16);
    let pair = establish(&mut sim, 0, 1, l, 80);
    // Use up the quick ACKs, then measure.
    messages(&mut sim, pair, 20, Server::Idle);
    let before = sim.stacks[1].counters().get(Counter::TcpExtDelayedACKs);
    let t = sim.now;
    let got = messages(&mut sim, pair, 10, Server::Echoes);
    assert_eq!(got.len(), 100);
    assert_eq!(
        sim.stacks[1].counters().get(Counter::TcpExtDelayedACKs),
        before,
        "{}",
        cap.dump()
    );
    // Every server segment since carries the answer; no pure ACK was needed.
    let server = cap.sent_since(1, t, |_| true);
    assert_eq!(server.len(), 10, "{}", cap.dump());
    assert!(server.iter().all(|x| x.len == 2));
    let delays = ack_delays(&cap);
    assert!(delays[20..].iter().all(|d| *d <= ms(1)), "{delays:?}");
}

#[test]
fn two_full_sized_segments_are_acknowledged_at_once() {
    let (mut sim, cap) = sim_with(&StackConfig::default());
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    messages(&mut sim, (c, s), 20, Server::Idle);
    let before = sim.stacks[1].counters().get(Counter::TcpExtDelayedACKs);
    let mss = sim.stacks[0].tcp_info(c).unwrap().mss;
    let mark = cap.mark();
    write_now(&mut sim.stacks[0], c, &pattern(3, 2 * mss)).unwrap();
    sim.advance(ms(100));
    let data = cap.after(mark, |x| x.from == 0 && x.len > 0);
    assert_eq!(data.iter().map(|x| x.len).collect::<Vec<_>>(), [mss, mss]);
    // RFC 5681 section 4.2 (and Linux): at least every second full-sized segment is ACKed
    // at once; one ACK covers both, one link delay after the second left.
    let acks = cap.after(mark, |x| x.from == 1);
    assert_eq!(acks.len(), 1, "{}", cap.dump());
    let end = data[1].seq.wrapping_add(mss as u32);
    assert_eq!(acks[0].ack, Some(end));
    assert_eq!(acks[0].at - data[1].at, ms(1));
    assert_eq!(
        sim.stacks[1].counters().get(Counter::TcpExtDelayedACKs),
        before
    );
}

/// Small receive buffers (16 KB, no autotuning headroom) so the window closes quickly.
fn small_buffers() -> StackConfig {
    StackConfig {
        tcp_rmem: [4096, 16_384, 16_384],
        ..StackConfig::default()
    }
}

/// What [`stalled_transfer`] leaves.
struct Stalled {
    sim: Sim,
    cap: Capture,
    flow: Flow,
    /// The largest buffer allocations seen (client send, server receive).
    peak: (usize, usize),
    /// When the reader started reading again.
    resumed: sockeye_netstack::Instant,
}

/// A transfer of 200 KB whose reader does not read for `stall`, then reads to the end.
fn stalled_transfer(stall: Duration) -> Stalled {
    let (mut sim, cap) = sim_with(&small_buffers());
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    let mut flow = Flow::new((0, c), (1, s), pattern(1, 200_000));
    flow.reading = false;
    let mut peak = (0, 0);
    let watch = |sim: &mut Sim, peak: &mut (usize, usize)| {
        if let (Ok(ci), Ok(si)) = (sim.stacks[0].tcp_info(c), sim.stacks[1].tcp_info(s)) {
            // Each buffer within its limit at every step (the send limit autotunes).
            assert!(ci.allocated.0 <= ci.buffer_limits.0, "{ci:?}");
            assert!(si.allocated.1 <= si.buffer_limits.1, "{si:?}");
            peak.0 = peak.0.max(ci.allocated.0);
            peak.1 = peak.1.max(si.allocated.1);
        }
    };
    run_until(&mut sim, stall, |sim| {
        flow.step(sim);
        watch(sim, &mut peak);
        false
    });
    let ci = sim.stacks[0].tcp_info(c).unwrap();
    let si = sim.stacks[1].tcp_info(s).unwrap();
    assert_eq!(ci.snd_wnd, 0, "the sender sees the closed window");
    assert_eq!(si.rcv_wnd, 0);
    assert_eq!(si.recv_queued, 16_384);
    assert!(flow.received.is_empty() && flow.error.is_none());
    flow.reading = true;
    let resumed = sim.now;
    let done = run_until(&mut sim, Duration::from_secs(60), |sim| {
        flow.step(sim);
        watch(sim, &mut peak);
        flow.done()
    });
    assert!(done, "transfer did not finish: {:?}", flow.error);
    Stalled {
        sim,
        cap,
        flow,
        peak,
        resumed,
    }
}

/// The client's window probes: no payload, sequence number one below the server's ACK.
fn window_probes(cap: &Capture) -> Vec<Seg> {
    let server = cap.find(|x| x.from == 1 && x.window == 0);
    let Some(stalled_at) = server.first().and_then(|x| x.ack) else {
        return Vec::new();
    };
    cap.find(|x| x.from == 0 && x.len == 0 && !x.fin && x.seq == stalled_at.wrapping_sub(1))
}

#[test]
fn zero_window_is_probed_and_the_transfer_completes_when_reading_resumes() {
    let Stalled {
        sim,
        cap,
        flow,
        peak,
        resumed,
    } = stalled_transfer(Duration::from_secs(20));
    assert!(flow.received == flow.data, "bytes differ");

    // The receiver said so on the wire and counted it.
    assert!(!cap.find(|x| x.from == 1 && x.window == 0).is_empty());
    let server = sim.stacks[1].counters();
    assert!(server.get(Counter::TcpExtTCPToZeroWindowAdv) >= 1);
    assert!(server.get(Counter::TcpExtTCPFromZeroWindowAdv) >= 1);
    // The sender probed, and counted each probe.
    let probes = window_probes(&cap);
    assert!(probes.len() >= 2, "{}", cap.dump());
    assert_eq!(
        sim.stacks[0].counters().get(Counter::TcpExtTCPWinProbe),
        probes.len() as u64
    );
    // Probes are answered with the current (still zero) window while the reader sleeps. (The
    // receiver answers such out-of-window segments at most every 500 ms, as Linux does with
    // `tcp_invalid_ratelimit`, so not every probe need be answered.)
    let answers: Vec<Seg> = probes
        .iter()
        .filter_map(|p| {
            cap.find(|x| x.from == 1 && x.at > p.at && x.at <= p.at + ms(2))
                .first()
                .cloned()
        })
        .collect();
    assert!(answers.first().is_some_and(|a| a.at < probes[0].at + ms(3)));
    assert!(answers.iter().all(|a| a.window == 0), "{}", cap.dump());
    // Reading sends a window update at once; the sender does not wait for its next probe.
    let update = cap.sent_since(1, resumed, |_| true)[0].clone();
    assert!(update.at == resumed && update.window > 0, "{update}");
    let next = cap.sent_since(0, resumed, |x| x.len > 0)[0].clone();
    assert!(next.at - resumed <= ms(1), "data resumed at {:?}", next.at);
    // Memory stayed within the buffer limits: the receive buffer's maximum is 16 KB here; the
    // send buffer autotunes with the congestion window (checked against its limit at every
    // step), far below `tcp_wmem`'s 4 MB maximum.
    assert!(peak.0 <= 256 * 1024, "send buffer allocated {}", peak.0);
    assert!(peak.1 <= 16_384, "receive buffer allocated {}", peak.1);
    // Nothing was lost or retransmitted: flow control, not loss recovery, held the data back.
    assert_eq!(sim.stacks[0].counters().get(Counter::TcpRetransSegs), 0);
}

#[test]
fn zero_window_probes_back_off_like_the_rto() {
    let cap = stalled_transfer(Duration::from_secs(30)).cap;
    let probes = window_probes(&cap);
    let times: Vec<_> = probes.iter().map(|p| p.at).collect();
    let g = gaps(&times);
    // Linux (`tcp_probe_timer`, `icsk_backoff`): 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8 s apart,
    // answered or not, until the window opens. About 7 probes in 30 s, not one every 400 ms.
    assert!(probes.len() <= 8, "{} probes: gaps {g:?}", probes.len());
    for w in g.windows(2).take(5) {
        assert!(near(w[1], w[0] * 2, ms(3)), "gaps {g:?}");
    }
}

#[test]
fn zero_window_probing_gives_up_after_tcp_retries2_unanswered_probes() {
    let config = StackConfig {
        tcp_retries2: 5,
        ..small_buffers()
    };
    let (mut sim, cap) = sim_with(&config);
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    let mut flow = Flow::new((0, c), (1, s), pattern(2, 100_000));
    flow.reading = false;
    run_until(&mut sim, Duration::from_secs(2), |sim| {
        flow.step(sim);
        false
    });
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().snd_wnd, 0);
    // The receiver vanishes while its window is closed. Linux's `tcp_probe_timer` aborts with
    // ETIMEDOUT once `tcp_retries2` probes went unanswered (about 0.2 + 0.4 + ... + 6.4 s here).
    sim.link.loss = 1.0;
    let t = sim.now;
    advance_dark(&mut sim, Duration::from_secs(600), 0, 1);
    let unanswered = cap.sent_since(0, t, |x| x.len == 0 && !x.rst).len();
    assert_eq!(
        err_kind(sim.stacks[0].tcp_poll_write(c, &mut cx(), b"x")),
        Some(std::io::ErrorKind::TimedOut),
        "{unanswered} probes sent into the void in 600 s"
    );
    assert_eq!(unanswered, 5);
}
