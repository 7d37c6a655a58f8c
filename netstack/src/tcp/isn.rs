//! Initial sequence numbers (RFC 6528) and ephemeral port selection (RFC 6056).
//!
//! **ISNs**: `ISN = M + F(local addr, local port, remote addr, remote port, secret)`, where M is a
//! clock ticking every 4 µs (RFC 9293 section 3.4.1) and F a keyed hash, so that ISNs of
//! different connections cannot be predicted from each other while a quickly reopened connection
//! on the same 4-tuple still starts above its previous incarnation.
//!
//! **Ports**: RFC 6056 algorithm 4 ("double-hash port selection", the one Linux uses): the
//! search for a free port starts at `offset = F(local addr, remote addr, remote port, secret)`
//! plus a per-bucket counter `table[G(...)]` that advances on every selection, so ports are
//! unpredictable to an off-path attacker yet a host reconnecting to the same peer walks through
//! the range instead of reusing a port that may still be in TIME_WAIT at the peer.
//!
//! F and G are SipHash-1-3 keyed with random secrets, drawn once per stack from the standard
//! library's randomly seeded `RandomState`. Tests can fix the secrets with [`Secrets::fixed`].
//! The same secrets key the SYN cookies' hashes ([`Secrets::cookie_hash`], used by
//! `tcp::cookie`).

use core::net::Ipv4Addr;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};

use crate::time::Instant;
use crate::wire::SeqNumber;

/// Size of the port-selection perturbation table (RFC 6056 suggests at least a few hundred).
const TABLE_SIZE: usize = 256;

/// The keyed hashes of one stack.
#[derive(Debug, Clone)]
pub struct Secrets {
    isn: RandomState,
    port: RandomState,
    table: RandomState,
    cookie: RandomState,
    fixed: Option<u64>,
    /// Replaces the keyed hash in ISNs (tests that need sequence numbers near the wrap).
    isn_base: Option<u32>,
    perturbation: Vec<u16>,
}

impl Default for Secrets {
    fn default() -> Self {
        Secrets::random()
    }
}

impl Secrets {
    /// Fresh random secrets.
    pub fn random() -> Secrets {
        Secrets {
            isn: RandomState::new(),
            port: RandomState::new(),
            table: RandomState::new(),
            cookie: RandomState::new(),
            fixed: None,
            isn_base: None,
            perturbation: vec![0; TABLE_SIZE],
        }
    }

    /// Deterministic secrets derived from `seed` (for simulations and tests).
    pub fn fixed(seed: u64) -> Secrets {
        Secrets {
            fixed: Some(seed),
            ..Secrets::random()
        }
    }

    /// Makes every ISN `base` plus the 4 µs clock, for tests that need sequence numbers close
    /// to the 2^32 wrap (never for real use: ISNs become predictable).
    pub fn with_isn_base(mut self, base: u32) -> Secrets {
        self.isn_base = Some(base);
        self
    }

    /// SipHash of `parts` under the key `which` (or, with fixed secrets, a seed-dependent
    /// fixed key). Callers pack what they hash into one or two integers: SipHash's cost is per
    /// `write`, and a tuple of addresses and ports took six of them.
    fn hash(&self, which: &RandomState, salt: u8, parts: impl Hash) -> u64 {
        match self.fixed {
            Some(seed) => {
                // A fixed-key hash: std's DefaultHasher has fixed keys; mixing in the seed
                // makes the output seed-dependent and reproducible.
                let mut h = std::hash::DefaultHasher::new();
                h.write_u128(u128::from(seed) << 8 | u128::from(salt));
                parts.hash(&mut h);
                h.finish()
            }
            None => which.hash_one(parts),
        }
    }

    /// The initial sequence number for a connection, at `now`.
    pub fn isn(&self, now: Instant, local: (Ipv4Addr, u16), remote: (Ipv4Addr, u16)) -> SeqNumber {
        let f = match self.isn_base {
            Some(base) => base,
            None => self.hash(&self.isn, 1, pack(local, remote)) as u32,
        };
        let m = (now.total_micros() / 4) as u32;
        SeqNumber(m.wrapping_add(f))
    }

    /// A keyed 32-bit hash of a connection's addresses and `count` for SYN cookies; `which`
    /// selects one of two independent hash functions.
    pub fn cookie_hash(
        &self,
        local: (Ipv4Addr, u16),
        remote: (Ipv4Addr, u16),
        count: u32,
        which: u8,
    ) -> u32 {
        let extra = u64::from(which) << 32 | u64::from(count);
        self.hash(&self.cookie, 4, (pack(local, remote), extra)) as u32
    }

    /// Ephemeral port candidates for a connection from `local_ip` to `remote`, in the order to
    /// try them, within `range` (inclusive). Advances the per-destination counter, so the next
    /// connection to the same peer starts elsewhere.
    pub fn port_candidates(
        &mut self,
        local_ip: Ipv4Addr,
        remote: (Ipv4Addr, u16),
        range: (u16, u16),
    ) -> impl Iterator<Item = u16> + use<> {
        let (low, high) = range;
        let count = u32::from(high - low) + 1;
        let key = pack((local_ip, 0), remote);
        let offset = self.hash(&self.port, 2, key) as u32;
        let bucket = (self.hash(&self.table, 3, key) as usize) % TABLE_SIZE;
        let start = offset.wrapping_add(u32::from(self.perturbation[bucket]));
        // RFC 6056 increments the table entry by one per connection; Linux by two (it
        // prefers even ports for connect()); one is enough here.
        self.perturbation[bucket] = self.perturbation[bucket].wrapping_add(1);
        (0..count).map(move |i| low + (start.wrapping_add(i) % count) as u16)
    }
}

/// Two endpoints as one integer (addresses and ports in fixed places, so distinct pairs stay
/// distinct), what the hashes above take.
fn pack(local: (Ipv4Addr, u16), remote: (Ipv4Addr, u16)) -> u128 {
    u128::from(local.0.to_bits()) << 64
        | u128::from(local.1) << 48
        | u128::from(remote.0.to_bits()) << 16
        | u128::from(remote.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const L: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const R: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    #[test]
    fn isn_advances_with_the_clock_and_differs_per_tuple() {
        let s = Secrets::random();
        let a = s.isn(Instant::from_micros(0), (L, 1000), (R, 80));
        let b = s.isn(Instant::from_micros(4_000), (L, 1000), (R, 80));
        assert_eq!(b - a, 1000, "M ticks every 4 microseconds");
        let other = s.isn(Instant::from_micros(0), (L, 1001), (R, 80));
        assert_ne!(a, other);
        // Different stacks (secrets) give unrelated ISNs for the same tuple.
        let t = Secrets::random();
        assert_ne!(a, t.isn(Instant::from_micros(0), (L, 1000), (R, 80)));
    }

    #[test]
    fn fixed_secrets_are_reproducible() {
        let a = Secrets::fixed(7).isn(Instant::ZERO, (L, 1), (R, 2));
        let b = Secrets::fixed(7).isn(Instant::ZERO, (L, 1), (R, 2));
        let c = Secrets::fixed(8).isn(Instant::ZERO, (L, 1), (R, 2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn port_candidates_cover_the_range_once_and_move_between_connections() {
        let mut s = Secrets::fixed(1);
        let range = (32768, 32768 + 99);
        let first: Vec<u16> = s.port_candidates(L, (R, 80), range).collect();
        assert_eq!(first.len(), 100);
        assert_eq!(first.iter().collect::<HashSet<_>>().len(), 100);
        assert!(first.iter().all(|p| (range.0..=range.1).contains(p)));
        let second: Vec<u16> = s.port_candidates(L, (R, 80), range).collect();
        assert_eq!(
            second[0], first[1],
            "the next connection starts one further"
        );
        // Another destination starts somewhere unrelated.
        let other: Vec<u16> = s.port_candidates(L, (R, 443), range).collect();
        assert_eq!(other.len(), 100);
    }

    #[test]
    fn full_linux_range_works() {
        let mut s = Secrets::random();
        let n = s.port_candidates(L, (R, 80), (32768, 60999)).count();
        assert_eq!(n, 60999 - 32768 + 1);
        let one = s
            .port_candidates(L, (R, 80), (5000, 5000))
            .collect::<Vec<_>>();
        assert_eq!(one, vec![5000]);
    }

    #[test]
    fn packed_endpoints_keep_every_field_apart() {
        let a = pack((L, 1000), (R, 80));
        for other in [
            pack((R, 1000), (L, 80)),
            pack((L, 80), (R, 1000)),
            pack((L, 1001), (R, 80)),
            pack((L, 1000), (R, 81)),
            pack((Ipv4Addr::new(10, 0, 0, 3), 1000), (R, 80)),
            pack((L, 1000), (Ipv4Addr::new(10, 0, 0, 3), 80)),
        ] {
            assert_ne!(a, other);
        }
        assert_eq!(a, pack((L, 1000), (R, 80)));
    }
}
