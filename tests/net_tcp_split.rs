//! `split` and `into_split`: halves used at once, `reunite`, and the FIN sent when the owned
//! write half is dropped while the read half goes on reading.

mod net;

use std::io::ErrorKind;

use net::guard;
use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream};

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = sockeye::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

#[sockeye::test]
async fn borrowed_halves_work_at_once() {
    guard(async {
        let (mut client, mut server) = pair().await;
        let echo = sockeye::spawn(async move {
            let (mut r, mut w) = server.split();
            let copied = sockeye::io::copy(&mut r, &mut w).await.unwrap();
            w.shutdown().await.unwrap();
            copied
        });
        let (mut r, mut w) = client.split();
        let data = net::pattern(300_000, 9);
        let (written, read) = sockeye::join!(
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
        let () = written;
        assert!(read == data);
        assert_eq!(echo.await.unwrap(), data.len() as u64);
        assert_eq!(r.peer_addr().unwrap(), w.peer_addr().unwrap());
    })
    .await;
}

#[sockeye::test]
async fn dropping_the_owned_write_half_sends_fin_while_reading_goes_on() {
    guard(async {
        let (client, mut server) = pair().await;
        let (mut read_half, mut write_half) = client.into_split();
        write_half.write_all(b"request").await.unwrap();
        drop(write_half);
        // The server sees the request and then end of stream...
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"request");
        // ...and can still answer: the client's read half is open.
        server.write_all(b"response").await.unwrap();
        server.shutdown().await.unwrap();
        let mut answer = Vec::new();
        read_half.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"response");
    })
    .await;
}

#[sockeye::test]
async fn owned_halves_move_into_tasks_and_reunite() {
    guard(async {
        let (client, mut server) = pair().await;
        let (mut read_half, mut write_half) = client.into_split();
        let writer = sockeye::spawn(async move {
            write_half.write_all(b"ping").await.unwrap();
            write_half
        });
        let reader = sockeye::spawn(async move {
            let mut buf = [0; 4];
            read_half.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"pong");
            read_half
        });
        let mut buf = [0; 4];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        server.write_all(b"pong").await.unwrap();
        let (read_half, write_half) = (reader.await.unwrap(), writer.await.unwrap());
        let mut client = read_half.reunite(write_half).unwrap();
        // Reuniting did not shut writing down.
        client.write_all(b"again").await.unwrap();
        let mut again = [0; 5];
        server.read_exact(&mut again).await.unwrap();
        assert_eq!(&again, b"again");
        assert_eq!(
            server.try_read(&mut again).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    })
    .await;
}

#[sockeye::test]
async fn halves_of_different_streams_do_not_reunite() {
    guard(async {
        let (a, _a_server) = pair().await;
        let (b, _b_server) = pair().await;
        let (a_read, a_write) = a.into_split();
        let (b_read, b_write) = b.into_split();
        let err = a_read.reunite(b_write).unwrap_err();
        let (a_read, b_write) = (err.0, err.1);
        assert!(a_read.reunite(a_write).is_ok());
        assert!(b_read.reunite(b_write).is_ok());
    })
    .await;
}
