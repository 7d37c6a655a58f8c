//! An echo server and its clients in one runtime moving 10 MB, every byte checked.

mod net;

use net::{guard, pattern};
use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream};

#[sockeye::test]
async fn echo_ten_megabytes() {
    guard(async {
        const LEN: usize = 10 << 20;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = sockeye::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 32 * 1024];
            let mut echoed = 0;
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.unwrap();
                echoed += n;
            }
            stream.shutdown().await.unwrap();
            echoed
        });
        let data = pattern(LEN, 3);
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = stream.into_split();
        let sent = data.clone();
        let writer = sockeye::spawn(async move {
            // Uneven chunks, so segment and buffer boundaries move around.
            let mut off = 0;
            let mut step = 1;
            while off < sent.len() {
                let end = (off + step).min(sent.len());
                w.write_all(&sent[off..end]).await.unwrap();
                off = end;
                step = step * 7 % 65_521 + 1;
            }
            w.shutdown().await.unwrap();
        });
        let mut got = Vec::with_capacity(LEN);
        r.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(server.await.unwrap(), LEN);
        assert_eq!(got.len(), LEN);
        let first_difference = got.iter().zip(&data).position(|(a, b)| a != b);
        assert_eq!(first_difference, None, "the echoed bytes match");
    })
    .await;
}

#[sockeye::test]
async fn many_echo_clients_at_once() {
    guard(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        sockeye::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                sockeye::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    sockeye::io::copy(&mut r, &mut w).await.unwrap();
                    w.shutdown().await.unwrap();
                });
            }
        });
        let mut clients = Vec::new();
        for i in 0..20u8 {
            clients.push(sockeye::spawn(async move {
                let data = pattern(50_000 + usize::from(i) * 1000, i);
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let (mut r, mut w) = stream.split();
                let (_, got) = sockeye::join!(
                    async {
                        w.write_all(&data).await.unwrap();
                        w.shutdown().await.unwrap();
                    },
                    async {
                        let mut got = Vec::new();
                        r.read_to_end(&mut got).await.unwrap();
                        got
                    }
                );
                got == data
            }));
        }
        for c in clients {
            assert!(c.await.unwrap());
        }
    })
    .await;
}

/// 64 connects started at once on a fresh runtime, before the stack has resolved its own address:
/// every SYN waits in the ARP queue (Linux's `unres_qlen`, 101) instead of being dropped and
/// retransmitted a second later.
#[sockeye::test]
async fn a_burst_of_connects_at_start_up_loses_no_syn() {
    guard(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..64)
            .map(|_| sockeye::spawn(async move { TcpStream::connect(addr).await.unwrap() }))
            .collect();
        let mut accepted = Vec::new();
        for _ in 0..64 {
            accepted.push(listener.accept().await.unwrap());
        }
        for c in clients {
            c.await.unwrap();
        }
        let counters = sockeye::stack::counters();
        assert_eq!(counters.by_name("DevArpDrops"), Some(0));
        assert_eq!(counters.by_name("TcpExtTCPSynRetrans"), Some(0));
        assert_eq!(counters.by_name("TcpActiveOpens"), Some(64));
    })
    .await;
}
