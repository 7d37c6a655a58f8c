//! The ARP neighbour cache: IPv4 address → Ethernet address, with Linux's neighbour states,
//! request retries, expiry, and a bounded queue of packets waiting for resolution.
//!
//! States (Linux `NUD_*`):
//! - **INCOMPLETE**: a request is out. Packets for the neighbour wait in a queue bounded to
//!   [`PENDING_PER_NEIGHBOR`] packets (Linux's `unres_qlen` default; Linux bounds it by bytes,
//!   `unres_qlen_bytes`, whose default makes those 101 packets; the oldest packet is dropped
//!   first, as Linux does). The request is retried every
//!   [`RETRANS_TIME`] up to [`MAX_PROBES`] times (`mcast_solicit`, `retrans_time_ms`); then the
//!   entry fails, its packets are dropped and counted, and the next packet starts over.
//! - **REACHABLE**: resolved recently (a reply, or a request from the neighbour); used as is for
//!   [`REACHABLE_TIME`] (`base_reachable_time`).
//! - **STALE**: older than that; still used (no packet waits), but the next use sends a unicast
//!   probe ("PROBE" state), and if no answer comes within the probes the entry is removed.
//!
//! The cache holds at most [`MAX_ENTRIES`] neighbours (`gc_thresh3`); when full, a stale or
//! failed entry is evicted, or the new neighbour is refused (and its packet dropped).
//! Expiry is checked lazily on use and by [`NeighborCache::poll`], which the stack calls when
//! [`NeighborCache::poll_at`] says so; nothing walks the table on every packet.

use core::net::Ipv4Addr;
use std::collections::VecDeque;
use std::time::Duration;

use crate::time::Instant;
use crate::wire::ethernet::EthernetAddress;

/// Packets queued per unresolved neighbour: Linux's `unres_qlen` default, what its
/// `unres_qlen_bytes` default (212,992) holds of full-sized frames. Fewer makes a burst of
/// connects at start-up (before the first ARP reply) lose SYNs and wait a whole 1 s SYN timeout.
pub const PENDING_PER_NEIGHBOR: usize = 101;
/// Interval between ARP requests for an unresolved neighbour.
pub const RETRANS_TIME: Duration = Duration::from_secs(1);
/// Requests sent before resolution fails.
pub const MAX_PROBES: u8 = 3;
/// How long an entry counts as REACHABLE after confirmation.
pub const REACHABLE_TIME: Duration = Duration::from_secs(30);
/// How long a STALE entry is kept without use before it is removed.
pub const GC_STALE_TIME: Duration = Duration::from_secs(60);
/// Neighbours kept at most.
pub const MAX_ENTRIES: usize = 1024;

#[derive(Debug)]
enum State {
    Incomplete {
        probes: u8,
        next_probe: Instant,
        pending: VecDeque<Vec<u8>>,
    },
    Reachable {
        mac: EthernetAddress,
        until: Instant,
    },
    Stale {
        mac: EthernetAddress,
        since: Instant,
    },
    Probe {
        mac: EthernetAddress,
        probes: u8,
        next_probe: Instant,
    },
}

/// What to do with a packet for a neighbour.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Send it to this MAC address now. `probe` asks for a unicast ARP request to be sent too
    /// (the entry was stale).
    Send {
        /// The neighbour's address.
        mac: EthernetAddress,
        /// Whether to send a unicast ARP request to confirm the entry.
        probe: bool,
    },
    /// The packet was queued; `request` asks for a broadcast ARP request to be sent now.
    /// `dropped` is true when the queue was full and its oldest packet was dropped.
    Queued {
        /// Whether to broadcast an ARP request now.
        request: bool,
        /// Whether an older queued packet was dropped to make room.
        dropped: bool,
    },
    /// The cache is full of live neighbours: the packet is dropped.
    Refused,
}

/// Work [`NeighborCache::poll`] asks the stack to do.
#[derive(Debug, PartialEq, Eq)]
pub enum PollAction {
    /// Broadcast an ARP request for this address.
    Request(Ipv4Addr),
    /// Send a unicast ARP request to `mac` for this address.
    Probe(Ipv4Addr, EthernetAddress),
    /// Resolution failed: these packets were dropped.
    Failed(Ipv4Addr, usize),
}

/// The cache (one per stack; entries are per address, since interfaces have disjoint subnets).
#[derive(Debug, Default)]
pub struct NeighborCache {
    entries: crate::hash::Map<Ipv4Addr, State>,
    /// No entry has work before this (a lower bound: every state written lowers it to its own
    /// deadline, and [`NeighborCache::poll`] makes it exact again), so that asking when to
    /// poll, which the stack does every turn, does not walk the entries.
    next_due: Option<Instant>,
}

impl NeighborCache {
    /// An empty cache.
    pub fn new() -> NeighborCache {
        NeighborCache::default()
    }

    /// Lowers the next deadline to `due`, a deadline just given to an entry.
    fn note(&mut self, due: Instant) {
        self.next_due = Some(self.next_due.map_or(due, |d| d.min(due)));
    }

    /// Number of entries in any state.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The MAC address of a resolved (reachable, stale or probing) neighbour.
    pub fn lookup(&self, ip: Ipv4Addr) -> Option<EthernetAddress> {
        mac_of(self.entries.get(&ip)?)
    }

    /// The MAC to send to `ip` right now without building a frame first, for the hot path:
    /// `Some((mac, probe))` for a resolved neighbour (moving an expired entry to PROBE, in which
    /// case `probe` asks the caller to send a unicast ARP request), `None` when the caller must
    /// go through [`NeighborCache::resolve`] with the frame.
    pub fn resolve_fast(&mut self, now: Instant, ip: Ipv4Addr) -> Option<(EthernetAddress, bool)> {
        let state = self.entries.get_mut(&ip)?;
        match state {
            State::Reachable { mac, until } if now < *until => Some((*mac, false)),
            State::Reachable { mac, .. } | State::Stale { mac, .. } => {
                let mac = *mac;
                *state = State::Probe {
                    mac,
                    probes: 1,
                    next_probe: now + RETRANS_TIME,
                };
                self.note(now + RETRANS_TIME);
                Some((mac, true))
            }
            State::Probe { mac, .. } => Some((*mac, false)),
            State::Incomplete { .. } => None,
        }
    }

    /// Upper layers saw forward progress with `ip` (a TCP ACK of new data, as Linux's
    /// `dst_confirm`): a resolved entry becomes REACHABLE again without an ARP exchange.
    pub fn confirm(&mut self, now: Instant, ip: Ipv4Addr) {
        if let Some(state) = self.entries.get_mut(&ip)
            && let Some(mac) = mac_of(state)
        {
            *state = State::Reachable {
                mac,
                until: now + REACHABLE_TIME,
            };
            self.note(now + REACHABLE_TIME);
        }
    }

    /// Decides what to do with `packet` (a complete Ethernet frame whose destination MAC is still
    /// to be filled) for neighbour `ip`: send it now, or queue it until the address resolves.
    /// The packet is only copied into the cache when it has to wait.
    pub fn resolve(&mut self, now: Instant, ip: Ipv4Addr, packet: &[u8]) -> Resolution {
        if let Some(state) = self.entries.get_mut(&ip) {
            match state {
                State::Reachable { mac, until } if now < *until => {
                    return Resolution::Send {
                        mac: *mac,
                        probe: false,
                    };
                }
                State::Reachable { mac, .. } | State::Stale { mac, .. } => {
                    let mac = *mac;
                    *state = State::Probe {
                        mac,
                        probes: 1,
                        next_probe: now + RETRANS_TIME,
                    };
                    self.note(now + RETRANS_TIME);
                    return Resolution::Send { mac, probe: true };
                }
                State::Probe { mac, .. } => {
                    return Resolution::Send {
                        mac: *mac,
                        probe: false,
                    };
                }
                State::Incomplete { pending, .. } => {
                    let dropped = pending.len() >= PENDING_PER_NEIGHBOR;
                    if dropped {
                        pending.pop_front();
                    }
                    pending.push_back(packet.to_vec());
                    return Resolution::Queued {
                        request: false,
                        dropped,
                    };
                }
            }
        }
        if self.entries.len() >= MAX_ENTRIES && !self.evict_one() {
            return Resolution::Refused;
        }
        let mut pending = VecDeque::with_capacity(1);
        pending.push_back(packet.to_vec());
        self.entries.insert(
            ip,
            State::Incomplete {
                probes: 1,
                next_probe: now + RETRANS_TIME,
                pending,
            },
        );
        self.note(now + RETRANS_TIME);
        Resolution::Queued {
            request: true,
            dropped: false,
        }
    }

    /// Records `ip` is-at `mac`, learned from an ARP reply or a request the neighbour sent
    /// (`confirmed`: a reply to us, or a request for our address, proves two-way reachability).
    /// Returns the packets that were waiting for this neighbour, to be sent to `mac` now.
    pub fn update(
        &mut self,
        now: Instant,
        ip: Ipv4Addr,
        mac: EthernetAddress,
        confirmed: bool,
    ) -> Vec<Vec<u8>> {
        let reachable = State::Reachable {
            mac,
            until: now + REACHABLE_TIME,
        };
        // Every path below either writes this state or changes nothing.
        self.note(now + REACHABLE_TIME);
        match self.entries.get_mut(&ip) {
            Some(State::Incomplete { pending, .. }) => {
                let pending = std::mem::take(pending).into();
                self.entries.insert(ip, reachable);
                pending
            }
            Some(entry) => {
                // A confirmation refreshes the entry; a changed address is taken at once (the
                // neighbour's NIC changed). An unconfirmed repeat of what we know changes nothing.
                if confirmed || mac_of(entry) != Some(mac) {
                    *entry = reachable;
                }
                Vec::new()
            }
            None => {
                // Only create entries for neighbours that talk to us directly (Linux creates one
                // when a request targets our address); gratuitous chatter is not cached.
                if confirmed && (self.entries.len() < MAX_ENTRIES || self.evict_one()) {
                    self.entries.insert(ip, reachable);
                }
                Vec::new()
            }
        }
    }

    /// Removes one entry that is neither waiting for resolution nor recently confirmed.
    fn evict_one(&mut self) -> bool {
        let victim = self
            .entries
            .iter()
            .find(|(_, s)| matches!(s, State::Stale { .. }))
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|(_, s)| !matches!(s, State::Incomplete { .. }))
            })
            .map(|(ip, _)| *ip);
        match victim {
            Some(ip) => {
                self.entries.remove(&ip);
                true
            }
            None => false,
        }
    }

    /// When [`NeighborCache::poll`] next has work: the earliest retry or expiry.
    ///
    /// It may be earlier than the real first deadline (a confirmed entry's later expiry is not
    /// looked for until then), never later: polling then finds nothing to do and makes it exact.
    pub fn poll_at(&self) -> Option<Instant> {
        self.next_due
    }

    /// Retries requests, fails unanswered resolutions, ages entries. Pushes what the stack must
    /// send (or count) to `actions`.
    pub fn poll(&mut self, now: Instant, actions: &mut Vec<PollAction>) {
        let mut remove = Vec::new();
        for (ip, state) in self.entries.iter_mut() {
            match state {
                State::Incomplete {
                    probes,
                    next_probe,
                    pending,
                } if now >= *next_probe => {
                    if *probes >= MAX_PROBES {
                        actions.push(PollAction::Failed(*ip, pending.len()));
                        remove.push(*ip);
                    } else {
                        *probes += 1;
                        *next_probe = now + RETRANS_TIME;
                        actions.push(PollAction::Request(*ip));
                    }
                }
                State::Probe {
                    mac,
                    probes,
                    next_probe,
                } if now >= *next_probe => {
                    if *probes >= MAX_PROBES {
                        remove.push(*ip);
                    } else {
                        *probes += 1;
                        *next_probe = now + RETRANS_TIME;
                        actions.push(PollAction::Probe(*ip, *mac));
                    }
                }
                State::Reachable { mac, until } if now >= *until => {
                    *state = State::Stale {
                        mac: *mac,
                        since: now,
                    };
                }
                State::Stale { since, .. } if now >= *since + GC_STALE_TIME => remove.push(*ip),
                _ => {}
            }
        }
        for ip in remove {
            self.entries.remove(&ip);
        }
        self.next_due = self.entries.values().map(deadline).min();
    }
}

/// When `state` next has work for [`NeighborCache::poll`]: a retry, an expiry or its removal.
fn deadline(state: &State) -> Instant {
    match state {
        State::Incomplete { next_probe, .. } | State::Probe { next_probe, .. } => *next_probe,
        State::Reachable { until, .. } => *until,
        State::Stale { since, .. } => *since + GC_STALE_TIME,
    }
}

/// The address an entry holds, unless it is still unresolved.
fn mac_of(state: &State) -> Option<EthernetAddress> {
    match state {
        State::Reachable { mac, .. } | State::Stale { mac, .. } | State::Probe { mac, .. } => {
            Some(*mac)
        }
        State::Incomplete { .. } => None,
    }
}

#[cfg(test)]
mod tests;
