//! The network setup read from the environment when the [`Builder`](super::Builder) names no
//! interface (that is, by `Runtime::new()` and `#[sockeye::main]`):
//!
//! | variable | value | default |
//! |---|---|---|
//! | `SOCKEYE_NIC` | `loopback`, `tap:NAME`, `raw:IFACE` or `pcap:IN,OUT` | `loopback` |
//! | `SOCKEYE_IP` | the stack's `ADDR/PREFIX`, e.g. `10.7.0.2/24` | `127.0.0.1/8` on the loopback, required otherwise |
//! | `SOCKEYE_GATEWAY` | a default gateway's IPv4 address | none |
//! | `SOCKEYE_CAPTURE` | a pcap file recording every frame of the interface | none |
//! | `SOCKEYE_SYSCTL` | `name=value,...` with Linux's sysctl names (`tcp_rmem=4096 131072 6291456`) | none |
//!
//! A bad value is an `InvalidInput` error from `build()` whose message names the variable and
//! says what it accepts; a device that cannot be opened keeps its error kind, and the message
//! names the variable too. Empty variables count as unset.

use std::ffi::OsString;
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use sockeye_netstack::{Ipv4Cidr, StackConfig};
use sockeye_nic::{PcapDevice, RawSocket, Tap};

use super::Interface;

/// Which device `SOCKEYE_NIC` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NicSpec {
    Loopback,
    Tap(String),
    Raw(String),
    Pcap(PathBuf, PathBuf),
}

/// Everything the environment says, parsed but with no device opened yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvSetup {
    pub(crate) nic: NicSpec,
    pub(crate) addr: Ipv4Cidr,
    pub(crate) gateway: Option<Ipv4Addr>,
    pub(crate) capture: Option<PathBuf>,
    /// `(name, value)` pairs, in order.
    pub(crate) sysctl: Vec<(String, String)>,
}

fn invalid(var: &str, value: &str, expected: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid {var}=`{value}`: expected {expected}"),
    )
}

/// Reads the process environment.
pub(crate) fn from_env() -> io::Result<EnvSetup> {
    parse(|name| std::env::var_os(name))
}

/// Parses the variables `get` returns (the environment, or a test's map).
pub(crate) fn parse(get: impl Fn(&str) -> Option<OsString>) -> io::Result<EnvSetup> {
    let var = |name: &str| -> io::Result<Option<String>> {
        match get(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .into_string()
                .map(Some)
                .map_err(|v| invalid(name, &v.to_string_lossy(), "a value in UTF-8")),
        }
    };
    let nic = match var("SOCKEYE_NIC")? {
        None => NicSpec::Loopback,
        Some(v) => parse_nic(&v)?,
    };
    let addr = match var("SOCKEYE_IP")? {
        Some(v) => v
            .parse::<Ipv4Cidr>()
            .map_err(|_| invalid("SOCKEYE_IP", &v, "an IPv4 ADDR/PREFIX such as 10.7.0.2/24"))?,
        None if nic == NicSpec::Loopback => Interface::loopback().addr,
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "SOCKEYE_IP is not set: a device other than the loopback needs the stack's \
                 ADDR/PREFIX, e.g. SOCKEYE_IP=10.7.0.2/24",
            ));
        }
    };
    let gateway = match var("SOCKEYE_GATEWAY")? {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<Ipv4Addr>()
                .map_err(|_| invalid("SOCKEYE_GATEWAY", &v, "an IPv4 address"))?,
        ),
    };
    if let Some(gw) = gateway {
        if !addr.contains(gw) {
            return Err(invalid(
                "SOCKEYE_GATEWAY",
                &gw.to_string(),
                &format!("an address on the link {addr} (SOCKEYE_IP)"),
            ));
        }
    }
    let capture = var("SOCKEYE_CAPTURE")?.map(PathBuf::from);
    let sysctl = match var("SOCKEYE_SYSCTL")? {
        None => Vec::new(),
        Some(v) => parse_sysctl(&v)?,
    };
    Ok(EnvSetup {
        nic,
        addr,
        gateway,
        capture,
        sysctl,
    })
}

fn parse_nic(v: &str) -> io::Result<NicSpec> {
    const EXPECTED: &str = "loopback, tap:NAME, raw:IFACE or pcap:IN,OUT";
    let v = v.trim();
    if v == "loopback" {
        return Ok(NicSpec::Loopback);
    }
    let Some((kind, arg)) = v.split_once(':') else {
        return Err(invalid("SOCKEYE_NIC", v, EXPECTED));
    };
    match (kind, arg) {
        (_, "") => Err(invalid("SOCKEYE_NIC", v, EXPECTED)),
        ("tap", name) => Ok(NicSpec::Tap(name.to_string())),
        ("raw", name) => Ok(NicSpec::Raw(name.to_string())),
        ("pcap", files) => match files.split_once(',') {
            Some((input, output)) if !input.is_empty() && !output.is_empty() => {
                Ok(NicSpec::Pcap(input.into(), output.into()))
            }
            _ => Err(invalid("SOCKEYE_NIC", v, EXPECTED)),
        },
        _ => Err(invalid("SOCKEYE_NIC", v, EXPECTED)),
    }
}

fn parse_sysctl(v: &str) -> io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    // Checked against a scratch config now, so a bad name or value fails at startup.
    let mut check = StackConfig::default();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((name, value)) = item.split_once('=') else {
            return Err(invalid(
                "SOCKEYE_SYSCTL",
                v,
                "name=value pairs separated by commas",
            ));
        };
        let (name, value) = (name.trim(), value.trim());
        check.set(name, value).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid SOCKEYE_SYSCTL: {e}"),
            )
        })?;
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

impl EnvSetup {
    /// Opens the device and makes the interface.
    pub(crate) fn interface(&self) -> io::Result<Interface> {
        let named = |e: io::Error| {
            let shown = match &self.nic {
                NicSpec::Loopback => "loopback".to_string(),
                NicSpec::Tap(n) => format!("tap:{n}"),
                NicSpec::Raw(n) => format!("raw:{n}"),
                NicSpec::Pcap(i, o) => format!("pcap:{},{}", i.display(), o.display()),
            };
            io::Error::new(e.kind(), format!("SOCKEYE_NIC={shown}: {e}"))
        };
        let mut iface = match &self.nic {
            NicSpec::Loopback => Interface::loopback(),
            NicSpec::Tap(name) => Interface::new(Tap::open(name).map_err(named)?, self.addr),
            NicSpec::Raw(name) => Interface::new(RawSocket::open(name).map_err(named)?, self.addr),
            NicSpec::Pcap(input, output) => {
                Interface::new(PcapDevice::open(input, output).map_err(named)?, self.addr)
            }
        };
        iface.addr = self.addr;
        iface.gateway = self.gateway;
        Ok(iface)
    }

    /// Applies `SOCKEYE_SYSCTL` to `config`.
    pub(crate) fn apply_sysctl(&self, config: &mut StackConfig) -> io::Result<()> {
        for (name, value) in &self.sysctl {
            config.set(name, value).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid SOCKEYE_SYSCTL: {e}"),
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
