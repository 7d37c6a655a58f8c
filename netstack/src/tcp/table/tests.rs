//! Tests of the socket table: demultiplexing, port bookkeeping, slot layout.

use super::*;
use crate::config::StackConfig;

fn addr(host: u32, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from_bits(0x0a00_0000 | host), port)
}

/// A connection socket with this 4-tuple, in the table and hashed; returns its index.
fn connect(table: &mut Table, local: SocketAddrV4, remote: SocketAddrV4) -> u32 {
    let mut tcb = Tcb::new(&StackConfig::default(), Instant::ZERO);
    tcb.local = local;
    tcb.remote = remote;
    let index = table.insert(Socket::Conn(Box::new(tcb)));
    table.hash(index);
    index
}

#[test]
fn demultiplexes_through_growth_and_removal() {
    let mut table = Table::default();
    let server = addr(1, 80);
    let n = 5_000u32;
    let peers: Vec<_> = (0..n)
        .map(|i| addr(2 + i / 1000, 1024 + (i % 1000) as u16))
        .collect();
    let indices: Vec<_> = peers
        .iter()
        .map(|&p| connect(&mut table, server, p))
        .collect();
    for (&peer, &index) in peers.iter().zip(&indices) {
        assert_eq!(table.lookup(server, peer), Some(index));
        assert_eq!(
            table.lookup(peer, server),
            None,
            "the reverse tuple is another"
        );
    }
    assert_eq!(table.lookup(server, addr(1000, 1)), None);
    for &index in indices.iter().step_by(2) {
        table.free(index);
    }
    assert_eq!(table.conns.len(), n as usize / 2);
    for (i, (&peer, &index)) in peers.iter().zip(&indices).enumerate() {
        let expected = (i % 2 == 1).then_some(index);
        assert_eq!(table.lookup(server, peer), expected);
        assert_eq!(table.tuple_in_use(server, peer), expected.is_some());
    }
    // Freed slots are reused by new connections, which are found.
    let again = connect(&mut table, server, peers[0]);
    assert!(indices.contains(&again));
    assert_eq!(table.lookup(server, peers[0]), Some(again));
}

#[test]
fn hashing_a_taken_tuple_again_replaces_its_connection() {
    let mut table = Table::default();
    let (local, remote) = (addr(1, 80), addr(2, 5000));
    let old = connect(&mut table, local, remote);
    let new = connect(&mut table, local, remote);
    assert_eq!(table.lookup(local, remote), Some(new));
    assert_eq!(table.conns.len(), 1);
    // Freeing the replaced one leaves the new one in place.
    table.free(old);
    assert_eq!(table.lookup(local, remote), Some(new));
    table.free(new);
    assert_eq!(table.lookup(local, remote), None);
    assert_eq!(table.conns.len(), 0);
}

#[test]
fn ports_are_counted_per_holder_and_released() {
    let mut table = Table::default();
    let port = 40_000;
    let local = addr(1, port);
    let a = connect(&mut table, local, addr(2, 80));
    let b = connect(&mut table, local, addr(3, 80));
    table.hold_port(a, port, false);
    table.hold_port(b, port, false);
    assert!(
        table.port_free_for_ephemeral(port),
        "implicit holders do not bar it"
    );
    assert!(table.check_bind(99, local, false).is_err());
    table.free(a);
    assert!(
        table.check_bind(99, local, false).is_err(),
        "b still holds it"
    );
    table.free(b);
    assert!(table.check_bind(99, local, false).is_ok());
    assert!(table.implicit.is_empty());
    // An explicit holder keeps it from ephemeral use until freed; the slot's flag is reset
    // when the slot is reused.
    let c = connect(&mut table, local, addr(4, 80));
    table.hold_port(c, port, true);
    assert!(!table.port_free_for_ephemeral(port));
    assert!(
        table.check_bind(99, local, true).is_err(),
        "not shared without reuseaddr"
    );
    table.free(c);
    assert!(table.port_free_for_ephemeral(port));
    assert!(table.bound.is_empty());
    let d = connect(&mut table, local, addr(5, 80));
    assert!(!table.slots[d as usize].explicit);
}

#[test]
#[cfg(target_pointer_width = "64")]
fn a_slot_is_three_words() {
    assert_eq!(size_of::<Slot>(), 24);
}

#[test]
fn tuple_keys_tell_every_field_apart() {
    let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
    let b = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40000);
    let key = TupleKey::new(a, b);
    assert_eq!(key, TupleKey::new(a, b));
    let others = [
        TupleKey::new(b, a),
        TupleKey::new(SocketAddrV4::new(*a.ip(), 81), b),
        TupleKey::new(a, SocketAddrV4::new(*b.ip(), 40001)),
        TupleKey::new(SocketAddrV4::new(Ipv4Addr::new(11, 0, 0, 1), 80), b),
        TupleKey::new(a, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 3), 40000)),
        // A port's bits never land on an address's, or the reverse.
        TupleKey::new(
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 0),
            SocketAddrV4::new(Ipv4Addr::new(0, 0, 0, 80), 40000),
        ),
    ];
    for other in others {
        assert_ne!(key, other);
    }
    let max = SocketAddrV4::new(Ipv4Addr::BROADCAST, u16::MAX);
    let zero = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
    assert_ne!(TupleKey::new(max, zero), TupleKey::new(zero, max));
    assert_eq!(TupleKey::new(max, max).0, (1u128 << 96) - 1);
}

#[test]
fn freed_control_blocks_are_reused_without_their_buffers() {
    let mut table = Table::default();
    let a = connect(&mut table, addr(1, 80), addr(2, 5000));
    let tcb = table.conn_at(a).unwrap();
    assert_eq!(
        tcb.recv.push(&[1; 100]),
        100,
        "unread data when it is freed"
    );
    let first: *const Tcb = &*tcb;
    table.free(a);
    assert_eq!(table.spare.len(), 1);
    assert_eq!(table.spare[0].recv.allocated(), 0, "its buffers go at once");
    let reused = table.boxed(Tcb::new(&StackConfig::default(), Instant::ZERO));
    assert_eq!(&*reused as *const Tcb, first, "the same allocation");
    assert!(
        reused.recv.is_empty() && reused.state == State::Closed,
        "a fresh block"
    );
    assert!(table.spare.is_empty());
    // At most SPARE_TCBS are kept.
    let many: Vec<u32> = (0..SPARE_TCBS as u32 + 10)
        .map(|i| connect(&mut table, addr(1, 80), addr(3, 1000 + i as u16)))
        .collect();
    for index in many {
        table.free(index);
    }
    assert_eq!(table.spare.len(), SPARE_TCBS);
}

#[test]
fn a_connections_wheel_entry_moves_only_to_earlier_deadlines() {
    use crate::stats::Counters;
    use std::time::Duration;
    let config = StackConfig::default();
    let mut counters = Counters::default();
    let mut table = Table::default();
    let index = connect(&mut table, addr(1, 80), addr(2, 5000));
    let at = |ms| Instant::from_millis(ms);
    let mut settle = |table: &mut Table, change: &dyn Fn(&mut Tcb)| {
        change(table.conn_at(index).unwrap());
        let mut env = Env {
            now: Instant::ZERO,
            config: &config,
            counters: &mut counters,
        };
        assert!(table.settle(index, &mut env));
        let filed = table.conn_at(index).unwrap().timer_tick;
        (filed != NO_TICK).then_some(filed)
    };
    let established = |t: &mut Tcb| t.state = State::Established;
    assert_eq!(settle(&mut table, &established), None, "nothing armed");
    let rto = |t: &mut Tcb| t.timers.rto = Some(at(200));
    assert_eq!(settle(&mut table, &rto), Some(200));
    // Restarted later (an ACK): the entry stays where it is.
    let later = |t: &mut Tcb| t.timers.rto = Some(at(450));
    assert_eq!(settle(&mut table, &later), Some(200));
    // An earlier deadline moves it.
    let delack = |t: &mut Tcb| t.timers.delack = Some(at(40) + Duration::from_micros(1));
    assert_eq!(
        settle(&mut table, &delack),
        Some(41),
        "rounded up to the next tick"
    );
    // When it fires, the connection is filed again at its earliest deadline then.
    assert_eq!(table.advance_timers(at(41)), 1);
    assert_eq!(table.take_fired(), [index]);
    let stop_delack = |t: &mut Tcb| t.timers.delack = None;
    assert_eq!(settle(&mut table, &stop_delack), Some(450));
    // Everything stopped: the entry goes (an idle connection holds none).
    let none = |t: &mut Tcb| t.timers = Default::default();
    assert_eq!(settle(&mut table, &none), None);
    assert_eq!(table.next_timer(), None);
    assert_eq!(settle(&mut table, &later), Some(450));
    table.free(index);
    assert_eq!(table.next_timer(), None, "freed with its connection");
}

/// The idle connection's memory is a target (1 KiB per socket with the runtime's share):
/// the control block must not grow unnoticed. 704 bytes is 712 with the allocator's header.
#[test]
#[cfg(target_pointer_width = "64")]
fn an_idle_connection_costs_the_table_733_bytes() {
    assert_eq!(size_of::<Tcb>(), 704);
    assert_eq!(connection_overhead(), 704 + 24 + 5);
}
