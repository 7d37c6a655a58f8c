//! The connection's yes/no state, packed into one word of the control block (`Tcb::flags`)
//! instead of a byte per flag: 30 flags take 4 bytes where 30 `bool`s took 30, and every
//! connection carries them. Each flag has a reader named after it and a `set_` writer; setting
//! one to a constant is a single bit operation, as cheap as storing a `bool`.

use super::tcb::Tcb;

/// Declares the flags: their bit in `Tcb::flags`, their reader and their writer.
macro_rules! flags {
    ($($(#[doc = $doc:literal])+ $bit:literal: $name:ident, $set:ident;)+) => {
        impl Tcb {
            $(
                $(#[doc = $doc])+
                #[inline]
                pub fn $name(&self) -> bool {
                    self.flags & (1 << $bit) != 0
                }

                #[doc = concat!("Sets [`Tcb::", stringify!($name), "`].")]
                #[inline]
                pub fn $set(&mut self, on: bool) {
                    if on {
                        self.flags |= 1 << $bit;
                    } else {
                        self.flags &= !(1 << $bit);
                    }
                }
            )+
        }

        #[cfg(test)]
        const ALL: &[(u32, fn(&Tcb) -> bool, fn(&mut Tcb, bool))] =
            &[$(($bit, Tcb::$name, Tcb::$set)),+];
    };
}

flags! {
    /// The user shut the sending side down: a FIN follows the last byte of `send`.
    0: fin_queued, set_fin_queued;
    /// Our FIN has been acknowledged.
    1: fin_acked, set_fin_acked;
    /// Retransmit the segment at `snd_una` next (fast retransmit, partial ACK).
    2: rtx_head, set_rtx_head;
    /// The peer's FIN has been taken into the stream: reads end after the buffered bytes.
    3: fin_received, set_fin_received;
    /// In fast recovery until `snd_una` reaches `recover` (RFC 6582).
    4: in_recovery, set_in_recovery;
    /// Every ACK of this fast recovery so far was caused by original transmissions (with
    /// timestamps): the recovery may prove spurious and be undone when it ends.
    5: undo_ok, set_undo_ok;
    /// After a retransmission timeout on a SACK connection: recovering every segment marked
    /// lost until `snd_una` reaches `recover` (Linux's `TCP_CA_Loss`).
    6: in_loss, set_in_loss;
    /// The first ACK after a timeout decides whether it was spurious (Eifel, RFC 3522): the
    /// timed-out data had arrived after all if that ACK echoes a TSval older than the
    /// retransmission's (`undo_stamp`).
    7: rto_undo_pending, set_rto_undo_pending;
    /// The outstanding tail loss probe (`tlp_high_seq`) was a retransmission.
    8: tlp_retrans, set_tlp_retrans;
    /// The tail loss probe timer fired: the output sends the probe.
    9: tlp_due, set_tlp_due;
    /// Request/response traffic (Linux's pingpong mode): we sent data soon after data
    /// arrived, so ACKs wait to ride on the reply.
    10: pingpong, set_pingpong;
    /// A write found the send buffer full; until a third of it is free again, write
    /// readiness says "not yet" even if a few bytes would fit (the low-water mark Linux's
    /// `EPOLLOUT` waits for, after a write returned `EAGAIN`).
    11: write_blocked, set_write_blocked;
    /// The send buffer's size was set by the application (`SO_SNDBUF`, Linux's
    /// `SOCK_SNDBUF_LOCK`): autotuning leaves it alone.
    12: snd_locked, set_snd_locked;
    /// The receive buffer's size was set by the application (`SO_RCVBUF`, Linux's
    /// `SOCK_RCVBUF_LOCK`): autotuning leaves it alone.
    13: rcv_locked, set_rcv_locked;
    /// Send an ACK now.
    14: ack_now, set_ack_now;
    /// Send a probe (`snd_una - 1`, no data) to elicit an ACK.
    15: probe_now, set_probe_now;
    /// Send a RST (the connection was aborted).
    16: rst_now, set_rst_now;
    /// Whether the last window we advertised was zero (for the zero-window counters).
    17: zero_window_sent, set_zero_window_sent;
    /// `TCP_NODELAY`.
    18: nodelay, set_nodelay;
    /// `SO_KEEPALIVE`.
    19: keepalive, set_keepalive;
    /// `SO_REUSEADDR`.
    20: reuseaddr, set_reuseaddr;
    /// The user shut the receiving side down.
    21: read_shutdown, set_read_shutdown;
    /// Established and waiting in the parent's accept queue.
    22: in_accept_queue, set_in_accept_queue;
    /// A request in its listener's SYN queue whose SYN-ACK has not been retransmitted yet
    /// (counted in the listener's `young`).
    23: young, set_young;
    /// In the 4-tuple demultiplexing table.
    24: hashed, set_hashed;
    /// No user handle refers to it any more (closed): freed when it reaches `Closed`.
    25: orphan, set_orphan;
    /// Queued in the table's output queue.
    26: dirty, set_dirty;
    /// Was opened actively (connect), for the counters and for what a reset means.
    27: active, set_active;
    /// In TIME_WAIT and counted in the socket table's TIME_WAIT gauge (`tcp_max_tw_buckets`).
    28: tw_counted, set_tw_counted;
    /// Closed instead of entering TIME_WAIT (`tcp_max_tw_buckets`) with the ACK of the peer's
    /// FIN still to send: output sends it, then the connection may be freed.
    29: final_ack, set_final_ack;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StackConfig;
    use crate::time::Instant;

    #[test]
    fn every_flag_has_its_own_bit_and_starts_clear() {
        let mut t = Tcb::new(&StackConfig::default(), Instant::ZERO);
        let mut seen = 0u32;
        for &(bit, get, set) in ALL {
            assert_eq!(seen & (1 << bit), 0, "bit {bit} used twice");
            seen |= 1 << bit;
            assert!(!get(&t), "bit {bit} starts set");
            set(&mut t, true);
            assert!(get(&t));
            assert_eq!(t.flags, 1 << bit, "setting bit {bit} touched another");
            set(&mut t, false);
            assert_eq!(t.flags, 0);
        }
        assert_eq!(ALL.len(), 30);
    }
}
