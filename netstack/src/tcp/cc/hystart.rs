//! HyStart++ (RFC 9406): leaving the initial slow start when the RTT starts to grow, before
//! the queue it measures overflows.
//!
//! Per round (from the ACK that passes `window_end` to the next; `window_end` is `SND.NXT`
//! when the round starts) the sender keeps the smallest RTT sample. Once a round has
//! `N_RTT_SAMPLE` (8) samples and its minimum exceeds the previous round's by
//! `clamp(last / 8, 4 ms, 16 ms)`, slow start turns into Conservative Slow Start (CSS): the
//! window grows by a quarter of slow start's increase. If a later round's minimum RTT falls back
//! below the one that triggered it, the increase was a spurious signal and slow start resumes;
//! after `CSS_ROUNDS` (5) rounds of CSS the sender enters congestion avoidance with
//! `ssthresh = cwnd`. A loss at any point ends HyStart++, and the loss sets `ssthresh` as usual.
//! As the RFC recommends, only the initial slow start uses it.
//!
//! Linux's CUBIC has the older HyStart (ACK trains and delay, with its own thresholds) and
//! no CSS; sockeye follows the RFC for every algorithm. It is on by default and
//! `tcp_hystart=0` turns it off. RTTs are kept in microseconds in `u32`s so the state costs a
//! connection 20 bytes.

use std::time::Duration;

use crate::wire::SeqNumber;

/// RTT samples a round needs before it can signal.
pub(crate) const N_RTT_SAMPLE: u8 = 8;
/// Lower bound of the delay-increase threshold, microseconds.
const MIN_RTT_THRESH: u32 = 4_000;
/// Upper bound of the delay-increase threshold, microseconds.
const MAX_RTT_THRESH: u32 = 16_000;
/// Divides slow start's increase during CSS.
pub(crate) const CSS_GROWTH_DIVISOR: usize = 4;
/// Rounds of CSS before congestion avoidance.
pub(crate) const CSS_ROUNDS: u8 = 5;
/// No sample yet.
const NONE: u32 = u32::MAX;

/// What a round boundary or an RTT sample changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Nothing.
    None,
    /// The delay grew: slow start became CSS.
    EnterCss,
    /// CSS's RTT fell back: slow start resumed.
    ResumeSlowStart,
    /// CSS lasted its rounds: congestion avoidance begins (`ssthresh = cwnd`).
    Done,
}

/// HyStart++'s per-connection state during the initial slow start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HyStart {
    /// The sequence number whose acknowledgment ends the round (`windowEnd`); none before the
    /// first round starts.
    window_end: Option<SeqNumber>,
    /// `lastRoundMinRTT`, microseconds.
    last_round_min: u32,
    /// `currentRoundMinRTT`, microseconds.
    round_min: u32,
    /// `cssBaselineMinRtt`, microseconds (`NONE` outside CSS).
    css_baseline: u32,
    /// `rttSampleCount` this round (saturating).
    samples: u8,
    /// Rounds begun in CSS (0: in slow start).
    css_rounds: u8,
}

impl Default for HyStart {
    fn default() -> HyStart {
        HyStart {
            window_end: None,
            last_round_min: NONE,
            round_min: NONE,
            css_baseline: NONE,
            samples: 0,
            css_rounds: 0,
        }
    }
}

impl HyStart {
    /// Whether the sender is in Conservative Slow Start.
    pub(crate) fn in_css(&self) -> bool {
        self.css_rounds > 0
    }

    /// An ACK moved `SND.UNA` to `snd_una` with `snd_nxt` sent: a new round starts when it
    /// passes the end of the current one.
    pub(crate) fn on_ack(&mut self, snd_una: SeqNumber, snd_nxt: SeqNumber) -> Transition {
        if self.window_end.is_some_and(|end| snd_una.lt(end)) {
            return Transition::None;
        }
        self.window_end = Some(snd_nxt);
        self.last_round_min = self.round_min;
        self.round_min = NONE;
        self.samples = 0;
        if self.in_css() {
            if self.css_rounds >= CSS_ROUNDS {
                return Transition::Done;
            }
            self.css_rounds += 1;
        }
        Transition::None
    }

    /// An RTT sample during the round.
    pub(crate) fn on_rtt(&mut self, rtt: Duration) -> Transition {
        let rtt = u32::try_from(rtt.as_micros()).unwrap_or(NONE - 1);
        self.samples = self.samples.saturating_add(1);
        self.round_min = self.round_min.min(rtt);
        if self.samples < N_RTT_SAMPLE {
            return Transition::None;
        }
        if self.in_css() {
            // Only a round that began in CSS compares with the baseline: later samples of the
            // round that signalled are naturally below its first eight.
            if self.css_rounds >= 2 && self.round_min < self.css_baseline {
                self.css_baseline = NONE;
                self.css_rounds = 0;
                return Transition::ResumeSlowStart;
            }
            return Transition::None;
        }
        if self.last_round_min == NONE {
            return Transition::None;
        }
        let thresh = (self.last_round_min / 8).clamp(MIN_RTT_THRESH, MAX_RTT_THRESH);
        if self.round_min >= self.last_round_min.saturating_add(thresh) {
            self.css_baseline = self.round_min;
            self.css_rounds = 1;
            return Transition::EnterCss;
        }
        Transition::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// Runs one round: its first ACK, then `samples` RTT samples of `rtt`; returns the
    /// transitions seen.
    fn round(h: &mut HyStart, end: u32, rtt: Duration, samples: u8) -> Vec<Transition> {
        let mut seen = vec![h.on_ack(SeqNumber(end), SeqNumber(end + 1000))];
        for _ in 0..samples {
            seen.push(h.on_rtt(rtt));
        }
        seen.retain(|t| *t != Transition::None);
        seen
    }

    #[test]
    fn a_delay_increase_enters_css_and_css_ends_after_five_rounds() {
        let mut h = HyStart::default();
        assert!(round(&mut h, 0, ms(20), 8).is_empty());
        // 20 ms + max(4 ms, 20/8 ms) = 24 ms: 23 ms does not signal, 24 ms does.
        assert!(round(&mut h, 1000, ms(23), 8).is_empty());
        assert_eq!(
            round(&mut h, 2000, ms(27), 8),
            [Transition::EnterCss],
            "27 >= 23 + 4"
        );
        assert!(h.in_css());
        for i in 0..4 {
            assert!(round(&mut h, 3000 + i * 1000, ms(28), 8).is_empty());
        }
        assert_eq!(h.on_ack(SeqNumber(7000), SeqNumber(8000)), Transition::Done);
    }

    #[test]
    fn fewer_than_eight_samples_never_signal() {
        let mut h = HyStart::default();
        round(&mut h, 0, ms(20), 8);
        assert!(round(&mut h, 1000, ms(100), 7).is_empty());
    }

    #[test]
    fn css_returns_to_slow_start_when_the_rtt_falls_back() {
        let mut h = HyStart::default();
        round(&mut h, 0, ms(20), 8);
        assert_eq!(round(&mut h, 1000, ms(40), 8), [Transition::EnterCss]);
        assert_eq!(
            round(&mut h, 2000, ms(30), 8),
            [Transition::ResumeSlowStart]
        );
        assert!(!h.in_css());
    }

    #[test]
    fn the_threshold_is_clamped_to_sixteen_milliseconds() {
        let mut h = HyStart::default();
        round(&mut h, 0, ms(400), 8);
        // 400/8 = 50 ms, clamped to 16: 416 ms signals.
        assert_eq!(round(&mut h, 1000, ms(416), 8), [Transition::EnterCss]);
    }

    #[test]
    fn acks_within_a_round_do_not_start_another() {
        let mut h = HyStart::default();
        h.on_ack(SeqNumber(0), SeqNumber(1000));
        for _ in 0..8 {
            h.on_rtt(ms(20));
        }
        h.on_ack(SeqNumber(500), SeqNumber(3000));
        assert_eq!(h.samples, 8, "still the first round");
        h.on_ack(SeqNumber(1000), SeqNumber(3000));
        assert_eq!((h.samples, h.last_round_min), (0, 20_000));
    }
}
