//! ICMP errors about segments a connection sent, the way Linux's `tcp_v4_err` takes them
//! (RFC 1122 section 4.2.3.9, RFC 5461, RFC 5927):
//!
//! - the quoted sequence number must lie in `[SND.UNA, SND.NXT]`, or the message is ignored and
//!   counted in `OutOfWindowIcmps` (RFC 5927's check against forged errors);
//! - while connecting (`SYN_SENT`, or a simultaneous open) any destination-unreachable or
//!   time-exceeded message ends the attempt at once with its error (`ConnectionRefused` for a
//!   port unreachable, `HostUnreachable`, `NetworkUnreachable`, ...) instead of letting the
//!   SYN retries run out;
//! - on a synchronised connection the error is soft (RFC 5461): it is only remembered, and if
//!   the connection later times out, the timeout reports it instead of `TimedOut` (Linux's
//!   `sk_err_soft`); an ACK that moves `SND.UNA` forgets it.
//!
//! A request in a listener's SYN queue ignores ICMP errors (its SYN-ACK retries and the
//! queue's pruning end it); Linux drops the request on a fatal error whose sequence number is
//! the SYN-ACK's.

use std::io;

use super::State;
use super::tcb::{Env, Tcb};
use crate::wire::SeqNumber;

impl Tcb {
    /// An ICMP error (already mapped to `kind`) quoting a segment with sequence number `seq`.
    /// Returns false when `seq` is outside the window (the caller counts it).
    pub(crate) fn on_icmp_error(
        &mut self,
        env: &mut Env<'_>,
        seq: SeqNumber,
        kind: io::ErrorKind,
    ) -> bool {
        if seq.lt(self.snd_una) || seq.gt(self.snd_nxt) {
            return false;
        }
        match self.state {
            State::SynSent => self.abort_connect(env, kind),
            State::SynReceived if self.active() => self.abort_connect(env, kind),
            State::SynReceived | State::Closed | State::Listen | State::TimeWait => {}
            _ => self.soft_error = Some(kind),
        }
        true
    }

    fn abort_connect(&mut self, env: &mut Env<'_>, kind: io::ErrorKind) {
        self.close_with(env, Some(kind));
        self.wake_all();
    }

    /// The error a connection that timed out reports: the last soft ICMP error, if any, else
    /// `TimedOut` (Linux's `tcp_write_err`).
    pub(crate) fn timeout_error(&self) -> io::ErrorKind {
        self.soft_error.unwrap_or(io::ErrorKind::TimedOut)
    }
}
