//! Regression tests for what the fuzz target `frames` (see `fuzz/`) found, each written as a
//! plain scenario on the simulator so it reads without the harness. The minimized fuzz inputs
//! live under `fuzz/regressions/<target>/`, where `fuzz_smoke.rs` replays them.
//!
//! A bug found but not fixed yet gets its test here marked `#[ignore = "BUG: ..."]`, and its
//! input goes to `fuzz/regressions/open/` (not replayed); the fix removes the attribute and
//! moves the input to `fuzz/regressions/<target>/`.

use core::net::SocketAddrV4;
use std::net::Shutdown;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sockeye_netstack::sim::{self, LinkConfig, Sim};
use sockeye_netstack::wire::{EthernetFrame, Ipv4Packet, TcpPacket, TcpRepr};
use sockeye_netstack::{Counter, SocketHandle, StackConfig, TcpState};

/// Two stacks with short keepalive settings; stack 1 connects to stack 0's listener, which
/// accepts. Returns (the accepted end on stack 0, the connecting end on stack 1).
fn connected(sim: &mut Sim) -> (SocketHandle, SocketHandle) {
    let mut cx = Context::from_waker(Waker::noop());
    let listener = sim.stacks[0]
        .tcp_listener(SocketAddrV4::new(sim::addr(0), 80), 8)
        .expect("listen");
    let client = sim.stacks[1]
        .tcp_connect_to(sim.now, SocketAddrV4::new(sim::addr(0), 80))
        .expect("connect");
    sim.advance(Duration::from_millis(10));
    let Poll::Ready(Ok((server, _))) = sim.stacks[0].tcp_poll_accept(listener, &mut cx) else {
        panic!("not accepted");
    };
    (server, client)
}

/// Found by `frames` (input `fuzz/regressions/frames/keepalive-fin-wait-2`): the DUT had
/// shut down writing on a connection (FIN_WAIT_2) and turned SO_KEEPALIVE on, the peer kept
/// the connection open, and hours later the DUT reset it with `TimedOut` although the peer was
/// alive, so the bytes the peer was still sending were never delivered.
///
/// The keepalive timer ran in FIN_WAIT_2 (`on_keepalive` accepts the state) and counted each
/// probe (`TCPKeepAlive`), but `Tcb::next_segment` sent nothing but ACKs in FIN_WAIT_2, so the
/// probes never left, were never answered, and after `tcp_keepalive_probes` of them the
/// connection was reset. Linux sends keepalive probes in FIN_WAIT_2 (`tcp_write_wakeup`), and a
/// half-closed connection whose peer answers lives on. Fixed in afb98ca.
#[test]
fn keepalive_probes_leave_in_fin_wait_2_and_a_live_peer_keeps_the_connection() {
    let config = StackConfig {
        tcp_keepalive_time: 60,
        tcp_keepalive_intvl: 5,
        tcp_keepalive_probes: 3,
        ..StackConfig::default()
    };
    let mut sim = Sim::new(2, &config, LinkConfig::default(), 1);
    let probes = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let seen = probes.clone();
    // Keepalive probes from stack 0: no payload, no flags but ACK, one below what the peer
    // expects (so it must answer).
    sim.set_tap(move |_, from, frame| {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return;
        };
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            return;
        };
        if let Ok(seg) = TcpRepr::parse(&tcp, ip.src_addr(), ip.dst_addr(), false)
            && from == 0
            && seg.payload_len == 0
            && seg.flags.is_empty()
            && seg.ack_number.is_some()
        {
            seen.set(seen.get() + 1);
        }
    });
    let (server, client) = connected(&mut sim);
    sim.stacks[0]
        .tcp_shutdown(server, Shutdown::Write)
        .expect("shutdown");
    sim.stacks[0]
        .tcp_set_keepalive(server, true)
        .expect("keepalive");
    sim.advance(Duration::from_millis(50));
    assert_eq!(
        sim.stacks[0].tcp_state(server).ok(),
        Some(TcpState::FinWait2)
    );
    let before = probes.get();
    // Idle for ten keepalive periods: the peer is there all along.
    sim.advance(Duration::from_secs(10 * 60));
    let counted = sim.stacks[0].counters().get(Counter::TcpExtTCPKeepAlive);
    assert!(counted > 0, "keepalive never fired");
    assert!(
        probes.get() - before >= counted as u32,
        "{counted} keepalive probes counted, {} sent",
        probes.get() - before
    );
    assert_eq!(
        sim.stacks[0].tcp_state(server).ok(),
        Some(TcpState::FinWait2),
        "a half-closed connection with a live peer was dropped"
    );
    // And the peer can still send.
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(
        sim.stacks[1].tcp_poll_write(client, &mut cx, b"still here"),
        Poll::Ready(Ok(10))
    ));
    sim.advance(Duration::from_millis(50));
    let mut buf = [0u8; 16];
    assert!(matches!(
        sim.stacks[0].tcp_poll_read(server, &mut cx, &mut buf),
        Poll::Ready(Ok(10))
    ));
}

/// Found by `frames` (input `fuzz/regressions/frames/rack-retransmission-same-instant`): two
/// stacks exchanging segments within one virtual instant looped forever. The peer resent a
/// segment RACK had called lost; a SACK for new data sent in the same instant then made RACK
/// call the resend lost again at once (zero RTT, zero reordering window), because RACK's
/// tie-break for equal send times takes sequence order as send order, which a retransmission
/// is not. The rule is tested where it lives: the unit test
/// `tcp::rack::tests::a_retransmission_in_the_same_instant_is_not_sent_before`; here the
/// committed input replays through the harness (see `fuzz_smoke.rs`), so this only checks that
/// the file is there.
#[test]
fn rack_same_instant_retransmission_input_is_kept() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/regressions/frames/rack-retransmission-same-instant"
    );
    assert!(std::fs::metadata(path).is_ok_and(|m| m.len() > 0));
}
