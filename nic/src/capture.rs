//! [`Capture`]: a wrapper that records every frame a device receives or transmits into a pcap
//! file (`SOCKEYE_CAPTURE`), like running tcpdump on it, while the device works as before.
//!
//! - Both directions go into one classic pcap file (Ethernet, nanosecond timestamps; see the
//!   format notes of [`pcap`](crate::pcap)), in the order the frames passed: a received frame
//!   when `receive` hands it out, a transmitted one when the inner device accepts it (a frame the
//!   inner device pushes back is not recorded until it is sent). Classic pcap has no direction
//!   field: tell directions apart by addresses.
//! - Timestamps come from [`SystemClock::since_unix_epoch`], or from the clock given to
//!   [`Capture::with_clock`], read as time since the Unix epoch; the clock is read once per
//!   `receive` or `transmit` call.
//! - The file is written through a buffer, flushed by [`flush`](Device::flush) (which the runtime
//!   calls every tick), by [`Capture::finish`] and on drop.
//! - The capture never breaks the data path. A write or flush error on the capture file is
//!   counted ([`Capture::capture_errors`]) and kept ([`Capture::capture_error`]); recording stops
//!   there (a partly written record would make the rest of the file unreadable) and every later
//!   frame counts as an error too, while frames keep flowing to and from the inner device.
//! - Everything else is forwarded to the inner device: MTU, MAC, capabilities, `raw_fd`,
//!   `rx_pending`, `next_poll_in`, and `flush`.
//! - No allocation per frame: frames are recorded straight from the inner device's buffers.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::RawFd;
use std::path::Path;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::device::{Capabilities, Device, MacAddr};
use crate::pcap::Recorder;

/// Capture file buffer size.
const FILE_BUFFER: usize = 1 << 16;

/// Records a device's frames into a pcap stream; see the [module documentation](self).
pub struct Capture<D, W: Write = BufWriter<File>> {
    inner: D,
    recorder: Recorder<W>,
    clock: Box<dyn Clock>,
    errors: u64,
}

impl<D: Device> Capture<D> {
    /// Wraps `inner`, recording into a new file at `path` (replacing any existing one).
    pub fn new(inner: D, path: impl AsRef<Path>) -> io::Result<Capture<D>> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|err| {
            let shown = path.display();
            io::Error::new(
                err.kind(),
                format!("cannot create capture file {shown}: {err}"),
            )
        })?;
        let writer = BufWriter::with_capacity(FILE_BUFFER, file);
        Capture::with_recorder(
            inner,
            Recorder::new(writer, format!("capture file {}", path.display()))?,
        )
    }
}

impl<D: Device, W: Write> Capture<D, W> {
    /// Wraps `inner`, recording into `writer` (for example a `Vec<u8>`, or a socket). The writer
    /// is used as given: wrap a file or socket in a [`BufWriter`].
    pub fn to_writer(inner: D, writer: W) -> io::Result<Capture<D, W>> {
        Capture::with_recorder(inner, Recorder::new(writer, "capture stream".to_string())?)
    }

    fn with_recorder(inner: D, recorder: Recorder<W>) -> io::Result<Capture<D, W>> {
        Ok(Capture {
            inner,
            recorder,
            clock: Box::new(SystemClock::since_unix_epoch()),
            errors: 0,
        })
    }

    /// Stamps frames with `clock`'s readings, taken as time since the Unix epoch (a
    /// [`ManualClock`](crate::clock::ManualClock) makes the capture reproducible).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Capture<D, W> {
        self.clock = Box::new(clock);
        self
    }

    /// How many frames could not be recorded (the one that met a write error, and every later
    /// one), plus failed flushes. Zero while the capture is complete.
    pub fn capture_errors(&self) -> u64 {
        self.errors
    }

    /// The error that stopped the recording, if any.
    pub fn capture_error(&self) -> Option<&io::Error> {
        self.recorder.error()
    }

    /// How many frames were recorded.
    pub fn frames_captured(&self) -> u64 {
        self.recorder.frames()
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably (frames moved through it directly are not recorded).
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// Flushes and closes the capture and returns the device. Fails, dropping the device, if the
    /// flush fails or an earlier error stopped the recording (the capture is then incomplete).
    pub fn finish(self) -> io::Result<D> {
        self.into_parts().map(|(inner, _)| inner)
    }

    /// Stops capturing and gives the device back whatever happened to the capture, with the
    /// outcome of closing it: an error if the final flush failed or an earlier error stopped
    /// the recording (the capture is then incomplete). For switching a capture off on a device
    /// that stays in use.
    pub fn into_inner(self) -> (D, io::Result<()>) {
        let Capture {
            inner, recorder, ..
        } = self;
        (inner, recorder.finish().map(drop))
    }

    /// Like [`finish`](Capture::finish), also returning the writer.
    pub fn into_parts(self) -> io::Result<(D, W)> {
        let writer = self.recorder.finish()?;
        Ok((self.inner, writer))
    }
}

/// Records `frame`, or counts it as an error; never fails.
fn record<W: Write>(recorder: &mut Recorder<W>, errors: &mut u64, now: Duration, frame: &[u8]) {
    if recorder.failed() || recorder.record(now, frame).is_err() {
        *errors += 1;
    }
}

impl<D, W: Write> core::fmt::Debug for Capture<D, W> {
    /// Shows the counters.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Capture")
            .field("frames_captured", &self.recorder.frames())
            .field("capture_errors", &self.errors)
            .field("capture_error", &self.recorder.error())
            .finish_non_exhaustive()
    }
}

impl<D: Device, W: Write> Device for Capture<D, W> {
    fn receive(&mut self, budget: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let now = self.clock.now();
        let (recorder, errors) = (&mut self.recorder, &mut self.errors);
        self.inner.receive(budget, &mut |frame| {
            record(recorder, errors, now, frame);
            sink(frame);
        })
    }

    fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> io::Result<bool> {
        let now = self.clock.now();
        let (recorder, errors) = (&mut self.recorder, &mut self.errors);
        self.inner.transmit(len, &mut |buf| {
            fill(buf);
            record(recorder, errors, now, buf);
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.recorder.failed() && self.recorder.flush().is_err() {
            self.errors += 1;
        }
        self.inner.flush()
    }

    fn next_poll_in(&self) -> Option<Duration> {
        self.inner.next_poll_in()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn mac(&self) -> MacAddr {
        self.inner.mac()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn raw_fd(&self) -> Option<RawFd> {
        self.inner.raw_fd()
    }

    fn rx_pending(&self) -> bool {
        self.inner.rx_pending()
    }
}

#[cfg(test)]
mod tests;
