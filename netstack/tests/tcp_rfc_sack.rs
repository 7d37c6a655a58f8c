//! Scripted-segment tests of loss recovery with SACK, one rule per test: RACK's time-based loss
//! detection and its reordering window (RFC 8985 section 6), proportional rate reduction (RFC
//! 6937), retransmission of only what was not SACKed, tail loss probes (RFC 8985 section 7),
//! D-SACK (RFC 2883) sent for duplicates and used to undo a spurious recovery, Eifel undo of a
//! spurious timeout (RFC 3522), and SACK reneging.
//!
//! The connection is opened passively with Linux's options (MSS 1460, SACK, timestamps,
//! window scale 7), the peer's final ACK 50 ms after the SYN-ACK: SRTT 50 ms, RTO 200 ms. The
//! congestion control is CUBIC (ssthresh = 0.7 of the window on a loss).

mod script;

use script::{PEER_TS_BASE, PeerOpts, Script, peer_data, seg};
use sockeye_netstack::{Counter, SocketHandle};

const MSS: u32 = 1448;

/// Relative sequence number of the first byte of segment `i` (counting from 0) of a burst
/// sent from relative sequence 1.
fn at(i: u32) -> u32 {
    1 + i * MSS
}

fn established() -> (Script, SocketHandle) {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(50, seg(".").seq(1).ack(1));
    let c = h.accept(l).expect("accepted");
    h.set_nodelay(c, true);
    h.take_sent();
    assert_eq!(h.info(c).srtt, Some(std::time::Duration::from_millis(50)));
    (h, c)
}

/// Writes `n` full segments at `t` and expects them all at once.
fn burst(h: &mut Script, c: SocketHandle, t: u64, n: u32) {
    h.run_until(t);
    assert_eq!(h.write(c, (n * MSS) as usize), (n * MSS) as usize);
    for i in 0..n {
        h.expect(seg(".").seq(at(i)).len(MSS as usize));
    }
    h.expect_nothing();
}

/// RFC 8985 6.2: segment 0 is lost, 1 to 3 are SACKed. Once three segments' worth is SACKed
/// the reordering window is zero (no reordering seen yet), and segment 0, sent before the
/// delivered ones and older than their RTT, is lost: fast recovery retransmits it at once.
#[test]
fn rack_marks_a_hole_lost_once_three_segments_are_sacked() {
    let (mut h, c) = established();
    burst(&mut h, c, 100, 5);
    h.inject(150, seg(".").seq(1).ack(1).sack(&[(at(1), at(2))]));
    h.inject(151, seg(".").seq(1).ack(1).sack(&[(at(1), at(3))]));
    h.expect_nothing();
    h.inject(152, seg(".").seq(1).ack(1).sack(&[(at(1), at(4))]));
    h.expect(seg(".").seq(at(0)).len(MSS as usize));
    assert_eq!(h.counter(Counter::TcpExtTCPSackRecovery), 1);
    assert_eq!(h.counter(Counter::TcpExtTCPFastRetrans), 1);
    let info = h.info(c);
    assert_eq!(
        info.ssthresh,
        7 * MSS as usize / 2,
        "CUBIC: 0.7 of 5 segments"
    );
    h.inject(200, seg(".").seq(1).ack(at(5)));
    h.expect_nothing_until(2_000);
    assert_eq!(h.counter(Counter::TcpRetransSegs), 1);
    assert_eq!(
        h.info(c).cwnd,
        h.info(c).ssthresh,
        "recovery ends at ssthresh (PRR)"
    );
}

/// RFC 8985 6.2: one SACKed segment above a hole is not enough at once: RACK waits a quarter
/// of the minimum RTT (50 / 4 = 12.5 ms) beyond the RTT, with the reordering timer, then
/// retransmits.
#[test]
fn rack_waits_a_quarter_rtt_before_calling_a_hole_lost() {
    let (mut h, c) = established();
    burst(&mut h, c, 100, 3);
    h.inject(150, seg(".").seq(1).ack(1).sack(&[(at(1), at(2))]));
    // Sent at 100, RACK RTT 50, window 12.5: lost at 162.5 (the timer's 1 ms tick: 163).
    h.expect_nothing_until(162);
    h.expect_at(163, seg(".").seq(at(0)).len(MSS as usize));
    assert_eq!(h.counter(Counter::TcpExtTCPSackRecovery), 1);
}

/// The segment was only reordered: it arrives before the reordering window closes, so nothing
/// is retransmitted; RACK records the reordering (`TCPSACKReorder`).
#[test]
fn a_reordered_segment_arriving_within_the_window_is_not_retransmitted() {
    let (mut h, c) = established();
    burst(&mut h, c, 100, 3);
    h.inject(150, seg(".").seq(1).ack(1).sack(&[(at(1), at(2))]));
    h.inject(155, seg(".").seq(1).ack(at(2)));
    h.inject(160, seg(".").seq(1).ack(at(3)));
    h.expect_nothing_until(2_000);
    assert_eq!(h.counter(Counter::TcpRetransSegs), 0);
    assert_eq!(h.counter(Counter::TcpExtTCPSACKReorder), 1);
    assert_eq!(h.counter(Counter::TcpExtTCPSackRecovery), 0);
}

/// RFC 6937: during recovery the window follows what is delivered, coming down to ssthresh;
/// new data keeps flowing in proportion instead of stopping, and the window is ssthresh when
/// recovery ends.
#[test]
fn prr_sends_in_proportion_to_what_is_delivered() {
    let (mut h, c) = established();
    h.stack.tcp_set_send_buffer_size(c, 1 << 20).unwrap();
    burst(&mut h, c, 100, 10);
    // More data waits in the buffer.
    assert_eq!(h.write(c, (10 * MSS) as usize), (10 * MSS) as usize);
    h.expect_nothing();
    let mut sent_in_recovery = Vec::new();
    for k in 1..10 {
        h.inject(
            150 + u64::from(k),
            seg(".").seq(1).ack(1).sack(&[(at(1), at(k + 1))]),
        );
        sent_in_recovery.extend(h.take_sent());
    }
    assert_eq!(h.counter(Counter::TcpExtTCPSackRecovery), 1);
    // The two SACKs before recovery freed room for two new segments: the flight was 12
    // segments when the third SACK started recovery, the window 10; CUBIC keeps 0.7 of the
    // smaller (Linux reduces from the window).
    let ssthresh = 7 * MSS as usize;
    assert_eq!(h.info(c).ssthresh, ssthresh);
    assert_eq!(sent_in_recovery[0].seq, at(10));
    assert_eq!(sent_in_recovery[1].seq, at(11));
    // Then the retransmission of segment 0, then new data in proportion.
    assert_eq!(sent_in_recovery[2].seq, at(0));
    let new = sent_in_recovery[3..]
        .iter()
        .filter(|s| s.seq >= at(12))
        .count();
    assert!((4..=6).contains(&new), "sent: {sent_in_recovery:?}");
    // Recovery ends at ssthresh; the same ACK, the first after it, may grow the window again
    // (as on Linux), by less than two segments.
    h.inject(200, seg(".").seq(1).ack(at(10)));
    let info = h.info(c);
    assert_eq!(info.ssthresh, ssthresh);
    assert!(
        info.cwnd >= info.ssthresh && info.cwnd < info.ssthresh + 2 * MSS as usize,
        "{info:?}"
    );
}

/// RFC 6675 / Linux's `tcp_enter_loss`: a timeout marks every segment not SACKed lost, and the
/// retransmissions skip what the peer SACKed.
#[test]
fn a_timeout_resends_only_what_was_not_sacked() {
    let (mut h, c) = established();
    burst(&mut h, c, 100, 4);
    // Segment 2 SACKed: RACK calls 0 and 1 lost at 163 and PRR, with nothing delivered yet,
    // lets one retransmission out; it is lost too.
    h.inject(150, seg(".").seq(1).ack(1).sack(&[(at(2), at(3))]));
    h.expect_at(163, seg(".").seq(at(0)).len(MSS as usize));
    h.expect_nothing();
    // The timeout (armed at 100, RTO 200 ms): segment 0 again, one segment's window.
    h.expect_at(300, seg(".").seq(at(0)).len(MSS as usize));
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpExtTCPTimeouts), 1);
    // Slow start: two segments' window after the ACK, and segment 2 is skipped.
    h.inject(350, seg(".").seq(1).ack(at(1)).sack(&[(at(2), at(3))]));
    h.expect(seg(".").seq(at(1)).len(MSS as usize));
    h.expect(seg(".").seq(at(3)).len(MSS as usize));
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpExtTCPSlowStartRetrans), 3);
    h.inject(400, seg(".").seq(1).ack(at(4)));
    h.expect_nothing_until(2_000);
}

/// RFC 8985 7: the tail of a burst is lost and no SACK can reveal it. Instead of a timeout,
/// a probe retransmits the last segment (the probe timeout, 2 SRTT + 200 ms with one segment
/// out, is capped at the RTO). The peer's ACK of it, with no D-SACK, shows a real loss: once
/// an ACK passes the probe, the window is reduced once (`TCPLossProbeRecovery`).
#[test]
fn a_tail_loss_probe_repairs_a_lost_last_segment() {
    let (mut h, c) = established();
    burst(&mut h, c, 100, 5);
    h.inject(150, seg(".").seq(1).ack(at(4)));
    h.expect_nothing();
    h.expect_at(350, seg(".").seq(at(4)).len(MSS as usize));
    assert_eq!(h.counter(Counter::TcpExtTCPLossProbes), 1);
    assert_eq!(h.counter(Counter::TcpExtTCPTimeouts), 0);
    h.inject(400, seg(".").seq(1).ack(at(5)));
    assert_eq!(h.counter(Counter::TcpExtTCPLossProbeRecovery), 0, "not yet");
    let before = h.info(c).cwnd;
    assert_eq!(h.write(c, 100), 100);
    h.expect(seg("P.").seq(at(5)).len(100));
    h.inject(450, seg(".").seq(1).ack(at(5) + 100));
    assert_eq!(h.counter(Counter::TcpExtTCPLossProbeRecovery), 1);
    assert!(h.info(c).cwnd < before);
    assert_eq!(h.counter(Counter::TcpExtTCPTimeouts), 0);
}

/// RFC 8985 7.4: if the original arrived after all, the peer reports the probe as a duplicate
/// (D-SACK) and nothing is reduced.
#[test]
fn a_probe_reported_as_duplicate_reduces_nothing() {
    let (mut h, c) = established();
    burst(&mut h, c, 100, 5);
    h.inject(150, seg(".").seq(1).ack(at(4)));
    h.expect_at(350, seg(".").seq(at(4)).len(MSS as usize));
    let before = h.info(c);
    h.inject(360, seg(".").seq(1).ack(at(5)));
    h.inject(361, seg(".").seq(1).ack(at(5)).sack(&[(at(4), at(5))]));
    assert_eq!(h.counter(Counter::TcpExtTCPDSACKRecv), 1);
    assert_eq!(h.write(c, 100), 100);
    h.expect(seg("P.").seq(at(5)).len(100));
    h.inject(400, seg(".").seq(1).ack(at(5) + 100));
    assert_eq!(h.counter(Counter::TcpExtTCPLossProbeRecovery), 0);
    assert!(h.info(c).cwnd >= before.cwnd);
}

/// RFC 2883: a segment that arrives twice is reported in a D-SACK block, first in the SACK
/// option of the ACK it draws (`TCPDSACKOldSent`).
#[test]
fn a_duplicate_segment_is_reported_with_a_dsack_block() {
    let (mut h, _c) = established();
    h.inject(100, seg("P.").seq(1).ack(1).len(500));
    h.expect(seg(".").seq(1).ack(501));
    h.inject(110, seg("P.").seq(1).ack(1).len(500));
    h.expect(seg(".").seq(1).ack(501).sack(&[(1, 501)]));
    assert_eq!(h.counter(Counter::TcpExtTCPDSACKOldSent), 1);
    // Only once: the next ACK has no SACK option.
    h.inject(120, seg("P.").seq(501).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(601));
    let _ = peer_data(1, 1);
}

/// RFC 2883 section 4: a duplicate of out-of-order data is reported too, its D-SACK block
/// first and the SACK block that contains it second (`TCPDSACKOfoSent`).
#[test]
fn a_duplicate_out_of_order_segment_is_reported_with_a_dsack_block() {
    let (mut h, _c) = established();
    h.inject(100, seg("P.").seq(501).ack(1).len(500));
    h.expect(seg(".").seq(1).ack(1).sack(&[(501, 1001)]));
    h.inject(110, seg("P.").seq(501).ack(1).len(500));
    h.expect(seg(".").seq(1).ack(1).sack(&[(501, 1001), (501, 1001)]));
    assert_eq!(h.counter(Counter::TcpExtTCPDSACKOfoSent), 1);
}

/// Linux's `undo_retrans`: when D-SACKs show that every retransmission of a recovery was a
/// duplicate, the loss was not real (reordering): the window comes back (`TCPDSACKUndo`).
#[test]
fn dsacks_for_every_retransmission_undo_the_recovery() {
    let (mut h, c) = established();
    burst(&mut h, c, 100, 5);
    let cwnd = h.info(c).cwnd;
    for (t, k) in [(150, 2), (151, 3), (152, 4)] {
        h.inject(t, seg(".").seq(1).ack(1).sack(&[(at(1), at(k))]));
    }
    h.expect(seg(".").seq(at(0)).len(MSS as usize));
    assert!(h.info(c).cwnd < cwnd);
    // The original segment 0 had only been delayed: it arrives, then the retransmission,
    // which the peer reports as a duplicate.
    h.inject(160, seg(".").seq(1).ack(at(5)));
    h.inject(161, seg(".").seq(1).ack(at(5)).sack(&[(at(0), at(1))]));
    assert_eq!(h.counter(Counter::TcpExtTCPDSACKUndo), 1);
    assert_eq!(h.info(c).cwnd, cwnd);
}

/// RFC 3522 (Eifel): after a timeout, the first ACK echoes the timestamp of the original
/// transmission, not of the retransmission: the data had arrived, the ACKs were late. The
/// window and threshold come back (`TCPSpuriousRTOs`, `TCPLossUndo`) and nothing else is
/// retransmitted.
#[test]
fn a_spurious_timeout_is_undone_by_its_timestamps() {
    let (mut h, c) = established();
    h.run_until(100);
    h.write(c, (4 * MSS) as usize);
    for i in 0..4 {
        h.expect(seg(".").seq(at(i)).len(MSS as usize));
    }
    let original_tsval = h.last_stack_tsval().expect("timestamps");
    let before = h.info(c);
    // A tail loss probe first (2 SRTT + 2 ms), then the timeout 200 ms later.
    h.expect_at(202, seg(".").seq(at(3)).len(MSS as usize));
    h.expect_at(402, seg(".").seq(at(0)).len(MSS as usize));
    assert_eq!(h.info(c).cwnd, MSS as usize);
    h.inject(
        420,
        seg(".")
            .seq(1)
            .ack(at(4))
            .ts(PEER_TS_BASE + 420, original_tsval),
    );
    h.expect_nothing_until(2_000);
    assert_eq!(h.counter(Counter::TcpExtTCPSpuriousRTOs), 1);
    assert_eq!(h.counter(Counter::TcpExtTCPLossUndo), 1);
    let after = h.info(c);
    assert_eq!((after.cwnd, after.ssthresh), (before.cwnd, before.ssthresh));
}

/// The same timeout with an ACK for the retransmission (it echoes the retransmission's TSval)
/// is a real loss: nothing is undone.
#[test]
fn a_real_timeout_is_not_undone() {
    let (mut h, c) = established();
    h.run_until(100);
    h.write(c, (4 * MSS) as usize);
    h.take_sent();
    h.expect_at(202, seg(".").seq(at(3)).len(MSS as usize));
    h.expect_at(402, seg(".").seq(at(0)).len(MSS as usize));
    let rtx_tsval = h.last_stack_tsval().expect("timestamps");
    h.inject(
        450,
        seg(".").seq(1).ack(at(1)).ts(PEER_TS_BASE + 450, rtx_tsval),
    );
    assert_eq!(h.counter(Counter::TcpExtTCPSpuriousRTOs), 0);
    assert!(h.info(c).ssthresh < usize::MAX);
}

/// RFC 2018 section 8: the peer may discard data it SACKed. When the cumulative ACK stops
/// right below a SACKed segment, the retransmission timer is shortened to half an RTT; when it
/// fires, the SACKs are forgotten (`TCPSACKReneging`) and that segment is resent too.
#[test]
fn sack_reneging_is_recovered_by_a_short_timeout() {
    let (mut h, c) = established();
    burst(&mut h, c, 100, 3);
    h.inject(150, seg(".").seq(1).ack(1).sack(&[(at(2), at(3))]));
    h.expect_at(163, seg(".").seq(at(0)).len(MSS as usize));
    h.inject(213, seg(".").seq(1).ack(at(1)).sack(&[(at(2), at(3))]));
    h.expect(seg(".").seq(at(1)).len(MSS as usize));
    // Segment 1's retransmission arrives; the peer dropped segment 2 it had SACKed.
    h.inject(263, seg(".").seq(1).ack(at(2)));
    h.expect_nothing();
    h.run_until(1_000);
    let sent = h.take_sent();
    assert!(
        !sent.is_empty() && sent[0].seq == at(2) && sent[0].at_ms <= 263 + 25,
        "segment 2 resent half an RTT later: {sent:?}"
    );
    assert_eq!(h.counter(Counter::TcpExtTCPSACKReneging), 1);
    let _ = c;
}

/// RFC 7323 section 4 (and Linux's `tcp_ack_update_rtt`): Karn's rule keeps an ACK of
/// retransmitted data from timing the round trip, unless timestamps say which transmission
/// it answers. Here the ACK echoes the probe's TSval: a 120 ms sample, so SRTT moves from 50 to
/// 50 * 7/8 + 120/8 = 58.75 ms.
#[test]
fn timestamps_time_a_retransmission() {
    let (mut h, c) = established();
    h.run_until(100);
    h.write(c, 1000);
    h.expect(seg("P.").seq(1).len(1000));
    // The probe (2 SRTT + 200 ms capped at the 200 ms RTO) resends it at 300.
    h.expect_at(300, seg("P.").seq(1).len(1000));
    let probe_tsval = h.last_stack_tsval().expect("timestamps");
    h.inject(
        420,
        seg(".")
            .seq(1)
            .ack(1001)
            .ts(PEER_TS_BASE + 420, probe_tsval),
    );
    assert_eq!(
        h.info(c).srtt,
        Some(std::time::Duration::from_micros(58_750))
    );
}
