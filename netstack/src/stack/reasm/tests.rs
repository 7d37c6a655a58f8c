//! The reassembler alone: arrival orders, duplicates, overlaps, malformed fragments, the
//! timeout and the memory bound. Stack-level behaviour (dispatch of the rebuilt datagram, ICMP
//! time exceeded) is tested in `netstack/tests/reasm.rs`.

use super::*;
use crate::wire::ipv4::IpProtocol;

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const T0: Instant = Instant::ZERO;

fn limits() -> Limits {
    Limits::from_config(&StackConfig::default())
}

/// A fragment of datagram `ident`: a header of `hlen` bytes (options are NOPs), then `payload`
/// at byte `offset`.
fn frag_hlen(hlen: usize, ident: u16, offset: usize, more: bool, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: SRC,
        dst_addr: DST,
        next_header: IpProtocol::Udp,
        payload_len: payload.len(),
        hop_limit: 64,
        dscp: 0,
        ecn: 0,
        ident,
        dont_frag: false,
    };
    let mut buf = vec![1u8; hlen + payload.len()];
    let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut p, false);
    p.set_header_len(hlen as u8);
    p.set_total_len((hlen + payload.len()) as u16);
    p.set_more_frags(more);
    p.set_frag_offset(offset as u16);
    p.fill_checksum();
    buf[hlen..].copy_from_slice(payload);
    buf
}

fn frag(ident: u16, offset: usize, more: bool, payload: &[u8]) -> Vec<u8> {
    frag_hlen(20, ident, offset, more, payload)
}

/// `len` bytes of a recognisable pattern.
fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// `payload` cut into fragments of `size` bytes (a multiple of 8), in order.
fn split(ident: u16, payload: &[u8], size: usize) -> Vec<Vec<u8>> {
    let chunks: Vec<_> = payload.chunks(size).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| frag(ident, i * size, i + 1 < chunks.len(), c))
        .collect()
}

/// Feeds fragments; returns every completed datagram.
fn feed(r: &mut Reassembler, c: &mut Counters, frags: &[Vec<u8>]) -> Vec<Datagram> {
    frags
        .iter()
        .filter_map(|f| r.add(T0, f, limits(), c))
        .collect()
}

/// Checks a rebuilt datagram: a valid unfragmented header and the expected payload.
fn check_whole(d: &Datagram, payload: &[u8]) {
    let p = Ipv4Packet::new_checked(d.bytes()).unwrap();
    assert!(!p.is_fragment());
    assert!(p.verify_checksum());
    assert_eq!(usize::from(p.total_len()), d.bytes().len());
    assert_eq!((p.src_addr(), p.dst_addr()), (SRC, DST));
    assert_eq!(p.payload(), payload);
}

fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn in_order_fragments_complete_once() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    let payload = data(3000);
    let frags = split(1, &payload, 1480);
    let done = feed(&mut r, &mut c, &frags);
    assert_eq!(done.len(), 1);
    check_whole(&done[0], &payload);
    assert_eq!(c.get(Counter::IpReasmReqds), 3);
    assert_eq!(c.get(Counter::IpReasmOKs), 1);
    assert_eq!(c.get(Counter::IpReasmFails), 0);
    assert_eq!((r.queues(), r.mem(), r.poll_at()), (0, 0, None));
}

#[test]
fn reversed_and_shuffled_fragments_complete() {
    let payload = data(20_000);
    let mut frags = split(2, &payload, 512);
    frags.reverse();
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    let done = feed(&mut r, &mut c, &frags);
    assert_eq!(done.len(), 1);
    check_whole(&done[0], &payload);

    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for round in 0..50 {
        let mut frags = split(round, &payload, 48 + 8 * (round as usize % 40));
        for i in (1..frags.len()).rev() {
            frags.swap(i, xorshift(&mut seed) as usize % (i + 1));
        }
        let done = feed(&mut r, &mut c, &frags);
        assert_eq!(done.len(), 1, "round {round}");
        check_whole(&done[0], &payload);
        assert_eq!(r.mem(), 0);
    }
}

#[test]
fn interleaved_datagrams_are_kept_apart() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    let (a, b) = (data(100), vec![0xee; 100]);
    let (fa, fb) = (split(7, &a, 48), split(8, &b, 48));
    assert!(r.add(T0, &fa[0], limits(), &mut c).is_none());
    assert!(r.add(T0, &fb[2], limits(), &mut c).is_none());
    assert!(r.add(T0, &fb[0], limits(), &mut c).is_none());
    assert!(r.add(T0, &fa[2], limits(), &mut c).is_none());
    assert_eq!(r.queues(), 2);
    check_whole(&r.add(T0, &fb[1], limits(), &mut c).unwrap(), &b);
    check_whole(&r.add(T0, &fa[1], limits(), &mut c).unwrap(), &a);
}

#[test]
fn duplicates_are_dropped_and_the_first_copy_wins() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    let payload = data(64);
    let frags = split(3, &payload, 16);
    feed(&mut r, &mut c, &frags[..2]);
    // The same offsets with other bytes, and a fragment covering parts of two merged ones.
    assert!(
        r.add(T0, &frag(3, 0, true, &[0; 16]), limits(), &mut c)
            .is_none()
    );
    assert!(
        r.add(T0, &frag(3, 8, true, &[0; 16]), limits(), &mut c)
            .is_none()
    );
    let done = feed(&mut r, &mut c, &frags[2..]);
    check_whole(&done[0], &payload);
    assert_eq!(c.get(Counter::IpReasmFails), 0);
    assert_eq!(c.get(Counter::IpReasmOKs), 1);
}

#[test]
fn a_partial_overlap_drops_the_datagram() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    let payload = data(64);
    let frags = split(4, &payload, 16);
    feed(&mut r, &mut c, &frags[..2]); // 0..32
    // 24..40 overlaps 0..32 in part: the whole datagram goes.
    assert!(
        r.add(T0, &frag(4, 24, true, &[0; 16]), limits(), &mut c)
            .is_none()
    );
    assert_eq!(c.get(Counter::IpExtReasmOverlaps), 1);
    assert_eq!(c.get(Counter::IpReasmFails), 1);
    assert_eq!((r.queues(), r.mem()), (0, 0));
    // An overlap that starts before a range ends inside it too.
    feed(&mut r, &mut c, &frags[2..3]); // 32..48
    assert!(
        r.add(T0, &frag(4, 16, true, &[0; 24]), limits(), &mut c)
            .is_none()
    );
    assert_eq!(c.get(Counter::IpExtReasmOverlaps), 2);
    assert_eq!(r.queues(), 0);
}

#[test]
fn contradicting_ends_drop_the_datagram() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    // A last fragment ending before data already received.
    r.add(T0, &frag(5, 64, true, &[1; 16]), limits(), &mut c);
    r.add(T0, &frag(5, 0, false, &[1; 16]), limits(), &mut c);
    assert_eq!((r.queues(), c.get(Counter::IpReasmFails)), (0, 1));
    // Two last fragments that disagree.
    r.add(T0, &frag(6, 64, false, &[1; 16]), limits(), &mut c);
    r.add(T0, &frag(6, 32, false, &[1; 16]), limits(), &mut c);
    assert_eq!((r.queues(), c.get(Counter::IpReasmFails)), (0, 2));
    // A middle fragment past the known end.
    r.add(T0, &frag(7, 16, false, &[1; 16]), limits(), &mut c);
    r.add(T0, &frag(7, 32, true, &[1; 16]), limits(), &mut c);
    assert_eq!((r.queues(), c.get(Counter::IpReasmFails)), (0, 3));
    assert_eq!(c.get(Counter::IpExtReasmOverlaps), 0);
    assert_eq!(r.mem(), 0);
}

#[test]
fn malformed_fragments_are_refused_alone() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    r.add(T0, &frag(9, 0, true, &[1; 16]), limits(), &mut c);
    let fails = |c: &Counters| c.get(Counter::IpReasmFails);
    // A middle fragment that is not a multiple of 8 bytes.
    assert!(
        r.add(T0, &frag(9, 16, true, &[1; 12]), limits(), &mut c)
            .is_none()
    );
    assert_eq!(fails(&c), 1);
    // Empty fragments, in the middle or at the end.
    r.add(T0, &frag(9, 16, true, &[]), limits(), &mut c);
    r.add(T0, &frag(9, 16, false, &[]), limits(), &mut c);
    assert_eq!(fails(&c), 3);
    // Reaching past the largest datagram ("ping of death").
    r.add(T0, &frag(9, 65_528, false, &[1; 16]), limits(), &mut c);
    r.add(T0, &frag(9, 65_512, false, &[1; 8]), limits(), &mut c);
    assert_eq!(fails(&c), 5);
    // Bytes that are not a datagram at all.
    r.add(T0, &[0x45, 0, 0], limits(), &mut c);
    assert_eq!(fails(&c), 6);
    assert_eq!(c.get(Counter::IpReasmReqds), 7);
    // None of it disturbed the datagram in progress.
    assert_eq!(r.queues(), 1);
    let done = r.add(T0, &frag(9, 16, false, &[2; 4]), limits(), &mut c);
    let mut expected = vec![1; 16];
    expected.extend([2; 4]);
    check_whole(&done.unwrap(), &expected);
}

#[test]
fn the_largest_datagram_completes_and_one_byte_more_fails() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    let payload = data(MAX_PAYLOAD);
    let done = feed(&mut r, &mut c, &split(10, &payload, 1480));
    assert_eq!(done[0].bytes().len(), 65_535);
    check_whole(&done[0], &payload);
    // With a 60-byte header on the first fragment the same payload would not fit in 16 bits.
    let first = frag_hlen(60, 11, 0, true, &payload[..1480]);
    r.add(T0, &first, limits(), &mut c);
    for f in &split(11, &payload, 1480)[1..] {
        assert!(r.add(T0, f, limits(), &mut c).is_none());
    }
    assert_eq!(c.get(Counter::IpReasmFails), 1);
    assert_eq!((r.queues(), r.mem()), (0, 0));
    // A header with options is kept whole in the rebuilt datagram.
    r.add(T0, &frag_hlen(60, 12, 0, true, &[3; 8]), limits(), &mut c);
    let d = r
        .add(T0, &frag(12, 8, false, &[4; 8]), limits(), &mut c)
        .unwrap();
    assert_eq!(d.bytes().len(), 76);
    assert_eq!(&d.bytes()[20..60], &[1; 40]);
    check_whole(&d, &[3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4]);
}

#[test]
fn a_missing_fragment_times_out() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    let frags = split(13, &data(3000), 1480);
    let t1 = Instant::from_millis(500);
    r.add(T0, &frags[0], limits(), &mut c);
    r.add(t1, &frags[2], limits(), &mut c);
    // Only the first fragment of another datagram is missing.
    r.add(t1, &split(14, &data(100), 48)[1], limits(), &mut c);
    // The deadline counts from the first fragment, not the last.
    let deadline = T0 + Duration::from_secs(30);
    assert_eq!(r.poll_at(), Some(deadline));
    assert!(
        r.pop_expired(deadline - Duration::from_micros(1), &mut c)
            .is_none()
    );
    let expired = r.pop_expired(deadline, &mut c).unwrap();
    assert_eq!(expired.key.ident, 13);
    assert_eq!(expired.first_fragment(), Some(&frags[0][..]));
    assert_eq!(c.get(Counter::IpReasmTimeout), 1);
    assert_eq!(c.get(Counter::IpReasmFails), 1);
    assert_eq!(r.poll_at(), Some(t1 + Duration::from_secs(30)));
    let later = r.pop_expired(Instant::from_millis(60_000), &mut c).unwrap();
    assert_eq!(later.first_fragment(), None);
    assert!(
        r.pop_expired(Instant::from_millis(60_000), &mut c)
            .is_none()
    );
    assert_eq!(c.get(Counter::IpReasmTimeout), 2);
    assert_eq!((r.queues(), r.mem(), r.poll_at()), (0, 0, None));
    // The late fragment starts a fresh queue: nothing completes.
    assert!(r.add(deadline, &frags[1], limits(), &mut c).is_none());
    assert_eq!(c.get(Counter::IpReasmOKs), 0);
}

#[test]
fn memory_above_high_evicts_the_oldest_down_to_low() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    let limits = Limits {
        high: 20_000,
        low: 10_000,
        timeout: Duration::from_secs(30),
    };
    let payload = data(3000);
    for ident in 0..40u16 {
        let now = Instant::from_millis(u64::from(ident));
        assert!(
            r.add(now, &split(ident, &payload, 1480)[0], limits, &mut c)
                .is_none()
        );
        assert!(r.mem() <= limits.high, "{} > high", r.mem());
    }
    let held = r.queues();
    assert!((2..40).contains(&held), "{held}");
    assert_eq!(c.get(Counter::IpReasmFails), 40 - held as u64);
    // The newest queues survived and still complete.
    let done = feed(&mut r, &mut c, &split(39, &payload, 1480)[1..]);
    check_whole(&done[0], &payload);
    // The oldest was evicted: its remaining fragments start a new queue.
    assert!(feed(&mut r, &mut c, &split(0, &payload, 1480)[1..]).is_empty());

    // One datagram bigger than the bound is dropped, with its queue.
    let small = Limits {
        high: 2000,
        ..limits
    };
    let mut r = Reassembler::default();
    let frags = split(1, &payload, 1480);
    assert!(r.add(T0, &frags[0], small, &mut c).is_none());
    assert_eq!(r.queues(), 1);
    assert!(r.add(T0, &frags[1], small, &mut c).is_none());
    assert_eq!((r.queues(), r.mem()), (0, 0));
}

#[test]
fn ranges_per_datagram_are_bounded() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    for i in 0..MAX_RANGES {
        r.add(T0, &frag(15, 16 * i + 16, true, &[1; 8]), limits(), &mut c);
    }
    assert_eq!(c.get(Counter::IpReasmFails), 0);
    // One more hole is refused; data joining an existing range is not.
    r.add(
        T0,
        &frag(15, 16 * MAX_RANGES + 16, true, &[1; 8]),
        limits(),
        &mut c,
    );
    assert_eq!(c.get(Counter::IpReasmFails), 1);
    r.add(T0, &frag(15, 24, true, &[1; 8]), limits(), &mut c);
    assert_eq!(c.get(Counter::IpReasmFails), 1);
    assert_eq!(r.queues(), 1);
}

#[test]
fn hostile_fragments_never_panic_and_stay_bounded() {
    let (mut r, mut c) = (Reassembler::default(), Counters::default());
    let limits = Limits {
        high: 200_000,
        low: 150_000,
        timeout: Duration::from_secs(1),
    };
    let mut seed = 0x2545_f491_4f6c_dd1d;
    let mut completed = 0;
    for i in 0..20_000u64 {
        let x = xorshift(&mut seed);
        let ident = (x % 8) as u16;
        let offset = ((x >> 8) % 8192) as usize * 8 % 70_000;
        let offset = if x % 3 == 0 { offset % 256 } else { offset };
        let len = ((x >> 24) % 1500) as usize & if x % 5 == 0 { !0 } else { !7 };
        let more = (x >> 40) % 4 != 0;
        let offset = offset.min(65_528);
        let mut f = frag(ident, offset, more, &vec![ident as u8; len]);
        if (x >> 44) % 16 == 0 {
            let at = ((x >> 48) as usize) % f.len();
            f[at] ^= 0x5a;
        }
        let now = Instant::from_millis(i);
        completed += usize::from(r.add(now, &f, limits, &mut c).is_some());
        while r.pop_expired(now, &mut c).is_some() {}
        assert!(r.mem() <= limits.high);
    }
    while r
        .pop_expired(Instant::from_millis(60_000), &mut c)
        .is_some()
    {}
    assert_eq!((r.queues(), r.mem(), r.poll_at()), (0, 0, None));
    assert_eq!(c.get(Counter::IpReasmReqds), 20_000);
    assert_eq!(c.get(Counter::IpReasmOKs), completed as u64);
}
