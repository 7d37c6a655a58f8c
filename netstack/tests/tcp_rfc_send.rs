//! Scripted-segment tests of the sending side: Nagle (RFC 896, RFC 9293 3.7.4) and
//! TCP_NODELAY, segment sizes against the peer's MSS (RFC 9293 3.7.1, RFC 6691), the
//! retransmission timer (RFC 6298), fast retransmit and NewReno recovery without SACK (RFC 5681,
//! RFC 6582),
//! giving up after `tcp_retries2`, and zero-window probing (RFC 9293 3.8.6.1, RFC 1122
//! 4.2.2.17) the Linux way (an ACK with sequence number SND.UNA - 1 and no data).
//!
//! The connection is opened passively at t = 0 with Linux's options; the handshake's RTT
//! sample is 0 ms, so the RTO starts at Linux's minimum, 200 ms.

mod script;

use script::{PeerOpts, Read, Script, seg};
use sockeye_netstack::{Counter, SocketHandle, StackConfig, TcpState};
use std::io::ErrorKind;
use std::time::Duration;

const MSS: u32 = 1448;

fn established() -> (Script, SocketHandle) {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    quiet(&mut h, c);
    (h, c)
}

/// The retransmission-timeout tests turn tail loss probes off (`tcp_early_retrans = 0`) so the
/// schedule is the RTO's alone (`tcp_rfc_sack.rs` has the probe that precedes it by default).
fn established_without_tlp() -> (Script, SocketHandle) {
    let mut h = Script::with_config(StackConfig {
        tcp_early_retrans: 0,
        ..StackConfig::default()
    });
    let (_, c) = h.passive_open(PeerOpts::FULL);
    quiet(&mut h, c);
    (h, c)
}

/// A connection whose peer does not permit SACK: loss recovery is NewReno on duplicate ACKs,
/// and a timeout goes back to SND.UNA (SACK recovery is in `tcp_rfc_sack.rs`).
fn established_without_sack() -> (Script, SocketHandle) {
    let mut h = Script::new();
    let opts = PeerOpts {
        sack_ok: false,
        ..PeerOpts::FULL
    };
    let (_, c) = h.passive_open(opts);
    quiet(&mut h, c);
    (h, c)
}

/// The SYN-ACK could offer only 65535 bytes (a SYN's window is unscaled) of the 131072-byte
/// buffer, so the stack may announce the rest in a window update the next time it looks at
/// the connection: let that out now so that the scripts start quiet.
fn quiet(h: &mut Script, c: SocketHandle) {
    h.set_nodelay(c, false);
    for s in h.take_sent() {
        assert!(s.payload.is_empty() && s.seq == 1 && s.ack == 1, "{s}");
    }
}

// ------------------------------------------------------------------------------------ Nagle

/// RFC 9293 3.7.4: while data is unacknowledged, small writes are buffered until the
/// outstanding data is acknowledged (then they leave as one segment) or a full segment can go.
#[test]
fn nagle_coalesces_small_writes_while_data_is_in_flight() {
    let (mut h, c) = established();
    h.run_until(10);
    h.write(c, 100);
    h.expect(seg("P.").seq(1).ack(1).len(100));
    h.run_until(20);
    h.write(c, 100);
    h.run_until(30);
    h.write(c, 100);
    h.expect_nothing();
    h.inject(40, seg(".").seq(1).ack(101));
    h.expect(seg("P.").seq(101).ack(1).len(200));
    h.expect_nothing();
    // Full-sized segments go at once even with data in flight; only the short tail waits.
    h.write(c, 3000);
    h.expect(seg(".").seq(301).ack(1).len(MSS as usize));
    h.expect(seg(".").seq(301 + MSS).ack(1).len(MSS as usize));
    h.expect_nothing();
    h.inject(50, seg(".").seq(1).ack(301 + 2 * MSS));
    h.expect(
        seg("P.")
            .seq(301 + 2 * MSS)
            .ack(1)
            .len(3000 - 2 * MSS as usize),
    );
}

/// TCP_NODELAY turns Nagle off: every write leaves at once, even with data in flight.
#[test]
fn nodelay_sends_small_writes_at_once() {
    let (mut h, c) = established();
    h.set_nodelay(c, true);
    h.run_until(10);
    h.write(c, 100);
    h.expect(seg("P.").seq(1).ack(1).len(100));
    h.write(c, 10);
    h.expect(seg("P.").seq(101).ack(1).len(10));
    h.write(c, 1);
    h.expect(seg("P.").seq(111).ack(1).len(1));
    h.expect_nothing();
    // And back on: the next small write waits for the ACK.
    h.set_nodelay(c, false);
    h.write(c, 5);
    h.expect_nothing();
    h.inject(20, seg(".").seq(1).ack(112));
    h.expect(seg("P.").seq(112).ack(1).len(5));
}

/// A small segment that carries the FIN is not held back by Nagle: closing flushes.
#[test]
fn nagle_does_not_hold_the_fin() {
    let (mut h, c) = established();
    h.run_until(10);
    h.write(c, 100);
    h.expect(seg("P.").seq(1).ack(1).len(100));
    h.write(c, 10);
    h.expect_nothing();
    h.shutdown(c);
    h.expect(seg("FP.").seq(101).ack(1).len(10));
    assert_eq!(h.state(c), TcpState::FinWait1);
}

// ------------------------------------------------------------------------- segment sizes

/// RFC 9293 3.7.1 / RFC 6691: the MSS bounds data plus options. While the stack holds
/// out-of-order data its segments carry SACK blocks, so full-sized data segments must shrink to
/// make room (Linux's `tcp_current_mss`); the IP datagram must also fit the 1500-byte MTU.
#[test]
fn data_segments_leave_room_for_sack_blocks() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(1001).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(1).sack(&[(1001, 1101)]));
    // Every segment is checked by the harness: payload + options <= 1460, datagram <= 1500.
    h.write(c, 3000);
    let segs = h.take_sent();
    assert!(!segs.is_empty());
    for s in &segs {
        assert_eq!(s.sack, vec![(1001, 1101)], "{s}");
        assert!(s.payload.len() + s.options_len <= 1460, "{s}");
    }
}

// ------------------------------------------------------------------------- retransmission

/// RFC 6298 5.4-5.6: on expiry the earliest unacknowledged segment is retransmitted and the
/// RTO doubles (200, 400, 800 ms); RFC 5681 3.1 collapses the congestion window to one segment.
/// The ACK ends it: a fresh RTT sample (100 ms, from the echoed timestamp) resets the backoff;
/// with the handshake's 0 ms sample, SRTT = 100 / 8 and RTTVAR = 100 / 4 (RFC 6298 2.3), so the
/// RTO is back at its 200 ms floor.
#[test]
fn lost_data_is_retransmitted_on_rto_with_backoff() {
    let (mut h, c) = established_without_tlp();
    h.run_until(100);
    h.write(c, 1000);
    h.expect(seg("P.").seq(1).ack(1).len(1000));
    h.expect_at(300, seg("P.").seq(1).ack(1).len(1000));
    h.expect_at(700, seg("P.").seq(1).ack(1).len(1000));
    h.expect_at(1500, seg("P.").seq(1).ack(1).len(1000));
    let info = h.info(c);
    assert_eq!(info.retransmits, 3);
    assert_eq!(
        info.cwnd, MSS as usize,
        "RFC 5681: one segment after a timeout"
    );
    assert_eq!(info.rto, Duration::from_millis(1600));
    assert_eq!(h.counter(Counter::TcpRetransSegs), 3);
    assert_eq!(h.counter(Counter::TcpExtTCPTimeouts), 3);
    h.inject(1600, seg(".").seq(1).ack(1001));
    h.expect_nothing_until(10_000);
    let info = h.info(c);
    assert_eq!(info.retransmits, 0);
    assert_eq!(info.srtt, Some(Duration::from_micros(12_500)));
    assert_eq!(info.rto, Duration::from_millis(200));
    // The next loss is detected after the new RTO.
    h.write(c, 10);
    h.expect(seg("P.").seq(1001).ack(1).len(10));
    h.expect_at(10_200, seg("P.").seq(1001).ack(1).len(10));
}

/// After a timeout, data that was sent before and is resent from SND.UNA ("go back N") is a
/// retransmission, not new data: Nagle does not hold its short tail (BSD sends whenever
/// SND.NXT < SND.MAX; Linux retransmits lost segments regardless of Nagle).
#[test]
fn after_a_timeout_the_short_tail_is_resent_without_waiting_for_nagle() {
    let (mut h, c) = established_without_sack();
    h.run_until(100);
    // 100 bytes leave alone (nothing in flight), then two full segments: all three are out.
    h.write(c, 100);
    h.expect(seg("P.").seq(1).len(100));
    h.write(c, 2 * MSS as usize);
    h.expect(seg(".").seq(101).len(MSS as usize));
    h.expect(seg("P.").seq(101 + MSS).len(MSS as usize));
    // Timeout: go back to SND.UNA with one segment (cwnd = 1 MSS), repacketized.
    h.expect_at(300, seg(".").seq(1).len(MSS as usize));
    h.expect_nothing();
    // Its ACK opens cwnd to 2 segments: the rest, sent once already, goes at once.
    h.inject(350, seg(".").seq(1).ack(1 + MSS));
    h.expect(seg(".").seq(1 + MSS).len(MSS as usize));
    h.expect(seg("P.").seq(1 + 2 * MSS).len(100));
}

/// RFC 5681 3.2 and RFC 6582: the third duplicate ACK triggers a fast retransmit of the first
/// unacknowledged segment (no waiting for the RTO) and NewReno recovery
/// (ssthresh = FlightSize / 2 with `reno`); the ACK of everything ends recovery.
#[test]
fn three_duplicate_acks_trigger_a_fast_retransmit() {
    let (mut h, c) = established_without_sack();
    h.stack.tcp_set_congestion_control(c, "reno").unwrap();
    h.run_until(100);
    h.write(c, 5 * MSS as usize);
    for i in 0..5 {
        h.expect(seg(".").seq(1 + i * MSS).ack(1).len(MSS as usize));
    }
    // Segment 1 is lost; 2, 3 and 4 arrive and each draws a duplicate ACK.
    h.inject(110, seg(".").seq(1).ack(1));
    h.inject(111, seg(".").seq(1).ack(1));
    h.expect_nothing();
    h.inject(112, seg(".").seq(1).ack(1));
    h.expect(seg(".").seq(1).ack(1).len(MSS as usize));
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpExtTCPRenoRecovery), 1);
    assert_eq!(h.counter(Counter::TcpExtTCPFastRetrans), 1);
    assert_eq!(h.counter(Counter::TcpRetransSegs), 1);
    assert_eq!(h.info(c).ssthresh, 5 * MSS as usize / 2);
    // A fourth duplicate (segment 5) inflates the window; nothing is left to send.
    h.inject(113, seg(".").seq(1).ack(1));
    h.expect_nothing();
    // The retransmission arrives: everything is acknowledged, recovery ends.
    h.inject(130, seg(".").seq(1).ack(1 + 5 * MSS));
    h.expect_nothing_until(5000);
    assert_eq!(h.counter(Counter::TcpExtTCPTimeouts), 0);
    assert_eq!(h.counter(Counter::TcpRetransSegs), 1);
    assert_eq!(h.info(c).send_queued, 0);
}

/// With CUBIC, Linux's default, the same loss sets ssthresh to beta_cubic = 0.7 of the flight
/// (RFC 9438 4.6), not one half.
#[test]
fn with_cubic_a_fast_retransmit_keeps_seven_tenths_of_the_flight() {
    let (mut h, c) = established_without_sack();
    assert_eq!(h.info(c).congestion_control, "cubic");
    h.run_until(100);
    h.write(c, 10 * MSS as usize);
    for i in 0..10 {
        h.expect(seg(".").seq(1 + i * MSS).ack(1).len(MSS as usize));
    }
    for at in [110, 111, 112] {
        h.inject(at, seg(".").seq(1).ack(1));
    }
    h.expect(seg(".").seq(1).ack(1).len(MSS as usize));
    let info = h.info(c);
    assert_eq!(info.ssthresh, 7 * MSS as usize);
    assert_eq!(
        info.cwnd,
        10 * MSS as usize,
        "ssthresh + 3 segments (RFC 5681 3.2)"
    );
}

/// A fast retransmission that reordering made unnecessary: 10 segments leave, the first is
/// delayed, three duplicate ACKs trigger fast recovery, then the delayed original arrives and
/// the full ACK echoes its timestamp, older than the retransmission's. Eifel detection
/// (RFC 3522) shows the recovery was spurious and the window and threshold come back (RFC 9438
/// 4.9; Linux's `TCPFullUndo`). With `echo_retransmission` the ACK echoes the retransmission
/// instead: a real loss, nothing undone. Returns (undos, cwnd, ssthresh) after recovery.
fn recovery_ending_with_echo(echo_retransmission: bool) -> (u64, usize, usize) {
    // No tail loss probe: the handshake's 0 ms RTT would fire one 2 ms after the burst.
    let (mut h, c) = established_without_tlp();
    h.run_until(100);
    h.write(c, 10 * MSS as usize);
    let first = h.expect(seg(".").seq(1).ack(1).len(MSS as usize));
    for i in 1..10 {
        h.expect(seg(".").seq(1 + i * MSS).ack(1).len(MSS as usize));
    }
    let original = first.ts.unwrap().0;
    for (at, right) in [(120, 2), (121, 3), (122, 4)] {
        let val = h.peer_tsval();
        h.inject(
            at,
            seg(".")
                .seq(1)
                .ack(1)
                .sack(&[(1 + MSS, 1 + right * MSS)])
                .ts(val, original),
        );
    }
    let rtx = h.expect(seg(".").seq(1).ack(1).len(MSS as usize));
    let retransmission = rtx.ts.unwrap().0;
    assert!(retransmission > original);
    assert_eq!(h.info(c).ssthresh, 7 * MSS as usize);
    let echo = if echo_retransmission {
        retransmission
    } else {
        original
    };
    let val = h.peer_tsval();
    h.inject(125, seg(".").seq(1).ack(1 + 10 * MSS).ts(val, echo));
    let info = h.info(c);
    (
        h.counter(Counter::TcpExtTCPFullUndo),
        info.cwnd,
        info.ssthresh,
    )
}

#[test]
fn a_spurious_fast_recovery_is_undone_when_timestamps_show_the_original_arrived() {
    let (undos, cwnd, ssthresh) = recovery_ending_with_echo(false);
    assert_eq!(undos, 1);
    assert_eq!(
        ssthresh,
        usize::MAX,
        "the threshold from before the recovery"
    );
    assert!(cwnd >= 10 * MSS as usize, "the window from before: {cwnd}");
    let (undos, cwnd, ssthresh) = recovery_ending_with_echo(true);
    assert_eq!(undos, 0);
    assert_eq!(ssthresh, 7 * MSS as usize);
    // Recovery ends at ssthresh; the ACK that ends it may grow it a little (as on Linux).
    assert!(
        cwnd >= ssthresh && cwnd < ssthresh + 2 * MSS as usize,
        "{cwnd}"
    );
}

/// RFC 6582 3.2 step 5: a partial ACK during recovery (it acknowledges the retransmitted
/// segment but not everything sent before recovery began) retransmits the next hole at once.
#[test]
fn a_partial_ack_in_recovery_retransmits_the_next_hole() {
    let (mut h, c) = established_without_sack();
    h.run_until(100);
    h.write(c, 5 * MSS as usize);
    for i in 0..5 {
        h.expect(seg(".").seq(1 + i * MSS).len(MSS as usize));
    }
    // Segments 1 and 3 are lost.
    for at in [110, 111, 112] {
        h.inject(at, seg(".").seq(1).ack(1));
    }
    h.expect(seg(".").seq(1).len(MSS as usize));
    h.expect_nothing();
    h.inject(130, seg(".").seq(1).ack(1 + 2 * MSS));
    h.expect(seg(".").seq(1 + 2 * MSS).len(MSS as usize));
    h.expect_nothing();
    h.inject(150, seg(".").seq(1).ack(1 + 5 * MSS));
    h.expect_nothing_until(3000);
    assert_eq!(h.counter(Counter::TcpExtTCPRenoRecovery), 1);
    assert_eq!(h.counter(Counter::TcpRetransSegs), 2);
    assert_eq!(h.info(c).send_queued, 0);
}

/// RFC 9293 3.8.3 (R2) with Linux's `tcp_retries2`: after that many retransmissions the next
/// expiry ends the connection with `TimedOut` (no RST is sent: the peer is unreachable).
#[test]
fn tcp_retries2_exhausted_times_the_connection_out() {
    let config = StackConfig {
        tcp_retries2: 3,
        tcp_early_retrans: 0,
        ..StackConfig::default()
    };
    let mut h = Script::with_config(config);
    let (_, c) = h.passive_open(PeerOpts::FULL);
    quiet(&mut h, c);
    h.run_until(100);
    h.write(c, 100);
    h.expect(seg("P.").seq(1).len(100));
    for at in [300, 700, 1500] {
        h.expect_at(at, seg("P.").seq(1).len(100));
    }
    h.expect_nothing_until(3099);
    assert_eq!(h.state(c), TcpState::Established);
    h.run_until(3100);
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.read(c), Read::Error(ErrorKind::TimedOut));
    assert_eq!(h.counter(Counter::TcpExtTCPAbortOnTimeout), 1);
    assert_eq!(h.counter(Counter::TcpEstabResets), 1);
}

/// With the default `tcp_retries2` = 15 and RTO bounds 200 ms .. 120 s, a connection gives up
/// after Linux's well-known 924.6 s: 200 ms doubling ten times, then six 120 s expiries.
#[test]
fn default_tcp_retries2_gives_up_after_924_6_seconds() {
    let (mut h, c) = established_without_tlp();
    h.run_until(100);
    h.write(c, 100);
    h.expect(seg("P.").seq(1).len(100));
    let mut at = 100;
    for k in 0..15 {
        at += (200u64 << k).min(120_000);
        h.expect_at(at, seg("P.").seq(1).len(100));
    }
    at += 120_000;
    assert_eq!(at, 100 + 924_600);
    h.expect_nothing_until(at - 1);
    assert_eq!(h.state(c), TcpState::Established);
    h.run_until(at);
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.read(c), Read::Error(ErrorKind::TimedOut));
    h.expect_nothing();
    // Over 15 minutes the peer's ARP entry went stale and was re-resolved (the harness
    // answered); the retransmissions kept their schedule regardless.
    assert!(h.arp_requests > 0);
}

// ------------------------------------------------------------------------------ zero window

/// RFC 9293 3.8.6.1 with Linux's probe: a zero window holds the data; after one RTO a probe
/// goes out (an ACK with SEQ = SND.UNA - 1 and no data), and unanswered probes back off
/// exponentially. When the window opens, the data goes at once.
#[test]
fn zero_window_probes_back_off_until_the_window_opens() {
    let (mut h, c) = established();
    h.inject(10, seg(".").seq(1).ack(1).win(0));
    h.run_until(100);
    h.write(c, 1000);
    h.expect_nothing();
    for at in [300, 700, 1500, 3100] {
        h.expect_at(at, seg(".").seq(0).ack(1).len(0));
    }
    assert_eq!(h.counter(Counter::TcpExtTCPWinProbe), 4);
    h.inject(3200, seg(".").seq(1).ack(1).win(100));
    h.expect(seg("P.").seq(1).ack(1).len(1000));
    h.expect_nothing();
}

/// RFC 9293 3.8.6.1 ("SHOULD increase exponentially the interval between successive probes")
/// and Linux (`icsk_backoff` grows while the window stays shut): a peer that answers every
/// probe with a zero window still gets probes at 200, 400, 800, 1600 ms intervals. The
/// connection never gives up while the peer answers (RFC 1122 4.2.2.17).
#[test]
fn answered_zero_window_probes_still_back_off() {
    let (mut h, c) = established();
    h.inject(10, seg(".").seq(1).ack(1).win(0));
    h.run_until(100);
    h.write(c, 1000);
    for at in [300, 700, 1500, 3100, 6300] {
        h.expect_at(at, seg(".").seq(0).ack(1).len(0));
        h.inject(at + 5, seg(".").seq(1).ack(1).win(0));
        h.expect_nothing();
    }
    assert_eq!(h.state(c), TcpState::Established);
}

/// A peer that keeps its window shut and stops answering probes is dead: Linux gives up after
/// `tcp_retries2` unanswered probes (`tcp_probe_timer`) with `TimedOut`, rather than keeping the
/// connection (and its buffers) forever.
#[test]
fn unanswered_zero_window_probes_time_out_after_tcp_retries2() {
    let config = StackConfig {
        tcp_retries2: 3,
        tcp_early_retrans: 0,
        ..StackConfig::default()
    };
    let mut h = Script::with_config(config);
    let (_, c) = h.passive_open(PeerOpts::FULL);
    quiet(&mut h, c);
    h.inject(10, seg(".").seq(1).ack(1).win(0));
    h.run_until(100);
    h.write(c, 1000);
    for at in [300, 700, 1500] {
        h.expect_at(at, seg(".").seq(0).ack(1));
    }
    h.run_until(60_000);
    h.take_sent();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.read(c), Read::Error(ErrorKind::TimedOut));
}

/// A window update that opens the window is taken even when it carries nothing else, and a
/// window that opens only partly lets only that much through (RFC 9293 3.8.6, SND.WND).
#[test]
fn data_resumes_within_the_window_the_peer_opens() {
    let (mut h, c) = established();
    h.set_nodelay(c, true);
    // The peer's window: 1024 bytes (its scale is 7: the field says 8).
    h.inject(10, seg(".").seq(1).ack(1).win_bytes(1024));
    h.run_until(20);
    h.write(c, 3000);
    h.expect(seg(".").seq(1).ack(1).len(1024));
    h.expect_nothing();
    h.inject(30, seg(".").seq(1).ack(1025).win_bytes(2048));
    h.expect(seg(".").seq(1025).len(1448));
    h.expect(seg("P.").seq(2473).len(528));
    h.expect_nothing();
}

// ------------------------------------------------------------------------- write readiness

/// Linux's `sk_stream_is_writeable`, as `EPOLLOUT` reports it: once a write found the send
/// buffer full, the socket is writable again only when a third of the buffer is free (not at
/// the first freed byte), so writers wake for sizeable writes.
#[test]
fn after_a_full_buffer_write_readiness_waits_for_a_third_free() {
    use std::task::{Context, Poll, Waker};
    let (mut h, c) = established();
    h.stack.tcp_set_send_buffer_size(c, 9_000).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    h.run_until(100);
    assert!(h.stack.tcp_poll_write_ready(c, &mut cx).is_ready());
    assert_eq!(h.write(c, 9_000), 9_000);
    h.take_sent();
    assert_eq!(h.write(c, 100), 0, "full");
    assert!(h.stack.tcp_poll_write_ready(c, &mut cx).is_pending());
    // 1,448 bytes acknowledged: room, but less than a third.
    h.inject(150, seg(".").seq(1).ack(1 + MSS));
    assert!(h.stack.tcp_poll_write_ready(c, &mut cx).is_pending());
    // 4,344 acknowledged: more than a third free.
    h.inject(151, seg(".").seq(1).ack(1 + 3 * MSS));
    assert!(matches!(
        h.stack.tcp_poll_write_ready(c, &mut cx),
        Poll::Ready(Ok(()))
    ));
}

/// The source documents' write and read semantics at exact buffer boundaries: a write of
/// exactly the free room is taken whole, one byte more is not taken at all (the writer
/// waits); a write bigger than the room is taken in part (a partial write); a read returns
/// what is buffered up to the caller's buffer (a partial read), and nothing once it is empty.
#[test]
fn writes_and_reads_are_partial_at_exact_buffer_boundaries() {
    use std::task::{Context, Poll, Waker};
    let (mut h, c) = established();
    h.stack.tcp_set_send_buffer_size(c, 5_000).unwrap();
    h.run_until(100);
    assert_eq!(h.write(c, 5_000), 5_000, "exactly the buffer");
    assert_eq!(h.write(c, 1), 0, "not one byte more");
    h.take_sent();
    h.inject(150, seg(".").seq(1).ack(1_001));
    assert_eq!(h.write(c, 3_000), 1_000, "exactly what the ACK freed");
    assert_eq!(h.write(c, 1), 0);
    // Reads: 3,000 bytes arrive; a 1,000-byte read takes 1,000, a bigger one the other 2,000.
    h.inject(160, seg("P.").seq(1).ack(1_001).len(3_000));
    let mut cx = Context::from_waker(Waker::noop());
    let mut small = [0u8; 1_000];
    let mut big = [0u8; 10_000];
    assert!(matches!(
        h.stack.tcp_poll_read(c, &mut cx, &mut small),
        Poll::Ready(Ok(1_000))
    ));
    assert_eq!(small.to_vec(), script::peer_data(1, 1_000));
    assert!(matches!(
        h.stack.tcp_poll_read(c, &mut cx, &mut big),
        Poll::Ready(Ok(2_000))
    ));
    assert_eq!(big[..2_000].to_vec(), script::peer_data(1_001, 2_000));
    assert!(h.stack.tcp_poll_read(c, &mut cx, &mut big).is_pending());
}
