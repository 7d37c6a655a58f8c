use super::*;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

#[test]
fn unresolved_packets_wait_then_flush_on_reply() {
    let mut c = NeighborCache::new();
    assert_eq!(
        c.resolve(t(0), A, b"p1"),
        Resolution::Queued {
            request: true,
            dropped: false
        }
    );
    assert_eq!(
        c.resolve(t(1), A, b"p2"),
        Resolution::Queued {
            request: false,
            dropped: false
        }
    );
    assert_eq!(c.lookup(A), None);
    let released = c.update(t(5), A, MAC, true);
    assert_eq!(released, vec![b"p1".to_vec(), b"p2".to_vec()]);
    assert_eq!(
        c.resolve(t(6), A, b"p3"),
        Resolution::Send {
            mac: MAC,
            probe: false
        }
    );
}

#[test]
fn pending_queue_is_bounded_oldest_dropped() {
    let mut c = NeighborCache::new();
    for i in 0..PENDING_PER_NEIGHBOR + 3 {
        let r = c.resolve(t(0), A, &[i as u8]);
        let dropped = i >= PENDING_PER_NEIGHBOR;
        assert!(matches!(r, Resolution::Queued { dropped: d, .. } if d == dropped));
    }
    let released = c.update(t(1), A, MAC, true);
    assert_eq!(released.len(), PENDING_PER_NEIGHBOR);
    assert_eq!(released[0], vec![3u8]);
}

#[test]
fn requests_retry_then_fail() {
    let mut c = NeighborCache::new();
    c.resolve(t(0), A, b"x");
    let mut actions = Vec::new();
    c.poll(t(999), &mut actions);
    assert!(actions.is_empty());
    assert_eq!(c.poll_at(), Some(t(1000)));
    c.poll(t(1000), &mut actions);
    c.poll(t(2000), &mut actions);
    assert_eq!(
        actions,
        vec![PollAction::Request(A), PollAction::Request(A)]
    );
    actions.clear();
    c.poll(t(3000), &mut actions);
    assert_eq!(actions, vec![PollAction::Failed(A, 1)]);
    assert!(c.is_empty());
    // A new packet starts over.
    assert!(matches!(
        c.resolve(t(3001), A, b"y"),
        Resolution::Queued { request: true, .. }
    ));
}

#[test]
fn reachable_ages_to_stale_then_probes_on_use() {
    let mut c = NeighborCache::new();
    c.update(t(0), A, MAC, true);
    let mut actions = Vec::new();
    c.poll(t(30_000), &mut actions);
    assert_eq!(c.lookup(A), Some(MAC), "stale entries are still usable");
    assert_eq!(
        c.resolve(t(30_001), A, b"x"),
        Resolution::Send {
            mac: MAC,
            probe: true
        }
    );
    // Further packets go out without new probes while the probe is pending.
    assert_eq!(
        c.resolve(t(30_002), A, b"x"),
        Resolution::Send {
            mac: MAC,
            probe: false
        }
    );
    c.poll(t(31_001), &mut actions);
    assert_eq!(actions, vec![PollAction::Probe(A, MAC)]);
    // A reply confirms it.
    c.update(t(31_010), A, MAC, true);
    assert_eq!(
        c.resolve(t(31_011), A, b"x"),
        Resolution::Send {
            mac: MAC,
            probe: false
        }
    );
}

#[test]
fn unanswered_probes_remove_the_entry() {
    let mut c = NeighborCache::new();
    c.update(t(0), A, MAC, true);
    let mut actions = Vec::new();
    c.poll(t(30_000), &mut actions);
    c.resolve(t(30_000), A, b"x");
    for s in 1..=3 {
        c.poll(t(30_000 + s * 1000), &mut actions);
    }
    assert_eq!(c.lookup(A), None);
}

#[test]
fn stale_unused_entries_are_collected() {
    let mut c = NeighborCache::new();
    c.update(t(0), A, MAC, true);
    let mut actions = Vec::new();
    c.poll(t(30_000), &mut actions);
    c.poll(t(90_000), &mut actions);
    assert!(c.is_empty());
    assert_eq!(c.poll_at(), None);
}

#[test]
fn unsolicited_updates_do_not_create_entries_but_refresh_known_ones() {
    let mut c = NeighborCache::new();
    c.update(t(0), A, MAC, false);
    assert!(c.is_empty());
    c.update(t(0), A, MAC, true);
    let other = EthernetAddress([2, 0, 0, 0, 0, 9]);
    // A changed address is taken at once (the neighbour's NIC changed).
    c.update(t(1), A, other, false);
    assert_eq!(c.lookup(A), Some(other));
}

#[test]
fn the_cache_is_bounded() {
    let mut c = NeighborCache::new();
    for i in 0..MAX_ENTRIES as u32 {
        let ip = Ipv4Addr::from_bits(0x0a00_0000 + i);
        c.resolve(t(0), ip, b"x");
    }
    // Every entry is waiting for resolution: nothing can be evicted.
    assert_eq!(
        c.resolve(t(0), Ipv4Addr::new(192, 0, 2, 1), b"x"),
        Resolution::Refused
    );
    // Once one is resolved (and thus evictable), a new neighbour fits.
    c.update(t(1), Ipv4Addr::from_bits(0x0a00_0000), MAC, true);
    assert!(matches!(
        c.resolve(t(2), Ipv4Addr::new(192, 0, 2, 1), b"x"),
        Resolution::Queued { request: true, .. }
    ));
    assert_eq!(c.len(), MAX_ENTRIES);
}

#[test]
fn poll_at_is_a_lower_bound_kept_without_walking_the_entries() {
    let mut c = NeighborCache::new();
    assert_eq!(c.poll_at(), None);
    c.update(t(0), A, MAC, true);
    assert_eq!(c.poll_at(), Some(t(30_000)));
    // A confirmation moves the expiry later; the bound stays where it was (never later than
    // the truth), and a poll then finds nothing to do and makes it exact.
    c.confirm(t(10_000), A);
    assert_eq!(c.poll_at(), Some(t(30_000)));
    let mut actions = Vec::new();
    c.poll(t(30_000), &mut actions);
    assert!(actions.is_empty());
    assert_eq!(c.lookup(A), Some(MAC));
    assert_eq!(c.poll_at(), Some(t(40_000)));
    // A new resolution lowers it at once.
    let b = Ipv4Addr::new(10, 0, 0, 3);
    c.resolve(t(20_000), b, b"x");
    assert_eq!(c.poll_at(), Some(t(21_000)));
    // The hot path's expiry of a reachable entry (to PROBE) lowers it too.
    assert_eq!(c.resolve_fast(t(45_000), A), Some((MAC, true)));
    assert_eq!(c.poll_at(), Some(t(21_000)));
    c.poll(t(21_000), &mut actions);
    assert_eq!(c.poll_at(), Some(t(22_000)));
}
