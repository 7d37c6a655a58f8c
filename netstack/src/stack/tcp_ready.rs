//! What an async socket API needs beyond reading and writing: readiness without moving data
//! (tokio's `readable`/`writable`/`ready`), `MSG_PEEK`, a connection's `IP_TTL`, and a listing
//! of every TCP socket like `ss -tanmo` (with each socket's running timer, TIME_WAIT's
//! included, whether the connection is still a control block or already its compact record).
//!
//! Readiness follows Linux's `tcp_poll`: a connection is readable when a read would not block
//! (data, the peer's FIN, a pending error, a read shutdown, or no connection at all), and
//! writable when a write would not block (room in the send buffer, or a write that would fail at
//! once). Like the other poll-shaped calls, the pending ones store the waker in the socket's read
//! or write slot, the same slots `tcp_poll_read` and `tcp_poll_write` use.

use core::net::SocketAddrV4;
use std::io;
use std::task::{Context, Poll};

use super::Stack;
use crate::tcp::table::Socket;
use crate::tcp::tcb::Tcb;
use crate::tcp::{SocketHandle, State};
use crate::time::Instant;

/// Memory a socket holds and may hold, like the `skmem` field of `ss -m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketMemory {
    /// Receive buffer memory allocated now (`r`).
    pub rmem_alloc: usize,
    /// Receive buffer limit (`rb`).
    pub rcvbuf: usize,
    /// Send buffer memory allocated now (`t`).
    pub wmem_alloc: usize,
    /// Send buffer limit (`tb`).
    pub sndbuf: usize,
}

/// Which timer a socket has running, as `ss -o` names it (Linux's `/proc/net/tcp` `tr`
/// field): the first of retransmission, zero-window probe and keepalive that is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// Retransmission, tail loss probe or RACK's reordering timer (`on`).
    On,
    /// Zero-window probe (`persist`).
    Persist,
    /// Keepalive, or the end of an orphaned FIN_WAIT_2 (`keepalive`: Linux runs both on its
    /// keepalive timer).
    Keepalive,
    /// The end of TIME_WAIT (`timewait`).
    TimeWait,
}

impl TimerKind {
    /// The name `ss -o` prints.
    pub fn name(self) -> &'static str {
        match self {
            TimerKind::On => "on",
            TimerKind::Persist => "persist",
            TimerKind::Keepalive => "keepalive",
            TimerKind::TimeWait => "timewait",
        }
    }
}

/// A socket's running timer, like the `timer:(kind,expiry,count)` field of `ss -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketTimer {
    /// Which timer.
    pub kind: TimerKind,
    /// When it fires.
    pub expires: Instant,
    /// Retransmissions (`on`), unanswered probes (`persist`, `keepalive`), or 0.
    pub count: u8,
}

impl SocketTimer {
    /// The timer a connection shows: retransmission first, then persist, then keepalive or
    /// the end of FIN_WAIT_2 / TIME_WAIT (delayed ACKs and buffer release are not shown, as in
    /// Linux).
    fn of(t: &Tcb) -> Option<SocketTimer> {
        let timers = &t.timers;
        let on = [timers.rto, timers.tlp, timers.reorder]
            .into_iter()
            .flatten()
            .min();
        let (kind, expires, count) = if let Some(at) = on {
            (TimerKind::On, at, t.retries)
        } else if let Some(at) = timers.persist {
            (TimerKind::Persist, at, t.probes)
        } else if let Some(at) = timers.linger {
            match t.state {
                State::TimeWait => (TimerKind::TimeWait, at, 0),
                _ => (TimerKind::Keepalive, at, 0),
            }
        } else {
            (TimerKind::Keepalive, timers.keepalive?, t.probes)
        };
        Some(SocketTimer {
            kind,
            expires,
            count,
        })
    }
}

/// One row of the TCP socket table, like a line of `ss -tan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketEntry {
    /// The socket's handle. For an orphan (closed by its user and finishing in the background)
    /// the handle no longer works with the socket calls.
    pub handle: SocketHandle,
    /// The state (`Listen` for a listener).
    pub state: State,
    /// The local address (`0.0.0.0:0` before `bind`).
    pub local: SocketAddrV4,
    /// The peer's address (`0.0.0.0:0` for a listener or an unconnected socket).
    pub remote: SocketAddrV4,
    /// `Recv-Q`: unread bytes; for a listener, connections waiting in the accept queue.
    pub recv_q: usize,
    /// `Send-Q`: bytes not yet acknowledged by the peer; for a listener, the backlog.
    pub send_q: usize,
    /// Buffer memory (zero for a listener).
    pub memory: SocketMemory,
    /// Closed by its user and finishing in the background (FIN_WAIT, TIME_WAIT, ...).
    pub orphan: bool,
    /// The running timer, if any (`ss -o`).
    pub timer: Option<SocketTimer>,
}

impl Stack {
    /// Ready when a read would not block: data is buffered, the peer has closed, an error is
    /// pending, reading was shut down, or the socket is not connected. Moves no data.
    pub fn tcp_poll_read_ready(
        &mut self,
        h: SocketHandle,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let tcb = self.tcp.conn(h)?;
        let ready = !tcb.recv.is_empty()
            || tcb.fin_received()
            || tcb.read_shutdown()
            || tcb.error.is_some()
            || tcb.state == State::Closed;
        if ready {
            Poll::Ready(Ok(()))
        } else {
            tcb.read_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    /// Ready when a write would not block: the connection is established with room in the send
    /// buffer, or a write would fail at once (an error, a shutdown, a closed connection).
    /// Pending while connecting and while the send buffer is full. Moves no data.
    pub fn tcp_poll_write_ready(
        &mut self,
        h: SocketHandle,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let tcb = self.tcp.conn(h)?;
        let waiting = match tcb.state {
            _ if tcb.error.is_some() || tcb.fin_queued() => false,
            State::SynSent | State::SynReceived => true,
            // After a write found the buffer full, ready again at the low-water mark the
            // writer is woken at (Linux's `sk_stream_is_writeable`), not at the first free
            // byte; before that, whenever a byte fits.
            State::Established | State::CloseWait if tcb.write_blocked() => {
                !tcb.send_writable(&self.config)
            }
            State::Established | State::CloseWait => tcb.write_room(&self.config) == 0,
            _ => false,
        };
        if waiting {
            // Like a write that found no room (Linux's `tcp_poll` setting `SOCK_NOSPACE`): the
            // waiter is woken at the low-water marks, by an ACK or by the flush that sends the
            // unsent bytes.
            if matches!(tcb.state, State::Established | State::CloseWait) {
                tcb.set_write_blocked(true);
            }
            tcb.write_waker = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }

    /// Bytes a read would return now: the in-order data in the receive buffer (`FIONREAD`).
    pub fn tcp_recv_queued(&mut self, h: SocketHandle) -> io::Result<usize> {
        Ok(self.tcp.conn(h)?.recv.len())
    }

    /// Copies buffered bytes into `buf` without consuming them (`recv` with `MSG_PEEK`). Returns
    /// like [`Stack::tcp_poll_read`]: `Ok(0)` after the peer's FIN once nothing is buffered, the
    /// connection's error once, `Pending` (waker stored) while there is nothing to see yet.
    pub fn tcp_poll_peek(
        &mut self,
        h: SocketHandle,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let tcb = self.tcp.conn(h)?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if !tcb.recv.is_empty() {
            return Poll::Ready(Ok(tcb.recv.read_at(0, buf)));
        }
        tcb.poll_nothing_to_read(cx)
    }

    /// Sets `IP_TTL` for a connection's segments (`None` or 0 goes back to `ip_default_ttl`);
    /// on a listener, for its SYN-ACKs and the connections it accepts from then on.
    pub fn tcp_set_ttl(&mut self, h: SocketHandle, ttl: Option<u8>) -> io::Result<()> {
        let ttl = ttl.filter(|&t| t > 0);
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => l.inherited.ttl = ttl,
            _ => self.tcp.conn(h)?.ttl = ttl,
        }
        Ok(())
    }

    /// The TTL a connection's segments (or a listener's SYN-ACKs) carry.
    pub fn tcp_ttl(&mut self, h: SocketHandle) -> io::Result<u8> {
        let default = self.config.ip_default_ttl;
        let ttl = match self.tcp.get(h) {
            Some(Socket::Listener(l)) => l.inherited.ttl,
            _ => self.tcp.conn(h)?.ttl,
        };
        Ok(ttl.unwrap_or(default))
    }

    /// Every TCP socket: listeners, connections (including those closed by their user and still
    /// finishing, such as TIME_WAIT) and unconnected sockets, in table order.
    pub fn tcp_socket_table(&self) -> Vec<SocketEntry> {
        self.tcp
            .iter()
            .map(|(index, socket)| {
                let handle = self.tcp.handle(index);
                match socket {
                    Socket::Listener(l) => SocketEntry {
                        handle,
                        state: State::Listen,
                        local: l.local,
                        remote: SocketAddrV4::new(core::net::Ipv4Addr::UNSPECIFIED, 0),
                        recv_q: l.accept_queue.len(),
                        send_q: l.backlog,
                        memory: SocketMemory::default(),
                        orphan: false,
                        timer: None,
                    },
                    Socket::Conn(t) => SocketEntry {
                        handle,
                        state: t.state,
                        local: t.local,
                        remote: t.remote,
                        recv_q: t.recv.len(),
                        send_q: t.send.len(),
                        memory: SocketMemory {
                            rmem_alloc: t.recv.allocated(),
                            rcvbuf: t.recv.limit(),
                            wmem_alloc: t.send.allocated(),
                            sndbuf: t.send.limit(),
                        },
                        orphan: t.orphan(),
                        timer: SocketTimer::of(t),
                    },
                    // What is left of an orphaned connection in TIME_WAIT: no buffers.
                    Socket::TimeWait(tw) => SocketEntry {
                        handle,
                        state: State::TimeWait,
                        local: tw.local,
                        remote: tw.remote,
                        recv_q: 0,
                        send_q: 0,
                        memory: SocketMemory::default(),
                        orphan: true,
                        timer: Some(SocketTimer {
                            kind: TimerKind::TimeWait,
                            expires: tw.expires,
                            count: 0,
                        }),
                    },
                }
            })
            .collect()
    }

    /// Takes the connection's pending error (`SO_ERROR`): the error a reset, a timeout or a
    /// refused connect left, which the next read or write would otherwise return. `Ok(None)`
    /// when there is none, and for listeners and unconnected sockets.
    ///
    /// # Errors
    /// `NotConnected` for a stale handle.
    pub fn tcp_take_error(&mut self, h: SocketHandle) -> io::Result<Option<io::Error>> {
        match self.tcp.get(h) {
            Some(Socket::Listener(_)) => Ok(None),
            Some(Socket::Conn(t)) if !t.orphan() => Ok(t.error.take().map(io::Error::from)),
            _ => Err(crate::tcp::table::stale()),
        }
    }
}
