//! Reports on the whole stack: every listener with its queues and counters, and the
//! `nstat`-style print that puts Linux's global counters and the per-listener ones side by side
//! (Linux can only say that some listener overflowed; this says which).

use core::fmt;
use core::net::SocketAddrV4;

use super::Stack;
use crate::stats::Snapshot;
use crate::tcp::SocketHandle;
use crate::tcp::listen::ListenerStats;

/// One listener in a [`Nstat`] report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerReport {
    /// The listener's handle.
    pub handle: SocketHandle,
    /// The address it listens on.
    pub local: SocketAddrV4,
    /// Its queues and counters.
    pub stats: ListenerStats,
}

/// The stack's counters and every listener's stats at one moment; `Display` prints them the
/// way `nstat -a` prints counters (non-zero ones, one per line), followed by one line per
/// listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nstat {
    /// Linux's counters.
    pub counters: Snapshot,
    /// Every listener, ordered by address.
    pub listeners: Vec<ListenerReport>,
}

impl Stack {
    /// Every listener with its queues and counters, ordered by address.
    pub fn tcp_listeners(&self) -> Vec<ListenerReport> {
        self.tcp
            .listeners()
            .into_iter()
            .map(|(handle, l)| ListenerReport {
                handle,
                local: l.local,
                stats: l.stats(),
            })
            .collect()
    }

    /// The counters and the listeners' stats, printable like `nstat`.
    pub fn nstat(&self) -> Nstat {
        Nstat {
            counters: self.counters(),
            listeners: self.tcp_listeners(),
        }
    }
}

impl fmt::Display for Nstat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.counters, f)?;
        if self.listeners.is_empty() {
            return Ok(());
        }
        writeln!(f, "#listeners")?;
        for l in &self.listeners {
            let s = &l.stats;
            writeln!(
                f,
                "{:<21} accept {}/{} syn {}/{} overflows {} drops {} cookies sent {} recv {} \
                 failed {} embryonic_rsts {} established {} accepted {}",
                l.local.to_string(),
                s.accept_queue_len,
                s.backlog,
                s.syn_queue_len,
                s.syn_backlog,
                s.overflows,
                s.drops,
                s.syncookies_sent,
                s.syncookies_recv,
                s.syncookies_failed,
                s.embryonic_rsts,
                s.established,
                s.accepted,
            )?;
        }
        Ok(())
    }
}
