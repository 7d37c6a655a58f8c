//! Binding, connecting and accepting: every address form `bind` takes, addresses that agree on
//! both ends, fifty tasks waiting in `accept` on one listener, `ConnectionRefused`, and a dropped
//! listener resetting the connections it had not handed out.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::rc::Rc;

use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream};

use super::{Case, Side};

/// Every form of address `TcpListener::bind` takes (tokio's `ToSocketAddrs`) binds, with a port
/// of its own, and accepts a connection from the other side.
pub fn bind_forms() -> Case {
    Case::new(
        |mut side: Side| async move {
            let ip = side.ip;
            let mut listeners = vec![
                TcpListener::bind(format!("{ip}:0")).await.unwrap(),
                TcpListener::bind(format!("{ip}:0").as_str()).await.unwrap(),
                TcpListener::bind(SocketAddr::from((ip, 0))).await.unwrap(),
                TcpListener::bind(SocketAddrV4::new(ip, 0)).await.unwrap(),
                TcpListener::bind((ip, 0)).await.unwrap(),
                TcpListener::bind((IpAddr::V4(ip), 0)).await.unwrap(),
                TcpListener::bind((ip.to_string().as_str(), 0))
                    .await
                    .unwrap(),
                TcpListener::bind((ip.to_string(), 0)).await.unwrap(),
                TcpListener::bind(&[SocketAddr::from((ip, 0))][..])
                    .await
                    .unwrap(),
                TcpListener::bind("0.0.0.0:0").await.unwrap(),
            ];
            if side.on_loopback() {
                // A name that resolves to the stack's own address.
                let named = TcpListener::bind("localhost:0").await.unwrap();
                assert_eq!(named.local_addr().unwrap().ip(), IpAddr::V4(ip));
                listeners.push(named);
                listeners.push(TcpListener::bind(("localhost", 0)).await.unwrap());
            }
            let mut ports: Vec<u16> = listeners
                .iter()
                .map(|l| l.local_addr().unwrap().port())
                .collect();
            assert!(ports.iter().all(|&p| p != 0), "port 0 picks a port");
            side.send(ports.clone());
            ports.sort_unstable();
            ports.dedup();
            assert_eq!(ports.len(), listeners.len(), "a port for each listener");
            for listener in &listeners {
                let (_stream, peer) = listener.accept().await.unwrap();
                let client_local: SocketAddr = side.recv().await;
                assert_eq!(peer, client_local);
            }
            side.sync("all accepted").await;
        },
        |mut side: Side| async move {
            let ports: Vec<u16> = side.recv().await;
            let mut streams = Vec::new();
            for port in ports {
                let stream = TcpStream::connect((side.peer_ip, port)).await.unwrap();
                side.send(stream.local_addr().unwrap());
                streams.push(stream);
            }
            side.sync("all accepted").await;
        },
    )
}

/// The client's `local_addr` is the server's `peer_addr` (and what `accept` returned), and the
/// other way round.
pub fn addresses_agree() -> Case {
    Case::new(
        |mut side: Side| async move {
            let listener = TcpListener::bind(side.any_port()).await.unwrap();
            let addr = listener.local_addr().unwrap();
            side.send(addr);
            let (stream, peer) = listener.accept().await.unwrap();
            let (client_local, client_peer): (SocketAddr, SocketAddr) = side.recv().await;
            assert_eq!(stream.peer_addr().unwrap(), client_local);
            assert_eq!(peer, client_local);
            assert_eq!(stream.local_addr().unwrap(), client_peer);
            assert_eq!(client_peer, addr);
            side.sync("compared").await;
        },
        |mut side: Side| async move {
            let addr: SocketAddr = side.recv().await;
            let stream = TcpStream::connect(addr).await.unwrap();
            let local = stream.local_addr().unwrap();
            assert_eq!(local.ip(), IpAddr::V4(side.ip));
            assert_ne!(local.port(), 0);
            side.send((local, stream.peer_addr().unwrap()));
            side.sync("compared").await;
        },
    )
}

/// Fifty tasks wait in `accept` on one listener; fifty clients connect; each acceptor gets one
/// connection, and sees its client's address.
pub fn fifty_tasks_wait_in_accept() -> Case {
    const N: usize = 50;
    Case::new(
        |mut side: Side| async move {
            let listener = Rc::new(TcpListener::bind(side.any_port()).await.unwrap());
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
            // Every acceptor is waiting before the first connection can arrive.
            for _ in 0..4 {
                sockeye::task::yield_now().await;
            }
            side.send(listener.local_addr().unwrap());
            let mut peers = Vec::new();
            for a in acceptors {
                peers.push(a.await.unwrap());
            }
            let by_client: Vec<(u8, SocketAddr)> = side.recv().await;
            let mut who: Vec<u8> = by_client.iter().map(|(w, _)| *w).collect();
            who.sort_unstable();
            assert_eq!(
                who,
                (0..N as u8).collect::<Vec<_>>(),
                "each acceptor got one"
            );
            for (w, local) in &by_client {
                assert_eq!(peers[usize::from(*w)], *local, "acceptor {w}'s peer");
            }
            assert_eq!(listener.stats().unwrap().accepted, N as u64);
        },
        |mut side: Side| async move {
            let addr: SocketAddr = side.recv().await;
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
            side.send(by_client);
        },
    )
}

/// Connecting to a port nobody listens on is `ConnectionRefused` (the peer answers with a RST),
/// every time; both stacks count it.
pub fn connect_without_listener_is_refused() -> Case {
    Case::new(
        |mut side: Side| async move {
            // A port that was just free: bind, note it, close.
            let port = {
                let l = TcpListener::bind(side.any_port()).await.unwrap();
                l.local_addr().unwrap().port()
            };
            let rsts_before = counter("TcpOutRsts");
            side.send(port);
            side.sync("refused twice").await;
            assert!(counter("TcpOutRsts") >= rsts_before + 2, "a RST per SYN");
        },
        |mut side: Side| async move {
            let port: u16 = side.recv().await;
            let fails_before = counter("TcpAttemptFails");
            for _ in 0..2 {
                let err = TcpStream::connect((side.peer_ip, port)).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
            }
            assert!(counter("TcpAttemptFails") >= fails_before + 2);
            side.sync("refused twice").await;
        },
    )
}

/// Dropping a listener resets the connections still waiting in its accept queue.
pub fn dropped_listener_resets_queued_connections() -> Case {
    Case::new(
        |mut side: Side| async move {
            let listener = TcpListener::bind(side.any_port()).await.unwrap();
            side.send(listener.local_addr().unwrap());
            side.sync("connected").await;
            // The handshake's final ACK reaches this stack: the connection waits in the accept
            // queue, never accepted.
            super::wait_until(|| listener.stats().unwrap().established == 1).await;
            drop(listener);
            side.sync("dropped").await;
        },
        |mut side: Side| async move {
            let addr: SocketAddr = side.recv().await;
            let mut client = TcpStream::connect(addr).await.unwrap();
            side.sync("connected").await;
            side.sync("dropped").await;
            let mut buf = [0; 8];
            let err = client.read(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        },
    )
}

/// A counter of this side's stack, by its Linux name.
fn counter(name: &str) -> u64 {
    sockeye::stack::counters()
        .by_name(name)
        .unwrap_or_else(|| panic!("no counter {name}"))
}
