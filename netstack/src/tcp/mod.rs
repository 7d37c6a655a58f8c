//! TCP (RFC 9293): the connection engine, split by concern.
//!
//! - [`rtt`]: the retransmission timeout estimator (RFC 6298) with Linux's bounds;
//! - [`isn`]: initial sequence numbers (RFC 6528) and ephemeral ports (RFC 6056);
//! - [`ring`]: the bounded, lazily allocated byte ring behind the send and receive buffers;
//! - [`assembler`]: out-of-order reassembly bookkeeping and SACK block order;
//! - `tcb`: one connection's control block (sequence spaces, buffers, options, timers);
//! - `input`: what an arriving segment does to a connection (RFC 9293 section 3.10.7, with the
//!   RFC 5961 protections);
//! - `output`: which segment a connection sends next (data, FIN, ACKs, probes), Nagle, sender
//!   and receiver silly-window avoidance, delayed ACKs;
//! - `timers`: retransmission, delayed ACK, persist, keepalive, TIME_WAIT and FIN_WAIT_2;
//! - `timewait`: the compact TIME_WAIT record and the rules for segments in TIME_WAIT;
//! - `cc`: congestion control: the window, and the algorithm (NewReno or CUBIC) behind one
//!   trait;
//! - `scoreboard`: the sender's per-segment record of what was SACKed, lost and retransmitted;
//! - `rack`: RACK's time-based loss detection over the scoreboard (RFC 8985);
//! - `recovery`: loss recovery on SACK connections (RACK, PRR, tail loss probes, undo);
//! - `buffers`: send and receive buffer autotuning;
//! - `listen`: listeners with their SYN and accept queues;
//! - [`cookie`]: SYN cookies (the stateless SYN-ACK when the SYN queue is full);
//! - `table`: the socket table (generational handles), the 4-tuple demultiplexing hash, the
//!   queue of connections with output pending, and the timer wheel.
//!
//! The [`crate::Stack`] drives all of it: its `tcp_*` methods are the socket API.

pub mod assembler;
mod buffers;
pub(crate) mod cc;
pub mod cookie;
mod icmp;
pub(crate) mod input;
pub mod isn;
pub mod listen;
pub(crate) mod output;
pub(crate) mod rack;
mod recovery;
pub mod ring;
pub mod rtt;
pub(crate) mod scoreboard;
pub(crate) mod table;
pub(crate) mod tcb;
mod tcb_flags;
mod timers;
pub(crate) mod timewait;

use core::fmt;

/// A TCP socket in a [`crate::Stack`]: a slab index plus a generation, so a handle kept after its
/// socket was closed can never reach another socket that reuses the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketHandle {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl SocketHandle {
    /// The slab index (stable for the socket's lifetime; useful as a map key or in logs).
    pub fn index(self) -> u32 {
        self.index
    }
}

impl fmt::Display for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tcp#{}.{}", self.index, self.generation)
    }
}

/// The states of a TCP connection (RFC 9293 section 3.3.2), plus `Closed` for a socket that
/// is not (or no longer) connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection: a fresh socket, or one whose connection ended.
    Closed,
    /// Waiting for connection requests.
    Listen,
    /// A SYN was sent; waiting for the peer's SYN.
    SynSent,
    /// A SYN was received and answered; waiting for the ACK of our SYN.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// We closed (FIN sent or queued); the peer has not acknowledged it yet.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both sides closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed first, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Both closed; waiting out old duplicates (2 MSL, `tcp_timewait_len`).
    TimeWait,
}

impl State {
    /// Whether both SYNs have been exchanged (every state from `Established` on; RFC 9293
    /// calls these the synchronized states, and so is `SynReceived`).
    pub fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent)
    }

    /// The name `ss` prints for the state.
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECV",
            State::Established => "ESTAB",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Distance from `from` to `to` on the sequence circle, as a byte count (0 if `to` is before).
pub(crate) fn seq_dist(to: crate::wire::SeqNumber, from: crate::wire::SeqNumber) -> usize {
    usize::try_from((to - from).max(0)).unwrap_or(0)
}
