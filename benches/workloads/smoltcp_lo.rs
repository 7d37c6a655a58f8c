//! The smoltcp contender: smoltcp's `Interface` with `127.0.0.1/8` over its `Loopback` device
//! (Ethernet medium, MTU 65,535, checksums not computed, as the device declares), two TCP sockets
//! in a `SocketSet`, everything polled in one single-threaded loop with the real clock. smoltcp
//! has no async runtime, so its workloads are plain functions doing what the generic ones in
//! [`super::tcp`] do, with the same totals:
//! - bulk: [`BULK_WRITE`]-byte `send_slice` calls on the client, `recv_slice` into a
//!   [`BULK_WRITE`]-byte buffer on the server;
//! - ping-pong: Nagle off on both sockets, [`PING_BYTES`] each way per round trip;
//! - connection rate: one connection at a time (a socket listens for one connection only); the
//!   client sends a byte, the server echoes it and closes first, the client reads it and the end
//!   of the stream, closes, and the pair is reused: the server's TIME_WAIT is cut short with
//!   `abort` and it listens again, the client connects from the next local port.
//!
//! Both sockets have [`SMOLTCP_BUFFER`]-byte send and receive buffers (smoltcp scales its window
//! to fit) and no delayed ACKs (`set_ack_delay(None)`: with both ends in one loop a delayed ACK
//! only stalls the sender). Many connections and HTTP are not run on smoltcp: its `poll` visits
//! every socket of the set, so thousands of sockets make every packet cost thousands of visits,
//! and there is no hyper integration.
//!
//! Every loop gives up with an error after [`STALL`] without progress, so a stuck connection
//! fails the run instead of spinning forever.

use std::io;
use std::time::{Duration, Instant};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Loopback, Medium};
use smoltcp::socket::tcp;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr};

use super::{BULK_BYTES, BULK_WRITE, PING_BYTES};

/// Send and receive buffer size of each smoltcp socket.
pub const SMOLTCP_BUFFER: usize = 256 * 1024;
/// How long a loop may go without progress before it fails.
pub const STALL: Duration = Duration::from_secs(10);

const SERVER_PORT: u16 = 5000;
const FIRST_CLIENT_PORT: u16 = 49152;

/// smoltcp's interface, device and sockets.
struct Lo {
    iface: Interface,
    device: Loopback,
    sockets: SocketSet<'static>,
    client: SocketHandle,
    server: SocketHandle,
    next_port: u16,
}

fn now() -> smoltcp::time::Instant {
    smoltcp::time::Instant::now()
}

impl Lo {
    /// An interface with a listening server socket and a closed client socket.
    fn new() -> io::Result<Lo> {
        let mut device = Loopback::new(Medium::Ethernet);
        let config = Config::new(EthernetAddress([0x02, 0, 0, 0, 0, 1]).into());
        let mut iface = Interface::new(config, &mut device, now());
        iface.update_ip_addrs(|addrs| {
            addrs
                .push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8))
                .expect("room for one address");
        });
        let mut sockets = SocketSet::new(Vec::new());
        let client = sockets.add(socket());
        let server = sockets.add(socket());
        let mut lo = Lo {
            iface,
            device,
            sockets,
            client,
            server,
            next_port: FIRST_CLIENT_PORT,
        };
        lo.listen()?;
        Ok(lo)
    }

    fn poll(&mut self) {
        self.iface.poll(now(), &mut self.device, &mut self.sockets);
    }

    fn client(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut(self.client)
    }

    fn server(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut(self.server)
    }

    fn listen(&mut self) -> io::Result<()> {
        self.server()
            .listen(SERVER_PORT)
            .map_err(|e| io::Error::other(format!("smoltcp listen: {e}")))
    }

    /// Starts a connection from the client socket to the server socket.
    fn connect(&mut self) -> io::Result<()> {
        let port = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(FIRST_CLIENT_PORT);
        let cx = self.iface.context();
        self.sockets
            .get_mut::<tcp::Socket>(self.client)
            .connect(cx, (IpAddress::v4(127, 0, 0, 1), SERVER_PORT), port)
            .map_err(|e| io::Error::other(format!("smoltcp connect: {e}")))
    }

    /// Connects and polls until both ends are established.
    fn establish(&mut self) -> io::Result<()> {
        self.connect()?;
        let mut watch = Watch::new("smoltcp handshake");
        while !(self.client().state() == tcp::State::Established
            && self.server().state() == tcp::State::Established)
        {
            self.poll();
            watch.check(false)?;
        }
        Ok(())
    }
}

fn socket() -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; SMOLTCP_BUFFER]),
        tcp::SocketBuffer::new(vec![0; SMOLTCP_BUFFER]),
    );
    socket.set_ack_delay(None);
    socket
}

/// Fails a loop that makes no progress for [`STALL`].
struct Watch {
    what: &'static str,
    last_progress: Instant,
    polls: u32,
}

impl Watch {
    fn new(what: &'static str) -> Watch {
        Watch {
            what,
            last_progress: Instant::now(),
            polls: 0,
        }
    }

    /// Notes one turn of the loop; reads the clock every 1,024 turns without progress.
    fn check(&mut self, progressed: bool) -> io::Result<()> {
        if progressed {
            self.polls = 0;
            return Ok(());
        }
        self.polls += 1;
        if self.polls % 1024 == 0 {
            if self.polls == 1024 {
                self.last_progress = Instant::now();
            } else if self.last_progress.elapsed() > STALL {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{}: no progress for {STALL:?}", self.what),
                ));
            }
        }
        Ok(())
    }
}

fn send_error(e: tcp::SendError) -> io::Error {
    io::Error::other(format!("smoltcp send: {e}"))
}

fn recv_error(e: tcp::RecvError) -> io::Error {
    io::Error::other(format!("smoltcp recv: {e}"))
}

/// `iters` × [`BULK_BYTES`] from the client to the server socket.
pub fn bulk(iters: u64) -> io::Result<Duration> {
    let mut lo = Lo::new()?;
    lo.establish()?;
    let total = iters * BULK_BYTES;
    let chunk = vec![0x5a; BULK_WRITE];
    let mut buf = vec![0; BULK_WRITE];
    let (mut sent, mut received) = (0, 0);
    let mut watch = Watch::new("smoltcp bulk");
    let start = Instant::now();
    while received < total {
        lo.poll();
        let mut progressed = false;
        let client = lo.client();
        while sent < total && client.can_send() {
            let n = (total - sent).min(BULK_WRITE as u64) as usize;
            let n = client.send_slice(&chunk[..n]).map_err(send_error)?;
            sent += n as u64;
            progressed |= n > 0;
        }
        let server = lo.server();
        while server.can_recv() {
            let n = server.recv_slice(&mut buf).map_err(recv_error)?;
            received += n as u64;
            progressed |= n > 0;
        }
        watch.check(progressed)?;
    }
    Ok(start.elapsed())
}

/// `iters` round trips of [`PING_BYTES`] with Nagle off on both sockets.
pub fn ping_pong(iters: u64) -> io::Result<Duration> {
    let mut lo = Lo::new()?;
    lo.client().set_nagle_enabled(false);
    lo.server().set_nagle_enabled(false);
    lo.establish()?;
    let request = [0xa5; PING_BYTES];
    let mut msg = [0; PING_BYTES];
    let mut watch = Watch::new("smoltcp ping-pong");
    let start = Instant::now();
    for _ in 0..iters {
        if lo.client().send_slice(&request).map_err(send_error)? != PING_BYTES {
            return Err(io::Error::other("smoltcp: no room for a 64-byte request"));
        }
        // The server echoes once the whole request is there.
        while lo.server().recv_queue() < PING_BYTES {
            lo.poll();
            watch.check(false)?;
        }
        lo.server().recv_slice(&mut msg).map_err(recv_error)?;
        lo.server().send_slice(&msg).map_err(send_error)?;
        while lo.client().recv_queue() < PING_BYTES {
            lo.poll();
            watch.check(false)?;
        }
        lo.client().recv_slice(&mut msg).map_err(recv_error)?;
        watch.check(true)?;
    }
    let elapsed = start.elapsed();
    if msg != request {
        return Err(io::Error::other("smoltcp: the echo changed the bytes"));
    }
    Ok(elapsed)
}

/// `iters` connections one after another, each carrying a one-byte echo and closed by the
/// server first.
pub fn connection_rate(iters: u64) -> io::Result<Duration> {
    let mut lo = Lo::new()?;
    let mut watch = Watch::new("smoltcp connection");
    let start = Instant::now();
    for _ in 0..iters {
        lo.connect()?;
        let (mut sent, mut echoed, mut client_closed) = (false, false, false);
        loop {
            lo.poll();
            let server = lo.server();
            if server.can_recv() {
                let mut byte = [0; 1];
                server.recv_slice(&mut byte).map_err(recv_error)?;
                server.send_slice(&byte).map_err(send_error)?;
                server.close();
            }
            let server_done = server.state() == tcp::State::TimeWait;
            let client = lo.client();
            if !sent && client.may_send() {
                sent = client.send_slice(&[7]).map_err(send_error)? == 1;
            }
            if client.can_recv() {
                let mut byte = [0; 1];
                echoed |= client.recv_slice(&mut byte).map_err(recv_error)? == 1 && byte[0] == 7;
            }
            if echoed && !client_closed && !client.may_recv() {
                client.close();
                client_closed = true;
            }
            if client_closed && client.state() == tcp::State::Closed && server_done {
                break;
            }
            watch.check(false)?;
        }
        // Cut the server's TIME_WAIT short and listen for the next connection.
        lo.server().abort();
        lo.listen()?;
        watch.check(true)?;
    }
    Ok(start.elapsed())
}
