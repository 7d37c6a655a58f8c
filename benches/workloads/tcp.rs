//! The TCP workloads that sockeye and tokio run with the same code (generic over [`Net`]): bulk
//! transfer, 64-byte ping-pong, connection rate and hyper HTTP/1 keep-alive GETs. Each returns
//! the time its `iters` repetitions took, set-up excluded.

use std::convert::Infallible;
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    BULK_BYTES, BULK_WRITE, CONNECT_CONCURRENCY, HTTP_BODY, HTTP_CONNECTIONS, Net, PING_BYTES,
    any_port, share,
};

/// A connected pair on a fresh listener: (client side, server side).
async fn pair<N: Net>() -> io::Result<(N::Stream, N::Stream)> {
    let listener = N::bind(any_port()).await?;
    let addr = N::local_addr(&listener)?;
    let (client, server) = tokio::join!(N::connect(addr), N::accept(&listener));
    Ok((client?, server?))
}

/// One connection; the client writes `iters` × [`BULK_BYTES`] in [`BULK_WRITE`]-byte writes
/// from its own task while this task reads them into a [`BULK_WRITE`]-byte buffer. Timed from
/// the first write to the last byte read.
pub async fn bulk<N: Net>(iters: u64) -> io::Result<Duration> {
    let (mut client, mut server) = pair::<N>().await?;
    let total = iters * BULK_BYTES;
    let start = Instant::now();
    let writer = N::spawn(async move {
        let chunk = vec![0x5a; BULK_WRITE];
        let mut left = total;
        while left > 0 {
            let n = left.min(BULK_WRITE as u64) as usize;
            client.write_all(&chunk[..n]).await?;
            left -= n as u64;
        }
        Ok::<_, io::Error>(client)
    });
    let mut buf = vec![0; BULK_WRITE];
    let mut received = 0;
    while received < total {
        match server.read(&mut buf).await? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => received += n as u64,
        }
    }
    let elapsed = start.elapsed();
    writer.await?;
    Ok(elapsed)
}

/// One connection with `TCP_NODELAY` on both sides; `iters` round trips of a
/// [`PING_BYTES`]-byte request answered by an echo task with the same bytes.
pub async fn ping_pong<N: Net>(iters: u64) -> io::Result<Duration> {
    let (mut client, mut server) = pair::<N>().await?;
    N::set_nodelay(&client)?;
    N::set_nodelay(&server)?;
    let echo = N::spawn(async move {
        let mut msg = [0; PING_BYTES];
        loop {
            match server.read_exact(&mut msg).await {
                Ok(_) => server.write_all(&msg).await?,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    });
    let request = [0xa5; PING_BYTES];
    let mut response = [0; PING_BYTES];
    let start = Instant::now();
    for _ in 0..iters {
        client.write_all(&request).await?;
        client.read_exact(&mut response).await?;
    }
    let elapsed = start.elapsed();
    if response != request {
        return Err(io::Error::other("the echo changed the bytes"));
    }
    drop(client);
    echo.await?;
    Ok(elapsed)
}

/// `iters` connections, [`CONNECT_CONCURRENCY`] at a time: each client connects, sends one
/// byte, reads it back from the server's task and waits for the end of the stream; the server
/// closes first (so TIME_WAIT is on the server side, where ephemeral ports are not at stake).
pub async fn connection_rate<N: Net>(iters: u64) -> io::Result<Duration> {
    let listener = N::bind(any_port()).await?;
    let addr = N::local_addr(&listener)?;
    // The server's tasks are detached: they end with the runtime, and a failing one shows as a
    // failing client.
    let _accept = N::spawn(async move {
        while let Ok(mut stream) = N::accept(&listener).await {
            let _handler = N::spawn(async move {
                let mut byte = [0; 1];
                stream.read_exact(&mut byte).await?;
                stream.write_all(&byte).await?;
                Ok::<_, io::Error>(())
            });
        }
    });
    let start = Instant::now();
    let clients: Vec<_> = (0..CONNECT_CONCURRENCY)
        .map(|i| {
            N::spawn(async move {
                for _ in 0..share(iters, CONNECT_CONCURRENCY, i) {
                    let mut stream = N::connect(addr).await?;
                    stream.write_all(&[7]).await?;
                    let mut byte = [0; 2];
                    stream.read_exact(&mut byte[..1]).await?;
                    if byte[0] != 7 || stream.read(&mut byte).await? != 0 {
                        return Err(io::Error::other("not the one byte echoed, then EOF"));
                    }
                }
                Ok::<_, io::Error>(())
            })
        })
        .collect();
    for client in clients {
        client.await?;
    }
    Ok(start.elapsed())
}

/// A hyper HTTP/1 server answering every GET with [`HTTP_BODY`]; [`HTTP_CONNECTIONS`]
/// keep-alive client connections (`TCP_NODELAY` on both ends) send `iters` GETs in all, one at a
/// time per connection, and read each body. Timed after the connections are up.
pub async fn http<N: Net>(iters: u64) -> io::Result<Duration> {
    let listener = N::bind(any_port()).await?;
    let addr = N::local_addr(&listener)?;
    // Detached, as in `connection_rate`.
    let _server = N::spawn(async move {
        while let Ok(stream) = N::accept(&listener).await {
            if N::set_nodelay(&stream).is_err() {
                break;
            }
            let _conn = N::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                N::hyper_io(stream),
                service_fn(|_req| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(HTTP_BODY))))
                }),
            ));
        }
    });
    let mut senders = Vec::new();
    for _ in 0..HTTP_CONNECTIONS {
        let stream = N::connect(addr).await?;
        N::set_nodelay(&stream)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(N::hyper_io(stream))
            .await
            .map_err(io::Error::other)?;
        let _conn = N::spawn(conn);
        senders.push(sender);
    }
    let start = Instant::now();
    let clients: Vec<_> = senders
        .into_iter()
        .zip(0..)
        .map(|(mut sender, i)| {
            N::spawn(async move {
                for _ in 0..share(iters, HTTP_CONNECTIONS, i) {
                    let request = Request::get("/")
                        .header(hyper::header::HOST, "127.0.0.1")
                        .body(Empty::<Bytes>::new())
                        .map_err(io::Error::other)?;
                    let response = sender
                        .send_request(request)
                        .await
                        .map_err(io::Error::other)?;
                    let body = response
                        .into_body()
                        .collect()
                        .await
                        .map_err(io::Error::other)?
                        .to_bytes();
                    if body != HTTP_BODY {
                        return Err(io::Error::other("wrong response body"));
                    }
                }
                Ok::<_, io::Error>(())
            })
        })
        .collect();
    for client in clients {
        client.await?;
    }
    Ok(start.elapsed())
}
