//! What an [`Impair`](super::Impair) wrapper does to the frames of one direction
//! ([`ImpairConfig`], with [`GilbertElliott`] burst loss and a [`RateLimit`]), and the counters it
//! keeps ([`ImpairStats`]).

use std::time::Duration;

/// The impairments applied to one direction of an [`Impair`](super::Impair) wrapper.
///
/// The default impairs nothing. Probabilities are numbers in `[0, 1]`: zero, negative or NaN
/// means never, one or more means always. Build one with the `with_*` methods:
///
/// ```
/// use std::time::Duration;
/// use sockeye_nic::impair::{ImpairConfig, RateLimit};
///
/// let wan = ImpairConfig::new()
///     .with_loss(0.01)
///     .with_delay(Duration::from_millis(40), Duration::from_millis(5))
///     .with_rate(RateLimit::new(10_000_000));
/// assert!(!wan.is_transparent());
/// ```
///
/// A frame goes through the stages in this order (see [`Impair`](super::Impair)):
/// loss (independent and burst) → duplication → rate limit → corruption → delay and jitter →
/// reordering.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImpairConfig {
    /// Probability that a frame is lost, independently of every other frame.
    pub loss: f64,
    /// Bursts of loss from a two-state Gilbert-Elliott model, on top of `loss` (a frame is lost if
    /// either says so). `None`: no burst loss.
    pub burst_loss: Option<GilbertElliott>,
    /// Probability that a frame is delivered twice. Each copy then goes through the later stages
    /// on its own (it may be corrupted, delayed or reordered independently).
    pub duplicate: f64,
    /// Probability that a frame has one bit flipped, at a uniformly chosen bit of the whole frame,
    /// headers included, so that checksums (or the lack of them) catch it. Empty frames are never
    /// corrupted.
    pub corrupt: f64,
    /// Probability that a frame is held back and delivered just after the next
    /// `reorder_distance` frames of the same direction.
    pub reorder: f64,
    /// How many later frames a held-back frame lets pass (1 by default; 0 counts as 1).
    pub reorder_distance: u32,
    /// How long after its own release time a held-back frame waits at most for the later frames
    /// to come along; after that it is delivered anyway (10 ms by default), so that a frame is
    /// never stuck when traffic stops.
    pub reorder_max_hold: Duration,
    /// Fixed delay added to every frame.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` for each frame. Like Linux netem's, it can
    /// reorder frames that are closer together than the jitter.
    pub jitter: Duration,
    /// A token-bucket rate limit, applied before the delay. `None`: unlimited.
    pub rate: Option<RateLimit>,
}

impl Default for ImpairConfig {
    /// No impairment.
    fn default() -> Self {
        ImpairConfig {
            loss: 0.0,
            burst_loss: None,
            duplicate: 0.0,
            corrupt: 0.0,
            reorder: 0.0,
            reorder_distance: 1,
            reorder_max_hold: Duration::from_millis(10),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            rate: None,
        }
    }
}

impl ImpairConfig {
    /// No impairment (the same as `ImpairConfig::default()`).
    pub fn new() -> ImpairConfig {
        ImpairConfig::default()
    }

    /// Sets the probability of independent loss.
    pub fn with_loss(mut self, probability: f64) -> ImpairConfig {
        self.loss = probability;
        self
    }

    /// Adds Gilbert-Elliott burst loss.
    pub fn with_burst_loss(mut self, model: GilbertElliott) -> ImpairConfig {
        self.burst_loss = Some(model);
        self
    }

    /// Sets the probability of duplication.
    pub fn with_duplicate(mut self, probability: f64) -> ImpairConfig {
        self.duplicate = probability;
        self
    }

    /// Sets the probability of a one-bit corruption.
    pub fn with_corrupt(mut self, probability: f64) -> ImpairConfig {
        self.corrupt = probability;
        self
    }

    /// Sets the probability that a frame is held back, and how many later frames it lets pass.
    pub fn with_reorder(mut self, probability: f64, distance: u32) -> ImpairConfig {
        self.reorder = probability;
        self.reorder_distance = distance;
        self
    }

    /// Sets how long a held-back frame waits at most for the frames it lets pass.
    pub fn with_reorder_max_hold(mut self, max_hold: Duration) -> ImpairConfig {
        self.reorder_max_hold = max_hold;
        self
    }

    /// Sets the fixed latency and the uniform jitter added on top of it.
    pub fn with_delay(mut self, latency: Duration, jitter: Duration) -> ImpairConfig {
        self.latency = latency;
        self.jitter = jitter;
        self
    }

    /// Sets a token-bucket rate limit.
    pub fn with_rate(mut self, rate: RateLimit) -> ImpairConfig {
        self.rate = Some(rate);
        self
    }

    /// Whether this configuration leaves every frame alone (frames still pass through the
    /// wrapper's queue, in order and at once).
    pub fn is_transparent(&self) -> bool {
        let never = |p: f64| p.is_nan() || p <= 0.0;
        never(self.loss)
            && self.burst_loss.is_none()
            && never(self.duplicate)
            && never(self.corrupt)
            && never(self.reorder)
            && self.latency.is_zero()
            && self.jitter.is_zero()
            && self.rate.is_none()
    }
}

/// The Gilbert-Elliott model of bursty loss: a channel that is either *good* or *bad*, moving
/// between the two before each frame, and losing frames with a probability that depends on the
/// state. It starts good.
///
/// With `loss_in_bad = 1` and `loss_in_good = 0` (the default of [`GilbertElliott::new`]), losses
/// come in runs whose mean length is `1 / p_bad_to_good`, and the long-run loss rate is
/// `p_good_to_bad / (p_good_to_bad + p_bad_to_good)`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct GilbertElliott {
    /// Probability of moving from good to bad, before each frame.
    pub p_good_to_bad: f64,
    /// Probability of moving from bad to good, before each frame.
    pub p_bad_to_good: f64,
    /// Probability of losing a frame in the bad state.
    pub loss_in_bad: f64,
    /// Probability of losing a frame in the good state.
    pub loss_in_good: f64,
}

impl GilbertElliott {
    /// A channel that loses every frame in the bad state and none in the good state.
    pub fn new(p_good_to_bad: f64, p_bad_to_good: f64) -> GilbertElliott {
        GilbertElliott {
            p_good_to_bad,
            p_bad_to_good,
            loss_in_bad: 1.0,
            loss_in_good: 0.0,
        }
    }

    /// Sets the loss probabilities of the two states.
    pub fn with_loss(mut self, in_bad: f64, in_good: f64) -> GilbertElliott {
        self.loss_in_bad = in_bad;
        self.loss_in_good = in_good;
        self
    }
}

/// A token-bucket rate limit, like Linux's `tc tbf`: tokens accrue at `bits_per_second` up to
/// `burst_bytes`; a frame leaves when the bucket holds its length in tokens (a frame longer than
/// the burst leaves when the bucket has filled up to its length). Frames waiting for tokens form a
/// FIFO queue of at most `queue_len` frames; a frame arriving at a full queue is dropped and
/// counted ([`ImpairStats::dropped_queue_full`]).
///
/// The rate counts the frame's bytes from destination address to payload end (no preamble,
/// inter-frame gap or FCS). A rate of zero is a link that carries nothing: every frame is dropped
/// as if the queue were full. The bucket starts full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// The sustained rate, in bits per second.
    pub bits_per_second: u64,
    /// The bucket's size, in bytes: how much may leave back to back after an idle period.
    pub burst_bytes: usize,
    /// How many frames may wait for tokens.
    pub queue_len: usize,
}

impl RateLimit {
    /// A limit of `bits_per_second` with a burst of ten full-sized Ethernet frames (15,140 bytes)
    /// and a queue of 1000 frames (Linux's `txqueuelen`).
    pub fn new(bits_per_second: u64) -> RateLimit {
        RateLimit {
            bits_per_second,
            burst_bytes: 15_140,
            queue_len: 1000,
        }
    }

    /// Sets the bucket's size in bytes.
    pub fn with_burst(mut self, burst_bytes: usize) -> RateLimit {
        self.burst_bytes = burst_bytes;
        self
    }

    /// Sets how many frames may wait for tokens.
    pub fn with_queue_len(mut self, queue_len: usize) -> RateLimit {
        self.queue_len = queue_len;
        self
    }
}

/// One direction's counters, a snapshot taken by [`Impair::tx_stats`](super::Impair::tx_stats) or
/// [`Impair::rx_stats`](super::Impair::rx_stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ImpairStats {
    /// Frames that entered this direction.
    pub frames_in: u64,
    /// Frames that left it: handed to the inner device (transmit) or to the caller (receive),
    /// duplicates included.
    pub passed: u64,
    /// Frames lost to independent or burst loss.
    pub dropped_loss: u64,
    /// Frames dropped because the rate limiter's queue was full.
    pub dropped_queue_full: u64,
    /// Frames the inner device failed with an error when given them (transmit only; the error
    /// is returned by the call that met it or by the next `flush`).
    pub dropped_error: u64,
    /// Extra copies made by duplication.
    pub duplicated: u64,
    /// Frames held back and delivered after later frames.
    pub reordered: u64,
    /// Frames with one bit flipped.
    pub corrupted: u64,
    /// Frames held for some time (latency, jitter, rate limit, or a reorder that timed out).
    pub delayed: u64,
}
