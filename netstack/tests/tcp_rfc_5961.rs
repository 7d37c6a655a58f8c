//! Scripted-segment tests of RFC 5961 ("Improving TCP's Robustness to Blind In-Window
//! Attacks") on an established connection: which RSTs reset, which get a challenge ACK, which
//! are dropped; SYNs in synchronized states; the ACK acceptability range; and the rate limit
//! on challenge ACKs (Linux's `tcp_invalid_ratelimit`, 500 ms).
//!
//! The connection is opened passively at t = 0 with Linux's options (MSS 1460, SACK,
//! timestamps, window scale 7); the stack's SYN-ACK offered a 65535-byte window, so its
//! receive window is [1, 65536) in the peer's relative sequence numbers.

mod script;

use script::{PeerOpts, Read, Script, peer_data, seg};
use sockeye_netstack::{Counter, SocketHandle, TcpState};
use std::io::ErrorKind;

fn established() -> (Script, SocketHandle) {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    (h, c)
}

/// RFC 5961 3.2 (and RFC 9293 3.10.7.4): a RST whose sequence number is exactly RCV.NXT resets
/// the connection; the reader gets `ConnectionReset` once, then end of stream. Nothing is sent.
#[test]
fn rst_with_seq_equal_to_rcv_nxt_resets_the_connection() {
    let (mut h, c) = established();
    h.inject(10, seg("R").seq(1));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.read(c), Read::Error(ErrorKind::ConnectionReset));
    assert_eq!(h.read(c), Read::Eof);
    assert_eq!(h.counter(Counter::TcpEstabResets), 1);
    assert_eq!(h.counter(Counter::TcpCurrEstab), 0);
    // The connection is gone: the peer's next segment finds no one.
    h.inject(20, seg(".").seq(1).ack(1));
    h.expect(seg("R").seq(1));
}

/// The same with the ACK bit set on the RST, after some data moved RCV.NXT.
#[test]
fn rst_ack_at_the_new_rcv_nxt_resets_and_write_reports_it() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(101));
    // A RST at the old RCV.NXT is in the window's past now: not exact, so no reset.
    h.inject(20, seg("R.").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Established);
    h.inject(30, seg("R.").seq(101).ack(1));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.write_err(c), ErrorKind::ConnectionReset);
}

/// RFC 5961 3.2: a RST inside the window but not at RCV.NXT gets a challenge ACK
/// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the connection survives.
#[test]
fn rst_in_window_but_not_exact_gets_a_challenge_ack() {
    let (mut h, c) = established();
    h.inject(10, seg("R").seq(1001));
    h.expect(seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Established);
    assert_eq!(h.counter(Counter::TcpExtTCPChallengeACK), 1);
    // The last byte of the window is still "in window".
    h.inject(600, seg("R").seq(65535));
    h.expect(seg(".").seq(1).ack(1));
    assert_eq!(h.state(c), TcpState::Established);
    // The connection still carries data.
    h.inject(700, seg("P.").seq(1).ack(1).len(10));
    h.expect(seg(".").seq(1).ack(11));
    assert_eq!(h.read(c), Read::Data(peer_data(1, 10)));
}

/// RFC 5961 3.2 / RFC 9293 3.10.7.4: a RST outside the window is dropped silently, on both
/// sides of it.
#[test]
fn rst_outside_the_window_is_dropped_silently() {
    let (mut h, c) = established();
    h.inject(10, seg("R").seq(1 + 200_000));
    h.inject(20, seg("R.").seq(1u32.wrapping_sub(5000)).ack(1));
    h.inject(30, seg("R").seq(2_000_000_000));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Established);
    assert_eq!(h.counter(Counter::TcpExtTCPChallengeACK), 0);
}

/// RFC 5961 4.2: a SYN in a synchronized state gets a challenge ACK whatever its sequence
/// number (in the window, or not), and the connection is not reset.
#[test]
fn syn_in_established_gets_a_challenge_ack() {
    let (mut h, c) = established();
    h.inject(10, seg("S").seq(1000).with_opts(PeerOpts::FULL));
    h.expect(seg(".").seq(1).ack(1));
    h.inject(600, seg("S").seq(3_000_000_000).with_opts(PeerOpts::FULL));
    h.expect(seg(".").seq(1).ack(1));
    // SYN-ACK too.
    h.inject(1200, seg("S.").seq(500).ack(1).with_opts(PeerOpts::FULL));
    h.expect(seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Established);
    assert_eq!(h.counter(Counter::TcpExtTCPSYNChallenge), 3);
    assert_eq!(h.counter(Counter::TcpExtTCPChallengeACK), 3);
}

/// RFC 5961 5.2 / RFC 9293 3.10.7.4: an ACK acknowledging data never sent (SEG.ACK > SND.NXT)
/// is answered with an ACK and the segment is dropped, data included.
#[test]
fn ack_of_unsent_data_is_answered_and_the_segment_dropped() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(1).ack(1000).len(10));
    h.expect(seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.read(c), Read::Pending, "the data was not accepted");
    assert_eq!(h.info(c).recv_queued, 0);
    // The same data with a sane ACK is taken.
    h.inject(20, seg("P.").seq(1).ack(1).len(10));
    h.expect(seg(".").seq(1).ack(11));
    assert_eq!(h.read(c), Read::Data(peer_data(1, 10)));
}

/// RFC 5961 5.2: an ACK older than SND.UNA - MAX.SND.WND gets a challenge ACK and the segment
/// is dropped; an ACK slightly old (inside that range) is fine and its data is taken.
#[test]
fn ack_far_below_snd_una_gets_a_challenge_ack() {
    let (mut h, c) = established();
    // The peer's largest window: 65535 << 7 = 8388480 bytes.
    h.inject(
        10,
        seg("P.").seq(1).ack(1u32.wrapping_sub(10_000_000)).len(10),
    );
    h.expect(seg(".").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.read(c), Read::Pending, "the data was dropped");
    assert_eq!(h.counter(Counter::TcpExtTCPChallengeACK), 1);
    // Old but acceptable: ACK 0 (one below SND.UNA).
    h.inject(20, seg("P.").seq(1).ack(0).len(10));
    h.expect(seg(".").seq(1).ack(11));
    assert_eq!(h.read(c), Read::Data(peer_data(1, 10)));
    assert_eq!(h.state(c), TcpState::Established);
}

/// RFC 5961 section 7 / Linux `tcp_invalid_ratelimit`: at most one challenge ACK per 500 ms
/// per connection, whatever triggered it.
#[test]
fn challenge_acks_are_rate_limited_to_one_per_500_ms() {
    let (mut h, c) = established();
    h.inject(100, seg("R").seq(1001));
    h.expect(seg(".").seq(1).ack(1));
    h.inject(200, seg("R").seq(1002));
    h.inject(300, seg("S").seq(5000).with_opts(PeerOpts::FULL));
    h.inject(599, seg("R").seq(1003));
    h.expect_nothing();
    h.inject(600, seg("R").seq(1004));
    h.expect(seg(".").seq(1).ack(1));
    h.inject(700, seg("S").seq(5000).with_opts(PeerOpts::FULL));
    h.expect_nothing();
    h.inject(1100, seg("S").seq(5000).with_opts(PeerOpts::FULL));
    h.expect(seg(".").seq(1).ack(1));
    assert_eq!(h.counter(Counter::TcpExtTCPChallengeACK), 3);
    assert_eq!(
        h.counter(Counter::TcpExtTCPSYNChallenge),
        3,
        "counted even when limited"
    );
    assert_eq!(h.state(c), TcpState::Established);
    // Ordinary ACKs (for data) are not limited.
    h.inject(1101, seg("P.").seq(1).ack(1).len(5));
    h.expect(seg(".").seq(1).ack(6));
}

/// RFC 9293 3.10.7.4: an unacceptable data segment (entirely below RCV.NXT, or beyond the
/// window) is answered with an ACK at once; for data this is not rate-limited, for pure ACKs
/// beyond the window it is.
#[test]
fn out_of_window_segments_get_an_ack_pure_acks_rate_limited() {
    let (mut h, c) = established();
    h.inject(10, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(101));
    // Old data, twice in a row: an ACK each time.
    h.inject(20, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(101).any_sack());
    h.inject(30, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(101).any_sack());
    // Pure ACKs far beyond the window: one answer per 500 ms.
    h.inject(40, seg(".").seq(1_000_000).ack(1));
    h.expect(seg(".").seq(1).ack(101));
    h.inject(50, seg(".").seq(1_000_000).ack(1));
    h.expect_nothing();
    h.inject(540, seg(".").seq(1_000_000).ack(1));
    h.expect(seg(".").seq(1).ack(101));
    assert_eq!(h.read(c), Read::Data(peer_data(1, 100)));
}
