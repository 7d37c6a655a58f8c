//! HyStart++ (RFC 9406) end to end on the deterministic simulator: a bulk transfer into a
//! 20 Mbit/s bottleneck with a 40 ms RTT and a deep queue (600 frames, about nine times the
//! path's bandwidth-delay product of 67 segments: a bufferbloated link).
//!
//! Without HyStart++ the initial slow start doubles the window until the queue overflows and
//! a whole window's worth of segments is lost. With it, the queueing delay the sender sees
//! grow ends slow start first (`TCPHystartDelayDetect`), CSS and then congestion avoidance
//! take over, and the queue never overflows. The numbers are printed; the test asserts the
//! detection, that it came before any loss, and the losses.

mod support;

use std::time::Duration;

use sockeye_netstack::sim::{LinkConfig, Outcome, Sim};
use sockeye_netstack::{Counter, Instant, StackConfig};
use support::{Transfer, payload};

#[derive(Debug)]
struct Run {
    time: Duration,
    retrans_segs: u64,
    lost: u64,
    detections: u64,
    detect_cwnd: u64,
    /// `TCPDelivered`: segments the peer acknowledged.
    delivered: u64,
    /// `TcpRetransSegs` when HyStart++ detected the delay increase, if it did.
    retrans_at_detection: Option<u64>,
}

fn transfer(cc: &str, hystart: bool) -> Run {
    let mut config = StackConfig::default();
    config.set("tcp_congestion_control", cc).unwrap();
    config
        .set("tcp_hystart", if hystart { "1" } else { "0" })
        .unwrap();
    config.set("tcp_wmem", "4096 4194304 8388608").unwrap();
    config.set("tcp_rmem", "4096 4194304 8388608").unwrap();
    let link = LinkConfig {
        delay: Duration::from_millis(20),
        rate_bps: Some(20_000_000),
        queue_limit: 600,
        ..LinkConfig::default()
    };
    let mut sim = Sim::new(2, &config, link, 3);
    let data = payload(3, 8 << 20);
    let mut t = Transfer::start(&mut sim, data.clone(), Vec::new());
    t.chunk = 256 * 1024;
    let mut retrans_at_detection = None;
    let outcome = sim.run(Instant::from_millis(120_000), |s| {
        let c = s.stacks[0].counters();
        if retrans_at_detection.is_none() && c.get(Counter::TcpExtTCPHystartDelayDetect) > 0 {
            retrans_at_detection = Some(c.get(Counter::TcpRetransSegs));
        }
        t.step(s)
    });
    assert_eq!(outcome, Outcome::Done, "{cc} hystart={hystart}");
    assert!(t.server.received == data, "bytes differ");
    let c = sim.stacks[0].counters();
    Run {
        time: sim.now - Instant::ZERO,
        retrans_segs: c.get(Counter::TcpRetransSegs),
        lost: sim.stats.queue_drops,
        detections: c.get(Counter::TcpExtTCPHystartDelayDetect),
        detect_cwnd: c.get(Counter::TcpExtTCPHystartDelayCwnd),
        delivered: c.get(Counter::TcpExtTCPDelivered),
        retrans_at_detection,
    }
}

#[test]
fn hystart_leaves_slow_start_before_the_queue_overflows() {
    for cc in ["cubic", "reno"] {
        let with = transfer(cc, true);
        let without = transfer(cc, false);
        eprintln!("{cc} with HyStart++: {with:?}");
        eprintln!("{cc} without:       {without:?}");
        assert_eq!(
            with.detections, 1,
            "{cc}: one detection, in the initial slow start"
        );
        assert_eq!(with.retrans_at_detection, Some(0), "{cc}: before any loss");
        // The BDP is about 67 segments and the queue 600: the exit comes in between.
        assert!(
            (67..=667).contains(&with.detect_cwnd),
            "{cc}: window at detection {} segments",
            with.detect_cwnd
        );
        // 8 MiB in segments of at most 1460 bytes: TCPDelivered counts segments, as Linux's.
        let segments = (8u64 << 20).div_ceil(1460);
        assert!(
            (segments..segments + 64).contains(&with.delivered),
            "{cc}: {} segments delivered",
            with.delivered
        );
        assert_eq!(without.detections, 0);
        assert!(
            without.lost > 0,
            "{cc}: slow start alone overflows the queue"
        );
        assert_eq!(
            (with.lost, with.retrans_segs),
            (0, 0),
            "{cc}: nothing lost or resent with HyStart++"
        );
        assert!(without.retrans_segs > 0);
        assert!(with.time < without.time, "{cc}: and it finishes sooner");
    }
}
