//! Unit tests of the TIME_WAIT rules on a record, segment by segment.

use super::*;
use crate::config::StackConfig;
use crate::stats::Counters;

const RCV_NXT: u32 = 5_000;
const SND_NXT: u32 = 90_000;
const TS_RECENT: u32 = 1_000;

/// A record at 10.0.0.1:80 -> 10.0.0.2:40000 with timestamps, a 64 KB window (shift 7), the
/// peer's last TSval 1000 seen at 1 s, ending at 61 s.
fn record() -> TimeWait {
    TimeWait {
        expires: Instant::from_millis(61_000),
        ts_recent_stamp: Instant::from_millis(1_000),
        last_invalid_ack: None,
        timer: None,
        local: "10.0.0.1:80".parse().unwrap(),
        remote: "10.0.0.2:40000".parse().unwrap(),
        next_hop: Ipv4Addr::new(10, 0, 0, 2),
        snd_nxt: SeqNumber(SND_NXT),
        rcv_nxt: SeqNumber(RCV_NXT),
        ts_recent: TS_RECENT,
        ts_offset: 7,
        rcv_wnd: 65_536,
        max_snd_wnd: 30_000,
        iface: IfaceId(0),
        ttl: 0,
        rcv_shift: 7,
        timestamps: true,
        reuseaddr: false,
    }
}

/// A segment from the peer: `flags`, sequence number, ACK number, timestamp value.
fn seg(flags: TcpFlags, seq: u32, ack: Option<u32>, tsval: Option<u32>) -> TcpRepr {
    TcpRepr {
        src_port: 40_000,
        dst_port: 80,
        seq_number: SeqNumber(seq),
        ack_number: ack.map(SeqNumber),
        flags,
        window_len: 1000,
        urgent: 0,
        options: TcpOptions {
            timestamps: tsval.map(|v| (v, 0)),
            ..TcpOptions::default()
        },
        payload_len: 0,
    }
}

/// Runs `seg` (with `payload` bytes) through `tw` at `ms`; returns the verdict and the counters.
fn run(
    tw: &mut TimeWait,
    config: &StackConfig,
    ms: u64,
    seg: &TcpRepr,
    payload: usize,
) -> (TwVerdict, Counters) {
    let mut counters = Counters::default();
    let mut env = Env {
        now: Instant::from_millis(ms),
        config,
        counters: &mut counters,
    };
    let seg = TcpRepr {
        payload_len: payload,
        ..*seg
    };
    let verdict = tw.on_segment(&mut env, &seg, payload);
    (verdict, counters)
}

fn fin_ack() -> TcpFlags {
    TcpFlags::FIN
}

#[test]
#[cfg(target_pointer_width = "64")]
fn a_record_is_80_bytes() {
    assert_eq!(size_of::<TimeWait>(), 80);
    assert_eq!(size_of::<Option<TimerKey>>(), 8);
}

#[test]
fn a_retransmitted_fin_is_acked_and_restarts_the_timer() {
    let config = StackConfig::default();
    let mut tw = record();
    let fin = seg(fin_ack(), RCV_NXT - 1, Some(SND_NXT), Some(TS_RECENT + 500));
    let (v, _) = run(&mut tw, &config, 5_000, &fin, 0);
    assert_eq!(v, TwVerdict::Ack);
    assert_eq!(tw.expires, Instant::from_millis(65_000));
    assert_eq!(tw.ts_recent, TS_RECENT + 500, "TS.Recent follows the peer");
    assert_eq!(tw.ts_recent_stamp, Instant::from_millis(5_000));
    // Not rate-limited: every retransmission is answered.
    let fin = seg(fin_ack(), RCV_NXT - 1, Some(SND_NXT), Some(TS_RECENT + 600));
    assert_eq!(run(&mut tw, &config, 5_100, &fin, 0).0, TwVerdict::Ack);
    assert_eq!(tw.expires, Instant::from_millis(65_100));
}

#[test]
fn the_timer_restart_follows_tcp_timewait_len() {
    let config = StackConfig {
        tcp_timewait_len: 5,
        ..StackConfig::default()
    };
    let mut tw = record();
    let fin = seg(fin_ack(), RCV_NXT - 1, Some(SND_NXT), Some(TS_RECENT + 1));
    assert_eq!(run(&mut tw, &config, 2_000, &fin, 0).0, TwVerdict::Ack);
    assert_eq!(tw.expires, Instant::from_millis(7_000));
}

#[test]
fn a_pure_ack_in_window_is_ignored_and_out_of_window_answered_at_most_every_500_ms() {
    let config = StackConfig::default();
    let mut tw = record();
    let ack = seg(
        TcpFlags::empty(),
        RCV_NXT,
        Some(SND_NXT),
        Some(TS_RECENT + 1),
    );
    assert_eq!(run(&mut tw, &config, 2_000, &ack, 0).0, TwVerdict::Ignore);
    assert_eq!(tw.expires, Instant::from_millis(61_000), "no restart");
    let old = seg(
        TcpFlags::empty(),
        RCV_NXT - 10,
        Some(SND_NXT),
        Some(TS_RECENT + 2),
    );
    assert_eq!(run(&mut tw, &config, 2_000, &old, 0).0, TwVerdict::Ack);
    assert_eq!(run(&mut tw, &config, 2_499, &old, 0).0, TwVerdict::Ignore);
    assert_eq!(run(&mut tw, &config, 2_500, &old, 0).0, TwVerdict::Ack);
    // Beyond the window's right edge.
    let far = seg(
        TcpFlags::empty(),
        RCV_NXT + 65_537,
        Some(SND_NXT),
        Some(TS_RECENT + 3),
    );
    assert_eq!(run(&mut tw, &config, 3_000, &far, 0).0, TwVerdict::Ack);
}

#[test]
fn data_is_acked_in_window_and_out() {
    let config = StackConfig::default();
    let mut tw = record();
    let data = seg(TcpFlags::PSH, RCV_NXT, Some(SND_NXT), Some(TS_RECENT + 1));
    assert_eq!(run(&mut tw, &config, 2_000, &data, 100).0, TwVerdict::Ack);
    let old = seg(
        TcpFlags::PSH,
        RCV_NXT - 200,
        Some(SND_NXT),
        Some(TS_RECENT + 1),
    );
    assert_eq!(run(&mut tw, &config, 2_001, &old, 100).0, TwVerdict::Ack);
    assert_eq!(
        tw.expires,
        Instant::from_millis(61_000),
        "only a FIN restarts"
    );
}

#[test]
fn a_rst_at_rcv_nxt_ends_time_wait_unless_rfc_1337() {
    let mut config = StackConfig::default();
    let rst = seg(TcpFlags::RST, RCV_NXT, None, None);
    assert_eq!(
        run(&mut record(), &config, 2_000, &rst, 0).0,
        TwVerdict::Kill
    );
    config.tcp_rfc1337 = true;
    assert_eq!(
        run(&mut record(), &config, 2_000, &rst, 0).0,
        TwVerdict::Ignore
    );
}

#[test]
fn a_rst_elsewhere_gets_a_challenge_ack_in_window_and_nothing_outside() {
    let config = StackConfig::default();
    let mut tw = record();
    let rst = seg(TcpFlags::RST, RCV_NXT + 100, None, None);
    let (v, counters) = run(&mut tw, &config, 2_000, &rst, 0);
    assert_eq!(v, TwVerdict::Ack);
    assert_eq!(counters.get(Counter::TcpExtTCPChallengeACK), 1);
    let rst = seg(TcpFlags::RST, RCV_NXT - 100, None, None);
    assert_eq!(run(&mut tw, &config, 3_000, &rst, 0).0, TwVerdict::Ignore);
}

#[test]
fn a_new_syn_above_rcv_nxt_reopens_with_an_isn_beyond_the_old_connection() {
    let config = StackConfig::default();
    let syn = seg(TcpFlags::SYN, RCV_NXT + 1_000, None, Some(TS_RECENT + 5));
    let (v, _) = run(&mut record(), &config, 2_000, &syn, 0);
    assert_eq!(v, TwVerdict::Reopen(SeqNumber(SND_NXT + 65_537)));
    // Without timestamps too.
    let mut tw = record();
    tw.timestamps = false;
    let syn = seg(TcpFlags::SYN, RCV_NXT + 1, None, None);
    assert!(matches!(
        run(&mut tw, &config, 2_000, &syn, 0).0,
        TwVerdict::Reopen(_)
    ));
}

#[test]
fn a_syn_below_rcv_nxt_reopens_only_with_a_newer_timestamp() {
    let config = StackConfig::default();
    let below = RCV_NXT - 1_000;
    let newer = seg(TcpFlags::SYN, below, None, Some(TS_RECENT + 1));
    assert!(matches!(
        run(&mut record(), &config, 2_000, &newer, 0).0,
        TwVerdict::Reopen(_)
    ));
    // An older timestamp: an old duplicate, rejected by PAWS and answered with an ACK.
    let older = seg(TcpFlags::SYN, below, None, Some(TS_RECENT - 1));
    let (v, counters) = run(&mut record(), &config, 2_000, &older, 0);
    assert_eq!(v, TwVerdict::Ack);
    assert_eq!(counters.get(Counter::TcpExtPAWSEstab), 1);
    // The same timestamp, or none: a challenge ACK (RFC 5961 section 4).
    for ts in [Some(TS_RECENT), None] {
        let syn = seg(TcpFlags::SYN, below, None, ts);
        let (v, counters) = run(&mut record(), &config, 2_000, &syn, 0);
        assert_eq!(v, TwVerdict::Ack, "{ts:?}");
        assert_eq!(counters.get(Counter::TcpExtTCPSYNChallenge), 1);
        assert_eq!(counters.get(Counter::TcpExtTCPChallengeACK), 1);
    }
}

#[test]
fn a_syn_with_an_ack_or_rejected_by_paws_never_reopens() {
    let config = StackConfig::default();
    let synack = seg(
        TcpFlags::SYN,
        RCV_NXT + 10,
        Some(SND_NXT),
        Some(TS_RECENT + 5),
    );
    assert_eq!(
        run(&mut record(), &config, 2_000, &synack, 0).0,
        TwVerdict::Ack
    );
    let old_ts = seg(TcpFlags::SYN, RCV_NXT + 10, None, Some(TS_RECENT - 5));
    let (v, counters) = run(&mut record(), &config, 2_000, &old_ts, 0);
    assert_eq!(v, TwVerdict::Ack);
    assert_eq!(counters.get(Counter::TcpExtPAWSEstab), 1);
}

#[test]
fn paws_rejects_old_timestamps_until_ts_recent_is_24_days_old() {
    let config = StackConfig::default();
    let mut tw = record();
    let data = seg(TcpFlags::PSH, RCV_NXT, Some(SND_NXT), Some(TS_RECENT - 1));
    let (v, counters) = run(&mut tw, &config, 2_000, &data, 10);
    assert_eq!(v, TwVerdict::Ack);
    assert_eq!(counters.get(Counter::TcpExtPAWSEstab), 1);
    assert_eq!(tw.ts_recent, TS_RECENT, "not taken from a rejected segment");
    // Rate-limited: the next rejected one gets nothing.
    assert_eq!(run(&mut tw, &config, 2_100, &data, 10).0, TwVerdict::Ignore);
    // A RST is exempt.
    let rst = seg(TcpFlags::RST, RCV_NXT, None, Some(TS_RECENT - 1));
    assert_eq!(
        run(&mut record(), &config, 2_000, &rst, 0).0,
        TwVerdict::Kill
    );
    // A TS.Recent idle for 24 days no longer counts.
    let days = 24 * 24 * 3600 * 1000;
    let (v, counters) = run(&mut record(), &config, 1_000 + days, &data, 10);
    assert_eq!(
        (v, counters.get(Counter::TcpExtPAWSEstab)),
        (TwVerdict::Ack, 0)
    );
}

#[test]
fn acks_of_unsent_or_ancient_data_are_answered() {
    let config = StackConfig::default();
    let ahead = seg(
        TcpFlags::empty(),
        RCV_NXT,
        Some(SND_NXT + 1),
        Some(TS_RECENT),
    );
    let (v, counters) = run(&mut record(), &config, 2_000, &ahead, 0);
    assert_eq!(v, TwVerdict::Ack);
    assert_eq!(counters.get(Counter::TcpExtTCPChallengeACK), 0);
    let ancient = seg(
        TcpFlags::empty(),
        RCV_NXT,
        Some(SND_NXT - 40_000),
        Some(TS_RECENT),
    );
    let (v, counters) = run(&mut record(), &config, 2_000, &ancient, 0);
    assert_eq!(v, TwVerdict::Ack);
    assert_eq!(counters.get(Counter::TcpExtTCPChallengeACK), 1);
    // Within the peer's largest window: fine.
    let recent = seg(
        TcpFlags::empty(),
        RCV_NXT,
        Some(SND_NXT - 20_000),
        Some(TS_RECENT),
    );
    assert_eq!(
        run(&mut record(), &config, 2_000, &recent, 0).0,
        TwVerdict::Ignore
    );
    // No ACK flag at all: dropped.
    let bare = seg(TcpFlags::empty(), RCV_NXT, None, Some(TS_RECENT));
    assert_eq!(
        run(&mut record(), &config, 2_000, &bare, 0).0,
        TwVerdict::Ignore
    );
}

#[test]
fn the_ack_carries_both_sequence_spaces_the_window_and_timestamps() {
    let mut tw = record();
    let ack = tw.ack(Instant::from_millis(3_000));
    assert_eq!(ack.seq_number, SeqNumber(SND_NXT));
    assert_eq!(ack.ack_number, Some(SeqNumber(RCV_NXT)));
    assert_eq!(ack.window_len, 512, "65,536 bytes at shift 7");
    assert_eq!(ack.options.timestamps, Some((3_007, TS_RECENT)));
    assert_eq!((ack.src_port, ack.dst_port), (80, 40_000));
    assert_eq!(ack.flags, TcpFlags::empty());
    tw.timestamps = false;
    tw.rcv_shift = 0;
    let ack = tw.ack(Instant::from_millis(3_000));
    assert_eq!(ack.options.timestamps, None);
    assert_eq!(ack.window_len, u16::MAX, "clamped to the field");
}

#[test]
fn the_reopening_isn_is_never_zero() {
    let config = StackConfig::default();
    let mut tw = record();
    tw.snd_nxt = SeqNumber(0u32.wrapping_sub(65_537));
    let syn = seg(TcpFlags::SYN, RCV_NXT + 1, None, Some(TS_RECENT + 1));
    assert_eq!(
        run(&mut tw, &config, 2_000, &syn, 0).0,
        TwVerdict::Reopen(SeqNumber(1))
    );
}
