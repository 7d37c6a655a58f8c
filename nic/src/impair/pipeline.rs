//! One direction of an [`Impair`](super::Impair) wrapper: decides each frame's fate (lost,
//! duplicated, corrupted, when it leaves, whether it is held back) and keeps it until then.

use std::time::Duration;

use super::bucket::TokenBucket;
use super::config::{ImpairConfig, ImpairStats};
use super::held::Held;
use super::rng::Rng;

/// The independent random streams of one direction, one per kind of decision.
#[derive(Debug)]
struct Streams {
    loss: Rng,
    burst: Rng,
    duplicate: Rng,
    corrupt: Rng,
    jitter: Rng,
    reorder: Rng,
}

impl Streams {
    /// The streams of `direction` (0: transmit, 1: receive) for `seed`.
    fn new(seed: u64, direction: u64) -> Streams {
        let stream = |kind: u64| Rng::stream(seed, direction << 8 | kind);
        Streams {
            loss: stream(0),
            burst: stream(1),
            duplicate: stream(2),
            corrupt: stream(3),
            jitter: stream(4),
            reorder: stream(5),
        }
    }
}

#[derive(Debug)]
pub(super) struct Pipeline {
    config: ImpairConfig,
    streams: Streams,
    /// The Gilbert-Elliott channel's state.
    bad: bool,
    bucket: Option<TokenBucket>,
    pub(super) held: Held,
    pub(super) stats: ImpairStats,
}

impl Pipeline {
    /// A direction that impairs nothing yet.
    pub(super) fn new(seed: u64, direction: u64) -> Pipeline {
        Pipeline {
            config: ImpairConfig::default(),
            streams: Streams::new(seed, direction),
            bad: false,
            bucket: None,
            held: Held::default(),
            stats: ImpairStats::default(),
        }
    }

    pub(super) fn config(&self) -> &ImpairConfig {
        &self.config
    }

    /// Replaces the configuration from `now` on. Frames already held keep their release times;
    /// the random streams continue; a changed rate limit starts with a full bucket.
    pub(super) fn set_config(&mut self, config: ImpairConfig, now: Duration) {
        let same_rate = self.bucket.as_ref().map(TokenBucket::limit) == config.rate;
        if !same_rate {
            self.bucket = config.rate.map(|limit| TokenBucket::new(limit, now));
        }
        if config.burst_loss.is_none() {
            self.bad = false;
        }
        self.config = config;
    }

    /// Takes the frame that arrived at `now` in `slot` (of `self.held`) and decides its fate.
    pub(super) fn ingest(&mut self, now: Duration, slot: usize) {
        self.stats.frames_in += 1;
        if self.lose() {
            self.stats.dropped_loss += 1;
            self.held.free(slot);
            return;
        }
        if self.streams.duplicate.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            let copy = self.held.duplicate(slot);
            self.admit(now, slot);
            self.admit(now, copy);
        } else {
            self.admit(now, slot);
        }
    }

    /// Whether the next frame is lost; draws from the loss streams whatever the outcome, so
    /// that each stream advances once per frame.
    fn lose(&mut self) -> bool {
        let mut lost = false;
        if let Some(model) = self.config.burst_loss {
            let burst = &mut self.streams.burst;
            let flip = if self.bad {
                model.p_bad_to_good
            } else {
                model.p_good_to_bad
            };
            if burst.chance(flip) {
                self.bad = !self.bad;
            }
            let p = if self.bad {
                model.loss_in_bad
            } else {
                model.loss_in_good
            };
            lost = burst.chance(p);
        }
        self.streams.loss.chance(self.config.loss) || lost
    }

    /// The stages after loss and duplication, for one copy of a frame.
    fn admit(&mut self, now: Duration, slot: usize) {
        let len = self.held.frame(slot).len();
        let departure = match &mut self.bucket {
            Some(bucket) => match bucket.admit(now, len) {
                Some(departure) => departure,
                None => {
                    self.stats.dropped_queue_full += 1;
                    self.held.free(slot);
                    return;
                }
            },
            None => now,
        };
        if len > 0 && self.streams.corrupt.chance(self.config.corrupt) {
            let bit = self.streams.corrupt.below(len as u64 * 8);
            self.held.frame_mut(slot)[(bit / 8) as usize] ^= 1 << (bit % 8);
            self.stats.corrupted += 1;
        }
        let mut release = departure.saturating_add(self.config.latency);
        if !self.config.jitter.is_zero() {
            let span = u64::try_from(self.config.jitter.as_nanos()).unwrap_or(u64::MAX);
            let extra = self.streams.jitter.below(span.saturating_add(1));
            release = release.saturating_add(Duration::from_nanos(extra));
        }
        let delayed = release > now;
        self.stats.delayed += u64::from(delayed);
        if self.streams.reorder.chance(self.config.reorder) {
            let deadline = release.saturating_add(self.config.reorder_max_hold);
            let distance = self.config.reorder_distance;
            self.held
                .hold_back(slot, release, distance, deadline, delayed);
        } else {
            self.stats.reordered += self.held.schedule(slot, release);
        }
    }

    /// Prepares for taking due frames at `now`: held-back frames past their deadline join the
    /// queue.
    pub(super) fn expire(&mut self, now: Duration) {
        self.stats.delayed += self.held.expire(now);
    }

    /// The time from `now` until the next held frame is due (zero if one is due already).
    pub(super) fn next_due_in(&self, now: Duration) -> Option<Duration> {
        self.held
            .next_release()
            .map(|release| release.saturating_sub(now))
    }
}
