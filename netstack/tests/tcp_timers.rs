//! TCP timers on the deterministic simulator, checked against Linux's behaviour in virtual time:
//!
//! - SYN retransmission to a black-holed peer: 1 s initial RTO doubling (SYNs at 0, 1, 3, 7, 15,
//!   31, 63 s) and `TimedOut` at 127 s with `tcp_syn_retries = 6`; fewer with a lower setting.
//!   A closed port answers with RST instead: `ConnectionRefused`, no retransmission.
//! - Data to a peer that vanishes mid-connection: RTO doubling from the 200 ms floor, the
//!   `tcp_rto_max_ms` cap (120 s by default: Linux's 924.6 s to give up with
//!   `tcp_retries2 = 15`), `TimedOut` after `tcp_retries2`; a peer back in time resumes the
//!   transfer and resets the backoff.
//! - Keepalive: nothing for `tcp_keepalive_time` (2 h by default); probes on an idle connection
//!   keep it open while the peer answers; with the peer gone, RST and `TimedOut` after
//!   `tcp_keepalive_time + probes * intvl`; a rebooted peer's RST ends it at the first probe.
//! - TIME_WAIT lasts `tcp_timewait_len` and restarts when the peer's FIN comes again; an
//!   orphaned FIN_WAIT_2 ends after `tcp_fin_timeout` (a FIN_WAIT_2 whose owner still holds
//!   the socket does not).
//!
//! A black-holed peer is simulated with a link losing every frame while the sender's ARP entry
//! is kept fresh (see `support/apps.rs`), so every retransmission shows on the tap.
//! Delayed ACKs and zero-window probing are in `tcp_flow.rs`.

#[path = "support/apps.rs"]
mod apps;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::task::Poll;
use std::time::Duration;

use apps::*;
use sockeye_netstack::sim::{LinkConfig, Sim};
use sockeye_netstack::{Counter, Instant, SocketHandle, StackConfig, TcpState};

/// Two stacks on a clean 1 ms link, with a capture.
fn sim_with(config: &StackConfig) -> (Sim, Capture) {
    let mut sim = Sim::new(2, config, LinkConfig::default(), 7);
    let cap = Capture::install(&mut sim);
    (sim, cap)
}

/// Offsets of `segs` from `t0`.
fn offsets(segs: &[Seg], t0: Instant) -> Vec<Duration> {
    segs.iter().map(|s| s.at - t0).collect()
}

/// Asserts two lists of durations agree within 2 ms each.
fn assert_times(got: &[Duration], want: &[Duration], what: &str, cap: &Capture) {
    let ok = got.len() == want.len() && got.iter().zip(want).all(|(g, w)| near(*g, *w, ms(2)));
    assert!(ok, "{what}: got {got:?}, want {want:?}\n{}", cap.dump());
}

/// Starts a connection (at time 0) to a black-holed peer.
fn connect_into_black_hole(config: &StackConfig) -> (Sim, Capture, SocketHandle) {
    let (mut sim, cap) = sim_with(config);
    refresh_arp(&mut sim, 0, 1);
    sim.link.loss = 1.0;
    let c = connect(&mut sim, 0, 1, 80);
    (sim, cap, c)
}

#[test]
fn syn_to_silent_peer_backs_off_from_one_second_and_times_out() {
    let (mut sim, cap, c) = connect_into_black_hole(&StackConfig::default());
    // tcp_syn_retries = 6: the connect fails after 1 + 2 + ... + 64 = 127 s.
    advance_dark(&mut sim, ms(126_990), 0, 1);
    assert!(poll_connect(&mut sim.stacks[0], c).is_pending());
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::SynSent);
    advance_dark(&mut sim, ms(20), 0, 1);
    assert_eq!(
        err_kind(poll_connect(&mut sim.stacks[0], c)),
        Some(ErrorKind::TimedOut)
    );
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Closed);

    let syns = cap.find(|s| s.from == 0 && s.syn);
    let want: Vec<Duration> = [0, 1, 3, 7, 15, 31, 63].map(secs).to_vec();
    assert_times(&offsets(&syns, Instant::ZERO), &want, "SYN times", &cap);
    assert!(syns.iter().all(|s| s.seq == syns[0].seq && s.ack.is_none()));
    let n = sim.stacks[0].counters();
    assert_eq!(n.get(Counter::TcpActiveOpens), 1);
    assert_eq!(n.get(Counter::TcpExtTCPSynRetrans), 6);
    assert_eq!(n.get(Counter::TcpExtTCPTimeouts), 6);
    assert_eq!(n.get(Counter::TcpAttemptFails), 1);
    // Closing the failed socket frees it.
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c);
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
}

#[test]
fn lower_tcp_syn_retries_gives_up_sooner() {
    let config = StackConfig {
        tcp_syn_retries: 2,
        ..StackConfig::default()
    };
    let (mut sim, cap, c) = connect_into_black_hole(&config);
    advance_dark(&mut sim, ms(6_990), 0, 1);
    assert!(poll_connect(&mut sim.stacks[0], c).is_pending());
    advance_dark(&mut sim, ms(20), 0, 1);
    assert_eq!(
        err_kind(poll_connect(&mut sim.stacks[0], c)),
        Some(ErrorKind::TimedOut)
    );
    let syns = cap.find(|s| s.from == 0 && s.syn);
    assert_times(
        &offsets(&syns, Instant::ZERO),
        &[secs(0), secs(1), secs(3)],
        "SYN times",
        &cap,
    );
    // Nothing more is sent afterwards.
    advance_dark(&mut sim, secs(100), 0, 1);
    assert_eq!(cap.find(|s| s.from == 0).len(), 3);
}

#[test]
fn syn_to_closed_port_is_refused_at_once() {
    let (mut sim, cap) = sim_with(&StackConfig::default());
    let c = connect(&mut sim, 0, 1, 81);
    let mut result = None;
    assert!(run_until(&mut sim, secs(5), |s| {
        if let Poll::Ready(r) = poll_connect(&mut s.stacks[0], c) {
            result = Some(r.map_err(|e| e.kind()));
        }
        result.is_some()
    }));
    assert_eq!(result, Some(Err(ErrorKind::ConnectionRefused)));
    // Answered within the first round trip (ARP included), never retransmitted.
    assert!(
        sim.now < Instant::from_millis(10),
        "refused at {:?}",
        sim.now
    );
    assert_eq!(cap.find(|s| s.from == 0 && s.syn).len(), 1);
    let rst = cap.find(|s| s.from == 1 && s.rst);
    assert_eq!(rst.len(), 1, "{}", cap.dump());
    assert_eq!(rst[0].ack, Some(cap.find(|s| s.syn)[0].seq.wrapping_add(1)));
    assert_eq!(sim.stacks[1].counters().get(Counter::TcpOutRsts), 1);
    assert_eq!(sim.stacks[0].counters().get(Counter::TcpAttemptFails), 1);
}

/// Establishes a connection, then makes the peer vanish and writes 1000 bytes. Returns the
/// client handle, the write instant and the RTO before the loss.
fn write_into_black_hole(sim: &mut Sim) -> (SocketHandle, Instant, Duration) {
    let l = listen(sim, 1, 80, 16);
    let (c, _s) = establish(sim, 0, 1, l, 80);
    sim.advance(ms(500));
    let info = sim.stacks[0].tcp_info(c).unwrap();
    assert_eq!(info.send_queued, 0);
    sim.link.loss = 1.0;
    refresh_arp(sim, 0, 1);
    let t0 = sim.now;
    assert_eq!(
        write_now(&mut sim.stacks[0], c, &[7u8; 1000]).unwrap(),
        1000
    );
    (c, t0, info.rto)
}

/// The retransmission-timeout tests turn tail loss probes off (`tcp_early_retrans = 0`) so the
/// schedule is the RTO's alone; the next test shows the probe that precedes it by default.
fn no_tlp() -> StackConfig {
    StackConfig {
        tcp_early_retrans: 0,
        ..StackConfig::default()
    }
}

/// RFC 8985 7 with Linux's timing: on a SACK connection the first retransmission is a tail
/// loss probe, due at 2 SRTT + 200 ms (one segment out) but never later than the RTO, so it
/// goes at 200 ms in the RTO's place; then the RTO series follows from there, backing off.
#[test]
fn a_tail_loss_probe_precedes_the_first_timeout() {
    let (mut sim, cap) = sim_with(&StackConfig::default());
    let (c, t0, rto) = write_into_black_hole(&mut sim);
    assert_eq!(rto, ms(200));
    advance_dark(&mut sim, secs(2), 0, 1);
    let data = cap.sent_since(0, t0, |s| s.len > 0);
    let want: Vec<Duration> = [0, 200, 400, 800, 1600].map(ms).to_vec();
    assert_times(&offsets(&data, t0), &want, "data transmissions", &cap);
    let n = sim.stacks[0].counters();
    assert_eq!(n.get(Counter::TcpExtTCPLossProbes), 1);
    assert_eq!(n.get(Counter::TcpExtTCPTimeouts), 3);
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().retransmits, 3);
}

#[test]
fn data_to_vanished_peer_backs_off_and_times_out_after_tcp_retries2() {
    let config = StackConfig {
        tcp_retries2: 5,
        ..no_tlp()
    };
    let (mut sim, cap) = sim_with(&config);
    let (c, t0, rto) = write_into_black_hole(&mut sim);
    // A 2 ms path: the RTO sits on Linux's 200 ms floor (tcp_rto_min_us).
    assert_eq!(rto, ms(200));
    // 1 + 2 + 4 + 8 + 16 + 32 RTOs until the sixth expiry gives up.
    advance_dark(&mut sim, rto * 63 - ms(10), 0, 1);
    let info = sim.stacks[0].tcp_info(c).unwrap();
    assert_eq!(info.state, TcpState::Established);
    assert_eq!(info.retransmits, 5);
    assert_eq!(info.rto, rto * 32);
    assert_eq!(info.cwnd, info.mss, "loss collapses cwnd to one segment");
    advance_dark(&mut sim, ms(20), 0, 1);
    assert_eq!(
        err_kind(sim.stacks[0].tcp_poll_read(c, &mut cx(), &mut [0; 16])),
        Some(ErrorKind::TimedOut)
    );
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Closed);

    let data = cap.sent_since(0, t0, |s| s.len > 0);
    let want: Vec<Duration> = [0, 1, 3, 7, 15, 31].map(|k| rto * k).to_vec();
    assert_times(&offsets(&data, t0), &want, "data transmissions", &cap);
    assert!(data.iter().all(|s| s.seq == data[0].seq && s.len == 1000));
    let n = sim.stacks[0].counters();
    assert_eq!(n.get(Counter::TcpRetransSegs), 5);
    assert_eq!(n.get(Counter::TcpExtTCPTimeouts), 5);
    assert_eq!(n.get(Counter::TcpExtTCPAbortOnTimeout), 1);
    assert_eq!(n.get(Counter::TcpEstabResets), 1);
    assert_eq!(n.get(Counter::TcpCurrEstab), 0);
}

#[test]
fn rto_backoff_is_capped_at_120_seconds_and_gives_up_after_924_6_seconds() {
    let (mut sim, cap) = sim_with(&no_tlp());
    let (c, t0, rto) = write_into_black_hole(&mut sim);
    assert_eq!(rto, ms(200));
    // 0.2 s doubling to 102.4 s (ten timeouts), then 120 s six times: 924.6 s.
    let total = ms(924_600);
    advance_dark(&mut sim, total - ms(10), 0, 1);
    let info = sim.stacks[0].tcp_info(c).unwrap();
    assert_eq!(info.retransmits, 15);
    assert_eq!(info.rto, secs(120));
    advance_dark(&mut sim, ms(20), 0, 1);
    assert_eq!(
        err_kind(sim.stacks[0].tcp_poll_write(c, &mut cx(), b"x")),
        Some(ErrorKind::TimedOut)
    );
    let data = cap.sent_since(0, t0, |s| s.len > 0);
    let want: Vec<Duration> = (0..15u32)
        .map(|i| (rto * (1 << i)).min(secs(120)))
        .collect();
    let got = gaps(&data.iter().map(|s| s.at).collect::<Vec<_>>());
    assert_times(&got, &want, "gaps between transmissions", &cap);
}

#[test]
fn lower_tcp_rto_max_ms_caps_the_backoff() {
    let config = StackConfig {
        tcp_rto_max_ms: 1000,
        tcp_retries2: 7,
        ..no_tlp()
    };
    let (mut sim, cap) = sim_with(&config);
    let (c, t0, rto) = write_into_black_hole(&mut sim);
    assert_eq!(rto, ms(200));
    // Gaps 0.2, 0.4, 0.8, then 1 s: give up 0.2 + 0.4 + 0.8 + 5 * 1 = 6.4 s after the write.
    advance_dark(&mut sim, ms(6_390), 0, 1);
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().rto, secs(1));
    advance_dark(&mut sim, ms(20), 0, 1);
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Closed);
    let data = cap.sent_since(0, t0, |s| s.len > 0);
    let got = gaps(&data.iter().map(|s| s.at).collect::<Vec<_>>());
    let want = [200, 400, 800, 1000, 1000, 1000, 1000].map(ms);
    assert_times(&got, &want, "gaps", &cap);
}

/// Keepalive settings small enough for quick runs: 10 s idle, probes 2 s apart, 3 of them.
fn keepalive_config() -> StackConfig {
    StackConfig {
        tcp_keepalive_time: 10,
        tcp_keepalive_intvl: 2,
        tcp_keepalive_probes: 3,
        ..StackConfig::default()
    }
}

/// The client's keepalive probes: no payload, sequence number one below its `snd_una`.
fn probes(cap: &Capture, snd_una: u32) -> Vec<Seg> {
    cap.find(|s| {
        s.from == 0 && s.len == 0 && !s.syn && !s.fin && !s.rst && s.seq == snd_una.wrapping_sub(1)
    })
}

#[test]
fn keepalive_probes_answered_by_a_live_peer_keep_the_connection() {
    let (mut sim, cap) = sim_with(&keepalive_config());
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    sim.stacks[0].tcp_set_keepalive(c, true).unwrap();
    let t_idle = cap.find(|s| s.from == 1 && s.syn)[0].at + ms(1);
    let snd_una = cap.find(|s| s.from == 0 && !s.syn)[0].seq;
    sim.advance(secs(65));

    let probes = probes(&cap, snd_una);
    // Each answered probe restarts the 10 s idle time (from the answer, 2 ms later).
    assert_eq!(probes.len(), 6, "{}", cap.dump());
    assert!(near(probes[0].at - t_idle, secs(10), ms(2)));
    for g in gaps(&probes.iter().map(|p| p.at).collect::<Vec<_>>()) {
        assert!(near(g, secs(10), ms(4)), "gap {g:?}");
    }
    for p in &probes {
        let answer = cap.find(|s| s.from == 1 && s.at >= p.at && s.at <= p.at + ms(2));
        assert_eq!(answer.len(), 1, "probe at {:?} unanswered", p.at);
        assert_eq!(answer[0].ack, Some(snd_una));
    }
    assert_eq!(sim.stacks[0].counters().get(Counter::TcpExtTCPKeepAlive), 6);
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Established);
    // Still usable.
    write_now(&mut sim.stacks[0], c, b"still here").unwrap();
    let mut got = Vec::new();
    assert!(run_until(&mut sim, secs(1), |sim| {
        let _ = drain(&mut sim.stacks[1], s, &mut got);
        got == b"still here"
    }));
}

#[test]
fn keepalive_waits_two_hours_by_default() {
    let (mut sim, cap) = sim_with(&StackConfig::default());
    let l = listen(&mut sim, 1, 80, 16);
    let (c, _s) = establish(&mut sim, 0, 1, l, 80);
    let snd_una = cap.find(|s| s.from == 0 && !s.syn)[0].seq;
    sim.advance(secs(7199));
    // Not enabled yet: nothing; enabled, the first probe comes 7200 s after the last arrival.
    assert!(probes(&cap, snd_una).is_empty());
    sim.stacks[0].tcp_set_keepalive(c, true).unwrap();
    sim.advance(secs(2));
    let p = probes(&cap, snd_una);
    assert_eq!(p.len(), 1, "{}", cap.dump());
    assert!(
        near(p[0].at - Instant::ZERO, secs(7200), ms(10)),
        "{:?}",
        p[0].at
    );
}

#[test]
fn keepalive_resets_a_connection_whose_peer_is_gone() {
    let (mut sim, cap) = sim_with(&keepalive_config());
    let l = listen(&mut sim, 1, 80, 16);
    let (c, _s) = establish(&mut sim, 0, 1, l, 80);
    let snd_una = cap.find(|s| s.from == 0 && !s.syn)[0].seq;
    sim.stacks[0].tcp_set_keepalive(c, true).unwrap();
    let t_idle = cap.find(|s| s.from == 1 && s.syn)[0].at + ms(1);
    sim.link.loss = 1.0;
    // Idle 10 s, then probes at 10, 12, 14 s; the fourth expiry (16 s) gives up.
    advance_dark_to(&mut sim, t_idle + ms(15_990), 0, 1);
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Established);
    advance_dark(&mut sim, ms(20), 0, 1);
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Closed);
    assert_eq!(
        err_kind(sim.stacks[0].tcp_poll_read(c, &mut cx(), &mut [0; 8])),
        Some(ErrorKind::TimedOut)
    );
    let p = probes(&cap, snd_una);
    assert_times(
        &offsets(&p, t_idle),
        &[secs(10), secs(12), secs(14)],
        "probes",
        &cap,
    );
    let rst = cap.find(|s| s.from == 0 && s.rst);
    assert_eq!(rst.len(), 1, "{}", cap.dump());
    assert!(near(rst[0].at - t_idle, secs(16), ms(2)));
    let n = sim.stacks[0].counters();
    assert_eq!(n.get(Counter::TcpExtTCPKeepAlive), 3);
    assert_eq!(n.get(Counter::TcpEstabResets), 1);
}

/// Client closes first, server answers with its FIN: returns (client, server, the instant the
/// client entered TIME_WAIT).
fn close_client_first(sim: &mut Sim, cap: &Capture) -> (SocketHandle, SocketHandle, Instant) {
    let l = listen(sim, 1, 80, 16);
    let (c, s) = establish(sim, 0, 1, l, 80);
    sim.stacks[0].tcp_shutdown(c, Shutdown::Write).unwrap();
    let mut eof = false;
    assert!(run_until(sim, secs(2), |sim| {
        if !eof && drain(&mut sim.stacks[1], s, &mut Vec::new()).is_ready() {
            eof = true;
            sim.stacks[1].tcp_shutdown(s, Shutdown::Write).unwrap();
        }
        sim.stacks[0].tcp_state(c).unwrap() == TcpState::TimeWait
    }));
    // TIME_WAIT began when the server's FIN arrived, one link delay after it left.
    (c, s, cap.find(|x| x.from == 1 && x.fin)[0].at + ms(1))
}

#[test]
fn time_wait_lasts_tcp_timewait_len() {
    for len in [60, 5] {
        let config = StackConfig {
            tcp_timewait_len: len,
            ..StackConfig::default()
        };
        let (mut sim, cap) = sim_with(&config);
        let (c, s, t_tw) = close_client_first(&mut sim, &cap);
        let end = t_tw + secs(u64::from(len));
        advance_to(&mut sim, end - ms(10));
        assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::TimeWait);
        // Only the active closer waits; the passive one closed on the ACK of its FIN.
        assert_eq!(sim.stacks[1].tcp_state(s).unwrap(), TcpState::Closed);
        sim.advance(ms(20));
        assert_eq!(
            sim.stacks[0].tcp_state(c).unwrap(),
            TcpState::Closed,
            "tcp_timewait_len {len}"
        );
        assert_eq!(sim.stacks[0].counters().get(Counter::TcpExtTW), 1);
        let now = sim.now;
        sim.stacks[0].tcp_close(now, c);
        assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    }
}

#[test]
fn orphaned_time_wait_is_freed_when_it_ends() {
    let (mut sim, cap) = sim_with(&StackConfig::default());
    let (c, _s, t_tw) = close_client_first(&mut sim, &cap);
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c);
    assert!(
        sim.stacks[0].tcp_state(c).is_err(),
        "handle is stale after close"
    );
    advance_to(&mut sim, t_tw + ms(59_990));
    assert_eq!(sim.stacks[0].tcp_sockets(), 1);
    sim.advance(ms(20));
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
}

#[test]
fn orphaned_fin_wait_2_ends_after_tcp_fin_timeout() {
    let config = StackConfig {
        tcp_fin_timeout: 10,
        ..StackConfig::default()
    };
    let (mut sim, cap) = sim_with(&config);
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c);
    sim.advance(ms(100));
    assert_eq!(sim.stacks[1].tcp_state(s).unwrap(), TcpState::CloseWait);
    // FIN_WAIT_2 began when the server's ACK of the FIN arrived.
    let fin = cap.find(|x| x.from == 0 && x.fin)[0].clone();
    let acked = cap.find(|x| x.from == 1 && x.ack == Some(fin.seq.wrapping_add(1)))[0].at + ms(1);
    advance_to(&mut sim, acked + ms(9_990));
    assert_eq!(sim.stacks[0].tcp_sockets(), 1);
    sim.advance(ms(20));
    assert_eq!(
        sim.stacks[0].tcp_sockets(),
        0,
        "orphaned FIN_WAIT_2 outlived tcp_fin_timeout"
    );
    // The client's stack no longer knows the connection: late data is answered with a RST.
    write_now(&mut sim.stacks[1], s, b"late").unwrap();
    assert!(run_until(&mut sim, secs(2), |sim| {
        sim.stacks[1].tcp_state(s).unwrap() == TcpState::Closed
    }));
    // Linux reports EPIPE for a reset in CLOSE_WAIT; ECONNRESET is the other reading.
    let e = err_kind(sim.stacks[1].tcp_poll_write(s, &mut cx(), b"more"));
    assert!(
        matches!(e, Some(ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)),
        "{e:?}"
    );
    assert_eq!(
        cap.find(|x| x.from == 0 && x.rst).len(),
        1,
        "{}",
        cap.dump()
    );
}

#[test]
fn fin_wait_2_with_an_owner_has_no_timeout() {
    let config = StackConfig {
        tcp_fin_timeout: 10,
        ..StackConfig::default()
    };
    let (mut sim, _cap) = sim_with(&config);
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    sim.stacks[0].tcp_shutdown(c, Shutdown::Write).unwrap();
    sim.advance(secs(100));
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::FinWait2);
    // The half-open direction still works.
    write_now(&mut sim.stacks[1], s, b"reply").unwrap();
    let mut got = Vec::new();
    assert!(run_until(&mut sim, secs(1), |sim| {
        let _ = drain(&mut sim.stacks[0], c, &mut got);
        got == b"reply"
    }));
    assert!(matches!(
        sim.stacks[0].tcp_poll_read(c, &mut cx(), &mut [0; 4]),
        Poll::Pending
    ));
}

#[test]
fn a_peer_back_before_tcp_retries2_resumes_the_transfer() {
    let (mut sim, cap) = sim_with(&no_tlp());
    let (c, t0, rto) = write_into_black_hole(&mut sim);
    // Dark for 5 s: transmissions at 0, 0.2, 0.6, 1.4, 3.0 s; the next is due at 6.2 s.
    advance_dark(&mut sim, secs(5), 0, 1);
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().retransmits, 4);
    sim.link.loss = 0.0;
    advance_to(&mut sim, t0 + ms(6_300));
    let info = sim.stacks[0].tcp_info(c).unwrap();
    assert_eq!(info.state, TcpState::Established);
    assert_eq!(info.send_queued, 0, "acknowledged after the link came back");
    assert_eq!(info.retransmits, 0, "progress resets the count");
    assert_eq!(info.rto, rto, "a fresh RTT sample clears the backoff");
    let data = cap.sent_since(0, t0, |s| s.len > 0);
    assert_eq!(data.len(), 6, "{}", cap.dump());
    assert!(near(data[5].at - t0, rto * 31, ms(2)));
    assert_eq!(
        sim.stacks[0]
            .counters()
            .get(Counter::TcpExtTCPAbortOnTimeout),
        0
    );
}

#[test]
fn time_wait_restarts_when_the_peers_fin_is_retransmitted() {
    let (mut sim, cap) = sim_with(&StackConfig::default());
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    sim.stacks[0].tcp_shutdown(c, Shutdown::Write).unwrap();
    sim.advance(ms(10));
    // The server closes; the client's ACK of that FIN is lost, so the FIN comes again.
    sim.stacks[1].tcp_shutdown(s, Shutdown::Write).unwrap();
    let mut dropped = None;
    run_until(&mut sim, secs(2), |sim| {
        let fin_in = sim.stacks[0].tcp_state(c).unwrap() == TcpState::TimeWait;
        if fin_in && dropped.is_none() {
            sim.link.loss = 1.0;
            dropped = Some(sim.now);
        } else if dropped.is_some_and(|t| sim.now > t) {
            sim.link.loss = 0.0;
        }
        false
    });
    let fins = cap.find(|x| x.from == 1 && x.fin);
    assert_eq!(
        fins.len(),
        2,
        "the FIN is retransmitted once\n{}",
        cap.dump()
    );
    assert_eq!(sim.stacks[1].tcp_state(s).unwrap(), TcpState::Closed);
    // TIME_WAIT counts from the second FIN, not the first.
    let restarted = fins[1].at + ms(1);
    assert!(restarted - dropped.unwrap() >= ms(200));
    advance_to(&mut sim, dropped.unwrap() + ms(60_010));
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::TimeWait);
    advance_to(&mut sim, restarted + ms(59_990));
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::TimeWait);
    sim.advance(ms(20));
    assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Closed);
}

#[test]
fn keepalive_finds_a_restarted_peer_and_reports_the_reset() {
    let (mut sim, cap) = sim_with(&keepalive_config());
    let l = listen(&mut sim, 1, 80, 16);
    let (c, _s) = establish(&mut sim, 0, 1, l, 80);
    sim.stacks[0].tcp_set_keepalive(c, true).unwrap();
    // Stack 1 reboots: same addresses, no memory of the connection.
    sim.stacks[1] = fresh_stack(1, 1500, 5);
    sim.advance(secs(11));
    // The first probe is answered with a RST, which ends the connection at once.
    assert_eq!(
        cap.find(|x| x.from == 1 && x.rst).len(),
        1,
        "{}",
        cap.dump()
    );
    assert_eq!(
        err_kind(sim.stacks[0].tcp_poll_read(c, &mut cx(), &mut [0; 8])),
        Some(ErrorKind::ConnectionReset)
    );
    assert_eq!(sim.stacks[0].counters().get(Counter::TcpExtTCPKeepAlive), 1);
}
