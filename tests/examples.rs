//! The examples, run as the programs they are: each one's `--self-test` on the in-process
//! loopback (exit status and the key lines of its output), the servers' startup line
//! (`listening on IP:PORT`) and their clean exit with the counters on SIGTERM, `--sysctl`
//! reaching the stack, and bad flags giving a clear error and a non-zero exit, never a panic.
//!
//! The binaries are the ones `cargo test` builds next to this test
//! (`target/<profile>/examples/`); a test run that selects only this target (`--test
//! examples`) does not build them, so run `cargo build --examples` first in that case.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The longest any example may run before the test kills it and fails.
const DEADLINE: Duration = Duration::from_secs(60);

/// The path of example `name`'s binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/examples-HASH -> target/<profile>/examples/NAME
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
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

/// A command for example `name` with `args`, its environment clear of `SOCKEYE_*` (the
/// examples fall back to it when given no network flag).
fn command(name: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(example(name));
    cmd.args(args);
    for var in ["NIC", "IP", "GATEWAY", "CAPTURE", "SYSCTL"] {
        cmd.env_remove(format!("SOCKEYE_{var}"));
    }
    cmd
}

/// Waits for `child` (at most [`DEADLINE`]) and collects its output, reading its pipes while
/// it runs.
fn wait(child: Child, what: &str) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(out) => out.expect("reading a child's output"),
        Err(_) => {
            // SAFETY: kill(2) on the pid of a child this test started; it has not been
            // reaped (its waiting thread has not returned).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let out = rx
                .recv()
                .expect("the waiting thread")
                .expect("a child's output");
            panic!(
                "{what} ran for more than {DEADLINE:?}; its output:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

/// Runs example `name` with `args` to the end; returns its exit code, stdout and stderr.
fn run(name: &str, args: &[&str]) -> (i32, String, String) {
    let child = command(name, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting an example");
    let out = wait(child, &format!("{name} {args:?}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "{name} {args:?} panicked:\n{stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// Runs `name --self-test ARGS`, checks it succeeded and printed every line in `expected`
/// and the counters; returns its stdout.
fn self_test(name: &str, args: &[&str], expected: &[&str]) -> String {
    let mut all = vec!["--self-test"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(name, &all);
    assert_eq!(code, 0, "{name} {all:?} failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("listening on 127.0.0.1:"),
        "{name}: no startup line:\n{stdout}"
    );
    for line in expected
        .iter()
        .chain(&["self-test passed", "#sockeye", "TcpPassiveOpens"])
    {
        assert!(stdout.contains(line), "{name}: no {line:?} in:\n{stdout}");
    }
    stdout
}

#[test]
fn echo_self_test() {
    self_test(
        "echo",
        &["--bytes", "262144"],
        &["8 clients each sent 262144 bytes and got every byte back in order"],
    );
}

#[test]
fn http_self_test_checks_every_route() {
    let line = |request: &str, result: &str| format!("{request:<24} -> {result}");
    let expected = [
        line("GET /", "200"),
        line(
            "GET /bytes/1048576",
            "200, 1048576 bytes, every byte (i % 251)",
        ),
        line(
            "POST /echo",
            "200, 1048576 bytes sent and echoed back intact",
        ),
        line("GET /nowhere", "404"),
        line(
            "10 x 20 GET /bytes/1000",
            "10 keep-alive clients at once: all 200 and intact",
        ),
        line("GET /stats", "200, JSON:"),
        "#listeners".to_string(),
    ];
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    let out = self_test("http", &["--bytes", "1048576"], &expected);
    // The /stats line reports what the JSON held (parsed by the example with serde_json).
    let stats = out.lines().find(|l| l.starts_with("GET /stats")).unwrap();
    assert!(stats.contains("1 listener(s)"), "{stats}");
    assert!(stats.contains("TcpPassiveOpens 11"), "{stats}");
}

#[test]
fn tinyhttp_self_test() {
    self_test(
        "tinyhttp",
        &[],
        &[
            "3 pipelined requests on one connection, answered in order",
            "GET /json      -> 200 {\"message\":\"Hello, World!\"}",
        ],
    );
}

#[test]
fn proxy_self_test() {
    self_test(
        "proxy",
        &["--bytes", "262144"],
        &[
            "upstream echo server on 127.0.0.1:",
            "4 connections through the proxy each echoed 262144 bytes intact",
        ],
    );
}

#[test]
fn chat_self_test() {
    self_test(
        "chat",
        &[],
        &[
            "  bob <- alice: hello, everyone",
            "  carol <- alice: hello, everyone",
            "  alice <- carol has left the chat",
        ],
    );
}

#[test]
fn client_self_test_runs_every_mode() {
    let out = self_test(
        "client",
        &["--connections", "2", "--duration", "0.2"],
        &[
            "bulk to 127.0.0.1:",
            "pingpong to 127.0.0.1:",
            "round trips, ",
            "connect to 127.0.0.1:",
            "connections, ",
            "http to 127.0.0.1:",
            "requests, ",
            "latency p50 ",
        ],
    );
    assert_eq!(out.matches("latency p50 ").count(), 3, "{out}");
}

/// The sha256 the client prints is the hash of the bytes it received: the `(i % 251)`
/// pattern, hashed here independently.
#[test]
fn client_prints_the_sha256_of_what_it_received() {
    let expected = |len: u64| {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        format!("{:x}", Sha256::digest(&data))
    };
    let out = self_test(
        "client",
        &[
            "--mode",
            "http",
            "--bytes",
            "300000",
            "--requests",
            "2",
            "--sha256",
        ],
        &["2 requests, "],
    );
    let line = format!("sha256 {} conn 0, 300000 bytes", expected(300_000));
    assert!(out.contains(&line), "no {line:?} in:\n{out}");
    let out = self_test(
        "client",
        &["--mode", "bulk", "--bytes", "123457", "--sha256"],
        &["sent 123457 B"],
    );
    let line = format!("sha256 {} conn 0, 123457 bytes", expected(123_457));
    assert!(out.contains(&line), "no {line:?} in:\n{out}");
}

/// `--sysctl` reaches the stack: with `tcp_syncookies=2` every SYN is answered with a cookie,
/// which the listener's line shows.
#[test]
fn sysctl_reaches_the_stack() {
    let out = self_test(
        "echo",
        &["--bytes", "1000", "--sysctl", "net.ipv4.tcp_syncookies=2"],
        &["cookies sent 8 recv 8 failed 0"],
    );
    assert!(out.contains("TcpExtSyncookiesSent"), "{out}");
}

#[test]
fn bad_flags_give_a_clear_error_and_a_nonzero_exit() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "http",
            &["--sysctl", "tcp_bogus=1"],
            "unknown setting `tcp_bogus`",
        ),
        (
            "echo",
            &["--sysctl", "tcp_syn_retries=many"],
            "invalid --sysctl",
        ),
        (
            "chat",
            &["--sysctl", "tcp_syn_retries"],
            "invalid --sysctl `tcp_syn_retries`",
        ),
        (
            "http",
            &["--ip", "10.0.0.300/24"],
            "invalid --ip `10.0.0.300/24`",
        ),
        ("tinyhttp", &["--ip", "10.0.0.2"], "invalid --ip `10.0.0.2`"),
        ("http", &["--nic", "tap:sk0"], "--ip is not set"),
        (
            "http",
            &["--nic", "tun:x", "--ip", "10.0.0.2/24"],
            "invalid --nic `tun:x`",
        ),
        ("echo", &["--gateway", "10.9.9.1"], "invalid --gateway"),
        ("proxy", &[], "--upstream ADDR:PORT is required"),
        ("client", &[], "--target ADDR:PORT is required"),
        (
            "client",
            &["--mode", "sideways"],
            "invalid value 'sideways'",
        ),
    ];
    for (name, args, message) in cases {
        let (code, stdout, stderr) = run(name, args);
        assert_ne!(code, 0, "{name} {args:?} succeeded:\n{stdout}");
        assert!(
            stderr.contains(message),
            "{name} {args:?}: no {message:?} in:\n{stderr}"
        );
        assert!(
            !stdout.contains("listening on"),
            "{name} {args:?} started anyway"
        );
    }
}

/// A server prints exactly `listening on IP:PORT` first and serves until SIGTERM, then prints
/// the counters and exits 0.
#[test]
fn servers_announce_themselves_and_stop_on_sigterm() {
    let servers: &[(&str, &[&str])] = &[
        ("echo", &[]),
        ("http", &[]),
        ("tinyhttp", &[]),
        ("chat", &[]),
        ("proxy", &["--upstream", "127.0.0.1:9"]),
    ];
    for (name, extra) in servers {
        let mut args = vec!["--port", "4321"];
        args.extend_from_slice(extra);
        let mut child = command(name, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting an example");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert_eq!(first, "listening on 127.0.0.1:4321\n", "{name}");
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill failed");
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let out = wait(child, name);
        assert_eq!(out.status.code(), Some(0), "{name}:\n{rest}");
        assert!(rest.contains("stopping on SIGTERM"), "{name}:\n{rest}");
        assert!(
            rest.contains("#listeners\n127.0.0.1:4321"),
            "{name}:\n{rest}"
        );
    }
}

/// A directory of this test process's own for one test's files.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sockeye-examples-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `--capture` records the self-test's frames into a pcap file.
#[test]
fn capture_records_the_frames() {
    let dir = temp_dir("capture");
    let path = dir.join("echo.pcap");
    let shown = path.to_str().unwrap();
    self_test("echo", &["--bytes", "10000", "--capture", shown], &[]);
    let file = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    // A classic pcap header (either timestamp resolution, little-endian), then records.
    let magic = u32::from_le_bytes(file[..4].try_into().unwrap());
    assert!(
        magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d,
        "magic {magic:#x}"
    );
    let mut offset = 24;
    let mut frames = 0;
    while offset + 16 <= file.len() {
        let len = u32::from_le_bytes(file[offset + 8..offset + 12].try_into().unwrap());
        offset += 16 + len as usize;
        frames += 1;
    }
    assert_eq!(offset, file.len(), "the last record is cut short");
    // 8 connections' handshakes, data and closes, each frame seen once.
    assert!(frames > 8 * 7, "only {frames} frames");
}

/// On a device other than the loopback (here a pcap device replaying an empty file) a
/// self-test reaches its own servers all the same: the stack delivers traffic to its own
/// address internally, so it passes and nothing of it is written to the device.
#[test]
fn a_self_test_off_the_loopback_stays_inside_the_stack() {
    let dir = temp_dir("off-loopback");
    let input = dir.join("empty.pcap");
    let mut header = Vec::new();
    for field in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        header.extend_from_slice(&field.to_le_bytes());
    }
    std::fs::write(&input, &header).unwrap();
    for name in ["http", "echo", "client"] {
        let output = dir.join(format!("{name}-out.pcap"));
        let nic = format!("pcap:{},{}", input.display(), output.display());
        let (code, stdout, stderr) =
            run(name, &["--self-test", "--nic", &nic, "--ip", "10.0.0.2/24"]);
        assert_eq!(code, 0, "{name}:\n{stdout}\n{stderr}");
        let written = std::fs::read(&output).unwrap();
        assert_eq!(written.len(), 24, "{name}: frames reached the device");
    }
    let _ = std::fs::remove_dir_all(dir);
}
