//! [`Loopback`]: an in-process device whose transmitted frames come back as received frames, like
//! Linux's `lo`.
//!
//! Like `lo`, it has a 65536-byte MTU, a zero MAC address, and both checksum offloads on (frames
//! never leave memory, so checksums are neither computed nor verified). Its queue is bounded like
//! `txqueuelen` (1000 frames by default): when full, [`Device::transmit`] returns `Ok(false)` and
//! counts the refusal, and the caller keeps its data.
//!
//! Frames live in a ring (`VecDeque`) of pooled buffers. A received frame's buffer goes back to
//! a free list and is reused by a later transmit, so once traffic has warmed the pool up, moving
//! a frame allocates nothing and zeroes nothing. The pool never holds more buffers than the queue's high-water
//! mark, each as large as the largest frame it has carried; [`Loopback::buffers_allocated`] counts
//! the allocations it has made, for tests and diagnostics.

use std::collections::VecDeque;
use std::io;

use crate::device::{Capabilities, Device, ETHERNET_HEADER_LEN, MacAddr, oversize_frame};
use crate::pool::{Frame, FramePool};

/// Linux `lo`'s MTU.
const DEFAULT_MTU: usize = 65536;

/// Linux's default `txqueuelen`.
const DEFAULT_QUEUE_LEN: usize = 1000;

/// The loopback device's counters, a snapshot taken by [`Loopback::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoopbackStats {
    /// Frames accepted by `transmit`.
    pub tx_frames: u64,
    /// Frames handed out by `receive`.
    pub rx_frames: u64,
    /// Frames refused by `transmit` because the queue was full.
    pub tx_dropped_full: u64,
}

/// An in-process device whose transmitted frames come back, in order, as received frames.
pub struct Loopback {
    mtu: usize,
    queue_len: usize,
    /// Frames transmitted and not yet received, oldest first.
    queue: VecDeque<Frame>,
    /// Buffers of received frames, ready to be reused.
    pool: FramePool,
    stats: LoopbackStats,
}

impl Loopback {
    /// A loopback device with Linux `lo`'s defaults: MTU 65536, a queue of 1000 frames.
    pub fn new() -> Loopback {
        Loopback::with_mtu(DEFAULT_MTU)
    }

    /// A loopback device with the given MTU (largest Ethernet payload) and a queue of 1000 frames.
    pub fn with_mtu(mtu: usize) -> Loopback {
        Loopback {
            mtu,
            queue_len: DEFAULT_QUEUE_LEN,
            queue: VecDeque::new(),
            pool: FramePool::default(),
            stats: LoopbackStats::default(),
        }
    }

    /// Sets how many frames may wait to be received (Linux's `txqueuelen`); beyond that,
    /// `transmit` returns `Ok(false)`. A length of zero refuses every frame.
    pub fn with_queue_len(mut self, queue_len: usize) -> Loopback {
        self.queue_len = queue_len;
        self
    }

    /// How many frames may wait to be received.
    pub fn queue_len(&self) -> usize {
        self.queue_len
    }

    /// How many frames are waiting to be received.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> LoopbackStats {
        self.stats
    }

    /// How many heap allocations the buffer pool has made: new buffers, plus regrowing a recycled
    /// buffer too small for a frame. It stops increasing once traffic has warmed the pool up.
    pub fn buffers_allocated(&self) -> usize {
        self.pool.buffers_allocated()
    }
}

impl core::fmt::Debug for Loopback {
    /// Shows the settings and counters, not the queued frames.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Loopback")
            .field("mtu", &self.mtu)
            .field("queue_len", &self.queue_len)
            .field("queued", &self.queue.len())
            .field("buffers_allocated", &self.buffers_allocated())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Default for Loopback {
    /// The same as [`Loopback::new`].
    fn default() -> Self {
        Loopback::new()
    }
}

impl Device for Loopback {
    fn receive(&mut self, budget: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let mut delivered = 0;
        while delivered < budget {
            let Some(buffer) = self.queue.pop_front() else {
                break;
            };
            sink(&buffer);
            self.pool.put(buffer);
            delivered += 1;
        }
        self.stats.rx_frames += delivered as u64;
        Ok(delivered)
    }

    fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> io::Result<bool> {
        if len > self.mtu.saturating_add(ETHERNET_HEADER_LEN) {
            return Err(oversize_frame(len, self.mtu));
        }
        if self.queue.len() >= self.queue_len {
            self.stats.tx_dropped_full += 1;
            return Ok(false);
        }
        let mut buffer = self.pool.take(len);
        fill(&mut buffer);
        self.queue.push_back(buffer);
        self.stats.tx_frames += 1;
        Ok(true)
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn mac(&self) -> MacAddr {
        MacAddr::ZERO
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rx_checksum_offload: true,
            tx_checksum_offload: true,
            loops_back: true,
            ..Capabilities::default()
        }
    }

    fn rx_pending(&self) -> bool {
        !self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests;
