//! [`Builder`]: runtime configuration, with tokio's method names, plus the network: the
//! interfaces of the runtime's stack, its settings, a pcap capture, and how devices are polled.

use std::fmt;
use std::io;
use std::path::PathBuf;

use sockeye_netstack::StackConfig;

use super::{Interface, Network, Runtime};
use crate::driver::NetSetup;
use crate::sched::{Core, DEFAULT_EVENT_INTERVAL};

/// How many empty polls follow a poll that received frames before the runtime blocks again.
const DEFAULT_BUSY_POLLS: u32 = 1;

/// Configures and builds a [`Runtime`].
///
/// sockeye runs one executor per thread, so `new_multi_thread` and `worker_threads` are accepted
/// for source compatibility with tokio and build the same single-threaded runtime; run one
/// runtime per thread to use more cores. `enable_io`/`enable_time`/`enable_all` are accepted
/// too: I/O and timers are always on.
///
/// **Network.** Every runtime owns a userspace TCP/IP stack and the devices of its interfaces.
/// Name them with [`Builder::interface`]; a builder that names none reads the environment
/// (`SOCKEYE_NIC`, `SOCKEYE_IP`, `SOCKEYE_GATEWAY`, `SOCKEYE_CAPTURE`, `SOCKEYE_SYSCTL`, the
/// way `Runtime::new()` and `#[sockeye::main]` do) and, with none of them set, uses the
/// in-process loopback with `127.0.0.1/8`. A [`Network`] given to [`Builder::network`] (from
/// command-line flags, say) replaces the environment. A builder with interfaces ignores both.
pub struct Builder {
    event_interval: u32,
    interfaces: Vec<Interface>,
    network: Option<Network>,
    stack_config: Option<StackConfig>,
    capture: Option<PathBuf>,
    nic_poll_budget: Option<usize>,
    nic_busy_polls: u32,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("event_interval", &self.event_interval)
            .field("interfaces", &self.interfaces)
            .field("network", &self.network)
            .field("capture", &self.capture)
            .field("nic_poll_budget", &self.nic_poll_budget)
            .field("nic_busy_polls", &self.nic_busy_polls)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// A builder for a runtime on the current thread.
    pub fn new_current_thread() -> Builder {
        Builder {
            event_interval: DEFAULT_EVENT_INTERVAL,
            interfaces: Vec::new(),
            network: None,
            stack_config: None,
            capture: None,
            nic_poll_budget: None,
            nic_busy_polls: DEFAULT_BUSY_POLLS,
        }
    }

    /// The same as [`Builder::new_current_thread`] (see the type docs).
    pub fn new_multi_thread() -> Builder {
        Builder::new_current_thread()
    }

    /// Accepted for compatibility; I/O and timers are always enabled.
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// Accepted for compatibility; I/O is always enabled.
    pub fn enable_io(&mut self) -> &mut Builder {
        self
    }

    /// Accepted for compatibility; timers are always enabled.
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// Accepted for compatibility (see the type docs).
    ///
    /// # Panics
    /// If `threads` is zero, as tokio does.
    pub fn worker_threads(&mut self, threads: usize) -> &mut Builder {
        assert!(threads > 0, "worker threads cannot be set to 0");
        self
    }

    /// How many tasks run between two looks at timers and I/O (default 61, as tokio). Lower values
    /// make timers and I/O more responsive under load; higher values batch more.
    ///
    /// # Panics
    /// If `ticks` is zero.
    pub fn event_interval(&mut self, ticks: u32) -> &mut Builder {
        assert!(ticks > 0, "event_interval must be at least 1");
        self.event_interval = ticks;
        self
    }

    /// Adds a network interface to the runtime's stack (the first one added is interface 0).
    /// With at least one, the environment's `SOCKEYE_*` variables are ignored.
    pub fn interface(&mut self, interface: Interface) -> &mut Builder {
        self.interfaces.push(interface);
        self
    }

    /// Uses the device, address, gateway, capture and sysctl settings `network` describes
    /// instead of the `SOCKEYE_*` environment (when the builder names no interface). Its
    /// sysctl settings apply on top of [`Builder::stack_config`], and a capture set with
    /// [`Builder::capture`] wins over its own.
    pub fn network(&mut self, network: Network) -> &mut Builder {
        self.network = Some(network);
        self
    }

    /// The stack's settings (Linux sysctl names and defaults; see `sockeye::netstack::config`).
    /// Without interfaces on the builder, `SOCKEYE_SYSCTL` (or the [`Builder::network`]'s
    /// settings) is applied on top of them.
    pub fn stack_config(&mut self, config: StackConfig) -> &mut Builder {
        self.stack_config = Some(config);
        self
    }

    /// Records every frame of every interface into a pcap file at `path` (interface N > 0
    /// writes `path` with `-ifN` before the extension), like `SOCKEYE_CAPTURE`. The capture can
    /// be switched at run time with `sockeye::stack::capture`.
    pub fn capture(&mut self, path: impl Into<PathBuf>) -> &mut Builder {
        self.capture = Some(path.into());
        self
    }

    /// How many frames one receive call takes from a device (the NAPI budget). Default: the
    /// device's preferred burst (64 for every device sockeye has).
    ///
    /// # Panics
    /// If `frames` is zero.
    pub fn nic_poll_budget(&mut self, frames: usize) -> &mut Builder {
        assert!(frames > 0, "the NIC poll budget must be at least 1 frame");
        self.nic_poll_budget = Some(frames);
        self
    }

    /// After a poll of the devices that received frames, how many further polls the runtime
    /// makes without blocking in epoll, even if they find nothing, before it blocks again
    /// (NAPI-style busy polling under sustained traffic). Default 1: back to blocking as soon
    /// as a poll finds nothing. 0 never skips blocking.
    pub fn nic_busy_polls(&mut self, polls: u32) -> &mut Builder {
        self.nic_busy_polls = polls;
        self
    }

    /// Builds the runtime: opens the [`Builder::network`]'s device, or the environment's, if
    /// the builder names no interface, and starts the capture if one was asked for. The
    /// builder's interfaces move into the runtime (a second `build` reads the environment
    /// again); a network stays and is opened again.
    ///
    /// # Errors
    /// When the OS refuses an epoll instance or an eventfd; for a bad `SOCKEYE_*` value (an
    /// `InvalidInput` error naming the variable) or a device that cannot be opened (the
    /// message names the variable or flag); when the capture file cannot be created.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let mut config = self.stack_config.clone().unwrap_or_default();
        let mut capture = self.capture.clone();
        let interfaces = if self.interfaces.is_empty() {
            let setup = match &self.network {
                Some(network) => network.clone(),
                None => Network::from_env()?,
            };
            setup.apply_sysctl(&mut config)?;
            capture = capture.or_else(|| setup.capture.clone());
            vec![setup.interface()?]
        } else {
            std::mem::take(&mut self.interfaces)
        };
        let net = NetSetup {
            interfaces,
            config,
            capture,
            poll_budget: self.nic_poll_budget,
            busy_polls: self.nic_busy_polls,
        };
        Ok(Runtime::from_core(Core::new(self.event_interval, net)?))
    }
}
