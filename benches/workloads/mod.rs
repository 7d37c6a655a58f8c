//! The network workloads of the comparisons, written once and shared by the criterion benchmarks
//! (`benches/net.rs`) and the `compare` example (`examples/compare.rs`), which both include this
//! module with `#[path]`.
//!
//! Three contenders run each workload:
//! - `sockeye`: sockeye's runtime and its own TCP/IP stack on the in-process loopback device
//!   (`127.0.0.1/8`);
//! - `tokio`: tokio's `current_thread` runtime with a `LocalSet` (so the same generic code can
//!   spawn `!Send` futures), its sockets going through the Linux kernel's loopback (127.0.0.1);
//! - `smoltcp`: smoltcp's `Interface` and `SocketSet` over its `Loopback` device, polled in one
//!   single-threaded loop (no async runtime: smoltcp has none), where the workload fits
//!   (`smoltcp_lo.rs` says which and how).
//!
//! The sockeye and tokio versions are one generic async function per workload over the [`Net`]
//! trait ([`tcp`], [`many`]). Each is timed from inside: set-up (binding, connecting, spawning
//! servers) happens before the clock starts, and a workload returns the time its `iters`
//! repetitions took, so criterion's `iter_custom` and the example's table measure the same thing.
//! Every run gets a fresh runtime (and so, for sockeye, a fresh stack): [`Net::block_on`].

pub mod many;
pub mod smoltcp_lo;
pub mod tcp;

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};

/// Bytes per `write` call in the bulk workload.
pub const BULK_WRITE: usize = 64 * 1024;
/// Bytes moved by one bulk iteration (the same for every contender).
pub const BULK_BYTES: u64 = 8 << 20;
/// Size of the ping-pong request and of its response.
pub const PING_BYTES: usize = 64;
/// Client tasks opening connections at once in the connection-rate workload.
pub const CONNECT_CONCURRENCY: u64 = 16;
/// Keep-alive connections sending GETs at once in the HTTP workload.
pub const HTTP_CONNECTIONS: u64 = 4;
/// The body of the HTTP workload's response.
pub const HTTP_BODY: &[u8] = b"hello from the benchmark";

/// What the workloads need from a runtime and its sockets.
pub trait Net: Sized + 'static {
    /// The contender's name in reports.
    const NAME: &'static str;
    /// True when the sockets live in the kernel (their memory is not in the process's RSS).
    const KERNEL: bool;
    /// A listening socket.
    type Listener: 'static;
    /// A connected socket.
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    /// A connected socket as hyper's I/O.
    type HyperIo: hyper::rt::Read + hyper::rt::Write + Unpin + 'static;

    /// Runs `future` to completion on a new runtime of this contender (built outside any timing).
    fn block_on<F: Future>(future: F) -> F::Output;
    /// Spawns `future` on the current runtime; the returned future gives its output.
    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + 'static
    where
        F: Future + 'static,
        F::Output: 'static;
    /// Listens on `addr` (port 0 for any).
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>>;
    /// The listener's address.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;
    /// The next connection on `listener`.
    fn accept(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>>;
    /// A connection to `addr`.
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>>;
    /// `TCP_NODELAY`.
    fn set_nodelay(stream: &Self::Stream) -> io::Result<()>;
    /// `SO_LINGER` 0: dropping the stream then resets the connection (no TIME_WAIT).
    fn set_linger_zero(stream: &Self::Stream) -> io::Result<()>;
    /// The stream as hyper's I/O.
    fn hyper_io(stream: Self::Stream) -> Self::HyperIo;
}

/// sockeye on its in-process loopback.
pub struct Sockeye;

impl Net for Sockeye {
    const NAME: &'static str = "sockeye";
    const KERNEL: bool = false;
    type Listener = sockeye::net::TcpListener;
    type Stream = sockeye::net::TcpStream;
    type HyperIo = sockeye::net::TcpStream;

    fn block_on<F: Future>(future: F) -> F::Output {
        let runtime = sockeye::runtime::Builder::new_current_thread()
            .enable_all()
            .interface(sockeye::runtime::Interface::loopback())
            .build()
            .expect("cannot build a sockeye runtime");
        runtime.block_on(future)
    }

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + 'static
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let handle = sockeye::spawn(future);
        async move { handle.await.expect("a sockeye task failed") }
    }

    async fn bind(addr: SocketAddr) -> io::Result<Self::Listener> {
        sockeye::net::TcpListener::bind(addr).await
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        Ok(listener.accept().await?.0)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        sockeye::net::TcpStream::connect(addr).await
    }

    fn set_nodelay(stream: &Self::Stream) -> io::Result<()> {
        stream.set_nodelay(true)
    }

    fn set_linger_zero(stream: &Self::Stream) -> io::Result<()> {
        stream.set_linger(Some(std::time::Duration::ZERO))
    }

    fn hyper_io(stream: Self::Stream) -> Self::HyperIo {
        stream
    }
}

/// tokio's `current_thread` runtime over the kernel's loopback.
pub struct Tokio;

impl Net for Tokio {
    const NAME: &'static str = "tokio";
    const KERNEL: bool = true;
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;
    type HyperIo = hyper_util::rt::TokioIo<tokio::net::TcpStream>;

    fn block_on<F: Future>(future: F) -> F::Output {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot build a tokio runtime");
        tokio::task::LocalSet::new().block_on(&runtime, future)
    }

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + 'static
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let handle = tokio::task::spawn_local(future);
        async move { handle.await.expect("a tokio task failed") }
    }

    async fn bind(addr: SocketAddr) -> io::Result<Self::Listener> {
        tokio::net::TcpListener::bind(addr).await
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        Ok(listener.accept().await?.0)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        tokio::net::TcpStream::connect(addr).await
    }

    fn set_nodelay(stream: &Self::Stream) -> io::Result<()> {
        stream.set_nodelay(true)
    }

    fn set_linger_zero(stream: &Self::Stream) -> io::Result<()> {
        // Deprecated because a lingering close blocks the thread in `close`; linger 0 never
        // blocks (the close resets), which is what the workloads want.
        #[allow(deprecated)]
        stream.set_linger(Some(std::time::Duration::ZERO))
    }

    fn hyper_io(stream: Self::Stream) -> Self::HyperIo {
        hyper_util::rt::TokioIo::new(stream)
    }
}

/// The loopback address with port 0 (any free port).
pub fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Splits `total` into `parts` counts that differ by at most one.
pub fn share(total: u64, parts: u64, part: u64) -> u64 {
    total / parts + u64::from(part < total % parts)
}
