//! The socket table's side of TIME_WAIT: counting TIME_WAIT connections against
//! `tcp_max_tw_buckets`, turning an orphaned connection's control block into its compact
//! [`TimeWait`] record, and that record's timer.
//!
//! - **Counting**: a connection is counted from the event that moved it into TIME_WAIT (every
//!   event ends in [`Table::settle`]) until it leaves (a RST, a reopening SYN, the timer, an
//!   abort), compact or not. When `tcp_max_tw_buckets` are counted already, a connection
//!   entering TIME_WAIT is closed at once instead and counted in `TCPTimeWaitOverflow`, as
//!   Linux does in `tcp_time_wait`; its ACK of the peer's FIN still leaves first (Linux sends
//!   it before `tcp_time_wait` too). Without a socket, a retransmitted FIN then gets a RST.
//! - **Compacting**: an orphaned connection in TIME_WAIT that owes nothing (not queued for
//!   output, no ACK due) becomes a record in the same slot. Its index, its entry in the 4-tuple
//!   table, its port and its wheel entry carry over unchanged; the control block and what it
//!   still held are freed. A connection whose user still holds the handle is compacted when the
//!   handle is closed.
//! - **Timer**: the record keeps its wheel entry; it ends (counted in `TW`) when the entry
//!   fires at or after its expiry, and is refiled when a retransmitted FIN restarted it.

use super::{Slot, Socket, Table};
use crate::stats::Counter;
use crate::tcp::State;
use crate::tcp::tcb::NO_TICK;
use crate::tcp::tcb::{Env, Tcb};
use crate::tcp::timewait::TimeWait;
use crate::time::Instant;

/// The wheel tick a deadline is filed at (the first millisecond tick at or after it).
fn tick(at: Instant) -> u64 {
    at.total_micros().div_ceil(1000)
}

/// Counts `tcb` into or out of the TIME_WAIT gauge `time_wait` after an event; one that just
/// entered TIME_WAIT with `tcp_max_tw_buckets` taken is closed at once instead (see the module
/// docs).
pub(super) fn count_time_wait(time_wait: &mut usize, tcb: &mut Tcb, env: &mut Env<'_>) {
    let full = *time_wait >= env.config.tcp_max_tw_buckets as usize;
    match (tcb.state == State::TimeWait, tcb.tw_counted()) {
        (true, false) if full => {
            env.count(Counter::TcpExtTCPTimeWaitOverflow);
            let ack = tcb.ack_now();
            tcb.close_with(env, None);
            tcb.set_ack_now(ack);
            tcb.set_final_ack(ack);
        }
        (true, false) => {
            tcb.set_tw_counted(true);
            *time_wait += 1;
        }
        (false, true) => {
            tcb.set_tw_counted(false);
            *time_wait -= 1;
        }
        _ => {}
    }
}

impl Table {
    /// Connections in TIME_WAIT, compact or not.
    pub fn time_wait_len(&self) -> usize {
        self.time_wait
    }

    /// The compact TIME_WAIT record in slot `index`.
    pub fn time_wait_at(&mut self, index: u32) -> Option<&mut TimeWait> {
        match self.slots.get_mut(index as usize)?.socket.as_mut()? {
            Socket::TimeWait(tw) => Some(tw),
            Socket::Conn(_) | Socket::Listener(_) => None,
        }
    }

    /// Replaces connection `index` by its compact record if it is orphaned in TIME_WAIT and
    /// owes nothing. Returns whether it did.
    pub(super) fn compact_time_wait(&mut self, index: u32) -> bool {
        let Some(Slot {
            socket: Some(socket @ Socket::Conn(_)),
            ..
        }) = self.slots.get_mut(index as usize)
        else {
            return false;
        };
        let Socket::Conn(tcb) = &*socket else {
            return false;
        };
        if tcb.state != State::TimeWait
            || !tcb.orphan()
            || !tcb.tw_counted()
            || !tcb.hashed()
            || tcb.dirty()
            || tcb.ack_now()
        {
            return false;
        }
        let mut tw = TimeWait::from_tcb(tcb);
        tw.timer = tcb.timer_key;
        let filed = tcb.timer_tick;
        if let Socket::Conn(tcb) = std::mem::replace(socket, Socket::TimeWait(Box::new(tw))) {
            self.recycle(tcb);
        }
        // A live entry filed earlier than the expiry (a timer the connection had) fires
        // there and is refiled then, like a connection's.
        if filed == NO_TICK || filed > tick(tw.expires) || tw.timer.is_none() {
            self.refile_time_wait(index);
        }
        true
    }

    /// Files record `index`'s timer at its expiry (re-arming a fired entry).
    pub fn refile_time_wait(&mut self, index: u32) {
        let Some(tw) = self.time_wait_at(index) else {
            return;
        };
        let when = tick(tw.expires);
        let key = tw.timer;
        if let Some(key) = key
            && let Some(value) = self.wheel.value_mut(key)
        {
            *value = Some(index);
            self.wheel.reset(key, when);
            return;
        }
        let key = self.wheel.insert(when, index);
        if let Some(tw) = self.time_wait_at(index) {
            tw.timer = Some(key);
        }
    }

    /// The wheel fired for record `index`: TIME_WAIT ends if it is due (counted in `TW`), or
    /// goes on to its (restarted) expiry.
    pub fn time_wait_timer(&mut self, index: u32, env: &mut Env<'_>) {
        let Some(tw) = self.time_wait_at(index) else {
            return;
        };
        if tw.expires <= env.now {
            env.count(Counter::TcpExtTW);
            self.free(index);
        } else {
            self.refile_time_wait(index);
        }
    }
}
