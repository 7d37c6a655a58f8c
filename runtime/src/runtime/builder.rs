//! [`Builder`]: runtime configuration, with tokio's method names.

use std::io;

use super::Runtime;
use crate::sched::{Core, DEFAULT_EVENT_INTERVAL};

/// Configures and builds a [`Runtime`].
///
/// sockeye runs one executor per thread, so `new_multi_thread` and `worker_threads` are accepted
/// for source compatibility with tokio and build the same single-threaded runtime; run one
/// runtime per thread to use more cores. `enable_io`/`enable_time`/`enable_all` are accepted
/// too: I/O and timers are always on.
#[derive(Debug, Clone)]
pub struct Builder {
    event_interval: u32,
}

impl Builder {
    /// A builder for a runtime on the current thread.
    pub fn new_current_thread() -> Builder {
        Builder {
            event_interval: DEFAULT_EVENT_INTERVAL,
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

    /// Builds the runtime.
    ///
    /// # Errors
    /// When the OS refuses an epoll instance or an eventfd.
    pub fn build(&mut self) -> io::Result<Runtime> {
        Ok(Runtime::from_core(Core::new(self.event_interval)?))
    }
}
