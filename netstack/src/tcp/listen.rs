//! Listeners: the SYN queue and the accept queue, their bounds, and what children inherit.
//!
//! This is the Linux listen model the project's source documents analyse (the 3.x-4.3
//! kernels' `tcp_v4_conn_request`, `tcp_check_req` and `inet_csk_reqsk_queue_prune`); each
//! rule names the Linux function or counter it follows. The stack applies them in
//! `stack/listen.rs`.
//!
//! **Two queues.** A SYN creates a request: a child connection in SYN_RECV that counts in the
//! listener's *SYN queue* until its handshake completes. Then it moves to the *accept queue*,
//! where `accept` finds it.
//!
//! - The accept queue is bounded by the backlog given to `listen`, clamped to `somaxconn`
//!   (`sk_max_ack_backlog`). It counts as full only when it holds **more** than the backlog
//!   (`sk_acceptq_is_full`: `sk_ack_backlog > sk_max_ack_backlog`), so `listen(fd, 2)` queues
//!   3 connections, and backlog 0 still admits one.
//! - The SYN queue holds `roundup_pow_of_two(max(8, min(backlog, tcp_max_syn_backlog)) + 1)`
//!   requests (`reqsk_queue_alloc`; backlog 128 gives 256, backlog 2 gives 16); it is full when
//!   it holds that many (`reqsk_queue_is_full`).
//!
//! **A SYN** (`tcp_v4_conn_request`), in this order:
//! 1. If `tcp_syncookies = 2`, or the SYN queue is full: with `tcp_syncookies = 0` the SYN is
//!    dropped (`TCPReqQFullDrop`); otherwise it will be answered with a cookie
//!    (`TCPReqQFullDoCookies`, `tcp_syn_flood_action`).
//! 2. If the accept queue is full and more than one *young* request (one whose SYN-ACK has not
//!    been retransmitted yet, `inet_csk_reqsk_queue_young`) is queued, the SYN is dropped
//!    (`ListenOverflows`). Linux 4.9 and later drop every SYN that finds the accept queue
//!    full; the young rule lets a client in whose handshake can complete as soon as accept
//!    makes room.
//! 3. Without SYN cookies (`tcp_syncookies = 0`), once fewer than a quarter of
//!    `tcp_max_syn_backlog` places are left in the SYN queue, SYNs from peers not proven alive
//!    are dropped. Linux proves a peer by the RTT it remembers for it in its TCP metrics;
//!    sockeye keeps no such metrics, so no peer is proven.
//! 4. A cookie SYN-ACK is sent and nothing is kept (`SyncookiesSent`); otherwise the request
//!    joins the SYN queue and its SYN-ACK is sent.
//!
//! Every drop counts in `ListenDrops` (`tcp_listendrop`) and in the listener's `drops`.
//!
//! **A request's timer** (`inet_csk_reqsk_queue_prune`): the SYN-ACK is retransmitted after
//! 1 s, doubling, `tcp_synack_retries` times (default 5), and the request is dropped at the
//! next expiry. When the SYN queue is at least half full, old requests get fewer retries: the
//! limit drops by one (not below 2) for as long as the queue holds at least twice, four times,
//! ... as many requests as young ones, so half the room stays for new clients.
//!
//! **The final ACK** (`tcp_check_req`, `tcp_v4_syn_recv_sock`): if the accept queue is full,
//! it counts in `ListenOverflows` and `ListenDrops` and, with `tcp_abort_on_overflow = 0`
//! (default), is dropped: the request stays and its SYN-ACK timer runs on. The client already
//! believes it is established and may send data; its retransmissions (or the ACK answering a
//! retransmitted SYN-ACK) complete the handshake once accept makes room, and no data is lost.
//! With `tcp_abort_on_overflow = 1` the request is dropped and the ACK answered with a RST.
//!
//! **A RST** for a request removes it (`EmbryonicRsts`).
//!
//! **A cookie ACK** (`cookie_v4_check`): a listener that sent a cookie in the last two minutes
//! checks any ACK that matches no connection; a valid cookie (`SyncookiesRecv`) creates the
//! connection straight into the accept queue, unless that is full (then the ACK is dropped,
//! `ListenOverflows`); an invalid one (`SyncookiesFailed`) is answered with a RST and creates
//! nothing. See [`super::cookie`].
//!
//! **Per listener**, beyond Linux's global counters: [`ListenerStats`] says which listener
//! overflowed, dropped, or sent and received cookies.

use core::net::SocketAddrV4;
use std::collections::VecDeque;
use std::task::Waker;

use super::cookie;
use super::tcb::Tcb;
use crate::config::StackConfig;
use crate::time::Instant;

/// A listener's queues and counters (Linux keeps only global counters; these are per
/// listener).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// The accept queue's bound: the backlog given to listen, clamped to `somaxconn` (the
    /// queue holds one more, as on Linux).
    pub backlog: usize,
    /// The SYN queue's bound.
    pub syn_backlog: usize,
    /// Established connections waiting for accept now.
    pub accept_queue_len: usize,
    /// Half-open connections (SYN_RECV) now.
    pub syn_queue_len: usize,
    /// SYNs and final ACKs dropped because the accept queue was full (`ListenOverflows`).
    pub overflows: u64,
    /// Connection requests dropped for any reason, overflows included (`ListenDrops`).
    pub drops: u64,
    /// SYNs answered with a SYN cookie (`SyncookiesSent`).
    pub syncookies_sent: u64,
    /// ACKs that returned a valid cookie (`SyncookiesRecv`).
    pub syncookies_recv: u64,
    /// ACKs whose cookie was invalid or expired (`SyncookiesFailed`).
    pub syncookies_failed: u64,
    /// Half-open connections removed by a RST (`EmbryonicRsts`).
    pub embryonic_rsts: u64,
    /// Connections that completed the handshake.
    pub established: u64,
    /// Connections handed out by accept.
    pub accepted: u64,
}

/// Socket options a listener passes on to the connections it accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inherited {
    pub nodelay: bool,
    pub keepalive: bool,
    /// `TCP_NOTSENT_LOWAT` (0: the sysctl's).
    pub notsent_lowat: u32,
    pub send_buffer: usize,
    pub recv_buffer: usize,
    /// The sizes were set with `SO_SNDBUF`/`SO_RCVBUF`: no autotuning for the children.
    pub snd_locked: bool,
    pub rcv_locked: bool,
    /// The congestion control algorithm (`TCP_CONGESTION`).
    pub congestion: crate::config::CongestionControl,
    /// `IP_TTL`, also of the SYN-ACKs; `None`: `ip_default_ttl`.
    pub ttl: Option<u8>,
}

/// A listening socket.
#[derive(Debug)]
pub(crate) struct Listener {
    pub local: SocketAddrV4,
    /// The accept queue's bound.
    pub backlog: usize,
    /// The SYN queue's bound.
    pub syn_backlog: usize,
    /// Established children, oldest first (slab indices).
    pub accept_queue: VecDeque<u32>,
    /// Children still in `SynReceived`.
    pub syn_queue: usize,
    /// Of those, the ones whose SYN-ACK has not been retransmitted yet.
    pub young: usize,
    /// When the listener last sent a SYN cookie (`tcp_synq_overflow`).
    pub last_cookie: Option<Instant>,
    /// The task waiting in accept.
    pub waker: Option<Waker>,
    pub inherited: Inherited,
    pub reuseaddr: bool,
    /// Counters (the queue lengths and bounds are filled in by [`Listener::stats`]).
    pub stats: ListenerStats,
}

/// The SYN queue's size for a listener with (clamped) `backlog` (`reqsk_queue_alloc`).
pub(crate) fn syn_queue_size(backlog: usize, max_syn_backlog: u32) -> usize {
    let entries = backlog.min(max_syn_backlog as usize).max(8);
    (entries + 1).next_power_of_two()
}

impl Listener {
    /// A listener made from a bound socket, its accept queue bounded by `backlog` clamped to
    /// `somaxconn`.
    pub fn from_socket(tcb: &Tcb, backlog: u32, config: &StackConfig) -> Listener {
        let backlog = backlog.min(config.somaxconn) as usize;
        Listener {
            local: tcb.local,
            backlog,
            syn_backlog: syn_queue_size(backlog, config.tcp_max_syn_backlog),
            accept_queue: VecDeque::new(),
            syn_queue: 0,
            young: 0,
            last_cookie: None,
            waker: None,
            inherited: Inherited {
                nodelay: tcb.nodelay(),
                notsent_lowat: tcb.notsent_lowat,
                keepalive: tcb.keepalive(),
                send_buffer: tcb.send.limit(),
                recv_buffer: tcb.recv.limit(),
                snd_locked: tcb.snd_locked(),
                rcv_locked: tcb.rcv_locked(),
                congestion: tcb.cc.algorithm(),
                ttl: tcb.ttl,
            },
            reuseaddr: tcb.reuseaddr(),
            stats: ListenerStats::default(),
        }
    }

    /// Whether the accept queue is full (Linux's `sk_acceptq_is_full`: more than the backlog).
    pub fn accept_queue_full(&self) -> bool {
        self.accept_queue.len() > self.backlog
    }

    /// Whether the SYN queue is full (`reqsk_queue_is_full`).
    pub fn syn_queue_full(&self) -> bool {
        self.syn_queue >= self.syn_backlog
    }

    /// Whether, without SYN cookies, a SYN from an unproven peer is refused: fewer than a
    /// quarter of `tcp_max_syn_backlog` places are left.
    pub fn keeps_room_for_proven_peers(&self, max_syn_backlog: u32) -> bool {
        let max = max_syn_backlog as usize;
        max.saturating_sub(self.syn_queue) < max >> 2
    }

    /// Whether an ACK matching no connection should be checked for a cookie: one was sent
    /// within the last [`cookie::VALID`] (`tcp_synq_no_recent_overflow`).
    pub fn checks_cookies(&self, now: Instant) -> bool {
        self.last_cookie
            .is_some_and(|t| now.saturating_duration_since(t) <= cookie::VALID)
    }

    /// How many SYN-ACK retransmissions a request gets now: `tcp_synack_retries`, fewer when
    /// old requests crowd the SYN queue (`inet_csk_reqsk_queue_prune`).
    pub fn synack_retries(&self, configured: u8) -> u8 {
        let mut limit = configured;
        if self.syn_queue * 2 >= self.syn_backlog {
            let mut young = self.young * 2;
            while limit > 2 && self.syn_queue >= young {
                limit -= 1;
                young *= 2;
            }
        }
        limit
    }

    /// The counters with the current queue lengths and bounds.
    pub fn stats(&self) -> ListenerStats {
        ListenerStats {
            backlog: self.backlog,
            syn_backlog: self.syn_backlog,
            accept_queue_len: self.accept_queue.len(),
            syn_queue_len: self.syn_queue,
            ..self.stats
        }
    }

    /// Wakes the task waiting in accept.
    pub fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(backlog: u32, max_syn: u32) -> Listener {
        let config = StackConfig {
            tcp_max_syn_backlog: max_syn,
            ..StackConfig::default()
        };
        let tcb = Tcb::new(&config, Instant::ZERO);
        Listener::from_socket(&tcb, backlog, &config)
    }

    #[test]
    fn syn_queue_size_follows_reqsk_queue_alloc() {
        assert_eq!(syn_queue_size(0, 2048), 16);
        assert_eq!(syn_queue_size(2, 2048), 16);
        assert_eq!(syn_queue_size(8, 2048), 16);
        assert_eq!(syn_queue_size(15, 2048), 16);
        assert_eq!(syn_queue_size(16, 2048), 32);
        assert_eq!(syn_queue_size(128, 2048), 256);
        assert_eq!(syn_queue_size(4096, 2048), 4096);
        assert_eq!(syn_queue_size(4096, 100), 128);
    }

    #[test]
    fn the_accept_queue_holds_one_more_than_the_backlog() {
        let mut l = listener(2, 2048);
        l.accept_queue.extend([1, 2]);
        assert!(!l.accept_queue_full());
        l.accept_queue.push_back(3);
        assert!(l.accept_queue_full());
    }

    #[test]
    fn crowded_syn_queues_prune_old_requests_sooner() {
        let mut l = listener(128, 2048);
        assert_eq!(l.syn_backlog, 256);
        l.syn_queue = 127;
        assert_eq!(l.synack_retries(5), 5, "under half full: no pruning");
        l.syn_queue = 128;
        l.young = 128;
        assert_eq!(l.synack_retries(5), 5, "all young: nothing is old");
        l.young = 40;
        // 128 >= 80 and 128 < 160: one fewer.
        assert_eq!(l.synack_retries(5), 4);
        l.young = 10;
        // 128 >= 20, 40, 80: down to 2 (never fewer).
        assert_eq!(l.synack_retries(5), 2);
        l.young = 0;
        assert_eq!(l.synack_retries(5), 2);
        assert_eq!(l.synack_retries(1), 1, "never raised");
    }

    #[test]
    fn unproven_peers_lose_the_last_quarter_without_cookies() {
        let mut l = listener(4096, 100);
        l.syn_queue = 75;
        assert!(!l.keeps_room_for_proven_peers(100));
        l.syn_queue = 76;
        assert!(l.keeps_room_for_proven_peers(100));
    }

    #[test]
    fn cookies_are_checked_for_two_minutes_after_the_last_one() {
        let mut l = listener(1, 2048);
        assert!(!l.checks_cookies(Instant::ZERO));
        l.last_cookie = Some(Instant::from_millis(1_000));
        assert!(l.checks_cookies(Instant::from_millis(121_000)));
        assert!(!l.checks_cookies(Instant::from_millis(121_001)));
    }
}
