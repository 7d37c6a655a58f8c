//! The http example's application, shared with the load client's self-test: a hyper 1.x
//! HTTP/1.1 server (keep-alive) with four routes, and the client side the self-tests use.
//!
//! | request | response |
//! |---|---|
//! | `GET /` | a short text |
//! | `GET /bytes/N` | N bytes, byte i = `(i % 251) as u8`, streamed in 64 KiB chunks |
//! | `POST /echo` | the request body back, streamed as it arrives |
//! | `GET /stats` | JSON: the stack's counters, listeners and socket table |
//!
//! Anything else is a 404 (a known path with another method, a 405). Nothing is buffered
//! whole: `/bytes/N` makes its chunks as hyper asks for them, and `/echo` hands the request
//! body to hyper as the response body.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use sockeye::net::{TcpListener, TcpStream};
use sockeye::rt::SockeyeTimer;

use super::pattern;

/// The response body type: any of the routes' bodies.
pub type AnyBody = BoxBody<Bytes, hyper::Error>;

/// What `GET /` answers.
pub const HELLO: &str = "hello from sockeye: HTTP/1.1 served by hyper on sockeye's own TCP/IP \
                         stack\nroutes: GET /bytes/N, POST /echo, GET /stats\n";

/// Accepts connections forever, serving each on its own task.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        sockeye::spawn(serve_connection(stream));
    }
}

/// Serves one connection until the client closes it. Errors (a client gone mid-request) end
/// the connection only.
pub async fn serve_connection(stream: TcpStream) {
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(SockeyeTimer)
        .serve_connection(stream, service_fn(handle))
        .await;
}

/// Routes one request.
pub async fn handle(req: Request<Incoming>) -> Result<Response<AnyBody>, Infallible> {
    let path = req.uri().path().to_string();
    let response = match (req.method(), path.as_str()) {
        (&Method::GET, "/") => text(StatusCode::OK, HELLO),
        (&Method::GET, "/stats") => {
            let json = super::stats_json::stats().to_string() + "\n";
            let mut r = full(StatusCode::OK, json);
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        (&Method::POST, "/echo") => {
            let mut r = Response::new(req.into_body().boxed());
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            r
        }
        (&Method::GET, p) if p.starts_with("/bytes/") => match p["/bytes/".len()..].parse() {
            Ok(len) => {
                let mut r = Response::new(PatternBody::new(len).map_err(never).boxed());
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                r
            }
            Err(_) => text(
                StatusCode::BAD_REQUEST,
                "expected /bytes/N with N a byte count\n",
            ),
        },
        (_, "/" | "/stats" | "/echo") => text(StatusCode::METHOD_NOT_ALLOWED, "wrong method\n"),
        (_, p) if p.starts_with("/bytes/") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "wrong method\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    Ok(response)
}

fn never(e: Infallible) -> hyper::Error {
    match e {}
}

fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<AnyBody> {
    let mut r = Response::new(Full::new(body.into()).map_err(never).boxed());
    *r.status_mut() = status;
    r
}

fn text(status: StatusCode, body: &'static str) -> Response<AnyBody> {
    let mut r = full(status, body);
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A body of `len` pattern bytes, made chunk by chunk as it is polled.
#[derive(Debug)]
pub struct PatternBody {
    offset: u64,
    len: u64,
}

impl PatternBody {
    /// `len` bytes of the pattern.
    pub fn new(len: u64) -> PatternBody {
        PatternBody { offset: 0, len }
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let left = self.len - self.offset;
        if left == 0 {
            return Poll::Ready(None);
        }
        let n = left.min(pattern::CHUNK as u64) as usize;
        let chunk = pattern::chunk(self.offset, n);
        self.offset += n as u64;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.offset == self.len
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len - self.offset)
    }
}

/// A keep-alive HTTP/1.1 client connection (its connection task runs on the runtime).
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<AnyBody>,
    host: String,
}

impl Client {
    /// Connects to `addr` (`IP:PORT`).
    pub async fn connect(addr: std::net::SocketAddr) -> Result<Client, super::BoxError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(stream).await?;
        sockeye::spawn(async move {
            let _ = connection.await;
        });
        Ok(Client {
            sender,
            host: addr.to_string(),
        })
    }

    /// Sends `method path` with `body` and returns the response, its body not read yet.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: AnyBody,
    ) -> Result<Response<Incoming>, super::BoxError> {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.host)
            .body(body)?;
        self.sender.ready().await?;
        Ok(self.sender.send_request(req).await?)
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Result<Response<Incoming>, super::BoxError> {
        self.request(Method::GET, path, empty()).await
    }
}

/// An empty request body.
pub fn empty() -> AnyBody {
    Full::new(Bytes::new()).map_err(never).boxed()
}

/// A request body of `len` pattern bytes, streamed.
pub fn pattern_body(len: u64) -> AnyBody {
    PatternBody::new(len).map_err(never).boxed()
}

/// Reads a whole body, handing each piece to `sink`; returns how many bytes there were.
pub async fn read_body(
    mut body: Incoming,
    mut sink: impl FnMut(&[u8]),
) -> Result<u64, hyper::Error> {
    let mut total = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            total += data.len() as u64;
            sink(&data);
        }
    }
    Ok(total)
}

/// Reads a whole (small) body into memory.
pub async fn body_bytes(body: Incoming) -> Result<Bytes, hyper::Error> {
    Ok(body.collect().await?.to_bytes())
}
