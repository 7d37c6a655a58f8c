//! Private helpers for the `struct ifreq` ioctls the kernel-backed devices use: checking an
//! interface name, and reading an interface's index, MTU, MAC address and flags.
//!
//! The `SIOCGIF*` ioctls need a socket to be issued on but do not care about its family; we use a
//! short-lived unprivileged `AF_INET` datagram socket (falling back to `AF_UNIX` on a kernel built
//! without IPv4). They look the interface up in the network namespace of the thread that created
//! that socket, i.e. the calling thread's. None of this is on a hot path: devices call these
//! helpers once, when they open.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::device::MacAddr;

/// The longest interface name Linux accepts, in bytes (`IFNAMSIZ - 1`: the name is stored with a
/// terminating NUL in a 16-byte array).
pub(crate) const MAX_NAME_LEN: usize = libc::IFNAMSIZ - 1;

/// Checks that `name` is a name Linux would accept for an interface (a subset of the kernel's
/// `dev_valid_name`: 1 to 15 bytes, no NUL, `/`, `:` or whitespace, not `.` or `..`), so that a bad
/// name gives a clear [`io::ErrorKind::InvalidInput`] error instead of an ioctl's `EINVAL`.
///
/// `%` is allowed: `TUNSETIFF` treats a name like `tap%d` as a template for the kernel to fill in.
pub(crate) fn check_name(name: &str) -> io::Result<()> {
    let invalid = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid interface name {name:?}: {why}"),
        ))
    };
    if name.is_empty() {
        return invalid("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return invalid(&format!(
            "{} bytes long, Linux allows at most {MAX_NAME_LEN} (IFNAMSIZ - 1)",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return invalid("`.` and `..` are reserved");
    }
    if name
        .bytes()
        .any(|b| b == 0 || b == b'/' || b == b':' || b.is_ascii_whitespace())
    {
        return invalid("contains NUL, `/`, `:` or whitespace");
    }
    Ok(())
}

/// A zeroed `ifreq` carrying `name` (checked with [`check_name`]).
pub(crate) fn ifreq_for(name: &str) -> io::Result<libc::ifreq> {
    check_name(name)?;
    // SAFETY: `ifreq` is plain old data (a name array and a union of integers, addresses and a
    // pointer), for which all-zero bytes are a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &src) in ifr.ifr_name.iter_mut().zip(name.as_bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(ifr)
}

/// The name stored in `ifr` (the kernel writes the chosen name back after, e.g., `TUNSETIFF` with a
/// `tap%d` template).
pub(crate) fn name_of(ifr: &libc::ifreq) -> String {
    let bytes: Vec<u8> = ifr
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A socket to issue interface ioctls on.
fn control_socket() -> io::Result<OwnedFd> {
    let mut last = None;
    for family in [libc::AF_INET, libc::AF_UNIX] {
        // SAFETY: plain syscall with constant arguments; the result is checked.
        let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd >= 0 {
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        last = Some(io::Error::last_os_error());
    }
    Err(last.unwrap_or_else(|| io::Error::other("no socket family for interface ioctls")))
}

/// Issues the `SIOCGIF*` ioctl `request` for `name` and returns the filled-in `ifreq`.
///
/// `ENODEV` becomes [`io::ErrorKind::NotFound`] with a message naming the interface.
fn get(name: &str, request: libc::c_ulong, what: &str) -> io::Result<libc::ifreq> {
    let mut ifr = ifreq_for(name)?;
    let sock = control_socket()?;
    // SAFETY: every `SIOCGIF*` request used here reads the name from and writes its answer into
    // the `ifreq` we pass, which is valid and writable for the whole call.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), request as _, &mut ifr) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ENODEV) {
            return Err(no_such_interface(name));
        }
        return Err(io::Error::new(
            err.kind(),
            format!("reading the {what} of interface `{name}`: {err}"),
        ));
    }
    Ok(ifr)
}

/// The error for an interface that does not exist (in the calling thread's network namespace).
pub(crate) fn no_such_interface(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("no network interface named `{name}` (see `ip link show`)"),
    )
}

/// The interface's index (`SIOCGIFINDEX`, like `if_nametoindex`).
pub(crate) fn index(name: &str) -> io::Result<u32> {
    let ifr = get(name, libc::SIOCGIFINDEX, "index")?;
    // SAFETY: `SIOCGIFINDEX` succeeded, so the kernel stored the index in `ifru_ifindex`.
    let index = unsafe { ifr.ifr_ifru.ifru_ifindex };
    u32::try_from(index).map_err(|_| io::Error::other(format!("negative ifindex {index}")))
}

/// The interface's MTU (`SIOCGIFMTU`), as `ip link show` prints it.
pub(crate) fn mtu(name: &str) -> io::Result<usize> {
    let ifr = get(name, libc::SIOCGIFMTU, "MTU")?;
    // SAFETY: `SIOCGIFMTU` succeeded, so the kernel stored the MTU in `ifru_mtu`.
    let mtu = unsafe { ifr.ifr_ifru.ifru_mtu };
    usize::try_from(mtu).map_err(|_| io::Error::other(format!("negative MTU {mtu}")))
}

/// The interface's own MAC address (`SIOCGIFHWADDR`), as `ip link show` prints it.
pub(crate) fn hw_addr(name: &str) -> io::Result<MacAddr> {
    let ifr = get(name, libc::SIOCGIFHWADDR, "MAC address")?;
    // SAFETY: `SIOCGIFHWADDR` succeeded, so the kernel stored a `sockaddr` in `ifru_hwaddr`.
    let sa = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    if sa.sa_family != libc::ARPHRD_ETHER {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "interface `{name}` is not an Ethernet device (hardware type {})",
                sa.sa_family
            ),
        ));
    }
    let mut mac = [0u8; 6];
    for (dst, &src) in mac.iter_mut().zip(&sa.sa_data) {
        *dst = src as u8;
    }
    Ok(MacAddr(mac))
}

/// The interface's flags (`SIOCGIFFLAGS`: `IFF_UP`, `IFF_RUNNING`, `IFF_PROMISC`, ...).
pub(crate) fn flags(name: &str) -> io::Result<libc::c_int> {
    let ifr = get(name, libc::SIOCGIFFLAGS, "flags")?;
    // SAFETY: `SIOCGIFFLAGS` succeeded, so the kernel stored the flags in `ifru_flags`.
    let flags = unsafe { ifr.ifr_ifru.ifru_flags };
    // The flags are an unsigned short in the kernel; do not sign-extend bit 15.
    Ok(libc::c_int::from(flags as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("tap0").is_ok());
        assert!(check_name("tap%d").is_ok());
        assert!(check_name("abcdefghijklmno").is_ok()); // 15 bytes
        for bad in [
            "",
            "abcdefghijklmnop",
            "a/b",
            "a b",
            "a:b",
            ".",
            "..",
            "a\0b",
        ] {
            let err = check_name(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        let err = check_name("abcdefghijklmnop").unwrap_err();
        assert!(err.to_string().contains("IFNAMSIZ"), "{err}");
    }

    #[test]
    fn ifreq_name_round_trip() {
        let ifr = ifreq_for("sktap0").unwrap();
        assert_eq!(name_of(&ifr), "sktap0");
        let ifr = ifreq_for("abcdefghijklmno").unwrap();
        assert_eq!(name_of(&ifr), "abcdefghijklmno");
    }

    #[test]
    fn loopback_interface() {
        // `lo` exists in every network namespace and needs no privilege to query.
        assert_eq!(
            hw_addr("lo").unwrap_err().kind(),
            io::ErrorKind::Unsupported
        );
        assert!(index("lo").unwrap() >= 1);
        assert!(mtu("lo").unwrap() >= 1500);
        assert_ne!(flags("lo").unwrap() & libc::IFF_LOOPBACK, 0);
        let err = mtu("sknonexist0").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("sknonexist0"), "{err}");
    }
}
