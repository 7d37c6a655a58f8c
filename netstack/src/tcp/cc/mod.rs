//! Congestion control: the congestion window and slow-start threshold of a connection, and the
//! algorithm that moves them (NewReno or CUBIC, chosen like Linux's `tcp_congestion_control`).
//!
//! # Who owns what
//!
//! [`Congestion`] owns `cwnd` and `ssthresh` (bytes) and one algorithm. The connection reports
//! events; it never writes the window itself. The split follows Linux's `tcp_congestion_ops`:
//!
//! | [`CongestionOps`] method | Linux hook | called by [`Congestion`] when the connection reports |
//! |---|---|---|
//! | [`ssthresh`](CongestionOps::ssthresh) | `ssthresh` | a congestion event ([`Congestion::on_congestion`], the first RTO of a series) |
//! | [`cong_avoid`](CongestionOps::cong_avoid) | `cong_avoid` | new data acknowledged outside recovery while cwnd-limited ([`Congestion::on_ack`]) |
//! | [`on_rtt`](CongestionOps::on_rtt) | `pkts_acked` | an RTT sample ([`Congestion::on_rtt`]) |
//! | [`on_rto`](CongestionOps::on_rto) | `set_state(TCP_CA_Loss)` | a retransmission timeout ([`Congestion::on_rto`]) |
//! | [`undo`](CongestionOps::undo) | `undo_cwnd` | a reduction found spurious ([`Congestion::undo`]) |
//! | [`on_idle`](CongestionOps::on_idle) | `cwnd_event(CA_EVENT_TX_START)` | sending resumes with nothing in flight ([`Congestion::restart_after_idle`]) |
//!
//! Rules common to every algorithm live here, not in the algorithms:
//! - the initial window, `init_segments` segments (RFC 6928: 10, `tcp_init_cwnd`);
//! - slow start with appropriate byte counting, L = 2 (RFC 5681 section 3.1, RFC 3465
//!   section 2.2), in [`slow_start`], which the algorithms' `cong_avoid` call below `ssthresh`;
//! - HyStart++ (RFC 9406, `hystart.rs`) in the initial slow start: a growing RTT turns slow
//!   start into Conservative Slow Start and then congestion avoidance, before the loss that
//!   would otherwise end it;
//! - growth only while the window limits the sender (RFC 7661's "cwnd-limited"; the
//!   connection says whether it was): an application- or receiver-limited sender does not
//!   inflate a window it does not use;
//! - the loss window, one segment after a timeout (RFC 5681 equation 5);
//! - the restart window after idle (RFC 5681 section 4.1): when no data was sent for longer than
//!   the RTO, `cwnd = min(cwnd, IW)`, with `ssthresh` first raised to 3/4 of the old window so
//!   slow start returns quickly to it (RFC 2861 section 3; Linux's `tcp_cwnd_restart` keeps the
//!   same memory). `tcp_slow_start_after_idle` turns it off, as on Linux;
//! - undo (RFC 9438 section 4.9; Linux's `tcp_undo_cwnd_reduction`): the window and threshold
//!   from before the last reduction come back, and the algorithm restores its own state.
//!
//! Fast recovery's window arithmetic (RFC 5681 section 3.2 with RFC 6582: inflate by three
//! segments, one more per duplicate ACK, deflate on a partial ACK, leave at
//! `min(ssthresh, FlightSize + MSS)`) is loss recovery, not congestion control: the
//! [`Congestion::enter_fast_recovery`] group of methods implements it on top of the algorithm's
//! `ssthresh`, and a later SACK-based recovery (RFC 6675 with PRR, RFC 6937) replaces exactly
//! that group, using [`Congestion::on_congestion`] and [`Congestion::set_cwnd`].
//!
//! # Dispatch
//!
//! The algorithm is an enum ([`Algo`]) implementing [`CongestionOps`] by `match`, not a
//! `Box<dyn CongestionOps>`: the set of algorithms is closed (the names Linux accepts here), the
//! calls sit on the per-ACK path where a `match` inlines and a virtual call does not, a
//! connection's control block stays one allocation, and switching algorithm (`TCP_CONGESTION`)
//! is an assignment. The trait still states the contract each algorithm meets, so adding one is
//! adding a variant and an `impl`.

mod cubic;
mod hystart;
mod newreno;

use std::time::Duration;

pub use crate::config::CongestionControl;
use crate::time::Instant;
use crate::wire::SeqNumber;
pub(crate) use cubic::Cubic;
pub(crate) use hystart::{HyStart, Transition};
pub(crate) use newreno::NewReno;

/// The window variables an algorithm reads and (in [`CongestionOps::cong_avoid`]) grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// The congestion window, bytes.
    pub cwnd: usize,
    /// The slow-start threshold, bytes (`usize::MAX`, "infinite", until the first loss).
    pub ssthresh: usize,
}

/// What an ACK of new data tells the algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ack {
    /// When it arrived.
    pub now: Instant,
    /// Bytes of data it newly acknowledged.
    pub acked: usize,
    /// The sender's MSS.
    pub mss: usize,
    /// HyStart++'s Conservative Slow Start: slow start grows a quarter as fast.
    pub css: bool,
}

/// A congestion control algorithm (the part of Linux's `tcp_congestion_ops` that decides
/// numbers; the connection decides when events happen, see the module docs).
pub(crate) trait CongestionOps {
    /// The name Linux gives it (`reno`, `cubic`).
    fn name(&self) -> &'static str;

    /// A congestion event: record what the algorithm needs (its state before the event, for
    /// [`CongestionOps::undo`]) and return the new slow-start threshold. `w` is the window
    /// before the reduction; `flight` the bytes outstanding when the loss was detected.
    fn ssthresh(&mut self, w: &Window, flight: usize, mss: usize, now: Instant) -> usize;

    /// New data was acknowledged outside recovery while the window limited the sender: grow
    /// `w.cwnd` (slow start below `w.ssthresh`, via [`slow_start`], congestion avoidance above).
    fn cong_avoid(&mut self, w: &mut Window, ack: &Ack);

    /// An RTT sample (`sample`, Karn-safe) and the smoothed RTT after it.
    fn on_rtt(&mut self, _sample: Duration, _srtt: Duration) {}

    /// A retransmission timeout collapsed the window (after [`CongestionOps::ssthresh`] on the
    /// first timeout of a series).
    fn on_rto(&mut self, _now: Instant) {}

    /// The last reduction was spurious: restore the state saved by the last
    /// [`CongestionOps::ssthresh`].
    fn undo(&mut self) {}

    /// Sending resumes after `idle` with nothing in flight; `restarted` says whether the
    /// window was cut to the restart window.
    fn on_idle(&mut self, _idle: Duration, _restarted: bool) {}
}

/// The algorithms, dispatched by `match` (see the module docs for why not `dyn`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Algo {
    /// NewReno.
    Reno(NewReno),
    /// CUBIC.
    Cubic(Cubic),
}

impl Algo {
    /// A fresh instance of `which`.
    fn new(which: CongestionControl) -> Algo {
        match which {
            CongestionControl::Reno => Algo::Reno(NewReno::default()),
            CongestionControl::Cubic => Algo::Cubic(Cubic::default()),
        }
    }

    /// Which algorithm this is.
    fn which(&self) -> CongestionControl {
        match self {
            Algo::Reno(_) => CongestionControl::Reno,
            Algo::Cubic(_) => CongestionControl::Cubic,
        }
    }
}

/// Forwards a trait call to the variant's implementation.
macro_rules! dispatch {
    ($self:ident, $a:ident => $call:expr) => {
        match $self {
            Algo::Reno($a) => $call,
            Algo::Cubic($a) => $call,
        }
    };
}

impl CongestionOps for Algo {
    fn name(&self) -> &'static str {
        dispatch!(self, a => a.name())
    }
    fn ssthresh(&mut self, w: &Window, flight: usize, mss: usize, now: Instant) -> usize {
        dispatch!(self, a => a.ssthresh(w, flight, mss, now))
    }
    fn cong_avoid(&mut self, w: &mut Window, ack: &Ack) {
        dispatch!(self, a => a.cong_avoid(w, ack))
    }
    fn on_rtt(&mut self, sample: Duration, srtt: Duration) {
        dispatch!(self, a => a.on_rtt(sample, srtt))
    }
    fn on_rto(&mut self, now: Instant) {
        dispatch!(self, a => a.on_rto(now))
    }
    fn undo(&mut self) {
        dispatch!(self, a => a.undo())
    }
    fn on_idle(&mut self, idle: Duration, restarted: bool) {
        dispatch!(self, a => a.on_idle(idle, restarted))
    }
}

/// Slow start (RFC 5681 section 3.1) with appropriate byte counting and L = 2 (RFC 3465 section
/// 2.2): `cwnd` grows by the bytes acknowledged, at most two segments per ACK (a quarter of
/// that in HyStart++'s CSS), and not past `ssthresh`. Returns the acknowledged bytes left over for congestion avoidance once `cwnd`
/// reached `ssthresh` (0 while still below it).
pub(crate) fn slow_start(w: &mut Window, ack: &Ack) -> usize {
    let (acked, mss) = (ack.acked, ack.mss);
    if w.cwnd >= w.ssthresh {
        return acked;
    }
    let mut grow = acked.min(2 * mss);
    if ack.css {
        grow /= hystart::CSS_GROWTH_DIVISOR;
    }
    let room = w.ssthresh - w.cwnd;
    if grow < room {
        w.cwnd += grow;
        0
    } else {
        w.cwnd = w.ssthresh;
        acked - room
    }
}

/// A connection's congestion state: the window, the threshold, the algorithm, and what undo
/// restores.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Congestion {
    w: Window,
    algo: Algo,
    /// The window before the last reduction, for [`Congestion::undo`] (boxed, as CUBIC's
    /// saved state: most connections never have one, and every connection carries this).
    prior: Option<Box<Window>>,
    /// HyStart++ while the initial slow start lasts (see `hystart.rs`).
    hystart: Option<HyStart>,
}

impl Congestion {
    /// `which` algorithm with an initial window of `init_segments` segments of `mss` bytes
    /// (RFC 6928: 10) and an infinite threshold.
    pub fn new(which: CongestionControl, init_segments: u32, mss: usize) -> Congestion {
        Congestion {
            w: Window {
                cwnd: initial_window(init_segments, mss),
                ssthresh: usize::MAX,
            },
            algo: Algo::new(which),
            prior: None,
            hystart: None,
        }
    }

    /// Runs HyStart++ in the initial slow start (`tcp_hystart`), or not.
    pub fn with_hystart(mut self, on: bool) -> Congestion {
        self.hystart = (on && self.w.ssthresh == usize::MAX).then(HyStart::default);
        self
    }

    /// Whether HyStart++ still watches this slow start.
    pub fn hystart_running(&self) -> bool {
        self.hystart.is_some()
    }

    /// Whether HyStart++ has slowed slow start down (Conservative Slow Start).
    pub fn in_css(&self) -> bool {
        self.hystart.is_some_and(|h| h.in_css())
    }

    /// An ACK moved `SND.UNA` (HyStart++'s rounds): after the last round of CSS, congestion
    /// avoidance begins with `ssthresh = cwnd`.
    pub fn on_snd_una(&mut self, snd_una: SeqNumber, snd_nxt: SeqNumber) {
        if let Some(h) = &mut self.hystart
            && h.on_ack(snd_una, snd_nxt) == Transition::Done
        {
            self.w.ssthresh = self.w.cwnd;
            self.hystart = None;
        }
    }

    /// The congestion window, bytes.
    pub fn cwnd(&self) -> usize {
        self.w.cwnd
    }

    /// The slow-start threshold, bytes.
    pub fn ssthresh(&self) -> usize {
        self.w.ssthresh
    }

    /// Which algorithm runs.
    pub fn algorithm(&self) -> CongestionControl {
        self.algo.which()
    }

    /// The algorithm's Linux name.
    pub fn name(&self) -> &'static str {
        self.algo.name()
    }

    /// Switches to `which` (`TCP_CONGESTION` on an open connection): the new algorithm starts
    /// fresh from the current window and threshold, as Linux reinitialises it; nothing changes
    /// if it is already the one running.
    pub fn set_algorithm(&mut self, which: CongestionControl) {
        if which != self.algorithm() {
            self.algo = Algo::new(which);
            self.prior = None;
        }
    }

    /// Sets the window directly: for a loss recovery that computes it itself (PRR).
    #[allow(dead_code)]
    pub fn set_cwnd(&mut self, cwnd: usize) {
        self.w.cwnd = cwnd;
    }

    /// New data (`acked` bytes) was acknowledged outside recovery. The window grows only if it
    /// limited the sender (`cwnd_limited`).
    pub fn on_ack(&mut self, now: Instant, acked: usize, mss: usize, cwnd_limited: bool) {
        if acked == 0 || !cwnd_limited {
            return;
        }
        let css = self.in_css();
        self.algo.cong_avoid(
            &mut self.w,
            &Ack {
                now,
                acked,
                mss,
                css,
            },
        );
    }

    /// An RTT sample and the smoothed RTT after it (HyStart++ may enter or leave CSS).
    pub fn on_rtt(&mut self, sample: Duration, srtt: Duration) {
        self.algo.on_rtt(sample, srtt);
        if let Some(h) = &mut self.hystart {
            h.on_rtt(sample);
        }
    }

    /// A congestion event (loss detected with `flight` bytes outstanding): the threshold drops
    /// to what the algorithm says; the window is left to the loss recovery. Returns the new
    /// threshold.
    ///
    /// The algorithm sees `min(FlightSize, cwnd)`: RFC 5681 and RFC 9438 reduce from
    /// FlightSize, but after a NewReno recovery FlightSize counts everything sent on the
    /// inflated window since the first hole (up to the receive window), which says nothing
    /// about the path; Linux reduces from cwnd. RFC 9438 section 4.6 allows cwnd when the
    /// window cannot grow beyond what is used, which [`Congestion::on_ack`] ensures.
    pub fn on_congestion(&mut self, now: Instant, flight: usize, mss: usize) -> usize {
        match &mut self.prior {
            Some(prior) => **prior = self.w,
            None => self.prior = Some(Box::new(self.w)),
        }
        self.hystart = None;
        let flight = flight.min(self.w.cwnd);
        self.w.ssthresh = self.algo.ssthresh(&self.w, flight, mss, now);
        self.w.ssthresh
    }

    /// The third duplicate ACK (RFC 5681 section 3.2 step 2, RFC 6582 section 3.2 step 2):
    /// a congestion event, then the window is the new threshold inflated by the three segments
    /// that left the network.
    pub fn enter_fast_recovery(&mut self, now: Instant, flight: usize, mss: usize) {
        let ssthresh = self.on_congestion(now, flight, mss);
        self.w.cwnd = ssthresh + 3 * mss;
    }

    /// Another duplicate ACK during fast recovery: one more segment left the network.
    pub fn recovery_dupack(&mut self, mss: usize) {
        self.w.cwnd = self.w.cwnd.saturating_add(mss);
    }

    /// A partial ACK during fast recovery (RFC 6582 section 3.2 step 5): deflate by what it
    /// acknowledged, then add back one segment if that was at least a segment.
    pub fn recovery_partial_ack(&mut self, acked: usize, mss: usize) {
        self.w.cwnd = self.w.cwnd.saturating_sub(acked);
        if acked >= mss {
            self.w.cwnd += mss;
        }
        self.w.cwnd = self.w.cwnd.max(mss);
    }

    /// The ACK that ends fast recovery (RFC 6582 section 3.2 step 3, the "less bursty"
    /// option): `min(ssthresh, max(FlightSize, MSS) + MSS)`.
    pub fn exit_fast_recovery(&mut self, flight: usize, mss: usize) {
        self.w.cwnd = self.w.ssthresh.min(flight.max(mss) + mss);
    }

    /// A retransmission timeout: on the first of a series (`first`; RFC 5681 keeps ssthresh
    /// while the same data times out again; the connection also says no during fast recovery,
    /// whose threshold stands, as in Linux's `tcp_enter_loss`) a congestion event sets the
    /// threshold; the window is one segment (RFC 5681 equation 5).
    pub fn on_rto(&mut self, now: Instant, flight: usize, mss: usize, first: bool) {
        if first {
            self.on_congestion(now, flight, mss);
        }
        self.algo.on_rto(now);
        self.w.cwnd = mss;
    }

    /// The last reduction was spurious (RFC 9438 section 4.9): the threshold and window from
    /// before it come back (the window never shrinks here), and the algorithm restores its own
    /// state. Returns whether there was anything to undo.
    pub fn undo(&mut self) -> bool {
        let Some(prior) = self.prior.take() else {
            return false;
        };
        self.w.cwnd = self.w.cwnd.max(prior.cwnd);
        self.w.ssthresh = prior.ssthresh;
        self.algo.undo();
        true
    }

    /// Data leaves after `idle` with nothing in flight. If `restart` (the connection was idle
    /// longer than its RTO and `tcp_slow_start_after_idle` is on), the window restarts (RFC 5681
    /// section 4.1): `ssthresh = max(ssthresh, 3/4 cwnd)`, then `cwnd = min(cwnd, IW)`.
    /// Returns whether the window was cut.
    pub fn restart_after_idle(
        &mut self,
        idle: Duration,
        restart: bool,
        init_segments: u32,
        mss: usize,
    ) -> bool {
        let restart_window = initial_window(init_segments, mss);
        let restarted = restart && self.w.cwnd > restart_window;
        if restarted {
            self.w.ssthresh = self.w.ssthresh.max(self.w.cwnd / 4 * 3);
            self.w.cwnd = restart_window;
        }
        self.algo.on_idle(idle, restart);
        restarted
    }
}

/// The initial window: `init_segments` segments of `mss` bytes (at least one).
fn initial_window(init_segments: u32, mss: usize) -> usize {
    (init_segments as usize).max(1) * mss
}

#[cfg(test)]
mod tests;
