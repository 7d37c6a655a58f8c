//! An HTTP/1.1 server: hyper 1.x on sockeye's own TCP/IP stack.
//!
//! | request | response |
//! |---|---|
//! | `GET /` | a short text |
//! | `GET /bytes/N` | N bytes where byte i is `(i % 251) as u8`, streamed (50 MB is fine) |
//! | `POST /echo` | the request body back, streamed |
//! | `GET /stats` | JSON: the stack's counters, listeners and socket table |
//!
//! ```text
//! cargo run --release --example http -- --self-test      # no root, no setup
//! cargo run --release --example http -- --nic tap:sk0 --ip 10.80.0.2/24 --port 8080
//! ```
//!
//! With `--self-test` it serves on the in-process loopback, fetches each route with an
//! in-process hyper client (checking the `/bytes/N` pattern byte by byte and the echo),
//! prints what it did and the stack's counters, and exits 0 when everything checked out.
//! Otherwise it prints `listening on IP:PORT` and serves until SIGINT/SIGTERM, then prints
//! the counters. Flags: `--help` (and `examples/common/mod.rs`).

mod common;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use hyper::{Method, StatusCode};
use sockeye::net::TcpListener;

use common::http_app::{self, Client};
use common::pattern::Checker;
use common::{BoxError, NetArgs, check};

/// An HTTP/1.1 server (hyper) on sockeye's own TCP/IP stack.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    #[command(flatten)]
    net: NetArgs,
    /// The self-test's transfer size for GET /bytes/N and POST /echo.
    #[arg(long, value_name = "N", default_value_t = 16 << 20)]
    bytes: u64,
    /// The self-test's number of concurrent keep-alive clients (each sends 20 requests).
    #[arg(long, value_name = "N", default_value_t = 10)]
    clients: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(&args.net, |env| async move {
        let listener = TcpListener::bind(env.listen_addr(8080)).await?;
        let addr = listener.local_addr()?;
        if env.self_test {
            println!("listening on {addr}");
            let server = sockeye::spawn(http_app::serve(listener));
            let result = self_test(addr, args.bytes, args.clients).await;
            server.abort();
            common::print_stats();
            return result;
        }
        let signal = common::shutdown_signal();
        common::announce(
            addr,
            &env,
            &[
                format!("try: curl http://{addr}/"),
                format!("     curl -o /dev/null http://{addr}/bytes/52428800"),
                format!("     curl --data-binary @FILE http://{addr}/echo"),
                format!("     curl http://{addr}/stats"),
            ],
        );
        common::serve_until_signal(signal, async move { Ok(http_app::serve(listener).await?) })
            .await
    })
}

/// Fetches every route over one keep-alive connection and checks the answers, then runs
/// `clients` keep-alive clients at once.
async fn self_test(addr: SocketAddr, bytes: u64, clients: usize) -> Result<(), BoxError> {
    let mut client = Client::connect(addr).await?;

    let response = client.get("/").await?;
    check(
        response.status() == StatusCode::OK,
        "GET / did not answer 200",
    )?;
    let body = http_app::body_bytes(response.into_body()).await?;
    check(
        &body[..] == http_app::HELLO.as_bytes(),
        "GET / answered another text",
    )?;
    show("GET /", format!("200, {} bytes of text", body.len()));

    let start = Instant::now();
    let response = client.get(&format!("/bytes/{bytes}")).await?;
    check(
        response.status() == StatusCode::OK,
        "GET /bytes/N did not answer 200",
    )?;
    let mut checker = Checker::default();
    http_app::read_body(response.into_body(), |piece| checker.update(piece)).await?;
    checker.finish(bytes)?;
    let secs = start.elapsed().as_secs_f64();
    show(
        &format!("GET /bytes/{bytes}"),
        format!(
            "200, {bytes} bytes, every byte (i % 251): {:.1} Mbit/s",
            common::mbit_per_s(bytes, secs)
        ),
    );

    let start = Instant::now();
    let response = client
        .request(Method::POST, "/echo", http_app::pattern_body(bytes))
        .await?;
    check(
        response.status() == StatusCode::OK,
        "POST /echo did not answer 200",
    )?;
    let mut checker = Checker::default();
    http_app::read_body(response.into_body(), |piece| checker.update(piece)).await?;
    checker.finish(bytes)?;
    let secs = start.elapsed().as_secs_f64();
    show(
        "POST /echo",
        format!(
            "200, {bytes} bytes sent and echoed back intact: {:.1} Mbit/s each way",
            common::mbit_per_s(bytes, secs)
        ),
    );

    let response = client.get("/nowhere").await?;
    check(
        response.status() == StatusCode::NOT_FOUND,
        "GET /nowhere did not answer 404",
    )?;
    http_app::body_bytes(response.into_body()).await?;
    show("GET /nowhere", "404");

    const REQUESTS: usize = 20;
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| sockeye::spawn(small_requests(addr, REQUESTS)))
        .collect();
    for task in tasks {
        task.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    show(
        &format!("{clients} x {REQUESTS} GET /bytes/1000"),
        format!(
            "{clients} keep-alive clients at once: all 200 and intact, {:.0} requests/s",
            (clients * REQUESTS) as f64 / secs
        ),
    );

    let response = client.get("/stats").await?;
    check(
        response.status() == StatusCode::OK,
        "GET /stats did not answer 200",
    )?;
    let body = http_app::body_bytes(response.into_body()).await?;
    let stats: serde_json::Value = serde_json::from_slice(&body)?;
    let passive = stats["counters"]["TcpPassiveOpens"].as_u64().unwrap_or(0);
    let listeners = stats["listeners"].as_array().map_or(0, Vec::len);
    let sockets = stats["sockets"].as_array().map_or(0, Vec::len);
    check(
        passive == 1 + clients as u64,
        format!("/stats shows {passive} passive opens"),
    )?;
    check(listeners >= 1, "/stats shows no listener")?;
    show(
        "GET /stats",
        format!(
            "200, JSON: {} counters, {listeners} listener(s), {sockets} socket(s), \
         TcpPassiveOpens {passive}",
            stats["counters"].as_object().map_or(0, |o| o.len())
        ),
    );
    println!("self-test passed; the stack's counters:");
    Ok(())
}

/// Prints one request and what came of it, in columns (the request padded to 24 characters).
fn show(request: &str, result: impl std::fmt::Display) {
    println!("{request:<24} -> {result}");
}

/// One keep-alive client sending `requests` small GETs.
async fn small_requests(addr: SocketAddr, requests: usize) -> Result<(), BoxError> {
    let mut client = Client::connect(addr).await?;
    for _ in 0..requests {
        let response = client.get("/bytes/1000").await?;
        check(
            response.status() == StatusCode::OK,
            "GET /bytes/1000 did not answer 200",
        )?;
        let mut checker = Checker::default();
        http_app::read_body(response.into_body(), |piece| checker.update(piece)).await?;
        checker.finish(1000)?;
    }
    Ok(())
}
