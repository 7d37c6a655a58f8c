//! TCP sequence numbers and their modular arithmetic (RFC 9293 section 3.4, RFC 1982).
//!
//! Sequence numbers live in a 32-bit circle: `0xffff_fff0 + 0x20` is `0x10`, and `0x10` comes
//! *after* `0xffff_fff0`. Two numbers are compared by their signed wrapping difference, which is
//! meaningful only while they are less than 2^31 apart (TCP keeps every window well inside that).
//!
//! # Why no `PartialOrd`
//!
//! [`SeqNumber`] deliberately implements neither `Ord` nor `PartialOrd`. The wrapping relation is
//! not transitive (`a < b`, `b < c` and `c < a` can all hold when the three are spread around the
//! circle), so it must never reach a sort, a `BTreeMap` or a binary search, and `a < b` would read
//! like a total order it is not. Comparisons are explicit methods instead: [`lt`], [`le`], [`gt`],
//! [`ge`], [`max`], [`min`] and [`in_window`], which work like Linux's `before()`/`after()`.
//!
//! [`lt`]: SeqNumber::lt
//! [`le`]: SeqNumber::le
//! [`gt`]: SeqNumber::gt
//! [`ge`]: SeqNumber::ge
//! [`max`]: SeqNumber::max
//! [`min`]: SeqNumber::min
//! [`in_window`]: SeqNumber::in_window

use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};

/// A TCP sequence (or acknowledgment) number: a point on the 32-bit sequence circle.
///
/// See the [module documentation](self) for the comparison rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The signed distance from `other` to `self`, as for `self - other`.
    const fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// Whether `self` comes strictly before `other` (Linux's `before(self, other)`).
    ///
    /// Numbers exactly 2^31 apart are each "before" the other: the distance is ambiguous there.
    pub const fn lt(self, other: SeqNumber) -> bool {
        self.diff(other) < 0
    }

    /// Whether `self` comes before `other` or equals it.
    pub const fn le(self, other: SeqNumber) -> bool {
        self.diff(other) <= 0
    }

    /// Whether `self` comes strictly after `other`. Always the negation of [`le`](Self::le).
    pub const fn gt(self, other: SeqNumber) -> bool {
        self.diff(other) > 0
    }

    /// Whether `self` comes after `other` or equals it. Always the negation of [`lt`](Self::lt).
    pub const fn ge(self, other: SeqNumber) -> bool {
        self.diff(other) >= 0
    }

    /// The later of `self` and `other` (`self` if they are equal).
    pub const fn max(self, other: SeqNumber) -> SeqNumber {
        if self.ge(other) { self } else { other }
    }

    /// The earlier of `self` and `other` (`self` if they are equal).
    pub const fn min(self, other: SeqNumber) -> SeqNumber {
        if self.le(other) { self } else { other }
    }

    /// Whether `start <= self < start + len` in sequence space: `self` lies in the window of
    /// `len` numbers beginning at `start`. An empty window (`len == 0`) contains nothing; a
    /// window of 2^32 numbers or more contains everything.
    pub const fn in_window(self, start: SeqNumber, len: usize) -> bool {
        // The unsigned offset from `start` is exact for every window, however far it wraps.
        let offset = self.0.wrapping_sub(start.0) as usize;
        offset < len
    }
}

/// Converts a distance to `u32`, asserting in debug builds that it stays below 2^31: a larger
/// step would land "behind" the starting point, which is always a logic error.
fn step(n: usize) -> u32 {
    debug_assert!(
        n <= i32::MAX as usize,
        "sequence number step {n} is 2^31 or more"
    );
    n as u32
}

impl Add<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Advances by `n`, wrapping around 2^32. `n` must be below 2^31 (asserted in debug builds).
    fn add(self, n: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(step(n)))
    }
}

impl AddAssign<usize> for SeqNumber {
    /// Advances by `n` in place, as `self + n` does.
    fn add_assign(&mut self, n: usize) {
        *self = *self + n;
    }
}

impl Sub<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Goes back by `n`, wrapping around 2^32. `n` must be below 2^31 (asserted in debug builds).
    fn sub(self, n: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(step(n)))
    }
}

impl SubAssign<usize> for SeqNumber {
    /// Goes back by `n` in place, as `self - n` does.
    fn sub_assign(&mut self, n: usize) {
        *self = *self - n;
    }
}

impl Sub<SeqNumber> for SeqNumber {
    type Output = i32;

    /// The signed wrapping distance from `other` to `self`: positive when `self` is later.
    ///
    /// Exact while the true distance lies in `-2^31 .. 2^31`; numbers exactly 2^31 apart give
    /// `i32::MIN` in both directions, and farther ones alias to a nearer distance of the
    /// opposite sign.
    fn sub(self, other: SeqNumber) -> i32 {
        self.diff(other)
    }
}

impl From<u32> for SeqNumber {
    fn from(value: u32) -> Self {
        SeqNumber(value)
    }
}

impl From<SeqNumber> for u32 {
    fn from(value: SeqNumber) -> Self {
        value.0
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests;
