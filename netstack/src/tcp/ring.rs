//! A bounded byte ring: the storage of a connection's send and receive buffers.
//!
//! - **Bounded**: it never holds more than its limit (`SO_SNDBUF`/`SO_RCVBUF`, autotuned), and
//!   the limit can change at run time (growing is immediate; shrinking takes effect as data
//!   drains, since queued bytes are never thrown away).
//! - **Lazy**: no memory until the first byte, and [`Ring::release_if_empty`] gives the memory
//!   back, so an idle connection holds only its control block (what Linux achieves by freeing
//!   consumed skbs). Storage grows by doubling up to the limit, so a connection that only ever
//!   carries small messages never allocates its full limit.
//! - **Recycled first allocations**: the smallest storage (what every short connection's
//!   buffers are) goes back, zeroed, to a per-thread list of at most [`SPARE_LIMIT`] buffers
//!   (128 KiB) when released, and the next first write takes it from there: four allocations
//!   and frees of 512 bytes per request/response connection were a large part of its cost in
//!   the allocator's slow paths (like Linux's per-CPU page lists in front of its allocator).
//!   The list is per thread because stacks are (shared-nothing), so it needs no lock.
//! - **Offset writes**: the receive side writes out-of-order data past the end of the queued
//!   bytes ([`Ring::write_at`]) and makes it readable later ([`Ring::commit`]), so reassembly
//!   needs no second buffer.
//! - **Offset reads**: the send side reads any part of the queued bytes ([`Ring::read_at`]) to
//!   build or rebuild a segment straight into a frame buffer, and drops acknowledged bytes from the
//!   front ([`Ring::consume`]).

use std::cell::RefCell;

/// Most queued bytes [`Ring::rewind`] moves to bring the head back to the start.
pub const REWIND_MAX: usize = 2048;

/// Smallest storage allocated on first use. Small, so that a connection carrying a few bytes
/// (a request, an echo) allocates and zeroes 512 bytes rather than pages; a bulk writer's first
/// write asks for its own size at once, and doubling makes later growth rare.
const MIN_ALLOC: usize = 512;

/// The largest limit: 4 GiB less one byte, so positions fit 32 bits (Linux's buffer sizes are
/// `int`s, half that). Larger limits are kept as this.
pub const MAX_LIMIT: usize = u32::MAX as usize;

/// Released [`MIN_ALLOC`]-byte buffers kept for reuse, per thread.
const SPARE_LIMIT: usize = 256;

thread_local! {
    /// Zeroed [`MIN_ALLOC`]-byte buffers for first allocations (see the module docs).
    static SPARE: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

/// A zeroed [`MIN_ALLOC`]-byte buffer from the thread's list, if it has one.
fn take_spare() -> Option<Box<[u8]>> {
    SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten()
}

/// Gives `storage` back: to the thread's list if it is a [`MIN_ALLOC`]-byte buffer and the list
/// has room (zeroed, so no connection ever sees another's bytes), else to the allocator.
fn give_back(mut storage: Box<[u8]>) {
    if storage.len() != MIN_ALLOC {
        return;
    }
    storage.fill(0);
    // During the thread's teardown the list may be gone: the buffer is just freed.
    let _ = SPARE.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < SPARE_LIMIT {
            s.push(storage);
        }
    });
}

/// A bounded ring of bytes.
///
/// 32 bytes: positions are 32-bit (the limit is at most [`MAX_LIMIT`]), since every
/// connection carries two rings.
#[derive(Debug, Default)]
pub struct Ring {
    storage: Box<[u8]>,
    /// Index of the first queued byte in `storage`.
    head: u32,
    /// Number of queued (committed) bytes.
    len: u32,
    limit: usize,
}

impl Ring {
    /// An empty ring that will hold at most `limit` bytes (at most [`MAX_LIMIT`]). Allocates
    /// nothing.
    pub fn new(limit: usize) -> Ring {
        Ring {
            storage: Box::default(),
            head: 0,
            len: 0,
            limit: limit.min(MAX_LIMIT),
        }
    }

    /// Queued bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most bytes the ring may hold.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Room left under the limit.
    pub fn free(&self) -> usize {
        self.limit.saturating_sub(self.len())
    }

    /// Bytes of memory the ring holds now (like `ss -m`'s allocation figures).
    pub fn allocated(&self) -> usize {
        self.storage.len()
    }

    /// Changes the limit (at most [`MAX_LIMIT`]). Bytes already queued are kept even if above
    /// a smaller limit.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(MAX_LIMIT);
    }

    /// Frees the storage if nothing is queued.
    pub fn release_if_empty(&mut self) {
        if self.len == 0 {
            give_back(std::mem::take(&mut self.storage));
            self.head = 0;
        }
    }

    /// Moves the head back to the start of the storage if at most [`REWIND_MAX`] bytes are
    /// queued (moving those bytes along), so that the next bytes land where the last ones were
    /// and a ring that keeps (nearly) emptying touches the same cache lines again instead of
    /// sweeping its whole allocation: a reader keeping up, or a sender whose bytes are all
    /// acknowledged but a short tail (a 64 KiB write on a 65,483-byte MSS leaves 53 bytes that
    /// Nagle holds back). The caller guarantees that nothing was written past the queued bytes
    /// (no out-of-order data is held), since that data is placed relative to the head.
    pub fn rewind(&mut self) {
        let len = self.len as usize;
        if self.head == 0 || len > REWIND_MAX {
            return;
        }
        let head = self.head as usize;
        if head + len <= self.storage.len() {
            // In one piece: one move (memmove, overlap allowed).
            self.storage.copy_within(head..head + len, 0);
        } else {
            // Wrapped: the piece at the start is in the way, so both go through a copy.
            let mut tail = [0u8; REWIND_MAX];
            let n = self.read_at(0, &mut tail[..len]);
            self.storage[..n].copy_from_slice(&tail[..n]);
        }
        self.head = 0;
    }

    /// Makes sure the storage can hold `needed` bytes counted from the head, growing (by
    /// doubling, at least [`MIN_ALLOC`], at most the limit). The storage is reallocated in
    /// place where the allocator can (large buffers are remapped, not copied), and then only
    /// one side of the wrap moves, the shorter one that fits (as `VecDeque` grows): the prefix
    /// `[0, head)` to just after the old end, or the part from the head to the new end. Either
    /// way the ring's bytes stay in order from the head, data written past `len` (out of
    /// order) included.
    fn reserve(&mut self, needed: usize) {
        let cap = self.storage.len();
        if needed <= cap {
            return;
        }
        let target = needed
            .max(MIN_ALLOC)
            .max(cap.saturating_mul(2))
            .min(self.limit.max(needed));
        if cap == 0
            && target == MIN_ALLOC
            && let Some(spare) = take_spare()
        {
            self.storage = spare;
            self.head = 0;
            return;
        }
        let mut grown = std::mem::take(&mut self.storage).into_vec();
        grown.reserve_exact(target - cap);
        grown.resize(target, 0);
        let head = self.head as usize;
        let tail = cap - head;
        if head > 0 {
            if head <= tail && head <= target - cap {
                grown.copy_within(0..head, cap);
            } else {
                grown.copy_within(head..cap, target - tail);
                // Below the storage's length, which the limit bounds.
                self.head = (target - tail) as u32;
            }
        }
        self.storage = grown.into_boxed_slice();
    }

    /// Appends as much of `data` as fits under the limit; returns how much.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        if n == 0 {
            return 0;
        }
        self.write_at(0, &data[..n]);
        self.commit(n);
        n
    }

    /// Writes `data` at `offset` bytes past the queued bytes without queueing it (it becomes
    /// readable with [`Ring::commit`]). Writes are clipped to the limit; returns how many bytes
    /// of `data` were stored.
    pub fn write_at(&mut self, offset: usize, data: &[u8]) -> usize {
        let len = self.len();
        let start = len + offset;
        let end = (start + data.len()).min(self.limit.max(len));
        if end <= start {
            return 0;
        }
        let n = end - start;
        self.reserve(end);
        let cap = self.storage.len();
        let at = (self.head as usize + start) % cap;
        let first = n.min(cap - at);
        self.storage[at..at + first].copy_from_slice(&data[..first]);
        self.storage[..n - first].copy_from_slice(&data[first..n]);
        n
    }

    /// Makes `n` bytes written with [`Ring::write_at`] at offset 0 readable.
    pub fn commit(&mut self, n: usize) {
        let len = self.len();
        debug_assert!(len + n <= self.storage.len());
        // At most the storage's length, which the limit bounds.
        self.len = (len + n.min(self.storage.len() - len)) as u32;
    }

    /// Copies queued bytes starting `offset` bytes from the front into `out`; returns how many.
    pub fn read_at(&self, offset: usize, out: &mut [u8]) -> usize {
        let len = self.len();
        if offset >= len {
            return 0;
        }
        let n = out.len().min(len - offset);
        let cap = self.storage.len();
        let at = (self.head as usize + offset) % cap;
        let first = n.min(cap - at);
        out[..first].copy_from_slice(&self.storage[at..at + first]);
        out[first..n].copy_from_slice(&self.storage[..n - first]);
        n
    }

    /// Drops `n` bytes from the front (acknowledged or read).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len());
        if n == 0 {
            return;
        }
        // The head moves even when the ring empties: bytes written past the end (out of order)
        // stay where they are relative to it.
        self.head = ((self.head as usize + n) % self.storage.len()) as u32;
        self.len -= n as u32;
    }

    /// Copies up to `out.len()` bytes from the front into `out` and drops them; returns how many.
    pub fn pop(&mut self, out: &mut [u8]) -> usize {
        let n = self.read_at(0, out);
        self.consume(n);
        n
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.storage));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_lazily_and_releases_when_empty() {
        let mut r = Ring::new(1 << 20);
        assert_eq!(r.allocated(), 0);
        assert_eq!(r.push(b"hello"), 5);
        assert_eq!(
            r.allocated(),
            MIN_ALLOC,
            "small messages do not allocate the limit"
        );
        let mut out = [0u8; 8];
        assert_eq!(r.pop(&mut out), 5);
        assert_eq!(&out[..5], b"hello");
        r.release_if_empty();
        assert_eq!(r.allocated(), 0);
    }

    #[test]
    fn push_respects_the_limit_exactly() {
        let mut r = Ring::new(10);
        assert_eq!(r.push(&[1; 7]), 7);
        assert_eq!(r.push(&[2; 7]), 3);
        assert_eq!(r.push(&[3; 1]), 0);
        assert_eq!(r.len(), 10);
        assert_eq!(r.free(), 0);
        r.consume(4);
        assert_eq!(r.push(&[4; 9]), 4);
        let mut out = [0u8; 10];
        assert_eq!(r.pop(&mut out), 10);
        assert_eq!(out, [1, 1, 1, 2, 2, 2, 4, 4, 4, 4]);
    }

    #[test]
    fn wraps_around_and_grows_without_losing_order() {
        let mut r = Ring::new(100_000);
        let mut model = std::collections::VecDeque::new();
        let mut x = 1u32;
        for round in 0..2000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let n = (x >> 16) as usize % 700;
            let data: Vec<u8> = (0..n).map(|i| (round + i) as u8).collect();
            let pushed = r.push(&data);
            model.extend(&data[..pushed]);
            let take = (x >> 8) as usize % 600;
            let mut out = vec![0u8; take];
            let got = r.pop(&mut out);
            for b in &out[..got] {
                assert_eq!(Some(*b), model.pop_front());
            }
            assert_eq!(r.len(), model.len());
        }
    }

    #[test]
    fn out_of_order_writes_become_readable_when_committed() {
        let mut r = Ring::new(64);
        r.push(b"abc");
        // Bytes 3..6 are missing; 6..9 arrive first.
        assert_eq!(r.write_at(3, b"ghi"), 3);
        assert_eq!(r.len(), 3);
        assert_eq!(r.write_at(0, b"def"), 3);
        r.commit(6);
        let mut out = [0u8; 9];
        assert_eq!(r.pop(&mut out), 9);
        assert_eq!(&out, b"abcdefghi");
        // Writes beyond the limit are clipped.
        assert_eq!(r.write_at(60, b"0123456789"), 4);
    }

    #[test]
    fn out_of_order_data_survives_growth() {
        let mut r = Ring::new(1 << 16);
        r.push(&[7u8; 4000]);
        r.consume(3000);
        // Out-of-order bytes far past the end force the storage to grow while wrapped.
        let far: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        assert_eq!(r.write_at(2000, &far), 5000);
        let gap = vec![9u8; 2000];
        assert_eq!(r.write_at(0, &gap), 2000);
        r.commit(7000);
        let mut out = vec![0u8; 8000];
        assert_eq!(r.pop(&mut out), 8000);
        assert!(out[..1000].iter().all(|b| *b == 7));
        assert!(out[1000..3000].iter().all(|b| *b == 9));
        assert_eq!(&out[3000..], &far[..]);
    }

    #[test]
    fn read_at_reads_any_part_without_consuming() {
        let mut r = Ring::new(16);
        r.push(b"0123456789");
        r.consume(6);
        r.push(b"abcdefghij");
        let mut out = [0u8; 5];
        assert_eq!(r.read_at(2, &mut out), 5);
        assert_eq!(&out, b"89abc");
        assert_eq!(r.read_at(13, &mut out), 1);
        assert_eq!(r.read_at(14, &mut out), 0);
        assert_eq!(r.len(), 14);
    }

    #[test]
    fn a_smaller_limit_keeps_queued_bytes() {
        let mut r = Ring::new(100);
        r.push(&[1; 80]);
        r.set_limit(50);
        assert_eq!(r.len(), 80);
        assert_eq!(r.push(&[2; 10]), 0);
        r.consume(60);
        assert_eq!(r.push(&[2; 100]), 30);
    }

    #[test]
    fn bytes_written_ahead_survive_the_ring_emptying() {
        // A reader drains the in-order bytes while out-of-order bytes wait past the end: the
        // head must not jump back, or the waiting bytes would be read from the wrong place.
        let mut r = Ring::new(64);
        r.push(b"abcd");
        assert_eq!(r.write_at(3, b"xyz"), 3);
        let mut out = [0u8; 4];
        assert_eq!(r.pop(&mut out), 4);
        assert!(r.is_empty());
        assert_eq!(r.write_at(0, b"123"), 3);
        r.commit(6);
        let mut all = [0u8; 6];
        assert_eq!(r.pop(&mut all), 6);
        assert_eq!(&all, b"123xyz");
    }

    /// Growth from every head position, with limits that leave room for either side of the
    /// wrap to move, keeps committed and out-of-order bytes in place (against a model).
    #[test]
    fn growth_from_any_head_keeps_every_byte() {
        for limit in [4096 + 100, 4096 + 2048, 4096 + 4000, 3 * 4096] {
            for head in (0..4096).step_by(97) {
                let mut r = Ring::new(limit);
                let fill: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
                assert_eq!(r.push(&fill), 4096);
                r.consume(head);
                // Refill the consumed part (wrapping), then write ahead past the old end.
                let more: Vec<u8> = (0..head as u32).map(|i| (i * 13 % 241) as u8).collect();
                assert_eq!(r.push(&more), head);
                // `write_at` offsets count from the end of the committed bytes.
                let ahead = [0xee; 64];
                let wrote = r.write_at(10, &ahead);
                assert_eq!(wrote, ahead.len().min(limit - 4096 - 10), "limit {limit}");
                assert!(r.allocated() > 4096);
                let mut out = vec![0; 4096];
                assert_eq!(r.read_at(0, &mut out), 4096);
                let mut expected = fill[head..].to_vec();
                expected.extend_from_slice(&more);
                assert_eq!(out, expected, "limit {limit} head {head}");
                assert_eq!(r.write_at(0, &[0xaa; 10]), 10);
                r.commit(10 + wrote);
                let mut tail = vec![0; wrote];
                assert_eq!(r.read_at(4096 + 10, &mut tail), wrote);
                assert!(tail.iter().all(|&b| b == 0xee), "limit {limit} head {head}");
            }
        }
    }

    #[test]
    fn rewinding_moves_a_short_tail_to_the_start_and_keeps_order() {
        let mut r = Ring::new(100_000);
        // Wrapped: the head near the end, the tail split across the end of the storage.
        assert_eq!(r.push(&[1; 8000]), 8000);
        let cap = r.allocated();
        r.consume(cap - 300);
        assert_eq!(
            r.push(&(0..700u32).map(|i| i as u8).collect::<Vec<_>>()),
            700
        );
        let before: Vec<u8> = {
            let mut v = vec![0; r.len()];
            r.read_at(0, &mut v);
            v
        };
        assert!(r.len() <= REWIND_MAX && r.head != 0);
        r.rewind();
        assert_eq!(r.head, 0);
        let mut after = vec![0; r.len()];
        assert_eq!(r.read_at(0, &mut after), before.len());
        assert_eq!(after, before, "the same bytes in the same order");
        // More than REWIND_MAX queued: nothing moves.
        let mut big = Ring::new(100_000);
        big.push(&[7; 5000]);
        big.consume(100);
        big.rewind();
        assert_eq!(big.head, 100);
        // In one piece, overlapping its new place: moved in order.
        let mut one = Ring::new(100_000);
        one.push(&(0..600u32).map(|i| i as u8).collect::<Vec<_>>());
        one.consume(100);
        one.rewind();
        assert_eq!(one.head, 0);
        let mut got = [0u8; 500];
        assert_eq!(one.read_at(0, &mut got), 500);
        assert!(got.iter().enumerate().all(|(i, &b)| b == (i + 100) as u8));
        // Empty: the head just goes back.
        big.consume(4900);
        big.rewind();
        assert_eq!(big.head, 0);
        assert!(big.is_empty());
    }

    #[test]
    fn limits_are_clamped_to_what_32_bit_positions_reach() {
        let mut r = Ring::new(usize::MAX);
        assert_eq!(r.limit(), MAX_LIMIT);
        r.set_limit(MAX_LIMIT + 1);
        assert_eq!(r.limit(), MAX_LIMIT);
        r.set_limit(4096);
        assert_eq!(r.limit(), 4096);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_ring_is_four_words() {
        assert_eq!(size_of::<Ring>(), 32);
    }

    #[test]
    fn released_small_buffers_are_reused_zeroed_on_the_same_thread() {
        let mut r = Ring::new(100_000);
        assert_eq!(r.push(&[0xee; 300]), 300);
        assert_eq!(r.allocated(), MIN_ALLOC);
        let first = r.storage.as_ptr();
        r.consume(300);
        r.release_if_empty();
        assert_eq!(r.allocated(), 0);
        let mut again = Ring::new(100_000);
        assert_eq!(again.write_at(10, &[1]), 1);
        assert_eq!(again.storage.as_ptr(), first, "the released buffer, reused");
        assert!(
            again
                .storage
                .iter()
                .enumerate()
                .all(|(i, &b)| b == u8::from(i == 10)),
            "nothing of the previous bytes is left"
        );
        // A dropped ring gives its buffer back too; larger buffers go to the allocator.
        let ptr = again.storage.as_ptr();
        drop(again);
        let mut third = Ring::new(100_000);
        third.push(&[2; 10]);
        assert_eq!(third.storage.as_ptr(), ptr);
        third.push(&[3; 1000]);
        assert_eq!(third.allocated(), 2 * MIN_ALLOC);
        let mut out = [0; 1010];
        assert_eq!(third.read_at(0, &mut out), 1010);
        assert!(out[..10].iter().all(|&b| b == 2) && out[10..].iter().all(|&b| b == 3));
    }
}
