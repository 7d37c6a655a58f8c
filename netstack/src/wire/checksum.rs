//! The Internet checksum (RFC 1071), used by IPv4, ICMP, UDP and TCP.
//!
//! The checksum is the ones' complement of the ones' complement sum of the data taken as
//! big-endian 16-bit words (an odd trailing byte is padded with a zero byte). Work is split in two:
//!
//! - [`sum`] computes a *partial sum*: the ones' complement sum, carries folded, not complemented,
//!   returned as a `u32` no greater than `0xffff`. Partial sums of consecutive pieces of data (a
//!   pseudo-header, a header, a payload) are joined with [`combine`] or [`combine_at`].
//! - [`fold`] turns a partial sum into the 16-bit value written into a header.
//!
//! To check a received packet, sum it *including* its checksum field: the result folds to zero
//! ([`verify`]).
//!
//! [`sum`] is on the hot path. The ones' complement sum does not depend on byte order (RFC 1071,
//! section 2(B)), so it reads the data eight bytes at a time in native order, adds the two 32-bit
//! halves of each word into a 64-bit accumulator (no carry to propagate, which the compiler can
//! vectorise), and fixes the byte order once at the end.

use core::net::Ipv4Addr;

/// Bytes summed before the 64-bit accumulator is reduced: each 8-byte word adds less than 2^33,
/// so 2^17 words (1 MiB) stay far below 2^64. A multiple of 8, so only the last block has a tail.
const BLOCK_LEN: usize = 1 << 20;

/// Returns the partial Internet checksum of `data`: the ones' complement sum of its big-endian
/// 16-bit words (an odd trailing byte padded with zero), carries folded into 16 bits.
///
/// The result is at most `0xffff`; it is zero only when every byte of `data` is zero.
pub fn sum(data: &[u8]) -> u32 {
    let acc = if data.len() <= BLOCK_LEN {
        sum_block_native(data)
    } else {
        data.chunks(BLOCK_LEN).fold(0, |acc, block| {
            u64::from(reduce(acc + sum_block_native(block)))
        })
    };
    let folded = reduce(acc);
    // The words were read in native order: the sum of byte-swapped words is the byte-swapped sum.
    let folded = if cfg!(target_endian = "little") {
        folded.swap_bytes()
    } else {
        folded
    };
    u32::from(folded)
}

/// Sums `block` (at most [`BLOCK_LEN`] bytes) in native byte order: 32-bit halves of 64-bit
/// words, then the tail, which starts at an even offset so every byte keeps its half of its
/// 16-bit word.
fn sum_block_native(block: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut words = block.chunks_exact(8);
    for word in &mut words {
        // `chunks_exact(8)` yields 8-byte slices: the conversion cannot fail.
        let word = u64::from_ne_bytes(word.try_into().unwrap_or_default());
        acc += (word >> 32) + (word & 0xffff_ffff);
    }
    let mut rest = words.remainder();
    if let Some((four, tail)) = rest.split_first_chunk::<4>() {
        acc += u64::from(u32::from_ne_bytes(*four));
        rest = tail;
    }
    if let Some((two, tail)) = rest.split_first_chunk::<2>() {
        acc += u64::from(u16::from_ne_bytes(*two));
        rest = tail;
    }
    if let [last] = rest {
        // An odd trailing byte is the first byte of a word padded with zero (RFC 1071).
        acc += u64::from(u16::from_ne_bytes([*last, 0]));
    }
    acc
}

/// Folds the carries of a 64-bit ones' complement sum into 16 bits (2^16 = 1 modulo 0xffff).
fn reduce(sum: u64) -> u16 {
    let sum = (sum & 0xffff_ffff) + (sum >> 32);
    let sum = (sum & 0xffff_ffff) + (sum >> 32);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    // The two 32-bit folds leave at most 2^32, which three 16-bit folds bring to at most 0xffff.
    sum as u16
}

/// Joins the partial sums of two consecutive pieces of data, `a` first.
///
/// `a`'s data must have an even length (so `b`'s words stay aligned); use [`combine_at`] otherwise.
/// Accepts any `u32` values, not only ones returned by [`sum`].
pub fn combine(a: u32, b: u32) -> u32 {
    u32::from(reduce(u64::from(a) + u64::from(b)))
}

/// Joins the partial sums of two consecutive pieces of data, where the first, summed in `front`,
/// is `front_len` bytes long and may be odd.
///
/// When `front_len` is odd the second piece's bytes sit in the opposite halves of their 16-bit
/// words, which byte-swaps their contribution.
pub fn combine_at(front: u32, front_len: usize, back: u32) -> u32 {
    let back = reduce(u64::from(back));
    let back = if front_len % 2 == 1 {
        back.swap_bytes()
    } else {
        back
    };
    combine(front, u32::from(back))
}

/// Turns a partial sum into the checksum to write into a header: carries folded, then the ones'
/// complement taken.
pub fn fold(sum: u32) -> u16 {
    !reduce(u64::from(sum))
}

/// Returns the Internet checksum of `data` (with its checksum field zeroed, when it has one).
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum(data))
}

/// Whether `data`, including its checksum field, carries a correct Internet checksum.
pub fn verify(data: &[u8]) -> bool {
    checksum(data) == 0
}

/// Returns the partial sum of the IPv4 pseudo-header that UDP and TCP checksums cover
/// (RFC 768, RFC 9293): source and destination addresses, zero, `protocol`, and `length`, the
/// length of the transport header plus payload.
///
/// Join it with the transport segment's sum using [`combine`].
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    let word_sum = |addr: Ipv4Addr| {
        let [a, b, c, d] = addr.octets();
        u64::from(u16::from_be_bytes([a, b])) + u64::from(u16::from_be_bytes([c, d]))
    };
    let total = word_sum(src) + word_sum(dst) + u64::from(protocol) + u64::from(length);
    u32::from(reduce(total))
}

#[cfg(test)]
mod tests;
