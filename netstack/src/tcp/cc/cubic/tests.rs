//! CUBIC's window trajectory on scripted ACK sequences, checked against RFC 9438's formulas
//! computed here independently (with the RFC's constants written out, not the module's).

use std::time::Duration;

use super::super::{Algo, Congestion, CongestionControl};
use super::{Cubic, State};
use crate::time::Instant;

const MSS: usize = 1000;
const SEG: f64 = MSS as f64;
const RTT: Duration = Duration::from_millis(100);

fn cubic(cc: &Congestion) -> &Cubic {
    match &cc.algo {
        Algo::Cubic(c) => c,
        Algo::Reno(_) => panic!("not CUBIC"),
    }
}

fn state(cc: &Congestion) -> State {
    cubic(cc).s
}

fn at(secs: f64) -> Instant {
    Instant::from_micros((secs * 1e6).round() as u64)
}

fn secs(t: Instant) -> f64 {
    t.total_micros() as f64 / 1e6
}

/// A window of `w_max` segments met a loss with all of it in flight; fast recovery ended with
/// the window at the new threshold. `rtt` is the smoothed RTT.
fn after_loss(w_max: usize, rtt: Duration) -> Congestion {
    let mut cc = Congestion::new(CongestionControl::Cubic, w_max as u32, MSS);
    cc.on_rtt(rtt, rtt);
    cc.enter_fast_recovery(Instant::ZERO, w_max * MSS, MSS);
    cc.exit_fast_recovery(w_max * MSS, MSS);
    cc
}

/// The ACK clock of a sender that keeps its window full: round trips of `rtt`, each
/// acknowledging the window it began with, one segment per ACK (the last takes the remainder),
/// ACKs evenly spaced; the first ACK is at `*now`. Stops before the first ACK at or after
/// `until`, leaving `*now` there.
fn run(cc: &mut Congestion, now: &mut Instant, until: Instant, rtt: Duration) {
    while *now < until {
        let window = cc.cwnd();
        let acks = window.div_ceil(MSS);
        let gap = rtt / acks as u32;
        let mut left = window;
        while left > 0 {
            if *now >= until {
                return;
            }
            let acked = left.min(MSS);
            cc.on_ack(*now, acked, MSS, true);
            left -= acked;
            *now += gap;
        }
    }
}

/// `W_cubic(t)` in segments, straight from RFC 9438 figure 1.
fn w_cubic(t: f64, k: f64, w_max: f64) -> f64 {
    0.4 * (t - k).powi(3) + w_max
}

/// How far the window may trail or lead the curve at `t`: it chases `W_cubic(t + RTT)` one
/// round trip at a time, so by the curve's slope over one RTT, plus a segment of rounding.
fn slack(t: f64, k: f64, rtt: Duration) -> f64 {
    1.0 + 3.0 * 0.4 * (t - k).powi(2) * rtt.as_secs_f64()
}

#[test]
fn loss_cuts_to_beta_and_the_window_follows_the_cubic_curve() {
    // 1000 segments and a 100 ms RTT: the curve is well above Reno's estimate throughout
    // (W_est needs 57 s to climb back, the curve 9 s).
    let mut cc = after_loss(1000, RTT);
    assert_eq!(cc.ssthresh(), 700 * MSS, "beta_cubic = 0.7");
    assert_eq!(cc.cwnd(), 700 * MSS);
    // K = cbrt(W_max (1 - beta) / C) = cbrt(750) s: the time to climb back to W_max.
    let k = (1000.0 * (1.0 - 0.7) / 0.4_f64).cbrt();
    let mut now = Instant::ZERO;
    run(
        &mut cc,
        &mut now,
        Instant::ZERO + Duration::from_micros(1),
        RTT,
    );
    assert!((cubic(&cc).k().unwrap() - k).abs() < 1e-9);
    assert_eq!(cubic(&cc).w_max(), 1000.0 * SEG);
    // Concave below W_max, the plateau at K, convex beyond it.
    for t in [
        0.5,
        1.0,
        2.0,
        4.0,
        6.0,
        8.0,
        k,
        k + 1.0,
        k + 2.0,
        k + 3.0,
        k + 5.0,
    ] {
        run(&mut cc, &mut now, at(t), RTT);
        let t = secs(now);
        let got = cc.cwnd() as f64 / SEG;
        let want = w_cubic(t, k, 1000.0);
        assert!(
            (got - want).abs() <= slack(t, k, RTT),
            "t = {t:.3} s: cwnd {got:.2} segments, W_cubic {want:.2}"
        );
    }
    // At K + 5 s the curve is 50 segments above W_max: W_max + 0.4 * 125.
    assert!(cc.cwnd() > 1045 * MSS);
}

#[test]
fn the_plateau_is_flat_around_w_max() {
    // 100 segments: K = cbrt(75) = 4.2 s, when Reno's estimate is still at 92 segments.
    let mut cc = after_loss(100, RTT);
    let k = (75.0_f64).cbrt();
    let mut now = Instant::ZERO;
    run(&mut cc, &mut now, at(k - 0.5), RTT);
    let before = cc.cwnd();
    run(&mut cc, &mut now, at(k + 0.5), RTT);
    let after = cc.cwnd();
    // W_cubic(K + 0.5 + RTT) - W_cubic(K - 0.5 + RTT) = 0.4 (0.6^3 + 0.4^3) = 0.112 segments.
    assert!(after - before <= 2 * MSS, "{before} -> {after}");
    assert!(
        before >= 99 * MSS && after <= 102 * MSS,
        "{before} -> {after}"
    );
}

#[test]
fn fast_convergence_lowers_w_max_when_losing_ground() {
    let mut cc = after_loss(1000, RTT);
    let mut now = Instant::ZERO;
    run(&mut cc, &mut now, at(2.0), RTT);
    // A second loss before the window regained the old W_max (1000 segments).
    let c2 = cc.cwnd() as f64 / SEG;
    assert!(c2 < 900.0, "{c2}");
    cc.enter_fast_recovery(now, cc.cwnd(), MSS);
    let ssthresh = cc.ssthresh();
    cc.exit_fast_recovery(ssthresh, MSS);
    // W_max = cwnd (1 + beta) / 2, not cwnd.
    let w_max = c2 * (1.0 + 0.7) / 2.0;
    assert!((cubic(&cc).w_max() / SEG - w_max).abs() < 1e-9);
    assert!(((ssthresh as f64) / SEG - 0.7 * c2).abs() < 0.01);
    // The new curve's plateau is at that lower W_max, K = cbrt((W_max - cwnd_epoch) / C).
    let epoch = now;
    let k = ((w_max - ssthresh as f64 / SEG) / 0.4).cbrt();
    run(&mut cc, &mut now, epoch + Duration::from_secs_f64(k), RTT);
    let got = cc.cwnd() as f64 / SEG;
    assert!(
        (got - w_max).abs() <= 1.0,
        "cwnd {got:.2} at K, W_max {w_max:.2}"
    );
    assert!(got < c2 - 50.0, "released bandwidth: {got:.2} vs {c2:.2}");
}

#[test]
fn the_reno_friendly_region_dominates_at_small_rtt_and_window() {
    // 20 segments and a 10 ms RTT: K = cbrt(15) = 2.47 s, far longer than Reno's
    // one segment per round trip needs.
    let rtt = Duration::from_millis(10);
    let mut cc = after_loss(20, rtt);
    assert_eq!(cc.cwnd(), 14 * MSS);
    let alpha = 3.0 * (1.0 - 0.7) / (1.0 + 0.7);
    // W_est grows by alpha per round trip up to cwnd_prior (20), then by 1.
    let switch = (20.0 - 14.0) / alpha;
    let w_est = |rounds: f64| {
        if rounds <= switch {
            14.0 + alpha * rounds
        } else {
            20.0 + (rounds - switch)
        }
    };
    let k = (15.0_f64).cbrt();
    let mut now = Instant::ZERO;
    for rounds in [5.0, 10.0, 20.0, 50.0, 100.0] {
        run(&mut cc, &mut now, at(rounds * 0.01), rtt);
        let rounds = secs(now) / 0.01;
        let got = cc.cwnd() as f64 / SEG;
        let want = w_est(rounds);
        assert!(
            (got - want).abs() <= 1.0 + 0.02 * want,
            "after {rounds:.1} round trips: cwnd {got:.2}, W_est {want:.2}"
        );
        assert!(want > w_cubic(secs(now), k, 20.0));
    }
}

#[test]
fn growth_per_window_is_clamped_to_one_and_a_half() {
    // W_max 1000 segments, but the window is tiny after the loss: the curve is far above.
    let mut cc = Congestion::new(CongestionControl::Cubic, 1000, MSS);
    cc.on_rtt(RTT, RTT);
    cc.enter_fast_recovery(Instant::ZERO, 14 * MSS, MSS);
    cc.exit_fast_recovery(9 * MSS, MSS);
    assert_eq!(cc.cwnd(), 9800);
    cc.on_ack(Instant::ZERO, MSS, MSS, true);
    let before = cc.cwnd();
    cc.on_ack(at(30.0), before, MSS, true);
    let want = before as f64 * 1.5;
    assert!(
        (cc.cwnd() as f64 - want).abs() <= 1.0,
        "{before} -> {}",
        cc.cwnd()
    );
}

#[test]
fn after_a_timeout_the_curve_starts_at_the_window_with_k_zero() {
    let mut cc = Congestion::new(CongestionControl::Cubic, 100, MSS);
    cc.on_rtt(RTT, RTT);
    cc.on_rto(Instant::ZERO, 100 * MSS, MSS, true);
    assert_eq!((cc.ssthresh(), cc.cwnd()), (70 * MSS, MSS));
    let mut now = Instant::ZERO;
    // Slow start back to ssthresh, then the first avoidance epoch begins.
    while cubic(&cc).k().is_none() {
        let until = now + RTT;
        run(&mut cc, &mut now, until, RTT);
    }
    assert!(now < at(1.0), "slow start took {now:?}");
    assert_eq!(cubic(&cc).k(), Some(0.0));
    assert_eq!(cubic(&cc).w_max(), 70.0 * SEG, "W_max = cwnd_epoch");
    let start = cubic(&cc).s.epoch.unwrap().start;
    let alpha = 3.0 * (1.0 - 0.7) / (1.0 + 0.7);
    // Early on Reno's estimate (from cwnd_epoch, alpha per round trip) is ahead of the curve.
    run(&mut cc, &mut now, start + Duration::from_secs(2), RTT);
    let t = secs(now) - secs(start);
    let reno = 70.0 + alpha * t / RTT.as_secs_f64();
    assert!(reno > w_cubic(t, 0.0, 70.0));
    let got = cc.cwnd() as f64 / SEG;
    assert!(
        (got - reno).abs() <= 1.5,
        "t = {t:.2}: cwnd {got:.2}, W_est {reno:.2}"
    );
    // Later the convex curve W_max + C t^3 takes over.
    for s in [5.0, 6.0] {
        run(&mut cc, &mut now, start + Duration::from_secs_f64(s), RTT);
        let t = secs(now) - secs(start);
        let got = cc.cwnd() as f64 / SEG;
        let want = w_cubic(t, 0.0, 70.0);
        assert!(
            (got - want).abs() <= slack(t, 0.0, RTT),
            "t = {t:.2}: cwnd {got:.2}, W_cubic {want:.2}"
        );
    }
}

#[test]
fn undo_restores_the_state_before_a_spurious_loss() {
    let mut cc = after_loss(100, RTT);
    let mut now = Instant::ZERO;
    run(&mut cc, &mut now, at(2.0), RTT);
    let mut untouched = cc.clone();
    cc.enter_fast_recovery(now, cc.cwnd(), MSS);
    cc.recovery_dupack(MSS);
    cc.exit_fast_recovery(cc.ssthresh(), MSS);
    assert!(cc.cwnd() < untouched.cwnd());
    assert!(cc.undo());
    assert!(!cc.undo(), "one reduction, one undo");
    assert_eq!(cc.cwnd(), untouched.cwnd());
    assert_eq!(cc.ssthresh(), untouched.ssthresh());
    assert_eq!(state(&cc), state(&untouched));
    // And what follows is what would have followed without the reduction.
    let mut later = now;
    run(&mut cc, &mut now, at(6.0), RTT);
    run(&mut untouched, &mut later, at(6.0), RTT);
    assert_eq!(cc.cwnd(), untouched.cwnd());
}

#[test]
fn idle_time_does_not_count_in_the_epoch_and_a_restart_ends_it() {
    let mut cc = after_loss(100, RTT);
    let mut now = Instant::ZERO;
    run(&mut cc, &mut now, at(1.0), RTT);
    let start = cubic(&cc).s.epoch.unwrap().start;
    // Idle for 150 ms, shorter than the RTO: the curve resumes where it was.
    cc.restart_after_idle(Duration::from_millis(150), false, 10, MSS);
    assert_eq!(
        cubic(&cc).s.epoch.unwrap().start,
        start + Duration::from_millis(150)
    );
    // Idle longer than the RTO: the window restarts and so does the epoch.
    let cwnd = cc.cwnd();
    assert!(cc.restart_after_idle(Duration::from_secs(3), true, 10, MSS));
    assert_eq!(cc.cwnd(), 10 * MSS);
    assert_eq!(cc.ssthresh(), (70 * MSS).max(cwnd / 4 * 3));
    assert!(cubic(&cc).s.epoch.is_none());
    // W_max is kept: the next epoch's curve aims for it again.
    assert_eq!(cubic(&cc).w_max(), 100.0 * SEG);
}
