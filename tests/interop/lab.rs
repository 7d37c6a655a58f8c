//! A [`Lab`]: one named network namespace per test (`sk-interop-TEST-NIC-PID`) holding the link
//! between the Linux kernel and sockeye, a scratch directory, and everything the test runs.
//!
//! The link is one of:
//! - **TAP** ([`Nic::Tap`]): a persistent TAP `sk0` made with `ip tuntap add`, the kernel's
//!   address on it; the example opens it with `--nic tap:sk0` (frames sent before it attaches
//!   are lost, so the example is started before any traffic). TAP offloads are off by
//!   default: frames are at most the MTU and carry real checksums.
//! - **veth + AF_PACKET** ([`Nic::Raw`]): a veth pair `vk` (the kernel's side, with its
//!   address) and `vs` (sockeye's side, no address), the example on `--nic raw:vs`. The
//!   kernel's checksum and segmentation offloads are off on `vk` (`ethtool -K vk tx off rx off
//!   tso off gso off gro off`), so its frames are at most the MTU with real checksums, and the
//!   kernel checks every checksum sockeye sends (with receive checksumming on, veth marks frames
//!   from its peer as already checked).
//!
//! IPv6 is off in the namespace before any link is made, so no MLD or router solicitation
//! appears in the captures. The kernel is `10.A.B.1/24` and sockeye `10.A.B.2/24`, a subnet per
//! test (the namespaces isolate them anyway; distinct subnets keep captures unambiguous).
//!
//! Network safety: the namespace is created by the test and holds only its own loopback and
//! the link above; it has no route beyond that subnet, so no frame can reach the host's
//! namespace or any network. Every tool and example runs inside it through `ip netns exec`.
//! [`Lab::new`] checks that the fresh namespace holds nothing but `lo` before using it, and
//! dropping the lab deletes the namespace by name (with every link and firewall rule in it).
//! The scratch directory is removed too, unless the test failed: then its path is printed so
//! the captures can be read.

use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use super::process::{Cmd, Finished, Spawned, poll_until};
use super::tools;

/// How sockeye reaches the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nic {
    /// A TAP device.
    Tap,
    /// An AF_PACKET socket on one end of a veth pair.
    Raw,
}

impl Nic {
    /// The example's `--nic` value.
    fn flag(self) -> &'static str {
        match self {
            Nic::Tap => "tap:sk0",
            Nic::Raw => "raw:vs",
        }
    }

    /// The kernel's interface.
    fn kernel_if(self) -> &'static str {
        match self {
            Nic::Tap => "sk0",
            Nic::Raw => "vk",
        }
    }
}

/// A test's namespace, link, scratch directory and captures (see the module documentation).
pub struct Lab {
    /// The namespace's name.
    pub ns: String,
    /// The link.
    pub nic: Nic,
    /// The kernel's address.
    pub kernel_ip: Ipv4Addr,
    /// sockeye's address.
    pub stack_ip: Ipv4Addr,
    dir: PathBuf,
    /// When the lab was made (for [`Lab::log`]).
    start: Instant,
    /// Captures written by examples and not yet checked with tshark.
    unchecked: RefCell<Vec<PathBuf>>,
    /// Whether the namespace exists (and must be deleted).
    created: bool,
}

impl Lab {
    /// Creates the namespace `sk-interop-TEST-NIC-PID` with the link for `nic`, the kernel on
    /// `10.net.subnet.1/24` and sockeye on `.2`. Panics (after cleaning up) if any step fails.
    pub fn new(test: &str, nic: Nic, net: u8, subnet: u8) -> Lab {
        let pid = std::process::id();
        let kind = match nic {
            Nic::Tap => "tap",
            Nic::Raw => "raw",
        };
        let ns = format!("sk-interop-{test}-{kind}-{pid}");
        let dir = std::env::temp_dir().join(&ns);
        let mut lab = Lab {
            ns,
            nic,
            kernel_ip: Ipv4Addr::new(10, net, subnet, 1),
            stack_ip: Ipv4Addr::new(10, net, subnet, 2),
            dir,
            start: Instant::now(),
            unchecked: RefCell::new(Vec::new()),
            created: false,
        };
        static STALE: Once = Once::new();
        STALE.call_once(remove_stale_namespaces);
        let _ = std::fs::remove_dir_all(&lab.dir);
        std::fs::create_dir_all(&lab.dir).expect("creating the scratch directory");
        crate::common::run("ip", &["netns", "add", &lab.ns]);
        lab.created = true;
        // A fresh namespace holds only `lo`; anything else means it is not ours.
        let links = lab.ip(&["-o", "link", "show"]);
        let names: Vec<&str> = links
            .lines()
            .filter_map(|l| l.split(':').nth(1))
            .map(str::trim)
            .collect();
        assert_eq!(names, ["lo"], "{} is not a fresh namespace", lab.ns);
        // IPv6 off for every link made from now on (absent without IPv6: nothing to do).
        lab.sh(
            "for k in all default; do f=/proc/sys/net/ipv6/conf/$k/disable_ipv6; \
             if [ -e $f ]; then echo 1 > $f; fi; done",
        );
        lab.ip(&["link", "set", "lo", "up"]);
        let cidr = format!("{}/24", lab.kernel_ip);
        match nic {
            Nic::Tap => {
                lab.ip(&["tuntap", "add", "dev", "sk0", "mode", "tap"]);
                lab.ip(&["addr", "add", &cidr, "dev", "sk0"]);
                lab.ip(&["link", "set", "sk0", "up"]);
            }
            Nic::Raw => {
                lab.ip(&["link", "add", "vk", "type", "veth", "peer", "name", "vs"]);
                lab.tool("ethtool")
                    .args(["-K", "vk", "tx", "off", "rx", "off"])
                    .args(["tso", "off", "gso", "off", "gro", "off"])
                    .run()
                    .unwrap_or_else(|e| panic!("{e}"))
                    .success();
                lab.ip(&["addr", "add", &cidr, "dev", "vk"]);
                lab.ip(&["link", "set", "vk", "up"]);
                lab.ip(&["link", "set", "vs", "up"]);
            }
        }
        lab
    }

    /// Prints a step of the test with the time since the lab was made (shown when the test
    /// fails, or with `--nocapture`).
    pub fn log(&self, what: impl std::fmt::Display) {
        println!(
            "[{} +{:.1} s] {what}",
            self.ns,
            self.start.elapsed().as_secs_f64()
        );
    }

    /// The kernel's interface name.
    pub fn kernel_if(&self) -> &'static str {
        self.nic.kernel_if()
    }

    /// A path in the test's scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs `ip ARGS` inside the namespace; panics if it fails. Returns its output.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.ns];
        all.extend_from_slice(args);
        crate::common::run("ip", &all)
    }

    /// Runs a `sh -c SCRIPT` inside the namespace; panics if it fails. Returns its output.
    pub fn sh(&self, script: &str) -> String {
        self.tool("sh")
            .args(["-c", script])
            .run()
            .unwrap_or_else(|e| panic!("{e}"))
            .success()
            .stdout
    }

    /// A command for the installed tool `name`, to run inside the namespace.
    pub fn tool(&self, name: &str) -> Cmd {
        let path = crate::common::find_tool(name)
            .unwrap_or_else(|| panic!("the `{name}` command is not installed"));
        Cmd::new(&self.ns, path)
    }

    /// A command for the example `name` on this lab's link, with `--nic`, `--ip` and a
    /// `--capture` file named after `label` (checked by [`Lab::check_captures`]).
    pub fn example(&self, name: &str, label: &str) -> Cmd {
        let capture = self.path(&format!("{label}.pcap"));
        self.unchecked.borrow_mut().push(capture.clone());
        Cmd::new(&self.ns, example_binary(name))
            .args(["--nic", self.nic.flag()])
            .args(["--ip", &format!("{}/24", self.stack_ip)])
            .arg("--capture")
            .arg(capture.to_str().expect("a UTF-8 temporary directory"))
    }

    /// Starts server example `name` (with `args` added) and waits until it prints
    /// `listening on IP:PORT` with this lab's address and `port`.
    pub fn start_server(&self, name: &str, label: &str, port: u16, args: &[&str]) -> Server {
        let mut child = self
            .example(name, label)
            .args(["--port", &port.to_string()])
            .args(args)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let expected = format!("listening on {}:{port}", self.stack_ip);
        let started = poll_until(Duration::from_secs(60), || {
            let out = child.stdout_so_far();
            if out.lines().next().is_some_and(|l| l == expected) {
                Some(true)
            } else if child.has_exited() {
                Some(false)
            } else {
                None
            }
        });
        if started != Some(true) {
            let what = match started {
                Some(_) => "exited before its startup line".to_owned(),
                None => format!("did not print `{expected}` within 60 s"),
            };
            panic!(
                "{}",
                child.stop(libc::SIGKILL, Duration::ZERO).describe(&what)
            );
        }
        Server { child: Some(child) }
    }

    /// Waits (at most 30 s) until a kernel socket listens on TCP `port` in the namespace.
    pub fn wait_kernel_listening(&self, port: u16) {
        let filter = format!("sport = :{port}");
        let found = poll_until(Duration::from_secs(30), || {
            let out = self.tool("ss").args(["-Hltn", &filter]).run().ok()?;
            out.stdout.contains("LISTEN").then_some(())
        });
        assert!(found.is_some(), "nothing listens on port {port} after 30 s");
    }

    /// Checks every capture the examples wrote with tshark (see [`tools::check_capture`]) and
    /// deletes each one that passes.
    pub fn check_captures(&self) {
        let captures: Vec<PathBuf> = self.unchecked.borrow_mut().drain(..).collect();
        for capture in captures {
            let frames = tools::check_capture(&capture);
            self.log(format_args!(
                "tshark: {} ({frames} frames) is clean",
                capture.display()
            ));
            let _ = std::fs::remove_file(&capture);
        }
    }

    /// The end of a test: checks the captures and the kernel's error counters (the kernel is
    /// a strict checker of what sockeye sent: a bad checksum or header is dropped and counted).
    pub fn finish(self) {
        self.check_captures();
        tools::check_kernel_counters(&self);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.created {
            let _ = crate::common::try_run("ip", &["netns", "del", &self.ns]);
        }
        if std::thread::panicking() {
            eprintln!(
                "{}: failed; captures and files kept in {}",
                self.ns,
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// An example running as a server in a lab; killed if dropped while running.
pub struct Server {
    child: Option<Spawned>,
}

impl Server {
    /// Stops the server with SIGTERM (it prints its counters and exits 0), checks that it
    /// exited cleanly, and returns what it printed.
    pub fn stop(mut self) -> Finished {
        let child = self.child.take().expect("running");
        let finished = child.stop(libc::SIGTERM, Duration::from_secs(30));
        let clean = finished.status.success() && !finished.stderr.contains("panicked");
        assert!(clean, "{}", finished.describe("did not stop cleanly"));
        finished
    }
}

impl Drop for Server {
    /// After a failure the server is stopped with SIGTERM, so that it prints its counters, and
    /// everything it printed is shown; otherwise it is killed.
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            if std::thread::panicking() {
                let finished = child.stop(libc::SIGTERM, Duration::from_secs(10));
                println!("{}", finished.describe("stopped after the failure"));
            } else {
                child.stop(libc::SIGKILL, Duration::ZERO);
            }
        }
    }
}

/// Deletes the namespaces (and scratch directories) an earlier run of this suite left behind
/// when it was killed: the names end in the pid of the test process that made them, and only
/// those whose process no longer exists are deleted.
fn remove_stale_namespaces() {
    let Ok(list) = crate::common::try_run("ip", &["netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(pid) = name
            .strip_prefix("sk-interop-")
            .and_then(|rest| rest.rsplit('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = crate::common::try_run("ip", &["netns", "del", name]);
            let _ = std::fs::remove_dir_all(std::env::temp_dir().join(name));
        }
    }
}

/// The path of example `name`'s binary, which `cargo test` builds next to the test binaries
/// (`target/<profile>/examples/`).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir: &Path = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --examples` (cargo test builds them unless a single \
         test target is selected)",
        path.display()
    );
    path
}
