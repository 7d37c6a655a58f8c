//! Reading and writing a `TcpStream`: partial reads and writes, end of stream, shutdown,
//! `try_read`/`try_write`, `peek`, readiness, and linger.

mod net;

use std::io::ErrorKind;
use std::time::Duration;

use net::{guard, pattern};
use sockeye::io::{AsyncReadExt, AsyncWriteExt, Interest};
use sockeye::net::{TcpListener, TcpSocket, TcpStream};

/// A connected pair on the loopback: (client, server side).
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = sockeye::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

#[sockeye::test]
async fn partial_reads_take_what_is_there() {
    guard(async {
        let (mut client, mut server) = pair().await;
        client.write_all(b"0123456789").await.unwrap();
        let mut small = [0; 4];
        server.read_exact(&mut small).await.unwrap();
        assert_eq!(&small, b"0123");
        // A big buffer gets the rest: a read returns what is there, not a full buffer.
        let mut big = [0; 64];
        let n = server.read(&mut big).await.unwrap();
        assert_eq!(&big[..n], b"456789");
        // Two writes may be read in one go or in two; together they are all there in order.
        client.write_all(b"abc").await.unwrap();
        client.write_all(b"def").await.unwrap();
        let mut got = Vec::new();
        while got.len() < 6 {
            let n = server.read(&mut big).await.unwrap();
            got.extend_from_slice(&big[..n]);
        }
        assert_eq!(got, b"abcdef");
    })
    .await;
}

#[sockeye::test]
async fn partial_writes_take_what_fits() {
    guard(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_send_buffer_size(8192).unwrap();
        let (client, accepted) = sockeye::join!(socket.connect(addr), listener.accept());
        let mut client = client.unwrap();
        let mut server = accepted.unwrap().0;
        let data = pattern(100_000, 1);
        // A write larger than the send buffer is partial.
        let n = client.write(&data).await.unwrap();
        assert!(n > 0 && n <= 8192, "wrote {n}");
        // The rest goes through as the reader drains it.
        let rest = data[n..].to_vec();
        let writer = sockeye::spawn(async move {
            client.write_all(&rest).await.unwrap();
            client.shutdown().await.unwrap();
            client
        });
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the bytes match");
        drop(writer.await.unwrap());
    })
    .await;
}

#[sockeye::test]
async fn read_after_the_peer_shuts_down_is_end_of_stream() {
    guard(async {
        let (mut client, mut server) = pair().await;
        client.write_all(b"last words").await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
        let mut buf = [0; 8];
        assert_eq!(server.read(&mut buf).await.unwrap(), 0, "and again");
        // The other direction still works after a half close.
        server.write_all(b"reply").await.unwrap();
        let mut reply = [0; 5];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"reply");
    })
    .await;
}

#[sockeye::test]
async fn write_after_shutdown_is_a_broken_pipe_and_shutdown_repeats() {
    guard(async {
        let (mut client, mut server) = pair().await;
        client.shutdown().await.unwrap();
        client.shutdown().await.unwrap();
        let err = client.write(b"x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        assert_eq!(
            client.try_write(b"x").unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        let mut buf = [0; 1];
        assert_eq!(server.read(&mut buf).await.unwrap(), 0);
        // Once both sides closed, shutting down again is still fine.
        server.shutdown().await.unwrap();
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
        client.shutdown().await.unwrap();
    })
    .await;
}

#[sockeye::test]
async fn try_read_and_try_write_would_block() {
    guard(async {
        let (client, server) = pair().await;
        let mut buf = [0; 16];
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // Fill the send buffer without letting the runtime move anything: try_write takes what
        // fits, then would block.
        let chunk = [7u8; 4096];
        let mut written = 0;
        let err = loop {
            match client.try_write(&chunk) {
                Ok(n) => written += n,
                Err(e) => break e,
            }
            assert!(written < 100 << 20, "the send buffer is bounded");
        };
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert!(written > 0);
        // Readiness brings the data over: read it all with try_read after `readable`.
        let mut total = 0;
        while total < written {
            server.readable().await.unwrap();
            match server.try_read(&mut buf) {
                Ok(n) => {
                    assert!(n > 0);
                    assert!(buf[..n].iter().all(|&b| b == 7));
                    total += n;
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
            }
        }
        assert_eq!(total, written);
        client.writable().await.unwrap();
        assert_eq!(client.try_write(b"more").unwrap(), 4);
    })
    .await;
}

#[sockeye::test]
async fn peek_leaves_the_bytes_for_the_next_read() {
    guard(async {
        let (mut client, mut server) = pair().await;
        client.write_all(b"peekaboo").await.unwrap();
        let mut buf = [0; 4];
        assert_eq!(server.peek(&mut buf).await.unwrap(), 4);
        assert_eq!(&buf, b"peek");
        let mut all = [0; 8];
        server.read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"peekaboo");
        client.shutdown().await.unwrap();
        assert_eq!(server.peek(&mut buf).await.unwrap(), 0, "end of stream");
    })
    .await;
}

#[sockeye::test]
async fn ready_reports_each_direction() {
    guard(async {
        let (mut client, server) = pair().await;
        let ready = server.ready(Interest::WRITABLE).await.unwrap();
        assert!(ready.is_writable() && !ready.is_readable());
        client.write_all(b"x").await.unwrap();
        let ready = server.ready(Interest::READABLE).await.unwrap();
        assert!(ready.is_readable());
        assert!(!ready.is_read_closed());
        client.shutdown().await.unwrap();
        let mut buf = [0; 4];
        assert_eq!(server.try_read(&mut buf).unwrap(), 1);
        // With the byte consumed, the next readiness is the FIN's.
        server.readable().await.unwrap();
        let ready = server
            .ready(Interest::READABLE | Interest::WRITABLE)
            .await
            .unwrap();
        assert!(ready.is_readable() && ready.is_writable());
        assert!(ready.is_read_closed(), "the FIN arrived");
        assert!(!ready.is_write_closed());
    })
    .await;
}

#[sockeye::test]
async fn options_round_trip() {
    guard(async {
        let (client, _server) = pair().await;
        assert!(!client.nodelay().unwrap());
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        assert_eq!(client.linger().unwrap(), None);
        client.set_linger(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(3)));
        let info = client.info().unwrap();
        assert_eq!(info.state, sockeye::netstack::TcpState::Established);
    })
    .await;
}

#[sockeye::test]
async fn linger_zero_resets_the_connection_on_drop() {
    guard(async {
        let (client, mut server) = pair().await;
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client);
        let mut buf = [0; 4];
        let err = server.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        // After the error is reported, reads see end of stream and writes fail.
        assert_eq!(server.read(&mut buf).await.unwrap(), 0);
        let err = server.write_all(b"x").await.unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::BrokenPipe | ErrorKind::NotConnected),
            "{err:?}"
        );
    })
    .await;
}

#[sockeye::test]
async fn a_graceful_drop_is_a_fin() {
    guard(async {
        let (mut client, mut server) = pair().await;
        client.write_all(b"bye").await.unwrap();
        drop(client);
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");
        // The server's FIN completes the close; the client side ends in TIME_WAIT.
        drop(server);
        let table = loop {
            let table = sockeye::stack::sockets();
            if table
                .in_state(sockeye::netstack::TcpState::TimeWait)
                .count()
                == 1
            {
                break table;
            }
            sockeye::time::sleep(Duration::from_millis(1)).await;
        };
        assert!(table.to_string().contains("TIME-WAIT"), "{table}");
    })
    .await;
}
