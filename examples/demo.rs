//! The runtime demo: a tokio-style program on sockeye's executor, timers and channels, one
//! Ethernet frame pushed through an in-process loopback NIC and parsed back by the stack's wire
//! layer, and a TCP echo through the runtime's own stack (`sockeye::net` on the in-process
//! loopback, 127.0.0.1). The README's first command is the http example's self-test; this is a
//! tour of the runtime underneath.
//!
//! Run it with `cargo run --release --example demo`. It needs no privileges and no setup.

use std::time::Duration;

use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream};
use sockeye::netstack::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use sockeye::nic::{Device, Loopback};
use sockeye::sync::mpsc;
use sockeye::time::{Instant, interval, sleep, timeout};

#[sockeye::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("sockeye runtime demo: one thread, one executor, epoll reactor, timing wheel");

    // 1. Spawn 100,000 tasks (no Send bound) and collect their results.
    let start = Instant::now();
    let handles: Vec<_> = (0..100_000u64)
        .map(|i| sockeye::spawn(async move { i % 7 }))
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await?;
    }
    println!(
        "  spawned and joined 100000 tasks in {:?} (checksum {sum})",
        start.elapsed()
    );

    // 2. A producer/consumer pipeline over tokio's channels, re-exported as sockeye::sync.
    let (tx, mut rx) = mpsc::channel::<u64>(64);
    let producer = sockeye::spawn(async move {
        for i in 0..200_000 {
            tx.send(i).await.expect("receiver alive");
        }
    });
    let start = Instant::now();
    let mut received = 0u64;
    while rx.recv().await.is_some() {
        received += 1;
    }
    producer.await?;
    println!(
        "  passed {received} messages through a bounded channel in {:?}",
        start.elapsed()
    );

    // 3. Timers: an interval, a sleep, and a timeout that fires.
    let start = Instant::now();
    let mut ticker = interval(Duration::from_millis(10));
    for _ in 0..5 {
        ticker.tick().await;
    }
    println!("  5 interval ticks of 10 ms took {:?}", start.elapsed());
    let slow = sleep(Duration::from_secs(60));
    let res = timeout(Duration::from_millis(20), slow).await;
    println!("  timeout(20 ms, sleep(60 s)) -> {res:?}");

    // 4. The lower layers: an Ethernet frame through the in-process loopback NIC.
    let mut nic = Loopback::new();
    let repr = EthernetRepr {
        src_addr: "02:00:00:00:00:01".parse()?,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EtherType::Ipv4,
    };
    let payload = b"hello from sockeye";
    nic.transmit(repr.buffer_len() + payload.len(), &mut |buf| {
        let mut frame = EthernetFrame::new_unchecked(buf);
        repr.emit(&mut frame);
        frame.payload_mut().copy_from_slice(payload);
    })?;
    nic.receive(8, &mut |bytes| match EthernetFrame::new_checked(bytes) {
        Ok(frame) => println!(
            "  loopback NIC returned {} -> {} {} {:?}",
            frame.src_addr(),
            frame.dst_addr(),
            frame.ethertype(),
            String::from_utf8_lossy(frame.payload())
        ),
        Err(e) => println!("  malformed frame: {e}"),
    })?;
    println!("  nic stats: {:?}", nic.stats());

    // 5. TCP through the runtime's own stack: an echo server and a client moving 64 MB.
    const LEN: usize = 64 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    sockeye::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("a client");
        let (mut r, mut w) = socket.split();
        sockeye::io::copy(&mut r, &mut w).await.expect("echo");
        w.shutdown().await.expect("FIN");
    });
    let start = Instant::now();
    let (mut r, mut w) = TcpStream::connect(addr).await?.into_split();
    let writer = sockeye::spawn(async move {
        let chunk = vec![0x5a; 64 * 1024];
        for _ in 0..LEN / chunk.len() {
            w.write_all(&chunk).await.expect("write");
        }
        w.shutdown().await.expect("FIN");
    });
    let mut buf = vec![0; 64 * 1024];
    let mut echoed = 0;
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        assert!(buf[..n].iter().all(|&b| b == 0x5a), "echoed bytes match");
        echoed += n;
    }
    writer.await?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  TCP echo on {addr}: {} MB each way in {secs:.2} s ({:.0} MB/s)",
        echoed >> 20,
        (echoed >> 20) as f64 / secs
    );
    let counters = sockeye::stack::counters();
    for name in [
        "TcpActiveOpens",
        "TcpInSegs",
        "TcpOutSegs",
        "TcpRetransSegs",
    ] {
        println!("    {name:<16} {}", counters.by_name(name).unwrap_or(0));
    }
    Ok(())
}
