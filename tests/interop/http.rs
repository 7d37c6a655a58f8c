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

/// wrk: 100 keep-alive connections for 5 s against `GET /`; no socket error, no answer other
/// than 2xx or 3xx (there are no 3xx routes), and each connection opened once.
pub fn wrk_keepalive(nic: Nic, net: u8) {
    const CONNECTIONS: u64 = 100;
    let lab = Lab::new("wrk", nic, net, 3);
    let server = lab.start_server("http", "http", PORT, &[]);
    let before = counter(&stats(&lab, PORT), "TcpPassiveOpens");
    lab.log("wrk starts");
    let out = lab
        .tool("wrk")
        .args(["-t", "2", "-c", &CONNECTIONS.to_string(), "-d", "5s"])
        .args(["--timeout", "10s"])
        .arg(format!("http://{}:{PORT}/", lab.stack_ip))
        .timeout(Duration::from_secs(120))
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    let report = &out.stdout;
    lab.log(format_args!("wrk:\n{report}"));
    // wrk prints these lines only when something went wrong.
    assert!(!report.contains("Socket errors"), "wrk:\n{report}");
    assert!(!report.contains("Non-2xx or 3xx"), "wrk:\n{report}");
    let requests: u64 = report
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's report:\n{report}"));
    assert!(
        requests > CONNECTIONS,
        "{requests} requests on {CONNECTIONS} connections:\n{report}"
    );

    let stats = stats(&lab, PORT);
    // wrk's connections, the one it makes first to check that the server answers (its
    // `wrk.resolve` connects to each address), and this request's.
    let opened = counter(&stats, "TcpPassiveOpens") - before;
    assert_eq!(
        opened,
        CONNECTIONS + 2,
        "connections opened during the run (keep-alive: one per wrk connection)\n{report}"
    );
    let l = listener(&stats, PORT);
    assert_eq!(l["overflows"], 0, "{l}");
    assert_eq!(l["drops"], 0, "{l}");
    check_stack_counters(&stats);
    server.stop();
    lab.finish();
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
