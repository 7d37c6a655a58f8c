//! The http example against curl and wrk.

use std::time::Duration;

use super::lab::{Lab, Nic};
use super::process::Output;
use super::tools::{self, counter, curl, listener, stats};

/// The port the http example listens on.
const PORT: u16 = 8080;
/// `GET /bytes/N`: 50 MB.
const GET_LEN: u64 = 50_000_000;
/// `POST /echo`: 10 MB.
const POST_LEN: u64 = 10_000_000;
/// How long a big transfer may take (generous: a slow, loaded machine, 5 % loss).
const TRANSFER_LIMIT: Duration = Duration::from_secs(600);

/// curl `GET /`, `GET /bytes/50000000` and `POST /echo` of 10 MB, each checked; with `loss`,
/// 5 % of the frames each way are dropped on the kernel's side.
pub fn curl_routes(nic: Nic, net: u8, loss: bool) {
    let (name, subnet) = if loss { ("curl-loss", 2) } else { ("curl", 1) };
    let lab = Lab::new(name, nic, net, subnet);
    if loss {
        tools::add_loss(&lab, super::LOSS);
    }
    let server = lab.start_server("http", "http", PORT, &[]);
    lab.log("the http example is listening");
    let base = format!("http://{}:{PORT}", lab.stack_ip);

    let out = curl(&lab, Duration::from_secs(60))
        .args(["-w", "\n%{http_code}"])
        .arg(format!("{base}/"))
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    let (text, code) = out.stdout.rsplit_once('\n').expect("a status line");
    assert_eq!(code, "200", "GET /: {}", out.stdout);
    assert!(text.contains("sockeye"), "GET / answered {text:?}");
    lab.log("GET / answered");

    let out = curl(&lab, TRANSFER_LIMIT)
        .arg(format!("{base}/bytes/{GET_LEN}"))
        .output(Output::Hash)
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    let expected = tools::pattern_sha256(GET_LEN);
    assert_eq!(out.hash(), (expected.as_str(), GET_LEN), "GET /bytes/N");
    lab.log(format_args!("GET /bytes/{GET_LEN}: the hash matches"));

    let data = lab.path("post.bin");
    let expected = tools::write_random_file(&data, POST_LEN, 0x5eed_0001);
    let out = curl(&lab, TRANSFER_LIMIT)
        .args(["--data-binary", &format!("@{}", data.display())])
        .arg(format!("{base}/echo"))
        .output(Output::Hash)
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    assert_eq!(out.hash(), (expected.as_str(), POST_LEN), "POST /echo");
    lab.log(format_args!(
        "POST /echo of {POST_LEN} bytes: the hash matches"
    ));

    let stats = stats(&lab, PORT);
    check_stack_counters(&stats);
    if loss {
        let (from_stack, to_stack) = tools::loss_drops(&lab);
        assert!(
            from_stack > 0 && to_stack > 0,
            "the loss rules dropped {from_stack} frames from sockeye and {to_stack} to it"
        );
        let retransmitted = counter(&stats, "TcpRetransSegs");
        assert!(
            retransmitted > 0,
            "sockeye lost frames but retransmitted nothing"
        );
        lab.log(format_args!(
            "dropped {from_stack} frames from sockeye and {to_stack} to it; sockeye \
             retransmitted {retransmitted} segments, {} timeouts",
            counter(&stats, "TcpExtTCPTimeouts")
        ));
    }
    server.stop();
    lab.finish();
}

/// Keep-alive load: wrk with 100 HTTP/1.1 connections for 5 s, then ab with 20,000 HTTP/1.0
/// keep-alive requests over 100 connections, both against `GET /`: no socket error, no failed
/// request, no answer other than 2xx, and each connection opened once.
pub fn keepalive_load(nic: Nic, net: u8) {
    let lab = Lab::new("keepalive", nic, net, 3);
    let server = lab.start_server("http", "http", PORT, &[]);
    let url = format!("http://{}:{PORT}/", lab.stack_ip);
    let mut opened = counter(&stats(&lab, PORT), "TcpPassiveOpens");
    // The passive opens since the last look, this look's own connection excluded.
    let mut opened_since = |lab: &Lab| {
        let stats = stats(lab, PORT);
        let now = counter(&stats, "TcpPassiveOpens");
        let since = now - opened - 1;
        opened = now;
        (since, stats)
    };

    lab.log("wrk starts");
    let out = lab
        .tool("wrk")
        .args(["-t", "2", "-c", &CONNECTIONS.to_string(), "-d", "5s"])
        .args(["--timeout", "10s", &url])
        .timeout(Duration::from_secs(120))
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    let report = &out.stdout;
    lab.log(format_args!("wrk:\n{report}"));
    // wrk prints these lines only when something went wrong.
    assert!(!report.contains("Socket errors"), "wrk:\n{report}");
    assert!(!report.contains("Non-2xx or 3xx"), "wrk:\n{report}");
    let requests = number_after(report, " requests in ", true);
    assert!(
        requests > CONNECTIONS,
        "{requests} requests on {CONNECTIONS} connections:\n{report}"
    );
    // wrk's connections, and the one it makes first to check that the server answers (its
    // `wrk.resolve` connects to each address).
    let (wrk_opened, _) = opened_since(&lab);
    assert_eq!(
        wrk_opened,
        CONNECTIONS + 1,
        "connections wrk opened (keep-alive: one per connection)\n{report}"
    );

    lab.log("ab starts");
    let out = lab
        .tool("ab")
        .args([
            "-k",
            "-c",
            &CONNECTIONS.to_string(),
            "-n",
            &AB_REQUESTS.to_string(),
        ])
        .args(["-s", "10", &url])
        .timeout(Duration::from_secs(120))
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    let report = &out.stdout;
    lab.log(format_args!("ab:\n{report}"));
    assert_eq!(
        number_after(report, "Complete requests:", false),
        AB_REQUESTS,
        "{report}"
    );
    assert_eq!(
        number_after(report, "Failed requests:", false),
        0,
        "{report}"
    );
    assert_eq!(
        number_after(report, "Keep-Alive requests:", false),
        AB_REQUESTS,
        "{report}"
    );
    // ab prints these lines only when there were some.
    assert!(!report.contains("Write errors"), "ab:\n{report}");
    assert!(!report.contains("Non-2xx responses"), "ab:\n{report}");
    let (ab_opened, stats) = opened_since(&lab);
    assert_eq!(ab_opened, CONNECTIONS, "connections ab opened\n{report}");

    let l = listener(&stats, PORT);
    assert_eq!(l["overflows"], 0, "{l}");
    assert_eq!(l["drops"], 0, "{l}");
    check_stack_counters(&stats);
    server.stop();
    lab.finish();
}

/// Connections at once, for wrk and for ab.
const CONNECTIONS: u64 = 100;
/// ab's request count.
const AB_REQUESTS: u64 = 20_000;

/// The number in `report`'s line holding `label`: the first word of the line (`first`), or
/// the first word after the label.
fn number_after(report: &str, label: &str, first: bool) -> u64 {
    report
        .lines()
        .find_map(|l| {
            let at = l.find(label)?;
            let words = if first {
                &l[..at]
            } else {
                &l[at + label.len()..]
            };
            words.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no number for {label:?} in:\n{report}"))
}

/// sockeye found nothing malformed in what the kernel sent.
pub fn check_stack_counters(stats: &serde_json::Value) {
    check_stack_counters_with(stats, 0);
}

/// sockeye found nothing malformed in what the kernel sent, apart from `bad_segments` TCP
/// segments the test knows were bad (counted in `TcpInErrs`).
pub fn check_stack_counters_with(stats: &serde_json::Value, bad_segments: u64) {
    assert_eq!(
        counter(stats, "TcpInErrs"),
        bad_segments,
        "sockeye's TcpInErrs"
    );
    for name in ["TcpInCsumErrors", "IpInHdrErrors", "DevRxMalformed"] {
        assert_eq!(counter(stats, name), 0, "sockeye's {name}");
    }
}
