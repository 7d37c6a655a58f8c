//! Frames an [`Impair`](super::Impair) direction is holding: pooled buffers ("slots"), a min-heap
//! of frames by release time, and the frames held back for reordering.
//!
//! A frame lives in a slot from the moment it enters the direction until it leaves; a freed slot
//! keeps its buffer's capacity for the next frame, so once traffic has warmed the pool up nothing
//! is allocated (the heap and lists also keep their capacity). Frames with the same release time
//! leave in the order they were scheduled (a sequence number breaks ties), so a direction with no
//! impairment is a plain FIFO.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use crate::pool::MIN_BUFFER_CAPACITY;

/// A scheduled frame: ordered by release time, then by scheduling order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    release: Duration,
    seq: u64,
    slot: usize,
}

/// A frame held back until `countdown` more frames have been scheduled, or until `deadline`.
#[derive(Debug, Clone, Copy)]
struct HeldBack {
    slot: usize,
    /// When the frame would have left had it not been held back.
    release: Duration,
    deadline: Duration,
    countdown: u32,
    /// Whether the frame was already counted as delayed.
    delayed: bool,
}

#[derive(Debug, Default)]
pub(super) struct Held {
    slots: Vec<Vec<u8>>,
    free_slots: Vec<usize>,
    heap: BinaryHeap<Reverse<Entry>>,
    back: Vec<HeldBack>,
    seq: u64,
    buffers_allocated: usize,
}

impl Held {
    /// How many frames are held (scheduled or held back).
    pub(super) fn len(&self) -> usize {
        self.heap.len() + self.back.len()
    }

    /// Allocations made by the buffer pool: new buffers, and recycled buffers regrown.
    pub(super) fn buffers_allocated(&self) -> usize {
        self.buffers_allocated
    }

    /// A slot holding `len` zeroed bytes, from the pool when possible.
    pub(super) fn take(&mut self, len: usize) -> usize {
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Vec::new());
                // The free list, heap and held-back list never hold more entries than there are
                // slots: growing them with the slots means they never allocate once the number of
                // slots has stopped growing (even when many frames leave at once).
                let slots = self.slots.len();
                self.free_slots.reserve(slots - self.free_slots.len());
                self.heap.reserve(slots - self.heap.len());
                self.back.reserve(slots - self.back.len());
                slots - 1
            }
        };
        let buffer = &mut self.slots[slot];
        buffer.clear();
        if buffer.capacity() < len {
            self.buffers_allocated += 1;
            buffer.reserve_exact(len.max(MIN_BUFFER_CAPACITY));
        }
        buffer.resize(len, 0);
        slot
    }

    /// A new slot holding a copy of `slot`'s frame.
    pub(super) fn duplicate(&mut self, slot: usize) -> usize {
        let copy = self.take(self.slots[slot].len());
        // Two distinct slots: split the borrow.
        let (from, to) = if slot < copy {
            let (low, high) = self.slots.split_at_mut(copy);
            (&low[slot], &mut high[0])
        } else {
            let (low, high) = self.slots.split_at_mut(slot);
            (&high[0], &mut low[copy])
        };
        to.copy_from_slice(from);
        copy
    }

    pub(super) fn frame(&self, slot: usize) -> &[u8] {
        &self.slots[slot]
    }

    pub(super) fn frame_mut(&mut self, slot: usize) -> &mut [u8] {
        &mut self.slots[slot]
    }

    /// Returns a slot (not scheduled) to the pool.
    pub(super) fn free(&mut self, slot: usize) {
        self.free_slots.push(slot);
    }

    /// Schedules `slot` to leave at `release`, and counts it as one of the later frames every
    /// held-back frame is waiting for. Returns how many held-back frames this released (each goes
    /// right after this frame).
    pub(super) fn schedule(&mut self, slot: usize, release: Duration) -> u64 {
        self.push(slot, release);
        let (heap, seq) = (&mut self.heap, &mut self.seq);
        let mut released = 0;
        self.back.retain_mut(|held| {
            held.countdown = held.countdown.saturating_sub(1);
            if held.countdown > 0 {
                return true;
            }
            heap.push(Reverse(Entry {
                release: held.release.max(release),
                seq: *seq,
                slot: held.slot,
            }));
            *seq += 1;
            released += 1;
            false
        });
        released
    }

    /// Holds `slot` back until `distance` (at least 1) more frames are scheduled, or until
    /// `deadline`; `delayed` says whether the frame was already counted as delayed.
    pub(super) fn hold_back(
        &mut self,
        slot: usize,
        release: Duration,
        distance: u32,
        deadline: Duration,
        delayed: bool,
    ) {
        self.back.push(HeldBack {
            slot,
            release,
            deadline,
            countdown: distance.max(1),
            delayed,
        });
    }

    /// Schedules the held-back frames whose deadline has come, at their deadline. Returns how many
    /// of them had not been counted as delayed yet.
    pub(super) fn expire(&mut self, now: Duration) -> u64 {
        if !self.back.iter().any(|held| held.deadline <= now) {
            return 0;
        }
        let (heap, seq) = (&mut self.heap, &mut self.seq);
        let mut newly_delayed = 0;
        self.back.retain(|held| {
            if held.deadline > now {
                return true;
            }
            heap.push(Reverse(Entry {
                release: held.deadline,
                seq: *seq,
                slot: held.slot,
            }));
            *seq += 1;
            newly_delayed += u64::from(!held.delayed);
            false
        });
        newly_delayed
    }

    fn push(&mut self, slot: usize, release: Duration) {
        self.heap.push(Reverse(Entry {
            release,
            seq: self.seq,
            slot,
        }));
        self.seq += 1;
    }

    /// The slot of the next frame to leave, if it is due at `now`. Call [`expire`](Held::expire)
    /// first so that held-back frames past their deadline are considered.
    pub(super) fn peek_due(&self, now: Duration) -> Option<usize> {
        let Reverse(head) = self.heap.peek()?;
        (head.release <= now).then_some(head.slot)
    }

    /// Removes the frame [`peek_due`](Held::peek_due) returned and frees its slot.
    pub(super) fn pop_free(&mut self) {
        if let Some(Reverse(head)) = self.heap.pop() {
            self.free_slots.push(head.slot);
        }
    }

    /// The earliest time a held frame becomes due (a held-back frame counts at its deadline).
    pub(super) fn next_release(&self) -> Option<Duration> {
        let scheduled = self.heap.peek().map(|Reverse(head)| head.release);
        let back = self.back.iter().map(|held| held.deadline).min();
        match (scheduled, back) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether a frame is due at `now`.
    pub(super) fn has_due(&self, now: Duration) -> bool {
        self.next_release().is_some_and(|release| release <= now)
    }

    /// Drops every held frame (their buffers stay pooled).
    pub(super) fn clear(&mut self) {
        for Reverse(entry) in self.heap.drain() {
            self.free_slots.push(entry.slot);
        }
        for held in self.back.drain(..) {
            self.free_slots.push(held.slot);
        }
    }
}
