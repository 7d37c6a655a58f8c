//! Networking on the runtime's own TCP/IP stack, with tokio's `net` names and semantics:
//! [`TcpListener`], [`TcpStream`] (and its halves), [`TcpSocket`], [`UdpSocket`],
//! [`ToSocketAddrs`] and [`lookup_host`].
//!
//! Every runtime owns one stack (see `runtime::Builder` for its interfaces; by default the
//! in-process loopback with `127.0.0.1/8`). A socket belongs to the stack of the runtime it was
//! created on and is `!Send`; tasks need no `Send` bound either. Each socket operation borrows
//! the thread's stack for one short, synchronous call into its poll-shaped API; frames move
//! between the stack and the devices when the runtime ticks.
//!
//! Errors use the `io::ErrorKind` tokio and Linux give: `ConnectionRefused` when a SYN is
//! answered with a RST, `AddrInUse`, `TimedOut`, `ConnectionReset`, `NotConnected`,
//! `BrokenPipe` (writing after `shutdown` or after the connection closed), `InvalidInput`.
//!
//! Differences from tokio: IPv4 only (an IPv6 address is `InvalidInput`); no conversions to
//! or from `std::net` sockets (there is no kernel socket), so a `try_io` closure moves data
//! through the socket's own `try_` methods rather than system calls on a descriptor;
//! `set_linger` with a non-zero time does not make dropping wait.

mod addr;
mod compat;
mod ready;
pub mod tcp;
mod udp;
mod waiters;

pub use addr::{ToSocketAddrs, lookup_host};
pub use ready::Ready;
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;

use std::rc::Rc;

use crate::context;
use crate::driver::NetDriver;

/// The stack of the runtime running on this thread.
///
/// # Panics
/// Outside a sockeye runtime, with tokio's kind of message.
pub(crate) fn current_driver() -> Rc<NetDriver> {
    context::with_core(|core| core.net.clone()).unwrap_or_else(|| panic!("{}", context::NO_RUNTIME))
}
