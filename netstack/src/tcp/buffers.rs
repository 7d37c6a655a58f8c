//! Buffer autotuning, as Linux does it unless the application fixed the sizes (`SO_SNDBUF`,
//! `SO_RCVBUF`):
//!
//! - **Send buffer** (`tcp_sndbuf_expand`): room for twice the congestion window (CUBIC needs
//!   1.7 times it through a fast recovery; the rest is cushion for an application slow to
//!   refill), at least twice the initial window, never above `tcp_wmem[2]`. It grows as the
//!   window does, while the sender is not held back by the window itself.
//! - **Receive buffer** (`tcp_rcv_space_adjust`, "dynamic right-sizing", with
//!   `tcp_moderate_rcvbuf`): once per receiver-side RTT, the bytes the application read in
//!   that RTT are compared with the last measurement; if more, the buffer grows to twice that
//!   amount plus 16 segments (for losses), plus twice the growth again (the sender is likely in
//!   slow start, doubling every RTT), never above `tcp_rmem[2]`. The advertised window follows
//!   the buffer. The receiver's RTT comes from the timestamps it sees echoed on full-sized
//!   segments (`tcp_rcv_rtt_measure_ts`), or without timestamps from the time one window of
//!   data takes to arrive (`tcp_rcv_rtt_measure`).
//!
//! Buffer sizes here count payload bytes (Linux's count the kernel's per-packet overhead too,
//! which is why its `SO_RCVBUF` doubles the value given).

use std::time::Duration;

use super::tcb::{Env, Tcb};
use crate::config::StackConfig;
use crate::time::{Instant, OptDuration};
use crate::wire::SeqNumber;

/// A connection's receive-autotuning measurement (Linux's `rcvq_space` and `rcv_rtt_est`).
///
/// 40 bytes: byte counts in 32 bits (saturating; Linux's are `u32`s too), the window
/// measurement's sequence number and start time as two fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RcvTuning {
    /// Bytes the application has read since the current measurement began.
    copied: u32,
    /// When it began.
    start: Instant,
    /// Bytes read in the last measured RTT (`rcvq_space.space`); 0 until established.
    space: u32,
    /// The receiver's RTT estimate (smoothed), if any.
    rtt: OptDuration,
    /// A per-window RTT measurement in progress (without timestamps): when it began, and the
    /// sequence number whose arrival ends it.
    mark_at: Option<Instant>,
    mark_seq: SeqNumber,
}

impl RcvTuning {
    /// Nothing measured yet.
    pub fn new(now: Instant) -> RcvTuning {
        RcvTuning {
            copied: 0,
            start: now,
            space: 0,
            rtt: OptDuration::NONE,
            mark_at: None,
            mark_seq: SeqNumber(0),
        }
    }

    /// The application read `n` more bytes.
    pub fn on_read(&mut self, n: usize) {
        self.copied = self
            .copied
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
    }

    /// The receiver's RTT estimate.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt.get()
    }

    fn sample(&mut self, rtt: Duration) {
        let rtt = rtt.max(Duration::from_micros(1));
        self.rtt = OptDuration::some(match self.rtt.get() {
            None => rtt,
            // Linux's `tcp_rcv_rtt_update`: an EWMA with gain 1/8.
            Some(old) => (old * 7 + rtt) / 8,
        });
    }
}

impl Tcb {
    /// Grows the send buffer with the congestion window (Linux's `tcp_sndbuf_expand`), unless
    /// the application fixed its size or the window limits the sender.
    pub(crate) fn expand_sndbuf(&mut self, config: &StackConfig) {
        if self.snd_locked() || self.pipe() >= self.cc.cwnd() {
            return;
        }
        let segments = (self.cc.cwnd() / self.mss().max(1)).max(config.tcp_init_cwnd as usize);
        let want = (2 * segments * self.mss()).min(config.tcp_wmem[2]);
        if want > self.send.limit() {
            self.send.set_limit(want);
        }
    }

    /// Starts receive autotuning when the connection is established (Linux's
    /// `tcp_init_buffer_space`): the first measurement expects the initial window.
    pub(crate) fn init_rcv_tuning(&mut self, config: &StackConfig, now: Instant) {
        let space = self
            .recv
            .limit()
            .min(config.tcp_init_cwnd as usize * usize::from(self.adv_mss));
        self.rcv_tuning.space = u32::try_from(space.max(1)).unwrap_or(u32::MAX);
        self.rcv_tuning.start = now;
        self.rcv_tuning.copied = 0;
    }

    /// A data segment of `len` bytes arrived in order, echoing `tsecr` (if timestamps are on):
    /// an RTT sample for the receiver, then possibly a bigger receive buffer.
    pub(crate) fn rcv_autotune(&mut self, env: &Env<'_>, len: usize, tsecr: Option<u32>) {
        let now = env.now;
        match tsecr {
            Some(ecr) if ecr != 0 && len >= self.rcv_mss() => {
                let ms = self.ts_now(now).wrapping_sub(ecr);
                if ms < 1 << 24 {
                    self.rcv_tuning.sample(Duration::from_millis(u64::from(ms)));
                }
            }
            Some(_) => {}
            None => {
                let t = &self.rcv_tuning;
                let due = match t.mark_at {
                    Some(since) if self.rcv_nxt.ge(t.mark_seq) => {
                        self.rcv_tuning.sample(now.saturating_duration_since(since));
                        true
                    }
                    Some(_) => false,
                    None => true,
                };
                if due {
                    self.rcv_tuning.mark_at = Some(now);
                    self.rcv_tuning.mark_seq = self.rcv_nxt + self.rcv_wnd();
                }
            }
        }
        self.rcv_space_adjust(env.config, now);
    }

    /// Linux's `tcp_rcv_space_adjust`: once per RTT, compare what the application read in it
    /// with the last RTT and grow the buffer if the flow is speeding up.
    fn rcv_space_adjust(&mut self, config: &StackConfig, now: Instant) {
        let locked = self.rcv_locked();
        let t = &mut self.rcv_tuning;
        let Some(rtt) = t.rtt.get() else {
            return;
        };
        if t.space == 0 || now.saturating_duration_since(t.start) < rtt {
            return;
        }
        let copied = t.copied as usize;
        t.copied = 0;
        t.start = now;
        if copied <= t.space as usize {
            return;
        }
        if config.tcp_moderate_rcvbuf && !locked {
            let adv_mss = usize::from(self.adv_mss);
            let mut rcvwin = 2 * copied + 16 * adv_mss;
            let space = t.space as usize;
            let grow = rcvwin as u128 * (copied - space) as u128 / space as u128;
            rcvwin = rcvwin.saturating_add(2 * usize::try_from(grow).unwrap_or(usize::MAX));
            let rcvbuf = rcvwin.min(config.tcp_rmem[2]);
            if rcvbuf > self.recv.limit() {
                self.recv.set_limit(rcvbuf);
            }
        }
        self.rcv_tuning.space = copied as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiver_rtt_is_smoothed_with_gain_an_eighth() {
        let mut t = RcvTuning::new(Instant::ZERO);
        t.sample(Duration::from_millis(80));
        assert_eq!(t.rtt(), Some(Duration::from_millis(80)));
        t.sample(Duration::from_millis(160));
        assert_eq!(t.rtt(), Some(Duration::from_millis(90)));
    }
}
