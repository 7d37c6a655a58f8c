//! Writing frames to a pcap file, shared by [`PcapDevice`](super::PcapDevice) (its output) and
//! [`Capture`](crate::capture::Capture): the format is pcap-file's, and so is the packet encoding;
//! this module only adds what a device needs around it.
//!
//! - The file: classic pcap 2.4, link type Ethernet, nanosecond timestamps, the machine's byte
//!   order, and a snapshot length of 262,144 bytes (tcpdump's default, above the in-process
//!   loopback's 65,550-byte frames); a longer frame is recorded truncated to that, with its
//!   original length, as tcpdump does.
//! - No allocation per frame: packets are written from the borrowed frame
//!   ([`PcapPacket::new`] borrows its data).
//! - Flushing at chosen moments. pcap-file's [`PcapWriter`] owns its writer and does not lend it
//!   back, so the writer is shared with it through an `Rc<RefCell<..>>` (single-threaded, like the
//!   devices) and flushed through the other handle.
//! - Failure: after the first write or flush error, nothing more is written (a partly written
//!   record would make every later one unreadable); the error is kept for the owner to report.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

/// Largest number of bytes recorded per frame (tcpdump's default snapshot length).
pub(crate) const SNAPLEN: u32 = 262_144;

/// The latest timestamp pcap can hold (seconds are 32-bit); later times are recorded as this.
const MAX_TIMESTAMP: Duration = Duration::new(u32::MAX as u64, 999_999_999);

/// A writer shared between the [`PcapWriter`] and the [`Recorder`] that flushes it.
struct SharedWriter<W>(Rc<RefCell<W>>);

impl<W: Write> Write for SharedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

struct Open<W: Write> {
    pcap: PcapWriter<SharedWriter<W>>,
    writer: Rc<RefCell<W>>,
}

/// Records frames into a pcap stream; see the [module documentation](self).
pub(crate) struct Recorder<W: Write> {
    /// `None` once finished.
    open: Option<Open<W>>,
    /// What the stream is, for error messages ("capture file /tmp/x.pcap").
    name: String,
    /// The first error met, after which nothing more is written.
    error: Option<io::Error>,
    frames: u64,
}

impl<W: Write> Recorder<W> {
    /// Writes the file header to `writer`; `name` says what the stream is in error messages.
    pub(crate) fn new(writer: W, name: String) -> io::Result<Recorder<W>> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::native(),
        };
        let writer = Rc::new(RefCell::new(writer));
        let pcap = PcapWriter::with_header(SharedWriter(Rc::clone(&writer)), header)
            .map_err(|err| pcap_error(err, &format!("writing the header of {name}")))?;
        Ok(Recorder {
            open: Some(Open { pcap, writer }),
            name,
            error: None,
            frames: 0,
        })
    }

    /// Whether an earlier error stopped the recording.
    pub(crate) fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The first error met, if any.
    pub(crate) fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// How many frames were recorded.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// Records one frame seen at `timestamp` (since the Unix epoch). Fails if an earlier error
    /// stopped the recording.
    pub(crate) fn record(&mut self, timestamp: Duration, frame: &[u8]) -> io::Result<()> {
        if let Some(err) = &self.error {
            return Err(stopped(err));
        }
        let Some(open) = &mut self.open else {
            return Err(io::Error::other(format!("{} is already closed", self.name)));
        };
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let captured = frame.len().min(SNAPLEN as usize);
        let packet = PcapPacket::new(timestamp.min(MAX_TIMESTAMP), orig_len, &frame[..captured]);
        match open.pcap.write_packet(&packet) {
            Ok(_) => {
                self.frames += 1;
                Ok(())
            }
            Err(err) => {
                let err = pcap_error(err, &format!("writing frame to {}", self.name));
                let reported = stopped(&err);
                self.error = Some(err);
                Err(reported)
            }
        }
    }

    /// Flushes the writer. An error stops the recording, like a write error.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if let Some(err) = &self.error {
            return Err(stopped(err));
        }
        let Some(open) = &mut self.open else {
            return Ok(());
        };
        let flushed = open.writer.borrow_mut().flush();
        flushed.map_err(|err| {
            let err = io::Error::new(err.kind(), format!("flushing {}: {err}", self.name));
            let reported = stopped(&err);
            self.error = Some(err);
            reported
        })
    }

    /// Flushes and returns the writer; fails if the flush fails or an earlier error stopped the
    /// recording (the file is then incomplete).
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.flush()?;
        let Some(Open { pcap, writer }) = self.open.take() else {
            return Err(io::Error::other(format!("{} is already closed", self.name)));
        };
        drop(pcap);
        match Rc::try_unwrap(writer) {
            Ok(writer) => Ok(writer.into_inner()),
            // Unreachable: the `PcapWriter` held the only other handle.
            Err(_) => Err(io::Error::other(format!("{} is still shared", self.name))),
        }
    }
}

impl<W: Write> Drop for Recorder<W> {
    /// Flushes what is buffered; an error here cannot be reported (use `finish` to see it).
    fn drop(&mut self) {
        if self.error.is_none() {
            if let Some(open) = &self.open {
                if let Ok(mut writer) = open.writer.try_borrow_mut() {
                    let _ = writer.flush();
                }
            }
        }
    }
}

/// The error returned for a frame when an earlier error stopped the recording.
fn stopped(first: &io::Error) -> io::Error {
    io::Error::new(first.kind(), format!("capture stopped: {first}"))
}

/// Converts a pcap-file error into an `io::Error` whose message starts with `context`. A stream
/// that ends in the middle of a header or a frame is `InvalidData` ("truncated"), like any other
/// malformed content; errors of the underlying reader or writer keep their kind.
pub(crate) fn pcap_error(err: PcapError, context: &str) -> io::Error {
    match err {
        PcapError::IoError(err) if err.kind() == io::ErrorKind::UnexpectedEof => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{context}: truncated (the file ends inside a header or a frame)"),
        ),
        PcapError::IncompleteBuffer => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{context}: truncated (the file ends inside a header or a frame)"),
        ),
        PcapError::IoError(err) => io::Error::new(err.kind(), format!("{context}: {err}")),
        PcapError::InvalidField(what) => {
            io::Error::new(io::ErrorKind::InvalidData, format!("{context}: {what}"))
        }
        other => io::Error::new(io::ErrorKind::InvalidData, format!("{context}: {other}")),
    }
}
