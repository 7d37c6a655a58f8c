//! [`PcapDevice`]: a device whose received frames are replayed from a pcap file and whose
//! transmitted frames are recorded into another, for deterministic offline runs (`SOCKEYE_NIC=
//! pcap:IN,OUT`). The pcap format itself is the `pcap-file` crate's.
//!
//! - **Replay.** `receive` hands out the input file's frames in file order, at most `budget` per
//!   call, and `Ok(0)` once the file is exhausted; `rx_pending` is true while frames remain. By
//!   default the file's timestamps are ignored: every frame is available at once, so a run
//!   depends only on the file, not on how fast it goes. [`PcapDevice::with_timing`] instead
//!   replays at the file's pace on a given clock (a virtual one for simulations): each frame
//!   becomes receivable when as much time has passed since the call as separated it from the
//!   file's first frame, and [`next_poll_in`](Device::next_poll_in) says when. Frames are
//!   delivered as captured, even if the capture truncated them (counted in
//!   [`PcapStats::rx_truncated`]) or they exceed the MTU.
//! - **Record.** `transmit` never pushes back: every frame is appended to the output file (a new
//!   file, replacing any old one), stamped by a clock ([`SystemClock::since_unix_epoch`] unless
//!   [`PcapDevice::with_clock`] gives another; a [`ManualClock`](crate::clock::ManualClock) makes
//!   the output byte-for-byte reproducible). The output is buffered: it is written out by
//!   [`flush`](Device::flush), [`PcapDevice::finish`], and on drop.
//! - **Errors** are `io::Error`s naming the file: a missing input is `NotFound`, an unreadable
//!   one keeps its kind, malformed content (bad magic, pcapng, truncation) is `InvalidData`, and so
//!   is a link type other than Ethernet. An error in the middle of the input is returned by the
//!   `receive` call after the last good frame was handed out; the device is then exhausted. An
//!   error writing the output is returned by the `transmit` or `flush` that met it, and by every
//!   later `transmit`: the output is the device's wire.
//!
//! The MTU is 1500 and the MAC address `02:00:00:00:00:01` (locally administered) unless set;
//! set the MAC to the one the file's frames are addressed to. No checksum offload: replayed
//! frames carry whatever checksums they were captured with, and recorded ones should be complete.
//! Frames are copied through two reused buffers (the next input frame, read ahead so that
//! `rx_pending` needs no I/O, and the frame being transmitted): no allocation per frame.

mod record;

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::{PcapError, TsResolution};

use crate::clock::{Clock, SystemClock};
use crate::device::{Capabilities, Device, ETHERNET_HEADER_LEN, MacAddr, oversize_frame};
#[cfg(test)]
pub(crate) use record::SNAPLEN;
pub(crate) use record::{Recorder, pcap_error};

/// The default MAC address: locally administered, unicast.
const DEFAULT_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);

/// A standard Ethernet MTU.
const DEFAULT_MTU: usize = 1500;

/// Added to the error for a file that does not start like a classic pcap file.
const NOT_PCAP_HINT: &str =
    "not a classic pcap file; pcapng is not supported: convert with `editcap -F pcap`";

/// Output buffer size.
const OUTPUT_BUFFER: usize = 1 << 16;

/// A pcap device's counters, a snapshot taken by [`PcapDevice::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PcapStats {
    /// Frames handed out by `receive`.
    pub rx_frames: u64,
    /// Input frames read so far (handed out, or read ahead to be next) that the capture had
    /// truncated: captured length below the original length.
    pub rx_truncated: u64,
    /// Frames recorded by `transmit`.
    pub tx_frames: u64,
}

/// Replays a pcap file as received frames and records transmitted frames into another; see the
/// [module documentation](self).
pub struct PcapDevice {
    input: Input,
    /// The next input frame, read ahead.
    next: Vec<u8>,
    /// Its file timestamp.
    next_timestamp: Duration,
    has_next: bool,
    /// An input error met while reading ahead, returned by the next `receive`.
    input_error: Option<io::Error>,
    output: Recorder<BufWriter<File>>,
    output_path: PathBuf,
    /// The frame being transmitted.
    tx_buffer: Vec<u8>,
    stamp_clock: Box<dyn Clock>,
    timing: Option<Timing>,
    mtu: usize,
    mac: MacAddr,
    stats: PcapStats,
}

/// The input file being read.
struct Input {
    reader: PcapReader<File>,
    path: PathBuf,
    ts_resolution: TsResolution,
    /// Frames read so far (for error messages).
    frames_read: u64,
}

impl Input {
    /// Reads the next frame into `frame`: its timestamp and whether the capture truncated it, or
    /// `None` at the end of the file.
    fn read(&mut self, frame: &mut Vec<u8>) -> io::Result<Option<(Duration, bool)>> {
        let Some(result) = self.reader.next_raw_packet() else {
            return Ok(None);
        };
        // The raw packet: pcap-file's checked one refuses valid files whose original lengths
        // exceed the snapshot length (any capture taken with a short snapshot).
        let packet = result.map_err(|err| {
            let context = format!(
                "pcap input {}: frame {}",
                self.path.display(),
                self.frames_read + 1
            );
            pcap_error(err, &context)
        })?;
        frame.clear();
        frame.extend_from_slice(&packet.data);
        let frac = u64::from(packet.ts_frac);
        let nanos = match self.ts_resolution {
            TsResolution::MicroSecond => frac.saturating_mul(1000),
            TsResolution::NanoSecond => frac,
        };
        let timestamp = Duration::from_secs(u64::from(packet.ts_sec))
            .saturating_add(Duration::from_nanos(nanos));
        self.frames_read += 1;
        Ok(Some((timestamp, packet.incl_len < packet.orig_len)))
    }
}

/// Replay at the file's pace.
struct Timing {
    clock: Box<dyn Clock>,
    /// Clock reading when timing started, matched with `first_timestamp`.
    start: Duration,
    first_timestamp: Duration,
}

impl PcapDevice {
    /// Opens `input` for replay and creates `output` (replacing any existing file) for the
    /// transmitted frames. The input is checked first: a bad input creates no output.
    pub fn open(input: impl AsRef<Path>, output: impl AsRef<Path>) -> io::Result<PcapDevice> {
        let input_path = input.as_ref().to_path_buf();
        let output_path = output.as_ref().to_path_buf();
        let shown = input_path.display();
        let file = File::open(&input_path).map_err(|err| {
            io::Error::new(err.kind(), format!("cannot open pcap input {shown}: {err}"))
        })?;
        let reader = PcapReader::new(file).map_err(|err| {
            let wrong_magic = matches!(err, PcapError::InvalidField(m) if m.contains("magic"));
            let err = pcap_error(err, &format!("pcap input {shown}"));
            if wrong_magic {
                io::Error::new(err.kind(), format!("{err} ({NOT_PCAP_HINT})"))
            } else {
                err
            }
        })?;
        let header = reader.header();
        if header.datalink != DataLink::ETHERNET {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "pcap input {shown}: link type {:?} ({}) is not Ethernet (1)",
                    header.datalink,
                    u32::from(header.datalink)
                ),
            ));
        }
        let mut input = Input {
            reader,
            path: input_path,
            ts_resolution: header.ts_resolution,
            frames_read: 0,
        };
        let mut next = Vec::new();
        let first = input.read(&mut next)?;
        let shown = output_path.display();
        let file = File::create(&output_path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot create pcap output {shown}: {err}"),
            )
        })?;
        let writer = BufWriter::with_capacity(OUTPUT_BUFFER, file);
        let output = Recorder::new(writer, format!("pcap output {shown}"))?;
        let mut device = PcapDevice {
            input,
            next,
            next_timestamp: Duration::ZERO,
            has_next: false,
            input_error: None,
            output,
            output_path,
            tx_buffer: Vec::new(),
            stamp_clock: Box::new(SystemClock::since_unix_epoch()),
            timing: None,
            mtu: DEFAULT_MTU,
            mac: DEFAULT_MAC,
            stats: PcapStats::default(),
        };
        device.accept(first);
        Ok(device)
    }

    /// Sets the MTU (1500 by default).
    pub fn with_mtu(mut self, mtu: usize) -> PcapDevice {
        self.mtu = mtu;
        self
    }

    /// Sets the MAC address (`02:00:00:00:00:01` by default).
    pub fn with_mac(mut self, mac: MacAddr) -> PcapDevice {
        self.mac = mac;
        self
    }

    /// Stamps transmitted frames with `clock`'s readings, taken as time since the Unix epoch,
    /// instead of the system clock.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> PcapDevice {
        self.stamp_clock = Box::new(clock);
        self
    }

    /// Replays at the file's pace, measured on `clock`, from now: the next frame is receivable at
    /// once, and each later one when as much time has passed on `clock` as separated it from
    /// that frame in the file. (A frame stamped earlier than that first one is due at once.)
    /// Transmitted frames are still stamped by the clock of [`PcapDevice::with_clock`].
    pub fn with_timing(mut self, clock: impl Clock + 'static) -> PcapDevice {
        let start = clock.now();
        self.timing = Some(Timing {
            clock: Box::new(clock),
            start,
            first_timestamp: self.next_timestamp,
        });
        self
    }

    /// The input file.
    pub fn input_path(&self) -> &Path {
        &self.input.path
    }

    /// The output file.
    pub fn output_path(&self) -> &Path {
        &self.output_path
    }

    /// Whether every input frame has been handed out (or the input failed).
    pub fn is_exhausted(&self) -> bool {
        !self.has_next
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> PcapStats {
        self.stats
    }

    /// Writes out the output and closes it, reporting any error (dropping the device also writes
    /// the output out, but cannot report errors).
    pub fn finish(self) -> io::Result<()> {
        self.output.finish().map(drop)
    }

    /// Reads the next input frame into `self.next`; at the end of the input or on an error
    /// (kept in `input_error`), `has_next` becomes false.
    fn read_ahead(&mut self) {
        match self.input.read(&mut self.next) {
            Ok(frame) => self.accept(frame),
            Err(err) => {
                self.has_next = false;
                self.input_error = Some(err);
            }
        }
    }

    /// Takes note of what [`Input::read`] found.
    fn accept(&mut self, frame: Option<(Duration, bool)>) {
        self.has_next = frame.is_some();
        if let Some((timestamp, truncated)) = frame {
            self.next_timestamp = timestamp;
            self.stats.rx_truncated += u64::from(truncated);
        }
    }

    /// When, on the timing clock, the next frame is due; `None` without timing.
    fn next_due(&self) -> Option<(Duration, Duration)> {
        let timing = self.timing.as_ref()?;
        let offset = self.next_timestamp.saturating_sub(timing.first_timestamp);
        Some((timing.start.saturating_add(offset), timing.clock.now()))
    }

    /// Whether the next frame may be handed out now.
    fn next_is_due(&self) -> bool {
        self.has_next && self.next_due().is_none_or(|(due, now)| due <= now)
    }
}

impl core::fmt::Debug for PcapDevice {
    /// Shows the files, settings and counters.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PcapDevice")
            .field("input", &self.input.path)
            .field("output", &self.output_path)
            .field("mtu", &self.mtu)
            .field("mac", &self.mac)
            .field("timed", &self.timing.is_some())
            .field("exhausted", &!self.has_next)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Device for PcapDevice {
    fn receive(&mut self, budget: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let mut delivered = 0;
        while delivered < budget && self.next_is_due() {
            sink(&self.next);
            delivered += 1;
            self.stats.rx_frames += 1;
            self.read_ahead();
        }
        if delivered == 0 {
            if let Some(err) = self.input_error.take() {
                return Err(err);
            }
        }
        Ok(delivered)
    }

    fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> io::Result<bool> {
        if len > self.mtu.saturating_add(ETHERNET_HEADER_LEN) {
            return Err(oversize_frame(len, self.mtu));
        }
        self.tx_buffer.clear();
        self.tx_buffer.resize(len, 0);
        fill(&mut self.tx_buffer);
        self.output
            .record(self.stamp_clock.now(), &self.tx_buffer)?;
        self.stats.tx_frames += 1;
        Ok(true)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.output.flush()
    }

    fn next_poll_in(&self) -> Option<Duration> {
        if !self.has_next {
            return None;
        }
        let (due, now) = self.next_due()?;
        Some(due.saturating_sub(now))
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn mac(&self) -> MacAddr {
        self.mac
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    fn rx_pending(&self) -> bool {
        self.next_is_due() || self.input_error.is_some()
    }
}

#[cfg(test)]
mod tests;
