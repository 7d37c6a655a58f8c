//! A SYN flood from the kernel's side against the http example, while curl keeps fetching.
//!
//! hping3 sends SYNs as fast as it can from an address of the subnet that no host has (so
//! nothing answers sockeye's SYN-ACKs: it asks for that address with ARP, which stays
//! unanswered, and the half-open requests fill the SYN queue). With `tcp_syncookies=1`,
//! sockeye then answers every SYN with a SYN cookie and keeps nothing for it; curl's
//! connections complete through their cookies. Everything stays inside the test's namespace:
//! the spoofed source is on the lab's own link, which is the only one there.
//!
//! The flood lasts [`FLOOD_TIME`]: `timeout` stops hping3 by itself (with SIGINT, so that it
//! prints its count). curl fetches `GET /` again and again until then; every fetch must
//! succeed. A fetch can take a few seconds: hping3 outruns the kernel's own queue towards the
//! link (the TAP's, or the veth peer's backlog), which then drops some of curl's SYNs too, and
//! curl sends them again after 1 s, 2 s, ...

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::lab::{Lab, Nic};
use super::tools::{self, counter, curl, listener, stats};

/// The port the http example listens on.
const PORT: u16 = 8080;
/// How long the flood lasts.
const FLOOD_TIME: Duration = Duration::from_secs(5);

/// The flood and the fetches; then the listener's stats must show cookies sent and received
/// and none failed.
pub fn syn_flood(nic: Nic, net: u8) {
    let lab = Lab::new("synflood", nic, net, 7);
    let server = lab.start_server("http", "http", PORT, &["--sysctl", "tcp_syncookies=1"]);
    let [a, b, c, _] = lab.kernel_ip.octets();
    let spoofed = Ipv4Addr::new(a, b, c, 66);
    let mut flood = lab
        .tool("timeout")
        .args(["-s", "INT", &FLOOD_TIME.as_secs().to_string(), "hping3"])
        .args(["-S", "--flood", "-p", &PORT.to_string()])
        .args(["-a", &spoofed.to_string(), &lab.stack_ip.to_string()])
        .timeout(FLOOD_TIME + Duration::from_secs(30))
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Let the flood fill the SYN queue first.
    std::thread::sleep(Duration::from_millis(300));
    lab.log("the flood is on");

    let url = format!("http://{}:{PORT}/", lab.stack_ip);
    let mut fetched = 0;
    while !flood.has_exited() {
        let start = Instant::now();
        curl(&lab, Duration::from_secs(60))
            .arg(&url)
            .run()
            .unwrap_or_else(|e| panic!("{e}"))
            .success();
        fetched += 1;
        lab.log(format_args!(
            "GET / during the flood took {:.3} s",
            start.elapsed().as_secs_f64()
        ));
        std::thread::sleep(Duration::from_millis(200));
    }
    let flood = flood
        .wait(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    // `timeout`'s status when it had to stop the command: the flood lasted its whole time.
    assert_eq!(
        flood.status.code(),
        Some(124),
        "{}",
        flood.describe("ended")
    );
    let report = format!("{}{}", flood.stdout, flood.stderr);
    let sent: u64 = report
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no packet count from hping3:\n{report}"));

    let stats = stats(&lab, PORT);
    let l = listener(&stats, PORT);
    let cookies_sent = l["syncookies_sent"].as_u64().unwrap_or(0);
    let cookies_back = l["syncookies_recv"].as_u64().unwrap_or(0);
    let summary = format!("hping3 sent {sent} SYNs, curl fetched {fetched} times; listener {l}");
    lab.log(&summary);
    assert!(cookies_sent > 0, "no SYN cookie sent: {summary}");
    assert!(
        cookies_back > 0,
        "no connection came back with a cookie: {summary}"
    );
    assert_eq!(l["syncookies_failed"], 0, "{summary}");
    assert_eq!(
        counter(&stats, "TcpExtSyncookiesSent"),
        cookies_sent,
        "the global counter and the listener's: {summary}"
    );
    server.stop();
    // hping3 counts its source port up from a random one, through 0: sockeye drops a segment
    // from port 0 as malformed (`TcpInErrs`), and nothing else may be.
    let from_port_0 = tools::count_frames(&lab.path("http.pcap"), "tcp.srcport == 0");
    super::http::check_stack_counters_with(&stats, from_port_0);
    lab.finish();
}
