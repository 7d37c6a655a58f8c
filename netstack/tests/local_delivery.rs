//! Traffic from a stack to its own address on a device that does not loop frames back (a TAP,
//! a raw socket, here the simulator's link): it never reaches the wire but is delivered
//! through the receive backlog, the way Linux routes it through `lo`. A connection to
//! ourselves carries 1 MiB each way, a UDP datagram to ourselves arrives, and the link sees
//! no frame at all (no ARP for our own address either).

#[path = "support/apps.rs"]
mod apps;

use std::task::Poll;

use apps::{cx, drain, establish, listen, pattern, run_until, sa, secs, write_now};
use sockeye_netstack::sim::{LinkConfig, Sim};
use sockeye_netstack::{Counter, StackConfig};

#[test]
fn a_stack_talks_to_its_own_address_without_the_wire() {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 5);
    let l = listen(&mut sim, 0, 80, 16);
    let (c, s) = establish(&mut sim, 0, 0, l, 80);
    let up = pattern(1, 1 << 20);
    let down = pattern(2, 1 << 20);
    let (mut sent_up, mut sent_down) = (0, 0);
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let done = run_until(&mut sim, secs(30), |sim| {
        let st = &mut sim.stacks[0];
        sent_up += write_now(st, c, &up[sent_up..]).unwrap();
        sent_down += write_now(st, s, &down[sent_down..]).unwrap();
        let _ = drain(st, s, &mut got_up);
        let _ = drain(st, c, &mut got_down);
        got_up.len() == up.len() && got_down.len() == down.len()
    });
    assert!(
        done,
        "{} and {} bytes arrived",
        got_up.len(),
        got_down.len()
    );
    assert!(got_up == up && got_down == down, "bytes differ");
    assert_eq!(sim.stats.sent, 0, "nothing went on the link");
    let c0 = sim.stacks[0].counters();
    assert_eq!(c0.get(Counter::DevArpOut), 0);
    assert_eq!(c0.get(Counter::TcpRetransSegs), 0);
    assert_eq!(c0.get(Counter::TcpPassiveOpens), 1);

    // UDP to ourselves too.
    let st = &mut sim.stacks[0];
    let a = st.udp_bind(sa(0, 5000)).unwrap();
    let b = st.udp_bind(sa(0, 5001)).unwrap();
    let now = sim.now;
    assert!(matches!(
        st.udp_poll_send_to(now, a, &mut cx(), b"to myself", sa(0, 5001)),
        Poll::Ready(Ok(9))
    ));
    let mut buf = [0u8; 32];
    let got = run_until(&mut sim, secs(1), |sim| {
        matches!(
            sim.stacks[0].udp_poll_recv_from(b, &mut cx(), &mut buf),
            Poll::Ready(Ok((9, from))) if from == sa(0, 5000)
        )
    });
    assert!(got, "the datagram arrived");
    assert_eq!(&buf[..9], b"to myself");
    assert_eq!(sim.stats.sent, 0);
}
