//! The TAP device against the real Linux kernel, inside network namespaces the tests create (see
//! `common/mod.rs` for the safety rules). Needs root; without it the tests print "skipped" and
//! pass, except under `CI=true`, where they fail.

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
#[path = "common/peer.rs"]
mod peer;

use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{LinkGuard, as_nobody, can_run, collect_frames, in_netns, ip, try_run};
use peer::Link;
use sockeye_nic::{Capabilities, Device, MacAddr, Tap};

const KERNEL_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const STACK_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// Creates the persistent TAP `sktap0` with MTU 1400, attaches a [`Tap`] to it, and gives the
/// kernel's end 10.77.0.1/24.
fn tap_link() -> (Tap, Link, LinkGuard) {
    ip("tuntap add dev sktap0 mode tap");
    let guard = LinkGuard("sktap0");
    ip("link set sktap0 mtu 1400");
    let tap = Tap::open("sktap0").expect("attaching to sktap0");
    ip("addr add 10.77.0.1/24 dev sktap0");
    ip("link set sktap0 up");
    let link = Link {
        iface: "sktap0",
        kernel_ip: KERNEL_IP,
        kernel_mac: tap.interface_mac().unwrap().0,
        stack_ip: STACK_IP,
        stack_mac: tap.mac().0,
    };
    (tap, link, guard)
}

/// ARP both ways, a UDP datagram from the kernel and an ICMP echo to it, through a TAP device;
/// plus the device's MTU, MACs, capabilities and transmit limits.
#[test]
fn tap_talks_arp_udp_and_icmp_with_the_kernel() {
    if !can_run("tap_talks_arp_udp_and_icmp_with_the_kernel", &["ip"]) {
        return;
    }
    in_netns(|| {
        let (mut tap, link, _guard) = tap_link();
        assert_eq!(tap.name(), "sktap0");
        assert_eq!(tap.mtu(), 1400, "the MTU `ip link set sktap0 mtu 1400` set");
        assert!(tap.link_up().unwrap(), "attached and up: carrier on");
        assert_eq!(tap.capabilities(), Capabilities::default(), "no offloads");
        assert_eq!(tap.raw_fd(), Some(std::os::fd::AsRawFd::as_raw_fd(&tap)));
        assert!(!tap.rx_pending());

        // The stack's MAC is its own, not the kernel end's, which `ip link` shows.
        let kernel_mac = MacAddr(link.kernel_mac);
        assert_ne!(tap.mac(), kernel_mac);
        assert_eq!(tap.mac().0[0] & 0x03, 0x02, "locally administered unicast");
        assert!(ip("link show sktap0").contains(&kernel_mac.to_string()));

        let frames = peer::arp_udp_icmp(&mut tap, &link);
        for frame in &frames {
            assert_ne!(
                frame[6..12],
                link.stack_mac,
                "received one of our own frames"
            );
        }
        let stats = tap.stats();
        assert_eq!(stats.tx_frames, 2, "{stats:?}");
        assert_eq!(stats.rx_frames, frames.len() as u64, "{stats:?}");
        assert_eq!(
            (stats.rx_oversize, stats.tx_deferred, stats.tx_full),
            (0, 0, 0)
        );
        assert!(!tap.transmit_pending());
        assert_eq!(tap.next_poll_in(), None);

        // Frames up to MTU + 14 bytes go; longer ones are refused before `fill` runs.
        let mut filled = false;
        let err = tap
            .transmit(1415, &mut |_| filled = true)
            .expect_err("a 1415-byte frame on a 1400-byte MTU");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(!filled);
        let queued = tap
            .transmit(1414, &mut |buf| {
                // A broadcast of the local experimental EtherType: the kernel drops it.
                buf.fill(0);
                buf[..6].copy_from_slice(&[0xff; 6]);
                buf[6..12].copy_from_slice(&link.stack_mac);
                buf[12..14].copy_from_slice(&[0x88, 0xb5]);
            })
            .unwrap();
        assert!(queued);
        assert_eq!(tap.stats().tx_frames, 3);
    });
}

/// With the kernel's neighbour entry in place, 50 pings through the TAP device make no heap
/// allocation in `transmit` or `receive`.
#[test]
fn tap_hot_path_allocates_nothing() {
    if !can_run("tap_hot_path_allocates_nothing", &["ip"]) {
        return;
    }
    in_netns(|| {
        let (mut tap, link, _guard) = tap_link();
        peer::arp_udp_icmp(&mut tap, &link);
        peer::hot_path_allocates_nothing(&mut tap, &link);
    });
}

/// Without `CAP_NET_ADMIN`, opening fails with `PermissionDenied` and a message that says what to
/// do (checked on a thread that dropped root).
#[test]
fn tap_without_privileges_is_permission_denied() {
    if !can_run("tap_without_privileges_is_permission_denied", &["ip"]) {
        return;
    }
    in_netns(|| {
        ip("tuntap add dev sktap0 mode tap");
        let _guard = LinkGuard("sktap0");
        for name in ["sktap0", "sktap1"] {
            let err = as_nobody(move || Tap::open(name).unwrap_err());
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{name}: {err}");
            assert_eq!(
                err.to_string(),
                "TAP needs CAP_NET_ADMIN: run as root or use the loopback NIC"
            );
        }
    });
}

/// A name longer than `IFNAMSIZ - 1` bytes is `InvalidInput`, before any privilege is needed.
#[test]
fn tap_name_too_long_is_invalid_input() {
    let err = Tap::open("sktap-name-too-long").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("IFNAMSIZ"), "{err}");
    let err = Tap::open("abcdefghijklmnop").unwrap_err(); // 16 bytes
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

/// What `Tap::open` does with names: creates a non-persistent device that disappears on drop,
/// fills in a `%d` template, refuses a device already attached (busy) or one that is not a TAP,
/// and leaves a persistent device in place.
#[test]
fn tap_open_creates_attaches_and_refuses() {
    if !can_run("tap_open_creates_attaches_and_refuses", &["ip"]) {
        return;
    }
    in_netns(|| {
        // Created by TUNSETIFF: gone when the Tap is dropped.
        let tap = Tap::open("sktap%d").expect("creating a TAP from a template");
        let name = tap.name().to_owned();
        assert!(
            name.starts_with("sktap") && name != "sktap%d",
            "kernel-chosen name {name:?}"
        );
        assert!(try_run("ip", &["link", "show", &name]).is_ok());
        assert_eq!(tap.mtu(), 1500, "a new TAP's default MTU");

        let err = Tap::open(&name).expect_err("a second attach to a single-queue TAP");
        assert_eq!(err.kind(), io::ErrorKind::ResourceBusy, "{err}");
        drop(tap);
        assert!(
            try_run("ip", &["link", "show", &name]).is_err(),
            "a non-persistent TAP disappears with its descriptor"
        );

        // A persistent device stays after we detach.
        ip("tuntap add dev sktapp mode tap");
        let _persistent = LinkGuard("sktapp");
        let mut tap = Tap::open("sktapp").unwrap();
        assert!(!tap.link_up().unwrap(), "not up yet");
        let mut none = 0;
        assert_eq!(tap.receive(64, &mut |_| none += 1).unwrap(), 0);
        assert_eq!(none, 0);
        drop(tap);
        assert!(try_run("ip", &["link", "show", "sktapp"]).is_ok());
        // ... and can be attached to again.
        let tap = Tap::open("sktapp").expect("re-attaching");
        assert!(format!("{tap:?}").contains("sktapp"));
        drop(tap);

        // An interface of that name that is not a TAP.
        ip("link add skveth0 type veth peer name skveth1");
        let _veth = LinkGuard("skveth0");
        let err = Tap::open("skveth0").expect_err("a veth is not a TAP");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");

        // Nothing reaches an idle TAP once IPv6 is off: the namespace is quiet.
        let mut tap = Tap::open("sktapq").unwrap();
        ip("link set sktapq up");
        assert!(collect_frames(&mut tap, Duration::from_millis(200)).is_empty());
    });
}
