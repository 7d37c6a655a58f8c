//! Moving bytes over a `TcpStream`: an echo of 1024 messages with split halves, `shutdown`
//! ending the peer's reads and its `copy`, repeated shutdowns, `peek`, `try_read`, linger 0 and
//! a large transfer both ways at once.

use std::future::poll_fn;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use sockeye::io::{AsyncReadExt, AsyncWriteExt, ReadBuf};
use sockeye::net::{TcpListener, TcpStream};

use super::{Case, Side};
use crate::net::pattern;

/// A listener on this side's address, its address handed to the other side, and the first
/// connection it accepts.
pub async fn accept_one(side: &mut Side) -> TcpStream {
    let listener = TcpListener::bind(side.any_port()).await.unwrap();
    side.send(listener.local_addr().unwrap());
    listener.accept().await.unwrap().0
}

/// A connection to the listener the other side announced with [`accept_one`].
pub async fn connect_to_peer(side: &mut Side) -> TcpStream {
    let addr: SocketAddr = side.recv().await;
    TcpStream::connect(addr).await.unwrap()
}

/// Message `i` of the echo: its length varies from 1 to 1,500 bytes.
fn message(i: usize) -> Vec<u8> {
    pattern(1 + i * 37 % 1500, i as u8)
}

const MESSAGES: usize = 1024;

/// The client writes 1024 messages with `write_all` on its write half while its read half reads
/// each one back with `read_exact`; the server echoes with `copy` between its owned halves.
pub fn echo_1024_messages_with_split_halves() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            let (mut r, mut w) = stream.into_split();
            let copied = sockeye::io::copy(&mut r, &mut w).await.unwrap();
            w.shutdown().await.unwrap();
            let total: usize = (0..MESSAGES).map(|i| message(i).len()).sum();
            assert_eq!(copied, total as u64);
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            let (mut r, mut w) = stream.split();
            let writing = async {
                for i in 0..MESSAGES {
                    w.write_all(&message(i)).await.unwrap();
                }
                w.shutdown().await.unwrap();
            };
            let reading = async {
                let mut buf = vec![0; 1500];
                for i in 0..MESSAGES {
                    let expected = message(i);
                    let got = &mut buf[..expected.len()];
                    r.read_exact(got).await.unwrap();
                    assert!(*got == expected[..], "message {i} came back changed");
                }
                assert_eq!(r.read(&mut buf).await.unwrap(), 0, "then end of stream");
            };
            sockeye::join!(writing, reading);
        },
    )
}

/// After the client's `shutdown`, the server's `copy` from the stream ends with every byte and
/// its reads return 0; the server's own direction still works, and the client's writes fail
/// with `BrokenPipe`.
pub fn shutdown_ends_the_peers_reads_and_copy() -> Case {
    const LEN: usize = 100_000;
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            let mut sink = Vec::new();
            let copied = sockeye::io::copy(&mut stream, &mut sink).await.unwrap();
            assert_eq!(copied, LEN as u64);
            assert!(sink == pattern(LEN, 5));
            let mut buf = [0; 16];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0, "and again");
            stream.write_all(b"got it all").await.unwrap();
            stream.shutdown().await.unwrap();
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            stream.write_all(&pattern(LEN, 5)).await.unwrap();
            stream.shutdown().await.unwrap();
            let err = stream.write(b"late").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe);
            let mut reply = Vec::new();
            stream.read_to_end(&mut reply).await.unwrap();
            assert_eq!(reply, b"got it all");
        },
    )
}

/// `shutdown` three times in a row is `Ok`, before and after the peer closed too.
pub fn shutdown_three_times() -> Case {
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            let mut buf = [0; 4];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
            for _ in 0..3 {
                stream.shutdown().await.unwrap();
            }
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            for _ in 0..3 {
                stream.shutdown().await.unwrap();
            }
            let mut buf = [0; 4];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0, "the server closed");
            stream.shutdown().await.unwrap();
        },
    )
}

/// `peek` and `poll_peek` show the buffered bytes without taking them: the next read gets them.
pub fn peek_does_not_consume() -> Case {
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            side.recv::<()>().await;
            stream.readable().await.unwrap();
            let mut buf = [0; 4];
            let n = stream.peek(&mut buf).await.unwrap();
            assert!(n > 0);
            assert_eq!(buf[..n], b"peekaboo"[..n]);
            let mut again = [0; 4];
            let mut read_buf = ReadBuf::new(&mut again);
            let m = poll_fn(|cx| stream.poll_peek(cx, &mut read_buf))
                .await
                .unwrap();
            assert_eq!(read_buf.filled(), &buf[..m], "the same bytes");
            let mut all = [0; 8];
            stream.read_exact(&mut all).await.unwrap();
            assert_eq!(&all, b"peekaboo");
            assert_eq!(stream.peek(&mut buf).await.unwrap(), 0, "end of stream");
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            stream.write_all(b"peekaboo").await.unwrap();
            side.send(());
            stream.shutdown().await.unwrap();
            let mut buf = [0; 1];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        },
    )
}

/// `try_read` is `WouldBlock` while nothing is buffered, takes what is once `readable` says so,
/// is `WouldBlock` again once drained, and `Ok(0)` after the peer's FIN.
pub fn try_read_would_block_when_empty() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            let mut buf = [0; 16];
            let err = stream.try_read(&mut buf).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
            side.sync("empty").await;
            let mut got = Vec::new();
            while got.len() < 5 {
                stream.readable().await.unwrap();
                match stream.try_read(&mut buf) {
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
                }
            }
            assert_eq!(got, b"hello");
            let err = stream.try_read(&mut buf).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "drained");
            side.sync("drained").await;
            loop {
                stream.readable().await.unwrap();
                match stream.try_read(&mut buf) {
                    Ok(n) => break assert_eq!(n, 0, "end of stream"),
                    Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
                }
            }
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            side.sync("empty").await;
            stream.write_all(b"hello").await.unwrap();
            side.sync("drained").await;
            stream.shutdown().await.unwrap();
        },
    )
}

/// Dropping a stream after `set_linger(Some(0))` resets the connection: the peer's read is
/// `ConnectionReset`, then end of stream, and its writes fail.
pub fn linger_zero_resets() -> Case {
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            let mut buf = [0; 4];
            let err = stream.read(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset);
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
            let err = stream.write_all(b"x").await.unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::BrokenPipe | ErrorKind::NotConnected),
                "{err:?}"
            );
        },
        |mut side: Side| async move {
            let stream = connect_to_peer(&mut side).await;
            stream.set_linger(Some(Duration::ZERO)).unwrap();
            assert_eq!(stream.linger().unwrap(), Some(Duration::ZERO));
            drop(stream);
        },
    )
}

/// 2 MB each way at once, every byte compared, with uneven writes.
pub fn large_transfer_both_ways() -> Case {
    const LEN: usize = 2 << 20;
    async fn exchange(stream: TcpStream, send_seed: u8, recv_seed: u8) {
        let (mut r, mut w) = stream.into_split();
        let writer = sockeye::spawn(async move {
            let data = pattern(LEN, send_seed);
            let mut off = 0;
            let mut step = 1;
            while off < LEN {
                let end = (off + step).min(LEN);
                w.write_all(&data[off..end]).await.unwrap();
                off = end;
                step = step * 7 % 65_521 + 1;
            }
            w.shutdown().await.unwrap();
            w
        });
        let mut got = Vec::with_capacity(LEN);
        r.read_to_end(&mut got).await.unwrap();
        let w = writer.await.unwrap();
        assert_eq!(got.len(), LEN);
        let expected = pattern(LEN, recv_seed);
        let first_difference = got.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(first_difference, None, "the bytes match");
        drop(r.reunite(w).unwrap());
    }
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            exchange(stream, 1, 2).await;
        },
        |mut side: Side| async move {
            let stream = connect_to_peer(&mut side).await;
            exchange(stream, 2, 1).await;
        },
    )
}
