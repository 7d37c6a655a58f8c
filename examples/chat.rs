//! A chat server: tokio's chat example with the crate renamed to `sockeye` (plus the shared
//! network flags). Connect with `nc` or `telnet`, give a name, and every line you type goes to
//! everyone else connected.
//!
//! Each connection is read and written as lines (tokio-util's `Framed` with `LinesCodec`).
//! The shared state is a map from each client's address to the sending half of its channel,
//! behind a `Mutex`; a client's task waits (`select!`) on both its socket and its channel.
//!
//! ```text
//! cargo run --example chat -- --self-test      # no root, no setup
//! cargo run --example chat -- --nic tap:sk0 --ip 10.80.0.2/24 --port 6142
//! ```
//!
//! With `--self-test` three in-process clients join, talk and leave, each checking every line
//! it gets; then it prints the stack's counters and exits (0 when every line was right).
//! Otherwise it prints `listening on IP:PORT` and serves until SIGINT/SIGTERM.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use sockeye::net::{TcpListener, TcpStream};
use sockeye::sync::{Mutex, mpsc};
use tokio_util::codec::{Framed, LinesCodec};

use common::{BoxError, NetArgs, check};

/// tokio's chat server on sockeye's own TCP/IP stack.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    #[command(flatten)]
    net: NetArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(&args.net, |env| async move {
        let listener = TcpListener::bind(env.listen_addr(6142)).await?;
        let addr = listener.local_addr()?;
        if env.self_test {
            println!("listening on {addr}");
            let server = sockeye::spawn(serve(listener));
            let result = sockeye::time::timeout(Duration::from_secs(30), self_test(addr))
                .await
                .unwrap_or_else(|_| Err("the self-test got stuck for 30 s".into()));
            server.abort();
            common::print_stats();
            return result;
        }
        let signal = common::shutdown_signal();
        common::announce(
            addr,
            &env,
            &[format!(
                "try: nc {} {} (in two terminals)",
                addr.ip(),
                addr.port()
            )],
        );
        common::serve_until_signal(signal, serve(listener)).await
    })
}

/// The sending half of a client's channel.
type Tx = mpsc::UnboundedSender<String>;

/// The receiving half of a client's channel.
type Rx = mpsc::UnboundedReceiver<String>;

/// Everyone connected, by address.
struct Shared {
    peers: HashMap<SocketAddr, Tx>,
}

/// A connected client: its lines and its channel.
struct Peer {
    lines: Framed<TcpStream, LinesCodec>,
    rx: Rx,
}

impl Shared {
    fn new() -> Self {
        Shared {
            peers: HashMap::new(),
        }
    }

    /// Sends `message` to every peer but `sender`.
    fn broadcast(&mut self, sender: SocketAddr, message: &str) {
        for (addr, tx) in self.peers.iter() {
            if *addr != sender {
                let _ = tx.send(message.into());
            }
        }
    }
}

impl Peer {
    /// Registers a new peer in the shared state.
    async fn new(
        state: Arc<Mutex<Shared>>,
        lines: Framed<TcpStream, LinesCodec>,
    ) -> std::io::Result<Peer> {
        let addr = lines.get_ref().peer_addr()?;
        let (tx, rx) = mpsc::unbounded_channel();
        state.lock().await.peers.insert(addr, tx);
        Ok(Peer { lines, rx })
    }
}

/// Accepts clients, each handled by its own task.
async fn serve(listener: TcpListener) -> Result<(), BoxError> {
    let state = Arc::new(Mutex::new(Shared::new()));
    loop {
        let (stream, addr) = listener.accept().await?;
        let state = Arc::clone(&state);
        sockeye::spawn(async move {
            if let Err(e) = process(state, stream, addr).await {
                eprintln!("{addr}: {e}");
            }
        });
    }
}

/// One client: asks for a name, then relays lines both ways until it leaves.
async fn process(
    state: Arc<Mutex<Shared>>,
    stream: TcpStream,
    addr: SocketAddr,
) -> Result<(), BoxError> {
    let mut lines = Framed::new(stream, LinesCodec::new());
    lines.send("Please enter your username:").await?;
    let username = match lines.next().await {
        Some(Ok(line)) => line,
        // Gone before giving a name.
        _ => return Ok(()),
    };
    let mut peer = Peer::new(state.clone(), lines).await?;
    {
        let mut state = state.lock().await;
        let msg = format!("{username} has joined the chat");
        println!("{msg}");
        state.broadcast(addr, &msg);
    }
    loop {
        sockeye::select! {
            // A message for this client.
            Some(msg) = peer.rx.recv() => {
                peer.lines.send(&msg).await?;
            }
            // A line from this client.
            result = peer.lines.next() => match result {
                Some(Ok(msg)) => {
                    let msg = format!("{username}: {msg}");
                    state.lock().await.broadcast(addr, &msg);
                }
                Some(Err(e)) => {
                    eprintln!("{username}: {e}");
                }
                None => break,
            },
        }
    }
    {
        let mut state = state.lock().await;
        state.peers.remove(&addr);
        let msg = format!("{username} has left the chat");
        println!("{msg}");
        state.broadcast(addr, &msg);
    }
    Ok(())
}

/// A self-test client's connection.
type Lines = Framed<TcpStream, LinesCodec>;

/// Connects and gives `name`.
async fn join(addr: SocketAddr, name: &str) -> Result<Lines, BoxError> {
    let mut lines = Framed::new(TcpStream::connect(addr).await?, LinesCodec::new());
    expect(&mut lines, name, "Please enter your username:").await?;
    lines.send(name).await?;
    Ok(lines)
}

/// Reads `who`'s next line and checks it is `line`.
async fn expect(lines: &mut Lines, who: &str, line: &str) -> Result<(), BoxError> {
    let got = lines.next().await.transpose()?;
    check(
        got.as_deref() == Some(line),
        format!("{who} expected {line:?}, got {got:?}"),
    )?;
    println!("  {who} <- {line}");
    Ok(())
}

/// alice, bob and carol join one after the other, alice talks, carol leaves.
async fn self_test(addr: SocketAddr) -> Result<(), BoxError> {
    let mut alice = join(addr, "alice").await?;
    let mut bob = join(addr, "bob").await?;
    expect(&mut alice, "alice", "bob has joined the chat").await?;
    let mut carol = join(addr, "carol").await?;
    expect(&mut alice, "alice", "carol has joined the chat").await?;
    expect(&mut bob, "bob", "carol has joined the chat").await?;
    alice.send("hello, everyone").await?;
    expect(&mut bob, "bob", "alice: hello, everyone").await?;
    expect(&mut carol, "carol", "alice: hello, everyone").await?;
    carol.send("bye").await?;
    expect(&mut alice, "alice", "carol: bye").await?;
    expect(&mut bob, "bob", "carol: bye").await?;
    drop(carol);
    expect(&mut alice, "alice", "carol has left the chat").await?;
    expect(&mut bob, "bob", "carol has left the chat").await?;
    println!("self-test passed: every line reached everyone else; the stack's counters:");
    Ok(())
}
