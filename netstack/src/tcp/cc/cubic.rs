//! CUBIC (RFC 9438; Linux's default, `cubic`), in bytes: the RFC's windows in segments are
//! multiplied by the MSS, so `C` becomes `C * MSS` bytes per second cubed.
//!
//! - **Window function** (section 4.2): in congestion avoidance,
//!   `W_cubic(t) = C * (t - K)^3 + W_max` with `C = 0.4`, `t` the time since the current
//!   congestion avoidance stage (the epoch) began, and `K = cbrt((W_max - cwnd_epoch) / C)` the
//!   time the curve takes to climb back to `W_max` from `cwnd_epoch`, the window when the epoch
//!   began (right after a loss `cwnd_epoch = beta * W_max`, so `K = cbrt(W_max (1 - beta) / C)`).
//!   The epoch starts at the first ACK in congestion avoidance after a congestion event, a
//!   timeout or a restart after idle.
//! - **Reno-friendly region** (section 4.3): alongside, `W_est` grows from `cwnd_epoch` by
//!   `alpha_cubic * segments_acked / cwnd` per ACK, with `alpha_cubic = 3 (1 - beta) / (1 + beta)`
//!   until `W_est` reaches `cwnd_prior` and 1 after; while `W_cubic(t) < W_est` the window
//!   follows `W_est`, so CUBIC is never slower than Reno (short RTTs, small windows).
//! - **Concave and convex regions** (sections 4.4 and 4.5): otherwise the window grows towards
//!   `target = W_cubic(t + RTT)` (RTT the smoothed RTT), clamped to `[cwnd, 1.5 * cwnd]`, by
//!   `(target - cwnd) / cwnd` per acknowledged segment: below `W_max` the curve flattens into
//!   the plateau (concave), above it it accelerates away (convex). Counting per acknowledged
//!   segment rather than per ACK (as Linux does) keeps delayed ACKs from halving the growth.
//! - **Multiplicative decrease** (section 4.6): `ssthresh = max(FlightSize * beta, 2 * MSS)` with
//!   `beta = 0.7`, `cwnd_prior = cwnd`.
//! - **Fast convergence** (section 4.7): if the window at a congestion event is below the last
//!   `W_max`, the flow is losing ground to a newcomer: `W_max = cwnd * (1 + beta) / 2` instead of
//!   `cwnd`, releasing bandwidth sooner.
//! - **Timeout** (section 4.8): `ssthresh` as in section 4.6 (on the first timeout of a series),
//!   the window collapses like Reno's, and the first congestion avoidance stage after it uses
//!   `K = 0` and `W_max = cwnd_epoch` (and `W_est = cwnd_epoch`).
//! - **Spurious congestion events** (section 4.9): [`CongestionOps::undo`] restores `W_max`,
//!   `cwnd_prior`, the epoch (`t_epoch`, `K`, `cwnd_epoch`) and `W_est` saved at the event.
//! - **Slow start** (section 4.10): Reno's, shared ([`slow_start`]), with HyStart++ (RFC 9406)
//!   in the initial slow start, run by [`super::Congestion`] for every algorithm.
//! - **Idle and application-limited periods** (section 5.8): the window does not grow when it
//!   did not limit the sender (enforced by [`super::Congestion::on_ack`]), and time spent idle
//!   does not count in `t` (the epoch start moves forward by the idle time, as Linux does); an
//!   idle period long enough to restart the window (RFC 5681 section 4.1) ends the epoch.
//!
//! The arithmetic is `f64` (deterministic for the same inputs); the window keeps its fraction
//! of a byte between ACKs so small increments are not lost to rounding.

use std::time::Duration;

use super::{Ack, CongestionOps, Window, slow_start};
use crate::time::Instant;

/// `C`, segments per second cubed.
pub(crate) const C: f64 = 0.4;
/// `beta_cubic`, the multiplicative decrease factor.
pub(crate) const BETA: f64 = 0.7;
/// `alpha_cubic`, the Reno-friendly additive increase while `W_est < cwnd_prior`.
pub(crate) const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// The current congestion avoidance stage.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Epoch {
    /// When it began (`t_epoch`).
    start: Instant,
    /// Seconds from `start` until the curve reaches `W_max`.
    k: f64,
}

/// Everything a congestion event changes, saved for undo.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct State {
    /// `W_max`, bytes (0 before the first congestion event).
    w_max: f64,
    /// `cwnd_prior`: the window when `ssthresh` was last set, bytes.
    cwnd_prior: f64,
    /// The congestion avoidance stage, once begun.
    epoch: Option<Epoch>,
    /// `W_est`, the Reno-friendly estimate, bytes.
    w_est: f64,
    /// The next epoch follows a timeout (section 4.8).
    after_timeout: bool,
    /// The fraction of a byte the window has grown beyond its integer value.
    carry: f64,
}

/// CUBIC's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Cubic {
    s: State,
    /// The state before the last congestion event (boxed: most connections never need it,
    /// and every connection carries a `Cubic`).
    saved: Option<Box<State>>,
    /// The smoothed RTT (the RFC's `RTT` in `W_cubic(t + RTT)`), in seconds.
    srtt: f64,
}

impl Cubic {
    /// `W_cubic(t)`, bytes.
    fn w_cubic(&self, epoch: &Epoch, t: f64, mss: f64) -> f64 {
        let d = t - epoch.k;
        C * mss * d * d * d + self.s.w_max
    }

    /// Begins a congestion avoidance stage at `now` with window `cwnd` (section 4.2; after a
    /// timeout or without a previous `W_max`, section 4.8's `K = 0`, `W_max = cwnd_epoch`).
    fn start_epoch(&mut self, now: Instant, cwnd: f64, mss: f64) -> Epoch {
        let k = if self.s.after_timeout || self.s.w_max <= 0.0 {
            self.s.w_max = cwnd;
            0.0
        } else {
            ((self.s.w_max - cwnd) / (C * mss)).cbrt()
        };
        self.s.after_timeout = false;
        self.s.w_est = cwnd;
        let epoch = Epoch { start: now, k };
        self.s.epoch = Some(epoch);
        epoch
    }

    /// `W_max`, bytes (for tests).
    #[cfg(test)]
    fn w_max(&self) -> f64 {
        self.s.w_max
    }

    /// `K`, seconds, once the epoch has begun (for tests).
    #[cfg(test)]
    fn k(&self) -> Option<f64> {
        self.s.epoch.map(|e| e.k)
    }
}

impl CongestionOps for Cubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    fn ssthresh(&mut self, w: &Window, flight: usize, mss: usize, _now: Instant) -> usize {
        match &mut self.saved {
            Some(saved) => **saved = self.s,
            None => self.saved = Some(Box::new(self.s)),
        }
        let cwnd = w.cwnd as f64;
        self.s.w_max = if cwnd < self.s.w_max {
            cwnd * (1.0 + BETA) / 2.0
        } else {
            cwnd
        };
        self.s.cwnd_prior = cwnd;
        self.s.epoch = None;
        self.s.carry = 0.0;
        ((flight as f64 * BETA) as usize).max(2 * mss)
    }

    fn cong_avoid(&mut self, w: &mut Window, ack: &Ack) {
        let acked = slow_start(w, ack);
        if acked == 0 {
            return;
        }
        let mss = ack.mss as f64;
        let cwnd = w.cwnd as f64 + self.s.carry;
        let epoch = match self.s.epoch {
            Some(epoch) => epoch,
            None => self.start_epoch(ack.now, cwnd, mss),
        };
        let t = ack.now.saturating_duration_since(epoch.start).as_secs_f64();
        let acked = acked as f64;
        let alpha = if self.s.w_est >= self.s.cwnd_prior {
            1.0
        } else {
            ALPHA
        };
        self.s.w_est += alpha * acked * mss / cwnd;
        let next = if self.w_cubic(&epoch, t, mss) < self.s.w_est {
            cwnd.max(self.s.w_est)
        } else {
            let ahead = self.w_cubic(&epoch, t + self.srtt, mss);
            let target = ahead.clamp(cwnd, 1.5 * cwnd);
            cwnd + (target - cwnd) / cwnd * acked
        };
        let whole = next.floor();
        w.cwnd = if whole >= usize::MAX as f64 {
            usize::MAX
        } else {
            whole as usize
        };
        self.s.carry = next - whole;
    }

    fn on_rtt(&mut self, _sample: Duration, srtt: Duration) {
        self.srtt = srtt.as_secs_f64();
    }

    fn on_rto(&mut self, _now: Instant) {
        self.s.after_timeout = true;
        self.s.epoch = None;
        self.s.carry = 0.0;
    }

    fn undo(&mut self) {
        if let Some(saved) = self.saved.take() {
            self.s = *saved;
        }
    }

    fn on_idle(&mut self, idle: Duration, restarted: bool) {
        if restarted {
            self.s.epoch = None;
        } else if let Some(epoch) = self.s.epoch.as_mut() {
            epoch.start += idle;
        }
    }
}

#[cfg(test)]
mod tests;
