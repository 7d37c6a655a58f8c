//! Frame I/O on a non-blocking kernel descriptor, shared by [`Tap`](crate::Tap) and
//! [`RawSocket`](crate::RawSocket).
//!
//! [`FrameIo`] owns one receive and one transmit buffer, allocated once, and the counters. Its
//! receive loop reads frames until the budget is spent or the kernel has no more (`EAGAIN`); its
//! transmit keeps a frame the kernel refuses with `EAGAIN` or `ENOBUFS` in the transmit buffer (a
//! one-frame queue), sends it first on the next `transmit` or `flush`, and asks to be flushed
//! again after [`RETRY_DELAY`] while it is held. The devices supply the system calls: how one
//! frame is read (and what a read that is not a frame to hand on looks like), and how one frame
//! is written.

use std::io;
use std::time::Duration;

use crate::device::{ETHERNET_HEADER_LEN, oversize_frame};

/// How long after a refusal the kernel-backed devices ask to be flushed again.
pub(crate) const RETRY_DELAY: Duration = Duration::from_millis(1);

/// Room for one 802.1Q tag beyond the MTU in received frames.
pub(crate) const VLAN_TAG_LEN: usize = 4;

/// What one read from the descriptor gave.
pub(crate) enum Received {
    /// A whole frame of this many bytes, at the start of the receive buffer.
    Frame(usize),
    /// A frame longer than the receive buffer, dropped (counted in `rx_oversize`).
    Oversize,
    /// A frame the device does not hand on (counted in `rx_skipped`).
    Skipped,
    /// No more frames for now.
    Drained,
}

/// The counters of a [`FrameIo`]; each device's public stats are a view of them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    /// Frames handed to `receive`'s sink.
    pub(crate) rx_frames: u64,
    /// Frames dropped on receive because they did not fit the receive buffer.
    pub(crate) rx_oversize: u64,
    /// Frames the device's read skipped ([`Received::Skipped`]).
    pub(crate) rx_skipped: u64,
    /// Frames the kernel took.
    pub(crate) tx_frames: u64,
    /// Frames the kernel refused with `EAGAIN`/`ENOBUFS`, kept for a later retry.
    pub(crate) tx_deferred: u64,
    /// `transmit` calls answered `Ok(false)` because a deferred frame still could not be sent.
    pub(crate) tx_full: u64,
}

/// Reusable buffers, the held frame and the counters of a kernel-backed device.
pub(crate) struct FrameIo {
    mtu: usize,
    /// Receive buffer, as long as the device wants (see [`FrameIo::new`]).
    rx_buf: Box<[u8]>,
    /// Transmit buffer: MTU + header.
    tx_buf: Box<[u8]>,
    /// Length of a frame in `tx_buf` the kernel refused and that is still to be sent; 0 when none.
    tx_pending: usize,
    stats: Counters,
}

impl FrameIo {
    /// Buffers for an interface of MTU `mtu`: `rx_len` bytes to receive into, MTU + 14 to
    /// transmit from.
    pub(crate) fn new(mtu: usize, rx_len: usize) -> FrameIo {
        FrameIo {
            mtu,
            rx_buf: vec![0; rx_len].into_boxed_slice(),
            tx_buf: vec![0; mtu + ETHERNET_HEADER_LEN].into_boxed_slice(),
            tx_pending: 0,
            stats: Counters::default(),
        }
    }

    /// The MTU the buffers were sized for.
    pub(crate) fn mtu(&self) -> usize {
        self.mtu
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> Counters {
        self.stats
    }

    /// Whether a frame the kernel refused is waiting in the transmit buffer.
    pub(crate) fn transmit_pending(&self) -> bool {
        self.tx_pending > 0
    }

    /// [`RETRY_DELAY`] while a refused frame is held, `None` otherwise.
    pub(crate) fn next_poll_in(&self) -> Option<Duration> {
        self.transmit_pending().then_some(RETRY_DELAY)
    }

    /// Reads up to `budget` frames with `read`, handing each whole one to `sink`. Stops early when
    /// `read` reports [`Received::Drained`] or fails with `EAGAIN`; retries on `EINTR`; returns
    /// any other error.
    pub(crate) fn receive(
        &mut self,
        budget: usize,
        sink: &mut dyn FnMut(&[u8]),
        mut read: impl FnMut(&mut [u8]) -> io::Result<Received>,
    ) -> io::Result<usize> {
        let mut delivered = 0;
        while delivered < budget {
            match read(&mut self.rx_buf) {
                Ok(Received::Frame(n)) => {
                    sink(&self.rx_buf[..n]);
                    delivered += 1;
                }
                Ok(Received::Oversize) => self.stats.rx_oversize += 1,
                Ok(Received::Skipped) => self.stats.rx_skipped += 1,
                Ok(Received::Drained) => break,
                Err(err) => match err.kind() {
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::WouldBlock => break,
                    _ => return Err(err),
                },
            }
        }
        self.stats.rx_frames += delivered as u64;
        Ok(delivered)
    }

    /// Sends one frame of `len` bytes, written by `fill` into the transmit buffer, with `send`
    /// (one attempt of the system call). A held frame goes first; while the kernel still refuses
    /// it, returns `Ok(false)` without calling `fill`. A new frame the kernel refuses is held.
    pub(crate) fn transmit(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
        mut send: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<bool> {
        if len > self.tx_buf.len() {
            return Err(oversize_frame(len, self.mtu));
        }
        if !self.send_pending(&mut send)? {
            self.stats.tx_full += 1;
            return Ok(false);
        }
        let frame = &mut self.tx_buf[..len];
        fill(frame);
        if send_frame(&mut send, frame)? {
            self.stats.tx_frames += 1;
        } else {
            self.tx_pending = len;
            self.stats.tx_deferred += 1;
        }
        Ok(true)
    }

    /// Retries the held frame, if any, with `send`; it stays held if refused again, and is
    /// dropped on another error (which is returned).
    pub(crate) fn flush(
        &mut self,
        mut send: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        self.send_pending(&mut send).map(drop)
    }

    /// Tries to send the frame the kernel refused earlier, if any: `Ok(true)` when none is
    /// pending any more, `Ok(false)` when the kernel still refuses it. On another error the frame
    /// is dropped.
    fn send_pending(&mut self, send: &mut impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<bool> {
        if self.tx_pending == 0 {
            return Ok(true);
        }
        let len = self.tx_pending;
        match send_frame(send, &self.tx_buf[..len]) {
            Ok(true) => {
                self.tx_pending = 0;
                self.stats.tx_frames += 1;
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => {
                self.tx_pending = 0;
                Err(e)
            }
        }
    }
}

/// Sends one frame with `send`, retrying on `EINTR`. `Ok(false)` when the kernel refuses it for
/// now (`EAGAIN`: send buffer full; `ENOBUFS`: the queueing discipline dropped it).
fn send_frame(send: &mut impl FnMut(&[u8]) -> io::Result<()>, frame: &[u8]) -> io::Result<bool> {
    loop {
        match send(frame) {
            Ok(()) => return Ok(true),
            Err(err) => match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN | libc::ENOBUFS) => return Ok(false),
                _ => return Err(err),
            },
        }
    }
}

/// A system call's result: `Ok(n)` when it is not negative, the thread's `errno` otherwise.
pub(crate) fn cvt(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
