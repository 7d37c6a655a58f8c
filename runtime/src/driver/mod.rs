//! The stack driver: the runtime's one [`Stack`] per thread and the devices of its interfaces,
//! and what each tick does with them.
//!
//! Every time the executor looks at I/O (see `sched`), [`NetDriver::poll`]:
//! 1. pulls up to a budget of frames from each device that may have some (an in-process device
//!    that says frames wait; a kernel device whose descriptor epoll saw readable) into
//!    [`Stack::receive_or_queue`], which wakes the tasks whose sockets became ready. The stack
//!    processes at most `netdev_budget` frames per turn (older frames from its receive backlog
//!    first); frames beyond wait in that backlog, bounded by `netdev_max_backlog` and counted
//!    in `DevRxBacklogDrops` when it is full;
//! 2. when the stack has output, a timer due, or just received frames, runs
//!    [`Stack::transmit`], which fires the stack's due timers and writes every frame it wants
//!    sent straight into the devices' transmit buffers (stopping on back-pressure);
//! 3. lets each device move frames it holds (`Device::flush`).
//!
//! Then, if no task is ready, the executor asks [`NetDriver::next_timeout`] how long it may block
//! in epoll: not at all while a device has frames waiting or the stack has output it could send
//! (the in-process loopback has no descriptor to wake epoll, so this is what carries its
//! traffic), otherwise until the stack's next timer or a device's next deadline, whichever is
//! first; kernel devices wake epoll through their descriptor.
//!
//! **Busy polling (NAPI-style).** After a poll that received frames the executor does not block
//! for the next `busy_polls` turns (default 1) even if they find nothing; it polls the devices
//! again with a zero epoll timeout, so a steady stream of frames is taken without a
//! sleep/wake-up per batch. The first run of `busy_polls` empty polls returns it to blocking.
//! Both the per-device budget (frames per receive call; by default the device's preferred burst,
//! 64) and `busy_polls` are set on the runtime `Builder`.

pub(crate) mod nic;

use std::cell::{Cell, RefCell};
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use sockeye_netstack::wire::ethernet::EthernetAddress;
use sockeye_netstack::{IfaceId, InterfaceConfig, Stack, StackConfig};

use crate::reactor::Reactor;
use crate::runtime::Interface;
use nic::Nic;

/// Extra receive rounds a turn makes for frames an in-process device handed straight back.
const REPOLLS: usize = 3;

/// Everything the builder says about the network.
pub(crate) struct NetSetup {
    pub(crate) interfaces: Vec<Interface>,
    pub(crate) config: StackConfig,
    pub(crate) capture: Option<PathBuf>,
    pub(crate) poll_budget: Option<usize>,
    pub(crate) busy_polls: u32,
}

/// One thread's stack and devices.
pub(crate) struct NetDriver {
    pub(crate) stack: RefCell<Stack>,
    nics: RefCell<Vec<Nic>>,
    /// The stack's time origin: `now` is the time since then.
    origin: std::time::Instant,
    busy_polls: u32,
    /// Polls left before blocking again.
    busy_left: Cell<u32>,
    /// The last transmit stopped on a device's back-pressure: output waits for the device (its
    /// `next_poll_in` or a receive), not for the next turn.
    blocked: Cell<bool>,
    /// The capture path the builder or `SOCKEYE_CAPTURE` asked for, or the last switch.
    capture_path: RefCell<Option<PathBuf>>,
    /// The stack's time for this turn of the executor: read once by [`NetDriver::poll`] (or
    /// the first socket call after a wait) and shared by every socket call until the next
    /// poll, like Linux's per-softirq `tcp_clock_cache`. Forgotten before the executor blocks.
    tick: Cell<Option<sockeye_netstack::Instant>>,
}

impl NetDriver {
    /// Adds the interfaces to a new stack and registers the devices' descriptors.
    pub(crate) fn new(setup: NetSetup, reactor: &Rc<Reactor>) -> io::Result<NetDriver> {
        let mut stack = Stack::new(setup.config);
        let mut nics = Vec::with_capacity(setup.interfaces.len());
        for iface in setup.interfaces {
            let caps = iface.device.capabilities();
            let mac = iface.mac.unwrap_or_else(|| iface.device.mac());
            stack.add_interface(InterfaceConfig {
                mac: EthernetAddress(mac.0),
                addr: iface.addr,
                mtu: iface.device.mtu(),
                checksum_offload: caps.rx_checksum_offload && caps.tx_checksum_offload,
                gateway: iface.gateway,
                loopback: caps.loops_back,
            });
            nics.push(Nic::new(iface.device, setup.poll_budget, reactor)?);
        }
        let driver = NetDriver {
            stack: RefCell::new(stack),
            nics: RefCell::new(nics),
            origin: std::time::Instant::now(),
            busy_polls: setup.busy_polls,
            busy_left: Cell::new(0),
            blocked: Cell::new(false),
            capture_path: RefCell::new(None),
            tick: Cell::new(None),
        };
        if let Some(path) = setup.capture {
            driver.start_capture(&path)?;
        }
        Ok(driver)
    }

    /// The stack's notion of now (the time since the driver started), as of this turn.
    pub(crate) fn now(&self) -> sockeye_netstack::Instant {
        match self.tick.get() {
            Some(t) => t,
            None => self.refresh(),
        }
    }

    /// Reads the clock for a new turn.
    fn refresh(&self) -> sockeye_netstack::Instant {
        let t = self.stack_time(std::time::Instant::now());
        self.tick.set(Some(t));
        t
    }

    /// `now` as the stack's time.
    fn stack_time(&self, now: std::time::Instant) -> sockeye_netstack::Instant {
        let micros = now.saturating_duration_since(self.origin).as_micros();
        sockeye_netstack::Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// Runs `f` on the stack with the current time.
    ///
    /// # Panics
    /// If called while the stack is in use (from inside another `with_stack`).
    pub(crate) fn with_stack<R>(
        &self,
        f: impl FnOnce(&mut Stack, sockeye_netstack::Instant) -> R,
    ) -> R {
        let now = self.now();
        f(&mut self.stack.borrow_mut(), now)
    }

    /// One turn of the network: receive, timers and transmit, device flushes (see the module
    /// docs). Returns how many frames were received.
    ///
    /// When the transmit put frames into an in-process device that hands them straight back
    /// (the loopback), the turn receives them at once, up to [`REPOLLS`] times, instead of
    /// leaving them for the next turn: the other end of a connection on this stack sees a
    /// request in the turn that sent it.
    pub(crate) fn poll(&self, now: std::time::Instant) -> usize {
        // A new turn, at the executor's reading of the clock.
        let t = self.stack_time(now);
        self.tick.set(Some(t));
        let mut stack = self.stack.borrow_mut();
        let mut nics = self.nics.borrow_mut();
        let mut received = 0;
        for round in 0..=REPOLLS {
            let mut got = 0;
            if stack.rx_backlog_len() > 0 {
                got += stack.start_receive(t);
            }
            let mut started = got > 0;
            for (index, nic) in nics.iter_mut().enumerate() {
                if !nic.rx_wanted() {
                    continue;
                }
                if !started {
                    stack.start_receive(t);
                    started = true;
                }
                let iface = IfaceId(index as u16);
                got += nic.receive(&mut |frame| stack.receive_or_queue(t, iface, frame));
            }
            received += got;
            let due = round == 0 && stack.poll_at().is_some_and(|at| at <= t);
            if got > 0 || due || stack.has_egress() {
                let mut blocked = false;
                stack.transmit(t, &mut |iface, len, fill| {
                    let ok = nics[usize::from(iface.0)].transmit(len, fill);
                    blocked |= !ok;
                    ok
                });
                self.blocked.set(blocked && stack.has_egress());
            }
            let again = stack.rx_backlog_len() > 0 || nics.iter().any(|n| n.device().rx_pending());
            if !again {
                break;
            }
        }
        for nic in nics.iter_mut() {
            nic.flush();
        }
        if received > 0 {
            self.busy_left.set(self.busy_polls);
        } else {
            self.busy_left.set(self.busy_left.get().saturating_sub(1));
        }
        received
    }

    /// How long the executor may block in epoll as far as the network is concerned (`None`:
    /// until a descriptor or another source wakes it).
    pub(crate) fn next_timeout(&self, now: std::time::Instant) -> Option<Duration> {
        if self.busy_left.get() > 0 {
            return Some(Duration::ZERO);
        }
        // The executor may block now: the next socket call reads the clock again.
        self.tick.set(None);
        let stack = self.stack.borrow();
        let nics = self.nics.borrow();
        let waiting = stack.rx_backlog_len() > 0 || nics.iter().any(|n| n.device().rx_pending());
        if waiting || (!self.blocked.get() && stack.has_egress()) {
            return Some(Duration::ZERO);
        }
        let mut timeout = stack
            .poll_at()
            .map(|at| at.saturating_duration_since(self.stack_time(now)));
        for nic in nics.iter() {
            if let Some(d) = nic.device().next_poll_in() {
                timeout = Some(timeout.map_or(d, |t| t.min(d)));
            }
        }
        timeout
    }

    /// Starts capturing every interface into pcap files: `path` for the first interface, and
    /// `path` with `-ifN` added before the extension for interface N > 0.
    pub(crate) fn start_capture(&self, path: &Path) -> io::Result<()> {
        let mut nics = self.nics.borrow_mut();
        for (index, nic) in nics.iter_mut().enumerate() {
            nic.start_capture(&capture_path(path, index))?;
        }
        *self.capture_path.borrow_mut() = Some(path.to_path_buf());
        Ok(())
    }

    /// Stops capturing on every interface; returns the frames recorded.
    pub(crate) fn stop_capture(&self) -> io::Result<u64> {
        let mut nics = self.nics.borrow_mut();
        let mut total = 0;
        let mut first_error = None;
        for nic in nics.iter_mut() {
            match nic.stop_capture() {
                Ok(n) => total += n,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        *self.capture_path.borrow_mut() = None;
        first_error.map_or(Ok(total), Err)
    }

    /// Where the running capture writes (the first interface's file), if one runs.
    pub(crate) fn capture_path(&self) -> Option<PathBuf> {
        let capturing = self.nics.borrow().iter().any(Nic::capturing);
        capturing
            .then(|| self.capture_path.borrow().clone())
            .flatten()
    }

    /// Device errors per interface (count and the last one's message).
    pub(crate) fn device_errors(&self) -> Vec<(u64, Option<String>)> {
        self.nics
            .borrow()
            .iter()
            .map(|n| (n.errors, n.last_error.as_ref().map(ToString::to_string)))
            .collect()
    }
}

/// The capture file of interface `index`: `path` itself for the first.
fn capture_path(path: &Path, index: usize) -> PathBuf {
    if index == 0 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-if{index}.{}", ext.to_string_lossy()),
        None => format!("{stem}-if{index}"),
    };
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_paths_per_interface() {
        let p = Path::new("/tmp/run.pcap");
        assert_eq!(capture_path(p, 0), PathBuf::from("/tmp/run.pcap"));
        assert_eq!(capture_path(p, 2), PathBuf::from("/tmp/run-if2.pcap"));
        assert_eq!(capture_path(Path::new("cap"), 1), PathBuf::from("cap-if1"));
    }
}
