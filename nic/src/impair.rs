//! [`Impair`]: a wrapper that makes any [`Device`] a worse network, reproducibly: seeded loss
//! (independent and in bursts), duplication, reordering, corruption, delay with jitter, and a
//! token-bucket rate limit, configured separately for each direction ([`ImpairConfig`]).
//!
//! It serves deterministic simulation (stacks joined by a [`Hub`](crate::hub::Hub) or a
//! [`Loopback`](crate::Loopback) on a [`ManualClock`](crate::clock::ManualClock)) and interop
//! tests against the kernel under loss (a TAP device on the
//! [`SystemClock`](crate::clock::SystemClock)).
//!
//! # The two directions
//! - **Transmit**: a frame given to [`Device::transmit`] is copied into a pooled buffer, impaired,
//!   and held until due; due frames go to the inner device within the same `transmit` call, in
//!   [`Device::flush`], and in later `transmit` and `receive` calls (an inner device's error met
//!   outside `flush` is returned by the next `flush`). If the inner device pushes back
//!   (`Ok(false)`) the frame stays held, first in line, and is retried: back-pressure never loses
//!   a frame. `transmit` itself pushes back only when the wrapper already holds its limit of
//!   frames ([`Impair::with_held_limit`], 10,000 by default).
//! - **Receive**: [`Device::receive`] pulls frames from the inner device (at most `budget` per
//!   call, and none while the held limit is reached), stamps them with the current time, impairs
//!   them and holds them until due; it hands out due frames only.
//!
//! With no impairment a frame is due the moment it arrives, so the wrapper is transparent: the
//! same frames, in the same order, within the same call.
//!
//! # Stages
//! Each frame entering a direction goes through, in order: loss (independent, then
//! [Gilbert-Elliott](GilbertElliott) bursts; a frame is lost if either says so) → duplication
//! (each copy continues on its own) → rate limit (a full queue drops the copy) → corruption (one
//! random bit of the whole frame) → delay (latency plus uniform jitter, added to the time the
//! rate limiter lets it go) → reordering (the frame is held back until the next
//! `reorder_distance` frames have been scheduled, then leaves right after them, or after
//! `reorder_max_hold` if traffic stops). Frames due at the same time leave in arrival order.
//!
//! # Time and determinism
//! Delays and rates are measured on the [`Clock`] given to [`Impair::new`]; times are read once
//! per call. Decisions come from the wrapper's own xoshiro256** generator seeded with the `seed`,
//! one stream per kind of decision and direction: the same seed, configuration and input frames at
//! the same clock readings give exactly the same output frames at the same readings, on every
//! platform and forever (no `rand` dependency whose upgrade could change the sequences; turning
//! on one impairment does not change which frames another one hits).
//! [`next_poll_in`](Device::next_poll_in) tells the runtime when the next held frame is due.
//!
//! # Checksums
//! Corruption exists to be caught by checksums, so when either direction may corrupt frames the
//! wrapper reports no checksum offload in either direction (a frame corrupted on transmit may come
//! back through a loopback): the stack computes and verifies every checksum. Other impairments
//! leave the inner device's capabilities as they are. On a [`Hub`](crate::hub::Hub) the
//! receiving ports are devices of their own: build the hub with
//! [`with_checksum_offload(false)`](crate::hub::Hub::with_checksum_offload) when its ports may
//! corrupt frames.
//!
//! # Memory
//! Held frames live in pooled buffers ordered by a binary heap of release times: once traffic has
//! warmed the pool up, moving a frame allocates nothing, whatever the impairments.

mod bucket;
mod config;
mod held;
mod pipeline;
mod rng;

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

pub use config::{GilbertElliott, ImpairConfig, ImpairStats, RateLimit};

use crate::clock::Clock;
use crate::device::{Capabilities, Device, ETHERNET_HEADER_LEN, MacAddr, oversize_frame};
use pipeline::Pipeline;

/// How many frames each direction holds at most, by default.
const DEFAULT_HELD_LIMIT: usize = 10_000;

/// A device wrapper that impairs the frames it moves, reproducibly from a seed. See the
/// [module documentation](self).
pub struct Impair<D> {
    inner: D,
    clock: Box<dyn Clock>,
    seed: u64,
    tx: Pipeline,
    rx: Pipeline,
    held_limit: usize,
    /// An inner device's error met while moving held frames during `transmit`, which accepted
    /// its own frame: returned by the next `flush`.
    deferred_error: Option<io::Error>,
}

impl<D: Device> Impair<D> {
    /// Wraps `inner`, impairing nothing until configured; `clock` measures delays and rates, and
    /// `seed` fixes every random decision.
    pub fn new(inner: D, clock: impl Clock + 'static, seed: u64) -> Impair<D> {
        Impair {
            inner,
            clock: Box::new(clock),
            seed,
            tx: Pipeline::new(seed, 0),
            rx: Pipeline::new(seed, 1),
            held_limit: DEFAULT_HELD_LIMIT,
            deferred_error: None,
        }
    }

    /// Sets the impairments of transmitted frames.
    pub fn with_tx(mut self, config: ImpairConfig) -> Impair<D> {
        self.set_tx(config);
        self
    }

    /// Sets the impairments of received frames.
    pub fn with_rx(mut self, config: ImpairConfig) -> Impair<D> {
        self.set_rx(config);
        self
    }

    /// Sets how many frames each direction may hold (10,000 by default). At the limit, `transmit`
    /// returns `Ok(false)` and `receive` stops pulling from the inner device until frames leave.
    /// Zero is treated as one.
    pub fn with_held_limit(mut self, frames: usize) -> Impair<D> {
        self.held_limit = frames.max(1);
        self
    }

    /// Changes the transmit impairments from now on, for example to cut a link in the middle of a
    /// simulation. Frames already held keep their release times.
    pub fn set_tx(&mut self, config: ImpairConfig) {
        let now = self.clock.now();
        self.tx.set_config(config, now);
    }

    /// Changes the receive impairments from now on. Frames already held keep their release
    /// times.
    pub fn set_rx(&mut self, config: ImpairConfig) {
        let now = self.clock.now();
        self.rx.set_config(config, now);
    }

    /// The transmit impairments.
    pub fn tx_config(&self) -> &ImpairConfig {
        self.tx.config()
    }

    /// The receive impairments.
    pub fn rx_config(&self) -> &ImpairConfig {
        self.rx.config()
    }

    /// The seed given to [`Impair::new`], to print with a failing simulation.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A snapshot of the transmit direction's counters.
    pub fn tx_stats(&self) -> ImpairStats {
        self.tx.stats
    }

    /// A snapshot of the receive direction's counters.
    pub fn rx_stats(&self) -> ImpairStats {
        self.rx.stats
    }

    /// How many transmitted frames are held (not yet given to the inner device).
    pub fn held_tx(&self) -> usize {
        self.tx.held.len()
    }

    /// How many received frames are held (not yet handed out).
    pub fn held_rx(&self) -> usize {
        self.rx.held.len()
    }

    /// How many heap allocations the buffer pools have made (new buffers and regrown ones). It
    /// stops increasing once traffic has warmed the pools up.
    pub fn buffers_allocated(&self) -> usize {
        self.tx.held.buffers_allocated() + self.rx.held.buffers_allocated()
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably (frames sent through it directly bypass the impairments).
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// Unwraps the device; frames still held in either direction are dropped.
    pub fn into_inner(mut self) -> D {
        self.tx.held.clear();
        self.rx.held.clear();
        self.inner
    }

    /// Gives the inner device every transmit frame due at `now`, in order, until it pushes back.
    /// An inner error drops the frame that met it (counted in `dropped_error`) and is returned.
    fn drain_tx(&mut self, now: Duration) -> io::Result<()> {
        self.tx.expire(now);
        while let Some(slot) = self.tx.held.peek_due(now) {
            let frame = self.tx.held.frame(slot);
            let result = self
                .inner
                .transmit(frame.len(), &mut |buf| buf.copy_from_slice(frame));
            match result {
                Ok(true) => {
                    self.tx.held.pop_free();
                    self.tx.stats.passed += 1;
                }
                Ok(false) => return Ok(()),
                Err(err) => {
                    self.tx.held.pop_free();
                    self.tx.stats.dropped_error += 1;
                    return Err(err);
                }
            }
        }
        Ok(())
    }
}

impl<D> core::fmt::Debug for Impair<D> {
    /// Shows the configuration, the held frames and the counters, not the frames.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Impair")
            .field("seed", &self.seed)
            .field("tx", self.tx.config())
            .field("rx", self.rx.config())
            .field("held_tx", &self.tx.held.len())
            .field("held_rx", &self.rx.held.len())
            .field("tx_stats", &self.tx.stats)
            .field("rx_stats", &self.rx.stats)
            .finish_non_exhaustive()
    }
}

impl<D: Device> Device for Impair<D> {
    fn receive(&mut self, budget: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let now = self.clock.now();
        // Opportunistically move due transmissions on first (through a loopback they may come
        // straight back); an error there belongs to the transmit side: `flush` reports it.
        if let Err(err) = self.drain_tx(now) {
            self.deferred_error.get_or_insert(err);
        }
        let room = self.held_limit.saturating_sub(self.rx.held.len());
        let pull = budget.min(room);
        if pull > 0 {
            let rx = &mut self.rx;
            self.inner.receive(pull, &mut |frame| {
                let slot = rx.held.take(frame.len());
                rx.held.frame_mut(slot).copy_from_slice(frame);
                rx.ingest(now, slot);
            })?;
        }
        self.rx.expire(now);
        let mut delivered = 0;
        while delivered < budget {
            let Some(slot) = self.rx.held.peek_due(now) else {
                break;
            };
            sink(self.rx.held.frame(slot));
            self.rx.held.pop_free();
            delivered += 1;
        }
        self.rx.stats.passed += delivered as u64;
        Ok(delivered)
    }

    fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> io::Result<bool> {
        let mtu = self.inner.mtu();
        if len > mtu.saturating_add(ETHERNET_HEADER_LEN) {
            return Err(oversize_frame(len, mtu));
        }
        let now = self.clock.now();
        if self.tx.held.len() >= self.held_limit {
            // Make room if the inner device takes some frames; otherwise push back.
            if let Err(err) = self.drain_tx(now) {
                self.deferred_error.get_or_insert(err);
            }
            if self.tx.held.len() >= self.held_limit {
                return Ok(false);
            }
        }
        let slot = self.tx.held.take(len);
        fill(self.tx.held.frame_mut(slot));
        self.tx.ingest(now, slot);
        if let Err(err) = self.drain_tx(now) {
            // This call's frame was accepted: report the older frame's error from `flush`.
            self.deferred_error.get_or_insert(err);
        }
        Ok(true)
    }

    fn flush(&mut self) -> io::Result<()> {
        let now = self.clock.now();
        let drained = self.drain_tx(now);
        let inner = self.inner.flush();
        if let Some(err) = self.deferred_error.take() {
            return Err(err);
        }
        drained.and(inner)
    }

    fn next_poll_in(&self) -> Option<Duration> {
        let now = self.clock.now();
        [
            self.tx.next_due_in(now),
            self.rx.next_due_in(now),
            self.inner.next_poll_in(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn mac(&self) -> MacAddr {
        self.inner.mac()
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = self.inner.capabilities();
        let never = |p: f64| p.is_nan() || p <= 0.0;
        if !never(self.tx.config().corrupt) || !never(self.rx.config().corrupt) {
            caps.rx_checksum_offload = false;
            caps.tx_checksum_offload = false;
        }
        caps
    }

    /// The inner device's descriptor: it signals frames arriving from the inner device, while
    /// frames the wrapper holds are signalled by [`rx_pending`](Device::rx_pending) and
    /// [`next_poll_in`](Device::next_poll_in).
    fn raw_fd(&self) -> Option<RawFd> {
        self.inner.raw_fd()
    }

    fn rx_pending(&self) -> bool {
        self.rx.held.has_due(self.clock.now()) || self.inner.rx_pending()
    }
}

#[cfg(test)]
mod tests;
