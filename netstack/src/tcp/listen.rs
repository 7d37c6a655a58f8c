//! Listeners: the accept queue, the SYN queue's accounting, and what children inherit.
//!
//! A SYN to a listener creates a child connection in `SynReceived` (it counts against the SYN
//! queue, bounded like Linux's by the backlog; SYN cookies for a full queue are not implemented
//! yet, so such a SYN is dropped and counted as `TCPReqQFullDrop`); when the handshake completes the child moves to the
//! accept queue, bounded by the backlog (clamped to `somaxconn`), where `accept` finds it. The
//! overflow rules are Linux's: a SYN that finds the accept queue full is dropped
//! (`ListenOverflows`, `ListenDrops`); a final ACK that finds it full is dropped so the SYN-ACK
//! is retransmitted, or with `tcp_abort_on_overflow` answered with a RST.

use core::net::SocketAddrV4;
use std::collections::VecDeque;
use std::task::Waker;

use super::tcb::Tcb;

/// Per-listener counters (Linux keeps only global ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// SYNs and final ACKs dropped because the accept queue was full.
    pub overflows: u64,
    /// Connection requests dropped for any reason (overflows included).
    pub drops: u64,
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
    pub send_buffer: usize,
    pub recv_buffer: usize,
    /// The congestion control algorithm (`TCP_CONGESTION`).
    pub congestion: crate::config::CongestionControl,
}

/// A listening socket.
#[derive(Debug)]
pub(crate) struct Listener {
    pub local: SocketAddrV4,
    /// The accept queue's bound.
    pub backlog: usize,
    /// Established children, oldest first (slab indices).
    pub accept_queue: VecDeque<u32>,
    /// Children still in `SynReceived`.
    pub syn_queue: usize,
    /// The task waiting in accept.
    pub waker: Option<Waker>,
    pub inherited: Inherited,
    pub reuseaddr: bool,
    pub stats: ListenerStats,
}

impl Listener {
    /// A listener made from a bound socket, its accept queue bounded by `backlog` clamped to
    /// `somaxconn`.
    pub fn from_socket(tcb: &Tcb, backlog: u32, somaxconn: u32) -> Listener {
        Listener {
            local: tcb.local,
            backlog: backlog.min(somaxconn) as usize,
            accept_queue: VecDeque::new(),
            syn_queue: 0,
            waker: None,
            inherited: Inherited {
                nodelay: tcb.nodelay,
                keepalive: tcb.keepalive,
                send_buffer: tcb.send.limit(),
                recv_buffer: tcb.recv.limit(),
                congestion: tcb.cc.algorithm(),
            },
            reuseaddr: tcb.reuseaddr,
            stats: ListenerStats::default(),
        }
    }

    /// Whether the accept queue is full (Linux's `sk_acceptq_is_full`: more than the backlog).
    pub fn accept_queue_full(&self) -> bool {
        self.accept_queue.len() > self.backlog
    }

    /// Wakes the task waiting in accept.
    pub fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}
