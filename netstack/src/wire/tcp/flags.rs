//! TCP control bits (RFC 9293 section 3.1, RFC 3168 for ECE and CWR): [`TcpFlags`].
//!
//! A small set type over the flag bits of the header's 13th byte. The reserved bits and the
//! historic NS bit (RFC 3540, obsoleted by RFC 8311) are not flags here: they are ignored on
//! receipt and sent as zero.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

/// A set of TCP control bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u16);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// The acknowledgment number is significant.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// The urgent pointer is significant.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x080);

    /// Every flag above.
    const ALL: u16 = 0x0ff;

    /// The empty set.
    pub const fn empty() -> TcpFlags {
        TcpFlags(0)
    }

    /// The flags whose bits are set in `bits`; other bits are dropped.
    pub const fn from_bits_truncate(bits: u16) -> TcpFlags {
        TcpFlags(bits & Self::ALL)
    }

    /// The bits, as on the wire (FIN is bit 0).
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every flag in `other` is set.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag in `other` is set.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Sets the flags in `other`.
    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }

    /// Clears the flags in `other`.
    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0;
    }

    /// These flags without those in `other`.
    pub const fn without(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & !other.0)
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;

    fn bitor(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }
}

impl BitAnd for TcpFlags {
    type Output = TcpFlags;

    fn bitand(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & other.0)
    }
}

/// Flag names and tcpdump's letters, in bit order (which is also the order tcpdump prints them:
/// `[S.]`, `[F.]`, `[P.]`, `[S.E]`).
const FLAG_NAMES: [(TcpFlags, &str, char); 8] = [
    (TcpFlags::FIN, "FIN", 'F'),
    (TcpFlags::SYN, "SYN", 'S'),
    (TcpFlags::RST, "RST", 'R'),
    (TcpFlags::PSH, "PSH", 'P'),
    (TcpFlags::ACK, "ACK", '.'),
    (TcpFlags::URG, "URG", 'U'),
    (TcpFlags::ECE, "ECE", 'E'),
    (TcpFlags::CWR, "CWR", 'W'),
];

impl fmt::Debug for TcpFlags {
    /// Names joined by `|`, as `SYN|ACK`; `(empty)` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(empty)");
        }
        let mut first = true;
        for (flag, name, _) in FLAG_NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's letters in brackets, as `[S.]` for SYN+ACK and `[none]` for no flags.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("[none]");
        }
        f.write_str("[")?;
        for (flag, _, letter) in FLAG_NAMES {
            if self.contains(flag) {
                fmt::Write::write_char(f, letter)?;
            }
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests;
