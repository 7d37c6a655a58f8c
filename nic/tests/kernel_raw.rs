//! The `AF_PACKET` raw-socket device against the real Linux kernel, on a veth pair inside network
//! namespaces the tests create (see `common/mod.rs` for the safety rules): the kernel keeps
//! `skv0` (10.77.1.1/24, transmit offloads off), the stack takes `skv1` (up, no address). Needs
//! root; without it the tests print "skipped" and pass, except under `CI=true`, where they fail.

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
#[path = "common/peer.rs"]
mod peer;

use std::io;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{
    LinkGuard, as_nobody, can_run, collect_frames, disable_ipv6, in_netns, ip, run, send,
};
use peer::Link;
use sockeye_nic::{Capabilities, Device, MacAddr, RawSocket};

const KERNEL_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 1);
const STACK_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);

/// The local experimental EtherType, for marker frames that no protocol handler takes.
const MARKER_ETHERTYPE: [u8; 2] = [0x88, 0xb5];

/// Creates the veth pair with MTU 1400; the kernel's end `skv0` gets 10.77.1.1/24 and has its
/// transmit offloads turned off. `open` runs while both ends are still down.
fn veth_link(open: impl FnOnce() -> RawSocket) -> (RawSocket, Link, LinkGuard) {
    ip("link add skv0 type veth peer name skv1");
    let guard = LinkGuard("skv0"); // deleting one end deletes the pair
    disable_ipv6("skv0");
    disable_ipv6("skv1");
    ip("link set skv0 mtu 1400");
    ip("link set skv1 mtu 1400");
    run("ethtool", &["-K", "skv0", "tx", "off"]);
    let dev = open();
    ip("addr add 10.77.1.1/24 dev skv0");
    ip("link set skv0 up");
    ip("link set skv1 up");
    let link = Link {
        iface: "skv0",
        kernel_ip: KERNEL_IP,
        kernel_mac: interface_mac("skv0"),
        stack_ip: STACK_IP,
        stack_mac: dev.mac().0,
    };
    (dev, link, guard)
}

/// The MAC address of `iface` as `ip -br link` prints it.
fn interface_mac(iface: &str) -> [u8; 6] {
    let out = ip(&format!("-br link show {iface}"));
    let text = out
        .split_whitespace()
        .nth(2)
        .expect("a MAC in `ip -br link`");
    let mut mac = [0u8; 6];
    for (byte, hex) in mac.iter_mut().zip(text.split(':')) {
        *byte = u8::from_str_radix(hex, 16).unwrap();
    }
    mac
}

/// A broadcast marker frame: `MARKER_ETHERTYPE`, then `tag`.
fn marker(src: [u8; 6], tag: &[u8]) -> Vec<u8> {
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&MARKER_ETHERTYPE);
    frame.extend_from_slice(tag);
    frame.resize(60, 0);
    frame
}

fn is_marker(frame: &[u8], tag: &[u8]) -> bool {
    frame.len() >= 14 + tag.len()
        && frame[12..14] == MARKER_ETHERTYPE
        && frame[14..].starts_with(tag)
}

/// ARP both ways, a UDP datagram from the kernel and an ICMP echo to it, through a raw socket on
/// a veth end; plus the socket's MTU, MAC, capabilities, the outgoing-frame filter and transmit
/// limits.
#[test]
fn raw_socket_talks_arp_udp_and_icmp_with_the_kernel() {
    if !can_run(
        "raw_socket_talks_arp_udp_and_icmp_with_the_kernel",
        &["ip", "ethtool"],
    ) {
        return;
    }
    in_netns(|| {
        // Opened while skv1 is down: frames flow once it comes up.
        let (mut raw, link, _guard) = veth_link(|| RawSocket::open("skv1").unwrap());
        assert_eq!(raw.name(), "skv1");
        assert_eq!(raw.mtu(), 1400, "the MTU `ip link set skv1 mtu 1400` set");
        assert_eq!(
            raw.mac().0,
            interface_mac("skv1"),
            "default: skv1's own MAC"
        );
        assert_eq!(raw.interface_mac().unwrap(), raw.mac());
        assert!(raw.ifindex() > 1);
        assert!(raw.link_up().unwrap());
        assert!(raw.kernel_ignores_outgoing(), "Linux >= 4.20");
        assert!(!raw.is_promiscuous());
        assert_eq!(raw.capabilities(), Capabilities::default(), "no offloads");
        assert!(!raw.rx_pending());
        assert!(raw.raw_fd().is_some());

        let frames = peer::arp_udp_icmp(&mut raw, &link);
        for frame in &frames {
            assert_ne!(
                frame[6..12],
                link.stack_mac,
                "our own frames never come back"
            );
        }
        let stats = raw.stats();
        assert_eq!(stats.tx_frames, 2, "{stats:?}");
        assert_eq!(stats.rx_frames, frames.len() as u64, "{stats:?}");
        assert_eq!(
            (stats.rx_oversize, stats.rx_outgoing_skipped),
            (0, 0),
            "{stats:?}"
        );
        assert_eq!((stats.tx_deferred, stats.tx_full), (0, 0), "{stats:?}");

        let mut filled = false;
        let err = raw
            .transmit(1415, &mut |_| filled = true)
            .expect_err("a 1415-byte frame on a 1400-byte MTU");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(!filled);
        let full = marker(link.stack_mac, b"full-size");
        let queued = raw
            .transmit(1414, &mut |buf| {
                buf.fill(0);
                buf[..full.len()].copy_from_slice(&full);
            })
            .unwrap();
        assert!(queued, "an MTU + 14-byte frame goes");
    });
}

/// Only incoming frames are received: frames sent out of `skv1` by someone else (here another
/// raw socket, as another program or the kernel could) are not taken for incoming ones
/// (`PACKET_IGNORE_OUTGOING`), nor are our own; the peer (a raw socket on the kernel's end) sees
/// all of them, and its frame reaches us.
#[test]
fn raw_socket_receives_only_incoming_frames() {
    if !can_run(
        "raw_socket_receives_only_incoming_frames",
        &["ip", "ethtool"],
    ) {
        return;
    }
    in_netns(|| {
        let (mut raw, link, _guard) = veth_link(|| RawSocket::open("skv1").unwrap());
        let mut other = RawSocket::open("skv1").expect("another sender on the stack's end");
        let mut witness = RawSocket::open("skv0").expect("a raw socket on the kernel's end");

        for i in 0..5u8 {
            send(&mut raw, &marker(link.stack_mac, &[b'o', b'u', b'r', i]));
        }
        send(&mut other, &marker(link.stack_mac, b"other"));
        send(&mut witness, &marker(link.kernel_mac, b"theirs"));

        let seen_by_peer = collect_frames(&mut witness, Duration::from_millis(300));
        let ours_at_peer = (0..5u8)
            .filter(|&i| {
                seen_by_peer
                    .iter()
                    .any(|f| is_marker(f, &[b'o', b'u', b'r', i]))
            })
            .count();
        assert_eq!(ours_at_peer, 5, "all our frames went out on the wire");
        assert!(seen_by_peer.iter().any(|f| is_marker(f, b"other")));
        assert!(
            !seen_by_peer.iter().any(|f| is_marker(f, b"theirs")),
            "the witness does not see its own frame either"
        );

        let seen_by_us = collect_frames(&mut raw, Duration::from_millis(300));
        assert!(
            !seen_by_us.iter().any(|f| is_marker(f, b"other")),
            "a frame sent out of skv1 was received as incoming"
        );
        assert!(
            !seen_by_us.iter().any(|f| is_marker(f, b"our")),
            "our own frames came back"
        );
        assert!(
            seen_by_us.iter().any(|f| is_marker(f, b"theirs")),
            "the peer's frame arrived"
        );
        assert_eq!(seen_by_us.len(), 1, "nothing else on the link");
        assert_eq!(raw.stats().rx_outgoing_skipped, 0, "the kernel filtered");
    });
}

/// A MAC of our own choosing works on veth (with promiscuous mode, as a real NIC would need),
/// and promiscuous mode is counted by the kernel while on and released on drop.
#[test]
fn raw_socket_with_own_mac_and_promiscuous_mode() {
    if !can_run(
        "raw_socket_with_own_mac_and_promiscuous_mode",
        &["ip", "ethtool"],
    ) {
        return;
    }
    let promiscuity = || {
        let out = ip("-d link show skv1");
        let mut words = out.split_whitespace();
        words.find(|w| *w == "promiscuity");
        words.next().unwrap().parse::<u32>().unwrap()
    };
    in_netns(move || {
        let ours = MacAddr([0x02, 0x77, 0x00, 0x00, 0x01, 0x02]);
        let (mut raw, link, _guard) = veth_link(|| RawSocket::open("skv1").unwrap().with_mac(ours));
        assert_eq!(raw.mac(), ours);
        assert_ne!(raw.interface_mac().unwrap(), ours);

        assert_eq!(promiscuity(), 0);
        raw.set_promiscuous(true).unwrap();
        raw.set_promiscuous(true).unwrap(); // idempotent
        assert!(raw.is_promiscuous());
        assert_eq!(promiscuity(), 1);

        let frames = peer::arp_udp_icmp(&mut raw, &link);
        assert!(frames.iter().any(|f| f[..6] == ours.0), "frames to our MAC");

        raw.set_promiscuous(false).unwrap();
        assert_eq!(promiscuity(), 0);
        raw.set_promiscuous(true).unwrap();
        assert_eq!(promiscuity(), 1);
        drop(raw);
        assert_eq!(
            promiscuity(),
            0,
            "closing the socket leaves promiscuous mode"
        );
    });
}

/// When the interface's queueing discipline is full, a refused frame is held and `transmit`
/// answers `Ok(false)` without calling `fill` until the held frame has gone.
#[test]
fn raw_socket_back_pressure_holds_one_frame() {
    if !can_run(
        "raw_socket_back_pressure_holds_one_frame",
        &["ip", "ethtool", "tc"],
    ) {
        return;
    }
    in_netns(|| {
        let (mut raw, link, _guard) = veth_link(|| RawSocket::open("skv1").unwrap());
        // 100 kbit/s with a 3000-byte queue: a burst overflows it at once, and a frame drains
        // every ~5 ms.
        run(
            "tc",
            &[
                "qdisc", "add", "dev", "skv1", "root", "tbf", "rate", "100kbit", "burst", "1600",
                "limit", "3000",
            ],
        );
        let frame = marker(link.stack_mac, b"pressure");
        let mut accepted = 0;
        let refused = loop {
            assert!(accepted < 10_000, "the queue never filled up");
            let mut filled = false;
            let queued = raw
                .transmit(frame.len(), &mut |buf| {
                    filled = true;
                    buf.copy_from_slice(&frame);
                })
                .expect("transmit");
            if !queued {
                break filled;
            }
            accepted += 1;
        };
        assert!(
            !refused,
            "`fill` must not run when transmit answers Ok(false)"
        );
        let stats = raw.stats();
        assert_eq!(stats.tx_deferred, 1, "{stats:?}");
        assert_eq!(stats.tx_full, 1, "{stats:?}");
        assert!(raw.transmit_pending());
        assert_eq!(raw.next_poll_in(), Some(Duration::from_millis(1)));

        // The queue drains; flushing sends the held frame.
        let deadline = Instant::now() + Duration::from_secs(3);
        while raw.transmit_pending() {
            assert!(Instant::now() < deadline, "the held frame never went");
            std::thread::sleep(Duration::from_millis(2));
            raw.flush().expect("flush");
        }
        assert_eq!(raw.next_poll_in(), None);
        assert_eq!(raw.stats().tx_frames, accepted as u64);
    });
}

/// Taking the stack's end down and up again: `receive` reports no frame (not an error) while it
/// is down, `transmit` fails with `ENETDOWN`, and traffic flows again once it is back up.
#[test]
fn raw_socket_survives_link_down_and_up() {
    if !can_run("raw_socket_survives_link_down_and_up", &["ip", "ethtool"]) {
        return;
    }
    in_netns(|| {
        let (mut raw, link, _guard) = veth_link(|| RawSocket::open("skv1").unwrap());
        ip("link set skv1 down");
        assert!(!raw.link_up().unwrap());
        assert_eq!(raw.receive(64, &mut |_| {}).unwrap(), 0);
        let frame = marker(link.stack_mac, b"down");
        let err = raw
            .transmit(frame.len(), &mut |buf| buf.copy_from_slice(&frame))
            .expect_err("transmit on a down interface");
        assert_eq!(err.raw_os_error(), Some(libc::ENETDOWN), "{err}");
        ip("link set skv1 up");
        peer::arp_udp_icmp(&mut raw, &link);
    });
}

/// With the kernel's neighbour entry in place, 50 pings through the raw socket make no heap
/// allocation in `transmit` or `receive`.
#[test]
fn raw_socket_hot_path_allocates_nothing() {
    if !can_run("raw_socket_hot_path_allocates_nothing", &["ip", "ethtool"]) {
        return;
    }
    in_netns(|| {
        let (mut raw, link, _guard) = veth_link(|| RawSocket::open("skv1").unwrap());
        peer::arp_udp_icmp(&mut raw, &link);
        peer::hot_path_allocates_nothing(&mut raw, &link);
    });
}

/// Without `CAP_NET_RAW`, opening fails with `PermissionDenied` and a message that says what to
/// do (checked on a thread that dropped root).
#[test]
fn raw_socket_without_privileges_is_permission_denied() {
    if !can_run(
        "raw_socket_without_privileges_is_permission_denied",
        &["ip", "ethtool"],
    ) {
        return;
    }
    in_netns(|| {
        let (_raw, _link, _guard) = veth_link(|| RawSocket::open("skv1").unwrap());
        let err = as_nobody(|| RawSocket::open("skv1").unwrap_err());
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        assert_eq!(
            err.to_string(),
            "raw sockets need CAP_NET_RAW: run as root or use the loopback NIC"
        );
    });
}

/// Opening fails clearly for a missing interface, a bad name, and a non-Ethernet one.
#[test]
fn raw_socket_open_errors() {
    if !can_run("raw_socket_open_errors", &["ip"]) {
        return;
    }
    in_netns(|| {
        let err = RawSocket::open("skv9").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("skv9"), "{err}");
        let err = RawSocket::open("skv-name-too-long").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = RawSocket::open("lo").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    });
}
