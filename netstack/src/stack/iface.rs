//! Interfaces: their addresses and MTU, and the bounded egress queue of frames built outside the
//! transmit path (ARP, ICMP, RSTs and packets released by address resolution).

use core::net::Ipv4Addr;
use std::collections::VecDeque;

use crate::route::Ipv4Cidr;
use crate::wire::ethernet::EthernetAddress;

/// How an interface is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// The stack's MAC address on this link.
    pub mac: EthernetAddress,
    /// The stack's address and the link's prefix, e.g. `10.0.0.2/24`.
    pub addr: Ipv4Cidr,
    /// The largest IP packet the link carries (the device's MTU).
    pub mtu: usize,
    /// Whether the device checks and fills checksums itself (or, like the in-process loopback,
    /// needs none): the stack then neither verifies nor computes them.
    pub checksum_offload: bool,
    /// The default gateway reached through this interface, if any.
    pub gateway: Option<Ipv4Addr>,
    /// The device hands every frame sent on it back to this stack (Linux's `lo`, the
    /// in-process loopback): traffic to the stack's own addresses goes through it. On other
    /// devices such traffic never reaches the wire: the stack delivers it through its receive
    /// backlog, as Linux routes it through `lo`.
    pub loopback: bool,
}

/// An interface's state inside the stack.
#[derive(Debug)]
pub(crate) struct Interface {
    pub(crate) config: InterfaceConfig,
    /// Complete frames waiting for the device, oldest first (bounded by `txqueuelen`).
    pub(crate) egress: VecDeque<Vec<u8>>,
}

impl Interface {
    pub(crate) fn new(config: InterfaceConfig) -> Interface {
        Interface {
            config,
            egress: VecDeque::new(),
        }
    }

    pub(crate) fn mac(&self) -> EthernetAddress {
        self.config.mac
    }

    pub(crate) fn ip(&self) -> Ipv4Addr {
        self.config.addr.addr()
    }

    /// Whether `dst` is an address this interface accepts: its own, its subnet's broadcast, or
    /// the limited broadcast.
    pub(crate) fn accepts(&self, dst: Ipv4Addr) -> bool {
        dst == self.ip() || dst == Ipv4Addr::BROADCAST || dst == self.config.addr.broadcast()
    }
}
