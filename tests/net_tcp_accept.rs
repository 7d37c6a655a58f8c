//! Connecting and accepting: addresses on both ends agree, many tasks can wait in `accept` on one
//! listener, and connecting to a closed port is refused.

mod net;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::rc::Rc;

use net::guard;
use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream};

#[sockeye::test]
async fn client_and_server_agree_on_addresses() {
    guard(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = sockeye::join!(TcpStream::connect(addr), listener.accept());
        let client = client.unwrap();
        let (server, peer) = accepted.unwrap();
        assert_eq!(client.local_addr().unwrap(), server.peer_addr().unwrap());
        assert_eq!(client.local_addr().unwrap(), peer);
        assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
        assert_eq!(client.peer_addr().unwrap(), addr);
        assert_ne!(client.local_addr().unwrap().port(), addr.port());
    })
    .await;
}

#[sockeye::test]
async fn fifty_tasks_waiting_in_accept_all_get_a_connection() {
    guard(async {
        const N: usize = 50;
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let mut acceptors = Vec::new();
        for i in 0..N {
            let listener = listener.clone();
            acceptors.push(sockeye::spawn(async move {
                let (mut stream, peer) = listener.accept().await.unwrap();
                // Tell the client which acceptor took it.
                stream.write_all(&[i as u8]).await.unwrap();
                let mut byte = [0];
                assert_eq!(stream.read(&mut byte).await.unwrap(), 0, "client closed");
                peer
            }));
        }
        // Let every acceptor reach `accept` before the first connection arrives.
        for _ in 0..4 {
            sockeye::task::yield_now().await;
        }
        let mut clients = Vec::new();
        for _ in 0..N {
            clients.push(sockeye::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let mut who = [0];
                stream.read_exact(&mut who).await.unwrap();
                (who[0], stream.local_addr().unwrap())
            }));
        }
        let mut by_client = Vec::new();
        for c in clients {
            by_client.push(c.await.unwrap());
        }
        let mut peers: Vec<SocketAddr> = Vec::new();
        for a in acceptors {
            peers.push(a.await.unwrap());
        }
        let mut who: Vec<u8> = by_client.iter().map(|(w, _)| *w).collect();
        who.sort_unstable();
        assert_eq!(
            who,
            (0..N as u8).collect::<Vec<_>>(),
            "each acceptor got one"
        );
        for (w, local) in &by_client {
            assert_eq!(
                peers[*w as usize], *local,
                "acceptor {w} saw its client's address"
            );
        }
        let stats = listener.stats().unwrap();
        assert_eq!(stats.accepted, N as u64);
    })
    .await;
}

#[sockeye::test]
async fn connecting_to_a_closed_port_is_refused() {
    guard(async {
        // A port that was just free: bind, note it, close.
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap().port()
        };
        let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        // Refused again, and the stack counted the attempts that failed.
        let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let counters = sockeye::stack::counters();
        assert!(
            counters.by_name("TcpAttemptFails").unwrap() >= 2,
            "{counters}"
        );
        assert!(counters.by_name("TcpOutRsts").unwrap() >= 2, "{counters}");
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

#[sockeye::test]
async fn a_dropped_listener_resets_connections_not_yet_accepted() {
    guard(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        drop(listener);
        let mut buf = [0; 8];
        let err = client.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    })
    .await;
}
