//! The non-blocking forms beyond `try_read`/`try_write`: `try_read_vectored`,
//! `try_write_vectored`, `try_read_buf` (into a `Vec` and a `BytesMut`) and `try_io`, on the
//! stream and on its halves.

use std::cell::Cell;
use std::io::{ErrorKind, IoSlice, IoSliceMut};
use std::time::Duration;

use bytes::BytesMut;
use sockeye::io::{AsyncReadExt, AsyncWriteExt, Interest};
use sockeye::net::{TcpSocket, TcpStream};
use sockeye::netstack::TcpState;

use super::tcp_io::{accept_one, connect_to_peer};
use super::{Case, Side, wait_until};
use crate::net::pattern;

/// Waits until at least `len` bytes are buffered on `stream` (seen with `peek`).
async fn wait_buffered(stream: &TcpStream, len: usize) {
    let mut buf = vec![0; len];
    loop {
        stream.readable().await.unwrap();
        if stream.peek(&mut buf).await.unwrap() >= len {
            return;
        }
        sockeye::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `try_write_vectored` writes every slice in order (skipping empty ones) and is `WouldBlock`
/// when the send buffer is full; `try_read_vectored` fills the slices in order, stops at the
/// first it does not fill, and is `WouldBlock` when nothing is buffered.
pub fn vectored_reads_and_writes() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            let (mut a, mut b, mut c) = ([0; 4], [0; 6], [0; 100]);
            let mut bufs = [
                IoSliceMut::new(&mut a),
                IoSliceMut::new(&mut []),
                IoSliceMut::new(&mut b),
                IoSliceMut::new(&mut c),
            ];
            let err = stream.try_read_vectored(&mut bufs).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "nothing buffered");
            side.sync("empty").await;
            wait_buffered(&stream, 16).await;
            assert_eq!(stream.try_read_vectored(&mut bufs).unwrap(), 16);
            assert_eq!((&a, &b, &c[..6]), (b"0123", b"456789", &b"abcdef"[..]));
            let mut bufs = [IoSliceMut::new(&mut a)];
            let err = stream.try_read_vectored(&mut bufs).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "drained");
            side.sync("first read").await;
            // The client fills its send buffer; read it all through the owned read half.
            let total: usize = side.recv().await;
            let (read_half, _write_half) = stream.into_split();
            let mut got = 0;
            while got < total {
                read_half.readable().await.unwrap();
                let mut bufs = [IoSliceMut::new(&mut b), IoSliceMut::new(&mut c)];
                match read_half.try_read_vectored(&mut bufs) {
                    Ok(n) => {
                        assert!(n > 0);
                        assert!(b.iter().all(|&x| x == 1));
                        got += n;
                    }
                    Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
                }
            }
            assert_eq!(got, total);
            side.sync("read").await;
        },
        |mut side: Side| async move {
            let stream = connect_to_peer(&mut side).await;
            side.sync("empty").await;
            let slices = [
                IoSlice::new(b"0123"),
                IoSlice::new(b""),
                IoSlice::new(b"456789"),
                IoSlice::new(b"abcdef"),
            ];
            assert_eq!(stream.try_write_vectored(&slices).unwrap(), 16);
            side.sync("first read").await;
            // Fill the send buffer (the server is not reading) through the borrowed half.
            let mut stream = stream;
            let (_, write_half) = stream.split();
            let ones = [1u8; 6000];
            let mut total = 0;
            let err = loop {
                let slices = [IoSlice::new(&ones[..1000]), IoSlice::new(&ones[1000..])];
                match write_half.try_write_vectored(&slices) {
                    Ok(n) => total += n,
                    Err(e) => break e,
                }
                assert!(total < 64 << 20, "the send buffer is bounded");
            };
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
            side.send(total);
            side.sync("read").await;
        },
    )
}

/// `try_read_buf` appends to a `Vec` and a `BytesMut` (growing from no capacity), is
/// `WouldBlock` when nothing is buffered (leaving the buffer as it was), and `Ok(0)` at end of
/// stream.
pub fn try_read_buf_appends() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            let mut vec = b"start:".to_vec();
            let err = stream.try_read_buf(&mut vec).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
            assert_eq!(vec, b"start:");
            side.sync("empty").await;
            while vec.len() < 6 + 11 {
                stream.readable().await.unwrap();
                match stream.try_read_buf(&mut vec) {
                    Ok(n) => assert!(n > 0),
                    Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
                }
            }
            assert_eq!(vec, b"start:hello world");
            side.sync("first read").await;
            let mut bytes = BytesMut::new();
            let (read_half, _write_half) = stream.into_split();
            loop {
                read_half.readable().await.unwrap();
                match read_half.try_read_buf(&mut bytes) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
                }
            }
            assert_eq!(&bytes[..], &pattern(5000, 4)[..]);
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            side.sync("empty").await;
            stream.write_all(b"hello world").await.unwrap();
            side.sync("first read").await;
            stream.write_all(&pattern(5000, 4)).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut buf = [0; 1];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        },
    )
}

/// `try_io` calls its closure only when the stream is ready for the interest (and returns the
/// closure's result, `WouldBlock` included); otherwise it is `WouldBlock` without a call.
pub fn try_io_calls_only_when_ready() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            let called = Cell::new(false);
            let mut buf = [0; 16];
            let err = stream
                .try_io(Interest::READABLE, || {
                    called.set(true);
                    stream.try_read(&mut buf)
                })
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
            assert!(!called.get(), "not readable: the closure is not called");
            let n = stream
                .try_io(Interest::WRITABLE, || stream.try_write(b"w"))
                .unwrap();
            assert_eq!(n, 1, "writable: the closure wrote");
            side.sync("empty").await;
            stream.readable().await.unwrap();
            // Ready, but the closure says it would block: that is what comes back.
            let err = stream
                .try_io(Interest::READABLE | Interest::WRITABLE, || {
                    called.set(true);
                    Err::<(), _>(ErrorKind::WouldBlock.into())
                })
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
            assert!(called.get());
            let n = stream
                .try_io(Interest::READABLE, || stream.try_read(&mut buf))
                .unwrap();
            assert_eq!(&buf[..n], &b"data"[..n]);
            side.sync("done").await;
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            side.sync("empty").await;
            stream.write_all(b"data").await.unwrap();
            let mut w = [0; 1];
            stream.read_exact(&mut w).await.unwrap();
            assert_eq!(&w, b"w");
            side.sync("done").await;
        },
    )
}

/// A reset that arrives after data: a vectored read that takes the data and then meets the
/// reset returns the data; the next read reports `ConnectionReset`, then end of stream.
pub fn an_error_after_a_vectored_read_comes_next() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            wait_buffered(&stream, 4).await;
            side.sync("buffered").await;
            // The client's RST closes the connection (the data stays readable).
            wait_until(|| matches!(stream.info(), Ok(i) if i.state == TcpState::Closed)).await;
            let (mut first, mut second) = ([0; 4], [0; 4]);
            let mut bufs = [IoSliceMut::new(&mut first), IoSliceMut::new(&mut second)];
            assert_eq!(stream.try_read_vectored(&mut bufs).unwrap(), 4);
            assert_eq!(&first, b"abcd");
            let err = stream.try_read(&mut second).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset);
            assert_eq!(stream.try_read(&mut second).unwrap(), 0);
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            stream.write_all(b"abcd").await.unwrap();
            side.sync("buffered").await;
            stream.set_linger(Some(Duration::ZERO)).unwrap();
            drop(stream);
        },
    )
}

/// A vectored write whose first slices fill the send buffer returns what went in; the full
/// buffer is no error for the next write, which waits for room (it was once kept as a
/// `WouldBlock` and failed the next write: hyper's chunked `POST /echo` met it against curl).
/// With one-byte slices, more of them than the buffer holds, every write ends that way.
pub fn a_vectored_write_that_fills_the_buffer_leaves_no_error() -> Case {
    const TOTAL: usize = 256 * 1024;
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            // Let the client fill its buffer before anything is read.
            side.sync("connected").await;
            sockeye::time::sleep(Duration::from_millis(20)).await;
            let mut got = Vec::new();
            stream.read_to_end(&mut got).await.unwrap();
            assert!(got == pattern(TOTAL, 7), "the bytes, in order");
        },
        |mut side: Side| async move {
            let addr = side.recv().await;
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_send_buffer_size(8192).unwrap();
            let mut stream = socket.connect(addr).await.unwrap();
            side.sync("connected").await;
            let data = pattern(TOTAL, 7);
            let mut sent = 0;
            while sent < TOTAL {
                // More one-byte slices than the send buffer can take.
                let slices: Vec<IoSlice<'_>> = data[sent..(sent + 64 * 1024).min(TOTAL)]
                    .chunks(1)
                    .map(IoSlice::new)
                    .collect();
                let n = stream.write_vectored(&slices).await.unwrap();
                assert!(n > 0, "a write that waited wrote something");
                sent += n;
            }
            stream.shutdown().await.unwrap();
        },
    )
}

/// A vectored read that fills its first buffer and finds nothing more returns what it read;
/// running out of data is no error for the next read, which gets what arrived since.
pub fn a_vectored_read_that_drains_the_buffer_leaves_no_error() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            wait_buffered(&stream, 4).await;
            let (mut first, mut second) = ([0; 4], [0; 4]);
            let mut bufs = [IoSliceMut::new(&mut first), IoSliceMut::new(&mut second)];
            assert_eq!(stream.try_read_vectored(&mut bufs).unwrap(), 4);
            assert_eq!(&first, b"abcd");
            side.sync("read").await;
            wait_buffered(&stream, 4).await;
            let mut buf = [0; 4];
            assert_eq!(stream.try_read(&mut buf).unwrap(), 4);
            assert_eq!(&buf, b"efgh");
        },
        |mut side: Side| async move {
            let mut stream = connect_to_peer(&mut side).await;
            stream.write_all(b"abcd").await.unwrap();
            side.sync("read").await;
            stream.write_all(b"efgh").await.unwrap();
            let mut end = [0; 1];
            assert_eq!(stream.read(&mut end).await.unwrap(), 0);
        },
    )
}
