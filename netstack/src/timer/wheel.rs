//! A hierarchical timing wheel: O(1) insert, cancel and reset, expiry in amortised O(1).
//!
//! Generic over the value an entry carries (a `Waker` for the runtime's timers, a socket handle
//! and timer kind for the stack's): [`Wheel::advance`] hands back the values of fired entries.
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

use core::num::NonZeroU32;

/// Number of levels.
const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks the wheel spans.
const SPAN: u64 = 1 << (SLOT_BITS as u64 * LEVELS as u64);
const NIL: u32 = u32::MAX;

/// Identifies an entry; the generation makes a key of a freed and reused slot harmless. The
/// generation is never zero, so an `Option<TimerKey>` is as small as a key (8 bytes), which
/// matters to the per-connection records that keep one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerKey {
    index: u32,
    generation: NonZeroU32,
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

struct Entry<T> {
    when: u64,
    value: Option<T>,
    prev: u32,
    next: u32,
    state: State,
    generation: NonZeroU32,
}

/// The wheel. Not thread-safe: one per runtime or stack.
pub struct Wheel<T> {
    /// Every tick up to and including this one has been processed.
    elapsed: u64,
    occupied: [u64; LEVELS],
    heads: [[u32; SLOTS]; LEVELS],
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
    linked: usize,
    /// Entries that became due while being filed, waiting for `advance` to collect their values.
    due: Vec<u32>,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Wheel<T> {
    /// An empty wheel at tick 0.
    pub fn new() -> Wheel<T> {
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
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of entry slots allocated (live or free): reset and reuse must not grow it.
    /// (For tests of allocation behaviour.)
    #[doc(hidden)]
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Number of entries linked in the wheel (armed, not yet due).
    pub fn pending(&self) -> usize {
        self.linked
    }

    /// Adds an entry that fires at tick `when` (at once, on the next `advance`, if `when` is not
    /// after `elapsed`), carrying `value`.
    pub fn insert(&mut self, when: u64, value: T) -> TimerKey {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.entries.len())
                    .ok()
                    .filter(|&i| i != NIL)
                    .expect("too many timers");
                self.entries.push(Entry {
                    when: 0,
                    value: None,
                    prev: NIL,
                    next: NIL,
                    state: State::Free,
                    generation: NonZeroU32::MIN,
                });
                i
            }
        };
        let entry = &mut self.entries[index as usize];
        entry.when = when;
        entry.value = Some(value);
        let key = TimerKey {
            index,
            generation: entry.generation,
        };
        self.file(index);
        key
    }

    fn entry(&self, key: TimerKey) -> Option<&Entry<T>> {
        self.entries
            .get(key.index as usize)
            .filter(|e| e.generation == key.generation && e.state != State::Free)
    }

    /// Whether the entry has fired (a stale key counts as fired).
    pub fn is_fired(&self, key: TimerKey) -> bool {
        self.entry(key).is_none_or(|e| e.state == State::Fired)
    }

    /// The value slot of a live entry (fired or not): `None` for a stale key. A fired entry's
    /// value has been handed out by `advance`; the owner may put a new one for a later re-arm.
    pub fn value_mut(&mut self, key: TimerKey) -> Option<&mut Option<T>> {
        self.entry(key)?;
        Some(&mut self.entries[key.index as usize].value)
    }

    /// The deadline tick of a live entry.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.entry(key).map(|e| e.when)
    }

    /// Moves a live entry to a new deadline, without allocating; a fired entry is re-armed.
    pub fn reset(&mut self, key: TimerKey, when: u64) {
        if self.entry(key).is_none() {
            return;
        }
        self.unlink(key.index);
        self.entries[key.index as usize].when = when;
        self.file(key.index);
    }

    /// Cancels an entry and frees its slot.
    pub fn remove(&mut self, key: TimerKey) {
        if self.entry(key).is_none() {
            return;
        }
        self.unlink(key.index);
        let entry = &mut self.entries[key.index as usize];
        entry.state = State::Free;
        entry.value = None;
        entry.generation = entry.generation.checked_add(1).unwrap_or(NonZeroU32::MIN);
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
    pub fn next_expiration(&self) -> Option<u64> {
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

    /// Processes every tick up to `now`, pushing the values of fired entries to `fired`.
    pub fn advance(&mut self, now: u64, fired: &mut Vec<T>) {
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

    fn collect_due(&mut self, fired: &mut Vec<T>) {
        for index in self.due.drain(..) {
            let e = &mut self.entries[index as usize];
            // The entry may have been reset or removed since it became due.
            if e.state == State::Fired
                && let Some(v) = e.value.take()
            {
                fired.push(v);
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

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
