//! sockeye's TCP/IP stack as a sans-IO core.
//!
//! The stack never touches a device, a thread, a clock or an executor. The runtime drives it:
//!
//! - **Input**: `Stack::receive(now, iface, frame)` hands it one received Ethernet frame, borrowed
//!   from the device's own buffer.
//! - **Output**: `Stack::transmit(now, ..)` writes the frames it wants sent into buffers the caller
//!   provides (typically a device's transmit buffer), so no frame is copied on the way out.
//! - **Time**: `Stack::poll_at()` says when the stack next needs time to pass (a retransmission, a
//!   delayed ACK, ...). Time is always a parameter, so tests run on a virtual clock.
//!
//! What is here: the [`wire`] formats; the [`Stack`] with interfaces, routing ([`route`]), ARP
//! ([`neighbor`]), IPv4 with reassembly and fragmentation, ICMP, [`udp`] sockets and [`tcp`]
//! (RFC 9293 with RFC 5961; NewReno and CUBIC; SACK recovery with RACK-TLP and PRR; timers in a
//! [`timer`] wheel; listeners with Linux's SYN and accept queues and SYN cookies); settings
//! with Linux's sysctl names ([`config`]) and counters with Linux's MIB names ([`stats`]); and
//! a deterministic network simulator ([`sim`]) for tests.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
mod hash;
pub mod neighbor;
pub mod route;
pub mod sim;
pub mod stack;
pub mod stats;
pub mod tcp;
pub mod time;
pub mod timer;
pub mod udp;
pub mod wire;

pub use config::{ConfigError, CongestionControl, StackConfig};
pub use route::{IfaceId, Ipv4Cidr};
pub use stack::{
    Emit, InterfaceConfig, ListenerReport, Nstat, SocketEntry, SocketMemory, SocketTimer, Stack,
    TcpInfo, TimerKind,
};
pub use stats::{Counter, Counters, Snapshot};
pub use tcp::listen::ListenerStats;
pub use tcp::{SocketHandle, State as TcpState};
pub use time::Instant;
pub use udp::UdpHandle;
