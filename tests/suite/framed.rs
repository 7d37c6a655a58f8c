//! tokio-util's codecs over a sockeye `TcpStream`: `Framed<TcpStream, LinesCodec>` both ways.

use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{Framed, LinesCodec};

use super::tcp_io::{accept_one, connect_to_peer};
use super::{Case, Side};

/// The lines the client sends: empty ones, long ones, and ones that are not ASCII.
fn lines() -> Vec<String> {
    (0..200)
        .map(|i| match i % 4 {
            0 => String::new(),
            1 => format!("line {i}"),
            2 => "ß→✓ ".repeat(i),
            _ => "x".repeat(i * 37),
        })
        .collect()
}

/// The server answers each line with its number and the line reversed; the client checks every
/// answer, then closes its sink (a FIN), which ends the server's stream of lines.
pub fn lines_codec_round_trip() -> Case {
    Case::new(
        |mut side: Side| async move {
            let stream = accept_one(&mut side).await;
            let mut framed = Framed::new(stream, LinesCodec::new());
            let mut count = 0;
            while let Some(line) = framed.next().await {
                let line = line.unwrap();
                let reversed: String = line.chars().rev().collect();
                framed.send(format!("{count}:{reversed}")).await.unwrap();
                count += 1;
            }
            assert_eq!(count, lines().len());
            SinkExt::<String>::close(&mut framed).await.unwrap();
        },
        |mut side: Side| async move {
            let stream = connect_to_peer(&mut side).await;
            let (mut sink, mut answers) = Framed::new(stream, LinesCodec::new()).split();
            let sent = lines();
            let sending = async {
                for line in &sent {
                    sink.feed(line.clone()).await.unwrap();
                }
                SinkExt::<String>::flush(&mut sink).await.unwrap();
                SinkExt::<String>::close(&mut sink).await.unwrap();
            };
            let receiving = async {
                for (i, line) in sent.iter().enumerate() {
                    let answer = answers.next().await.expect("an answer").unwrap();
                    let reversed: String = line.chars().rev().collect();
                    assert_eq!(answer, format!("{i}:{reversed}"));
                }
                assert!(answers.next().await.is_none(), "the server closed");
            };
            sockeye::join!(sending, receiving);
        },
    )
}
