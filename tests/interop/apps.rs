//! tokio's example programs, renamed to sockeye, against the kernel's everyday tools: curl to
//! `tinyhttp`'s two routes, curl through `proxy` to a kernel web server (`python3 -m
//! http.server`), and nc as a `chat` client (the prompt, the join and leave messages).

use std::time::Duration;

use super::lab::{Lab, Nic};
use super::process::Output;
use super::tools;

/// Through the proxy.
const PROXIED_LEN: u64 = 2_000_000;

/// One lab, three servers in turn, each reached from the kernel's side.
pub fn tokio_examples(nic: Nic, net: u8) {
    let lab = Lab::new("tokio-examples", nic, net, 8);
    let stack = lab.stack_ip.to_string();
    let kernel = lab.kernel_ip.to_string();

    // tinyhttp: both routes, and a 404.
    const TINY: u16 = 8090;
    let server = lab.start_server("tinyhttp", "tinyhttp", TINY, &[]);
    let get = |path: &str| {
        tools::curl(&lab, Duration::from_secs(30))
            .arg(format!("http://{stack}:{TINY}{path}"))
            .run()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(get("/plaintext").success().stdout, "Hello, World!");
    let json: serde_json::Value =
        serde_json::from_str(&get("/json").success().stdout).expect("tinyhttp's /json is JSON");
    assert_eq!(json["message"], "Hello, World!");
    // curl --fail exits with 22 on an HTTP error: the 404.
    assert_eq!(get("/nothing").status.code(), Some(22), "GET /nothing");
    lab.log("tinyhttp answered /plaintext, /json and a 404");
    server.stop();

    // proxy: curl -> sockeye's proxy -> the kernel's web server, and back.
    const WEB: u16 = 8000;
    const PROXY: u16 = 8091;
    let www = lab.path("www");
    std::fs::create_dir(&www).expect("creating the web root");
    let expected = tools::write_random_file(&www.join("file.bin"), PROXIED_LEN, 0x5eed_0008);
    let web = lab
        .tool("python3")
        .args(["-m", "http.server", &WEB.to_string(), "--bind", &kernel])
        .arg("--directory")
        .arg(www.to_str().expect("a UTF-8 path"))
        .timeout(Duration::from_secs(300))
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    lab.wait_kernel_listening(WEB);
    let upstream = format!("{kernel}:{WEB}");
    let server = lab.start_server("proxy", "proxy", PROXY, &["--upstream", &upstream]);
    let out = tools::curl(&lab, Duration::from_secs(120))
        .arg(format!("http://{stack}:{PROXY}/file.bin"))
        .output(Output::Hash)
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    assert_eq!(
        out.hash(),
        (expected.as_str(), PROXIED_LEN),
        "through the proxy"
    );
    lab.log(format_args!(
        "{PROXIED_LEN} bytes through the proxy: the hash matches"
    ));
    server.stop();
    web.stop(libc::SIGTERM, Duration::from_secs(10));

    // chat: nc gives a name and a line, then leaves; a second client sees it come and go.
    const CHAT: u16 = 6142;
    let server = lab.start_server("chat", "chat", CHAT, &[]);
    let bob = lab
        .tool("nc")
        .args([&stack, &CHAT.to_string()])
        .stdin_file(write(&lab, "bob.txt", "bob\n"))
        .timeout(Duration::from_secs(60))
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let joined = super::process::poll_until(Duration::from_secs(30), || {
        bob.stdout_so_far()
            .contains("Please enter your username:")
            .then_some(())
    });
    assert!(joined.is_some(), "chat asked bob for no name");
    let alice = lab
        .tool("nc")
        .args(["-N", &stack, &CHAT.to_string()])
        .stdin_file(write(&lab, "alice.txt", "alice\nhello from the kernel\n"))
        .timeout(Duration::from_secs(60))
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    assert!(
        alice.stdout.starts_with("Please enter your username:"),
        "{}",
        alice.stdout
    );
    let seen = super::process::poll_until(Duration::from_secs(30), || {
        let out = bob.stdout_so_far();
        (out.contains("alice has joined the chat")
            && out.contains("alice: hello from the kernel")
            && out.contains("alice has left the chat"))
        .then_some(())
    });
    assert!(seen.is_some(), "bob saw:\n{}", bob.stdout_so_far());
    lab.log("chat: bob saw alice join, speak and leave");
    bob.stop(libc::SIGTERM, Duration::from_secs(5));
    server.stop();
    lab.finish();
}

/// A small input file for nc.
fn write(lab: &Lab, name: &str, text: &str) -> std::path::PathBuf {
    let path = lab.path(name);
    std::fs::write(&path, text).expect("writing nc's input");
    path
}
