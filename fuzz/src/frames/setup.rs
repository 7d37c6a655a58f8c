//! The deterministic initial state: the two stacks, the listeners and the UDP socket, and
//! connections A to G brought to the states the module documentation lists.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::Shutdown;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use sockeye_netstack::sim::{self, LinkConfig, Sim};
use sockeye_netstack::wire::{
    ArpOperation, ArpRepr, EthernetAddress, SeqNumber, TcpFlags, TcpOptions, TcpRepr,
};
use sockeye_netstack::{IfaceId, SocketHandle, StackConfig, TcpState};

use super::link::Wire;
use super::segments::arp_frame;
use super::{
    BACKLOG, DUT, HTTP, Harness, Held, PEER, PEER_PORT, PHANTOM, PHANTOM_ISS, PHANTOM_PORT,
    UDP_PORT, cx, pattern, transmit,
};

impl Harness {
    /// Builds the world described in the module documentation.
    pub(super) fn new() -> Harness {
        let config = StackConfig::default();
        let mut sim = Sim::new(2, &config, LinkConfig::default(), 0);
        let wire = Rc::new(RefCell::new(Wire::default()));
        let tap = Rc::clone(&wire);
        sim.set_tap(move |_, _, frame| tap.borrow_mut().observe(frame));
        let dut_ip = sim::addr(DUT);
        let peer_ip = sim::addr(PEER);
        let listener = sim.stacks[DUT]
            .tcp_listener(SocketAddrV4::new(dut_ip, HTTP), BACKLOG)
            .expect("setup: DUT listener");
        let udp = sim.stacks[DUT]
            .udp_bind(SocketAddrV4::new(dut_ip, UDP_PORT))
            .expect("setup: UDP bind");
        let udp_limit = sim.stacks[DUT].udp_recv_buffer_size(udp).unwrap_or(0);
        let peer_listener = sim.stacks[PEER]
            .tcp_listener(SocketAddrV4::new(peer_ip, PEER_PORT), BACKLOG)
            .expect("setup: peer listener");
        let mut h = Harness {
            sim,
            wire,
            dut: Vec::new(),
            peer: Vec::new(),
            listener: Some(listener),
            peer_listener,
            udp: Some(udp),
            listeners_made: 1,
            sockets_made: 0,
            // Autotuning may grow buffers up to the sysctls' maxima.
            send_limit: config.tcp_wmem[2],
            recv_limit: config.tcp_rmem[2],
            udp_limit,
            ident: 0,
            streams: Vec::new(),
            tainted: BTreeSet::new(),
            poisoned: false,
            trace: std::env::var_os("SOCKEYE_FUZZ_TRACE").is_some(),
        };
        h.setup();
        h
    }

    fn settle(&mut self) {
        self.sim.advance(Duration::from_millis(50));
        self.exchange();
    }

    fn dut_accept(&mut self) -> SocketHandle {
        let listener = self.listener.expect("setup: listener");
        match self.sim.stacks[DUT].tcp_poll_accept(listener, &mut cx()) {
            Poll::Ready(Ok((h, _))) => {
                self.sockets_made += 1;
                h
            }
            other => panic!("setup: DUT accept: {other:?}"),
        }
    }

    fn peer_accept(&mut self) -> SocketHandle {
        match self.sim.stacks[PEER].tcp_poll_accept(self.peer_listener, &mut cx()) {
            Poll::Ready(Ok((h, _))) => h,
            other => panic!("setup: peer accept: {other:?}"),
        }
    }

    fn expect_state(&mut self, h: SocketHandle, state: TcpState, what: &str) {
        let got = self.sim.stacks[DUT].tcp_state(h);
        assert_eq!(got.ok(), Some(state), "setup: {what}");
    }

    fn setup(&mut self) {
        let dut_http = SocketAddrV4::new(sim::addr(DUT), HTTP);
        let peer_http = SocketAddrV4::new(sim::addr(PEER), PEER_PORT);
        let now = self.sim.now;
        // A: the DUT connects to the peer.
        let a = self.sim.stacks[DUT]
            .tcp_connect_to(now, peer_http)
            .expect("setup: connect A");
        self.sockets_made += 1;
        self.settle();
        let a_peer = self.peer_accept();
        // D: likewise, to be half-closed by the peer.
        let d = self.sim.stacks[DUT]
            .tcp_connect_to(self.sim.now, peer_http)
            .expect("setup: connect D");
        self.sockets_made += 1;
        self.settle();
        let d_peer = self.peer_accept();
        // B and C: the peer connects to the DUT's listener.
        let b_peer = self.sim.stacks[PEER]
            .tcp_connect_to(self.sim.now, dut_http)
            .expect("setup: connect B");
        self.settle();
        let b = self.dut_accept();
        let c_peer = self.sim.stacks[PEER]
            .tcp_connect_to(self.sim.now, dut_http)
            .expect("setup: connect C");
        self.settle();
        let c = self.dut_accept();
        // B to FIN_WAIT_2, C to TIME_WAIT, D to CLOSE_WAIT.
        self.sim.stacks[DUT]
            .tcp_shutdown(b, Shutdown::Write)
            .expect("setup: shutdown B");
        self.sim.stacks[DUT]
            .tcp_shutdown(c, Shutdown::Write)
            .expect("setup: shutdown C");
        self.sim.stacks[PEER]
            .tcp_shutdown(c_peer, Shutdown::Write)
            .expect("setup: peer shutdown C");
        self.sim.stacks[PEER]
            .tcp_shutdown(d_peer, Shutdown::Write)
            .expect("setup: peer shutdown D");
        self.settle();
        self.expect_state(b, TcpState::FinWait2, "B in FIN_WAIT_2");
        self.expect_state(c, TcpState::TimeWait, "C in TIME_WAIT");
        self.expect_state(d, TcpState::CloseWait, "D in CLOSE_WAIT");
        // F: the phantom introduces itself and connects to the listener.
        let f = self.phantom_connect();
        // E: the peer connects and is never accepted.
        let e_peer = self.sim.stacks[PEER]
            .tcp_connect_to(self.sim.now, dut_http)
            .expect("setup: connect E");
        self.settle();
        let queues = self.sim.stacks[DUT].tcp_listener_queues(self.listener.expect("listener"));
        assert_eq!(
            queues.ok(),
            Some((1, 0)),
            "setup: E waits in the accept queue"
        );
        // G: bound, never connected.
        let g = self.sim.stacks[DUT].tcp_socket();
        self.sockets_made += 1;
        self.sim.stacks[DUT]
            .tcp_bind(g, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
            .expect("setup: bind G");
        for (dut, peer) in [(a, a_peer), (b, b_peer), (c, c_peer), (d, d_peer)] {
            self.open_stream(DUT, dut);
            let dut_addr = self.sim.stacks[DUT].tcp_local_addr(dut).expect("setup");
            self.attach(PEER, peer, dut_addr);
        }
        self.open_stream(PEER, e_peer);
        self.in_flight_on_a(a, a_peer);
        for h in [a, b, c, d, f, g] {
            self.dut.push(Held { h, closed: false });
        }
        for h in [a_peer, b_peer, c_peer, d_peer, e_peer] {
            self.peer.push(Held { h, closed: false });
        }
    }

    /// Connection F: ARP, then a handshake from the phantom, accepted; then 500 bytes out of
    /// order from the phantom and 3000 bytes from the DUT that nobody acknowledges.
    fn phantom_connect(&mut self) -> SocketHandle {
        let now = self.sim.now;
        let hello = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: sim::mac(PHANTOM),
            source_protocol_addr: sim::addr(PHANTOM),
            target_hardware_addr: EthernetAddress::default(),
            target_protocol_addr: sim::addr(DUT),
        };
        self.inject(&arp_frame(&hello, EthernetAddress::BROADCAST));
        self.exchange();
        let local = SocketAddrV4::new(sim::addr(DUT), HTTP);
        let remote = SocketAddrV4::new(sim::addr(PHANTOM), PHANTOM_PORT);
        let syn = TcpRepr {
            src_port: PHANTOM_PORT,
            dst_port: HTTP,
            seq_number: SeqNumber(PHANTOM_ISS),
            ack_number: None,
            flags: TcpFlags::SYN,
            window_len: 65_535,
            urgent: 0,
            options: TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some((1000, 0)),
                ..TcpOptions::default()
            },
            payload_len: 0,
        };
        self.send_tcp(remote, local, &syn, &[], None);
        self.exchange();
        let seen = self.seen(local, remote).expect("setup: SYN-ACK seen");
        let ack = TcpRepr {
            seq_number: SeqNumber(PHANTOM_ISS + 1),
            ack_number: Some(seen.snd_end),
            flags: TcpFlags::empty(),
            window_len: 1024,
            options: TcpOptions {
                timestamps: Some((1001, seen.tsval)),
                ..TcpOptions::default()
            },
            ..syn
        };
        self.send_tcp(remote, local, &ack, &[], None);
        self.exchange();
        let f = self.dut_accept();
        let ooo = TcpRepr {
            seq_number: SeqNumber(PHANTOM_ISS + 1 + 1000),
            options: TcpOptions {
                timestamps: Some((1002, seen.tsval)),
                ..TcpOptions::default()
            },
            payload_len: 500,
            ..ack
        };
        self.send_tcp(remote, local, &ooo, &pattern(1000, 500), None);
        let wrote = self.sim.stacks[DUT].tcp_poll_write(f, &mut cx(), &pattern(0, 3000));
        assert!(
            matches!(wrote, Poll::Ready(Ok(3000))),
            "setup: write F: {wrote:?}"
        );
        self.exchange();
        assert_eq!(now, self.sim.now, "setup: F at one instant");
        f
    }

    /// Connection A: the peer's first 1000 bytes are lost, the next 3000 arrive (held out of
    /// order); the DUT's 6000 bytes reach the peer only in part, and no ACK comes back.
    fn in_flight_on_a(&mut self, a: SocketHandle, a_peer: SocketHandle) {
        let now = self.sim.now;
        let peer = &mut self.sim.stacks[PEER];
        peer.tcp_set_nodelay(a_peer, true).expect("setup: nodelay");
        let wrote = peer.tcp_poll_write(a_peer, &mut cx(), &pattern(0, 1000));
        assert!(matches!(wrote, Poll::Ready(Ok(1000))), "setup: {wrote:?}");
        for frame in transmit(peer, now) {
            self.wire.borrow_mut().observe(&frame); // lost
        }
        let peer = &mut self.sim.stacks[PEER];
        let wrote = peer.tcp_poll_write(a_peer, &mut cx(), &pattern(1000, 3000));
        assert!(matches!(wrote, Poll::Ready(Ok(3000))), "setup: {wrote:?}");
        for frame in transmit(peer, now) {
            self.wire.borrow_mut().observe(&frame);
            self.sim.stacks[DUT].receive(now, IfaceId(0), &frame);
        }
        for frame in transmit(&mut self.sim.stacks[DUT], now) {
            self.wire.borrow_mut().observe(&frame); // duplicate ACKs, lost
        }
        let dut = &mut self.sim.stacks[DUT];
        let wrote = dut.tcp_poll_write(a, &mut cx(), &pattern(0, 6000));
        assert!(matches!(wrote, Poll::Ready(Ok(6000))), "setup: {wrote:?}");
        for (i, frame) in transmit(dut, now).into_iter().enumerate() {
            self.wire.borrow_mut().observe(&frame);
            if i < 2 {
                self.sim.stacks[PEER].receive(now, IfaceId(0), &frame);
            }
        }
        for frame in transmit(&mut self.sim.stacks[PEER], now) {
            self.wire.borrow_mut().observe(&frame); // ACKs, lost
        }
        let stream = self.stream(DUT, a).expect("setup: stream A");
        stream.to_dut.extend(pattern(0, 4000));
        stream.to_peer.extend(pattern(0, 6000));
        let info = self.sim.stacks[DUT].tcp_info(a).expect("setup: A");
        assert!(
            info.out_of_order == 3000 && info.send_queued == 6000,
            "setup: A in flight: {info:?}"
        );
    }
}
