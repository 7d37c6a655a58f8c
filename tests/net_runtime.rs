//! The runtime's network setup: interfaces named on the `Builder`, the capture (from the
//! builder and switched at run time), the stack's counters and socket table, the polling
//! knobs, and an idle runtime with open connections using no CPU.

mod net;

use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use net::{guard, pattern, pcap_records, temp_path};
use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream};
use sockeye::nic::Loopback;
use sockeye::runtime::{Builder, Interface};

/// The lengths of the frames in a pcap file.
fn pcap_frames(path: &Path) -> Vec<usize> {
    pcap_records(path).iter().map(Vec::len).collect()
}

/// Echoes `len` bytes over a new connection to `addr`'s listener, checking them.
async fn echo_once(listener: &TcpListener, target: std::net::SocketAddr, len: usize) {
    let data = pattern(len, 5);
    let server = async {
        let (mut s, _) = listener.accept().await.unwrap();
        let (mut r, mut w) = s.split();
        sockeye::io::copy(&mut r, &mut w).await.unwrap();
        w.shutdown().await.unwrap();
    };
    let client = async {
        let mut c = TcpStream::connect(target).await.unwrap();
        let (mut r, mut w) = c.split();
        let (_, got) = sockeye::join!(
            async {
                w.write_all(&data).await.unwrap();
                w.shutdown().await.unwrap();
            },
            async {
                let mut got = Vec::new();
                r.read_to_end(&mut got).await.unwrap();
                got
            }
        );
        assert!(got == data);
    };
    sockeye::join!(server, client);
}

#[test]
fn interfaces_named_on_the_builder_are_used_and_captured() {
    let capture = temp_path("two-ifaces.pcap");
    let rt = Builder::new_current_thread()
        .interface(Interface::loopback())
        .interface(Interface::new(
            Loopback::with_mtu(1500),
            "10.5.0.1/24".parse().unwrap(),
        ))
        .capture(&capture)
        .build()
        .unwrap();
    let recorded = rt.block_on(guard(async {
        assert_eq!(sockeye::stack::capture_path(), Some(capture.clone()));
        let lo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        echo_once(&lo, lo.local_addr().unwrap(), 20_000).await;
        let second = TcpListener::bind("10.5.0.1:0").await.unwrap();
        echo_once(&second, second.local_addr().unwrap(), 20_000).await;
        let err = TcpListener::bind("10.6.0.1:0").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrNotAvailable);
        let recorded = sockeye::stack::stop_capture().unwrap();
        assert_eq!(sockeye::stack::capture_path(), None);
        recorded
    }));
    let first = pcap_frames(&capture);
    let second = pcap_frames(&capture.with_file_name("two-ifaces-if1.pcap"));
    assert!(!first.is_empty() && !second.is_empty());
    assert_eq!((first.len() + second.len()) as u64, recorded);
    // The second interface's MTU bounds its frames; the loopback's does not.
    assert!(second.iter().all(|&len| len <= 1514), "{second:?}");
    assert!(first.iter().any(|&len| len > 1514));
}

#[sockeye::test]
async fn the_capture_switches_on_and_off_at_run_time() {
    guard(async {
        let path = temp_path("switch.pcap");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        echo_once(&listener, addr, 1000).await;
        sockeye::stack::capture(&path).unwrap();
        echo_once(&listener, addr, 1000).await;
        let recorded = sockeye::stack::stop_capture().unwrap();
        // Traffic after the switch is off is not recorded.
        echo_once(&listener, addr, 1000).await;
        let frames = pcap_frames(&path);
        assert_eq!(frames.len() as u64, recorded);
        // At least a handshake, data both ways and a close.
        assert!(frames.len() >= 6, "{frames:?}");
        assert_eq!(
            sockeye::stack::stop_capture().unwrap(),
            0,
            "nothing running"
        );
        let bad = sockeye::stack::capture("/nonexistent-dir/x.pcap").unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::NotFound);
        assert_eq!(sockeye::stack::capture_path(), None);
        echo_once(&listener, addr, 1000).await;
    })
    .await;
}

#[sockeye::test]
async fn counters_and_the_socket_table_print_like_nstat_and_ss() {
    guard(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let before = sockeye::stack::counters();
        let (client, accepted) = sockeye::join!(TcpStream::connect(addr), listener.accept());
        let (client, server) = (client.unwrap(), accepted.unwrap().0);
        let delta = sockeye::stack::counters().delta(&before);
        assert_eq!(delta.by_name("TcpActiveOpens"), Some(1));
        assert_eq!(delta.by_name("TcpPassiveOpens"), Some(1));
        let text = delta.to_string();
        assert!(text.contains("TcpActiveOpens"), "{text}");

        let table = sockeye::stack::sockets();
        let text = table.to_string();
        assert!(text.starts_with("State"), "{text}");
        assert!(text.contains("LISTEN") && text.contains("ESTAB"), "{text}");
        assert!(text.contains("skmem:(r"), "{text}");
        let listening: Vec<_> = table
            .in_state(sockeye::netstack::TcpState::Listen)
            .collect();
        assert_eq!(listening.len(), 1);
        assert_eq!(listening[0].local.port(), addr.port());
        assert_eq!(
            listening[0].send_q, 1024,
            "TcpListener::bind's backlog is tokio's 1024"
        );
        let established = table
            .in_state(sockeye::netstack::TcpState::Established)
            .count();
        assert_eq!(established, 2);
        drop((client, server));
    })
    .await;
}

#[sockeye::test]
async fn sysctls_change_at_run_time() {
    guard(async {
        assert_eq!(sockeye::stack::config().tcp_syn_retries, 6);
        sockeye::stack::set_sysctl("net.ipv4.tcp_syn_retries", "2").unwrap();
        assert_eq!(sockeye::stack::config().tcp_syn_retries, 2);
        assert!(sockeye::stack::set_sysctl("tcp_nonsense", "1").is_err());
        assert!(sockeye::stack::device_errors().iter().all(|e| e.count == 0));
    })
    .await;
}

#[test]
fn small_budgets_and_no_busy_polling_still_move_everything() {
    for (budget, busy) in [(1, 0), (3, 5)] {
        let rt = Builder::new_current_thread()
            .interface(Interface::loopback())
            .nic_poll_budget(budget)
            .nic_busy_polls(busy)
            .build()
            .unwrap();
        rt.block_on(guard(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            echo_once(&listener, listener.local_addr().unwrap(), 200_000).await;
        }));
    }
}

/// The CPU time (user + system) the calling thread has used.
fn thread_cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data; all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for writes for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD)");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[sockeye::test]
async fn an_idle_runtime_with_open_connections_sleeps() {
    guard(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = sockeye::join!(TcpStream::connect(addr), listener.accept());
        let (mut client, mut server) = (client.unwrap(), accepted.unwrap().0);
        client.write_all(b"x").await.unwrap();
        let mut b = [0];
        server.read_exact(&mut b).await.unwrap();
        let start = thread_cpu_time();
        sockeye::time::sleep(Duration::from_secs(1)).await;
        let used = thread_cpu_time() - start;
        // Busy polling for a second would use about a second; sleeping uses next to nothing.
        assert!(
            used < Duration::from_millis(100),
            "used {used:?} while idle"
        );
        // The connection still works after the idle second.
        server.write_all(b"y").await.unwrap();
        client.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"y");
    })
    .await;
}
