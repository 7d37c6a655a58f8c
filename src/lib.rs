//! sockeye: an async runtime for Rust with its own userspace TCP/IP stack.
//!
//! The surface is tokio's, so a tokio program ports by renaming the crate:
//!
//! ```no_run
//! use sockeye::time::{sleep, Duration};
//!
//! #[sockeye::main]
//! async fn main() {
//!     let task = sockeye::spawn(async {
//!         sleep(Duration::from_millis(10)).await;
//!         6 * 7
//!     });
//!     assert_eq!(task.await.unwrap(), 42);
//! }
//! ```
//!
//! What is sockeye's own: the executor, reactor and timers ([`runtime`], [`task`], [`time`],
//! [`reactor`]), the sockets ([`net`]: `TcpListener`, `TcpStream`, `TcpSocket`, `UdpSocket`, on
//! the runtime's own stack), a view into that stack ([`stack`]: counters, socket table, capture),
//! hyper's runtime hooks ([`rt`], feature `hyper`), the TCP/IP stack itself ([`netstack`]) and
//! the network devices ([`nic`]). What is
//! tokio's, re-exported because it is runtime-agnostic: [`io`] (the I/O traits and utilities),
//! [`sync`] (channels and locks) and the [`select!`], [`join!`], [`try_join!`] and [`pin!`] macros.
//!
//! sockeye runs one executor per thread (thread-per-core, shared-nothing): [`spawn`] does not
//! require `Send`, and a runtime never moves tasks between threads. Wakers are `Send`, so
//! channels and `spawn_blocking` can wake tasks from other threads.

#![warn(missing_docs)]

pub use sockeye_macros::{main, test};
pub use sockeye_runtime::{net, reactor, runtime, spawn, stack, task, time};

/// Asynchronous I/O traits and utilities: tokio's `AsyncRead`, `AsyncWrite`, `AsyncBufRead`,
/// their extension traits, `copy`, `copy_bidirectional`, `split`, `BufReader`, `BufWriter`,
/// `duplex` and the rest of tokio's `io-util`, re-exported unchanged.
///
/// tokio's `Interest` and `Ready` belong to its `net` feature, so sockeye has its own, with the
/// same names, for `TcpStream::ready`.
pub mod io {
    pub use sockeye_runtime::net::Ready;
    pub use sockeye_runtime::reactor::Interest;
    pub use tokio::io::*;
}

/// Synchronisation primitives: tokio's `sync` module (mpsc, oneshot, broadcast, watch, Mutex,
/// RwLock, Notify, Semaphore, ...), re-exported unchanged. They work on any executor.
pub use tokio::sync;

pub use tokio::{join, pin, select, try_join};

/// hyper's runtime hooks (feature `hyper`): `SockeyeExecutor` and `SockeyeTimer`.
#[cfg(feature = "hyper")]
pub use sockeye_runtime::rt;

/// The userspace TCP/IP stack (`sockeye-netstack`).
pub use sockeye_netstack as netstack;

/// Network devices (`sockeye-nic`).
pub use sockeye_nic as nic;

/// The README's code examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
