//! Scripted-segment tests of connection teardown (RFC 9293 3.6 and 3.10.7.4 "eighth, check
//! the FIN bit", figure 5 and figure 13): the FIN in every state, passive and active close,
//! simultaneous close, TIME-WAIT (2 MSL = `tcp_timewait_len`, 60 s) with a retransmitted FIN
//! and a new SYN reopening the connection (RFC 9293 3.10.7.4 / RFC 6191), the orphaned
//! FIN-WAIT-2 timeout (`tcp_fin_timeout`), and the abortive closes: data left unread or
//! arriving after close (RFC 1122 4.2.2.13, RFC 2525 2.17) and SO_LINGER 0.
//!
//! The connection is opened passively at t = 0 with Linux's options; its RTO is 200 ms.

mod script;

use script::{PEER_ISN, PEER_TS_BASE, PeerOpts, Read, Script, peer_data, seg};
use sockeye_netstack::{Counter, SocketHandle, StackConfig, TcpState};
use std::io::ErrorKind;

fn established() -> (Script, SocketHandle, SocketHandle) {
    let mut h = Script::new();
    let (l, c) = h.passive_open(PeerOpts::FULL);
    (h, l, c)
}

/// The passive close (RFC 9293 figure 13, the side that receives the first FIN):
/// ESTABLISHED -> CLOSE-WAIT on the FIN (ACKed at once, reads return end of stream, writing
/// still works) -> LAST-ACK on our close -> CLOSED on the ACK of our FIN. A FIN retransmitted
/// in LAST-ACK is acknowledged again.
#[test]
fn fin_moves_established_to_close_wait_then_last_ack_then_closed() {
    let (mut h, l, c) = established();
    h.inject(10, seg("F.").seq(1).ack(1));
    h.expect(seg(".").seq(1).ack(2));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::CloseWait);
    assert_eq!(h.read(c), Read::Eof);
    assert_eq!(h.read(c), Read::Eof);
    // CLOSE-WAIT still sends.
    h.write(c, 10);
    h.expect(seg("P.").seq(1).ack(2).len(10));
    h.inject(20, seg(".").seq(2).ack(11));
    // A retransmitted FIN in CLOSE-WAIT is acknowledged again.
    h.inject(25, seg("F.").seq(1).ack(11));
    h.expect(seg(".").seq(11).ack(2));
    h.run_until(30);
    h.shutdown(c);
    h.expect(seg("F.").seq(11).ack(2));
    assert_eq!(h.state(c), TcpState::LastAck);
    h.inject(40, seg("F.").seq(1).ack(11));
    h.expect(seg(".").seq(12).ack(2));
    assert_eq!(h.state(c), TcpState::LastAck);
    h.inject(50, seg(".").seq(2).ack(12));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.write_err(c), ErrorKind::BrokenPipe);
    h.close(c);
    assert_eq!(h.stack.tcp_sockets(), 1, "only the listener is left");
    assert_eq!(h.counter(Counter::TcpEstabResets), 0);
    assert_eq!(h.counter(Counter::TcpCurrEstab), 0);
    let _ = l;
}

/// Data and FIN in one segment: the data is delivered, then the end of stream.
#[test]
fn data_with_fin_is_delivered_then_end_of_stream() {
    let (mut h, _, c) = established();
    h.inject(10, seg("FP.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(102));
    assert_eq!(h.state(c), TcpState::CloseWait);
    assert_eq!(h.read(c), Read::Data(peer_data(1, 100)));
    assert_eq!(h.read(c), Read::Eof);
}

/// The active close (RFC 9293 figure 13, the side that sends the first FIN):
/// ESTABLISHED -> FIN-WAIT-1 on shutdown (FIN retransmitted on the RTO while unacknowledged)
/// -> FIN-WAIT-2 on its ACK (data still arrives) -> TIME-WAIT on the peer's FIN (ACKed) ->
/// CLOSED after 2 MSL (`tcp_timewait_len` = 60 s).
#[test]
fn active_close_goes_through_fin_wait_1_fin_wait_2_and_time_wait() {
    let (mut h, _, c) = established();
    h.run_until(10);
    h.shutdown(c);
    h.expect(seg("F.").seq(1).ack(1));
    assert_eq!(h.state(c), TcpState::FinWait1);
    h.expect_at(210, seg("F.").seq(1).ack(1));
    h.inject(220, seg(".").seq(1).ack(2));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::FinWait2);
    h.inject(230, seg("P.").seq(1).ack(2).len(50));
    h.expect(seg(".").seq(2).ack(51));
    h.inject(240, seg("F.").seq(51).ack(2));
    h.expect(seg(".").seq(2).ack(52));
    assert_eq!(h.state(c), TcpState::TimeWait);
    assert_eq!(h.read(c), Read::Data(peer_data(1, 50)));
    assert_eq!(h.read(c), Read::Eof);
    h.expect_nothing_until(60_239);
    assert_eq!(h.state(c), TcpState::TimeWait);
    h.run_until(60_240);
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.counter(Counter::TcpExtTW), 1);
}

/// RFC 9293 3.10.4 / RFC 6298: an unacknowledged FIN is retransmitted like data; after a
/// timeout the go-back-N retransmission from SND.UNA carries the data and the FIN together,
/// and once the data is acknowledged the FIN alone goes on being retransmitted, with backoff.
#[test]
fn fin_is_retransmitted_with_the_data_it_follows() {
    // Tail loss probes off: this is the timeout's schedule.
    let mut h = Script::with_config(StackConfig {
        tcp_early_retrans: 0,
        ..StackConfig::default()
    });
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.run_until(10);
    h.write(c, 100);
    h.expect(seg("P.").seq(1).ack(1).len(100));
    h.shutdown(c);
    h.expect(seg("F.").seq(101).ack(1));
    h.expect_at(210, seg("FP.").seq(1).ack(1).len(100));
    h.expect_at(610, seg("FP.").seq(1).ack(1).len(100));
    // The data is acknowledged, the FIN is not: the FIN alone, with a doubling interval.
    h.inject(700, seg(".").seq(1).ack(101));
    h.run_until(5000);
    let fins = h.take_sent();
    assert!(fins.len() >= 2, "{fins:?}");
    for f in &fins {
        assert!(
            f.flags.fin && f.seq == 101 && f.payload.is_empty(),
            "only the FIN: {f}"
        );
    }
    let (a, b) = (fins[0].at_ms - 700, fins[1].at_ms - fins[0].at_ms);
    assert_eq!(b, 2 * a, "backoff: {} then {}", fins[0], fins[1]);
    h.inject(5001, seg(".").seq(1).ack(102));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::FinWait2);
}

/// A FIN that also acknowledges ours takes FIN-WAIT-1 straight to TIME-WAIT.
#[test]
fn fin_acking_our_fin_goes_from_fin_wait_1_to_time_wait() {
    let (mut h, _, c) = established();
    h.shutdown_into_time_wait(c);
    assert_eq!(h.state(c), TcpState::TimeWait);
}

/// Simultaneous close (RFC 9293 figure 6): the peer's FIN arrives in FIN-WAIT-1 before the ACK
/// of ours: ACK it, CLOSING; a retransmitted FIN there is ACKed again; the ACK of our FIN
/// moves to TIME-WAIT, which lasts 2 MSL from then.
#[test]
fn simultaneous_close_goes_through_closing() {
    let (mut h, _, c) = established();
    h.run_until(10);
    h.shutdown(c);
    h.expect(seg("F.").seq(1).ack(1));
    h.inject(15, seg("F.").seq(1).ack(1));
    h.expect(seg(".").seq(2).ack(2));
    assert_eq!(h.state(c), TcpState::Closing);
    assert_eq!(h.read(c), Read::Eof);
    h.inject(18, seg("F.").seq(1).ack(1));
    h.expect(seg(".").seq(2).ack(2));
    assert_eq!(h.state(c), TcpState::Closing);
    h.inject(20, seg(".").seq(2).ack(2));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::TimeWait);
    h.expect_nothing_until(60_019);
    assert_eq!(h.state(c), TcpState::TimeWait);
    h.run_until(60_020);
    assert_eq!(h.state(c), TcpState::Closed);
}

/// RFC 9293 3.10.7.4 (TIME-WAIT, eighth): "the only thing that can arrive in this state is a
/// retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout."
#[test]
fn retransmitted_fin_in_time_wait_is_acked_and_restarts_2msl() {
    let (mut h, _, c) = established();
    h.shutdown_into_time_wait(c);
    assert_eq!(h.state(c), TcpState::TimeWait);
    h.inject(1000, seg("F.").seq(1).ack(2));
    h.expect(seg(".").seq(2).ack(2));
    h.expect_nothing_until(60_999);
    assert_eq!(
        h.state(c),
        TcpState::TimeWait,
        "the 2 MSL timer restarted at 1000 ms"
    );
    h.run_until(61_000);
    assert_eq!(h.state(c), TcpState::Closed);
}

/// RFC 9293 3.10.7.4 / RFC 6191 and Linux: a new SYN with a sequence number above the old
/// connection's RCV.NXT ends TIME-WAIT and goes to the listener as a new connection; the new
/// ISN lies beyond everything the old connection sent (RFC 6528's clock).
#[test]
fn new_syn_in_time_wait_reopens_the_connection_through_the_listener() {
    let (mut h, l, c) = established();
    h.shutdown_into_time_wait(c);
    h.close(c);
    assert_eq!(
        h.stack.tcp_sockets(),
        2,
        "the listener and the TIME-WAIT connection"
    );
    let old_isn = h.stack_isn().expect("known");

    h.new_incarnation(PEER_ISN.wrapping_add(1_000_000));
    h.inject(5000, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1).mss(1460));
    let new_isn = h.stack_isn().expect("learned from the SYN-ACK");
    let gap = new_isn.wrapping_sub(old_isn);
    assert!(
        gap > 2 && gap < 1 << 31,
        "new ISN {new_isn} not above old {old_isn}"
    );
    h.inject(5010, seg(".").seq(1).ack(1));
    let again = h.accept(l).expect("the new connection is accepted");
    assert_eq!(h.state(again), TcpState::Established);
    h.inject(5020, seg("P.").seq(1).ack(1).len(10));
    h.expect(seg(".").seq(1).ack(11));
    assert_eq!(h.read(again), Read::Data(peer_data(1, 10)));
}

/// An old SYN (sequence number below RCV.NXT, timestamp older than TS.Recent) in TIME-WAIT
/// does not reopen anything: it is answered with an ACK of the old connection (PAWS, RFC 7323
/// 5.3; Linux's TW ACK). Without a timestamp it would get RFC 5961 4.2's challenge ACK (unit
/// tests in `tcp/timewait`).
#[test]
fn old_syn_in_time_wait_gets_an_ack() {
    let (mut h, _, c) = established();
    h.shutdown_into_time_wait(c);
    h.inject(
        30,
        seg("S")
            .seq(0u32.wrapping_sub(1000))
            .win(65535)
            .with_opts(PeerOpts::FULL)
            .ts(PEER_TS_BASE + 5, 0),
    );
    h.expect(seg(".").seq(2).ack(2));
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpExtPAWSEstab), 1);
    assert_eq!(h.state(c), TcpState::TimeWait);
}

/// Linux (`tcp_timewait_state_process`): with timestamps, a SYN whose TSval is newer than the
/// old connection's TS.Recent is a new connection even if its sequence number is below
/// RCV.NXT (PAWS tells old duplicates apart); it reopens the 4-tuple through the listener.
#[test]
fn syn_with_a_newer_timestamp_in_time_wait_reopens_whatever_its_sequence_number() {
    let (mut h, l, c) = established();
    h.shutdown_into_time_wait(c);
    h.close(c);
    let old_isn = h.stack_isn().expect("known");
    h.new_incarnation(PEER_ISN.wrapping_sub(1_000_000));
    h.inject(3000, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    assert_eq!(
        h.stack_isn().map(|isn| isn.wrapping_sub(old_isn)),
        Some(2 + 65_537),
        "the new ISN is the old snd_nxt + 65537 (Linux's tcp_tw_isn)"
    );
    h.inject(3010, seg(".").seq(1).ack(1));
    let again = h.accept(l).expect("the new connection is accepted");
    assert_eq!(h.state(again), TcpState::Established);
    assert_eq!(h.stack.tcp_time_wait_sockets(), 0);
}

/// Linux's orphaned FIN-WAIT-2: after close(), once our FIN is ACKed, the connection waits
/// `tcp_fin_timeout` (60 s) for the peer's FIN and then disappears silently; a FIN after that
/// finds no connection and gets a RST.
#[test]
fn orphaned_fin_wait_2_ends_after_tcp_fin_timeout() {
    let (mut h, _, c) = established();
    h.run_until(10);
    h.close(c);
    h.expect(seg("F.").seq(1).ack(1));
    h.inject(20, seg(".").seq(1).ack(2));
    assert_eq!(h.stack.tcp_sockets(), 2);
    h.expect_nothing_until(60_019);
    assert_eq!(h.stack.tcp_sockets(), 2);
    h.run_until(60_020);
    h.expect_nothing();
    assert_eq!(h.stack.tcp_sockets(), 1, "only the listener is left");
    h.inject(61_000, seg("F.").seq(1).ack(2));
    h.expect(seg("R").seq(2));
}

/// RFC 1122 4.2.2.13 / RFC 2525 2.17: closing with received data unread sends a RST (not a
/// FIN) to show that data was lost; Linux counts it as TCPAbortOnClose. The connection is
/// gone: the peer's next segment is reset too.
#[test]
fn close_with_unread_data_sends_rst() {
    let (mut h, _, c) = established();
    h.inject(10, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(101));
    h.run_until(20);
    h.close(c);
    h.expect(seg("R.").seq(1).ack(101));
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpExtTCPAbortOnClose), 1);
    assert_eq!(h.stack.tcp_sockets(), 1);
    h.inject(30, seg("P.").seq(101).ack(1).len(10));
    h.expect(seg("R").seq(1));
}

/// RFC 1122 4.2.2.13: data arriving after close() (nobody will read it) is answered with a
/// RST and ends the connection (Linux's TCPAbortOnData).
#[test]
fn data_after_close_is_answered_with_rst() {
    let (mut h, _, c) = established();
    h.run_until(10);
    h.close(c);
    h.expect(seg("F.").seq(1).ack(1));
    h.inject(20, seg("P.").seq(1).ack(2).len(10));
    h.expect(seg("R").seq(2));
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpExtTCPAbortOnData), 1);
    assert_eq!(h.stack.tcp_sockets(), 1);
}

/// SO_LINGER 0 (`tcp_abort`): a RST at once, carrying SND.NXT and an ACK; buffers are
/// dropped, the handle is released, nothing is retransmitted.
#[test]
fn abort_sends_rst_and_releases_the_connection() {
    let (mut h, _, c) = established();
    h.run_until(10);
    h.write(c, 100);
    h.expect(seg("P.").seq(1).ack(1).len(100));
    h.run_until(20);
    h.abort(c);
    h.expect(seg("R.").seq(101).ack(1));
    h.expect_nothing_until(5000);
    assert_eq!(h.counter(Counter::TcpExtTCPAbortOnLinger), 1);
    assert!(h.stack.tcp_state(c).is_err(), "the handle is stale");
    assert_eq!(h.stack.tcp_sockets(), 1);
    h.inject(5001, seg(".").seq(1).ack(101));
    h.expect(seg("R").seq(101));
}

/// Aborting a connect in SYN-SENT sends nothing (there is no synchronized peer to reset).
#[test]
fn abort_in_syn_sent_sends_nothing() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    h.run_until(10);
    h.abort(c);
    h.expect_nothing_until(5000);
    assert_eq!(h.stack.tcp_sockets(), 0);
}

/// A peer's RST in CLOSE-WAIT (at RCV.NXT) ends the connection with `ConnectionReset` for
/// the writer; one in TIME-WAIT just ends TIME-WAIT early without an error (RFC 9293 3.10.7.4
/// and Linux without RFC 1337).
#[test]
fn rst_in_close_wait_and_time_wait() {
    let (mut h, _, c) = established();
    h.inject(10, seg("F.").seq(1).ack(1));
    h.expect(seg(".").seq(1).ack(2));
    h.inject(20, seg("R").seq(2));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.write_err(c), ErrorKind::ConnectionReset);

    let (mut h, _, c) = established();
    h.shutdown_into_time_wait(c);
    h.inject(30, seg("R").seq(2));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.read(c), Read::Eof);
}
