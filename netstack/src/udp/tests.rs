//! The socket table alone: bind conflicts, demultiplexing, ephemeral ports, stale handles,
//! and the receive queue (checked against a simple model) and send-buffer charges.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;

use super::*;
use crate::tcp::isn::Secrets;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
const ANY: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
const PEER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 9), 4000);

fn addr(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

fn socket(local: SocketAddrV4) -> UdpSocket {
    UdpSocket::new(local, 212_992, 212_992)
}

fn kind<T: std::fmt::Debug>(r: io::Result<T>) -> io::ErrorKind {
    r.expect_err("expected an error").kind()
}

#[test]
fn bind_conflicts_follow_linux_without_reuseaddr() {
    let mut t = UdpTable::new();
    let a = t.insert(socket(addr(A, 5000))).unwrap();
    // Another address on the same port is fine; the same address or the wildcard is not.
    t.insert(socket(addr(B, 5000))).unwrap();
    assert_eq!(
        kind(t.insert(socket(addr(A, 5000)))),
        io::ErrorKind::AddrInUse
    );
    assert_eq!(
        kind(t.insert(socket(addr(ANY, 5000)))),
        io::ErrorKind::AddrInUse
    );
    // A wildcard blocks every specific address on its port.
    t.insert(socket(addr(ANY, 6000))).unwrap();
    assert_eq!(
        kind(t.insert(socket(addr(A, 6000)))),
        io::ErrorKind::AddrInUse
    );
    // Closing frees the address.
    t.remove(a).unwrap();
    t.insert(socket(addr(A, 5000))).unwrap();
    assert_eq!(t.by_local.len(), 3);
}

#[test]
fn closing_the_last_socket_of_a_port_lets_the_wildcard_bind() {
    let mut t = UdpTable::new();
    let a = t.insert(socket(addr(A, 7000))).unwrap();
    let b = t.insert(socket(addr(B, 7000))).unwrap();
    t.remove(a).unwrap();
    assert!(t.conflicts(addr(ANY, 7000)), "B still holds the port");
    t.remove(b).unwrap();
    assert!(!t.conflicts(addr(ANY, 7000)));
    assert!(t.ports.is_empty());
}

#[test]
fn lookup_prefers_the_exact_address_then_the_wildcard() {
    let mut t = UdpTable::new();
    t.insert(socket(addr(A, 53))).unwrap();
    t.insert(socket(addr(ANY, 67))).unwrap();
    let found = |t: &mut UdpTable, to| t.lookup_mut(to, PEER).map(|s| s.local);
    assert_eq!(found(&mut t, addr(A, 53)), Some(addr(A, 53)));
    assert_eq!(found(&mut t, addr(B, 53)), None, "bound to A only");
    assert_eq!(found(&mut t, addr(A, 67)), Some(addr(ANY, 67)));
    assert_eq!(
        found(&mut t, addr(Ipv4Addr::BROADCAST, 67)),
        Some(addr(ANY, 67))
    );
    assert_eq!(found(&mut t, addr(A, 68)), None);
}

#[test]
fn a_connected_socket_only_matches_its_peer() {
    let mut t = UdpTable::new();
    let h = t.insert(socket(addr(ANY, 9000))).unwrap();
    t.narrow(h, A).unwrap();
    t.get_mut(h).unwrap().remote = Some(PEER);
    assert_eq!(t.get(h).unwrap().local, addr(A, 9000));
    assert!(t.lookup_mut(addr(A, 9000), PEER).is_some());
    assert!(t.lookup_mut(addr(A, 9000), addr(*PEER.ip(), 1)).is_none());
    assert!(
        t.lookup_mut(addr(B, 9000), PEER).is_none(),
        "no longer wildcard"
    );
    // Closing a narrowed socket frees its port completely.
    t.remove(h).unwrap();
    assert!(!t.conflicts(addr(ANY, 9000)));
}

#[test]
fn stale_handles_fail_and_never_touch_a_reused_slot() {
    let mut t = UdpTable::new();
    let old = t.insert(socket(addr(A, 1))).unwrap();
    t.remove(old).unwrap();
    let new = t.insert(socket(addr(A, 2))).unwrap();
    assert_eq!(new.index(), old.index(), "the slot is reused");
    assert_ne!(new.generation(), old.generation());
    assert_eq!(kind(t.get(old)), io::ErrorKind::InvalidInput);
    assert_eq!(kind(t.get_mut(old)), io::ErrorKind::InvalidInput);
    assert_eq!(kind(t.remove(old)), io::ErrorKind::InvalidInput);
    assert_eq!(kind(t.narrow(old, B)), io::ErrorKind::InvalidInput);
    assert_eq!(t.get(new).unwrap().local, addr(A, 2), "untouched");
    let forged = UdpHandle {
        index: 99,
        generation: 0,
    };
    assert_eq!(kind(t.get(forged)), io::ErrorKind::InvalidInput);
}

#[test]
fn ephemeral_ports_cover_the_range_then_run_out() {
    let mut t = UdpTable::new();
    let mut secrets = Secrets::fixed(3);
    let range = (40_000, 40_063);
    let mut seen = HashSet::new();
    for _ in 0..64 {
        let candidates = secrets.port_candidates(ANY, (ANY, 0), range);
        let port = t.pick_port(ANY, candidates).expect("a free port");
        assert!((range.0..=range.1).contains(&port));
        assert!(seen.insert(port), "port {port} handed out twice");
        t.insert(socket(addr(ANY, port))).unwrap();
    }
    let candidates = secrets.port_candidates(ANY, (ANY, 0), range);
    assert_eq!(t.pick_port(ANY, candidates), None);
    // A specific address conflicts with the wildcards too; port 0 is never picked.
    assert_eq!(t.pick_port(A, [40_000, 40_001]), None);
    assert_eq!(t.pick_port(A, [0, 40_064]), Some(40_064));
}

#[test]
fn recv_queue_is_fifo_and_remembers_senders() {
    let mut q = RecvQueue::new(1000);
    assert!(q.push(addr(A, 1), b"one"));
    assert!(q.push(addr(B, 2), b""));
    assert!(q.push(PEER, b"three"));
    assert_eq!((q.len(), q.bytes()), (3, 3 * RECORD_LEN + 8));
    let mut buf = [0u8; 16];
    assert_eq!(q.peek(&mut buf), Some((3, 3, addr(A, 1))));
    assert_eq!(q.pop(&mut buf), Some((3, 3, addr(A, 1))));
    assert_eq!(&buf[..3], b"one");
    assert_eq!(q.pop(&mut buf), Some((0, 0, addr(B, 2))));
    // Truncation: the rest of the datagram is discarded, not returned by the next pop.
    let mut small = [0u8; 2];
    assert_eq!(q.pop(&mut small), Some((2, 5, PEER)));
    assert_eq!(&small, b"th");
    assert_eq!(q.pop(&mut buf), None);
    assert_eq!(q.bytes(), 0);
}

#[test]
fn recv_queue_is_bounded_and_takes_one_oversized_datagram_when_empty() {
    let mut q = RecvQueue::new(100);
    assert!(q.push(PEER, &[1; 92]), "exactly the limit with its record");
    assert!(!q.push(PEER, &[]), "even an empty datagram needs room");
    let mut buf = [0u8; 200];
    q.pop(&mut buf).unwrap();
    assert!(q.push(PEER, &[2; 150]), "an empty queue takes a larger one");
    assert_eq!(q.limit(), 100, "the limit is unchanged");
    assert!(!q.push(PEER, &[3; 1]));
    assert_eq!(q.pop(&mut buf), Some((150, 150, PEER)));
    assert!(buf[..150].iter().all(|&b| b == 2));
    // Empty datagrams are bounded by their records.
    let mut n = 0;
    while q.push(PEER, &[]) {
        n += 1;
    }
    assert_eq!(n, 100 / RECORD_LEN);
}

#[test]
fn recv_queue_matches_a_model_across_wraparounds() {
    let mut q = RecvQueue::new(3000);
    let mut model: VecDeque<(Vec<u8>, SocketAddrV4)> = VecDeque::new();
    let mut used = 0;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut buf = vec![0u8; 2048];
    for i in 0..20_000u32 {
        if next() % 3 != 0 {
            let len = (next() % 700) as usize;
            let data: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
            let from = addr(Ipv4Addr::from(i), i as u16);
            let fits = model.is_empty() || used + RECORD_LEN + len <= 3000;
            assert_eq!(q.push(from, &data), fits);
            if fits {
                used += RECORD_LEN + len;
                model.push_back((data, from));
            }
        } else {
            let cap = (next() % 800) as usize;
            let got = q.pop(&mut buf[..cap]);
            match model.pop_front() {
                None => assert_eq!(got, None),
                Some((data, from)) => {
                    used -= RECORD_LEN + data.len();
                    let n = cap.min(data.len());
                    assert_eq!(got, Some((n, data.len(), from)));
                    assert_eq!(&buf[..n], &data[..n]);
                }
            }
        }
        assert_eq!((q.len(), q.bytes()), (model.len(), used));
    }
}

#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn charges_block_until_the_interface_drains() {
    let mut t = UdpTable::new();
    let h = t.insert(UdpSocket::new(addr(A, 1), 1000, 100)).unwrap();
    let counter = Arc::new(Counting::default());
    let waker = Waker::from(counter.clone());
    t.charge(h, 0, 60);
    assert!(t.get(h).unwrap().writable());
    t.charge(h, 3, 60);
    assert!(!t.get(h).unwrap().writable());
    register(&mut t.get_mut(h).unwrap().writer, &waker);
    register(&mut t.get_mut(h).unwrap().writer, &waker);
    assert!(t.has_charges());
    t.release_charges(1 << 3);
    assert!(
        !t.get(h).unwrap().writable(),
        "interface 3 still holds frames"
    );
    assert_eq!(counter.0.load(Ordering::SeqCst), 0);
    t.release_charges(0);
    assert!(t.get(h).unwrap().writable());
    assert!(!t.has_charges());
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    // A socket closed while charged is simply forgotten.
    t.charge(h, 0, 10);
    t.remove(h).unwrap();
    t.release_charges(0);
    assert!(!t.has_charges());
}

#[test]
fn buffer_settings_have_linux_names_and_defaults() {
    let mut c = crate::StackConfig::default();
    assert_eq!((c.rmem_default, c.rmem_max), (212_992, 212_992));
    assert_eq!((c.wmem_default, c.wmem_max), (212_992, 212_992));
    c.set("net.core.rmem_default", "4096").unwrap();
    c.set("net/core/wmem_max", "1048576").unwrap();
    assert_eq!((c.rmem_default, c.wmem_max), (4096, 1_048_576));
    assert!(
        c.set("net.ipv4.rmem_default", "1").is_err(),
        "net.core, not net.ipv4"
    );
    assert!(c.set("rmem_max", "0").is_err());
}
