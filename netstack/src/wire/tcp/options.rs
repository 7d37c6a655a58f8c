//! TCP options (RFC 9293 section 3.2): maximum segment size, window scale and timestamps
//! (RFC 7323), SACK-permitted and SACK blocks (RFC 2018), as one [`TcpOptions`] value.
//!
//! # Parsing
//!
//! [`TcpOptions::parse`] reads the whole options area: End of Option List stops it, No-Operation
//! is skipped, options of unknown kind are skipped by their length. A known option with the wrong
//! length, a length below 2, or a length running past the area is [`WireError::Malformed`]
//! (Linux silently ignores such options instead; a segment this malformed is dropped here). A
//! window scale above 14 is clamped to 14 (RFC 7323 section 2.3). If an option appears twice the
//! last one wins. Options are reported whatever the segment's flags: ignoring MSS, window scale
//! and SACK-permitted outside a SYN is the TCP engine's job.
//!
//! # Emitting
//!
//! [`TcpOptions::emit`] follows Linux's `tcp_options_write`, which keeps every option 32-bit
//! aligned:
//!
//! | option            | bytes                                   | length |
//! |-------------------|-----------------------------------------|--------|
//! | MSS               | `2 4 mss`                               | 4      |
//! | SACK-perm + TS    | `4 2 8 10 tsval tsecr`                  | 12     |
//! | TS alone          | `1 1 8 10 tsval tsecr`                  | 12     |
//! | SACK-perm alone   | `1 1 4 2`                               | 4      |
//! | window scale      | `1 3 3 shift`                           | 4      |
//! | SACK blocks       | `1 1 5 (2+8n) blocks`                   | 4 + 8n |
//!
//! A Linux SYN is therefore `MSS, SACKOK TS, NOP WS` (20 bytes) and an ACK carrying SACK blocks
//! is `NOP NOP TS, NOP NOP SACK`. The options area holds at most 40 bytes: SACK blocks that do not
//! fit are dropped from the end (with timestamps at most 3 blocks fit, without them 4). RFC 2018
//! puts the most recent block first, so the dropped ones are the least useful.

use super::seq::SeqNumber;
use crate::wire::{Result, WireError};

/// The largest options area: a 60-byte header minus the 20 fixed bytes.
pub const MAX_LEN: usize = 40;

/// The largest window scale shift (RFC 7323 section 2.3).
pub const MAX_WINDOW_SCALE: u8 = 14;

/// The most SACK blocks an option can carry (2 + 8 * 4 = 34 bytes of the 40 available).
pub const MAX_SACK_BLOCKS: usize = 4;

/// Option kinds.
mod kind {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

/// Up to [`MAX_SACK_BLOCKS`] SACK blocks, `(left edge, right edge)`, stored inline.
///
/// Equality compares the blocks present, in order.
#[derive(Clone, Copy, Default)]
pub struct SackBlocks {
    blocks: [(SeqNumber, SeqNumber); MAX_SACK_BLOCKS],
    len: u8,
}

impl SackBlocks {
    /// No blocks.
    pub const fn new() -> SackBlocks {
        SackBlocks {
            blocks: [(SeqNumber(0), SeqNumber(0)); MAX_SACK_BLOCKS],
            len: 0,
        }
    }

    /// The blocks from `blocks`, or `None` if there are more than [`MAX_SACK_BLOCKS`].
    pub fn from_slice(blocks: &[(SeqNumber, SeqNumber)]) -> Option<SackBlocks> {
        let mut sack = SackBlocks::new();
        for &(left, right) in blocks {
            if !sack.push(left, right) {
                return None;
            }
        }
        Some(sack)
    }

    /// Appends the block `left..right`; returns `false` (and changes nothing) when full.
    pub fn push(&mut self, left: SeqNumber, right: SeqNumber) -> bool {
        match self.blocks.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = (left, right);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Removes every block.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The number of blocks.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are no blocks.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The blocks, in order.
    pub fn as_slice(&self) -> &[(SeqNumber, SeqNumber)] {
        &self.blocks[..self.len()]
    }
}

impl PartialEq for SackBlocks {
    fn eq(&self, other: &SackBlocks) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackBlocks {}

impl core::hash::Hash for SackBlocks {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl core::fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The TCP options this stack understands. The default has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpOptions {
    /// Maximum segment size (kind 2), SYN only.
    pub mss: Option<u16>,
    /// Window scale shift (kind 3, RFC 7323), SYN only; at most [`MAX_WINDOW_SCALE`].
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4, RFC 2018), SYN only.
    pub sack_permitted: bool,
    /// SACK blocks (kind 5, RFC 2018).
    pub sack_blocks: SackBlocks,
    /// Timestamps (kind 8, RFC 7323): `(TSval, TSecr)`.
    pub timestamps: Option<(u32, u32)>,
}

impl TcpOptions {
    /// Reads the options area of a TCP header (the bytes after the first 20, up to the data
    /// offset). See the [module documentation](self) for the rules.
    pub fn parse(area: &[u8]) -> Result<TcpOptions> {
        let mut options = TcpOptions::default();
        // The layout of nearly every segment after the handshake (Linux sends it, and so does
        // this stack): NOP, NOP, timestamps. Read at once, as Linux's
        // `tcp_parse_aligned_timestamp` does; anything else takes the general loop.
        if let [kind::NOP, kind::NOP, kind::TIMESTAMPS, 10, ts @ ..] = area
            && ts.len() == 8
        {
            options.timestamps = Some((read_u32(&ts[..4]), read_u32(&ts[4..])));
            return Ok(options);
        }
        let mut rest = area;
        while let Some((&kind, after_kind)) = rest.split_first() {
            match kind {
                kind::END => break,
                kind::NOP => {
                    rest = after_kind;
                    continue;
                }
                _ => {}
            }
            let len = usize::from(*after_kind.first().ok_or(WireError::Malformed)?);
            if len < 2 || len > rest.len() {
                return Err(WireError::Malformed);
            }
            let (option, after) = rest.split_at(len);
            let data = &option[2..];
            match (kind, data) {
                (kind::MSS, &[a, b]) => options.mss = Some(u16::from_be_bytes([a, b])),
                (kind::WINDOW_SCALE, &[shift]) => {
                    options.window_scale = Some(shift.min(MAX_WINDOW_SCALE));
                }
                (kind::SACK_PERMITTED, []) => options.sack_permitted = true,
                (kind::SACK, blocks) if !blocks.is_empty() && blocks.len() % 8 == 0 => {
                    let mut sack = SackBlocks::new();
                    for block in blocks.chunks_exact(8) {
                        let left = read_u32(&block[..4]);
                        let right = read_u32(&block[4..]);
                        if !sack.push(SeqNumber(left), SeqNumber(right)) {
                            return Err(WireError::Malformed);
                        }
                    }
                    options.sack_blocks = sack;
                }
                (kind::TIMESTAMPS, data) if data.len() == 8 => {
                    options.timestamps = Some((read_u32(&data[..4]), read_u32(&data[4..])));
                }
                (
                    kind::MSS
                    | kind::WINDOW_SCALE
                    | kind::SACK_PERMITTED
                    | kind::SACK
                    | kind::TIMESTAMPS,
                    _,
                ) => return Err(WireError::Malformed),
                _ => {} // Unknown kind: skipped by its length.
            }
            rest = after;
        }
        Ok(options)
    }

    /// Whether there are no options to send.
    pub fn is_empty(&self) -> bool {
        self.fixed_len() == 0 && self.sack_blocks.is_empty()
    }

    /// The number of SACK blocks [`emit`](TcpOptions::emit) writes: as many as fit in 40 bytes.
    pub fn emitted_sack_blocks(&self) -> usize {
        let room = MAX_LEN.saturating_sub(self.fixed_len() + 4) / 8;
        self.sack_blocks.len().min(room)
    }

    /// The length of the options area [`emit`](TcpOptions::emit) writes: a multiple of 4, at
    /// most 40.
    pub fn buffer_len(&self) -> usize {
        let sack = match self.emitted_sack_blocks() {
            0 => 0,
            n => 4 + 8 * n,
        };
        self.fixed_len() + sack
    }

    /// The length of every option but SACK blocks (at most 24, all multiples of 4).
    fn fixed_len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        if self.timestamps.is_some() {
            len += 12; // SACK-permitted rides in the timestamps' padding.
        } else if self.sack_permitted {
            len += 4;
        }
        if self.window_scale.is_some() {
            len += 4;
        }
        len
    }

    /// Writes the options in Linux's order and alignment (see the
    /// [module documentation](self)) and returns the length written,
    /// [`buffer_len`](TcpOptions::buffer_len). Any bytes of `area` after that are set to End of
    /// Option List (zero). A window scale above 14 is written as 14.
    ///
    /// # Panics
    ///
    /// If `area` is shorter than [`buffer_len`](TcpOptions::buffer_len).
    pub fn emit(&self, area: &mut [u8]) -> usize {
        let mut writer = Writer { area, at: 0 };
        if let Some(mss) = self.mss {
            writer.put(&[kind::MSS, 4]);
            writer.put(&mss.to_be_bytes());
        }
        if let Some((tsval, tsecr)) = self.timestamps {
            if self.sack_permitted {
                writer.put(&[kind::SACK_PERMITTED, 2]);
            } else {
                writer.put(&[kind::NOP, kind::NOP]);
            }
            writer.put(&[kind::TIMESTAMPS, 10]);
            writer.put(&tsval.to_be_bytes());
            writer.put(&tsecr.to_be_bytes());
        } else if self.sack_permitted {
            writer.put(&[kind::NOP, kind::NOP, kind::SACK_PERMITTED, 2]);
        }
        if let Some(shift) = self.window_scale {
            writer.put(&[
                kind::NOP,
                kind::WINDOW_SCALE,
                3,
                shift.min(MAX_WINDOW_SCALE),
            ]);
        }
        let blocks = &self.sack_blocks.as_slice()[..self.emitted_sack_blocks()];
        if !blocks.is_empty() {
            // At most 4 blocks: the length is at most 34.
            let len = 2 + 8 * blocks.len() as u8;
            writer.put(&[kind::NOP, kind::NOP, kind::SACK, len]);
            for (left, right) in blocks {
                writer.put(&left.0.to_be_bytes());
                writer.put(&right.0.to_be_bytes());
            }
        }
        let written = writer.at;
        writer.area[written..].fill(kind::END);
        written
    }
}

/// Appends bytes to an options area.
struct Writer<'a> {
    area: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.area[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

/// Reads a big-endian `u32` from exactly four bytes.
fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[cfg(test)]
mod tests;
