//! Scripted-segment tests of timestamps (RFC 7323: the TSval clock, the TS.Recent echo rules,
//! PAWS), keepalive (RFC 1122 4.2.3.6 with Linux's sysctls), checksums (RFC 9293 3.1), and of
//! the harness itself: that its expectations can fail.

mod script;

use script::{PEER_TS_BASE, PeerOpts, Read, Script, peer_data, seg};
use sockeye_netstack::{Counter, StackConfig, TcpState};
use std::io::ErrorKind;

// ------------------------------------------------------------------------------ timestamps

/// RFC 7323 5.4: the TSval clock ticks between once per millisecond and once per second and
/// never goes backwards; here it is milliseconds (the SYN's retransmission is 1000 ticks on).
#[test]
fn tsval_ticks_in_milliseconds() {
    let mut h = Script::new();
    h.connect(0);
    let first = h.expect(seg("S").seq(0).ts_ecr(0));
    let again = h.expect_at(1000, seg("S").seq(0).ts_ecr(0));
    let (a, b) = (first.ts.unwrap().0, again.ts.unwrap().0);
    assert_eq!(b.wrapping_sub(a), 1000);
}

/// RFC 7323 4.3: TS.Recent takes the TSval of a segment only if it starts at or before
/// Last.ACK.sent, so an out-of-order segment's (newer) TSval is not echoed, and the segment that
/// fills the hole is: the sender's RTT measurement then covers the repair.
#[test]
fn tsecr_follows_the_ts_recent_rules_for_out_of_order_data() {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.inject(10, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(101).ts_ecr(PEER_TS_BASE + 10));
    h.inject(30, seg("P.").seq(201).ack(1).len(100));
    h.expect(
        seg(".")
            .seq(1)
            .ack(101)
            .sack(&[(201, 301)])
            .ts_ecr(PEER_TS_BASE + 10),
    );
    h.inject(50, seg("P.").seq(101).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(301).ts_ecr(PEER_TS_BASE + 50));
    assert_eq!(h.read(c), Read::Data(peer_data(1, 300)));
}

/// RFC 7323 5.3 (PAWS, R1): a segment whose TSval is older than TS.Recent is not acceptable:
/// it is answered with an ACK and dropped, data included (Linux counts `PAWSEstab`). This is
/// what protects a fast connection from old duplicates after the sequence numbers wrap.
#[test]
fn paws_drops_a_segment_with_an_old_timestamp() {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.inject(1000, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(101).ts_ecr(PEER_TS_BASE + 1000));
    // An old duplicate of later data: in the window, but its TSval is 500 ms in the past.
    h.inject(
        1010,
        seg("P.").seq(101).ack(1).len(100).ts(PEER_TS_BASE + 500, 0),
    );
    h.expect(seg(".").seq(1).ack(101).ts_ecr(PEER_TS_BASE + 1000));
    assert_eq!(h.read(c), Read::Data(peer_data(1, 100)));
    assert_eq!(h.counter(Counter::TcpExtPAWSEstab), 1);
    // The real segment, with a current TSval, is taken.
    h.inject(1020, seg("P.").seq(101).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(201));
}

/// RFC 7323 5.3 and Linux's `tcp_validate_incoming`: "Reset is accepted even if it did not
/// pass PAWS".
#[test]
fn paws_lets_a_reset_with_an_old_timestamp_through() {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.inject(1000, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(101));
    h.inject(1010, seg("R").seq(101).ts(PEER_TS_BASE + 500, 0));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.counter(Counter::TcpExtPAWSEstab), 0);
}

/// Linux's `tcp_disordered_ack`: a duplicate ACK overtaken by a later segment (an older TSval,
/// nothing new in it) is not a PAWS failure: no duplicate ACK answers it.
#[test]
fn paws_lets_a_reordered_duplicate_ack_through() {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.inject(1000, seg("P.").seq(1).ack(1).len(100));
    h.expect(seg(".").seq(1).ack(101));
    h.inject(1010, seg(".").seq(101).ack(1).ts(PEER_TS_BASE + 990, 0));
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpExtPAWSEstab), 0);
    assert_eq!(h.read(c), Read::Data(peer_data(1, 100)));
}

/// RFC 7323 5.5: a `TS.Recent` idle for more than 24 days is forgotten (the peer's clock may
/// have wrapped its sign bit since), so an "old" TSval is taken.
#[test]
fn paws_forgets_a_timestamp_idle_for_24_days() {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.inject(
        1000,
        seg("P.").seq(1).ack(1).len(100).ts(PEER_TS_BASE + 1000, 0),
    );
    h.expect(seg(".").seq(1).ack(101));
    // 24 days and an hour: still under 2^31 ms, so our own TSval has not wrapped its sign.
    let later = (24 * 24 + 1) * 3600 * 1000;
    h.inject(
        later,
        seg("P.").seq(101).ack(1).len(100).ts(PEER_TS_BASE + 10, 0),
    );
    h.expect(seg(".").seq(1).ack(201));
    assert_eq!(h.counter(Counter::TcpExtPAWSEstab), 0);
    assert_eq!(h.read(c), Read::Data(peer_data(1, 200)));
}

// ------------------------------------------------------------------------------- keepalive

fn keepalive_config() -> StackConfig {
    StackConfig {
        tcp_keepalive_time: 10,
        tcp_keepalive_intvl: 2,
        tcp_keepalive_probes: 3,
        ..StackConfig::default()
    }
}

/// RFC 1122 4.2.3.6 with Linux's probe: after `tcp_keepalive_time` of silence an ACK with
/// SEQ = SND.UNA - 1 and no data; an answer restarts the idle period.
#[test]
fn keepalive_probes_an_idle_connection_and_an_answer_restarts_the_idle_time() {
    let mut h = Script::with_config(keepalive_config());
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.stack.tcp_set_keepalive(c, true).unwrap();
    h.flush();
    h.take_sent();
    h.expect_nothing_until(9_999);
    h.expect_at(10_000, seg(".").seq(0).ack(1).len(0));
    h.inject(10_005, seg(".").seq(1).ack(1));
    h.expect_nothing_until(20_004);
    h.expect_at(20_005, seg(".").seq(0).ack(1).len(0));
    assert_eq!(h.counter(Counter::TcpExtTCPKeepAlive), 2);
    assert_eq!(h.state(c), TcpState::Established);
}

/// Linux's `tcp_keepalive_probes`: unanswered probes every `tcp_keepalive_intvl`; when the
/// last one goes unanswered too, a RST and `TimedOut`.
#[test]
fn unanswered_keepalive_probes_reset_the_connection() {
    let mut h = Script::with_config(keepalive_config());
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.stack.tcp_set_keepalive(c, true).unwrap();
    h.flush();
    h.take_sent();
    for at in [10_000, 12_000, 14_000] {
        h.expect_at(at, seg(".").seq(0).ack(1).len(0));
    }
    h.expect_at(16_000, seg("R.").seq(1).ack(1));
    h.expect_nothing();
    assert_eq!(h.state(c), TcpState::Closed);
    assert_eq!(h.read(c), Read::Error(ErrorKind::TimedOut));
}

// --------------------------------------------------------------------------- robustness

/// RFC 9293 3.1: a segment whose checksum is wrong is discarded (and counted as
/// `TcpInCsumErrors`); nothing answers it, not even a RST.
#[test]
fn segment_with_a_bad_checksum_is_discarded() {
    let mut h = Script::new();
    let l = h.listen(script::LISTEN_PORT);
    let mut frame = h.build(&seg("S").seq(0).with_opts(PeerOpts::FULL));
    // The TCP checksum sits 16 bytes into the TCP header (14 Ethernet + 20 IPv4 before it).
    frame[14 + 20 + 16] ^= 0x40;
    h.inject_frame(&frame);
    h.expect_nothing();
    assert_eq!(h.counter(Counter::TcpInCsumErrors), 1);
    assert_eq!(h.stack.tcp_listener_queues(l).unwrap(), (0, 0));
    // The same segment intact is taken.
    let frame = h.build(&seg("S").seq(0).with_opts(PeerOpts::FULL));
    h.inject_frame(&frame);
    h.expect(seg("S.").seq(0).ack(1));
}

// ------------------------------------------------------------------ the harness can fail

/// The matcher rejects a segment that differs from the expectation (here: the ACK number).
#[test]
#[should_panic(expected = "ack: want 2, got 1")]
fn harness_rejects_a_wrong_ack_number() {
    let mut h = Script::new();
    h.connect(0);
    h.expect(seg("S").seq(0));
    h.inject(1, seg("S.").seq(0).ack(1).with_opts(PeerOpts::FULL));
    h.expect(seg(".").seq(1).ack(2));
}

/// `expect_nothing` fails when the stack sent something.
#[test]
#[should_panic(expected = "expected nothing, but the stack sent")]
fn harness_rejects_an_unexpected_segment() {
    let mut h = Script::new();
    h.connect(0);
    h.expect_nothing();
}

/// `expect_at` fails when the segment leaves at another time (the SYN's first retransmission
/// is at 1000 ms, not 900 ms).
#[test]
#[should_panic(expected = "the stack sent nothing")]
fn harness_rejects_a_wrong_time() {
    let mut h = Script::new();
    h.connect(0);
    h.expect(seg("S").seq(0));
    h.expect_at(900, seg("S").seq(0));
}

/// Options are compared: the SYN announces MSS 1460, not 1400.
#[test]
#[should_panic(expected = "mss: want Is(1400), got Some(1460)")]
fn harness_rejects_a_wrong_option() {
    let mut h = Script::new();
    h.connect(0);
    h.expect(seg("S").seq(0).mss(1400));
}
