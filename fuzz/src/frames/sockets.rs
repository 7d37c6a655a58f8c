//! The socket-call operations: on the DUT's TCP sockets and listener, on the peer's
//! sockets, and on the DUT's UDP socket, keeping the streams' expected bytes in step.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::net::Shutdown;
use std::task::Poll;

use sockeye_netstack::sim;

use super::{
    DUT, HTTP, Harness, Held, Input, MAX_BUFFER, MAX_HANDLES, PEER, PEER_PORT, PHANTOM, UDP_PORT,
    cx, pattern,
};

impl Harness {
    /// Picks one of `held` (or none when empty).
    fn pick(held: &[Held], input: &mut Input<'_>) -> Option<usize> {
        (!held.is_empty()).then(|| input.below(held.len()))
    }

    pub(super) fn op_dut_socket(&mut self, input: &mut Input<'_>) -> String {
        let now = self.sim.now;
        let op = input.u8() % 16;
        let Some(i) = Harness::pick(&self.dut, input) else {
            return "no DUT socket".to_string();
        };
        let held = self.dut[i];
        let h = held.h;
        let stack = &mut self.sim.stacks[DUT];
        match op {
            0 => {
                let len = usize::from(input.u16());
                let mut buf = vec![0u8; len];
                let r = stack.tcp_poll_read(h, &mut cx(), &mut buf);
                let what = format!("DUT read {h} {len}: {r:?}");
                if let Poll::Ready(Ok(n)) = r {
                    assert!(n <= len, "read {n} bytes into {len}");
                    if let Some(s) = self.stream(DUT, h) {
                        s.read(true, &buf[..n], &what);
                    }
                }
                what
            }
            1 => {
                let len = usize::from(input.u16());
                let data = pattern(0, len);
                let r = stack.tcp_poll_write(h, &mut cx(), &data);
                if let Poll::Ready(Ok(n)) = r {
                    assert!(n <= len, "wrote {n} bytes of {len}");
                    if let Some(s) = self.stream(DUT, h) {
                        s.to_peer.extend(&data[..n]);
                    }
                }
                format!("DUT write {h} {len}: {r:?}")
            }
            2 => {
                let how = [Shutdown::Read, Shutdown::Write, Shutdown::Both][input.below(3)];
                let r = stack.tcp_shutdown(h, how);
                if how != Shutdown::Write
                    && let Some(s) = self.stream(DUT, h)
                {
                    s.dut_read_shut = true;
                }
                format!("DUT shutdown {h} {how:?}: {r:?}")
            }
            3 => {
                stack.tcp_close(now, h);
                self.dut[i].closed = true;
                format!("DUT close {h}")
            }
            4 => {
                stack.tcp_abort(now, h);
                self.dut[i].closed = true;
                format!("DUT abort {h}")
            }
            5 => {
                let r = stack.tcp_poll_close(now, h, &mut cx());
                if r.is_ready() {
                    self.dut[i].closed = true;
                }
                format!("DUT poll_close {h}: {r:?}")
            }
            6 => {
                let Some(l) = self.listener else {
                    return "DUT accept: no listener".to_string();
                };
                let r = stack.tcp_poll_accept(l, &mut cx());
                if let Poll::Ready(Ok((child, remote))) = r {
                    self.sockets_made += 1;
                    if self.dut.len() < MAX_HANDLES {
                        self.dut.push(Held {
                            h: child,
                            closed: false,
                        });
                        self.attach(DUT, child, remote);
                    } else {
                        stack.tcp_abort(now, child);
                    }
                }
                format!("DUT accept: {r:?}")
            }
            7 => {
                let remote = match input.u8() % 3 {
                    0 => SocketAddrV4::new(sim::addr(PEER), PEER_PORT),
                    1 => SocketAddrV4::new(sim::addr(PEER), input.u16()),
                    _ => SocketAddrV4::new(sim::addr(PHANTOM), input.u16()),
                };
                // Connect the held socket if it never was, or a new one.
                let r = if input.bool() {
                    stack.tcp_connect(now, h, remote).map(|()| h)
                } else if self.dut.len() < MAX_HANDLES {
                    let r = stack.tcp_connect_to(now, remote);
                    if let Ok(new) = r {
                        self.sockets_made += 1;
                        self.dut.push(Held {
                            h: new,
                            closed: false,
                        });
                    }
                    r
                } else {
                    return "DUT connect: too many sockets".to_string();
                };
                if let Ok(h) = r {
                    self.open_stream(DUT, h);
                }
                format!("DUT connect to {remote}: {r:?}")
            }
            8 => {
                let on = input.bool();
                format!("DUT nodelay {h} {on}: {:?}", stack.tcp_set_nodelay(h, on))
            }
            9 => {
                let on = input.bool();
                format!(
                    "DUT keepalive {h} {on}: {:?}",
                    stack.tcp_set_keepalive(h, on)
                )
            }
            10 | 11 => {
                let size = (usize::from(input.u16()) * 4).min(MAX_BUFFER);
                let on_listener = input.u8() % 4 == 0;
                let target = match (on_listener, self.listener) {
                    (true, Some(l)) => l,
                    _ => h,
                };
                let r = if op == 10 {
                    self.send_limit = self.send_limit.max(size);
                    stack.tcp_set_send_buffer_size(target, size)
                } else {
                    self.recv_limit = self.recv_limit.max(size);
                    let r = stack.tcp_set_recv_buffer_size(target, size);
                    if let Some(s) = self.stream(DUT, target) {
                        s.resized = true;
                    }
                    r
                };
                let which = if op == 10 { "send" } else { "receive" };
                format!("DUT {which} buffer {target} {size}: {r:?}")
            }
            12 => match self.listener.take() {
                Some(l) => {
                    stack.tcp_close(now, l);
                    format!("DUT close listener {l}")
                }
                None => {
                    let backlog = u32::from(input.u8() % 16);
                    let r = stack.tcp_listener(SocketAddrV4::new(sim::addr(DUT), HTTP), backlog);
                    if let Ok(l) = r {
                        self.listener = Some(l);
                        self.listeners_made += 1;
                        self.sockets_made += 1;
                    }
                    format!("DUT listen backlog {backlog}: {r:?}")
                }
            },
            13 => {
                // A fresh socket bound to a chosen port, kept for later calls.
                if self.dut.len() >= MAX_HANDLES {
                    return "DUT socket: too many sockets".to_string();
                }
                let new = stack.tcp_socket();
                self.sockets_made += 1;
                let port = match input.u8() % 3 {
                    0 => HTTP,
                    1 => 0,
                    _ => input.u16(),
                };
                let _ = stack.tcp_set_reuseaddr(new, input.bool());
                let r = stack.tcp_bind(new, SocketAddrV4::new(sim::addr(DUT), port));
                self.dut.push(Held {
                    h: new,
                    closed: false,
                });
                format!("DUT socket {new} bind :{port}: {r:?}")
            }
            14 => {
                let r = stack.tcp_poll_connect(h, &mut cx());
                format!("DUT poll_connect {h}: {r:?}")
            }
            _ => {
                let r = stack.tcp_listen(h, u32::from(input.u8() % 16));
                if r.is_ok() {
                    // It is a listener now: the harness keeps using it as a connection handle
                    // (the calls fail), and counts its queues.
                    self.listeners_made += 1;
                }
                format!("DUT listen on {h}: {r:?}")
            }
        }
    }

    pub(super) fn op_peer_socket(&mut self, input: &mut Input<'_>) -> String {
        let now = self.sim.now;
        let op = input.u8() % 8;
        let Some(i) = Harness::pick(&self.peer, input) else {
            return "no peer socket".to_string();
        };
        let h = self.peer[i].h;
        let stack = &mut self.sim.stacks[PEER];
        match op {
            0 => {
                let len = usize::from(input.u16()) * 4;
                let mut buf = vec![0u8; len];
                let r = stack.tcp_poll_read(h, &mut cx(), &mut buf);
                let what = format!("peer read {h} {len}: {r:?}");
                if let Poll::Ready(Ok(n)) = r
                    && let Some(s) = self.stream(PEER, h)
                {
                    s.read(false, &buf[..n], &what);
                }
                what
            }
            1 => {
                let len = usize::from(input.u16());
                let data = pattern(0, len);
                let r = stack.tcp_poll_write(h, &mut cx(), &data);
                if let Poll::Ready(Ok(n)) = r
                    && let Some(s) = self.stream(PEER, h)
                {
                    s.to_dut.extend(&data[..n]);
                }
                format!("peer write {h} {len}: {r:?}")
            }
            2 => {
                let how = [Shutdown::Read, Shutdown::Write, Shutdown::Both][input.below(3)];
                let r = stack.tcp_shutdown(h, how);
                if how != Shutdown::Write
                    && let Some(s) = self.stream(PEER, h)
                {
                    s.peer_read_shut = true;
                }
                format!("peer shutdown {h} {how:?}: {r:?}")
            }
            3 => {
                stack.tcp_close(now, h);
                self.peer[i].closed = true;
                format!("peer close {h}")
            }
            4 => {
                stack.tcp_abort(now, h);
                self.peer[i].closed = true;
                format!("peer abort {h}")
            }
            5 => {
                let r = stack.tcp_poll_accept(self.peer_listener, &mut cx());
                if let Poll::Ready(Ok((child, remote))) = r {
                    if self.peer.len() < MAX_HANDLES {
                        self.peer.push(Held {
                            h: child,
                            closed: false,
                        });
                        self.attach(PEER, child, remote);
                    } else {
                        stack.tcp_abort(now, child);
                    }
                }
                format!("peer accept: {r:?}")
            }
            6 => {
                if self.peer.len() >= MAX_HANDLES {
                    return "peer connect: too many sockets".to_string();
                }
                let port = if input.bool() { HTTP } else { input.u16() };
                let r = stack.tcp_connect_to(now, SocketAddrV4::new(sim::addr(DUT), port));
                if let Ok(new) = r {
                    self.peer.push(Held {
                        h: new,
                        closed: false,
                    });
                    self.open_stream(PEER, new);
                }
                format!("peer connect to :{port}: {r:?}")
            }
            _ => {
                let size = (usize::from(input.u16()) * 4).min(MAX_BUFFER);
                self.recv_limit = self.recv_limit.max(size);
                let r = stack.tcp_set_recv_buffer_size(h, size);
                if let Some(s) = self.stream(PEER, h) {
                    s.resized = true;
                }
                format!("peer receive buffer {h} {size}: {r:?}")
            }
        }
    }

    pub(super) fn op_udp(&mut self, input: &mut Input<'_>) -> String {
        let now = self.sim.now;
        let op = input.u8() % 6;
        let stack = &mut self.sim.stacks[DUT];
        let Some(u) = self.udp else {
            let r = stack.udp_bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, UDP_PORT));
            if let Ok(u) = r {
                self.udp = Some(u);
                self.udp_limit = self
                    .udp_limit
                    .max(stack.udp_recv_buffer_size(u).unwrap_or(0));
            }
            return format!("UDP bind: {r:?}");
        };
        let target = |input: &mut Input<'_>| match input.u8() % 4 {
            0 => SocketAddrV4::new(sim::addr(PEER), input.u16()),
            1 => SocketAddrV4::new(sim::addr(PHANTOM), input.u16()),
            2 => SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 255), input.u16()),
            _ => SocketAddrV4::new(Ipv4Addr::from(input.u32().to_be_bytes()), input.u16()),
        };
        match op {
            0 => {
                let to = target(input);
                let len = if input.u8() % 8 == 0 {
                    usize::from(input.u16())
                } else {
                    usize::from(input.u16()) % 1600
                };
                let _ = stack.udp_set_broadcast(u, input.bool());
                let r = stack.udp_poll_send_to(now, u, &mut cx(), &pattern(0, len), to);
                format!("UDP send_to {to} {len}: {r:?}")
            }
            1 => {
                let len = usize::from(input.u16());
                let mut buf = vec![0u8; len];
                let r = stack.udp_poll_recv_from(u, &mut cx(), &mut buf);
                if let Poll::Ready(Ok((n, _))) = r {
                    assert!(n <= len, "UDP received {n} bytes into {len}");
                }
                format!("UDP recv_from {len}: {r:?}")
            }
            2 => {
                let to = target(input);
                format!("UDP connect {to}: {:?}", stack.udp_connect(u, to))
            }
            3 => {
                let size = usize::from(input.u16()) * 4;
                let r = stack.udp_set_recv_buffer_size(u, size);
                self.udp_limit = self
                    .udp_limit
                    .max(stack.udp_recv_buffer_size(u).unwrap_or(0));
                format!("UDP receive buffer {size}: {r:?}")
            }
            4 => {
                let len = usize::from(input.u16()) % 1600;
                let r = stack.udp_poll_send(now, u, &mut cx(), &pattern(0, len));
                format!("UDP send {len}: {r:?}")
            }
            _ => {
                self.udp = None;
                format!("UDP close: {:?}", stack.udp_close(u))
            }
        }
    }
}
