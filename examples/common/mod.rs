//! What every example shares: the network flags (`--nic`, `--ip`, `--gateway`, `--port`,
//! `--capture`, `--sysctl`, `--self-test`), building the runtime from them, the startup line a
//! test harness parses (`listening on IP:PORT`), the counters print, and a clean exit on
//! SIGINT/SIGTERM. The flags are parsed by the runtime's own [`Network::from_flags`], the same
//! parser as the `SOCKEYE_*` environment variables, so a value means the same in both.
//!
//! Each example includes this with `mod common;`; not every example uses every item.

#![allow(dead_code)]

pub mod http_app;
pub mod pattern;
pub mod stats_json;

use std::error::Error;
use std::future::Future;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::process::ExitCode;

use sockeye::runtime::{Builder, Network, NetworkFlags};
use sockeye::sync::oneshot;

/// The error type the examples' bodies return.
pub type BoxError = Box<dyn Error>;

/// The flags every example takes. With none of the network flags, the `SOCKEYE_*` environment
/// variables are read instead (and with none of those, the in-process loopback with
/// `127.0.0.1/8` is used).
#[derive(clap::Args, Debug, Clone)]
pub struct NetArgs {
    /// The network device: `loopback` (in-process, no privileges), `tap:NAME`, `raw:IFACE`
    /// (AF_PACKET) or `pcap:IN,OUT` (replay IN, record to OUT).
    #[arg(long, value_name = "DEVICE")]
    pub nic: Option<String>,
    /// The stack's address and prefix on the device, e.g. 10.80.0.2/24 (default on the
    /// loopback: 127.0.0.1/8; required otherwise).
    #[arg(long, value_name = "ADDR/PREFIX")]
    pub ip: Option<String>,
    /// A default gateway on the link.
    #[arg(long, value_name = "ADDR")]
    pub gateway: Option<String>,
    /// The TCP port to listen on (0: any free port).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Record every frame of the interface into this pcap file.
    #[arg(long, value_name = "FILE.pcap")]
    pub capture: Option<PathBuf>,
    /// A stack setting by its Linux sysctl name, e.g. `tcp_syncookies=2` or
    /// `net.ipv4.tcp_rmem=4096 131072 6291456` (repeatable).
    #[arg(long = "sysctl", value_name = "NAME=VALUE")]
    pub sysctl: Vec<String>,
    /// Drive the example with an in-process client, print the results and the stack's
    /// counters, and exit (0 when everything checked out).
    #[arg(long)]
    pub self_test: bool,
}

impl NetArgs {
    /// The network the flags describe (or the environment's, when no network flag is given).
    pub fn network(&self) -> io::Result<Network> {
        let given = self.nic.is_some()
            || self.ip.is_some()
            || self.gateway.is_some()
            || self.capture.is_some()
            || !self.sysctl.is_empty();
        if !given {
            return Network::from_env();
        }
        Network::from_flags(&NetworkFlags {
            nic: self.nic.as_deref(),
            ip: self.ip.as_deref(),
            gateway: self.gateway.as_deref(),
            capture: self.capture.as_deref(),
            sysctl: &self.sysctl,
        })
    }

    /// `--port`, or `default`.
    pub fn port_or(&self, default: u16) -> u16 {
        self.port.unwrap_or(default)
    }
}

/// What an example's body knows about its network.
#[derive(Debug, Clone)]
pub struct Env {
    /// The stack's own address.
    pub ip: Ipv4Addr,
    /// Whether the device is the in-process loopback.
    pub loopback: bool,
    /// The device as `--nic` writes it.
    pub nic: String,
    /// `--port`, if given.
    pub port: Option<u16>,
    /// `--self-test`.
    pub self_test: bool,
}

impl Env {
    /// The stack's address with `port`.
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.ip, port))
    }

    /// Where to listen: the stack's address with `--port`, or with `default_port`.
    pub fn listen_addr(&self, default_port: u16) -> SocketAddr {
        self.addr(self.port.unwrap_or(default_port))
    }
}

/// Builds the runtime for `args` and runs `body` on it. A bad flag or a device that cannot be
/// opened prints `error: ...` and gives exit code 2; an error from `body` prints it and gives 1.
pub fn run<F, Fut>(args: &NetArgs, body: F) -> ExitCode
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let network = match args.network() {
        Ok(network) => network,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let env = Env {
        ip: network.addr().addr(),
        loopback: network.is_loopback(),
        nic: network.nic(),
        port: args.port,
        self_test: args.self_test,
    };
    let runtime = match Builder::new_current_thread()
        .enable_all()
        .network(network)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(body(env)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = io::stdout().flush();
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the startup line, exactly `listening on IP:PORT`, then `hints` (how to reach the
/// server), and flushes stdout so that a harness reading a pipe sees them at once.
pub fn announce(addr: SocketAddr, env: &Env, hints: &[String]) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}");
    let _ = writeln!(out, "  on sockeye's own TCP/IP stack, device {}", env.nic);
    for hint in hints {
        let _ = writeln!(out, "  {hint}");
    }
    let _ = out.flush();
}

/// Prints the stack's counters (like `nstat -a`), each listener's queues and counters, and
/// the TCP socket table (like `ss -tan`; with more than [`SOCKET_ROWS`] sockets, how many are
/// in each state instead).
pub fn print_stats() {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", sockeye::stack::nstat());
    let sockets = sockeye::stack::sockets();
    if sockets.entries().len() <= SOCKET_ROWS {
        let _ = write!(out, "{sockets}");
    } else {
        let mut states: Vec<(&str, usize)> = Vec::new();
        for e in sockets.entries() {
            match states.iter_mut().find(|(name, _)| *name == e.state.name()) {
                Some((_, n)) => *n += 1,
                None => states.push((e.state.name(), 1)),
            }
        }
        let counts: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let _ = writeln!(
            out,
            "{} TCP sockets: {}",
            sockets.entries().len(),
            counts.join(", ")
        );
    }
    let _ = out.flush();
}

/// The most sockets [`print_stats`] lists one by one.
pub const SOCKET_ROWS: usize = 40;

/// Resolves when the process gets SIGINT or SIGTERM (a server then prints its counters and
/// exits 0). From this call on, the signals are blocked (on this thread and the threads it
/// starts) and taken by a thread waiting in `sigwait`, which wakes the runtime through a
/// channel.
pub fn shutdown_signal() -> impl Future<Output = &'static str> {
    let (tx, rx) = oneshot::channel();
    // SAFETY: the signal set is initialised by sigemptyset before use, and pthread_sigmask and
    // sigwait only read it.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut signal = 0;
            // SAFETY: `set` is a valid signal set and `signal` a valid out-pointer.
            let rc = unsafe { libc::sigwait(&set, &mut signal) };
            let name = match (rc, signal) {
                (0, libc::SIGINT) => "SIGINT",
                (0, _) => "SIGTERM",
                _ => "a failed sigwait",
            };
            let _ = tx.send(name);
        });
    async move {
        match spawned {
            Ok(_) => rx.await.unwrap_or("a lost signal thread"),
            Err(_) => std::future::pending().await,
        }
    }
}

/// Serves until `signal` (from [`shutdown_signal`], called before the startup line so that a
/// signal right after it is caught), then prints the counters. `serve` normally never
/// returns; if it does (with an error), that error is the result.
pub async fn serve_until_signal<G, S>(signal: G, serve: S) -> Result<(), BoxError>
where
    G: Future<Output = &'static str>,
    S: Future<Output = Result<(), BoxError>>,
{
    // The counters are printed before `serve` (and its listener) is dropped.
    let stop = async {
        let name = signal.await;
        println!("stopping on {name}");
        print_stats();
    };
    sockeye::select! {
        result = serve => result,
        () = stop => Ok(()),
    }
}

/// Mbit/s for `bytes` in `secs` seconds.
pub fn mbit_per_s(bytes: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    bytes as f64 * 8.0 / secs / 1e6
}

/// Fails with `message` unless `ok`.
pub fn check(ok: bool, message: impl Into<String>) -> Result<(), BoxError> {
    if ok {
        Ok(())
    } else {
        Err(message.into().into())
    }
}
