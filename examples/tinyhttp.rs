//! A tiny HTTP/1.1 server: tokio's tinyhttp example with the crate renamed to `sockeye` (plus
//! the shared network flags). A hand-written codec under tokio-util's `Framed` parses requests
//! with `httparse` into `http::Request`s and writes `http::Response`s; pipelined requests are
//! answered in order. Routes: `GET /plaintext` (text) and `GET /json` (JSON); anything else is
//! a 404.
//!
//! ```text
//! cargo run --example tinyhttp -- --self-test     # no root, no setup
//! cargo run --example tinyhttp -- --nic tap:sk0 --ip 10.80.0.2/24 --port 8080
//! ```
//!
//! With `--self-test` it serves on the in-process loopback, sends pipelined requests over one
//! connection and checks the answers, prints the stack's counters and exits (0 when they were
//! right). Otherwise it prints `listening on IP:PORT` and serves until SIGINT/SIGTERM.

mod common;

use std::io;
use std::process::ExitCode;

use bytes::{BufMut, BytesMut};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response, StatusCode, header};
use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream};
use tokio_util::codec::{Decoder, Encoder, Framed};

use common::{BoxError, NetArgs, check};

/// tokio's tinyhttp on sockeye's own TCP/IP stack.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    #[command(flatten)]
    net: NetArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(&args.net, |env| async move {
        let listener = TcpListener::bind(env.listen_addr(8080)).await?;
        let addr = listener.local_addr()?;
        if env.self_test {
            println!("listening on {addr}");
            let server = sockeye::spawn(serve(listener));
            let result = self_test(addr).await;
            server.abort();
            common::print_stats();
            return result;
        }
        let signal = common::shutdown_signal();
        common::announce(
            addr,
            &env,
            &[
                format!("try: curl http://{addr}/plaintext"),
                format!("     curl http://{addr}/json"),
            ],
        );
        common::serve_until_signal(signal, serve(listener)).await
    })
}

/// Accepts connections, each served by its own task.
async fn serve(listener: TcpListener) -> Result<(), BoxError> {
    loop {
        let (stream, _) = listener.accept().await?;
        sockeye::spawn(async move {
            if let Err(e) = process(stream).await {
                eprintln!("connection failed: {e}");
            }
        });
    }
}

/// Reads requests off the connection and answers each in turn.
async fn process(stream: TcpStream) -> Result<(), BoxError> {
    let mut transport = Framed::new(stream, Http);
    while let Some(request) = transport.next().await {
        let response = respond(request?).await?;
        transport.send(response).await?;
    }
    Ok(())
}

/// The application: two routes.
async fn respond(req: Request<()>) -> Result<Response<String>, BoxError> {
    let mut response = Response::builder();
    let body = match req.uri().path() {
        "/plaintext" => {
            response = response.header(header::CONTENT_TYPE, "text/plain");
            "Hello, World!".to_string()
        }
        "/json" => {
            response = response.header(header::CONTENT_TYPE, "application/json");
            serde_json::json!({ "message": "Hello, World!" }).to_string()
        }
        _ => {
            response = response.status(StatusCode::NOT_FOUND);
            String::new()
        }
    };
    Ok(response.body(body)?)
}

/// The codec: `http::Request<()>` in, `http::Response<String>` out.
struct Http;

impl Encoder<Response<String>> for Http {
    type Error = io::Error;

    fn encode(&mut self, item: Response<String>, dst: &mut BytesMut) -> io::Result<()> {
        use std::fmt::Write;

        let status = item.status();
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nServer: sockeye-tinyhttp\r\nContent-Length: {}\r\n",
            status.as_str(),
            status.canonical_reason().unwrap_or(""),
            item.body().len()
        );
        for (name, value) in item.headers() {
            let value = value.to_str().unwrap_or("");
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        dst.reserve(head.len() + item.body().len());
        dst.put_slice(head.as_bytes());
        dst.put_slice(item.body().as_bytes());
        Ok(())
    }
}

impl Decoder for Http {
    type Item = Request<()>;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Request<()>>> {
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Request::new(&mut headers);
        let len = match parsed.parse(src) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(bad(format!("bad request: {e}"))),
        };
        let mut request = Request::builder()
            .method(parsed.method.unwrap_or("GET"))
            .uri(parsed.path.unwrap_or("/"))
            .version(http::Version::HTTP_11);
        for h in parsed.headers.iter() {
            request = request.header(h.name, h.value);
        }
        let request = request
            .body(())
            .map_err(|e| bad(format!("bad request: {e}")))?;
        // The request is only its head (no route takes a body): drop it from the buffer.
        let _ = src.split_to(len);
        Ok(Some(request))
    }
}

/// Three pipelined requests on one connection, and their answers in order.
async fn self_test(addr: std::net::SocketAddr) -> Result<(), BoxError> {
    let mut stream = TcpStream::connect(addr).await?;
    let host = addr.to_string();
    let mut requests = String::new();
    for path in ["/plaintext", "/json", "/nothing"] {
        requests.push_str(&format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"));
    }
    stream.write_all(requests.as_bytes()).await?;
    stream.shutdown().await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let responses: Vec<&str> = answer
        .split("HTTP/1.1 ")
        .filter(|r| !r.is_empty())
        .collect();
    check(
        responses.len() == 3,
        format!("expected 3 responses, got:\n{answer}"),
    )?;
    check(
        responses[0].starts_with("200 OK") && responses[0].ends_with("\r\n\r\nHello, World!"),
        format!("GET /plaintext answered:\n{}", responses[0]),
    )?;
    check(
        responses[1].starts_with("200 OK")
            && responses[1].ends_with("\r\n\r\n{\"message\":\"Hello, World!\"}"),
        format!("GET /json answered:\n{}", responses[1]),
    )?;
    check(
        responses[2].starts_with("404 Not Found"),
        format!("GET /nothing answered:\n{}", responses[2]),
    )?;
    println!("3 pipelined requests on one connection, answered in order:");
    println!("  GET /plaintext -> 200 Hello, World!");
    println!("  GET /json      -> 200 {{\"message\":\"Hello, World!\"}}");
    println!("  GET /nothing   -> 404");
    println!("self-test passed; the stack's counters:");
    Ok(())
}
