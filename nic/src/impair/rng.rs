//! The impairment wrapper's own pseudo-random generator: xoshiro256** (Blackman and Vigna),
//! seeded through SplitMix64, both written here from the published algorithms.
//!
//! Not the `rand` crate, on purpose: a seed must give the same faults forever, and a dependency
//! upgrade that changed a generator or a sampling method would silently change every recorded
//! failing seed. The sequences are pinned by tests against the reference implementations' outputs.

/// SplitMix64: a tiny generator used only to expand a seed into xoshiro's 256-bit state.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// xoshiro256**: fast, small, and statistically strong enough for fault injection.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The generator for one independent stream of a seed: each impairment of each direction draws
    /// from a stream of its own, so that enabling one impairment does not change which frames
    /// another one hits.
    pub(crate) fn stream(seed: u64, stream: u64) -> Rng {
        let seed_hash = SplitMix64::new(seed).next_u64();
        let stream_hash = SplitMix64::new(stream ^ 0x5eed_5eed_5eed_5eed).next_u64();
        let mut expand = SplitMix64::new(seed_hash ^ stream_hash.rotate_left(32));
        let mut s = [0; 4];
        for word in &mut s {
            *word = expand.next_u64();
        }
        Rng::from_state(s)
    }

    /// A generator with the given raw state; an all-zero state (which would only ever produce
    /// zeros) is replaced by a fixed non-zero one.
    pub(crate) fn from_state(s: [u64; 4]) -> Rng {
        if s == [0; 4] {
            return Rng { s: [1, 0, 0, 0] };
        }
        Rng { s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform number in `[0, 1)` with 53 random bits.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`. Draws nothing when `p` is zero, negative or NaN (never true),
    /// and is always true for `p >= 1`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        if p.is_nan() || p <= 0.0 {
            return false;
        }
        self.next_f64() < p
    }

    /// A uniform number in `[0, n)` (zero when `n` is zero), by multiply-and-shift; the bias is
    /// at most `n / 2^64`, far below anything a test could see.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_reference() {
        let mut g = SplitMix64::new(1_234_567);
        assert_eq!(g.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(g.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(g.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn xoshiro256starstar_matches_reference() {
        let mut g = Rng::from_state([1, 2, 3, 4]);
        assert_eq!(g.next_u64(), 11_520);
        assert_eq!(g.next_u64(), 0);
        assert_eq!(g.next_u64(), 1_509_978_240);
        assert_eq!(g.next_u64(), 1_215_971_899_390_074_240);
    }

    #[test]
    fn streams_are_pinned_and_distinct() {
        // Pins the seed expansion (checked against an independent implementation): changing it
        // would change every recorded failing seed.
        let mut g = Rng::stream(42, 0);
        assert_eq!(g.next_u64(), 2_263_262_166_617_999_672);
        assert_eq!(g.next_u64(), 10_053_624_109_608_248_802);
        let first = Rng::stream(42, 0).next_u64();
        assert_ne!(first, Rng::stream(42, 1).next_u64());
        assert_ne!(first, Rng::stream(43, 0).next_u64());
        assert_eq!(Rng::from_state([0; 4]).s, [1, 0, 0, 0]);
    }

    #[test]
    fn sampling() {
        let mut g = Rng::stream(7, 7);
        let mut hits = 0;
        for _ in 0..100_000 {
            let x = g.next_f64();
            assert!((0.0..1.0).contains(&x));
            hits += usize::from(g.chance(0.25));
            assert!(g.below(10) < 10);
        }
        assert!((24_000..26_000).contains(&hits), "{hits}");
        assert!(!g.chance(0.0) && !g.chance(-1.0) && !g.chance(f64::NAN));
        assert!(g.chance(1.0) && g.chance(2.0));
        assert_eq!(g.below(0), 0);
        assert_eq!(g.below(1), 0);
    }
}
