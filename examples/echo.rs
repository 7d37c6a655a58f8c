//! An echo server: tokio's echo example with the crate renamed to `sockeye` (plus the shared
//! network flags). Every connection gets back whatever it sends.
//!
//! ```text
//! cargo run --example echo -- --self-test        # no root, no setup
//! cargo run --example echo -- --nic tap:sk0 --ip 10.80.0.2/24 --port 8080
//! ```
//!
//! With `--self-test` it serves on the in-process loopback and drives itself: `--connections`
//! clients at once each send `--bytes` bytes of the `(i % 251)` pattern and check what comes
//! back, then it prints the stack's counters and exits (0 when every byte came back). Otherwise
//! it prints `listening on IP:PORT` and serves until SIGINT/SIGTERM (try `nc IP PORT`).

mod common;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::TcpListener;

use common::pattern;
use common::{BoxError, NetArgs};

/// An echo server on sockeye's own TCP/IP stack.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    #[command(flatten)]
    net: NetArgs,
    /// Self-test: how many clients at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    connections: usize,
    /// Self-test: how many bytes each client sends.
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    bytes: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(&args.net, |env| async move {
        let listener = TcpListener::bind(env.listen_addr(8080)).await?;
        let addr = listener.local_addr()?;
        if env.self_test {
            println!("listening on {addr}");
            let server = sockeye::spawn(serve(listener));
            let result = self_test(addr, args.connections, args.bytes).await;
            server.abort();
            common::print_stats();
            return result;
        }
        let signal = common::shutdown_signal();
        common::announce(
            addr,
            &env,
            &[format!("try: nc {} {}", addr.ip(), addr.port())],
        );
        common::serve_until_signal(signal, serve(listener)).await
    })
}

/// tokio's echo loop: accept, and on each connection copy what is read back to the writer.
async fn serve(listener: TcpListener) -> Result<(), BoxError> {
    loop {
        // Wait for an inbound connection.
        let (mut socket, _) = listener.accept().await?;

        // Each connection gets its own task, so clients are served concurrently.
        sockeye::spawn(async move {
            let mut buf = vec![0; 1024];

            // Read into the buffer and write it back, until the peer closes.
            loop {
                let n = match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if socket.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// `connections` clients at once each echo `bytes` pattern bytes and check them.
async fn self_test(
    addr: std::net::SocketAddr,
    connections: usize,
    bytes: usize,
) -> Result<(), BoxError> {
    let start = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|_| sockeye::spawn(pattern::echo_round_trip(addr, bytes)))
        .collect();
    for (i, c) in clients.into_iter().enumerate() {
        c.await?.map_err(|e| format!("client {i}: {e}"))?;
    }
    let secs = start.elapsed().as_secs_f64();
    let total = (connections * bytes) as u64;
    println!(
        "{connections} clients each sent {bytes} bytes and got every byte back in order: \
         {total} bytes each way in {:.3} s ({:.1} Mbit/s each way)",
        secs,
        common::mbit_per_s(total, secs)
    );
    println!("self-test passed; the stack's counters:");
    Ok(())
}
