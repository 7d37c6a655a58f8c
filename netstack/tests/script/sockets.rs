//! The application side of a script: socket calls on the stack under test (listen, accept,
//! connect, write, read, shutdown, close, options) with the bookkeeping the checks need, and
//! whole passive and active handshakes.

use core::net::SocketAddrV4;
use std::io;
use std::net::Shutdown;
use std::task::{Context, Poll, Waker};

use sockeye_netstack::{SocketHandle, TcpInfo, TcpState};

use super::spec::{PeerOpts, seg};
use super::{LISTEN_PORT, PEER_IP, Read, STACK_IP, Script, app_byte};

impl Script {
    /// A listener on `port` (backlog 128); the flow's stack port becomes `port`.
    pub fn listen(&mut self, port: u16) -> SocketHandle {
        self.stack_port = Some(port);
        self.stack
            .tcp_listener(SocketAddrV4::new(STACK_IP, port), 128)
            .expect("listen")
    }

    /// The next connection from `listener`'s accept queue.
    pub fn accept(&mut self, listener: SocketHandle) -> Option<SocketHandle> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.stack.tcp_poll_accept(listener, &mut cx) {
            Poll::Ready(Ok((h, peer))) => {
                assert_eq!(peer, SocketAddrV4::new(PEER_IP, self.peer_port));
                Some(h)
            }
            Poll::Ready(Err(e)) => panic!("accept failed: {e}"),
            Poll::Pending => None,
        }
    }

    /// Connects to the peer at `at_ms` (the SYN leaves at once).
    pub fn connect(&mut self, at_ms: u64) -> SocketHandle {
        self.run_until(at_ms);
        self.stack_port = None;
        let h = self
            .stack
            .tcp_connect_to(self.now, SocketAddrV4::new(PEER_IP, self.peer_port))
            .expect("connect");
        self.flush();
        h
    }

    /// Where the connect stands.
    pub fn connect_status(&mut self, h: SocketHandle) -> Poll<io::Result<()>> {
        let mut cx = Context::from_waker(Waker::noop());
        self.stack.tcp_poll_connect(h, &mut cx)
    }

    /// Writes `n` bytes of the application's stream; returns how many the stack took.
    pub fn write(&mut self, h: SocketHandle, n: usize) -> usize {
        let start = self.app_stream.len() as u64;
        let data: Vec<u8> = (0..n as u64).map(|i| app_byte(start + i)).collect();
        let mut cx = Context::from_waker(Waker::noop());
        let taken = match self.stack.tcp_poll_write(h, &mut cx, &data) {
            Poll::Ready(Ok(taken)) => taken,
            Poll::Ready(Err(e)) => panic!("write failed: {e}"),
            Poll::Pending => 0,
        };
        self.app_stream.extend_from_slice(&data[..taken]);
        self.flush();
        taken
    }

    /// A write that is expected to fail; returns the error.
    pub fn write_err(&mut self, h: SocketHandle) -> io::ErrorKind {
        let mut cx = Context::from_waker(Waker::noop());
        match self.stack.tcp_poll_write(h, &mut cx, b"x") {
            Poll::Ready(Err(e)) => e.kind(),
            other => panic!("expected the write to fail, got {other:?}"),
        }
    }

    /// The application's bytes at relative sequence numbers `rel_seq..rel_seq + len`.
    pub fn app_data(&self, rel_seq: u32, len: usize) -> Vec<u8> {
        let start = rel_seq as usize - 1;
        self.app_stream[start..start + len].to_vec()
    }

    /// Reads everything readable.
    pub fn read(&mut self, h: SocketHandle) -> Read {
        let mut cx = Context::from_waker(Waker::noop());
        let mut data = Vec::new();
        let mut buf = vec![0u8; 65536];
        let result = loop {
            match self.stack.tcp_poll_read(h, &mut cx, &mut buf) {
                Poll::Ready(Ok(0)) => break Read::Eof,
                Poll::Ready(Ok(n)) => data.extend_from_slice(&buf[..n]),
                Poll::Ready(Err(e)) => break Read::Error(e.kind()),
                Poll::Pending => break Read::Pending,
            }
        };
        self.flush();
        if data.is_empty() {
            result
        } else {
            Read::Data(data)
        }
    }

    /// Shuts down writing (queues the FIN).
    pub fn shutdown(&mut self, h: SocketHandle) {
        self.stack
            .tcp_shutdown(h, Shutdown::Write)
            .expect("shutdown");
        self.flush();
    }

    /// The usual active close of an established connection that has exchanged nothing: at 10 ms
    /// the user shuts writing down, our FIN leaves, the peer's FIN-ACK comes at 20 ms and our
    /// ACK of it leaves: `h` is in TIME_WAIT, its user handle still open.
    pub fn shutdown_into_time_wait(&mut self, h: SocketHandle) {
        self.run_until(10);
        self.shutdown(h);
        self.expect(seg("F.").seq(1).ack(1));
        self.inject(20, seg("F.").seq(1).ack(2));
        self.expect(seg(".").seq(2).ack(2));
    }

    /// Closes the handle.
    pub fn close(&mut self, h: SocketHandle) {
        self.stack.tcp_close(self.now, h);
        self.flush();
    }

    /// Aborts the connection (SO_LINGER 0).
    pub fn abort(&mut self, h: SocketHandle) {
        self.stack.tcp_abort(self.now, h);
        self.flush();
    }

    /// Sets TCP_NODELAY.
    pub fn set_nodelay(&mut self, h: SocketHandle, on: bool) {
        self.stack.tcp_set_nodelay(h, on).expect("nodelay");
        self.flush();
    }

    /// The connection's state.
    pub fn state(&mut self, h: SocketHandle) -> TcpState {
        self.stack.tcp_state(h).expect("a live handle")
    }

    /// The connection's internals.
    pub fn info(&mut self, h: SocketHandle) -> TcpInfo {
        self.stack.tcp_info(h).expect("a live handle")
    }

    // ---------------------------------------------------------------- whole handshakes

    /// Passive open at the current time: a listener on [`LISTEN_PORT`], the peer's SYN with
    /// `opts`, the SYN-ACK, the final ACK, and accept. Returns (listener, connection).
    #[track_caller]
    pub fn passive_open(&mut self, opts: PeerOpts) -> (SocketHandle, SocketHandle) {
        let listener = self.listen(LISTEN_PORT);
        self.inject_now(seg("S").seq(0).win(65535).with_opts(opts));
        self.expect(seg("S.").seq(0).ack(1));
        self.inject_now(seg(".").seq(1).ack(1));
        let conn = self.accept(listener).expect("the connection is accepted");
        assert_eq!(self.state(conn), TcpState::Established);
        self.expect_nothing();
        (listener, conn)
    }

    /// Active open at the current time: connect, the SYN, the peer's SYN-ACK with `opts`, the
    /// ACK. Returns the connection.
    #[track_caller]
    pub fn active_open(&mut self, opts: PeerOpts) -> SocketHandle {
        let now = self.now_ms();
        let conn = self.connect(now);
        self.expect(seg("S").seq(0));
        self.inject_now(seg("S.").seq(0).ack(1).win(65535).with_opts(opts));
        self.expect(seg(".").seq(1).ack(1));
        assert!(matches!(self.connect_status(conn), Poll::Ready(Ok(()))));
        self.expect_nothing();
        conn
    }
}
