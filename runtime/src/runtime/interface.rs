//! [`Interface`]: one network interface of a runtime's stack, as [`Builder::interface`] takes
//! it: a device, the stack's address and prefix on that link, and optionally a MAC address and a
//! default gateway.
//!
//! [`Builder::interface`]: super::Builder::interface

use std::fmt;
use std::net::Ipv4Addr;

use sockeye_netstack::Ipv4Cidr;
use sockeye_nic::{Device, Loopback, MacAddr};

/// A network interface for a runtime's stack.
///
/// ```
/// use sockeye_runtime::runtime::{Builder, Interface};
/// use sockeye_nic::Loopback;
///
/// let rt = Builder::new_current_thread()
///     .interface(Interface::new(Loopback::new(), "127.0.0.1/8".parse().unwrap()))
///     .build()
///     .unwrap();
/// # drop(rt);
/// ```
pub struct Interface {
    pub(crate) device: Box<dyn Device>,
    pub(crate) addr: Ipv4Cidr,
    pub(crate) mac: Option<MacAddr>,
    pub(crate) gateway: Option<Ipv4Addr>,
}

impl Interface {
    /// An interface on `device` with the stack's address and prefix `addr` (e.g. `10.0.0.2/24`),
    /// the device's own MAC address and no gateway.
    pub fn new(device: impl Device + 'static, addr: Ipv4Cidr) -> Interface {
        Interface::boxed(Box::new(device), addr)
    }

    /// Like [`Interface::new`], for a device already boxed.
    pub fn boxed(device: Box<dyn Device>, addr: Ipv4Cidr) -> Interface {
        Interface {
            device,
            addr,
            mac: None,
            gateway: None,
        }
    }

    /// The in-process loopback (`sockeye_nic::Loopback`) with `127.0.0.1/8`: what a runtime
    /// uses when neither the builder nor the environment names an interface.
    pub fn loopback() -> Interface {
        let addr = Ipv4Cidr::new(Ipv4Addr::LOCALHOST, 8).expect("8 is a valid prefix length");
        Interface::new(Loopback::new(), addr)
    }

    /// Uses `mac` as the stack's MAC address on this link instead of the device's.
    pub fn mac(mut self, mac: MacAddr) -> Interface {
        self.mac = Some(mac);
        self
    }

    /// Adds a default route through `gateway` (which must be on this link).
    pub fn gateway(mut self, gateway: Ipv4Addr) -> Interface {
        self.gateway = Some(gateway);
        self
    }

    /// The stack's address and prefix on this link.
    pub fn addr(&self) -> Ipv4Cidr {
        self.addr
    }
}

impl fmt::Debug for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interface")
            .field("addr", &self.addr)
            .field("mac", &self.mac.unwrap_or_else(|| self.device.mac()))
            .field("mtu", &self.device.mtu())
            .field("gateway", &self.gateway)
            .finish()
    }
}
