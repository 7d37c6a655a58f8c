//! [`Network`]: a runtime's network described as text (one device, the stack's address on
//! it, a gateway, a capture file and sysctl settings), parsed and checked before anything is
//! opened, from the `SOCKEYE_*` environment variables or from command-line flags through one
//! parser. The forms are documented on [`Network`].

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use sockeye_netstack::{Ipv4Cidr, StackConfig};
use sockeye_nic::{PcapDevice, RawSocket, Tap};

use super::Interface;

/// Which device `SOCKEYE_NIC` or `--nic` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NicSpec {
    Loopback,
    Tap(String),
    Raw(String),
    Pcap(PathBuf, PathBuf),
}

impl fmt::Display for NicSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NicSpec::Loopback => f.write_str("loopback"),
            NicSpec::Tap(n) => write!(f, "tap:{n}"),
            NicSpec::Raw(n) => write!(f, "raw:{n}"),
            NicSpec::Pcap(i, o) => write!(f, "pcap:{},{}", i.display(), o.display()),
        }
    }
}

/// The names errors give each setting, and how a setting and its value are written
/// (`SOCKEYE_IP=10.7.0.2/24` or `--ip 10.7.0.2/24`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Names {
    nic: &'static str,
    ip: &'static str,
    gateway: &'static str,
    sysctl: &'static str,
    assign: &'static str,
}

/// The environment variables' names.
pub(crate) const ENV: Names = Names {
    nic: "SOCKEYE_NIC",
    ip: "SOCKEYE_IP",
    gateway: "SOCKEYE_GATEWAY",
    sysctl: "SOCKEYE_SYSCTL",
    assign: "=",
};

/// The command-line flags' names.
pub(crate) const FLAGS: Names = Names {
    nic: "--nic",
    ip: "--ip",
    gateway: "--gateway",
    sysctl: "--sysctl",
    assign: " ",
};

/// A runtime's network: one device (not opened yet), the stack's address on it, an optional
/// gateway, an optional capture file and sysctl settings. Give it to
/// [`Builder::network`](super::Builder::network).
///
/// The text comes from the `SOCKEYE_*` environment variables ([`Network::from_env`], what a
/// [`Builder`](super::Builder) that names no interface reads, as `Runtime::new()` and
/// `#[sockeye::main]` do) or from command-line flags ([`Network::from_flags`], what the
/// examples take); both go through the same parser and differ only in the names the errors
/// give.
///
/// | variable | flag | value | default |
/// |---|---|---|---|
/// | `SOCKEYE_NIC` | `--nic` | `loopback`, `tap:NAME`, `raw:IFACE` or `pcap:IN,OUT` | `loopback` |
/// | `SOCKEYE_IP` | `--ip` | the stack's `ADDR/PREFIX`, e.g. `10.7.0.2/24` | `127.0.0.1/8` on the loopback, required otherwise |
/// | `SOCKEYE_GATEWAY` | `--gateway` | a default gateway's IPv4 address | none |
/// | `SOCKEYE_CAPTURE` | `--capture` | a pcap file recording every frame of the interface | none |
/// | `SOCKEYE_SYSCTL` | `--sysctl` | Linux's sysctl names: `name=value,...` in the variable, one `name=value` per flag (repeatable) | none |
///
/// A bad value is an `InvalidInput` error whose message names the variable or flag and says
/// what it accepts; a device that cannot be opened keeps its error kind, and the message names
/// the variable or flag too. Empty values count as unset.
///
/// ```
/// use sockeye_runtime::runtime::{Builder, Network, NetworkFlags};
///
/// let sysctl = ["tcp_syn_retries=3".to_string()];
/// let network = Network::from_flags(&NetworkFlags {
///     sysctl: &sysctl,
///     ..NetworkFlags::default()
/// })
/// .unwrap();
/// assert!(network.is_loopback());
/// assert_eq!(network.addr().to_string(), "127.0.0.1/8");
/// let rt = Builder::new_current_thread().network(network).build().unwrap();
/// # drop(rt);
/// ```
#[derive(Debug, Clone)]
pub struct Network {
    pub(crate) nic: NicSpec,
    pub(crate) addr: Ipv4Cidr,
    pub(crate) gateway: Option<Ipv4Addr>,
    pub(crate) capture: Option<PathBuf>,
    /// `(name, value)` pairs, in order.
    pub(crate) sysctl: Vec<(String, String)>,
    /// How errors found later (opening the device, applying the settings) name things.
    names: &'static Names,
}

/// Equal when they describe the same network, wherever the text came from.
impl PartialEq for Network {
    fn eq(&self, other: &Network) -> bool {
        self.nic == other.nic
            && self.addr == other.addr
            && self.gateway == other.gateway
            && self.capture == other.capture
            && self.sysctl == other.sysctl
    }
}

impl Eq for Network {}

/// Command-line flags' values for [`Network::from_flags`]: each `None` (or empty) when the flag
/// was not given.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetworkFlags<'a> {
    /// `--nic`: `loopback`, `tap:NAME`, `raw:IFACE` or `pcap:IN,OUT`.
    pub nic: Option<&'a str>,
    /// `--ip`: the stack's `ADDR/PREFIX`.
    pub ip: Option<&'a str>,
    /// `--gateway`: a default gateway's IPv4 address.
    pub gateway: Option<&'a str>,
    /// `--capture`: a pcap file to record every frame into.
    pub capture: Option<&'a Path>,
    /// `--sysctl`, once per setting: `name=value` each.
    pub sysctl: &'a [String],
}

fn invalid(name: &str, assign: &str, value: &str, expected: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid {name}{assign}`{value}`: expected {expected}"),
    )
}

impl Network {
    /// The in-process loopback with `127.0.0.1/8`, no gateway, capture or settings: the
    /// default when nothing is configured.
    pub fn loopback() -> Network {
        Network {
            nic: NicSpec::Loopback,
            addr: Interface::loopback().addr,
            gateway: None,
            capture: None,
            sysctl: Vec::new(),
            names: &ENV,
        }
    }

    /// Reads the `SOCKEYE_*` environment variables.
    ///
    /// # Errors
    /// `InvalidInput` for a bad value (the message names the variable).
    pub fn from_env() -> io::Result<Network> {
        parse_env(|name| std::env::var_os(name))
    }

    /// Parses command-line flags' values (see [`NetworkFlags`]).
    ///
    /// # Errors
    /// `InvalidInput` for a bad value (the message names the flag).
    pub fn from_flags(flags: &NetworkFlags<'_>) -> io::Result<Network> {
        let text = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_string);
        let capture = flags
            .capture
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf);
        let sysctl = flags
            .sysctl
            .iter()
            .map(|item| parse_sysctl_item(&FLAGS, item, item))
            .filter_map(Result::transpose)
            .collect::<io::Result<_>>()?;
        parse(
            &FLAGS,
            Text {
                nic: text(flags.nic),
                ip: text(flags.ip),
                gateway: text(flags.gateway),
                capture,
                sysctl,
            },
        )
    }

    /// Whether the device is the in-process loopback.
    pub fn is_loopback(&self) -> bool {
        self.nic == NicSpec::Loopback
    }

    /// The device, written as `--nic` takes it (`loopback`, `tap:sk0`, ...).
    pub fn nic(&self) -> String {
        self.nic.to_string()
    }

    /// The stack's address and prefix.
    pub fn addr(&self) -> Ipv4Cidr {
        self.addr
    }

    /// The default gateway, if any.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.gateway
    }

    /// The capture file, if any.
    pub fn capture(&self) -> Option<&Path> {
        self.capture.as_deref()
    }

    /// The sysctl settings, `(name, value)` in the order given.
    pub fn sysctl(&self) -> &[(String, String)] {
        &self.sysctl
    }

    /// Opens the device and makes the interface.
    pub(crate) fn interface(&self) -> io::Result<Interface> {
        let named = |e: io::Error| {
            let names = self.names;
            let shown = format!("{}{}{}", names.nic, names.assign, self.nic);
            io::Error::new(e.kind(), format!("{shown}: {e}"))
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

    /// Applies the sysctl settings to `config`.
    pub(crate) fn apply_sysctl(&self, config: &mut StackConfig) -> io::Result<()> {
        for (name, value) in &self.sysctl {
            config.set(name, value).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid {}: {e}", self.names.sysctl),
                )
            })?;
        }
        Ok(())
    }
}

/// The settings as text, empty ones already dropped.
struct Text {
    nic: Option<String>,
    ip: Option<String>,
    gateway: Option<String>,
    capture: Option<PathBuf>,
    sysctl: Vec<(String, String)>,
}

/// Parses the variables `get` returns (the environment, or a test's map).
pub(crate) fn parse_env(get: impl Fn(&str) -> Option<OsString>) -> io::Result<Network> {
    let var = |name: &str| -> io::Result<Option<String>> {
        match get(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .into_string()
                .map(Some)
                .map_err(|v| invalid(name, "=", &v.to_string_lossy(), "a value in UTF-8")),
        }
    };
    let sysctl = match var(ENV.sysctl)? {
        None => Vec::new(),
        Some(v) => v
            .split(',')
            .map(|item| parse_sysctl_item(&ENV, item, &v))
            .filter_map(Result::transpose)
            .collect::<io::Result<_>>()?,
    };
    parse(
        &ENV,
        Text {
            nic: var(ENV.nic)?,
            ip: var(ENV.ip)?,
            gateway: var(ENV.gateway)?,
            capture: var("SOCKEYE_CAPTURE")?.map(PathBuf::from),
            sysctl,
        },
    )
}

fn parse(names: &'static Names, text: Text) -> io::Result<Network> {
    let nic = match &text.nic {
        None => NicSpec::Loopback,
        Some(v) => parse_nic(names, v)?,
    };
    let addr = match &text.ip {
        Some(v) => v.trim().parse::<Ipv4Cidr>().map_err(|_| {
            invalid(
                names.ip,
                names.assign,
                v,
                "an IPv4 ADDR/PREFIX such as 10.7.0.2/24",
            )
        })?,
        None if nic == NicSpec::Loopback => Interface::loopback().addr,
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not set: a device other than the loopback needs the stack's \
                     ADDR/PREFIX, e.g. {}{}10.7.0.2/24",
                    names.ip, names.ip, names.assign
                ),
            ));
        }
    };
    let gateway = match &text.gateway {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<Ipv4Addr>()
                .map_err(|_| invalid(names.gateway, names.assign, v, "an IPv4 address"))?,
        ),
    };
    if let Some(gw) = gateway {
        if !addr.contains(gw) {
            return Err(invalid(
                names.gateway,
                names.assign,
                &gw.to_string(),
                &format!("an address on the link {addr} ({})", names.ip),
            ));
        }
    }
    Ok(Network {
        nic,
        addr,
        gateway,
        capture: text.capture,
        sysctl: text.sysctl,
        names,
    })
}

fn parse_nic(names: &Names, v: &str) -> io::Result<NicSpec> {
    const EXPECTED: &str = "loopback, tap:NAME, raw:IFACE or pcap:IN,OUT";
    let bad = || invalid(names.nic, names.assign, v, EXPECTED);
    let v = v.trim();
    if v == "loopback" {
        return Ok(NicSpec::Loopback);
    }
    let Some((kind, arg)) = v.split_once(':') else {
        return Err(bad());
    };
    match (kind, arg) {
        (_, "") => Err(bad()),
        ("tap", name) => Ok(NicSpec::Tap(name.to_string())),
        ("raw", name) => Ok(NicSpec::Raw(name.to_string())),
        ("pcap", files) => match files.split_once(',') {
            Some((input, output)) if !input.is_empty() && !output.is_empty() => {
                Ok(NicSpec::Pcap(input.into(), output.into()))
            }
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// One `name=value` setting (`None` for an empty item), checked against a scratch config so
/// that a bad name or value fails at startup. `whole` is the text shown in errors.
fn parse_sysctl_item(
    names: &Names,
    item: &str,
    whole: &str,
) -> io::Result<Option<(String, String)>> {
    let item = item.trim();
    if item.is_empty() {
        return Ok(None);
    }
    let Some((name, value)) = item.split_once('=') else {
        let expected = if names == &ENV {
            "name=value pairs separated by commas"
        } else {
            "name=value, e.g. tcp_syncookies=2"
        };
        return Err(invalid(names.sysctl, names.assign, whole, expected));
    };
    let (name, value) = (name.trim(), value.trim());
    StackConfig::default().set(name, value).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid {}: {e}", names.sysctl),
        )
    })?;
    Ok(Some((name.to_string(), value.to_string())))
}

#[cfg(test)]
mod tests;
