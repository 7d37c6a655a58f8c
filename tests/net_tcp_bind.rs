//! `TcpListener::bind`, `TcpStream::connect` and `TcpSocket` on the loopback: the errors for
//! taken, foreign and IPv6 addresses, and the listener's stats. (Every address form `bind`
//! takes, and connecting to a closed port, are suite cases: `suite/tcp_accept.rs`.)

mod net;

use std::io::ErrorKind;

use net::guard;
use sockeye::net::{TcpListener, TcpSocket, TcpStream};

#[sockeye::test]
async fn bind_errors_have_linux_kinds() {
    guard(async {
        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = first.local_addr().unwrap().port();
        let again = TcpListener::bind(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::AddrInUse);
        let wildcard = TcpListener::bind(("0.0.0.0", port)).await.unwrap_err();
        assert_eq!(wildcard.kind(), ErrorKind::AddrInUse);
        let foreign = TcpListener::bind("10.1.2.3:80").await.unwrap_err();
        assert_eq!(foreign.kind(), ErrorKind::AddrNotAvailable);
        let v6 = TcpListener::bind("[::1]:0").await.unwrap_err();
        assert_eq!(v6.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            TcpSocket::new_v6().unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        // Dropping the listener frees its port.
        drop(first);
        let reused = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        assert_eq!(reused.local_addr().unwrap().port(), port);
    })
    .await;
}

#[sockeye::test]
async fn tcp_socket_binds_listens_and_connects() {
    guard(async {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        assert!(socket.reuseaddr().unwrap());
        socket.set_keepalive(true).unwrap();
        assert!(socket.keepalive().unwrap());
        socket.set_nodelay(true).unwrap();
        assert!(socket.nodelay().unwrap());
        socket.set_send_buffer_size(65_536).unwrap();
        assert_eq!(socket.send_buffer_size().unwrap(), 65_536);
        socket.set_recv_buffer_size(1).unwrap();
        assert_eq!(
            socket.recv_buffer_size().unwrap(),
            4096,
            "raised to tcp_rmem's minimum"
        );
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = socket.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        let listener = socket.listen(8).unwrap();
        assert_eq!(listener.local_addr().unwrap(), addr);

        let client = TcpSocket::new_v4().unwrap();
        client.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let client_addr = client.local_addr().unwrap();
        let (stream, accepted) = sockeye::join!(client.connect(addr), listener.accept());
        let stream = stream.unwrap();
        let (server_side, peer) = accepted.unwrap();
        assert_eq!(
            stream.local_addr().unwrap(),
            client_addr,
            "the bound port is used"
        );
        assert_eq!(peer, client_addr);
        assert!(
            server_side.nodelay().unwrap(),
            "accepted connections inherit TCP_NODELAY"
        );
        let stats = listener.stats().unwrap();
        assert_eq!(stats.accepted, 1);
        assert_eq!(stats.established, 1);
    })
    .await;
}

#[sockeye::test]
async fn connect_errors_for_bad_addresses() {
    guard(async {
        let v6 = TcpStream::connect("[::1]:80").await.unwrap_err();
        assert_eq!(v6.kind(), ErrorKind::InvalidInput);
        let port0 = TcpStream::connect("127.0.0.1:0").await.unwrap_err();
        assert_eq!(port0.kind(), ErrorKind::InvalidInput);
        let unroutable = TcpStream::connect("192.0.2.1:80").await.unwrap_err();
        assert_eq!(unroutable.kind(), ErrorKind::NetworkUnreachable);
    })
    .await;
}
