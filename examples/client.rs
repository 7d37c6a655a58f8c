//! A load client on sockeye's own TCP/IP stack: bulk transfers, ping-pong, connection rate
//! and HTTP/1.1 (keep-alive) requests, with throughput and latency percentiles.
//!
//! ```text
//! cargo run --release --example client -- --self-test     # every mode against itself
//! cargo run --release --example client -- --nic tap:sk0 --ip 10.80.0.2/24 \
//!     --target 10.80.0.1:8080 --mode http --path /file --requests 1 --sha256
//! ```
//!
//! `--connections N` connections (or workers) run at once against `--target ADDR:PORT`. A run
//! stops after `--duration S` seconds, or when each connection has done `--requests N`
//! (pingpong, http) or sent `--bytes N` (bulk); with none of these it lasts 5 s.
//!
//! - `bulk`: each connection writes the `(i % 251)` pattern (`--bytes` bytes, or for the
//!   duration), then half-closes (FIN), while reading until the peer closes. Against an echo
//!   server what comes back is the pattern (`--verify` checks it byte by byte); against a
//!   server that sends a file and closes, use `--bytes 0`: nothing is sent and the write side
//!   stays open until the peer has closed. `--sha256` prints the hash of what each connection
//!   received, as `sha256 HEX conn I, N bytes`.
//! - `pingpong`: each connection writes a `--bytes`-byte message (default 64) and waits for
//!   it to come back whole (an echo server), again and again; prints round trips per second
//!   and their latency.
//! - `connect`: each worker connects and closes, again and again; prints connections per
//!   second and the connect latency.
//! - `http`: each connection sends `GET --path` (default `/bytes/N`, N = `--bytes`, default
//!   1 MiB) again and again on one keep-alive connection and reads each whole body; prints
//!   requests per second, throughput and latency. `--verify` checks that a `/bytes/N` body is
//!   N pattern bytes; `--sha256` prints the hash of each connection's first body
//!   (`sha256 HEX conn I, N bytes`) and checks that later bodies hash the same.
//!
//! With `--self-test` and no `--target`, the client serves on its own stack too (an echo
//! server, or the http example's server for `http`), runs against it (every mode in turn,
//! unless `--mode` names one) with `--verify` on, prints the results and the stack's counters,
//! and exits 0 when everything checked out. Any error exits 1.

mod common;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use sha2::{Digest, Sha256};
use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream};
use sockeye::time::Instant;

use common::http_app::{self, Client};
use common::pattern::{self, Checker};
use common::{BoxError, Env, NetArgs, check};

/// A load client on sockeye's own TCP/IP stack.
#[derive(Parser, Debug, Clone)]
#[command(version)]
struct Args {
    #[command(flatten)]
    net: NetArgs,
    /// What to do (default: bulk; with --self-test and no --mode, every mode in turn).
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// The server (with --self-test and no --target: an in-process one on --port).
    #[arg(long, value_name = "ADDR:PORT")]
    target: Option<SocketAddr>,
    /// Connections (workers) at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    connections: usize,
    /// Stop after this many seconds.
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    /// bulk: bytes to send per connection; pingpong: the message size; http: N for /bytes/N.
    #[arg(long, value_name = "N")]
    bytes: Option<u64>,
    /// pingpong, http: round trips or requests per connection.
    #[arg(long, value_name = "N")]
    requests: Option<u64>,
    /// http: the path to fetch (default /bytes/N).
    #[arg(long, value_name = "PATH")]
    path: Option<String>,
    /// Check that what comes back is the (i % 251) pattern (bulk, http /bytes/N).
    #[arg(long)]
    verify: bool,
    /// Print the sha256 of what was received (bulk, http).
    #[arg(long)]
    sha256: bool,
}

/// The load patterns.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Stream bytes both ways until the peer closes.
    Bulk,
    /// Small messages echoed one at a time.
    Pingpong,
    /// Connect and close.
    Connect,
    /// HTTP/1.1 GETs on keep-alive connections.
    Http,
}

/// What one connection (worker) did.
#[derive(Debug, Default)]
struct Outcome {
    sent: u64,
    received: u64,
    /// Round trips, connections or requests.
    ops: u64,
    latencies: Vec<Duration>,
    /// The sha256 of what was received, and how many bytes it covers.
    hash: Option<(String, u64)>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.target.is_none() && !args.net.self_test {
        eprintln!("error: --target ADDR:PORT is required (or --self-test)");
        return ExitCode::from(2);
    }
    if args.connections == 0 {
        eprintln!("error: --connections must be at least 1");
        return ExitCode::from(2);
    }
    if args.duration.is_some_and(|d| !(d > 0.0 && d < 1e9)) {
        eprintln!("error: --duration must be a positive number of seconds");
        return ExitCode::from(2);
    }
    let net = args.net.clone();
    common::run(&net, |env| async move {
        let modes = match (args.mode, env.self_test) {
            (Some(mode), _) => vec![mode],
            (None, false) => vec![Mode::Bulk],
            (None, true) => vec![Mode::Bulk, Mode::Pingpong, Mode::Connect, Mode::Http],
        };
        for mode in modes {
            run_mode(&env, &args, mode).await?;
        }
        if env.self_test {
            println!("self-test passed; the stack's counters:");
            common::print_stats();
        }
        Ok(())
    })
}

/// Runs one mode against the target (or, in a self-test, a server of its own).
async fn run_mode(env: &Env, args: &Args, mode: Mode) -> Result<(), BoxError> {
    let mut args = args.clone();
    let mut server = None;
    let target = match args.target {
        Some(target) => target,
        None => {
            let listener = TcpListener::bind(env.listen_addr(0)).await?;
            let addr = listener.local_addr()?;
            server = Some(match mode {
                Mode::Http => sockeye::spawn(async move { Ok(http_app::serve(listener).await?) }),
                _ => sockeye::spawn(echo_server(listener)),
            });
            println!("listening on {addr}");
            args.verify = true;
            if args.duration.is_none() && args.requests.is_none() {
                args.duration = Some(0.3);
            }
            if mode == Mode::Bulk && args.bytes.is_none() {
                args.bytes = Some(2 << 20);
            }
            addr
        }
    };
    let stop_by_count = args.requests.is_some() || (mode == Mode::Bulk && args.bytes.is_some());
    let duration = match args.duration {
        Some(d) => Some(Duration::from_secs_f64(d)),
        None if stop_by_count => None,
        None => Some(Duration::from_secs(5)),
    };
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let workers: Vec<_> = (0..args.connections)
        .map(|i| {
            let args = args.clone();
            sockeye::spawn(async move {
                match mode {
                    Mode::Bulk => bulk(target, &args, deadline).await,
                    Mode::Pingpong => pingpong(target, &args, deadline).await,
                    Mode::Connect => connect(target, &args, deadline).await,
                    Mode::Http => http(target, &args, deadline).await,
                }
                .map_err(|e| format!("{mode:?} connection {i}: {e}"))
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for w in workers {
        outcomes.push(w.await??);
    }
    let secs = start.elapsed().as_secs_f64();
    if let Some(server) = server {
        server.abort();
    }
    report(mode, target, &outcomes, secs);
    if env.self_test {
        check(
            outcomes.iter().all(|o| o.ops > 0),
            format!("{mode:?}: a connection did nothing"),
        )?;
    }
    Ok(())
}

/// Prints what a run did: totals, rates and latency percentiles.
fn report(mode: Mode, target: SocketAddr, outcomes: &[Outcome], secs: f64) {
    let n = outcomes.len();
    let sent: u64 = outcomes.iter().map(|o| o.sent).sum();
    let received: u64 = outcomes.iter().map(|o| o.received).sum();
    let ops: u64 = outcomes.iter().map(|o| o.ops).sum();
    let name = format!("{mode:?}").to_lowercase();
    println!(
        "{name} to {target}: {n} connection(s), {secs:.3} s, sent {sent} B ({:.1} Mbit/s), \
         received {received} B ({:.1} Mbit/s)",
        common::mbit_per_s(sent, secs),
        common::mbit_per_s(received, secs)
    );
    let unit = match mode {
        Mode::Bulk => None,
        Mode::Pingpong => Some("round trips"),
        Mode::Connect => Some("connections"),
        Mode::Http => Some("requests"),
    };
    if let Some(unit) = unit {
        println!(
            "  {ops} {unit}, {:.0} per second",
            ops as f64 / secs.max(1e-9)
        );
        let mut all: Vec<Duration> = outcomes.iter().flat_map(|o| o.latencies.clone()).collect();
        all.sort_unstable();
        if !all.is_empty() {
            let at = |p: f64| all[((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1];
            println!(
                "  latency p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
                at(0.50),
                at(0.90),
                at(0.99),
                all[all.len() - 1]
            );
        }
    }
    for (i, o) in outcomes.iter().enumerate() {
        if let Some((hex, bytes)) = &o.hash {
            println!("sha256 {hex} conn {i}, {bytes} bytes");
        }
    }
}

fn keep_going(deadline: Option<Instant>, done: u64, limit: Option<u64>) -> bool {
    deadline.is_none_or(|d| Instant::now() < d) && limit.is_none_or(|l| done < l)
}

/// What a stream of received bytes was checked against.
struct Receiver {
    received: u64,
    checker: Option<Checker>,
    hasher: Option<Sha256>,
}

impl Receiver {
    fn new(args: &Args) -> Receiver {
        Receiver {
            received: 0,
            checker: args.verify.then(Checker::default),
            hasher: args.sha256.then(Sha256::new),
        }
    }

    fn update(&mut self, data: &[u8]) {
        self.received += data.len() as u64;
        if let Some(c) = &mut self.checker {
            c.update(data);
        }
        if let Some(h) = &mut self.hasher {
            h.update(data);
        }
    }

    /// Checks the pattern (if asked, and `expected_len` bytes of it) and gives the hash.
    fn finish(self, expected_len: u64) -> Result<(u64, Option<(String, u64)>), BoxError> {
        if let Some(c) = &self.checker {
            c.finish(expected_len)?;
        }
        let hash = self
            .hasher
            .map(|h| (format!("{:x}", h.finalize()), self.received));
        Ok((self.received, hash))
    }
}

/// bulk: write the pattern while reading until the peer closes.
async fn bulk(
    target: SocketAddr,
    args: &Args,
    deadline: Option<Instant>,
) -> Result<Outcome, BoxError> {
    let stream = TcpStream::connect(target).await?;
    let (mut reader, mut writer) = stream.into_split();
    let limit = args.bytes;
    let (eof_tx, eof_rx) = sockeye::sync::oneshot::channel::<()>();
    let send = async move {
        if limit == Some(0) {
            // Receive only: keep the write side open until the peer has closed.
            let _ = eof_rx.await;
            return Ok::<_, std::io::Error>(0);
        }
        let mut sent = 0u64;
        while deadline.is_none_or(|d| Instant::now() < d) {
            let left = limit.map_or(u64::MAX, |l| l - sent);
            let n = left.min(pattern::CHUNK as u64) as usize;
            if n == 0 {
                break;
            }
            writer.write_all(&pattern::chunk(sent, n)).await?;
            sent += n as u64;
        }
        writer.shutdown().await?;
        Ok(sent)
    };
    let mut rx = Receiver::new(args);
    let receive = async {
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            rx.update(&buf[..n]);
        }
        let _ = eof_tx.send(());
        Ok::<_, std::io::Error>(())
    };
    let (sent, received) = sockeye::join!(send, receive);
    let sent = sent?;
    received?;
    // What comes back from an echo server is what was sent.
    let (received, hash) = rx.finish(sent)?;
    Ok(Outcome {
        sent,
        received,
        ops: 1,
        latencies: Vec::new(),
        hash,
    })
}

/// pingpong: one message out, the same back, again and again.
async fn pingpong(
    target: SocketAddr,
    args: &Args,
    deadline: Option<Instant>,
) -> Result<Outcome, BoxError> {
    let size = args.bytes.unwrap_or(64);
    check(
        size > 0 && size <= 1 << 24,
        "--bytes for pingpong is the message size: 1 to 16 MiB",
    )?;
    let mut stream = TcpStream::connect(target).await?;
    stream.set_nodelay(true)?;
    let message = pattern::vec(size as usize);
    let mut answer = vec![0; size as usize];
    let mut out = Outcome::default();
    while keep_going(deadline, out.ops, args.requests) {
        let start = Instant::now();
        stream.write_all(&message).await?;
        stream.read_exact(&mut answer).await?;
        out.latencies.push(start.elapsed());
        check(answer == message, "the echo differs from the message")?;
        out.ops += 1;
        out.sent += size;
        out.received += size;
    }
    Ok(out)
}

/// connect: connect and close, again and again.
async fn connect(
    target: SocketAddr,
    args: &Args,
    deadline: Option<Instant>,
) -> Result<Outcome, BoxError> {
    let mut out = Outcome::default();
    while keep_going(deadline, out.ops, args.requests) {
        let start = Instant::now();
        let stream = TcpStream::connect(target).await?;
        out.latencies.push(start.elapsed());
        drop(stream);
        out.ops += 1;
    }
    Ok(out)
}

/// http: GETs on one keep-alive connection.
async fn http(
    target: SocketAddr,
    args: &Args,
    deadline: Option<Instant>,
) -> Result<Outcome, BoxError> {
    let bytes = args.bytes.unwrap_or(1 << 20);
    let path = args
        .path
        .clone()
        .unwrap_or_else(|| format!("/bytes/{bytes}"));
    // Only a /bytes/N body is the pattern, N bytes of it.
    let expected_len = path
        .strip_prefix("/bytes/")
        .and_then(|n| n.parse::<u64>().ok());
    check(
        !args.verify || expected_len.is_some(),
        "--verify needs a /bytes/N path",
    )?;
    let mut client = Client::connect(target).await?;
    let mut out = Outcome::default();
    while keep_going(deadline, out.ops, args.requests) {
        let start = Instant::now();
        let response = client.get(&path).await?;
        let status = response.status();
        check(status.is_success(), format!("GET {path} answered {status}"))?;
        let mut rx = Receiver::new(args);
        http_app::read_body(response.into_body(), |piece| rx.update(piece)).await?;
        let (received, hash) = rx.finish(expected_len.unwrap_or(0))?;
        out.latencies.push(start.elapsed());
        out.received += received;
        out.ops += 1;
        match (&out.hash, hash) {
            (None, hash) => out.hash = hash,
            (Some(first), Some(this)) => check(
                *first == this,
                format!("GET {path}: response {} hashes differently", out.ops),
            )?,
            (Some(_), None) => {}
        }
    }
    Ok(out)
}

/// The self-test's server for every mode but http: echoes each connection.
async fn echo_server(listener: TcpListener) -> Result<(), BoxError> {
    loop {
        let (mut socket, _) = listener.accept().await?;
        sockeye::spawn(async move {
            let (mut reader, mut writer) = socket.split();
            let _ = sockeye::io::copy(&mut reader, &mut writer).await;
        });
    }
}
