//! hyper 1.x on sockeye, beyond the suite's HTTP/1 and HTTP/2 cases (`suite/hyper.rs`): hyper's
//! timeouts run on `sockeye::rt::SockeyeTimer`.

mod net;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use net::guard;
use sockeye::io::AsyncReadExt;
use sockeye::net::{TcpListener, TcpStream};
use sockeye::rt::SockeyeTimer;

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
