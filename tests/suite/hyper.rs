//! hyper 1.x between the two sides: an HTTP/1 and an HTTP/2 server on one, a client on the
//! other, over `TcpStream` (hyper's `rt::Read`/`Write`) with `SockeyeExecutor` and
//! `SockeyeTimer`.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use sockeye::rt::{SockeyeExecutor, SockeyeTimer};

use super::tcp_io::{accept_one, connect_to_peer};
use super::{Case, Side};
use crate::net::pattern;

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

async fn body_of(response: Response<Incoming>) -> Bytes {
    response.into_body().collect().await.unwrap().to_bytes()
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("host", "sockeye.test")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn post(uri: &str, body: Vec<u8>) -> Request<Full<Bytes>> {
    Request::post(uri)
        .header("host", "sockeye.test")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// HTTP/1: a GET, a 256 kB POST echoed on the same kept-alive connection, a 404; the server's
/// connection ends cleanly when the client closes it.
pub fn http1_request_response() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            hyper::server::conn::http1::Builder::new()
                .timer(SockeyeTimer)
                .serve_connection(stream, service_fn(handle))
                .await
                .unwrap();
        },
        |mut side: Side| async move {
            let stream = connect_to_peer(&mut side).await;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
            let conn = sockeye::spawn(conn);

            let response = sender.send_request(get("/")).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.version(), hyper::Version::HTTP_11);
            assert_eq!(body_of(response).await, "hello from sockeye");

            let data = pattern(256 * 1024, 11);
            let response = sender.send_request(post("/echo", data.clone())).await;
            let response = response.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert!(body_of(response).await == data);

            let response = sender.send_request(get("/nothing")).await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
            drop(sender);
            conn.await.unwrap().unwrap();
        },
    )
}

/// HTTP/2: a GET, then eight POSTs on concurrent streams of the one connection.
pub fn http2_request_response() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            hyper::server::conn::http2::Builder::new(SockeyeExecutor)
                .timer(SockeyeTimer)
                .serve_connection(stream, service_fn(handle))
                .await
                .unwrap();
        },
        |mut side: Side| async move {
            let stream = connect_to_peer(&mut side).await;
            let (sender, conn) = hyper::client::conn::http2::Builder::new(SockeyeExecutor)
                .timer(SockeyeTimer)
                .handshake(stream)
                .await
                .unwrap();
            let conn = sockeye::spawn(conn);

            let mut get_sender = sender.clone();
            let response = get_sender.send_request(get("http://sockeye.test/")).await;
            let response = response.unwrap();
            assert_eq!(response.version(), hyper::Version::HTTP_2);
            assert_eq!(body_of(response).await, "hello from sockeye");

            let mut posts = Vec::new();
            for i in 0..8u8 {
                let mut sender = sender.clone();
                posts.push(sockeye::spawn(async move {
                    let data = pattern(20_000 + usize::from(i), i);
                    let request = post("http://sockeye.test/echo", data.clone());
                    let response = sender.send_request(request).await.unwrap();
                    body_of(response).await == data
                }));
            }
            for p in posts {
                assert!(p.await.unwrap());
            }
            drop((sender, get_sender));
            conn.await.unwrap().unwrap();
        },
    )
}
