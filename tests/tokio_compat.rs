//! tokio's runtime-agnostic parts, re-exported as `sockeye::io`, `sockeye::sync`, `select!` and
//! `join!`, work on the sockeye executor: each test drives them with sockeye tasks and timers.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use sockeye::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use sockeye::sync::{Mutex, Notify, Semaphore, broadcast, mpsc, oneshot, watch};
use sockeye::time::{Instant, sleep};

#[sockeye::test]
async fn mpsc_between_tasks() {
    let (tx, mut rx) = mpsc::channel(4);
    for p in 0..4u64 {
        let tx = tx.clone();
        sockeye::spawn(async move {
            for i in 0..250 {
                tx.send(p * 1000 + i).await.unwrap();
            }
        });
    }
    drop(tx);
    let mut got = Vec::new();
    while let Some(v) = rx.recv().await {
        got.push(v);
    }
    got.sort_unstable();
    let want: Vec<u64> = (0..4)
        .flat_map(|p| (0..250).map(move |i| p * 1000 + i))
        .collect();
    assert_eq!(got, want);
}

#[sockeye::test]
async fn oneshot_across_a_timer() {
    let (tx, rx) = oneshot::channel();
    sockeye::spawn(async move {
        sleep(Duration::from_millis(3)).await;
        tx.send("done").unwrap();
    });
    assert_eq!(rx.await.unwrap(), "done");
    let (tx, rx) = oneshot::channel::<()>();
    drop(tx);
    assert!(rx.await.is_err());
}

#[sockeye::test]
async fn mutex_serialises_tasks_holding_it_across_awaits() {
    let counter = Rc::new(Mutex::new(0u32));
    let mut handles = Vec::new();
    for _ in 0..20 {
        let counter = counter.clone();
        handles.push(sockeye::spawn(async move {
            let mut guard = counter.lock().await;
            let seen = *guard;
            sockeye::task::yield_now().await;
            *guard = seen + 1;
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(*counter.lock().await, 20);
}

#[sockeye::test]
async fn notify_wakes_a_waiter() {
    let notify = Rc::new(Notify::new());
    let n2 = notify.clone();
    let waiter = sockeye::spawn(async move {
        n2.notified().await;
        "notified"
    });
    sockeye::task::yield_now().await;
    notify.notify_one();
    assert_eq!(waiter.await.unwrap(), "notified");
}

#[sockeye::test]
async fn semaphore_bounds_concurrency() {
    let sem = Rc::new(Semaphore::new(3));
    let active = Rc::new(std::cell::Cell::new(0));
    let peak = Rc::new(std::cell::Cell::new(0));
    let mut handles = Vec::new();
    for _ in 0..12 {
        let (sem, active, peak) = (sem.clone(), active.clone(), peak.clone());
        handles.push(sockeye::spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            active.set(active.get() + 1);
            peak.set(peak.get().max(active.get()));
            sleep(Duration::from_millis(1)).await;
            active.set(active.get() - 1);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(peak.get(), 3);
}

#[sockeye::test]
async fn broadcast_and_watch() {
    let (tx, mut rx1) = broadcast::channel(8);
    let mut rx2 = tx.subscribe();
    tx.send(5).unwrap();
    assert_eq!(rx1.recv().await.unwrap(), 5);
    assert_eq!(rx2.recv().await.unwrap(), 5);

    let (wtx, mut wrx) = watch::channel(0);
    sockeye::spawn(async move {
        sleep(Duration::from_millis(1)).await;
        wtx.send(9).unwrap();
    });
    wrx.changed().await.unwrap();
    assert_eq!(*wrx.borrow(), 9);
}

#[sockeye::test]
async fn select_between_a_timer_and_a_channel() {
    // The channel wins when it is ready first...
    let (tx, mut rx) = mpsc::unbounded_channel();
    sockeye::spawn(async move {
        sleep(Duration::from_millis(2)).await;
        tx.send(1).unwrap();
    });
    let got = sockeye::select! {
        v = rx.recv() => v,
        _ = sleep(Duration::from_secs(30)) => None,
    };
    assert_eq!(got, Some(1));

    // ...and the timer wins when the channel stays empty.
    let (_tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let start = Instant::now();
    let timed_out = sockeye::select! {
        _ = rx.recv() => false,
        _ = sleep(Duration::from_millis(10)) => true,
    };
    assert!(timed_out);
    assert!(start.elapsed() >= Duration::from_millis(10));
}

#[sockeye::test]
async fn join_and_try_join() {
    let (a, b) = sockeye::join!(
        async {
            sleep(Duration::from_millis(2)).await;
            1
        },
        async { 2 }
    );
    assert_eq!((a, b), (1, 2));
    let r: Result<(u8, u8), &str> = sockeye::try_join!(async { Ok(1) }, async { Err("no") });
    assert_eq!(r, Err("no"));
}

#[sockeye::test]
async fn io_util_over_an_in_memory_duplex() {
    let (client, server) = sockeye::io::duplex(64);
    let server = sockeye::spawn(async move {
        let (r, mut w) = sockeye::io::split(server);
        let mut lines = BufReader::new(r).lines();
        let mut n = 0;
        while let Some(line) = lines.next_line().await.unwrap() {
            w.write_all(line.to_uppercase().as_bytes()).await.unwrap();
            w.write_all(b"\n").await.unwrap();
            n += 1;
        }
        w.shutdown().await.unwrap();
        n
    });
    let (mut r, mut w) = sockeye::io::split(client);
    let writer = sockeye::spawn(async move {
        for i in 0..200 {
            w.write_all(format!("line {i}\n").as_bytes()).await.unwrap();
        }
        w.shutdown().await.unwrap();
    });
    let mut out = String::new();
    r.read_to_string(&mut out).await.unwrap();
    writer.await.unwrap();
    assert_eq!(server.await.unwrap(), 200);
    let want: String = (0..200).map(|i| format!("LINE {i}\n")).collect();
    assert_eq!(out, want);
}

#[sockeye::test]
async fn copy_bidirectional_over_duplex_pairs() {
    let (mut a, a_far) = sockeye::io::duplex(1024);
    let (b_far, mut b) = sockeye::io::duplex(1024);
    let proxy = sockeye::spawn(async move {
        let (mut x, mut y) = (a_far, b_far);
        sockeye::io::copy_bidirectional(&mut x, &mut y)
            .await
            .unwrap()
    });
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let p2 = payload.clone();
    let writer = sockeye::spawn(async move {
        a.write_all(&p2).await.unwrap();
        a.shutdown().await.unwrap();
        let mut back = Vec::new();
        a.read_to_end(&mut back).await.unwrap();
        back
    });
    let mut got = Vec::new();
    b.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, payload);
    b.write_all(b"reply").await.unwrap();
    b.shutdown().await.unwrap();
    assert_eq!(writer.await.unwrap(), b"reply");
    assert_eq!(proxy.await.unwrap(), (100_000, 5));
}

#[test]
fn sync_primitives_cross_threads_into_the_runtime() {
    // An Arc<Semaphore> released from a plain thread wakes a task waiting on the runtime.
    let sem = Arc::new(Semaphore::new(0));
    let s2 = sem.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        s2.add_permits(1);
    });
    let rt = sockeye::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let _p = sem.acquire().await.unwrap();
    });
    t.join().unwrap();
}
