//! Child processes for the interop suite. Every program that uses the network runs inside the
//! test's namespace (`ip netns exec NS PROGRAM ...`); only tshark, which reads capture files,
//! runs outside it. Each one runs in a process group of its own, with a deadline.
//!
//! - [`Cmd`] describes one program: its arguments, standard input (nothing or a file) and what
//!   happens to its standard output (kept, or hashed with SHA-256 as it streams, so that a
//!   100 MB download never sits in memory). [`Cmd::run`] runs it to the end; [`Cmd::spawn`]
//!   starts it in the background.
//! - A [`Spawned`] child is killed (SIGKILL to its process group, by pid) and reaped when it is
//!   dropped while still running, also when the test panics; a deadline that passes does the
//!   same and becomes an error that shows the command line and what the program printed.
//! - Only processes the suite started are ever signalled, and only while they are known to be
//!   unreaped (so their pid cannot have been reused). Should the test process be killed, its
//!   children get SIGKILL from the kernel (`PR_SET_PDEATHSIG`).

use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// What happens to a program's standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Kept in memory (small outputs: status lines, JSON, reports).
    Keep,
    /// Hashed as it streams; only the SHA-256 and the byte count are kept.
    Hash,
}

/// A program to run (inside a namespace, unless made by [`Cmd::offline`]).
#[derive(Debug, Clone)]
pub struct Cmd {
    /// The namespace to run in; `None` for a program that touches no network.
    ns: Option<String>,
    program: PathBuf,
    args: Vec<String>,
    stdin: Option<PathBuf>,
    output: Output,
    timeout: Duration,
}

/// What a finished program did.
#[derive(Debug)]
pub struct Finished {
    /// The command line, for messages.
    pub line: String,
    /// How it ended.
    pub status: ExitStatus,
    /// Its standard output ([`Output::Keep`]), lossily decoded.
    pub stdout: String,
    /// Its standard error, lossily decoded.
    pub stderr: String,
    /// The SHA-256 (lowercase hex) and length of its standard output ([`Output::Hash`]).
    pub hash: Option<(String, u64)>,
}

impl Finished {
    /// Panics (showing the command and its output) unless the program exited with status 0.
    pub fn success(self) -> Finished {
        assert!(self.status.success(), "{}", self.describe("failed"));
        self
    }

    /// A message about this run: `what` happened, then the exit status and the output.
    pub fn describe(&self, what: &str) -> String {
        let mut s = format!("`{}` {what} ({})", self.line, self.status);
        if !self.stdout.is_empty() {
            let _ = write!(s, "\n--- stdout:\n{}", tail(&self.stdout));
        }
        if !self.stderr.is_empty() {
            let _ = write!(s, "\n--- stderr:\n{}", tail(&self.stderr));
        }
        s
    }

    /// The hash of the standard output, which must have been [`Output::Hash`]ed.
    pub fn hash(&self) -> (&str, u64) {
        let (hex, len) = self.hash.as_ref().expect("the output was not hashed");
        (hex, *len)
    }
}

/// The last 4,000 characters of `text` (outputs can be long; the end says what went wrong).
fn tail(text: &str) -> &str {
    let mut start = text.len().saturating_sub(4000);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

impl Cmd {
    /// `program` (a path) with no arguments, to run in namespace `ns`; by default standard
    /// input is empty, standard output is kept and the deadline is 60 s.
    pub fn new(ns: &str, program: impl Into<PathBuf>) -> Cmd {
        Cmd {
            ns: Some(ns.to_owned()),
            program: program.into(),
            args: Vec::new(),
            stdin: None,
            output: Output::Keep,
            timeout: Duration::from_secs(60),
        }
    }

    /// `program` run outside any namespace the suite made: only for programs that touch no
    /// network (tshark reading a capture file).
    pub fn offline(program: impl Into<PathBuf>) -> Cmd {
        Cmd {
            ns: None,
            ..Cmd::new("", program)
        }
    }

    /// Adds arguments.
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Cmd {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<str>) -> Cmd {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Feeds the file at `path` to standard input.
    pub fn stdin_file(mut self, path: impl Into<PathBuf>) -> Cmd {
        self.stdin = Some(path.into());
        self
    }

    /// Says what to do with standard output.
    pub fn output(mut self, output: Output) -> Cmd {
        self.output = output;
        self
    }

    /// The deadline: the program is killed and the run fails after this long.
    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = timeout;
        self
    }

    /// The command line as a shell would show it (without the `ip netns exec` prefix).
    pub fn line(&self) -> String {
        let mut line = self.program.display().to_string();
        for a in &self.args {
            line.push(' ');
            line.push_str(a);
        }
        line
    }

    /// Runs the program to the end (or its deadline).
    pub fn run(self) -> Result<Finished, String> {
        let timeout = self.timeout;
        self.spawn()?.wait(timeout)
    }

    /// Starts the program; the returned child is killed if dropped while running.
    pub fn spawn(self) -> Result<Spawned, String> {
        let line = self.line();
        let stdin = match &self.stdin {
            None => Stdio::null(),
            Some(path) => std::fs::File::open(path)
                .map_err(|e| format!("`{line}`: opening {}: {e}", path.display()))?
                .into(),
        };
        let mut command = match &self.ns {
            Some(ns) => {
                let ip = crate::common::find_tool("ip").ok_or("`ip` is not installed")?;
                let mut command = Command::new(ip);
                command.args(["netns", "exec", ns]).arg(&self.program);
                command
            }
            None => Command::new(&self.program),
        };
        command
            .args(&self.args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own: the deadline or the guard kills whatever it started too.
            .process_group(0);
        // SAFETY: the closure runs in the child between fork and exec and only makes one
        // async-signal-safe system call.
        unsafe {
            // Killed with the test's thread, should the test process itself be killed.
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let mut child = command.spawn().map_err(|e| format!("`{line}`: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let output = self.output;
        let keep = out.clone();
        let stdout_reader = thread::spawn(move || read_stream(stdout, output, &keep));
        let keep = err.clone();
        let stderr_reader = thread::spawn(move || read_stream(stderr, Output::Keep, &keep));
        Ok(Spawned {
            line,
            child: Some(child),
            out,
            err,
            readers: vec![stdout_reader, stderr_reader],
        })
    }
}

/// Reads `stream` to its end, appending to `keep` or hashing; returns the hash when hashing.
fn read_stream(
    mut stream: impl Read,
    output: Output,
    keep: &Mutex<Vec<u8>>,
) -> Option<(String, u64)> {
    let mut buf = vec![0; 256 * 1024];
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        len += n as u64;
        match output {
            Output::Keep => keep.lock().unwrap().extend_from_slice(&buf[..n]),
            Output::Hash => hasher.update(&buf[..n]),
        }
    }
    (output == Output::Hash).then(|| (format!("{:x}", hasher.finalize()), len))
}

/// A running program (see the module documentation).
pub struct Spawned {
    line: String,
    child: Option<Child>,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<Option<(String, u64)>>>,
}

impl Spawned {
    /// The standard output kept so far.
    pub fn stdout_so_far(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// The standard error so far.
    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }

    /// Whether the program has exited (it is not reaped by this).
    pub fn has_exited(&mut self) -> bool {
        match self.child.as_mut() {
            None => true,
            Some(c) => !matches!(c.try_wait(), Ok(None)),
        }
    }

    /// Waits until the program exits; after `timeout` it is killed and this is an error.
    pub fn wait(mut self, timeout: Duration) -> Result<Finished, String> {
        let deadline = Instant::now() + timeout;
        let mut child = self.child.take().expect("not waited for yet");
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    kill_group(&mut child, libc::SIGKILL);
                    let _ = child.wait();
                    let finished = self.collect(ExitStatus::from_raw(libc::SIGKILL));
                    return Err(finished.describe(&format!("ran longer than {timeout:?}")));
                }
                Err(e) => return Err(format!("`{}`: waiting: {e}", self.line)),
            }
        };
        Ok(self.collect(status))
    }

    /// Sends `signal` to the program's process group and waits (at most `grace`) for it to
    /// exit; after that it is killed. Returns how it ended.
    pub fn stop(mut self, signal: libc::c_int, grace: Duration) -> Finished {
        let mut child = self.child.take().expect("not waited for yet");
        if let Ok(None) = child.try_wait() {
            kill_group(&mut child, signal);
        }
        let deadline = Instant::now() + grace;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    kill_group(&mut child, libc::SIGKILL);
                    break child.wait().unwrap_or(ExitStatus::from_raw(libc::SIGKILL));
                }
            }
        };
        self.collect(status)
    }

    /// Joins the output readers (they end when the process group's pipes close; a straggler
    /// that kept a pipe open is not waited for beyond a few seconds).
    fn collect(&mut self, status: ExitStatus) -> Finished {
        let mut hash = None;
        let deadline = Instant::now() + Duration::from_secs(10);
        for reader in self.readers.drain(..) {
            while !reader.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            if reader.is_finished() {
                if let Ok(Some(h)) = reader.join() {
                    hash = Some(h);
                }
            }
        }
        Finished {
            line: self.line.clone(),
            status,
            stdout: self.stdout_so_far(),
            stderr: self.stderr_so_far(),
            hash,
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(None) = child.try_wait() {
                kill_group(child, libc::SIGKILL);
            }
            let _ = child.wait();
        }
    }
}

/// Sends `signal` to the process group led by `child`, which has not been reaped (so its pid,
/// and the group's id, still belong to it).
fn kill_group(child: &mut Child, signal: libc::c_int) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with the negated pid of a child this suite started in its own group and
    // has not reaped yet; no memory is involved.
    unsafe { libc::kill(-pgid, signal) };
}

/// Polls `ready` every 20 ms until it returns `Some` or `timeout` passes (`None`).
pub fn poll_until<T>(timeout: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = ready() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}
