//! `UdpSocket` on the loopback: send_to/recv_from, connect/send/recv, peek_from, the try_
//! forms, and errors.

mod net;

use std::io::ErrorKind;
use std::net::SocketAddr;

use net::guard;
use sockeye::net::UdpSocket;

#[sockeye::test]
async fn send_to_and_recv_from_round_trip() {
    guard(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_ne!(a_addr.port(), 0);
        assert_eq!(a.send_to(b"hello", b_addr).await.unwrap(), 5);
        let mut buf = [0; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from, a_addr);
        // And back, to a "host:port" string.
        b.send_to(b"world", format!("localhost:{}", a_addr.port()))
            .await
            .unwrap();
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"world"[..], b_addr));
        // Datagrams keep their boundaries, and a short buffer truncates.
        for d in [&b"one"[..], b"two-two", b"three!!!!!"] {
            a.send_to(d, b_addr).await.unwrap();
        }
        let mut short = [0; 4];
        let sizes: Vec<usize> = vec![
            b.recv_from(&mut short).await.unwrap().0,
            b.recv_from(&mut short).await.unwrap().0,
            b.recv_from(&mut buf).await.unwrap().0,
        ];
        assert_eq!(sizes, [3, 4, 10]);
    })
    .await;
}

#[sockeye::test]
async fn connected_sockets_send_and_recv() {
    guard(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b_addr = b.local_addr().unwrap();
        assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        assert_eq!(
            a.send(b"x").await.unwrap_err().kind(),
            ErrorKind::NotConnected
        );
        a.connect(b_addr).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        // A stranger's datagram is dropped by the connected socket; the peer's arrives.
        c.send_to(b"stranger", b_addr).await.unwrap();
        a.send(b"peer").await.unwrap();
        let mut buf = [0; 16];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"peer");
    })
    .await;
}

#[sockeye::test]
async fn peek_from_and_the_try_forms() {
    guard(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind(("127.0.0.1", 0)).await.unwrap();
        let b_addr: SocketAddr = b.local_addr().unwrap();
        let mut buf = [0; 16];
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(a.try_send_to(b"abc", b_addr).unwrap(), 3);
        b.readable().await.unwrap();
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"abc"[..], a.local_addr().unwrap()));
        let (n, _) = b.try_recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"abc", "peek left the datagram queued");
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.writable().await.unwrap();
    })
    .await;
}

#[sockeye::test]
async fn udp_errors() {
    guard(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let taken = a.local_addr().unwrap();
        assert_eq!(
            UdpSocket::bind(taken).await.unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        assert_eq!(
            a.send_to(b"x", "127.0.0.1:0").await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let huge = vec![0; 70_000];
        assert_eq!(
            a.send_to(&huge, "127.0.0.1:9").await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            a.send_to(b"x", "127.255.255.255:9")
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::PermissionDenied
        );
        a.set_broadcast(true).unwrap();
        assert!(a.broadcast().unwrap());
    })
    .await;
}

#[sockeye::test]
async fn peeks_buf_mut_receives_take_error_and_async_io() {
    guard(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let mut buf = [0; 16];
        assert_eq!(
            b.try_peek(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            b.try_peek_sender().unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.send_to(b"first", b_addr).await.unwrap();
        a.send_to(b"second", b_addr).await.unwrap();
        // Peeks leave the datagram queued, whatever form they take.
        assert_eq!(b.peek_sender().await.unwrap(), a_addr);
        assert_eq!(b.try_peek_sender().unwrap(), a_addr);
        let n = b.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"first");
        let mut short = [0; 3];
        assert_eq!(b.try_peek(&mut short).unwrap(), 3);
        assert_eq!(&short, b"fir");
        assert_eq!(b.try_peek_from(&mut buf).unwrap(), (5, a_addr));
        // Receives into a BufMut append after what it holds.
        let mut v = b"> ".to_vec();
        assert_eq!(b.recv_buf(&mut v).await.unwrap(), 5);
        assert_eq!(v, b"> first");
        let mut v = Vec::with_capacity(64);
        assert_eq!(b.try_recv_buf_from(&mut v).unwrap(), (6, a_addr));
        assert_eq!(v, b"second");
        assert_eq!(
            b.try_recv_buf(&mut v).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(b.take_error().unwrap().is_none());
        // async_io waits for readiness and retries on WouldBlock.
        let sender = sockeye::spawn(async move {
            sockeye::time::sleep(std::time::Duration::from_millis(5)).await;
            a.send_to(b"late", b_addr).await.unwrap();
            a
        });
        let mut v = Vec::with_capacity(64);
        let (n, from) = b
            .async_io(sockeye::io::Interest::READABLE, || {
                b.try_recv_buf_from(&mut v)
            })
            .await
            .unwrap();
        assert_eq!((n, from, &v[..]), (4, a_addr, &b"late"[..]));
        let _a = sender.await.unwrap();
    })
    .await;
}

#[sockeye::test]
async fn a_connected_socket_learns_the_port_is_closed() {
    guard(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let closed = {
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            b.local_addr().unwrap()
        };
        a.connect(closed).await.unwrap();
        a.send(b"anyone?").await.unwrap();
        // The stack answers itself with ICMP port unreachable, as Linux's loopback does.
        let mut buf = [0; 16];
        assert_eq!(
            a.recv(&mut buf).await.unwrap_err().kind(),
            ErrorKind::ConnectionRefused
        );
        assert!(a.take_error().unwrap().is_none(), "reported once");
    })
    .await;
}
