use super::*;

const A: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xa]);
const B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xb]);
const C: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xc]);
const UNKNOWN: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xee]);
const BROADCAST: MacAddr = MacAddr([0xff; 6]);
/// An IPv4 multicast MAC (01:00:5e:..): the group bit is set.
const MULTICAST: MacAddr = MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]);

/// An Ethernet frame from `src` to `dst` with `len` bytes of payload tagged by `tag`.
fn frame(dst: MacAddr, src: MacAddr, tag: u8, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + len);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&[0x88, 0xb5]); // Local experimental EtherType.
    f.extend((0..len).map(|i| tag.wrapping_add(i as u8)));
    f
}

fn send(port: &mut HubPort, bytes: &[u8]) -> bool {
    port.transmit(bytes.len(), &mut |buf| buf.copy_from_slice(bytes))
        .unwrap()
}

fn receive_all(port: &mut HubPort) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let n = port
        .receive(usize::MAX, &mut |f| frames.push(f.to_vec()))
        .unwrap();
    assert_eq!(n, frames.len());
    frames
}

#[test]
fn defaults() {
    let hub = Hub::new();
    assert_eq!(hub.mtu(), 1500);
    assert_eq!(hub.queue_len(), 1000);
    let port = hub.port(A);
    assert_eq!(port.mtu(), 1500);
    assert_eq!(port.mac(), A);
    assert_eq!(port.raw_fd(), None);
    assert_eq!(port.next_poll_in(), None);
    assert!(!port.rx_pending());
    let caps = port.capabilities();
    assert!(caps.rx_checksum_offload && caps.tx_checksum_offload);
    let hub = Hub::default()
        .with_mtu(9000)
        .with_queue_len(4)
        .with_checksum_offload(false);
    let port = hub.port(B);
    assert_eq!((port.mtu(), hub.queue_len()), (9000, 4));
    let caps = port.capabilities();
    assert!(!caps.rx_checksum_offload && !caps.tx_checksum_offload);
    assert!(format!("{hub:?}").contains("ports: 1"));
    assert!(format!("{port:?}").contains("02:00:00:00:00:0b"));
}

#[test]
fn two_ports_unicast_both_ways() {
    let hub = Hub::new();
    let (mut a, mut b) = (hub.port(A), hub.port(B));
    let ab = frame(B, A, 1, 100);
    let ba = frame(A, B, 2, 46);
    assert!(send(&mut a, &ab));
    assert!(send(&mut b, &ba));
    assert!(a.rx_pending() && b.rx_pending());
    assert_eq!(receive_all(&mut b), vec![ab]);
    assert_eq!(receive_all(&mut a), vec![ba]);
    assert!(!a.rx_pending() && !b.rx_pending());
    let stats = a.stats();
    assert_eq!(
        (stats.tx_frames, stats.rx_frames, stats.tx_flooded),
        (1, 1, 0)
    );
}

#[test]
fn three_ports_unicast_goes_to_its_destination_only() {
    let hub = Hub::new();
    let (mut a, mut b, mut c) = (hub.port(A), hub.port(B), hub.port(C));
    assert_eq!(hub.port_count(), 3);
    let to_c = frame(C, A, 3, 60);
    let to_b = frame(B, A, 4, 60);
    send(&mut a, &to_c);
    send(&mut a, &to_b);
    assert_eq!(receive_all(&mut c), vec![to_c]);
    assert_eq!(receive_all(&mut b), vec![to_b]);
    assert!(
        receive_all(&mut a).is_empty(),
        "nothing comes back to the sender"
    );
}

#[test]
fn broadcast_and_multicast_go_to_every_other_port() {
    let hub = Hub::new();
    let (mut a, mut b, mut c) = (hub.port(A), hub.port(B), hub.port(C));
    let bcast = frame(BROADCAST, B, 5, 28);
    let mcast = frame(MULTICAST, B, 6, 40);
    send(&mut b, &bcast);
    send(&mut b, &mcast);
    let both = vec![bcast, mcast];
    assert_eq!(receive_all(&mut a), both);
    assert_eq!(receive_all(&mut c), both);
    assert!(receive_all(&mut b).is_empty(), "no echo to the sender");
    assert_eq!(
        b.stats().tx_flooded,
        0,
        "group frames are not unknown unicast"
    );
}

#[test]
fn unknown_unicast_is_flooded_and_counted() {
    let hub = Hub::new();
    let (mut a, mut b, mut c) = (hub.port(A), hub.port(B), hub.port(C));
    let f = frame(UNKNOWN, A, 7, 50);
    assert!(send(&mut a, &f));
    assert_eq!(receive_all(&mut b), vec![f.clone()]);
    assert_eq!(receive_all(&mut c), vec![f]);
    assert!(receive_all(&mut a).is_empty());
    assert_eq!(a.stats().tx_flooded, 1);
}

#[test]
fn frame_to_own_address_goes_nowhere() {
    let hub = Hub::new();
    let (mut a, mut b) = (hub.port(A), hub.port(B));
    send(&mut a, &frame(A, A, 8, 50));
    assert!(receive_all(&mut a).is_empty());
    assert!(receive_all(&mut b).is_empty());
    assert_eq!(a.stats().tx_flooded, 0);
}

#[test]
fn ports_sharing_an_address_both_receive() {
    let hub = Hub::new();
    let (mut a, mut b1, mut b2) = (hub.port(A), hub.port(B), hub.port(B));
    let f = frame(B, A, 9, 20);
    send(&mut a, &f);
    assert_eq!(receive_all(&mut b1), vec![f.clone()]);
    assert_eq!(receive_all(&mut b2), vec![f]);
}

#[test]
fn full_queue_drops_for_that_port_only() {
    let hub = Hub::new().with_queue_len(3);
    let (mut a, mut b, mut c) = (hub.port(A), hub.port(B), hub.port(C));
    // Fill B's queue with unicast, then broadcast: B drops, C still receives.
    for i in 0..5 {
        assert!(
            send(&mut a, &frame(B, A, i, 30)),
            "a switch never pushes back"
        );
    }
    let bcast = frame(BROADCAST, A, 99, 30);
    assert!(send(&mut a, &bcast));
    assert_eq!(b.queued(), 3);
    let stats = b.stats();
    assert_eq!(stats.rx_dropped_full, 3);
    assert_eq!(
        receive_all(&mut b),
        (0..3).map(|i| frame(B, A, i, 30)).collect::<Vec<_>>(),
        "the oldest frames were kept"
    );
    assert_eq!(receive_all(&mut c), vec![bcast]);
    assert_eq!(c.stats().rx_dropped_full, 0);
    assert_eq!(a.stats().tx_frames, 6);
    // Room again.
    send(&mut a, &frame(B, A, 50, 30));
    assert_eq!(b.queued(), 1);
}

#[test]
fn runts_are_discarded_and_oversize_rejected() {
    let hub = Hub::new();
    let (mut a, mut b) = (hub.port(A), hub.port(B));
    assert!(send(&mut a, &[0xff; 13]));
    assert!(send(&mut a, &[]));
    assert!(receive_all(&mut b).is_empty());
    assert_eq!(a.stats().tx_runts, 2);
    assert!(send(&mut a, &frame(B, A, 0, 1500)), "MTU + 14 fits");
    let mut filled = false;
    let err = a.transmit(1515, &mut |_| filled = true).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(!filled);
    assert_eq!(receive_all(&mut b).len(), 1);
}

#[test]
fn budget_respected() {
    let hub = Hub::new();
    let (mut a, mut b) = (hub.port(A), hub.port(B));
    for i in 0..10 {
        send(&mut a, &frame(B, A, i, 10));
    }
    assert_eq!(b.receive(0, &mut |_| {}).unwrap(), 0);
    assert_eq!(b.receive(4, &mut |_| {}).unwrap(), 4);
    assert_eq!(b.queued(), 6);
    assert_eq!(b.receive(64, &mut |_| {}).unwrap(), 6);
    assert_eq!(b.stats().rx_frames, 10);
}

#[test]
fn dropped_port_detaches_and_slot_is_reused() {
    let hub = Hub::new();
    let mut a = hub.port(A);
    let b = hub.port(B);
    send(&mut a, &frame(B, A, 1, 10));
    drop(b);
    assert_eq!(hub.port_count(), 1);
    // B is gone: its address is unknown now, and flooding reaches nobody.
    send(&mut a, &frame(B, A, 2, 10));
    assert_eq!(a.stats().tx_flooded, 1);
    let mut c = hub.port(C);
    assert_eq!(hub.port_count(), 2);
    assert_eq!(c.queued(), 0, "a reused slot starts empty");
    send(&mut a, &frame(C, A, 3, 10));
    assert_eq!(receive_all(&mut c), vec![frame(C, A, 3, 10)]);
    assert_eq!(a.hub().port_count(), 2);
}

#[test]
fn callbacks_may_use_other_ports() {
    // A receive sink that forwards through another port of the same hub (a bridge-like host):
    // no RefCell borrow is held across callbacks.
    let hub = Hub::new();
    let (mut a, mut b, mut c) = (hub.port(A), hub.port(B), hub.port(C));
    send(&mut a, &frame(B, A, 1, 10));
    let mut forwarded = 0;
    b.receive(8, &mut |f| {
        let mut copy = f.to_vec();
        copy[..6].copy_from_slice(&C.0);
        send(&mut c, &copy);
        forwarded += 1;
    })
    .unwrap();
    assert_eq!(forwarded, 1);
    // C sent it to itself, which goes nowhere; now let B send to C from inside a fill callback.
    let f = frame(C, B, 2, 10);
    b.transmit(f.len(), &mut |buf| {
        buf.copy_from_slice(&f);
        assert!(!a.rx_pending());
    })
    .unwrap();
    assert_eq!(receive_all(&mut c), vec![f]);
}

#[test]
fn steady_state_allocates_no_buffers() {
    let hub = Hub::new().with_mtu(9000);
    let (mut a, mut b, mut c) = (hub.port(A), hub.port(B), hub.port(C));
    let sizes = [60usize, 1514, 200, 9014, 64];
    let round = |a: &mut HubPort, n: usize, seed: u8| {
        for i in 0..n {
            let len = sizes[i % sizes.len()];
            let dst = [B, C, BROADCAST, UNKNOWN][i % 4];
            let f = frame(dst, A, seed.wrapping_add(i as u8), len - 14);
            assert!(send(a, &f));
        }
    };
    for r in 0..20 {
        round(&mut a, 32, r);
        receive_all(&mut b);
        receive_all(&mut c);
    }
    let warm = hub.buffers_allocated();
    // Each frame reaches at most two ports: at most 64 buffers, each grown at most 3 times.
    assert!(warm <= 64 * 3, "pool bounded by the burst: {warm}");
    let mut received = 0;
    for r in 0..400 {
        round(&mut a, 25, r as u8);
        received += b.receive(64, &mut |f| assert!(f.len() >= 14)).unwrap();
        received += c.receive(64, &mut |f| assert!(f.len() >= 14)).unwrap();
    }
    // Of the 25 frames of a round, 7 go to B, 6 to C, and 12 (broadcast, unknown) to both.
    assert_eq!(received, 400 * (7 + 6 + 2 * 12));
    assert_eq!(hub.buffers_allocated(), warm, "no allocation after warm-up");
}
