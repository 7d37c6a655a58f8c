//! The running thread's stack, seen from inside: its counters (Linux's names, printable like
//! `nstat`), its listeners' queues and counters, its TCP socket table (printable like
//! `ss -tanmo`, timers included), its settings (changeable by sysctl name), the capture
//! switch, and the device errors it met.
//!
//! Every function here reads or changes the stack of the runtime running on this thread.
//!
//! ```
//! use sockeye_runtime::{net::TcpListener, runtime::Runtime, stack};
//!
//! Runtime::new().unwrap().block_on(async {
//!     let path = std::env::temp_dir().join("sockeye-stack-doc.pcap");
//!     stack::capture(&path).unwrap();
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     println!("{}", stack::counters()); // like `nstat -a`
//!     println!("{}", stack::sockets()); // like `ss -tanmo`
//!     stack::stop_capture().unwrap();
//!     # drop(listener);
//! });
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sockeye_netstack::{
    ConfigError, ListenerReport, Nstat, Snapshot, SocketEntry, StackConfig, TcpState,
};

use crate::net::current_driver;

/// A snapshot of every counter (`/proc/net/snmp` and `/proc/net/netstat` names, e.g.
/// `TcpActiveOpens`, `TcpExtListenOverflows`). `Display` prints the non-zero ones like
/// `nstat -a`; `by_name` looks one up; `delta` diffs two snapshots.
///
/// # Panics
/// Outside a sockeye runtime (as every function of this module).
pub fn counters() -> Snapshot {
    current_driver().with_stack(|s, _| s.counters())
}

/// Every listener with its queues and counters (backlog, queue lengths, overflows, drops,
/// SYN cookies, ...), ordered by address.
pub fn listeners() -> Vec<ListenerReport> {
    current_driver().with_stack(|s, _| s.tcp_listeners())
}

/// The counters and every listener's stats at one moment; `Display` prints the counters like
/// `nstat -a` followed by one line per listener.
pub fn nstat() -> Nstat {
    current_driver().with_stack(|s, _| s.nstat())
}

/// Every TCP socket of the stack (listeners, connections, sockets still closing, such as
/// TIME_WAIT), with their running timers.
pub fn sockets() -> SocketTable {
    current_driver().with_stack(|s, now| SocketTable {
        entries: s.tcp_socket_table(),
        now,
    })
}

/// A copy of the stack's settings.
pub fn config() -> StackConfig {
    current_driver().with_stack(|s, _| s.config().clone())
}

/// Changes one setting by its sysctl name, as `sysctl -w` would (`"net.ipv4.tcp_syn_retries"`,
/// or the bare name, and the value as text); it applies to what happens next.
///
/// # Errors
/// An unknown name, or a value that does not parse or is out of range.
pub fn set_sysctl(name: &str, value: &str) -> Result<(), ConfigError> {
    current_driver().with_stack(|s, _| s.config_mut().set(name, value))
}

/// Starts recording every frame of every interface into a pcap file at `path` (interface N > 0
/// writes `path` with `-ifN` before the extension), replacing a running capture.
///
/// # Errors
/// When a file cannot be created (the interfaces then run uncaptured).
pub fn capture(path: impl AsRef<Path>) -> io::Result<()> {
    let driver = current_driver();
    let result = driver.start_capture(path.as_ref());
    if result.is_err() {
        let _ = driver.stop_capture();
    }
    result
}

/// Stops the running capture, flushing its files; returns how many frames it recorded (0 when
/// none was running).
///
/// # Errors
/// When a capture file could not be completely written (it is then truncated).
pub fn stop_capture() -> io::Result<u64> {
    current_driver().stop_capture()
}

/// Where the running capture writes (its first interface's file), if one runs.
pub fn capture_path() -> Option<PathBuf> {
    current_driver().capture_path()
}

/// The errors the devices reported, per interface (the frame concerned is lost; the device
/// stays in use).
pub fn device_errors() -> Vec<DeviceErrors> {
    current_driver()
        .device_errors()
        .into_iter()
        .map(|(count, last)| DeviceErrors { count, last })
        .collect()
}

/// Device errors of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceErrors {
    /// How many errors.
    pub count: u64,
    /// The last one's message.
    pub last: Option<String>,
}

/// The TCP socket table; `Display` prints it like `ss -tanmo` (a running timer as
/// `timer:(kind,time left,count)`).
#[derive(Debug, Clone)]
pub struct SocketTable {
    entries: Vec<SocketEntry>,
    /// The stack's time when the table was taken.
    now: sockeye_netstack::Instant,
}

impl SocketTable {
    /// The rows, in the stack's table order.
    pub fn entries(&self) -> &[SocketEntry] {
        &self.entries
    }

    /// How long until a row's timer fires, from when the table was taken (`None` without a
    /// running timer).
    pub fn timer_left(&self, entry: &SocketEntry) -> Option<Duration> {
        entry
            .timer
            .map(|t| t.expires.saturating_duration_since(self.now))
    }

    /// The rows in `state`.
    pub fn in_state(&self, state: TcpState) -> impl Iterator<Item = &SocketEntry> + '_ {
        self.entries.iter().filter(move |e| e.state == state)
    }
}

/// A timer's time left as `ss` shows it, to the millisecond: `1min5sec`, `59sec`, `1.5sec`,
/// `200ms`.
fn time_left(left: Duration) -> String {
    let ms = left.as_millis();
    let (min, sec, milli) = (ms / 60_000, ms / 1000 % 60, ms % 1000);
    match (min, sec, milli) {
        (0, 0, milli) => format!("{milli}ms"),
        (0, sec, 0) => format!("{sec}sec"),
        (0, sec, milli) => format!("{sec}.{milli:03}sec"),
        (min, 0, _) => format!("{min}min"),
        (min, sec, _) => format!("{min}min{sec}sec"),
    }
}

impl fmt::Display for SocketTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>6} {:>6} {:>21} {:>21}",
            "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"
        )?;
        for e in &self.entries {
            let peer = if e.remote.port() == 0 {
                format!("{}:*", e.remote.ip())
            } else {
                e.remote.to_string()
            };
            write!(
                f,
                "{:<10} {:>6} {:>6} {:>21} {:>21}",
                e.state.name(),
                e.recv_q,
                e.send_q,
                e.local.to_string(),
                peer
            )?;
            match (e.timer, self.timer_left(e)) {
                (Some(t), Some(left)) => writeln!(
                    f,
                    " timer:({},{},{})",
                    t.kind.name(),
                    time_left(left),
                    t.count
                )?,
                _ => writeln!(f)?,
            }
            let m = e.memory;
            writeln!(
                f,
                "\t skmem:(r{},rb{},t{},tb{})",
                m.rmem_alloc, m.rcvbuf, m.wmem_alloc, m.sndbuf
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_print_like_ss() {
        let ms = Duration::from_millis;
        assert_eq!(time_left(ms(0)), "0ms");
        assert_eq!(time_left(ms(200)), "200ms");
        assert_eq!(time_left(ms(59_000)), "59sec");
        assert_eq!(time_left(ms(1_500)), "1.500sec");
        assert_eq!(time_left(ms(60_000)), "1min");
        assert_eq!(time_left(ms(65_400)), "1min5sec");
        assert_eq!(time_left(ms(7_200_000)), "120min");
    }
}
