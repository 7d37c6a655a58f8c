//! UDP between the two sides: `send_to`/`recv_from` with the senders' addresses, and connected
//! sockets with `send`/`recv`/`peek_from`.

use std::net::SocketAddr;

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
