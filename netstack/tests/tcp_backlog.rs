//! The listen-backlog scenarios of the project's source documents, on the deterministic
//! simulator (virtual time):
//!
//! - a single-task server that spends 100 ms on each connection before it calls accept again,
//!   hit by a burst of 10 connects: the accept queue absorbs the burst and all 10 are served
//!   within about a second, none refused;
//! - backlog 2 with accept paused: the fourth handshake's final ACK overflows and is dropped,
//!   the SYN-ACK is retransmitted, the client's early data waits; once accept resumes every
//!   connection completes and every byte arrives; `ListenOverflows` and the listener's
//!   `overflows` count it;
//! - the same with `tcp_abort_on_overflow = 1`: the fourth client is reset;
//! - a flood of 100,000 SYNs from spoofed addresses: with SYN cookies (the default) a
//!   legitimate client still connects and transfers data while the SYN queue stays within
//!   its bound and no state is kept per flood SYN; without them the flood fills the SYN queue
//!   and the legitimate SYNs are dropped (`TCPReqQFullDrop`).

#[path = "support/apps.rs"]
mod apps;

use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::task::Poll;
use std::time::Duration;

use apps::*;
use etherparse::{PacketBuilder, TcpOptionElement};
use sockeye_netstack::route::Route;
use sockeye_netstack::sim::{self, LinkConfig, Sim};
use sockeye_netstack::{Counter, IfaceId, Instant, Ipv4Cidr, SocketHandle, StackConfig, TcpState};

fn sim_with(n: usize, config: &StackConfig) -> (Sim, Capture) {
    let mut sim = Sim::new(n, config, LinkConfig::default(), 17);
    let cap = Capture::install(&mut sim);
    (sim, cap)
}

fn connected(sim: &mut Sim, i: usize, c: SocketHandle) -> bool {
    matches!(poll_connect(&mut sim.stacks[i], c), Poll::Ready(Ok(())))
}

/// What the single-task server is doing.
enum Server {
    /// Waiting in accept.
    Accepting,
    /// Handling a connection accepted at `since`: reads its request, answers after 100 ms.
    Serving {
        conn: SocketHandle,
        since: Instant,
        request: Vec<u8>,
    },
}

#[test]
fn a_slow_single_task_server_serves_a_burst_of_ten_within_a_second() {
    let (mut sim, cap) = sim_with(2, &StackConfig::default());
    let l = listen(&mut sim, 1, 80, 128);
    refresh_arp(&mut sim, 0, 1);
    refresh_arp(&mut sim, 1, 0);
    let clients: Vec<SocketHandle> = (0..10).map(|_| connect(&mut sim, 0, 1, 80)).collect();
    let start = sim.now;
    let mut server = Server::Accepting;
    let mut sent_request = [false; 10];
    let mut replies: Vec<Vec<u8>> = vec![Vec::new(); 10];
    let mut done_at: Vec<Option<Duration>> = vec![None; 10];
    let mut serve_order = Vec::new();
    let reply = pattern(9, 2_000);
    // The application runs every millisecond (the server's 100 ms are a deadline of its own).
    let mut finished = false;
    while !finished && sim.now - start < secs(3) {
        let sim = &mut sim;
        for (i, &c) in clients.iter().enumerate() {
            if !sent_request[i] && connected(sim, 0, c) {
                let n = write_now(&mut sim.stacks[0], c, b"GET / HTTP/1.0\r\n\r\n").unwrap();
                assert_eq!(n, 18);
                sent_request[i] = true;
            }
            if done_at[i].is_none()
                && let Poll::Ready(r) = drain(&mut sim.stacks[0], c, &mut replies[i])
            {
                r.expect("no client is refused or reset");
                done_at[i] = Some(sim.now - start);
            }
        }
        // The server: one connection at a time, 100 ms each.
        match &mut server {
            Server::Accepting => {
                if let Some((conn, peer)) = accept(&mut sim.stacks[1], l) {
                    serve_order.push(peer.port());
                    server = Server::Serving {
                        conn,
                        since: sim.now,
                        request: Vec::new(),
                    };
                }
            }
            Server::Serving {
                conn,
                since,
                request,
            } => {
                let _ = drain(&mut sim.stacks[1], *conn, request);
                if request.len() == 18 && sim.now - *since >= ms(100) {
                    assert_eq!(write_now(&mut sim.stacks[1], *conn, &reply).unwrap(), 2_000);
                    let now = sim.now;
                    sim.stacks[1].tcp_close(now, *conn);
                    server = Server::Accepting;
                }
            }
        }
        finished = done_at.iter().all(Option::is_some);
        sim.advance(ms(1));
    }
    assert!(finished, "served: {done_at:?}");
    for r in &replies {
        assert!(*r == reply, "a reply differs");
    }
    // Served in connect order, one per 100 ms, the last within about a second.
    let ports: Vec<u16> = clients
        .iter()
        .map(|c| sim.stacks[0].tcp_local_addr(*c).unwrap().port())
        .collect();
    assert_eq!(serve_order, ports);
    for (i, t) in done_at.iter().enumerate() {
        let t = t.unwrap();
        let want = ms(100 * (i as u64 + 1));
        assert!(t >= want && t < want + ms(20), "client {i} done at {t:?}");
    }
    let n = sim.stacks[1].counters();
    assert_eq!(n.get(Counter::TcpExtListenOverflows), 0);
    assert_eq!(n.get(Counter::TcpExtListenDrops), 0);
    assert_eq!(n.get(Counter::TcpPassiveOpens), 10);
    assert_eq!(cap.find(|x| x.rst).len(), 0, "nobody refused");
    assert_eq!(
        cap.find(|x| x.from == 0 && x.syn).len(),
        10,
        "no SYN retried"
    );
    let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
    assert_eq!(
        (stats.established, stats.accepted, stats.drops),
        (10, 10, 0)
    );
}

/// Backlog 2, accept paused: four clients connect one after the other and each writes 20 kB
/// at once (all of it fits their send buffers, sized for the initial window). Returns the
/// listener, the clients and their data.
fn four_clients_with_early_data(sim: &mut Sim) -> (SocketHandle, Vec<SocketHandle>, Vec<Vec<u8>>) {
    let l = listen(sim, 1, 80, 2);
    let mut clients = Vec::new();
    let mut data = Vec::new();
    for i in 0..4 {
        let c = connect(sim, 0, 1, 80);
        assert!(run_until(sim, ms(100), |s| connected(s, 0, c)));
        let d = pattern(i, 20_000);
        assert_eq!(write_now(&mut sim.stacks[0], c, &d).unwrap(), 20_000);
        clients.push(c);
        data.push(d);
        sim.advance(ms(10));
    }
    (l, clients, data)
}

#[test]
fn an_overflowing_final_ack_waits_for_accept_and_loses_no_early_data() {
    let (mut sim, cap) = sim_with(2, &StackConfig::default());
    let (l, clients, data) = four_clients_with_early_data(&mut sim);
    let mut sent = [20_000; 4];
    // Accept stays paused for 5 s while the clients keep writing.
    run_until(&mut sim, secs(5), |sim| {
        for (i, &c) in clients.iter().enumerate() {
            sent[i] += write_now(&mut sim.stacks[0], c, &data[i][sent[i]..]).unwrap();
        }
        false
    });
    // Three fit the accept queue (backlog 2 holds 3); the fourth is still a request whose
    // final ACK (and every data segment since) was dropped.
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (3, 1));
    let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
    assert!(stats.overflows >= 1, "{stats:?}");
    assert_eq!(stats.drops, stats.overflows);
    let n = sim.stacks[1].counters();
    assert_eq!(n.get(Counter::TcpExtListenOverflows), stats.overflows);
    assert_eq!(n.get(Counter::TcpExtListenDrops), stats.drops);
    let port4 = sim.stacks[0].tcp_local_addr(clients[3]).unwrap().port();
    let synacks = cap.find(|x| x.from == 1 && x.syn && x.dst.port() == port4);
    assert!(synacks.len() >= 3, "SYN-ACK retransmitted: {synacks:?}");
    assert_eq!(
        sim.stacks[0].tcp_state(clients[3]).unwrap(),
        TcpState::Established
    );
    let info = sim.stacks[0].tcp_info(clients[3]).unwrap();
    assert!(
        info.send_queued == 20_000,
        "the fourth client's data is held: {info:?}"
    );

    // Accept resumes: every connection completes and every byte arrives.
    let mut accepted: Vec<(SocketHandle, u16)> = Vec::new();
    let mut got: Vec<Vec<u8>> = vec![Vec::new(); 4];
    assert!(run_until(&mut sim, secs(60), |sim| {
        while let Some((h, peer)) = accept(&mut sim.stacks[1], l) {
            accepted.push((h, peer.port()));
        }
        for (i, &c) in clients.iter().enumerate() {
            sent[i] += write_now(&mut sim.stacks[0], c, &data[i][sent[i]..]).unwrap();
        }
        for &(h, port) in &accepted {
            let i = clients
                .iter()
                .position(|c| sim.stacks[0].tcp_local_addr(*c).unwrap().port() == port)
                .unwrap();
            let _ = drain(&mut sim.stacks[1], h, &mut got[i]);
        }
        got.iter().zip(&data).all(|(g, d)| g.len() == d.len())
    }));
    assert_eq!(got, data);
    assert_eq!(sim.stacks[1].tcp_listener_stats(l).unwrap().established, 4);
}

#[test]
fn with_tcp_abort_on_overflow_the_overflowing_client_is_reset() {
    let config = StackConfig {
        tcp_abort_on_overflow: true,
        ..StackConfig::default()
    };
    let (mut sim, cap) = sim_with(2, &config);
    let (l, clients, _data) = four_clients_with_early_data(&mut sim);
    sim.advance(ms(100));
    let port4 = sim.stacks[0].tcp_local_addr(clients[3]).unwrap().port();
    // The final ACK is answered with a RST (and so is each data segment already in flight).
    let rsts = cap.find(|x| x.from == 1 && x.rst && x.dst.port() == port4);
    let synack = cap.find(|x| x.from == 1 && x.syn && x.dst.port() == port4);
    assert!(!rsts.is_empty() && synack.len() == 1, "{}", cap.dump());
    let e = write_now(&mut sim.stacks[0], clients[3], b"more").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    assert_eq!(sim.stacks[1].tcp_listener_queues(l).unwrap(), (3, 0));
    let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
    assert_eq!((stats.overflows, stats.drops), (1, 1));
    for &c in &clients[..3] {
        assert_eq!(sim.stacks[0].tcp_state(c).unwrap(), TcpState::Established);
    }
}

/// The attacker: stack 2, which also stands in for the router the server sends replies to
/// spoofed (off-link) addresses through.
const ATTACKER: usize = 2;

/// A SYN from a spoofed address in 198.18.0.0/15 (the benchmarking range) to port 80 of
/// stack 1, sent from the attacker's MAC.
fn spoofed_syn(i: u32) -> Vec<u8> {
    let src = Ipv4Addr::from(0xc612_0000 | (i & 0x1_ffff));
    let port = 1024 + (i % 60_000) as u16;
    let builder = PacketBuilder::ethernet2(sim::mac(ATTACKER).0, sim::mac(1).0)
        .ipv4(src.octets(), sim::addr(1).octets(), 64)
        .tcp(port, 80, i.wrapping_mul(2_654_435_761), 64_240)
        .syn()
        .options(&[
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
            TcpOptionElement::Timestamp(i, 0),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(7),
        ])
        .expect("options fit");
    let mut frame = Vec::with_capacity(builder.size(0));
    builder.write(&mut frame, &[]).expect("frame");
    frame
}

/// What a flood run saw.
struct Flood {
    /// The legitimate client's transfer completed (bytes checked).
    transferred: bool,
    /// The largest SYN queue and socket count seen on the server, sampled every millisecond.
    max_syn_queue: usize,
    max_sockets: usize,
    syn_backlog: usize,
    stats: sockeye_netstack::ListenerStats,
    counters: sockeye_netstack::Snapshot,
}

/// 100,000 spoofed SYNs over two seconds (50 per millisecond) at a listener with backlog
/// 128; a legitimate client connects at 500 ms and sends 64 kB, which the server reads.
fn flood(config: &StackConfig) -> Flood {
    const SYNS: u32 = 100_000;
    const PER_MS: u32 = 50;
    let mut sim = Sim::new(3, config, LinkConfig::default(), 23);
    sim.stacks[1].routes_mut().add(Route {
        prefix: Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0).unwrap(),
        iface: IfaceId(0),
        gateway: Some(sim::addr(ATTACKER)),
    });
    let l = listen(&mut sim, 1, 80, 128);
    let syn_backlog = sim.stacks[1].tcp_listener_stats(l).unwrap().syn_backlog;
    let data = pattern(77, 64 * 1024);
    let (mut client, mut server) = (None, None);
    let (mut sent, mut got) = (0, Vec::new());
    let (mut max_syn_queue, mut max_sockets) = (0, 0);
    let mut next = 0;
    while next < SYNS || sim.now < Instant::from_millis(3_000) {
        for _ in 0..PER_MS.min(SYNS - next) {
            sim.inject(ATTACKER, spoofed_syn(next));
            next += 1;
        }
        if sim.now == Instant::from_millis(500) {
            client = Some(connect(&mut sim, 0, 1, 80));
        }
        if let Some(c) = client
            && connected(&mut sim, 0, c)
        {
            sent += write_now(&mut sim.stacks[0], c, &data[sent..]).unwrap();
        }
        if server.is_none() {
            server = accept(&mut sim.stacks[1], l).map(|(h, _)| h);
        }
        if let Some(s) = server {
            let _ = drain(&mut sim.stacks[1], s, &mut got);
        }
        let stats = sim.stacks[1].tcp_listener_stats(l).unwrap();
        max_syn_queue = max_syn_queue.max(stats.syn_queue_len);
        max_sockets = max_sockets.max(sim.stacks[1].tcp_sockets());
        sim.advance(ms(1));
    }
    Flood {
        transferred: got == data,
        max_syn_queue,
        max_sockets,
        syn_backlog,
        stats: sim.stacks[1].tcp_listener_stats(l).unwrap(),
        counters: sim.stacks[1].counters(),
    }
}

#[test]
fn a_syn_flood_is_answered_with_cookies_and_a_real_client_still_gets_through() {
    let f = flood(&StackConfig::default());
    assert!(f.transferred, "the legitimate client's 64 kB arrived");
    assert_eq!(f.syn_backlog, 256);
    assert_eq!(
        f.max_syn_queue, 256,
        "the flood fills the SYN queue, never more"
    );
    // Listener, flood requests in the SYN queue, the legitimate connection: nothing else is
    // kept, however many SYNs come.
    assert!(f.max_sockets <= 1 + 256 + 1, "{} sockets", f.max_sockets);
    let n = &f.counters;
    // Every SYN beyond the first 256 was answered with a cookie, the client's included.
    let cookies = u64::from(100_000u32 - 256 + 1);
    assert_eq!(n.get(Counter::TcpExtSyncookiesSent), cookies);
    assert_eq!(n.get(Counter::TcpExtTCPReqQFullDoCookies), cookies);
    assert_eq!(n.get(Counter::TcpExtSyncookiesRecv), 1);
    assert_eq!(n.get(Counter::TcpExtSyncookiesFailed), 0);
    assert_eq!(n.get(Counter::TcpExtTCPReqQFullDrop), 0);
    assert_eq!(
        (f.stats.syncookies_sent, f.stats.syncookies_recv),
        (cookies, 1)
    );
    assert_eq!((f.stats.established, f.stats.accepted), (1, 1));
}

#[test]
fn without_syncookies_a_syn_flood_locks_real_clients_out() {
    let config = StackConfig {
        tcp_syncookies: 0,
        ..StackConfig::default()
    };
    let f = flood(&config);
    assert!(!f.transferred, "the legitimate client never got in");
    assert_eq!(f.max_syn_queue, 256);
    assert!(f.max_sockets <= 1 + 256 + 1);
    let n = &f.counters;
    assert_eq!(n.get(Counter::TcpExtSyncookiesSent), 0);
    // The flood beyond the SYN queue, and the client's SYN with its retransmissions.
    let drops = n.get(Counter::TcpExtTCPReqQFullDrop);
    assert!(drops > u64::from(100_000u32 - 256), "{drops}");
    assert_eq!(f.stats.drops, drops);
    assert_eq!(n.get(Counter::TcpExtListenDrops), drops);
    assert_eq!(f.stats.established, 0);
}
