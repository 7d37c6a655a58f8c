//! A TCP proxy: tokio's proxy example with the crate renamed to `sockeye` (plus the shared
//! network flags). Each inbound connection gets an outbound one to `--upstream`, and
//! `copy_bidirectional` moves bytes both ways until both sides have closed.
//!
//! ```text
//! cargo run --example proxy -- --self-test      # no root, no setup
//! cargo run --example proxy -- --nic tap:sk0 --ip 10.80.0.2/24 --port 8081 --upstream 10.80.0.1:8080
//! ```
//!
//! With `--self-test` (and no `--upstream`) it also runs an echo server on the same stack as
//! the upstream, sends `--bytes` pattern bytes through the proxy on each of `--connections`
//! connections and checks what comes back, prints the stack's counters and exits (0 when every
//! byte came back). Otherwise it prints `listening on IP:PORT` and proxies until
//! SIGINT/SIGTERM.

mod common;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use sockeye::io::copy_bidirectional;
use sockeye::net::{TcpListener, TcpStream};

use common::pattern;
use common::{BoxError, NetArgs};

/// A TCP proxy on sockeye's own TCP/IP stack.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    #[command(flatten)]
    net: NetArgs,
    /// Where to forward connections (required unless --self-test).
    #[arg(long, value_name = "ADDR:PORT")]
    upstream: Option<SocketAddr>,
    /// Self-test: how many connections at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    connections: usize,
    /// Self-test: how many bytes each connection sends.
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    bytes: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.upstream.is_none() && !args.net.self_test {
        eprintln!("error: --upstream ADDR:PORT is required (or --self-test)");
        return ExitCode::from(2);
    }
    common::run(&args.net, |env| async move {
        let listener = TcpListener::bind(env.listen_addr(8081)).await?;
        let addr = listener.local_addr()?;
        if env.self_test {
            println!("listening on {addr}");
            // The upstream: an echo server on this stack, unless one was named.
            let mut tasks = Vec::new();
            let upstream = match args.upstream {
                Some(upstream) => upstream,
                None => {
                    let echo = TcpListener::bind(env.addr(0)).await?;
                    let upstream = echo.local_addr()?;
                    println!("upstream echo server on {upstream}");
                    tasks.push(sockeye::spawn(echo_server(echo)));
                    upstream
                }
            };
            tasks.push(sockeye::spawn(serve(listener, upstream)));
            let result = self_test(addr, args.connections, args.bytes).await;
            tasks.iter().for_each(|t| t.abort());
            common::print_stats();
            return result;
        }
        let upstream = args.upstream.expect("checked above");
        let signal = common::shutdown_signal();
        common::announce(
            addr,
            &env,
            &[
                format!("forwarding to {upstream}"),
                format!("try: nc {} {}", addr.ip(), addr.port()),
            ],
        );
        common::serve_until_signal(signal, serve(listener, upstream)).await
    })
}

/// Accepts inbound connections and proxies each to `upstream` on its own task.
async fn serve(listener: TcpListener, upstream: SocketAddr) -> Result<(), BoxError> {
    loop {
        let (inbound, peer) = listener.accept().await?;
        sockeye::spawn(async move {
            if let Err(e) = transfer(inbound, upstream).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// Connects to `upstream` and moves bytes both ways until both directions are closed.
async fn transfer(mut inbound: TcpStream, upstream: SocketAddr) -> Result<(), BoxError> {
    let mut outbound = TcpStream::connect(upstream).await?;
    copy_bidirectional(&mut inbound, &mut outbound).await?;
    Ok(())
}

/// The self-test's upstream: echoes every connection.
async fn echo_server(listener: TcpListener) -> Result<(), BoxError> {
    loop {
        let (mut socket, _) = listener.accept().await?;
        sockeye::spawn(async move {
            let (mut reader, mut writer) = socket.split();
            let _ = sockeye::io::copy(&mut reader, &mut writer).await;
        });
    }
}

/// `connections` clients at once send `bytes` pattern bytes through the proxy and check the
/// echo.
async fn self_test(addr: SocketAddr, connections: usize, bytes: usize) -> Result<(), BoxError> {
    let start = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|_| sockeye::spawn(pattern::echo_round_trip(addr, bytes)))
        .collect();
    for (i, c) in clients.into_iter().enumerate() {
        c.await?.map_err(|e| format!("connection {i}: {e}"))?;
    }
    let secs = start.elapsed().as_secs_f64();
    let total = (connections * bytes) as u64;
    println!(
        "{connections} connections through the proxy each echoed {bytes} bytes intact: \
         {total} bytes each way in {:.3} s ({:.1} Mbit/s each way)",
        secs,
        common::mbit_per_s(total, secs)
    );
    println!("self-test passed; the stack's counters:");
    Ok(())
}
