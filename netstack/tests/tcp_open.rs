//! Connection establishment on the deterministic simulator:
//!
//! - Simultaneous open: two sockets bound to fixed ports connect to each other at the same
//!   instant; both end up established (the crossing SYN-ACKs complete the handshake, with no
//!   challenge ACK) and data flows both ways.
//! - Option negotiation as seen on the wire (etherparse) and in `tcp_info`: window scaling,
//!   SACK and timestamps are used only when both sides offer them; with scaling off on either
//!   side windows are unscaled and transfers still work; without SACK no SACK blocks are sent
//!   (loss is still repaired); without timestamps the MSS keeps its 12 bytes.
//! - Ephemeral ports: a small `ip_local_port_range` runs out with `AddrNotAvailable` for one
//!   destination (TIME_WAIT keeps its 4-tuple), while another destination can reuse the ports.
//! - The MSS is clamped to the smaller MTU of the two ends, also below 576 bytes. The stack cannot change an interface's MTU after
//!   `add_interface`, so these tests swap one simulated stack for one built with a smaller MTU.

#[path = "support/apps.rs"]
mod apps;

use std::collections::HashSet;
use std::io::ErrorKind;
use std::net::SocketAddrV4;
use std::task::Poll;

use apps::*;
use sockeye_netstack::sim::{self, LinkConfig, Sim};
use sockeye_netstack::{Counter, SocketHandle, StackConfig, TcpState};

/// Both sockets bound (5000 on stack 0, 6000 on stack 1) and connecting to each other now.
fn simultaneous_open(sim: &mut Sim) -> (SocketHandle, SocketHandle) {
    let now = sim.now;
    let mut handles = Vec::new();
    for (i, port, peer) in [(0, 5000, sa(1, 6000)), (1, 6000, sa(0, 5000))] {
        let st = &mut sim.stacks[i];
        let h = st.tcp_socket();
        st.tcp_bind(h, SocketAddrV4::new(sim::addr(i), port))
            .unwrap();
        st.tcp_connect(now, h, peer).unwrap();
        handles.push(h);
    }
    (handles[0], handles[1])
}

#[test]
fn simultaneous_open_establishes_both_sides_and_data_flows() {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 21);
    let cap = Capture::install(&mut sim);
    let (a, b) = simultaneous_open(&mut sim);
    let ok = run_until(&mut sim, secs(10), |s| {
        poll_connect(&mut s.stacks[0], a).is_ready() && poll_connect(&mut s.stacks[1], b).is_ready()
    });
    assert!(ok, "{}", cap.dump());
    for (i, h) in [(0, a), (1, b)] {
        assert!(
            matches!(poll_connect(&mut sim.stacks[i], h), Poll::Ready(Ok(()))),
            "{}",
            cap.dump()
        );
        assert_eq!(sim.stacks[i].tcp_state(h).unwrap(), TcpState::Established);
        let n = sim.stacks[i].counters();
        assert_eq!(n.get(Counter::TcpActiveOpens), 1);
        assert_eq!(n.get(Counter::TcpCurrEstab), 1);
    }
    // Each side sent a bare SYN, crossing the other's, then a SYN-ACK.
    let syns = cap.find(|x| x.syn && x.ack.is_none());
    assert_eq!(syns.len(), 2, "{}", cap.dump());
    assert_ne!(syns[0].from, syns[1].from);
    assert_eq!(syns[0].at, syns[1].at);
    for from in [0, 1] {
        assert!(
            !cap.find(|x| x.from == from && x.syn && x.ack.is_some())
                .is_empty()
        );
    }
    // Data both ways.
    let mut up = Flow::new((0, a), (1, b), pattern(1, 100_000));
    let mut down = Flow::new((1, b), (0, a), pattern(2, 70_000));
    assert!(run_until(&mut sim, secs(30), |s| {
        up.step(s);
        down.step(s);
        up.done() && down.done()
    }));
    assert!(up.received == up.data && down.received == down.data);
}

#[test]
fn simultaneous_open_needs_no_challenge_acks() {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 21);
    let cap = Capture::install(&mut sim);
    let (a, b) = simultaneous_open(&mut sim);
    run_until(&mut sim, secs(10), |s| {
        poll_connect(&mut s.stacks[0], a).is_ready() && poll_connect(&mut s.stacks[1], b).is_ready()
    });
    // RFC 9293 (figure 8 and "trim the old part of a straddling segment"), and Linux's
    // `tcp_validate_incoming` exception: in SYN-RECEIVED, a SYN-ACK whose SYN is the one
    // already received (seq + 1 == rcv_nxt) and whose ACK covers our SYN completes the
    // handshake; it is not a new SYN to challenge.
    for i in [0, 1] {
        let n = sim.stacks[i].counters();
        assert_eq!(n.get(Counter::TcpExtTCPSYNChallenge), 0, "{}", cap.dump());
        assert_eq!(n.get(Counter::TcpExtTCPChallengeACK), 0);
    }
    // Two SYNs, two SYN-ACKs, nothing else needed.
    assert_eq!(cap.all().len(), 4, "{}", cap.dump());
}

/// The SYN and the SYN-ACK of the first connection.
fn handshake(cap: &Capture) -> (Seg, Seg) {
    let syn = cap.find(|x| x.syn && x.ack.is_none())[0].clone();
    let synack = cap.find(|x| x.syn && x.ack.is_some())[0].clone();
    (syn, synack)
}

/// Connects stack 0 to a listener on stack 1 (after `tweak` changed the stacks), transfers
/// data both ways over `link`, and returns the sim, the capture and both handles.
fn negotiate(
    link: LinkConfig,
    tweak: impl FnOnce(&mut Sim),
) -> (Sim, Capture, SocketHandle, SocketHandle) {
    let mut sim = Sim::new(2, &StackConfig::default(), link, 23);
    tweak(&mut sim);
    let cap = Capture::install(&mut sim);
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    let mut up = Flow::new((0, c), (1, s), pattern(3, 300_000));
    let mut down = Flow::new((1, s), (0, c), pattern(4, 200_000));
    let ok = run_until(&mut sim, secs(120), |s| {
        up.step(s);
        down.step(s);
        up.done() && down.done()
    });
    assert!(ok, "transfer stuck: {:?} {:?}", up.error, down.error);
    assert!(
        up.received == up.data && down.received == down.data,
        "bytes differ"
    );
    (sim, cap, c, s)
}

#[test]
fn everything_on_negotiates_scaling_sack_and_timestamps() {
    let (mut sim, cap, c, s) = negotiate(LinkConfig::default(), |_| {});
    let (syn, synack) = handshake(&cap);
    for seg in [&syn, &synack] {
        assert_eq!(seg.mss, Some(1460));
        assert_eq!(seg.wscale, Some(7), "6 MB tcp_rmem max needs shift 7");
        assert!(seg.sack_permitted && seg.timestamps.is_some());
    }
    assert_eq!(
        synack.timestamps.unwrap().1,
        syn.timestamps.unwrap().0,
        "TSecr echoes"
    );
    for (i, h) in [(0, c), (1, s)] {
        let info = sim.stacks[i].tcp_info(h).unwrap();
        assert_eq!(info.window_scale, Some((7, 7)));
        assert!(info.sack && info.timestamps);
        assert_eq!(info.mss, 1448, "1460 less 12 bytes of timestamps");
    }
    // Every later segment carries timestamps; data segments are full-sized.
    assert!(
        cap.find(|x| !x.syn && !x.rst)
            .iter()
            .all(|x| x.timestamps.is_some())
    );
    assert_eq!(
        cap.find(|x| x.len > 0).iter().map(|x| x.len).max(),
        Some(1448)
    );
}

#[test]
fn window_scaling_off_on_either_side_means_unscaled_windows() {
    for off in [0, 1] {
        let (mut sim, cap, c, s) = negotiate(LinkConfig::default(), |sim| {
            sim.stacks[off].config_mut().tcp_window_scaling = false;
        });
        let (syn, synack) = handshake(&cap);
        assert_eq!(
            syn.wscale.is_some(),
            off != 0,
            "the client offers unless off"
        );
        assert_eq!(synack.wscale, None, "never answered unless offered and on");
        for (i, h) in [(0, c), (1, s)] {
            let info = sim.stacks[i].tcp_info(h).unwrap();
            assert_eq!(info.window_scale, None, "side {off} off, stack {i}");
            assert!(info.rcv_wnd <= 65_535);
        }
        // A 128 KB receive buffer advertises (at most) 65535 in the raw field, not 1024.
        let windows: Vec<u16> = cap
            .find(|x| !x.syn && !x.rst)
            .iter()
            .map(|x| x.window)
            .collect();
        assert!(windows.iter().any(|w| *w > 60_000), "{windows:?}");
    }
}

#[test]
fn sack_is_used_only_when_both_sides_permit_it() {
    let lossy = LinkConfig {
        loss: 0.02,
        ..LinkConfig::default()
    };
    // Both on: a lossy transfer produces SACK blocks.
    let (_sim, cap, _c, _s) = negotiate(lossy, |_| {});
    assert!(!cap.find(|x| x.sack_blocks > 0).is_empty());
    // Off on the client: no SACK-permitted answer, no blocks, loss still repaired.
    let (mut sim, cap, c, s) = negotiate(lossy, |sim| {
        sim.stacks[0].config_mut().tcp_sack = false;
    });
    let (syn, synack) = handshake(&cap);
    assert!(!syn.sack_permitted && !synack.sack_permitted);
    assert!(cap.find(|x| x.sack_blocks > 0).is_empty(), "{}", cap.dump());
    assert!(sim.stats.lost > 0);
    assert!(!sim.stacks[0].tcp_info(c).unwrap().sack);
    assert!(!sim.stacks[1].tcp_info(s).unwrap().sack);
}

#[test]
fn timestamps_off_on_the_server_leaves_them_out_everywhere() {
    let (mut sim, cap, c, s) = negotiate(LinkConfig::default(), |sim| {
        sim.stacks[1].config_mut().tcp_timestamps = false;
    });
    let (syn, synack) = handshake(&cap);
    assert!(syn.timestamps.is_some() && synack.timestamps.is_none());
    assert!(cap.find(|x| !x.syn && x.timestamps.is_some()).is_empty());
    for (i, h) in [(0, c), (1, s)] {
        let info = sim.stacks[i].tcp_info(h).unwrap();
        assert!(!info.timestamps);
        assert_eq!(info.mss, 1460, "no option space to set aside");
    }
    assert_eq!(
        cap.find(|x| x.len > 0).iter().map(|x| x.len).max(),
        Some(1460)
    );
}

#[test]
fn mss_is_clamped_to_the_smaller_mtu() {
    let (mut sim, cap, c, s) = negotiate(LinkConfig::default(), |sim| {
        sim.stacks[1] = fresh_stack(1, 1000, 77);
    });
    let (syn, synack) = handshake(&cap);
    assert_eq!(syn.mss, Some(1460));
    assert_eq!(
        synack.mss,
        Some(960),
        "1000-byte MTU less 40 bytes of headers"
    );
    for (i, h) in [(0, c), (1, s)] {
        assert_eq!(sim.stacks[i].tcp_info(h).unwrap().mss, 948, "stack {i}");
    }
    for from in [0, 1] {
        let data = cap.find(|x| x.from == from && x.len > 0);
        assert_eq!(data.iter().map(|x| x.len).max(), Some(948), "from {from}");
        assert!(data.iter().all(|x| x.ip_len <= 1000));
    }
}

#[test]
fn mss_follows_an_mtu_below_576() {
    let (mut sim, cap, c, s) = negotiate(LinkConfig::default(), |sim| {
        sim.stacks[1] = fresh_stack(1, 500, 78);
    });
    // RFC 9293 section 3.7.1: the MSS sent is the MTU less the fixed IP and TCP headers (Linux:
    // `ipv4_default_advmss`, floored at `min_adv_mss` = 256, not 536).
    let (_syn, synack) = handshake(&cap);
    assert_eq!(synack.mss, Some(460), "{synack}");
    assert!(
        cap.find(|x| x.from == 0).iter().all(|x| x.ip_len <= 500),
        "packets larger than the peer's MTU"
    );
    for (i, h) in [(0, c), (1, s)] {
        assert_eq!(sim.stacks[i].tcp_info(h).unwrap().mss, 448, "stack {i}");
    }
}

#[test]
fn ephemeral_ports_run_out_with_addr_not_available() {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 29);
    sim.stacks[0].config_mut().ip_local_port_range = (40000, 40002);
    let l = listen(&mut sim, 1, 80, 16);
    let _l2 = listen(&mut sim, 1, 81, 16);
    let mut ports = HashSet::new();
    let mut conns = Vec::new();
    for _ in 0..3 {
        let (c, s) = establish(&mut sim, 0, 1, l, 80);
        ports.insert(sim.stacks[0].tcp_local_addr(c).unwrap().port());
        conns.push((c, s));
    }
    assert_eq!(ports, HashSet::from([40000, 40001, 40002]));
    let now = sim.now;
    let e = sim.stacks[0].tcp_connect_to(now, sa(1, 80)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrNotAvailable);
    assert_eq!(
        sim.stacks[0].tcp_sockets(),
        3,
        "the failed socket is not leaked"
    );
    // Another destination may reuse the ports: its 4-tuples are different.
    let c = sim.stacks[0].tcp_connect_to(now, sa(1, 81)).unwrap();
    assert!(ports.contains(&sim.stacks[0].tcp_local_addr(c).unwrap().port()));
    // Closing first leaves TIME_WAIT holding the 4-tuple: still no port for port 80 until it
    // ends.
    let (c0, s0) = conns[0];
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c0);
    sim.advance(ms(10));
    let now = sim.now;
    sim.stacks[1].tcp_close(now, s0);
    sim.advance(ms(10));
    let now = sim.now;
    let e = sim.stacks[0].tcp_connect_to(now, sa(1, 80)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrNotAvailable);
    sim.advance(secs(61));
    let now = sim.now;
    assert!(sim.stacks[0].tcp_connect_to(now, sa(1, 80)).is_ok());
}
