//! The hash maps of the stack's lookups (connections by 4-tuple, listeners, ports, neighbours,
//! UDP sockets, reassembly queues): std's `HashMap` with foldhash instead of SipHash.
//!
//! These lookups run for every frame, and SipHash was a measurable share of a connection's
//! cost. Their keys come from the network, so the hash must not be predictable: every map gets
//! a per-map seed, and all share a 64-bit secret, both drawn from the operating system's
//! randomness (through std's randomly keyed `RandomState`) rather than foldhash's own seeding,
//! which only mixes in address-space layout. Like Linux's `jhash` with its random secret, this
//! keeps an attacker who cannot see the secret from aiming many keys at one bucket; it is not a
//! cryptographic guarantee (the stack's ISNs, ports and SYN cookies keep SipHash, see
//! `tcp::isn`).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::SharedSeed;
use foldhash::fast::{FoldHasher, SeedableRandomState};

/// A hash map keyed with [`Keyed`].
pub(crate) type Map<K, V> = HashMap<K, V, Keyed>;

/// A random 64-bit value from the operating system's randomness (std seeds each
/// `RandomState` from it).
fn os_random() -> u64 {
    RandomState::new().hash_one(0x5eed_u64)
}

/// The secret every map shares, drawn once per process.
fn shared_seed() -> &'static SharedSeed {
    static SEED: OnceLock<SharedSeed> = OnceLock::new();
    SEED.get_or_init(|| SharedSeed::from_u64(os_random()))
}

/// foldhash with a per-map seed and the process's shared secret (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct Keyed(SeedableRandomState);

impl Default for Keyed {
    fn default() -> Keyed {
        Keyed(SeedableRandomState::with_seed(os_random(), shared_seed()))
    }
}

impl BuildHasher for Keyed {
    type Hasher = FoldHasher<'static>;

    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_seeded_differently_and_still_work() {
        let (a, b) = (Keyed::default(), Keyed::default());
        assert_ne!(a.hash_one(42u128), b.hash_one(42u128));
        assert_eq!(a.hash_one(42u128), a.hash_one(42u128));
        let mut m: Map<u128, u32> = Map::default();
        for i in 0..10_000u32 {
            m.insert(u128::from(i) << 64 | 80, i);
        }
        assert!((0..10_000u32).all(|i| m[&(u128::from(i) << 64 | 80)] == i));
    }
}
