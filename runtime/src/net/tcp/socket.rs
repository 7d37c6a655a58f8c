//! [`TcpSocket`]: a TCP socket configured before it connects or listens, like tokio's (and
//! `socket(2)` + `setsockopt` + `bind`).

use std::cell::Cell;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use sockeye_netstack::SocketHandle;

use super::{TcpListener, TcpStream};
use crate::driver::NetDriver;
use crate::net::addr::v4;
use crate::net::current_driver;

/// A TCP socket that has not connected or listened yet.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use sockeye_runtime::net::TcpSocket;
///
/// let socket = TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.bind("127.0.0.1:8080".parse().unwrap())?;
/// let listener = socket.listen(128)?;
/// # drop(listener); Ok(()) }
/// ```
pub struct TcpSocket {
    /// `None` once the socket became a listener or a stream.
    driver: Option<Rc<NetDriver>>,
    handle: SocketHandle,
    reuseaddr: Cell<bool>,
    keepalive: Cell<bool>,
    send_buffer: Cell<Option<usize>>,
    recv_buffer: Cell<Option<usize>>,
}

impl TcpSocket {
    /// Takes the pending error (`SO_ERROR`, tokio's `take_error`); an unconnected socket has
    /// none.
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.driver()
            .with_stack(|s, _| s.tcp_take_error(self.handle))
    }

    /// A new IPv4 TCP socket.
    ///
    /// # Errors
    /// None today; the `Result` is tokio's signature.
    ///
    /// # Panics
    /// Outside a sockeye runtime.
    pub fn new_v4() -> io::Result<TcpSocket> {
        let driver = current_driver();
        let handle = driver.with_stack(|s, _| s.tcp_socket());
        Ok(TcpSocket {
            driver: Some(driver),
            handle,
            reuseaddr: Cell::new(false),
            keepalive: Cell::new(false),
            send_buffer: Cell::new(None),
            recv_buffer: Cell::new(None),
        })
    }

    /// IPv6 sockets do not exist: the stack speaks IPv4 only.
    ///
    /// # Errors
    /// Always `Unsupported`.
    pub fn new_v6() -> io::Result<TcpSocket> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "sockeye's stack speaks IPv4 only",
        ))
    }

    fn driver(&self) -> &Rc<NetDriver> {
        self.driver
            .as_ref()
            .expect("a TcpSocket is consumed by listen or connect")
    }

    /// Sets `SO_REUSEADDR` (before `bind`): binding a port that connections in TIME_WAIT (or
    /// other sockets with the option) still use.
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.driver()
            .with_stack(|s, _| s.tcp_set_reuseaddr(self.handle, reuseaddr))?;
        self.reuseaddr.set(reuseaddr);
        Ok(())
    }

    /// `SO_REUSEADDR` as last set.
    ///
    /// # Errors
    /// None today; the `Result` is tokio's signature.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        Ok(self.reuseaddr.get())
    }

    /// Sets `SO_KEEPALIVE`: probes per the `tcp_keepalive_*` sysctls once the connection is idle.
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.driver()
            .with_stack(|s, _| s.tcp_set_keepalive(self.handle, keepalive))?;
        self.keepalive.set(keepalive);
        Ok(())
    }

    /// `SO_KEEPALIVE` as last set.
    ///
    /// # Errors
    /// None today; the `Result` is tokio's signature.
    pub fn keepalive(&self) -> io::Result<bool> {
        Ok(self.keepalive.get())
    }

    /// Sets `TCP_NODELAY` for the connection to come (a listener passes it to the connections
    /// it accepts).
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.driver()
            .with_stack(|s, _| s.tcp_set_nodelay(self.handle, nodelay))
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.driver().with_stack(|s, _| s.tcp_nodelay(self.handle))
    }

    /// Sets `TCP_NOTSENT_LOWAT` for the connection to come (a listener passes it to the
    /// connections it accepts): see [`TcpStream::set_notsent_lowat`](super::TcpStream::set_notsent_lowat).
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn set_notsent_lowat(&self, bytes: u32) -> io::Result<()> {
        self.driver()
            .with_stack(|s, _| s.tcp_set_notsent_lowat(self.handle, bytes))
    }

    /// The `TCP_NOTSENT_LOWAT` mark in force, in bytes.
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn notsent_lowat(&self) -> io::Result<u32> {
        self.driver()
            .with_stack(|s, _| s.tcp_notsent_lowat(self.handle))
    }

    /// Sets the send buffer size (`SO_SNDBUF`), at least `tcp_wmem`'s minimum. Unlike Linux,
    /// the size is not doubled: it is the bytes the buffer holds.
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        let size = size as usize;
        self.driver()
            .with_stack(|s, _| s.tcp_set_send_buffer_size(self.handle, size))?;
        self.send_buffer.set(Some(size));
        Ok(())
    }

    /// The send buffer size: as set, raised to `tcp_wmem`'s minimum, or `tcp_wmem`'s default.
    ///
    /// # Errors
    /// None today; the `Result` is tokio's signature.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        let wmem = self.driver().with_stack(|s, _| s.config().tcp_wmem);
        let size = self.send_buffer.get().map_or(wmem[1], |v| v.max(wmem[0]));
        Ok(u32::try_from(size).unwrap_or(u32::MAX))
    }

    /// Sets the receive buffer size (`SO_RCVBUF`), at least `tcp_rmem`'s minimum; the window
    /// scale is chosen from it, so set it before connecting or listening.
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        let size = size as usize;
        self.driver()
            .with_stack(|s, _| s.tcp_set_recv_buffer_size(self.handle, size))?;
        self.recv_buffer.set(Some(size));
        Ok(())
    }

    /// The receive buffer size: as set, raised to `tcp_rmem`'s minimum, or `tcp_rmem`'s
    /// default.
    ///
    /// # Errors
    /// None today; the `Result` is tokio's signature.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        let rmem = self.driver().with_stack(|s, _| s.config().tcp_rmem);
        let size = self.recv_buffer.get().map_or(rmem[1], |v| v.max(rmem[0]));
        Ok(u32::try_from(size).unwrap_or(u32::MAX))
    }

    /// Binds to `addr`; port 0 picks a free ephemeral port.
    ///
    /// # Errors
    /// `AddrInUse` when the address is taken (see [`TcpSocket::set_reuseaddr`]),
    /// `AddrNotAvailable` for an address that is not the stack's, `InvalidInput` when already
    /// bound or for an IPv6 address.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        let local = v4(addr)?;
        self.driver()
            .with_stack(|s, _| s.tcp_bind(self.handle, local))
    }

    /// The bound address (`0.0.0.0:0` before `bind`).
    ///
    /// # Errors
    /// `NotConnected` if the socket is gone.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.driver()
            .with_stack(|s, _| s.tcp_local_addr(self.handle))
            .map(SocketAddr::V4)
    }

    /// Starts listening with an accept queue of `backlog` connections (clamped to the
    /// `somaxconn` sysctl); an unbound socket gets an ephemeral port.
    ///
    /// # Errors
    /// `AddrInUse` when another socket listens on the address.
    pub fn listen(mut self, backlog: u32) -> io::Result<TcpListener> {
        let driver = self.driver.take().expect("not consumed yet");
        match driver.with_stack(|s, _| s.tcp_listen(self.handle, backlog)) {
            Ok(()) => Ok(TcpListener::from_handle(driver, self.handle)),
            Err(e) => {
                self.driver = Some(driver);
                Err(e)
            }
        }
    }

    /// Connects to `addr` and completes once the handshake has; an unbound socket gets the
    /// outgoing interface's address and an ephemeral port.
    ///
    /// # Errors
    /// As `TcpStream::connect`.
    pub async fn connect(mut self, addr: SocketAddr) -> io::Result<TcpStream> {
        let remote = v4(addr)?;
        let driver = self.driver.take().expect("not consumed yet");
        let handle = self.handle;
        if let Err(e) = driver.with_stack(|s, now| s.tcp_connect(now, handle, remote)) {
            self.driver = Some(driver);
            return Err(e);
        }
        TcpStream::finish_connect(driver, handle).await
    }
}

impl Drop for TcpSocket {
    fn drop(&mut self) {
        if let Some(driver) = &self.driver {
            if let Ok(mut stack) = driver.stack.try_borrow_mut() {
                let now = driver.now();
                stack.tcp_close(now, self.handle);
            }
        }
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("local", &self.driver.as_ref().and(self.local_addr().ok()))
            .finish()
    }
}
