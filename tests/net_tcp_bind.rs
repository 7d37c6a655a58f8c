//! `TcpListener::bind` and `TcpSocket`: every address form tokio accepts, the errors for taken,
//! foreign and IPv6 addresses, and the listener's stats.

mod net;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use net::guard;
use sockeye::net::{TcpListener, TcpSocket, TcpStream};

#[sockeye::test]
async fn every_address_form_binds() {
    guard(async {
        let local = Ipv4Addr::LOCALHOST;
        let forms: Vec<TcpListener> = vec![
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            TcpListener::bind("localhost:0").await.unwrap(),
            TcpListener::bind(String::from("127.0.0.1:0"))
                .await
                .unwrap(),
            TcpListener::bind(SocketAddr::from((local, 0)))
                .await
                .unwrap(),
            TcpListener::bind(SocketAddrV4::new(local, 0))
                .await
                .unwrap(),
            TcpListener::bind((local, 0)).await.unwrap(),
            TcpListener::bind((IpAddr::V4(local), 0)).await.unwrap(),
            TcpListener::bind(("127.0.0.1", 0)).await.unwrap(),
            TcpListener::bind(("localhost", 0)).await.unwrap(),
            TcpListener::bind(&[SocketAddr::from((local, 0))][..])
                .await
                .unwrap(),
            TcpListener::bind("0.0.0.0:0").await.unwrap(),
        ];
        let mut ports = Vec::new();
        for l in &forms {
            let addr = l.local_addr().unwrap();
            assert_ne!(addr.port(), 0, "port 0 picks a port");
            ports.push(addr.port());
        }
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), forms.len(), "every listener has its own port");
        assert_eq!(
            forms[1].local_addr().unwrap().ip(),
            IpAddr::V4(local),
            "localhost resolves to the loopback's IPv4 address"
        );
        // Each listener accepts.
        for l in &forms[..3] {
            let addr = l.local_addr().unwrap();
            let target = SocketAddr::from((local, addr.port()));
            let (client, accepted) = sockeye::join!(TcpStream::connect(target), l.accept());
            assert_eq!(client.unwrap().local_addr().unwrap(), accepted.unwrap().1);
        }
    })
    .await;
}

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
