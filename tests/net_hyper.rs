//! hyper 1.x on sockeye: HTTP/1 and HTTP/2 servers and clients over `TcpStream` (which speaks
//! `hyper::rt::Read`/`Write` itself), with `sockeye::rt::SockeyeExecutor` and `SockeyeTimer`.

mod net;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use net::{guard, pattern};
use sockeye::io::AsyncReadExt;
use sockeye::net::{TcpListener, TcpStream};
use sockeye::rt::{SockeyeExecutor, SockeyeTimer};

/// GET / says hello; POST /echo answers with the request's body; anything else is a 404.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Response::new(Full::new(Bytes::from_static(b"hello from sockeye"))),
        (&Method::POST, "/echo") => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            Response::new(Full::new(body))
        }
        _ => {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    Ok(response)
}

/// Serves HTTP/1 (or HTTP/2) on a new listener; returns its address.
async fn serve(http2: bool) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    sockeye::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            sockeye::spawn(async move {
                if http2 {
                    hyper::server::conn::http2::Builder::new(SockeyeExecutor)
                        .timer(SockeyeTimer)
                        .serve_connection(stream, service_fn(handle))
                        .await
                        .unwrap();
                } else {
                    hyper::server::conn::http1::Builder::new()
                        .timer(SockeyeTimer)
                        .serve_connection(stream, service_fn(handle))
                        .await
                        .unwrap();
                }
            });
        }
    });
    addr
}

async fn body_of(response: Response<Incoming>) -> Bytes {
    response.into_body().collect().await.unwrap().to_bytes()
}

#[sockeye::test]
async fn http1_get_and_post() {
    guard(async {
        let addr = serve(false).await;
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        sockeye::spawn(conn);

        let get = Request::get("/")
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = sender.send_request(get).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_of(response).await, "hello from sockeye");

        // A large POST on the same (kept-alive) connection.
        let data = pattern(256 * 1024, 11);
        let post = Request::post("/echo")
            .header("host", "localhost")
            .body(Full::new(Bytes::from(data.clone())))
            .unwrap();
        let response = sender.send_request(post).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(body_of(response).await == data);

        let missing = Request::get("/nothing")
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = sender.send_request(missing).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    })
    .await;
}

#[sockeye::test]
async fn http2_get_and_concurrent_posts() {
    guard(async {
        let addr = serve(true).await;
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http2::Builder::new(SockeyeExecutor)
            .timer(SockeyeTimer)
            .handshake(stream)
            .await
            .unwrap();
        sockeye::spawn(conn);

        let mut get_sender = sender.clone();
        let get = Request::get("http://localhost/")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = get_sender.send_request(get).await.unwrap();
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        assert_eq!(body_of(response).await, "hello from sockeye");

        // Several streams at once on the one connection.
        let mut posts = Vec::new();
        for i in 0..8u8 {
            let mut sender = sender.clone();
            posts.push(sockeye::spawn(async move {
                let data = pattern(20_000 + usize::from(i), i);
                let post = Request::post("http://localhost/echo")
                    .body(Full::new(Bytes::from(data.clone())))
                    .unwrap();
                let response = sender.send_request(post).await.unwrap();
                body_of(response).await == data
            }));
        }
        for p in posts {
            assert!(p.await.unwrap());
        }
    })
    .await;
}

#[sockeye::test]
async fn the_timer_drives_hyper_timeouts() {
    guard(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = sockeye::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            hyper::server::conn::http1::Builder::new()
                .timer(SockeyeTimer)
                .header_read_timeout(Duration::from_millis(50))
                .serve_connection(stream, service_fn(handle))
                .await
        });
        // A client that connects and never sends a request: the server gives up on it.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let result = server.await.unwrap();
        let err = result.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        let mut buf = Vec::new();
        idle.read_to_end(&mut buf).await.unwrap();
    })
    .await;
}
