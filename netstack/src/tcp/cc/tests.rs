//! The rules every algorithm shares: selection, the restart window after idle, undo, and no
//! growth while the window does not limit the sender.

use std::time::Duration;

use super::{Congestion, CongestionControl};
use crate::time::Instant;

const MSS: usize = 1000;

#[test]
fn algorithms_are_selected_by_linux_name() {
    for (which, name) in [
        (CongestionControl::Reno, "reno"),
        (CongestionControl::Cubic, "cubic"),
    ] {
        let cc = Congestion::new(which, 10, MSS);
        assert_eq!(cc.name(), name);
        assert_eq!(cc.algorithm(), which);
        assert_eq!(CongestionControl::from_name(name), Some(which));
        assert_eq!((cc.cwnd(), cc.ssthresh()), (10 * MSS, usize::MAX));
    }
    assert_eq!(
        CongestionControl::from_name("newreno"),
        Some(CongestionControl::Reno)
    );
    assert_eq!(CongestionControl::from_name("bbr"), None);
    assert_eq!(CongestionControl::default(), CongestionControl::Cubic);
}

#[test]
fn switching_algorithm_keeps_the_window() {
    let mut cc = Congestion::new(CongestionControl::Reno, 40, MSS);
    cc.enter_fast_recovery(Instant::ZERO, 40 * MSS, MSS);
    cc.exit_fast_recovery(20 * MSS, MSS);
    cc.set_algorithm(CongestionControl::Cubic);
    assert_eq!(cc.name(), "cubic");
    assert_eq!((cc.cwnd(), cc.ssthresh()), (20 * MSS, 20 * MSS));
    // Nothing to undo across a switch.
    assert!(!cc.undo());
}

#[test]
fn idle_longer_than_the_rto_restarts_from_the_initial_window() {
    for which in [CongestionControl::Reno, CongestionControl::Cubic] {
        let mut cc = Congestion::new(which, 10, MSS);
        for _ in 0..20 {
            cc.on_ack(Instant::ZERO, 2 * MSS, MSS, true);
        }
        assert_eq!(cc.cwnd(), 50 * MSS);
        // Shorter than the RTO (the connection decides): nothing changes.
        assert!(!cc.restart_after_idle(Duration::from_millis(100), false, 10, MSS));
        assert_eq!(cc.cwnd(), 50 * MSS);
        // Longer: RW = min(IW, cwnd); ssthresh keeps 3/4 of the old window (it was infinite).
        assert!(cc.restart_after_idle(Duration::from_secs(5), true, 10, MSS));
        assert_eq!((cc.cwnd(), cc.ssthresh()), (10 * MSS, usize::MAX));
        // With a finite threshold below 3/4 of the window, it rises to it.
        let mut cc = Congestion::new(which, 10, MSS);
        cc.enter_fast_recovery(Instant::ZERO, 40 * MSS, MSS);
        cc.exit_fast_recovery(40 * MSS, MSS);
        cc.set_cwnd(40 * MSS);
        let (cwnd, ssthresh) = (cc.cwnd(), cc.ssthresh());
        assert!(cc.restart_after_idle(Duration::from_secs(5), true, 10, MSS));
        assert_eq!(cc.cwnd(), 10 * MSS, "{which:?}");
        assert!(ssthresh < cwnd / 4 * 3);
        assert_eq!(cc.ssthresh(), cwnd / 4 * 3, "{which:?}");
        // A window already at or below the initial window is left alone.
        let mut small = Congestion::new(which, 10, MSS);
        small.on_rto(Instant::ZERO, 4 * MSS, MSS, true);
        assert!(!small.restart_after_idle(Duration::from_secs(5), true, 10, MSS));
        assert_eq!(small.cwnd(), MSS);
    }
}

#[test]
fn undo_restores_window_and_threshold_for_every_algorithm() {
    for which in [CongestionControl::Reno, CongestionControl::Cubic] {
        let mut cc = Congestion::new(which, 30, MSS);
        assert!(!cc.undo(), "nothing to undo yet");
        cc.enter_fast_recovery(Instant::ZERO, 30 * MSS, MSS);
        cc.exit_fast_recovery(10 * MSS, MSS);
        assert!(cc.cwnd() < 30 * MSS);
        assert!(cc.undo());
        assert_eq!(
            (cc.cwnd(), cc.ssthresh()),
            (30 * MSS, usize::MAX),
            "{which:?}"
        );
    }
}

#[test]
fn a_sender_the_window_does_not_limit_does_not_grow_it() {
    for which in [CongestionControl::Reno, CongestionControl::Cubic] {
        let mut cc = Congestion::new(which, 10, MSS);
        for i in 0..100 {
            cc.on_ack(Instant::from_millis(i * 10), 2 * MSS, MSS, false);
        }
        assert_eq!(cc.cwnd(), 10 * MSS, "{which:?}");
    }
}
