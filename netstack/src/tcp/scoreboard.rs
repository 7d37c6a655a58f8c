//! The sender's scoreboard: one record per segment sent and not yet cumulatively acknowledged,
//! with what the peer said about it (SACKed), what we concluded (lost) and what we did
//! (retransmitted). It is the data RFC 6675 section 3 asks a SACK sender to keep, stored per
//! transmitted segment as Linux keeps it on its retransmission queue, so that RACK (RFC 8985)
//! can compare transmission times and recovery can retransmit exactly what was lost.
//!
//! Accounting follows Linux's (`tcp_packets_in_flight`): bytes in flight ("pipe") are the bytes
//! outstanding, less those SACKed, less those marked lost, plus those retransmitted since they
//! were marked lost (a retransmission that is itself lost is marked lost again, which clears
//! its retransmitted mark).
//!
//! Records are split at SACK block edges and at retransmission boundaries; a cumulative ACK
//! inside a record trims it. Everything is in sequence order and contiguous from `snd_una`.
//!
//! The records live in a box made by the first send and given back once everything is
//! acknowledged and the connection's idle timer fires (`timers.rs`): an idle connection carries
//! one pointer here, and the byte counts (32 bits each), which stay inline because every ACK
//! and every segment sent reads them. Proportional rate reduction's counters (`recovery.rs`)
//! share the box, since a recovery only runs while segments are outstanding.
//!
//! SACK blocks are checked by the caller against the sequence space already; a block reaching
//! below the cumulative ACK or inside the one after it is a D-SACK (RFC 2883 section 4, Linux's
//! `tcp_check_dsack`): it reports a duplicate, not new data.

use std::collections::VecDeque;

use crate::time::Instant;
use crate::wire::SeqNumber;

/// One segment sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Its first sequence number.
    pub start: SeqNumber,
    /// Sequence numbers it covers (a FIN counts one).
    pub len: u32,
    /// When it was last (re)transmitted.
    pub xmit: Instant,
    /// The peer SACKed it.
    pub sacked: bool,
    /// We concluded it is lost (it stays so until delivered).
    pub lost: bool,
    /// Retransmitted, and that retransmission is not known to be delivered or lost.
    pub retrans: bool,
    /// Ever retransmitted (its RTT is ambiguous: Karn's rule).
    pub ever_retrans: bool,
}

impl Sent {
    /// One past its last sequence number.
    pub fn end(&self) -> SeqNumber {
        self.start + self.len as usize
    }
}

/// What one ACK told the scoreboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// Bytes newly covered by the cumulative ACK.
    pub acked: usize,
    /// Of those, bytes that had been SACKed before.
    pub acked_sacked: usize,
    /// Bytes newly SACKed.
    pub sacked: usize,
    /// The most recently transmitted segment delivered by this ACK (acknowledged or SACKed):
    /// its transmission time, end, and whether it had ever been retransmitted.
    pub newest: Option<(Instant, SeqNumber, bool)>,
    /// The first SACK block reported a duplicate (RFC 2883).
    pub dsack: bool,
    /// A segment never retransmitted was delivered below one SACKed earlier: the network
    /// reordered (RACK's `RACK.reord`).
    pub reordered: bool,
}

impl Delivery {
    fn deliver(&mut self, seg: &Sent) {
        let newer = match self.newest {
            None => true,
            Some((t, end, _)) => seg.xmit > t || (seg.xmit == t && seg.end().gt(end)),
        };
        if newer {
            self.newest = Some((seg.xmit, seg.end(), seg.ever_retrans));
        }
    }
}

/// Proportional rate reduction's counters for the current recovery (RFC 6937 section 3):
/// bytes delivered and sent since it began, and the flight size then (`RecoverFS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Prr {
    /// `prr_delivered`.
    pub delivered: usize,
    /// `prr_out`.
    pub out: usize,
    /// `RecoverFS`.
    pub recover_fs: usize,
}

/// The scoreboard of one connection: its records live in a box that exists only while
/// something is outstanding (and until the connection's idle timer gives it back), so an
/// idle connection carries one pointer and the (zero) byte counts, which stay inline because
/// every ACK and every segment sent reads them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scoreboard {
    counts: Counts,
    flight: Option<Box<Flight>>,
}

/// Bytes the records cover, by what is known of them (32 bits: the records span less than
/// 2^31 sequence numbers).
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    total: u32,
    sacked: u32,
    lost: u32,
    retrans: u32,
    /// Bytes both lost and retransmitted since (so `lost - lost_retrans` are still to resend).
    lost_retrans: u32,
}

/// The records of what is outstanding.
#[derive(Debug, Clone, Default)]
struct Flight {
    segs: VecDeque<Sent>,
    /// One past the highest sequence number SACKed. Forgotten with the records once
    /// everything is acknowledged: whatever is sent later ends above it, so it can no longer
    /// show reordering.
    highest_sacked: Option<SeqNumber>,
    /// The recovery's PRR counters (a recovery only runs while segments are outstanding).
    prr: Prr,
}

impl Scoreboard {
    /// An empty scoreboard.
    pub fn new() -> Scoreboard {
        Scoreboard::default()
    }

    /// Forgets everything (the connection ended).
    pub fn clear(&mut self) {
        *self = Scoreboard::default();
    }

    /// Gives the records' memory back if nothing is outstanding (the caller makes sure no
    /// recovery is running, whose PRR counters live there too).
    pub fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.flight = None;
        }
    }

    /// Heap memory the records hold, bytes.
    pub fn allocated(&self) -> usize {
        self.flight.as_ref().map_or(0, |f| {
            size_of::<Flight>() + f.segs.capacity() * size_of::<Sent>()
        })
    }

    /// The records, allocated on first use.
    fn flight_mut(&mut self) -> &mut Flight {
        self.flight.get_or_insert_with(Box::default)
    }

    /// The current recovery's PRR counters (allocating the records' box if need be).
    pub fn prr_mut(&mut self) -> &mut Prr {
        &mut self.flight_mut().prr
    }

    /// The current recovery's PRR counters (all zero before any).
    pub fn prr(&self) -> Prr {
        self.flight.as_ref().map(|f| f.prr).unwrap_or_default()
    }

    /// Nothing outstanding.
    pub fn is_empty(&self) -> bool {
        self.flight.as_ref().is_none_or(|f| f.segs.is_empty())
    }

    /// Bytes outstanding.
    #[cfg(test)]
    pub fn outstanding(&self) -> usize {
        self.counts.total as usize
    }

    /// Bytes SACKed.
    pub fn sacked_bytes(&self) -> usize {
        self.counts.sacked as usize
    }

    /// Bytes marked lost (retransmitted or not).
    pub fn lost_bytes(&self) -> usize {
        self.counts.lost as usize
    }

    /// Bytes in flight: outstanding, less SACKed and lost, plus retransmitted.
    pub fn pipe(&self) -> usize {
        let c = &self.counts;
        (c.total as usize + c.retrans as usize).saturating_sub(c.sacked as usize + c.lost as usize)
    }

    /// One past the highest sequence number SACKed, if any.
    #[cfg(test)]
    pub fn highest_sacked(&self) -> Option<SeqNumber> {
        self.flight.as_ref().and_then(|f| f.highest_sacked)
    }

    /// Whether the first outstanding segment is SACKed: the peer acknowledged up to it but not
    /// it, so it dropped what it had SACKed (reneging, RFC 2018 section 8).
    pub fn head_sacked(&self) -> bool {
        self.flight
            .as_ref()
            .and_then(|f| f.segs.front())
            .is_some_and(|s| s.sacked)
    }

    /// The segments, in sequence order.
    pub fn iter(&self) -> impl Iterator<Item = &Sent> {
        self.flight.iter().flat_map(|f| f.segs.iter())
    }

    /// Whether a segment marked lost waits for its retransmission.
    pub fn has_lost_unsent(&self) -> bool {
        self.counts.lost > self.counts.lost_retrans
    }

    /// What recovery sends next: the first segment marked lost and not retransmitted since,
    /// with the lost ones right after it while the whole stays within `max` sequence numbers
    /// (Linux collapses such segments into one retransmission, `tcp_retrans_try_collapse`).
    /// Returns its start and length.
    pub fn next_lost_run(&self, max: usize) -> Option<(SeqNumber, usize)> {
        let f = self.flight.as_ref()?;
        let k = f.segs.iter().position(|s| s.lost && !s.retrans)?;
        let first = f.segs[k];
        let mut len = first.len as usize;
        for s in f.segs.iter().skip(k + 1) {
            if !s.lost || s.retrans || s.sacked || len + s.len as usize > max {
                break;
            }
            len += s.len as usize;
        }
        Some((first.start, len))
    }

    /// The first segment marked lost and not retransmitted since.
    #[cfg(test)]
    pub fn next_lost(&self) -> Option<&Sent> {
        self.iter().find(|s| s.lost && !s.retrans)
    }

    /// `len` sequence numbers from `start` went out at `now`: new data is appended; a range
    /// already recorded is a retransmission.
    pub fn on_sent(&mut self, start: SeqNumber, len: usize, now: Instant) {
        if len > 0 {
            let flight = self.flight.get_or_insert_with(Box::default);
            flight.on_sent(&mut self.counts, start, len, now);
        }
    }

    /// The cumulative ACK moved to `una`.
    pub fn on_ack(&mut self, una: SeqNumber, d: &mut Delivery) {
        if let Some(f) = self.flight.as_deref_mut() {
            f.on_ack(&mut self.counts, una, d);
        }
    }

    /// The SACK blocks of an ACK whose cumulative acknowledgment is `una` (already applied with
    /// [`Scoreboard::on_ack`]).
    pub fn on_sack(&mut self, una: SeqNumber, blocks: &[(SeqNumber, SeqNumber)], d: &mut Delivery) {
        if let Some(f) = self.flight.as_deref_mut() {
            f.on_sack(&mut self.counts, una, blocks, d);
        }
    }

    /// Marks segment `k` lost (RACK, or RFC 6675's rules): a retransmission that was lost too
    /// loses its retransmitted mark, so it is sent again.
    pub fn mark_lost(&mut self, k: usize) {
        if let Some(f) = self.flight.as_deref_mut() {
            f.mark_lost(&mut self.counts, k);
        }
    }

    /// The loss marks were wrong (a spurious timeout or recovery): nothing is lost after all
    /// (Linux's `tcp_undo_cwnd_reduction` with `unmark_loss`).
    pub fn unmark_lost(&mut self) {
        if let Some(f) = self.flight.as_deref_mut() {
            f.unmark_lost(&mut self.counts);
        }
    }

    /// A retransmission timeout: every segment not SACKed is lost (Linux's `tcp_enter_loss`);
    /// with `forget_sacks` (suspected reneging) the SACKed ones too.
    pub fn mark_all_lost(&mut self, forget_sacks: bool) {
        if let Some(f) = self.flight.as_deref_mut() {
            f.mark_all_lost(&mut self.counts, forget_sacks);
        }
    }

    /// The segment at index `k`.
    pub fn get(&self, k: usize) -> Option<&Sent> {
        self.flight.as_ref()?.segs.get(k)
    }
}

impl Flight {
    /// See [`Scoreboard::on_sent`].
    fn on_sent(&mut self, c: &mut Counts, start: SeqNumber, len: usize, now: Instant) {
        if len == 0 {
            return;
        }
        let end = start + len;
        let tail = self.segs.back().map(Sent::end);
        let new_from = match tail {
            None => start,
            Some(tail) if start.ge(tail) => start,
            Some(tail) => {
                let rtx_end = end.min(tail);
                let (i, j) = self.split_range(start, rtx_end);
                for k in i..j {
                    let s = &mut self.segs[k];
                    s.xmit = now;
                    s.ever_retrans = true;
                    if !s.retrans && !s.sacked {
                        s.retrans = true;
                        c.retrans += s.len;
                        if s.lost {
                            c.lost_retrans += s.len;
                        }
                    }
                }
                tail
            }
        };
        if end.gt(new_from) {
            let n = (end - new_from) as u32;
            self.segs.push_back(Sent {
                start: new_from,
                len: n,
                xmit: now,
                sacked: false,
                lost: false,
                retrans: false,
                ever_retrans: false,
            });
            c.total += n;
        }
    }

    /// See [`Scoreboard::on_ack`].
    fn on_ack(&mut self, c: &mut Counts, una: SeqNumber, d: &mut Delivery) {
        while let Some(front) = self.segs.front().copied() {
            if front.start.ge(una) {
                break;
            }
            if front.end().le(una) {
                self.segs.pop_front();
                Flight::forget(c, &front, front.len, d);
                if !front.sacked {
                    d.deliver(&front);
                    self.note_order(&front, d);
                }
            } else {
                // Partly acknowledged: trim.
                let cut = (una - front.start) as u32;
                let s = &mut self.segs[0];
                s.start = una;
                s.len -= cut;
                let trimmed = Sent { len: cut, ..front };
                Flight::forget(c, &trimmed, cut, d);
                if !front.sacked {
                    d.deliver(&front);
                    self.note_order(&trimmed, d);
                }
                break;
            }
        }
    }

    /// A segment never retransmitted delivered below one SACKed before: reordering.
    fn note_order(&self, seg: &Sent, d: &mut Delivery) {
        if !seg.ever_retrans && self.highest_sacked.is_some_and(|h| seg.end().lt(h)) {
            d.reordered = true;
        }
    }

    fn forget(c: &mut Counts, seg: &Sent, n: u32, d: &mut Delivery) {
        c.total -= n;
        d.acked += n as usize;
        if seg.sacked {
            c.sacked -= n;
            d.acked_sacked += n as usize;
        }
        if seg.lost {
            c.lost -= n;
        }
        if seg.retrans {
            c.retrans -= n;
        }
        if seg.lost && seg.retrans {
            c.lost_retrans -= n;
        }
    }

    /// See [`Scoreboard::on_sack`].
    fn on_sack(
        &mut self,
        c: &mut Counts,
        una: SeqNumber,
        blocks: &[(SeqNumber, SeqNumber)],
        d: &mut Delivery,
    ) {
        let Some(&(first_start, first_end)) = blocks.first() else {
            return;
        };
        let dsack = first_start.lt(una)
            || blocks
                .get(1)
                .is_some_and(|&(s, e)| first_start.ge(s) && first_end.le(e));
        d.dsack |= dsack;
        let Some(tail) = self.segs.back().map(Sent::end) else {
            return;
        };
        for &(start, end) in &blocks[usize::from(dsack)..] {
            let (start, end) = (start.max(una), end.min(tail));
            if end.le(start) {
                continue;
            }
            let (i, j) = self.split_range(start, end);
            for k in i..j {
                let s = self.segs[k];
                if s.sacked {
                    continue;
                }
                let n = s.len;
                self.note_order(&s, d);
                let seg = &mut self.segs[k];
                seg.sacked = true;
                c.sacked += n;
                d.sacked += n as usize;
                if seg.lost && seg.retrans {
                    c.lost_retrans -= n;
                }
                if seg.lost {
                    seg.lost = false;
                    c.lost -= n;
                }
                if seg.retrans {
                    seg.retrans = false;
                    c.retrans -= n;
                }
                d.deliver(&s);
                let end = s.end();
                self.highest_sacked = Some(self.highest_sacked.map_or(end, |h| h.max(end)));
            }
        }
    }

    /// See [`Scoreboard::mark_lost`].
    fn mark_lost(&mut self, c: &mut Counts, k: usize) {
        let s = &mut self.segs[k];
        if s.sacked {
            return;
        }
        let n = s.len;
        if s.lost && s.retrans {
            c.lost_retrans -= n;
        }
        if !s.lost {
            s.lost = true;
            c.lost += n;
        }
        if s.retrans {
            s.retrans = false;
            c.retrans -= n;
        }
    }

    /// See [`Scoreboard::unmark_lost`].
    fn unmark_lost(&mut self, c: &mut Counts) {
        for s in &mut self.segs {
            s.lost = false;
        }
        c.lost = 0;
        c.lost_retrans = 0;
    }

    /// See [`Scoreboard::mark_all_lost`].
    fn mark_all_lost(&mut self, c: &mut Counts, forget_sacks: bool) {
        if forget_sacks {
            for s in &mut self.segs {
                s.sacked = false;
            }
            c.sacked = 0;
            self.highest_sacked = None;
        }
        for k in 0..self.segs.len() {
            self.mark_lost(c, k);
        }
    }

    /// Splits records so that `start` and `end` fall on record boundaries; returns the index
    /// range of the records covering `[start, end)`.
    fn split_range(&mut self, start: SeqNumber, end: SeqNumber) -> (usize, usize) {
        let i = self.split_at(start);
        let j = self.split_at(end);
        (i, j)
    }

    /// Makes `seq` a record boundary (if it falls inside a record); returns the index of the
    /// first record at or after `seq`.
    fn split_at(&mut self, seq: SeqNumber) -> usize {
        let Some(base) = self.segs.front().map(|s| s.start) else {
            return 0;
        };
        let off = |s: SeqNumber| s.0.wrapping_sub(base.0);
        let target = off(seq);
        let k = self.segs.partition_point(|s| off(s.end()) <= target);
        let Some(s) = self.segs.get(k).copied() else {
            return k;
        };
        if off(s.start) >= target {
            return k;
        }
        let head = (seq - s.start) as u32;
        self.segs[k].len = head;
        self.segs.insert(
            k + 1,
            Sent {
                start: seq,
                len: s.len - head,
                ..s
            },
        );
        k + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    const BASE: SeqNumber = SeqNumber(u32::MAX - 2500);

    /// Ten 1000-byte segments sent at 0, 1, ..., 9 ms, across the sequence-number wrap.
    fn ten() -> Scoreboard {
        let mut sb = Scoreboard::new();
        for i in 0..10 {
            sb.on_sent(BASE + i * 1000, 1000, t(i as u64));
        }
        sb
    }

    fn seq(k: usize) -> SeqNumber {
        BASE + k
    }

    fn check(sb: &Scoreboard) {
        let total: usize = sb.iter().map(|s| s.len as usize).sum();
        let sacked: usize = sb.iter().filter(|s| s.sacked).map(|s| s.len as usize).sum();
        let lost: usize = sb.iter().filter(|s| s.lost).map(|s| s.len as usize).sum();
        let retrans: usize = sb
            .iter()
            .filter(|s| s.retrans)
            .map(|s| s.len as usize)
            .sum();
        let c = sb.counts;
        assert_eq!(
            (c.total, c.sacked, c.lost, c.retrans),
            (total as u32, sacked as u32, lost as u32, retrans as u32)
        );
        let mut prev: Option<SeqNumber> = None;
        for s in sb.iter() {
            assert!(s.len > 0);
            if let Some(p) = prev {
                assert_eq!(p, s.start, "contiguous");
            }
            prev = Some(s.end());
        }
    }

    #[test]
    fn cumulative_acks_remove_and_trim() {
        let mut sb = ten();
        assert_eq!((sb.outstanding(), sb.pipe()), (10_000, 10_000));
        let mut d = Delivery::default();
        sb.on_ack(seq(2500), &mut d);
        check(&sb);
        assert_eq!(d.acked, 2500);
        assert_eq!(d.newest, Some((t(2), seq(3000), false)));
        assert_eq!(sb.iter().next().unwrap().start, seq(2500));
        assert_eq!(sb.outstanding(), 7500);
        let mut d = Delivery::default();
        sb.on_ack(seq(10_000), &mut d);
        assert!(sb.is_empty());
        assert_eq!(d.acked, 7500);
    }

    #[test]
    fn sack_blocks_split_records_and_count_once() {
        let mut sb = ten();
        let mut d = Delivery::default();
        sb.on_sack(seq(0), &[(seq(3000), seq(5500))], &mut d);
        check(&sb);
        assert_eq!(d.sacked, 2500);
        assert!(!d.dsack && !d.reordered);
        assert_eq!(sb.sacked_bytes(), 2500);
        assert_eq!(sb.pipe(), 7500);
        assert_eq!(sb.highest_sacked(), Some(seq(5500)));
        assert_eq!(d.newest, Some((t(5), seq(5500), false)));
        // The same block again adds nothing; a wider one adds only the new part.
        let mut d = Delivery::default();
        sb.on_sack(seq(0), &[(seq(3000), seq(6000))], &mut d);
        check(&sb);
        assert_eq!(d.sacked, 500);
        // The cumulative ACK over SACKed data reports it as such.
        let mut d = Delivery::default();
        sb.on_ack(seq(6000), &mut d);
        check(&sb);
        assert_eq!((d.acked, d.acked_sacked), (6000, 3000));
        assert_eq!(sb.sacked_bytes(), 0);
    }

    #[test]
    fn dsack_is_recognised_below_the_ack_and_inside_the_next_block() {
        let mut sb = ten();
        let mut d = Delivery::default();
        sb.on_ack(seq(2000), &mut d);
        let mut d = Delivery::default();
        sb.on_sack(seq(2000), &[(seq(1000), seq(2000))], &mut d);
        assert!(d.dsack);
        assert_eq!(d.sacked, 0);
        let mut d = Delivery::default();
        sb.on_sack(
            seq(2000),
            &[(seq(4000), seq(5000)), (seq(3000), seq(6000))],
            &mut d,
        );
        assert!(d.dsack);
        assert_eq!(d.sacked, 3000, "the second block is new");
        check(&sb);
    }

    #[test]
    fn lost_segments_are_retransmitted_in_order_and_leave_the_pipe_until_resent() {
        let mut sb = ten();
        let mut d = Delivery::default();
        sb.on_sack(seq(0), &[(seq(3000), seq(10_000))], &mut d);
        for k in 0..3 {
            sb.mark_lost(k);
        }
        check(&sb);
        assert_eq!(sb.lost_bytes(), 3000);
        assert_eq!(sb.pipe(), 0);
        assert_eq!(sb.next_lost().unwrap().start, seq(0));
        sb.on_sent(seq(0), 1000, t(20));
        check(&sb);
        assert_eq!(sb.pipe(), 1000);
        assert_eq!(sb.next_lost().unwrap().start, seq(1000));
        // The retransmission is lost too: marked again, it is due again.
        sb.mark_lost(0);
        assert_eq!(sb.next_lost().unwrap().start, seq(0));
        assert_eq!(sb.pipe(), 0);
        check(&sb);
    }

    #[test]
    fn a_retransmission_may_cover_part_of_a_record_and_new_data() {
        let mut sb = ten();
        // After a timeout, "go back N" resends 9500.. plus 1000 new bytes.
        sb.on_sent(seq(9500), 1500, t(50));
        check(&sb);
        assert_eq!(sb.outstanding(), 11_000);
        let rtx: Vec<_> = sb.iter().filter(|s| s.ever_retrans).collect();
        assert_eq!(rtx.len(), 1);
        assert_eq!((rtx[0].start, rtx[0].len), (seq(9500), 500));
        assert_eq!(sb.iter().last().unwrap().xmit, t(50));
        assert!(!sb.iter().last().unwrap().ever_retrans);
    }

    #[test]
    fn reordering_is_seen_when_a_hole_below_the_highest_sack_fills_by_itself() {
        let mut sb = ten();
        let mut d = Delivery::default();
        sb.on_sack(seq(0), &[(seq(5000), seq(6000))], &mut d);
        assert!(!d.reordered);
        let mut d = Delivery::default();
        sb.on_sack(
            seq(0),
            &[(seq(2000), seq(3000)), (seq(5000), seq(6000))],
            &mut d,
        );
        assert!(
            d.reordered,
            "segment 2 arrived after segment 5 without a retransmission"
        );
        check(&sb);
    }

    #[test]
    fn a_timeout_marks_everything_unsacked_lost() {
        let mut sb = ten();
        let mut d = Delivery::default();
        sb.on_sack(seq(0), &[(seq(4000), seq(6000))], &mut d);
        sb.on_sent(seq(0), 1000, t(30));
        sb.mark_all_lost(false);
        check(&sb);
        assert_eq!(sb.lost_bytes(), 8000);
        assert_eq!(sb.pipe(), 0);
        assert!(!sb.head_sacked());
        sb.mark_all_lost(true);
        check(&sb);
        assert_eq!((sb.sacked_bytes(), sb.lost_bytes()), (0, 10_000));
    }

    #[test]
    fn the_records_are_allocated_when_sending_and_released_only_when_empty() {
        let sb = Scoreboard::new();
        assert_eq!(sb.allocated(), 0);
        assert_eq!((sb.pipe(), sb.prr()), (0, Prr::default()));
        let mut sb = ten();
        let held = sb.allocated();
        assert!(held >= size_of::<Flight>() + 10 * size_of::<Sent>());
        sb.prr_mut().out = 1000;
        sb.release_if_empty();
        assert_eq!(sb.allocated(), held, "segments outstanding");
        assert_eq!(sb.prr().out, 1000);
        let mut d = Delivery::default();
        sb.on_ack(seq(10_000), &mut d);
        assert!(sb.is_empty());
        sb.release_if_empty();
        assert_eq!(sb.allocated(), 0);
        assert_eq!(sb.iter().count(), 0);
        // Sending again starts from a fresh box.
        sb.on_sent(seq(10_000), 500, t(20));
        assert_eq!((sb.outstanding(), sb.pipe()), (500, 500));
        assert_eq!(sb.highest_sacked(), None);
        check(&sb);
    }

    #[test]
    fn reneging_shows_as_a_sacked_head() {
        let mut sb = ten();
        let mut d = Delivery::default();
        sb.on_sack(seq(0), &[(seq(1000), seq(2000))], &mut d);
        sb.on_ack(seq(1000), &mut d);
        assert!(sb.head_sacked());
    }
}
