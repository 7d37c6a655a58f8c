//! The TCP socket API: BSD-shaped calls (`socket`, `bind`, `listen`, `connect`, `accept`,
//! `read`, `write`, `shutdown`, `close`) as poll-shaped methods on the stack.
//!
//! Operations that may have to wait take a `Context`, store its waker and return `Pending`; the
//! stack wakes the waker when the socket becomes ready. Errors use the `io::ErrorKind`s tokio and
//! std report for the same situation on Linux (`ConnectionRefused`, `ConnectionReset`,
//! `TimedOut`, `BrokenPipe`, `NotConnected`, `AddrInUse`, `AddrNotAvailable`, ...). A handle
//! whose socket was closed is stale: using it gives `NotConnected`, never another socket.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::io;
use std::net::Shutdown;
use std::task::{Context, Poll};
use std::time::Duration;

use super::Stack;
use crate::config::CongestionControl;
use crate::stats::Counter;
use crate::tcp::listen::{Listener, ListenerStats};
use crate::tcp::table::{Socket, stale};
use crate::tcp::tcb::Tcb;
use crate::tcp::{SocketHandle, State};
use crate::time::Instant;

/// A snapshot of a connection's internals (like Linux's `tcp_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpInfo {
    /// The state.
    pub state: State,
    /// The smoothed RTT, once measured.
    pub srtt: Option<Duration>,
    /// The retransmission timeout now.
    pub rto: Duration,
    /// The send MSS.
    pub mss: usize,
    /// The congestion window, bytes.
    pub cwnd: usize,
    /// The slow-start threshold, bytes (`usize::MAX` until the first loss).
    pub ssthresh: usize,
    /// The congestion control algorithm's name (`cubic`, `reno`; Linux's
    /// `tcpi_ca_name`/`TCP_CONGESTION`).
    pub congestion_control: &'static str,
    /// The peer's window, bytes.
    pub snd_wnd: usize,
    /// The window we offer, bytes.
    pub rcv_wnd: usize,
    /// Bytes in the send buffer (unacknowledged and unsent).
    pub send_queued: usize,
    /// Of those, the bytes never sent (Linux's `tcpi_notsent_bytes`), which
    /// `TCP_NOTSENT_LOWAT` bounds.
    pub notsent_bytes: usize,
    /// Bytes in the receive buffer, readable.
    pub recv_queued: usize,
    /// Bytes held out of order.
    pub out_of_order: usize,
    /// Consecutive retransmission timeouts.
    pub retransmits: u8,
    /// Window scale shifts (ours, the peer's), when scaling is in use.
    pub window_scale: Option<(u8, u8)>,
    /// Whether SACK and timestamps are in use.
    pub sack: bool,
    /// Whether timestamps are in use.
    pub timestamps: bool,
    /// Memory the buffers hold now (send, receive), bytes.
    pub allocated: (usize, usize),
    /// Memory the SACK scoreboard's records of outstanding segments hold now, bytes (none
    /// before the first send, and again once everything is acknowledged and the connection
    /// has been idle for a second).
    pub scoreboard_allocated: usize,
    /// The buffers' limits now (send, receive), bytes: `SO_SNDBUF`/`SO_RCVBUF` or what
    /// autotuning made of them.
    pub buffer_limits: (usize, usize),
    /// The receiver's RTT estimate (Linux's `tcpi_rcv_rtt`), what receive autotuning uses.
    pub rcv_rtt: Option<Duration>,
}

impl Stack {
    /// A new TCP socket, neither bound nor connected (`socket(2)`; tokio's `TcpSocket::new_v4`).
    pub fn tcp_socket(&mut self) -> SocketHandle {
        let tcb = self.tcp.boxed(Tcb::new(&self.config, Instant::ZERO));
        let index = self.tcp.insert(Socket::Conn(tcb));
        self.tcp.handle(index)
    }

    /// Whether `ip` is one of the stack's addresses.
    fn is_local_ip(&self, ip: Ipv4Addr) -> bool {
        self.ifaces.iter().any(|i| i.ip() == ip)
    }

    /// Binds a socket to a local address; port 0 picks a free ephemeral port.
    pub fn tcp_bind(&mut self, h: SocketHandle, local: SocketAddrV4) -> io::Result<()> {
        let (state, bound, reuse) = {
            let tcb = self.tcp.conn(h)?;
            (tcb.state, tcb.local.port() != 0, tcb.reuseaddr())
        };
        if state != State::Closed || bound {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is already bound",
            ));
        }
        if !local.ip().is_unspecified() && !self.is_local_ip(*local.ip()) {
            return Err(io::ErrorKind::AddrNotAvailable.into());
        }
        let port = if local.port() == 0 {
            let range = self.config.ip_local_port_range;
            let candidates =
                self.secrets
                    .port_candidates(*local.ip(), (Ipv4Addr::UNSPECIFIED, 0), range);
            let tcp = &self.tcp;
            candidates
                .into_iter()
                .find(|&p| {
                    tcp.port_free_for_ephemeral(p)
                        && tcp
                            .check_bind(h.index, SocketAddrV4::new(*local.ip(), p), reuse)
                            .is_ok()
                })
                .ok_or(io::ErrorKind::AddrInUse)?
        } else {
            local.port()
        };
        let local = SocketAddrV4::new(*local.ip(), port);
        self.tcp.check_bind(h.index, local, reuse)?;
        self.tcp.conn(h)?.local = local;
        self.tcp.hold_port(h.index, port, true);
        Ok(())
    }

    /// Starts listening (`listen(2)`): the accept queue holds `backlog` connections (clamped
    /// to `somaxconn`). An unbound socket is first bound to an ephemeral port.
    pub fn tcp_listen(&mut self, h: SocketHandle, backlog: u32) -> io::Result<()> {
        let tcb = self.tcp.conn(h)?;
        if tcb.state != State::Closed || tcb.remote.port() != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is connected",
            ));
        }
        if tcb.local.port() == 0 {
            self.tcp_bind(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        let tcb = self.tcp.conn(h)?;
        let local = tcb.local;
        if self.tcp.find_listener(local).is_some_and(|i| i != h.index)
            || (local.ip().is_unspecified() && self.tcp.any_listener_on_port(local.port(), h.index))
        {
            return Err(io::ErrorKind::AddrInUse.into());
        }
        let tcb = self.tcp.conn(h)?;
        let listener = Listener::from_socket(tcb, backlog, &self.config);
        self.tcp.add_listener(h.index, local)?;
        self.tcp
            .replace(h.index, Socket::Listener(Box::new(listener)));
        Ok(())
    }

    /// A listener on `local` in one call (`TcpListener::bind`: SO_REUSEADDR set, as tokio does).
    pub fn tcp_listener(&mut self, local: SocketAddrV4, backlog: u32) -> io::Result<SocketHandle> {
        let h = self.tcp_socket();
        let result = (|| {
            self.tcp.conn(h)?.set_reuseaddr(true);
            self.tcp_bind(h, local)?;
            self.tcp_listen(h, backlog)
        })();
        match result {
            Ok(()) => Ok(h),
            Err(e) => {
                self.tcp.free(h.index);
                Err(e)
            }
        }
    }

    /// Starts connecting to `remote` (`connect(2)`); [`Stack::tcp_poll_connect`] reports the
    /// outcome. The SYN leaves with the next transmit.
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> io::Result<()> {
        let tcb = self.tcp.conn(h)?;
        if tcb.state != State::Closed || tcb.remote.port() != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is already connected or connecting",
            ));
        }
        if remote.ip().is_unspecified() || remote.ip().is_broadcast() || remote.port() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid remote address",
            ));
        }
        let bound = tcb.local;
        let Some(hop) = self.routes.lookup(*remote.ip()) else {
            self.counters.inc(Counter::IpOutNoRoutes);
            return Err(io::ErrorKind::NetworkUnreachable.into());
        };
        let iface = &self.ifaces[usize::from(hop.iface.0)];
        let mtu = iface.config.mtu;
        let ip = if bound.ip().is_unspecified() {
            iface.ip()
        } else {
            *bound.ip()
        };
        let local = if bound.port() != 0 {
            let local = SocketAddrV4::new(ip, bound.port());
            if self.tcp.tuple_in_use(local, remote) {
                return Err(io::ErrorKind::AddrNotAvailable.into());
            }
            local
        } else {
            let range = self.config.ip_local_port_range;
            let candidates = self
                .secrets
                .port_candidates(ip, (*remote.ip(), remote.port()), range);
            let tcp = &self.tcp;
            let port = candidates
                .into_iter()
                .find(|&p| {
                    tcp.port_free_for_ephemeral(p)
                        && !tcp.tuple_in_use(SocketAddrV4::new(ip, p), remote)
                })
                .ok_or(io::ErrorKind::AddrNotAvailable)?;
            self.tcp.hold_port(h.index, port, false);
            SocketAddrV4::new(ip, port)
        };
        let (iss, ts_offset) = self.tcp_isn(now, local, remote);
        let (mut env, table) = self.tcp_env(now);
        let tcb = table.conn(h)?;
        tcb.local = local;
        tcb.remote = remote;
        tcb.set_path(hop.iface, hop.next_hop, mtu);
        tcb.start(iss, ts_offset);
        tcb.set_active(true);
        tcb.last_recv = now;
        tcb.last_progress = now;
        tcb.set_state(&mut env, State::SynSent);
        env.count(Counter::TcpActiveOpens);
        table.hash(h.index);
        table.settle(h.index, &mut env);
        Ok(())
    }

    /// A connection to `remote` in one call (`TcpStream::connect` without the wait).
    pub fn tcp_connect_to(
        &mut self,
        now: Instant,
        remote: SocketAddrV4,
    ) -> io::Result<SocketHandle> {
        let h = self.tcp_socket();
        match self.tcp_connect(now, h, remote) {
            Ok(()) => Ok(h),
            Err(e) => {
                self.tcp.free(h.index);
                Err(e)
            }
        }
    }

    /// Ready once the connection is established, or with the error that ended it.
    pub fn tcp_poll_connect(
        &mut self,
        h: SocketHandle,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let tcb = self.tcp.conn(h)?;
        match tcb.state {
            State::SynSent | State::SynReceived => {
                tcb.write_waker = Some(cx.waker().clone());
                Poll::Pending
            }
            State::Closed => Poll::Ready(Err(tcb
                .error
                .take()
                .map_or_else(|| io::ErrorKind::NotConnected.into(), io::Error::from))),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// The next established connection from a listener's accept queue, with its peer address.
    pub fn tcp_poll_accept(
        &mut self,
        h: SocketHandle,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(SocketHandle, SocketAddrV4)>> {
        let listener = self.tcp.listener(h)?;
        let Some(child) = listener.accept_queue.pop_front() else {
            listener.waker = Some(cx.waker().clone());
            return Poll::Pending;
        };
        listener.stats.accepted += 1;
        let tcb = self
            .tcp
            .conn_at(child)
            .expect("accept queue holds live connections");
        tcb.parent = None;
        tcb.set_in_accept_queue(false);
        let remote = tcb.remote;
        Poll::Ready(Ok((self.tcp.handle(child), remote)))
    }

    /// Reads what the receive buffer holds into `buf` (a partial read when less is there).
    /// `Ok(0)` after the peer's FIN (once the buffer is drained); the connection's error (e.g.
    /// `ConnectionReset`) once, after which reads return `Ok(0)`.
    pub fn tcp_poll_read(
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
            let n = tcb.recv.pop(buf);
            if tcb.on_read(n) {
                self.tcp.touch(h.index);
            }
            return Poll::Ready(Ok(n));
        }
        tcb.poll_nothing_to_read(cx)
    }

    /// Copies as much of `buf` as the send buffer has room for (a partial write when it is
    /// nearly full), and no more than keeps the unsent bytes at or under `TCP_NOTSENT_LOWAT`;
    /// `Pending` when nothing fits, woken once a third of the buffer is free again and the
    /// unsent bytes are under half the mark.
    pub fn tcp_poll_write(
        &mut self,
        h: SocketHandle,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let tcb = self.tcp.conn(h)?;
        if let Some(e) = tcb.error.take() {
            return Poll::Ready(Err(e.into()));
        }
        if tcb.fin_queued() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        match tcb.state {
            State::SynSent | State::SynReceived => {
                tcb.write_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            State::Established | State::CloseWait => {}
            State::Closed if tcb.remote.port() == 0 => {
                return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
            }
            _ => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = tcb.write_room(&self.config);
        let n = tcb.send.push(&buf[..buf.len().min(room)]);
        if n == 0 {
            // Full (or the unsent bytes are at `TCP_NOTSENT_LOWAT`): from now on the writer is
            // told of room only at the low-water mark.
            tcb.set_write_blocked(true);
            tcb.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        self.tcp.touch(h.index);
        Poll::Ready(Ok(n))
    }

    /// Shuts down one or both directions (`shutdown(2)`). Shutting down writing queues a FIN
    /// after the buffered data; shutting down reading makes reads return `Ok(0)`.
    pub fn tcp_shutdown(&mut self, h: SocketHandle, how: Shutdown) -> io::Result<()> {
        let (mut env, table) = self.tcp_env(Instant::ZERO);
        let tcb = table.conn(h)?;
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            tcb.set_read_shutdown(true);
            tcb.wake_reader();
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            match tcb.state {
                State::Closed | State::Listen => return Err(io::ErrorKind::NotConnected.into()),
                State::Established => tcb.set_state(&mut env, State::FinWait1),
                State::CloseWait => tcb.set_state(&mut env, State::LastAck),
                _ => {}
            }
            if !tcb.fin_queued() {
                tcb.set_fin_queued(true);
                table.touch(h.index);
            }
        }
        Ok(())
    }

    /// `AsyncWrite::poll_shutdown`: queues the FIN and is ready at once, as on Linux.
    pub fn tcp_poll_shutdown(
        &mut self,
        h: SocketHandle,
        _cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(self.tcp_shutdown(h, Shutdown::Write))
    }

    /// Closes the handle (`close(2)`). A connection ends in the background: with a FIN after
    /// the buffered data, or with a RST if received data was left unread (Linux's rule). A
    /// listener resets the connections waiting in its accept queue.
    pub fn tcp_close(&mut self, now: Instant, h: SocketHandle) {
        match self.tcp.get(h) {
            None | Some(Socket::TimeWait(_)) => {}
            Some(Socket::Listener(_)) => self.close_listener(now, h),
            Some(Socket::Conn(tcb)) if tcb.orphan() => {}
            Some(Socket::Conn(_)) => {
                let (mut env, table) = self.tcp_env(now);
                let Ok(tcb) = table.conn(h) else { return };
                tcb.set_orphan(true);
                tcb.read_waker = None;
                tcb.write_waker = None;
                match tcb.state {
                    State::Closed | State::Listen | State::SynSent => {
                        tcb.close_with(&mut env, None)
                    }
                    State::TimeWait => {}
                    _ if !tcb.recv.is_empty() || !tcb.assembler.is_empty() => {
                        env.count(Counter::TcpExtTCPAbortOnClose);
                        tcb.set_rst_now(true);
                        tcb.close_with(&mut env, None);
                    }
                    state => {
                        match state {
                            State::Established | State::SynReceived => {
                                tcb.set_state(&mut env, State::FinWait1)
                            }
                            State::CloseWait => tcb.set_state(&mut env, State::LastAck),
                            State::FinWait2 => tcb.arm_fin_wait2(&mut env),
                            _ => {}
                        }
                        tcb.set_fin_queued(true);
                    }
                }
                table.settle(h.index, &mut env);
            }
        }
    }

    fn close_listener(&mut self, now: Instant, h: SocketHandle) {
        let Ok(listener) = self.tcp.listener(h) else {
            return;
        };
        let children: Vec<u32> = listener.accept_queue.drain(..).collect();
        let (mut env, table) = self.tcp_env(now);
        for child in children {
            if let Some(tcb) = table.conn_at(child) {
                tcb.parent = None;
                tcb.set_in_accept_queue(false);
                tcb.set_orphan(true);
                tcb.set_rst_now(tcb.state != State::Closed);
                tcb.close_with(&mut env, None);
                table.settle(child, &mut env);
            }
        }
        table.free(h.index);
    }

    /// Closes gracefully and waits: sends the FIN (after the buffered data) and is ready once
    /// both directions are closed (TIME_WAIT or CLOSED), then releases the handle.
    pub fn tcp_poll_close(
        &mut self,
        now: Instant,
        h: SocketHandle,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if self.tcp.listener(h).is_ok() {
            self.tcp_close(now, h);
            return Poll::Ready(Ok(()));
        }
        let tcb = self.tcp.conn(h)?;
        if matches!(tcb.state, State::TimeWait | State::Closed) {
            let error = tcb.error.take();
            self.tcp_close(now, h);
            return Poll::Ready(error.map_or(Ok(()), |e| Err(e.into())));
        }
        if !tcb.fin_queued() {
            self.tcp_shutdown(h, Shutdown::Write)?;
        }
        let tcb = self.tcp.conn(h)?;
        tcb.write_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Resets the connection (SO_LINGER 0 then close): a RST now, buffers discarded, handle
    /// released.
    pub fn tcp_abort(&mut self, now: Instant, h: SocketHandle) {
        if self.tcp.listener(h).is_ok() {
            self.tcp_close(now, h);
            return;
        }
        let (mut env, table) = self.tcp_env(now);
        let Ok(tcb) = table.conn(h) else { return };
        tcb.set_orphan(true);
        if tcb.state.is_synchronized() && tcb.state != State::TimeWait {
            env.count(Counter::TcpExtTCPAbortOnLinger);
            tcb.set_rst_now(true);
        }
        tcb.close_with(&mut env, None);
        table.settle(h.index, &mut env);
    }

    /// The state of a socket (`Listen` for a listener).
    pub fn tcp_state(&mut self, h: SocketHandle) -> io::Result<State> {
        match self.tcp.get(h) {
            Some(Socket::Listener(_)) => Ok(State::Listen),
            Some(Socket::Conn(t)) if !t.orphan() => Ok(t.state),
            _ => Err(stale()),
        }
    }

    /// The local address (`getsockname`).
    pub fn tcp_local_addr(&mut self, h: SocketHandle) -> io::Result<SocketAddrV4> {
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => Ok(l.local),
            Some(Socket::Conn(t)) if !t.orphan() => Ok(t.local),
            _ => Err(stale()),
        }
    }

    /// The peer's address (`getpeername`).
    pub fn tcp_peer_addr(&mut self, h: SocketHandle) -> io::Result<SocketAddrV4> {
        let tcb = self.tcp.conn(h)?;
        if tcb.remote.port() == 0 {
            return Err(io::ErrorKind::NotConnected.into());
        }
        Ok(tcb.remote)
    }

    /// Sets TCP_NODELAY (Nagle off).
    pub fn tcp_set_nodelay(&mut self, h: SocketHandle, nodelay: bool) -> io::Result<()> {
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => l.inherited.nodelay = nodelay,
            Some(Socket::Conn(t)) if !t.orphan() => {
                t.set_nodelay(nodelay);
                self.tcp.touch(h.index);
            }
            _ => return Err(stale()),
        }
        Ok(())
    }

    /// Whether TCP_NODELAY is set.
    pub fn tcp_nodelay(&mut self, h: SocketHandle) -> io::Result<bool> {
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => Ok(l.inherited.nodelay),
            Some(Socket::Conn(t)) if !t.orphan() => Ok(t.nodelay()),
            _ => Err(stale()),
        }
    }

    /// Sets `TCP_NOTSENT_LOWAT`: how many written, unsent bytes the connection holds before
    /// writes stop taking more (see the `tcp_notsent_lowat` sysctl); 0 goes back to the
    /// sysctl's value. Accepted connections inherit a listener's. Room it makes wakes a
    /// blocked writer.
    pub fn tcp_set_notsent_lowat(&mut self, h: SocketHandle, bytes: u32) -> io::Result<()> {
        let config = &self.config;
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => l.inherited.notsent_lowat = bytes,
            Some(Socket::Conn(t)) if !t.orphan() => {
                t.notsent_lowat = bytes;
                if t.write_blocked() {
                    t.wake_writer_if_room(config);
                }
            }
            _ => return Err(stale()),
        }
        Ok(())
    }

    /// The `TCP_NOTSENT_LOWAT` mark in force, in bytes (the socket's own, or the sysctl's).
    pub fn tcp_notsent_lowat(&mut self, h: SocketHandle) -> io::Result<u32> {
        let sysctl = self.config.tcp_notsent_lowat;
        let own = match self.tcp.get(h) {
            Some(Socket::Listener(l)) => l.inherited.notsent_lowat,
            Some(Socket::Conn(t)) if !t.orphan() => t.notsent_lowat,
            _ => return Err(stale()),
        };
        Ok(if own == 0 { sysctl } else { own })
    }

    /// Sets SO_KEEPALIVE (probes per `tcp_keepalive_*`).
    pub fn tcp_set_keepalive(&mut self, h: SocketHandle, keepalive: bool) -> io::Result<()> {
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => l.inherited.keepalive = keepalive,
            Some(Socket::Conn(t)) if !t.orphan() => {
                t.set_keepalive(keepalive);
                self.tcp.touch(h.index);
            }
            _ => return Err(stale()),
        }
        Ok(())
    }

    /// Sets SO_REUSEADDR (before bind).
    pub fn tcp_set_reuseaddr(&mut self, h: SocketHandle, reuse: bool) -> io::Result<()> {
        self.tcp.conn(h)?.set_reuseaddr(reuse);
        Ok(())
    }

    /// Sets the send buffer size (SO_SNDBUF), clamped to at least `tcp_wmem`'s minimum.
    pub fn tcp_set_send_buffer_size(&mut self, h: SocketHandle, size: usize) -> io::Result<()> {
        let size = size.max(self.config.tcp_wmem[0]);
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => {
                l.inherited.send_buffer = size;
                l.inherited.snd_locked = true;
            }
            Some(Socket::Conn(t)) if !t.orphan() => {
                t.send.set_limit(size);
                t.set_snd_locked(true);
            }
            _ => return Err(stale()),
        }
        Ok(())
    }

    /// Sets the receive buffer size (SO_RCVBUF), clamped to at least `tcp_rmem`'s minimum; the
    /// size is fixed from then on (no receive autotuning, as on Linux).
    pub fn tcp_set_recv_buffer_size(&mut self, h: SocketHandle, size: usize) -> io::Result<()> {
        let size = size.max(self.config.tcp_rmem[0]);
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => {
                l.inherited.recv_buffer = size;
                l.inherited.rcv_locked = true;
            }
            Some(Socket::Conn(t)) if !t.orphan() => {
                t.recv.set_limit(size);
                t.set_rcv_locked(true);
            }
            _ => return Err(stale()),
        }
        Ok(())
    }

    /// Chooses the socket's congestion control algorithm by its Linux name (`cubic`, `reno`;
    /// `TCP_CONGESTION`). On a listener it applies to the connections it accepts from then on;
    /// on a connection it takes effect at once, starting the algorithm afresh from the current
    /// window, as Linux does.
    ///
    /// # Errors
    /// `NotFound` for a name no algorithm has (Linux's `ENOENT`); `NotConnected` for a stale
    /// handle.
    pub fn tcp_set_congestion_control(&mut self, h: SocketHandle, name: &str) -> io::Result<()> {
        let which = CongestionControl::from_name(name).ok_or(io::ErrorKind::NotFound);
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => l.inherited.congestion = which?,
            Some(Socket::Conn(t)) if !t.orphan() => t.cc.set_algorithm(which?),
            _ => return Err(stale()),
        }
        Ok(())
    }

    /// The name of the socket's congestion control algorithm (`TCP_CONGESTION`).
    pub fn tcp_congestion_control(&mut self, h: SocketHandle) -> io::Result<&'static str> {
        match self.tcp.get(h) {
            Some(Socket::Listener(l)) => Ok(l.inherited.congestion.name()),
            Some(Socket::Conn(t)) if !t.orphan() => Ok(t.cc.name()),
            _ => Err(stale()),
        }
    }

    /// A listener's queues and counters.
    pub fn tcp_listener_stats(&mut self, h: SocketHandle) -> io::Result<ListenerStats> {
        Ok(self.tcp.listener(h)?.stats())
    }

    /// Connections waiting in a listener's accept queue and SYN queue.
    pub fn tcp_listener_queues(&mut self, h: SocketHandle) -> io::Result<(usize, usize)> {
        let l = self.tcp.listener(h)?;
        Ok((l.accept_queue.len(), l.syn_queue))
    }

    /// A snapshot of a connection's internals.
    pub fn tcp_info(&mut self, h: SocketHandle) -> io::Result<TcpInfo> {
        let t = self.tcp.conn(h)?;
        Ok(TcpInfo {
            state: t.state,
            srtt: t.rtt.srtt(),
            rto: t.rtt.rto(),
            mss: t.mss(),
            cwnd: t.cc.cwnd(),
            ssthresh: t.cc.ssthresh(),
            congestion_control: t.cc.name(),
            snd_wnd: t.snd_wnd(),
            rcv_wnd: t.rcv_wnd(),
            send_queued: t.send.len(),
            notsent_bytes: t.notsent(),
            recv_queued: t.recv.len(),
            out_of_order: t.assembler.held(),
            retransmits: t.retries,
            window_scale: t
                .opts
                .scaling
                .then_some((t.opts.rcv_shift, t.opts.snd_shift)),
            sack: t.opts.sack,
            timestamps: t.opts.timestamps,
            allocated: (t.send.allocated(), t.recv.allocated()),
            scoreboard_allocated: t.sb.allocated(),
            buffer_limits: (t.send.limit(), t.recv.limit()),
            rcv_rtt: t.rcv_tuning.rtt(),
        })
    }

    /// The memory an idle connection holds once its buffers are released (its control block
    /// and its table entries), bytes: a read that empties the receive buffer a second after
    /// data last arrived, or the buffer's idle timer, and an acknowledged send buffer, leave
    /// a connection holding only this.
    pub fn tcp_idle_connection_size() -> usize {
        crate::tcp::table::connection_overhead()
    }

    /// The memory a connection in TIME_WAIT holds once it is orphaned (its compact record and
    /// its table entries), bytes.
    pub fn tcp_time_wait_size() -> usize {
        crate::tcp::table::time_wait_overhead()
    }

    /// TCP sockets in the table (connections, listeners, unconnected sockets, and connections
    /// closed by the user that are still finishing, e.g. in TIME_WAIT).
    pub fn tcp_sockets(&self) -> usize {
        self.tcp.len()
    }

    /// Connections in TIME_WAIT (what `tcp_max_tw_buckets` bounds; Linux's `tw` in
    /// `/proc/net/sockstat`).
    pub fn tcp_time_wait_sockets(&self) -> usize {
        self.tcp.time_wait_len()
    }
}
