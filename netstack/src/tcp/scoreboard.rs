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

/// Segments a cleared scoreboard keeps room for (an idle connection's worth: a request and
/// its response).
const KEEP_SEGMENTS: usize = 16;

/// The scoreboard of one connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scoreboard {
    segs: VecDeque<Sent>,
    total: usize,
    sacked: usize,
    lost: usize,
    retrans: usize,
    /// Bytes both lost and retransmitted since (so `lost - lost_retrans` are still to resend).
    lost_retrans: usize,
    /// One past the highest sequence number ever SACKed.
    highest_sacked: Option<SeqNumber>,
}

impl Scoreboard {
    /// An empty scoreboard.
    pub fn new() -> Scoreboard {
        Scoreboard::default()
    }

    /// Forgets everything (the connection ended), keeping room for a few segments (more is
    /// freed), so a recycled control block's scoreboard serves the next connection without
    /// allocating.
    pub fn clear(&mut self) {
        let mut segs = std::mem::take(&mut self.segs);
        segs.clear();
        if segs.capacity() > KEEP_SEGMENTS {
            segs = VecDeque::new();
        }
        *self = Scoreboard {
            segs,
            ..Scoreboard::default()
        };
    }

    /// Takes over `old`'s storage, cleared, if this scoreboard has none (see
    /// [`Scoreboard::clear`]).
    pub fn adopt_storage(&mut self, mut old: Scoreboard) {
        if self.segs.capacity() == 0 {
            old.clear();
            self.segs = old.segs;
        }
    }

    /// Nothing outstanding.
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// Bytes outstanding.
    #[cfg(test)]
    pub fn outstanding(&self) -> usize {
        self.total
    }

    /// Bytes SACKed.
    pub fn sacked_bytes(&self) -> usize {
        self.sacked
    }

    /// Bytes marked lost (retransmitted or not).
    pub fn lost_bytes(&self) -> usize {
        self.lost
    }

    /// Bytes in flight: outstanding, less SACKed and lost, plus retransmitted.
    pub fn pipe(&self) -> usize {
        (self.total + self.retrans).saturating_sub(self.sacked + self.lost)
    }

    /// One past the highest sequence number SACKed, if any.
    #[cfg(test)]
    pub fn highest_sacked(&self) -> Option<SeqNumber> {
        self.highest_sacked
    }

    /// Whether the first outstanding segment is SACKed: the peer acknowledged up to it but not
    /// it, so it dropped what it had SACKed (reneging, RFC 2018 section 8).
    pub fn head_sacked(&self) -> bool {
        self.segs.front().is_some_and(|s| s.sacked)
    }

    /// The segments, in sequence order.
    pub fn iter(&self) -> impl Iterator<Item = &Sent> {
        self.segs.iter()
    }

    /// Whether a segment marked lost waits for its retransmission.
    pub fn has_lost_unsent(&self) -> bool {
        self.lost > self.lost_retrans
    }

    /// What recovery sends next: the first segment marked lost and not retransmitted since,
    /// with the lost ones right after it while the whole stays within `max` sequence numbers
    /// (Linux collapses such segments into one retransmission, `tcp_retrans_try_collapse`).
    /// Returns its start and length.
    pub fn next_lost_run(&self, max: usize) -> Option<(SeqNumber, usize)> {
        let k = self.segs.iter().position(|s| s.lost && !s.retrans)?;
        let first = self.segs[k];
        let mut len = first.len as usize;
        for s in self.segs.iter().skip(k + 1) {
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
        self.segs.iter().find(|s| s.lost && !s.retrans)
    }

    /// `len` sequence numbers from `start` went out at `now`: new data is appended; a range
    /// already recorded is a retransmission.
    pub fn on_sent(&mut self, start: SeqNumber, len: usize, now: Instant) {
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
                        self.retrans += s.len as usize;
                        if s.lost {
                            self.lost_retrans += s.len as usize;
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
            self.total += n as usize;
        }
    }

    /// The cumulative ACK moved to `una`.
    pub fn on_ack(&mut self, una: SeqNumber, d: &mut Delivery) {
        while let Some(front) = self.segs.front().copied() {
            if front.start.ge(una) {
                break;
            }
            if front.end().le(una) {
                self.segs.pop_front();
                self.forget(&front, front.len as usize, d);
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
                self.forget(&trimmed, cut as usize, d);
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

    fn forget(&mut self, seg: &Sent, n: usize, d: &mut Delivery) {
        self.total -= n;
        d.acked += n;
        if seg.sacked {
            self.sacked -= n;
            d.acked_sacked += n;
        }
        if seg.lost {
            self.lost -= n;
        }
        if seg.retrans {
            self.retrans -= n;
        }
        if seg.lost && seg.retrans {
            self.lost_retrans -= n;
        }
    }

    /// The SACK blocks of an ACK whose cumulative acknowledgment is `una` (already applied with
    /// [`Scoreboard::on_ack`]).
    pub fn on_sack(&mut self, una: SeqNumber, blocks: &[(SeqNumber, SeqNumber)], d: &mut Delivery) {
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
                let n = s.len as usize;
                self.note_order(&s, d);
                let seg = &mut self.segs[k];
                seg.sacked = true;
                self.sacked += n;
                d.sacked += n;
                if seg.lost && seg.retrans {
                    self.lost_retrans -= n;
                }
                if seg.lost {
                    seg.lost = false;
                    self.lost -= n;
                }
                if seg.retrans {
                    seg.retrans = false;
                    self.retrans -= n;
                }
                d.deliver(&s);
                let end = s.end();
                self.highest_sacked = Some(self.highest_sacked.map_or(end, |h| h.max(end)));
            }
        }
    }

    /// Marks segment `k` lost (RACK, or RFC 6675's rules): a retransmission that was lost too
    /// loses its retransmitted mark, so it is sent again.
    pub fn mark_lost(&mut self, k: usize) {
        let s = &mut self.segs[k];
        if s.sacked {
            return;
        }
        let n = s.len as usize;
        if s.lost && s.retrans {
            self.lost_retrans -= n;
        }
        if !s.lost {
            s.lost = true;
            self.lost += n;
        }
        if s.retrans {
            s.retrans = false;
            self.retrans -= n;
        }
    }

    /// The loss marks were wrong (a spurious timeout or recovery): nothing is lost after all
    /// (Linux's `tcp_undo_cwnd_reduction` with `unmark_loss`).
    pub fn unmark_lost(&mut self) {
        for s in &mut self.segs {
            s.lost = false;
        }
        self.lost = 0;
        self.lost_retrans = 0;
    }

    /// A retransmission timeout: every segment not SACKed is lost (Linux's `tcp_enter_loss`);
    /// with `forget_sacks` (suspected reneging) the SACKed ones too.
    pub fn mark_all_lost(&mut self, forget_sacks: bool) {
        if forget_sacks {
            for s in &mut self.segs {
                s.sacked = false;
            }
            self.sacked = 0;
            self.highest_sacked = None;
        }
        for k in 0..self.segs.len() {
            self.mark_lost(k);
        }
    }

    /// The segment at index `k`.
    pub fn get(&self, k: usize) -> Option<&Sent> {
        self.segs.get(k)
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
        assert_eq!(
            (sb.total, sb.sacked, sb.lost, sb.retrans),
            (total, sacked, lost, retrans)
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
    fn reneging_shows_as_a_sacked_head() {
        let mut sb = ten();
        let mut d = Delivery::default();
        sb.on_sack(seq(0), &[(seq(1000), seq(2000))], &mut d);
        sb.on_ack(seq(1000), &mut d);
        assert!(sb.head_sacked());
    }

    #[test]
    fn a_cleared_scoreboard_keeps_a_little_room_for_the_next_connection() {
        let mut sb = ten();
        let room = sb.segs.capacity();
        assert!((10..=KEEP_SEGMENTS).contains(&room));
        sb.clear();
        assert!(sb.is_empty() && sb.lost_bytes() == 0 && sb.sacked_bytes() == 0);
        assert_eq!(sb.segs.capacity(), room, "kept");
        let mut fresh = Scoreboard::new();
        fresh.adopt_storage(sb);
        assert_eq!(fresh.segs.capacity(), room);
        assert!(fresh.is_empty());
        // A bulk sender's large scoreboard is freed.
        let mut big = Scoreboard::new();
        for i in 0..100 {
            big.on_sent(BASE + i * 1000, 1000, t(0));
        }
        big.clear();
        assert_eq!(big.segs.capacity(), 0);
        // One with storage of its own keeps it.
        let mut own = ten();
        own.clear();
        let before = own.segs.capacity();
        own.adopt_storage(ten());
        assert_eq!(own.segs.capacity(), before);
    }
}
