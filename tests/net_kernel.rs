//! The runtime's stack against the Linux kernel's over a TAP device, through the whole driver
//! (the TAP's fd in epoll, edge-triggered receives, real checksums): a kernel TCP client and
//! server exchange 1 MB with sockeye's, and UDP goes both ways. Each test runs inside a network
//! namespace it creates (see `nic/tests/common/mod.rs` for the safety rules).
//!
//! Needs root; without it the tests print "skipped" and pass, except under `CI=true`, where they
//! fail.

#[path = "../nic/tests/common/mod.rs"]
mod common;
mod net;

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::thread;
use std::time::Duration;

use net::{guard, pattern};
use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream, UdpSocket};
use sockeye::nic::Tap;
use sockeye::runtime::{Builder, Interface, Runtime};

const KERNEL_IP: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);
const STACK_IP: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);
const LEN: usize = 1 << 20;

/// In the test's namespace: a TAP named `name` with the kernel's address on it, and a runtime
/// whose only interface is that TAP with the stack's address.
fn runtime_on_tap(name: &str) -> Runtime {
    let tap = Tap::open(name).expect("creating the TAP");
    common::disable_ipv6(name);
    common::ip(&format!("addr add {KERNEL_IP}/24 dev {name}"));
    common::ip(&format!("link set {name} up"));
    Builder::new_current_thread()
        .interface(Interface::new(
            tap,
            format!("{STACK_IP}/24").parse().unwrap(),
        ))
        .build()
        .unwrap()
}

/// A kernel socket's timeouts, so that a stuck test fails instead of hanging.
fn kernel_timeouts(s: &std::net::TcpStream) {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
}

#[test]
fn a_kernel_client_and_a_sockeye_echo_server() {
    if !common::can_run("a_kernel_client_and_a_sockeye_echo_server", &["ip"]) {
        return;
    }
    common::in_netns(|| {
        let rt = runtime_on_tap("sknet0");
        rt.block_on(guard(async {
            let listener = TcpListener::bind((STACK_IP, 7000)).await.unwrap();
            // The kernel's client runs on a thread of this (namespaced) thread.
            let client = thread::spawn(|| {
                let mut s = std::net::TcpStream::connect((STACK_IP, 7000)).unwrap();
                kernel_timeouts(&s);
                let data = pattern(LEN, 21);
                let mut writer = s.try_clone().unwrap();
                let sent = data.clone();
                let w = thread::spawn(move || {
                    writer.write_all(&sent).unwrap();
                    writer.shutdown(std::net::Shutdown::Write).unwrap();
                });
                let mut got = Vec::new();
                s.read_to_end(&mut got).unwrap();
                w.join().unwrap();
                (got == data, s.local_addr().unwrap())
            });
            let (mut stream, peer) = listener.accept().await.unwrap();
            let (mut r, mut w) = stream.split();
            let copied = sockeye::io::copy(&mut r, &mut w).await.unwrap();
            w.shutdown().await.unwrap();
            assert_eq!(copied, LEN as u64);
            // Wait for the kernel client without blocking the runtime's thread.
            let (matched, kernel_addr) = sockeye::task::spawn_blocking(move || client.join())
                .await
                .unwrap()
                .unwrap();
            assert!(matched, "the kernel got its bytes back");
            assert_eq!(peer, kernel_addr);
            let counters = sockeye::stack::counters();
            assert_eq!(counters.by_name("TcpInCsumErrors"), Some(0), "{counters}");
            assert!(sockeye::stack::device_errors().iter().all(|e| e.count == 0));
        }));
    });
}

#[test]
fn a_sockeye_client_and_a_kernel_echo_server() {
    if !common::can_run("a_sockeye_client_and_a_kernel_echo_server", &["ip"]) {
        return;
    }
    common::in_netns(|| {
        let rt = runtime_on_tap("sknet1");
        let server = std::net::TcpListener::bind((KERNEL_IP, 0)).unwrap();
        let port = server.local_addr().unwrap().port();
        let echo = thread::spawn(move || {
            let (mut s, _) = server.accept().unwrap();
            kernel_timeouts(&s);
            let mut buf = vec![0; 64 * 1024];
            loop {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                s.write_all(&buf[..n]).unwrap();
            }
            s.shutdown(std::net::Shutdown::Write).unwrap();
        });
        rt.block_on(guard(async {
            let stream = TcpStream::connect((KERNEL_IP, port)).await.unwrap();
            assert_eq!(
                stream.local_addr().unwrap().ip(),
                std::net::IpAddr::V4(STACK_IP)
            );
            let (mut r, mut w) = stream.into_split();
            let data = pattern(LEN, 22);
            let sent = data.clone();
            let writer = sockeye::spawn(async move {
                w.write_all(&sent).await.unwrap();
                w.shutdown().await.unwrap();
            });
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            writer.await.unwrap();
            assert!(got == data, "the kernel echoed every byte");
        }));
        echo.join().unwrap();
    });
}

#[test]
fn udp_with_the_kernel() {
    if !common::can_run("udp_with_the_kernel", &["ip"]) {
        return;
    }
    common::in_netns(|| {
        let rt = runtime_on_tap("sknet2");
        let kernel = std::net::UdpSocket::bind((KERNEL_IP, 0)).unwrap();
        kernel
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let kernel_addr = kernel.local_addr().unwrap();
        rt.block_on(guard(async {
            let socket = UdpSocket::bind((STACK_IP, 0)).await.unwrap();
            let ours = socket.local_addr().unwrap();
            socket.send_to(b"to the kernel", kernel_addr).await.unwrap();
            let answer = thread::spawn(move || {
                let mut buf = [0; 64];
                let (n, from) = kernel.recv_from(&mut buf).unwrap();
                kernel.send_to(&buf[..n], from).unwrap();
                (buf[..n].to_vec(), from)
            });
            let mut buf = [0; 64];
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"to the kernel");
            assert_eq!(from, kernel_addr);
            let (seen, seen_from) = sockeye::task::spawn_blocking(move || answer.join())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(seen, b"to the kernel");
            assert_eq!(seen_from, ours);
        }));
    });
}

/// On a TAP the stack reaches its own address without the link (the kernel never sees that
/// traffic, as with Linux's `lo`), while the kernel, on the same link, is still reachable.
#[test]
fn sockeye_talks_to_itself_over_a_tap() {
    if !common::can_run("sockeye_talks_to_itself_over_a_tap", &["ip"]) {
        return;
    }
    common::in_netns(|| {
        let rt = runtime_on_tap("sknet3");
        rt.block_on(guard(async {
            let listener = TcpListener::bind((STACK_IP, 7300)).await.unwrap();
            let server = sockeye::spawn(async move {
                let (mut stream, peer) = listener.accept().await.unwrap();
                let (mut r, mut w) = stream.split();
                sockeye::io::copy(&mut r, &mut w).await.unwrap();
                w.shutdown().await.unwrap();
                peer
            });
            let mut client = TcpStream::connect((STACK_IP, 7300)).await.unwrap();
            let data = pattern(LEN, 33);
            let (mut r, mut w) = client.split();
            let write = async {
                w.write_all(&data).await.unwrap();
                w.shutdown().await.unwrap();
            };
            let mut got = Vec::new();
            let (_, read) = sockeye::join!(write, r.read_to_end(&mut got));
            read.unwrap();
            assert!(got == data, "the echo differs");
            assert_eq!(server.await.unwrap(), client.local_addr().unwrap());
            let counters = sockeye::stack::counters();
            assert_eq!(counters.by_name("DevArpOut"), Some(0), "{counters}");
            assert_eq!(counters.by_name("TcpRetransSegs"), Some(0), "{counters}");
            // The kernel is still there: a datagram to it goes out on the link.
            let socket = UdpSocket::bind((STACK_IP, 0)).await.unwrap();
            socket.send_to(b"hello", (KERNEL_IP, 9)).await.unwrap();
        }));
    });
}
