//! A hierarchical timing wheel: O(1) insert, cancel and reset, expiry in amortised O(1).
//!
//! Time is counted in ticks of one millisecond since the driver's origin. There are [`LEVELS`]
//! levels of 64 slots; a slot at level `l` spans `64^l` ticks, so the wheel covers `64^6` ticks
//! (about 795 days) ahead of `elapsed`. An entry goes to the level of the highest bit in which its
//! deadline differs from `elapsed`, so level 0 holds what expires in the current 64 ms window,
//! level 1 what expires in the current 4 s window, and so on. When the wheel reaches a slot on a
//! higher level, the slot's entries move down ("cascade") to the level that now fits them.
//!
//! Entries live in a slab with a free list and are chained into their slot by intrusive
//! doubly-linked lists (slab indices), so a reset moves an entry without allocating, and cancelling
//! unlinks it in O(1). Deadlines further away than the wheel covers are parked in the top level and
//! re-filed each time the top level comes round, until they are due; deadlines already in the past
//! fire at once.

use std::task::Waker;

/// Number of levels.
pub(crate) const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks the wheel spans.
const SPAN: u64 = 1 << (SLOT_BITS as u64 * LEVELS as u64);
const NIL: u32 = u32::MAX;

/// Identifies an entry; the generation makes a key of a freed and reused slot harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Free,
    /// Linked into `heads[level][slot]`.
    Linked {
        level: u8,
        slot: u8,
    },
    Fired,
}

struct Entry {
    when: u64,
    waker: Option<Waker>,
    prev: u32,
    next: u32,
    state: State,
    generation: u32,
}

/// The wheel. Not thread-safe: one per runtime.
pub(crate) struct Wheel {
    /// Every tick up to and including this one has been processed.
    elapsed: u64,
    occupied: [u64; LEVELS],
    heads: [[u32; SLOTS]; LEVELS],
    entries: Vec<Entry>,
    free: Vec<u32>,
    linked: usize,
    /// Entries that became due while being filed, waiting for `advance` to collect their wakers.
    due: Vec<u32>,
}

impl Default for Wheel {
    fn default() -> Self {
        Self::new()
    }
}

impl Wheel {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Wheel {
        Wheel {
            elapsed: 0,
            occupied: [0; LEVELS],
            heads: [[NIL; SLOTS]; LEVELS],
            entries: Vec::new(),
            free: Vec::new(),
            linked: 0,
            due: Vec::new(),
        }
    }

    /// The last processed tick.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of entry slots allocated (live or free): reset and reuse must not grow it.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Number of entries waiting to fire.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.linked
    }

    /// Adds an entry that fires at tick `when` (at once, on the next `advance`, if `when` is not
    /// after `elapsed`).
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> TimerKey {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.entries.len())
                    .ok()
                    .filter(|&i| i != NIL)
                    .expect("too many timers");
                self.entries.push(Entry {
                    when: 0,
                    waker: None,
                    prev: NIL,
                    next: NIL,
                    state: State::Free,
                    generation: 0,
                });
                i
            }
        };
        let entry = &mut self.entries[index as usize];
        entry.when = when;
        entry.waker = Some(waker);
        let key = TimerKey {
            index,
            generation: entry.generation,
        };
        self.file(index);
        key
    }

    fn entry(&self, key: TimerKey) -> Option<&Entry> {
        self.entries
            .get(key.index as usize)
            .filter(|e| e.generation == key.generation && e.state != State::Free)
    }

    /// Whether the entry has fired (a stale key counts as fired).
    pub(crate) fn is_fired(&self, key: TimerKey) -> bool {
        self.entry(key).is_none_or(|e| e.state == State::Fired)
    }

    /// Replaces the waker to wake when the entry fires (no clone if it would wake the same task).
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) {
        if self.entry(key).is_none() {
            return;
        }
        let slot = &mut self.entries[key.index as usize].waker;
        match slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Moves a live entry to a new deadline, without allocating; a fired entry is re-armed.
    pub(crate) fn reset(&mut self, key: TimerKey, when: u64) {
        if self.entry(key).is_none() {
            return;
        }
        self.unlink(key.index);
        self.entries[key.index as usize].when = when;
        self.file(key.index);
    }

    /// Cancels an entry and frees its slot.
    pub(crate) fn remove(&mut self, key: TimerKey) {
        if self.entry(key).is_none() {
            return;
        }
        self.unlink(key.index);
        let entry = &mut self.entries[key.index as usize];
        entry.state = State::Free;
        entry.waker = None;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(key.index);
    }

    /// Links `index` into the slot its deadline belongs to, or marks it fired when it is due.
    fn file(&mut self, index: u32) {
        let when = self.entries[index as usize].when;
        if when <= self.elapsed {
            self.entries[index as usize].state = State::Fired;
            // Fired entries are collected by `advance` through `due`.
            self.due.push(index);
            return;
        }
        // Deadlines past the wheel's span are parked at the farthest position; they are re-filed
        // when that slot comes round and fire only once really due.
        let pos = when.min(self.elapsed + SPAN - 1);
        let level = level_for(self.elapsed, pos);
        let slot = ((pos >> (level as u32 * SLOT_BITS)) as usize) & (SLOTS - 1);
        let head = self.heads[level][slot];
        {
            let e = &mut self.entries[index as usize];
            e.state = State::Linked {
                level: level as u8,
                slot: slot as u8,
            };
            e.prev = NIL;
            e.next = head;
        }
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        self.heads[level][slot] = index;
        self.occupied[level] |= 1 << slot;
        self.linked += 1;
    }

    fn unlink(&mut self, index: u32) {
        let e = &self.entries[index as usize];
        let (prev, next) = (e.prev, e.next);
        let State::Linked { level, slot } = e.state else {
            return;
        };
        let (level, slot) = (level as usize, slot as usize);
        if prev == NIL {
            self.heads[level][slot] = next;
            if next == NIL {
                self.occupied[level] &= !(1 << slot);
            }
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        let e = &mut self.entries[index as usize];
        e.prev = NIL;
        e.next = NIL;
        e.state = State::Fired;
        self.linked -= 1;
    }

    /// The earliest tick at which `advance` has work to do: the start of the first occupied slot.
    /// For higher levels that is the time to cascade, which may be earlier than any deadline.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        if !self.due.is_empty() {
            return Some(self.elapsed);
        }
        self.next_slot().map(|(_, _, tick)| tick)
    }

    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            let slot_span = 1u64 << shift;
            let level_span = slot_span << SLOT_BITS;
            let now_slot = (self.elapsed >> shift) as u32 & (SLOTS as u32 - 1);
            let slot = (occupied.rotate_right(now_slot).trailing_zeros() + now_slot) as usize
                & (SLOTS - 1);
            let level_start = self.elapsed & !(level_span - 1);
            let mut tick = level_start + slot as u64 * slot_span;
            if tick <= self.elapsed {
                // Only the top level wraps around: such a slot is one turn of the level ahead.
                debug_assert_eq!(level, LEVELS - 1);
                tick += level_span;
            }
            return Some((level, slot, tick));
        }
        None
    }

    /// Processes every tick up to `now`, pushing the wakers of fired entries to `fired`.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<Waker>) {
        self.collect_due(fired);
        while let Some((level, slot, tick)) = self.next_slot() {
            if tick > now {
                break;
            }
            self.elapsed = self.elapsed.max(tick);
            let mut index = self.heads[level][slot];
            self.heads[level][slot] = NIL;
            self.occupied[level] &= !(1 << slot);
            while index != NIL {
                let next = self.entries[index as usize].next;
                let e = &mut self.entries[index as usize];
                e.prev = NIL;
                e.next = NIL;
                e.state = State::Fired;
                self.linked -= 1;
                // Re-file: fires if due now, otherwise cascades to a lower level.
                self.file(index);
                index = next;
            }
            self.collect_due(fired);
        }
        self.elapsed = self.elapsed.max(now);
    }

    fn collect_due(&mut self, fired: &mut Vec<Waker>) {
        for index in self.due.drain(..) {
            let e = &mut self.entries[index as usize];
            // The entry may have been reset or removed since it became due.
            if e.state == State::Fired
                && let Some(w) = e.waker.take()
            {
                fired.push(w);
            }
        }
    }
}

/// The level for a deadline `when` seen from `elapsed`: that of the highest differing bit.
fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = ((elapsed ^ when) | (SLOTS as u64 - 1)).min(SPAN - 1);
    let significant = 63 - masked.leading_zeros();
    (significant / SLOT_BITS) as usize
}
