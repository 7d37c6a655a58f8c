//! Scripted-segment tests of connection establishment (RFC 9293 sections 3.5 and 3.10.7,
//! RFC 7323, RFC 2018, RFC 6298): active and passive open with their options, segments to
//! closed ports and listeners, the SYN-SENT rules, simultaneous open, and SYN / SYN-ACK
//! retransmission.
//!
//! Each test is a script against the harness in `script/`: the stack under test at 10.0.0.1,
//! a fake peer at 10.0.0.2, sequence numbers relative to each side's ISN, virtual milliseconds.
//! Every frame the stack emits is also parsed and checked by etherparse.

mod script;

use std::io::ErrorKind;
use std::task::Poll;
use std::time::Duration;

use script::{PEER_TS_BASE, PeerOpts, Script, seg};
use sockeye_netstack::{Counter, StackConfig, TcpState};

fn connect_error(h: &mut Script, c: sockeye_netstack::SocketHandle) -> Option<ErrorKind> {
    match h.connect_status(c) {
        Poll::Ready(Err(e)) => Some(e.kind()),
        Poll::Ready(Ok(())) => panic!("connected"),
        Poll::Pending => None,
    }
}

// ------------------------------------------------------------------------------ active open

/// RFC 9293 3.7.1 and RFC 7323/2018: the SYN announces MSS = MTU - 40 = 1460, window scale 7
/// (the smallest shift that fits `tcp_rmem` max 6291456 in 16 bits), SACK-permitted and
/// timestamps with TSecr 0; its window is unscaled. The SYN-ACK completes the handshake with an
/// ACK at once, and the connect is ready.
#[test]
fn active_open_syn_offers_mss_wscale_sack_and_timestamps() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(
        seg("S")
            .seq(0)
            .win(65535)
            .mss(1460)
            .wscale(7)
            .sack_ok()
            .ts_ecr(0),
    );
    h.expect_nothing();
    assert!(h.connect_status(c).is_pending());
    assert_eq!(h.state(c), TcpState::SynSent);

    h.inject(
        10,
        seg("S.").seq(0).ack(1).win(65535).with_opts(PeerOpts::FULL),
    );
    // The ACK: scaled window (131072 B of tcp_rmem default >> 7), the peer's TSval echoed.
    h.expect(
        seg(".")
            .seq(1)
            .ack(1)
            .win((131_072u32 >> 7) as u16)
            .ts_ecr(PEER_TS_BASE + 10),
    );
    h.expect_nothing();
    assert!(matches!(h.connect_status(c), Poll::Ready(Ok(()))));
    let info = h.info(c);
    assert_eq!(info.state, TcpState::Established);
    assert_eq!(info.window_scale, Some((7, 7)));
    assert!(info.sack && info.timestamps);
    assert_eq!(info.mss, 1448, "1460 less 12 bytes of timestamps");
    assert_eq!(info.snd_wnd, 65535, "the window of a SYN is never scaled");
    assert_eq!(
        info.srtt,
        Some(Duration::from_millis(10)),
        "RTT sampled from the echoed timestamp"
    );
    assert_eq!(h.counter(Counter::TcpActiveOpens), 1);
    assert_eq!(h.counter(Counter::TcpCurrEstab), 1);
}

/// RFC 7323 sections 2.2 and 3.2, RFC 2018 section 2: options the peer's SYN-ACK lacks are not
/// used: no scaling (windows are raw bytes both ways), no timestamps on later segments, no
/// SACK; without an MSS option the segment size is 536 (RFC 9293 3.7.1).
#[test]
fn active_open_without_peer_options_uses_no_scaling_sack_or_timestamps() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0).wscale(7).sack_ok().ts_any());
    h.inject(
        5,
        seg("S.").seq(0).ack(1).win(65535).with_opts(PeerOpts::NONE),
    );
    h.expect(seg(".").seq(1).ack(1).win(65535).no_ts());
    let info = h.info(c);
    assert_eq!(info.window_scale, None);
    assert!(!info.sack && !info.timestamps);
    assert_eq!(info.mss, 536);

    // Data goes out in 536-byte segments without options; Nagle holds the short tail.
    assert_eq!(h.write(c, 1000), 1000);
    let first = h.expect(seg(".").seq(1).ack(1).len(536).no_ts());
    assert_eq!(first.options_len, 0);
    h.expect_nothing();
    h.inject(30, seg(".").seq(1).ack(537).win(65535));
    h.expect(seg("P.").seq(537).ack(1).len(464).no_ts());
    // The peer's window is taken unscaled.
    h.inject(40, seg(".").seq(1).ack(1001).win(1000));
    assert_eq!(h.info(c).snd_wnd, 1000);
}

/// Options are negotiated one by one: a SYN-ACK with window scale but neither SACK-permitted
/// nor timestamps turns on scaling alone.
#[test]
fn active_open_negotiates_each_option_separately() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    h.inject(
        5,
        seg("S.").seq(0).ack(1).win(65535).with_opts(PeerOpts {
            mss: Some(1400),
            wscale: Some(2),
            sack_ok: false,
            ts: false,
        }),
    );
    h.expect(seg(".").seq(1).ack(1).no_ts());
    let info = h.info(c);
    assert_eq!(info.window_scale, Some((7, 2)));
    assert!(!info.sack && !info.timestamps);
    assert_eq!(info.mss, 1400);
    // The peer's windows are now shifted by 2.
    h.inject(6, seg(".").seq(1).ack(1).win(1000));
    assert_eq!(h.info(c).snd_wnd, 4000);
}

/// RFC 7323 2.3: a window scale above 14 is used as 14.
#[test]
fn peer_window_scale_above_14_is_taken_as_14() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    h.inject(
        5,
        seg("S.").seq(0).ack(1).win(65535).with_opts(PeerOpts {
            wscale: Some(15),
            ..PeerOpts::FULL
        }),
    );
    h.expect(seg(".").seq(1).ack(1));
    assert_eq!(h.info(c).window_scale, Some((7, 14)));
    h.inject(6, seg(".").seq(1).ack(1).win(2));
    assert_eq!(h.info(c).snd_wnd, 2 << 14);
}

// ----------------------------------------------------------------------------- passive open

/// RFC 9293 3.10.7.2 (LISTEN, SYN): the SYN-ACK acknowledges the SYN and echoes every option
/// offered (RFC 7323: TSecr is the SYN's TSval); the final ACK puts the connection in the
/// accept queue.
#[test]
fn passive_open_syn_ack_echoes_offered_options() {
    let mut h = Script::new();
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
            .ts_ecr(PEER_TS_BASE),
    );
    h.expect_nothing();
    assert!(h.accept(l).is_none(), "not before the handshake completes");
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 1));

    h.inject(7, seg(".").seq(1).ack(1));
    h.expect_nothing();
    let c = h.accept(l).expect("accepted");
    let info = h.info(c);
    assert_eq!(info.state, TcpState::Established);
    assert_eq!(info.window_scale, Some((7, 7)));
    assert!(info.sack && info.timestamps);
    assert_eq!(info.mss, 1448);
    assert_eq!(info.srtt, Some(Duration::from_millis(7)));
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
    assert_eq!(h.counter(Counter::TcpPassiveOpens), 1);
    assert_eq!(h.stack.tcp_listener_stats(l).unwrap().accepted, 1);
}

/// RFC 7323 sections 2.2/3.2 and RFC 2018: a SYN-ACK carries window scale, SACK-permitted or
/// timestamps only if the SYN did. MSS is always announced; the peer's MSS bounds ours.
#[test]
fn passive_open_syn_ack_omits_options_the_peer_did_not_offer() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(8192).mss(1200));
    h.expect(
        seg("S.")
            .seq(0)
            .ack(1)
            .mss(1460)
            .no_wscale()
            .no_sack_ok()
            .no_ts(),
    );
    h.inject(1, seg(".").seq(1).ack(1).win(8192));
    let c = h.accept(l).expect("accepted");
    let info = h.info(c);
    assert_eq!(info.window_scale, None);
    assert!(!info.sack && !info.timestamps);
    assert_eq!(info.mss, 1200);
    assert_eq!(info.snd_wnd, 8192);
    // Unscaled windows from now on, and data segments of at most 1200 bytes.
    h.set_nodelay(c, true);
    assert_eq!(h.write(c, 2000), 2000);
    h.expect(seg(".").seq(1).ack(1).len(1200).win(65535));
    h.expect(seg("P.").seq(1201).ack(1).len(800));
}

/// The same with timestamps and SACK offered but no window scale.
#[test]
fn passive_open_echoes_timestamps_and_sack_without_window_scale() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(
        0,
        seg("S").seq(0).win(65535).with_opts(PeerOpts {
            mss: Some(1460),
            wscale: None,
            sack_ok: true,
            ts: true,
        }),
    );
    h.expect(
        seg("S.")
            .seq(0)
            .ack(1)
            .mss(1460)
            .no_wscale()
            .sack_ok()
            .ts_ecr(PEER_TS_BASE),
    );
    h.inject(2, seg(".").seq(1).ack(1));
    let c = h.accept(l).expect("accepted");
    let info = h.info(c);
    assert_eq!(info.window_scale, None);
    assert!(info.sack && info.timestamps);
}

/// A handshake whose final ACK carries a FIN: the connection lands in CLOSE-WAIT (RFC 9293
/// 3.10.7.4, SYN-RECEIVED then the FIN) and is still accepted; the read sees the end.
#[test]
fn handshake_ack_carrying_a_fin_leaves_close_wait() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(1, seg("F.").seq(1).ack(1));
    h.expect(seg(".").seq(1).ack(2));
    let c = h.accept(l).expect("accepted");
    assert_eq!(h.state(c), TcpState::CloseWait);
    assert_eq!(h.read(c), script::Read::Eof);
}

/// The peer's SYN again while in SYN-RECEIVED (our SYN-ACK was lost): the SYN-ACK is sent
/// again at once, with the same ISN.
#[test]
fn duplicate_syn_in_syn_received_resends_the_syn_ack() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(300, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    // RFC 7323 4.3: the duplicate SYN does not update TS.Recent (SEG.SEQ + SEG.LEN is not
    // beyond Last.ACK.sent), so the echo is still the first SYN's TSval.
    h.expect(seg("S.").seq(0).ack(1).ts_ecr(PEER_TS_BASE));
    h.expect_nothing();
    h.inject(310, seg(".").seq(1).ack(1));
    assert!(h.accept(l).is_some());
}

/// RFC 9293 3.10.7.4 (SYN-RECEIVED, fifth): an ACK that does not acknowledge our SYN gets
/// <SEQ=SEG.ACK><CTL=RST> and the half-open connection stays; the right final ACK may carry
/// data, which is delivered once the connection is accepted.
#[test]
fn syn_received_bad_ack_gets_rst_and_the_final_ack_may_carry_data() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(1, seg(".").seq(1).ack(5));
    h.expect(seg("R").seq(5));
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 1));
    h.inject(2, seg("P.").seq(1).ack(1).len(10));
    h.expect(seg(".").seq(1).ack(11));
    let c = h.accept(l).expect("accepted");
    assert_eq!(h.read(c), script::Read::Data(script::peer_data(1, 10)));
}

// ------------------------------------------------------------------- closed ports, listeners

/// RFC 9293 3.10.7.1 (CLOSED): a segment without ACK gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
/// <CTL=RST,ACK>; one with an ACK gets <SEQ=SEG.ACK><CTL=RST>; a RST gets nothing.
#[test]
fn segments_to_a_closed_port_are_answered_with_rst() {
    let mut h = Script::new();
    h.stack_port = Some(9999);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("R.").seq(0).ack(1).win(0));
    h.expect_nothing();
    // A SYN with 10 bytes of data: SEG.LEN counts the SYN and the data.
    h.inject(1, seg("S").seq(0).len(10));
    h.expect(seg("R.").seq(0).ack(11));
    // A FIN without ACK counts one.
    h.inject(2, seg("F").seq(100));
    h.expect(seg("R.").seq(0).ack(101));
    // With an ACK: the RST takes its sequence number from it and carries no ACK.
    h.inject(3, seg("P.").seq(5).ack(777_777).len(20));
    h.expect(seg("R").seq(777_777));
    // A RST is never answered.
    h.inject(4, seg("R.").seq(5).ack(1));
    h.inject(5, seg("R").seq(5));
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpOutRsts), 4);
}

/// RFC 9293 3.10.7.2 (LISTEN): an ACK is answered with <SEQ=SEG.ACK><CTL=RST>; a SYN-ACK too.
#[test]
fn ack_to_a_listener_gets_rst_with_their_ack_as_seq() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg(".").seq(1).ack(12_345));
    h.expect(seg("R").seq(12_345));
    h.inject(
        1,
        seg("S.")
            .seq(0)
            .ack(4_000_000_000)
            .with_opts(PeerOpts::FULL),
    );
    h.expect(seg("R").seq(4_000_000_000));
    h.expect_nothing();
    assert_eq!(h.state(l), TcpState::Listen);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
}

/// RFC 9293 3.10.7.2: a RST to a listener is ignored; so is any segment with neither SYN nor
/// ACK (a FIN or bare data). The listener still accepts afterwards.
#[test]
fn rst_and_segments_without_syn_or_ack_to_a_listener_are_ignored() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("R").seq(0));
    h.inject(1, seg("R.").seq(0).ack(1));
    h.inject(2, seg("F").seq(0));
    h.inject(3, seg("P").seq(0).len(10));
    h.expect_nothing();
    assert_eq!(h.state(l), TcpState::Listen);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
    h.inject(4, seg("S").seq(0).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
}

/// RFC 9293 3.10.7.4 (SYN-RECEIVED, RST): a connection opened passively "returns to LISTEN":
/// the half-open child is dropped silently and its SYN-ACK is not retransmitted; a RST that
/// is in the window but not at RCV.NXT gets a challenge ACK instead (RFC 5961 3.2).
#[test]
fn rst_in_syn_received_drops_the_half_open_connection() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(10, seg("R").seq(100));
    let reply = h.take_sent();
    assert!(
        reply.len() == 1 && reply[0].flags.ack && !reply[0].flags.rst && reply[0].ack == 1,
        "one challenge ACK (a pure ACK or the SYN-ACK again): {reply:?}"
    );
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 1));
    h.inject(20, seg("R").seq(1));
    h.expect_nothing_until(10_000);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
    assert_eq!(h.stack.tcp_sockets(), 1);
    assert!(h.accept(l).is_none());
}

// ------------------------------------------------------------------------------- SYN-SENT

/// RFC 9293 3.10.7.3 (SYN-SENT, RST with an acceptable ACK): "connection reset" — reported
/// as `ConnectionRefused` by connect; nothing is sent and the SYN is not retransmitted.
#[test]
fn syn_sent_rst_with_acceptable_ack_refuses_the_connection() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    h.inject(5, seg("R.").seq(0).ack(1).win(0));
    h.expect_nothing();
    assert_eq!(connect_error(&mut h, c), Some(ErrorKind::ConnectionRefused));
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.counter(Counter::TcpAttemptFails), 1);
    h.expect_nothing_until(10_000);
}

/// RFC 9293 3.10.7.3: in SYN-SENT a RST without an ACK, or with an unacceptable one, is
/// dropped; the connect goes on and the SYN is retransmitted on time.
#[test]
fn syn_sent_rst_without_acceptable_ack_is_ignored() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    h.inject(5, seg("R").seq(0));
    h.inject(6, seg("R.").seq(0).ack(2));
    h.inject(7, seg("R.").seq(0).ack(0));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::SynSent);
    h.expect_at(1000, seg("S").seq(0));
    h.inject(1010, seg("S.").seq(0).ack(1).with_opts(PeerOpts::FULL));
    h.expect(seg(".").seq(1).ack(1));
    assert!(matches!(h.connect_status(c), Poll::Ready(Ok(()))));
}

/// RFC 9293 3.10.7.3: in SYN-SENT an ACK that does not acknowledge the SYN (SEG.ACK =< ISS or
/// SEG.ACK > SND.NXT) gets <SEQ=SEG.ACK><CTL=RST>, and the connection stays in SYN-SENT.
#[test]
fn syn_sent_unacceptable_ack_gets_rst() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    h.inject(5, seg("S.").seq(0).ack(5).with_opts(PeerOpts::FULL));
    h.expect(seg("R").seq(5));
    h.inject(6, seg("S.").seq(0).ack(0).with_opts(PeerOpts::FULL));
    h.expect(seg("R").seq(0));
    h.inject(7, seg(".").seq(1).ack(1000));
    h.expect(seg("R").seq(1000));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::SynSent);
    // An acceptable ACK without SYN is dropped (RFC 9293: "fifth, if neither SYN nor RST").
    h.inject(8, seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::SynSent);
    h.inject(9, seg("S.").seq(0).ack(1).with_opts(PeerOpts::FULL));
    h.expect(seg(".").seq(1).ack(1));
    assert_eq!(h.state(c), TcpState::Established);
}

/// RFC 9293 3.5 figure 7 (simultaneous open): a SYN without ACK in SYN-SENT moves to
/// SYN-RECEIVED and is answered with a SYN-ACK (same ISN); the peer's ACK of our SYN
/// establishes the connection.
#[test]
fn simultaneous_open_syn_then_ack_establishes() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    h.inject(5, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(
        seg("S.")
            .seq(0)
            .ack(1)
            .mss(1460)
            .wscale(7)
            .sack_ok()
            .ts_ecr(PEER_TS_BASE + 5),
    );
    assert_eq!(h.state(c), TcpState::SynReceived);
    assert!(h.connect_status(c).is_pending());
    h.inject(10, seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert!(matches!(h.connect_status(c), Poll::Ready(Ok(()))));
    assert_eq!(h.state(c), TcpState::Established);
    // Data flows.
    assert_eq!(h.write(c, 10), 10);
    h.expect(seg("P.").seq(1).ack(1).len(10));
}

/// Simultaneous open as two real stacks play it: each answers the other's SYN with a SYN-ACK,
/// so in SYN-RECEIVED the peer's SYN-ACK arrives. Its ACK acknowledges our SYN: Linux accepts it
/// and is established (tcp_validate_incoming's SYN_RECV exception); RFC 9293 answers it with a
/// pure ACK <SEQ=SND.NXT><ACK=RCV.NXT>, which completes the peer's side. Either way the
/// reply must not be another SYN-ACK: a peer in SYN-RECEIVED finds a SYN-ACK unacceptable and
/// is never completed by it, so two such stacks would ping-pong SYN-ACKs until they give up.
#[test]
fn simultaneous_open_peer_syn_ack_is_answered_with_a_pure_ack() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    h.inject(5, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    h.inject(
        10,
        seg("S.").seq(0).ack(1).win(65535).with_opts(PeerOpts::FULL),
    );
    if h.state(c) != TcpState::Established {
        h.expect(seg(".").seq(1).ack(1));
    }
    h.expect_nothing();
    h.inject(11, seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Established);
    // Data flows.
    assert_eq!(h.write(c, 10), 10);
    h.expect(seg("P.").seq(1).ack(1).len(10));
}

// ----------------------------------------------------------------------- SYN retransmission

/// RFC 6298 2.1 and 5.5: the first RTO is 1 s and doubles on every expiry; after
/// `tcp_syn_retries` (6) retransmissions the next expiry fails the connect with `TimedOut`
/// (Linux's 127 s), silently.
#[test]
fn syn_is_retransmitted_with_doubling_rto_until_tcp_syn_retries() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0).mss(1460));
    for at in [1000, 3000, 7000, 15_000, 31_000, 63_000] {
        h.expect_at(at, seg("S").seq(0).mss(1460).wscale(7).sack_ok().ts_ecr(0));
        assert_eq!(h.state(c), TcpState::SynSent);
    }
    h.expect_nothing_until(126_999);
    assert!(h.connect_status(c).is_pending());
    h.run_until(127_000);
    h.expect_nothing();
    assert_eq!(connect_error(&mut h, c), Some(ErrorKind::TimedOut));
    assert_eq!(h.counter(Counter::TcpExtTCPSynRetrans), 6);
    assert_eq!(h.counter(Counter::TcpAttemptFails), 1);
    h.expect_nothing_until(300_000);
}

/// `tcp_syn_retries` is honoured when changed: 2 retries fail at 1 + 2 + 4 = 7 s.
#[test]
fn tcp_syn_retries_bounds_the_syn_retransmissions() {
    let config = StackConfig {
        tcp_syn_retries: 2,
        ..StackConfig::default()
    };
    let mut h = Script::with_config(config);
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    h.expect_at(1000, seg("S").seq(0));
    h.expect_at(3000, seg("S").seq(0));
    h.expect_nothing_until(6999);
    assert!(h.connect_status(c).is_pending());
    h.run_until(7000);
    assert_eq!(connect_error(&mut h, c), Some(ErrorKind::TimedOut));
    h.expect_nothing_until(20_000);
}

/// A SYN-ACK that arrives after SYN retransmissions still completes the connection, and its
/// RTT is not sampled from the ambiguous SYN (Karn) except through the echoed timestamp.
#[test]
fn syn_ack_after_a_syn_retransmission_establishes() {
    let mut h = Script::new();
    let c = h.connect(0);
    h.expect(seg("S").seq(0));
    let again = h.expect_at(1000, seg("S").seq(0));
    let (tsval, _) = again.ts.expect("timestamps");
    h.inject(
        1050,
        seg("S.")
            .seq(0)
            .ack(1)
            .mss(1460)
            .wscale(7)
            .sack_ok()
            .ts(PEER_TS_BASE + 1050, tsval),
    );
    h.expect(seg(".").seq(1).ack(1));
    assert!(matches!(h.connect_status(c), Poll::Ready(Ok(()))));
    assert_eq!(h.info(c).srtt, Some(Duration::from_millis(50)));
}

/// RFC 9293 3.8.1 and Linux's `tcp_synack_retries` (5): the SYN-ACK is retransmitted at 1, 3,
/// 7, 15 and 31 s; at 63 s the half-open connection is dropped silently and leaves the SYN
/// queue. A late ACK then finds no connection and is answered with a RST.
#[test]
fn syn_ack_is_retransmitted_until_tcp_synack_retries_then_dropped() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    for at in [1000, 3000, 7000, 15_000, 31_000] {
        h.expect_at(
            at,
            seg("S.")
                .seq(0)
                .ack(1)
                .mss(1460)
                .wscale(7)
                .sack_ok()
                .ts_any(),
        );
    }
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 1));
    h.expect_nothing_until(63_000);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
    assert_eq!(h.stack.tcp_sockets(), 1, "only the listener is left");
    assert_eq!(h.counter(Counter::TcpExtTCPSynRetrans), 5);
    h.inject(64_000, seg(".").seq(1).ack(1));
    h.expect(seg("R").seq(1));
    assert!(h.accept(l).is_none());
}

/// `tcp_synack_retries` is honoured when changed.
#[test]
fn tcp_synack_retries_bounds_the_syn_ack_retransmissions() {
    let config = StackConfig {
        tcp_synack_retries: 1,
        ..StackConfig::default()
    };
    let mut h = Script::with_config(config);
    let l = h.listen(script::LISTEN_PORT);
    h.inject(0, seg("S").seq(0).win(65535).with_opts(PeerOpts::FULL));
    h.expect(seg("S.").seq(0).ack(1));
    h.expect_at(1000, seg("S.").seq(0).ack(1));
    h.expect_nothing_until(3000);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
}
