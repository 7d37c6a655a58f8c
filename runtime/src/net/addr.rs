//! [`ToSocketAddrs`]: what `bind`, `connect` and `send_to` accept, the same forms as tokio's
//! trait of that name: a `SocketAddr` (or V4/V6), `(IpAddr, u16)`, `(Ipv4Addr, u16)`,
//! `(&str, u16)`, `(String, u16)`, `"host:port"` as `&str` or `String`, and slices of
//! `SocketAddr`. Host names are looked up with the system resolver on a blocking thread
//! (`spawn_blocking`), as tokio does; literal addresses never leave the calling task.
//!
//! The stack speaks IPv4 only: IPv6 results are skipped, and an input with no IPv4 address at
//! all is an `InvalidInput` error.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Types that name one or more socket addresses, the forms tokio's trait of that name takes: a
/// `SocketAddr` (or V4/V6), `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(&str, u16)`,
/// `(String, u16)`, `"host:port"` as `&str` or `String`, and slices of `SocketAddr`. Host names
/// are looked up with the system resolver on a blocking thread; only IPv4 results are used.
/// Sealed: the forms are tokio's.
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use super::*;

    /// What an address argument turns into: one address (the usual literal, kept without
    /// allocating), several, or a host to look up.
    pub enum Resolve {
        One(SocketAddr),
        Done(Vec<SocketAddr>),
        Lookup(String),
    }

    /// The conversion behind [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait Sealed {
        /// The addresses, or the `host:port` to look up.
        fn to_resolve(&self) -> io::Result<Resolve>;
    }
}

use sealed::{Resolve, Sealed};

macro_rules! direct {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl Sealed for $t {
            fn to_resolve(&self) -> io::Result<Resolve> {
                Ok(Resolve::One(SocketAddr::from(*self)))
            }
        }
    )*};
}
direct!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16),
    ([u8; 4], u16)
);

impl ToSocketAddrs for [SocketAddr] {}
impl Sealed for [SocketAddr] {
    fn to_resolve(&self) -> io::Result<Resolve> {
        Ok(Resolve::Done(self.to_vec()))
    }
}

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn to_resolve(&self) -> io::Result<Resolve> {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Ok(Resolve::One(addr)),
            Err(_) => Ok(Resolve::Lookup(self.to_string())),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn to_resolve(&self) -> io::Result<Resolve> {
        self.as_str().to_resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn to_resolve(&self) -> io::Result<Resolve> {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(Resolve::One(SocketAddr::new(ip, port))),
            Err(_) => Ok(Resolve::Lookup(format!("{host}:{port}"))),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn to_resolve(&self) -> io::Result<Resolve> {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Sealed + ?Sized> Sealed for &T {
    fn to_resolve(&self) -> io::Result<Resolve> {
        (**self).to_resolve()
    }
}

/// Every address `addr` names (IPv4 and IPv6), looking host names up off the runtime thread.
pub(crate) async fn resolve_all(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    match addr.to_resolve()? {
        Resolve::One(addr) => Ok(vec![addr]),
        Resolve::Done(addrs) => Ok(addrs),
        Resolve::Lookup(host) => {
            let lookup = crate::task::spawn_blocking(move || {
                std::net::ToSocketAddrs::to_socket_addrs(&host).map(Iterator::collect)
            });
            lookup.await.map_err(|e| io::Error::other(e.to_string()))?
        }
    }
}

/// The IPv4 addresses an argument names, in order: one without allocating (a literal
/// address, what nearly every `connect` and `bind` gets), or several.
pub(crate) enum V4Addrs {
    One(SocketAddrV4),
    Many(Vec<SocketAddrV4>),
}

impl IntoIterator for V4Addrs {
    type Item = SocketAddrV4;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<SocketAddrV4>, std::vec::IntoIter<SocketAddrV4>>;

    fn into_iter(self) -> Self::IntoIter {
        let (one, many) = match self {
            V4Addrs::One(addr) => (Some(addr), Vec::new()),
            V4Addrs::Many(addrs) => (None, addrs),
        };
        one.into_iter().chain(many)
    }
}

/// The IPv4 addresses `addr` names, in order; an error if there are none.
pub(crate) async fn resolve_v4(addr: impl ToSocketAddrs) -> io::Result<V4Addrs> {
    if let Resolve::One(one) = addr.to_resolve()? {
        return v4(one).map(V4Addrs::One).map_err(|_| no_v4());
    }
    let all = resolve_all(addr).await?;
    let v4: Vec<SocketAddrV4> = all
        .iter()
        .filter_map(|a| match a {
            SocketAddr::V4(v4) => Some(*v4),
            SocketAddr::V6(_) => None,
        })
        .collect();
    if v4.is_empty() {
        if all.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any address",
            ));
        }
        return Err(no_v4());
    }
    Ok(V4Addrs::Many(v4))
}

/// The error for an address with no IPv4 form.
fn no_v4() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "sockeye's stack speaks IPv4 only, and the address has no IPv4 form",
    )
}

/// An IPv4 address or the error for an IPv6 one (for calls that take a `SocketAddr`).
pub(crate) fn v4(addr: SocketAddr) -> io::Result<SocketAddrV4> {
    match addr {
        SocketAddr::V4(v4) => Ok(v4),
        SocketAddr::V6(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "sockeye's stack speaks IPv4 only",
        )),
    }
}

/// Tries `op` on each address in turn; the first success, or the last error.
pub(crate) async fn first_ok<T, F, Fut>(addrs: V4Addrs, mut op: F) -> io::Result<T>
where
    F: FnMut(SocketAddrV4) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for addr in addrs {
        match op(addr).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

/// Looks up `host` (tokio's `lookup_host`): every address it names, IPv6 ones included.
///
/// # Errors
/// The resolver's error for a name it cannot resolve.
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(resolve_all(host).await?.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Runs a future that completes without waiting (no host lookup involved).
    fn now<T>(f: impl std::future::Future<Output = T>) -> T {
        let mut cx = Context::from_waker(Waker::noop());
        match pin!(f).poll(&mut cx) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the future waited"),
        }
    }

    #[test]
    fn literal_addresses_resolve_without_allocating_and_in_order() {
        let a: SocketAddrV4 = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddrV4 = "10.0.0.2:81".parse().unwrap();
        assert!(matches!(now(resolve_v4(a)).unwrap(), V4Addrs::One(x) if x == a));
        assert!(matches!(now(resolve_v4("10.0.0.1:80")).unwrap(), V4Addrs::One(x) if x == a));
        assert!(matches!(now(resolve_v4(("10.0.0.1", 80))).unwrap(), V4Addrs::One(x) if x == a));
        let list = [
            SocketAddr::V4(a),
            "[::1]:5".parse().unwrap(),
            SocketAddr::V4(b),
        ];
        let many: Vec<_> = now(resolve_v4(&list[..])).unwrap().into_iter().collect();
        assert_eq!(many, [a, b], "IPv6 ones skipped");
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        let err = now(resolve_v4(v6)).err().expect("no IPv4 form");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let empty: [SocketAddr; 0] = [];
        assert!(now(resolve_v4(&empty[..])).is_err());
    }
}
