use super::*;

/// A frame of `len` bytes whose contents depend on `seed`.
fn frame(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seed as usize).wrapping_mul(31).wrapping_add(i) as u8)
        .collect()
}

fn send(dev: &mut dyn Device, bytes: &[u8]) -> io::Result<bool> {
    dev.transmit(bytes.len(), &mut |buf| buf.copy_from_slice(bytes))
}

fn receive_all(dev: &mut dyn Device, budget: usize) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let n = dev
        .receive(budget, &mut |f| frames.push(f.to_vec()))
        .unwrap();
    assert_eq!(n, frames.len());
    frames
}

#[test]
fn defaults_match_linux_lo() {
    let lo = Loopback::new();
    assert_eq!(lo.mtu(), 65536);
    assert_eq!(lo.queue_len(), 1000);
    assert_eq!(lo.mac(), MacAddr::ZERO);
    assert_eq!(lo.raw_fd(), None);
    assert!(!lo.rx_pending());
    let caps = lo.capabilities();
    assert!(caps.rx_checksum_offload && caps.tx_checksum_offload);
    assert!(caps.max_burst > 0);
    assert_eq!(Loopback::default().mtu(), 65536);
    let lo = Loopback::with_mtu(1500).with_queue_len(8);
    assert_eq!((lo.mtu(), lo.queue_len()), (1500, 8));
}

#[test]
fn frames_round_trip_in_order() {
    let mut lo = Loopback::new();
    let sent: Vec<Vec<u8>> = [60, 14, 1514, 0, 65550, 99]
        .iter()
        .enumerate()
        .map(|(i, &len)| frame(i as u32, len))
        .collect();
    for f in &sent {
        assert!(send(&mut lo, f).unwrap());
    }
    assert!(lo.rx_pending());
    assert_eq!(lo.queued(), sent.len());
    assert_eq!(receive_all(&mut lo, usize::MAX), sent);
    assert!(!lo.rx_pending());
    let stats = lo.stats();
    assert_eq!(stats.tx_frames, 6);
    assert_eq!(stats.rx_frames, 6);
    assert_eq!(stats.tx_dropped_full, 0);
}

#[test]
fn transmit_lends_exactly_len_bytes() {
    let mut lo = Loopback::new();
    // A large frame, received, then a small one reusing its buffer: the small one is lent only
    // its own `len` bytes (their contents are the writer's to set: a recycled buffer is not
    // zeroed again) and comes back at its own length with what was written.
    send(&mut lo, &[0xaa; 3000]).unwrap();
    receive_all(&mut lo, 1);
    let mut lent = 0;
    lo.transmit(20, &mut |buf| {
        lent = buf.len();
        buf.fill(0x55);
    })
    .unwrap();
    assert_eq!(lent, 20);
    assert_eq!(receive_all(&mut lo, 1), vec![vec![0x55; 20]]);
}

#[test]
fn budget_respected() {
    let mut lo = Loopback::new();
    for i in 0..10 {
        send(&mut lo, &frame(i, 64)).unwrap();
    }
    assert_eq!(receive_all(&mut lo, 0).len(), 0);
    let first = receive_all(&mut lo, 4);
    assert_eq!(first, (0..4).map(|i| frame(i, 64)).collect::<Vec<_>>());
    assert_eq!(lo.queued(), 6);
    let rest = receive_all(&mut lo, 100);
    assert_eq!(rest, (4..10).map(|i| frame(i, 64)).collect::<Vec<_>>());
    assert_eq!(lo.stats().rx_frames, 10);
}

#[test]
fn receive_on_empty_returns_zero() {
    let mut lo = Loopback::new();
    let mut calls = 0;
    assert_eq!(lo.receive(64, &mut |_| calls += 1).unwrap(), 0);
    assert_eq!(calls, 0);
}

#[test]
fn full_queue_pushes_back() {
    let mut lo = Loopback::new().with_queue_len(3);
    for i in 0..3 {
        assert!(send(&mut lo, &frame(i, 100)).unwrap());
    }
    let mut filled = false;
    assert!(
        !lo.transmit(100, &mut |_| filled = true).unwrap(),
        "a full queue refuses"
    );
    assert!(!filled, "fill is not called when the frame is refused");
    assert!(!send(&mut lo, &frame(9, 100)).unwrap());
    let stats = lo.stats();
    assert_eq!(stats.tx_frames, 3);
    assert_eq!(stats.tx_dropped_full, 2);
    // Nothing already queued was lost.
    assert_eq!(
        receive_all(&mut lo, 10),
        (0..3).map(|i| frame(i, 100)).collect::<Vec<_>>()
    );
    // Room again after receiving.
    assert!(send(&mut lo, &frame(3, 100)).unwrap());
}

#[test]
fn zero_queue_refuses_everything() {
    let mut lo = Loopback::new().with_queue_len(0);
    assert!(!send(&mut lo, &[1, 2, 3]).unwrap());
    assert_eq!(lo.stats().tx_dropped_full, 1);
}

#[test]
fn oversize_frame_is_invalid_input() {
    let mut lo = Loopback::with_mtu(1500);
    assert!(send(&mut lo, &[0; 1514]).unwrap(), "MTU + 14 fits");
    let mut filled = false;
    let err = lo.transmit(1515, &mut |_| filled = true).unwrap_err();
    assert!(!filled);
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "frame of 1515 bytes exceeds the device's limit of 1514 bytes \
         (MTU 1500 + 14-byte Ethernet header)"
    );
    assert_eq!(lo.stats().tx_frames, 1);
    assert_eq!(lo.stats().tx_dropped_full, 0);
    // An MTU near usize::MAX does not overflow the limit.
    let mut huge = Loopback::with_mtu(usize::MAX);
    assert!(send(&mut huge, &[0; 10]).unwrap());
}

#[test]
fn steady_state_allocates_no_buffers() {
    let mut lo = Loopback::new();
    let mut sizes = [60usize, 1514, 200, 9000, 54, 65550].iter().cycle();
    let mut send_batch = |lo: &mut Loopback, n: usize, seed: u32| {
        for i in 0..n {
            let len = *sizes.next().unwrap();
            let (s, l) = (seed + i as u32, len);
            assert!(lo.transmit(l, &mut |buf| buf.fill(s as u8)).unwrap());
        }
    };
    // Warm-up: bursts of up to 32 frames of every size.
    for round in 0..20 {
        send_batch(&mut lo, 32, round);
        receive_all(&mut lo, 32);
    }
    let warm = lo.buffers_allocated();
    // At most one buffer per frame of the largest burst, each created once and regrown at most
    // twice (1514 -> 9000 -> 65550 bytes of capacity).
    assert!(warm <= 32 * 3, "pool bounded by the burst: {warm}");
    let mut received = 0;
    for round in 0..(10_000 / 25) {
        send_batch(&mut lo, 25, round);
        received += lo.receive(64, &mut |f| assert!(!f.is_empty())).unwrap();
    }
    assert_eq!(received, 10_000);
    assert_eq!(lo.buffers_allocated(), warm, "no allocation after warm-up");
    assert_eq!(lo.stats().rx_frames, 20 * 32 + 10_000);
}

#[test]
fn works_as_boxed_trait_object() {
    let mut dev: Box<dyn Device> = Box::new(Loopback::with_mtu(1500));
    assert_eq!(dev.mtu(), 1500);
    assert!(send(&mut *dev, b"hello, world!!").unwrap());
    assert!(dev.rx_pending());
    assert_eq!(receive_all(&mut *dev, 8), vec![b"hello, world!!".to_vec()]);

    // The forwarding impls: a `Box<dyn Device>` and a `&mut Loopback` are devices themselves.
    fn roundtrip<D: Device>(mut dev: D) -> usize {
        send(&mut dev, &[7; 60]).unwrap();
        dev.receive(1, &mut |_| {}).unwrap()
    }
    assert_eq!(roundtrip(dev), 1);
    let mut lo = Loopback::new();
    assert_eq!(roundtrip(&mut lo), 1);
    assert_eq!(lo.stats().tx_frames, 1);
}
