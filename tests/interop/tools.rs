//! The kernel-side tools and the checks the interop cases share: test data and its hashes,
//! curl and `GET /stats`, random loss with iptables, the kernel's error counters, and tshark
//! on the captures.
//!
//! **Loss.** `iptables -A OUTPUT -o IF -m statistic --mode random --probability P -j DROP`
//! alone does not lose the kernel's TCP data: a drop in the local output path returns `EPERM`
//! to TCP, which keeps the segment and sends it again later (no retransmission is counted and
//! sockeye never sees a hole; only pure ACKs are really lost). So [`add_loss`] drops, each with
//! probability P:
//! - on `INPUT`, frames from sockeye (`-j DROP`: sockeye must retransmit);
//! - on `OUTPUT`, the kernel's segments with `-j NFQUEUE` to a queue no program reads, which
//!   discards the packet while telling TCP it was sent (so the kernel retransmits, and sockeye
//!   reassembles out-of-order data); with segmentation offload (GSO) off on the kernel's
//!   interface, so that one drop is one segment, not a 64 KB burst.
//!
//! Both rules live in the test's namespace (its own iptables tables) and work with the nft and
//! the legacy backend.
//!
//! **tshark** ([`check_capture`]) reads each capture with checksum validation on (IPv4 and
//! TCP) and lists frames that are malformed or carry a bad checksum; there must be none, and
//! the capture must hold whole records. TCP reassembly and the HTTP dissector are off: the
//! frames are what is checked (the bodies are checked by their hashes), and with them tshark
//! reads a 200 MB capture in seconds instead of a minute.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::lab::Lab;
use super::process::{Cmd, Output};

/// The SHA-256 of `len` bytes of the examples' pattern (byte i is `(i % 251) as u8`).
pub fn pattern_sha256(len: u64) -> String {
    let period: Vec<u8> = (0..251u32).map(|i| i as u8).collect();
    // A block that is a whole number of periods, so every block starts at phase 0.
    let block: Vec<u8> = period.repeat(1024);
    let mut hasher = Sha256::new();
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        hasher.update(&block[..n]);
        left -= n as u64;
    }
    format!("{:x}", hasher.finalize())
}

/// Writes `len` pseudo-random bytes (xorshift64 from `seed`) to `path`; returns their SHA-256.
pub fn write_random_file(path: &Path, len: u64, seed: u64) -> String {
    let mut out = BufWriter::new(File::create(path).expect("creating a data file"));
    let mut hasher = Sha256::new();
    let mut state = seed | 1;
    let mut block = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        hasher.update(&block[..n]);
        out.write_all(&block[..n]).expect("writing a data file");
        left -= n as u64;
    }
    out.flush().expect("writing a data file");
    format!("{:x}", hasher.finalize())
}

/// A curl command in the lab: quiet but showing errors, failing on HTTP errors, never through
/// a proxy, and bounded by `max` (curl's own limit, below the command's deadline).
pub fn curl(lab: &Lab, max: Duration) -> Cmd {
    lab.tool("curl")
        .args(["-sS", "--fail", "--noproxy", "*"])
        .args(["--max-time", &max.as_secs().to_string()])
        .timeout(max + Duration::from_secs(20))
}

/// `GET /stats` from the http example at `port`, parsed.
pub fn stats(lab: &Lab, port: u16) -> serde_json::Value {
    let url = format!("http://{}:{port}/stats", lab.stack_ip);
    let out = curl(lab, Duration::from_secs(60))
        .arg(&url)
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("GET /stats is not JSON ({e}):\n{}", out.stdout))
}

/// A counter from `GET /stats` (absent counts as a failure).
pub fn counter(stats: &serde_json::Value, name: &str) -> u64 {
    stats["counters"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("GET /stats has no counter {name}"))
}

/// The listener on `port` from `GET /stats`.
pub fn listener(stats: &serde_json::Value, port: u16) -> &serde_json::Value {
    let suffix = format!(":{port}");
    stats["listeners"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|l| l["local"].as_str().is_some_and(|a| a.ends_with(&suffix)))
        })
        .unwrap_or_else(|| panic!("GET /stats shows no listener on port {port}: {stats}"))
}

/// The hash the client example printed for its first connection (`sha256 HEX conn 0, N
/// bytes`).
pub fn client_sha256(out: &str) -> (String, u64) {
    let line = out
        .lines()
        .find(|l| l.starts_with("sha256 ") && l.contains(" conn 0, "))
        .unwrap_or_else(|| panic!("the client printed no sha256 line:\n{out}"));
    let mut words = line.split_whitespace();
    let hex = words.nth(1).expect("a hash").to_owned();
    let len = words
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte count in `{line}`"));
    (hex, len)
}

/// The drop rules' chains and targets (see the module documentation).
const LOSS_RULES: [(&str, &str, &str); 2] = [("INPUT", "-i", "DROP"), ("OUTPUT", "-o", "NFQUEUE")];

/// Makes the kernel's side of the link lose each frame from and to sockeye with probability
/// `probability` (see the module documentation).
pub fn add_loss(lab: &Lab, probability: f64) {
    let iface = lab.kernel_if();
    lab.tool("ethtool")
        .args(["-K", iface, "gso", "off", "tso", "off"])
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    for (chain, dir, target) in LOSS_RULES {
        let mut cmd = lab
            .tool("iptables")
            .args([
                "-A",
                chain,
                dir,
                iface,
                "-m",
                "statistic",
                "--mode",
                "random",
            ])
            .args(["--probability", &probability.to_string(), "-j", target]);
        if target == "NFQUEUE" {
            // A queue nobody reads: the packet is dropped, TCP is told it left.
            cmd = cmd.args(["--queue-num", "4242"]);
        }
        cmd.run().unwrap_or_else(|e| panic!("{e}")).success();
    }
}

/// How many packets the loss rules dropped: `(from sockeye, to sockeye)`.
pub fn loss_drops(lab: &Lab) -> (u64, u64) {
    let count = |chain: &str, target: &str| -> u64 {
        let out = lab
            .tool("iptables")
            .args(["-L", chain, "-v", "-x", "-n"])
            .run()
            .unwrap_or_else(|e| panic!("{e}"))
            .success()
            .stdout;
        out.lines()
            .find(|l| l.contains(target) && l.contains("statistic"))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {target} rule in {chain}:\n{out}"))
    };
    let [(input, _, drop), (output, _, queue)] = LOSS_RULES;
    (count(input, drop), count(output, queue))
}

/// The kernel's `/proc/net/snmp` counters in the lab's namespace, as `Tcp.InCsumErrors` etc.
pub fn kernel_snmp(lab: &Lab) -> HashMap<String, u64> {
    let text = lab.sh("cat /proc/net/snmp");
    let mut counters = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((proto, names)), Some((_, values))) =
            (names.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Ok(v) = value.parse() {
                counters.insert(format!("{proto}.{name}"), v);
            }
        }
    }
    counters
}

/// Checks that the kernel dropped nothing sockeye sent as malformed: no bad IPv4 header, no
/// bad TCP checksum (`nstat` names: `IpInHdrErrors`, `TcpInCsumErrors`), and that it did
/// receive TCP segments (so the check means something).
pub fn check_kernel_counters(lab: &Lab) {
    let snmp = kernel_snmp(lab);
    let get = |name: &str| {
        *snmp
            .get(name)
            .unwrap_or_else(|| panic!("/proc/net/snmp has no {name}"))
    };
    assert!(get("Tcp.InSegs") > 0, "the kernel received no TCP segment");
    for name in ["Ip.InHdrErrors", "Tcp.InCsumErrors", "Tcp.InErrs"] {
        assert_eq!(get(name), 0, "the kernel's {name} in {}", lab.ns);
    }
}

/// The number of frames in the classic pcap file at `path`, checking that it holds whole
/// records (a capture cut short fails).
pub fn pcap_frames(path: &Path) -> u64 {
    let mut file = BufReader::new(
        File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display())),
    );
    let size = file.get_ref().metadata().expect("a capture's size").len();
    let mut header = [0u8; 24];
    file.read_exact(&mut header)
        .unwrap_or_else(|e| panic!("{}: no pcap header: {e}", path.display()));
    let magic = u32::from_le_bytes(header[..4].try_into().unwrap());
    assert!(
        magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d,
        "{}: not a little-endian classic pcap file (magic {magic:#x})",
        path.display()
    );
    let (mut at, mut frames) = (24u64, 0u64);
    let mut record = [0u8; 16];
    while at < size {
        file.read_exact(&mut record)
            .unwrap_or_else(|e| panic!("{}: record header at {at}: {e}", path.display()));
        let incl = u32::from_le_bytes(record[8..12].try_into().unwrap());
        at += 16 + u64::from(incl);
        assert!(
            at <= size,
            "{}: the last record is cut short",
            path.display()
        );
        file.seek(SeekFrom::Start(at))
            .expect("seeking in a capture");
        frames += 1;
    }
    frames
}

/// The display filter for frames that must not exist: malformed, or with a bad IPv4 or TCP
/// checksum, except a TCP checksum of 0xFFFF where tshark computes 0x0000. Both are zero in
/// ones' complement and pass a receiver's check (the sum over the segment); Linux writes 0xFFFF
/// when it completes a checksum in software (`skb_checksum_help`'s `CSUM_MANGLED_0`), about
/// once in 65,536 frames here, and tshark 4.0 calls that bad ("0xffff instead of 0x0000 (see
/// RFC 1624)").
const BAD_FRAMES: &str = "(_ws.malformed || tcp.checksum.status == \"Bad\" \
     || ip.checksum.status == \"Bad\") \
     && !(tcp.checksum == 0xffff && tcp.checksum_calculated == 0x0000)";

/// Checks a capture: it holds frames, in whole records, and tshark finds none malformed and
/// none with a bad IPv4 or TCP checksum (see the module documentation). Returns the number of
/// frames.
pub fn check_capture(path: &Path) -> u64 {
    let frames = pcap_frames(path);
    assert!(frames > 0, "{}: the capture is empty", path.display());
    let tshark = crate::common::find_tool("tshark").expect("tshark is installed");
    let out = Cmd::offline(tshark)
        .args(["-n", "-r", path.to_str().expect("a UTF-8 path")])
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ])
        .args(["-o", "tcp.desegment_tcp_streams:FALSE"])
        .args(["--disable-protocol", "http", "-Y", BAD_FRAMES])
        .output(Output::Keep)
        .timeout(Duration::from_secs(600))
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        out.describe(&format!("could not read {frames} frames"))
    );
    assert!(
        out.stdout.trim().is_empty(),
        "{}: {frames} frames, these malformed or with a bad checksum:\n{}",
        path.display(),
        out.stdout
    );
    frames
}

/// The number of frames in the capture at `path` that match the display `filter`.
pub fn count_frames(path: &Path, filter: &str) -> u64 {
    let tshark = crate::common::find_tool("tshark").expect("tshark is installed");
    let out = Cmd::offline(tshark)
        .args([
            "-n",
            "-r",
            path.to_str().expect("a UTF-8 path"),
            "-Y",
            filter,
        ])
        .args(["-T", "fields", "-e", "frame.number"])
        .timeout(Duration::from_secs(600))
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    out.stdout.lines().count() as u64
}
