//! The reactor: fd readiness through epoll, wakes from other threads while the runtime is blocked
//! in `epoll_wait`, and an idle runtime that burns no CPU.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use sockeye::reactor::{Interest, Registration};
use sockeye::runtime::Runtime;
use sockeye::time::{Instant, sleep};

/// CPU time (user + system) consumed by the calling thread so far.
fn thread_cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_THREAD is valid on Linux.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn an_idle_runtime_uses_essentially_no_cpu() {
    let rt = Runtime::new().unwrap();
    // Warm up (first-use costs such as lazy allocation are not idling).
    rt.block_on(sleep(Duration::from_millis(5)));
    let before = thread_cpu_time();
    let start = Instant::now();
    rt.block_on(sleep(Duration::from_secs(1)));
    let cpu = thread_cpu_time() - before;
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert!(
        cpu < Duration::from_millis(20),
        "sleeping 1 s burned {cpu:?} of CPU"
    );
}

#[test]
fn an_idle_runtime_with_a_registered_fd_uses_no_cpu() {
    let rt = Runtime::new().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    rt.block_on(async {
        let reg = Registration::new(&a, Interest::READABLE).unwrap();
        let before = thread_cpu_time();
        let r = sockeye::time::timeout(Duration::from_millis(300), reg.readable()).await;
        assert!(
            r.is_err(),
            "nothing was written, so the fd never became readable"
        );
        let cpu = thread_cpu_time() - before;
        assert!(cpu < Duration::from_millis(20), "burned {cpu:?}");
    });
}

#[sockeye::test]
async fn fd_readiness_wakes_the_reader() {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    let reader = sockeye::spawn(async move {
        let reg = Registration::new(&a, Interest::READABLE).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.len() < 100_000 {
            let n = reg.async_read(|| (&a).read(&mut buf)).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let writer = sockeye::spawn(async move {
        let reg = Registration::new(&b, Interest::WRITABLE).unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut off = 0;
        while off < data.len() {
            off += reg.async_write(|| (&b).write(&data[off..])).await.unwrap();
        }
        data
    });
    let sent = writer.await.unwrap();
    assert_eq!(reader.await.unwrap(), sent);
}

#[test]
fn a_write_from_another_thread_wakes_a_blocked_runtime() {
    let rt = Runtime::new().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        b.write_all(b"ping").unwrap();
        b
    });
    let got = rt.block_on(async {
        let reg = Registration::new(&a, Interest::READABLE).unwrap();
        let mut buf = [0u8; 4];
        let n = reg.async_read(|| (&a).read(&mut buf)).await.unwrap();
        buf[..n].to_vec()
    });
    assert_eq!(got, b"ping");
    t.join().unwrap();
}

#[test]
fn a_channel_send_from_another_thread_wakes_a_blocked_runtime() {
    let rt = Runtime::new().unwrap();
    let (tx, mut rx) = sockeye::sync::mpsc::unbounded_channel();
    let t = std::thread::spawn(move || {
        for i in 0..100 {
            if i % 10 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
            tx.send(i).unwrap();
        }
    });
    let sum = rt.block_on(async {
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
        }
        sum
    });
    assert_eq!(sum, (0..100).sum::<i32>());
    t.join().unwrap();
}

#[test]
fn registration_outside_a_runtime_is_an_error() {
    let (a, _b) = UnixStream::pair().unwrap();
    let err = Registration::new(&a, Interest::READABLE).unwrap_err();
    assert!(err.to_string().contains("no sockeye runtime"));
}

#[sockeye::test]
async fn registering_a_regular_file_is_an_error() {
    let f = std::fs::File::open("Cargo.toml").unwrap();
    // epoll refuses regular files with EPERM.
    let err = Registration::new(&f, Interest::READABLE).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM));
}
