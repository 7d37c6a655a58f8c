//! Closing connections on the deterministic simulator, checked through the API (states,
//! errors), Linux's counters, and the segments on the link:
//!
//! - Orderly close in both orders (FIN_WAIT_1/2 and TIME_WAIT on the side that closes first,
//!   CLOSE_WAIT and LAST_ACK on the other) and simultaneous close (CLOSING, then TIME_WAIT on
//!   both sides).
//! - Half-close: the client shuts down writing and still reads everything the server sends.
//! - Close sends the buffered data before the FIN; close while connecting stops the SYNs.
//! - Close with unread data sends a RST instead of a FIN (`TcpExtTCPAbortOnClose`); the peer's
//!   read fails with `ConnectionReset`. `tcp_abort` resets too (`TcpExtTCPAbortOnLinger`).
//!   Data for a closed socket still in FIN_WAIT_2 is answered with a RST
//!   (`TcpExtTCPAbortOnData`), and so is data for a connection a rebooted peer forgot.
//! - A new SYN on the 4-tuple of a connection in TIME_WAIT reopens it.
//! - `tcp_poll_close` resolves once both directions are closed, then the handle is released.
//! - Every socket is freed in the end, and a handle used after close gives an error, never
//!   another socket's data, even when its slot was reused.

#[path = "support/apps.rs"]
mod apps;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::task::Poll;

use apps::*;
use sockeye_netstack::sim::{LinkConfig, Sim};
use sockeye_netstack::{Counter, SocketHandle, StackConfig, TcpState};

/// Two stacks on a clean 1 ms link with a listener on stack 1 and one connection.
fn pair() -> (Sim, Capture, SocketHandle, SocketHandle, SocketHandle) {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 11);
    let cap = Capture::install(&mut sim);
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    (sim, cap, l, c, s)
}

fn state(sim: &mut Sim, i: usize, h: SocketHandle) -> TcpState {
    sim.stacks[i].tcp_state(h).unwrap()
}

/// Reads until EOF or an error (at most `limit`): returns the bytes and the outcome.
fn read_to_end(
    sim: &mut Sim,
    i: usize,
    h: SocketHandle,
    limit: std::time::Duration,
) -> (Vec<u8>, Option<Result<(), ErrorKind>>) {
    let mut got = Vec::new();
    let mut end = None;
    run_until(sim, limit, |sim| {
        if let Poll::Ready(r) = drain(&mut sim.stacks[i], h, &mut got) {
            end = Some(r.map_err(|e| e.kind()));
        }
        end.is_some()
    });
    (got, end)
}

#[test]
fn orderly_close_in_both_orders() {
    for first in [0, 1] {
        let (mut sim, cap, _l, c, s) = pair();
        let h = [c, s];
        let second = 1 - first;
        sim.stacks[first]
            .tcp_shutdown(h[first], Shutdown::Write)
            .unwrap();
        assert_eq!(state(&mut sim, first, h[first]), TcpState::FinWait1);
        let (_, end) = read_to_end(&mut sim, second, h[second], secs(1));
        assert_eq!(end, Some(Ok(())), "EOF after the FIN");
        sim.advance(ms(10));
        assert_eq!(state(&mut sim, first, h[first]), TcpState::FinWait2);
        assert_eq!(state(&mut sim, second, h[second]), TcpState::CloseWait);

        sim.stacks[second]
            .tcp_shutdown(h[second], Shutdown::Write)
            .unwrap();
        assert_eq!(state(&mut sim, second, h[second]), TcpState::LastAck);
        let (_, end) = read_to_end(&mut sim, first, h[first], secs(1));
        assert_eq!(end, Some(Ok(())));
        sim.advance(ms(10));
        assert_eq!(state(&mut sim, first, h[first]), TcpState::TimeWait);
        assert_eq!(state(&mut sim, second, h[second]), TcpState::Closed);

        // On the wire: one FIN each, the second one acknowledging the first.
        let fins = cap.find(|x| x.fin);
        assert_eq!(fins.len(), 2, "{}", cap.dump());
        assert_eq!((fins[0].from, fins[1].from), (first, second));
        assert_eq!(fins[1].ack, Some(fins[0].seq.wrapping_add(1)));
        assert!(cap.find(|x| x.rst).is_empty());
        for stack in &sim.stacks {
            let n = stack.counters();
            assert_eq!(n.get(Counter::TcpCurrEstab), 0);
            assert_eq!(n.get(Counter::TcpEstabResets), 0);
        }
    }
}

#[test]
fn simultaneous_close_passes_through_closing_to_time_wait_on_both_sides() {
    let (mut sim, cap, _l, c, s) = pair();
    sim.stacks[0].tcp_shutdown(c, Shutdown::Write).unwrap();
    sim.stacks[1].tcp_shutdown(s, Shutdown::Write).unwrap();
    let mut seen = [Vec::new(), Vec::new()];
    run_until(&mut sim, secs(1), |sim| {
        for (i, h) in [(0, c), (1, s)] {
            let st = sim.stacks[i].tcp_state(h).unwrap();
            if seen[i].last() != Some(&st) {
                seen[i].push(st);
            }
        }
        false
    });
    let want = [TcpState::FinWait1, TcpState::Closing, TcpState::TimeWait];
    assert_eq!(seen[0], want, "{}", cap.dump());
    assert_eq!(seen[1], want);
    // Both FINs left at once, neither acknowledging the other's.
    let fins = cap.find(|x| x.fin);
    assert_eq!(fins.len(), 2);
    assert_eq!(fins[0].at, fins[1].at);
    // TIME_WAIT ends on both sides and frees everything but the listener.
    for (i, h) in [(0, c), (1, s)] {
        let now = sim.now;
        sim.stacks[i].tcp_close(now, h);
    }
    sim.advance(secs(61));
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    assert_eq!(sim.stacks[1].tcp_sockets(), 1);
}

#[test]
fn half_close_lets_the_client_read_everything_after_shutting_down_writing() {
    let (mut sim, _cap, _l, c, s) = pair();
    let request = pattern(1, 1_000);
    let response = pattern(2, 300_000);
    assert_eq!(write_now(&mut sim.stacks[0], c, &request).unwrap(), 1_000);
    sim.stacks[0].tcp_shutdown(c, Shutdown::Write).unwrap();
    assert_eq!(
        err_kind(sim.stacks[0].tcp_poll_write(c, &mut cx(), b"more")),
        Some(ErrorKind::BrokenPipe)
    );
    let (got, end) = read_to_end(&mut sim, 1, s, secs(1));
    assert_eq!((got, end), (request, Some(Ok(()))));
    sim.advance(ms(10));

    let mut flow = Flow::new((1, s), (0, c), response);
    let mut states = Vec::new();
    let done = run_until(&mut sim, secs(30), |sim| {
        flow.step(sim);
        if !flow.shut {
            states.push((state(sim, 0, c), state(sim, 1, s)));
        }
        flow.done()
    });
    assert!(done, "{:?}", flow.error);
    assert!(flow.received == flow.data, "response differs");
    // While the server was still sending, the client sat in FIN_WAIT_2, the server in
    // CLOSE_WAIT.
    assert!(states.len() > 10);
    assert!(
        states
            .iter()
            .all(|s| *s == (TcpState::FinWait2, TcpState::CloseWait)),
        "{states:?}"
    );
    sim.advance(ms(10));
    assert_eq!(state(&mut sim, 0, c), TcpState::TimeWait);
    assert_eq!(state(&mut sim, 1, s), TcpState::Closed);
    // Everything was read and acknowledged: TIME_WAIT holds no buffer memory.
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().allocated, (0, 0));
}

#[test]
fn close_with_unread_data_resets_the_peer() {
    let (mut sim, cap, _l, c, s) = pair();
    write_now(&mut sim.stacks[1], s, &[1u8; 1_000]).unwrap();
    sim.advance(ms(50));
    assert_eq!(sim.stacks[0].tcp_info(c).unwrap().recv_queued, 1_000);
    let now = sim.now;
    let mark = cap.mark();
    sim.stacks[0].tcp_close(now, c);
    let (_, end) = read_to_end(&mut sim, 1, s, secs(1));
    assert_eq!(end, Some(Err(ErrorKind::ConnectionReset)));
    assert_eq!(state(&mut sim, 1, s), TcpState::Closed);

    // A RST, no FIN, at the sequence number the peer expects.
    let from_client = cap.after(mark, |x| x.from == 0);
    assert_eq!(from_client.len(), 1, "{}", cap.dump());
    assert!(from_client[0].rst && !from_client[0].fin);
    let data = cap.find(|x| x.from == 1 && x.len > 0);
    assert_eq!(from_client[0].ack, data[0].seq.checked_add(1_000));
    assert_eq!(
        sim.stacks[0].counters().get(Counter::TcpExtTCPAbortOnClose),
        1
    );
    assert_eq!(sim.stacks[0].counters().get(Counter::TcpOutRsts), 1);
    assert_eq!(sim.stacks[0].tcp_sockets(), 0, "freed once the RST left");
    // After the reset the server's writes fail too, and its handle closes cleanly.
    assert!(sim.stacks[1].tcp_poll_write(s, &mut cx(), b"x").is_ready());
    let now = sim.now;
    sim.stacks[1].tcp_close(now, s);
    assert_eq!(sim.stacks[1].tcp_sockets(), 1);
}

#[test]
fn abort_resets_at_once() {
    let (mut sim, cap, _l, c, s) = pair();
    let mut flow = Flow::new((0, c), (1, s), pattern(3, 1_000_000));
    run_until(&mut sim, ms(30), |sim| {
        flow.step(sim);
        false
    });
    assert!(flow.sent > 0 && flow.received.len() < flow.data.len());
    let now = sim.now;
    let mark = cap.mark();
    sim.stacks[0].tcp_abort(now, c);
    assert_eq!(
        sim.stacks[0].tcp_state(c).unwrap_err().kind(),
        ErrorKind::NotConnected,
        "the handle is released"
    );
    sim.advance(ms(5));
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    let after = cap.after(mark, |x| x.from == 0);
    assert_eq!(after.len(), 1, "only a RST: {}", cap.dump());
    assert!(after[0].rst);
    assert_eq!(
        sim.stacks[0]
            .counters()
            .get(Counter::TcpExtTCPAbortOnLinger),
        1
    );
    // The server reads what arrived before the reset, then gets the error.
    let (_, end) = read_to_end(&mut sim, 1, s, secs(1));
    assert_eq!(end, Some(Err(ErrorKind::ConnectionReset)));
    assert_eq!(sim.stacks[1].counters().get(Counter::TcpEstabResets), 1);
}

#[test]
fn poll_close_resolves_once_both_directions_are_closed() {
    let (mut sim, _cap, _l, c, s) = pair();
    let poll_close = |sim: &mut Sim, i: usize, h: SocketHandle| {
        let now = sim.now;
        sim.stacks[i].tcp_poll_close(now, h, &mut cx())
    };
    assert!(poll_close(&mut sim, 0, c).is_pending());
    let (_, end) = read_to_end(&mut sim, 1, s, secs(1));
    assert_eq!(end, Some(Ok(())));
    // The server takes its time: the client's close stays pending in FIN_WAIT_2.
    sim.advance(secs(5));
    assert_eq!(state(&mut sim, 0, c), TcpState::FinWait2);
    assert!(poll_close(&mut sim, 0, c).is_pending());

    // The server closes the same way; both resolve.
    let mut done = [false, false];
    assert!(run_until(&mut sim, secs(1), |sim| {
        for (i, h) in [(0, c), (1, s)] {
            if !done[i] {
                match poll_close(sim, i, h) {
                    Poll::Ready(r) => {
                        r.unwrap();
                        done[i] = true;
                    }
                    Poll::Pending => {}
                }
            }
        }
        done == [true, true]
    }));
    // Both handles are released; the client's TIME_WAIT lingers, then goes too.
    assert!(sim.stacks[0].tcp_state(c).is_err());
    assert!(sim.stacks[1].tcp_state(s).is_err());
    assert_eq!(sim.stacks[1].tcp_sockets(), 1, "only the listener");
    assert_eq!(sim.stacks[0].tcp_sockets(), 1, "TIME_WAIT");
    sim.advance(secs(61));
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    // Polling a released handle is an error, not a hang.
    assert_eq!(
        err_kind(poll_close(&mut sim, 0, c)),
        Some(ErrorKind::NotConnected)
    );
}

#[test]
fn a_stale_handle_never_reaches_the_socket_that_reuses_its_slot() {
    let (mut sim, _cap, l, c1, s1) = pair();
    let now = sim.now;
    sim.stacks[0].tcp_abort(now, c1);
    sim.stacks[1].tcp_abort(now, s1);
    sim.advance(ms(10));
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    let (c2, s2) = establish(&mut sim, 0, 1, l, 80);
    assert_eq!(c2.index(), c1.index(), "the slot is reused");
    assert_ne!(c2, c1);
    assert_eq!(s2.index(), s1.index());
    assert_ne!(s2, s1);

    write_now(&mut sim.stacks[1], s2, b"for c2 only").unwrap();
    sim.advance(ms(10));
    let st = &mut sim.stacks[0];
    let mut buf = [0u8; 64];
    assert_eq!(
        err_kind(st.tcp_poll_read(c1, &mut cx(), &mut buf)),
        Some(ErrorKind::NotConnected)
    );
    assert_eq!(
        err_kind(st.tcp_poll_write(c1, &mut cx(), b"x")),
        Some(ErrorKind::NotConnected)
    );
    assert!(st.tcp_info(c1).is_err());
    assert!(st.tcp_state(c1).is_err());
    assert!(st.tcp_peer_addr(c1).is_err());
    assert!(st.tcp_shutdown(c1, Shutdown::Both).is_err());
    assert!(st.tcp_set_nodelay(c1, true).is_err());
    assert!(st.tcp_poll_connect(c1, &mut cx()).is_ready());
    // Closing or aborting the stale handle leaves the new connection alone.
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c1);
    sim.stacks[0].tcp_abort(now, c1);
    sim.stacks[1].tcp_abort(now, s1);
    sim.advance(ms(10));
    assert_eq!(state(&mut sim, 0, c2), TcpState::Established);
    assert_eq!(state(&mut sim, 1, s2), TcpState::Established);
    let mut got = Vec::new();
    assert!(drain(&mut sim.stacks[0], c2, &mut got).is_pending());
    assert_eq!(got, b"for c2 only");
}

#[test]
fn every_socket_is_freed_after_all_kinds_of_close() {
    let (mut sim, _cap, l, c, s) = pair();
    // Graceful close, client first.
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c);
    sim.advance(ms(10));
    let now = sim.now;
    sim.stacks[1].tcp_close(now, s);
    // Unread data, then close; abort; a connect that is refused; a socket never connected.
    let (c2, s2) = establish(&mut sim, 0, 1, l, 80);
    write_now(&mut sim.stacks[0], c2, b"unread").unwrap();
    sim.advance(ms(10));
    let now = sim.now;
    sim.stacks[1].tcp_close(now, s2);
    let (c3, s3) = establish(&mut sim, 0, 1, l, 80);
    let now = sim.now;
    sim.stacks[0].tcp_abort(now, c3);
    let c4 = connect(&mut sim, 0, 1, 9);
    let fresh = sim.stacks[0].tcp_socket();
    sim.advance(ms(50));
    assert_eq!(
        err_kind(poll_connect(&mut sim.stacks[0], c4)),
        Some(ErrorKind::ConnectionRefused)
    );
    let now = sim.now;
    for h in [c2, c4, fresh] {
        sim.stacks[0].tcp_close(now, h);
    }
    // The server's socket for c3 was reset by the abort, but its handle is still open: it
    // stays (CLOSED, reporting the reset) until closed.
    assert_eq!(state(&mut sim, 1, s3), TcpState::Closed);
    assert_eq!(sim.stacks[1].tcp_sockets(), 2);
    sim.stacks[1].tcp_close(now, s3);
    assert_eq!(sim.stacks[1].tcp_sockets(), 1, "only the listener");
    // The client's TIME_WAIT (from the first, graceful close) ends too.
    sim.advance(secs(61));
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    let n = sim.stacks[0].counters();
    assert_eq!(n.get(Counter::TcpCurrEstab), 0);
}

#[test]
fn close_sends_the_buffered_data_before_the_fin() {
    let (mut sim, cap, _l, c, s) = pair();
    let data = pattern(7, 16_384);
    assert_eq!(write_now(&mut sim.stacks[0], c, &data).unwrap(), data.len());
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c);
    let (got, end) = read_to_end(&mut sim, 1, s, secs(5));
    assert_eq!(end, Some(Ok(())));
    assert!(got == data, "bytes differ");
    let first = cap.find(|x| x.from == 0 && x.len > 0)[0].seq;
    let fin = cap.find(|x| x.from == 0 && x.fin);
    assert_eq!(fin.len(), 1);
    assert_eq!(
        fin[0].seq.wrapping_add(fin[0].len as u32),
        first.wrapping_add(16_384),
        "the FIN follows the last byte"
    );
    assert!(cap.find(|x| x.rst).is_empty());
    // The orphan finishes on its own once the server closes too.
    let now = sim.now;
    sim.stacks[1].tcp_close(now, s);
    sim.advance(secs(61));
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    assert_eq!(sim.stacks[1].tcp_sockets(), 1);
}

#[test]
fn closing_while_connecting_stops_the_syn_retransmissions() {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 13);
    let cap = Capture::install(&mut sim);
    refresh_arp(&mut sim, 0, 1);
    sim.link.loss = 1.0;
    let c = connect(&mut sim, 0, 1, 80);
    advance_dark(&mut sim, ms(2_500), 0, 1);
    assert_eq!(cap.find(|x| x.syn).len(), 2);
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c);
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    advance_dark(&mut sim, secs(200), 0, 1);
    assert_eq!(cap.find(|x| x.syn).len(), 2, "{}", cap.dump());
    assert!(
        cap.find(|x| x.rst).is_empty(),
        "nothing to reset before a SYN-ACK"
    );
}

#[test]
fn a_new_syn_reopens_a_connection_in_time_wait() {
    let mut sim = Sim::new(2, &StackConfig::default(), LinkConfig::default(), 17);
    let _cap = Capture::install(&mut sim);
    let l = listen(&mut sim, 1, 80, 16);
    let bound_connect = |sim: &mut Sim| {
        let now = sim.now;
        let st = &mut sim.stacks[0];
        let h = st.tcp_socket();
        st.tcp_set_reuseaddr(h, true).unwrap();
        st.tcp_bind(h, sa(0, 5000)).unwrap();
        st.tcp_connect(now, h, sa(1, 80)).unwrap();
        h
    };
    let c = bound_connect(&mut sim);
    let mut s = None;
    assert!(run_until(&mut sim, secs(1), |sim| {
        s = s.or_else(|| accept(&mut sim.stacks[1], l).map(|a| a.0));
        s.is_some()
    }));
    // The server closes first: it is the one left in TIME_WAIT.
    let now = sim.now;
    sim.stacks[1].tcp_close(now, s.unwrap());
    let (_, end) = read_to_end(&mut sim, 0, c, secs(1));
    assert_eq!(end, Some(Ok(())));
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c);
    sim.advance(secs(1));
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    assert_eq!(sim.stacks[1].tcp_sockets(), 2, "listener and TIME_WAIT");

    // Same 4-tuple, a higher ISN: the TIME_WAIT gives way and the listener takes the SYN.
    let c2 = bound_connect(&mut sim);
    let mut s2 = None;
    assert!(run_until(&mut sim, secs(1), |sim| {
        s2 = s2.or_else(|| accept(&mut sim.stacks[1], l));
        s2.is_some() && poll_connect(&mut sim.stacks[0], c2).is_ready()
    }));
    assert_eq!(s2.unwrap().1, sa(0, 5000));
    assert_eq!(
        sim.stacks[1].tcp_sockets(),
        2,
        "listener and the new connection"
    );
    write_now(&mut sim.stacks[0], c2, b"again").unwrap();
    let mut got = Vec::new();
    assert!(run_until(&mut sim, secs(1), |sim| {
        let _ = drain(&mut sim.stacks[1], s2.unwrap().0, &mut got);
        got == b"again"
    }));
}

#[test]
fn a_restarted_peer_answers_with_a_reset() {
    let (mut sim, cap, _l, c, _s) = pair();
    // Stack 1 reboots: same addresses, no memory of the connection.
    sim.stacks[1] = fresh_stack(1, 1500, 99);
    let mark = cap.mark();
    write_now(&mut sim.stacks[0], c, b"hello?").unwrap();
    let (_, end) = read_to_end(&mut sim, 0, c, secs(2));
    assert_eq!(end, Some(Err(ErrorKind::ConnectionReset)));
    let rst = cap.after(mark, |x| x.from == 1);
    assert_eq!(rst.len(), 1);
    assert!(rst[0].rst);
    assert_eq!(
        err_kind(sim.stacks[0].tcp_poll_write(c, &mut cx(), b"x")),
        Some(ErrorKind::BrokenPipe),
        "after the reset was reported, writes get EPIPE"
    );
}

#[test]
fn data_for_a_closed_socket_in_fin_wait_2_is_answered_with_a_reset() {
    let (mut sim, cap, _l, c, s) = pair();
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c);
    sim.advance(ms(10));
    assert_eq!(sim.stacks[1].tcp_state(s).unwrap(), TcpState::CloseWait);
    assert_eq!(sim.stacks[0].tcp_sockets(), 1, "orphaned FIN_WAIT_2");
    // Nobody can read this any more: Linux resets (TCPAbortOnData) rather than ACK it.
    let mark = cap.mark();
    write_now(&mut sim.stacks[1], s, b"anyone there?").unwrap();
    sim.advance(ms(10));
    let answer = cap.after(mark, |x| x.from == 0);
    assert_eq!(answer.len(), 1, "{}", cap.dump());
    assert!(answer[0].rst);
    assert_eq!(
        sim.stacks[0].counters().get(Counter::TcpExtTCPAbortOnData),
        1
    );
    assert_eq!(sim.stacks[0].tcp_sockets(), 0);
    assert_eq!(sim.stacks[1].tcp_state(s).unwrap(), TcpState::Closed);
}
