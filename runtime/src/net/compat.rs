//! The other I/O traits a `TcpStream` speaks: futures-io's `AsyncRead`/`AsyncWrite` (for the
//! `futures` ecosystem), and, with the `hyper` feature, hyper 1.x's `rt::Read`/`rt::Write` (so
//! hyper's clients and servers take a `TcpStream` directly, with no adapter).
//!
//! They all go through the same stack calls as tokio's traits: closing (futures-io) and
//! `poll_shutdown` (hyper) shut writing down with a FIN; flushing is immediate.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::tcp::{OwnedReadHalf, OwnedWriteHalf, TcpStream};

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_read(Some(cx), buf)
    }
}

impl futures_io::AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write(Some(cx), buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write_vectored(Some(cx), bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown_write())
    }
}

impl futures_io::AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_read(Some(cx), buf)
    }
}

impl futures_io::AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.conn().poll_write(Some(cx), buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn().shutdown_write())
    }
}

/// The most a hyper read asks the stack for at once (hyper lends uninitialised buffers of up to
/// ~400 KiB; a read zeroes only as much of it as the stack has bytes ready).
#[cfg(feature = "hyper")]
const HYPER_READ_CHUNK: usize = 32 * 1024;

#[cfg(feature = "hyper")]
impl hyper::rt::Read for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: the slice is only written through a tokio `ReadBuf`, which never
        // de-initialises bytes.
        let unfilled = unsafe { buf.as_mut() };
        let len = unfilled.len().min(HYPER_READ_CHUNK);
        let mut read_buf = tokio::io::ReadBuf::uninit(&mut unfilled[..len]);
        std::task::ready!(super::tcp::poll_read_buf(&self.conn, cx, &mut read_buf))?;
        let n = read_buf.filled().len();
        // SAFETY: the read filled (initialised) the first `n` bytes of the cursor's buffer.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "hyper")]
impl hyper::rt::Write for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write(Some(cx), buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown_write())
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write_vectored(Some(cx), bufs)
    }
}
