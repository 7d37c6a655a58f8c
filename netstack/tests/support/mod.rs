//! Shared helpers for the simulation tests: a two-way transfer application driven through the
//! stack's poll API, and payload generation.

#![allow(dead_code)]

use core::net::SocketAddrV4;
use std::net::Shutdown;
use std::task::{Context, Poll, Waker};

use sockeye_netstack::sim::{self, Control, Sim};
use sockeye_netstack::{Instant, SocketHandle};

/// Deterministic bytes for a payload.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = sim::Rng::new(seed ^ 0x5eed);
    let mut out = vec![0u8; len];
    for chunk in out.chunks_mut(8) {
        let v = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    out
}

/// One side of a transfer.
#[derive(Debug, Default)]
pub struct Side {
    pub socket: Option<SocketHandle>,
    pub to_send: Vec<u8>,
    pub sent: usize,
    pub shut: bool,
    pub received: Vec<u8>,
    pub eof: bool,
    pub error: Option<std::io::ErrorKind>,
    pub closed: bool,
}

/// A client (stack 0) connecting to a server (stack 1) listening on port 80; both send their
/// payload, shut down writing, read to EOF, then close.
#[derive(Debug)]
pub struct Transfer {
    pub listener: SocketHandle,
    pub client: Side,
    pub server: Side,
    /// Bytes per read and per write call.
    pub chunk: usize,
    /// Close the sockets once both sides saw EOF.
    pub close_at_end: bool,
    /// Abort the client (RST) once it has sent this many bytes.
    pub abort_client_after: Option<usize>,
    /// Close the server (with unread data, so a RST) once it has received this many bytes.
    pub close_server_after: Option<usize>,
    /// Turn keepalive on for the accepted connection.
    pub server_keepalive: bool,
}

pub const PORT: u16 = 80;

impl Transfer {
    /// Sets up the listener and starts the connect.
    pub fn start(sim: &mut Sim, client_data: Vec<u8>, server_data: Vec<u8>) -> Transfer {
        let now = sim.now;
        let listener = sim.stacks[1]
            .tcp_listener(SocketAddrV4::new(sim::addr(1), PORT), 128)
            .expect("listen");
        let client = sim.stacks[0]
            .tcp_connect_to(now, SocketAddrV4::new(sim::addr(1), PORT))
            .expect("connect");
        Transfer {
            listener,
            client: Side {
                socket: Some(client),
                to_send: client_data,
                ..Side::default()
            },
            server: Side {
                to_send: server_data,
                ..Side::default()
            },
            chunk: 16 * 1024,
            close_at_end: true,
            abort_client_after: None,
            close_server_after: None,
            server_keepalive: false,
        }
    }

    /// Whether both sides received everything and saw EOF.
    pub fn finished(&self) -> bool {
        self.client.eof && self.server.eof && self.client.shut && self.server.shut
    }

    /// One step of the application.
    pub fn step(&mut self, sim: &mut Sim) -> Control {
        let now = sim.now;
        let mut cx = Context::from_waker(Waker::noop());
        if self.server.socket.is_none()
            && let Poll::Ready(r) = sim.stacks[1].tcp_poll_accept(self.listener, &mut cx)
        {
            let (h, _) = r.expect("accept");
            if self.server_keepalive {
                sim.stacks[1].tcp_set_keepalive(h, true).expect("keepalive");
            }
            self.server.socket = Some(h);
        }
        if let (Some(limit), Some(h)) = (self.abort_client_after, self.client.socket)
            && self.client.sent >= limit
            && !self.client.closed
        {
            sim.stacks[0].tcp_abort(now, h);
            self.client.closed = true;
        }
        if let (Some(limit), Some(h)) = (self.close_server_after, self.server.socket)
            && self.server.received.len() >= limit
            && !self.server.closed
        {
            sim.stacks[1].tcp_close(now, h);
            self.server.closed = true;
        }
        let chunk = self.chunk;
        for (i, side) in [(0, &mut self.client), (1, &mut self.server)] {
            let Some(h) = side.socket else { continue };
            let stack = &mut sim.stacks[i];
            if side.error.is_some() || side.closed {
                continue;
            }
            // Write.
            while side.sent < side.to_send.len() {
                let end = (side.sent + chunk).min(side.to_send.len());
                match stack.tcp_poll_write(h, &mut cx, &side.to_send[side.sent..end]) {
                    Poll::Ready(Ok(n)) => side.sent += n,
                    Poll::Ready(Err(e)) => {
                        side.error = Some(e.kind());
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            if side.sent == side.to_send.len() && !side.shut && side.error.is_none() {
                match stack.tcp_shutdown(h, Shutdown::Write) {
                    Ok(()) => side.shut = true,
                    Err(e) => side.error = Some(e.kind()),
                }
            }
            // Read.
            let mut buf = vec![0u8; chunk];
            while !side.eof {
                match stack.tcp_poll_read(h, &mut cx, &mut buf) {
                    Poll::Ready(Ok(0)) => side.eof = true,
                    Poll::Ready(Ok(n)) => side.received.extend_from_slice(&buf[..n]),
                    Poll::Ready(Err(e)) => {
                        side.error = Some(e.kind());
                        break;
                    }
                    Poll::Pending => break,
                }
            }
        }
        if self.finished() {
            if !self.close_at_end {
                return Control::Done;
            }
            for (i, side) in [(0, &mut self.client), (1, &mut self.server)] {
                if let Some(h) = side.socket
                    && !side.closed
                {
                    sim.stacks[i].tcp_close(now, h);
                    side.closed = true;
                }
            }
            return Control::Done;
        }
        if self.client.error.is_some() || self.server.error.is_some() {
            return Control::Done;
        }
        Control::Continue
    }

    /// Runs the transfer to completion (or `deadline`), then lets TIME_WAIT and the rest
    /// drain; returns the virtual time the transfer itself took.
    pub fn run(&mut self, sim: &mut Sim, deadline: Instant) -> sim::Outcome {
        sim.run(deadline, |s| self.step(s))
    }
}

/// With `SOCKEYE_SIM_TRACE` set, prints every TCP segment the stacks send (time, sender, ports,
/// flags, sequence numbers, window, length), parsed by etherparse.
pub fn trace_if_asked(sim: &mut Sim) {
    if std::env::var_os("SOCKEYE_SIM_TRACE").is_none() {
        return;
    }
    sim.set_tap(|now, from, frame| {
        let Ok(p) = etherparse::SlicedPacket::from_ethernet(frame) else {
            eprintln!("{now:?} {from}: unparsable frame of {} bytes", frame.len());
            return;
        };
        match p.transport {
            Some(etherparse::TransportSlice::Tcp(t)) => {
                let flags: String = [
                    (t.syn(), 'S'),
                    (t.fin(), 'F'),
                    (t.rst(), 'R'),
                    (t.psh(), 'P'),
                    (t.ack(), '.'),
                ]
                .iter()
                .filter(|f| f.0)
                .map(|f| f.1)
                .collect();
                eprintln!(
                    "{now:?} {from}: {}>{} [{flags}] seq {} ack {} win {} len {}",
                    t.source_port(),
                    t.destination_port(),
                    t.sequence_number(),
                    t.acknowledgment_number(),
                    t.window_size(),
                    t.payload().len()
                );
            }
            _ => eprintln!("{now:?} {from}: non-TCP frame of {} bytes", frame.len()),
        }
    });
}
