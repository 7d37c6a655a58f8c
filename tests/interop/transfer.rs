//! Bulk data between sockeye's examples and the kernel's tools: nc to the echo example, and
//! 100 MB each way with sockeye's load client (from `python3 -m http.server`, to `nc -l`).

use std::time::Duration;

use super::lab::{Lab, Nic};
use super::process::Output;
use super::tools;

/// Each way, 100 MB.
const BULK_LEN: u64 = 100_000_000;
/// What nc sends through the echo example.
const ECHO_LEN: u64 = 4_000_000;
/// How long a 100 MB transfer may take (generous: a slow, loaded machine, 5 % loss).
const TRANSFER_LIMIT: Duration = Duration::from_secs(900);

/// nc sends 4 MB to the echo example, half-closes, and reads back the same bytes.
pub fn nc_echo(nic: Nic, net: u8) {
    const PORT: u16 = 7007;
    let lab = Lab::new("nc-echo", nic, net, 4);
    let server = lab.start_server("echo", "echo", PORT, &[]);
    let data = lab.path("echo.bin");
    let expected = tools::write_random_file(&data, ECHO_LEN, 0x5eed_0002);
    // -N: half-close the connection when the input ends, then read until the server closes.
    let out = lab
        .tool("nc")
        .args(["-N", &lab.stack_ip.to_string(), &PORT.to_string()])
        .stdin_file(&data)
        .output(Output::Hash)
        .timeout(Duration::from_secs(300))
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    assert_eq!(out.hash(), (expected.as_str(), ECHO_LEN), "the echo");
    lab.log(format_args!(
        "nc: {ECHO_LEN} bytes echoed, the hash matches"
    ));
    server.stop();
    lab.finish();
}

/// 100 MB from the kernel to sockeye (the client example fetching a file from
/// `python3 -m http.server`) and 100 MB from sockeye to the kernel (the client's bulk mode
/// sending the pattern to `nc -l`), each checked by SHA-256; with `loss`, 5 % of the frames
/// each way are dropped on the kernel's side.
pub fn each_way(nic: Nic, net: u8, loss: bool) {
    const HTTP_PORT: u16 = 8000;
    const SINK_PORT: u16 = 9000;
    let (name, subnet) = if loss { ("bulk-loss", 6) } else { ("bulk", 5) };
    let lab = Lab::new(name, nic, net, subnet);
    if loss {
        tools::add_loss(&lab, super::LOSS);
    }
    let kernel = lab.kernel_ip.to_string();

    // The kernel to sockeye.
    let www = lab.path("www");
    std::fs::create_dir(&www).expect("creating the web root");
    let expected = tools::write_random_file(&www.join("file.bin"), BULK_LEN, 0x5eed_0003);
    let web = lab
        .tool("python3")
        .args([
            "-m",
            "http.server",
            &HTTP_PORT.to_string(),
            "--bind",
            &kernel,
        ])
        .arg("--directory")
        .arg(www.to_str().expect("a UTF-8 path"))
        .timeout(TRANSFER_LIMIT)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    lab.wait_kernel_listening(HTTP_PORT);
    lab.log("python3 -m http.server is listening");
    let out = lab
        .example("client", "client-fetch")
        .args([
            "--mode",
            "http",
            "--target",
            &format!("{kernel}:{HTTP_PORT}"),
        ])
        .args(["--path", "/file.bin", "--requests", "1", "--sha256"])
        .timeout(TRANSFER_LIMIT)
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    assert_eq!(
        tools::client_sha256(&out.stdout),
        (expected, BULK_LEN),
        "what the client fetched:\n{}",
        out.stdout
    );
    lab.log(format_args!(
        "the client fetched:\n{}",
        out.stdout.trim_end()
    ));
    let web = web.stop(libc::SIGTERM, Duration::from_secs(10));
    assert!(
        web.stderr.contains("\"GET /file.bin HTTP/1.1\" 200"),
        "{}",
        web.describe("logged no GET")
    );

    // sockeye to the kernel.
    let sink = lab
        .tool("nc")
        .args(["-l", &kernel, &SINK_PORT.to_string()])
        .output(Output::Hash)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    lab.wait_kernel_listening(SINK_PORT);
    let out = lab
        .example("client", "client-bulk")
        .args([
            "--mode",
            "bulk",
            "--target",
            &format!("{kernel}:{SINK_PORT}"),
        ])
        .args(["--bytes", &BULK_LEN.to_string()])
        .timeout(TRANSFER_LIMIT)
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    lab.log(format_args!("the client sent:\n{}", out.stdout.trim_end()));
    // nc exits when sockeye's client has half-closed and it has read everything.
    let got = sink
        .wait(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"))
        .success();
    let expected = tools::pattern_sha256(BULK_LEN);
    assert_eq!(
        got.hash(),
        (expected.as_str(), BULK_LEN),
        "what nc received"
    );
    lab.log("nc -l received it all, the hash matches");

    if loss {
        // Both directions lost frames, and the hashes matched: both ends recovered.
        let (from_stack, to_stack) = tools::loss_drops(&lab);
        assert!(
            from_stack > 0 && to_stack > 0,
            "the loss rules dropped {from_stack} frames from sockeye and {to_stack} to it"
        );
        lab.log(format_args!(
            "dropped {from_stack} frames from sockeye and {to_stack} to it"
        ));
    }
    lab.finish();
}
