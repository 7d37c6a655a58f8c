//! Out-of-order reassembly bookkeeping: which byte ranges past the in-order point have arrived.
//!
//! The receive buffer stores out-of-order bytes in place (see [`super::ring::Ring::write_at`]);
//! this type remembers where they are, as a sorted list of disjoint, non-adjacent ranges
//! relative to the in-order point. A segment that fills the gap at the front makes the first
//! range contiguous, and [`Assembler::add`] reports how many bytes became in order.
//!
//! The list is bounded ([`MAX_RANGES`]): a segment that would need one more range is refused, and
//! the caller drops it (Linux's equivalent is its out-of-order queue's memory bound; the count is
//! `TCPOFODrop`). Ranges also remember which one was touched last, because RFC 2018 wants the
//! first SACK block to describe the most recently received segment.

/// Ranges kept at most.
pub const MAX_RANGES: usize = 32;

/// The arrived ranges past the in-order point, as `(start, end)` offsets.
///
/// Nothing is allocated while data arrives in order: the ranges live in a box made for the
/// first gap and freed when the last one fills, so a connection without out-of-order data
/// carries one pointer.
#[derive(Debug, Clone, Default)]
pub struct Assembler {
    held: Option<Box<Ranges>>,
}

#[derive(Debug, Clone, Default)]
struct Ranges {
    ranges: Vec<(usize, usize)>,
    /// Ranges in order of most recent update, most recent last (indices into nothing: the
    /// ranges' start offsets, which identify them until they merge).
    recent: Vec<usize>,
}

/// What [`Assembler::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Stored; `in_order` bytes at the front are now contiguous with the in-order point (the
    /// caller commits them and the offsets of the remaining ranges shift down by that much).
    Stored {
        /// Bytes that became in order.
        in_order: usize,
        /// Whether the data was all already there (a duplicate, for D-SACK).
        duplicate: bool,
    },
    /// Refused: it would need more than [`MAX_RANGES`] ranges.
    Refused,
}

impl Assembler {
    /// No out-of-order data.
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// Whether no out-of-order data is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_none()
    }

    /// The ranges, in offset order.
    pub fn ranges(&self) -> &[(usize, usize)] {
        self.held.as_ref().map_or(&[], |h| &h.ranges)
    }

    /// Bytes held out of order.
    pub fn held(&self) -> usize {
        self.ranges().iter().map(|(s, e)| e - s).sum()
    }

    /// The ranges most recently updated first (for SACK blocks).
    pub fn recent_first(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let recent = self.held.as_ref().map_or(&[][..], |h| &h.recent[..]);
        recent.iter().rev().filter_map(|start| {
            self.ranges()
                .iter()
                .find(|(s, e)| s <= start && start < e)
                .copied()
        })
    }

    /// Records that bytes `offset..offset + len` (relative to the in-order point) arrived.
    pub fn add(&mut self, offset: usize, len: usize) -> Added {
        if len == 0 {
            return Added::Stored {
                in_order: 0,
                duplicate: true,
            };
        }
        let Some(held) = &mut self.held else {
            if offset == 0 {
                // In order, nothing held: the common case, no bookkeeping.
                return Added::Stored {
                    in_order: len,
                    duplicate: false,
                };
            }
            let mut ranges = Box::<Ranges>::default();
            ranges.ranges.push((offset, offset + len));
            ranges.recent.push(offset);
            self.held = Some(ranges);
            return Added::Stored {
                in_order: 0,
                duplicate: false,
            };
        };
        let added = held.add(offset, len);
        if held.ranges.is_empty() {
            self.held = None;
        }
        added
    }

    /// Forgets everything (connection reset or buffer pruned).
    pub fn clear(&mut self) {
        self.held = None;
    }
}

impl Ranges {
    fn add(&mut self, offset: usize, len: usize) -> Added {
        let (start, end) = (offset, offset + len);
        let duplicate = self.ranges.iter().any(|&(s, e)| s <= start && end <= e);
        // Ranges that touch or overlap [start, end) merge with it.
        let first = self.ranges.partition_point(|&(_, e)| e < start);
        let last = self.ranges.partition_point(|&(s, _)| s <= end);
        if first == last && self.ranges.len() >= MAX_RANGES && start > 0 {
            return Added::Refused;
        }
        let merged_start = self.ranges.get(first).map_or(start, |r| r.0.min(start));
        let merged_end = if last > first {
            self.ranges[last - 1].1.max(end)
        } else {
            end
        };
        self.ranges
            .splice(first..last, [(merged_start, merged_end)]);
        self.touch(merged_start, merged_end);
        // The front range is in order when it starts at the in-order point.
        let in_order = match self.ranges.first() {
            Some(&(0, e)) => e,
            _ => 0,
        };
        if in_order > 0 {
            self.ranges.remove(0);
            for r in self.ranges.iter_mut() {
                r.0 -= in_order;
                r.1 -= in_order;
            }
            self.recent.retain(|s| *s >= in_order);
            for s in self.recent.iter_mut() {
                *s -= in_order;
            }
        }
        Added::Stored {
            in_order,
            duplicate,
        }
    }

    fn touch(&mut self, start: usize, end: usize) {
        self.recent.retain(|s| !(start <= *s && *s < end));
        self.recent.push(start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(in_order: usize) -> Added {
        Added::Stored {
            in_order,
            duplicate: false,
        }
    }

    #[test]
    fn in_order_data_passes_straight_through() {
        let mut a = Assembler::new();
        assert_eq!(a.add(0, 100), stored(100));
        assert!(a.is_empty());
    }

    #[test]
    fn a_gap_holds_data_until_filled() {
        let mut a = Assembler::new();
        assert_eq!(a.add(100, 50), stored(0));
        assert_eq!(a.add(200, 50), stored(0));
        assert_eq!(a.ranges(), &[(100, 150), (200, 250)]);
        assert_eq!(a.held(), 100);
        // Filling the first gap releases 150 bytes; the second range shifts down.
        assert_eq!(a.add(0, 100), stored(150));
        assert_eq!(a.ranges(), &[(50, 100)]);
        assert_eq!(a.add(0, 50), stored(100));
        assert!(a.is_empty());
    }

    #[test]
    fn overlapping_and_adjacent_ranges_merge() {
        let mut a = Assembler::new();
        a.add(10, 10);
        a.add(30, 10);
        a.add(20, 10); // adjacent to both: one range 10..40
        assert_eq!(a.ranges(), &[(10, 40)]);
        a.add(35, 20);
        a.add(5, 3);
        assert_eq!(a.ranges(), &[(5, 8), (10, 55)]);
        assert_eq!(
            a.add(12, 5),
            Added::Stored {
                in_order: 0,
                duplicate: true
            }
        );
    }

    #[test]
    fn most_recent_range_comes_first() {
        let mut a = Assembler::new();
        a.add(100, 10);
        a.add(300, 10);
        a.add(200, 10);
        let order: Vec<_> = a.recent_first().collect();
        assert_eq!(order, vec![(200, 210), (300, 310), (100, 110)]);
        // Extending the first range makes it the most recent.
        a.add(110, 10);
        assert_eq!(a.recent_first().next(), Some((100, 120)));
        assert_eq!(a.recent_first().count(), 3);
    }

    #[test]
    fn ranges_are_bounded() {
        let mut a = Assembler::new();
        for i in 0..MAX_RANGES {
            assert_eq!(a.add(10 + i * 10, 5), stored(0));
        }
        assert_eq!(a.add(10_000, 5), Added::Refused);
        // Data that merges into existing ranges, or is in order, is still accepted: 15..20
        // joins 10..15 and 20..25 into one range, which 0..10 then makes contiguous.
        assert_eq!(a.add(15, 5), stored(0));
        assert_eq!(a.ranges()[0], (10, 25));
        assert_eq!(a.add(0, 10), stored(25));
    }

    #[test]
    fn matches_a_byte_map_model() {
        let mut x = 7u64;
        for _ in 0..200 {
            let mut a = Assembler::new();
            let mut have = vec![false; 2000];
            let mut delivered = 0usize;
            for _ in 0..60 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let start = (x % 1500) as usize;
                let len = 1 + (x >> 20) as usize % 200;
                let rel = start.saturating_sub(delivered);
                if start + len <= delivered {
                    continue;
                }
                let cut = delivered.saturating_sub(start);
                match a.add(rel, len - cut) {
                    Added::Refused => continue,
                    Added::Stored { in_order, .. } => {
                        for b in have.iter_mut().skip(start.max(delivered)).take(len - cut) {
                            *b = true;
                        }
                        let mut model_front = delivered;
                        while model_front < have.len() && have[model_front] {
                            model_front += 1;
                        }
                        assert_eq!(delivered + in_order, model_front);
                        delivered = model_front;
                    }
                }
            }
        }
    }
}
