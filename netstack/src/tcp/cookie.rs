//! SYN cookies: a listener's stateless answer to a SYN when its SYN queue is full (or always,
//! with `tcp_syncookies = 2`), after Linux's `syncookies.c` scheme.
//!
//! The SYN-ACK's initial sequence number carries everything needed to create the connection
//! later, when the client's ACK returns it (acknowledging `cookie + 1`):
//!
//! ```text
//! cookie = H0(addrs) + client ISN + (count << 24) + ((H1(addrs, count) + mss index) mod 2^24)
//! ```
//!
//! where `H0`, `H1` are keyed hashes of the 4-tuple ([`Secrets::cookie_hash`]), `count` is a
//! clock ticking once a minute (`tcp_cookie_time`), and the MSS index points into a table of
//! four common MSS values (Linux's `msstab`: 536, 1300, 1440, 1460; the client's MSS is rounded
//! down to one of them). Checking undoes the sum: the top 8 bits must give a count at most one
//! minute old (`MAX_SYNCOOKIE_AGE`), and the low 24 bits, less `H1` for that count, a valid
//! index. A forged or stale ACK passes with probability about 2^-29.
//!
//! A cookie cannot carry the window scale or SACK-permitted options. When the SYN had
//! timestamps, Linux hides them in the low 6 bits of the SYN-ACK's TSval
//! (`cookie_init_timestamp`): bits 0-3 the client's window scale (15 for none), bit 4 SACK,
//! bit 5 ECN (never set: sockeye does not do ECN). The client echoes the TSval in every ACK,
//! so [`decode_timestamp`] recovers them. Without timestamps the connection has neither window
//! scaling nor SACK.
//!
//! A listener checks cookies only for [`VALID`] after it last sent one
//! (`tcp_synq_no_recent_overflow`); other ACKs to a listener are answered with a RST as usual.

use core::net::SocketAddrV4;
use std::time::Duration;

use super::isn::Secrets;
use crate::time::Instant;
use crate::wire::SeqNumber;

/// The MSS values a cookie can encode (Linux's `msstab` for IPv4).
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// Bits of the cookie below the count.
const COUNT_SHIFT: u32 = 24;
/// The low 24 bits.
const LOW_MASK: u32 = (1 << COUNT_SHIFT) - 1;
/// How often the cookie clock ticks (`TCP_SYNCOOKIE_PERIOD`).
pub const PERIOD: Duration = Duration::from_secs(60);
/// A cookie is good for this many ticks of its clock (`MAX_SYNCOOKIE_AGE`): the one it was
/// made in and the next.
const MAX_AGE: u32 = 2;
/// How long after sending its last cookie a listener still checks returning ACKs for one
/// (`TCP_SYNCOOKIE_VALID`).
pub const VALID: Duration = Duration::from_secs(120);

/// Bits of the SYN-ACK's TSval that carry options (`TSBITS`).
const TS_BITS: u32 = 6;
const TS_MASK: u32 = (1 << TS_BITS) - 1;
/// "No window scale" in the timestamp's option bits.
const TS_NO_WSCALE: u32 = 0xf;
const TS_SACK: u32 = 1 << 4;
const TS_ECN: u32 = 1 << 5;

/// The options a cookie's timestamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsOptions {
    /// The client's window scale, if it offered one.
    pub wscale: Option<u8>,
    /// The client offered SACK.
    pub sack: bool,
}

/// The index of the largest table MSS not above `mss` (0 when even 536 is above it: Linux
/// rounds such a peer up to 536 too).
pub fn mss_index(mss: u16) -> u8 {
    MSS_TABLE.iter().rposition(|&m| m <= mss).unwrap_or(0) as u8
}

fn count_at(now: Instant) -> u32 {
    (now.total_millis() / PERIOD.as_millis() as u64) as u32
}

/// An address as the hashes take it.
type Addr = (core::net::Ipv4Addr, u16);

fn key(local: SocketAddrV4, remote: SocketAddrV4) -> (Addr, Addr) {
    ((*local.ip(), local.port()), (*remote.ip(), remote.port()))
}

/// The cookie for a SYN from `remote` to `local` with sequence number `client_isn`, encoding
/// MSS table entry `mss_index`.
pub fn make(
    secrets: &Secrets,
    now: Instant,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    client_isn: SeqNumber,
    mss_index: u8,
) -> SeqNumber {
    let (l, r) = key(local, remote);
    let count = count_at(now);
    let h0 = secrets.cookie_hash(l, r, 0, 0);
    let h1 = secrets.cookie_hash(l, r, count, 1);
    let low = h1.wrapping_add(u32::from(mss_index)) & LOW_MASK;
    SeqNumber(
        h0.wrapping_add(client_isn.0)
            .wrapping_add(count << COUNT_SHIFT)
            .wrapping_add(low),
    )
}

/// Checks the cookie an ACK returns: `client_isn` is the ACK's sequence number less one,
/// `cookie` its acknowledgment number less one. Returns the MSS it encodes, or `None` for a
/// forged or expired cookie.
pub fn check(
    secrets: &Secrets,
    now: Instant,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    client_isn: SeqNumber,
    cookie: SeqNumber,
) -> Option<u16> {
    let (l, r) = key(local, remote);
    let h0 = secrets.cookie_hash(l, r, 0, 0);
    let rest = cookie.0.wrapping_sub(h0).wrapping_sub(client_isn.0);
    let count = count_at(now);
    // Ages are compared modulo the 8 bits the cookie keeps.
    let age = count.wrapping_sub(rest >> COUNT_SHIFT) & (u32::MAX >> COUNT_SHIFT);
    if age >= MAX_AGE {
        return None;
    }
    let h1 = secrets.cookie_hash(l, r, count.wrapping_sub(age), 1);
    let index = rest.wrapping_sub(h1) & LOW_MASK;
    MSS_TABLE.get(index as usize).copied()
}

/// The SYN-ACK's TSval (before the connection's timestamp offset is added) at `now_ms` on
/// the connection's clock, with `opts` in its low bits. Never ahead of the clock, so the
/// client's PAWS check of later segments cannot fail.
pub fn encode_timestamp(now_ms: u32, opts: TsOptions) -> u32 {
    let mut bits = opts.wscale.map_or(TS_NO_WSCALE, |w| u32::from(w.min(14)));
    if opts.sack {
        bits |= TS_SACK;
    }
    let ts = (now_ms & !TS_MASK) | bits;
    if (ts.wrapping_sub(now_ms) as i32) > 0 {
        ts.wrapping_sub(1 << TS_BITS)
    } else {
        ts
    }
}

/// The options hidden in a TSecr (less the connection's timestamp offset), or `None` if the
/// bits cannot have come from [`encode_timestamp`] (the ECN bit: never offered here).
pub fn decode_timestamp(ecr: u32) -> Option<TsOptions> {
    let bits = ecr & TS_MASK;
    if bits & TS_ECN != 0 {
        return None;
    }
    let w = bits & TS_NO_WSCALE;
    let wscale = (w != TS_NO_WSCALE).then_some(w as u8);
    Some(TsOptions {
        wscale,
        sack: bits & TS_SACK != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    const L: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
    const R: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40000);

    #[test]
    fn mss_rounds_down_to_the_table() {
        assert_eq!(mss_index(1460), 3);
        assert_eq!(mss_index(9000), 3);
        assert_eq!(mss_index(1459), 2);
        assert_eq!(mss_index(1400), 1);
        assert_eq!(mss_index(1300), 1);
        assert_eq!(mss_index(600), 0);
        assert_eq!(mss_index(100), 0);
    }

    #[test]
    fn a_cookie_checks_within_its_age_and_not_after() {
        let s = Secrets::random();
        let t0 = Instant::from_millis(59_000);
        let isn = SeqNumber(0xffff_fff0);
        for index in 0..4u8 {
            let c = make(&s, t0, L, R, isn, index);
            let mss = Some(MSS_TABLE[usize::from(index)]);
            assert_eq!(check(&s, t0, L, R, isn, c), mss);
            // The next minute still accepts it; the one after does not.
            assert_eq!(check(&s, Instant::from_millis(61_000), L, R, isn, c), mss);
            assert_eq!(check(&s, Instant::from_millis(119_999), L, R, isn, c), mss);
            assert_eq!(check(&s, Instant::from_millis(120_000), L, R, isn, c), None);
        }
    }

    #[test]
    fn a_cookie_belongs_to_its_connection_and_secrets() {
        let s = Secrets::random();
        let now = Instant::from_millis(5_000);
        let isn = SeqNumber(12345);
        let c = make(&s, now, L, R, isn, 2);
        let other = SocketAddrV4::new(*R.ip(), R.port() + 1);
        assert_eq!(check(&s, now, L, other, isn, c), None);
        // The client's ISN is added, not hashed (as in Linux): a shift of more than the table
        // moves the index out of it.
        assert_eq!(check(&s, now, L, R, isn + 100, c), None);
        assert_eq!(check(&s, now, L, R, isn, c + 100), None);
        assert_eq!(check(&s, now, L, R, isn - 100, c), None);
        assert_eq!(check(&Secrets::random(), now, L, R, isn, c), None);
    }

    #[test]
    fn forged_cookies_almost_never_pass() {
        let s = Secrets::fixed(3);
        let now = Instant::from_millis(1_000);
        let mut rng = crate::sim::Rng::new(9);
        let passed = (0..200_000)
            .filter(|_| {
                let isn = SeqNumber(rng.next_u64() as u32);
                let cookie = SeqNumber(rng.next_u64() as u32);
                check(&s, now, L, R, isn, cookie).is_some()
            })
            .count();
        assert_eq!(passed, 0);
    }

    #[test]
    fn the_clock_wraps_without_breaking_the_age_check() {
        let s = Secrets::fixed(1);
        // Count 255 and 256 differ in the cookie's 8 count bits by wrapping.
        let t = Instant::from_millis(255 * 60_000 + 30_000);
        let c = make(&s, t, L, R, SeqNumber(7), 1);
        let later = Instant::from_millis(256 * 60_000 + 1);
        assert_eq!(check(&s, later, L, R, SeqNumber(7), c), Some(1300));
        let too_late = Instant::from_millis(257 * 60_000);
        assert_eq!(check(&s, too_late, L, R, SeqNumber(7), c), None);
    }

    #[test]
    fn timestamps_carry_window_scale_and_sack() {
        for wscale in [None, Some(0), Some(7), Some(14)] {
            for sack in [false, true] {
                let opts = TsOptions { wscale, sack };
                for now in [0u32, 63, 64, 1_000_001, u32::MAX] {
                    let ts = encode_timestamp(now, opts);
                    assert_eq!(decode_timestamp(ts), Some(opts));
                    assert!(
                        (now.wrapping_sub(ts) as i32) >= 0,
                        "never ahead of the clock"
                    );
                    assert!(now.wrapping_sub(ts) < 128);
                }
            }
        }
        assert_eq!(decode_timestamp(0b10_0000), None, "ECN was never offered");
        let none = decode_timestamp(0b01_1111).expect("valid bits");
        assert_eq!((none.wscale, none.sack), (None, true));
    }
}
