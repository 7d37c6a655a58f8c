//! The many-connections workload: open `n` established connections (both ends in this process),
//! then send one byte on each, round-robin, and measure the memory they hold.
//!
//! Memory per connection is the growth of the process's resident set (`/proc/self/statm`) from
//! before the first connect (after `malloc_trim` gave freed heap back) to when all `n` are
//! established and idle, divided by `n`; it covers
//! both ends of each connection (two sockets) and the application's stream objects. For tokio the
//! sockets live in the kernel, outside the RSS: the report adds the kernel's growth, read from
//! `/proc/meminfo` (`Slab`: socket structures, inodes, files, epoll items) and
//! `/proc/net/sockstat` (`TCP mem`: pages charged to socket buffers). Both are machine-wide, so
//! other activity on the machine shows up in them as noise.
//!
//! One destination address and port offers the 28,232 ports of Linux's default
//! `ip_local_port_range` (sockeye uses the same range), so the connections are spread over one
//! listener per [`CONNECTIONS_PER_LISTENER`]. Kernel sockets need two descriptors per
//! connection: [`kernel_capacity`] lifts `RLIMIT_NOFILE` first, and where the hard limit stands
//! in the way (raising it needs `CAP_SYS_RESOURCE`) the kernel contender runs as many connections
//! as fit, if that is at least 90 % of those asked for (the report says how many), and fails
//! otherwise. At the end the clients are reset (`SO_LINGER` 0), so nothing is left in TIME_WAIT.

use std::fs;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Net, any_port};

/// Connections per listener (below the 28,232 ephemeral ports one destination offers).
pub const CONNECTIONS_PER_LISTENER: usize = 20_000;
/// Connects in flight at once while opening.
pub const OPEN_CONCURRENCY: usize = 64;
/// File descriptors kept for everything but the connections (listeners, epoll, stdio, ...).
const RESERVED_FDS: u64 = 256;

/// What one run of [`many`] measured.
#[derive(Clone, Copy, Debug)]
pub struct ManyReport {
    /// Connections asked for.
    pub requested: usize,
    /// Connections opened (fewer than asked for when the kernel's descriptors ran short).
    pub connections: usize,
    /// Time to open them all (connect and accept).
    pub open: Duration,
    /// Time to write one byte on each client and read it on each server side.
    pub round_robin: Duration,
    /// Growth of the process's resident set while opening, in bytes.
    pub rss_delta: i64,
    /// Growth of the kernel's slab and TCP buffer memory while opening, in bytes (kernel
    /// sockets only).
    pub kernel_delta: Option<i64>,
}

impl ManyReport {
    /// Memory per connection (both ends), process and kernel together, in bytes.
    pub fn bytes_per_connection(&self) -> f64 {
        (self.rss_delta + self.kernel_delta.unwrap_or(0)) as f64 / self.connections as f64
    }

    /// Connections opened and carrying their byte per second.
    pub fn rate(&self) -> f64 {
        self.connections as f64 / (self.open + self.round_robin).as_secs_f64()
    }

    /// One line for humans.
    pub fn describe(&self, name: &str) -> String {
        let per_conn = self.bytes_per_connection();
        let mut line = format!("{name}: ");
        if self.connections < self.requested {
            line += &format!(
                "{} of {} (RLIMIT_NOFILE) ",
                self.connections, self.requested
            );
        }
        line += &format!(
            "{} connections opened in {:.3} s, one byte each in {:.3} s ({:.0} connections/s); \
             memory {:.0} B per connection ({:.0} B per socket)",
            self.connections,
            self.open.as_secs_f64(),
            self.round_robin.as_secs_f64(),
            self.rate(),
            per_conn,
            per_conn / 2.0,
        );
        match self.kernel_delta {
            Some(kernel) => {
                line += &format!(
                    ": process RSS {:.0} B + kernel {:.0} B (machine-wide slab and socket memory)",
                    self.rss_delta as f64 / self.connections as f64,
                    kernel as f64 / self.connections as f64
                )
            }
            None => line += ": all of it in the process RSS",
        }
        line
    }
}

/// Opens `n` connections over `n / CONNECTIONS_PER_LISTENER` listeners (rounded up), sends one
/// byte on each, measures, then resets them all.
pub async fn many<N: Net>(requested: usize) -> io::Result<ManyReport> {
    let n = if N::KERNEL {
        kernel_capacity(requested)?
    } else {
        requested
    };
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for _ in 0..n.div_ceil(CONNECTIONS_PER_LISTENER) {
        let listener = N::bind(any_port()).await?;
        addrs.push(N::local_addr(&listener)?);
        listeners.push(Rc::new(listener));
    }
    let addrs = Rc::new(addrs);
    // Hand memory freed by earlier work back to the OS, so that what the connections take shows
    // as growth instead of reusing freed heap.
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
    let before = Memory::read(N::KERNEL)?;
    let start = Instant::now();
    let acceptors: Vec<_> = listeners
        .iter()
        .enumerate()
        .map(|(l, listener)| {
            let listener = listener.clone();
            let count = (l..n).step_by(addrs.len()).count();
            N::spawn(async move {
                let mut streams = Vec::with_capacity(count);
                for _ in 0..count {
                    streams.push(N::accept(&listener).await?);
                }
                Ok::<_, io::Error>(streams)
            })
        })
        .collect();
    let connectors: Vec<_> = (0..OPEN_CONCURRENCY.min(n))
        .map(|t| {
            let addrs = addrs.clone();
            N::spawn(async move {
                let mut streams = Vec::new();
                for i in (t..n).step_by(OPEN_CONCURRENCY) {
                    streams.push(N::connect(addrs[i % addrs.len()]).await?);
                }
                Ok::<_, io::Error>(streams)
            })
        })
        .collect();
    let mut clients = Vec::with_capacity(n);
    for connector in connectors {
        clients.extend(connector.await?);
    }
    let mut servers = Vec::with_capacity(n);
    for acceptor in acceptors {
        servers.extend(acceptor.await?);
    }
    let open = start.elapsed();
    let after = Memory::read(N::KERNEL)?;

    let start = Instant::now();
    for client in &mut clients {
        client.write_all(&[1]).await?;
    }
    let mut byte = [0; 1];
    for server in &mut servers {
        server.read_exact(&mut byte).await?;
    }
    let round_robin = start.elapsed();

    for client in &clients {
        N::set_linger_zero(client)?;
    }
    drop(clients);
    drop(servers);
    Ok(ManyReport {
        requested,
        connections: n,
        open,
        round_robin,
        rss_delta: after.rss - before.rss,
        kernel_delta: N::KERNEL.then(|| after.kernel - before.kernel),
    })
}

/// Memory figures at one moment, in bytes.
struct Memory {
    /// This process's resident set.
    rss: i64,
    /// The kernel's slab plus TCP socket buffer memory (when asked for).
    kernel: i64,
}

impl Memory {
    fn read(kernel: bool) -> io::Result<Memory> {
        let page = page_size();
        let statm = fs::read_to_string("/proc/self/statm")?;
        let rss_pages: i64 = field(&statm, 1, "/proc/self/statm")?;
        let kernel = if kernel {
            let meminfo = fs::read_to_string("/proc/meminfo")?;
            let slab_line = meminfo
                .lines()
                .find(|l| l.starts_with("Slab:"))
                .ok_or_else(|| io::Error::other("/proc/meminfo has no Slab line"))?;
            let slab_kb: i64 = field(slab_line, 1, "/proc/meminfo Slab")?;
            let sockstat = fs::read_to_string("/proc/net/sockstat")?;
            let tcp_line = sockstat
                .lines()
                .find(|l| l.starts_with("TCP:"))
                .ok_or_else(|| io::Error::other("/proc/net/sockstat has no TCP line"))?;
            let words: Vec<&str> = tcp_line.split_whitespace().collect();
            let mem_pages: i64 = words
                .iter()
                .position(|&w| w == "mem")
                .and_then(|i| words.get(i + 1))
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| io::Error::other("/proc/net/sockstat TCP has no mem figure"))?;
            slab_kb * 1024 + mem_pages * page
        } else {
            0
        };
        Ok(Memory {
            rss: rss_pages * page,
            kernel,
        })
    }
}

/// The `index`th whitespace-separated number of `text`.
fn field(text: &str, index: usize, what: &str) -> io::Result<i64> {
    text.split_whitespace()
        .nth(index)
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| io::Error::other(format!("cannot parse {what}")))
}

fn page_size() -> i64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as i64 } else { 4096 }
}

/// How many of `requested` kernel connections (two descriptors each) this process can open:
/// lifts the soft `RLIMIT_NOFILE` as far as needed and allowed (the hard limit too, which needs
/// `CAP_SYS_RESOURCE`); fails when fewer than 90 % of `requested` fit.
pub fn kernel_capacity(requested: usize) -> io::Result<usize> {
    let needed = 2 * requested as u64 + RESERVED_FDS;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur >= needed {
        return Ok(requested);
    }
    let wanted = libc::rlimit {
        rlim_cur: needed,
        rlim_max: limit.rlim_max.max(needed),
    };
    // SAFETY: `wanted` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
        return Ok(requested);
    }
    let refused = io::Error::last_os_error();
    let most = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: `most` is a valid rlimit (the soft limit up to the hard one is always allowed).
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &most) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let fits = (limit.rlim_max.saturating_sub(RESERVED_FDS) / 2) as usize;
    if fits * 10 >= requested * 9 {
        Ok(fits.min(requested))
    } else {
        Err(io::Error::new(
            refused.kind(),
            format!(
                "{requested} kernel connections need {needed} file descriptors; the hard \
                 RLIMIT_NOFILE is {} and cannot be raised ({refused}), which fits {fits}",
                limit.rlim_max
            ),
        ))
    }
}
