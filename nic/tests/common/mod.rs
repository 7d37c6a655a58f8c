//! Helpers for tests that use the Linux kernel as a peer: a fresh network namespace per test,
//! commands run inside it, waiting for frames from a device, and hand-built frames.
//!
//! Network safety: every test body runs on a thread of its own that has left the host's network
//! namespace with `unshare(CLONE_NEWNET)` (namespaces are per thread in Linux). Commands spawned
//! from that thread, sockets it opens and threads it spawns all live in the fresh namespace, which
//! holds nothing but what the test creates there, and the kernel destroys it (with every interface
//! in it) when the thread ends and the test's descriptors are closed. Before anything else runs,
//! [`in_netns`] checks that the thread really is in a new, empty namespace; the host's interfaces,
//! addresses and routes are never visible, let alone touched. A fresh namespace has no route
//! beyond the subnets a test adds, so no traffic can leave it.
//!
//! Privileges: [`can_run`] says whether the test may go on. Without root (or a tool), a test prints
//! a "skipped" line and passes, except under `CI=true`, where it fails instead.
//!
//! This file is shared by the `sockeye-nic` kernel tests and by the root package's
//! `tests/nic_reactor.rs` (through `#[path]`), so it uses only `std`, `libc` and `sockeye-nic`.

#![allow(dead_code)]

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long any command may run before it is killed and the test fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the test `test` can run: the process is root and every tool in `tools` is installed.
///
/// When it cannot, prints `test: skipped: ...` and returns `false`, unless the environment has
/// `CI=true`: then a missing privilege or tool is a failure, and this panics.
pub fn can_run(test: &str, tools: &[&str]) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let mut missing = Vec::new();
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN)".to_owned());
    }
    for tool in tools {
        if find_tool(tool).is_none() {
            missing.push(format!("the `{tool}` command"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    if ci {
        panic!("{test}: CI=true and this test needs {what}");
    }
    eprintln!("{test}: skipped: needs {what}");
    false
}

/// The full path of `tool`, looked for in `PATH` and in the `sbin` directories (which a non-root
/// `PATH` often lacks).
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// Runs `f` on a new thread inside a new, empty network namespace (with `lo` up and IPv6 off on
/// every interface created later), and returns its result; a panic in `f` becomes the caller's.
///
/// Everything `f` creates lives in that namespace and is destroyed with it when the thread ends.
pub fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = thread::Builder::new()
        .name("netns-test".into())
        .spawn(move || {
            enter_new_netns();
            f()
        })
        .expect("spawning the namespaced test thread");
    match thread.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The identity of the calling thread's network namespace (`net:[inode]`).
pub fn current_netns() -> String {
    std::fs::read_link("/proc/thread-self/ns/net")
        .expect("reading /proc/thread-self/ns/net")
        .to_string_lossy()
        .into_owned()
}

/// Moves the calling thread into a new network namespace and checks that it worked; panics
/// otherwise, before anything could touch the host's namespace.
fn enter_new_netns() {
    let host = current_netns();
    // SAFETY: plain syscall; it affects only the calling thread's namespaces.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNET) failed: {}",
        io::Error::last_os_error()
    );
    let ours = current_netns();
    assert_ne!(ours, host, "still in the host's network namespace");
    // The process's main thread stayed in the host's namespace.
    let main = std::fs::read_link("/proc/self/ns/net").expect("reading /proc/self/ns/net");
    assert_ne!(main.to_string_lossy(), ours, "the whole process moved");
    let devices = std::fs::read_to_string("/proc/thread-self/net/dev").expect("reading net/dev");
    let names: Vec<&str> = devices
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(names, ["lo"], "a fresh namespace has only `lo`");

    // IPv6 off on links created from now on, so that their first frames are not MLD or router
    // solicitations. (Absent when the kernel has no IPv6: nothing to do then.)
    for key in ["all", "default"] {
        let path = format!("/proc/sys/net/ipv6/conf/{key}/disable_ipv6");
        if std::path::Path::new(&path).exists() {
            std::fs::write(&path, "1").unwrap_or_else(|e| panic!("writing {path}: {e}"));
        }
    }
    ip("link set lo up");
}

/// Runs `f` on a new thread (in the caller's namespace) whose user and group ids are `nobody`
/// (65534), hence without capabilities, and returns its result. The raw `setresuid` system call
/// changes only that thread's credentials (glibc's wrapper would change every thread's).
pub fn as_nobody<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = thread::spawn(move || {
        // SAFETY: plain system calls on the calling thread's credentials; results are checked.
        unsafe {
            assert_eq!(libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534), 0);
            assert_eq!(libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534), 0);
            assert_ne!(libc::geteuid(), 0);
        }
        f()
    });
    match thread.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Runs `program` with `args` (in the calling thread's namespace), waits at most 10 s, and returns
/// its standard output; panics with its output if it fails or times out.
pub fn run(program: &str, args: &[&str]) -> String {
    match try_run(program, args) {
        Ok(stdout) => stdout,
        Err(e) => panic!("{e}"),
    }
}

/// Like [`run`], but returns a failure (with the command line and its standard error) as `Err`.
pub fn try_run(program: &str, args: &[&str]) -> Result<String, String> {
    let line = format!("{program} {}", args.join(" "));
    let path = find_tool(program).ok_or_else(|| format!("`{program}` is not installed"))?;
    let child = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("`{line}`: {e}"))?;
    let mut child = ChildGuard(Some(child));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    loop {
        let status = child.0.as_mut().unwrap().try_wait();
        match status {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => return Err(format!("`{line}` timed out")),
            Err(e) => return Err(format!("`{line}`: {e}")),
        }
    }
    let output = child
        .0
        .take()
        .unwrap()
        .wait_with_output()
        .map_err(|e| format!("`{line}`: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "`{line}` failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            stdout
        ))
    }
}

/// Runs `ip` with the whitespace-separated `args`; panics if it fails.
pub fn ip(args: &str) -> String {
    run("ip", &args.split_whitespace().collect::<Vec<_>>())
}

/// A child process, killed (by its pid) and reaped when dropped if it is still running.
pub struct ChildGuard(pub Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Deletes the interface it names when dropped (also when the test panics). The namespace's
/// end would delete it anyway; this keeps cleanup explicit and immediate.
pub struct LinkGuard(pub &'static str);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        // A non-persistent TAP may be gone already: ignore failures.
        let _ = try_run("ip", &["link", "del", self.0]);
    }
}

/// Sets `net.ipv6.conf.IFACE.disable_ipv6` (already 1 for links created after [`in_netns`]
/// started; this makes it explicit for a given link).
pub fn disable_ipv6(iface: &str) {
    let path = format!("/proc/sys/net/ipv6/conf/{iface}/disable_ipv6");
    if std::path::Path::new(&path).exists() {
        std::fs::write(&path, "1").unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}

/// Waits until `fd` is readable or `deadline` passes; returns whether it is readable.
pub fn wait_readable(fd: std::os::fd::RawFd, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let timeout = left.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `pfd` is one valid pollfd for the duration of the call.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout) };
    rc > 0 && pfd.revents & libc::POLLIN != 0
}

/// Receives frames from `dev` until one satisfies `want` (returned as a copy) or `timeout` passes
/// (`None`). Every frame received on the way is passed to `seen` first.
pub fn wait_for_frame(
    dev: &mut dyn sockeye_nic::Device,
    timeout: Duration,
    seen: &mut dyn FnMut(&[u8]),
    want: &mut dyn FnMut(&[u8]) -> bool,
) -> Option<Vec<u8>> {
    let fd = dev.raw_fd().expect("a kernel-backed device has an fd");
    let deadline = Instant::now() + timeout;
    loop {
        let mut found = None;
        dev.receive(64, &mut |frame| {
            seen(frame);
            if found.is_none() && want(frame) {
                found = Some(frame.to_vec());
            }
        })
        .expect("receive");
        if found.is_some() {
            return found;
        }
        if Instant::now() >= deadline {
            return None;
        }
        wait_readable(fd, deadline);
    }
}

/// Receives every frame `dev` gets during `period`.
pub fn collect_frames(dev: &mut dyn sockeye_nic::Device, period: Duration) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    wait_for_frame(dev, period, &mut |f| frames.push(f.to_vec()), &mut |_| {
        false
    });
    frames
}

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// The broadcast MAC address.
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// The Internet checksum (RFC 1071) of `data`: the ones' complement of the ones' complement sum
/// of its 16-bit big-endian words. Checking: the checksum over data that includes a correct
/// checksum field is 0.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut words = data.chunks_exact(2);
    for word in &mut words {
        sum += u32::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet header.
fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut frame = Vec::with_capacity(128);
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame
}

/// An ARP frame (Ethernet/IPv4): `op` 1 for a request, 2 for a reply.
pub fn arp_frame(
    op: u16,
    eth_dst: [u8; 6],
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    target_mac: [u8; 6],
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut frame = ethernet(eth_dst, sender_mac, ETHERTYPE_ARP);
    frame.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]); // Ethernet, IPv4, lengths
    frame.extend_from_slice(&op.to_be_bytes());
    frame.extend_from_slice(&sender_mac);
    frame.extend_from_slice(&sender_ip.octets());
    frame.extend_from_slice(&target_mac);
    frame.extend_from_slice(&target_ip.octets());
    frame
}

/// An ICMP echo request in IPv4 in Ethernet, with correct checksums.
pub fn icmp_echo_request(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: u16,
    seq: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(payload);
    let sum = internet_checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());

    let total_len = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total_len.to_be_bytes());
    ip.extend_from_slice(&id.to_be_bytes()); // identification
    ip.extend_from_slice(&[0x40, 0]); // don't fragment
    ip.extend_from_slice(&[64, 1, 0, 0]); // TTL, ICMP, checksum placeholder
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let sum = internet_checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());

    let mut frame = ethernet(eth_dst, eth_src, ETHERTYPE_IPV4);
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&icmp);
    frame
}

/// An ARP request parsed by hand: `(sender MAC, sender IP, target IP)`, or `None` for any other
/// frame. (The `sockeye-nic` tests check frames with `etherparse` too; this is for test crates
/// without it.)
pub fn parse_arp_request(frame: &[u8]) -> Option<([u8; 6], Ipv4Addr, Ipv4Addr)> {
    if frame.len() < 42 || frame[12..14] != ETHERTYPE_ARP.to_be_bytes() {
        return None;
    }
    let arp = &frame[14..42];
    if arp[0..8] != [0, 1, 0x08, 0x00, 6, 4, 0, 1] {
        return None;
    }
    let mac: [u8; 6] = arp[8..14].try_into().unwrap();
    let sender = Ipv4Addr::new(arp[14], arp[15], arp[16], arp[17]);
    let target = Ipv4Addr::new(arp[24], arp[25], arp[26], arp[27]);
    Some((mac, sender, target))
}

/// Transmits `frame` on `dev`, asserting that the device accepted it.
pub fn send(dev: &mut dyn sockeye_nic::Device, frame: &[u8]) {
    let queued = dev
        .transmit(frame.len(), &mut |buf| buf.copy_from_slice(frame))
        .expect("transmit");
    assert!(queued, "the device refused a frame");
}
