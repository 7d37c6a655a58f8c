//! The http example's application (`examples/common/http_app.rs`) in-process, at the sizes the
//! README promises: a 50 MB `GET /bytes/N` checked byte by byte, a 10 MB `POST /echo` streamed
//! back, `/stats` as JSON with the counters, the listener and the socket table, and the error
//! answers.

#[path = "../examples/common/mod.rs"]
mod common;
mod net;

use common::http_app::{self, Client};
use common::pattern::Checker;
use hyper::{Method, StatusCode};
use net::guard;
use sockeye::net::TcpListener;

/// Serves the http example's routes on the loopback and connects a keep-alive client.
async fn server_and_client() -> Client {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    sockeye::spawn(http_app::serve(listener));
    Client::connect(addr).await.unwrap()
}

#[sockeye::test]
async fn fifty_megabytes_stream_out_and_ten_stream_back() {
    guard(async {
        let mut client = server_and_client().await;
        const GET: u64 = 50_000_000;
        let response = client.get(&format!("/bytes/{GET}")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let length = response.headers()[hyper::header::CONTENT_LENGTH].clone();
        assert_eq!(length.to_str().unwrap(), GET.to_string());
        let mut checker = Checker::default();
        let mut pieces = 0;
        http_app::read_body(response.into_body(), |piece| {
            pieces += 1;
            checker.update(piece)
        })
        .await
        .unwrap();
        checker.finish(GET).unwrap();
        assert!(pieces > 1, "the body came in {pieces} piece");

        // The same connection (keep-alive) carries the echo.
        const POST: u64 = 10_000_000;
        let response = client
            .request(Method::POST, "/echo", http_app::pattern_body(POST))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut checker = Checker::default();
        http_app::read_body(response.into_body(), |piece| checker.update(piece))
            .await
            .unwrap();
        checker.finish(POST).unwrap();
    })
    .await;
}

#[sockeye::test]
async fn stats_are_json_with_counters_listeners_and_sockets() {
    guard(async {
        let mut client = server_and_client().await;
        let response = client.get("/stats").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[hyper::header::CONTENT_TYPE],
            "application/json"
        );
        let body = http_app::body_bytes(response.into_body()).await.unwrap();
        let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
        // Every counter is there by its nstat name, zero or not.
        let counters = stats["counters"].as_object().unwrap();
        assert_eq!(counters["TcpPassiveOpens"], 1);
        assert_eq!(counters["TcpActiveOpens"], 1);
        assert!(counters.contains_key("TcpExtListenOverflows"));
        let listeners = stats["listeners"].as_array().unwrap();
        assert_eq!(listeners.len(), 1);
        let l = &listeners[0];
        assert!(l["local"].as_str().unwrap().starts_with("127.0.0.1:"));
        assert_eq!(l["backlog"], 1024);
        assert_eq!(l["established"], 1);
        assert_eq!(l["accepted"], 1);
        for key in [
            "overflows",
            "syncookies_sent",
            "syn_queue_len",
            "accept_queue_len",
        ] {
            assert_eq!(l[key], 0, "{key}");
        }
        // The listener and both ends of the client's connection.
        let sockets = stats["sockets"].as_array().unwrap();
        let states: Vec<&str> = sockets
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(
            states.iter().filter(|s| **s == "LISTEN").count(),
            1,
            "{states:?}"
        );
        assert_eq!(
            states.iter().filter(|s| **s == "ESTAB").count(),
            2,
            "{states:?}"
        );
        assert!(sockets[0]["skmem"]["rcvbuf"].is_u64());
    })
    .await;
}

#[sockeye::test]
async fn routes_answer_errors_plainly() {
    guard(async {
        let mut client = server_and_client().await;
        let cases = [
            (Method::GET, "/", StatusCode::OK),
            (Method::GET, "/bytes/0", StatusCode::OK),
            (Method::GET, "/bytes/lots", StatusCode::BAD_REQUEST),
            (Method::GET, "/bytes/-1", StatusCode::BAD_REQUEST),
            (Method::POST, "/bytes/10", StatusCode::METHOD_NOT_ALLOWED),
            (Method::GET, "/echo", StatusCode::METHOD_NOT_ALLOWED),
            (Method::DELETE, "/stats", StatusCode::METHOD_NOT_ALLOWED),
            (Method::GET, "/missing", StatusCode::NOT_FOUND),
        ];
        for (method, path, status) in cases {
            let response = client
                .request(method.clone(), path, http_app::empty())
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{method} {path}");
            let body = http_app::body_bytes(response.into_body()).await.unwrap();
            if path == "/" {
                assert_eq!(&body[..], http_app::HELLO.as_bytes());
            }
        }
    })
    .await;
}
