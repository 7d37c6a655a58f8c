//! UDP between the two sides: `send_to`/`recv_from` with the senders' addresses, connected
//! sockets with `send`/`recv`/`peek_from`, and the `poll_` forms, `ready` and `try_io`.

use std::cell::Cell;
use std::future::poll_fn;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};

use sockeye::io::{Interest, ReadBuf};
use sockeye::net::UdpSocket;

use super::{Case, Side};
use crate::net::pattern;

/// A datagram to the server and its echo back, each with the sender's address; datagrams keep
/// their boundaries and a short buffer truncates.
pub fn round_trip() -> Case {
    Case::new(
        |mut side: Side| async move {
            let socket = UdpSocket::bind(side.any_port()).await.unwrap();
            side.send(socket.local_addr().unwrap());
            let client: SocketAddr = side.recv().await;
            let mut buf = vec![0; 2048];
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hello");
            assert_eq!(from, client);
            assert_eq!(socket.send_to(&buf[..n], from).await.unwrap(), n);
            // Three datagrams, received into a 4-byte buffer, a 4-byte one and a large one.
            let mut short = [0; 4];
            let (n, _) = socket.recv_from(&mut short).await.unwrap();
            assert_eq!((n, &short), (3, b"one\0"));
            let (n, _) = socket.recv_from(&mut short).await.unwrap();
            assert_eq!((n, &short), (4, b"two-"), "truncated");
            let (n, _) = socket.recv_from(&mut buf).await.unwrap();
            assert!(buf[..n] == pattern(1400, 3), "a full-sized datagram");
            side.sync("done").await;
        },
        |mut side: Side| async move {
            let server: SocketAddr = side.recv().await;
            let socket = UdpSocket::bind(side.any_port()).await.unwrap();
            let local = socket.local_addr().unwrap();
            assert_ne!(local.port(), 0);
            side.send(local);
            assert_eq!(socket.send_to(b"hello", server).await.unwrap(), 5);
            let mut buf = [0; 64];
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"hello"[..], server));
            let big = pattern(1400, 3);
            for d in [&b"one"[..], b"two-two", &big] {
                socket.send_to(d, server).await.unwrap();
            }
            side.sync("done").await;
        },
    )
}

/// Connected sockets: `send` and `recv` talk to the peer only, `peek_from` leaves the datagram
/// queued, and `peer_addr` names the peer.
pub fn connected_round_trip() -> Case {
    Case::new(
        |mut side: Side| async move {
            let socket = UdpSocket::bind(side.any_port()).await.unwrap();
            side.send(socket.local_addr().unwrap());
            let client: SocketAddr = side.recv().await;
            socket.connect(client).await.unwrap();
            assert_eq!(socket.peer_addr().unwrap(), client);
            side.sync("connected").await;
            let mut buf = [0; 64];
            let (n, from) = socket.peek_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"ping"[..], client));
            let n = socket.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping", "peek left it queued");
            assert_eq!(socket.send(b"pong").await.unwrap(), 4);
            side.sync("done").await;
        },
        |mut side: Side| async move {
            let server: SocketAddr = side.recv().await;
            let socket = UdpSocket::bind(side.any_port()).await.unwrap();
            side.send(socket.local_addr().unwrap());
            socket.connect(server).await.unwrap();
            side.sync("connected").await;
            assert_eq!(socket.send(b"ping").await.unwrap(), 4);
            let mut buf = [0; 64];
            let n = socket.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"pong");
            side.sync("done").await;
        },
    )
}

/// Whether a readiness poll is pending right now (polled with a waker that does nothing).
fn pending_now(poll: impl FnOnce(&mut Context<'_>) -> Poll<std::io::Result<()>>) -> bool {
    match poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Pending => true,
        Poll::Ready(r) => {
            r.unwrap();
            false
        }
    }
}

/// `poll_recv_ready` is pending exactly while nothing is queued and is woken by a datagram;
/// `poll_send_ready` is ready with room; `poll_send_to`, `poll_peek_from`, `poll_recv_from`
/// (truncating to the `ReadBuf`'s room), `poll_recv` and `poll_send` move datagrams; `ready`
/// says which directions are ready; `try_io` calls its closure only when ready.
pub fn poll_forms_ready_and_try_io() -> Case {
    Case::new(
        |mut side: Side| async move {
            let socket = UdpSocket::bind(side.any_port()).await.unwrap();
            side.send(socket.local_addr().unwrap());
            let client: SocketAddr = side.recv().await;
            assert!(
                pending_now(|cx| socket.poll_recv_ready(cx)),
                "nothing queued"
            );
            assert!(
                !pending_now(|cx| socket.poll_send_ready(cx)),
                "room to send"
            );
            let ready = socket.ready(Interest::READABLE | Interest::WRITABLE).await;
            let ready = ready.unwrap();
            assert!(ready.is_writable() && !ready.is_readable());
            let called = Cell::new(false);
            let mut buf = [0; 64];
            let err = socket
                .try_io(Interest::READABLE, || {
                    called.set(true);
                    socket.try_recv_from(&mut buf)
                })
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
            assert!(!called.get(), "not readable: the closure is not called");
            side.sync("empty").await;

            // Woken by the first datagram.
            poll_fn(|cx| socket.poll_recv_ready(cx)).await.unwrap();
            let ready = socket.ready(Interest::READABLE).await.unwrap();
            assert!(ready.is_readable());
            let mut storage = [0; 64];
            let mut peeked = ReadBuf::new(&mut storage);
            let from = poll_fn(|cx| socket.poll_peek_from(cx, &mut peeked)).await;
            assert_eq!(from.unwrap(), client);
            assert_eq!(peeked.filled(), b"first");
            let mut small = [0; 3];
            let mut truncated = ReadBuf::new(&mut small);
            let from = poll_fn(|cx| socket.poll_recv_from(cx, &mut truncated)).await;
            assert_eq!(from.unwrap(), client);
            assert_eq!(truncated.filled(), b"fir", "cut to the room left");
            // The second datagram, through try_io once it is there.
            let (n, from) = loop {
                socket.readable().await.unwrap();
                match socket.try_io(Interest::READABLE, || socket.try_recv_from(&mut buf)) {
                    Ok(got) => break got,
                    Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
                }
            };
            assert_eq!((&buf[..n], from), (&b"second"[..], client));
            assert!(pending_now(|cx| socket.poll_recv_ready(cx)), "drained");

            socket.connect(client).await.unwrap();
            side.sync("connected").await;
            let mut storage = [0; 64];
            let mut third = ReadBuf::new(&mut storage);
            poll_fn(|cx| socket.poll_recv(cx, &mut third))
                .await
                .unwrap();
            assert_eq!(third.filled(), b"third");
            let n = poll_fn(|cx| socket.poll_send(cx, b"reply")).await.unwrap();
            assert_eq!(n, 5);
            side.sync("done").await;
        },
        |mut side: Side| async move {
            let server: SocketAddr = side.recv().await;
            let socket = UdpSocket::bind(side.any_port()).await.unwrap();
            side.send(socket.local_addr().unwrap());
            side.sync("empty").await;
            let n = poll_fn(|cx| socket.poll_send_to(cx, b"first", server)).await;
            assert_eq!(n.unwrap(), 5);
            let n = socket
                .try_io(Interest::WRITABLE, || socket.try_send_to(b"second", server))
                .unwrap();
            assert_eq!(n, 6);
            side.sync("connected").await;
            socket.send_to(b"third", server).await.unwrap();
            let mut storage = [0; 64];
            let mut reply = ReadBuf::new(&mut storage);
            let from = poll_fn(|cx| socket.poll_recv_from(cx, &mut reply)).await;
            assert_eq!((reply.filled(), from.unwrap()), (&b"reply"[..], server));
            let v6: SocketAddr = "[::1]:9".parse().unwrap();
            let err = poll_fn(|cx| socket.poll_send_to(cx, b"x", v6)).await;
            assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidInput);
            side.sync("done").await;
        },
    )
}
