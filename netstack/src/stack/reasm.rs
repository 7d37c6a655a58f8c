//! IPv4 fragment reassembly (RFC 791 section 3.2, RFC 815), bounded in memory and in time.
//!
//! The [`Reassembler`] owns every incomplete datagram: one [`Queue`] per key
//! `(source, destination, protocol, identification)`. A queue holds one buffer, in which each
//! fragment's payload is copied at its offset, and a sorted list of the byte ranges received
//! (adjacent ranges merge, so in-order or reversed arrival keeps a single range). The first
//! fragment's header is stored just in front of the payload, so a completed datagram is rebuilt
//! in place (header fixed up: total length, no fragment fields, new checksum) and handed to the
//! input path as one owned buffer, quoted like any datagram by the ICMP errors it provokes.
//!
//! Design decisions, each following Linux unless said otherwise:
//!
//! - **Checks on the fragment alone** (the fragment is dropped and `IpReasmFails` counted; the
//!   queue, if any, is untouched): an empty payload, a payload that is not a multiple of 8 bytes
//!   when more fragments follow (Linux trims such a fragment instead; RFC 791 forbids it, so it
//!   is refused here), and an end beyond 65,515 bytes (the largest IPv4 payload: no "ping of
//!   death" buffer is ever allocated).
//! - **Contradictions discard the whole queue** (`IpReasmFails`): a last fragment (*more
//!   fragments* clear) that ends before data already received or disagrees with an earlier
//!   last fragment, a fragment reaching past the known end, a datagram whose rebuilt total
//!   length would pass 65,535, and overlaps (next item).
//! - **Overlaps**: a fragment entirely inside data already received is a duplicate and is
//!   dropped silently (the first copy wins); one that overlaps received data only in part
//!   discards the whole datagram and counts `IpExtReasmOverlaps`. This is RFC 5722's rule, which
//!   Linux applies to IPv4 since 4.19: overlapping fragments are only ever an evasion attempt, and
//!   since the bytes are never rewritten, no overlap can change data already accepted.
//! - **Time**: a queue lives `ipfrag_time` seconds from its first fragment (later fragments do
//!   not extend it). On expiry it is dropped, counting `IpReasmFails` and `IpReasmTimeout`; if
//!   the fragment at offset 0 had arrived, the stack answers with ICMP time exceeded, code 1
//!   ("fragment reassembly time exceeded"), quoting that fragment.
//! - **Memory**: each queue is charged its buffers' capacities plus a fixed overhead. When a
//!   fragment would take usage above `ipfrag_high_thresh`, the oldest other queues (the ones
//!   closest to expiry) are evicted, each counting `IpReasmFails`, until usage would be at most
//!   `ipfrag_low_thresh`. This is the evictor Linux had before 4.17 (later kernels refuse new
//!   fragments instead). If the fragment still does not fit, it and its queue are dropped. So
//!   usage never passes `ipfrag_high_thresh`, whatever arrives.
//! - Queues live in a hash map (SipHash with random keys: no collision flooding) and in an
//!   ordered map by `(deadline, serial)`, which gives the next deadline, expiry and eviction in
//!   O(log n): nothing ever scans every queue.
//! - [`crate::tcp::assembler::Assembler`] is not reused: its offsets are relative to an in-order
//!   point that moves, and it cannot tell a partial overlap from new data, which this policy
//!   needs. The range list here is small and bounded by [`MAX_RANGES`].

use core::mem::size_of;
use core::net::Ipv4Addr;
use std::collections::BTreeMap;
use std::time::Duration;

use super::Stack;
use super::output::quote_len;
use crate::config::StackConfig;
use crate::route::IfaceId;
use crate::stats::{Counter, Counters};
use crate::time::Instant;
use crate::wire::icmpv4::{self, Icmpv4Repr};
use crate::wire::ipv4::{self, Ipv4Packet, Ipv4Repr};

/// The largest header (with options): the space kept in front of every queue's payload.
const HEAD: usize = 60;
/// The largest IPv4 payload: a total length of 65,535 minus the shortest header.
const MAX_PAYLOAD: usize = 65_535 - ipv4::HEADER_LEN;
/// Disjoint ranges one queue holds at most; a fragment that would need more is refused. Legit
/// datagrams need far fewer (64 KiB in 48-byte fragments, the smallest a 68-byte MTU allows, is
/// 1366 fragments, and merging keeps a few ranges unless they are heavily shuffled); the bound
/// keeps each insertion's shift of the list to 4 KiB.
pub(crate) const MAX_RANGES: usize = 256;
/// The fixed memory charge of a queue: its struct and its entries in both maps, rounded up.
const QUEUE_OVERHEAD: usize = 2 * size_of::<Queue>() + 4 * size_of::<Key>();

/// What identifies the fragments of one datagram (RFC 791).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// The source address.
    pub(crate) src: Ipv4Addr,
    /// The destination address.
    pub(crate) dst: Ipv4Addr,
    /// The protocol field.
    pub(crate) protocol: u8,
    /// The identification field.
    pub(crate) ident: u16,
}

/// The settings reassembly runs under, read from [`StackConfig`] on every fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `ipfrag_high_thresh`: bytes never exceeded.
    pub(crate) high: usize,
    /// `ipfrag_low_thresh`: bytes eviction brings usage down to.
    pub(crate) low: usize,
    /// `ipfrag_time`: how long a queue lives.
    pub(crate) timeout: Duration,
}

impl Limits {
    /// The limits `config` sets.
    pub(crate) fn from_config(config: &StackConfig) -> Limits {
        Limits {
            high: config.ipfrag_high_thresh,
            low: config.ipfrag_low_thresh,
            timeout: Duration::from_secs(config.ipfrag_time.into()),
        }
    }
}

/// One incomplete datagram.
#[derive(Debug)]
struct Queue {
    /// Its key in [`Reassembler::order`].
    slot: (Instant, u64),
    /// `HEAD` bytes (the first fragment's header at the end of them), then the payload.
    buf: Vec<u8>,
    /// Payload ranges received, sorted, disjoint and not adjacent.
    ranges: Vec<(usize, usize)>,
    /// The payload length, once the last fragment came.
    total: Option<usize>,
    /// The first fragment's header and payload lengths, once it came.
    first: Option<(usize, usize)>,
    /// Bytes charged to the reassembler's memory usage.
    charge: usize,
}

/// What a fragment does to its queue.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// New data; `new_range` when it touches no range already there.
    Accept { new_range: bool },
    /// Entirely inside data already received.
    Duplicate,
    /// Contradicts the queue (`overlap` when it overlaps data in part): drop the datagram.
    Conflict { overlap: bool },
}

impl Queue {
    fn judge(&self, offset: usize, end: usize, more: bool) -> Verdict {
        let known_end = self.ranges.last().map_or(0, |r| r.1);
        let bad_end = if more {
            self.total.is_some_and(|t| end > t)
        } else {
            end < known_end || self.total.is_some_and(|t| t != end)
        };
        if bad_end {
            return Verdict::Conflict { overlap: false };
        }
        let i = self.ranges.partition_point(|r| r.1 <= offset);
        if let Some(&(s, e)) = self.ranges.get(i) {
            if s <= offset && end <= e {
                return Verdict::Duplicate;
            }
            if s < end {
                return Verdict::Conflict { overlap: true };
            }
        }
        let joins_before = i > 0 && self.ranges[i - 1].1 == offset;
        let joins_after = self.ranges.get(i).is_some_and(|r| r.0 == end);
        Verdict::Accept {
            new_range: !joins_before && !joins_after,
        }
    }

    /// Records `offset..end` as received (it overlaps nothing: [`Queue::judge`] said so).
    fn insert(&mut self, offset: usize, end: usize) {
        let i = self.ranges.partition_point(|r| r.1 <= offset);
        let before = i > 0 && self.ranges[i - 1].1 == offset;
        let after = self.ranges.get(i).is_some_and(|r| r.0 == end);
        match (before, after) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 = end,
            (false, true) => self.ranges[i].0 = offset,
            (false, false) => self.ranges.insert(i, (offset, end)),
        }
    }

    fn is_complete(&self) -> bool {
        self.total.is_some_and(|t| self.ranges == [(0, t)])
    }

    fn measure(&self) -> usize {
        QUEUE_OVERHEAD + self.buf.capacity() + self.ranges.capacity() * size_of::<(usize, usize)>()
    }
}

/// A reassembled datagram: header and payload, contiguous inside an owned buffer.
#[derive(Debug)]
pub(crate) struct Datagram {
    buf: Vec<u8>,
    start: usize,
}

impl Datagram {
    /// The datagram's bytes, from its header to the end of its payload.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// A queue that timed out.
#[derive(Debug)]
pub(crate) struct Expired {
    /// The datagram's key.
    pub(crate) key: Key,
    buf: Vec<u8>,
    first: Option<(usize, usize)>,
}

impl Expired {
    /// The first fragment (header and payload, as received), if it arrived: what the ICMP time
    /// exceeded message quotes.
    pub(crate) fn first_fragment(&self) -> Option<&[u8]> {
        let (hlen, len) = self.first?;
        self.buf.get(HEAD - hlen..HEAD + len)
    }
}

/// Every incomplete datagram, with the memory they use. See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    queues: crate::hash::Map<Key, Queue>,
    /// Queues by deadline, then creation order: expiry and eviction take the first.
    order: BTreeMap<(Instant, u64), Key>,
    /// The creation counter that keeps `order` keys unique.
    serial: u64,
    /// Bytes charged to all queues.
    mem: usize,
}

impl Reassembler {
    /// Bytes in use, as charged against `ipfrag_high_thresh`.
    #[cfg(test)]
    pub(crate) fn mem(&self) -> usize {
        self.mem
    }

    /// Incomplete datagrams held.
    #[cfg(test)]
    pub(crate) fn queues(&self) -> usize {
        self.queues.len()
    }

    /// The earliest deadline, if any datagram is waiting.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.order.keys().next().map(|(t, _)| *t)
    }

    /// Takes one fragment, `datagram` being its bytes from the IPv4 header to the end of the
    /// total length (header checksum already verified). Counts `IpReasmReqds` and, as they
    /// happen, `IpReasmOKs`, `IpReasmFails` and `IpExtReasmOverlaps`. Returns the datagram this
    /// fragment completed, if it did.
    pub(crate) fn add(
        &mut self,
        now: Instant,
        datagram: &[u8],
        limits: Limits,
        counters: &mut Counters,
    ) -> Option<Datagram> {
        counters.inc(Counter::IpReasmReqds);
        let Ok(packet) = Ipv4Packet::new_checked(datagram) else {
            counters.inc(Counter::IpReasmFails);
            return None;
        };
        let hlen = usize::from(packet.header_len());
        let payload = packet.payload();
        let offset = usize::from(packet.frag_offset());
        let end = offset + payload.len();
        let more = packet.more_frags();
        if payload.is_empty() || (more && payload.len() % 8 != 0) || end > MAX_PAYLOAD {
            counters.inc(Counter::IpReasmFails);
            return None;
        }
        let key = Key {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            protocol: packet.next_header().into(),
            ident: packet.ident(),
        };
        let (new_range, old) = match self.queues.get(&key) {
            None => (true, None),
            Some(q) => match q.judge(offset, end, more) {
                Verdict::Accept { new_range } => (new_range, Some(q)),
                Verdict::Duplicate => return None,
                Verdict::Conflict { overlap } => {
                    if overlap {
                        counters.inc(Counter::IpExtReasmOverlaps);
                    }
                    self.remove(&key);
                    counters.inc(Counter::IpReasmFails);
                    return None;
                }
            },
        };
        if new_range && old.is_some_and(|q| q.ranges.len() >= MAX_RANGES) {
            counters.inc(Counter::IpReasmFails);
            return None;
        }

        // The memory this fragment adds, planned before anything is allocated.
        let total = old.and_then(|q| q.total).or((!more).then_some(end));
        let cap_limit = HEAD + total.unwrap_or(MAX_PAYLOAD);
        let (buf_cap, ranges_len, ranges_cap) = old.map_or((0, 0, 0), |q| {
            (q.buf.capacity(), q.ranges.len(), q.ranges.capacity())
        });
        let need = HEAD + end;
        let new_buf_cap = if need > buf_cap {
            need.max(buf_cap * 2).min(cap_limit)
        } else {
            buf_cap
        };
        let new_ranges_cap = if new_range && ranges_len == ranges_cap {
            (ranges_cap * 2).clamp(4, MAX_RANGES)
        } else {
            ranges_cap
        };
        let extra = new_buf_cap.saturating_sub(buf_cap)
            + new_ranges_cap.saturating_sub(ranges_cap) * size_of::<(usize, usize)>()
            + if old.is_none() { QUEUE_OVERHEAD } else { 0 };
        if !self.make_room(&key, extra, limits, counters) {
            self.remove(&key);
            counters.inc(Counter::IpReasmFails);
            return None;
        }

        let q = match self.queues.get_mut(&key) {
            Some(q) => q,
            None => {
                self.serial += 1;
                let slot = (now + limits.timeout, self.serial);
                self.order.insert(slot, key);
                self.queues.entry(key).or_insert(Queue {
                    slot,
                    buf: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    first: None,
                    charge: 0,
                })
            }
        };
        q.buf.reserve_exact(new_buf_cap.saturating_sub(q.buf.len()));
        q.ranges
            .reserve_exact(new_ranges_cap.saturating_sub(q.ranges.len()));
        if q.buf.len() < need {
            q.buf.resize(need, 0);
        }
        q.buf[HEAD + offset..need].copy_from_slice(payload);
        if offset == 0 {
            q.buf[HEAD - hlen..HEAD].copy_from_slice(&datagram[..hlen]);
            q.first = Some((hlen, payload.len()));
        }
        q.total = total;
        q.insert(offset, end);
        let charge = q.measure();
        self.mem = self.mem - q.charge + charge;
        q.charge = charge;
        if !q.is_complete() {
            return None;
        }

        let q = self.remove(&key)?;
        let (hlen, _) = q.first?;
        let total = q.total?;
        let Ok(total_len) = u16::try_from(hlen + total) else {
            counters.inc(Counter::IpReasmFails);
            return None;
        };
        let mut buf = q.buf;
        buf.truncate(HEAD + total);
        let start = HEAD - hlen;
        let mut header = Ipv4Packet::new_unchecked(&mut buf[start..]);
        header.set_total_len(total_len);
        header.set_more_frags(false);
        header.set_frag_offset(0);
        header.fill_checksum();
        counters.inc(Counter::IpReasmOKs);
        Some(Datagram { buf, start })
    }

    /// Evicts the oldest queues other than `keep` if `extra` more bytes would pass the high
    /// threshold. Returns whether `extra` bytes now fit under it.
    fn make_room(
        &mut self,
        keep: &Key,
        extra: usize,
        limits: Limits,
        counters: &mut Counters,
    ) -> bool {
        if self.mem + extra <= limits.high {
            return true;
        }
        while self.mem + extra > limits.low.min(limits.high) {
            let victim = self.order.values().find(|k| *k != keep).copied();
            let Some(victim) = victim else { break };
            self.remove(&victim);
            counters.inc(Counter::IpReasmFails);
        }
        self.mem + extra <= limits.high
    }

    /// Forgets a queue and its memory charge.
    fn remove(&mut self, key: &Key) -> Option<Queue> {
        let q = self.queues.remove(key)?;
        self.order.remove(&q.slot);
        self.mem -= q.charge;
        Some(q)
    }

    /// Removes one queue whose deadline is at or before `now`, counting `IpReasmFails` and
    /// `IpReasmTimeout`. Call it until it returns `None`.
    pub(crate) fn pop_expired(&mut self, now: Instant, counters: &mut Counters) -> Option<Expired> {
        let (&(deadline, _), &key) = self.order.iter().next()?;
        if deadline > now {
            return None;
        }
        let q = self.remove(&key)?;
        counters.inc(Counter::IpReasmFails);
        counters.inc(Counter::IpReasmTimeout);
        Some(Expired {
            key,
            buf: q.buf,
            first: q.first,
        })
    }
}

impl Stack {
    /// Hands a fragment received on `iface` to the reassembler, and a datagram it completes to
    /// the same dispatch as an unfragmented one (`verify`: whether transport checksums are
    /// checked).
    pub(super) fn receive_fragment(
        &mut self,
        now: Instant,
        iface: IfaceId,
        datagram: &[u8],
        verify: bool,
    ) {
        let limits = Limits::from_config(&self.config);
        let Some(whole) = self.reasm.add(now, datagram, limits, &mut self.counters) else {
            return;
        };
        let bytes = whole.bytes();
        // The rebuilt header is valid by construction; parse it rather than trust that.
        let parsed = Ipv4Packet::new_checked(bytes).and_then(|p| Ipv4Repr::parse(&p, false));
        if let Ok(repr) = parsed {
            self.dispatch_ipv4(now, iface, repr, bytes, verify);
        }
    }

    /// Drops the reassembly queues whose time ran out and, as Linux does, sends ICMP time
    /// exceeded (code 1) for those whose first fragment came, were addressed to one of our
    /// unicast addresses, and were not themselves ICMP errors.
    pub(super) fn expire_fragments(&mut self, now: Instant) {
        while let Some(expired) = self.reasm.pop_expired(now, &mut self.counters) {
            let key = expired.key;
            let Some(first) = expired.first_fragment() else {
                continue;
            };
            let ours = self.ifaces.iter().any(|i| i.ip() == key.dst);
            let src = key.src;
            let src_ok = !(src.is_unspecified() || src.is_broadcast() || src.is_multicast());
            if !ours || !src_ok || (key.protocol == 1 && is_icmp_error(first)) {
                continue;
            }
            let repr = Icmpv4Repr::TimeExceeded {
                code: icmpv4::FRAG_TIME_EXCEEDED,
                original: &first[..quote_len(first)],
            };
            self.send_icmp(now, src, &repr);
            self.counters.inc(Counter::IcmpOutTimeExcds);
        }
    }
}

/// Whether an ICMP datagram (from its IPv4 header) is an error message, or of a type unknown
/// to RFC 792, which no ICMP error may answer (RFC 1122 section 3.2.2).
fn is_icmp_error(datagram: &[u8]) -> bool {
    let hlen = Ipv4Packet::new_checked(datagram).map_or(0, |p| usize::from(p.header_len()));
    match datagram.get(hlen) {
        Some(&t) => matches!(t, 3 | 4 | 5 | 11 | 12) || t > 18,
        None => true,
    }
}

#[cfg(test)]
mod tests;
