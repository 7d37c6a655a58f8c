//! Scripted-segment tests of the receiving side (RFC 9293 3.10.7.4 "seventh, process the
//! segment text", RFC 5681 4.2 on generating ACKs, RFC 2018 SACK, RFC 1122 4.2.3.2 delayed
//! ACKs): in-order delivery, out-of-order segments with SACK blocks, filling holes, duplicates,
//! the window's edges, delayed ACKs after the quick-ACK phase and ACKing every second full
//! segment.
//!
//! The connection is opened passively at t = 0 with Linux's options, so every ACK carries
//! timestamps and SACK is negotiated. The stack's SYN-ACK offered a 65535-byte window (the
//! window of a SYN is unscaled), so until it sends again its window is [1, 65536).

mod script;

use script::{PeerOpts, Read, Script, peer_data, seg};
use sockeye_netstack::{Counter, SocketHandle, StackConfig, TcpState};

fn established() -> (Script, SocketHandle) {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    (h, c)
}

/// In-order data is acknowledged (at once, in the quick-ACK phase that follows the handshake)
/// and delivered in order; the window advertised grows to the free buffer space.
#[test]
fn in_order_data_is_delivered_and_acknowledged() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(1).ack(1).len(1000));
    let ack = h.expect(seg(".").seq(1).ack(1001));
    // The window is the free buffer (131072 - 1000 bytes) in units of 128, rounded either
    // way (RFC 7323 2.3 shifts right; rounding up avoids retracting the edge).
    let offered = i64::from(ack.win) << 7;
    assert!(
        (offered - (131_072 - 1000)).abs() < 128,
        "window {offered} B for 130072 B free"
    );
    h.inject(20, seg("P.").seq(1001).ack(1).len(1448));
    h.expect(seg(".").seq(1).ack(2449));
    h.expect_nothing();
    assert_eq!(h.read(c), Read::Data(peer_data(1, 2448)));
    assert_eq!(h.read(c), Read::Pending);
    assert_eq!(h.counter(Counter::TcpExtTCPOFOQueue), 0);
}

/// RFC 5681 4.2 and RFC 2018 4: an out-of-order segment is answered at once with a duplicate
/// ACK whose first SACK block covers it; the data waits for the hole.
#[test]
fn out_of_order_segment_gets_an_immediate_dup_ack_with_a_sack_block() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(1001).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(1).sack(&[(1001, 2001)]));
    h.expect_nothing();
    assert_eq!(h.read(c), Read::Pending);
    assert_eq!(h.info(c).out_of_order, 1000);
    assert_eq!(h.counter(Counter::TcpExtTCPOFOQueue), 1);
    // A second island: the most recent block comes first (RFC 2018 4).
    h.inject(20, seg("P.").seq(3001).ack(1).len(500));
    h.expect(seg(".").seq(1).ack(1).sack(&[(3001, 3501), (1001, 2001)]));
    // Extending the first island moves it to the front.
    h.inject(30, seg("P.").seq(2001).ack(1).len(200));
    h.expect(seg(".").seq(1).ack(1).sack(&[(1001, 2201), (3001, 3501)]));
}

/// RFC 5681 4.2: a segment that fills a hole is acknowledged at once, cumulatively; the SACK
/// blocks shrink to what is still out of order.
#[test]
fn filling_a_hole_is_acknowledged_at_once_cumulatively() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(1001).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(1).sack(&[(1001, 2001)]));
    h.inject(11, seg("P.").seq(3001).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(1).sack(&[(3001, 4001), (1001, 2001)]));
    // The first hole fills: ACK 2001 with the remaining island.
    h.inject(20, seg("P.").seq(1).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(2001).sack(&[(3001, 4001)]));
    assert_eq!(h.read(c), Read::Data(peer_data(1, 2000)));
    // The second: everything in order, no SACK blocks.
    h.inject(30, seg("P.").seq(2001).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(4001));
    h.expect_nothing();
    assert_eq!(h.read(c), Read::Data(peer_data(2001, 2000)));
    assert_eq!(h.info(c).out_of_order, 0);
}

/// RFC 9293 3.10.7.4 and RFC 5681 4.2: a duplicate segment (everything below RCV.NXT) is
/// acknowledged at once (a D-SACK block is allowed, RFC 2883) and not delivered twice; a
/// segment overlapping RCV.NXT has its old part trimmed and its new part taken.
#[test]
fn duplicate_data_is_acknowledged_at_once_and_not_delivered_twice() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(1).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(1001));
    h.inject(20, seg("P.").seq(1).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(1001).any_sack());
    h.inject(30, seg("P.").seq(501).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(1501).any_sack());
    h.expect_nothing();
    assert_eq!(h.read(c), Read::Data(peer_data(1, 1500)));
}

/// RFC 9293 3.10.7.4: a segment starting beyond the advertised window is not acceptable: it
/// is answered with an ACK of RCV.NXT and dropped (not held out of order).
#[test]
fn data_beyond_the_window_is_dropped_and_acknowledged() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(65_537).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.info(c).out_of_order, 0);
    h.inject(20, seg("P.").seq(1_000_000).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(1));
    assert_eq!(h.info(c).out_of_order, 0);
    assert_eq!(h.read(c), Read::Pending);
}

/// The window's right edge itself: RCV.NXT + RCV.WND is the first sequence number outside
/// the window, so data starting there is unacceptable (RFC 9293's test is
/// RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND; Linux's `tcp_data_queue` drops it as "over window").
#[test]
fn data_starting_at_the_right_edge_of_the_window_is_dropped() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(65_536).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.info(c).out_of_order, 0, "nothing held beyond the window");
    assert_eq!(h.counter(Counter::TcpExtTCPOFOQueue), 0);
    assert_eq!(h.state(c), TcpState::Established);
}

/// Every byte the window offers is accepted (RFC 9293 3.8.6: the window is the receiver's
/// promise; RFC 7323 2.4: data inside a window once offered must not be dropped). With an
/// 8192-byte receive buffer (SO_RCVBUF) the peer fills whatever the ACKs advertise, up to
/// the right edge, without reading; every segment must be taken whole.
#[test]
fn every_byte_inside_the_advertised_window_is_accepted() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.stack.tcp_set_recv_buffer_size(l, 8192).unwrap();
    h.inject(0, seg("S").seq(0).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1).win(8192));
    h.inject(1, seg(".").seq(1).ack(1));
    let c = h.accept(l).expect("accepted");
    let (mut seq, mut edge) = (1u32, 1u32 + 8192);
    for at in 10..40 {
        if seq == edge {
            break;
        }
        let len = (edge - seq).min(1448);
        h.inject(at, seg("P.").seq(seq).ack(1).len(len as usize));
        let ack = h.expect(seg(".").seq(1));
        assert_eq!(
            ack.ack,
            seq + len,
            "bytes {seq}..{} lie inside the advertised window [.., {edge}) but were dropped",
            seq + len
        );
        seq += len;
        edge = edge.max(ack.ack + (u32::from(ack.win) << 7));
    }
    assert_eq!(seq, edge, "the window closed");
    assert_eq!(h.counter(Counter::TcpExtTCPRcvQDrop), 0);
    let data = match h.read(c) {
        Read::Data(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(data, peer_data(1, data.len()));
}

/// RFC 9293 3.8.6 (the window is the free buffer space) and 3.8.6.2.2: once small segments
/// have filled the receive buffer, the stack advertises a zero window, so the peer stops and
/// probes instead of sending into space that does not exist. Each ACK's right edge may be
/// rounded up to the scale unit once, but must not creep further with every ACK.
#[test]
fn a_receive_buffer_filled_by_small_segments_advertises_a_zero_window() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.stack.tcp_set_recv_buffer_size(l, 8192).unwrap();
    h.inject(0, seg("S").seq(0).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1).win(8192));
    h.inject(1, seg(".").seq(1).ack(1));
    let c = h.accept(l).expect("accepted");
    let mut seq = 1u32;
    let mut at = 10;
    while seq < 8193 {
        let len = (8193 - seq).min(64);
        h.inject(at, seg("P.").seq(seq).ack(1).len(len as usize));
        seq += len;
        at += 1;
        for ack in h.take_sent() {
            let edge = ack.ack + (u32::from(ack.win) << 7);
            assert!(
                edge <= 1 + 8192 + 127,
                "{ack}: right edge {edge} lies more than one scale unit beyond the 8192-byte buffer"
            );
        }
    }
    h.run_until(at + 100);
    for ack in h.take_sent() {
        assert!(
            ack.ack == 8193 && ack.win == 0,
            "full buffer, nonzero window: {ack}"
        );
    }
    assert_eq!(h.info(c).recv_queued, 8192);
}

/// A full receive buffer: the peer's next bytes are dropped and answered with an ACK of
/// RCV.NXT; reading everything makes the stack announce the reopened window at once (the
/// window update of RFC 9293 3.8.6.2.2 / Linux's `__tcp_cleanup_rbuf`).
#[test]
fn a_full_receive_buffer_drops_new_data_and_reading_reopens_the_window() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.stack.tcp_set_recv_buffer_size(l, 8192).unwrap();
    h.inject(0, seg("S").seq(0).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1).win(8192));
    h.inject(1, seg(".").seq(1).ack(1));
    let c = h.accept(l).expect("accepted");
    let mut seq = 1;
    for at in 10..16 {
        let len = (8193 - seq).min(1448) as usize;
        h.inject(at, seg("P.").seq(seq).ack(1).len(len));
        seq += len as u32;
        h.expect(seg(".").seq(1).ack(seq));
    }
    assert_eq!(seq, 8193);
    assert_eq!(h.info(c).recv_queued, 8192);
    // The buffer is full: new bytes are not taken.
    h.inject(30, seg("P.").seq(8193).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(8193));
    assert_eq!(h.info(c).recv_queued, 8192);
    assert_eq!(h.read(c), Read::Data(peer_data(1, 8192)));
    let update = h.expect(seg(".").seq(1).ack(8193));
    assert_eq!(
        u32::from(update.win) << 7,
        8192,
        "the whole buffer is offered again"
    );
    h.expect_nothing();
    h.inject(40, seg("P.").seq(8193).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(8293));
}

/// RFC 1122 4.2.3.2 / RFC 5681 4.2 with Linux's timings: after the quick-ACK phase (16
/// segments, `TCP_MAX_QUICKACKS`), a lone small segment is acknowledged by the delayed-ACK
/// timer 40 ms later (`TCP_DELACK_MIN`).
#[test]
fn a_lone_small_segment_is_acked_after_40_ms_once_quick_acks_are_spent() {
    let (mut h, c) = established();
    let mut seq = 1;
    for i in 0..16 {
        h.inject(10 + i, seg("P.").seq(seq).ack(1).len(100));
        seq += 100;
        h.expect(seg(".").seq(1).ack(seq));
    }
    h.inject(500, seg("P.").seq(seq).ack(1).len(100));
    h.expect_nothing_until(539);
    h.expect_at(540, seg(".").seq(1).ack(seq + 100));
    h.expect_nothing_until(2000);
    assert_eq!(h.counter(Counter::TcpExtDelayedACKs), 1);
    assert_eq!(h.read(c), Read::Data(peer_data(1, 1700)));
}

/// Linux's `tcp_cleanup_rbuf`: once the application has read everything, a short segment
/// waiting for the delayed-ACK timer is acknowledged at once (the sender may be waiting for
/// that ACK before it sends more, e.g. with a small send buffer).
#[test]
fn reading_a_short_segment_acknowledges_it_at_once() {
    let (mut h, c) = established();
    let mut seq = 1;
    for i in 0..16 {
        h.inject(10 + i, seg("P.").seq(seq).ack(1).len(100));
        seq += 100;
        h.expect(seg(".").seq(1).ack(seq));
    }
    assert_eq!(h.read(c), Read::Data(peer_data(1, 1600)));
    h.inject(500, seg("P.").seq(seq).ack(1).len(100));
    h.expect_nothing_until(510);
    assert_eq!(h.read(c), Read::Data(peer_data(seq, 100)));
    let ack = h.expect(seg(".").seq(1).ack(seq + 100));
    assert_eq!(ack.at_ms, 510);
    h.expect_nothing_until(2000);
    assert_eq!(h.counter(Counter::TcpExtDelayedACKs), 0);
}

/// In request/response traffic (we answered within the delayed-ACK time before: Linux's
/// pingpong mode) reading the request does not acknowledge it: the reply carries the ACK.
#[test]
fn in_request_response_traffic_the_reply_carries_the_ack() {
    let (mut h, c) = established();
    h.set_nodelay(c, true);
    h.take_sent();
    let mut seq = 1;
    let mut ours = 1;
    for i in 0..16u64 {
        h.inject(10 + 10 * i, seg("P.").seq(seq).ack(ours).len(100));
        seq += 100;
        h.expect(seg(".").seq(ours).ack(seq));
        assert_eq!(h.read(c), Read::Data(peer_data(seq - 100, 100)));
        h.run_until(15 + 10 * i);
        assert_eq!(h.write(c, 50), 50);
        h.expect(seg("P.").seq(ours).ack(seq).len(50));
        ours += 50;
        h.inject(17 + 10 * i, seg(".").seq(seq).ack(ours));
    }
    h.inject(500, seg("P.").seq(seq).ack(ours).len(100));
    assert_eq!(h.read(c), Read::Data(peer_data(seq, 100)));
    h.expect_nothing_until(505);
    assert_eq!(h.write(c, 50), 50);
    h.expect(seg("P.").seq(ours).ack(seq + 100).len(50));
    assert_eq!(h.counter(Counter::TcpExtDelayedACKs), 0);
}

/// RFC 5681 4.2 / RFC 1122 4.2.3.2: an ACK is sent for at least every second full-sized
/// segment, without waiting for the timer.
#[test]
fn every_second_full_sized_segment_is_acked_at_once() {
    let (mut h, c) = established();
    let mut seq = 1;
    for i in 0..16 {
        h.inject(10 + i, seg(".").seq(seq).ack(1).len(1448));
        seq += 1448;
        h.expect(seg(".").seq(1).ack(seq));
    }
    assert_eq!(h.read(c), Read::Data(peer_data(1, 16 * 1448)));
    h.inject(100, seg(".").seq(seq).ack(1).len(1448));
    h.expect_nothing();
    h.inject(101, seg(".").seq(seq + 1448).ack(1).len(1448));
    h.expect(seg(".").seq(1).ack(seq + 2 * 1448));
    h.inject(102, seg(".").seq(seq + 2 * 1448).ack(1).len(1448));
    h.expect_nothing_until(141);
    h.expect_at(142, seg(".").seq(1).ack(seq + 3 * 1448));
    assert_eq!(h.counter(Counter::TcpExtDelayedACKs), 1);
}

/// A FIN that arrives before the data it follows is held until the hole fills; the
/// out-of-order segment is answered at once with a duplicate ACK (RFC 5681 4.2), and the
/// connection moves to CLOSE-WAIT only when everything before the FIN is in.
#[test]
fn fin_before_missing_data_waits_for_the_hole() {
    let (mut h, c) = established();
    h.inject(10, seg("F.").seq(101).ack(1));
    h.expect(seg(".").seq(1).ack(1).any_sack());
    assert_eq!(h.state(c), TcpState::Established);
    h.inject(20, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(102));
    assert_eq!(h.state(c), TcpState::CloseWait);
    assert_eq!(h.read(c), Read::Data(peer_data(1, 100)));
    assert_eq!(h.read(c), Read::Eof);
}

/// Data and FIN together out of order, then the hole: all delivered, FIN taken.
#[test]
fn data_and_fin_out_of_order_then_the_hole() {
    let (mut h, c) = established();
    h.inject(10, seg("FP.").seq(101).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(1).sack(&[(101, 201)]));
    h.inject(20, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(202));
    assert_eq!(h.state(c), TcpState::CloseWait);
    assert_eq!(h.read(c), Read::Data(peer_data(1, 200)));
    assert_eq!(h.read(c), Read::Eof);
}

/// Sequence numbers wrap (RFC 9293 3.4): a peer whose ISN is just below 2^32 sends data
/// across the wrap, in and out of order.
#[test]
fn data_across_the_sequence_number_wrap() {
    let mut h = Script::new();
    h.peer_isn = u32::MAX - 1500;
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.inject(10, seg("P.").seq(1).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(1001));
    // Bytes 2001.. lie past the wrap; 1001..2001 straddle it.
    h.inject(20, seg("P.").seq(2001).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(1001).sack(&[(2001, 3001)]));
    h.inject(30, seg("P.").seq(1001).ack(1).len(1000));
    h.expect(seg(".").seq(1).ack(3001));
    assert_eq!(h.read(c), Read::Data(peer_data(1, 3000)));
}

/// A receive buffer set below the default still advertises the full window in the SYN-ACK
/// only up to the buffer (RFC 9293 3.8.6.2.2: never offer more than can be taken).
#[test]
fn syn_ack_window_is_bounded_by_the_receive_buffer() {
    let config = StackConfig {
        tcp_rmem: [4096, 16_384, 6_291_456],
        ..StackConfig::default()
    };
    let mut h = Script::with_config(config);
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1).win(16_384).wscale(7));
    h.inject(1, seg(".").seq(1).ack(1));
    let c = h.accept(l).expect("accepted");
    h.inject(10, seg("P.").seq(16_385).ack(1).len(10));
    h.expect(seg(".").seq(1).ack(1));
    assert_eq!(h.info(c).out_of_order, 0);
}

/// RFC 9293 3.10.7.4 ("fifth, check the ACK field: if the ACK bit is off, drop the segment"):
/// data without an ACK on an established connection is neither delivered nor acknowledged.
#[test]
fn a_segment_without_the_ack_bit_is_dropped() {
    let (mut h, c) = established();
    h.inject(10, seg("P").seq(1).len(10));
    h.expect_nothing();
    assert_eq!(h.read(c), Read::Pending);
    assert_eq!(h.info(c).recv_queued, 0);
    h.inject(20, seg("P.").seq(1).ack(1).len(10));
    h.expect(seg(".").seq(1).ack(11));
}
