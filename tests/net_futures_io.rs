//! `TcpStream` through futures-io's `AsyncRead`/`AsyncWrite` (the `futures` ecosystem's traits).

mod net;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use net::{guard, pattern};
use sockeye::net::{TcpListener, TcpStream};

#[sockeye::test]
async fn futures_io_reads_writes_and_closes() {
    guard(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = sockeye::join!(TcpStream::connect(addr), listener.accept());
        let (mut client, server) = (client.unwrap(), accepted.unwrap().0);
        let data = pattern(200_000, 4);
        let sent = data.clone();
        let writer = sockeye::spawn(async move {
            // futures-io's write_all and close (a FIN).
            AsyncWriteExt::write_all(&mut client, &sent).await.unwrap();
            AsyncWriteExt::close(&mut client).await.unwrap();
            client
        });
        let (mut read_half, mut write_half) = server.into_split();
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut read_half, &mut got)
            .await
            .unwrap();
        assert!(got == data);
        AsyncWriteExt::write_all(&mut write_half, b"thanks")
            .await
            .unwrap();
        AsyncWriteExt::close(&mut write_half).await.unwrap();
        let mut client = writer.await.unwrap();
        let mut reply = String::new();
        AsyncReadExt::read_to_string(&mut client, &mut reply)
            .await
            .unwrap();
        assert_eq!(reply, "thanks");
    })
    .await;
}
