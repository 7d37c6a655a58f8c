//! [`Nic`]: one interface's device as the driver holds it: the device (wrapped in a pcap
//! [`Capture`] while capturing), the reactor registration of its descriptor if it has one, its
//! receive budget, and the errors it reported.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::rc::Rc;

use sockeye_nic::{Capture, Device};

use crate::reactor::{Interest, Reactor, Registration};

/// Capture file buffer size.
const CAPTURE_BUFFER: usize = 1 << 16;

/// The device, captured or not.
enum Dev {
    Plain(Box<dyn Device>),
    Captured(Capture<Box<dyn Device>>),
    /// Only while switching between the two.
    Switching,
}

/// A device driven by the runtime.
pub(crate) struct Nic {
    /// Declared before the device so that it is dropped (deregistered) while the fd is open.
    registration: Option<Registration>,
    dev: Dev,
    /// Frames taken per receive call.
    budget: usize,
    /// Device errors met while receiving, transmitting or flushing (the frame concerned is lost,
    /// the device stays in use), and the last one.
    pub(crate) errors: u64,
    pub(crate) last_error: Option<io::Error>,
}

impl Nic {
    /// Takes `device` over, registering its descriptor (if any) with `reactor`. `budget` of
    /// `None` uses the device's preferred burst.
    pub(crate) fn new(
        device: Box<dyn Device>,
        budget: Option<usize>,
        reactor: &Rc<Reactor>,
    ) -> io::Result<Nic> {
        let registration = match device.raw_fd() {
            Some(fd) => Some(Registration::with_reactor(reactor, fd, Interest::READABLE)?),
            None => None,
        };
        let budget = budget
            .unwrap_or_else(|| device.capabilities().max_burst)
            .max(1);
        Ok(Nic {
            registration,
            dev: Dev::Plain(device),
            budget,
            errors: 0,
            last_error: None,
        })
    }

    pub(crate) fn device(&self) -> &dyn Device {
        match &self.dev {
            Dev::Plain(d) => &**d,
            Dev::Captured(c) => c,
            Dev::Switching => unreachable!("a device is never left switching"),
        }
    }

    fn device_mut(&mut self) -> &mut dyn Device {
        match &mut self.dev {
            Dev::Plain(d) => &mut **d,
            Dev::Captured(c) => c,
            Dev::Switching => unreachable!("a device is never left switching"),
        }
    }

    fn record(&mut self, e: io::Error) {
        self.errors += 1;
        self.last_error = Some(e);
    }

    /// Whether a receive may find frames: the descriptor was seen readable, or an in-process
    /// device says frames wait.
    pub(crate) fn rx_wanted(&self) -> bool {
        match &self.registration {
            Some(r) => r.is_read_ready() || self.device().rx_pending(),
            None => self.device().rx_pending(),
        }
    }

    /// Hands up to the budget of received frames to `sink`; returns how many.
    pub(crate) fn receive(&mut self, sink: &mut dyn FnMut(&[u8])) -> usize {
        let budget = self.budget;
        let n = match self.device_mut().receive(budget, sink) {
            Ok(n) => n,
            Err(e) => {
                self.record(e);
                0
            }
        };
        if n < budget {
            // The descriptor was read until the kernel had nothing more (edge-triggered: the
            // next frame raises a new event).
            if let Some(r) = &self.registration {
                r.clear_read_ready();
            }
        }
        n
    }

    /// Transmits one frame; false on back-pressure. A device error loses the frame (counted).
    pub(crate) fn transmit(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> bool {
        match self.device_mut().transmit(len, fill) {
            Ok(queued) => queued,
            Err(e) => {
                self.record(e);
                true
            }
        }
    }

    /// Moves held frames on (see `Device::flush`).
    pub(crate) fn flush(&mut self) {
        if let Err(e) = self.device_mut().flush() {
            self.record(e);
        }
    }

    /// Whether a capture is running.
    pub(crate) fn capturing(&self) -> bool {
        matches!(self.dev, Dev::Captured(_))
    }

    /// Starts recording every frame into a new pcap file at `path` (replacing a running capture,
    /// which is finished first). On error the device stays as it was, not captured.
    pub(crate) fn start_capture(&mut self, path: &Path) -> io::Result<()> {
        self.stop_capture()?;
        let file = File::create(path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot create capture file {}: {err}", path.display()),
            )
        })?;
        let Dev::Plain(device) = std::mem::replace(&mut self.dev, Dev::Switching) else {
            unreachable!("stop_capture leaves the plain device");
        };
        // Writing the 24-byte pcap header into a fresh 64 KiB buffer cannot fail.
        let writer = BufWriter::with_capacity(CAPTURE_BUFFER, file);
        let capture = Capture::to_writer(device, writer).expect("a buffered pcap header");
        self.dev = Dev::Captured(capture);
        Ok(())
    }

    /// Finishes a running capture (flushing its file); returns the frames it recorded, or 0
    /// when none was running. The device keeps working either way; an error says the capture
    /// file is incomplete.
    pub(crate) fn stop_capture(&mut self) -> io::Result<u64> {
        if !self.capturing() {
            return Ok(0);
        }
        let Dev::Captured(capture) = std::mem::replace(&mut self.dev, Dev::Switching) else {
            unreachable!("checked above");
        };
        let frames = capture.frames_captured();
        let (device, result) = capture.into_inner();
        self.dev = Dev::Plain(device);
        result
            .map(|()| frames)
            .map_err(|e| io::Error::new(e.kind(), format!("the capture is incomplete: {e}")))
    }
}
