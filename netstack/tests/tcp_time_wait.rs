//! Scripted-segment tests of TIME_WAIT once the connection is orphaned, when its control block
//! gives way to the compact record (`tcp/timewait.rs`), and of `tcp_max_tw_buckets`:
//! - the record answers as the connection did: a retransmitted FIN is ACKed (same window and
//!   timestamps) and restarts 2 MSL, out-of-window and PAWS-rejected segments get a
//!   rate-limited ACK, a RST at RCV.NXT ends it (not with `tcp_rfc1337`);
//! - the socket listing (`ss -tanmo`) shows it in TIME-WAIT with its timer and no buffers, and
//!   it ends after `tcp_timewait_len`, counted in `TW`;
//! - a connection whose user still holds the handle stays a full connection in TIME_WAIT and
//!   becomes a record when the handle is closed;
//! - with `tcp_max_tw_buckets` TIME_WAIT sockets, further connections close at once after
//!   ACKing the peer's FIN (`TCPTimeWaitOverflow`), and a retransmitted FIN then gets a RST.
//!
//! Connections are opened passively with Linux's options (timestamps, SACK, window scaling).

mod script;

use script::{LISTEN_PORT, PEER_ISN, PEER_PORT, PEER_TS_BASE, PeerOpts, Script, seg};
use sockeye_netstack::{
    Counter, Instant, SocketEntry, SocketHandle, SocketMemory, StackConfig, TcpState, TimerKind,
};

/// The listing's row for the connection from `peer_port`.
fn row(h: &Script, peer_port: u16) -> Option<SocketEntry> {
    h.stack
        .tcp_socket_table()
        .into_iter()
        .find(|e| e.remote.port() == peer_port && e.local.port() == LISTEN_PORT)
}

/// An established connection closed by its user at 10 ms; the peer ACKs our FIN at 20 ms and
/// sends its own at 30 ms, which the stack ACKs: TIME_WAIT from 30 ms, the handle closed.
fn orphaned_time_wait(config: StackConfig) -> (Script, SocketHandle) {
    let mut h = Script::with_config(config);
    let (l, c) = h.passive_open(PeerOpts::FULL);
    h.run_until(10);
    h.close(c);
    h.expect(seg("F.").seq(1).ack(1));
    h.inject(20, seg(".").seq(1).ack(2));
    h.expect_nothing();
    h.inject(30, seg("F.").seq(1).ack(2));
    h.expect(seg(".").seq(2).ack(2));
    h.expect_nothing();
    (h, l)
}

#[test]
fn an_orphaned_connection_in_time_wait_is_listed_with_its_timer_and_no_buffers() {
    let (h, _) = orphaned_time_wait(StackConfig::default());
    let e = row(&h, PEER_PORT).expect("listed");
    assert_eq!(e.state, TcpState::TimeWait);
    assert!(e.orphan);
    assert_eq!((e.recv_q, e.send_q), (0, 0));
    assert_eq!(
        e.memory,
        SocketMemory::default(),
        "the record holds no buffer"
    );
    let timer = e.timer.expect("TIME_WAIT's timer");
    assert_eq!(timer.kind, TimerKind::TimeWait);
    assert_eq!(timer.kind.name(), "timewait");
    assert_eq!(timer.expires, Instant::from_millis(60_030));
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1);
    assert_eq!(h.stack.tcp_sockets(), 2, "the listener and the record");
    assert!(sockeye_netstack::Stack::tcp_time_wait_size() < 128);
    assert!(
        sockeye_netstack::Stack::tcp_time_wait_size() * 5
            < sockeye_netstack::Stack::tcp_idle_connection_size(),
        "a record is a small fraction of a connection"
    );
}

#[test]
fn time_wait_ends_after_tcp_timewait_len_and_frees_the_record() {
    let (mut h, _) = orphaned_time_wait(StackConfig::default());
    h.expect_nothing_until(60_029);
    assert_eq!(h.stack.tcp_sockets(), 2);
    h.run_until(60_030);
    h.expect_nothing();
    assert_eq!(h.stack.tcp_sockets(), 1, "only the listener");
    assert_eq!(h.stack.tcp_time_wait_sockets(), 0);
    assert_eq!(h.counter(Counter::TcpExtTW), 1);
    assert!(row(&h, PEER_PORT).is_none());
    // Nothing is left to answer for the old connection: the listener resets it.
    h.inject(61_000, seg("F.").seq(1).ack(2));
    h.expect(seg("R").seq(2));
}

#[test]
fn a_retransmitted_fin_is_acked_like_before_and_restarts_2msl() {
    let (mut h, _) = orphaned_time_wait(StackConfig::default());
    let first = h.log.last().cloned().expect("the ACK of the FIN");
    h.inject(1_000, seg("F.").seq(1).ack(2));
    let again = h.expect(seg(".").seq(2).ack(2));
    assert_eq!(again.win, first.win, "the same window");
    assert_eq!(
        again.ts.map(|(_, ecr)| ecr),
        Some(PEER_TS_BASE + 1_000),
        "TS.Recent follows the peer"
    );
    assert!(
        again.ts.unwrap().0 > first.ts.unwrap().0,
        "our clock went on"
    );
    assert_eq!(
        row(&h, PEER_PORT).and_then(|e| e.timer).map(|t| t.expires),
        Some(Instant::from_millis(61_000))
    );
    // Every retransmission is answered (no rate limit on FINs).
    h.inject(1_100, seg("F.").seq(1).ack(2));
    h.expect(seg(".").seq(2).ack(2));
    h.expect_nothing_until(61_099);
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1, "restarted at 1100 ms");
    h.run_until(61_100);
    assert_eq!(h.stack.tcp_time_wait_sockets(), 0);
    assert_eq!(h.counter(Counter::TcpExtTW), 1);
}

#[test]
fn invalid_segments_get_rate_limited_acks() {
    let (mut h, _) = orphaned_time_wait(StackConfig::default());
    // An old pure ACK (out of window): one ACK per 500 ms.
    h.inject(1_000, seg(".").seq(0).ack(2));
    h.expect(seg(".").seq(2).ack(2));
    h.inject(1_100, seg(".").seq(0).ack(2));
    h.expect_nothing();
    // Data is always answered.
    h.inject(1_200, seg("P.").seq(2).ack(2).len(10));
    h.expect(seg(".").seq(2).ack(2));
    // PAWS: an old timestamp is rejected and counted.
    h.inject(
        2_000,
        seg("P.").seq(2).ack(2).len(10).ts(PEER_TS_BASE + 1, 0),
    );
    h.expect(seg(".").seq(2).ack(2));
    assert_eq!(h.counter(Counter::TcpExtPAWSEstab), 1);
    // A pure ACK in window is fine: nothing to say.
    h.inject(3_000, seg(".").seq(2).ack(2));
    h.expect_nothing();
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1);
}

#[test]
fn a_rst_ends_time_wait_unless_rfc_1337() {
    let (mut h, _) = orphaned_time_wait(StackConfig::default());
    // Not exactly RCV.NXT: a challenge ACK.
    h.inject(1_000, seg("R").seq(5));
    h.expect(seg(".").seq(2).ack(2));
    assert_eq!(h.counter(Counter::TcpExtTCPChallengeACK), 1);
    h.inject(2_000, seg("R").seq(2));
    h.expect_nothing();
    assert_eq!(h.stack.tcp_sockets(), 1, "the record is gone");
    assert_eq!(
        h.counter(Counter::TcpExtTW),
        0,
        "ended early, not by its timer"
    );
    // The next segment finds no connection.
    h.inject(3_000, seg("F.").seq(1).ack(2));
    h.expect(seg("R").seq(2));

    let (mut h, _) = orphaned_time_wait(StackConfig {
        tcp_rfc1337: true,
        ..StackConfig::default()
    });
    h.inject(2_000, seg("R").seq(2));
    h.expect_nothing();
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1, "RFC 1337: kept");
}

#[test]
fn a_time_wait_the_user_still_holds_becomes_a_record_when_the_handle_closes() {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.shutdown_into_time_wait(c);
    assert_eq!(h.state(c), TcpState::TimeWait);
    let held = row(&h, PEER_PORT).expect("listed");
    assert!(!held.orphan);
    assert_ne!(
        held.memory.rcvbuf, 0,
        "a full connection, with its buffer limits"
    );
    assert_eq!(held.timer.map(|t| t.kind), Some(TimerKind::TimeWait));
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1);
    h.run_until(1_000);
    h.close(c);
    assert!(h.stack.tcp_state(c).is_err(), "the handle is gone");
    let record = row(&h, PEER_PORT).expect("still listed");
    assert_eq!(record.state, TcpState::TimeWait);
    assert!(record.orphan);
    assert_eq!(record.memory, SocketMemory::default());
    assert_eq!(record.timer, held.timer, "the same deadline");
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1);
    // It still answers, and ends on time.
    h.inject(2_000, seg("F.").seq(1).ack(2));
    h.expect(seg(".").seq(2).ack(2));
    h.expect_nothing_until(61_999);
    h.run_until(62_000);
    assert_eq!(h.stack.tcp_sockets(), 1);
}

#[test]
fn simultaneous_close_ends_in_a_record_too() {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.run_until(10);
    h.close(c);
    h.expect(seg("F.").seq(1).ack(1));
    h.inject(15, seg("F.").seq(1).ack(1));
    h.expect(seg(".").seq(2).ack(2));
    assert_eq!(h.stack.tcp_time_wait_sockets(), 0, "CLOSING");
    h.inject(20, seg(".").seq(2).ack(2));
    h.expect_nothing();
    let e = row(&h, PEER_PORT).expect("listed");
    assert_eq!(
        (e.state, e.memory),
        (TcpState::TimeWait, SocketMemory::default())
    );
    assert_eq!(
        e.timer.map(|t| t.expires),
        Some(Instant::from_millis(60_020))
    );
    h.inject(30, seg("F.").seq(1).ack(2));
    h.expect(seg(".").seq(2).ack(2));
}

/// Opens a connection from peer port `port` (the listener exists), closes it from our side
/// first and completes the close with the peer's FIN; returns the stack's absolute ISN.
fn close_one(h: &mut Script, l: SocketHandle, port: u16, at_ms: u64) -> u32 {
    h.peer_port = port;
    h.new_incarnation(PEER_ISN);
    h.inject(at_ms, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    let isn = h.stack_isn().expect("learned from the SYN-ACK");
    h.inject_now(seg(".").seq(1).ack(1));
    let c = h.accept(l).expect("accepted");
    h.close(c);
    h.expect(seg("F.").seq(1).ack(1));
    h.inject(at_ms + 5, seg("F.").seq(1).ack(2));
    // The peer's FIN is ACKed whether or not the connection may stay in TIME_WAIT.
    h.expect(seg(".").seq(2).ack(2));
    h.expect_nothing();
    isn
}

#[test]
fn beyond_tcp_max_tw_buckets_connections_close_at_once() {
    let mut h = Script::with_config(StackConfig {
        tcp_max_tw_buckets: 2,
        ..StackConfig::default()
    });
    let l = h.listen(LISTEN_PORT);
    let isns: Vec<u32> = (0..5)
        .map(|i| close_one(&mut h, l, PEER_PORT + i, 100 * u64::from(i) + 100))
        .collect();
    assert_eq!(h.stack.tcp_time_wait_sockets(), 2);
    assert_eq!(h.counter(Counter::TcpExtTCPTimeWaitOverflow), 3);
    assert_eq!(
        h.stack.tcp_sockets(),
        3,
        "the listener and two in TIME_WAIT"
    );
    let waiting: Vec<u16> = h
        .stack
        .tcp_socket_table()
        .iter()
        .filter(|e| e.state == TcpState::TimeWait)
        .map(|e| e.remote.port())
        .collect();
    assert_eq!(waiting, [PEER_PORT, PEER_PORT + 1], "the first two");

    // A retransmitted FIN to an overflowed connection finds no socket: a RST, as Linux sends.
    h.peer_port = PEER_PORT + 3;
    h.new_incarnation(PEER_ISN);
    let ack = isns[3].wrapping_add(2);
    h.run_until(1_000);
    h.inject_now(seg("F.").seq(1).ack(ack));
    h.expect(seg("R").seq(ack));
    // One still in TIME_WAIT ACKs it.
    h.peer_port = PEER_PORT;
    h.new_incarnation(PEER_ISN);
    let ack = isns[0].wrapping_add(2);
    h.inject_now(seg("F.").seq(1).ack(ack));
    let got = h.expect(seg(".").seq(ack).ack(2));
    assert!(got.ts.is_some(), "the record keeps timestamps");

    // Once TIME_WAIT ends (the second at 60.2 s, the first restarted by that FIN), there is
    // room again.
    h.run_until(60_400);
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1);
    h.run_until(61_000);
    assert_eq!(h.stack.tcp_time_wait_sockets(), 0);
    close_one(&mut h, l, PEER_PORT + 10, 61_100);
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1);
    assert_eq!(h.counter(Counter::TcpExtTCPTimeWaitOverflow), 3);
}

#[test]
fn a_user_held_connection_beyond_the_limit_is_closed_too() {
    let mut h = Script::with_config(StackConfig {
        tcp_max_tw_buckets: 0,
        ..StackConfig::default()
    });
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.shutdown_into_time_wait(c);
    h.expect_nothing();
    assert_eq!(
        h.state(c),
        TcpState::Closed,
        "Linux's socket is CLOSE then too"
    );
    assert_eq!(h.counter(Counter::TcpExtTCPTimeWaitOverflow), 1);
    assert_eq!(h.counter(Counter::TcpEstabResets), 0);
    h.close(c);
    assert_eq!(h.stack.tcp_sockets(), 1);
}
