//! Scripted-segment tests of SYN cookies and of the listener's request handling, against
//! Linux's rules (`tcp_v4_conn_request`, `cookie_v4_check`, `tcp_check_req`,
//! `inet_csk_reqsk_queue_prune`):
//!
//! - with `tcp_syncookies = 2` every SYN is answered statelessly: nothing is queued, the
//!   SYN-ACK's ISN is the cookie, and the ACK that returns it creates the connection straight
//!   into the accept queue with the MSS rounded down to Linux's table and, when the SYN had
//!   timestamps, the window scale and SACK hidden in the timestamp; without timestamps the
//!   connection has neither;
//! - data and FIN riding on the cookie ACK belong to the new connection;
//! - a forged or expired cookie is answered with a RST and creates nothing
//!   (`SyncookiesFailed`); an ACK when no cookie was sent recently is not checked at all;
//! - a valid cookie ACK that finds the accept queue full is dropped (`ListenOverflows`), and a
//!   later one gets in;
//! - a RST removes a half-open request (`EmbryonicRsts`);
//! - a crowded SYN queue retransmits old requests' SYN-ACKs fewer times.

mod script;

use script::{PEER_PORT, PeerOpts, Read, Script, peer_data, seg};
use sockeye_netstack::{Counter, StackConfig, TcpState};

/// A script whose stack always answers with cookies.
fn always_cookies() -> Script {
    Script::with_config(StackConfig {
        tcp_syncookies: 2,
        ..StackConfig::default()
    })
}

/// With timestamps, the cookie keeps window scale and SACK: the connection the ACK creates has
/// every option the SYN offered; the SYN-ACK itself looks like any other.
#[test]
fn a_cookie_with_timestamps_restores_window_scale_and_sack() {
    let mut h = always_cookies();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(
        seg("S.")
            .seq(0)
            .ack(1)
            .win(65535)
            .mss(1460)
            .wscale(7)
            .sack_ok()
            .ts_ecr(script::PEER_TS_BASE),
    );
    h.expect_nothing();
    // Nothing was kept.
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
    assert_eq!(h.stack.tcp_sockets(), 1, "only the listener");
    assert_eq!(h.counter(Counter::TcpExtSyncookiesSent), 1);
    assert_eq!(h.counter(Counter::TcpExtTCPReqQFullDoCookies), 1);

    h.inject(30, seg(".").seq(1).ack(1).win(1000));
    h.expect_nothing();
    let c = h.accept(l).expect("the cookie ACK created the connection");
    let info = h.info(c);
    assert_eq!(info.state, TcpState::Established);
    assert_eq!(info.window_scale, Some((7, 7)));
    assert!(info.sack && info.timestamps);
    assert_eq!(info.mss, 1448, "1460 from the table, less the timestamps");
    assert_eq!(info.snd_wnd, 1000 << 7);
    assert_eq!(h.counter(Counter::TcpExtSyncookiesRecv), 1);
    assert_eq!(h.counter(Counter::TcpPassiveOpens), 1);
    assert_eq!(h.counter(Counter::TcpCurrEstab), 1);
    let stats = h.stack.tcp_listener_stats(l).unwrap();
    assert_eq!(
        (
            stats.syncookies_sent,
            stats.syncookies_recv,
            stats.established
        ),
        (1, 1, 1)
    );
    // It works both ways.
    h.inject(40, seg("P.").seq(1).ack(1).len(100));
    assert_eq!(h.read(c), Read::Data(peer_data(1, 100)));
    h.expect(seg(".").seq(1).ack(101));
    assert_eq!(h.write(c, 500), 500);
    h.expect(seg("P.").seq(1).ack(101).len(500));
}

/// Without timestamps a cookie has nowhere to keep window scale and SACK: the SYN-ACK offers
/// neither and the connection goes without. The MSS is rounded down to the table (1400 to
/// 1300).
#[test]
fn a_cookie_without_timestamps_drops_window_scale_and_sack_and_rounds_the_mss() {
    let mut h = always_cookies();
    let l = h.listen(script::LISTEN_PORT);
    let offer = PeerOpts {
        mss: Some(1400),
        wscale: Some(7),
        sack_ok: true,
        ts: false,
    };
    h.inject(0, seg("S").seq(0).win(65535).with_opts(offer));
    h.expect(
        seg("S.")
            .seq(0)
            .ack(1)
            .mss(1460)
            .no_wscale()
            .no_sack_ok()
            .no_ts(),
    );
    h.inject(10, seg(".").seq(1).ack(1).win(4000));
    let c = h.accept(l).expect("created");
    let info = h.info(c);
    assert_eq!(info.window_scale, None);
    assert!(!info.sack && !info.timestamps);
    assert_eq!(info.mss, 1300);
    assert_eq!(info.snd_wnd, 4000, "the window is not scaled");
}

/// A SYN without an MSS option stands for 536, the table's smallest entry.
#[test]
fn a_cookie_for_a_syn_without_mss_uses_536() {
    let mut h = always_cookies();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::NONE));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(10, seg(".").seq(1).ack(1).win(4000));
    let c = h.accept(l).expect("created");
    assert_eq!(h.info(c).mss, 536);
}

/// Data and a FIN on the ACK that returns the cookie are the new connection's.
#[test]
fn data_and_fin_on_the_cookie_ack_are_kept() {
    let mut h = always_cookies();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(10, seg("FP.").seq(1).ack(1).len(300));
    let c = h.accept(l).expect("created");
    assert_eq!(h.state(c), TcpState::CloseWait);
    assert_eq!(h.read(c), Read::Data(peer_data(1, 300)));
    assert_eq!(h.read(c), Read::Eof);
    // The FIN is acknowledged (at once: it ends the peer's stream).
    h.run_until(60);
    let acks = h.take_sent();
    assert!(acks.iter().any(|s| s.flags.ack && s.ack == 302), "{acks:?}");
}

/// A forged cookie is answered with a RST and creates nothing; so is a genuine one presented
/// after two ticks of the cookie clock. An ACK when no cookie was sent for two minutes is not
/// even checked.
#[test]
fn forged_and_expired_cookies_are_rejected_with_a_reset() {
    let mut h = always_cookies();
    let l = h.listen(script::LISTEN_PORT);
    // No cookie sent yet: a stray ACK is a plain RST, not a cookie failure.
    h.inject(
        0,
        seg(".").seq(1).ack(12345).ports(40000, script::LISTEN_PORT),
    );
    h.expect(seg("R").ports(script::LISTEN_PORT, 40000));
    assert_eq!(h.counter(Counter::TcpExtSyncookiesFailed), 0);

    h.inject(1_000, seg("S").seq(0).win(65535).with_opts(PeerOpts::NONE));
    h.expect(seg("S.").seq(0).ack(1));
    // Wrong acknowledgment number (one the attacker made up) from another port.
    h.inject(
        1_010,
        seg(".").seq(1).ack(777).ports(40001, script::LISTEN_PORT),
    );
    h.expect(seg("R").ports(script::LISTEN_PORT, 40001));
    // The right cookie, wrong client sequence number.
    h.inject(1_020, seg(".").seq(5_001).ack(1));
    h.expect(seg("R"));
    assert_eq!(h.counter(Counter::TcpExtSyncookiesFailed), 2);
    assert_eq!(h.stack.tcp_listener_stats(l).unwrap().syncookies_failed, 2);
    assert_eq!(h.stack.tcp_sockets(), 1, "nothing created");

    // Another SYN at 110 s keeps the listener checking; the first cookie was made at 1 s
    // (cookie minute 0) and is refused from minute 2 (120 s) on.
    h.inject(
        110_000,
        seg("S").seq(0).win(65535).ports(40002, script::LISTEN_PORT),
    );
    let synacks = h.take_sent();
    assert!(synacks.len() == 1 && synacks[0].flags.syn, "{synacks:?}");
    h.inject(120_000, seg(".").seq(1).ack(1));
    h.expect(seg("R"));
    assert_eq!(h.counter(Counter::TcpExtSyncookiesFailed), 3);
    assert_eq!(h.counter(Counter::TcpExtSyncookiesRecv), 0);
    assert!(h.accept(l).is_none());
}

/// A cookie is good until the cookie clock has ticked twice: made at 59 s (minute 0), it is
/// still accepted at 119 s (minute 1).
#[test]
fn a_cookie_is_accepted_in_the_next_minute() {
    let mut h = always_cookies();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(59_000, seg("S").seq(0).win(65535).with_opts(PeerOpts::NONE));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(119_000, seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert!(h.accept(l).is_some());
}

/// A valid cookie ACK that finds the accept queue full is dropped silently (Linux: the child
/// cannot be created, `ListenOverflows`); the client's next segment with the same cookie
/// gets in once accept made room.
#[test]
fn a_cookie_ack_that_finds_the_accept_queue_full_is_dropped() {
    let mut h = always_cookies();
    let l = h.stack.tcp_listener(
        core::net::SocketAddrV4::new(script::STACK_IP, script::LISTEN_PORT),
        0,
    );
    let l = l.expect("listen");
    h.stack_port = Some(script::LISTEN_PORT);
    // One connection fills a backlog-0 accept queue.
    h.inject(
        0,
        seg("S").seq(0).win(65535).ports(40000, script::LISTEN_PORT),
    );
    let first = h.take_sent();
    assert_eq!(first.len(), 1);
    let cookie = first[0].abs_seq;
    h.inject(
        5,
        seg(".")
            .seq(1)
            .ack(
                cookie
                    .wrapping_add(1)
                    .wrapping_sub(h.stack_isn().unwrap_or(0)),
            )
            .ports(40000, script::LISTEN_PORT),
    );
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (1, 0));
    assert_eq!(h.stack.tcp_listener_stats(l).unwrap().accept_queue_len, 1);

    // The flow under test: its cookie ACK overflows.
    h.inject(10, seg("S").seq(0).win(65535).with_opts(PeerOpts::NONE));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(20, seg("P.").seq(1).ack(1).len(50));
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpExtListenOverflows), 1);
    assert_eq!(h.counter(Counter::TcpExtSyncookiesRecv), 2);
    let stats = h.stack.tcp_listener_stats(l).unwrap();
    assert_eq!(
        (stats.overflows, stats.drops, stats.accept_queue_len),
        (1, 1, 1)
    );

    // Accept makes room; the retransmitted data brings the cookie again.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let first = h.stack.tcp_poll_accept(l, &mut cx);
    assert!(matches!(first, std::task::Poll::Ready(Ok((_, peer))) if peer.port() == 40000));
    h.inject(1_000, seg("P.").seq(1).ack(1).len(50));
    let c = h.accept(l).expect("created now");
    assert_eq!(h.read(c), Read::Data(peer_data(1, 50)));
    h.expect(seg(".").seq(1).ack(51));
}

/// RFC 9293 3.10.7.4 and Linux's `tcp_check_req`: a RST for a half-open request removes it
/// (`EmbryonicRsts`); nothing is sent and nothing is left.
#[test]
fn a_reset_removes_a_half_open_request() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 1));
    h.inject(5, seg("R").seq(1));
    h.expect_nothing_until(10_000);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
    assert_eq!(h.stack.tcp_sockets(), 1);
    assert_eq!(h.counter(Counter::TcpExtEmbryonicRsts), 1);
    assert_eq!(h.stack.tcp_listener_stats(l).unwrap().embryonic_rsts, 1);
    assert_eq!(h.counter(Counter::TcpExtSyncookiesSent), 0);
}

/// `inet_csk_reqsk_queue_prune` / `reqsk_timer_handler`: while at least half of the SYN
/// queue (16 places for backlog 128 with `tcp_max_syn_backlog` 8) is taken and no request is
/// young any more, an old request's SYN-ACK is retransmitted only twice (at 1 s and 3 s) and
/// the request dropped at 7 s instead of 63 s. Twelve dead requests are pruned at 7 s until
/// fewer than half the places are taken; the remaining seven keep the full
/// `tcp_synack_retries` (5) and go at 63 s.
#[test]
fn a_crowded_syn_queue_gives_old_requests_fewer_retries() {
    let mut h = Script::with_config(StackConfig {
        tcp_max_syn_backlog: 8,
        ..StackConfig::default()
    });
    let l = h.listen(script::LISTEN_PORT);
    assert_eq!(h.stack.tcp_listener_stats(l).unwrap().syn_backlog, 16);
    for i in 0..12 {
        h.inject_now(
            seg("S")
                .seq(0)
                .win(65535)
                .ports(PEER_PORT + i, script::LISTEN_PORT),
        );
    }
    h.run_until(6_990);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 12));
    h.run_until(7_010);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 7));
    h.run_until(62_990);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 7));
    h.run_until(63_010);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
    let sent = h.take_sent();
    let mut per_request: Vec<usize> = (0..12)
        .map(|i| sent.iter().filter(|s| s.dst_port == PEER_PORT + i).count())
        .collect();
    per_request.sort_unstable();
    assert_eq!(per_request, [[3; 5].as_slice(), &[6; 7]].concat());
    assert_eq!(h.counter(Counter::TcpExtTCPSynRetrans), 5 * 2 + 7 * 5);
}
