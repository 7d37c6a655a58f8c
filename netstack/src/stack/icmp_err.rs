//! ICMP errors about datagrams the stack sent (RFC 1122 section 3.2.2.1), handed to the socket
//! that sent them as Linux's `icmp_unreach`, `tcp_v4_err` and `udp_err` do.
//!
//! The quoted datagram (its IPv4 header and first 8 payload bytes) names the socket: its
//! source must be one of the stack's addresses, its ports and addresses give the 4-tuple.
//! The error it becomes follows Linux's `icmp_err_convert` table; a few codes are "fatal"
//! (hard errors: port, protocol and administratively prohibited, unknown hosts and networks).
//!
//! - **TCP**: see `tcp/icmp.rs`: a connect in progress fails at once with the error; an
//!   established connection keeps it as a soft error; the quoted sequence number must be in
//!   the window (`OutOfWindowIcmps` otherwise).
//! - **UDP**: a connected socket takes a hard error for its peer as its pending error
//!   (`SO_ERROR`): the next receive or send returns it once (`ConnectionRefused` for a closed
//!   port), as Linux does without `IP_RECVERR`; unconnected sockets ignore ICMP errors.
//!
//! Path MTU discovery (fragmentation needed, code 4) is not acted on: TCP segments carry DF
//! and keep the interface's MTU. Like Linux, protocol-unreachable is a hard error, but it maps
//! to `ConnectionRefused` here (`io::ErrorKind` has no `ENOPROTOOPT`).

use core::net::SocketAddrV4;
use std::io::ErrorKind;

use super::Stack;
use crate::stats::Counter;
use crate::time::Instant;
use crate::wire::SeqNumber;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet};

/// ICMP destination unreachable codes (RFC 792, RFC 1812): the error and whether it is fatal.
fn unreachable(code: u8) -> Option<(ErrorKind, bool)> {
    use ErrorKind::*;
    Some(match code {
        0 => (NetworkUnreachable, false),
        1 => (HostUnreachable, false),
        2 | 3 => (ConnectionRefused, true),
        // Fragmentation needed: path MTU discovery, not an error (see the module docs).
        4 => return None,
        5 => (HostUnreachable, false),
        6 => (NetworkUnreachable, true),
        7 | 8 => (HostUnreachable, true),
        9 | 10 => (ConnectionRefused, true),
        11 => (NetworkUnreachable, false),
        12 => (HostUnreachable, false),
        13..=15 => (HostUnreachable, true),
        _ => return None,
    })
}

impl Stack {
    /// A destination-unreachable (`unreach`) or time-exceeded message with `code`, quoting
    /// `original`.
    pub(super) fn icmp_error(&mut self, now: Instant, unreach: bool, code: u8, original: &[u8]) {
        let (kind, fatal) = if unreach {
            match unreachable(code) {
                Some(e) => e,
                None => return,
            }
        } else {
            (ErrorKind::HostUnreachable, false)
        };
        // `Icmpv4Repr::parse` checked the quote: a valid header and 8 bytes after it.
        let Ok(quoted) = Ipv4Packet::new_quoted(original) else {
            return;
        };
        let Some(l4) = original.get(usize::from(quoted.header_len())..) else {
            return;
        };
        if l4.len() < 8
            || !self
                .ifaces
                .iter()
                .any(|i| i.config.addr.addr() == quoted.src_addr())
        {
            return;
        }
        let port = |at: usize| u16::from_be_bytes([l4[at], l4[at + 1]]);
        let local = SocketAddrV4::new(quoted.src_addr(), port(0));
        let remote = SocketAddrV4::new(quoted.dst_addr(), port(2));
        match quoted.next_header() {
            IpProtocol::Tcp => {
                let seq = SeqNumber(u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]));
                self.tcp_icmp_error(now, local, remote, seq, kind);
            }
            IpProtocol::Udp if fatal => {
                if let Some(socket) = self.udp.lookup_mut(local, remote)
                    && socket.remote == Some(remote)
                {
                    socket.error = Some(kind);
                    for waker in [socket.reader.take(), socket.writer.take()]
                        .into_iter()
                        .flatten()
                    {
                        waker.wake();
                    }
                }
            }
            _ => {}
        }
    }

    fn tcp_icmp_error(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        seq: SeqNumber,
        kind: ErrorKind,
    ) {
        let Some(index) = self.tcp.lookup(local, remote) else {
            return;
        };
        let (mut env, table) = self.tcp_env(now);
        let Some(tcb) = table.conn_at(index) else {
            // A TIME_WAIT record ignores ICMP errors, as a connection in TIME_WAIT does; a
            // quote of anything but its last sequence number is outside its window.
            if table
                .time_wait_at(index)
                .is_some_and(|tw| seq != tw.snd_nxt)
            {
                env.count(Counter::TcpExtOutOfWindowIcmps);
            }
            return;
        };
        if !tcb.on_icmp_error(&mut env, seq, kind) {
            env.count(Counter::TcpExtOutOfWindowIcmps);
        }
        table.settle(index, &mut env);
    }
}
