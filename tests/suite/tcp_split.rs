//! `into_split`: owned halves in different tasks, `reunite` (and its refusal for halves of
//! different streams), and the FIN sent when the write half is dropped while reading goes on.

use std::net::SocketAddr;

use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream};

use super::tcp_io::{accept_one, connect_to_peer};
use super::{Case, Side};

/// The halves move into two tasks, work, come back and reunite into a stream that still writes
/// (reuniting does not shut writing down).
pub fn into_split_and_reunite() -> Case {
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
            stream.write_all(b"pong").await.unwrap();
            let mut again = [0; 5];
            stream.read_exact(&mut again).await.unwrap();
            assert_eq!(&again, b"again");
            stream.write_all(b"bye").await.unwrap();
            stream.shutdown().await.unwrap();
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        },
        |mut side: Side| async move {
            let stream = connect_to_peer(&mut side).await;
            let local = stream.local_addr().unwrap();
            let (mut read_half, mut write_half) = stream.into_split();
            assert_eq!(read_half.local_addr().unwrap(), local);
            assert_eq!(
                write_half.peer_addr().unwrap(),
                read_half.peer_addr().unwrap()
            );
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
            let (read_half, write_half) = (reader.await.unwrap(), writer.await.unwrap());
            let mut stream = read_half.reunite(write_half).unwrap();
            assert_eq!(stream.local_addr().unwrap(), local);
            stream.write_all(b"again").await.unwrap();
            let mut bye = Vec::new();
            stream.read_to_end(&mut bye).await.unwrap();
            assert_eq!(bye, b"bye");
            stream.shutdown().await.unwrap();
        },
    )
}

/// Halves of two different streams do not reunite: the error gives both back, and each then
/// reunites with its own partner.
pub fn mismatched_halves_do_not_reunite() -> Case {
    Case::new(
        |side: Side| async move {
            let listener = TcpListener::bind(side.any_port()).await.unwrap();
            side.send(listener.local_addr().unwrap());
            let mut accepted = Vec::new();
            for _ in 0..2 {
                accepted.push(listener.accept().await.unwrap().0);
            }
            for mut stream in accepted {
                let mut tag = [0; 1];
                stream.read_exact(&mut tag).await.unwrap();
                stream.write_all(&tag).await.unwrap();
                let mut rest = Vec::new();
                stream.read_to_end(&mut rest).await.unwrap();
                assert!(rest.is_empty());
            }
        },
        |mut side: Side| async move {
            let addr: SocketAddr = side.recv().await;
            let a = TcpStream::connect(addr).await.unwrap();
            let b = TcpStream::connect(addr).await.unwrap();
            let (a_read, a_write) = a.into_split();
            let (b_read, b_write) = b.into_split();
            let err = a_read.reunite(b_write).unwrap_err();
            assert!(
                err.to_string().contains("not from the same socket"),
                "{err}"
            );
            let (a_read, b_write) = (err.0, err.1);
            let err = b_read.reunite(a_write).unwrap_err();
            let (b_read, a_write) = (err.0, err.1);
            // Refused reunions shut nothing down: both streams still work both ways.
            for (tag, mut stream) in [
                (b'a', a_read.reunite(a_write).unwrap()),
                (b'b', b_read.reunite(b_write).unwrap()),
            ] {
                stream.write_all(&[tag]).await.unwrap();
                let mut back = [0; 1];
                stream.read_exact(&mut back).await.unwrap();
                assert_eq!(back[0], tag);
                stream.shutdown().await.unwrap();
            }
        },
    )
}

/// Dropping the owned write half sends a FIN (the server reads the request to its end) while
/// the read half goes on reading the answer.
pub fn dropping_the_write_half_sends_fin() -> Case {
    Case::new(
        |mut side: Side| async move {
            let mut stream = accept_one(&mut side).await;
            let mut request = Vec::new();
            stream.read_to_end(&mut request).await.unwrap();
            assert_eq!(request, b"request");
            stream.write_all(b"response").await.unwrap();
            stream.shutdown().await.unwrap();
        },
        |mut side: Side| async move {
            let stream = connect_to_peer(&mut side).await;
            let (mut read_half, mut write_half) = stream.into_split();
            write_half.write_all(b"request").await.unwrap();
            drop(write_half);
            let mut answer = Vec::new();
            read_half.read_to_end(&mut answer).await.unwrap();
            assert_eq!(answer, b"response");
            let mut buf = [0; 1];
            assert_eq!(
                read_half.try_read(&mut buf).unwrap(),
                0,
                "end of stream stays"
            );
        },
    )
}
