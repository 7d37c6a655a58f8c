//! Readiness: `poll_read_ready` and `poll_write_ready` are `Pending` exactly when a read or a
//! write would block, and a pending poll's waker is woken when that changes (the `readable` and
//! `writable` futures are those polls); `ready` reports closed directions.

use std::io::ErrorKind;
use std::task::{Context, Poll, Waker};

use sockeye::io::{AsyncReadExt, AsyncWriteExt, Interest};
use sockeye::net::{TcpSocket, TcpStream};

use super::tcp_io::{accept_one, connect_to_peer};
use super::{Case, Side};
use crate::net::pattern;

/// Polls once with a waker that does nothing: what the readiness is right now.
fn now<T>(poll: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
    poll(&mut Context::from_waker(Waker::noop()))
}

fn is_pending<T>(poll: Poll<std::io::Result<T>>) -> bool {
    match poll {
        Poll::Pending => true,
        Poll::Ready(Ok(_)) => false,
        Poll::Ready(Err(e)) => panic!("readiness failed: {e}"),
    }
}

/// Read readiness: pending with nothing buffered; ready once data arrives and as long as any is
/// left; pending again once it is all read; ready for good after the peer's FIN.
pub fn read_readiness_is_exact() -> Case {
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            assert!(
                is_pending(now(|cx| stream.poll_read_ready(cx))),
                "nothing sent yet"
            );
            side.sync("checked empty").await;
            // Woken by the data's arrival.
            stream.readable().await.unwrap();
            assert!(!is_pending(now(|cx| stream.poll_read_ready(cx))));
            let mut one = [0; 1];
            assert_eq!(stream.try_read(&mut one).unwrap(), 1);
            assert_eq!(&one, b"a");
            let mut rest = [0; 2];
            stream.read_exact(&mut rest).await.unwrap();
            assert_eq!(&rest, b"bc");
            assert!(is_pending(now(|cx| stream.poll_read_ready(cx))), "all read");
            side.sync("drained").await;
            stream.readable().await.unwrap();
            assert!(!is_pending(now(|cx| stream.poll_read_ready(cx))), "the FIN");
            assert_eq!(stream.try_read(&mut one).unwrap(), 0);
            assert!(
                !is_pending(now(|cx| stream.poll_read_ready(cx))),
                "stays ready"
            );
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            assert!(
                !is_pending(now(|cx| stream.poll_write_ready(cx))),
                "room to write"
            );
            side.sync("checked empty").await;
            // One write, so the three bytes travel in one segment.
            stream.write_all(b"abc").await.unwrap();
            side.sync("drained").await;
            assert!(
                is_pending(now(|cx| stream.poll_read_ready(cx))),
                "server sent nothing"
            );
            stream.shutdown().await.unwrap();
            let mut buf = [0; 1];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        },
    )
}

/// Write readiness: ready on a new connection; pending exactly once `try_write` has filled the
/// send buffer (the peer not reading); woken when the peer's reads free room; ready after
/// `shutdown`, where a write fails at once.
pub fn write_readiness_is_exact() -> Case {
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            let written: usize = side.recv().await;
            let mut got = vec![0; written];
            stream.read_exact(&mut got).await.unwrap();
            assert!(got.iter().all(|&b| b == 7));
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.unwrap();
            assert!(rest == pattern(10_000, 8), "the writes after the wake");
        },
        |mut side: Side| async move {
            let addr = side.recv().await;
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_send_buffer_size(16 * 1024).unwrap();
            let mut stream: TcpStream = socket.connect(addr).await.unwrap();
            assert!(!is_pending(now(|cx| stream.poll_write_ready(cx))));
            // Fill the send buffer without yielding, so nothing leaves meanwhile: before each
            // write, readiness says whether it will go in.
            let chunk = [7u8; 4096];
            let mut written = 0;
            loop {
                let pending = is_pending(now(|cx| stream.poll_write_ready(cx)));
                match stream.try_write(&chunk) {
                    Ok(n) => {
                        assert!(!pending, "ready, and {n} bytes went in");
                        written += n;
                    }
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::WouldBlock);
                        assert!(pending, "pending, and the write would block");
                        break;
                    }
                }
                assert!(written <= 16 * 1024, "the send buffer is bounded");
            }
            assert!(written > 0);
            side.send(written);
            // Woken once the server reads and its ACKs free room.
            stream.writable().await.unwrap();
            let more = pattern(10_000, 8);
            let n = stream.try_write(&more).unwrap();
            assert!(n > 0);
            stream.write_all(&more[n..]).await.unwrap();
            stream.shutdown().await.unwrap();
            assert!(
                !is_pending(now(|cx| stream.poll_write_ready(cx))),
                "after shutdown"
            );
            let err = stream.try_write(b"x").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe);
            let mut buf = [0; 1];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        },
    )
}

/// `ready` says which directions are ready, and `READ_CLOSED` / `WRITE_CLOSED` once the peer's
/// FIN arrived / after our `shutdown`.
pub fn ready_reports_closed_directions() -> Case {
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            let ready = stream.ready(Interest::WRITABLE).await.unwrap();
            assert!(ready.is_writable() && !ready.is_readable());
            side.sync("writable").await;
            let ready = stream.ready(Interest::READABLE).await.unwrap();
            assert!(ready.is_readable() && !ready.is_read_closed());
            let mut byte = [0; 1];
            assert_eq!(stream.try_read(&mut byte).unwrap(), 1);
            side.sync("read").await;
            // With the byte consumed, the next readiness is the FIN's.
            stream.readable().await.unwrap();
            let both = Interest::READABLE | Interest::WRITABLE;
            let ready = stream.ready(both).await.unwrap();
            assert!(ready.is_readable() && ready.is_writable());
            assert!(ready.is_read_closed(), "the FIN arrived");
            assert!(!ready.is_write_closed());
            stream.shutdown().await.unwrap();
            let ready = stream.ready(both).await.unwrap();
            assert!(ready.is_read_closed() && ready.is_write_closed());
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            side.sync("writable").await;
            stream.write_all(b"x").await.unwrap();
            side.sync("read").await;
            stream.shutdown().await.unwrap();
            let mut buf = [0; 1];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        },
    )
}
