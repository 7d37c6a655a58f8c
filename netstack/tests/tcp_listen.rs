//! Listeners on the deterministic simulator, against Linux's rules:
//!
//! - The accept queue of a listener with backlog N holds N + 1 connections (`sk_acceptq_is_full`
//!   compares with `>`); while it is full, SYNs still become requests until two young ones are
//!   queued (`inet_csk_reqsk_queue_young`), then are dropped (`TcpExtListenOverflows`,
//!   `TcpExtListenDrops`, per-listener stats); everything gets in once accept drains the queue.
//! - A final ACK that finds the queue full is dropped (the handshake completes later), or with
//!   `tcp_abort_on_overflow` answered with a RST.
//! - The backlog is clamped to `somaxconn`; backlog 0 still admits one.
//! - A half-open connection is dropped after `tcp_synack_retries` (SYN-ACKs at 0, 1, 3, 7, 15,
//!   31 s, gone at 63 s).
//! - Data, FIN and RST that arrive before accept are kept for the accepted socket; accepted
//!   sockets inherit the listener's options.
//! - Closing a listener resets the connections waiting in it (and its half-open ones); the
//!   port can be listened on again, also while old connections sit in TIME_WAIT (with
//!   SO_REUSEADDR; without it, `AddrInUse`).
//! - Per-listener stats are kept apart.
//! - Many clients (five stacks, several connections each) are accepted, get distinct ephemeral
//!   ports, and every byte reaches the right connection both ways.
//! - The SYN queue holds `roundup_pow_of_two(max(8, min(backlog, tcp_max_syn_backlog)) + 1)`
//!   (Linux's `reqsk_queue_alloc`): beyond it, SYNs are dropped (`TcpExtTCPReqQFullDrop`) with
//!   `tcp_syncookies = 0`, and answered with SYN cookies with the default `tcp_syncookies = 1`.

#[path = "support/apps.rs"]
mod apps;

use std::collections::HashSet;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::task::Poll;

use apps::*;
use sockeye_netstack::sim::{LinkConfig, Sim};
use sockeye_netstack::{Counter, ListenerStats, SocketHandle, StackConfig, TcpState};

fn sim_with(n: usize, config: &StackConfig) -> (Sim, Capture) {
    let mut sim = Sim::new(n, config, LinkConfig::default(), 5);
    let cap = Capture::install(&mut sim);
    (sim, cap)
}

/// Whether a client's connect has completed successfully.
fn connected(sim: &mut Sim, i: usize, c: SocketHandle) -> bool {
    matches!(poll_connect(&mut sim.stacks[i], c), Poll::Ready(Ok(())))
}

/// Connects from stack 0 to port 80 of stack 1 one at a time, never accepting, until a
/// connection fails to get in within 500 ms or `max` are in. Returns the clients that got in
/// and the one that did not (still in SYN_SENT).
fn fill(sim: &mut Sim, max: usize) -> (Vec<SocketHandle>, Option<SocketHandle>) {
    let mut ok = Vec::new();
    for _ in 0..max {
        let c = connect(sim, 0, 1, 80);
        if run_until(sim, ms(500), |s| connected(s, 0, c)) {
            sim.advance(ms(10));
            ok.push(c);
        } else {
            assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::SynSent);
            return (ok, Some(c));
        }
    }
    (ok, None)
}

#[test]
fn backlog_n_holds_n_plus_one_then_two_young_requests_then_syns_are_dropped() {
    let (mut sim, cap) = sim_with(2, &StackConfig::default());
    let l = listen(&mut sim, 1, 80, 2);
    let (ok, late) = fill(&mut sim, 10);
    // Backlog 2 queues 3. The next two SYNs still find fewer than two young requests and
    // become requests; their final ACKs overflow (the clients believe they are connected).
    // The sixth SYN finds two young requests and is dropped.
    assert_eq!(ok.len(), 5);
    let late = late.expect("the sixth waits");
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (3, 2));
    let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
    assert_eq!((stats.overflows, stats.drops), (3, 3), "{stats:?}");
    assert_eq!((stats.established, stats.accepted), (3, 0));
    let n = sim.stacks[1].counters();
    assert_eq!(n.get(Counter::TcpExtListenOverflows), 3);
    assert_eq!(n.get(Counter::TcpExtListenDrops), 3);
    let late_port = sim.stacks[0].tcp_local_addr(late).unwrap().port();
    assert!(
        cap.find(|x| x.from == 1 && x.dst.port() == late_port)
            .is_empty(),
        "no SYN-ACK for a dropped SYN"
    );

    // Accept as connections come: the half-open ones complete on their SYN-ACK
    // retransmission, the dropped one on its SYN retransmission.
    let mut accepted = Vec::new();
    let mut order = Vec::new();
    assert!(run_until(&mut sim, secs(5), |sim| {
        while let Some((h, peer)) = accept(&mut sim.stacks[1], l) {
            accepted.push(h);
            order.push(peer);
        }
        accepted.len() == 6
    }));
    assert!(connected(&mut sim, 0, late));
    assert_eq!(
        cap.find(|x| x.from == 0 && x.syn && x.src.port() == late_port)
            .len(),
        2,
        "one SYN retransmission"
    );
    // FIFO in the order the handshakes completed.
    let expect: Vec<_> = ok
        .iter()
        .chain([&late])
        .map(|c| sim.stacks[0].tcp_local_addr(*c).unwrap())
        .collect();
    assert_eq!(order, expect);
    for (c, s) in ok.iter().chain([&late]).zip(&accepted) {
        write_now(&mut sim.stacks[0], *c, b"ping").unwrap();
        let mut got = Vec::new();
        assert!(run_until(&mut sim, ms(500), |sim| {
            let _ = drain(&mut sim.stacks[1], *s, &mut got);
            got == b"ping"
        }));
    }
    let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
    assert_eq!((stats.established, stats.accepted), (6, 6));
}

/// Backlog 2 with two connections queued, then two clients at once: both SYNs are taken, the
/// first final ACK fills the queue (3) and the second finds it full. Returns the listener, the
/// queued clients and the client whose final ACK overflowed.
fn overflow_final_ack(sim: &mut Sim) -> (SocketHandle, Vec<SocketHandle>, SocketHandle) {
    let l = listen(sim, 1, 80, 2);
    let (mut queued, _) = fill(sim, 2);
    let c3 = connect(sim, 0, 1, 80);
    let c4 = connect(sim, 0, 1, 80);
    sim.advance(ms(20));
    queued.push(c3);
    let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
    assert_eq!((stats.overflows, stats.drops), (1, 1), "{stats:?}");
    assert_eq!(
        sim.stacks[1].counters().get(Counter::TcpExtListenOverflows),
        1
    );
    (l, queued, c4)
}

#[test]
fn a_final_ack_that_overflows_is_dropped_and_the_handshake_completes_after_accept() {
    let (mut sim, _cap) = sim_with(2, &StackConfig::default());
    let (l, _queued, c4) = overflow_final_ack(&mut sim);
    // The client thinks it is connected; the server keeps the half-open child.
    assert!(connected(&mut sim, 0, c4));
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (3, 1));
    write_now(&mut sim.stacks[0], c4, b"early data").unwrap();
    sim.advance(ms(500));
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (3, 1));

    accept(&mut sim.stacks[1], l).expect("queued");
    // The SYN-ACK retransmission (or the data retransmission) completes the handshake.
    let mut got = Vec::new();
    let mut s4 = None;
    assert!(run_until(&mut sim, secs(10), |sim| {
        while let Some((h, _)) = accept(&mut sim.stacks[1], l) {
            s4 = Some(h);
        }
        if let Some(h) = s4 {
            let _ = drain(&mut sim.stacks[1], h, &mut got);
        }
        got == b"early data"
    }));
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (0, 0));
    assert_eq!(sim.stacks[1].tcp_listener_stats(l).unwrap().established, 4);
}

#[test]
fn tcp_abort_on_overflow_answers_the_final_ack_with_a_reset() {
    let config = StackConfig {
        tcp_abort_on_overflow: true,
        ..StackConfig::default()
    };
    let (mut sim, cap) = sim_with(2, &config);
    let (l, queued, c4) = overflow_final_ack(&mut sim);
    let port = sim.stacks[0].tcp_local_addr(c4).unwrap().port();
    let rst = cap.find(|x| x.from == 1 && x.rst && x.dst.port() == port);
    assert_eq!(rst.len(), 1, "{}", cap.dump());
    // The client had completed its side of the handshake: the reset is ECONNRESET.
    let e = err_kind(drain(&mut sim.stacks[0], c4, &mut Vec::new()));
    assert_eq!(e, Some(ErrorKind::ConnectionReset));
    assert_eq!(sim.stacks[0].tcp_state(c4).unwrap(), TcpState::Closed);
    // The server forgot the child; the queued ones are intact.
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (3, 0));
    assert_eq!(sim.stacks[1].tcp_sockets(), 4);
    for c in queued {
        assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Established);
    }
}

#[test]
fn the_backlog_is_clamped_to_somaxconn_and_zero_still_admits_one() {
    let config = StackConfig {
        somaxconn: 1,
        ..StackConfig::default()
    };
    let (mut sim, _cap) = sim_with(2, &config);
    let l = listen(&mut sim, 1, 80, 1024);
    let (ok, late) = fill(&mut sim, 10);
    // Two queued (somaxconn 1 holds 2 whatever the backlog), then two young requests.
    assert_eq!(ok.len(), 4);
    assert!(late.is_some());
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (2, 2));
    assert_eq!(sim.stacks[1].tcp_listener_stats(l).unwrap().backlog, 1);

    let (mut sim, _cap) = sim_with(2, &StackConfig::default());
    let l = listen(&mut sim, 1, 80, 0);
    let (ok, _) = fill(&mut sim, 10);
    assert_eq!(ok.len(), 3, "backlog 0 holds 1, then two young requests");
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (1, 2));
}

#[test]
fn closing_a_listener_resets_its_queued_and_half_open_connections() {
    let (mut sim, cap) = sim_with(2, &StackConfig::default());
    let (l, queued, half_open) = overflow_final_ack(&mut sim);
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (3, 1));
    let now = sim.now;
    sim.stacks[1].tcp_close(now, l);
    assert!(sim.stacks[1].tcp_listener_stats(l).is_err(), "stale handle");
    // The queued ones are reset at once; the half-open one by its next event (at the latest
    // the SYN-ACK retransmission timer).
    sim.advance(ms(5));
    for &c in &queued {
        assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Closed);
    }
    sim.advance(secs(3));
    for c in queued.iter().chain([&half_open]) {
        let e = err_kind(drain(&mut sim.stacks[0], *c, &mut Vec::new()));
        assert_eq!(e, Some(ErrorKind::ConnectionReset), "{}", cap.dump());
    }
    assert_eq!(sim.stacks[1].tcp_sockets(), 0);
    assert_eq!(sim.stacks[1].counters().get(Counter::TcpOutRsts), 4);
    // The port is closed (a new connection is refused), then free for a new listener.
    let c = connect(&mut sim, 0, 1, 80);
    sim.advance(ms(10));
    assert_eq!(
        err_kind(poll_connect(&mut sim.stacks[0], c)),
        Some(ErrorKind::ConnectionRefused)
    );
    let l2 = listen(&mut sim, 1, 80, 4);
    let (_c, _s) = establish(&mut sim, 0, 1, l2, 80);
}

#[test]
fn each_listener_keeps_its_own_stats() {
    let (mut sim, _cap) = sim_with(2, &StackConfig::default());
    let a = listen(&mut sim, 1, 80, 0);
    let b = listen(&mut sim, 1, 81, 8);
    let (_, late) = fill(&mut sim, 5);
    assert!(late.is_some());
    let (c1, _s1) = establish(&mut sim, 0, 1, b, 81);
    let _c2 = connect(&mut sim, 0, 1, 81);
    sim.advance(ms(100));
    let sa = sim.stacks[1].tcp_listener_stats(a).unwrap();
    let sb = sim.stacks[1].tcp_listener_stats(b).unwrap();
    // A: one in, two final ACKs overflowed, the fourth SYN dropped (once: no retransmission
    // is due yet).
    assert_eq!((sa.established, sa.accepted, sa.overflows), (1, 0, 3));
    assert_eq!((sa.accept_queue_len, sa.syn_queue_len), (1, 2));
    assert_eq!(sa.drops, sa.overflows);
    assert_eq!(
        sb,
        ListenerStats {
            backlog: 8,
            syn_backlog: 16,
            accept_queue_len: 1,
            established: 2,
            accepted: 1,
            ..ListenerStats::default()
        }
    );
    let n = sim.stacks[1].counters();
    assert_eq!(
        n.get(Counter::TcpExtListenOverflows),
        sa.overflows + sb.overflows
    );
    // The nstat-style report lists both listeners after the global counters.
    let report = sim.stacks[1].nstat();
    assert_eq!(
        report
            .listeners
            .iter()
            .map(|r| (r.local.port(), r.stats))
            .collect::<Vec<_>>(),
        [(80, sa), (81, sb)]
    );
    let text = report.to_string();
    assert!(text.contains("TcpExtListenOverflows           3"), "{text}");
    assert!(
        text.contains("10.0.0.2:80           accept 1/0 syn 2/16 overflows 3 drops 3"),
        "{text}"
    );
    assert!(
        text.contains("10.0.0.2:81           accept 1/8 syn 0/16 overflows 0"),
        "{text}"
    );
    // Stats are for listeners only.
    let e = sim.stacks[0].tcp_listener_stats(c1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

/// One connection of the many-clients test: the client sends a message that starts with its
/// own address, the server echoes everything back.
struct Conn {
    stack: usize,
    client: SocketHandle,
    sent: Vec<u8>,
    echoed: Vec<u8>,
    done: bool,
}

#[test]
fn many_clients_are_accepted_with_distinct_ports_and_correct_demux() {
    const CLIENTS: usize = 5;
    const PER_CLIENT: usize = 4;
    let link = LinkConfig {
        jitter: ms(3),
        ..LinkConfig::default()
    };
    let mut sim = Sim::new(CLIENTS + 1, &StackConfig::default(), link, 9);
    let _cap = Capture::install(&mut sim);
    let l = listen(&mut sim, 0, 80, 64);
    let mut conns = Vec::new();
    for stack in 1..=CLIENTS {
        for k in 0..PER_CLIENT {
            let client = connect(&mut sim, stack, 0, 80);
            let me = sim.stacks[stack].tcp_local_addr(client).unwrap();
            let mut sent = format!("{me}|").into_bytes();
            sent.extend(pattern((stack * 100 + k) as u64, 20_000 + 1_000 * k));
            conns.push(Conn {
                stack,
                client,
                sent,
                echoed: Vec::new(),
                done: false,
            });
        }
    }
    // Server side: accepted connections, what they read, how much of it was echoed, EOF.
    let mut server: Vec<(SocketHandle, std::net::SocketAddrV4, Vec<u8>, usize, bool)> = Vec::new();
    let mut written = vec![0usize; conns.len()];
    let finished = run_until(&mut sim, secs(60), |sim| {
        while let Some((h, peer)) = accept(&mut sim.stacks[0], l) {
            server.push((h, peer, Vec::new(), 0, false));
        }
        for (i, c) in conns.iter_mut().enumerate() {
            let st = &mut sim.stacks[c.stack];
            if st.tcp_state(c.client).unwrap() == TcpState::SynSent {
                continue;
            }
            if written[i] < c.sent.len() {
                written[i] += write_now(st, c.client, &c.sent[written[i]..]).unwrap();
                if written[i] == c.sent.len() {
                    st.tcp_shutdown(c.client, Shutdown::Write).unwrap();
                }
            }
            if !c.done {
                c.done = drain(st, c.client, &mut c.echoed).is_ready();
            }
        }
        for (h, _, got, echoed, eof) in server.iter_mut() {
            let stack = &mut sim.stacks[0];
            if !*eof {
                *eof = drain(stack, *h, got).is_ready();
            }
            if *echoed < got.len() {
                *echoed += write_now(stack, *h, &got[*echoed..]).unwrap();
                if *eof && *echoed == got.len() {
                    stack.tcp_shutdown(*h, Shutdown::Write).unwrap();
                }
            }
        }
        conns.iter().all(|c| c.done)
    });
    assert!(finished, "not every exchange finished");
    assert_eq!(server.len(), CLIENTS * PER_CLIENT);
    // Every server connection read exactly the stream of the peer it names.
    let peers: HashSet<_> = server.iter().map(|s| s.1).collect();
    assert_eq!(peers.len(), server.len(), "peer addresses are distinct");
    for (h, peer, got, _, _) in &server {
        assert_eq!(sim.stacks[0].tcp_peer_addr(*h).unwrap(), *peer);
        let conn = conns
            .iter()
            .find(|c| c.sent.starts_with(format!("{peer}|").as_bytes()))
            .unwrap_or_else(|| panic!("{peer}: no client has this address"));
        assert!(
            *got == conn.sent,
            "{peer}: bytes differ: got {} want {}, first at {:?}",
            got.len(),
            conn.sent.len(),
            got.iter().zip(&conn.sent).position(|(a, b)| a != b)
        );
    }
    for c in &conns {
        assert!(
            c.echoed == c.sent,
            "client on stack {}: echo differs",
            c.stack
        );
    }
    // Each client's ports are distinct and ephemeral.
    for stack in 1..=CLIENTS {
        let ports: HashSet<u16> = conns
            .iter()
            .filter(|c| c.stack == stack)
            .map(|c| sim.stacks[stack].tcp_local_addr(c.client).unwrap().port())
            .collect();
        assert_eq!(ports.len(), PER_CLIENT);
        let (lo, hi) = StackConfig::default().ip_local_port_range;
        assert!(ports.iter().all(|p| (lo..=hi).contains(p)), "{ports:?}");
    }
    let stats = sim.stacks[0].tcp_listener_stats(l).unwrap();
    assert_eq!(
        (stats.established, stats.accepted, stats.drops),
        (20, 20, 0)
    );
    assert_eq!(sim.stacks[0].counters().get(Counter::TcpPassiveOpens), 20);
}

#[test]
fn a_half_open_connection_is_dropped_after_tcp_synack_retries() {
    let (mut sim, cap) = sim_with(2, &StackConfig::default());
    let l = listen(&mut sim, 1, 80, 16);
    refresh_arp(&mut sim, 0, 1);
    refresh_arp(&mut sim, 1, 0);
    let _c = connect(&mut sim, 0, 1, 80);
    // The SYN leaves at 0 and arrives at 1 ms; everything sent after it is lost.
    sim.advance(std::time::Duration::from_micros(500));
    sim.link.loss = 1.0;
    let t_syn = sockeye_netstack::Instant::from_millis(1);
    // tcp_synack_retries = 5: SYN-ACKs at 0, 1, 3, 7, 15, 31 s; dropped at 63 s.
    advance_dark_to(&mut sim, t_syn + ms(62_990), 1, 0);
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (0, 1));
    advance_dark(&mut sim, ms(20), 1, 0);
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (0, 0));
    assert_eq!(sim.stacks[1].tcp_sockets(), 1, "only the listener");
    let synacks: Vec<_> = cap
        .find(|x| x.from == 1 && x.syn)
        .iter()
        .map(|x| x.at - t_syn)
        .collect();
    let want: Vec<_> = [0, 1, 3, 7, 15, 31].map(secs).to_vec();
    assert!(
        synacks.len() == want.len() && synacks.iter().zip(&want).all(|(g, w)| near(*g, *w, ms(2))),
        "SYN-ACKs at {synacks:?}"
    );
    let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
    assert_eq!((stats.established, stats.accepted), (0, 0));
}

#[test]
fn data_fin_and_resets_that_arrive_before_accept_are_kept_for_it() {
    let (mut sim, _cap) = sim_with(2, &StackConfig::default());
    let l = listen(&mut sim, 1, 80, 16);
    // c1 sends a request and closes before the server accepts; c2 aborts.
    let c1 = connect(&mut sim, 0, 1, 80);
    let c2 = connect(&mut sim, 0, 1, 80);
    assert!(run_until(&mut sim, secs(1), |s| connected(s, 0, c1)
        && connected(s, 0, c2)));
    let request = pattern(5, 40_000);
    // The send buffer holds twice the initial window (autotuned from the 16 KB default).
    assert_eq!(write_now(&mut sim.stacks[0], c1, &request).unwrap(), 28_960);
    let mut sent = 28_960;
    assert!(run_until(&mut sim, secs(5), |s| {
        sent += write_now(&mut s.stacks[0], c1, &request[sent..]).unwrap();
        sent == request.len()
    }));
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c1);
    sim.stacks[0].tcp_abort(now, c2);
    sim.advance(secs(1));
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (2, 0));

    let (s1, _) = accept(&mut sim.stacks[1], l).unwrap();
    let (s2, _) = accept(&mut sim.stacks[1], l).unwrap();
    let mut got = Vec::new();
    assert!(matches!(
        drain(&mut sim.stacks[1], s1, &mut got),
        Poll::Ready(Ok(()))
    ));
    assert!(got == request, "request differs");
    assert_eq!(sim.stacks[1].tcp_state(s1).unwrap(), TcpState::CloseWait);
    // Linux: the reset child stays queued; accept returns it and the read reports the reset.
    assert_eq!(
        err_kind(drain(&mut sim.stacks[1], s2, &mut Vec::new())),
        Some(ErrorKind::ConnectionReset)
    );
}

#[test]
fn accepted_connections_inherit_the_listeners_options() {
    let (mut sim, cap) = sim_with(2, &StackConfig::default());
    let l = sim.stacks[1].tcp_socket();
    let st = &mut sim.stacks[1];
    st.tcp_bind(l, sa(1, 80)).unwrap();
    st.tcp_set_nodelay(l, true).unwrap();
    st.tcp_set_recv_buffer_size(l, 8_192).unwrap();
    st.tcp_listen(l, 4).unwrap();
    assert!(st.tcp_nodelay(l).unwrap());
    let (_c, s) = establish(&mut sim, 0, 1, l, 80);
    assert!(sim.stacks[1].tcp_nodelay(s).unwrap());
    assert!(sim.stacks[1].tcp_info(s).unwrap().rcv_wnd <= 8_192);
    let synack = cap.find(|x| x.from == 1 && x.syn)[0].clone();
    assert_eq!(
        synack.window, 8_192,
        "the SYN-ACK offers the inherited buffer"
    );
}

#[test]
fn a_listener_reopens_on_a_port_its_old_connections_hold_in_time_wait() {
    let (mut sim, _cap) = sim_with(2, &StackConfig::default());
    let l = listen(&mut sim, 1, 80, 16);
    let (c, s) = establish(&mut sim, 0, 1, l, 80);
    // The server closes first (its side goes to TIME_WAIT), then the listener goes.
    let now = sim.now;
    sim.stacks[1].tcp_close(now, s);
    sim.advance(ms(10));
    let now = sim.now;
    sim.stacks[0].tcp_close(now, c);
    sim.stacks[1].tcp_close(now, l);
    sim.advance(ms(10));
    assert_eq!(sim.stacks[1].tcp_sockets(), 1, "TIME_WAIT");
    // Without SO_REUSEADDR the port is busy (Linux: EADDRINUSE); with it (as
    // `TcpListener::bind` sets) a new listener starts and works.
    let h = sim.stacks[1].tcp_socket();
    let e = sim.stacks[1].tcp_bind(h, sa(1, 80)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse);
    let now = sim.now;
    sim.stacks[1].tcp_close(now, h);
    let l2 = listen(&mut sim, 1, 80, 16);
    let (_c2, _s2) = establish(&mut sim, 0, 1, l2, 80);
}

/// Twenty clients connect at the same instant to a listener with `backlog` whose SYN queue
/// holds 16 (`reqsk_queue_alloc`: max(8, min(backlog, tcp_max_syn_backlog)) + 1 rounded up to
/// a power of two); the server accepts whatever completes. Returns the clients, the listener,
/// the accepted connections and the largest SYN queue seen.
fn twenty_at_once(
    sim: &mut Sim,
    backlog: u32,
    until: std::time::Duration,
) -> (Vec<SocketHandle>, SocketHandle, usize, usize) {
    let l = listen(sim, 1, 80, backlog);
    assert_eq!(sim.stacks[1].tcp_listener_stats(l).unwrap().syn_backlog, 16);
    // Addresses resolved first: a burst of SYNs would overflow the ARP queue.
    refresh_arp(sim, 0, 1);
    refresh_arp(sim, 1, 0);
    let clients: Vec<_> = (0..20).map(|_| connect(sim, 0, 1, 80)).collect();
    let mut accepted = 0;
    let mut max_syn_queue = 0;
    run_until(sim, until, |sim| {
        while accept(&mut sim.stacks[1], l).is_some() {
            accepted += 1;
        }
        let (_, syn) = sim.stacks[1].tcp_listener_queues(l).unwrap();
        max_syn_queue = max_syn_queue.max(syn);
        false
    });
    (clients, l, accepted, max_syn_queue)
}

#[test]
fn a_full_syn_queue_drops_syns_without_syncookies() {
    let config = StackConfig {
        tcp_syncookies: 0,
        ..StackConfig::default()
    };
    let (mut sim, _cap) = sim_with(2, &config);
    // Backlog 15: SYN queue 16, accept queue 16.
    let (clients, l, accepted, max_syn) = twenty_at_once(&mut sim, 15, ms(500));
    assert_eq!(accepted, 16);
    assert_eq!(max_syn, 16);
    let n = sim.stacks[1].counters();
    assert_eq!(n.get(Counter::TcpExtTCPReqQFullDrop), 4);
    assert_eq!(n.get(Counter::TcpExtListenDrops), 4);
    assert_eq!(n.get(Counter::TcpExtListenOverflows), 0);
    assert_eq!(n.get(Counter::TcpExtSyncookiesSent), 0);
    let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
    assert_eq!((stats.drops, stats.overflows), (4, 0));
    // The SYN retransmissions at 1 s get in.
    let mut more = 0;
    assert!(run_until(&mut sim, secs(1), |sim| {
        while accept(&mut sim.stacks[1], l).is_some() {
            more += 1;
        }
        more == 4
    }));
    assert!(clients.iter().all(|c| connected(&mut sim, 0, *c)));
}

#[test]
fn a_full_syn_queue_answers_with_syncookies_by_default() {
    // Backlog 20 with tcp_max_syn_backlog 8: SYN queue 16, accept queue 21, so the cookie
    // ACKs (which arrive right behind the 16 final ACKs) find room.
    let config = StackConfig {
        tcp_max_syn_backlog: 8,
        ..StackConfig::default()
    };
    let (mut sim, cap) = sim_with(2, &config);
    let (clients, l, accepted, max_syn) = twenty_at_once(&mut sim, 20, ms(100));
    // Linux (`tcp_v4_conn_request`, tcp_syncookies = 1): the SYNs beyond the SYN queue get a
    // cookie SYN-ACK and their final ACKs create the connections; nobody waits for a
    // retransmission.
    assert_eq!(accepted, 20);
    assert_eq!(max_syn, 16);
    assert!(clients.iter().all(|c| connected(&mut sim, 0, *c)));
    let n = sim.stacks[1].counters();
    assert_eq!(n.get(Counter::TcpExtTCPReqQFullDoCookies), 4);
    assert_eq!(n.get(Counter::TcpExtSyncookiesSent), 4);
    assert_eq!(n.get(Counter::TcpExtSyncookiesRecv), 4);
    assert_eq!(n.get(Counter::TcpExtSyncookiesFailed), 0);
    assert_eq!(n.get(Counter::TcpExtTCPReqQFullDrop), 0);
    assert_eq!(n.get(Counter::TcpPassiveOpens), 20);
    let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
    assert_eq!(
        (stats.syncookies_sent, stats.syncookies_recv, stats.drops),
        (4, 4, 0)
    );
    assert_eq!(
        cap.find(|x| x.from == 0 && x.syn).len(),
        20,
        "no SYN retransmitted"
    );
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (0, 0));
}
