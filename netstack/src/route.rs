//! The routing table: which interface and next hop an IPv4 destination goes through.
//!
//! Routes are `(prefix, interface, gateway)`. A lookup takes the longest matching prefix; among
//! equal prefixes the first added wins. Each interface's own subnet is a directly connected
//! route (no gateway: the destination itself is the next hop), and a default route `0.0.0.0/0`
//! goes through a gateway. The table is small (a few routes per interface), so a lookup scans it
//! sorted by prefix length; the connection path does not look routes up per segment (a
//! connection remembers its route).

use core::net::Ipv4Addr;
use std::fmt;

/// An IPv4 address with a prefix length, like `10.0.0.2/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    addr: Ipv4Addr,
    prefix_len: u8,
}

impl Ipv4Cidr {
    /// `addr/prefix_len`; `None` if the prefix is longer than 32.
    pub const fn new(addr: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Cidr> {
        if prefix_len > 32 {
            None
        } else {
            Some(Ipv4Cidr { addr, prefix_len })
        }
    }

    /// The address.
    pub const fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The netmask as a number.
    pub const fn mask(&self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix_len)
        }
    }

    /// The network address (host bits cleared).
    pub const fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.addr.to_bits() & self.mask())
    }

    /// The subnet's broadcast address.
    pub const fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.addr.to_bits() | !self.mask())
    }

    /// Whether `addr` is in this prefix.
    pub const fn contains(&self, addr: Ipv4Addr) -> bool {
        (addr.to_bits() ^ self.addr.to_bits()) & self.mask() == 0
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Why a CIDR string did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseCidrError(String);

impl fmt::Display for ParseCidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid IPv4 prefix `{}`: expected ADDR/LEN such as 10.0.0.2/24",
            self.0
        )
    }
}

impl std::error::Error for ParseCidrError {}

impl std::str::FromStr for Ipv4Cidr {
    type Err = ParseCidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseCidrError(s.to_string());
        let (addr, len) = s.trim().split_once('/').ok_or_else(err)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| err())?;
        let len: u8 = len.parse().map_err(|_| err())?;
        Ipv4Cidr::new(addr, len).ok_or_else(err)
    }
}

/// Index of an interface in the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfaceId(pub u16);

/// One route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The destinations it covers (host bits of the address are ignored).
    pub prefix: Ipv4Cidr,
    /// The interface packets leave through.
    pub iface: IfaceId,
    /// The next hop, or `None` for a directly connected destination.
    pub gateway: Option<Ipv4Addr>,
}

/// Where a packet goes: out of `iface` to the link-layer neighbour `next_hop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    /// The interface.
    pub iface: IfaceId,
    /// The neighbour whose MAC address the frame is sent to.
    pub next_hop: Ipv4Addr,
}

/// Routes, kept sorted by prefix length, longest first.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> RouteTable {
        RouteTable::default()
    }

    /// Adds a route (after existing routes of the same prefix length).
    pub fn add(&mut self, route: Route) {
        let at = self
            .routes
            .iter()
            .position(|r| r.prefix.prefix_len() < route.prefix.prefix_len())
            .unwrap_or(self.routes.len());
        self.routes.insert(at, route);
    }

    /// Removes every route through `iface`.
    pub fn remove_iface(&mut self, iface: IfaceId) {
        self.routes.retain(|r| r.iface != iface);
    }

    /// The route for `dst`: longest prefix first.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<NextHop> {
        let route = self.routes.iter().find(|r| r.prefix.contains(dst))?;
        Some(NextHop {
            iface: route.iface,
            next_hop: route.gateway.unwrap_or(dst),
        })
    }

    /// Every route, longest prefix first.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests;
