//! Reading and writing a `TcpStream` on the loopback: partial reads and writes, options, and a
//! graceful close ending in TIME_WAIT. (The compatibility cases that run on every set-up, such
//! as shutdown, peek, `try_read` and readiness, are in `suite/`.)

mod net;

use std::time::Duration;

use net::{guard, pattern};
use sockeye::io::{AsyncReadExt, AsyncWriteExt};
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

/// A read into a large uninitialised buffer (as hyper lends) initialises only the bytes it
/// reads, not the whole buffer, and a read with nothing ready initialises at most one byte.
#[sockeye::test]
async fn a_read_into_an_uninitialised_buffer_initialises_only_what_it_reads() {
    use std::mem::MaybeUninit;
    use std::pin::Pin;
    use std::task::Poll;

    use sockeye::io::{AsyncRead, ReadBuf};

    guard(async {
        let (mut client, mut server) = pair().await;
        let mut storage = vec![MaybeUninit::<u8>::uninit(); 64 * 1024];
        let mut buf = ReadBuf::uninit(&mut storage);
        let pending = std::future::poll_fn(|cx| {
            Poll::Ready(Pin::new(&mut server).poll_read(cx, &mut buf).is_pending())
        })
        .await;
        assert!(pending, "nothing to read yet");
        assert!(buf.initialized().len() <= 1, "{}", buf.initialized().len());
        client.write_all(b"hello").await.unwrap();
        std::future::poll_fn(|cx| Pin::new(&mut server).poll_read(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(buf.filled(), b"hello");
        assert_eq!(buf.initialized().len(), 5);
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
async fn options_round_trip() {
    guard(async {
        let (client, _server) = pair().await;
        assert!(!client.nodelay().unwrap());
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        assert_eq!(client.linger().unwrap(), None);
        client.set_linger(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(3)));
        // TCP_NOTSENT_LOWAT: the stack's 128 KiB until set; 0 goes back to it.
        assert_eq!(client.notsent_lowat().unwrap(), 131_072);
        client.set_notsent_lowat(4096).unwrap();
        assert_eq!(client.notsent_lowat().unwrap(), 4096);
        client.set_notsent_lowat(0).unwrap();
        assert_eq!(client.notsent_lowat().unwrap(), 131_072);
        let info = client.info().unwrap();
        assert_eq!(info.state, sockeye::netstack::TcpState::Established);
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
        // With its timer, as `ss -o` shows it: up to 60 s left.
        assert!(table.to_string().contains("timer:(timewait,"), "{table}");
        let left = table
            .in_state(sockeye::netstack::TcpState::TimeWait)
            .find_map(|e| table.timer_left(e))
            .expect("TIME_WAIT's timer");
        assert!(left <= Duration::from_secs(60), "{left:?}");
    })
    .await;
}

#[sockeye::test]
async fn take_error_reports_a_reset_once_and_async_io_reads() {
    guard(async {
        let (client, server) = pair().await;
        // async_io: waits until the peer's bytes are there, then try_read takes them.
        let writer = sockeye::spawn(async move {
            sockeye::time::sleep(Duration::from_millis(5)).await;
            let mut server = server;
            server.write_all(b"hi").await.unwrap();
            server
        });
        let mut buf = [0; 8];
        let n = client
            .async_io(sockeye::io::Interest::READABLE, || {
                client.try_read(&mut buf)
            })
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"hi");
        assert!(client.take_error().unwrap().is_none());
        // The server resets: the error waits in the socket until taken, once.
        let server = writer.await.unwrap();
        server.set_linger(Some(Duration::ZERO)).unwrap();
        drop(server);
        client.readable().await.unwrap();
        let e = client.take_error().unwrap().expect("the reset");
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
        assert!(client.take_error().unwrap().is_none());
        // Taken, it is no longer returned by a read: end of stream, as on Linux.
        let mut client = client;
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
        let socket = TcpSocket::new_v4().unwrap();
        assert!(socket.take_error().unwrap().is_none());
    })
    .await;
}
